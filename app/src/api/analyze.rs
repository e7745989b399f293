//! File analysis (`/analyze`): the list, a report, "import as alerts" and delete. The upload and the
//! downloads are plain HTTP routes (`server/src/analyze_api.rs`): they stream.

use crate::error::AppError;
use anomalyforge::analysis::{AnalysisReport, AnalysisSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// The user's analyses and the limits an upload meets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisList {
    pub analyses: Vec<AnalysisSummary>,
    pub max_upload_bytes: u64,
    pub max_per_user: usize,
    pub retention_days: u32,
    /// Whether this user sees everyone's analyses (an admin).
    pub everyone: bool,
}

#[cfg(feature = "ssr")]
fn service(st: &crate::state::AppState) -> Result<anomalyforge::analysis::service::Analyses, AppError> {
    st.analyses.clone().ok_or_else(|| {
        AppError::Conflict("File analysis is off on this server (it needs ingest and `[analysis] enabled`).".into())
    })
}

/// The analyses the user may open (their own; an admin's: everyone's), newest first.
#[server(endpoint = "analyze/list", output = crate::json::Reply)]
pub async fn list_analyses() -> Result<AnalysisList, AppError> {
    let (st, user) = authorize(Access::SOC).await?;
    let svc = service(&st)?;
    let c = svc.config();
    Ok(AnalysisList {
        analyses: svc.list(&user).await?,
        max_upload_bytes: c.max_upload_bytes,
        max_per_user: c.max_per_user,
        retention_days: c.retention_days,
        everyone: user.role == anomalyforge::role::Role::Admin,
    })
}

/// One analysis and its report.
#[server(endpoint = "analyze/report", output = crate::json::Reply)]
pub async fn open_analysis(id: i64) -> Result<(AnalysisSummary, AnalysisReport), AppError> {
    let (st, user) = authorize(Access::SOC).await?;
    Ok(service(&st)?.report(&user, id).await?)
}

/// Runs the analysed file through the pipeline in the background; its alerts carry the file name.
#[server(endpoint = "analyze/import", output = crate::json::Reply)]
pub async fn import_analysis(id: i64) -> Result<(), AppError> {
    let (st, user) = authorize(Access::SOC).await?;
    Ok(service(&st)?.import(&user, id).await?)
}

/// Deletes an analysis and its files.
#[server(endpoint = "analyze/delete", output = crate::json::Reply)]
pub async fn delete_analysis(id: i64) -> Result<(), AppError> {
    let (st, user) = authorize(Access::SOC).await?;
    Ok(service(&st)?.delete(&user, id).await?)
}
