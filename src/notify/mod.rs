//! Notifications: being told of what matters without watching a screen.
//!
//! - **Channels**: a generic webhook (JSON, signed with HMAC-SHA256 in `X-AnomalyForge-Signature`),
//!   a Slack-compatible incoming webhook, or email over SMTP (the deployment's `[notify.smtp]`).
//! - **Rules**: which events go to which channel — new alerts from a minimum severity (optionally of
//!   some threats, against assets from a minimum criticality, or about one asset), incidents
//!   opened, incidents escalated.
//! - **Deliveries**: queued durably in the transaction of the event they announce
//!   (`crate::store::notify`), sent by one worker ([`worker`]), retried with exponential backoff,
//!   recorded with their outcome. Each channel takes at most `max_per_minute`; the rest is held and
//!   summed up in one digest a minute later, so a storm cannot flood a channel.
//!
//! This module holds the browser-safe types and the validation of what admins enter; [`message`]
//! words the events, [`send`] and [`worker`] deliver them (server only).

pub mod message;
#[cfg(feature = "server")]
pub mod send;
#[cfg(feature = "server")]
pub mod worker;

use crate::alert::Severity;
use crate::asset::Criticality;
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

/// Deliveries a channel takes a minute when none is given.
pub const DEFAULT_PER_MINUTE: i64 = 10;
pub const MAX_PER_MINUTE: i64 = 1000;
/// How long ended deliveries (sent, failed, summed up) are kept.
pub const KEEP_DELIVERIES_MS: i64 = 30 * 86_400_000;
/// Deliveries listed on the admin page (the newest).
pub const RECENT_DELIVERIES: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Webhook,
    Slack,
    Email,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 3] = [ChannelKind::Webhook, ChannelKind::Slack, ChannelKind::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "Webhook (JSON)",
            ChannelKind::Slack => "Slack-compatible webhook",
            ChannelKind::Email => "Email",
        }
    }
}

/// What a rule listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new alert (not a repeat that grew an open one).
    Alert,
    IncidentOpened,
    /// An incident's severity went up (by hand, or by a merge).
    IncidentEscalated,
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [EventKind::Alert, EventKind::IncidentOpened, EventKind::IncidentEscalated];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Alert => "alert",
            EventKind::IncidentOpened => "incident_opened",
            EventKind::IncidentEscalated => "incident_escalated",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::Alert => "New alert",
            EventKind::IncidentOpened => "Incident opened",
            EventKind::IncidentEscalated => "Incident escalated",
        }
    }
}

/// A channel as admins see it: the webhook key is never sent back, only whether there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub kind: ChannelKind,
    pub target: String,
    pub signed: bool,
    pub max_per_minute: i64,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    pub channel_id: i64,
    pub event: EventKind,
    pub min_severity: Severity,
    /// Empty: any threat.
    pub threats: Vec<String>,
    pub min_criticality: Option<Criticality>,
    /// The asset (by address) an alert must concern; `None`: any.
    pub asset_ip: Option<String>,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: i64,
}

impl Rule {
    /// "New alerts from high severity, of port_scan or ddos, on assets from high criticality".
    pub fn describe(&self) -> String {
        let mut s = format!("{} from {} severity", self.event.label(), self.min_severity.as_str());
        if !self.threats.is_empty() {
            s.push_str(&format!(", of {}", self.threats.join(" or ")));
        }
        if let Some(c) = self.min_criticality {
            s.push_str(&format!(", on assets from {} criticality", c.as_str()));
        }
        if let Some(ip) = &self.asset_ip {
            s.push_str(&format!(", on the asset {ip}"));
        }
        s
    }

    /// Whether an alert of `severity` and `threat` concerning `asset` (its address and criticality)
    /// is for this rule.
    pub fn matches_alert(&self, severity: Severity, threat: &str, asset: Option<(&str, Criticality)>) -> bool {
        self.enabled
            && self.event == EventKind::Alert
            && severity >= self.min_severity
            && (self.threats.is_empty() || self.threats.iter().any(|t| t == threat))
            && self.min_criticality.is_none_or(|min| asset.is_some_and(|(_, c)| c >= min))
            && self.asset_ip.as_deref().is_none_or(|ip| asset.is_some_and(|(a, _)| a == ip))
    }

