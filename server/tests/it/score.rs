//! `POST /api/v1/score`: JSON, NDJSON and CSV in, one verdict per flow out with its reasons, bad
//! records named by line, the ingest token and size rules, and nothing stored.

use crate::support::TestApp;
use anomalyforge::auth::{create_api_token, TokenRequest};
use serde_json::Value;

const FLOW: &str = r#"{"src_ip":"192.0.2.10","src_port":51514,"dst_ip":"198.51.100.5","dst_port":443,"protocol":"tcp","timestamp":"2024-05-01T12:00:00.250Z","duration_us":1500000,"fwd_packets":10,"bwd_packets":8,"fwd_bytes":1200,"bwd_bytes":5400}"#;

fn attacks_csv() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/cicids2017/fixtures/cicids2017_attacks_sample.csv");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn token(app: &TestApp, name: &'static str, scopes: &'static str) -> String {
    create_api_token(&app.db, TokenRequest { name, scopes, expires_in_days: None }, "test").await.unwrap().secret
}

async fn score(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = app.client().post(app.url("/api/v1/score")).header("content-type", content_type).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn ok(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scored"].as_u64().unwrap() as usize, body["verdicts"].as_array().unwrap().len(), "{body}");
    body
}

async fn error(res: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], kind, "{body}");
    body
}

