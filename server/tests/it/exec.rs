//! `/exec`: the KPI server function, the page rendered on the server and the CSV export, as the roles
//! that may and may not use them; an executive reaches no triage action.

use crate::support::TestApp;
use anomalyforge::asset::Criticality;
use anomalyforge::kpi::HOUR;
use anomalyforge::role::Role;
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use anomalyforge::store::assets::AssetFields;
use anomalyforge::store::now_ms;
use serde_json::Value;

const MARKUP: &str = "<img src=x onerror=alert(1)>";

/// The value shown on the headline figure `kpi-ID`.
fn figure<'a>(html: &'a str, id: &str) -> &'a str {
    let card = &html[html.find(&format!(r#"data-test="kpi-{id}""#)).unwrap_or_else(|| panic!("no figure {id}"))..];
    let value = &card[card.find(r#"data-test="value""#).unwrap()..];
    let text = &value[value.find('>').unwrap() + 1..];
    &text[..text.find('<').unwrap()]
}

/// The opening tag that contains `attr`.
fn tag<'a>(html: &'a str, attr: &str) -> &'a str {
    let at = html.find(attr).unwrap_or_else(|| panic!("no {attr} in the page"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// Three alerts in the last 24 hours (two on an asset whose host name is markup) and one five days
/// ago; returns the id of one recent alert.
async fn seed(app: &TestApp) -> String {
    app.db
        .upsert_asset(
            &AssetFields {
                ip: "10.0.0.7".into(),
                hostname: Some(MARKUP.into()),
                criticality: Some(Criticality::High),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let now = now_ms();
    let alert = |src: &str, at: i64, asset: bool| NewAlert {
        seen_at: at,
        last_seen: at,
        src_ip: Some(src.into()),
        dst_ip: asset.then(|| "10.0.0.7".to_string()),
        asset_ip: asset.then(|| "10.0.0.7".to_string()),
        criticality: asset.then_some(Criticality::High),
        src_country: Some("FR".into()),
        threat: "port_scan".into(),
        risk: 60,
        risk_sum: 60,
        ..NewAlert::blank()
    };
    let stored = app
        .db
        .persist_batch(&PersistBatch {
            alerts: vec![
                alert("203.0.113.1", now - HOUR, true),
                alert("203.0.113.2", now - 2 * HOUR, true),
                alert("203.0.113.3", now - 3 * HOUR, false),
                alert("203.0.113.4", now - 5 * 24 * HOUR, false),
            ],
            assets_seen: vec![("10.0.0.7".into(), now)],
            ..Default::default()
        })
        .await
        .unwrap();
    stored[0].alert.id.to_string()
}

#[tokio::test]
async fn executives_and_admins_get_the_kpis_and_no_one_else() {
    let app = TestApp::spawn().await;
    let alert_id = seed(&app).await;
    let mut clients = vec![(None, app.client())];
    for role in Role::ALL {
        clients.push((Some(role), app.signed_in(role).await));
    }
    for (role, c) in &clients {
        let expected = match role {
            None => 401,
            Some(Role::Executive | Role::Admin) => 200,
            Some(_) => 403,
        };
        let res = app.call(c, "kpi/report", &[("range", "7d")]).await;
        assert_eq!(res.status(), expected, "kpi/report as {role:?}");
        let export = c.get(app.url("/exec/export.csv?range=24h")).send().await.unwrap();
        assert_eq!(export.status(), expected, "export as {role:?}");
        if expected == 200 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["periods"]["range"], "7d");
            assert_eq!(body["totals"]["current"]["alerts"], 4);
            assert_eq!(body["top_assets"][0]["hostname"], MARKUP);
        }
    }
    // The executive reaches no triage action: the server refuses it and nothing changes.
    let exec = &clients[4].1;
    assert_eq!(clients[4].0, Some(Role::Executive));
    let res = app
        .call(exec, "alerts/triage", &[("ids", &alert_id), ("action", "resolve"), ("note", ""), ("assignee", "")])
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.call(exec, "alerts/history", &[("alert_id", &alert_id)]).await.status(), 403);
    assert_eq!(exec.get(app.url("/soc")).send().await.unwrap().status(), 403);
    assert_eq!(app.db.alert_by_id(alert_id.parse().unwrap()).await.unwrap().status, "new");
    app.stop().await;
}

#[tokio::test]
async fn ranges_change_the_figures_and_a_wrong_range_is_named() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let exec = app.signed_in(Role::Executive).await;
    let alerts =
        |v: &Value| (v["totals"]["current"]["alerts"].as_i64().unwrap(), v["series"].as_array().unwrap().len());
    let day: Value = app.call(&exec, "kpi/report", &[("range", "24h")]).await.json().await.unwrap();
    let week: Value = app.call(&exec, "kpi/report", &[("range", "7d")]).await.json().await.unwrap();
    assert_eq!(alerts(&day), (3, 24));
    assert_eq!(alerts(&week), (4, 7));
    assert_eq!(day["countries"][0]["label"], "France");
    let bad = app.call(&exec, "kpi/report", &[("range", "1y")]).await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["field"].as_str()), (Some("invalid"), Some("range")));
    assert!(body["message"].as_str().unwrap().contains("“1y” is not a range"), "{body}");
    // The export refuses the same range with the same error as the page's server function.
    let bad = exec.get(app.url("/exec/export.csv?range=1y")).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!((body["error"].as_str(), body["field"].as_str()), (Some("invalid"), Some("range")));
    assert!(body["message"].as_str().unwrap().starts_with("“1y” is not a range"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_page_is_complete_without_javascript_and_shows_data_as_text() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let exec = app.signed_in(Role::Executive).await;
    let html = exec.get(app.url("/exec?range=24h")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Security KPIs") && html.contains(r#"data-test="kpi-alerts""#),
        "the figures are in the HTML"
    );
    assert!(tag(&html, r#"data-range="24h""#).contains(r#"aria-current="page""#), "the 24 h link is current");
    assert!(!tag(&html, r#"data-range="7d""#).contains("aria-current"));
    assert!(html.contains("Last 24 hours"));
    assert_eq!(figure(&html, "alerts"), "3", "three alerts in 24 hours");
    // Response figures count alerts by when AnomalyForge raised (stored) them: the five-day-old
    // detection was stored now.
    assert_eq!(figure(&html, "open"), "4");
    assert_eq!(html.matches(r#"<figure class="chart">"#).count(), 7, "seven charts drawn on the server");
    assert!(html.contains("Alerts per hour") && html.contains("Hour (UTC)"), "titles and axes with units");
    assert!(html.contains(r#"data-test="country-map""#) && html.contains("France — 3 alerts"));
    assert!(html.contains("Mean time to acknowledge (MTTA)"), "definitions on the page");
    assert!(html.contains(r#"href="/exec/export.csv?range=24h""#));
    assert!(!html.contains("<img src=x"), "a host name from data is text, in tables and charts");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("alerts/triage") && !html.contains(r#"data-test="triage"#), "no triage controls");

    let week = exec.get(app.url("/exec")).send().await.unwrap().text().await.unwrap();
    assert!(tag(&week, r#"data-range="7d""#).contains(r#"aria-current="page""#), "7 days by default");
    assert_eq!(figure(&week, "alerts"), "4");
    let wrong = exec.get(app.url("/exec?range=1y")).send().await.unwrap();
    assert_eq!(wrong.status(), 200);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("“1y” is not a range: use 24h, 7d or 30d. Showing the last 7 days instead."), "{wrong}");

    let csv = exec.get(app.url("/exec/export.csv?range=24h")).send().await.unwrap();
    assert!(csv.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"kpis-24h-"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with(anomalyforge::kpi::export::HEADER), "{text}");
    assert!(text.contains(",,,3\n") && text.contains("alerts_by_asset,current,"), "{text}");
    assert!(text.contains(",10.0.0.7,<img src=x onerror=alert(1)> (10.0.0.7),2\n"), "{text}");

    let empty = TestApp::spawn().await;
    let admin = empty.signed_in(Role::Admin).await;
    let html = admin.get(empty.url("/exec")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(r#"data-test="empty""#) && html.contains("No alerts were recorded in the last 7 days"),
        "an honest empty state"
    );
    assert!(html.contains("No data in this range"));
    empty.stop().await;
    app.stop().await;
}
