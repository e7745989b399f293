//! The cluster under faults: PostgreSQL, a 3-node NATS JetStream cluster (replicas 3) and two real
//! server processes, with ingest running through both. One instance and one NATS node are killed
//! with SIGKILL while requests are in flight; every batch that was acknowledged (202) must end up
//! stored exactly once, and the survivor must take over the dead instance's unacknowledged batches.
//!
//! Runs in the PostgreSQL pass (`AF_TEST_SERVER_BACKEND=postgres`) with `nats-server` installed;
//! otherwise it is skipped, saying so.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::nats::{self, Nats};
use crate::support::process::{self, free_port, workspace, Running};
use crate::support::{on_postgres, store_db::TestDb, zeek_line, ZEEK_TSV};

fn spawn_instance(db_url: &str, bus: &str, port: u16, dir: &Path) -> Child {
    process::server(db_url, port, dir)
        .env("AF_BUS", bus)
        .env("AF_BUS__REPLICAS", "3")
        .env("AF_BUS__ACK_WAIT_SECS", "3")
        .spawn()
        .expect("start the server binary")
}

async fn wait_healthy(client: &reqwest::Client, port: u16) {
    let healthy = process::becomes_healthy(client, port, Duration::from_secs(60)).await;
    assert!(healthy, "instance on port {port} did not become healthy");
}

