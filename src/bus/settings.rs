//! The `[bus]` settings.

use serde::{Deserialize, Serialize};

/// Most partitions of the stream.
pub const MAX_PARTITIONS: usize = 64;

/// The optional ingest bus (`[bus]` in the config file, `AF_BUS=nats://…` for the URL,
/// `AF_BUS__ACK_WAIT_SECS=…` for the rest). Without a URL the in-process queue serves ingest. Missing
/// keys take the defaults; unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// NATS server URLs, comma-separated (`nats://a:4222,nats://b:4222`); credentials may be in the
    /// URL (`nats://user:password@host:4222`). Unset: no bus.
    pub url: Option<String>,
    /// The JetStream stream that holds accepted batches until they are stored.
    pub stream: String,
    /// Subject prefix: instances publish parsed batches to `<subject>.batch`; sensors publish raw
    /// bodies to `<subject>.csv`, `.flows`, `.zeek` or `.suricata`.
    pub subject: String,
    /// The durable consumer every instance's scoring workers share.
    pub consumer: String,
    /// Copies of each batch in a JetStream cluster (1, 3 or 5).
    pub replicas: usize,
    /// The stream's bound: beyond it a publish is refused and the ingest request answered 503 with
    /// `Retry-After`. Stored batches leave the stream when acknowledged, so this bounds how far
    /// scoring may lag behind ingest.
    pub max_bytes: i64,
    pub max_batches: i64,
    /// A batch not stored within this many seconds is dropped from the stream (and logged by NATS).
    pub max_age_secs: u64,
    /// JetStream drops a republished batch with the same id within this window.
    pub duplicate_window_secs: u64,
    /// A batch taken and not acknowledged within this many seconds is delivered again (to any
    /// instance): the instance that took it may have died.
    pub ack_wait_secs: u64,
    /// Batches one instance takes from the stream at once.
    pub in_flight: usize,
    /// Partitions of the stream: every flow of one source host goes to one partition, and each
    /// partition is scored by one instance at a time, so the behaviour detectors see all of a host's
    /// traffic ([`super::partition`]). At most this many instances score; every instance must use the
    /// same value. Change it only while the stream is empty (`/healthz` `bus.batches` 0).
    pub partitions: usize,
    /// Take batches from the bus and score them here (`AF_BUS__CONSUME`). `false` makes an ingest
    /// gateway: it accepts and publishes, and other instances score.
    pub consume: bool,
    /// Seconds to wait for NATS at start-up and for a publish acknowledgement.
    pub timeout_secs: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            url: None,
            stream: "ANOMALYFORGE_INGEST".into(),
            subject: "anomalyforge.ingest".into(),
            consumer: "scorers".into(),
            replicas: 1,
            max_bytes: 1024 * 1024 * 1024,
            max_batches: 100_000,
            max_age_secs: 24 * 3600,
            duplicate_window_secs: 120,
            ack_wait_secs: 30,
            in_flight: 4,
            partitions: 8,
            consume: true,
            timeout_secs: 10,
        }
    }
}

impl BusConfig {
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok(&self.stream) || !name_ok(&self.consumer) {
            return Err("stream and consumer must be non-empty names of letters, digits, `_` and `-`".into());
        }
        let subject_ok = !self.subject.is_empty()
            && self
                .subject
                .split('.')
                .all(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if !subject_ok {
            return Err(format!("subject `{}` must be dot-separated tokens without wildcards", self.subject));
        }
        if ![1, 3, 5].contains(&self.replicas) {
            return Err(format!("replicas must be 1, 3 or 5, not {}", self.replicas));
        }
        if self.max_bytes < 1024 * 1024 || self.max_batches < 1 {
            return Err("max_bytes must be at least 1 MiB and max_batches at least 1".into());
        }
        if self.ack_wait_secs == 0 || self.timeout_secs == 0 || self.in_flight == 0 || self.max_age_secs == 0 {
            return Err("ack_wait_secs, timeout_secs, in_flight and max_age_secs must be at least 1".into());
        }
        if !(1..=MAX_PARTITIONS).contains(&self.partitions) {
            return Err(format!("partitions must be 1 to {MAX_PARTITIONS}, not {}", self.partitions));
        }
        if let Some(url) = &self.url {
            if url.split(',').any(|u| u.trim().is_empty()) {
                return Err(format!("url `{url}` has an empty server address"));
            }
        }
        Ok(())
    }

    /// The servers of [`BusConfig::url`], one per comma-separated entry.
    pub fn servers(&self) -> Vec<String> {
        self.url.iter().flat_map(|u| u.split(',')).map(|s| s.trim().to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        BusConfig::default().validate().unwrap();
        let bad = |c: BusConfig| c.validate().unwrap_err();
        assert!(bad(BusConfig { replicas: 2, ..Default::default() }).contains("replicas"));
        assert!(bad(BusConfig { subject: "a.>".into(), ..Default::default() }).contains("wildcards"));
        assert!(bad(BusConfig { stream: "a.b".into(), ..Default::default() }).contains("stream"));
        assert!(bad(BusConfig { url: Some("nats://a:1,".into()), ..Default::default() }).contains("empty"));
        assert!(bad(BusConfig { partitions: 0, ..Default::default() }).contains("partitions must be 1 to 64, not 0"));
        assert!(bad(BusConfig { partitions: 65, ..Default::default() }).contains("partitions"));
        let c = BusConfig { url: Some("nats://a:1, nats://b:2".into()), ..Default::default() };
        assert_eq!(c.servers(), ["nats://a:1", "nats://b:2"]);
    }
}
