//! Alerts as the console shows them: one detection by the ML ensemble, a host-behaviour detector or a
//! Suricata signature, with its reasons and contributing features (JSON text, rendered as data).

use serde::{Deserialize, Serialize};

/// Which detector raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum Detector {
    /// The ML ensemble (risk at or above its operating threshold).
    Ml,
    /// A Suricata rule match (EVE `alert` event).
    Signature,
    /// A host-behaviour detector: a pattern of many connections over time (beaconing, scanning,
    /// brute force, volume).
    Behaviour,
    /// A threat-intel indicator matched the traffic's source or target ([`INTEL_THREAT`]).
    Intel,
}

impl Detector {
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Ml => "ml",
            Detector::Signature => "signature",
            Detector::Behaviour => "behaviour",
            Detector::Intel => "intel",
        }
    }

    pub const ALL: [Detector; 4] = [Detector::Ml, Detector::Signature, Detector::Behaviour, Detector::Intel];

    pub fn parse(s: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Severity bands of the 0–100 risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
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

/// Threat key of alerts raised by a threat-intel match ([`Detector::Intel`]).
pub const INTEL_THREAT: &str = "intel_match";

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
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
    /// The engine's threat key, a behaviour detector's, [`SIGNATURE_THREAT`] or [`INTEL_THREAT`].
    pub threat: String,
    /// 0–100.
    pub risk: i64,
    pub severity: Severity,
    /// `new` until triaged.
    pub status: AlertStatus,
    pub detector: Detector,
    pub signature: Option<String>,
    /// JSON text.
    pub reasons: String,
    /// JSON text.
    pub features: String,
    pub created_at: i64,
    /// ISO 3166 alpha-2 of the source address (DB-IP), when it is public and known.
    pub src_country: Option<String>,
    /// The source country's centroid (degrees).
    pub src_lat: Option<f64>,
    pub src_lon: Option<f64>,
    /// The internal asset the alert is about (the target, or an internal source).
    pub asset_id: Option<i64>,
    /// The employee report naming the source or target address, when there is one.
    pub report_id: Option<i64>,
    /// The detector's risk before asset criticality and intel were applied.
    pub base_risk: Option<i64>,
    /// Username the alert is assigned to.
    pub assignee: Option<String>,
    /// Unix ms of the first triage action that took it out of `new` (time to acknowledge).
    pub acknowledged_at: Option<i64>,
    /// Unix ms it was resolved or marked a false positive; cleared when reopened.
    pub resolved_at: Option<i64>,
    /// The incident it belongs to ([`crate::incident`]).
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// Where it came from when not from live traffic: the name of the analysed file it was imported
    /// from (`/analyze`, "import as alerts").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// Status of an alert in triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum AlertStatus {
    New,
    Acknowledged,
    Resolved,
    FalsePositive,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] =
        [AlertStatus::New, AlertStatus::Acknowledged, AlertStatus::Resolved, AlertStatus::FalsePositive];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::New => "new",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
            AlertStatus::FalsePositive => "false_positive",
        }
    }

    pub fn parse(s: &str) -> Option<AlertStatus> {
        AlertStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Still to be worked on: new detections of the same kind update it (deduplication).
    pub fn is_open(self) -> bool {
        matches!(self, AlertStatus::New | AlertStatus::Acknowledged)
    }
}

/// A status equals its stored name (`alert.status == "new"`), as it is written in the database and
/// the API.
impl PartialEq<&str> for AlertStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// `source|target|threat`: detections with the same key within the deduplication window update one
/// alert. Missing addresses are written as `-`.
pub fn dedup_key(src_ip: Option<&str>, dst_ip: Option<&str>, threat: &str) -> String {
    format!("{}|{}|{}", src_ip.unwrap_or("-"), dst_ip.unwrap_or("-"), threat)
}

