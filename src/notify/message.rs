//! The words and the JSON of each notification. Pure: the store calls it when it queues a delivery,
//! the sender when it turns the JSON into a Slack message or an email.
//!
//! Every payload has `event`, `subject`, `at` (ISO-8601 UTC) and `path` (the page on AnomalyForge);
//! the sender adds `url` when the deployment's `notify.public_url` is set. A webhook receives the
//! payload as it is.

use crate::alert::{Alert, Severity};
use crate::asset::Criticality;
use serde_json::{json, Value};

/// A notification, worded.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub event: &'static str,
    pub subject: String,
    pub payload: Value,
}

fn iso(ms: i64) -> String {
    crate::time::iso_utc(ms)
}

/// A new alert: "[critical] C2 beacon: 10.0.0.5 → 203.0.113.7:443 (risk 95)".
pub fn alert(a: &Alert, criticality: Option<Criticality>, now: i64) -> Message {
    let title = crate::console::threat_title(&a.threat);
    let target = match (&a.dst_ip, a.dst_port) {
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
        (Some(ip), None) => ip.clone(),
        (None, _) => "-".into(),
    };
    let subject = format!(
        "[{}] {title}: {} → {target} (risk {})",
        a.severity.as_str(),
        a.src_ip.as_deref().unwrap_or("-"),
        a.risk
    );
    let path = format!("/soc?alert={}", a.id);
    Message {
        event: "alert",
        payload: json!({
            "event": "alert",
            "subject": subject,
            "at": iso(now),
            "path": path,
            "alert": {
                "id": a.id,
                "threat": a.threat,
                "title": title,
                "severity": a.severity.as_str(),
                "risk": a.risk,
                "detector": a.detector.as_str(),
                "src_ip": a.src_ip,
                "dst_ip": a.dst_ip,
                "dst_port": a.dst_port,
                "src_country": a.src_country,
                "asset_criticality": criticality.map(|c| c.as_str()),
                "signature": a.signature,
                "count": a.count,
                "first_seen": iso(a.first_seen),
                "last_seen": iso(a.last_seen),
            },
        }),
        subject,
    }
}

/// What an incident message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentBrief {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub alerts: i64,
}

/// An incident opened: "Incident #4 opened (high): Port scan and SSH brute force from 203.0.113.7".
pub fn incident_opened(i: &IncidentBrief, actor: &str, now: i64) -> Message {
    incident("incident_opened", format!("Incident #{} opened ({})", i.id, i.severity.as_str()), i, actor, None, now)
}

/// An incident escalated: "Incident #4 escalated from high to critical: …".
pub fn incident_escalated(i: &IncidentBrief, from: Severity, actor: &str, now: i64) -> Message {
    incident(
        "incident_escalated",
        format!("Incident #{} escalated from {} to {}", i.id, from.as_str(), i.severity.as_str()),
        i,
        actor,
        Some(from),
        now,
    )
}

fn incident(
    event: &'static str,
    head: String,
    i: &IncidentBrief,
    actor: &str,
    from: Option<Severity>,
    now: i64,
) -> Message {
    let subject = format!("{head}: {}", i.title);
    Message {
        event,
        payload: json!({
            "event": event,
            "subject": subject,
            "at": iso(now),
            "path": format!("/soc/incidents?incident={}", i.id),
            "by": actor,
            "incident": { "id": i.id, "title": i.title, "severity": i.severity.as_str(), "alerts": i.alerts },
            "from_severity": from.map(Severity::as_str),
        }),
        subject,
    }
}

/// The notifications a channel held back over its limit, summed up in one.
pub fn digest(held: &[(String, String)], first: i64, last: i64, now: i64) -> Message {
    let n = held.len();
    let mut by_event: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (event, _) in held {
        *by_event.entry(event.as_str()).or_default() += 1;
    }
    let subject = format!(
        "{n} more notification{} held back over the channel's limit, {} to {}",
        if n == 1 { "" } else { "s" },
        iso(first),
        iso(last)
    );
    Message {
        event: "digest",
        payload: json!({
            "event": "digest",
            "subject": subject,
            "at": iso(now),
            "path": "/soc",
            "held": n,
            "by_event": by_event,
            // The first few, so the reader knows what kind of storm it was.
            "examples": held.iter().take(10).map(|(_, s)| s.clone()).collect::<Vec<_>>(),
        }),
        subject,
    }
}

