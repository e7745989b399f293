//! The ingest bus (`AF_BUS`, NATS JetStream) in process, on a real `nats-server`: batches answered
//! only once JetStream holds them and stored by a consumer, a batch delivered again stored once, a
//! full stream answered 503 with `Retry-After` and drained by another instance, sensors publishing
//! raw bodies, unreadable messages refused, and `Idempotency-Key` without the bus.

use std::time::{Duration, Instant};

use crate::support::nats::{self, Nats};
use crate::support::TestApp;
use anomalyforge::store::alerts::IngestTotals;
use anomalyforge::store::Db;
use serde_json::Value;

fn attacks() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/cicids2017/fixtures/cicids2017_attacks_sample.csv");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const ZEEK: &str = "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n\
1447864573.943457\tCx1\t10.0.2.112\t49168\t195.113.214.219\t80\ttcp\thttp\t0.055687\t261\t1077\tSF\t5\t5\n\
1447864574.267228\tCx2\t10.0.2.112\t49171\t151.97.100.116\t6898\ttcp\t-\t-\t-\t-\tS0\t1\t0\n\
this line is no conn.log record\n";

async fn post_csv(app: &TestApp, token: &str, body: String, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client()
        .post(app.url("/api/v1/ingest/csv"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await.unwrap()
}

/// Waits until `db` holds `records` ingested records (at most 30 s). Batches of one partition taken
/// from the bus together are stored as one, so the records are what to count.
async fn wait_for_records(db: &Db, records: i64) -> IngestTotals {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = db.ingest_totals().await.unwrap();
        if t.accepted >= records {
            return t;
        }
        assert!(Instant::now() < deadline, "waited 30 s for {records} stored records; have {t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The id a batch's records from `src` are stored under: the batch id and the host's partition.
fn part_id(batch: &str, src: &str) -> String {
    format!("{batch}/{}", anomalyforge::bus::partition::of_ip(src.parse().unwrap(), 8))
}

async fn metric(app: &TestApp, name: &str) -> u64 {
    let token = app.api_token("metrics").await;
    let text = app.client().get(app.url("/metrics")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

async fn with_bus(nats: &Nats, adjust: impl FnOnce(&mut anomalyforge::config::Config)) -> TestApp {
    let url = nats.url();
    TestApp::spawn_ingest(move |c| {
        c.bus.url = Some(url);
        c.bus.ack_wait_secs = 2;
        adjust(c);
    })
    .await
}

#[tokio::test]
async fn batches_are_answered_once_jetstream_holds_them_and_stored_by_the_consumer() {
    if !nats::available("bus batches") {
        return;
    }
    let nats = Nats::single();
    let app = with_bus(&nats, |_| {}).await;
    let token = app.api_token("bus").await;
    let res = post_csv(&app, &token, attacks(), None).await;
    assert_eq!(res.status(), 202);
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["accepted"], 24, "{reply}");
    assert_eq!(reply["parts"], 1, "{reply}");
    let id = reply["batch_id"].as_str().unwrap().to_string();
    let totals = wait_for_records(&app.db, 24).await;
    assert_eq!((totals.accepted, totals.scored), (24, 24), "{totals:?}");
    // Every row of the sample is from one attacker: one partition, one message.
    assert!(app.db.bus_batch_stored(&part_id(&id, "172.16.0.1")).await.unwrap());
    let alerts = app.db.query_alerts(&Default::default(), None, 100).await.unwrap().alerts;
    assert!(alerts.iter().any(|a| a.src_ip.as_deref() == Some("172.16.0.1")), "{alerts:?}");
    // The stream is a work queue: a stored batch leaves it once acknowledged.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let health: Value = app.client().get(app.url("/healthz")).send().await.unwrap().json().await.unwrap();
        if health["bus"]["batches"] == 0 && health["bus"]["ack_pending"] == 0 {
            assert_eq!(health["bus"]["stream"], "ANOMALYFORGE_INGEST", "{health}");
            // The only instance, on SQLite, takes every partition.
            assert_eq!(health["bus"]["partitions"], 8, "{health}");
            assert_eq!(health["bus"]["owned"], serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7]), "{health}");
            break;
        }
        assert!(Instant::now() < deadline, "the stored batch is still in the stream: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metric(&app, "anomalyforge_bus_published_total").await, 1);
    assert_eq!(metric(&app, "anomalyforge_bus_delivered_total").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_batch_delivered_again_after_its_commit_is_stored_once() {
    if !nats::available("bus redelivery") {
        return;
    }
    let nats = Nats::single();
    // A duplicate window of 1 s lets the test publish the same id again after it, as a redelivery
    // after a lost acknowledgement would arrive.
    let app = with_bus(&nats, |c| c.bus.duplicate_window_secs = 1).await;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let publish = |id: &'static str| {
        let js = js.clone();
        async move {
            let msg = async_nats::jetstream::message::PublishMessage::build()
                .payload(ZEEK.as_bytes().to_vec().into())
                .message_id(id);
            js.send_publish("anomalyforge.ingest.zeek", msg).await.unwrap().await.unwrap()
        }
    };
    assert!(!publish("sensor-7-000001").await.duplicate);
    let first = wait_for_records(&app.db, 2).await;
    assert_eq!((first.accepted, first.rejected), (2, 1), "a sensor's bad line is counted: {first:?}");
    // Within the window JetStream drops the republish itself.
    assert!(publish("sensor-7-000001").await.duplicate);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!publish("sensor-7-000001").await.duplicate, "past the window JetStream takes it");
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&app, "anomalyforge_bus_already_stored_total").await < 1 {
        assert!(Instant::now() < deadline, "the second delivery was not recognised as stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.db.ingest_totals().await.unwrap(), first, "nothing stored twice");
    let stored: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, records FROM bus_batches").fetch_all(app.db.pool()).await.unwrap();
    // The sensor's message was routed to its host's partition, under an id made from its own.
    assert_eq!(stored, [(part_id("sensor-7-000001", "10.0.2.112"), 2)]);
    assert_eq!(metric(&app, "anomalyforge_bus_routed_total").await, 2, "routed twice, stored once");

    // The claim in the transaction holds even when two deliveries pass the early check at once.
    let batch = anomalyforge::store::alerts::PersistBatch {
        bus_batches: vec![("race-1".into(), 5)],
        stats: anomalyforge::store::alerts::BatchStats { source: "zeek".into(), accepted: 5, ..Default::default() },
        ..Default::default()
    };
    let (a, b) = tokio::join!(app.db.persist_batch(&batch), app.db.persist_batch(&batch));
    let already =
        [&a, &b].iter().filter(|r| matches!(r, Err(anomalyforge::store::StoreError::AlreadyStored(_)))).count();
    assert!(a.is_ok() || b.is_ok(), "{a:?} {b:?}");
    assert_eq!(already, 1, "{a:?} {b:?}");
    assert_eq!(app.db.ingest_totals().await.unwrap().accepted, first.accepted + 5);
    // Housekeeping forgets stored ids past a week; younger ones stay.
    let now = anomalyforge::store::now_ms();
    assert_eq!(app.db.prune_bus_batches(now - 7 * anomalyforge::time::DAY).await.unwrap(), 0);
    assert_eq!(app.db.prune_bus_batches(now + 1).await.unwrap(), 2);
    assert!(!app.db.bus_batch_stored(&part_id("sensor-7-000001", "10.0.2.112")).await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn a_full_stream_answers_503_until_another_instance_drains_it() {
    if !nats::available("bus backpressure") {
        return;
    }
    let nats = Nats::single();
    // An ingest gateway that only publishes, on a stream of two batches.
    let gateway = with_bus(&nats, |c| {
        c.bus.consume = false;
        c.bus.max_batches = 2;
    })
    .await;
    let token = gateway.api_token("gateway").await;
    for _ in 0..2 {
        assert_eq!(post_csv(&gateway, &token, attacks(), None).await.status(), 202);
    }
    let res = post_csv(&gateway, &token, attacks(), None).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "busy", "{body}");
    assert!(body["message"].as_str().unwrap().contains("full"), "{body}");
    assert_eq!(gateway.db.ingest_totals().await.unwrap().batches, 0, "the gateway scores nothing");

    // A scoring instance (its own database here: the gateway is on SQLite) drains the backlog.
    let scorer = with_bus(&nats, |c| c.bus.max_batches = 2).await;
    // The backlog of one partition is taken together: one transaction, as one batch.
    let totals = wait_for_records(&scorer.db, 48).await;
    assert_eq!((totals.accepted, totals.batches), (48, 1), "{totals:?}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let res = post_csv(&gateway, &token, attacks(), None).await;
        if res.status() == 202 {
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(Instant::now() < deadline, "the stream did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_records(&scorer.db, 72).await;
    gateway.stop().await;
    scorer.stop().await;
}

/// Batches of one partition that arrive together are stored in one transaction; when one of them
/// is a batch stored before, they are stored one by one, so it is stored once and the others still
/// are.
#[tokio::test]
async fn batches_taken_together_are_stored_once_each_even_with_a_repeat_among_them() {
    if !nats::available("bus merged batches") {
        return;
    }
    let nats = Nats::single();
    // A gateway fills the stream before any instance scores; the duplicate window of 1 s lets it
    // publish one batch twice, as a sender's retry after the window would.
    let gateway = with_bus(&nats, |c| {
        c.bus.consume = false;
        c.bus.duplicate_window_secs = 1;
    })
    .await;
    let token = gateway.api_token("gateway").await;
    assert_eq!(post_csv(&gateway, &token, attacks(), Some("first")).await.status(), 202);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for key in ["first", "second", "third"] {
        assert_eq!(post_csv(&gateway, &token, attacks(), Some(key)).await.status(), 202);
    }
    // One pull takes all four: "first" twice in one transaction cannot be, so they go one by one.
    let scorer = with_bus(&nats, |_| {}).await;
    let totals = wait_for_records(&scorer.db, 72).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&scorer, "anomalyforge_bus_already_stored_total").await < 1 {
        assert!(Instant::now() < deadline, "the repeat was not recognised as stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(scorer.db.ingest_totals().await.unwrap(), totals, "nothing stored twice: {totals:?}");
    assert_eq!(totals.accepted, 72);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_batches").fetch_one(scorer.db.pool()).await.unwrap();
    assert_eq!(stored, 3);
    assert_eq!(metric(&scorer, "anomalyforge_bus_delivered_total").await, 4);
    gateway.stop().await;
    scorer.stop().await;
}

#[tokio::test]
async fn unreadable_messages_are_refused_once_and_the_rest_stored() {
    if !nats::available("bus refusals") {
        return;
    }
    let nats = Nats::single();
    let app = with_bus(&nats, |_| {}).await;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    // A subject the stream does not hold is refused to the sensor at once.
    let eve = match js.publish("anomalyforge.ingest.eve", ZEEK.as_bytes().to_vec().into()).await {
        Ok(ack) => ack.await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(eve.is_err(), "nothing takes anomalyforge.ingest.eve");
    for (subject, body) in [
        ("anomalyforge.ingest.batch", b"{\"source\": 3}".as_slice()),
        ("anomalyforge.ingest.csv", b"no,feature,columns\n1,2,3\n".as_slice()),
        ("anomalyforge.ingest.batch.3", b"AFB1 not a batch".as_slice()),
        ("anomalyforge.ingest.zeek", ZEEK.as_bytes()),
    ] {
        js.publish(subject, body.to_vec().into()).await.unwrap().await.unwrap();
    }
    let totals = wait_for_records(&app.db, 2).await;
    assert_eq!((totals.batches, totals.accepted), (1, 2), "{totals:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&app, "anomalyforge_bus_refused_total").await < 3 {
        assert!(Instant::now() < deadline, "three unreadable messages should be refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Refused for good: not delivered again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(metric(&app, "anomalyforge_bus_refused_total").await, 3);
    assert_eq!(metric(&app, "anomalyforge_bus_redelivered_total").await, 0);
    // Without an id, the stream sequence names the batch.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM bus_batches").fetch_all(app.db.pool()).await.unwrap();
    assert_eq!(ids, [part_id("ANOMALYFORGE_INGEST:4", "10.0.2.112")]);
    app.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_stores_a_batch_once_without_the_bus() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("keys").await;
    let first = post_csv(&app, &token, attacks(), Some("upload-2026-12-06:0001")).await;
    assert_eq!(first.status(), 200);
    let reply: Value = first.json().await.unwrap();
    assert!(reply["batch_id"].as_str().unwrap().ends_with("upload-2026-12-06:0001"), "{reply}");
    let again = post_csv(&app, &token, attacks(), Some("upload-2026-12-06:0001")).await;
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "already_stored", "{body}");
    assert_eq!(app.db.ingest_totals().await.unwrap().batches, 1);
    // Another token's same key is another batch.
    let other = app.api_token("other").await;
    assert_eq!(post_csv(&app, &other, attacks(), Some("upload-2026-12-06:0001")).await.status(), 200);
    for bad in ["", "has space", &"k".repeat(129), "dot.ted"] {
        let res = post_csv(&app, &token, attacks(), Some(bad)).await;
        assert_eq!(res.status(), 400, "key {bad:?}");
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("Idempotency-Key"), "{body}");
    }
    assert_eq!(app.db.ingest_totals().await.unwrap().batches, 2);
    app.stop().await;
}
