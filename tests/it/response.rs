#![cfg(feature = "server")]
//! Response actions on both backends (request, approval by a second person, expiry, lifting, the
//! incident timeline and the audit trail), and the enforcement feeds checked by the real tools:
//! `nft -c -f` parses the nftables file and `suricata -T` loads the drop rules. The tools are
//! installed by `scripts/response-tools.sh`; with `AF_REQUIRE_RESPONSE_TOOLS=1` (as in CI) a missing
//! tool fails instead of skipping.

use crate::support::TestDb;
use anomalyforge::incident::NewIncident;
use anomalyforge::response::feeds::{self, FeedEntry};
use anomalyforge::response::{ActionKind, ActionState, ActionStatus, NewAction};
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use anomalyforge::store::{Db, StoreError};

on_both_backends!(responders_act_with_approval_expiry_and_lifting);

const H: i64 = 3_600_000;
const NOW: i64 = 1_795_000_000_000;

fn new(kind: &str, target: &str, hours: &str, alert: Option<i64>) -> NewAction {
    NewAction::from_form(
        kind,
        target,
        "C2 server of the beacon",
        hours,
        "",
        &alert.map(|a| a.to_string()).unwrap_or_default(),
    )
    .unwrap()
}

async fn responders_act_with_approval_expiry_and_lifting(db: &Db) {
    let alert = NewAlert {
        seen_at: NOW,
        last_seen: NOW,
        src_ip: Some("10.0.0.5".into()),
        dst_ip: Some("203.0.113.7".into()),
        threat: "c2_beacon".into(),
        risk: 90,
        ..NewAlert::blank()
    };
    let stored = db.persist_batch(&PersistBatch { alerts: vec![alert], ..Default::default() }).await.unwrap();
    let alert_id = stored[0].alert.id;
    let incident = db
        .create_incident(
            "alice",
            &NewIncident { title: "Beacon".into(), severity: None, alert_ids: vec![alert_id] },
            NOW,
        )
        .await
        .unwrap()
        .incident_id;

    // From the alert: in force at once for 24 hours, and it belongs to the alert's incident.
    let block =
        db.request_action("rita", &new("block", "203.0.113.7", "24", Some(alert_id)), false, NOW).await.unwrap();
    assert_eq!(
        (block.status, block.expires_at, block.incident_id),
        (ActionStatus::Active, Some(NOW + 24 * H), Some(incident))
    );
    assert_eq!(block.state(NOW + 24 * H - 1), ActionState::Active);
    let timeline = db.incident_detail(incident).await.unwrap().timeline;
    let last = timeline.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.detail.as_str()),
        ("action", format!("Block 203.0.113.7 for 24 hours (action #{}): C2 server of the beacon", block.id).as_str())
    );
    assert_eq!(db.alert_events(alert_id).await.unwrap().last().unwrap().action, "action");

    // Needing approval: pending (not in the feeds) until someone else approves; the duration then
    // counts from the approval.
    let isolate = db.request_action("rita", &new("isolate", "10.0.0.5", "4", None), true, NOW).await.unwrap();
    assert_eq!((isolate.status, isolate.expires_at), (ActionStatus::Pending, None));
    let ids = |entries: Vec<FeedEntry>| entries.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(db.feed_entries(NOW + 1).await.unwrap()), vec![block.id]);
    let err = db.approve_action(isolate.id, "rita", NOW + H).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("second person")), "{err}");
    let approved = db.approve_action(isolate.id, "sam", NOW + H).await.unwrap();
    assert_eq!(
        (approved.status, approved.decided_by.as_deref(), approved.expires_at),
        (ActionStatus::Active, Some("sam"), Some(NOW + 5 * H))
    );
    assert_eq!(ids(db.feed_entries(NOW + 2 * H).await.unwrap()), vec![block.id, isolate.id]);
    // Expired: gone from the feeds, listed as ended, and it can no longer be lifted.
    assert_eq!(ids(db.feed_entries(NOW + 5 * H).await.unwrap()), vec![block.id]);
    let err = db.lift_action(isolate.id, "sam", "", NOW + 6 * H).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("expired")), "{err}");

    // A pending action can be rejected (not lifted); an active one lifted (not rejected), once.
    let manual = db.request_action("rita", &new("block", "198.51.100.0/24", "", None), true, NOW).await.unwrap();
    assert!(db.lift_action(manual.id, "sam", "", NOW).await.is_err());
    let rejected = db.reject_action(manual.id, "sam", "too broad for a mail relay", NOW + H).await.unwrap();
    assert_eq!((rejected.status, rejected.end_note.as_str()), (ActionStatus::Rejected, "too broad for a mail relay"));
    assert!(db.reject_action(block.id, "sam", "", NOW).await.is_err());
    let lifted = db.lift_action(block.id, "sam", "the server was taken down", NOW + 2 * H).await.unwrap();
    assert_eq!((lifted.state(NOW + 2 * H), lifted.lifted_by.as_deref()), (ActionState::Lifted, Some("sam")));
    assert!(db.lift_action(block.id, "sam", "", NOW + 2 * H).await.is_err(), "lifted once");
    assert!(db.feed_entries(NOW + 2 * H).await.unwrap().iter().all(|e| e.id != block.id));

    let (pending, active, ended) = db.response_actions(NOW + 6 * H).await.unwrap();
    assert!(pending.is_empty() && active.is_empty());
    assert_eq!(ended.len(), 3);
    let kinds: Vec<String> = db.incident_detail(incident).await.unwrap().timeline.into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| k.starts_with("action")).collect::<Vec<_>>(), ["action", "action_lifted"]);
    let audit: Vec<String> = db.recent_audit(50).await.unwrap().into_iter().map(|e| e.action).collect();
    for a in ["response.action", "response.action_approved", "response.action_rejected", "response.action_lifted"] {
        assert!(audit.iter().any(|x| x == a), "{a} audited: {audit:?}");
    }
    let actions = db.actions_for(Some(incident), None).await.unwrap();
    assert_eq!(actions.iter().map(|a| a.id).collect::<Vec<_>>(), vec![block.id]);
    assert!(matches!(db.approve_action(999_999, "sam", NOW).await, Err(StoreError::NotFound(_))));
}

