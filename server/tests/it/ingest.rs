//! The batch ingest API over HTTP: token authentication, size and type limits, every format on small
//! real samples, rejects by line without losing valid records, accepted == scored == stored, and
//! backpressure (503 + Retry-After, nothing accepted lost).

use crate::support::{zeek_line, TestApp, ZEEK_TSV};
use anomalyforge::alert::Detector;
use anomalyforge::store::alerts::IngestTotals;
use serde_json::Value;

const FLOW: &str = r#"{"src_ip":"192.0.2.10","src_port":51514,"dst_ip":"198.51.100.5","dst_port":443,"protocol":"tcp","timestamp":"2024-05-01T12:00:00.250Z","duration_us":1500000,"fwd_packets":10,"bwd_packets":8,"fwd_bytes":1200,"bwd_bytes":5400}"#;

const ZEEK_JSON: &str = r#"{"ts":1700828217.314165,"uid":"C","id.orig_h":"192.168.1.9","id.orig_p":50820,"id.resp_h":"45.33.32.156","id.resp_p":443,"proto":"tcp","duration":0.20696377754211426,"orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","orig_pkts":1,"resp_pkts":1}"#;

pub(crate) const EVE_ALERT: &str = r#"{"timestamp":"2021-06-06T15:59:46.457984+0200","flow_id":1,"event_type":"alert","src_ip":"198.51.100.7","src_port":51698,"dest_ip":"192.168.1.129","dest_port":445,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2403388,"rev":66418,"signature":"ET CINS Active Threat Intelligence Poor Reputation IP group 89","category":"Misc Attack","severity":2},"flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":60,"bytes_toclient":0,"start":"2021-06-06T15:59:46.457984+0200"}}"#;
pub(crate) const EVE_FLOW: &str = r#"{"timestamp":"2021-06-06T16:00:50.000000+0200","flow_id":2,"event_type":"flow","src_ip":"192.168.1.129","src_port":54321,"dest_ip":"203.0.113.9","dest_port":53,"proto":"UDP","app_proto":"dns","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":74,"bytes_toclient":130,"start":"2021-06-06T15:59:59.500000+0200","end":"2021-06-06T16:00:00.000000+0200","age":1,"state":"established","reason":"timeout","alerted":false}}"#;
pub(crate) const EVE_DNS: &str = r#"{"timestamp":"2021-06-06T16:00:51.000000+0200","event_type":"dns","src_ip":"192.168.1.129","src_port":54321,"dest_ip":"203.0.113.9","dest_port":53,"proto":"UDP","dns":{"type":"query","rrname":"example.com"}}"#;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/cicids2017/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn post(
    app: &TestApp,
    endpoint: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = app.client().post(app.url(&format!("/api/v1/ingest/{endpoint}"))).body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

/// Posts and expects 200; returns the reply.
async fn ingest_ok(
    app: &TestApp,
    endpoint: &str,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Value {
    let res = post(app, endpoint, Some(token), Some(content_type), body).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{endpoint}: {body}");
    let (accepted, scored, signatures) =
        (body["accepted"].as_i64().unwrap(), body["scored"].as_i64().unwrap(), body["signatures"].as_i64().unwrap());
    assert_eq!(accepted, scored + signatures, "every accepted flow is scored: {body}");
    body
}

async fn totals(app: &TestApp) -> IngestTotals {
    app.db.ingest_totals().await.unwrap()
}

async fn assert_error(res: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], kind, "{body}");
    assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{body}");
    body
}

#[tokio::test]
async fn missing_unknown_and_revoked_tokens_get_401_and_store_nothing() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let res = post(&app, "flows", None, Some("application/x-ndjson"), FLOW).await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_error(res, 401, "unauthenticated").await;
    assert_error(
        post(&app, "flows", Some("af_forged"), Some("application/x-ndjson"), FLOW).await,
        401,
        "unauthenticated",
    )
    .await;

    let created = anomalyforge::auth::create_api_token(
        &app.db,
        anomalyforge::auth::TokenRequest { name: "sensor", scopes: "ingest,read", expires_in_days: None },
        "test",
    )
    .await
    .unwrap();
    ingest_ok(&app, "flows", &created.secret, "application/x-ndjson", FLOW).await;
    app.db.revoke_api_token(created.token.id, "admin").await.unwrap();
    let body = assert_error(
        post(&app, "flows", Some(&created.secret), Some("application/x-ndjson"), FLOW).await,
        401,
        "unauthenticated",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("revoked"), "{body}");
    // A session cookie is no substitute for a token.
    let admin = app.signed_in(anomalyforge::role::Role::Admin).await;
    let res = admin
        .post(app.url("/api/v1/ingest/flows"))
        .header("content-type", "application/x-ndjson")
        .body(FLOW)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(totals(&app).await.batches, 1, "only the batch sent with a live token was stored");
    app.stop().await;
}

