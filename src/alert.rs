//! Alerts as the console shows them: one detection by the ML ensemble or a Suricata signature, with
//! its reasons and contributing features (JSON text, rendered as data).

use serde::{Deserialize, Serialize};

/// Which detector raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// The ML ensemble (risk at or above its operating threshold).
    Ml,
    /// A Suricata rule match (EVE `alert` event).
    Signature,
}

impl Detector {
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Ml => "ml",
            Detector::Signature => "signature",
        }
    }

    pub fn parse(s: &str) -> Option<Detector> {
        [Detector::Ml, Detector::Signature].into_iter().find(|d| d.as_str() == s)
    }
}

/// Severity bands of the 0–100 risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// `critical` ≥ 90, `high` ≥ 70, `medium` ≥ 40, else `low`.
    pub fn from_risk(risk: i64) -> Severity {
        match risk {
            90.. => Severity::Critical,
            70..=89 => Severity::High,
            40..=69 => Severity::Medium,
            _ => Severity::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High, Severity::Critical].into_iter().find(|v| v.as_str() == s)
    }
}

/// Threat key of alerts raised by signatures (they carry the rule text instead of a model class).
pub const SIGNATURE_THREAT: &str = "signature";

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    /// Unix milliseconds.
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
    pub src_ip: Option<String>,
    pub src_port: Option<i64>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<i64>,
    /// IANA protocol number.
    pub protocol: Option<i64>,
    /// The engine's threat key, or [`SIGNATURE_THREAT`].
    pub threat: String,
    /// 0–100.
    pub risk: i64,
    pub severity: Severity,
    /// `new` until triaged.
    pub status: String,
    pub detector: Detector,
    pub signature: Option<String>,
    /// JSON text.
    pub reasons: String,
    /// JSON text.
    pub features: String,
    pub created_at: i64,
}
