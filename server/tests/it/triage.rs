//! Alert triage through the server functions: the SOC roles act on alerts and every action is in
//! the alert's history; other roles are refused and change nothing; bad input names the field.

use crate::support::TestApp;
use anomalyforge::role::Role;
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use serde_json::Value;

async fn two_alerts(app: &TestApp) -> (String, String) {
    let alert = |src: &str| NewAlert {
        seen_at: 1_000,
        last_seen: 1_000,
        src_ip: Some(src.into()),
        dst_ip: Some("10.0.0.5".into()),
        threat: "portscan".into(),
        risk: 70,
        ..NewAlert::blank()
    };
    let stored = app
        .db
        .persist_batch(&PersistBatch { alerts: vec![alert("203.0.113.1"), alert("203.0.113.2")], ..Default::default() })
        .await
        .unwrap();
    (stored[0].alert.id.to_string(), stored[1].alert.id.to_string())
}

fn form<'a>(ids: &'a str, action: &'a str, note: &'a str, assignee: &'a str) -> [(&'static str, &'a str); 4] {
    [("ids", ids), ("action", action), ("note", note), ("assignee", assignee)]
}

#[tokio::test]
async fn an_analyst_acknowledges_and_resolves_and_the_history_shows_both() {
    let app = TestApp::spawn().await;
    let (a, b) = two_alerts(&app).await;
    let analyst = app.signed_in(Role::Analyst).await;
    let res = app.call(&analyst, "alerts/triage", &form(&a, "acknowledge", "", "")).await;
    assert_eq!(res.status(), 200);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out[0]["status"], "acknowledged");
    let res =
        app.call(&analyst, "alerts/triage", &form(&format!("{a},{b}"), "resolve", "blocked at the firewall", "")).await;
    let out: Value = res.json().await.unwrap();
    assert_eq!((out[0]["status"].as_str(), out[1]["status"].as_str()), (Some("resolved"), Some("resolved")));
    let history: Value = app.call(&analyst, "alerts/history", &[("alert_id", &a)]).await.json().await.unwrap();
    let steps: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, vec![("analyst", "acknowledge"), ("analyst", "resolve")]);
    // A second resolve is skipped with the reason, not an error.
    let out: Value = app.call(&analyst, "alerts/triage", &form(&a, "resolve", "", "")).await.json().await.unwrap();
    assert_eq!(out[0]["status"], Value::Null);
    assert!(out[0]["skipped"].as_str().unwrap().contains("already resolved"));
    app.stop().await;
}

#[tokio::test]
async fn other_roles_are_refused_and_bad_input_is_named() {
    let app = TestApp::spawn().await;
    let (a, _) = two_alerts(&app).await;
    for role in [Role::Employee, Role::Executive] {
        let c = app.signed_in(role).await;
        assert_eq!(app.call(&c, "alerts/triage", &form(&a, "resolve", "", "")).await.status(), 403, "{role}");
        assert_eq!(app.call(&c, "alerts/history", &[("alert_id", &a)]).await.status(), 403, "{role}");
    }
    assert_eq!(app.call(&app.client(), "alerts/triage", &form(&a, "resolve", "", "")).await.status(), 401);
    assert!(app.db.alert_events(a.parse().unwrap()).await.unwrap().is_empty(), "refused calls changed nothing");

    let responder = app.signed_in(Role::Responder).await;
    let field = |res: Value| res["field"].as_str().unwrap_or_default().to_string();
    let bad = |ids: &'static str, action: &'static str, note: &'static str, assignee: &'static str| {
        let (app, responder) = (&app, &responder);
        async move {
            let res = app.call(responder, "alerts/triage", &form(ids, action, note, assignee)).await;
            assert_eq!(res.status(), 422, "{ids} {action} {assignee}");
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(field(bad("1,x", "resolve", "", "").await), "ids");
    assert_eq!(field(bad("", "resolve", "", "").await), "ids");
    let too_many = (1..=501).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let res = app.call(&responder, "alerts/triage", &form(&too_many, "resolve", "", "")).await;
    assert_eq!(res.status(), 422);
    assert_eq!(field(bad("1", "delete", "", "").await), "action");
    assert_eq!(field(bad("1", "false_positive", "", "").await), "note");
    let unknown = bad("1", "assign", "", "nobody").await;
    assert_eq!(field(unknown.clone()), "assignee");
    assert!(unknown["message"].as_str().unwrap().contains("no user named nobody"));
    let employee = bad("1", "assign", "", "employee").await;
    assert!(employee["message"].as_str().unwrap().contains("cannot work on alerts"));
    // Assigning to an analyst works and acknowledges.
    let out: Value =
        app.call(&responder, "alerts/triage", &form(&a, "assign", "", "Analyst")).await.json().await.unwrap();
    assert_eq!(out[0]["status"], "acknowledged");
    let alert = app.db.recent_alerts(5).await.unwrap().into_iter().find(|x| x.id.to_string() == a).unwrap();
    assert_eq!(alert.assignee.as_deref(), Some("analyst"));
    app.stop().await;
}