/// Every flow gets a verdict in input order, attacks come back as attacks with their reasons, and
/// not one row of the database changes.
#[tokio::test]
async fn json_ndjson_and_csv_flows_get_one_verdict_each_and_nothing_is_stored() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let t = token(&app, "soar", "score").await;

    let reply = ok(score(&app, Some(&t), "application/x-ndjson", [FLOW; 3].join("\n")).await).await;
    assert!(reply["model"].as_str().is_some_and(|m| !m.is_empty()), "{reply}");
    let v = &reply["verdicts"];
    assert_eq!((0..3).map(|i| v[i]["index"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(v[0]["src_ip"], "192.0.2.10");
    assert_eq!(v[0]["dst_port"], 443);
    assert_eq!(v[0]["protocol"], 6);
    assert_eq!(v[0]["profile"], "conn", "a JSON flow has no full CICFlowMeter features: {reply}");
    assert!((0.0..=1.0).contains(&v[0]["probability"].as_f64().unwrap()));
    assert!(v[0]["risk"].as_u64().unwrap() <= 100);
    assert!(v[0]["reasons"][0].as_str().unwrap().starts_with("The attack classifier"), "{reply}");
    assert_eq!(v[0]["risk"], v[1]["risk"], "the same flow gets the same verdict");

    let array = format!("[{FLOW},\n{FLOW}]");
    let reply = ok(score(&app, Some(&t), "application/json", array).await).await;
    assert_eq!(reply["scored"], 2);

    let csv = attacks_csv();
    let rows = csv.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() - 1;
    let reply = ok(score(&app, Some(&t), "text/csv; charset=utf-8", csv).await).await;
    assert_eq!(reply["scored"].as_u64().unwrap() as usize, rows, "{reply}");
    let alerts: Vec<&Value> = reply["verdicts"].as_array().unwrap().iter().filter(|v| v["alert"] == true).collect();
    assert_eq!(reply["alerts"].as_u64().unwrap() as usize, alerts.len());
    assert!(alerts.len() * 2 >= rows, "the attack sample is mostly attacks: {} of {rows}", alerts.len());
    for a in &alerts {
        let threat = a["threat"].as_str().unwrap();
        assert!(threat == a["class"] || threat == "unknown_anomaly", "{a}");
        assert_ne!(threat, "benign");
        assert!(a["reasons"].as_array().unwrap().len() >= 2, "an alert says which models fired: {a}");
    }
    assert!(reply["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["alert"] == false)
        .all(|v| v["threat"].is_null()));

    // Nothing of it was stored.
    assert_eq!(app.db.count_alerts().await.unwrap(), 0);
    assert_eq!(app.db.ingest_totals().await.unwrap().batches, 0);
    let metrics = app.client().get(app.url("/metrics")).bearer_auth(app.api_token("prom").await).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let line = metrics.lines().find(|l| l.starts_with("anomalyforge_flows_scored_only_total ")).unwrap();
    assert_eq!(line, format!("anomalyforge_flows_scored_only_total {}", 3 + 2 + rows));
    assert!(metrics.contains("anomalyforge_flows_scored_total 0"), "scoring only is not ingest");
    app.stop().await;
}

/// The ingest rules: a token with `score` or `ingest`, the body and record limits, accepted types,
/// and a bad record costs only itself.
#[tokio::test]
async fn tokens_limits_types_and_bad_records_follow_the_ingest_rules() {
    let app = TestApp::spawn_ingest(|c| {
        c.ingest_max_body_bytes = 4096;
        c.ingest_limits.max_records = 5;
    })
    .await;
    let (scorer, sensor, reader) =
        (token(&app, "soar", "score").await, token(&app, "sensor", "ingest").await, token(&app, "dash", "read").await);
    let res = score(&app, None, "application/x-ndjson", FLOW).await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    error(res, 401, "unauthenticated").await;
    error(score(&app, Some("af_forged"), "application/x-ndjson", FLOW).await, 401, "unauthenticated").await;
    let body = error(score(&app, Some(&reader), "application/x-ndjson", FLOW).await, 403, "forbidden").await;
    assert!(body["message"].as_str().unwrap().contains("score"), "{body}");
    ok(score(&app, Some(&sensor), "application/x-ndjson", FLOW).await).await;
    // A score token sends nothing to ingest.
    let res = app
        .client()
        .post(app.url("/api/v1/ingest/flows"))
        .bearer_auth(&scorer)
        .header("content-type", "application/x-ndjson")
        .body(FLOW)
        .send()
        .await
        .unwrap();
    error(res, 403, "forbidden").await;

    let body = error(score(&app, Some(&scorer), "application/xml", FLOW).await, 415, "unsupported_media_type").await;
    assert!(body["message"].as_str().unwrap().contains("text/csv"), "{body}");
    let big = [FLOW; 20].join("\n");
    let body = error(score(&app, Some(&scorer), "application/x-ndjson", big).await, 413, "payload_too_large").await;
    assert!(body["message"].as_str().unwrap().contains("4096"), "{body}");
    error(score(&app, Some(&scorer), "application/x-ndjson", [FLOW; 6].join("\n")).await, 413, "payload_too_large")
        .await;
    error(score(&app, Some(&scorer), "text/csv", "hello,world\n1,2\n").await, 400, "bad_request").await;

    let lines = [FLOW, r#"{"src_ip":"not an address"}"#, FLOW].join("\n");
    let reply = ok(score(&app, Some(&scorer), "application/x-ndjson", lines).await).await;
    assert_eq!(reply["scored"], 2, "{reply}");
    assert_eq!(reply["rejected"][0]["line"], 2, "{reply}");
    assert!(!reply["rejected"][0]["reason"].as_str().unwrap().is_empty());
    assert_eq!(app.db.count_alerts().await.unwrap(), 0);
    assert_eq!(app.db.ingest_totals().await.unwrap().batches, 0);
    app.stop().await;
}

/// Scoring is bounded like ingest: with every scoring place taken, or the intake budget spent, a
/// request waits the configured time and is then answered 503 with `Retry-After`.
#[tokio::test]
async fn busy_scoring_answers_503_with_retry_after() {
    let app = TestApp::spawn_ingest(|c| {
        c.ingest_workers = 1;
        c.ingest_wait_ms = 100;
    })
    .await;
    let t = token(&app, "soar", "score").await;
    let pipeline = app.pipeline.clone().expect("ingest is on");
    let place = pipeline.reserve_scoring().await.unwrap();
    let res = score(&app, Some(&t), "application/x-ndjson", FLOW).await;
    assert_eq!(res.headers()["retry-after"], "1");
    error(res, 503, "busy").await;
    drop(place);
    ok(score(&app, Some(&t), "application/x-ndjson", FLOW).await).await;

    let intake = pipeline.reserve_intake(usize::MAX).await.unwrap();
    let res = score(&app, Some(&t), "application/x-ndjson", FLOW).await;
    assert_eq!(res.headers()["retry-after"], "1");
    error(res, 503, "busy").await;
    drop(intake);
    ok(score(&app, Some(&t), "application/x-ndjson", FLOW).await).await;
    app.stop().await;
}
