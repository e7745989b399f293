#![cfg(feature = "server")]
//! Notifications on both backends: rules pick the events (severity, threat, asset criticality,
//! incidents opened and escalated), deliveries are queued with the event, a channel's limit holds the
//! rest for one digest, a claimed delivery is leased, and attempts end sent, retried or failed.

use crate::support::TestDb;
use anomalyforge::alert::Severity;
use anomalyforge::incident::{IncidentCommand, NewIncident};
use anomalyforge::notify::{DeliveryStatus, NewChannel, NewRule};
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use anomalyforge::store::Db;

on_both_backends!(rules_queue_deliveries_with_the_event_and_limits_hold_the_rest);

const NOW: i64 = 1_795_000_000_000;

fn alert(src: &str, threat: &str, risk: i64) -> NewAlert {
    NewAlert {
        seen_at: NOW,
        last_seen: NOW,
        src_ip: Some(src.into()),
        dst_ip: Some("10.0.0.5".into()),
        threat: threat.into(),
        risk,
        ..NewAlert::blank()
    }
}

async fn statuses(db: &Db) -> Vec<(String, DeliveryStatus)> {
    let mut d: Vec<_> =
        db.notify_overview(false).await.unwrap().deliveries.into_iter().map(|d| (d.event, d.status)).collect();
    d.reverse();
    d
}

