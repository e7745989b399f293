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
#[server(endpoint = "reports/submit")]
pub async fn submit_report(
    indicator: String,
    category: String,
    description: String,
) -> Result<EmployeeReport, AppError> {
    use anomalyforge::report::{validate_report, REPORTS_PER_HOUR};
    use anomalyforge::store::reports::NewReport;
    let (st, me) = authorize(Access::SIGNED_IN).await?;
    let (indicator, kind, category, description) = validate_report(&indicator, &category, &description)?;
    let hour_ago = anomalyforge::store::now_ms() - 3_600_000;
    if st.db.count_reports_since(me.id, hour_ago).await? >= REPORTS_PER_HOUR {
        return Err(AppError::TooMany {
            message: format!(
                "You have sent {REPORTS_PER_HOUR} reports in the last hour. Thank you! Please wait a while before sending more."
            ),
            retry_after_secs: 600,
        });
    }
    let report = st.db.create_report(&NewReport { reporter_id: me.id, indicator, kind, category, description }).await?;
    if let Some(e) = &st.enricher {
        // New intel for scoring without waiting for the next reload.
        e.invalidate();
    }
    tracing::info!(user = %me.username, report_id = report.id, kind = kind.as_str(), category = category.as_str(), "employee report filed");
    Ok(report)
}

/// The signed-in person's own reports, newest first.
#[server(endpoint = "reports/mine")]
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
#[server(endpoint = "reports/queue")]
pub async fn queued_reports(status: String, page: u32) -> Result<ReportQueue, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let filter = anomalyforge::report::QueueFilter::parse(&status)?;
    Ok(st.db.report_queue(filter, page).await?)
}

/// Reported indicators per status (the SOC console's "Employee reports (N new)").
#[server(endpoint = "reports/counts")]
pub async fn report_counts() -> Result<StatusCounts, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    Ok(st.db.report_status_counts().await?)
}

/// The SOC's decision about a reported indicator, applied to every report of it: moves it from
/// `from` (the status the analyst saw) to `status`, with an optional `note` its reporters read on
/// `/report`. Audited; the enricher reloads, so a confirmed address counts as intel from the next
/// batch.
#[server(endpoint = "reports/set_status")]
pub async fn set_indicator_status(
    indicator: String,
    from: String,
    status: String,
    note: String,
) -> Result<StatusChange, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let (from, to, note) = anomalyforge::report::validate_status_change(&from, &status, &note)?;
    let indicator = indicator.trim();
    if indicator.is_empty() || indicator.len() > 300 {
        return Err(AppError::Invalid {
            field: "indicator".into(),
            message: "The reported address is missing; reload the page.".into(),
        });
    }
    let change = st.db.set_indicator_status(indicator, from, to, note.as_deref(), me.id).await?;
    if let Some(e) = &st.enricher {
        e.invalidate();
    }
    let detail = format!(
        "{} → {}; {} report(s); note: {}",
        from.as_str(),
        to.as_str(),
        change.reports,
        note.as_deref().unwrap_or("—")
    );
    st.db.audit(&me.username, "report.set_status", indicator, &detail).await?;
    tracing::info!(actor = %me.username, indicator, from = from.as_str(), to = to.as_str(), reports = change.reports, "report status changed");
    Ok(change)
}
