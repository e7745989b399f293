//! The site's own normal: what "learn this network's normal" did, in types the browser can show.
//!
//! The models learned one lab's traffic. Every network's normal differs, and on a network whose
//! traffic drifted from the lab's the anomaly layer is silenced ([`crate::drift`]) and the classifier
//! raises more false alerts. The pipeline keeps a bounded, uniform sample of the flows it scored
//! ([`sample`]); a refit ([`refit`]) fits the anomaly models again on that sample (without the flows
//! that alerted, the addresses confirmed malicious, and with the flows analysts marked as false
//! positives as benign rows), sets the anomaly layer's threshold and raises the classifier's
//! operating threshold where this network's normal flows reach it, and makes the sample the drift
//! reference. The result is a new model version with before/after figures, switched to under the same
//! not-worse rule as a retrain ([`crate::model_version::compare`]).

use serde::{Deserialize, Serialize};

use crate::feature_profile::FeatureProfile;

#[cfg(feature = "server")]
pub mod logs;
#[cfg(feature = "server")]
pub mod refit;
#[cfg(feature = "server")]
pub mod sample;
#[cfg(feature = "server")]
pub mod shared;

/// What a refit did to one profile, measured on held-out rows of the site's sample (never fitted on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileBaseline {
    pub profile: FeatureProfile,
    /// Sampled flows scored with this profile.
    pub sampled: u64,
    /// Left out because they alerted (a detection, or a host pair a behaviour detector flagged).
    pub excluded_alerted: u64,
    /// Left out because an address is confirmed malicious (employee reports confirmed by the SOC).
    pub excluded_malicious: u64,
    /// Flows of alerts analysts marked as false positives, used as benign rows.
    pub false_positives: u64,
    /// Rows the anomaly models were fitted on, rows their thresholds were set on, rows held out for
    /// the figures below.
    pub fit_rows: u64,
    /// The version's benign training rows fitted with them (0 when its training data was not at hand).
    #[serde(default)]
    pub lab_benign_rows: u64,
    pub calibration_rows: u64,
    pub holdout_rows: u64,
    pub operating_threshold_before: f64,
    pub operating_threshold_after: f64,
    /// The anomaly layer's threshold (None: no anomaly layer).
    pub anomaly_threshold_before: Option<f64>,
    pub anomaly_threshold_after: Option<f64>,
    /// Mean PSI of the sample against the version's reference before the refit: at or above
    /// [`crate::drift::SIGNIFICANT`] the pipeline silenced the anomaly layer for this traffic.
    pub drift_psi_before: f64,
    /// Share of the held-out normal flows the version's ensemble (classifier and anomaly layer)
    /// alerts on, before and after: the false positives the refit is for.
    pub holdout_alert_rate_before: f64,
    pub holdout_alert_rate_after: f64,
    /// The same before the refit as the pipeline alerted: with the anomaly layer silenced when the
    /// sample drifted (after the refit the sample is the reference, so nothing is silenced).
    pub holdout_alerting_before: f64,
    /// Analysts' false positives that still alert.
    pub false_positives_alerting_before: u64,
    pub false_positives_alerting_after: u64,
}

/// A refit, recorded in the new version's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteBaseline {
    /// RFC 3339 UTC.
    pub learned_at: String,
    /// The model version it started from.
    pub base_version: String,
    /// Where the sample came from ("the pipeline's sample of 12,000 flows", or the files).
    pub sample: String,
    pub profiles: Vec<ProfileBaseline>,
    /// Profiles left as they were, and why (too few rows).
    pub unchanged: Vec<String>,
}

/// One behaviour-detector threshold as this network's analysts' feedback set it ("learn this
/// network's normal" fits them; a version carries them in [`crate::detection::ModelManifest`] and the
/// detectors use them while it runs). Every detector alerts when its measure reaches its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourThreshold {
    /// The setting as in the config file: `beacon.min_score`, `scan.horizontal_hosts`, …
    pub setting: String,
    /// The configured value (the feedback only ever raises it).
    pub configured: f64,
    /// The value the detectors use with this version.
    pub learned: f64,
    /// The most the feedback may raise it to (past it, suppress the host pair or change the config).
    pub ceiling: f64,
    /// Findings of this setting analysts marked as false positives, and how many of them now stay
    /// under the threshold.
    pub false_positives: u64,
    pub false_positives_silenced: u64,
    /// Findings of this setting analysts acknowledged or resolved: the threshold stays at or under
    /// the smallest of their measures, so each would still be raised.
    pub kept_detections: u64,
    /// Highest measure among the false positives, lowest among the kept detections.
    pub false_positive_peak: Option<f64>,
    pub kept_floor: Option<f64>,
}

/// The pipeline's sample of one profile, for the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleCount {
    pub profile: FeatureProfile,
    /// Flows scored with this profile since the server started.
    pub seen: u64,
    /// Flows kept (at most the sample size).
    pub kept: u64,
}

/// What "learn this network's normal" would work with now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteSampleInfo {
    /// Empty when ingest is off.
    pub profiles: Vec<SampleCount>,
    pub sample_size: u64,
    pub min_rows: u64,
    pub schedule_hours: u64,
}

/// Settings of the site baseline (`[baseline]` in the config file, `AF_BASELINE__…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaselineConfig {
    /// Flows the pipeline keeps per feature profile (a uniform sample of everything it scored).
    pub sample_size: usize,
    /// Fewest usable rows of a profile before its anomaly models are refitted (fewer: unchanged).
    pub min_rows: usize,
    /// Hours between scheduled refits (0 = only when an admin starts one).
    pub schedule_hours: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig { sample_size: 10_000, min_rows: 2_000, schedule_hours: 0 }
    }
}

impl BaselineConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.min_rows < 400 {
            return Err(
                "baseline.min_rows must be at least 400 (a quarter is held out, a quarter sets thresholds)".into()
            );
        }
        if self.sample_size < self.min_rows {
            return Err(format!(
                "baseline.sample_size ({}) must be at least baseline.min_rows ({})",
                self.sample_size, self.min_rows
            ));
        }
        Ok(())
    }
}
