//! File downloads for signed-in people: `GET /assets/export.csv`, the whole inventory as CSV, and
//! `GET /hunt/export.csv`, the flows of a hunt.
//! The session middleware has already refused other roles (the path is under `/assets`); the
//! role is checked here again ([`Authorized`]) so the handler is safe wherever it is mounted.

use crate::authorized::{Authorized, ExportAssets, ExportFlows};
use app::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
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
pub async fn assets_csv(State(st): State<AppState>, _who: Authorized<ExportAssets>) -> Response {
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
                return (StatusCode::SERVICE_UNAVAILABLE, "The inventory cannot be read right now; try again.")
                    .into_response();
            }
        }
    }
    let day = anomalyforge::store::now_ms().div_euclid(86_400_000);
    let (y, m, d) = anomalyforge::time::civil_from_days(day);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"assets-{y:04}-{m:02}-{d:02}.csv\"")),
        ],
        anomalyforge::asset_csv::to_csv(&assets),
    )
        .into_response()
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
        (status = 400, description = "The filter is not valid"),
        (status = 401, description = "No session"), (status = 403, description = "Not a SOC role"),
    ),
    security(("session" = []))
)]
pub async fn hunt_csv(
    State(st): State<AppState>,
    _who: Authorized<ExportFlows>,
    axum::extract::Query(params): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    use anomalyforge::flow_history::{to_csv, FlowCursor, FlowSort};
    use anomalyforge::hunt::search::{search_flows, HuntError};
    use anomalyforge::hunt::HuntQuery;
    let text = params.get("q").map(String::as_str).unwrap_or_default();
    let query = match HuntQuery::parse(text) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("q: {e}")).into_response(),
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
                Ok(found) => csv(anomalyforge::hunt::alerts_to_csv(&found.alerts), "hunt-alerts.csv"),
                Err(HuntError::Invalid(m)) => (StatusCode::BAD_REQUEST, m).into_response(),
                Err(HuntError::Store(e)) => {
                    tracing::error!(error = %e, "exporting alerts failed");
                    (StatusCode::SERVICE_UNAVAILABLE, "The alerts cannot be read right now; try again.").into_response()
                }
            };
        }
        other => return (StatusCode::BAD_REQUEST, format!("of: `{other}` is not flows or alerts")).into_response(),
    }
    if !st.config.flow_history() {
        return (StatusCode::NOT_FOUND, "The flow history is off on this server (AF_FLOWS__ENABLED).").into_response();
    }
    let sort = match params.get("sort").map(String::as_str).unwrap_or_default() {
        "" => FlowSort::Newest,
        s => match FlowSort::parse(s) {
            Some(s) => s,
            None => return (StatusCode::BAD_REQUEST, format!("sort: `{s}` is not an order")).into_response(),
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
            Err(HuntError::Invalid(m)) => return (StatusCode::BAD_REQUEST, m).into_response(),
            Err(HuntError::Store(e)) => {
                tracing::error!(error = %e, "exporting flows failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "The flows cannot be read right now; try again.")
                    .into_response();
            }
        }
    }
    flows.truncate(HUNT_EXPORT_MAX);
    csv(to_csv(&flows), "hunt.csv")
}
