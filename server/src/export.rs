//! File downloads for signed-in people: `GET /assets/export.csv`, the whole inventory as CSV.
//! The session middleware has already refused other roles (the path is under `/assets`); the
//! role is checked here again so the handler is safe wherever it is mounted.

use anomalyforge::role::Access;
use app::state::{AppState, RequestAuth};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

/// Assets read per query while exporting.
const PAGE: i64 = 1000;

pub async fn assets_csv(State(st): State<AppState>, Extension(auth): Extension<RequestAuth>) -> Response {
    match auth.user.as_ref() {
        None => return (StatusCode::UNAUTHORIZED, "Sign in to export the inventory.").into_response(),
        Some(u) if !Access::ASSETS.allows(u.role) => {
            return (StatusCode::FORBIDDEN, "Your role may not export the inventory.").into_response()
        }
        Some(_) => {}
    }
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
    let (y, m, d) = anomalyforge::calendar::civil_from_days(day);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"assets-{y:04}-{m:02}-{d:02}.csv\"")),
        ],
        anomalyforge::asset_csv::to_csv(&assets),
    )
        .into_response()
}
