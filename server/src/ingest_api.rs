//! The batch ingest API for integrators: `POST /api/v1/ingest/{csv,flows,zeek,suricata}`.
//!
//! Authentication is an API token (`Authorization: Bearer <token>`, created with
//! `anomalyforge token create` or on /admin); there is no session and no cookie, so these routes sit
//! outside the session/CSRF middleware. Each request is checked in this order, and the first failure
//! answers with a JSON body `{"error": kind, "message": text}`:
//!
//! | check | status |
//! |---|---|
//! | missing, unknown or revoked token | 401 (`WWW-Authenticate: Bearer`) |
//! | `Content-Type` not accepted by the endpoint (or missing) | 415 |
//! | body larger than `ingest_max_body_bytes`, or more records than `ingest_limits.max_records` | 413 |
//! | no room for the body within `ingest_max_inflight_bytes` after `ingest_wait_ms` | 503 with `Retry-After` |
//! | CSV without a readable header | 400 |
//! | scoring queue still full after `ingest_wait_ms` | 503 with `Retry-After` |
//! | the batch could not be stored | 503 (nothing of it was stored: safe to retry) |
//!
//! Accepted content types (parameters such as `charset` are ignored):
//!
//! | endpoint | format | Content-Type |
//! |---|---|---|
//! | `csv` | CICFlowMeter CSV, 2017 "MachineLearningCVE" or corrected 2021 layout | `text/csv`, `text/plain`, `application/octet-stream` |
//! | `flows` | JSON array or NDJSON of flows (see `anomalyforge::ingest::flows_json`) | `application/json`, `application/x-ndjson` |
//! | `zeek` | conn.log, TSV with `#fields` header or JSON lines | `text/plain`, `text/tab-separated-values`, `application/x-ndjson`, `application/json`, `application/octet-stream` |
//! | `suricata` | EVE JSON lines (`flow` → flows, `alert` → signature alerts, others skipped) | `application/x-ndjson`, `application/json`, `text/plain`, `application/octet-stream` |
//!
//! The reply (200) is sent only after the batch's alerts and statistics are committed:
//! `{"accepted": n, "scored": n, "signatures": n, "alerts": n, "behaviour": n, "skipped": n, "rejected": [{"line": 3, "reason": "…"}]}`
//! where `accepted` = `scored` (flows, every one scored by the ensemble) + `signatures` (Suricata alert
//! events, stored as signature alerts), `alerts` = alerts stored (ML + signature), `skipped` = valid
//! records this endpoint does not use (Suricata `dns`, `http`, …).
//! Rejected records never cost the valid ones of the same batch.
//!
//! `Idempotency-Key: <1–128 of [A-Za-z0-9_:-]>` names a batch, per token: a retry with the same key
//! is stored once (without the bus a repeat answers 409 `already_stored`).
//!
//! With the ingest bus (`AF_BUS`, [`anomalyforge::bus`]) the reply is 202, sent once NATS JetStream
//! holds the batch durably: `{"batch_id", "accepted", "signatures", "skipped", "rejected", "parts"}`.
//! Any instance then scores and stores it; a full stream answers 503 with `Retry-After`.

use anomalyforge::api_token::TokenScope;
use anomalyforge::ingest::body::{self, BodyError, BodyFormat};
use anomalyforge::ingest::{IngestError, Rejected};
use anomalyforge::pipeline::{Batch, PipelineError, Source};

/// The ingest endpoints (a subset of the pipeline's sources: replay has no endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Csv,
    Flows,
    Zeek,
    Suricata,
}

impl Endpoint {
    pub fn source(self) -> Source {
        match self {
            Endpoint::Csv => Source::Csv,
            Endpoint::Flows => Source::Flows,
            Endpoint::Zeek => Source::Zeek,
            Endpoint::Suricata => Source::Suricata,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.source().as_str()
    }

    /// The body format it reads.
    pub fn format(self) -> BodyFormat {
        match self {
            Endpoint::Csv => BodyFormat::Csv,
            Endpoint::Flows => BodyFormat::Flows,
            Endpoint::Zeek => BodyFormat::Zeek,
            Endpoint::Suricata => BodyFormat::Suricata,
        }
    }
}
use app::error::AppError;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;

use crate::authorized::{bearer, missing_token, token_with};

/// The ingest routes, with their own body limit (checked in the handler) and no session middleware.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ingest/csv", post(ingest_csv))
        .route("/api/v1/ingest/flows", post(ingest_flows))
        .route("/api/v1/ingest/zeek", post(ingest_zeek))
        .route("/api/v1/ingest/suricata", post(ingest_suricata))
}

