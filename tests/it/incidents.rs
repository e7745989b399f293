#![cfg(feature = "server")]
//! Incidents on both backends: the lifecycle and its timeline, adding and merging, closing that
//! closes the alerts, the KPI figures, and the suggested groupings with their dismissals.

use crate::support::TestDb;
use anomalyforge::alert::{AlertStatus, Severity};
use anomalyforge::incident::{IncidentCommand, IncidentQuery, IncidentStatus, NewIncident};
use anomalyforge::kpi::KpiRange;
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use anomalyforge::store::{now_ms, Db, StoreError};

on_both_backends!(
    incidents_group_alerts_with_a_lifecycle_and_a_timeline,
    incidents_are_suggested_from_shared_hosts_and_dismissals_hold
);

const T0: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;

fn alert(at: i64, src: &str, dst: &str, threat: &str, risk: i64) -> NewAlert {
    NewAlert {
        seen_at: at,
        last_seen: at,
        src_ip: Some(src.into()),
        src_port: Some(40_000),
        dst_ip: Some(dst.into()),
        dst_port: Some(22),
        protocol: Some(6),
        threat: threat.into(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: anomalyforge::alert::Detector::Ml,
        reasons: r#"{"models":[]}"#.into(),
        ..NewAlert::blank()
    }
}

async fn store(db: &Db, alerts: Vec<NewAlert>) -> Vec<i64> {
    let stored = db.persist_batch(&PersistBatch { alerts, ..Default::default() }).await.unwrap();
    stored.into_iter().map(|s| s.alert.id).collect()
}

fn new(ids: &[i64]) -> NewIncident {
    NewIncident { title: String::new(), severity: None, alert_ids: ids.to_vec() }
}

async fn incidents_group_alerts_with_a_lifecycle_and_a_timeline(db: &Db) {
    let ids = store(
        db,
        vec![
            alert(T0, "203.0.113.7", "10.0.0.5", "port_scan", 55),
            alert(T0 + MIN, "203.0.113.7", "10.0.0.5", "ssh_patator", 82),
            alert(T0 + 2 * MIN, "10.0.0.5", "198.51.100.20", "bot", 91),
            alert(T0 + 3 * MIN, "203.0.113.7", "10.0.0.6", "port_scan", 40),
        ],
    )
    .await;
    let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
    let now = now_ms();

    // Created from two alerts: named after them, as severe as the riskiest.
    let out = db.create_incident("alice", &new(&[a, b]), now).await.unwrap();
    let first = out.incident_id;
    assert_eq!((out.added.clone(), out.skipped.len()), (vec![a, b], 0));
    let inc = db.incident(first).await.unwrap();
    assert_eq!(inc.title, "Port scan and SSH brute force (Patator) from 203.0.113.7");
    assert_eq!((inc.severity, inc.status, inc.alerts, inc.open_alerts), (Severity::High, IncidentStatus::Open, 2, 2));

    // An alert belongs to one incident: the second skips it and says where it is.
    let out = db
        .create_incident(
            "bob",
            &NewIncident {
                title: "C2 from the web server".into(),
                severity: Some(Severity::Critical),
                alert_ids: vec![b, c],
            },
            now,
        )
        .await
        .unwrap();
    let second = out.incident_id;
    assert_eq!(out.added, vec![c]);
    assert_eq!(out.skipped, vec![(b, format!("it is already in incident #{first}"))]);
    // None addable: nothing is created, and the error says why for each.
    let err = db.create_incident("bob", &new(&[a, 999_999]), now).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("it does not exist") && m.contains(&format!("incident #{first}"))),
        "{err}"
    );

    let out = db.add_to_incident(first, "alice", &[d, 999_999], now + 1).await.unwrap();
    assert_eq!((out.added, out.skipped[0].0), (vec![d], 999_999));
    assert_eq!(
        db.alert_events(d).await.unwrap().last().map(|e| (e.action.clone(), e.detail.clone())),
        Some(("incident".into(), format!("#{first}")))
    );

    // Contain once; containing again is a conflict that says why.
    let inc = db
        .incident_command(
            first,
            "alice",
            &IncidentCommand::Contain { note: "blocked 203.0.113.7".into() },
            now + 10 * MIN,
        )
        .await
        .unwrap();
    assert_eq!((inc.status, inc.contained_at), (IncidentStatus::Contained, Some(now + 10 * MIN)));
    let err =
        db.incident_command(first, "alice", &IncidentCommand::Contain { note: String::new() }, now).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("already contained")), "{err}");
    db.incident_command(first, "alice", &IncidentCommand::Assign { to: "bob".into() }, now + 11 * MIN).await.unwrap();

    // The list: active by default, filtered by status, severity, owner and text or number.
    let list = |q: IncidentQuery| async move { db.incidents(&q.validate().unwrap()).await.unwrap() };
    let page = list(IncidentQuery::default()).await;
    assert_eq!((page.total, page.active), (2, (1, 1)));
    assert_eq!(page.rows[0].id, second, "critical before high");
    assert_eq!(list(IncidentQuery { status: "resolved".into(), ..Default::default() }).await.total, 0);
    assert_eq!(list(IncidentQuery { owner: "BOB".into(), ..Default::default() }).await.rows[0].id, first);
    assert_eq!(list(IncidentQuery { q: format!("#{second}"), ..Default::default() }).await.rows[0].id, second);
    assert_eq!(list(IncidentQuery { q: "c2 FROM".into(), ..Default::default() }).await.rows[0].id, second);
    assert_eq!(list(IncidentQuery { q: "100%_".into(), ..Default::default() }).await.total, 0);

    // Merge: the alerts and the timeline move, the severity is the highest, the merged one points on.
    let inc = db.merge_incidents(first, &[second], "alice", now + 12 * MIN).await.unwrap();
    assert_eq!((inc.alerts, inc.severity), (4, Severity::Critical));
    assert_eq!(db.incident(second).await.unwrap().merged_into, Some(first));
    let err =
        db.incident_command(second, "bob", &IncidentCommand::Comment { text: "x".into() }, now).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains(&format!("merged into incident #{first}"))), "{err}");
    assert_eq!(
        list(IncidentQuery { status: "all".into(), ..Default::default() }).await.total,
        1,
        "merged incidents leave the list"
    );
    assert!(matches!(db.merge_incidents(first, &[first], "alice", now).await, Err(StoreError::Invalid(_))));

    // Resolving resolves every open alert, with the resolution in its history.
    db.triage(&[a], "alice", &anomalyforge::triage::Triage::FalsePositive { reason: "scanner".into() }).await.unwrap();
    let inc = db
        .incident_command(
            first,
            "bob",
            &IncidentCommand::Resolve { resolution: "Host rebuilt, key rotated".into() },
            now + 60 * MIN,
        )
        .await
        .unwrap();
    assert_eq!((inc.status, inc.open_alerts, inc.closed_at), (IncidentStatus::Resolved, 0, Some(now + 60 * MIN)));
    assert_eq!(inc.contained_at, Some(now + 10 * MIN), "containment time is kept");
    let detail = db.incident_detail(first).await.unwrap();
    let status_of = |id: i64| detail.alerts.iter().find(|x| x.id == id).map(|x| x.status.as_str()).unwrap();
    assert_eq!(status_of(a), AlertStatus::FalsePositive.as_str(), "a closed alert stays as it was");
    assert_eq!(status_of(c), AlertStatus::Resolved.as_str());
    let last = db.alert_events(c).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.detail.as_str()),
        ("bob", format!("Resolved with incident #{first}: Host rebuilt, key rotated").as_str())
    );
    assert!(db.add_to_incident(first, "bob", &[d], now).await.is_err(), "a closed incident takes no alerts");

    let inc = db
        .incident_command(first, "bob", &IncidentCommand::Reopen { note: "beacon again".into() }, now + 70 * MIN)
        .await
        .unwrap();
    assert_eq!((inc.status, inc.closed_at, inc.resolution.as_str()), (IncidentStatus::Open, None, ""));

    // The timeline tells the story in order; the summary names hosts, addresses and threats.
    let detail = db.incident_detail(first).await.unwrap();
    let kinds: Vec<&str> = detail.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "alerts_added",
            "created",
            "alerts_added",
            "alerts_added",
            "contain",
            "assign",
            "merged",
            "resolve",
            "reopen"
        ]
    );
    assert_eq!(
        detail.summary.hosts.iter().map(|h| (h.key.as_str(), h.alerts)).collect::<Vec<_>>(),
        [("10.0.0.5", 3), ("10.0.0.6", 1)]
    );
    assert_eq!(
        detail.summary.addresses.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(),
        ["203.0.113.7", "198.51.100.20"]
    );
    assert_eq!(detail.summary.threats[0].key, "port_scan");
    let audit: Vec<String> = db.recent_audit(50).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in [
        "incident.create",
        "incident.add_alerts",
        "incident.contain",
        "incident.merge",
        "incident.resolve",
        "incident.reopen",
    ] {
        assert!(audit.iter().any(|a| a == action), "{action} audited: {audit:?}");
    }

    // KPIs: one incident (the merged one counts in it), contained after 10 minutes, active now.
    let kpi = db.kpi_report(KpiRange::Day, now + 80 * MIN).await.unwrap();
    assert_eq!((kpi.incidents.current.opened, kpi.active_incidents), (1, 1));
    assert_eq!((kpi.incidents.current.contain.n, kpi.incidents.current.contain.ms()), (1, Some((10 * MIN) as f64)));
    assert!(!kpi.is_empty());
}

