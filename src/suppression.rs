//! Suppression rules: detections of a known-noisy source, type or asset (or a combination) are
//! counted on the rule instead of becoming alerts. Browser-safe.

use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_REASON: usize = 500;
/// The longest a rule may last when it expires (one year).
pub const MAX_HOURS: u32 = 8760;

/// A stored rule. Every criterion that is set must match; at least one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub id: i64,
    pub src_ip: Option<String>,
    pub threat: Option<String>,
    /// The internal asset's address.
    pub asset_ip: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created_at: i64,
    /// Unix ms; `None` = until someone expires or deletes it.
    pub expires_at: Option<i64>,
    /// Detections suppressed so far, and when the latest was seen.
    pub hits: i64,
    pub last_hit: Option<i64>,
}

impl Suppression {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.expires_at.is_none_or(|e| e > now_ms)
    }

    pub fn matches(&self, src_ip: Option<&str>, threat: &str, asset_ip: Option<&str>) -> bool {
        self.src_ip.as_deref().is_none_or(|s| Some(s) == src_ip)
            && self.threat.as_deref().is_none_or(|t| t == threat)
            && self.asset_ip.as_deref().is_none_or(|a| Some(a) == asset_ip)
    }

    /// "source 203.0.113.7 · type port_scan" for lists and messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.src_ip {
            parts.push(format!("source {s}"));
        }
        if let Some(t) = &self.threat {
            parts.push(format!("type {t}"));
        }
        if let Some(a) = &self.asset_ip {
            parts.push(format!("asset {a}"));
        }
        parts.join(" · ")
    }
}

/// The rules as the SOC's page lists them, split into active and expired at the server's clock
/// (`now`, unix ms), so the browser never decides with its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionList {
    pub now: i64,
    /// In force, newest first.
    pub active: Vec<Suppression>,
    /// Expired (they keep their counts), newest first.
    pub expired: Vec<Suppression>,
}

impl SuppressionList {
    pub fn split(rules: Vec<Suppression>, now: i64) -> SuppressionList {
        let (active, expired) = rules.into_iter().partition(|r| r.is_active(now));
        SuppressionList { now, active, expired }
    }
}

/// The threat types a rule can name, as `(key, title)`: every attack the classifier predicts, then
/// Suricata signature alerts and anomalies no attack class explains.
pub fn threat_choices() -> Vec<(&'static str, &'static str)> {
    crate::threat::Threat::ALL
        .iter()
        .filter(|t| t.is_attack())
        .map(|t| (t.name(), t.title()))
        .chain(crate::threat::BehaviourThreat::ALL.map(|t| (t.name(), t.title())))
        .chain([
            (crate::alert::SIGNATURE_THREAT, "Suricata signature alert"),
            (crate::alert::INTEL_THREAT, "Threat-intel match"),
            (crate::playbook::UNKNOWN_ANOMALY, "Unknown anomaly (no attack class)"),
        ])
        .collect()
}

/// A validated new rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSuppression {
    pub src_ip: Option<String>,
    pub threat: Option<String>,
    pub asset_ip: Option<String>,
    pub reason: String,
    pub expires_in_hours: Option<u32>,
}

