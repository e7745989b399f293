//! Demo mode's generated history: present only in demo mode, seeded once, through the store and
//! rollup code (the KPI report sees trends, response times and incidents), and marked as generated.

use crate::support::TestApp;
use anomalyforge::kpi::KpiRange;
use anomalyforge::role::Role;
use serde_json::Value;

#[tokio::test]
async fn demo_mode_starts_with_30_days_of_history_marked_as_generated() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    let h = app.db.demo_history().await.unwrap().expect("demo mode seeds its history");
    assert_eq!(h.alerts, anomalyforge::demo::seed::ALERTS as i64);
    assert_eq!(app.db.count_alerts().await.unwrap(), h.alerts);
    assert!(h.to < h.seeded_at && h.to - h.from >= 30 * 86_400_000, "{h:?}");
    assert!(h.reports > 30, "a few reports a day: {h:?}");
    assert!((1..=3).contains(&h.incidents), "{h:?}");

    // The dashboard has a past: trends over the month, response times, incidents contained.
    let now = anomalyforge::store::now_ms();
    let kpi = app.db.kpi_report(KpiRange::parse("30d").unwrap(), now).await.unwrap();
    assert!(kpi.totals.current.alerts > h.alerts * 9 / 10, "{:?}", kpi.totals);
    let busy_days = kpi.series.iter().filter(|v| v.alerts > 0).count();
    assert!(busy_days >= 28, "alerts on most days of the month: {busy_days}");
    assert!(kpi.response.acknowledge.current.ms().is_some() && kpi.response.close.current.ms().is_some());
    assert_eq!(kpi.incidents.current.opened, h.incidents);
    assert_eq!(kpi.incidents.current.contain.n, h.incidents, "every demo incident was contained");
    let week = app.db.kpi_report(KpiRange::parse("7d").unwrap(), now).await.unwrap();
    assert!(week.totals.previous.alerts > 0, "the week has a previous week to compare with");

    // The incidents went through the incident store: resolved, with their timeline.
    let analyst = app.signed_in(Role::Analyst).await;
    let list: Value = app.call(&analyst, "incidents/list", &[("query[status]", "all")]).await.json().await.unwrap();
    let incidents = list["rows"].as_array().unwrap();
    assert_eq!(incidents.len() as i64, h.incidents, "{list}");
    assert!(incidents.iter().all(|i| i["status"] == "resolved"), "{list}");

    // Every generated alert says so in its explanation.
    let alerts = app.db.recent_alerts(20).await.unwrap();
    let why = anomalyforge::explain::explain(&alerts[0]);
    assert_eq!(why.reasons[0], "Generated demo history: this alert was made up, not detected in traffic.");
    // The pages are told, for every role.
    let exec = app.signed_in(Role::Executive).await;
    let notice: Value = app.call(&exec, "demo/history", &[]).await.json().await.unwrap();
    assert_eq!(notice["alerts"], h.alerts);

    // Seeding is once: a restart on the same database adds nothing.
    assert!(anomalyforge::demo::seed::seed_history(&app.db, now).await.unwrap().is_none());
    assert_eq!(app.db.count_alerts().await.unwrap(), h.alerts);
    app.stop().await;
}

#[tokio::test]
async fn outside_demo_mode_nothing_is_generated() {
    let app = TestApp::spawn().await;
    assert_eq!(app.db.demo_history().await.unwrap(), None);
    assert_eq!(app.db.count_alerts().await.unwrap(), 0);
    let exec = app.signed_in(Role::Executive).await;
    let notice: Value = app.call(&exec, "demo/history", &[]).await.json().await.unwrap();
    assert!(notice.is_null(), "{notice}");
    app.stop().await;
}

#[tokio::test]
async fn demo_mode_can_start_without_history() {
    let app = TestApp::spawn_with(|c| {
        c.demo = true;
        c.demo_history = false;
    })
    .await;
    assert_eq!(app.db.demo_history().await.unwrap(), None);
    assert_eq!(app.db.count_alerts().await.unwrap(), 0);
    app.stop().await;
}
