//! Employee reports of a suspicious IP address or domain. Browser-safe.
//!
//! Any signed-in person can report; the SOC sets the status. Reports that are not dismissed are threat
//! intel: a flow from a reported IP raises its alert's risk and the alert names the report.
//!
//! The SOC decides about an *indicator* (the reported address), not about each report: every report
//! of an indicator shares its status, and the SOC's note to the reporters is the indicator's. A new
//! report of an indicator joins its status, except that a new report of a dismissed indicator
//! reopens it (status `new`), so that fresh evidence is looked at again.

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

    /// A one-word label for the SOC's tables and filters.
    pub fn label(self) -> &'static str {
        match self {
            ReportStatus::New => "New",
            ReportStatus::Investigating => "Investigating",
            ReportStatus::Confirmed => "Confirmed",
            ReportStatus::Dismissed => "Dismissed",
        }
    }

    /// The statuses the SOC may move an indicator to from this one: a new indicator is investigated,
    /// confirmed or dismissed; one under investigation is decided; a decision is changed only by
    /// reopening it (back to investigating), so that confirming and dismissing are each deliberate.
    pub fn next_steps(self) -> &'static [ReportStatus] {
        match self {
            ReportStatus::New => &[ReportStatus::Investigating, ReportStatus::Confirmed, ReportStatus::Dismissed],
            ReportStatus::Investigating => &[ReportStatus::Confirmed, ReportStatus::Dismissed],
            ReportStatus::Confirmed | ReportStatus::Dismissed => &[ReportStatus::Investigating],
        }
    }

    /// The button that moves an indicator from `self` to `to`.
    pub fn action_to(self, to: ReportStatus) -> &'static str {
        match (self, to) {
            (ReportStatus::Confirmed | ReportStatus::Dismissed, ReportStatus::Investigating) => "Reopen",
            (_, ReportStatus::Investigating) => "Start investigating",
            (_, ReportStatus::Confirmed) => "Confirm threat",
            (_, ReportStatus::Dismissed) => "Dismiss as harmless",
            (_, ReportStatus::New) => "Mark as new",
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
    /// What the SOC told the reporters of this indicator about its status, if anything.
    pub note: Option<String>,
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
        let host =
            host.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h);
        let domain = host.trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let labels: Vec<&str> = domain.split('.').collect();
        let tld = labels.last().copied().unwrap_or_default();
        // A top-level domain is letters (or an internationalised `xn--` name); numbers with a typo
        // (`203.0.113.x`) are a mistyped IP address, not a domain.
        let tld_ok = (tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())) || tld.starts_with("xn--");
        let mistyped_ip =
            labels.len() == 4 && labels[..3].iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()));
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

/// Longest note from the SOC to the reporters, in characters.
pub const MAX_NOTE: usize = 1000;
/// Indicators per page of the SOC's queue.
pub const QUEUE_PER_PAGE: u32 = 25;
/// Reports (descriptions) shown per indicator in the queue, newest first.
pub const LINES_PER_INDICATOR: i64 = 20;
/// Reporter names shown per indicator in the queue.
pub const NAMES_PER_INDICATOR: i64 = 10;

/// Which statuses the SOC's queue shows: `open` (new and investigating, the default), `all`, or
/// one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueFilter {
    Open,
    Only(ReportStatus),
    All,
}

impl QueueFilter {
    /// The filters offered as tabs, in order.
    pub const TABS: [QueueFilter; 6] = [
        QueueFilter::Open,
        QueueFilter::Only(ReportStatus::New),
        QueueFilter::Only(ReportStatus::Investigating),
        QueueFilter::Only(ReportStatus::Confirmed),
        QueueFilter::Only(ReportStatus::Dismissed),
        QueueFilter::All,
    ];

