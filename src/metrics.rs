//! Counters of the live pipeline, rendered in the Prometheus text format by `GET /metrics`.
//! Plain atomics: no registry, no locks on the hot path.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Upper bounds (seconds) of the batch latency histogram.
pub const LATENCY_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
    pub skipped: AtomicU64,
    pub scored: AtomicU64,
    /// Flows scored for `POST /api/v1/score`, returned and not stored.
    pub scored_only: AtomicU64,
    pub batches: AtomicU64,
    pub batch_failures: AtomicU64,
    pub alerts_created: AtomicU64,
    pub alerts_updated: AtomicU64,
    pub detections: AtomicU64,
    /// Alerts of the anomaly layer alone silenced because their source drifted or is new.
    pub anomaly_muted: AtomicU64,
    pub replayed: AtomicU64,
    pub stream_clients: AtomicI64,
    pub stream_lagged: AtomicU64,
    /// The behaviour detectors' state after the latest batch.
    pub behaviour_tracked: AtomicU64,
    pub behaviour_evicted: AtomicU64,
    pub behaviour_state_bytes: AtomicU64,
    /// The ingest bus ([`crate::bus`]): batches this instance published, batches it took from the
    /// stream, deliveries that were repeats, repeats found already stored, and messages refused as
    /// unreadable.
    pub bus_published: AtomicU64,
    pub bus_delivered: AtomicU64,
    pub bus_redelivered: AtomicU64,
    pub bus_already_stored: AtomicU64,
    pub bus_refused: AtomicU64,
    pub bus_routed: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

/// Values that are read from elsewhere when rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub queue_depth: usize,
    pub queue_capacity: usize,
}

