//! Incidents for integrators (ticketing, SOAR, reporting): `GET /api/v1/incidents` lists them with
//! the same filters as `/soc/incidents`, `GET /api/v1/incidents/{id}` returns one with its alerts,
//! timeline and response actions. Authenticated like `/api/v1/alerts`: an API token with the `read`
//! scope, or the session of a SOC role. Changing incidents stays with people, on `/soc/incidents`.

use anomalyforge::alert::Alert;
use anomalyforge::incident::{Incident, IncidentEvent, IncidentQuery, PER_PAGE};
use anomalyforge::response::ResponseAction;
use anomalyforge::store::StoreError;
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::authorized::{ApiCaller, ReadApi};

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new().route("/api/v1/incidents", get(list)).route("/api/v1/incidents/{id}", get(detail))
}

/// The filters of `GET /api/v1/incidents`; unknown parameters are refused.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentParams {
    /// `active` (open or contained, the default), `all`, `open`, `contained`, `resolved` or
    /// `false_positive`.
    pub status: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// The owner's username.
    pub owner: String,
    /// Part of the title, or `#id`.
    pub q: String,
    /// 1-based; 50 incidents a page.
    pub page: String,
}

/// One page of incidents, highest severity first, then the most recently changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentList {
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub incidents: Vec<Incident>,
}

/// One incident with everything about it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentRecord {
    pub incident: Incident,
    /// The newest 500, newest first.
    pub alerts: Vec<Alert>,
    /// Oldest first.
    pub timeline: Vec<IncidentEvent>,
    /// Oldest first.
    pub actions: Vec<ResponseAction>,
}

fn failed(e: StoreError) -> AppError {
    match e {
        StoreError::NotFound(what) => AppError::NotFound(format!("{what} does not exist")),
        e => AppError::unavailable_after("reading incidents", e),
    }
}

/// List incidents.
#[utoipa::path(
    get, path = "/api/v1/incidents", tag = "incidents",
    params(IncidentParams),
    responses(
        (status = 200, description = "One page of incidents", body = IncidentList),
        (status = 400, description = "A parameter is not valid; `param` names it"),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `read` scope, or the role may not see incidents"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn list(
    State(st): State<AppState>,
    _who: ApiCaller<ReadApi>,
    params: Result<Query<IncidentParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IncidentList>, AppError> {
    let Query(p) = params.map_err(|e| AppError::parameter("query", e.body_text()))?;
    let query = IncidentQuery {
        status: p.status,
        severity: p.severity,
        owner: p.owner,
        q: p.q,
        page: p.page,
        incident: String::new(),
    };
    let filter = query.validate().map_err(|f| AppError::parameter(f.field, f.message))?;
    let page = st.db.incidents(&filter).await.map_err(failed)?;
    Ok(Json(IncidentList { total: page.total, page: filter.page, per_page: PER_PAGE, incidents: page.rows }))
}

/// One incident: its alerts, timeline and response actions.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, description = "The incident", body = IncidentRecord),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `read` scope, or the role may not see incidents"),
        (status = 404, description = "No such incident"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn detail(
    State(st): State<AppState>,
    _who: ApiCaller<ReadApi>,
    Path(id): Path<i64>,
) -> Result<Json<IncidentRecord>, AppError> {
    let d = st.db.incident_detail(id).await.map_err(failed)?;
    Ok(Json(IncidentRecord {
        incident: d.incident,
        alerts: d.alerts,
        timeline: d.timeline,
        actions: d.response.actions,
    }))
}
