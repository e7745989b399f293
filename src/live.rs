//! What the live stream (`GET /api/v1/stream`, server-sent events) sends to the SOC console.
//! Browser-safe: the hydrated client decodes the same types.

use serde::{Deserialize, Serialize};

use crate::alert::Alert;

/// One message of the live stream. The SSE event name is [`LiveEvent::name`]; the data is this value
/// as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// Nearly every event is an alert, so boxing it would allocate per event to shrink the rare others.
#[allow(clippy::large_enum_variant)]
pub enum LiveEvent {
    /// An alert was created or updated (deduplication) by a stored batch.
    Alert(AlertEvent),
    /// Traffic scored in one second.
    Traffic(TrafficTick),
    /// This client fell behind and missed `skipped` events (it should reload the queue).
    Lagged { skipped: u64 },
}

impl LiveEvent {
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::Alert(_) => "alert",
            LiveEvent::Traffic(_) => "traffic",
            LiveEvent::Lagged { .. } => "lagged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// `false` when an existing alert grew (count, last seen, maybe risk).
    pub created: bool,
    /// Unix ms at which the server received the batch that caused it (for latency measurements).
    pub received_at: i64,
    pub alert: Alert,
}

/// Flows scored during one second, by source country.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficTick {
    /// Unix ms of the start of the second.
    pub at: i64,
    pub flows: u64,
    pub bytes: u64,
    /// Flows the ensemble alerted on.
    pub alerting: u64,
    pub by_country: Vec<CountryTraffic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryTraffic {
    /// ISO 3166 alpha-2, or `ZZ` for unknown and private addresses.
    pub country: String,
    pub flows: u64,
    pub bytes: u64,
    pub alerting: u64,
}

/// Slowest and fastest replay speeds (replay seconds per wall-clock second).
pub const REPLAY_SPEED_RANGE: (f64, f64) = (0.1, 100_000.0);

/// The state of the traffic replay, as /admin shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayStatus {
    pub running: bool,
    /// Replay-clock seconds per wall-clock second.
    pub speed: f64,
    /// Flows sent to the pipeline since the server started.
    pub sent: u64,
    /// Completed passes over the recording.
    pub loops: u64,
    /// Position in the current pass.
    pub position: u64,
    /// Flows in the recording (0 until it is first loaded).
    pub total: u64,
    /// The recording replayed (file name).
    pub file: String,
    /// Why the replay stopped, if it stopped on an error.
    pub last_error: Option<String>,
}
