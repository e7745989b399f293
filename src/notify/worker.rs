//! The delivery worker: every `poll_ms` it sums up held deliveries into digests, claims the due
//! ones (with a lease, so a second worker on the same database skips them), sends each and records
//! the outcome. A failure is retried after `retry_base_secs`, doubling each time (at most 15
//! minutes), until `max_attempts`; then the delivery is `failed` with the last error, on the admin
//! page.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::send::{Sender, SmtpConfig};
use crate::store::{now_ms, Db};

/// `[notify]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Run the delivery worker (`AF_NOTIFY__ENABLED`, default true).
    pub enabled: bool,
    /// The address people open AnomalyForge at (`https://soc.example.com`): notifications link to the
    /// alert or incident there. Without it they carry the path only.
    pub public_url: Option<String>,
    /// How often the worker looks for due deliveries.
    pub poll_ms: u64,
    /// How long a delivery held over a channel's limit waits before the digest sums it up.
    pub hold_secs: u64,
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles it.
    pub retry_base_secs: u64,
    /// The SMTP server email channels send through.
    pub smtp: Option<SmtpConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            enabled: true,
            public_url: None,
            poll_ms: 1_000,
            hold_secs: 60,
            max_attempts: 6,
            retry_base_secs: 10,
            smtp: None,
        }
    }
}

impl NotifyConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(u) = &self.public_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(format!("notify.public_url: `{u}` is not an http(s) URL"));
            }
        }
        if self.poll_ms == 0 || self.max_attempts == 0 {
            return Err("notify.poll_ms and notify.max_attempts must be at least 1".into());
        }
        Ok(())
    }

    /// When attempt `attempts` (1 for the first) failed at `now`: the next try, or `None` when it was
    /// the last.
    pub fn retry_at(&self, attempts: i64, now: i64) -> Option<i64> {
        if attempts >= i64::from(self.max_attempts) {
            return None;
        }
        let base = i64::try_from(self.retry_base_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let delay = base.saturating_mul(1 << (attempts - 1).clamp(0, 20)).min(15 * 60_000);
        Some(now + delay)
    }
}

/// Deliveries sent per pass, at most.
const BATCH: i64 = 20;
/// How long a claimed delivery is reserved for its sender.
const LEASE_MS: i64 = 60_000;

/// One pass: digests, then the due deliveries. Returns how many were attempted.
pub async fn pass(db: &Db, sender: &Sender, cfg: &NotifyConfig) -> crate::store::Result<usize> {
    let now = now_ms();
    let hold_ms = i64::try_from(cfg.hold_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let digests = db.digest_held(now, hold_ms).await?;
    if digests > 0 {
        tracing::info!(digests, "held notifications summed up");
    }
    let due = db.claim_due(now, now + LEASE_MS, BATCH).await?;
    for d in &due {
        let outcome = sender.send(d, now_ms() / 1000).await;
        let at = now_ms();
        let attempts = d.delivery.attempts + 1;
        match &outcome {
            Ok(()) => {
                tracing::info!(delivery = d.delivery.id, channel = %d.channel, event = %d.delivery.event, attempts, "notification sent")
            }
            Err(e) => {
                tracing::warn!(delivery = d.delivery.id, channel = %d.channel, error = %e, attempts, "notification failed")
            }
        }
        db.record_attempt(d.delivery.id, at, outcome.map_err(|e| (e, cfg.retry_at(attempts, at)))).await?;
    }
    Ok(due.len())
}

/// Runs passes every `poll_ms` until `stop` resolves.
pub async fn run(db: Db, cfg: NotifyConfig, stop: impl std::future::Future<Output = ()>) {
    let sender = Sender::new(cfg.smtp.clone(), cfg.public_url.clone());
    let mut every = tokio::time::interval(Duration::from_millis(cfg.poll_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = every.tick() => {
                if let Err(e) = pass(&db, &sender, &cfg).await {
                    tracing::error!(error = %e, "notification pass failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stop() {
        let cfg = NotifyConfig { max_attempts: 4, retry_base_secs: 10, ..NotifyConfig::default() };
        assert_eq!(cfg.retry_at(1, 0), Some(10_000));
        assert_eq!(cfg.retry_at(2, 0), Some(20_000));
        assert_eq!(cfg.retry_at(3, 0), Some(40_000));
        assert_eq!(cfg.retry_at(4, 0), None, "the fourth was the last");
        let slow = NotifyConfig { max_attempts: 30, retry_base_secs: 600, ..NotifyConfig::default() };
        assert_eq!(slow.retry_at(10, 0), Some(15 * 60_000), "capped at 15 minutes");
    }
}
