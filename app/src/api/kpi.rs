//! The executive KPI dashboard (`/exec`, executives and admins): one server function answers a whole
//! range, so the page makes one round trip per range.

use crate::error::AppError;
use anomalyforge::kpi::KpiReport;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Every figure and series of `range` (`24h`, `7d` or `30d`) with the previous period's; 422 naming
/// the field `range` for anything else.
#[server(endpoint = "kpi/report", output = crate::json::Reply)]
pub async fn get_kpis(range: String) -> Result<KpiReport, AppError> {
    let (st, me) = authorize(Access::EXEC).await?;
    let range = anomalyforge::kpi::KpiRange::parse(&range)?;
    let started = std::time::Instant::now();
    let report = st.db.kpi_report(range, anomalyforge::store::now_ms()).await?;
    tracing::debug!(actor = %me.username, range = range.as_str(), elapsed_ms = started.elapsed().as_millis() as u64, "KPI report");
    Ok(report)
}
