//! Employee reports of a suspicious IP address or domain. On `/report` any signed-in person files
//! one and reads their own (nobody reads other people's reports there); filing is limited per person
//! per hour. On `/soc/reports` the SOC roles read the queue of reported indicators and decide about
//! each (the status every report of it shares, with a note its reporters read on `/report`).

use crate::error::AppError;
use anomalyforge::report::{EmployeeReport, ReportCategory, ReportQueue, StatusChange, StatusCounts};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Files a report. `category` is one of [`ReportCategory::ALL`]'s names.
#[server(endpoint = "reports/submit", output = crate::json::Reply)]
pub async fn submit_report(
    indicator: String,
    category: String,
    description: String,
) -> Result<EmployeeReport, AppError> {
    let (st, me) = authorize(Access::SIGNED_IN).await?;
    Ok(anomalyforge::commands::reports::file(st.command(&me), &indicator, &category, &description).await?)
}

/// The signed-in person's own reports, newest first.
#[server(endpoint = "reports/mine", output = crate::json::Reply)]
pub async fn my_reports() -> Result<Vec<EmployeeReport>, AppError> {
    let (st, me) = authorize(Access::SIGNED_IN).await?;
    Ok(st.db.reports_by(me.id, 100, 0).await?)
}

/// The categories offered on the form, with their plain-language titles.
pub fn categories() -> Vec<(&'static str, &'static str)> {
    ReportCategory::ALL.iter().map(|c| (c.as_str(), c.title())).collect()
}

/// One page (from 1) of the SOC's queue of reported indicators. `status`: `open` (or empty: new and
/// investigating), `all`, or one status.
#[server(endpoint = "reports/queue", output = crate::json::Reply)]
pub async fn queued_reports(status: String, page: u32) -> Result<ReportQueue, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let filter = anomalyforge::report::QueueFilter::parse(&status)?;
    Ok(st.db.report_queue(filter, page).await?)
}

/// Reported indicators per status (the SOC console's "Employee reports (N new)").
#[server(endpoint = "reports/counts", output = crate::json::Reply)]
pub async fn report_counts() -> Result<StatusCounts, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    Ok(st.db.report_status_counts().await?)
}

/// The SOC's decision about a reported indicator, applied to every report of it: moves it from
/// `from` (the status the analyst saw) to `status`, with an optional `note` its reporters read on
/// `/report`. Audited; the enricher reloads, so a confirmed address counts as intel from the next
/// batch.
#[server(endpoint = "reports/set_status", output = crate::json::Reply)]
pub async fn set_indicator_status(
    indicator: String,
    from: String,
    status: String,
    note: String,
) -> Result<StatusChange, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(anomalyforge::commands::reports::set_status(st.command(&me), &indicator, &from, &status, &note).await?)
}
