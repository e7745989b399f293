//! `GET /healthz`: `{"status","database","backend","version","instance","leader","model","bus"}`; 503 when
//! the database does not answer. `leader`: whether this instance runs the background jobs (one per cluster,
//! `anomalyforge::cluster`). `model`: the cluster's active model version as this instance last saw it, and the
//! one its pipeline scores with (`null` with ingest off), so an operator sees every instance follow a switch.

use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// Liveness and database reachability (no authentication).
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, description = "`{\"status\":\"ok\",\"database\":\"reachable\",\"backend\",\"version\"}`", body = serde_json::Value),
        (status = 503, description = "The database does not answer", body = serde_json::Value),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = format!("{:?}", state.db.backend()).to_lowercase();
    // The ingest bus, when there is one: its backlog, or why it cannot be read. An unreachable bus
    // stops ingest, not the pages, so it does not make the instance unhealthy.
    let bus = match &state.bus {
        None => Value::Null,
        Some(bus) => match bus.status().await {
            Ok(s) => json!(s),
            Err(e) => json!({ "error": e.to_string() }),
        },
    };
    match state.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                json!({ "status": "ok", "database": "reachable", "backend": backend, "version": anomalyforge::VERSION,
                    "instance": state.cluster.instance, "leader": state.cluster.is_leader(),
                    "model": { "active": state.models.active(), "running": state.models.running() }, "bus": bus }),
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "status": "unavailable", "database": "unreachable", "backend": backend, "version": anomalyforge::VERSION }),
                ),
            )
        }
    }
}