    /// Whether an incident event of `kind` at `severity` is for this rule.
    pub fn matches_incident(&self, kind: EventKind, severity: Severity) -> bool {
        self.enabled && self.event == kind && severity >= self.min_severity
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Held,
    Sent,
    Failed,
    Digested,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Held => "held",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Digested => "digested",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Queued,
            DeliveryStatus::Held,
            DeliveryStatus::Sent,
            DeliveryStatus::Failed,
            DeliveryStatus::Digested,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One delivery, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub channel_id: i64,
    pub rule_id: Option<i64>,
    pub event: String,
    pub subject: String,
    /// JSON text.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: String,
    pub digest_id: Option<i64>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The admin page: channels, rules, the newest deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyOverview {
    pub channels: Vec<Channel>,
    pub rules: Vec<Rule>,
    pub deliveries: Vec<Delivery>,
    /// Whether the deployment has an SMTP server (`[notify.smtp]`); email channels need one.
    pub smtp: bool,
}

/// A channel to create, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    pub name: String,
    pub kind: ChannelKind,
    pub target: String,
    pub max_per_minute: i64,
}

impl NewChannel {
    pub fn from_form(name: &str, kind: &str, target: &str, per_minute: &str) -> Result<NewChannel, FieldError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "Name the channel in one line of 1–80 characters."));
        }
        let kind =
            ChannelKind::parse(kind).ok_or_else(|| FieldError::new("kind", "Choose webhook, slack or email."))?;
        let target = target.trim();
        let target = match kind {
            ChannelKind::Webhook | ChannelKind::Slack => {
                let lower = target.to_ascii_lowercase();
                let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
                if !rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
                    || target.len() > 2000
                    || target.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(FieldError::new("target", "Enter the webhook's URL (https://…)."));
                }
                target.to_string()
            }
            ChannelKind::Email => {
                let list: Vec<String> = target
                    .split([',', ';', ' '])
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect();
                if list.is_empty() || list.len() > 20 {
                    return Err(FieldError::new("target", "Enter 1 to 20 email addresses, comma-separated."));
                }
                if let Some(bad) = list.iter().find(|a| !is_email(a)) {
                    return Err(FieldError::new("target", format!("`{bad}` is not an email address.")));
                }
                list.join(", ")
            }
        };
        let max_per_minute = match per_minute.trim() {
            "" => DEFAULT_PER_MINUTE,
            p => p.parse::<i64>().ok().filter(|n| (1..=MAX_PER_MINUTE).contains(n)).ok_or_else(|| {
                FieldError::new("max_per_minute", format!("Allow 1 to {MAX_PER_MINUTE} deliveries a minute."))
            })?,
        };
        Ok(NewChannel { name: name.to_string(), kind, target, max_per_minute })
    }
}

fn is_email(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else { return false };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && a.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\'))
}

/// A rule to create, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub channel_id: i64,
    pub event: EventKind,
    pub min_severity: Severity,
    pub threats: Vec<String>,
    pub min_criticality: Option<Criticality>,
    pub asset_ip: Option<String>,
}

