//! `/report`: any signed-in person files reports and reads only their own; plain-language validation
//! names the field; a per-person hourly limit; what people typed is shown as text, never as HTML.
//! `/soc/reports`: the SOC roles read the queue of reported addresses and decide about each; the
//! reporters see the decision and its note; a confirmed address is intel for the next batch.

use crate::support::TestApp;
use anomalyforge::report::ReportStatus;
use anomalyforge::role::Role;
use serde_json::Value;

const XSS: &str = "<img src=x onerror=alert(1)>";

#[tokio::test]
async fn every_role_reports_and_sees_only_its_own() {
    let app = TestApp::spawn().await;
    assert_eq!(app.call(&app.client(), "reports/mine", &[]).await.status(), 401);
    assert_eq!(
        app.call(
            &app.client(),
            "reports/submit",
            &[("indicator", "1.2.3.4"), ("category", "spam"), ("description", "x")]
        )
        .await
        .status(),
        401
    );
    for role in Role::ALL {
        let c = app.signed_in(role).await;
        let res = app
            .call(
                &c,
                "reports/submit",
                &[
                    ("indicator", "https://Phish.Example/login"),
                    ("category", "phishing"),
                    ("description", role.as_str()),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{role:?}");
        let r: Value = res.json().await.unwrap();
        assert_eq!(
            (r["indicator"].as_str(), r["kind"].as_str(), r["status"].as_str()),
            (Some("phish.example"), Some("domain"), Some("new"))
        );
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
        assert_eq!(
            app.call(&c, "reports/submit", &[("indicator", &ip), ("category", "scanning"), ("description", "probe")])
                .await
                .status(),
            200
        );
    }
    let res = app
        .call(
            &c,
            "reports/submit",
            &[("indicator", "203.0.113.99"), ("category", "scanning"), ("description", "probe")],
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many", "{body}");
    // Someone else is not affected.
    let other = app.signed_in(Role::Analyst).await;
    assert_eq!(
        app.call(
            &other,
            "reports/submit",
            &[("indicator", "203.0.113.99"), ("category", "scanning"), ("description", "probe")]
        )
        .await
        .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn the_page_shows_descriptions_as_text_and_the_status_the_soc_gave() {
    let app = TestApp::spawn().await;
    let c = app.signed_in(Role::Employee).await;
    let r: Value = app
        .call(&c, "reports/submit", &[("indicator", "198.51.100.23"), ("category", "malware"), ("description", XSS)])
        .await
        .json()
        .await
        .unwrap();
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

/// Files a report as `client` and returns it.
async fn file(app: &TestApp, client: &reqwest::Client, indicator: &str, category: &str, description: &str) -> Value {
    let res = app
        .call(
            client,
            "reports/submit",
            &[("indicator", indicator), ("category", category), ("description", description)],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_soc_decides_about_an_address_and_its_reporters_see_it() {
    let app = TestApp::spawn().await;
    let employee = app.signed_in(Role::Employee).await;
    let executive = app.signed_in(Role::Executive).await;
    file(&app, &employee, "198.51.100.23", "phishing", XSS).await;
    file(&app, &executive, "198.51.100.23", "spam", "Same sender, other mail").await;
    file(&app, &employee, "https://login-example.test/x", "phishing", "fake login page").await;

    let analyst = app.signed_in(Role::Analyst).await;
    let res = app.call(&analyst, "reports/queue", &[("status", ""), ("page", "1")]).await;
    assert_eq!(res.status(), 200);
    let q: Value = res.json().await.unwrap();
    assert_eq!(
        (q["total"].as_i64(), q["counts"]["new"].as_i64(), q["filter"].as_str()),
        (Some(2), Some(2), Some("open")),
        "{q}"
    );
    let ip = q["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicator"] == "198.51.100.23")
        .expect("the address is queued")
        .clone();
    assert_eq!(
        (ip["reports"].as_i64(), ip["reporters"].as_i64(), ip["status"].as_str()),
        (Some(2), Some(2), Some("new")),
        "{ip}"
    );
    assert_eq!(ip["alerts"], serde_json::json!({"from": 0, "to": 0}));
    assert!(
        ip["lines"].as_array().unwrap().iter().any(|l| l["description"] == XSS),
        "descriptions are data, kept as typed"
    );
    let counts: Value = app.call(&analyst, "reports/counts", &[]).await.json().await.unwrap();
    assert_eq!(counts["new"], 2);

    // The page, as rendered before the WASM: the description is text, never markup.
    let html = analyst.get(app.url("/soc/reports")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains(XSS),
        "the description must be escaped"
    );
    assert!(html.contains("data-indicator=\"198.51.100.23\""));
    assert!(!html.contains("/soc?src_ip=198.51.100.23"), "no alerts yet, so no link");

    // Decide: confirm with a note; every report of the address follows.
    let decide = |from: &'static str, to: &'static str, note: &'static str| {
        [("indicator", "198.51.100.23"), ("from", from), ("status", to), ("note", note)]
    };
    let res = app
        .call(
            &analyst,
            "reports/set_status",
            &decide("new", "confirmed", "Phishing confirmed: we blocked it. <b>Thanks</b>"),
        )
        .await;
    assert_eq!(res.status(), 200);
    let change: Value = res.json().await.unwrap();
    assert_eq!((change["status"].as_str(), change["reports"].as_i64()), (Some("confirmed"), Some(2)), "{change}");
    for reporter in [&employee, &executive] {
        let mine: Value = app.call(reporter, "reports/mine", &[]).await.json().await.unwrap();
        let r = mine.as_array().unwrap().iter().find(|r| r["indicator"] == "198.51.100.23").unwrap();
        assert_eq!(
            (r["status"].as_str(), r["note"].as_str()),
            (Some("confirmed"), Some("Phishing confirmed: we blocked it. <b>Thanks</b>"))
        );
    }
    let page = employee.get(app.url("/report")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Phishing confirmed: we blocked it. &lt;b&gt;Thanks&lt;/b&gt;"),
        "the note is shown to the reporter, as text"
    );
    let audit = app.db.recent_audit(5).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "report.set_status"
            && e.actor == "analyst"
            && e.target == "198.51.100.23"
            && e.detail.starts_with("new → confirmed; 2 report(s)")),
        "{audit:?}"
    );

    // Refused: a move the workflow does not allow, a decision on a stale view, a note too long, an unknown address.
    let res = app.call(&analyst, "reports/set_status", &decide("confirmed", "dismissed", "")).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["field"], "status");
    assert!(body["message"].as_str().unwrap().contains("Reopen it first"), "{body}");
    let res = app.call(&analyst, "reports/set_status", &decide("new", "dismissed", "")).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("is confirmed now"));
    let long = "n".repeat(anomalyforge::report::MAX_NOTE + 1);
    let res = app
        .call(
            &analyst,
            "reports/set_status",
            &[("indicator", "198.51.100.23"), ("from", "confirmed"), ("status", "investigating"), ("note", &long)],
        )
        .await;
    assert_eq!(
        (res.status().as_u16(), res.json::<Value>().await.unwrap()["field"].as_str().map(str::to_string)),
        (422, Some("note".into()))
    );
    let res = app
        .call(
            &analyst,
            "reports/set_status",
            &[("indicator", "192.0.2.1"), ("from", "new"), ("status", "confirmed"), ("note", "")],
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app.call(&analyst, "reports/queue", &[("status", "closed"), ("page", "1")]).await;
    assert_eq!(
        (res.status().as_u16(), res.json::<Value>().await.unwrap()["field"].as_str().map(str::to_string)),
        (422, Some("status".into()))
    );
    // Reopen: a responder may too.
    let responder = app.signed_in(Role::Responder).await;
    assert_eq!(
        app.call(&responder, "reports/set_status", &decide("confirmed", "investigating", "")).await.status(),
        200
    );
    let q: Value = app
        .call(&responder, "reports/queue", &[("status", "investigating"), ("page", "1")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["rows"][0]["indicator"], "198.51.100.23");
    assert_eq!(q["rows"][0]["note"], Value::Null, "a new decision without a note clears the old one");
    app.stop().await;
}

#[tokio::test]
async fn employees_cannot_read_or_decide_the_queue() {
    let app = TestApp::spawn().await;
    let employee = app.signed_in(Role::Employee).await;
    file(&app, &employee, "203.0.113.50", "scanning", "probing").await;
    let decide = [("indicator", "203.0.113.50"), ("from", "new"), ("status", "dismissed"), ("note", "")];
    for role in [Role::Employee, Role::Executive] {
        let c = app.signed_in(role).await;
        assert_eq!(app.call(&c, "reports/queue", &[("status", ""), ("page", "1")]).await.status(), 403, "{role:?}");
        assert_eq!(app.call(&c, "reports/counts", &[]).await.status(), 403, "{role:?}");
        assert_eq!(app.call(&c, "reports/set_status", &decide).await.status(), 403, "{role:?}");
        let page = c.get(app.url("/soc/reports")).send().await.unwrap();
        assert_eq!(page.status(), 403, "{role:?}");
        assert!(!page.text().await.unwrap().contains("probing"), "{role:?} sees no report");
    }
    assert_eq!(app.call(&app.client(), "reports/set_status", &decide).await.status(), 401);
    assert_eq!(app.client().get(app.url("/soc/reports")).send().await.unwrap().status(), 401);
    let mine: Value = app.call(&employee, "reports/mine", &[]).await.json().await.unwrap();
    assert_eq!(mine[0]["status"], "new", "refused calls changed nothing");
    app.stop().await;
}

async fn newest_alert_from(app: &TestApp, ip: &str) -> anomalyforge::alert::Alert {
    let alerts = app.db.recent_alerts(500).await.unwrap();
    alerts
        .into_iter()
        .filter(|a| a.src_ip.as_deref() == Some(ip))
        .max_by_key(|a| a.id)
        .expect("an alert from the address")
}

fn intel_status(a: &anomalyforge::alert::Alert) -> String {
    let reasons: Value = serde_json::from_str(&a.reasons).unwrap();
    reasons["intel"]["status"].as_str().unwrap_or_default().to_string()
}

/// A confirmed address is threat intel from the next batch on: the enricher reloads at once after
/// the SOC's decision (its periodic reload is 5 s away).
#[tokio::test]
async fn a_confirmed_address_raises_the_risk_of_the_next_batch() {
    let app = TestApp::spawn_ingest(|c| c.dedup_window_secs = 0).await;
    let token = app.api_token("sensor").await;
    let employee = app.signed_in(Role::Employee).await;
    let report = file(&app, &employee, "1.0.0.1", "scanning", "It keeps knocking").await;
    let report_id = report["id"].as_i64();
    app.ingest_attacks(&token, Some("1.0.0.1")).await;
    let first = newest_alert_from(&app, "1.0.0.1").await;
    assert_eq!(first.report_id, report_id, "the report is named");
    assert_eq!(intel_status(&first), "new", "an open report counts a little");
    let analyst = app.signed_in(Role::Analyst).await;
    let res = app
        .call(
            &analyst,
            "reports/set_status",
            &[("indicator", "1.0.0.1"), ("from", "new"), ("status", "confirmed"), ("note", "")],
        )
        .await;
    assert_eq!(res.status(), 200);
    app.ingest_attacks(&token, Some("1.0.0.1")).await;
    let next = newest_alert_from(&app, "1.0.0.1").await;
    assert!(next.id > first.id, "a new alert (deduplication is off)");
    assert_eq!(
        (next.report_id, intel_status(&next).as_str()),
        (report_id, "confirmed"),
        "the decision reached the very next batch"
    );
    assert_eq!(
        (next.threat.as_str(), next.base_risk),
        (first.threat.as_str(), first.base_risk),
        "the same detection again"
    );
    assert!(next.risk >= first.risk, "confirmed counts more than open: {} < {}", next.risk, first.risk);
    let q: Value =
        app.call(&analyst, "reports/queue", &[("status", "confirmed"), ("page", "1")]).await.json().await.unwrap();
    let alerts = &q["rows"][0]["alerts"];
    assert!(alerts["from"].as_i64().unwrap() >= 2, "both batches' alerts from it are counted: {alerts}");
    let html = analyst.get(app.url("/soc/reports?status=confirmed")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("/soc?src_ip=1.0.0.1"), "a link to its alerts in the console");
    app.stop().await;
}
