//! The threat-intel API for integrators: `POST /api/v1/intel/{source}` imports a document into a
//! source, `GET /api/v1/ioc?value=` checks one value. Authenticated like `/api/v1/alerts`: an API
//! token in `Authorization: Bearer` (scope `intel` to import, `read` to check), or the session of a
//! SOC role (analyst, responder, admin). Errors are `AppError`s, and a bad parameter is a 400
//! `invalid_parameter` naming it.

use anomalyforge::intel::import::{import, ImportRequest, IntelError};
use anomalyforge::intel::IntelFormat;
use app::error::AppError;
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::authorized::{ApiCaller, ImportIntel, ReadApi};

/// The intel routes, with the ingest body limit (feeds are larger than a page's form).
pub fn routes(body_limit: usize) -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/intel/{source}", post(import_intel))
        .route("/api/v1/ioc", get(ioc))
        .layer(DefaultBodyLimit::max(body_limit))
}

fn bad(param: &str, message: impl Into<String>) -> AppError {
    AppError::parameter(param, message)
}

fn store_failed(e: impl std::fmt::Display) -> AppError {
    AppError::unavailable_after("threat intel storage", e)
}

/// `POST /api/v1/intel/{source}?format=&confidence=&expiry_days=&description=`: the body is a plain
/// list, a CSV, a STIX 2.1 bundle or a MISP event, told by `format` (plain, csv, stix, misp), else
/// by `Content-Type`, else by its content. A source that does not exist is created (confidence 50,
/// expiry 30 days unless given; `expiry_days=never` keeps indicators until removed). The reply:
/// `imported`, `updated`, `rejected` (each with `at` — a line or object id — `value` and `reason`),
/// `ignored`, and `retro` (the retro-hunt over the stored flows: `indicators`, `flows`, `alerts`).
#[utoipa::path(
    post, path = "/api/v1/intel/{source}", tag = "intel",
    params(
        ("source" = String, Path, description = "The source's name: `[a-z0-9][a-z0-9._-]*`; created if new"),
        ("format" = Option<String>, Query, description = "plain, csv, stix or misp; else by Content-Type, else by content"),
        ("confidence" = Option<i64>, Query, description = "0–100 (a new source: 50)"),
        ("expiry_days" = Option<String>, Query, description = "1–3660 or never (a new source: 30)"),
        ("description" = Option<String>, Query, description = "The source's description"),
    ),
    request_body(content = String, description = "A plain list, CSV, STIX 2.1 bundle or MISP event", content_type = "text/plain"),
    responses(
        (status = 200, description = "`{source, format, imported, updated, rejected:[{at, value, reason}], ignored, retro}`", body = serde_json::Value),
        (status = 400, description = "A parameter or the document is not valid; `param` names it"),
        (status = 401, description = "No token or session"), (status = 403, description = "The token lacks the `intel` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn import_intel(
    State(st): State<AppState>,
    who: ApiCaller<ImportIntel>,
    headers: HeaderMap,
    Path(source): Path<String>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Response, AppError> {
    let actor = who.caller.name();
    let Query(params) = params.map_err(|e| bad("query", e.body_text()))?;
    let mut req = ImportRequest { source, ..ImportRequest::default() };
    for (k, v) in params {
        let v = v.trim().to_string();
        match k.as_str() {
            "format" => {
                req.format = Some(
                    IntelFormat::from_name(&v)
                        .ok_or_else(|| bad("format", format!("`{v}` is not one of plain, csv, stix, misp")))?,
                )
            }
            "confidence" => {
                req.confidence = Some(
                    v.parse::<u8>()
                        .ok()
                        .filter(|c| *c <= 100)
                        .ok_or_else(|| bad("confidence", format!("`{v}` is not a confidence from 0 to 100")))?,
                )
            }
            "expiry_days" => {
                req.expiry_days = Some(match v.as_str() {
                    "never" | "" => None,
                    d => Some(d.parse::<u32>().ok().filter(|d| (1..=3660).contains(d)).ok_or_else(|| {
                        bad("expiry_days", format!("`{d}` is not a number of days from 1 to 3660, or `never`"))
                    })?),
                })
            }
            "description" => req.description = Some(v.chars().take(500).collect()),
            other => {
                return Err(bad(
                    other,
                    format!("unknown parameter `{other}`: use format, confidence, expiry_days or description"),
                ))
            }
        }
    }
    req.content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    req.text = String::from_utf8(body.to_vec()).map_err(|e| {
        bad("body", format!("the document is not UTF-8 text (byte {} is not)", e.utf8_error().valid_up_to()))
    })?;
    if req.text.trim().is_empty() {
        return Err(bad("body", "the document is empty"));
    }
    match import(&st.db, &st.intel_context(), req, &actor).await {
        Ok(report) => Ok(Json(report).into_response()),
        Err(IntelError::Invalid(m)) => Err(bad("source", m)),
        Err(IntelError::Store(anomalyforge::store::StoreError::Invalid(m))) => Err(bad("source", m)),
        Err(IntelError::Store(e)) => Err(store_failed(e)),
    }
}

/// `GET /api/v1/ioc?value=`: everything known about one address, network, domain, URL or file hash
/// (intel entries, alerts, stored flows, employee reports, the asset record, the country).
#[utoipa::path(
    get, path = "/api/v1/ioc", tag = "intel",
    params(("value" = String, Query, description = "An address, network, domain, URL or file hash")),
    responses(
        (status = 200, description = "`{value, kind, intel, alerts, alerts_total, flows, reports, asset, country}`", body = serde_json::Value),
        (status = 400, description = "The value is none of these"),
        (status = 401, description = "No token or session"), (status = 403, description = "The token lacks the `read` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn ioc(
    State(st): State<AppState>,
    _who: ApiCaller<ReadApi>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = params.map_err(|e| bad("query", e.body_text()))?;
    let mut value = None;
    for (k, v) in params {
        match k.as_str() {
            "value" => value = Some(v),
            other => return Err(bad(other, format!("unknown parameter `{other}`: use value"))),
        }
    }
    let value = value.ok_or_else(|| bad("value", "give the value to check: `?value=203.0.113.7`"))?;
    let now = anomalyforge::store::now_ms();
    match anomalyforge::intel::ioc::check(&st.db, st.enricher.as_deref(), &value, now).await {
        Ok(found) => Ok(Json(found).into_response()),
        Err(IntelError::Invalid(m)) => Err(bad("value", m)),
        Err(IntelError::Store(e)) => Err(store_failed(e)),
    }
}