/// The answers every ingest endpoint shares, for the OpenAPI description.
macro_rules! ingest_endpoint {
    ($name:ident, $endpoint:expr, $path:literal, $content:literal, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(
            post, path = $path, tag = "ingest",
            request_body(content = String, content_type = $content, description = $what),
            params(("Idempotency-Key" = Option<String>, Header, description = "Names the batch (1–128 of letters, digits, `-`, `_`, `:`): a retry with the same key is stored once")),
            responses(
                (status = 200, description = "Scored and stored before the reply; bad records are named by line in `rejected`", body = IngestReply),
                (status = 202, description = "With the ingest bus (`AF_BUS`): held durably by NATS JetStream before the reply, scored and stored by any instance next", body = QueuedReply),
                (status = 400, description = "Unreadable body, or a malformed `Idempotency-Key`"),
                (status = 409, description = "A batch with this `Idempotency-Key` is already stored"),
                (status = 401, description = "No, or an invalid, token"),
                (status = 403, description = "The token lacks the `ingest` scope"),
                (status = 413, description = "The body is larger than the ingest limit"),
                (status = 415, description = "The Content-Type is not one this endpoint reads"),
                (status = 422, description = "Nothing in the body could be read; `rejected` says why by line"),
                (status = 503, description = "The queue is full or the database is unavailable; retry after `Retry-After` seconds"),
            ),
            security(("token" = []))
        )]
        pub async fn $name(st: State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, AppError> {
            ingest($endpoint, st, headers, body).await
        }
    };
}

ingest_endpoint!(
    ingest_csv,
    Endpoint::Csv,
    "/api/v1/ingest/csv",
    "text/csv",
    "CICFlowMeter CSV (either layout), with its header line; gzip with `Content-Encoding: gzip`."
);
ingest_endpoint!(
    ingest_flows,
    Endpoint::Flows,
    "/api/v1/ingest/flows",
    "application/x-ndjson",
    "Flows as JSON lines (or one JSON array), one flow an object."
);
ingest_endpoint!(
    ingest_zeek,
    Endpoint::Zeek,
    "/api/v1/ingest/zeek",
    "text/plain",
    "A Zeek conn.log, TSV with its #fields header or JSON lines."
);
ingest_endpoint!(
    ingest_suricata,
    Endpoint::Suricata,
    "/api/v1/ingest/suricata",
    "application/x-ndjson",
    "Suricata EVE JSON lines: flow records are scored, alert events become signature alerts."
);

/// Content types each endpoint accepts.
pub fn accepted_types(source: Endpoint) -> &'static [&'static str] {
    match source {
        Endpoint::Csv => &["text/csv", "text/plain", "application/octet-stream"],
        Endpoint::Flows => &["application/json", "application/x-ndjson"],
        Endpoint::Zeek => &[
            "text/plain",
            "text/tab-separated-values",
            "application/x-ndjson",
            "application/json",
            "application/octet-stream",
        ],
        Endpoint::Suricata => &["application/x-ndjson", "application/json", "text/plain", "application/octet-stream"],
    }
}

/// The reply to an accepted batch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestReply {
    /// The batch's id, when the request named one with `Idempotency-Key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    pub accepted: usize,
    pub scored: usize,
    pub signatures: usize,
    /// Detections in the batch (alerting flows, signature alerts, and connections in behaviour
    /// findings), before deduplication.
    pub alerts: usize,
    /// Of them, connections counted by the behaviour detectors' findings.
    pub behaviour: usize,
    /// Alerts created, and existing open alerts that absorbed detections (deduplication).
    pub alerts_created: usize,
    pub alerts_updated: usize,
    pub skipped: usize,
    pub rejected: Vec<Rejected>,
}