/// Whether `s` has the shape of a threat key (`ddos`, `port_scan`, `c2_beacon`): 1–40 lower-case
/// ASCII letters, digits and underscores, starting with a letter.
pub fn is_threat_key(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Filters of an alert listing (the integrators' `GET /api/v1/alerts` and the console's queue).
/// Every field is optional; values are validated by [`AlertFilter::validate`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertFilter {
    /// Last seen at or after (unix ms).
    pub from: Option<i64>,
    /// Last seen before (unix ms).
    pub to: Option<i64>,
    pub status: Option<AlertStatus>,
    /// Threat key (`ddos`, `port_scan`, …, `signature`, `unknown_anomaly`).
    pub threat: Option<String>,
    pub min_risk: Option<i64>,
    /// ISO alpha-2 of the source.
    pub country: Option<String>,
    pub asset_id: Option<i64>,
    pub src_ip: Option<String>,
}

/// Why a filter or page request is invalid (names the parameter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct FilterError {
    pub param: &'static str,
    pub reason: String,
}

impl AlertFilter {
    pub fn validate(&self) -> Result<(), FilterError> {
        let bad = |param, reason: &str| Err(FilterError { param, reason: reason.to_string() });
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f > t {
                return bad("from", "must not be after `to`");
            }
        }
        if let Some(r) = self.min_risk {
            if !(0..=100).contains(&r) {
                return bad("min_risk", "must be between 0 and 100");
            }
        }
        if let Some(t) = &self.threat {
            if !is_threat_key(t) {
                return bad("threat", "must be a threat key such as `ddos` or `port_scan`");
            }
        }
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad("country", "must be a two-letter upper-case country code such as `DE`");
            }
        }
        if let Some(ip) = &self.src_ip {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return bad("src_ip", "must be an IPv4 or IPv6 address");
            }
        }
        Ok(())
    }
}

/// Where the next page starts: the last alert of this page, as `last_seen:id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCursor {
    pub last_seen: i64,
    pub id: i64,
}

impl AlertCursor {
    pub fn encode(self) -> String {
        format!("{}:{}", self.last_seen, self.id)
    }

    pub fn parse(s: &str) -> Result<AlertCursor, FilterError> {
        let bad = || FilterError { param: "cursor", reason: "must be the `next` value of a previous page".into() };
        let (a, b) = s.split_once(':').ok_or_else(bad)?;
        Ok(AlertCursor { last_seen: a.parse().map_err(|_| bad())?, id: b.parse().map_err(|_| bad())? })
    }
}

/// One page of alerts, newest (last seen) first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AlertPage {
    pub alerts: Vec<Alert>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_the_bad_parameter() {
        assert!(AlertFilter::default().validate().is_ok());
        let e = AlertFilter { min_risk: Some(101), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.param, "min_risk");
        let e = AlertFilter { from: Some(5), to: Some(1), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.param, "from");
        let e = AlertFilter { threat: Some("DROP TABLE".into()), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.param, "threat");
        assert!(AlertFilter { threat: Some("c2_beacon".into()), ..Default::default() }.validate().is_ok());
        assert!(!is_threat_key("2fast") && !is_threat_key("") && is_threat_key("scan_inbound"));
        let e = AlertFilter { country: Some("de".into()), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.param, "country");
        let e = AlertFilter { src_ip: Some("1.2.3".into()), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.param, "src_ip");
    }

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = AlertCursor { last_seen: 1_700_000_000_000, id: 42 };
        assert_eq!(AlertCursor::parse(&c.encode()), Ok(c));
        assert_eq!(AlertCursor::parse("12").unwrap_err().param, "cursor");
        assert_eq!(AlertCursor::parse("a:b").unwrap_err().param, "cursor");
    }

    #[test]
    fn dedup_keys_name_source_target_and_type() {
        assert_eq!(dedup_key(Some("1.2.3.4"), None, "ddos"), "1.2.3.4|-|ddos");
        assert!(AlertStatus::New.is_open() && !AlertStatus::Resolved.is_open());
    }
}