/// Scopes: a sensor's `ingest` token cannot read alerts or metrics, a dashboard's `read` token cannot
/// send flows, an expired token authenticates nothing, a token from before scopes keeps both rights,
/// and only an `admin` token manages tokens through `/api/v1/tokens`.
#[tokio::test]
async fn tokens_do_only_what_their_scopes_allow_until_they_expire() {
    use anomalyforge::auth::{create_api_token, TokenRequest};
    let app = TestApp::spawn_ingest(|_| {}).await;
    let make = |name: &'static str, scopes: &'static str| {
        let db = app.db.clone();
        async move { create_api_token(&db, TokenRequest { name, scopes, expires_in_days: Some(30) }, "test").await.unwrap() }
    };
    let (sensor, dashboard, admin) =
        (make("sensor", "ingest").await, make("dashboard", "read").await, make("provisioning", "admin").await);
    let client = reqwest::Client::new();
    let get = |path: &str, secret: &str| client.get(app.url(path)).bearer_auth(secret).send();

    ingest_ok(&app, "flows", &sensor.secret, "application/x-ndjson", FLOW).await;
    for path in ["/api/v1/alerts", "/api/v1/flows", "/metrics"] {
        let body = assert_error(get(path, &sensor.secret).await.unwrap(), 403, "forbidden").await;
        assert!(
            body["message"].as_str().unwrap().contains("may not read alerts, flows and metrics (its scopes: ingest)"),
            "{body}"
        );
        assert_eq!(get(path, &dashboard.secret).await.unwrap().status(), 200, "{path}");
    }
    let body = assert_error(
        post(&app, "flows", Some(&dashboard.secret), Some("application/x-ndjson"), FLOW).await,
        403,
        "forbidden",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("`ingest` scope"), "{body}");
    assert_error(get("/api/v1/tokens", &dashboard.secret).await.unwrap(), 403, "forbidden").await;
    assert_error(get("/api/v1/alerts", &admin.secret).await.unwrap(), 403, "forbidden").await;

    // Expired: refused like a revoked token, and listed as such.
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind(anomalyforge::store::now_ms() - 1)
        .bind(dashboard.token.id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let body = assert_error(get("/api/v1/alerts", &dashboard.secret).await.unwrap(), 401, "unauthenticated").await;
    assert!(!body.to_string().contains("dashboard"), "{body}");
    // A token from before scopes (scopes NULL) may ingest and read, and is flagged as legacy.
    let old = make("old-sensor", "ingest").await;
    sqlx::query("UPDATE api_tokens SET scopes = NULL, expires_at = NULL WHERE id = $1")
        .bind(old.token.id)
        .execute(app.db.pool())
        .await
        .unwrap();
    ingest_ok(&app, "flows", &old.secret, "application/x-ndjson", FLOW).await;
    assert_eq!(get("/metrics", &old.secret).await.unwrap().status(), 200);

    // The token API, with the admin token.
    let list: Value = get("/api/v1/tokens", &admin.secret).await.unwrap().json().await.unwrap();
    let by_name = |list: &Value, n: &str| list.as_array().unwrap().iter().find(|t| t["name"] == n).cloned().unwrap();
    assert_eq!(by_name(&list, "old-sensor")["legacy"], true);
    assert_eq!(by_name(&list, "old-sensor")["scopes"], serde_json::json!(["ingest", "read"]));
    assert_eq!(by_name(&list, "sensor")["scopes"], serde_json::json!(["ingest"]));
    assert!(
        !list.to_string().contains(&sensor.secret) && !list.to_string().contains("token_hash"),
        "never a value or hash"
    );
    let create = |body: Value| client.post(app.url("/api/v1/tokens")).bearer_auth(&admin.secret).json(&body).send();
    let res =
        create(serde_json::json!({ "name": "zeek-7", "scopes": ["ingest"], "expires_in_days": 7 })).await.unwrap();
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    ingest_ok(&app, "flows", &secret, "application/x-ndjson", FLOW).await;
    let body = assert_error(
        create(serde_json::json!({ "name": "x", "scopes": ["write"] })).await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    assert_eq!(
        (body["param"].as_str(), body["message"].as_str()),
        (Some("scopes"), Some("Unknown token scope `write`: use ingest, read, admin, intel, blocklist or score."))
    );
    assert_error(create(serde_json::json!({ "name": "x", "scopes": [] })).await.unwrap(), 400, "invalid_parameter")
        .await;
    let body = assert_error(
        create(serde_json::json!({ "name": "x", "scopes": ["read"], "expires_in_days": 0 })).await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    assert_eq!(body["param"], "expires_in_days");
    assert_error(
        create(serde_json::json!({ "name": "x", "scopes": ["read"], "owner": "me" })).await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    let res = client
        .delete(app.url(&format!("/api/v1/tokens/{}", made["token"]["id"])))
        .bearer_auth(&admin.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_error(post(&app, "flows", Some(&secret), Some("application/x-ndjson"), FLOW).await, 401, "unauthenticated")
        .await;
    assert_error(
        client.delete(app.url("/api/v1/tokens/999999")).bearer_auth(&admin.secret).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let audit = app.db.recent_audit(10).await.unwrap();
    assert!(
        audit.iter().any(|e| e.actor == "token:provisioning" && e.action == "token.revoke" && e.target == "zeek-7"),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|e| e.action == "token.create" && e.target == "zeek-7" && e.detail.contains("scopes=ingest")),
        "{audit:?}"
    );
    app.stop().await;
}

/// Each source's drift is tracked per token and format, named on `/models` and exported in `/metrics`.
#[tokio::test]
async fn drift_is_tracked_per_sensor_and_exported() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("zeek-sensor-1").await;
    ingest_ok(&app, "zeek", &token, "text/plain", ZEEK_TSV).await;
    let analyst = app.signed_in(anomalyforge::role::Role::Analyst).await;
    let report: Value = app.call(&analyst, "drift/report", &[]).await.json().await.unwrap();
    let zeek = &report["sources"][0];
    assert_eq!(
        (zeek["source"].as_str(), zeek["token_name"].as_str(), zeek["profile"].as_str()),
        (Some("zeek"), Some("zeek-sensor-1"), Some("conn")),
        "{report}"
    );
    assert_eq!(zeek["level"], "learning", "a couple of flows are not enough to judge: {report}");
    let metrics = app.client().get(app.url("/metrics")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("anomalyforge_drift_psi{source=\"zeek\",token=\"") && l.contains("profile=\"conn\"")), "{metrics}");
    let employee = app.signed_in(anomalyforge::role::Role::Employee).await;
    assert_eq!(app.call(&employee, "drift/report", &[]).await.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_413_and_unknown_types_415() {
    let app = TestApp::spawn_ingest(|c| {
        c.ingest_max_body_bytes = 4096;
        c.ingest_limits.max_records = 5;
    })
    .await;
    let token = app.api_token("sensor").await;
    let big = [FLOW; 20].join("\n");
    assert!(big.len() > 4096);
    let body = assert_error(
        post(&app, "flows", Some(&token), Some("application/x-ndjson"), big.clone()).await,
        413,
        "payload_too_large",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("4096"), "{body}");
    // Without Content-Length (chunked transfer) the limit holds as well.
    let head = chunked_post(&app, "/api/v1/ingest/flows", &token, big.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // More records than a batch may hold.
    let six = [FLOW; 6].join("\n");
    assert!(six.len() <= 4096);
    assert_error(post(&app, "flows", Some(&token), Some("application/x-ndjson"), six).await, 413, "payload_too_large")
        .await;

    let body = assert_error(
        post(&app, "flows", Some(&token), Some("application/xml"), FLOW).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("application/x-ndjson"), "{body}");
    assert_error(post(&app, "csv", Some(&token), None, "a,b\n1,2\n").await, 415, "unsupported_media_type").await;
    assert_error(
        post(&app, "suricata", Some(&token), Some("text/csv"), EVE_ALERT).await,
        415,
        "unsupported_media_type",
    )
    .await;
    // A cross-site looking Origin does not matter to a token-authenticated API, and the 401 comes first.
    let res = app
        .client()
        .post(app.url("/api/v1/ingest/flows"))
        .header("origin", "http://elsewhere.example")
        .header("content-type", "application/xml")
        .body(FLOW)
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthenticated").await;
    assert_eq!(totals(&app).await.batches, 0, "refused batches store nothing");
    app.stop().await;
}

/// Sends `body` with `Transfer-Encoding: chunked` (no Content-Length) and returns the response head.
async fn chunked_post(app: &TestApp, path: &str, token: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(1000) {
        // The server may answer and close before the whole body is sent.
        if s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.is_err()
            || s.write_all(chunk).await.is_err()
            || s.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn malformed_lines_are_rejected_by_number_and_valid_ones_are_stored() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    let bad_port = FLOW.replace("51514", "70000");
    let body = [FLOW, "{not json", FLOW, &bad_port, "", FLOW].join("\n");
    let reply = ingest_ok(&app, "flows", &token, "application/x-ndjson", body).await;
    assert_eq!(reply["accepted"], 3);
    let lines: Vec<i64> = reply["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![2, 4]);
    assert!(reply["rejected"][1]["reason"].as_str().unwrap().contains("src_port"), "{reply}");
    // Persisted: the statistics row of the batch.
    let t = totals(&app).await;
    assert_eq!((t.batches, t.accepted, t.scored, t.rejected), (1, 3, 3, 2));

    // The same flows as a JSON array.
    let array = format!("[{FLOW},\n{FLOW}]");
    let reply = ingest_ok(&app, "flows", &token, "application/json", array).await;
    assert_eq!(reply["accepted"], 2);
    // An empty batch is fine and says so.
    let reply = ingest_ok(&app, "flows", &token, "application/x-ndjson", "").await;
    assert_eq!(reply["accepted"], 0);
    app.stop().await;
}

#[tokio::test]
async fn cicflowmeter_csv_in_both_layouts_is_scored_and_alerts_are_stored() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("csv-exporter").await;
    let mut expected_alerts = 0;
    for name in ["cicids2017_improved_sample.csv", "cicids2017_ml_sample.csv"] {
        let data = fixture(name);
        let rows = data.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() - 1;
        let reply = ingest_ok(&app, "csv", &token, "text/csv; charset=utf-8", data).await;
        assert_eq!(reply["accepted"].as_u64().unwrap() as usize, rows, "{name}: {reply}");
        assert_eq!(reply["rejected"].as_array().unwrap().len(), 0, "{name}: {reply}");
        expected_alerts += reply["alerts_created"].as_i64().unwrap();
    }
    assert_eq!(app.db.count_alerts().await.unwrap(), expected_alerts, "the reply's alert count is what was stored");
    for a in app.db.recent_alerts(100).await.unwrap() {
        assert_eq!(a.detector, Detector::Ml);
        assert!((0..=100).contains(&a.risk));
        assert_ne!(a.threat, "benign");
        let reasons: Value = serde_json::from_str(&a.reasons).unwrap();
        assert!(reasons["models"].is_array(), "{reasons}");
        let _: Value = serde_json::from_str(&a.features).unwrap();
    }
    // A bad row costs only itself; a body without a usable header is a 400.
    let data = String::from_utf8(fixture("cicids2017_improved_sample.csv")).unwrap();
    let mut lines: Vec<&str> = data.lines().collect();
    lines.insert(2, "1,2,3");
    let reply = ingest_ok(&app, "csv", &token, "text/csv", lines.join("\n")).await;
    assert_eq!(reply["accepted"].as_u64().unwrap() as usize, lines.len() - 2);
    assert_eq!(reply["rejected"][0]["line"], 3, "{reply}");
    assert_error(post(&app, "csv", Some(&token), Some("text/csv"), "hello,world\n1,2\n").await, 400, "bad_request")
        .await;
    let t = totals(&app).await;
    assert_eq!(t.accepted, t.scored);
    app.stop().await;
}

#[tokio::test]
async fn zeek_conn_logs_in_tsv_and_json_lines() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("zeek").await;
    let reply = ingest_ok(&app, "zeek", &token, "text/plain", ZEEK_TSV).await;
    assert_eq!((reply["accepted"].as_i64(), reply["rejected"].as_array().map(Vec::len)), (Some(2), Some(0)), "{reply}");
    let broken = format!("{ZEEK_JSON}\n{{\"ts\":1}}\n{ZEEK_JSON}\n");
    let reply = ingest_ok(&app, "zeek", &token, "application/x-ndjson", broken).await;
    assert_eq!(reply["accepted"], 2);
    assert_eq!(reply["rejected"][0]["line"], 2);
    let t = totals(&app).await;
    assert_eq!((t.batches, t.accepted, t.scored, t.rejected), (2, 4, 4, 1));
    app.stop().await;
}

#[tokio::test]
async fn suricata_flows_are_scored_and_signature_alerts_stored() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("suricata").await;
    let body = [EVE_ALERT, EVE_FLOW, EVE_DNS, "[]"].join("\n");
    let reply = ingest_ok(&app, "suricata", &token, "application/x-ndjson", body).await;
    assert_eq!(reply["accepted"], 2, "{reply}");
    assert_eq!((reply["scored"].as_i64(), reply["signatures"].as_i64()), (Some(1), Some(1)), "{reply}");
    assert_eq!(reply["skipped"], 1, "{reply}");
    assert_eq!(reply["rejected"][0]["line"], 4, "{reply}");
    let alerts = app.db.recent_alerts(10).await.unwrap();
    assert_eq!(alerts.len() as i64, reply["alerts_created"].as_i64().unwrap());
    let sig = alerts.iter().find(|a| a.detector == Detector::Signature).expect("a signature alert");
    assert_eq!(sig.signature.as_deref(), Some("ET CINS Active Threat Intelligence Poor Reputation IP group 89"));
    assert_eq!((sig.src_ip.as_deref(), sig.dst_port, sig.protocol), (Some("198.51.100.7"), Some(445), Some(6)));
    assert_eq!(sig.threat, anomalyforge::alert::SIGNATURE_THREAT);
    assert_eq!(sig.first_seen, 1_622_987_986_457, "the event time, in UTC");
    assert_eq!(sig.status, "new");
    let t = totals(&app).await;
    assert_eq!((t.accepted, t.scored, t.skipped, t.rejected), (2, 1, 1, 1));
    app.stop().await;
}

/// Acknowledge-after-commit: when the batch's transaction cannot commit (here its statistics table is
/// gone), the sender gets a 5xx, and nothing of the batch is stored or counted.
#[tokio::test]
async fn a_batch_whose_commit_fails_gets_a_5xx_and_nothing_is_counted() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    let metric = |text: &str, name: &str| -> i64 {
        text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).and_then(|v| v.trim().parse().ok()).unwrap_or(-1)
    };
    let metrics = || async {
        app.client().get(app.url("/metrics")).bearer_auth(&token).send().await.unwrap().text().await.unwrap()
    };
    // Alerts and flows of this batch would be written first; the last insert of the transaction fails.
    sqlx::query("ALTER TABLE ingest_stats RENAME TO ingest_stats_away").execute(app.db.pool()).await.unwrap();
    let body = [EVE_ALERT, EVE_FLOW].join("\n");
    let res = post(&app, "suricata", Some(&token), Some("application/x-ndjson"), body.clone()).await;
    assert!(res.status().is_server_error(), "{}", res.status());
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["error"], "unavailable", "{reply}");
    assert!(app.db.recent_alerts(10).await.unwrap().is_empty(), "no alert of the failed batch is stored");
    let text = metrics().await;
    assert_eq!(
        (metric(&text, "anomalyforge_ingest_accepted_total"), metric(&text, "anomalyforge_batches_failed_total")),
        (0, 1),
        "{text}"
    );
    sqlx::query("ALTER TABLE ingest_stats_away RENAME TO ingest_stats").execute(app.db.pool()).await.unwrap();
    assert_eq!(totals(&app).await.batches, 0);
    // The sender retries once the database is whole again: stored once.
    ingest_ok(&app, "suricata", &token, "application/x-ndjson", body).await;
    assert_eq!((totals(&app).await.batches, app.db.recent_alerts(10).await.unwrap().len()), (1, 1));
    assert_eq!(metric(&metrics().await, "anomalyforge_ingest_accepted_total"), 2);
    app.stop().await;
}

/// Deduplication holds with several workers: concurrent identical batches through 4 workers make
/// exactly one alert, whose count is every detection of every batch.
#[tokio::test]
async fn four_workers_with_identical_batches_make_one_alert_with_the_full_count() {
    let app = TestApp::spawn_ingest(|c| c.ingest_workers = 4).await;
    let token = app.api_token("suricata").await;
    const BATCHES: usize = 12;
    const PER_BATCH: usize = 5;
    let body = [EVE_ALERT; PER_BATCH].join("\n");
    let sends = (0..BATCHES).map(|_| {
        let (url, token, body) = (app.url("/api/v1/ingest/suricata"), token.clone(), body.clone());
        let client = app.client();
        tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        })
    });
    let replies: Vec<Value> = futures_util::future::join_all(sends).await.into_iter().map(Result::unwrap).collect();
    let created: i64 = replies.iter().map(|r| r["alerts_created"].as_i64().unwrap()).sum();
    assert_eq!(created, 1, "one batch creates the alert, the others add to it: {replies:?}");
    let alerts = app.db.recent_alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].count, (BATCHES * PER_BATCH) as i64);
    app.stop().await;
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_and_loses_nothing() {
    let app = TestApp::spawn_ingest(|c| {
        c.ingest_queue_flows = 4;
        c.ingest_wait_ms = 100;
    })
    .await;
    let token = app.api_token("busy").await;
    let pipeline = app.pipeline.clone().expect("ingest is on");
    // Fill the queue: the next batch waits 100 ms, then is refused before anything is accepted.
    let slot = pipeline.reserve(4).await.unwrap();
    assert_eq!(pipeline.queued_flows(), 4);
    let res = post(&app, "flows", Some(&token), Some("application/x-ndjson"), FLOW).await;
    assert_eq!(res.headers()["retry-after"], "1");
    let body = assert_error(res, 503, "busy").await;
    assert!(body["message"].as_str().unwrap().contains("queue is full"), "{body}");
    assert_eq!(totals(&app).await.batches, 0);
    drop(slot);
    ingest_ok(&app, "flows", &token, "application/x-ndjson", FLOW).await;

    // Bodies are bounded before they are read: with every byte of the intake budget taken, a request
    // waits, then gets the same 503.
    let intake = pipeline.reserve_intake(usize::MAX).await.unwrap();
    let res = post(&app, "flows", Some(&token), Some("application/x-ndjson"), FLOW).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert_error(res, 503, "busy").await;
    drop(intake);
    assert_eq!(totals(&app).await.batches, 1);

    // Many senders at once through a queue of 4 flows: each retries after a 503; in the end every
    // flow that was acknowledged is stored and scored, and the queue is empty.
    let batch = [FLOW, FLOW, FLOW].join("\n");
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (url, token, batch) = (app.url("/api/v1/ingest/flows"), token.clone(), batch.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut refused = 0;
            loop {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(batch.clone())
                    .send()
                    .await
                    .unwrap();
                match res.status().as_u16() {
                    200 => return (res.json::<Value>().await.unwrap()["accepted"].as_i64().unwrap(), refused),
                    503 => {
                        assert!(res.headers().contains_key("retry-after"));
                        refused += 1;
                        assert!(refused < 200, "never got through");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    other => panic!("unexpected status {other}"),
                }
            }
        }));
    }
    let mut acknowledged = 1;
    for t in tasks {
        acknowledged += t.await.unwrap().0;
    }
    assert_eq!(acknowledged, 37);
    let t = totals(&app).await;
    assert_eq!((t.accepted, t.scored, t.batches), (37, 37, 13));
    assert_eq!(pipeline.queued_flows(), 0);
    app.stop().await;
}

