//! `POST /api/v1/score`: flows in, one verdict per flow out, nothing stored.
//!
//! For integrators who want the model's judgement and keep their own records (a SOAR enrichment step,
//! a what-if before a firewall change). The body is JSON flows (an array or NDJSON, as
//! `/api/v1/ingest/flows`) or CICFlowMeter CSV (either layout, as `/api/v1/ingest/csv`), told apart
//! by `Content-Type`. The request follows the ingest rules: a bearer token (scope `score`, or
//! `ingest`, which includes it), the same body size, record count and in-flight memory limits, and the
//! same error body `{"error": kind, "message": text}`. Scoring uses the running model and the
//! configured internal networks; no alert, statistic, flow, drift or behaviour state is written.
//! At most `ingest_workers` requests score at once; beyond that the answer is 503 with `Retry-After`.

use anomalyforge::api_token::TokenScope;
use anomalyforge::detection::Verdict;
use anomalyforge::flow::Flow;
use anomalyforge::ingest::{self, IngestRecord, Limits, Parsed, Rejected};
use app::error::AppError;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use serde::Serialize;

use crate::ingest_api::{admit, from_body_error, from_ingest_error, media_type, Admitted};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/score", post(score))
}

/// What the endpoint reads.
pub const ACCEPTED_TYPES: [&str; 5] =
    ["application/json", "application/x-ndjson", "text/csv", "text/plain", "application/octet-stream"];

/// The verdicts of one request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScoreReply {
    /// The model version that scored (its manifest's `model_version`).
    pub model: String,
    /// Flows scored: one verdict each, in input order.
    pub scored: usize,
    /// Of them, flows at or above the operating threshold (what ingest would have alerted on).
    pub alerts: usize,
    pub verdicts: Vec<FlowVerdict>,
    /// Records that could not be read, by line; the others are scored.
    pub rejected: Vec<Rejected>,
}

/// The engine's judgement of one flow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlowVerdict {
    /// Position among the records read (from 0); rejected records have no verdict.
    pub index: usize,
    /// The flow's addresses, when the input carried them (CSV in the 2017 layout does not).
    pub src_ip: Option<String>,
    pub src_port: Option<u16>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<u16>,
    /// IANA protocol number.
    pub protocol: Option<u8>,
    /// The classifier's most likely class (`benign`, `ddos`, `portscan`, …).
    pub class: String,
    /// The classifier's probability of `class`, 0–1.
    pub probability: f32,
    /// 0–100, with the internal-source context applied as the pipeline does.
    pub risk: u8,
    /// Whether ingest would raise an alert for it.
    pub alert: bool,
    /// The threat an alert would carry (`class`, or `unknown_anomaly` when only the anomaly layer
    /// fired); absent when it would not alert.
    pub threat: Option<String>,
    /// `cicflowmeter` or `conn`: the feature profile that scored it.
    pub profile: String,
    /// Why, in sentences: the classifier's call, the models that fired, the context, the features
    /// that weighed most.
    pub reasons: Vec<String>,
}

impl FlowVerdict {
    fn of(index: usize, flow: &Flow, v: &Verdict) -> FlowVerdict {
        let t = flow.five_tuple.as_ref();
        FlowVerdict {
            index,
            src_ip: t.map(|t| t.src_ip.to_string()),
            src_port: t.map(|t| t.src_port),
            dst_ip: t.map(|t| t.dst_ip.to_string()),
            dst_port: t.map(|t| t.dst_port),
            protocol: t.map(|t| t.protocol),
            class: v.class.name().to_string(),
            probability: v.class_probability,
            risk: v.risk.round().clamp(0.0, 100.0) as u8,
            alert: v.alert,
            threat: v.alert.then(|| {
                if v.anomaly_only() { anomalyforge::playbook::UNKNOWN_ANOMALY } else { v.class.name() }.to_string()
            }),
            profile: v.profile.name().to_string(),
            reasons: anomalyforge::explain::verdict_reasons(v),
        }
    }
}

/// Scores flows and returns a verdict for each; stores nothing.
#[utoipa::path(
    post, path = "/api/v1/score", tag = "ingest",
    request_body(content = String, content_type = "application/x-ndjson",
        description = "Flows as JSON lines or one JSON array (as `/api/v1/ingest/flows`), or CICFlowMeter CSV with its header line (`Content-Type: text/csv`)."),
    responses(
        (status = 200, description = "One verdict per flow read, in input order; bad records are named by line in `rejected`", body = ScoreReply),
        (status = 400, description = "A CSV body without a readable header"),
        (status = 401, description = "No, or an invalid, token"),
        (status = 403, description = "The token has neither the `score` nor the `ingest` scope"),
        (status = 413, description = "The body is larger than the ingest limit, or holds more records than a batch may"),
        (status = 415, description = "The Content-Type is not JSON, NDJSON or CSV"),
        (status = 503, description = "Scoring is busy or ingest is off; retry after `Retry-After` seconds"),
    ),
    security(("token" = []))
)]
pub async fn score(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<axum::Json<ScoreReply>, AppError> {
    let csv = matches!(media_type(&headers).as_deref(), Some("text/csv" | "text/plain" | "application/octet-stream"));
    let Admitted { token, pipeline, bytes, intake } =
        admit(&st, &headers, body, TokenScope::Score, &ACCEPTED_TYPES, "score").await?;
    let limits = st.config.ingest_limits;
    let parsed = tokio::task::spawn_blocking(move || parse(csv, bytes, &limits)).await.map_err(|e| {
        tracing::error!(error = %e, "parser task failed");
        AppError::Internal
    })??;
    // The body's room in memory is held until the reply is built: the parsed flows and their
    // verdicts take about as much as the body did.
    let scored = pipeline.score_only(parsed.records).await?;
    let verdicts: Vec<FlowVerdict> =
        scored.flows.iter().zip(&scored.verdicts).enumerate().map(|(i, (f, v))| FlowVerdict::of(i, f, v)).collect();
    drop(intake);
    let alerts = verdicts.iter().filter(|v| v.alert).count();
    tracing::info!(
        token_id = token.id,
        scored = verdicts.len(),
        alerts,
        rejected = parsed.rejected.len(),
        "flows scored, not stored"
    );
    Ok(axum::Json(ScoreReply {
        model: scored.model,
        scored: verdicts.len(),
        alerts,
        verdicts,
        rejected: parsed.rejected,
    }))
}

/// Flows from a JSON or CSV body; Suricata alerts or other records cannot occur in these formats.
fn parse(csv: bool, bytes: Bytes, limits: &Limits) -> Result<Parsed<Flow>, AppError> {
    if csv {
        let p = anomalyforge::ingest::body::parse_csv(bytes, limits).map_err(from_body_error)?;
        let records = p
            .records
            .into_iter()
            .filter_map(|r| match r {
                IngestRecord::Flow(f) => Some(f),
                IngestRecord::SignatureAlert(_) => None,
            })
            .collect();
        Ok(Parsed { records, rejected: p.rejected, skipped: p.skipped })
    } else {
        ingest::flows_json::parse(&bytes, limits).map_err(from_ingest_error)
    }
}
