//! `/report`: any signed-in person files reports and reads only their own; plain-language validation
//! names the field; a per-person hourly limit; what people typed is shown as text, never as HTML.

mod support;

use anomalyforge::report::ReportStatus;
use anomalyforge::role::Role;
use serde_json::Value;
use support::TestApp;

const XSS: &str = "<img src=x onerror=alert(1)>";

#[tokio::test]
async fn every_role_reports_and_sees_only_its_own() {
    let app = TestApp::spawn().await;
    assert_eq!(app.call(&app.client(), "reports/mine", &[]).await.status(), 401);
    assert_eq!(app.call(&app.client(), "reports/submit", &[("indicator", "1.2.3.4"), ("category", "spam"), ("description", "x")]).await.status(), 401);
    for role in Role::ALL {
        let c = app.signed_in(role).await;
        let res = app.call(&c, "reports/submit", &[("indicator", "https://Phish.Example/login"), ("category", "phishing"), ("description", role.as_str())]).await;
        assert_eq!(res.status(), 200, "{role:?}");
        let r: Value = res.json().await.unwrap();
        assert_eq!((r["indicator"].as_str(), r["kind"].as_str(), r["status"].as_str()), (Some("phish.example"), Some("domain"), Some("new")));
        let mine: Value = app.call(&c, "reports/mine", &[]).await.json().await.unwrap();
        let mine = mine.as_array().unwrap();
        assert_eq!(mine.len(), 1, "{role:?} sees only their own report");
        assert_eq!(mine[0]["description"], role.as_str());
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_reports_name_the_field_in_plain_words_and_store_nothing() {
    let app = TestApp::spawn().await;
    let c = app.signed_in(Role::Employee).await;
    for (form, field) in [
        (vec![("indicator", "not an address"), ("category", "spam"), ("description", "x")], "indicator"),
        (vec![("indicator", "1.2.3.4"), ("category", "virus"), ("description", "x")], "category"),
        (vec![("indicator", "1.2.3.4"), ("category", "spam"), ("description", "  ")], "description"),
    ] {
        let res = app.call(&c, "reports/submit", &form).await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["field"], field, "{body}");
        assert!(!body["message"].as_str().unwrap().contains("Error"), "plain words: {body}");
    }
    let mine: Value = app.call(&c, "reports/mine", &[]).await.json().await.unwrap();
    assert!(mine.as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn reports_are_limited_per_person_per_hour() {
    let app = TestApp::spawn().await;
    let c = app.signed_in(Role::Employee).await;
    for i in 0..anomalyforge::report::REPORTS_PER_HOUR {
        let ip = format!("203.0.113.{i}");
        assert_eq!(app.call(&c, "reports/submit", &[("indicator", &ip), ("category", "scanning"), ("description", "probe")]).await.status(), 200);
    }
    let res = app.call(&c, "reports/submit", &[("indicator", "203.0.113.99"), ("category", "scanning"), ("description", "probe")]).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many", "{body}");
    // Someone else is not affected.
    let other = app.signed_in(Role::Analyst).await;
    assert_eq!(app.call(&other, "reports/submit", &[("indicator", "203.0.113.99"), ("category", "scanning"), ("description", "probe")]).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn the_page_shows_descriptions_as_text_and_the_status_the_soc_gave() {
    let app = TestApp::spawn().await;
    let c = app.signed_in(Role::Employee).await;
    let r: Value = app.call(&c, "reports/submit", &[("indicator", "198.51.100.23"), ("category", "malware"), ("description", XSS)]).await.json().await.unwrap();
    let id = r["id"].as_i64().unwrap();
    let analyst = app.db.user_by_username("analyst").await.unwrap().unwrap();
    app.db.set_report_status(id, ReportStatus::Confirmed, analyst.id).await.unwrap();
    let res = c.get(app.url("/report")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(!html.contains(XSS), "the description must not appear as markup");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "it appears escaped, as text");
    assert!(html.contains("data-status=\"confirmed\""), "the status the SOC gave is shown");
    assert!(html.contains("198.51.100.23"));
    app.stop().await;
}