#[tokio::test]
async fn start_up_fails_naming_the_model_file_when_models_cannot_be_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = anomalyforge::config::Config {
        data_dir: dir.path().to_path_buf(),
        model_dir: dir.path().join("no-models"),
        ..Default::default()
    };
    assert!(cfg.ingest, "ingest is on by default");
    let err = format!("{:#}", server::prepare(cfg).await.err().expect("must fail"));
    assert!(err.contains("loading the detection models") && err.contains("manifest.json"), "{err}");
}

#[tokio::test]
async fn a_beacon_spread_over_batches_becomes_one_behaviour_alert_with_its_reasons() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    let header = ZEEK_TSV.split_inclusive('\n').filter(|l| l.starts_with('#')).collect::<String>();
    // An infected host knocks on its refused command server every 0.5 s for 4 minutes, sent by the
    // sensor in 10-second batches; one unrelated benign connection in between.
    let mut t = 1_677_024_003.0;
    let mut sent = 0;
    for batch in 0..24 {
        let mut body = header.clone();
        for i in 0..20 {
            body.push_str(&zeek_line(
                t,
                &format!("C{batch}x{i}"),
                "192.168.1.107",
                "66.63.168.35",
                5888,
                "REJ",
                (2, 2),
            ));
            t += 0.5;
            sent += 1;
        }
        if batch == 3 {
            body.push_str(&zeek_line(t, "Cbenign", "192.168.1.107", "142.251.36.131", 443, "SF", (9, 8)));
        }
        ingest_ok(&app, "zeek", &token, "text/plain", body).await;
    }
    let alerts = app.db.query_alerts(&Default::default(), None, 100).await.unwrap().alerts;
    let beacons: Vec<_> = alerts.iter().filter(|a| a.threat == "c2_beacon").collect();
    assert_eq!(beacons.len(), 1, "one alert for the pattern, updated by later batches: {alerts:?}");
    let a = beacons[0];
    assert_eq!(a.detector, Detector::Behaviour);
    assert_eq!(
        (a.src_ip.as_deref(), a.dst_ip.as_deref(), a.dst_port),
        (Some("192.168.1.107"), Some("66.63.168.35"), Some(5888))
    );
    assert_eq!(a.count, sent, "every attempt of the pattern is counted once");
    assert!(a.first_seen <= 1_677_024_003_000 + 1_000, "the alert starts with the pattern");
    let reasons: Value = serde_json::from_str(&a.reasons).unwrap();
    let summary = reasons["summary"].as_str().unwrap();
    assert!(summary.contains("to 66.63.168.35:5888/tcp at 0.50 s ±") && summary.contains("refused"), "{summary}");
    // The explanation the console shows speaks the detector's words.
    let e = anomalyforge::explain::explain(a);
    assert!(
        e.headline.starts_with("Command-and-control beacon, seen in the pattern of connections: "),
        "{}",
        e.headline
    );
    assert!(
        alerts.iter().all(|x| x.dst_ip.as_deref() != Some("142.251.36.131")),
        "the benign connection raised nothing"
    );
    // The detectors' state is exported.
    let metrics = app.client().get(app.url("/metrics")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("anomalyforge_behaviour_tracked "), "{metrics}");
}