impl NewRule {
    pub fn from_form(
        channel: &str,
        event: &str,
        severity: &str,
        threats: &str,
        criticality: &str,
        asset: &str,
    ) -> Result<NewRule, FieldError> {
        let channel_id = channel
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| FieldError::new("channel", "Choose a channel."))?;
        let event = EventKind::parse(event)
            .ok_or_else(|| FieldError::new("event", "Choose alert, incident_opened or incident_escalated."))?;
        let min_severity = Severity::parse(severity.trim())
            .ok_or_else(|| FieldError::new("severity", "Choose low, medium, high or critical."))?;
        let mut list: Vec<String> = Vec::new();
        for t in threats.split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()) {
            if !crate::alert::is_threat_key(t) {
                return Err(FieldError::new(
                    "threats",
                    format!("`{t}` is not a threat key (port_scan, ddos, c2_beacon, …)."),
                ));
            }
            if !list.iter().any(|x| x == t) {
                list.push(t.to_string());
            }
        }
        if !list.is_empty() && event != EventKind::Alert {
            return Err(FieldError::new("threats", "Threats narrow alert rules only."));
        }
        let min_criticality = match criticality.trim() {
            "" => None,
            c => Some(
                Criticality::parse(c)
                    .ok_or_else(|| FieldError::new("criticality", "Choose low, medium, high or critical, or any."))?,
            ),
        };
        if min_criticality.is_some() && event != EventKind::Alert {
            return Err(FieldError::new("criticality", "Asset criticality narrows alert rules only."));
        }
        let asset_ip = match asset.trim() {
            "" => None,
            a => Some(
                a.parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_canonical().to_string())
                    .map_err(|_| FieldError::new("asset", format!("`{a}` is not an asset's IP address.")))?,
            ),
        };
        if asset_ip.is_some() && event != EventKind::Alert {
            return Err(FieldError::new("asset", "An asset narrows alert rules only."));
        }
        Ok(NewRule { channel_id, event, min_severity, threats: list, min_criticality, asset_ip })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min: Severity, threats: &[&str], crit: Option<Criticality>) -> Rule {
        Rule {
            id: 1,
            channel_id: 1,
            event: EventKind::Alert,
            min_severity: min,
            threats: threats.iter().map(|t| t.to_string()).collect(),
            min_criticality: crit,
            asset_ip: None,
            enabled: true,
            created_by: "a".into(),
            created_at: 0,
        }
    }

    #[test]
    fn rules_match_by_severity_threat_and_criticality() {
        let r = rule(Severity::High, &[], None);
        assert!(r.matches_alert(Severity::Critical, "ddos", None));
        assert!(!r.matches_alert(Severity::Medium, "ddos", None));
        let r = rule(Severity::Low, &["c2_beacon"], Some(Criticality::High));
        assert!(r.matches_alert(Severity::Low, "c2_beacon", Some(("10.0.0.5", Criticality::Critical))));
        assert!(!r.matches_alert(Severity::Low, "c2_beacon", Some(("10.0.0.5", Criticality::Medium))));
        assert!(!r.matches_alert(Severity::Low, "c2_beacon", None), "no asset: not critical enough");
        assert!(!r.matches_alert(Severity::Low, "ddos", Some(("10.0.0.5", Criticality::Critical))));
        let one = Rule { asset_ip: Some("10.0.0.5".into()), ..rule(Severity::Low, &[], None) };
        assert!(one.matches_alert(Severity::Low, "ddos", Some(("10.0.0.5", Criticality::Low))));
        assert!(!one.matches_alert(Severity::Low, "ddos", Some(("10.0.0.6", Criticality::Low))));
        assert!(!one.matches_alert(Severity::Low, "ddos", None));
        assert_eq!(one.describe(), "New alert from low severity, on the asset 10.0.0.5");
        assert!(!Rule { enabled: false, ..rule(Severity::Low, &[], None) }.matches_alert(
            Severity::Critical,
            "x",
            None
        ));
        let i = Rule { event: EventKind::IncidentOpened, ..rule(Severity::High, &[], None) };
        assert!(
            i.matches_incident(EventKind::IncidentOpened, Severity::High)
                && !i.matches_incident(EventKind::IncidentEscalated, Severity::Critical)
        );
        assert_eq!(
            rule(Severity::High, &["ddos", "bot"], Some(Criticality::High)).describe(),
            "New alert from high severity, of ddos or bot, on assets from high criticality"
        );
    }

    #[test]
    fn forms_name_the_bad_field() {
        let c = NewChannel::from_form(" SOC hook ", "webhook", "https://hooks.example/af", "").unwrap();
        assert_eq!((c.name.as_str(), c.max_per_minute), ("SOC hook", DEFAULT_PER_MINUTE));
        assert_eq!(NewChannel::from_form("x", "webhook", "ftp://x", "").unwrap_err().field, "target");
        assert_eq!(NewChannel::from_form("x", "slack", "https:///path", "").unwrap_err().field, "target");
        assert_eq!(NewChannel::from_form("x", "pager", "x", "").unwrap_err().field, "kind");
        assert_eq!(NewChannel::from_form("", "email", "a@b.c", "").unwrap_err().field, "name");
        assert_eq!(
            NewChannel::from_form("x", "email", "soc@example.com; ciso@example.com", "5").unwrap().target,
            "soc@example.com, ciso@example.com"
        );
        assert!(NewChannel::from_form("x", "email", "soc@example", "").unwrap_err().message.contains("soc@example"));
        assert_eq!(NewChannel::from_form("x", "email", "a@b.c", "0").unwrap_err().field, "max_per_minute");
        let r = NewRule::from_form("3", "alert", "high", "ddos, bot ddos", "critical", "").unwrap();
        assert_eq!(
            (r.threats, r.min_criticality),
            (vec!["ddos".to_string(), "bot".to_string()], Some(Criticality::Critical))
        );
        assert_eq!(NewRule::from_form("", "alert", "high", "", "", "").unwrap_err().field, "channel");
        assert_eq!(NewRule::from_form("1", "incident_opened", "high", "ddos", "", "").unwrap_err().field, "threats");
        assert_eq!(NewRule::from_form("1", "alert", "urgent", "", "", "").unwrap_err().field, "severity");
        assert_eq!(NewRule::from_form("1", "alert", "low", "Not A Key", "", "").unwrap_err().field, "threats");
        let r = NewRule::from_form("1", "alert", "low", "", "", " 10.0.0.5 ").unwrap();
        assert_eq!(r.asset_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(NewRule::from_form("1", "alert", "low", "", "", "web01").unwrap_err().field, "asset");
        assert_eq!(NewRule::from_form("1", "incident_opened", "low", "", "", "10.0.0.5").unwrap_err().field, "asset");
    }
}