/// A test sent from the admin page.
pub fn test(channel: &str, actor: &str, now: i64) -> Message {
    let subject = format!("Test notification for channel {channel}, sent by {actor}");
    Message {
        event: "test",
        payload: json!({ "event": "test", "subject": subject, "at": iso(now), "path": "/admin/notifications", "by": actor }),
        subject,
    }
}

/// A Slack-compatible incoming-webhook body.
pub fn slack_body(payload: &Value) -> Value {
    let subject = payload["subject"].as_str().unwrap_or_default();
    let mut text = format!("*{}*", slack_escape(subject));
    if let Some(examples) = payload["examples"].as_array() {
        for e in examples {
            text.push_str(&format!("\n• {}", slack_escape(e.as_str().unwrap_or_default())));
        }
    }
    if let Some(url) = payload["url"].as_str() {
        text.push_str(&format!("\n<{}|Open in AnomalyForge>", slack_escape(url)));
    }
    json!({ "text": text })
}

/// Slack reads `&`, `<` and `>` as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The plain-text body of an email.
pub fn email_text(payload: &Value) -> String {
    let mut s = format!("{}\n\n", payload["subject"].as_str().unwrap_or_default());
    let section = |v: &Value, s: &mut String| {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                if !v.is_null() {
                    s.push_str(&format!("{k}: {}\n", v.as_str().map_or_else(|| v.to_string(), str::to_string)));
                }
            }
        }
    };
    section(&payload["alert"], &mut s);
    section(&payload["incident"], &mut s);
    if let Some(examples) = payload["examples"].as_array() {
        for e in examples {
            s.push_str(&format!("- {}\n", e.as_str().unwrap_or_default()));
        }
    }
    match payload["url"].as_str() {
        Some(url) => s.push_str(&format!("\nOpen it: {url}\n")),
        None => s.push_str(&format!("\nOn AnomalyForge: {}\n", payload["path"].as_str().unwrap_or("/"))),
    }
    s.push_str("\n-- \nAnomalyForge notification. An admin changes what is sent on /admin/notifications.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_subject_path_and_the_facts() {
        let a = Alert {
            id: 12,
            first_seen: 0,
            last_seen: 0,
            count: 1,
            src_ip: Some("10.0.0.5".into()),
            src_port: None,
            dst_ip: Some("203.0.113.7".into()),
            dst_port: Some(443),
            protocol: Some(6),
            threat: "bot".into(),
            risk: 95,
            severity: Severity::Critical,
            status: crate::alert::AlertStatus::New,
            detector: crate::alert::Detector::Ml,
            signature: None,
            reasons: "{}".into(),
            features: "{}".into(),
            created_at: 0,
            src_country: None,
            src_lat: None,
            src_lon: None,
            asset_id: None,
            report_id: None,
            base_risk: None,
            assignee: None,
            acknowledged_at: None,
            resolved_at: None,
            incident_id: None,
            origin: None,
        };
        let m = alert(&a, Some(Criticality::High), 0);
        assert_eq!(
            m.subject,
            format!("[critical] {}: 10.0.0.5 → 203.0.113.7:443 (risk 95)", crate::console::threat_title("bot"))
        );
        assert_eq!(
            (m.payload["path"].as_str(), m.payload["alert"]["asset_criticality"].as_str()),
            (Some("/soc?alert=12"), Some("high"))
        );
        let i = IncidentBrief { id: 4, title: "Beacon <b>".into(), severity: Severity::Critical, alerts: 3 };
        let m = incident_escalated(&i, Severity::High, "rita", 0);
        assert_eq!(m.subject, "Incident #4 escalated from high to critical: Beacon <b>");
        let mut p = m.payload.clone();
        p["url"] = json!("https://soc.example/soc/incidents?incident=4");
        assert_eq!(slack_body(&p)["text"], "*Incident #4 escalated from high to critical: Beacon &lt;b&gt;*\n<https://soc.example/soc/incidents?incident=4|Open in AnomalyForge>");
        let text = email_text(&p);
        assert!(
            text.contains("title: Beacon <b>")
                && text.contains("Open it: https://soc.example/soc/incidents?incident=4"),
            "{text}"
        );
        let d = digest(&[("alert".into(), "[high] a".into()), ("alert".into(), "[high] b".into())], 0, 60_000, 120_000);
        assert_eq!((d.payload["held"].as_u64(), d.payload["by_event"]["alert"].as_u64()), (Some(2), Some(2)));
        assert!(d.subject.starts_with("2 more notifications held back"));
    }
}
