//! The live side of the pipeline over HTTP: enrichment (geo, discovered assets, employee-report intel),
//! deduplication across batches, the live stream (roles, alert and traffic events), the integrators'
//! alert listing, `/metrics`, and the traffic replay.

use std::time::Duration;

use crate::support::TestApp;
use anomalyforge::live::LiveEvent;
use anomalyforge::report::{IndicatorKind, ReportCategory, ReportStatus};
use anomalyforge::role::Role;
use anomalyforge::store::reports::NewReport;
use serde_json::Value;

/// Real CIC-IDS2017 attack rows (DDoS, port scan, SSH brute force from 172.16.0.1 to 192.168.10.50),
/// with the attacker moved to `src` (a public address, so it has a country).
fn attacks_from(src: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/cicids2017/fixtures/cicids2017_attacks_sample.csv");
    std::fs::read_to_string(&path).unwrap().replace("172.16.0.1", src)
}

async fn ingest_csv(app: &TestApp, token: &str, body: String) -> Value {
    let res = app
        .client()
        .post(app.url("/api/v1/ingest/csv"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Reads server-sent events until `pred` accepts one (or the time runs out).
async fn next_event(res: &mut reqwest::Response, buf: &mut String, pred: impl Fn(&LiveEvent) -> bool) -> LiveEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            if data.is_empty() {
                continue; // keep-alive comment
            }
            let event: LiveEvent = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}"));
            if pred(&event) {
                return event;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("no matching event in time")
            .unwrap()
            .expect("stream ended");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn the_stream_is_for_roles_that_see_alerts() {
    let app = TestApp::spawn().await;
    let res = app.client().get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    for role in [Role::Employee, Role::Executive] {
        let c = app.signed_in(role).await;
        assert_eq!(c.get(app.url("/api/v1/stream")).send().await.unwrap().status(), 403, "{role:?}");
        assert_eq!(c.get(app.url("/api/v1/alerts")).send().await.unwrap().status(), 403, "{role:?}");
        assert_eq!(c.get(app.url("/metrics")).send().await.unwrap().status(), 403, "{role:?}");
    }
    for role in [Role::Analyst, Role::Responder, Role::Admin] {
        let c = app.signed_in(role).await;
        let res = c.get(app.url("/api/v1/stream")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{role:?}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    }
    assert_eq!(
        app.client().get(app.url("/api/v1/alerts")).bearer_auth("af_forged").send().await.unwrap().status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn alerts_are_enriched_deduplicated_and_streamed_live() {
    let app = TestApp::spawn_ingest(|c| c.dedup_window_secs = 3600).await;
    let token = app.api_token("sensor").await;
    // An employee reported the attacker's address; the target is a critical server.
    let employee = app.db.user_by_username("employee").await.unwrap().unwrap();
    let report = app
        .db
        .create_report(&NewReport {
            reporter_id: employee.id,
            indicator: "1.0.0.1".into(),
            kind: IndicatorKind::Ip,
            category: ReportCategory::Scanning,
            description: "It keeps knocking".into(),
        })
        .await
        .unwrap();
    app.db.set_report_status(report.id, ReportStatus::Confirmed, employee.id).await.unwrap();

    let analyst = app.signed_in(Role::Analyst).await;
    let mut stream = analyst.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();

    let first = ingest_csv(&app, &token, attacks_from("1.0.0.1")).await;
    assert_eq!(first["accepted"], 24, "{first}");
    let detections = first["alerts"].as_u64().unwrap();
    assert!(detections >= 20, "the shipped model flags these real attacks: {first}");
    let created = first["alerts_created"].as_u64().unwrap();
    assert!((1..=3).contains(&created), "one alert per source, target and type: {first}");

    // The analyst's stream receives the new alerts, enriched.
    let LiveEvent::Alert(ev) =
        next_event(&mut stream, &mut buf, |e| matches!(e, LiveEvent::Alert(a) if a.created)).await
    else {
        unreachable!()
    };
    let a = &ev.alert;
    assert_eq!(a.src_ip.as_deref(), Some("1.0.0.1"));
    assert_eq!(a.src_country.as_deref(), Some("AU"), "DB-IP country of the source");
    assert!(a.src_lat.is_some() && a.src_lon.is_some(), "the country's centroid");
    assert_eq!(a.report_id, Some(report.id), "the employee report is named");
    assert!(a.risk >= a.base_risk.unwrap(), "a confirmed report raises the risk");
    let reasons: Value = serde_json::from_str(&a.reasons).unwrap();
    assert_eq!(reasons["intel"]["status"], "confirmed", "{reasons}");
    assert_eq!(reasons["asset"]["ip"], "192.168.10.50", "{reasons}");
    let asset = app.db.asset_by_ip("192.168.10.50").await.unwrap().expect("the internal target is discovered");
    assert!(asset.discovered && asset.is_unassigned());
    assert_eq!(a.asset_id, Some(asset.id));
    assert!(ev.received_at <= anomalyforge::store::now_ms());

    // The same attacks again: the open alerts grow instead of multiplying.
    let again = ingest_csv(&app, &token, attacks_from("1.0.0.1")).await;
    assert_eq!(again["alerts_created"], 0, "{again}");
    assert_eq!(again["alerts_updated"].as_u64().unwrap(), created, "{again}");
    assert_eq!(app.db.count_alerts().await.unwrap() as u64, created);
    let LiveEvent::Alert(up) =
        next_event(&mut stream, &mut buf, |e| matches!(e, LiveEvent::Alert(a) if !a.created)).await
    else {
        unreachable!()
    };
    assert!(up.alert.count >= 2);
    // Traffic per second, by source country.
    let LiveEvent::Traffic(tick) = next_event(&mut stream, &mut buf, |e| matches!(e, LiveEvent::Traffic(_))).await
    else {
        unreachable!()
    };
    assert!(tick.by_country.iter().any(|c| c.country == "AU" && c.alerting > 0), "{tick:?}");

    // Aggregates for the maps and KPIs were written in the same transactions.
    let now = anomalyforge::store::now_ms();
    let traffic = app.db.traffic_between(0, now + 60_000).await.unwrap();
    assert_eq!(traffic.iter().map(|r| r.flows).sum::<i64>(), 48);
    let hourly = app.db.hourly_between(0, now + 3_600_000).await.unwrap();
    assert_eq!(hourly.iter().map(|h| h.detections).sum::<i64>() as u64, 2 * detections);
    assert_eq!(hourly.iter().map(|h| h.alerts).sum::<i64>() as u64, created);
    app.stop().await;
}

#[tokio::test]
async fn integrators_page_through_alerts_and_read_metrics() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("siem").await;
    ingest_csv(&app, &token, attacks_from("1.0.0.1")).await;
    ingest_csv(&app, &token, attacks_from("8.8.8.8")).await;
    let get = |q: &str| app.client().get(app.url(&format!("/api/v1/alerts{q}"))).bearer_auth(&token).send();
    let res = get("?limit=1").await.unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["alerts"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().expect("a second page").to_string();
    let page2: Value = get(&format!("?limit=500&cursor={next}")).await.unwrap().json().await.unwrap();
    let total = app.db.count_alerts().await.unwrap() as usize;
    assert_eq!(page2["alerts"].as_array().unwrap().len(), total - 1);
    assert!(page2["next"].is_null());
    let us: Value = get("?country=US&min_risk=0&status=new").await.unwrap().json().await.unwrap();
    assert!(
        us["alerts"].as_array().unwrap().iter().all(|a| a["src_country"] == "US" && a["src_ip"] == "8.8.8.8"),
        "{us}"
    );
    assert!(!us["alerts"].as_array().unwrap().is_empty());
    let res = get("?min_risk=abc").await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["param"], "min_risk", "{body}");
    // A signed-in analyst may read the same listing.
    let analyst = app.signed_in(Role::Analyst).await;
    assert_eq!(analyst.get(app.url("/api/v1/alerts")).send().await.unwrap().status(), 200);

    let metrics = app.client().get(app.url("/metrics")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("anomalyforge_ingest_accepted_total"), 48.0);
    assert_eq!(value("anomalyforge_flows_scored_total"), 48.0, "accepted == scored");
    assert_eq!(value("anomalyforge_batches_stored_total"), 2.0);
    assert_eq!(value("anomalyforge_alerts_created_total"), total as f64);
    assert_eq!(value("anomalyforge_queue_depth_flows"), 0.0);
    assert_eq!(value("anomalyforge_batch_latency_seconds_count"), 2.0);
    assert_eq!(app.client().get(app.url("/metrics")).send().await.unwrap().status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn the_replay_sends_recorded_flows_with_relocated_attackers() {
    let app = TestApp::spawn_ingest(|c| {
        c.replay.speed = 100_000.0;
        c.replay.max_flows_per_second = 5_000;
    })
    .await;
    let replay = app.replay.clone().expect("ingest on: replay available");
    assert!(!replay.status().running, "not in demo mode: off until started");
    let status = replay.start().await.unwrap();
    assert!(status.running && status.total > 40_000, "{status:?}");
    // The recording starts with Monday (1,443 benign flows); Tuesday brings the first attacks.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while replay.status().sent < 500 || app.db.count_alerts().await.unwrap() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "replay too slow: {:?}", replay.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopped = replay.stop();
    assert!(!stopped.running);
    let totals = app.db.ingest_totals().await.unwrap();
    assert!(totals.scored >= 500, "{totals:?}");
    // Replayed flows are stamped now, not in 2017.
    let recent = app.db.recent_alerts(50).await.unwrap();
    assert!(!recent.is_empty());
    let now = anomalyforge::store::now_ms();
    assert!(recent.iter().all(|a| (now - a.last_seen).abs() < 3_600_000), "re-based to now");
    assert!(recent.iter().all(|a| a.src_ip.as_deref() != Some("172.16.0.1")), "attackers relocated");
    assert!(replay.set_speed(0.0).is_err());
    assert_eq!(replay.set_speed(10.0).unwrap().speed, 10.0);
    app.stop().await;
}

#[tokio::test]
async fn only_admins_control_the_replay_and_bad_speeds_are_named() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    for role in [Role::Analyst, Role::Responder, Role::Executive, Role::Employee] {
        let c = app.signed_in(role).await;
        assert_eq!(app.call(&c, "admin/replay_status", &[]).await.status(), 403, "{role:?}");
        assert_eq!(app.call(&c, "admin/replay_control", &[("action", "start")]).await.status(), 403, "{role:?}");
    }
    assert_eq!(app.call(&app.client(), "admin/replay_control", &[("action", "start")]).await.status(), 401);
    assert!(!app.replay.as_ref().unwrap().status().running, "refused calls changed nothing");
    let admin = app.signed_in(Role::Admin).await;
    let res = app.call(&admin, "admin/replay_control", &[("action", "speed"), ("speed", "0")]).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["field"], "speed", "{body}");
    for typed in ["fast", ""] {
        let res = app.call(&admin, "admin/replay_control", &[("action", "speed"), ("speed", typed)]).await;
        assert_eq!(res.status(), 422, "{typed:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["field"], "speed", "{body}");
        assert!(body["message"].as_str().unwrap().contains("e.g. 60"), "{body}");
    }
    let res = app.call(&admin, "admin/replay_control", &[("action", "speed"), ("speed", "120")]).await;
    assert_eq!(res.status(), 200);
    let res = app.call(&admin, "admin/replay_control", &[("action", "start")]).await;
    let status: Value = res.json().await.unwrap();
    assert_eq!((status["running"].as_bool(), status["speed"].as_f64()), (Some(true), Some(120.0)), "{status}");
    let status: Value = app.call(&admin, "admin/replay_control", &[("action", "stop")]).await.json().await.unwrap();
    assert_eq!(status["running"], false);
    let audit = app.db.recent_audit(10).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "replay.start" && e.actor == "admin"), "{audit:?}");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let app = TestApp::spawn().await;
    let analyst = app.signed_in(Role::Analyst).await;
    let mut stream = analyst.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    // Graceful shutdown waits for connections; an open stream must not keep the server alive.
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("shutdown with a stream open");
    let end =
        tokio::time::timeout(Duration::from_secs(5), async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(end.is_ok(), "the stream ended");
}

/// An open stream ends as soon as its session does (sign-out), or loses the right to see alerts
/// (disabled, or a role that may not see them), not only when it is opened.
#[tokio::test]
async fn the_stream_ends_with_its_session() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let admin = app.signed_in(Role::Admin).await;
    let ends_within = |mut stream: reqwest::Response| async move {
        tokio::time::timeout(Duration::from_secs(5), async move { while let Ok(Some(_)) = stream.chunk().await {} })
            .await
            .is_ok()
    };
    // Sign-out.
    let analyst = app.signed_in(Role::Analyst).await;
    let stream = analyst.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let res = app.call(&analyst, "auth/logout", &[]).await;
    assert!(res.status().as_u16() < 400, "sign-out: {}", res.status());
    assert!(ends_within(stream).await, "the stream outlived the sign-out");
    // A role that may not see alerts.
    let responder = app.signed_in(Role::Responder).await;
    let stream = responder.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let id = app.db.user_by_username("responder").await.unwrap().unwrap().id.to_string();
    let res = app.call(&admin, "admin/set_role", &[("user_id", &id), ("role", "executive")]).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert!(ends_within(stream).await, "the stream outlived the role change");
    // Another stream whose session is untouched keeps going.
    let analyst = app.signed_in(Role::Analyst).await;
    let mut stream = analyst.get(app.url("/api/v1/stream")).send().await.unwrap();
    let disabled = app.db.user_by_username("employee").await.unwrap().unwrap().id;
    app.db.set_disabled(disabled, true, Some("admin")).await.unwrap();
    let ended =
        tokio::time::timeout(Duration::from_secs(1), async move { while let Ok(Some(_)) = stream.chunk().await {} })
            .await;
    assert!(ended.is_err(), "an unrelated change ends nothing");
    app.stop().await;
}