/// Checks a rule from a form. Empty criteria are unset; `expires_in_hours` empty means no expiry.
pub fn validate_suppression(
    src_ip: &str,
    threat: &str,
    asset_ip: &str,
    reason: &str,
    expires_in_hours: &str,
) -> Result<NewSuppression, FieldError> {
    let ip = |field: &str, raw: &str| -> Result<Option<String>, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse::<std::net::IpAddr>().map(|ip| Some(ip.to_string())).map_err(|_| {
            FieldError::new(
                field,
                format!("`{}` is not an IPv4 or IPv6 address.", raw.chars().take(45).collect::<String>()),
            )
        })
    };
    let src_ip = ip("src_ip", src_ip)?;
    let asset_ip = ip("asset_ip", asset_ip)?;
    let threat = threat.trim().to_ascii_lowercase();
    if threat.len() > 40 || !threat.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(FieldError::new("threat", "A threat type is a key such as port_scan or ddos."));
    }
    let threat = (!threat.is_empty()).then_some(threat);
    if src_ip.is_none() && threat.is_none() && asset_ip.is_none() {
        return Err(FieldError::new(
            "src_ip",
            "Give a source, a threat type or an asset: a rule without any would hide every alert.",
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(FieldError::new("reason", "Say why these alerts are noise; the next analyst will read it."));
    }
    if reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
        return Err(FieldError::new("reason", format!("Use at most {MAX_REASON} characters on one line.")));
    }
    let hours = expires_in_hours.trim();
    let expires_in_hours = if hours.is_empty() {
        None
    } else {
        Some(hours.parse::<u32>().ok().filter(|h| (1..=MAX_HOURS).contains(h)).ok_or_else(|| {
            FieldError::new(
                "expires_in_hours",
                format!("Enter a whole number of hours from 1 to {MAX_HOURS}, or leave it empty."),
            )
        })?)
    };
    Ok(NewSuppression { src_ip, threat, asset_ip, reason: reason.to_string(), expires_in_hours })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(src: Option<&str>, threat: Option<&str>, asset: Option<&str>) -> Suppression {
        Suppression {
            id: 1,
            src_ip: src.map(Into::into),
            threat: threat.map(Into::into),
            asset_ip: asset.map(Into::into),
            reason: "x".into(),
            created_by: "a".into(),
            created_at: 0,
            expires_at: Some(100),
            hits: 0,
            last_hit: None,
        }
    }

    #[test]
    fn every_set_criterion_must_match() {
        let r = rule(Some("203.0.113.7"), Some("port_scan"), None);
        assert!(r.matches(Some("203.0.113.7"), "port_scan", Some("10.0.0.1")));
        assert!(!r.matches(Some("203.0.113.7"), "ddos", None));
        assert!(!r.matches(Some("203.0.113.8"), "port_scan", None));
        assert!(!r.matches(None, "port_scan", None));
        assert!(rule(None, None, Some("10.0.0.1")).matches(Some("1.1.1.1"), "ddos", Some("10.0.0.1")));
        assert!(r.is_active(99) && !r.is_active(100));
        assert_eq!(r.describe(), "source 203.0.113.7 · type port_scan");
        let list = SuppressionList::split(vec![r.clone(), rule(None, Some("ddos"), None)], 100);
        assert_eq!((list.active.len(), list.expired.len()), (0, 2));
        let list = SuppressionList::split(vec![r], 99);
        assert_eq!((list.active.len(), list.expired.len(), list.now), (1, 0, 99));
    }

    #[test]
    fn every_offered_threat_type_is_a_valid_rule() {
        let choices = threat_choices();
        assert!(choices.iter().any(|(k, _)| *k == "port_scan") && choices.iter().any(|(k, _)| *k == "signature"));
        assert!(!choices.iter().any(|(k, _)| *k == "benign"));
        for (key, _) in choices {
            assert_eq!(validate_suppression("", key, "", "noise", "").unwrap().threat.as_deref(), Some(key));
        }
    }

    #[test]
    fn bad_rules_name_the_field() {
        let f = |s, t, a, r, h| validate_suppression(s, t, a, r, h).unwrap_err().field;
        assert_eq!(f("", "", "", "noise", ""), "src_ip");
        assert_eq!(f("1.2.3", "", "", "noise", ""), "src_ip");
        assert_eq!(f("", "port scan", "", "noise", ""), "threat");
        assert_eq!(f("", "", "10.0.0.x", "noise", ""), "asset_ip");
        assert_eq!(f("1.2.3.4", "", "", " ", ""), "reason");
        assert_eq!(f("1.2.3.4", "", "", "noise", "0"), "expires_in_hours");
        assert_eq!(f("1.2.3.4", "", "", "noise", "9000"), "expires_in_hours");
        let ok = validate_suppression(" 2001:DB8::1 ", "Port_Scan", "", " backup scanner ", "24").unwrap();
        assert_eq!(
            (ok.src_ip.as_deref(), ok.threat.as_deref(), ok.expires_in_hours),
            (Some("2001:db8::1"), Some("port_scan"), Some(24))
        );
        assert_eq!(ok.reason, "backup scanner");
    }
}
