//! Assets: the organisation's internal hosts, their owner, purpose and criticality. Browser-safe.
//!
//! Assets come from the inventory (people, CSV import) or are discovered in traffic: an internal
//! address (inside the configured internal networks) that is not in the inventory is added with
//! `discovered = true` and no owner, and shown as "unassigned" until someone reviews it.

use serde::{Deserialize, Serialize};

/// How much an asset matters to the business. Weights the risk of alerts that target it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

impl Criticality {
    pub const ALL: [Criticality; 4] = [Criticality::Low, Criticality::Medium, Criticality::High, Criticality::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Criticality> {
        Criticality::ALL.into_iter().find(|c| c.as_str() == s.trim().to_ascii_lowercase())
    }

    /// How an alert's risk moves when it targets an asset of this criticality: the risk moves this
    /// share of the way towards 100 (positive) or towards 0 (negative). Medium leaves it unchanged.
    pub fn risk_shift(self) -> f32 {
        match self {
            Criticality::Low => -0.15,
            Criticality::Medium => 0.0,
            Criticality::High => 0.2,
            Criticality::Critical => 0.4,
        }
    }

    /// Applies [`risk_shift`](Self::risk_shift) to a 0–100 risk.
    pub fn weigh(self, risk: f32) -> f32 {
        let s = self.risk_shift();
        let r = if s >= 0.0 { risk + (100.0 - risk) * s } else { risk * (1.0 + s) };
        r.clamp(0.0, 100.0)
    }
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub id: i64,
    pub ip: String,
    pub hostname: Option<String>,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub criticality: Criticality,
    pub tags: Vec<String>,
    /// Found in traffic and not yet reviewed by a person.
    pub discovered: bool,
    /// Unix ms of the first and latest flow seen to or from it (discovered assets).
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Asset {
    /// No owner yet (what the console calls "unassigned").
    pub fn is_unassigned(&self) -> bool {
        self.owner.as_deref().is_none_or(|o| o.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criticality_weighs_risk_towards_the_ends() {
        assert_eq!(Criticality::Medium.weigh(60.0), 60.0);
        assert_eq!(Criticality::Critical.weigh(60.0), 76.0);
        assert_eq!(Criticality::High.weigh(50.0), 60.0);
        assert_eq!(Criticality::Low.weigh(60.0), 51.0);
        assert_eq!(Criticality::Critical.weigh(100.0), 100.0);
        assert_eq!(Criticality::Low.weigh(0.0), 0.0);
    }

    #[test]
    fn criticality_round_trips_and_rejects_unknown() {
        for c in Criticality::ALL {
            assert_eq!(Criticality::parse(c.as_str()), Some(c));
        }
        assert_eq!(Criticality::parse(" HIGH "), Some(Criticality::High));
        assert_eq!(Criticality::parse("urgent"), None);
    }
}
