//! The SOC console (`/soc`, analysts, responders, admins): the alert queue, the maps and header
//! figures, an alert's detail, and ticking off the steps of its playbook.

use crate::error::AppError;
use anomalyforge::console::{AlertDetail, ConsoleOverview, QueuePage, QueueQuery};
use anomalyforge::traffic::TrafficAnalytics;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// One page of the queue for the filters of `query` (the console's URL parameters). A bad parameter
/// is a 422 naming it.
#[server(endpoint = "soc/queue", output = crate::json::Reply)]
pub async fn soc_queue(query: QueueQuery) -> Result<QueuePage, AppError> {
    use anomalyforge::console::QUEUE_PAGE_SIZE;
    let (st, _) = authorize(Access::SOC).await?;
    let now = anomalyforge::store::now_ms();
    let filter = query.validate(now)?;
    let (rows, total, groups) = st.db.console_queue(&filter).await?;
    Ok(QueuePage { filter, rows, total, per_page: QUEUE_PAGE_SIZE, groups, now })
}

/// The maps and header figures for the time range of `query`.
#[server(endpoint = "soc/overview", output = crate::json::Reply)]
pub async fn soc_overview(query: QueueQuery) -> Result<ConsoleOverview, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let now = anomalyforge::store::now_ms();
    let filter = query.validate(now)?;
    Ok(st.db.console_overview(filter.from, filter.to.unwrap_or(now)).await?)
}

/// The traffic analytics (rates, protocol and service mix, top talkers) for the time range of
/// `query`.
#[server(endpoint = "soc/traffic", output = crate::json::Reply)]
pub async fn soc_traffic(query: QueueQuery) -> Result<TrafficAnalytics, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let now = anomalyforge::store::now_ms();
    let filter = query.validate(now)?;
    Ok(st.db.traffic_analytics(filter.from, filter.to.unwrap_or(now)).await?)
}

/// Everything the detail of alert `id` shows.
#[server(endpoint = "soc/alert", output = crate::json::Reply)]
pub async fn soc_alert(id: i64) -> Result<AlertDetail, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(st.db.alert_detail(id, me.role, &st.config.response).await?)
}

/// Ticks playbook step `step` (from 1) of the alert's playbook off (`done`) or back on. Written to
/// the alert's history; returns which steps are done now.
#[server(endpoint = "alerts/step", output = crate::json::Reply)]
pub async fn tick_step(alert_id: i64, step: u32, done: bool) -> Result<Vec<bool>, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(anomalyforge::commands::triage::tick_step(st.command(&me), alert_id, step, done).await?)
}
