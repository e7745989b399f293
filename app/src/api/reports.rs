//! Employee reports of a suspicious IP address or domain (`/report`). Any signed-in person may file
//! one and read their own; nobody reads other people's reports here (the SOC's view is part of the
//! console). Filing is limited per person per hour.

use crate::error::AppError;
use anomalyforge::report::{EmployeeReport, ReportCategory};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Files a report. `category` is one of [`ReportCategory::ALL`]'s names.
#[server(endpoint = "reports/submit")]
pub async fn submit_report(indicator: String, category: String, description: String) -> Result<EmployeeReport, AppError> {
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
