//! Two instances on one PostgreSQL: an alert stored by one reaches the other's stream clients, and
//! one instance at a time leads the background jobs, the survivor taking over when the leader stops.
//! On SQLite these tests are skipped (one instance per database, see `instances.rs`).

use crate::support::{on_postgres, TestApp};
use anomalyforge::role::Role;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn health(app: &TestApp) -> Value {
    reqwest::get(app.url("/healthz")).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn an_alert_stored_by_one_instance_reaches_the_stream_of_the_other() {
    if !on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (AF_TEST_SERVER_BACKEND=postgres)");
        return;
    }
    let a = TestApp::spawn_ingest(|c| c.replay.autostart = Some(false)).await;
    let b = TestApp::spawn_joining(&a, |_| {}).await;
    let analyst = a.signed_in(Role::Analyst).await;
    let mut stream = analyst.get(a.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    // Let A's listener subscribe before B stores anything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let token = b.api_token("sensor-on-b").await;
    let reply = b.ingest_attacks(&token, None).await;
    assert!(reply["alerts_created"].as_u64().unwrap() > 0, "{reply}");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.contains("event: alert") {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no alert event on A's stream within 15 s: {seen}");
        if let Ok(Ok(Some(chunk))) = tokio::time::timeout(left, stream.chunk()).await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let data = seen.split("event: alert").nth(1).unwrap().lines().find_map(|l| l.strip_prefix("data:")).unwrap();
    let event: Value = serde_json::from_str(data.trim()).unwrap();
    let id = event["alert"]["id"].as_i64().unwrap();
    assert_eq!(b.db.alert_by_id(id).await.unwrap().id, id, "the alert B stored");
    drop(stream);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn one_instance_leads_and_the_survivor_takes_over() {
    if !on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (AF_TEST_SERVER_BACKEND=postgres)");
        return;
    }
    let mut a = TestApp::spawn_ingest(|c| c.replay.autostart = Some(false)).await;
    let mut b = TestApp::spawn_joining(&a, |_| {}).await;
    let leaders = |x: &Value, y: &Value| (x["leader"].as_bool().unwrap(), y["leader"].as_bool().unwrap());
    let deadline = Instant::now() + Duration::from_secs(15);
    let (la, lb) = loop {
        let (ha, hb) = (health(&a).await, health(&b).await);
        assert_ne!(ha["instance"], hb["instance"]);
        match leaders(&ha, &hb) {
            (true, true) => panic!("two leaders: {ha} {hb}"),
            (false, false) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            (false, false) => panic!("no leader within 15 s"),
            one => break one,
        }
    };
    assert!(la ^ lb);
    // The leader stops; the survivor leads within a few retries.
    let survivor = if la {
        a.stop_leaving_database_to(&mut b).await;
        b
    } else {
        b.stop_leaving_database_to(&mut a).await;
        a
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while health(&survivor).await["leader"] != true {
        assert!(Instant::now() < deadline, "the survivor did not take over within 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    survivor.stop().await;
}

#[tokio::test]
async fn a_single_sqlite_instance_is_its_own_leader() {
    if on_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    assert_eq!(health(&app).await["leader"], true);
    app.stop().await;
}
