//! File downloads for signed-in people: `GET /assets/export.csv`, the whole inventory as CSV, and
//! `GET /hunt/export.csv`, the flows of a hunt.
//! The session middleware has already refused other roles (the path is under `/assets`); the
//! role is checked here again ([`Authorized`]) so the handler is safe wherever it is mounted.

use crate::authorized::{Authorized, ExportAssets, ExportFlows};
use app::error::AppError;
use app::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Assets read per query while exporting.
const PAGE: i64 = 1000;

/// The asset inventory as CSV (formula-safe).
#[utoipa::path(
    get, path = "/assets/export.csv", tag = "exports",
    responses(
        (status = 200, description = "One asset a row", content_type = "text/csv", body = String),
        (status = 401, description = "No session"), (status = 403, description = "Not an analyst or admin"),
    ),
    security(("session" = []))
)]
pub async fn assets_csv(State(st): State<AppState>, _who: Authorized<ExportAssets>) -> Result<Response, AppError> {
    let mut assets = Vec::new();
    loop {
        match st.db.list_assets(false, PAGE, assets.len() as i64).await {
            Ok(page) => {
                let done = (page.len() as i64) < PAGE;
                assets.extend(page);
                if done {
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "exporting the inventory failed");
                return Err(AppError::Unavailable("The inventory cannot be read right now; try again.".into()));
            }
        }
    }
    let day = anomalyforge::store::now_ms().div_euclid(86_400_000);
    let (y, m, d) = anomalyforge::time::civil_from_days(day);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"assets-{y:04}-{m:02}-{d:02}.csv\"")),
        ],
        anomalyforge::asset_csv::to_csv(&assets),
    )
        .into_response())
}

/// Flows `GET /hunt/export.csv` writes at most.
const HUNT_EXPORT_MAX: usize = 100_000;

/// `GET /hunt/export.csv?q=&sort=`: the flows of a hunt as CSV (formula-safe), at most
/// [`HUNT_EXPORT_MAX`] of them, in the page's order; with `of=alerts`, its alerts (newest first).
#[utoipa::path(
    get, path = "/hunt/export.csv", tag = "exports",
    params(
        ("q" = Option<String>, Query, description = "The hunt filter, as on /hunt"),
        ("sort" = Option<String>, Query, description = "newest, oldest, risk or bytes"),
        ("of" = Option<String>, Query, description = "`alerts` for the hunt's alerts instead of its flows"),
    ),
    responses(
        (status = 200, description = "At most 100,000 flows (or the alerts), formula-safe", content_type = "text/csv", body = String),
        (status = 422, description = "The filter is not valid: `{\"error\":\"invalid\",\"field\",\"message\"}`"),
        (status = 401, description = "No session"), (status = 403, description = "Not a SOC role"),
    ),
    security(("session" = []))
)]
pub async fn hunt_csv(
    State(st): State<AppState>,
    _who: Authorized<ExportFlows>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    use anomalyforge::flow_history::{to_csv, FlowCursor, FlowSort};
    use anomalyforge::hunt::search::{search_flows, HuntError};
    use anomalyforge::hunt::HuntQuery;
    let text = params.get("q").map(String::as_str).unwrap_or_default();
    let query = match HuntQuery::parse(text) {
        Ok(q) => q,
        Err(e) => return Err(AppError::Invalid { field: "q".into(), message: e.to_string() }),
    };
    let csv = |body: String, name: &str| {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            body,
        )
            .into_response()
    };
    match params.get("of").map(String::as_str).unwrap_or("flows") {
        "flows" => {}
        "alerts" => {
            let now = anomalyforge::store::now_ms();
            let limit = anomalyforge::hunt::alerts::ALERT_SCAN as usize;
            return match anomalyforge::hunt::alerts::search_alerts(&st.db, &query, now, limit).await {
                Ok(found) => Ok(csv(anomalyforge::hunt::alerts_to_csv(&found.alerts), "hunt-alerts.csv")),
                Err(HuntError::Invalid(message)) => Err(AppError::Invalid { field: "q".into(), message }),
                Err(HuntError::Store(e)) => {
                    tracing::error!(error = %e, "exporting alerts failed");
                    Err(AppError::Unavailable("The alerts cannot be read right now; try again.".into()))
                }
            };
        }
        other => {
            return Err(AppError::Invalid { field: "of".into(), message: format!("`{other}` is not flows or alerts") })
        }
    }
    if !st.config.flow_history() {
        return Err(AppError::NotFound("The flow history is off on this server (AF_FLOWS__ENABLED).".into()));
    }
    let sort = match params.get("sort").map(String::as_str).unwrap_or_default() {
        "" => FlowSort::Newest,
        s => match FlowSort::parse(s) {
            Some(s) => s,
            None => return Err(AppError::Invalid { field: "sort".into(), message: format!("`{s}` is not an order") }),
        },
    };
    let now = anomalyforge::store::now_ms();
    let mut flows = Vec::new();
    let mut cursor: Option<FlowCursor> = None;
    while flows.len() < HUNT_EXPORT_MAX {
        match search_flows(&st.db, &query, sort, cursor, 1_000, now).await {
            Ok(page) => {
                flows.extend(page.flows);
                match page.next.as_deref().and_then(FlowCursor::decode) {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            Err(HuntError::Invalid(message)) => return Err(AppError::Invalid { field: "q".into(), message }),
            Err(HuntError::Store(e)) => {
                tracing::error!(error = %e, "exporting flows failed");
                return Err(AppError::Unavailable("The flows cannot be read right now; try again.".into()));
            }
        }
    }
    flows.truncate(HUNT_EXPORT_MAX);
    Ok(csv(to_csv(&flows), "hunt.csv"))
}