    /// From the `status` query parameter; empty means [`QueueFilter::Open`].
    pub fn parse(s: &str) -> Result<QueueFilter, crate::validate::FieldError> {
        match s.trim() {
            "" | "open" => Ok(QueueFilter::Open),
            "all" => Ok(QueueFilter::All),
            other => ReportStatus::parse(other).map(QueueFilter::Only).ok_or_else(|| {
                crate::validate::FieldError::new(
                    "status",
                    format!(
                        "Unknown status filter `{}`: use open, all, new, investigating, confirmed or dismissed.",
                        other.chars().take(40).collect::<String>()
                    ),
                )
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QueueFilter::Open => "open",
            QueueFilter::All => "all",
            QueueFilter::Only(s) => s.as_str(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            QueueFilter::Open => "Open (new + investigating)",
            QueueFilter::All => "All",
            QueueFilter::Only(s) => s.label(),
        }
    }

    pub fn statuses(self) -> &'static [ReportStatus] {
        match self {
            QueueFilter::Open => &[ReportStatus::New, ReportStatus::Investigating],
            QueueFilter::All => &ReportStatus::ALL,
            QueueFilter::Only(ReportStatus::New) => &[ReportStatus::New],
            QueueFilter::Only(ReportStatus::Investigating) => &[ReportStatus::Investigating],
            QueueFilter::Only(ReportStatus::Confirmed) => &[ReportStatus::Confirmed],
            QueueFilter::Only(ReportStatus::Dismissed) => &[ReportStatus::Dismissed],
        }
    }

    /// How many indicators this filter shows, from the per-status counts.
    pub fn count(self, counts: &StatusCounts) -> i64 {
        self.statuses().iter().map(|s| counts.of(*s)).sum()
    }
}

/// Reported indicators per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub new: i64,
    pub investigating: i64,
    pub confirmed: i64,
    pub dismissed: i64,
}

impl StatusCounts {
    pub fn of(&self, s: ReportStatus) -> i64 {
        match s {
            ReportStatus::New => self.new,
            ReportStatus::Investigating => self.investigating,
            ReportStatus::Confirmed => self.confirmed,
            ReportStatus::Dismissed => self.dismissed,
        }
    }

    pub fn add(&mut self, s: ReportStatus, n: i64) {
        match s {
            ReportStatus::New => self.new += n,
            ReportStatus::Investigating => self.investigating += n,
            ReportStatus::Confirmed => self.confirmed += n,
            ReportStatus::Dismissed => self.dismissed += n,
        }
    }
}

/// One report as the SOC's queue lists it under its indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub id: i64,
    /// The reporter's display name.
    pub reporter: String,
    pub category: ReportCategory,
    pub description: String,
    pub created_at: i64,
}

/// Alerts that involve a reported IP address: as their source, or only as their target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMatches {
    pub from: i64,
    pub to: i64,
}

impl AlertMatches {
    pub fn total(&self) -> i64 {
        self.from + self.to
    }
}

/// A reported IP address or domain with everything the SOC needs to decide about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedIndicator {
    pub indicator: String,
    pub kind: IndicatorKind,
    pub status: ReportStatus,
    /// The SOC's note to the reporters.
    pub note: Option<String>,
    /// Who set the status last (display name), and when.
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub first_reported: i64,
    pub last_reported: i64,
    pub reports: i64,
    /// Reports per category, most frequent first.
    pub categories: Vec<(ReportCategory, i64)>,
    /// Distinct people who reported it, and the first [`NAMES_PER_INDICATOR`] of their names.
    pub reporters: i64,
    pub reporter_names: Vec<String>,
    /// The newest [`LINES_PER_INDICATOR`] reports.
    pub lines: Vec<ReportLine>,
    /// Alerts involving the address (`None` for domains: alerts carry addresses).
    pub alerts: Option<AlertMatches>,
}

/// One page of the SOC's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQueue {
    pub filter: QueueFilter,
    pub rows: Vec<ReportedIndicator>,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
    /// Indicators matching the filter.
    pub total: i64,
    /// Indicators per status (for the filter tabs).
    pub counts: StatusCounts,
}

/// The outcome of a status change: the indicator's new status and how many reports share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub indicator: String,
    pub from: ReportStatus,
    pub status: ReportStatus,
    pub reports: i64,
    pub note: Option<String>,
}

