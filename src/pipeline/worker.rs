//! Scoring and storing one batch: the engine on a blocking thread, the host-behaviour and drift
//! state across batches, one transaction per batch (one writer at a time), then the live stream and
//! the metrics; and the flow history's own writer.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::rows::prepare;
use super::{Batch, BatchOutcome, PipelineError, Source};
use crate::baseline::sample::SiteSample;
use crate::behaviour::Behaviour;
use crate::drift::monitor::Monitor as DriftMonitor;
use crate::engine::slot::EngineSlot;
use crate::engine::Engine;
use crate::enrich::Enricher;
use crate::flow::Flow;
use crate::hub::LiveHub;
use crate::metrics::Metrics;
use crate::store::alerts::BatchStats;
use crate::store::flows::FlowBatch;
use crate::store::Db;

/// What the workers share.
pub(super) struct Worker {
    /// Read once per batch: a model switch ([`crate::model_registry`]) takes effect between batches.
    pub(super) engine: EngineSlot,
    pub(super) db: Db,
    pub(super) enricher: Arc<Enricher>,
    pub(super) hub: Arc<LiveHub>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) dedup_window_ms: i64,
    /// Store every scored flow for hunting (`[flows] enabled`).
    pub(super) store_flows: bool,
    /// The host-behaviour detectors' state across batches, fed one batch at a time.
    pub(super) behaviour: Arc<std::sync::Mutex<Behaviour>>,
    /// How far each source's traffic is from the active model's training data.
    pub(super) drift: Arc<std::sync::Mutex<DriftMonitor>>,
    /// A uniform sample of the flows scored, for "learn this network's normal".
    pub(super) site_sample: Arc<std::sync::Mutex<SiteSample>>,
    /// One batch is written at a time (see the module docs).
    pub(super) writer: tokio::sync::Mutex<()>,
    /// Where the scored flows go for the flow history (`None` when it is off).
    pub(super) flow_writer: Option<mpsc::Sender<FlowBatch>>,
}

impl Worker {
    /// Scores a batch on a blocking thread, enriches and merges its detections, stores everything in
    /// one transaction, then announces the result.
    pub(super) async fn process(&self, batch: Batch) -> Result<BatchOutcome, PipelineError> {
        let started = Instant::now();
        for (id, _) in &batch.bus_ids {
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
        prepared.persist.bus_batches = batch.bus_ids.iter().map(|(id, n)| (id.clone(), *n as i64)).collect();
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
pub(super) fn spawn_flow_writer(db: Db) -> mpsc::Sender<FlowBatch> {
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