async fn incidents_are_suggested_from_shared_hosts_and_dismissals_hold(db: &Db) {
    let ids = store(
        db,
        vec![
            alert(T0, "203.0.113.7", "10.0.0.5", "port_scan", 55),
            alert(T0 + 30 * MIN, "198.51.100.3", "10.0.0.5", "ssh_patator", 80),
            alert(T0 + 90 * MIN, "10.0.0.5", "192.0.2.44", "bot", 91),
            alert(T0 + 90 * MIN, "192.0.2.99", "10.0.0.77", "ddos", 60),
        ],
    )
    .await;
    let s = db.incident_suggestions().await.unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!((s[0].key.as_str(), s[0].alert_ids.clone(), s[0].max_risk), ("host:10.0.0.5", ids[..3].to_vec(), 91));

    db.dismiss_suggestion("host:10.0.0.5", s[0].newest_alert(), "alice", now_ms()).await.unwrap();
    assert!(db.incident_suggestions().await.unwrap().is_empty(), "dismissed");
    assert!(matches!(db.dismiss_suggestion("host:not-an-ip", 3, "alice", 0).await, Err(StoreError::Invalid(_))));

    // A newer alert on the host brings it back, with every alert of the group.
    let more = store(db, vec![alert(T0 + 100 * MIN, "203.0.113.50", "10.0.0.5", "ddos", 70)]).await;
    let s = db.incident_suggestions().await.unwrap();
    assert_eq!(s[0].alert_ids.len(), 4);
    assert!(s[0].alert_ids.contains(&more[0]));

    // Accepted: its alerts are in an incident, so nothing is proposed any more; a closed alert is
    // never proposed either.
    db.create_incident("alice", &new(&s[0].alert_ids), now_ms()).await.unwrap();
    assert!(db.incident_suggestions().await.unwrap().is_empty());
}