/// The reply (202) to a batch accepted onto the ingest bus: durable, and scored and stored by
/// whichever instance takes it next.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueuedReply {
    /// The batch's id on the bus; the same `Idempotency-Key` always gives the same id.
    pub batch_id: String,
    pub accepted: usize,
    pub signatures: usize,
    pub skipped: usize,
    pub rejected: Vec<Rejected>,
    /// Messages the batch travelled in (a batch larger than a NATS message is split).
    pub parts: usize,
}

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// The batch id an `Idempotency-Key` gives, scoped to the token (two integrators' keys never meet):
/// `None` without the header, 400 when it is not 1–128 characters of letters, digits, `-`, `_` and `:`.
fn idempotency_id(headers: &HeaderMap, token_id: i64) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().unwrap_or("").trim();
    let ok = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'));
    if !ok {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} letters, digits, `-`, `_` or `:`"
        )));
    }
    Ok(Some(format!("key-{token_id}-{key}")))
}

/// The media type without parameters, lower-cased.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// 415 unless the request's media type is one of `accepted`.
fn check_content_type_in(accepted: &[&str], headers: &HeaderMap) -> Result<(), AppError> {
    match media_type(headers) {
        Some(t) if accepted.contains(&t.as_str()) => Ok(()),
        other => Err(AppError::UnsupportedType(format!(
            "unsupported Content-Type `{}`; this endpoint accepts {}",
            other.as_deref().unwrap_or("(none)"),
            accepted.join(", ")
        ))),
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads and discards a refused request's body, at most `limit` bytes and for at most a few seconds:
/// a client still sending would otherwise see its connection closed under it instead of the answer.
async fn drain_body(body: Body, limit: usize) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut seen = 0usize;
    let drain = async {
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
}

fn too_large(limit: usize) -> AppError {
    AppError::TooLarge(format!("request body is larger than the limit of {limit} bytes"))
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, AppError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
            too_large(limit)
        } else {
            AppError::BadRequest(format!("reading the request body: {inner}"))
        }
    })
}

/// A request the ingest rules let in: its token, the pipeline, the body, and the body's room in
/// memory (hold it until the parsed records have their place in the queue, or are scored).
pub(crate) struct Admitted {
    pub token: anomalyforge::api_token::ApiToken,
    pub pipeline: anomalyforge::pipeline::Pipeline,
    pub bytes: Bytes,
    pub intake: anomalyforge::pipeline::IntakeSlot,
}

/// The checks every token-authenticated ingest-like endpoint makes, in this order: who (a live
/// token with `scope`, before anything of the body is read), whether ingest runs, what (a content type
/// in `accepted`, within the size limit), and room for the body in memory.
pub(crate) async fn admit(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    scope: TokenScope,
    accepted: &[&str],
    endpoint: &str,
) -> Result<Admitted, AppError> {
    let secret = bearer(headers).ok_or_else(|| missing_token(scope))?;
    let token = token_with(st, &secret, scope).await.inspect_err(|e| {
        if matches!(e, AppError::CredentialsRefused(_)) {
            tracing::warn!(endpoint, "request refused: invalid, expired or revoked API token");
        }
    })?;
    let Some(pipeline) = st.pipeline.clone() else { return Err(AppError::IngestDisabled) };
    check_content_type_in(accepted, headers)?;
    let limit = st.config.ingest_max_body_bytes;
    let declared = content_length(headers);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    // Room for the body in memory, held until the parsed batch has its place in the queue: flows
    // parsed and waiting for room count against the same budget, so memory is bounded by the
    // settings and not by how many senders there are, and a full server refuses a body before it
    // spends CPU parsing it (parsing refused batches took two thirds of the CPU in the soak).
    let intake = match pipeline.reserve_intake(declared.map_or(limit, |n| n as usize)).await {
        Ok(intake) => intake,
        Err(e) => {
            // Read the body away (bounded), so the client receives the 503 instead of a broken pipe.
            drain_body(body, limit).await;
            return Err(e.into());
        }
    };
    let bytes = read_body(body, limit).await?;
    Ok(Admitted { token, pipeline, bytes, intake })
}