/// The internal address that marks batch `i`.
fn marker(i: usize) -> String {
    format!("10.78.{}.{}", i / 250, i % 250 + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_batches_are_stored_exactly_once_when_an_instance_and_a_nats_node_die() {
    if !on_postgres() {
        eprintln!("SKIPPED bus faults: runs in the PostgreSQL pass (AF_TEST_SERVER_BACKEND=postgres)");
        return;
    }
    if !nats::available("bus faults") {
        return;
    }
    let mut nats = Nats::cluster();
    let pg = TestDb::postgres().await.expect("AF_TEST_POSTGRES_URL");
    let token = anomalyforge::auth::create_api_token(
        &pg.db,
        anomalyforge::auth::TokenRequest { name: "bus-faults", scopes: "ingest,read", expires_in_days: None },
        "test",
    )
    .await
    .unwrap()
    .secret;
    let rows = std::fs::read_to_string(workspace("data/cicids2017/fixtures/cicids2017_attacks_sample.csv")).unwrap();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [free_port(), free_port()];
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    // The first instance creates the stream; the second joins it.
    let mut a = Running(spawn_instance(&pg.url, &nats.url(), ports[0], dirs[0].path()));
    wait_healthy(&client, ports[0]).await;
    let b = Running(spawn_instance(&pg.url, &nats.url(), ports[1], dirs[1].path()));
    wait_healthy(&client, ports[1]).await;

    // The same attack through both instances at once: whichever instance scores each batch, the
    // detections fold into the same alerts, each counted once per batch.
    let post = |port: u16, key: String| {
        let (client, token, body) = (client.clone(), token.clone(), rows.clone());
        async move {
            let res = client
                .post(format!("http://127.0.0.1:{port}/api/v1/ingest/csv"))
                .bearer_auth(&token)
                .header("content-type", "text/csv")
                .header("idempotency-key", key)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
        }
    };
    // The classifier's alerts of the attacker (the behaviour detectors add their own as the repeats
    // pile up, per instance): how many, and their detections.
    let attacker = || async {
        let filter = anomalyforge::alert::AlertFilter { src_ip: Some("172.16.0.1".into()), ..Default::default() };
        let alerts = pg.db.query_alerts(&filter, None, 500).await.unwrap().alerts;
        let ml: Vec<_> = alerts.iter().filter(|a| a.detector == anomalyforge::alert::Detector::Ml).collect();
        (ml.len(), ml.iter().map(|a| a.count).sum::<i64>())
    };
    let stored_batches = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_batches").fetch_one(pg.db.pool()).await.unwrap();
        n
    };
    let wait_stored = |n: i64| async move {
        let until = Instant::now() + Duration::from_secs(30);
        while stored_batches().await < n {
            assert!(Instant::now() < until, "{n} batches were not stored within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // A signed-in analyst's live stream on each instance counts the attacker's alert events: both
    // see every batch's, whichever instance stored it (PostgreSQL LISTEN/NOTIFY between them).
    anomalyforge::auth::create_user(
        &pg.db,
        anomalyforge::user::NewUser {
            must_change_password: false,
            username: "stream.analyst".into(),
            display_name: String::new(),
            role: anomalyforge::role::Role::Analyst,
            password: "stream analyst password".into(),
        },
        None,
    )
    .await
    .unwrap();
    let mut streams = Vec::new();
    let streams_done = Arc::new(AtomicBool::new(false));
    for port in ports {
        let done = streams_done.clone();
        let session = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let res = session
            .post(format!("http://127.0.0.1:{port}/api/auth/login"))
            .form(&[("username", "stream.analyst"), ("password", "stream analyst password")])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "sign-in on {port}: {}", res.status());
        let mut stream = session.get(format!("http://127.0.0.1:{port}/api/v1/stream")).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        streams.push(tokio::spawn(async move {
            let (mut text, mut events) = (String::new(), 0usize);
            while !done.load(SeqCst) {
                let chunk = match tokio::time::timeout(Duration::from_millis(200), stream.chunk()).await {
                    Ok(Ok(Some(chunk))) => chunk,
                    Ok(_) => break,
                    Err(_) => continue,
                };
                text.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = text.find("\n\n") {
                    let block: String = text.drain(..end + 2).collect();
                    if block.contains("event: alert") && block.contains("\"172.16.0.1\"") {
                        events += 1;
                    }
                }
            }
            events
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // the listeners subscribe
    post(ports[0], "same-0".into()).await;
    wait_stored(1).await;
    let (alerts, detections) = attacker().await;
    assert!(alerts > 0 && detections > 0);
    futures_util::future::join_all((1..=6).map(|k| post(ports[k % 2], format!("same-{k}")))).await;
    wait_stored(7).await;
    assert_eq!(attacker().await, (alerts, 7 * detections), "one alert per key, every detection counted once");
    // The instances share the bus's partitions through PostgreSQL: once B has joined, each owns half,
    // and together all.
    let owned = |port: u16| {
        let client = client.clone();
        async move {
            let health: serde_json::Value =
                client.get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap().json().await.unwrap();
            serde_json::from_value::<Vec<usize>>(health["bus"]["owned"].clone()).unwrap()
        }
    };
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let (on_a, on_b) = (owned(ports[0]).await, owned(ports[1]).await);
        let all: BTreeSet<usize> = on_a.iter().chain(&on_b).copied().collect();
        if on_a.len() == 4 && on_b.len() == 4 && all.len() == 8 {
            break;
        }
        assert!(Instant::now() < until, "the partitions were not shared: A {on_a:?}, B {on_b:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // So one instance judges a host's traffic whole: a command-and-control beacon that a sensor sends
    // one refused attempt per batch, alternately through A and B, is seen on all 20 attempts. Each
    // instance alone would see 10, below the detector's 12 (`[behaviour.beacon] min_connections`).
    let header = ZEEK_TSV.split_inclusive('\n').filter(|l| l.starts_with('#')).collect::<String>();
    let before = stored_batches().await;
    for i in 0..20usize {
        let line = zeek_line(
            1_677_024_003.0 + 30.0 * i as f64,
            &format!("Cb{i}"),
            "192.168.1.107",
            "66.63.168.35",
            5888,
            "REJ",
            (2, 2),
        );
        let res = client
            .post(format!("http://127.0.0.1:{}/api/v1/ingest/zeek", ports[i % 2]))
            .bearer_auth(&token)
            .header("content-type", "text/plain")
            .header("idempotency-key", format!("beacon-{i}"))
            .body(format!("{header}{line}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
        // In order, as one sensor sends them.
        wait_stored(before + i as i64 + 1).await;
    }
    let filter = anomalyforge::alert::AlertFilter { src_ip: Some("192.168.1.107".into()), ..Default::default() };
    let of_host = pg.db.query_alerts(&filter, None, 100).await.unwrap().alerts;
    let beacons: Vec<_> = of_host.iter().filter(|a| a.threat == "c2_beacon").collect();
    assert_eq!(beacons.len(), 1, "one beacon alert: {of_host:?}");
    assert_eq!(beacons[0].count, 20, "every attempt counted, whichever instance received it");

    tokio::time::sleep(Duration::from_secs(2)).await; // the last events cross over
    streams_done.store(true, SeqCst);
    let seen: Vec<usize> = futures_util::future::join_all(streams).await.into_iter().map(Result::unwrap).collect();
    assert!(
        seen[0] >= alerts && seen[0] == seen[1],
        "alert events on A and B: {seen:?} (at least one per alert, {alerts})"
    );

    // Four senders, two per instance; a sender to a dead instance moves to the other one. Each
    // batch has its own marker address and Idempotency-Key; only 202s count as acknowledged.
    let acked: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let next = Arc::new(AtomicUsize::new(0));
    let in_flight_a = Arc::new(AtomicUsize::new(0));
    let a_dead = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for s in 0..4 {
        let (client, token, rows) = (client.clone(), token.clone(), rows.clone());
        let (acked, failures, next, in_flight_a) = (acked.clone(), failures.clone(), next.clone(), in_flight_a.clone());
        let (a_dead, stop) = (a_dead.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            while !stop.load(SeqCst) {
                let to_a = s % 2 == 0 && !a_dead.load(SeqCst);
                let port = if to_a { ports[0] } else { ports[1] };
                let i = next.fetch_add(1, SeqCst);
                if to_a {
                    in_flight_a.fetch_add(1, SeqCst);
                }
                let res = client
                    .post(format!("http://127.0.0.1:{port}/api/v1/ingest/csv"))
                    .bearer_auth(&token)
                    .header("content-type", "text/csv")
                    .header("idempotency-key", format!("fault-{i}"))
                    .body(rows.replace("172.16.0.1", &marker(i)))
                    .send()
                    .await;
                if to_a {
                    in_flight_a.fetch_sub(1, SeqCst);
                }
                match res {
                    Ok(r) if r.status() == 202 => {
                        let v: serde_json::Value = r.json().await.unwrap();
                        acked.lock().unwrap().insert(i, v["batch_id"].as_str().unwrap().to_string());
                    }
                    // A full stream or a NATS node being replaced: not acknowledged, try the next.
                    Ok(r) if r.status() == 503 => tokio::time::sleep(Duration::from_millis(100)).await,
                    Ok(r) => failures.lock().unwrap().push(format!("batch {i}: {}", r.status())),
                    // The instance died under the request: not acknowledged.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let wait_acked = |n: usize| {
        let acked = acked.clone();
        async move {
            while acked.lock().unwrap().len() < n {
                assert!(Instant::now() < deadline, "timed out waiting for {n} acknowledged batches");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_acked(30).await;
    // Kill instance A with requests in flight to it, and one NATS node.
    while in_flight_a.load(SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no request in flight to instance A");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    a.0.kill().unwrap(); // SIGKILL
    a.0.wait().unwrap();
    a_dead.store(true, SeqCst);
    nats.kill(0);
    let at_kill = acked.lock().unwrap().len();
    wait_acked(at_kill + 30).await;
    stop.store(true, SeqCst);
    for s in senders {
        tokio::time::timeout(Duration::from_secs(60), s).await.expect("senders stop").unwrap();
    }
    assert!(failures.lock().unwrap().is_empty(), "{:?}", failures.lock().unwrap());
    let acked = acked.lock().unwrap().clone();

    // The survivor stores everything acknowledged: A's unacknowledged deliveries come back to B
    // after the acknowledgement wait.
    let wanted: BTreeSet<String> = acked.values().cloned().collect();
    // A batch's records are stored as `<batch id>/<partition>`.
    let stored_ids = || async {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM bus_batches").fetch_all(pg.db.pool()).await.unwrap();
        ids.into_iter().map(|id| id.split('/').next().unwrap_or_default().to_string()).collect::<BTreeSet<String>>()
    };
    let wait_until = Instant::now() + Duration::from_secs(90);
    loop {
        let stored = stored_ids().await;
        let missing: Vec<&String> = wanted.difference(&stored).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < wait_until, "acknowledged batches never stored: {missing:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Exactly once: one statistics row per stored batch, its records counted once, and each
    // acknowledged batch's attacker in the inventory with its alerts.
    tokio::time::sleep(Duration::from_secs(5)).await; // let late redeliveries land (and be refused)
    let (batches, records): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(records), 0) AS BIGINT) FROM bus_batches")
            .fetch_one(pg.db.pool())
            .await
            .unwrap();
    let totals = pg.db.ingest_totals().await.unwrap();
    // Parts of one partition taken together are stored as one batch: one statistics row for them.
    assert_eq!(totals.accepted, records, "stored once each: {totals:?}");
    assert!(totals.batches <= batches, "{totals:?}");
    // The 20 beacon batches hold one record each; the others the sample's 24.
    assert_eq!(records, (batches - 20) * 24 + 20, "whole batches only");
    assert!(batches as usize >= acked.len() + 7 + 20);
    for (&i, id) in &acked {
        assert!(pg.db.asset_by_ip(&marker(i)).await.unwrap().is_some(), "batch {i} ({id}) has no asset");
    }
    let health: serde_json::Value =
        client.get(format!("http://127.0.0.1:{}/healthz", ports[1])).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["leader"], true, "the survivor leads: {health}");
    assert_eq!(
        health["bus"]["owned"],
        serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7]),
        "the survivor owns every partition: {health}"
    );
    assert_eq!(health["bus"]["replicas"], 3, "{health}");
    let metrics = client
        .get(format!("http://127.0.0.1:{}/metrics", ports[1]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counter = |name: &str| {
        metrics.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string())).unwrap_or_default()
    };
    println!(
        "{} batches acknowledged ({at_kill} before the kills), {batches} stored; the survivor took {} redelivered, {} of them already stored",
        acked.len(),
        counter("anomalyforge_bus_redelivered_total"),
        counter("anomalyforge_bus_already_stored_total"),
    );
    drop(b);
    pg.cleanup().await;
}
