//! The live pipeline between ingest and storage: a bounded queue of parsed batches, scored in batches
//! on blocking threads by the active [`Engine`] (taken once per batch from an [`EngineSlot`], so a model
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
//! After scoring, each batch is enriched ([`Enricher`]: geo, asset and criticality, employee-report
//! intel), its detections are merged by dedup key ([`merge_detections`]), and the alerts, discovered
//! assets, per-minute traffic and hourly rollups are written in one transaction. Only one batch is
//! written at a time (a writer lock), so two workers never race to create the same deduplicated
//! alert. After the commit the alerts go to the live stream ([`LiveHub`]) and the counters to
//! [`Metrics`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;

use crate::alert::{Detector, INTEL_THREAT, SIGNATURE_THREAT};
use crate::baseline::sample::SiteSample;
use crate::behaviour::{Behaviour, Finding};
use crate::config::Config;
use crate::detection::{FeatureProfile, Verdict};
use crate::drift::monitor::Monitor as DriftMonitor;
use crate::engine::slot::EngineSlot;
use crate::engine::Engine;
use crate::enrich::Enricher;
use crate::flow::{feature_index, FiveTuple, Flow};
use crate::hub::LiveHub;
use crate::ingest::{time, SignatureAlert};
use crate::intel::matcher::IndicatorRef;
use crate::metrics::Metrics;
use crate::playbook::UNKNOWN_ANOMALY;
use crate::store::alerts::{merge_detections, BatchStats, NewAlert, PersistBatch, TrafficCount, TrafficKey};
use crate::store::flows::{FlowBatch, NewFlow};
use crate::store::{now_ms, Db, StoreError};
use crate::traffic::{Dim, TopCounter, TopKey, Volume};

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
    /// Its id on the ingest bus ([`crate::bus`]): a batch with an id is stored at most once, however
    /// often it is delivered.
    pub bus_id: Option<String>,
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
            bus_id: None,
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

struct Job {
    batch: Batch,
    _slot: QueueSlot,
    reply: oneshot::Sender<Result<BatchOutcome, PipelineError>>,
}

/// Room for one batch in the queue, held from acceptance until the batch is stored.
pub struct QueueSlot {
    _permit: OwnedSemaphorePermit,
}

/// One place among the requests that score without storing ([`Pipeline::score_only`]).
pub struct ScoringSlot {
    _permit: OwnedSemaphorePermit,
}

/// Room for one request body being received and parsed.
pub struct IntakeSlot {
    _permit: OwnedSemaphorePermit,
}

/// Handle to the running pipeline (cheap to clone).
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::UnboundedSender<Job>,
    slots: Arc<Semaphore>,
    capacity: usize,
    /// Body bytes in KiB.
    intake: Arc<Semaphore>,
    intake_kib: usize,
    wait: Duration,
    metrics: Arc<Metrics>,
    drift: Arc<std::sync::Mutex<DriftMonitor>>,
    site_sample: Arc<std::sync::Mutex<SiteSample>>,
    /// The engine and enrichment the workers use, for [`Pipeline::score_only`].
    engine: EngineSlot,
    enricher: Arc<Enricher>,
    /// Scoring requests that store nothing, at most as many at once as there are workers.
    scorers: Arc<Semaphore>,
}

/// Verdicts of flows scored without storing them ([`Pipeline::score_only`]).
#[derive(Debug, Clone)]
pub struct ScoredOnly {
    /// The flows, given back (scoring moves them to a blocking thread; they are not copied).
    pub flows: Vec<Flow>,
    /// One verdict per flow, in input order, with its explanation and the context of the
    /// configured internal networks.
    pub verdicts: Vec<Verdict>,
    /// The model version that scored them.
    pub model: String,
}

/// What the workers share.
struct Worker {
    /// Read once per batch: a model switch ([`crate::model_registry`]) takes effect between batches.
    engine: EngineSlot,
    db: Db,
    enricher: Arc<Enricher>,
    hub: Arc<LiveHub>,
    metrics: Arc<Metrics>,
    dedup_window_ms: i64,
    /// Store every scored flow for hunting (`[flows] enabled`).
    store_flows: bool,
    /// The host-behaviour detectors' state across batches, fed one batch at a time.
    behaviour: Arc<std::sync::Mutex<Behaviour>>,
    /// How far each source's traffic is from the active model's training data.
    drift: Arc<std::sync::Mutex<DriftMonitor>>,
    /// A uniform sample of the flows scored, for "learn this network's normal".
    site_sample: Arc<std::sync::Mutex<SiteSample>>,
    /// One batch is written at a time (see the module docs).
    writer: tokio::sync::Mutex<()>,
    /// Where the scored flows go for the flow history (`None` when it is off).
    flow_writer: Option<mpsc::Sender<FlowBatch>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("capacity", &self.capacity).field("queued", &self.queued_flows()).finish()
    }
}

