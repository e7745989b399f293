//! The pipeline's handle: a queue bounded in flows, the reservations that keep memory bounded
//! (queue places, request bodies, score-only requests), and starting the workers.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::worker::{spawn_flow_writer, Worker};
use super::{Batch, BatchOutcome, PipelineError, PipelineSettings, RETRY_AFTER_SECS};
use crate::baseline::sample::SiteSample;
use crate::behaviour::Behaviour;
use crate::detection::Verdict;
use crate::drift::monitor::Monitor as DriftMonitor;
use crate::engine::slot::EngineSlot;
use crate::engine::Engine;
use crate::enrich::Enricher;
use crate::flow::Flow;
use crate::hub::LiveHub;
use crate::metrics::Metrics;
use crate::store::Db;

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

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").field("capacity", &self.capacity).field("queued", &self.queued_flows()).finish()
    }
}

impl Pipeline {
    /// Starts `settings.workers` workers on the current tokio runtime. The channel itself is
    /// unbounded, but nothing enters it without a [`QueueSlot`], so it never holds more than
    /// `ingest_queue_flows` flows (plus one oversized batch).
    pub fn start(
        engine: impl Into<EngineSlot>,
        db: Db,
        settings: &PipelineSettings,
        enricher: Arc<Enricher>,
        hub: Arc<LiveHub>,
        metrics: Arc<Metrics>,
    ) -> Pipeline {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let drift = Arc::new(std::sync::Mutex::new(DriftMonitor::default()));
        let site_sample = Arc::new(std::sync::Mutex::new(SiteSample::new(settings.site_sample_size)));
        let writer = tokio::sync::Mutex::new(());
        let db_for_flows = db.clone();
        let engine: EngineSlot = engine.into();
        let shared = Arc::new(Worker {
            engine: engine.clone(),
            db,
            enricher: enricher.clone(),
            hub,
            metrics: metrics.clone(),
            dedup_window_ms: i64::try_from(settings.dedup_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            store_flows: settings.flow_history,
            behaviour: Arc::new(std::sync::Mutex::new(Behaviour::new(settings.behaviour.clone()))),
            drift: drift.clone(),
            site_sample: site_sample.clone(),
            writer,
            flow_writer: settings.flow_history.then(|| spawn_flow_writer(db_for_flows)),
        });
        for worker in 0..settings.workers {
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
        let capacity = settings.queue_flows.clamp(1, Semaphore::MAX_PERMITS);
        let intake_kib = settings.max_inflight_bytes.div_ceil(1024).clamp(1, Semaphore::MAX_PERMITS);
        Pipeline {
            tx,
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            intake: Arc::new(Semaphore::new(intake_kib)),
            intake_kib,
            wait: settings.wait,
            metrics,
            drift,
            site_sample,
            engine,
            enricher,
            scorers: Arc::new(Semaphore::new(settings.workers.clamp(1, Semaphore::MAX_PERMITS))),
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
