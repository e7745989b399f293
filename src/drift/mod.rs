//! Drift: how far the traffic a source sends is from the data the models learned from, said out loud.
//! Browser-safe types and the arithmetic; the reference is built at training time
//! ([`reference`]) and the pipeline keeps a [`monitor::Monitor`] per model version.
//!
//! Each feature of a profile has bins cut at the deciles of the training rows (ties merged) plus one
//! bin for "missing". A source's recent flows fill the same bins, and the population stability index
//! `PSI = Σ (a − e) · ln(a / e)` compares the two shares per feature. The usual reading, used here:
//! below 0.1 the traffic looks like the training data, 0.1–0.25 it has moved, above 0.25 it is a
//! different population, and a per-flow model's scores on it are not what its evaluation promised
//! (on the shared real-network Zeek logs the conn profile scores far above 0.25; the 2017 layout of
//! CICFlowMeter, which gave 17.6 % benign false positives, drifts too).

use crate::feature_profile::FeatureProfile;
use serde::{Deserialize, Serialize};

#[cfg(feature = "server")]
pub mod monitor;
#[cfg(feature = "server")]
pub mod reference;

/// Deciles: a bin holds about a tenth of the training rows.
pub const BINS: usize = 10;
/// PSI at which a source has moved.
pub const MODERATE: f64 = 0.1;
/// PSI at which a source is a different population.
pub const SIGNIFICANT: f64 = 0.25;
/// Sampled flows a source needs before its drift is judged.
pub const MIN_FLOWS: u64 = 500;
/// Share floor of a bin in the PSI (an empty bin would make it infinite).
const FLOOR: f64 = 1e-4;

/// One feature's bins on the training rows: `edges` are the cut points (strictly increasing),
/// `expected` the share of training rows per bin: `edges.len() + 1` value bins, then "missing".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureBins {
    pub feature: String,
    pub edges: Vec<f64>,
    pub expected: Vec<f64>,
}

impl FeatureBins {
    /// The bin of a value (`None`: the missing bin).
    pub fn bin(&self, v: Option<f32>) -> usize {
        match v {
            Some(v) if v.is_finite() => self.edges.partition_point(|&e| e <= v as f64),
            _ => self.edges.len() + 1,
        }
    }

    pub fn bins(&self) -> usize {
        self.edges.len() + 2
    }
}

/// The training data's distribution of one profile's features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileReference {
    /// Training rows it was computed on.
    pub rows: u64,
    pub features: Vec<FeatureBins>,
}

/// The population stability index of observed bin counts against expected shares.
pub fn psi(expected: &[f64], counts: &[u64]) -> f64 {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return 0.0;
    }
    expected
        .iter()
        .zip(counts)
        .map(|(&e, &c)| {
            let (e, a) = (e.max(FLOOR), (c as f64 / n as f64).max(FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// How far a source is from the training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftLevel {
    /// Not enough flows yet to say.
    Learning,
    Stable,
    Moderate,
    Significant,
}

impl DriftLevel {
    pub fn of(psi: f64, flows: u64) -> DriftLevel {
        if flows < MIN_FLOWS {
            DriftLevel::Learning
        } else if psi >= SIGNIFICANT {
            DriftLevel::Significant
        } else if psi >= MODERATE {
            DriftLevel::Moderate
        } else {
            DriftLevel::Stable
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DriftLevel::Learning => "learning",
            DriftLevel::Stable => "stable",
            DriftLevel::Moderate => "moderate",
            DriftLevel::Significant => "significant",
        }
    }

    /// What it means, for the page.
    pub fn words(self) -> &'static str {
        match self {
            DriftLevel::Learning => "not enough traffic yet to compare",
            DriftLevel::Stable => "looks like what the models learned",
            DriftLevel::Moderate => "has moved away from what the models learned: watch its false alerts",
            DriftLevel::Significant => {
                "does not look like what the models learned: expect more false alerts and missed attacks from the per-flow models (the behaviour detectors do not depend on it)"
            }
        }
    }
}

/// One source's drift: a sensor (its API token) sending one format, scored with one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceDrift {
    /// `csv`, `zeek`, `suricata`, `flows` or `replay`.
    pub source: String,
    pub token_id: Option<i64>,
    /// The token's name, filled in for the page.
    #[serde(default)]
    pub token_name: Option<String>,
    pub profile: FeatureProfile,
    /// Sampled flows in the window the PSI is computed on.
    pub flows: u64,
    /// Mean PSI over the profile's features.
    pub psi: f64,
    pub level: DriftLevel,
    /// The features that moved most, with their PSI, largest first.
    pub top: Vec<(String, f64)>,
    /// Unix ms of the last flow seen.
    pub last_seen: i64,
}

impl SourceDrift {
    /// "zeek-sensor-1 (zeek)", or "zeek" without a token.
    pub fn label(&self) -> String {
        match (&self.token_name, self.token_id) {
            (Some(n), _) => format!("{n} ({})", self.source),
            (None, Some(id)) => format!("token #{id} ({})", self.source),
            (None, None) => self.source.clone(),
        }
    }
}

/// Every source's drift against the active model version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub model_version: String,
    pub sources: Vec<SourceDrift>,
}

impl DriftReport {
    /// Sources that are a different population from the training data.
    pub fn significant(&self) -> impl Iterator<Item = &SourceDrift> {
        self.sources.iter().filter(|s| s.level == DriftLevel::Significant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fall_in_the_bin_their_edges_say() {
        let b = FeatureBins { feature: "x".into(), edges: vec![0.0, 10.0], expected: vec![0.0, 0.5, 0.5, 0.0] };
        assert_eq!(
            (b.bin(Some(-1.0)), b.bin(Some(0.0)), b.bin(Some(9.9)), b.bin(Some(10.0)), b.bin(Some(1e9))),
            (0, 1, 1, 2, 2)
        );
        assert_eq!((b.bin(None), b.bin(Some(f32::NAN)), b.bins()), (3, 3, 4));
    }

    #[test]
    fn psi_is_zero_for_the_same_shares_and_grows_with_the_shift() {
        let e = [0.25, 0.25, 0.25, 0.25];
        assert!(psi(&e, &[250, 250, 250, 250]).abs() < 1e-12);
        let small = psi(&e, &[280, 240, 240, 240]);
        let large = psi(&e, &[700, 100, 100, 100]);
        assert!(small > 0.0 && small < MODERATE, "{small}");
        assert!(large > SIGNIFICANT, "{large}");
        assert_eq!(psi(&e, &[0, 0, 0, 0]), 0.0);
    }

    #[test]
    fn a_level_needs_enough_flows() {
        assert_eq!(DriftLevel::of(5.0, MIN_FLOWS - 1), DriftLevel::Learning);
        assert_eq!(DriftLevel::of(0.05, MIN_FLOWS), DriftLevel::Stable);
        assert_eq!(DriftLevel::of(0.2, MIN_FLOWS), DriftLevel::Moderate);
        assert_eq!(DriftLevel::of(0.3, MIN_FLOWS), DriftLevel::Significant);
    }
}
