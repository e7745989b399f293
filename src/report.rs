//! Employee reports of a suspicious IP address or domain. Browser-safe.
//!
//! Any signed-in person can report; the SOC sets the status. Reports that are not dismissed are threat
//! intel: a flow from a reported IP raises its alert's risk and the alert names the report.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportCategory {
    Phishing,
    Ddos,
    Spam,
    Malware,
    Scanning,
    Other,
}

impl ReportCategory {
    pub const ALL: [ReportCategory; 6] = [
        ReportCategory::Phishing,
        ReportCategory::Ddos,
        ReportCategory::Spam,
        ReportCategory::Malware,
        ReportCategory::Scanning,
        ReportCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::Phishing => "phishing",
            ReportCategory::Ddos => "ddos",
            ReportCategory::Spam => "spam",
            ReportCategory::Malware => "malware",
            ReportCategory::Scanning => "scanning",
            ReportCategory::Other => "other",
        }
    }

    /// Words for people who do not work in security.
    pub fn title(self) -> &'static str {
        match self {
            ReportCategory::Phishing => "Phishing (a fake message asking for passwords or money)",
            ReportCategory::Ddos => "Website or service overloaded (DDoS)",
            ReportCategory::Spam => "Spam",
            ReportCategory::Malware => "Malware or a suspicious download",
            ReportCategory::Scanning => "Something probing our systems (scanning)",
            ReportCategory::Other => "Something else",
        }
    }

    pub fn parse(s: &str) -> Option<ReportCategory> {
        ReportCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    New,
    Investigating,
    Confirmed,
    Dismissed,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 4] =
        [ReportStatus::New, ReportStatus::Investigating, ReportStatus::Confirmed, ReportStatus::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::New => "new",
            ReportStatus::Investigating => "investigating",
            ReportStatus::Confirmed => "confirmed",
            ReportStatus::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<ReportStatus> {
        ReportStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// How far a report with this status moves the risk of an alert from the reported address
    /// towards 100: a confirmed report counts fully, an open one partly, a dismissed one not at all.
    pub fn risk_shift(self) -> f32 {
        match self {
            ReportStatus::Confirmed => 0.5,
            ReportStatus::New | ReportStatus::Investigating => 0.2,
            ReportStatus::Dismissed => 0.0,
        }
    }
}

/// What the reported indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    Ip,
    Domain,
}

impl IndicatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Domain => "domain",
        }
    }

    pub fn parse(s: &str) -> Option<IndicatorKind> {
        [IndicatorKind::Ip, IndicatorKind::Domain].into_iter().find(|c| c.as_str() == s)
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeReport {
    pub id: i64,
    pub reporter_id: i64,
    /// The reporter's username (joined in for the SOC's view).
    pub reporter: String,
    /// A normalised IP address or lower-case domain name.
    pub indicator: String,
    pub kind: IndicatorKind,
    pub category: ReportCategory,
    pub description: String,
    pub status: ReportStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// Reports one person may file per hour.
pub const REPORTS_PER_HOUR: i64 = 10;

/// A report as typed into the form, checked and normalised: an IP address in canonical form or a
/// lower-case domain (a pasted URL is reduced to its host), a known category, and a description.
/// Messages are written for people who do not work in security.
pub fn validate_report(
    indicator: &str,
    category: &str,
    description: &str,
) -> Result<(String, IndicatorKind, ReportCategory, String), crate::validate::FieldError> {
    use crate::validate::FieldError;
    let raw = indicator.trim();
    if raw.is_empty() {
        return Err(FieldError::new("indicator", "Enter the IP address or web address you want to report."));
    }
    // Accept what people paste: `https://evil.example/login?x`, `evil.example.`, `[2001:db8::1]`.
    let host = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next().unwrap_or(host);
    let host = host.trim_start_matches('[').split(']').next().unwrap_or(host);
    let (indicator, kind) = if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        (ip.to_string(), IndicatorKind::Ip)
    } else {
        let host = host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h);
        let domain = host.trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let tld = labels.last().copied().unwrap_or_default();
        // A top-level domain is letters (or an internationalised `xn--` name); numbers with a typo
        // (`203.0.113.x`) are a mistyped IP address, not a domain.
        let tld_ok = (tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())) || tld.starts_with("xn--");
        let mistyped_ip = labels.len() == 4 && labels[..3].iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()));
        if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) || !tld_ok || mistyped_ip {
            return Err(FieldError::new(
                "indicator",
                "That does not look like an IP address (like 203.0.113.7) or a web address (like example.com). Check it for typing mistakes.",
            ));
        }
        (domain, IndicatorKind::Domain)
    };
    let category = ReportCategory::parse(category.trim())
        .ok_or_else(|| FieldError::new("category", "Choose what kind of problem this is."))?;
    let description = description.trim();
    if description.is_empty() {
        return Err(FieldError::new("description", "Tell us in a few words what happened."));
    }
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(FieldError::new(
            "description",
            format!("Please keep the description under {MAX_DESCRIPTION} characters."),
        ));
    }
    Ok((indicator, kind, category, description.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_are_normalised_from_what_people_paste() {
        let ok = |s: &str| validate_report(s, "phishing", "x").map(|(i, k, _, _)| (i, k)).unwrap();
        assert_eq!(ok(" 203.0.113.7 "), ("203.0.113.7".into(), IndicatorKind::Ip));
        assert_eq!(ok("[2001:DB8::1]"), ("2001:db8::1".into(), IndicatorKind::Ip));
        assert_eq!(ok("https://Evil.Example/login?x=1"), ("evil.example".into(), IndicatorKind::Domain));
        assert_eq!(ok("evil.example.:8080"), ("evil.example".into(), IndicatorKind::Domain));
    }

    #[test]
    fn bad_reports_get_plain_messages_for_the_right_field() {
        let field = |i: &str, c: &str, d: &str| validate_report(i, c, d).unwrap_err().field;
        assert_eq!(field("", "spam", "x"), "indicator");
        assert_eq!(field("not a host", "spam", "x"), "indicator");
        assert_eq!(field("localhost", "spam", "x"), "indicator");
        assert_eq!(field("-bad-.example", "spam", "x"), "indicator");
        assert_eq!(field("203.0.113.x", "spam", "x"), "indicator");
        assert_eq!(field("203.0.113.ab", "spam", "x"), "indicator");
        assert_eq!(field("example.c0m", "spam", "x"), "indicator");
        assert_eq!(field("1.2.3.4", "virus", "x"), "category");
        assert_eq!(field("1.2.3.4", "spam", "   "), "description");
        assert_eq!(field("1.2.3.4", "spam", &"x".repeat(MAX_DESCRIPTION + 1)), "description");
        let e = validate_report("1.2.3.x", "spam", "x").unwrap_err();
        assert!(e.message.contains("like 203.0.113.7"), "{}", e.message);
        // Markup is kept as typed: it is data, always rendered as text.
        let (_, _, _, d) = validate_report("1.2.3.4", "spam", "<img src=x onerror=alert(1)>").unwrap();
        assert_eq!(d, "<img src=x onerror=alert(1)>");
    }
}
