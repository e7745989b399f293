//! The live pipeline between ingest and storage: a bounded queue of parsed batches, scored in batches
//! on blocking threads by the active [`Engine`](crate::engine::Engine) (taken once per batch from an [`EngineSlot`](crate::engine::slot::EngineSlot), so a model
//! switch on `/models` takes effect between batches), and persisted (alerts + ingest
//! statistics) in one transaction per batch. A batch's submitter gets its outcome only after that
//! transaction has committed.
//!
//! The queue is bounded in FLOWS, not in batches: [`Pipeline::reserve`] takes one slot per flow (at
//! least one per batch; a batch larger than the whole queue takes all of it) and waits at most the
//! configured time for them. A full queue is reported as [`PipelineError::Busy`] (HTTP 503 with
//! `Retry-After`) BEFORE anything is accepted; once a batch is in the queue it is scored and stored
//! even if its submitter goes away. Slots are given back when the batch is stored.
//!
//! Before that, request bodies are bounded too: [`Pipeline::reserve_intake`] takes room for a body's
//! bytes (in KiB) before it is read, and gives it back once it is parsed, so concurrent uploads cannot
//! grow memory without bound either.
//!
//! After scoring, each batch is enriched ([`Enricher`](crate::enrich::Enricher): geo, asset and criticality, employee-report
//! intel), its detections are merged by dedup key ([`merge_detections`](crate::store::alerts::merge_detections)), and the alerts, discovered
//! assets, per-minute traffic and hourly rollups are written in one transaction. Only one batch is
//! written at a time (a writer lock), so two workers never race to create the same deduplicated
//! alert. After the commit the alerts go to the live stream ([`LiveHub`](crate::hub::LiveHub)) and the counters to
//! [`Metrics`](crate::metrics::Metrics).
//!
//! The module is laid out as the batch travels: [`queue`] (the handle, its bounded queue and the
//! reservations callers take), [`worker`] (scoring, state and storing one batch at a time) and
//! [`rows`] (a scored batch turned into alerts and statistics rows, and the alert builders the
//! other detectors share).

mod queue;
pub mod rows;
mod worker;

use std::time::Instant;

use crate::flow::Flow;
use crate::ingest::SignatureAlert;
use crate::store::{now_ms, StoreError};

pub use queue::{IntakeSlot, Pipeline, QueueSlot, ScoredOnly, ScoringSlot};
pub use rows::{behaviour_alert, intel_alert, ml_alert, signature_alert, signature_risk};

/// What the pipeline is configured with (built from the server's configuration by
/// `Config::pipeline_settings`; the pipeline does not read the configuration itself).
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Batches scored and stored at once.
    pub workers: usize,
    /// Most flows accepted and not yet stored.
    pub queue_flows: usize,
    /// Request bodies being received and parsed at once, in bytes.
    pub max_inflight_bytes: usize,
    /// How long a caller waits for room before it is told [`PipelineError::Busy`].
    pub wait: std::time::Duration,
    /// An open alert last seen at most this long before a detection absorbs it (0 = never).
    pub dedup_window_secs: u64,
    /// Store every scored flow for hunting.
    pub flow_history: bool,
    pub behaviour: crate::behaviour::BehaviourConfig,
    /// Flows kept for "learn this network's normal".
    pub site_sample_size: usize,
}

/// Where a batch came from (the `source` of its statistics row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Csv,
    Flows,
    Zeek,
    Suricata,
    Replay,
    /// An analysed file imported as alerts (`/analyze`).
    File,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Csv => "csv",
            Source::Flows => "flows",
            Source::Zeek => "zeek",
            Source::Suricata => "suricata",
            Source::Replay => "replay",
            Source::File => "file",
        }
    }

    /// The source named `name` ([`Source::as_str`]).
    pub fn parse(name: &str) -> Option<Source> {
        [Source::Csv, Source::Flows, Source::Zeek, Source::Suricata, Source::Replay, Source::File]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// One parsed batch.
#[derive(Debug, Clone)]
pub struct Batch {
    pub source: Source,
    /// The API token that sent it.
    pub token_id: Option<i64>,
    /// The analysed file it comes from, set on its alerts ([`Source::File`]).
    pub origin: Option<String>,
    /// The ids it is stored under, each with its record count: its parts' ids on the ingest bus
    /// ([`crate::bus`]; several when the consumer merged parts into one batch), or its
    /// `Idempotency-Key`. A batch with ids is stored at most once, however often it is delivered.
    pub bus_ids: Vec<(String, usize)>,
    pub flows: Vec<Flow>,
    pub signatures: Vec<SignatureAlert>,
    /// Records the parser rejected (reported to the sender, counted here).
    pub rejected: usize,
    pub skipped: usize,
    /// When the request (or replay tick) arrived: unix ms for the live stream's latency figure, and
    /// a monotonic instant for the batch-latency histogram.
    pub received_at: i64,
    pub received: Instant,
}

impl Batch {
    /// A batch received now.
    pub fn new(source: Source, token_id: Option<i64>, flows: Vec<Flow>, signatures: Vec<SignatureAlert>) -> Batch {
        Batch {
            source,
            token_id,
            origin: None,
            bus_ids: Vec::new(),
            flows,
            signatures,
            rejected: 0,
            skipped: 0,
            received_at: now_ms(),
            received: Instant::now(),
        }
    }
}

/// What became of a stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Flows scored (always every flow of the batch).
    pub scored: usize,
    /// Detections: flows at or above the operating threshold (that the ML gate let alert), signature
    /// alerts, and the connections counted by behaviour findings.
    pub detections: usize,
    /// Of them, the connections counted by behaviour findings.
    pub behaviour: usize,
    /// Alerts created and alerts updated by deduplication.
    pub alerts_created: usize,
    pub alerts_updated: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the scoring queue is full ({queued} of {capacity} flows waiting); retry in {retry_after_secs} s")]
    Busy { queued: usize, capacity: usize, retry_after_secs: u64 },
    #[error("the pipeline has stopped")]
    Stopped,
    #[error("scoring failed: {0}")]
    Scoring(String),
    #[error("storing the batch failed: {0}")]
    Store(StoreError),
    /// A bus batch that was stored before (delivered again): nothing was scored or written.
    #[error("batch `{0}` is already stored")]
    AlreadyStored(String),
}

impl From<StoreError> for PipelineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyStored(id) => PipelineError::AlreadyStored(id),
            e => PipelineError::Store(e),
        }
    }
}

/// Seconds a caller refused with [`PipelineError::Busy`] is asked to wait.
pub const RETRY_AFTER_SECS: u64 = 1;
