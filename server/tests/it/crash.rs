//! Durability: the real server binary is killed with SIGKILL during sustained ingest, restarted on
//! the same SQLite database, and every batch that was acknowledged must be there.
//!
//! Each batch carries real CIC-IDS2017 attack rows whose source is a unique internal address, so a
//! committed batch leaves that address in the asset inventory and its alerts: every acknowledged
//! batch's asset and alerts (as many as its reply announced) are checked, and the statistics hold
//! whole batches only. The kill lands while requests are in flight (asserted), and every wait has a
//! deadline, so a server that answers errors fails the test instead of hanging it.

use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::process::{self, free_port, workspace};
use anomalyforge::store::Db;

fn spawn_server(db_url: &str, port: u16, dir: &Path) -> Child {
    process::server(db_url, port, dir).spawn().expect("start the server binary")
}

/// Fails the test with `what` once `deadline` has passed.
fn before(deadline: std::time::Instant, what: &str) {
    assert!(std::time::Instant::now() < deadline, "timed out: {what}");
}

async fn wait_healthy(client: &reqwest::Client, port: u16) {
    assert!(
        process::becomes_healthy(client, port, Duration::from_secs(30)).await,
        "the server did not become healthy on port {port}"
    );
}

/// The internal address that marks batch `i`.
fn marker(i: usize) -> String {
    format!("10.77.{}.{}", i / 250, i % 250 + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("crash.db").display());
    let token = {
        let db = Db::connect(&db_url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let t = anomalyforge::auth::create_api_token(
            &db,
            anomalyforge::auth::TokenRequest { name: "crash-test", scopes: "ingest,read", expires_in_days: None },
            "test",
        )
        .await
        .unwrap();
        db.close().await;
        t.secret
    };
    let rows = std::fs::read_to_string(workspace("data/cicids2017/fixtures/cicids2017_attacks_sample.csv")).unwrap();
    let port = free_port();
    let mut server = spawn_server(&db_url, port, dir.path());
    let client = reqwest::Client::new();
    wait_healthy(&client, port).await;

    // Three senders, each posting batches back to back and recording what was acknowledged (the
    // batch and the alerts its reply announced); `in_flight` counts requests sent and not answered.
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let acked: Arc<Mutex<Vec<(usize, i64)>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..3 {
        let (client, token, rows) = (client.clone(), token.clone(), rows.clone());
        let (acked, failures, next, in_flight) = (acked.clone(), failures.clone(), next.clone(), in_flight.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, SeqCst);
                let body = rows.replace("172.16.0.1", &marker(i));
                in_flight.fetch_add(1, SeqCst);
                let res = client
                    .post(format!("http://127.0.0.1:{port}/api/v1/ingest/csv"))
                    .bearer_auth(&token)
                    .header("content-type", "text/csv")
                    .body(body)
                    .send()
                    .await;
                let reply = match res {
                    Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
                    Ok(r) if r.status().as_u16() == 503 => {
                        in_flight.fetch_sub(1, SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    Ok(r) => {
                        failures.lock().unwrap().push(format!("batch {i}: {}", r.status()));
                        None
                    }
                    // The server is gone: this batch was never acknowledged.
                    Err(_) => None,
                };
                in_flight.fetch_sub(1, SeqCst);
                match reply {
                    Some(v) => acked.lock().unwrap().push((i, v["alerts_created"].as_i64().unwrap_or(-1))),
                    None => return,
                }
            }
        }));
    }
    // Let ingest run, then kill the server without warning while a request is in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while acked.lock().unwrap().len() < 20 {
        before(deadline, &format!("20 acknowledged batches (errors: {:?})", failures.lock().unwrap()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    while in_flight.load(SeqCst) == 0 {
        before(deadline, "a request in flight to kill the server under");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let in_flight_at_kill = in_flight.load(SeqCst);
    server.kill().expect("SIGKILL"); // std's kill() sends SIGKILL on Unix
    server.wait().unwrap();
    for s in senders {
        tokio::time::timeout(Duration::from_secs(60), s).await.expect("senders stop once the server is gone").unwrap();
    }
    assert!(in_flight_at_kill > 0);
    assert!(failures.lock().unwrap().is_empty(), "{:?}", failures.lock().unwrap());
    let acked = acked.lock().unwrap().clone();
    let attempted = next.load(std::sync::atomic::Ordering::Relaxed);
    assert!(acked.len() >= 20);

    // Restart on the same database: it must start cleanly and hold every acknowledged batch.
    let mut server = spawn_server(&db_url, port, dir.path());
    wait_healthy(&client, port).await;
    let db = Db::connect(&db_url, 2).await.unwrap();
    let mut missing = Vec::new();
    for &(i, alerts_created) in &acked {
        let filter = anomalyforge::alert::AlertFilter { src_ip: Some(marker(i)), ..Default::default() };
        let alerts = db.query_alerts(&filter, None, 500).await.unwrap().alerts.len() as i64;
        if db.asset_by_ip(&marker(i)).await.unwrap().is_none() || alerts != alerts_created || alerts == 0 {
            missing.push((i, alerts, alerts_created));
        }
    }
    assert!(
        missing.is_empty(),
        "acknowledged batches lost or partial after SIGKILL (batch, alerts, announced): {missing:?} of {}",
        acked.len()
    );
    println!("{} batches acknowledged, {in_flight_at_kill} in flight at the kill, all stored whole", acked.len());
    let totals = db.ingest_totals().await.unwrap();
    assert!(
        totals.batches as usize >= acked.len() && totals.batches as usize <= attempted,
        "{totals:?}, {} acked",
        acked.len()
    );
    assert_eq!(totals.accepted, totals.batches * 24, "whole batches only: {totals:?}");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(db.pool()).await.unwrap();
    assert_eq!(check, "ok");
    // And the restarted server takes new batches.
    let res = client
        .post(format!("http://127.0.0.1:{port}/api/v1/ingest/csv"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(rows.replace("172.16.0.1", "10.99.0.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.kill().unwrap();
    server.wait().unwrap();
    db.close().await;
}