/// A tool the feed checks need, or `None` (a skip) unless CI requires it.
fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("AF_REQUIRE_RESPONSE_TOOLS").as_deref() != Ok("1"),
            "{name} is not installed: run scripts/response-tools.sh"
        );
        eprintln!("skipping: {name} is not installed (scripts/response-tools.sh installs it)");
    }
    found
}

fn sample() -> Vec<FeedEntry> {
    let e = |id: i64, kind: ActionKind, target: &str| FeedEntry { id, kind, target: target.into() };
    vec![
        e(1, ActionKind::Block, "203.0.113.7"),
        e(2, ActionKind::Block, "198.51.100.0/24"),
        e(3, ActionKind::Block, "198.51.100.9"),
        e(4, ActionKind::Block, "2001:db8:ffff::/48"),
        e(5, ActionKind::Block, "2001:db8::1"),
        e(6, ActionKind::Isolate, "10.0.0.5"),
        e(7, ActionKind::Isolate, "fd00::5"),
        e(8, ActionKind::Block, "203.0.113.7"),
    ]
}

/// `nft -c -f`: the file parses, with entries, with none, and with overlapping blocks collapsed.
#[test]
fn the_nftables_feed_is_accepted_by_nft() {
    let Some(nft) = tool("nft") else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, entries) in [("full", sample()), ("empty", Vec::new())] {
        let path = dir.path().join(format!("{name}.nft"));
        std::fs::write(&path, feeds::nftables(&entries, "2026-12-06T12:00:00Z")).unwrap();
        let out = std::process::Command::new(&nft).arg("-c").arg("-f").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "nft -c rejected the {name} file: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&path).unwrap()
        );
    }
    // The check is real: an overlap the collapse would have removed is refused by nft.
    let bad = feeds::nftables(&sample(), "t")
        .replace("elements = { 198.51.100.0/24,", "elements = { 198.51.100.9, 198.51.100.0/24,");
    let path = dir.path().join("bad.nft");
    std::fs::write(&path, bad).unwrap();
    let out = std::process::Command::new(&nft).arg("-c").arg("-f").arg(&path).output().unwrap();
    assert!(!out.status.success(), "nft accepted overlapping intervals");
}

/// `suricata -T`: every rule loads (Suricata skips a broken rule and still exits 0, so the check
/// reads its count of rules loaded and failed; a broken file shows the check can fail).
#[test]
fn the_suricata_feed_is_accepted_by_suricata() {
    let Some(suricata) = tool("suricata") else { return };
    let dir = tempfile::tempdir().unwrap();
    let check = |rules: &str| {
        let path = dir.path().join("feed.rules");
        std::fs::write(&path, rules).unwrap();
        let out = std::process::Command::new(&suricata)
            .args(["-T", "-v", "-S"])
            .arg(&path)
            .arg("-l")
            .arg(dir.path())
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        // "1 rule files processed. 16 rules successfully loaded, 0 rules failed"
        let counts = log.split("rule files processed. ").nth(1).and_then(|rest| {
            let loaded = rest.split(" rules successfully loaded, ").next()?.trim().parse::<usize>().ok()?;
            let failed = rest.split(" rules successfully loaded, ").nth(1)?.split(' ').next()?.parse::<usize>().ok()?;
            Some((loaded, failed))
        });
        (out.status.success(), counts, log)
    };
    let rules = feeds::suricata(&sample(), "2026-12-06T12:00:00Z");
    let (ok, counts, log) = check(&rules);
    assert!(ok, "suricata -T failed: {log}\n{rules}");
    assert_eq!(counts, Some((16, 0)), "{log}\n{rules}");
    let (_, counts, log) = check(&rules.replacen("sid:", "sidd:", 1));
    assert_eq!(counts, Some((15, 1)), "a broken rule is counted as failed: {log}");
}
