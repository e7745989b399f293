//! `/api/v1/tokens`: API tokens managed by machines (provisioning a new sensor's `ingest` token, say),
//! with a bearer token that has the `admin` scope. People manage tokens on `/admin`.
//!
//! - `GET /api/v1/tokens`: every token, newest first (never their values);
//! - `POST /api/v1/tokens` `{"name", "scopes": ["ingest"], "expires_in_days"?}`: 201 with the new
//!   token and its value (`secret`), shown this once;
//! - `DELETE /api/v1/tokens/{id}`: revokes it.
//!
//! Every change is in the audit trail under `token:<name>` of the token that made it.

use anomalyforge::api_token::{ApiToken, CreatedApiToken};
use anomalyforge::auth::{self, AuthError, TokenRequest};
use anomalyforge::store::StoreError;
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::authorized::{ApiCaller, ManageTokens};

/// The body of `POST /api/v1/tokens`; unknown keys are refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

fn refused(e: AuthError) -> AppError {
    match e {
        AuthError::Invalid(f) => AppError::parameter(f.field, f.message),
        AuthError::Store(StoreError::NotFound(what)) => AppError::NotFound(format!("{what} does not exist")),
        e => AppError::unavailable_after("the token API", e),
    }
}

/// Every API token, newest first, never their values.
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens",
    responses(
        (status = 200, description = "The tokens", body = Vec<ApiToken>),
        (status = 401, description = "No valid token"), (status = 403, description = "The token lacks the `admin` scope"),
    ),
    security(("token" = []))
)]
pub async fn list(State(st): State<AppState>, _who: ApiCaller<ManageTokens>) -> Result<Json<Vec<ApiToken>>, AppError> {
    st.db.list_api_tokens().await.map(Json).map_err(|e| refused(e.into()))
}

/// Creates a token; its value (`secret`) is in this reply only.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens",
    request_body = NewToken,
    responses(
        (status = 201, description = "The token and its value", body = CreatedApiToken),
        (status = 400, description = "A field is not valid; `param` names it"),
        (status = 401, description = "No valid token"), (status = 403, description = "The token lacks the `admin` scope"),
    ),
    security(("token" = []))
)]
pub async fn create(
    State(st): State<AppState>,
    who: ApiCaller<ManageTokens>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let actor = who.caller.name();
    let Json(new) = body.map_err(|e| AppError::parameter("body", e.body_text()))?;
    let scopes = new.scopes.join(",");
    let req = TokenRequest { name: &new.name, scopes: &scopes, expires_in_days: new.expires_in_days };
    let created: CreatedApiToken = auth::create_api_token(&st.db, req, &actor).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Revokes a token: it authenticates nothing from now on.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's number")),
    responses(
        (status = 200, description = "The revoked token", body = ApiToken),
        (status = 401, description = "No valid token"), (status = 403, description = "The token lacks the `admin` scope"),
        (status = 404, description = "No such token"),
    ),
    security(("token" = []))
)]
pub async fn revoke(
    State(st): State<AppState>,
    who: ApiCaller<ManageTokens>,
    Path(id): Path<i64>,
) -> Result<Json<ApiToken>, AppError> {
    auth::revoke_api_token(&st.db, id, &who.caller.name()).await.map(Json).map_err(refused)
}

/// The routes, token-authenticated (no session, no CSRF check: merged beside the ingest API).
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{delete, get};
    axum::Router::new().route("/api/v1/tokens", get(list).post(create)).route("/api/v1/tokens/{id}", delete(revoke))
}
