//! Suppression rules end to end: a rule absorbs matching detections in the pipeline (counted on
//! the rule, no alert), stops doing so once expired, and a false positive can create one.

use crate::support::TestApp;
use anomalyforge::role::Role;
use serde_json::Value;

#[tokio::test]
async fn a_rule_absorbs_matching_detections_until_it_expires() {
    let app = TestApp::spawn_ingest(|_| {}).await;
    let token = app.api_token("sensor").await;
    let analyst = app.signed_in(Role::Analyst).await;
    let form = [
        ("src_ip", "172.16.0.1"),
        ("threat", ""),
        ("asset_ip", ""),
        ("reason", "authorised red-team exercise"),
        ("expires_in_hours", ""),
    ];
    let res = app.call(&analyst, "suppressions/create", &form).await;
    assert_eq!(res.status(), 200);
    let rule: Value = res.json().await.unwrap();
    let id = rule["id"].as_i64().unwrap().to_string();

    let reply = app.ingest_attacks(&token, None).await;
    // `alerts` is the batch's detections before suppression (the reply has no `detections` field).
    let detections = reply["alerts"].as_i64().unwrap();
    assert!(detections > 0, "the attack sample makes detections: {reply}");
    assert_eq!(reply["alerts_created"], 0, "every detection came from the suppressed source: {reply}");
    assert_eq!(app.db.count_alerts().await.unwrap(), 0);
    let rules: Value = app.call(&analyst, "suppressions/list", &[]).await.json().await.unwrap();
    let hits = rules["active"][0]["hits"].as_i64().unwrap();
    assert_eq!(hits, detections, "every suppressed detection is counted on the rule: {rules}");
    assert!(rules["active"][0]["last_hit"].is_i64());
    assert_eq!(rules["expired"].as_array().map(Vec::len), Some(0), "{rules}");

    // Expired, it no longer applies (and keeps its count); it is listed as expired, and expiring it
    // again keeps the time it expired at.
    let expired: Value = app.call(&analyst, "suppressions/expire", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(expired["hits"].as_i64(), Some(hits));
    let rules: Value = app.call(&analyst, "suppressions/list", &[]).await.json().await.unwrap();
    assert_eq!(
        (rules["active"].as_array().map(Vec::len), rules["expired"][0]["id"].as_i64()),
        (Some(0), Some(rule["id"].as_i64().unwrap())),
        "{rules}"
    );
    assert!(rules["now"].as_i64().unwrap() >= expired["expires_at"].as_i64().unwrap());
    let again: Value = app.call(&analyst, "suppressions/expire", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(again["expires_at"], expired["expires_at"]);
    let reply = app.ingest_attacks(&token, None).await;
    assert!(reply["alerts_created"].as_i64().unwrap() > 0, "{reply}");

    // Bad rules name the field; other roles are refused.
    let res = app
        .call(
            &analyst,
            "suppressions/create",
            &[("src_ip", ""), ("threat", ""), ("asset_ip", ""), ("reason", "x"), ("expires_in_hours", "")],
        )
        .await;
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
    app.ingest_attacks(&token, None).await;
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
    assert_eq!(
        (rules[0].src_ip.as_deref(), rules[0].threat.as_deref(), rules[0].asset_ip.as_deref()),
        (alert.src_ip.as_deref(), Some(alert.threat.as_str()), None)
    );
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

/// `/soc/rules` as the server renders it (what a browser shows before the WASM): rules in force and
/// expired ones with their counts, text from people escaped; only the SOC roles may open it.
#[tokio::test]
async fn the_rules_page_lists_rules_as_text_for_the_soc_roles_only() {
    let app = TestApp::spawn().await;
    let responder = app.signed_in(Role::Responder).await;
    let reason = "<img src=x onerror=alert(1)> scanner";
    let form = [
        ("src_ip", "203.0.113.7"),
        ("threat", "port_scan"),
        ("asset_ip", ""),
        ("reason", reason),
        ("expires_in_hours", "24"),
    ];
    let active: Value = app.call(&responder, "suppressions/create", &form).await.json().await.unwrap();
    let form =
        [("src_ip", ""), ("threat", ""), ("asset_ip", "10.0.0.9"), ("reason", "backup host"), ("expires_in_hours", "")];
    let old: Value = app.call(&responder, "suppressions/create", &form).await.json().await.unwrap();
    app.call(&responder, "suppressions/expire", &[("id", &old["id"].to_string())]).await;
    let res = responder.get(app.url("/soc/rules")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt; scanner") && !html.contains(reason),
        "the reason is text"
    );
    let section = |name: &str| {
        html.split(&format!("data-test=\"{name}\""))
            .nth(1)
            .map(|s| s.split("</table>").next().unwrap_or_default().to_string())
    };
    let in_force = section("active-rules").expect("a table of rules in force");
    assert!(
        in_force.contains(&format!("data-rule=\"{}\"", active["id"]))
            && in_force.contains("source 203.0.113.7 · type port_scan"),
        "{in_force}"
    );
    let expired = section("expired-rules").expect("a table of expired rules");
    assert!(
        expired.contains(&format!("data-rule=\"{}\"", old["id"])) && expired.contains("asset 10.0.0.9"),
        "{expired}"
    );
    assert!(!expired.contains("Expire now"), "an expired rule can only be deleted");
    for role in [Role::Employee, Role::Executive] {
        assert_eq!(
            app.signed_in(role).await.get(app.url("/soc/rules")).send().await.unwrap().status(),
            403,
            "{role:?}"
        );
    }
    assert_eq!(app.client().get(app.url("/soc/rules")).send().await.unwrap().status(), 401);
    app.stop().await;
}