async fn ingest(
    source: Endpoint,
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let (received_at, received) = (anomalyforge::store::now_ms(), std::time::Instant::now());
    let Admitted { token, pipeline, bytes, intake } =
        admit(&st, &headers, body, TokenScope::Ingest, accepted_types(source), source.as_str()).await?;
    let key_id = idempotency_id(&headers, token.id)?;
    // 3. Parse off the async executor (CPU work on up to tens of megabytes).
    let limits = st.config.ingest_limits;
    let parsing = std::time::Instant::now();
    let format = source.format();
    let parsed = tokio::task::spawn_blocking(move || body::parse(format, bytes, &limits)).await.map_err(|e| {
        tracing::error!(error = %e, "parser task failed");
        AppError::Internal
    })?;
    let parsed = parsed.map_err(from_body_error)?;
    let parse_ms = parsing.elapsed().as_millis() as u64;
    let (flows, signatures) = body::split(parsed.records);
    let batch = Batch {
        rejected: parsed.rejected.len(),
        skipped: parsed.skipped,
        received_at,
        received,
        ..Batch::new(source.source(), Some(token.id), flows, signatures)
    };
    let signatures = batch.signatures.len();
    let accepted = batch.flows.len() + signatures;
    if let Some(bus) = &st.bus {
        // 4'. Onto the bus; answer once JetStream holds it. Any instance scores and stores it.
        let id = key_id.unwrap_or_else(|| bus.new_batch_id());
        let parts = bus.publish(&id, batch).await.map_err(from_bus_error)?;
        drop(intake);
        tracing::info!(
            endpoint = source.as_str(),
            token_id = token.id,
            batch = %id,
            accepted,
            rejected = parsed.rejected.len(),
            parts,
            parse_ms,
            "ingest batch published to the bus"
        );
        let reply = QueuedReply {
            batch_id: id,
            accepted,
            signatures,
            skipped: parsed.skipped,
            rejected: parsed.rejected,
            parts,
        };
        return Ok((StatusCode::ACCEPTED, axum::Json(reply)).into_response());
    }
    let batch = Batch { bus_ids: key_id.iter().map(|k| (k.clone(), accepted)).collect(), ..batch };
    // 4. Queue, score, store; answer only once stored.
    let slot = pipeline.reserve(accepted).await?;
    drop(intake);
    let outcome = match pipeline.submit_in(slot, batch).await {
        Err(PipelineError::AlreadyStored(id)) => {
            // The same Idempotency-Key again: the first request's batch stands.
            tracing::info!(endpoint = source.as_str(), token_id = token.id, batch = %id, "ingest batch already stored");
            return Err(AppError::AlreadyStored(id));
        }
        other => other?,
    };
    tracing::info!(
        endpoint = source.as_str(),
        token_id = token.id,
        accepted,
        rejected = parsed.rejected.len(),
        skipped = parsed.skipped,
        parse_ms,
        alerts = outcome.detections,
        alerts_created = outcome.alerts_created,
        alerts_updated = outcome.alerts_updated,
        "ingest batch stored"
    );
    Ok(axum::Json(IngestReply {
        batch_id: key_id,
        accepted,
        scored: outcome.scored,
        signatures,
        alerts: outcome.detections,
        behaviour: outcome.behaviour,
        alerts_created: outcome.alerts_created,
        alerts_updated: outcome.alerts_updated,
        skipped: parsed.skipped,
        rejected: parsed.rejected,
    })
    .into_response())
}

fn from_bus_error(e: anomalyforge::bus::BusError) -> AppError {
    match e.retry_after_secs() {
        Some(secs) => {
            tracing::warn!(error = %e, "the ingest bus refused a batch");
            AppError::Busy { message: e.to_string(), retry_after_secs: secs }
        }
        None => {
            tracing::error!(error = %e, "publishing a batch to the ingest bus failed");
            AppError::Internal
        }
    }
}

pub(crate) fn from_ingest_error(e: IngestError) -> AppError {
    from_body_error(BodyError::Ingest(e))
}

pub(crate) fn from_body_error(e: BodyError) -> AppError {
    match e {
        BodyError::Ingest(e @ IngestError::TooManyRecords { .. }) => AppError::TooLarge(e.to_string()),
        BodyError::Ingest(e @ IngestError::Io(_)) => AppError::BadRequest(e.to_string()),
        BodyError::Unreadable(reason) => AppError::BadRequest(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn content_types_are_matched_without_parameters() {
        let csv = headers(&[("content-type", "text/csv; charset=utf-8")]);
        assert!(check_content_type_in(accepted_types(Endpoint::Csv), &csv).is_ok());
        assert!(check_content_type_in(accepted_types(Endpoint::Flows), &csv).is_err());
        let err = check_content_type_in(accepted_types(Endpoint::Flows), &headers(&[])).unwrap_err().to_string();
        assert!(err.contains("(none)") && err.contains("application/x-ndjson"), "{err}");
    }
}