/// Every scored flow with addresses is stored and found again through `GET /api/v1/flows`: by the
/// filter text or one parameter per key, paged by cursor, with counts; a bad parameter is a 400
/// naming it.
#[tokio::test]
async fn ingested_flows_are_stored_and_hunted_through_the_flows_api() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let sensor = app.api_token("sensor").await;
    let body = ingest_ok(&app, "zeek", &sensor, "text/tab-separated-values", ZEEK_TSV).await;
    let stored = body["scored"].as_u64().unwrap();
    ingest_ok(&app, "zeek", &sensor, "application/x-ndjson", ZEEK_JSON).await;
    let reader = anomalyforge::auth::create_api_token(
        &app.db,
        anomalyforge::auth::TokenRequest { name: "hunter", scopes: "read", expires_in_days: None },
        "test",
    )
    .await
    .unwrap()
    .secret;
    let client = reqwest::Client::new();
    let get = |query: &str| client.get(app.url(&format!("/api/v1/flows?{query}"))).bearer_auth(&reader).send();
    // The history is written just after the batches' replies.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let all = loop {
        let all: Value = get("").await.unwrap().json().await.unwrap();
        if all["matched"].as_u64() == Some(stored + 1) || std::time::Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(all["matched"].as_u64(), Some(stored + 1), "{all}");
    assert_eq!(all["complete"], true);
    let rejected: Value = get("q=ip:45.33.32.156").await.unwrap().json().await.unwrap();
    let flow = &rejected["flows"][0];
    assert_eq!(
        (flow["src"].as_str(), flow["dport"].as_u64(), flow["source"].as_str()),
        (Some("192.168.1.9"), Some(443), Some("zeek")),
        "{rejected}"
    );
    assert_eq!(rejected["matched"], 1);
    // The same search as parameters, and one that excludes it.
    let same: Value = get("ip=45.33.32.156&dport=443").await.unwrap().json().await.unwrap();
    assert_eq!(same["flows"], rejected["flows"]);
    let none: Value = get("q=ip:45.33.32.156%20-dport:443").await.unwrap().json().await.unwrap();
    assert_eq!(none["matched"], 0);
    // Cursor paging walks every flow once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let page: Value = get(&format!("limit=1&cursor={cursor}")).await.unwrap().json().await.unwrap();
        for f in page["flows"].as_array().unwrap() {
            assert!(seen.insert(f["id"].as_i64().unwrap()), "a flow twice: {page}");
        }
        match page["next"].as_str() {
            Some(n) => cursor = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, stored + 1);
    for (query, param) in [
        ("dport=99999", "dport"),
        ("q=dport:99999", "dport"),
        ("q=colour:red", "q"),
        ("sort=loudest", "sort"),
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
        ("q=asset:nosuchhost", "asset"),
    ] {
        let body = assert_error(get(query).await.unwrap(), 400, "invalid_parameter").await;
        assert_eq!(body["param"], param, "{query}: {body}");
    }
    app.stop().await;
}

