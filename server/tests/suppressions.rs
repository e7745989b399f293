//! Suppression rules end to end: a rule absorbs matching detections in the pipeline (counted on
//! the rule, no alert), stops doing so once expired, and a false positive can create one.

mod support;

use anomalyforge::role::Role;
use serde_json::Value;
use support::TestApp;

fn attacks() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/cicids2017/fixtures/cicids2017_attacks_sample.csv");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn ingest(app: &TestApp, token: &str) -> Value {
    let res = app
        .client()
        .post(app.url("/api/v1/ingest/csv"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(attacks())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_rule_absorbs_matching_detections_until_it_expires() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    let analyst = app.signed_in(Role::Analyst).await;
    let form = [("src_ip", "172.16.0.1"), ("threat", ""), ("asset_ip", ""), ("reason", "authorised red-team exercise"), ("expires_in_hours", "")];
    let res = app.call(&analyst, "suppressions/create", &form).await;
    assert_eq!(res.status(), 200);
    let rule: Value = res.json().await.unwrap();
    let id = rule["id"].as_i64().unwrap().to_string();

    let reply = ingest(&app, &token).await;
    assert!(reply["detections"].as_i64().unwrap_or(1) > 0 || reply["scored"].as_i64().unwrap() > 0, "{reply}");
    assert_eq!(reply["alerts_created"], 0, "every detection came from the suppressed source: {reply}");
    assert_eq!(app.db.count_alerts().await.unwrap(), 0);
    let rules: Value = app.call(&analyst, "suppressions/list", &[]).await.json().await.unwrap();
    let hits = rules[0]["hits"].as_i64().unwrap();
    assert!(hits > 0, "suppressed detections are counted: {rules}");
    assert!(rules[0]["last_hit"].is_i64());

    // Expired, it no longer applies (and keeps its count).
    let expired: Value = app.call(&analyst, "suppressions/expire", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(expired["hits"].as_i64(), Some(hits));
    let reply = ingest(&app, &token).await;
    assert!(reply["alerts_created"].as_i64().unwrap() > 0, "{reply}");

    // Bad rules name the field; other roles are refused.
    let res = app.call(&analyst, "suppressions/create", &[("src_ip", ""), ("threat", ""), ("asset_ip", ""), ("reason", "x"), ("expires_in_hours", "")]).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "src_ip");
    let employee = app.signed_in(Role::Employee).await;
    assert_eq!(app.call(&employee, "suppressions/create", &form).await.status(), 403);
    assert_eq!(app.call(&employee, "suppressions/list", &[]).await.status(), 403);
    assert_eq!(app.call(&employee, "suppressions/delete", &[("id", &id)]).await.status(), 403);
    assert_eq!(app.call(&analyst, "suppressions/delete", &[("id", &id)]).await.status(), 200);
    assert_eq!(app.call(&analyst, "suppressions/delete", &[("id", &id)]).await.status(), 404);
    let audit: Vec<String> = app.db.recent_audit(20).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in ["suppression.create", "suppression.expire", "suppression.delete"] {
        assert!(audit.iter().any(|a| a == action), "{action} audited: {audit:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_false_positive_can_create_a_rule_for_its_source_and_type() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    ingest(&app, &token).await;
    let alert = app.db.recent_alerts(1).await.unwrap().pop().expect("the fixture alerts");
    let responder = app.signed_in(Role::Responder).await;
    let form = [
        ("ids", alert.id.to_string()),
        ("action", "false_positive".into()),
        ("note", "vulnerability scanner run by IT".into()),
        ("assignee", String::new()),
        ("suppress", "source,type".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out: Value = app.call(&responder, "alerts/triage", &form).await.json().await.unwrap();
    assert_eq!(out[0]["status"], "false_positive");
    let rules = app.db.list_suppressions().await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0].src_ip.as_deref(), rules[0].threat.as_deref(), rules[0].asset_ip.as_deref()), (alert.src_ip.as_deref(), Some(alert.threat.as_str()), None));
    assert_eq!(rules[0].reason, "vulnerability scanner run by IT");
    // A rule can only come from a false positive, and only from known criteria.
    let mut bad = form.clone();
    bad[1] = ("action", "resolve");
    assert_eq!(app.call(&responder, "alerts/triage", &bad).await.status(), 422);
    bad[1] = ("action", "false_positive");
    bad[4] = ("suppress", "everything");
    let res = app.call(&responder, "alerts/triage", &bad).await;
    assert_eq!(res.status(), 422);
    assert_eq!(res.json::<Value>().await.unwrap()["field"], "suppress");
    app.stop().await;
}