impl Metrics {
    /// Records the time from a batch's arrival to its commit.
    pub fn observe_batch_latency(&self, seconds: f64) {
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    /// Records the behaviour detectors' state (after each batch).
    pub fn observe_behaviour(&self, s: crate::behaviour::BehaviourStats) {
        self.behaviour_tracked.store(s.tracked as u64, Relaxed);
        self.behaviour_evicted.store(s.evicted, Relaxed);
        self.behaviour_state_bytes.store(s.state_bytes as u64, Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "anomalyforge_ingest_accepted_total",
            "Records accepted by ingest (flows and signature alerts).",
            self.accepted.load(Relaxed),
        );
        counter(
            "anomalyforge_ingest_rejected_total",
            "Records rejected by the parsers (bad lines).",
            self.rejected.load(Relaxed),
        );
        counter(
            "anomalyforge_ingest_skipped_total",
            "Records skipped (event types that are neither flows nor alerts).",
            self.skipped.load(Relaxed),
        );
        counter(
            "anomalyforge_flows_scored_total",
            "Flows scored by the detection ensemble.",
            self.scored.load(Relaxed),
        );
        counter(
            "anomalyforge_flows_scored_only_total",
            "Flows scored for POST /api/v1/score: verdicts returned, nothing stored.",
            self.scored_only.load(Relaxed),
        );
        counter("anomalyforge_batches_stored_total", "Batches scored and committed.", self.batches.load(Relaxed));
        counter(
            "anomalyforge_batches_failed_total",
            "Batches that failed to score or store (their senders got an error).",
            self.batch_failures.load(Relaxed),
        );
        counter(
            "anomalyforge_detections_total",
            "Detections (alerting flows and signature matches) before deduplication.",
            self.detections.load(Relaxed),
        );
        counter(
            "anomalyforge_anomaly_muted_total",
            "Alerts of the anomaly layer alone silenced because their source's traffic is new or drifted from the training data.",
            self.anomaly_muted.load(Relaxed),
        );
        counter("anomalyforge_alerts_created_total", "Alerts created.", self.alerts_created.load(Relaxed));
        counter(
            "anomalyforge_alerts_updated_total",
            "Existing alerts that absorbed new detections (deduplication).",
            self.alerts_updated.load(Relaxed),
        );
        counter("anomalyforge_replay_flows_total", "Flows sent by the traffic replay.", self.replayed.load(Relaxed));
        counter(
            "anomalyforge_stream_lagged_events_total",
            "Live-stream events dropped for clients that fell behind.",
            self.stream_lagged.load(Relaxed),
        );
        counter(
            "anomalyforge_bus_published_total",
            "Batches this instance published to the ingest bus (JetStream acknowledged them).",
            self.bus_published.load(Relaxed),
        );
        counter(
            "anomalyforge_bus_delivered_total",
            "Batches this instance took from the ingest bus.",
            self.bus_delivered.load(Relaxed),
        );
        counter(
            "anomalyforge_bus_redelivered_total",
            "Bus deliveries that were not the batch's first (an instance died or was too slow to acknowledge).",
            self.bus_redelivered.load(Relaxed),
        );
        counter(
            "anomalyforge_bus_already_stored_total",
            "Bus batches delivered again after they were stored: acknowledged, not stored twice.",
            self.bus_already_stored.load(Relaxed),
        );
        counter(
            "anomalyforge_bus_routed_total",
            "Sensors' bus messages this instance parsed and published to the partitions.",
            self.bus_routed.load(Relaxed),
        );
        counter(
            "anomalyforge_bus_refused_total",
            "Bus messages refused as unreadable (a bad subject or payload); they are not delivered again.",
            self.bus_refused.load(Relaxed),
        );
        counter(
            "anomalyforge_behaviour_evicted_total",
            "Host pairs and hosts the behaviour detectors evicted to stay within their memory bound.",
            self.behaviour_evicted.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP anomalyforge_queue_depth_flows Flows accepted and not yet stored.\n# TYPE anomalyforge_queue_depth_flows gauge\nanomalyforge_queue_depth_flows {}",
            g.queue_depth
        );
        let _ = writeln!(
            out,
            "# HELP anomalyforge_queue_capacity_flows Most flows the queue holds.\n# TYPE anomalyforge_queue_capacity_flows gauge\nanomalyforge_queue_capacity_flows {}",
            g.queue_capacity
        );
        let _ = writeln!(
            out,
            "# HELP anomalyforge_stream_clients Connected live-stream clients.\n# TYPE anomalyforge_stream_clients gauge\nanomalyforge_stream_clients {}",
            self.stream_clients.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP anomalyforge_behaviour_tracked Host pairs and hosts the behaviour detectors track.\n# TYPE anomalyforge_behaviour_tracked gauge\nanomalyforge_behaviour_tracked {}",
            self.behaviour_tracked.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP anomalyforge_behaviour_state_bytes Estimated memory of the behaviour detectors' state.\n# TYPE anomalyforge_behaviour_state_bytes gauge\nanomalyforge_behaviour_state_bytes {}",
            self.behaviour_state_bytes.load(Relaxed)
        );
        let name = "anomalyforge_batch_latency_seconds";
        let _ = writeln!(out, "# HELP {name} Time from a batch's arrival to its commit.\n# TYPE {name} histogram");
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", bucket.load(Relaxed));
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.latency_sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

/// The drift of every source as Prometheus gauges: the mean PSI against the active model's training
/// data and the sampled flows it is computed on, labelled by source, token and profile.
pub fn render_drift(report: &crate::drift::DriftReport) -> String {
    let mut out = String::new();
    type Gauge = (&'static str, &'static str, fn(&crate::drift::SourceDrift) -> String);
    let gauges: [Gauge; 2] = [
        (
            "anomalyforge_drift_psi",
            "Mean population stability index of a source's recent flows against the training data (>= 0.25: a different population).",
            |s| format!("{:.4}", s.psi),
        ),
        ("anomalyforge_drift_flows", "Sampled flows the drift of a source is computed on.", |s| s.flows.to_string()),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in &report.sources {
            let token = s.token_id.map(|t| t.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "{name}{{source=\"{}\",token=\"{token}\",profile=\"{}\"}} {}",
                s.source,
                s.profile.name(),
                value(s)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.accepted.fetch_add(7, Relaxed);
        m.observe_batch_latency(0.003);
        m.observe_batch_latency(0.2);
        m.observe_batch_latency(60.0);
        let text = m.render(Gauges { queue_depth: 5, queue_capacity: 100 });
        assert!(text.contains("anomalyforge_ingest_accepted_total 7\n"), "{text}");
        assert!(text.contains("anomalyforge_queue_depth_flows 5\n"));
        assert!(text.contains("anomalyforge_batch_latency_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("anomalyforge_batch_latency_seconds_bucket{le=\"0.25\"} 2\n"));
        assert!(text.contains("anomalyforge_batch_latency_seconds_bucket{le=\"30\"} 2\n"));
        assert!(text.contains("anomalyforge_batch_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("anomalyforge_batch_latency_seconds_count 3\n"));
        // Every sample line is `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, v) = line.rsplit_once(' ').unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }
}
