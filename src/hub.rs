//! Fan-out of live events to the SOC console's streams: alerts as their batch commits, and traffic
//! summed per second. Events are serialised once and shared; a client that falls behind loses the
//! oldest events (the channel is bounded) and is told how many.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::live::{AlertEvent, CountryTraffic, LiveEvent, TrafficTick};
use crate::store::alerts::StoredAlert;
use crate::store::now_ms;

/// What one instance tells the others (through [`crate::cluster`]): alerts (id, created) stored by `from`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub from: String,
    pub received_at: i64,
    pub alerts: Vec<(i64, bool)>,
}

/// Events kept for slow clients before they lag.
pub const CHANNEL_CAPACITY: usize = 4096;

/// One serialised event: its SSE name and JSON data.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub event: &'static str,
    pub data: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    flows: u64,
    bytes: u64,
    alerting: u64,
}

#[derive(Debug)]
pub struct LiveHub {
    tx: broadcast::Sender<Arc<Frame>>,
    traffic: Mutex<HashMap<String, Counts>>,
    /// Becomes true when the server shuts down, so that open streams end (graceful shutdown waits for
    /// every connection to finish, and a stream never finishes by itself).
    closed: tokio::sync::watch::Sender<bool>,
    /// Where this instance's alerts are also sent for the other instances ([`crate::cluster`]).
    relay: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Notice>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveHub {
    pub fn new() -> LiveHub {
        LiveHub {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
            traffic: Mutex::new(HashMap::new()),
            closed: tokio::sync::watch::channel(false).0,
            relay: std::sync::OnceLock::new(),
        }
    }

    /// Sends this instance's alerts on to the other instances too (set once, on PostgreSQL).
    pub fn set_relay(&self, tx: tokio::sync::mpsc::UnboundedSender<Notice>) {
        let _ = self.relay.set(tx);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Frame>> {
        self.tx.subscribe()
    }

    /// Resolves once [`close`](Self::close) was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closed.subscribe();
        async move {
            let _ = rx.wait_for(|closed| *closed).await;
        }
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }

    fn send(&self, event: &LiveEvent) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        match serde_json::to_string(event) {
            Ok(data) => {
                let _ = self.tx.send(Arc::new(Frame { event: event.name(), data }));
            }
            Err(e) => tracing::error!(error = %e, "cannot serialise a live event"),
        }
    }

    /// Announces the alerts a batch created or updated.
    /// Alerts this instance stored: to its streams, and to the other instances.
    pub fn publish_alerts(&self, stored: &[StoredAlert], received_at: i64) {
        self.publish_local(stored, received_at);
        if let (Some(relay), false) = (self.relay.get(), stored.is_empty()) {
            let alerts = stored.iter().map(|s| (s.alert.id, s.created)).collect();
            let _ = relay.send(Notice { from: String::new(), received_at, alerts });
        }
    }

    /// Alerts to this instance's streams only (those another instance stored arrive this way).
    pub fn publish_local(&self, stored: &[StoredAlert], received_at: i64) {
        for s in stored {
            self.send(&LiveEvent::Alert(AlertEvent { created: s.created, received_at, alert: s.alert.clone() }));
        }
    }

    /// Adds scored flows of one source country to the current second.
    pub fn add_traffic(&self, country: &str, flows: u64, bytes: u64, alerting: u64) {
        let mut t = self.traffic.lock().unwrap_or_else(|e| e.into_inner());
        let c = t.entry(country.to_string()).or_default();
        c.flows += flows;
        c.bytes += bytes;
        c.alerting += alerting;
    }

    /// Sends the traffic summed since the last tick (nothing when there was none).
    pub fn tick(&self, at: i64) -> Option<TrafficTick> {
        let counts = std::mem::take(&mut *self.traffic.lock().unwrap_or_else(|e| e.into_inner()));
        if counts.is_empty() {
            return None;
        }
        let mut by_country: Vec<CountryTraffic> = counts
            .into_iter()
            .map(|(country, c)| CountryTraffic { country, flows: c.flows, bytes: c.bytes, alerting: c.alerting })
            .collect();
        by_country.sort_by(|a, b| b.flows.cmp(&a.flows).then_with(|| a.country.cmp(&b.country)));
        let tick = TrafficTick {
            at,
            flows: by_country.iter().map(|c| c.flows).sum(),
            bytes: by_country.iter().map(|c| c.bytes).sum(),
            alerting: by_country.iter().map(|c| c.alerting).sum(),
            by_country,
        };
        self.send(&LiveEvent::Traffic(tick.clone()));
        Some(tick)
    }

    /// Ticks once per second for the life of the process.
    pub fn spawn_ticker(self: &Arc<Self>) {
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                let Some(hub) = hub.upgrade() else { break };
                let now = now_ms();
                hub.tick(now - now.rem_euclid(1000) - 1000);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_is_summed_per_second_and_reset() {
        let hub = LiveHub::new();
        let mut rx = hub.subscribe();
        hub.add_traffic("DE", 10, 1000, 2);
        hub.add_traffic("US", 30, 50, 0);
        hub.add_traffic("DE", 5, 10, 1);
        let tick = hub.tick(7000).unwrap();
        assert_eq!((tick.flows, tick.bytes, tick.alerting), (45, 1060, 3));
        assert_eq!(tick.by_country[0].country, "US", "busiest first");
        assert_eq!(tick.by_country[1], CountryTraffic { country: "DE".into(), flows: 15, bytes: 1010, alerting: 3 });
        assert!(hub.tick(8000).is_none(), "nothing new, nothing sent");
        let frame = rx.try_recv().unwrap();
        assert_eq!(frame.event, "traffic");
        let back: LiveEvent = serde_json::from_str(&frame.data).unwrap();
        assert_eq!(back, LiveEvent::Traffic(tick));
        assert!(rx.try_recv().is_err());
    }
}