/// Checks a status change from the SOC's form: both statuses known, the move allowed by
/// [`ReportStatus::next_steps`], and the note (optional; kept as typed, line breaks allowed) within
/// [`MAX_NOTE`] characters. Returns `(from, to, note)`.
pub fn validate_status_change(
    from: &str,
    to: &str,
    note: &str,
) -> Result<(ReportStatus, ReportStatus, Option<String>), crate::validate::FieldError> {
    use crate::validate::FieldError;
    let from = ReportStatus::parse(from.trim())
        .ok_or_else(|| FieldError::new("from", "The current status is missing or unknown; reload the page."))?;
    let to = ReportStatus::parse(to.trim()).ok_or_else(|| {
        FieldError::new("status", "Choose one of the statuses: new, investigating, confirmed or dismissed.")
    })?;
    if !from.next_steps().contains(&to) {
        let allowed: Vec<&str> = from.next_steps().iter().map(|s| s.as_str()).collect();
        let hint =
            if matches!(from, ReportStatus::Confirmed | ReportStatus::Dismissed) { " Reopen it first." } else { "" };
        return Err(FieldError::new(
            "status",
            format!(
                "A {} report cannot become {} (it can become: {}).{hint}",
                from.as_str(),
                to.as_str(),
                allowed.join(", ")
            ),
        ));
    }
    let note = note.trim().replace("\r\n", "\n");
    if note.chars().count() > MAX_NOTE {
        return Err(FieldError::new("note", format!("Keep the note to the reporters under {MAX_NOTE} characters.")));
    }
    if note.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new("note", "The note contains control characters; type it as plain text."));
    }
    Ok((from, to, (!note.is_empty()).then_some(note)))
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

    #[test]
    fn the_workflow_allows_the_next_steps_and_names_what_is_refused() {
        let ok = |f: &str, t: &str, n: &str| validate_status_change(f, t, n);
        assert_eq!(
            ok("new", "confirmed", "  Blocked at the mail gateway. ").unwrap(),
            (ReportStatus::New, ReportStatus::Confirmed, Some("Blocked at the mail gateway.".into()))
        );
        assert_eq!(ok("confirmed", "investigating", "").unwrap().2, None, "an empty note is no note");
        assert_eq!(ok("investigating", "dismissed", "a\r\nb").unwrap().2.as_deref(), Some("a\nb"));
        let e = ok("confirmed", "dismissed", "").unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("Reopen it first") && e.message.contains("investigating"), "{}", e.message);
        assert_eq!(ok("new", "new", "").unwrap_err().field, "status");
        assert_eq!(ok("new", "closed", "").unwrap_err().field, "status");
        assert_eq!(ok("", "confirmed", "").unwrap_err().field, "from");
        assert_eq!(ok("new", "confirmed", &"n".repeat(MAX_NOTE + 1)).unwrap_err().field, "note");
        assert_eq!(ok("new", "confirmed", "bell\u{7}").unwrap_err().field, "note");
        // Every status can be left, and every decision can be reopened.
        for s in ReportStatus::ALL {
            assert!(!s.next_steps().is_empty() && !s.next_steps().contains(&s), "{s:?}");
        }
        assert_eq!(ReportStatus::Dismissed.action_to(ReportStatus::Investigating), "Reopen");
        assert_eq!(ReportStatus::New.action_to(ReportStatus::Investigating), "Start investigating");
    }

    #[test]
    fn queue_filters_parse_from_the_query_and_count_their_statuses() {
        assert_eq!(QueueFilter::parse("").unwrap(), QueueFilter::Open);
        assert_eq!(QueueFilter::parse("confirmed").unwrap(), QueueFilter::Only(ReportStatus::Confirmed));
        for f in QueueFilter::TABS {
            assert_eq!(QueueFilter::parse(f.as_str()).unwrap(), f);
        }
        let e = QueueFilter::parse("<b>closed</b>").unwrap_err();
        assert_eq!(e.field, "status");
        assert!(e.message.contains("`<b>closed</b>`"), "{}", e.message);
        let counts = StatusCounts { new: 3, investigating: 2, confirmed: 5, dismissed: 7 };
        assert_eq!(QueueFilter::Open.count(&counts), 5);
        assert_eq!(QueueFilter::All.count(&counts), 17);
        assert_eq!(QueueFilter::Only(ReportStatus::Dismissed).count(&counts), 7);
    }
}