/// Threat intel over the API: an import names its bad entry and retro-hunts the stored flows into an
/// alert; a later listing matches live traffic; the IOC check sees both; tokens need the `intel`
/// scope to import and bad parameters are named.
#[tokio::test]
async fn threat_intel_is_imported_retro_hunted_and_matched_live_over_the_api() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let sensor = app.api_token("sensor").await;
    ingest_ok(&app, "zeek", &sensor, "text/tab-separated-values", ZEEK_TSV).await;
    let token = |name: &'static str, scopes: &'static str| {
        let db = app.db.clone();
        async move {
            anomalyforge::auth::create_api_token(
                &db,
                anomalyforge::auth::TokenRequest { name, scopes, expires_in_days: None },
                "test",
            )
            .await
            .unwrap()
            .secret
        }
    };
    let (feeder, reader) = (token("misp-sync", "intel").await, token("dashboard", "read").await);
    let client = reqwest::Client::new();
    // The history is written just after the batch's reply.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.db.flow_time_range().await.unwrap().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let post = |path: String, token: String, ct: &'static str, body: String| {
        client.post(app.url(&path)).bearer_auth(token).header("content-type", ct).body(body).send()
    };
    let bundle = r#"{"type":"bundle","id":"bundle--1","objects":[
        {"type":"indicator","spec_version":"2.1","id":"indicator--a1","created":"2026-12-01T00:00:00Z","modified":"2026-12-01T00:00:00Z","pattern":"[ipv4-addr:value = '151.97.100.116']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","confidence":90,"description":"Remcos C2"},
        {"type":"indicator","spec_version":"2.1","id":"indicator--b2","created":"2026-12-01T00:00:00Z","modified":"2026-12-01T00:00:00Z","pattern":"[ipv4-addr:value = 'not-an-address']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}"#;
    let res =
        post("/api/v1/intel/c2-feed".into(), reader.clone(), "application/stix+json", bundle.into()).await.unwrap();
    assert_eq!(res.status(), 403, "a read token cannot import");
    let res =
        post("/api/v1/intel/c2-feed?confidence=70".into(), feeder.clone(), "application/stix+json", bundle.into())
            .await
            .unwrap();
    assert_eq!(res.status(), 200);
    let reply: Value = res.json().await.unwrap();
    assert_eq!((reply["format"].as_str(), reply["imported"].as_u64()), (Some("stix"), Some(1)), "{reply}");
    assert_eq!(reply["rejected"][0]["at"], serde_json::json!({"object": "indicator--b2"}), "{reply}");
    assert_eq!((reply["retro"]["flows"].as_u64(), reply["retro"]["alerts"].as_u64()), (Some(1), Some(1)), "{reply}");
    let alerts = app.db.recent_alerts(20).await.unwrap();
    let retro = alerts.iter().find(|a| a.detector == Detector::Intel).expect("the retro-hunt's alert");
    assert_eq!((retro.src_ip.as_deref(), retro.dst_ip.as_deref()), (Some("10.0.2.112"), Some("151.97.100.116")));
    assert_eq!(retro.first_seen, 1_447_864_574_267, "dated when the flow happened");

    // A listing imported now matches the next live flow.
    let res = post("/api/v1/intel/c2-feed?format=plain".into(), feeder.clone(), "text/plain", "45.33.32.156\n".into())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    ingest_ok(&app, "zeek", &sensor, "application/x-ndjson", ZEEK_JSON).await;
    let alerts = app.db.recent_alerts(20).await.unwrap();
    let live = alerts
        .iter()
        .find(|a| a.dst_ip.as_deref() == Some("45.33.32.156"))
        .expect("the live flow to a listed address alerted");
    let reasons: Value = serde_json::from_str(&live.reasons).unwrap();
    assert_eq!(reasons["intel_match"]["indicator"], "45.33.32.156", "{reasons}");
    assert_eq!(reasons["intel_match"]["source"], "c2-feed");

    // The IOC check sees the listing, the alert and the flow.
    let get = |q: &str| client.get(app.url(&format!("/api/v1/ioc?{q}"))).bearer_auth(&reader).send();
    let ioc: Value = get("value=151.97.100.116").await.unwrap().json().await.unwrap();
    assert_eq!(ioc["intel"][0]["source"], "c2-feed", "{ioc}");
    assert_eq!(ioc["intel"][0]["confidence"], 90, "the entry's own confidence");
    assert_eq!((ioc["alerts_total"].as_i64(), ioc["flows"]["matched"].as_u64()), (Some(1), Some(1)), "{ioc}");
    assert_eq!(ioc["country"], "IT");

    // Bad parameters are named.
    for (path, param) in [
        ("/api/v1/intel/c2-feed?format=xml", "format"),
        ("/api/v1/intel/c2-feed?confidence=101", "confidence"),
        ("/api/v1/intel/c2-feed?expiry_days=0", "expiry_days"),
        ("/api/v1/intel/c2-feed?colour=red", "colour"),
        ("/api/v1/intel/Bad%20Name", "source"),
        ("/api/v1/intel/employee-reports", "source"),
    ] {
        let res = post(path.into(), feeder.clone(), "text/plain", "192.0.2.1\n".into()).await.unwrap();
        let body = assert_error(res, 400, "invalid_parameter").await;
        assert_eq!(body["param"], param, "{path}: {body}");
    }
    let res = post("/api/v1/intel/c2-feed".into(), feeder.clone(), "text/plain", "  \n".into()).await.unwrap();
    assert_eq!(assert_error(res, 400, "invalid_parameter").await["param"], "body");
    for (q, param) in [("value=not%20a%20value", "value"), ("", "value"), ("value=1.2.3.4&x=1", "x")] {
        let body = assert_error(get(q).await.unwrap(), 400, "invalid_parameter").await;
        assert_eq!(body["param"], param, "{q}: {body}");
    }
    let res = client.get(app.url("/api/v1/ioc?value=1.2.3.4")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    app.stop().await;
}
