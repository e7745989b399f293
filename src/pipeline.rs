//! The live pipeline between ingest and storage: a bounded queue of parsed batches, scored in batches
//! on blocking threads by the [`Engine`] loaded once at start-up, and persisted (alerts + ingest
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
//! Not here yet (issue 4): enrichment (geo, assets, intel, playbooks), deduplication, the live stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::alert::{Detector, SIGNATURE_THREAT};
use crate::config::Config;
use crate::detection::Verdict;
use crate::engine::Engine;
use crate::flow::Flow;
use crate::ingest::{time, SignatureAlert};
use crate::store::alerts::{BatchStats, NewAlert};
use crate::store::{now_ms, Db, StoreError};

/// Where a batch came from (the `source` of its statistics row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Csv,
    Flows,
    Zeek,
    Suricata,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Csv => "csv",
            Source::Flows => "flows",
            Source::Zeek => "zeek",
            Source::Suricata => "suricata",
        }
    }
}

/// One parsed batch.
#[derive(Debug, Clone)]
pub struct Batch {
    pub source: Source,
    /// The API token that sent it.
    pub token_id: Option<i64>,
    pub flows: Vec<Flow>,
    pub signatures: Vec<SignatureAlert>,
    /// Records the parser rejected (reported to the sender, counted here).
    pub rejected: usize,
    pub skipped: usize,
}

/// What became of a stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Flows scored (always every flow of the batch).
    pub scored: usize,
    /// Alerts stored: flows at or above the operating threshold plus signature alerts.
    pub alerts: usize,
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
    Store(#[from] StoreError),
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
    pub fn start(engine: Arc<Engine>, db: Db, config: &Config) -> Pipeline {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for worker in 0..config.ingest_workers {
            let (rx, engine, db) = (rx.clone(), engine.clone(), db.clone());
            tokio::spawn(async move {
                loop {
                    let job = rx.lock().await.recv().await;
                    let Some(job) = job else { break };
                    let result = process(&engine, &db, job.batch).await;
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
        }
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

/// Scores a batch on a blocking thread, then stores its alerts and statistics in one transaction.
async fn process(engine: &Arc<Engine>, db: &Db, batch: Batch) -> Result<BatchOutcome, PipelineError> {
    let engine = engine.clone();
    let started = Instant::now();
    let (batch, verdicts) = tokio::task::spawn_blocking(move || {
        let verdicts = engine.score_batch(&batch.flows);
        (batch, verdicts)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "scoring task failed");
        PipelineError::Scoring(e.to_string())
    })?;
    let score_ms = started.elapsed().as_millis() as i64;
    if verdicts.len() != batch.flows.len() {
        return Err(PipelineError::Scoring(format!("{} verdicts for {} flows", verdicts.len(), batch.flows.len())));
    }
    let now = now_ms();
    let built = Instant::now();
    let mut alerts: Vec<NewAlert> = batch
        .flows
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.alert)
        .map(|(f, v)| ml_alert(f, v, now))
        .collect();
    alerts.extend(batch.signatures.iter().map(|s| signature_alert(s, now)));
    let stats = BatchStats {
        source: batch.source.as_str().to_string(),
        token_id: batch.token_id,
        accepted: (batch.flows.len() + batch.signatures.len()) as i64,
        rejected: batch.rejected as i64,
        skipped: batch.skipped as i64,
        scored: verdicts.len() as i64,
        score_ms,
    };
    let build_ms = built.elapsed().as_millis() as u64;
    let storing = Instant::now();
    let stored = db.persist_batch(&alerts, &stats).await?;
    let store_ms = storing.elapsed().as_millis() as u64;
    tracing::debug!(
        source = stats.source,
        flows = batch.flows.len(),
        signatures = batch.signatures.len(),
        alerts = stored,
        score_ms,
        build_ms,
        store_ms,
        total_ms = started.elapsed().as_millis() as u64,
        "batch stored"
    );
    Ok(BatchOutcome { scored: verdicts.len(), alerts: stored })
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
    });
    NewAlert {
        seen_at: seen_at(flow.timestamp.as_deref(), now),
        src_ip: t.map(|t| t.src_ip.to_string()),
        src_port: t.map(|t| i64::from(t.src_port)),
        dst_ip: t.map(|t| t.dst_ip.to_string()),
        dst_port: t.map(|t| i64::from(t.dst_port)),
        protocol: t.map(|t| i64::from(t.protocol)),
        threat: v.class.name().to_string(),
        risk: v.risk.round() as i64,
        detector: Detector::Ml,
        signature: None,
        reasons: reasons.to_string(),
        features: serde_json::to_string(&v.top_features).unwrap_or_else(|_| "[]".into()),
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
    NewAlert {
        seen_at: seen_at(Some(&s.timestamp), now),
        src_ip: Some(t.src_ip.to_string()),
        src_port: Some(i64::from(t.src_port)),
        dst_ip: Some(t.dst_ip.to_string()),
        dst_port: Some(i64::from(t.dst_port)),
        protocol: Some(i64::from(t.protocol)),
        threat: SIGNATURE_THREAT.to_string(),
        risk: signature_risk(s.severity),
        detector: Detector::Signature,
        signature: Some(s.signature.clone()),
        reasons: reasons.to_string(),
        features: "[]".into(),
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