async fn rules_queue_deliveries_with_the_event_and_limits_hold_the_rest(db: &Db) {
    // No channel, no delivery: storing alerts is unchanged.
    db.persist_batch_at(&PersistBatch { alerts: vec![alert("203.0.113.1", "ddos", 95)], ..Default::default() }, NOW)
        .await
        .unwrap();
    assert!(statuses(db).await.is_empty());

    let hook = db
        .create_channel(
            &NewChannel::from_form("hook", "webhook", "https://hooks.example/af", "2").unwrap(),
            "k",
            "admin",
            NOW,
        )
        .await
        .unwrap();
    db.create_rule(&NewRule::from_form(&hook.to_string(), "alert", "high", "", "", "").unwrap(), "admin", NOW)
        .await
        .unwrap();
    db.create_rule(
        &NewRule::from_form(&hook.to_string(), "incident_escalated", "critical", "", "", "").unwrap(),
        "admin",
        NOW,
    )
    .await
    .unwrap();

    // A medium alert is not for the rule; a critical one is; a repeat of an open alert is not new.
    let batch = |alerts| PersistBatch { alerts, dedup_window_ms: 600_000, ..Default::default() };
    db.persist_batch_at(&batch(vec![alert("203.0.113.2", "port_scan", 50)]), NOW).await.unwrap();
    assert!(statuses(db).await.is_empty(), "medium is below the rule");
    let stored = db.persist_batch_at(&batch(vec![alert("203.0.113.3", "bot", 96)]), NOW).await.unwrap();
    db.persist_batch_at(&batch(vec![alert("203.0.113.3", "bot", 96)]), NOW + 1).await.unwrap();
    let d = db.notify_overview(false).await.unwrap().deliveries;
    assert_eq!(d.len(), 1, "one delivery for the new alert, none for its repeat");
    let payload: serde_json::Value = serde_json::from_str(&d[0].payload).unwrap();
    assert_eq!((payload["event"].as_str(), payload["alert"]["id"].as_i64()), (Some("alert"), Some(stored[0].alert.id)));
    assert_eq!(payload["path"], format!("/soc?alert={}", stored[0].alert.id));

    // Escalating an incident to critical is announced; opening one is not (no rule for it).
    let incident = db
        .create_incident(
            "ana",
            &NewIncident {
                title: "Beacon".into(),
                severity: Some(Severity::High),
                alert_ids: vec![stored[0].alert.id],
            },
            NOW,
        )
        .await
        .unwrap()
        .incident_id;
    db.incident_command(incident, "ana", &IncidentCommand::Severity { to: Severity::Critical }, NOW).await.unwrap();
    db.incident_command(incident, "ana", &IncidentCommand::Severity { to: Severity::Medium }, NOW).await.unwrap();
    assert_eq!(
        statuses(db).await,
        vec![("alert".to_string(), DeliveryStatus::Queued), ("incident_escalated".to_string(), DeliveryStatus::Queued)]
    );

    // The channel takes 2 a minute: three more alerts are held, and summed up in one digest once
    // the oldest has waited the hold time.
    db.persist_batch_at(
        &batch(vec![
            alert("198.51.100.1", "ddos", 90),
            alert("198.51.100.2", "ddos", 91),
            alert("198.51.100.3", "ddos", 92),
        ]),
        NOW + 10,
    )
    .await
    .unwrap();
    let held = statuses(db).await.iter().filter(|(_, s)| *s == DeliveryStatus::Held).count();
    assert_eq!(held, 3);
    assert_eq!(db.digest_held(NOW + 30_000, 60_000).await.unwrap(), 0, "not yet");
    assert_eq!(db.digest_held(NOW + 60_010, 60_000).await.unwrap(), 1);
    let all = db.notify_overview(false).await.unwrap().deliveries;
    let digest = all.iter().find(|d| d.event == "digest").unwrap();
    assert!(digest.subject.starts_with("3 more notifications held back"), "{}", digest.subject);
    assert_eq!(
        all.iter().filter(|d| d.status == DeliveryStatus::Digested && d.digest_id == Some(digest.id)).count(),
        3
    );

    // Claimed deliveries are leased: a second worker gets none of them.
    let due = db.claim_due(NOW + 60_020, NOW + 120_000, 10).await.unwrap();
    assert_eq!(due.len(), 3, "two queued events and the digest");
    assert_eq!((due[0].channel.as_str(), due[0].secret.as_str()), ("hook", "k"));
    assert!(db.claim_due(NOW + 60_020, NOW + 120_000, 10).await.unwrap().is_empty());
    db.record_attempt(due[0].delivery.id, NOW + 60_030, Ok(())).await.unwrap();
    db.record_attempt(due[1].delivery.id, NOW + 60_030, Err(("HTTP 500".into(), Some(NOW + 70_000)))).await.unwrap();
    db.record_attempt(due[2].delivery.id, NOW + 60_030, Err(("refused".into(), None))).await.unwrap();
    let (sent, retry, failed) = (
        db.delivery(due[0].delivery.id).await.unwrap(),
        db.delivery(due[1].delivery.id).await.unwrap(),
        db.delivery(due[2].delivery.id).await.unwrap(),
    );
    assert_eq!((sent.status, sent.attempts, sent.sent_at), (DeliveryStatus::Sent, 1, Some(NOW + 60_030)));
    assert_eq!(
        (retry.status, retry.next_attempt_at, retry.last_error.as_str()),
        (DeliveryStatus::Queued, NOW + 70_000, "HTTP 500")
    );
    assert_eq!((failed.status, failed.last_error.as_str()), (DeliveryStatus::Failed, "refused"));
    assert_eq!(db.claim_due(NOW + 70_000, NOW + 130_000, 10).await.unwrap().len(), 1, "due again at its retry time");

    // Ended deliveries are pruned after the retention; queued ones stay.
    assert_eq!(db.prune_deliveries(NOW + 60_031).await.unwrap(), 5, "sent, failed, and the three digested");
    assert_eq!(db.notify_overview(false).await.unwrap().deliveries.len(), 1, "the one waiting for its retry");

    // A test goes out whatever the rules; deleting the channel takes its rules and deliveries.
    db.queue_test(hook, "admin", NOW).await.unwrap();
    db.delete_channel(hook, "admin", NOW).await.unwrap();
    let o = db.notify_overview(false).await.unwrap();
    assert!(o.channels.is_empty() && o.rules.is_empty() && o.deliveries.is_empty());
    // A rule on one asset: only alerts about that asset, with its criticality in the message.
    let ops = db
        .create_channel(
            &NewChannel::from_form("ops", "slack", "https://hooks.example/ops", "").unwrap(),
            "",
            "admin",
            NOW,
        )
        .await
        .unwrap();
    db.create_rule(&NewRule::from_form(&ops.to_string(), "alert", "low", "", "", "10.0.0.77").unwrap(), "admin", NOW)
        .await
        .unwrap();
    let on = |ip: &str| NewAlert {
        dst_ip: Some(ip.into()),
        asset_ip: Some(ip.into()),
        ..alert("192.0.2.7", "port_scan", 45)
    };
    db.persist_batch_at(
        &PersistBatch {
            alerts: vec![on("10.0.0.77"), on("10.0.0.78")],
            assets_seen: vec![("10.0.0.77".into(), NOW), ("10.0.0.78".into(), NOW)],
            ..Default::default()
        },
        NOW + 100,
    )
    .await
    .unwrap();
    let d = db.notify_overview(false).await.unwrap().deliveries;
    assert_eq!(d.len(), 1, "{d:?}");
    let payload: serde_json::Value = serde_json::from_str(&d[0].payload).unwrap();
    assert_eq!(
        (payload["alert"]["dst_ip"].as_str(), payload["alert"]["asset_criticality"].is_string()),
        (Some("10.0.0.77"), true)
    );

    let audit: Vec<String> = db.recent_audit(50).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(audit.iter().any(|a| a == "notify.channel_create") && audit.iter().any(|a| a == "notify.channel_delete"));
}