impl Pipeline {
    /// Starts `config.ingest_workers` workers on the current tokio runtime. The channel itself is
    /// unbounded, but nothing enters it without a [`QueueSlot`], so it never holds more than
    /// `ingest_queue_flows` flows (plus one oversized batch).
    pub fn start(
        engine: impl Into<EngineSlot>,
        db: Db,
        config: &Config,
        enricher: Arc<Enricher>,
        hub: Arc<LiveHub>,
        metrics: Arc<Metrics>,
    ) -> Pipeline {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let drift = Arc::new(std::sync::Mutex::new(DriftMonitor::default()));
        let site_sample = Arc::new(std::sync::Mutex::new(SiteSample::new(config.baseline.sample_size)));
        let writer = tokio::sync::Mutex::new(());
        let db_for_flows = db.clone();
        let engine: EngineSlot = engine.into();
        let shared = Arc::new(Worker {
            engine: engine.clone(),
            db,
            enricher: enricher.clone(),
            hub,
            metrics: metrics.clone(),
            dedup_window_ms: i64::try_from(config.dedup_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            store_flows: config.flow_history(),
            behaviour: Arc::new(std::sync::Mutex::new(Behaviour::new(config.behaviour.clone()))),
            drift: drift.clone(),
            site_sample: site_sample.clone(),
            writer,
            flow_writer: config.flow_history().then(|| spawn_flow_writer(db_for_flows)),
        });
        for worker in 0..config.ingest_workers {
            let (rx, shared) = (rx.clone(), shared.clone());
            tokio::spawn(async move {
                loop {
                    let job = rx.lock().await.recv().await;
                    let Some(job) = job else { break };
                    let result = shared.process(job.batch).await;
                    if result.as_ref().is_err_and(|e| !matches!(e, PipelineError::AlreadyStored(_))) {
                        shared.metrics.batch_failures.fetch_add(1, Relaxed);
                    }
                    // The submitter may have gone away; the batch is stored all the same.
                    let _ = job.reply.send(result);
                }
                tracing::debug!(worker, "pipeline worker stopped");
            });
        }
        let capacity = config.ingest_queue_flows.clamp(1, Semaphore::MAX_PERMITS);
        let intake_kib = config.ingest_max_inflight_bytes.div_ceil(1024).clamp(1, Semaphore::MAX_PERMITS);
        Pipeline {
            tx,
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            intake: Arc::new(Semaphore::new(intake_kib)),
            intake_kib,
            wait: Duration::from_millis(config.ingest_wait_ms),
            metrics,
            drift,
            site_sample,
            engine,
            enricher,
            scorers: Arc::new(Semaphore::new(config.ingest_workers.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// Waits (at most the configured time) for one of the `ingest_workers` places of
    /// [`score_only`](Self::score_only).
    pub async fn reserve_scoring(&self) -> Result<ScoringSlot, PipelineError> {
        match tokio::time::timeout(self.wait, self.scorers.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(ScoringSlot { _permit: permit }),
            Ok(Err(_closed)) => Err(PipelineError::Stopped),
            Err(_elapsed) => Err(PipelineError::Busy {
                queued: self.queued_flows(),
                capacity: self.capacity,
                retry_after_secs: RETRY_AFTER_SECS,
            }),
        }
    }

    /// Scores `flows` with the running model and returns the verdicts, storing nothing: no alert,
    /// no statistics, no flow history, no drift or behaviour state (an integrator's what-if must not
    /// teach the live detectors). At most `ingest_workers` such requests score at once; beyond that a
    /// caller waits the configured time and is then told [`PipelineError::Busy`].
    pub async fn score_only(&self, flows: Vec<Flow>) -> Result<ScoredOnly, PipelineError> {
        let permit = self.reserve_scoring().await?;
        let (engine, enricher) = (self.engine.current(), self.enricher.clone());
        let scored = flows.len() as u64;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut verdicts = engine.score_batch(&flows);
            Engine::apply_context(&mut verdicts, &flows, |ip| enricher.is_internal(ip));
            ScoredOnly { flows, verdicts, model: engine.manifest().model_version.clone() }
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "scoring task failed");
            PipelineError::Scoring(e.to_string())
        })?;
        self.metrics.scored_only.fetch_add(scored, Relaxed);
        Ok(result)
    }

    /// The running model (it changes when a model version is activated).
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.current()
    }

    /// The enrichment data (internal networks, assets, geo) the pipeline uses.
    pub fn enricher(&self) -> &Arc<Enricher> {
        &self.enricher
    }

    /// The sample of scored flows "learn this network's normal" refits on.
    pub fn site_sample(&self) -> Arc<std::sync::Mutex<SiteSample>> {
        self.site_sample.clone()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// How far each source's recent traffic is from the active model version's training data.
    pub fn drift(&self) -> crate::drift::DriftReport {
        self.drift.lock().unwrap_or_else(|e| e.into_inner()).report()
    }

    /// Waits (at most the configured time) for room to receive and parse a body of `bytes` bytes.
    pub async fn reserve_intake(&self, bytes: usize) -> Result<IntakeSlot, PipelineError> {
        let kib = bytes.div_ceil(1024).clamp(1, self.intake_kib);
        let n = u32::try_from(kib).unwrap_or(u32::MAX);
        match tokio::time::timeout(self.wait, self.intake.clone().acquire_many_owned(n)).await {
            Ok(Ok(permit)) => Ok(IntakeSlot { _permit: permit }),
            Ok(Err(_closed)) => Err(PipelineError::Stopped),
            Err(_elapsed) => Err(PipelineError::Busy {
                queued: self.queued_flows(),
                capacity: self.capacity,
                retry_after_secs: RETRY_AFTER_SECS,
            }),
        }
    }

    /// Flows accepted and not yet stored.
    pub fn queued_flows(&self) -> usize {
        self.capacity - self.slots.available_permits().min(self.capacity)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waits (at most the configured time) for room for `flows` flows.
    pub async fn reserve(&self, flows: usize) -> Result<QueueSlot, PipelineError> {
        let n = u32::try_from(flows.clamp(1, self.capacity)).unwrap_or(u32::MAX);
        let acquire = self.slots.clone().acquire_many_owned(n);
        match tokio::time::timeout(self.wait, acquire).await {
            Ok(Ok(permit)) => Ok(QueueSlot { _permit: permit }),
            Ok(Err(_closed)) => Err(PipelineError::Stopped),
            Err(_elapsed) => Err(PipelineError::Busy {
                queued: self.queued_flows(),
                capacity: self.capacity,
                retry_after_secs: RETRY_AFTER_SECS,
            }),
        }
    }

    /// Queues a batch in a reserved slot and waits until it is scored and stored.
    pub async fn submit_in(&self, slot: QueueSlot, batch: Batch) -> Result<BatchOutcome, PipelineError> {
        let (reply, outcome) = oneshot::channel();
        self.tx.send(Job { batch, _slot: slot, reply }).map_err(|_| PipelineError::Stopped)?;
        outcome.await.map_err(|_| PipelineError::Stopped)?
    }

    /// [`reserve`](Self::reserve) then [`submit_in`](Self::submit_in).
    pub async fn submit(&self, batch: Batch) -> Result<BatchOutcome, PipelineError> {
        let slot = self.reserve(batch.flows.len() + batch.signatures.len()).await?;
        self.submit_in(slot, batch).await
    }
}

impl Worker {
    /// Scores a batch on a blocking thread, enriches and merges its detections, stores everything in
    /// one transaction, then announces the result.
    async fn process(&self, batch: Batch) -> Result<BatchOutcome, PipelineError> {
        let started = Instant::now();
        if let Some(id) = &batch.bus_id {
            // Delivered again after its commit: do not teach the behaviour and drift state twice. The
            // claim in the batch's transaction catches a redelivery that races this check.
            if self.db.bus_batch_stored(id).await? {
                return Err(PipelineError::AlreadyStored(id.clone()));
            }
        }
        if let Err(e) = self.enricher.refresh_if_stale(&self.db).await {
            // Enrichment data is a nicety next to storing the batch: keep the previous snapshot.
            tracing::warn!(error = %e, "cannot reload assets and reports for enrichment");
        }
        let (engine, enricher, behaviour) = (self.engine.current(), self.enricher.clone(), self.behaviour.clone());
        let (drift, site_sample) = (self.drift.clone(), self.site_sample.clone());
        let (window, store_flows) = (self.dedup_window_ms, self.store_flows);
        let metrics = self.metrics.clone();
        let (batch, prepared, model_ms) = tokio::task::spawn_blocking(move || {
            let scoring = Instant::now();
            // Brief verdicts for the batch; the one flow that represents each alert is explained below.
            let mut verdicts = engine.score_batch_brief(&batch.flows);
            let model_ms = scoring.elapsed().as_millis() as u64;
            let muted = {
                let mut d = drift.lock().unwrap_or_else(|e| e.into_inner());
                d.observe(&engine, batch.source.as_str(), batch.token_id, &batch.flows, batch.received_at);
                d.mute_anomalies(batch.source.as_str(), batch.token_id, &mut verdicts)
            };
            metrics.anomaly_muted.fetch_add(muted, Relaxed);
            let internal = |ip| enricher.is_internal(ip);
            Engine::apply_context(&mut verdicts, &batch.flows, internal);
            let findings = {
                let mut b = behaviour.lock().unwrap_or_else(|e| e.into_inner());
                b.follow(engine.manifest());
                b.gate_ml(&batch.flows, &mut verdicts);
                // Replayed flows carry times compressed by the replay's speed factor: their rates and
                // intervals are not the recording's, so the behaviour detectors judge live traffic only.
                let found =
                    if batch.source == Source::Replay { Vec::new() } else { b.observe_batch(&batch.flows, internal) };
                metrics.observe_behaviour(b.stats());
                found
            };
            let flagged: HashSet<(IpAddr, Option<IpAddr>)> = findings.iter().map(|f| (f.src, f.dst)).collect();
            site_sample.lock().unwrap_or_else(|e| e.into_inner()).offer(&batch.flows, &verdicts, &flagged);
            let explain = |idx: &[usize]| {
                let flows: Vec<Flow> = idx.iter().map(|&i| batch.flows[i].clone()).collect();
                let mut full = engine.score_batch(&flows);
                Engine::apply_context(&mut full, &flows, internal);
                full
            };
            let prepared = prepare(&batch, &verdicts, &findings, explain, &enricher, window, store_flows);
            (batch, prepared, model_ms)
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "scoring task failed");
            PipelineError::Scoring(e.to_string())
        })?;
        let mut prepared = prepared?;
        let score_ms = started.elapsed().as_millis() as i64;
        prepared.persist.stats = BatchStats {
            source: batch.source.as_str().to_string(),
            token_id: batch.token_id,
            accepted: (batch.flows.len() + batch.signatures.len()) as i64,
            rejected: batch.rejected as i64,
            skipped: batch.skipped as i64,
            scored: batch.flows.len() as i64,
            score_ms,
        };
        prepared.persist.bus_batch =
            batch.bus_id.clone().map(|id| (id, (batch.flows.len() + batch.signatures.len()) as i64));
        let storing = Instant::now();
        // The flow history is written after the alerts, in larger transactions ([`spawn_flow_writer`]).
        let flows = std::mem::take(&mut prepared.flows);
        let stored = {
            let _writer = self.writer.lock().await;
            self.db.persist_batch(&prepared.persist).await?
        };
        if let (Some(w), false) = (&self.flow_writer, flows.flows.is_empty()) {
            // Bounded: a flow history that cannot keep up slows ingest down (backpressure) rather than
            // losing flows.
            if w.send(flows).await.is_err() {
                tracing::error!("the flow history writer stopped: this batch's flows are not stored");
            }
        }
        let store_ms = storing.elapsed().as_millis() as u64;
        let created = stored.iter().filter(|s| s.created).count();
        let outcome = BatchOutcome {
            scored: batch.flows.len(),
            detections: prepared.detections,
            behaviour: prepared.behaviour,
            alerts_created: created,
            alerts_updated: stored.len() - created,
        };
        self.hub.publish_alerts(&stored, batch.received_at);
        for (country, c) in &prepared.live_traffic {
            self.hub.add_traffic(country, c.0, c.1, c.2);
        }
        let m = &self.metrics;
        m.accepted.fetch_add((batch.flows.len() + batch.signatures.len()) as u64, Relaxed);
        m.rejected.fetch_add(batch.rejected as u64, Relaxed);
        m.skipped.fetch_add(batch.skipped as u64, Relaxed);
        m.scored.fetch_add(outcome.scored as u64, Relaxed);
        m.batches.fetch_add(1, Relaxed);
        m.detections.fetch_add(outcome.detections as u64, Relaxed);
        m.alerts_created.fetch_add(outcome.alerts_created as u64, Relaxed);
        m.alerts_updated.fetch_add(outcome.alerts_updated as u64, Relaxed);
        if batch.source == Source::Replay {
            m.replayed.fetch_add(batch.flows.len() as u64, Relaxed);
        }
        m.observe_batch_latency(batch.received.elapsed().as_secs_f64());
        tracing::debug!(
            source = batch.source.as_str(),
            flows = batch.flows.len(),
            signatures = batch.signatures.len(),
            detections = outcome.detections,
            alerts_created = outcome.alerts_created,
            alerts_updated = outcome.alerts_updated,
            model_ms,
            prepare_ms = score_ms as u64 - model_ms,
            store_ms,
            total_ms = started.elapsed().as_millis() as u64,
            since_received_ms = batch.received.elapsed().as_millis() as u64,
            "batch stored"
        );
        Ok(outcome)
    }
}

/// A scored batch turned into rows.
struct Prepared {
    persist: PersistBatch,
    /// The scored flows, for the flow history (empty when it is off).
    flows: FlowBatch,
    detections: usize,
    behaviour: usize,
    /// Per source country: flows, bytes, alerting flows (for the live stream).
    live_traffic: HashMap<String, (u64, u64, u64)>,
}

/// Bytes both ways of a flow, from its payload totals (0 when the source does not give them).
fn flow_bytes(f: &Flow) -> i64 {
    let v = f.volumes();
    i64::try_from(v.fwd_bytes.saturating_add(v.bwd_bytes)).unwrap_or(i64::MAX)
}

/// Detections of one source, target and threat type in a batch: (time, flow index, detector risk).
type Group = Vec<(i64, usize, f32)>;

/// Builds a batch's rows (CPU work, run on the blocking thread with the scoring).
///
/// Detections are grouped by dedup key first, and only the riskiest detection of each run (detections
/// at most `window_ms` apart) becomes an alert with reasons: building and enriching JSON per detection
/// would cost more than scoring when most flows of a batch are one attack.
fn prepare(
    batch: &Batch,
    verdicts: &[Verdict],
    findings: &[Finding],
    explain: impl FnOnce(&[usize]) -> Vec<Verdict>,
    enricher: &Enricher,
    window_ms: i64,
    store_flows: bool,
) -> Result<Prepared, PipelineError> {
    if verdicts.len() != batch.flows.len() {
        return Err(PipelineError::Scoring(format!("{} verdicts for {} flows", verdicts.len(), batch.flows.len())));
    }
    let now = batch.received_at;
    // (minute, country, protocol, alerting) → flows, bytes.
    type MinuteKey = (i64, Option<[u8; 2]>, i64, bool);
    let mut traffic: HashMap<MinuteKey, TrafficCount> = HashMap::new();
    let mut top = TopCounter::default();
    let mut assets_seen: HashMap<IpAddr, i64> = HashMap::new();
    // (source, target, threat) → the detections merged into one alert.
    type GroupKey = (Option<IpAddr>, Option<IpAddr>, &'static str);
    let mut groups: HashMap<GroupKey, Group> = HashMap::new();
    let mut flows = Vec::with_capacity(if store_flows { batch.flows.len() } else { 0 });
    // Threat intel: flows to or from a listed address. (source, target, indicator) → (first, last,
    // flows, the listing, which end it lists) for flows no other detector alerted on; every match
    // counts as a hit of its indicator.
    let intel = enricher.intel();
    type Listed = (i64, i64, i64, IndicatorRef, &'static str, FiveTuple);
    let mut listed: HashMap<(IpAddr, IpAddr, i64), Listed> = HashMap::new();
    let mut intel_hits: HashMap<i64, (i64, i64)> = HashMap::new();
    for (i, (f, v)) in batch.flows.iter().zip(verdicts).enumerate() {
        let at = seen_at(f.timestamp.as_deref(), now);
        let country = f.five_tuple.and_then(|t| enricher.country_code(t.src_ip));
        if let (true, Some(t)) = (store_flows, f.five_tuple) {
            flows.push(stored_flow(f, t, v, at, enricher.country_code(t.dst_ip).or(country)));
        }
        if let Some(t) = f.five_tuple {
            for ip in [t.src_ip, t.dst_ip] {
                if enricher.is_internal(ip) {
                    let e = assets_seen.entry(ip).or_insert(at);
                    *e = (*e).max(at);
                }
            }
            if !intel.is_empty() {
                let hit = [(t.src_ip, "source"), (t.dst_ip, "destination")]
                    .into_iter()
                    .filter_map(|(ip, side)| Some((intel.lookup(ip)?, side)))
                    .max_by_key(|(r, side)| (r.confidence, *side == "source"));
                if let Some((r, side)) = hit {
                    let h = intel_hits.entry(r.id).or_insert((0, at));
                    (h.0, h.1) = (h.0 + 1, h.1.max(at));
                    if !v.alert {
                        let e =
                            listed.entry((t.src_ip, t.dst_ip, r.id)).or_insert_with(|| (at, at, 0, r.clone(), side, t));
                        (e.0, e.1, e.2) = (e.0.min(at), e.1.max(at), e.2 + 1);
                    }
                }
            }
        }
        let protocol = f.five_tuple.map_or_else(|| protocol_feature(f), |t| i64::from(t.protocol));
        let minute = at - at.rem_euclid(60_000);
        let c = traffic.entry((minute, country, protocol, v.alert)).or_default();
        c.flows += 1;
        c.bytes += flow_bytes(f);
        let volume = Volume { flows: 1, bytes: flow_bytes(f), alerting: i64::from(v.alert) };
        match f.five_tuple {
            Some(t) => {
                top.add(minute, Dim::Src, TopKey::Ip(t.src_ip), volume);
                top.add(minute, Dim::Dst, TopKey::Ip(t.dst_ip), volume);
                top.add(minute, Dim::Service, TopKey::Service(t.protocol, t.dst_port), volume);
            }
            None => {
                for dim in Dim::ALL {
                    top.add(minute, dim, TopKey::Other, volume);
                }
            }
        }
        if v.alert {
            // The classifier said benign but the ensemble alerted: only the anomaly models fired.
            let threat = if v.class.is_attack() { v.class.name() } else { UNKNOWN_ANOMALY };
            let key = (f.five_tuple.map(|t| t.src_ip), f.five_tuple.map(|t| t.dst_ip), threat);
            groups.entry(key).or_default().push((at, i, v.risk));
        }
    }
    let behaviour = findings.iter().map(|f| f.count as usize).sum::<usize>();
    let detections = groups.values().map(Vec::len).sum::<usize>() + batch.signatures.len() + behaviour;
    // Runs of detections per key: (context, first, last, count, risk sum, the riskiest flow).
    let mut runs: Vec<(crate::enrich::Context, i64, i64, i64, i64, usize)> = Vec::new();
    for ((src, dst, _), mut dets) in groups {
        let ctx = enricher.context(src, dst);
        dets.sort_by_key(|d| d.0);
        let mut start = 0;
        for j in 1..=dets.len() {
            if j == dets.len() || window_ms <= 0 || dets[j].0 - dets[j - 1].0 > window_ms {
                let run = &dets[start..j];
                let &(_, best, _) = run.iter().max_by(|a, b| a.2.total_cmp(&b.2)).unwrap_or(&run[0]);
                let risk_sum = run.iter().map(|d| ctx.weigh(d.2).round() as i64).sum();
                runs.push((ctx.clone(), run[0].0, run[run.len() - 1].0, run.len() as i64, risk_sum, best));
                start = j;
            }
        }
    }
    let representatives: Vec<usize> = runs.iter().map(|r| r.5).collect();
    let explained = explain(&representatives);
    if explained.len() != runs.len() {
        return Err(PipelineError::Scoring(format!("{} explanations for {} alerts", explained.len(), runs.len())));
    }
    let mut alerts: Vec<NewAlert> = Vec::with_capacity(runs.len());
    for ((ctx, first, last, count, risk_sum, best), v) in runs.into_iter().zip(&explained) {
        let mut a = ml_alert(&batch.flows[best], v, now);
        enricher.apply(&ctx, &mut a);
        (a.seen_at, a.last_seen, a.count, a.risk_sum) = (first, last, count, risk_sum);
        alerts.push(a);
    }
    let mut signatures: Vec<NewAlert> = batch
        .signatures
        .iter()
        .map(|s| {
            let mut a = signature_alert(s, now);
            enricher.enrich(&mut a);
            a
        })
        .collect();
    for s in &batch.signatures {
        for ip in [s.five_tuple.src_ip, s.five_tuple.dst_ip] {
            if enricher.is_internal(ip) {
                let at = seen_at(Some(&s.timestamp), now);
                let e = assets_seen.entry(ip).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }
    signatures.extend(findings.iter().map(|f| {
        let mut a = behaviour_alert(f, now);
        enricher.enrich(&mut a);
        a.risk_sum = a.risk * a.count;
        a
    }));
    signatures.extend(listed.into_values().map(|(first, last, n, r, side, t)| {
        let mut a = intel_alert(&r, side, t, first, last, n, false);
        enricher.enrich(&mut a);
        a.risk_sum = a.risk * a.count;
        a
    }));
    signatures = merge_detections(signatures, window_ms);
    alerts.extend(signatures);
    // Suppression rules absorb whole alerts (all their detections), counted on the rule.
    let mut suppressed: HashMap<i64, (i64, i64)> = HashMap::new();
    alerts.retain(|a| match enricher.suppressed_by(a, now) {
        Some(rule) => {
            let hit = suppressed.entry(rule).or_default();
            hit.0 += a.count;
            hit.1 = hit.1.max(a.last_seen);
            false
        }
        None => true,
    });
    let mut suppressed: Vec<(i64, i64, i64)> = suppressed.into_iter().map(|(id, (n, last))| (id, n, last)).collect();
    suppressed.sort_unstable();
    alerts.sort_by(|a, b| (a.seen_at, &a.threat, &a.src_ip).cmp(&(b.seen_at, &b.threat, &b.src_ip)));

    let code = |c: Option<[u8; 2]>| {
        c.map_or_else(|| crate::worldmap::UNKNOWN_COUNTRY.to_string(), |c| String::from_utf8_lossy(&c).into_owned())
    };
    let mut live_traffic: HashMap<String, (u64, u64, u64)> = HashMap::new();
    let mut rows: Vec<(TrafficKey, TrafficCount)> = Vec::with_capacity(traffic.len());
    for ((minute, country, protocol, alerting), c) in traffic {
        let country = code(country);
        let live = live_traffic.entry(country.clone()).or_default();
        live.0 += c.flows as u64;
        live.1 += c.bytes as u64;
        live.2 += if alerting { c.flows as u64 } else { 0 };
        rows.push((TrafficKey { minute, country, protocol, verdict: if alerting { "alert" } else { "benign" } }, c));
    }
    rows.sort_by(|a, b| {
        (a.0.minute, &a.0.country, a.0.protocol, a.0.verdict).cmp(&(
            b.0.minute,
            &b.0.country,
            b.0.protocol,
            b.0.verdict,
        ))
    });
    let mut assets_seen: Vec<(String, i64)> = assets_seen.into_iter().map(|(ip, at)| (ip.to_string(), at)).collect();
    assets_seen.sort();
    if let Some(origin) = &batch.origin {
        for a in &mut alerts {
            a.origin = Some(origin.clone());
        }
    }
    Ok(Prepared {
        persist: PersistBatch {
            alerts,
            assets_seen,
            traffic: rows,
            top: top.finish(),
            stats: BatchStats::default(),
            dedup_window_ms: window_ms,
            suppressed,
            intel_hits: {
                let mut hits: Vec<(i64, i64, i64)> = intel_hits.into_iter().map(|(id, (n, at))| (id, n, at)).collect();
                hits.sort_unstable();
                hits
            },
            bus_batch: None,
        },
        flows: FlowBatch {
            day: crate::store::flows::day_of(now),
            source: batch.source.as_str().to_string(),
            token_id: batch.token_id,
            flows,
        },
        detections,
        behaviour,
        live_traffic,
    })
}

/// Flows the history writer gathers into one transaction at most, and how long it waits for them.
const FLOW_COMMIT_FLOWS: usize = 100_000;
const FLOW_COMMIT_WAIT: Duration = Duration::from_millis(500);

/// The flow history's writer: gathers the flows of committed batches for up to
/// [`FLOW_COMMIT_WAIT`] (or [`FLOW_COMMIT_FLOWS`]) and stores them in one transaction. Each stored
/// flow inserts into several indexes at scattered places; one commit per batch dirtied most of those
/// pages again for every batch, while a larger commit shares them. On SQLite the history is its own
/// file, so its commits and the alerts' never wait for each other. Flows are searchable about half a
/// second after their batch's reply; a crash can lose that last half second of history (never an
/// alert).
fn spawn_flow_writer(db: Db) -> mpsc::Sender<FlowBatch> {
    let (tx, mut rx) = mpsc::channel::<FlowBatch>(64);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let deadline = tokio::time::Instant::now() + FLOW_COMMIT_WAIT;
            let mut n = first.flows.len();
            let mut batches = vec![first];
            while n < FLOW_COMMIT_FLOWS {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(b)) => {
                        n += b.flows.len();
                        batches.push(b);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let started = Instant::now();
            let result = db.persist_flows(&batches).await;
            match result {
                Ok(()) => tracing::debug!(flows = n, ms = started.elapsed().as_millis() as u64, "flow history stored"),
                Err(e) => {
                    tracing::error!(error = %e, flows = n, "storing the flow history failed: these flows are lost")
                }
            }
        }
    });
    tx
}

/// A scored flow with addresses as the flow history stores it.
fn stored_flow(f: &Flow, t: FiveTuple, v: &Verdict, at: i64, cc: Option<[u8; 2]>) -> NewFlow {
    let vol = f.volumes();
    NewFlow {
        at,
        src: t.src_ip,
        dst: t.dst_ip,
        sport: t.src_port,
        dport: t.dst_port,
        proto: t.protocol,
        bytes_out: vol.fwd_bytes,
        bytes_in: vol.bwd_bytes,
        pkts_out: vol.fwd_packets,
        pkts_in: vol.bwd_packets,
        duration_ms: (vol.duration_us / 1000.0) as u64,
        risk: v.risk.round().clamp(0.0, 100.0) as u8,
        threat: if v.anomaly_only() { UNKNOWN_ANOMALY } else { v.class.name() },
        alerted: v.alert,
        profile: match v.profile {
            FeatureProfile::Cicflowmeter => 0,
            FeatureProfile::Conn => 1,
        },
        cc,
    }
}

/// The `Protocol` feature of a flow without a 5-tuple (the 2017 CSV layout), or 0.
fn protocol_feature(f: &Flow) -> i64 {
    static IDX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let i = *IDX.get_or_init(|| feature_index("Protocol"));
    i.and_then(|i| f.features.get(i).copied().flatten()).map_or(0, |p| p as i64)
}

/// Unix ms of a normalised timestamp, or `fallback`.
fn seen_at(timestamp: Option<&str>, fallback: i64) -> i64 {
    timestamp.and_then(time::iso_to_micros).map(|us| us.div_euclid(1000)).unwrap_or(fallback)
}

/// An alert from a flow the ensemble scored at or above its operating threshold.
pub fn ml_alert(flow: &Flow, v: &Verdict, now: i64) -> NewAlert {
    let t = flow.five_tuple;
    let reasons = json!({
        "class": v.class,
        "class_probability": v.class_probability,
        "profile": v.profile,
        "models": v.models,
        "context": v.context,
        "flow": crate::baseline::sample::flow_record(v.profile, flow),
    });
    let at = seen_at(flow.timestamp.as_deref(), now);
    let risk = v.risk.round().clamp(0.0, 100.0) as i64;
    let threat = if v.class.is_attack() { v.class.name() } else { UNKNOWN_ANOMALY };
    NewAlert {
        seen_at: at,
        last_seen: at,
        count: 1,
        src_ip: t.map(|t| t.src_ip.to_string()),
        src_port: t.map(|t| i64::from(t.src_port)),
        dst_ip: t.map(|t| t.dst_ip.to_string()),
        dst_port: t.map(|t| i64::from(t.dst_port)),
        protocol: t.map(|t| i64::from(t.protocol)),
        threat: threat.to_string(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: Detector::Ml,
        signature: None,
        reasons: reasons.to_string(),
        features: serde_json::to_string(&v.top_features).unwrap_or_else(|_| "[]".into()),
        ..NewAlert::blank()
    }
}

/// An alert from a host-behaviour finding: its count is the connections the finding covers.
pub fn behaviour_alert(f: &Finding, now: i64) -> NewAlert {
    let risk = i64::from(f.risk.min(100));
    let first = if f.first_seen > 0 { f.first_seen } else { now };
    NewAlert {
        seen_at: first,
        last_seen: f.last_seen.max(first),
        count: i64::try_from(f.count.max(1)).unwrap_or(i64::MAX),
        src_ip: Some(f.src.to_string()),
        src_port: None,
        dst_ip: f.dst.map(|ip| ip.to_string()),
        dst_port: f.dst_port.map(i64::from),
        protocol: f.protocol.map(i64::from),
        threat: f.threat.name().to_string(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: Detector::Behaviour,
        signature: None,
        reasons: f.reasons().to_string(),
        features: "[]".into(),
        ..NewAlert::blank()
    }
}

/// An alert from flows of one source and target that a threat-intel indicator lists: `count` flows
/// from `first` to `last` (Unix ms). `retro` marks one found by searching the stored flows after the
/// indicator was imported.
pub fn intel_alert(
    r: &IndicatorRef,
    side: &'static str,
    t: FiveTuple,
    first: i64,
    last: i64,
    count: i64,
    retro: bool,
) -> NewAlert {
    let risk = i64::from(r.risk());
    let reasons = json!({
        "intel_match": {
            "indicator_id": r.id, "indicator": r.value, "source": r.source, "source_id": r.source_id,
            "confidence": r.confidence, "description": r.description, "matched": side, "retro": retro,
        },
    });
    NewAlert {
        seen_at: first,
        last_seen: last.max(first),
        count: count.max(1),
        src_ip: Some(t.src_ip.to_string()),
        src_port: Some(i64::from(t.src_port)),
        dst_ip: Some(t.dst_ip.to_string()),
        dst_port: Some(i64::from(t.dst_port)),
        protocol: Some(i64::from(t.protocol)),
        threat: INTEL_THREAT.to_string(),
        risk,
        risk_sum: risk * count.max(1),
        base_risk: risk,
        detector: Detector::Intel,
        signature: Some(format!("{} listed by {}", r.value, r.source)),
        reasons: reasons.to_string(),
        features: "[]".into(),
        ..NewAlert::blank()
    }
}

/// Risk of a signature alert from Suricata's priority (1 is the most severe).
pub fn signature_risk(severity: u8) -> i64 {
    match severity {
        1 => 90,
        2 => 70,
        3 => 50,
        _ => 30,
    }
}

/// An alert from a Suricata rule match.
pub fn signature_alert(s: &SignatureAlert, now: i64) -> NewAlert {
    let t = s.five_tuple;
    let reasons = json!({
        "signature_id": s.signature_id,
        "category": s.category,
        "suricata_severity": s.severity,
    });
    let at = seen_at(Some(&s.timestamp), now);
    let risk = signature_risk(s.severity);
    NewAlert {
        seen_at: at,
        last_seen: at,
        count: 1,
        src_ip: Some(t.src_ip.to_string()),
        src_port: Some(i64::from(t.src_port)),
        dst_ip: Some(t.dst_ip.to_string()),
        dst_port: Some(i64::from(t.dst_port)),
        protocol: Some(i64::from(t.protocol)),
        threat: SIGNATURE_THREAT.to_string(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: Detector::Signature,
        signature: Some(s.signature.clone()),
        reasons: reasons.to_string(),
        features: "[]".into(),
        ..NewAlert::blank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_timestamps_become_unix_ms() {
        assert_eq!(seen_at(Some("1970-01-01 00:00:01.500000"), 7), 1500);
        assert_eq!(seen_at(Some("not a time"), 7), 7);
        assert_eq!(seen_at(None, 7), 7);
    }

    #[test]
    fn signature_severity_maps_to_risk() {
        assert_eq!(signature_risk(1), 90);
        assert_eq!(signature_risk(3), 50);
        assert_eq!(signature_risk(0), 30);
    }
}
