//! The enforcement feeds firewalls and IPS poll: the response actions in force, rendered by
//! `anomalyforge::response::feeds`.
//!
//! - `GET /api/v1/blocklist` — plain text, one address or network a line (`?kind=isolate` for the
//!   isolated hosts instead of the blocked addresses);
//! - `GET /api/v1/blocklist.nft` — an nftables file for `nft -f`;
//! - `GET /api/v1/blocklist.rules` — Suricata drop rules;
//! - `GET /api/v1/actions` — every action by state, as JSON (token scope `read`).
//!
//! Authenticated like the other integrator APIs: an API token in `Authorization: Bearer` with the
//! `blocklist` scope (a token that can read the feeds and nothing else), or the session of a SOC role.
//! Each answer carries `X-AnomalyForge-Entries` and `Cache-Control: no-store`: a lifted or expired
//! block leaves the feed at the next poll.

use anomalyforge::response::{feeds, ActionKind};
use app::error::AppError;
use app::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::authorized::{ApiCaller, Caller, ReadApi, ReadBlocklist};

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/api/v1/blocklist", get(plain))
        .route("/api/v1/blocklist.nft", get(nftables))
        .route("/api/v1/blocklist.rules", get(suricata))
        .route("/api/v1/actions", get(actions))
}

async fn entries(st: &AppState, who: &Caller) -> Result<(Vec<feeds::FeedEntry>, i64), AppError> {
    let now = anomalyforge::store::now_ms();
    let list =
        st.db.feed_entries(now).await.map_err(|e| AppError::unavailable_after("reading the response actions", e))?;
    tracing::debug!(caller = %who.name(), entries = list.len(), "response feed read");
    Ok((list, now))
}

fn text(body: String, content_type: &'static str, entries: usize) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-anomalyforge-entries", HeaderValue::from(entries));
    res
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlainParams {
    /// `block` (the default): blocked addresses and networks; `isolate`: isolated hosts.
    #[serde(default)]
    kind: Option<String>,
}

/// The blocked addresses and networks in force (or the isolated hosts), one a line.
#[utoipa::path(
    get, path = "/api/v1/blocklist", tag = "response",
    params(PlainParams),
    responses(
        (status = 200, description = "One address or network a line, overlaps collapsed, no comments", content_type = "text/plain", body = String),
        (status = 400, description = "`kind` is neither block nor isolate"),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `blocklist` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn plain(
    State(st): State<AppState>,
    who: ApiCaller<ReadBlocklist>,
    params: Result<Query<PlainParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let (list, _) = entries(&st, &who.caller).await?;
    let Query(params) = params.map_err(|e| AppError::parameter("query", e.body_text()))?;
    let kind = match params.kind.as_deref().map(str::trim) {
        None | Some("" | "block") => ActionKind::Block,
        Some("isolate") => ActionKind::Isolate,
        Some(other) => {
            return Err(AppError::parameter(
                "kind",
                format!("`{other}` is not a feed: block (the default) or isolate."),
            ))
        }
    };
    let body = feeds::plain(&list, kind);
    let n = body.lines().count();
    Ok(text(body, "text/plain; charset=utf-8", n))
}

/// An nftables file for `nft -f` that replaces the table `inet anomalyforge`.
#[utoipa::path(
    get, path = "/api/v1/blocklist.nft", tag = "response",
    responses(
        (status = 200, description = "Sets blocked_v4/v6 and isolated_v4/v6 and the chains that drop them", content_type = "text/plain", body = String),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `blocklist` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn nftables(State(st): State<AppState>, who: ApiCaller<ReadBlocklist>) -> Result<Response, AppError> {
    file(st, who.caller, feeds::nftables).await
}

/// Suricata drop rules, both directions, one `sid` per action and direction.
#[utoipa::path(
    get, path = "/api/v1/blocklist.rules", tag = "response",
    responses(
        (status = 200, description = "Drop rules; sid 9100000 + 2 × action number (+ 1 outbound)", content_type = "text/plain", body = String),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `blocklist` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn suricata(State(st): State<AppState>, who: ApiCaller<ReadBlocklist>) -> Result<Response, AppError> {
    file(st, who.caller, feeds::suricata).await
}

/// Response actions: what waits for approval, what is in force, what ended.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ActionsReply {
    /// Oldest first.
    pub pending: Vec<anomalyforge::response::ResponseAction>,
    /// Newest first.
    pub active: Vec<anomalyforge::response::ResponseAction>,
    /// Expired, lifted or rejected; the newest 100.
    pub ended: Vec<anomalyforge::response::ResponseAction>,
}

/// Every response action by state (a token with the `read` scope, or a SOC session).
#[utoipa::path(
    get, path = "/api/v1/actions", tag = "response",
    responses(
        (status = 200, description = "The actions", body = ActionsReply),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `read` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn actions(
    State(st): State<AppState>,
    _who: ApiCaller<ReadApi>,
) -> Result<axum::Json<ActionsReply>, AppError> {
    let (pending, active, ended) = st
        .db
        .response_actions(anomalyforge::store::now_ms())
        .await
        .map_err(|e| AppError::unavailable_after("reading the response actions", e))?;
    Ok(axum::Json(ActionsReply { pending, active, ended }))
}

/// A whole feed file rendered by `render`.
async fn file(
    st: AppState,
    who: Caller,
    render: fn(&[feeds::FeedEntry], &str) -> String,
) -> Result<Response, AppError> {
    let (list, now) = entries(&st, &who).await?;
    let n = list.len();
    Ok(text(render(&list, &anomalyforge::time::iso_utc(now)), "text/plain; charset=utf-8", n))
}
