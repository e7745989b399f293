//! `GET /exec/export.csv?range=7d`: the KPI report of a range as CSV (see `anomalyforge::kpi::export`
//! for the columns), for executives and admins. The session middleware already refuses other roles
//! (the path is under `/exec`); the role is checked here again so the handler is safe wherever it is
//! mounted. A missing range means the page's default; a wrong one is a 400 that names it.

use crate::authorized::{Authorized, ExportKpis};
use anomalyforge::kpi::{export, KpiRange};
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    range: Option<String>,
}

/// The KPI report of a range as CSV: one figure a row, both periods.
#[utoipa::path(
    get, path = "/exec/export.csv", tag = "exports",
    params(("range" = Option<String>, Query, description = "24h, 7d (default) or 30d")),
    responses(
        (status = 200, description = "metric, period, from, to, category, label, value", content_type = "text/csv", body = String),
        (status = 401, description = "No session"), (status = 403, description = "Not an executive or admin"),
        (status = 422, description = "`range` is not 24h, 7d or 30d: `{\"error\":\"invalid\",\"field\":\"range\",\"message\"}`"),
        (status = 503, description = "The database cannot be read; JSON error, retry later"),
    ),
    security(("session" = []))
)]
pub async fn kpi_csv(
    State(st): State<AppState>,
    _who: Authorized<ExportKpis>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let range = match q.range.as_deref().map(KpiRange::parse).transpose() {
        Ok(r) => r.unwrap_or(KpiRange::DEFAULT),
        Err(e) => return Err(e.into()),
    };
    match st.db.kpi_report(range, anomalyforge::store::now_ms()).await {
        Ok(report) => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", export::file_name(&report))),
            ],
            export::to_csv(&report),
        )
            .into_response()),
        Err(e) => {
            tracing::error!(error = %e, range = range.as_str(), "exporting the KPIs failed");
            Err(AppError::Unavailable("The KPIs cannot be read right now; try again.".into()))
        }
    }
}
