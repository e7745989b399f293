//! How far each source's traffic is from what the models learned (`/models` and the console's
//! warning). The SOC roles read it.

use crate::error::AppError;
use anomalyforge::drift::DriftReport;
use leptos::prelude::*;

/// Every source's drift against the active model version, token names filled in; empty when ingest
/// is off.
#[server(endpoint = "drift/report", output = crate::json::Reply)]
pub async fn load_drift() -> Result<DriftReport, AppError> {
    let (st, _) = super::ssr::authorize(anomalyforge::role::Access::SOC).await?;
    let Some(pipeline) = &st.pipeline else { return Ok(DriftReport::default()) };
    let mut report = pipeline.drift();
    if report.sources.iter().any(|s| s.token_id.is_some()) {
        let tokens = st.db.list_api_tokens().await?;
        for s in &mut report.sources {
            s.token_name = s.token_id.and_then(|id| tokens.iter().find(|t| t.id == id).map(|t| t.name.clone()));
        }
    }
    Ok(report)
}
