//! Demo mode's generated history (browser-safe description). With `AF_DEMO=true` a fresh database
//! starts with 30 days of history, so the executive dashboard has trends and the console has a past
//! from the first minute: alerts with their triage (response times shaped like a real team's),
//! employee reports, and incidents on the days an attack burst, contained and resolved. It is written
//! through the same store and rollup code as real data ([`seed`]), only in demo mode, and every page
//! that shows it says it is generated ([`DemoHistory::notice`]).

#[cfg(feature = "server")]
pub mod generate;
#[cfg(feature = "server")]
pub mod seed;

use serde::{Deserialize, Serialize};

/// What demo mode generated, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoHistory {
    pub seeded_at: i64,
    /// The generated history spans `from ≤ t < to` (unix ms); everything after `to` is live.
    pub from: i64,
    pub to: i64,
    pub alerts: i64,
    pub incidents: i64,
    pub reports: i64,
}

impl DemoHistory {
    /// The sentence pages show above data that includes it.
    pub fn notice(&self) -> String {
        format!(
            "Demo data: {} alerts, {} incidents and {} employee reports from {} to {} are generated history, not detections; everything after that comes from the replay of recorded traffic.",
            crate::charts::format_number(self.alerts as f64),
            self.incidents,
            self.reports,
            crate::time::utc_minute(self.from),
            crate::time::utc_minute(self.to),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_says_what_is_generated_and_until_when() {
        let h = DemoHistory {
            seeded_at: 1_764_003_600_000,
            from: 1_764_000_000_000 - 30 * 86_400_000,
            to: 1_764_000_000_000,
            alerts: 2400,
            incidents: 3,
            reports: 71,
        };
        assert_eq!(
            h.notice(),
            "Demo data: 2,400 alerts, 3 incidents and 71 employee reports from 2025-10-25 16:00 UTC to 2025-11-24 16:00 UTC are generated history, not detections; everything after that comes from the replay of recorded traffic."
        );
    }
}
