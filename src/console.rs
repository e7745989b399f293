//! The SOC console's questions and answers: which alerts an analyst asks for (time range, filters,
//! grouping, sort, page) and what the queue, the maps and the alert detail hold. Browser-safe: the
//! page builds a [`QueueQuery`] from its URL, the server validates it into a [`QueueFilter`] (naming
//! the parameter that is wrong) and answers with these types.

use crate::alert::{Alert, AlertStatus};
use crate::asset::Asset;
use crate::playbook::Playbook;
use crate::report::{ReportCategory, ReportStatus};
use crate::time::{days_from_civil, days_in_month};
use crate::triage::AlertEvent;
use crate::url_query::encode_component;
use crate::validate::FieldError;
use crate::worldmap::Marker;
use serde::{Deserialize, Serialize};

/// Alerts on one page of the queue.
pub const QUEUE_PAGE_SIZE: u32 = 50;
/// Groups listed when the queue is grouped (the riskiest first).
pub const MAX_GROUPS: i64 = 100;
/// Related alerts (same source) shown in the detail.
pub const RELATED_LIMIT: i64 = 10;
/// Longest free-text search.
pub const MAX_SEARCH: usize = 100;

/// How far back the queue and the maps look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeRange {
    Last15m,
    LastHour,
    Last24h,
    Last7d,
    /// `from`/`to` given by the analyst.
    Custom,
}

impl TimeRange {
    pub const ALL: [TimeRange; 5] =
        [TimeRange::Last15m, TimeRange::LastHour, TimeRange::Last24h, TimeRange::Last7d, TimeRange::Custom];

    /// The URL value.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeRange::Last15m => "15m",
            TimeRange::LastHour => "1h",
            TimeRange::Last24h => "24h",
            TimeRange::Last7d => "7d",
            TimeRange::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeRange::Last15m => "Last 15 minutes",
            TimeRange::LastHour => "Last hour",
            TimeRange::Last24h => "Last 24 hours",
            TimeRange::Last7d => "Last 7 days",
            TimeRange::Custom => "Custom",
        }
    }

    pub fn parse(s: &str) -> Option<TimeRange> {
        TimeRange::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Length of a relative range.
    pub fn duration_ms(self) -> Option<i64> {
        match self {
            TimeRange::Last15m => Some(15 * 60_000),
            TimeRange::LastHour => Some(3_600_000),
            TimeRange::Last24h => Some(24 * 3_600_000),
            TimeRange::Last7d => Some(7 * 24 * 3_600_000),
            TimeRange::Custom => None,
        }
    }
}

/// Which alerts by triage status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// New or acknowledged: still to be worked on (the default).
    Open,
    Only(AlertStatus),
    All,
}

impl StatusFilter {
    pub const ALL: [StatusFilter; 6] = [
        StatusFilter::Open,
        StatusFilter::Only(AlertStatus::New),
        StatusFilter::Only(AlertStatus::Acknowledged),
        StatusFilter::Only(AlertStatus::Resolved),
        StatusFilter::Only(AlertStatus::FalsePositive),
        StatusFilter::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Only(s) => s.as_str(),
            StatusFilter::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusFilter::Open => "Open (new + acknowledged)",
            StatusFilter::Only(AlertStatus::New) => "New",
            StatusFilter::Only(AlertStatus::Acknowledged) => "Acknowledged",
            StatusFilter::Only(AlertStatus::Resolved) => "Resolved",
            StatusFilter::Only(AlertStatus::FalsePositive) => "False positive",
            StatusFilter::All => "Any status",
        }
    }

    pub fn parse(s: &str) -> Option<StatusFilter> {
        StatusFilter::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The statuses it admits; empty = every status.
    pub fn statuses(self) -> Vec<AlertStatus> {
        match self {
            StatusFilter::Open => vec![AlertStatus::New, AlertStatus::Acknowledged],
            StatusFilter::Only(s) => vec![s],
            StatusFilter::All => Vec::new(),
        }
    }
}

/// How the queue is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    None,
    Threat,
    Source,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [GroupBy::None, GroupBy::Threat, GroupBy::Source];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::None => "",
            GroupBy::Threat => "threat",
            GroupBy::Source => "source",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GroupBy::None => "No grouping",
            GroupBy::Threat => "Threat type",
            GroupBy::Source => "Source address",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// Order of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Highest risk first, then most recent (the default).
    Risk,
    /// Most recently seen first.
    Newest,
}

impl SortBy {
    pub const ALL: [SortBy; 2] = [SortBy::Risk, SortBy::Newest];

    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Risk => "risk",
            SortBy::Newest => "newest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortBy::Risk => "Highest risk first",
            SortBy::Newest => "Most recent first",
        }
    }

    pub fn parse(s: &str) -> Option<SortBy> {
        SortBy::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The queue as the URL says it (`/soc?range=1h&threat=ddos…`): every value a string, empty when
/// absent. [`QueueQuery::validate`] turns it into a [`QueueFilter`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    pub range: String,
    /// Custom range bounds, `YYYY-MM-DDTHH:MM` in UTC (what `<input type=datetime-local>` sends).
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub threat: String,
    #[serde(default)]
    pub min_risk: String,
    /// The address of an internal asset.
    #[serde(default)]
    pub asset: String,
    /// ISO 3166 alpha-2 of the source.
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub src_ip: String,
    /// Free text: an address matches source or target; words match the threat, signature, country
    /// or addresses.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: String,
}

/// The URL parameters of a [`QueueQuery`], in a fixed order.
pub const QUEUE_PARAMS: [&str; 13] =
    ["range", "from", "to", "status", "threat", "min_risk", "asset", "country", "src_ip", "q", "group", "sort", "page"];

impl QueueQuery {
    /// Reads the parameters through `get` (a URL query map); missing ones stay empty.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> QueueQuery {
        let mut q = QueueQuery::default();
        for name in QUEUE_PARAMS {
            if let Some(v) = get(name) {
                *q.field_mut(name) = v;
            }
        }
        q
    }

    fn field_mut(&mut self, name: &str) -> &mut String {
        match name {
            "range" => &mut self.range,
            "from" => &mut self.from,
            "to" => &mut self.to,
            "status" => &mut self.status,
            "threat" => &mut self.threat,
            "min_risk" => &mut self.min_risk,
            "asset" => &mut self.asset,
            "country" => &mut self.country,
            "src_ip" => &mut self.src_ip,
            "q" => &mut self.q,
            "group" => &mut self.group,
            "sort" => &mut self.sort,
            _ => &mut self.page,
        }
    }

    fn field(&self, name: &str) -> &str {
        match name {
            "range" => &self.range,
            "from" => &self.from,
            "to" => &self.to,
            "status" => &self.status,
            "threat" => &self.threat,
            "min_risk" => &self.min_risk,
            "asset" => &self.asset,
            "country" => &self.country,
            "src_ip" => &self.src_ip,
            "q" => &self.q,
            "group" => &self.group,
            "sort" => &self.sort,
            _ => &self.page,
        }
    }

    /// The same query with `name` set to `value` (empty removes it). Changing anything but the page
    /// goes back to the first page.
    pub fn with(&self, name: &str, value: &str) -> QueueQuery {
        let mut q = self.clone();
        *q.field_mut(name) = value.to_string();
        if name != "page" {
            q.page.clear();
        }
        q
    }

    /// `?range=1h&threat=ddos` (only the parameters that are set, percent-encoded), or `` when none is.
    pub fn to_query_string(&self) -> String {
        let parts: Vec<String> = QUEUE_PARAMS
            .iter()
            .filter(|n| !self.field(n).is_empty())
            .map(|n| format!("{n}={}", encode_component(self.field(n))))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    /// `/soc` with this query, and `extra` (such as `alert=7`) appended.
    pub fn href(&self, extra: Option<(&str, String)>) -> String {
        let mut s = format!("/soc{}", self.to_query_string());
        if let Some((k, v)) = extra {
            s.push(if s.contains('?') { '&' } else { '?' });
            s.push_str(k);
            s.push('=');
            s.push_str(&encode_component(&v));
        }
        s
    }

    /// Checks every parameter against `now_ms` (relative ranges end now). The error names the
    /// parameter and what it expects.
    pub fn validate(&self, now_ms: i64) -> Result<QueueFilter, FieldError> {
        let range = match self.range.trim() {
            "" => TimeRange::Last24h,
            r => TimeRange::parse(r).ok_or_else(|| FieldError::new("range", "Choose 15m, 1h, 24h, 7d or custom."))?,
        };
        let (from, to) = match range.duration_ms() {
            Some(d) => (now_ms - d, None),
            None => {
                let from = parse_utc_minute(&self.from).map_err(|m| FieldError::new("from", m))?;
                let to = match self.to.trim() {
                    "" => None,
                    t => Some(parse_utc_minute(t).map_err(|m| FieldError::new("to", m))?),
                };
                if let Some(to) = to {
                    if to <= from {
                        return Err(FieldError::new("to", "The end of the range must be after its start."));
                    }
                }
                (from, to)
            }
        };
        let status = match self.status.trim() {
            "" => StatusFilter::Open,
            s => StatusFilter::parse(s).ok_or_else(|| {
                FieldError::new("status", "Choose open, new, acknowledged, resolved, false_positive or all.")
            })?,
        };
        let threat = match self.threat.trim() {
            "" => None,
            t if crate::alert::is_threat_key(t) => Some(t.to_string()),
            _ => return Err(FieldError::new("threat", "Choose a threat type from the list.")),
        };
        let min_risk = match self.min_risk.trim() {
            "" => None,
            r => match r.parse::<i64>() {
                Ok(v) if (0..=100).contains(&v) => Some(v),
                _ => return Err(FieldError::new("min_risk", "The minimum risk is a whole number from 0 to 100.")),
            },
        };
        let ip = |field: &str, raw: &str| -> Result<Option<String>, FieldError> {
            match raw.trim() {
                "" => Ok(None),
                s => s
                    .parse::<std::net::IpAddr>()
                    .map(|ip| Some(ip.to_string()))
                    .map_err(|_| FieldError::new(field, format!("`{}` is not an IPv4 or IPv6 address.", clip(s, 45)))),
            }
        };
        let asset_ip = ip("asset", &self.asset)?;
        let src_ip = ip("src_ip", &self.src_ip)?;
        let country = match self.country.trim() {
            "" => None,
            c if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
            _ => return Err(FieldError::new("country", "A country is a two-letter code such as DE.")),
        };
        let text = match self.q.trim() {
            "" => None,
            t if t.chars().count() > MAX_SEARCH => {
                return Err(FieldError::new("q", format!("Search for at most {MAX_SEARCH} characters.")))
            }
            t => Some(match t.parse::<std::net::IpAddr>() {
                Ok(ip) => TextSearch::Address(ip.to_string()),
                Err(_) => TextSearch::Words(t.to_lowercase()),
            }),
        };
        let group = GroupBy::parse(self.group.trim())
            .ok_or_else(|| FieldError::new("group", "Group by threat, source, or nothing."))?;
        let sort = match self.sort.trim() {
            "" => SortBy::Risk,
            s => SortBy::parse(s).ok_or_else(|| FieldError::new("sort", "Sort by risk or newest."))?,
        };
        let page = match self.page.trim() {
            "" => 1,
            p => match p.parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => return Err(FieldError::new("page", "The page is a number from 1.")),
            },
        };
        Ok(QueueFilter {
            range,
            from,
            to,
            status,
            threat,
            min_risk,
            asset_ip,
            country,
            src_ip,
            text,
            group,
            sort,
            page,
        })
    }
}

/// A validated queue request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueFilter {
    pub range: TimeRange,
    /// Alerts last seen at or after (unix ms).
    pub from: i64,
    /// …and before, when the range is closed.
    pub to: Option<i64>,
    pub status: StatusFilter,
    pub threat: Option<String>,
    pub min_risk: Option<i64>,
    pub asset_ip: Option<String>,
    pub country: Option<String>,
    pub src_ip: Option<String>,
    pub text: Option<TextSearch>,
    pub group: GroupBy,
    pub sort: SortBy,
    /// From 1.
    pub page: u32,
}

/// What the free-text box searches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextSearch {
    /// An address: alerts from or to it.
    Address(String),
    /// Lower-case words: a substring of the threat, signature, addresses or source country.
    Words(String),
}

/// One row of the queue: the alert and what the inventory says of its asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub alert: Alert,
    pub asset: Option<AssetBrief>,
}

/// Enough of an asset to show it in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetBrief {
    pub id: i64,
    pub ip: String,
    pub hostname: Option<String>,
    pub criticality: crate::asset::Criticality,
}

/// One group of a grouped queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    /// The threat key or source address (`-` when unknown).
    pub key: String,
    pub alerts: i64,
    /// Detections folded into those alerts.
    pub detections: i64,
    pub max_risk: i64,
    pub last_seen: i64,
}

/// One page of the queue, with the totals of the whole filtered set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuePage {
    pub filter: QueueFilter,
    pub rows: Vec<QueueRow>,
    /// Alerts matching the filter (all pages).
    pub total: i64,
    pub per_page: u32,
    /// When grouped: the groups, riskiest first (at most [`MAX_GROUPS`]).
    pub groups: Vec<GroupRow>,
    /// Server time the relative range was computed at (unix ms).
    pub now: i64,
}

impl QueuePage {
    pub fn pages(&self) -> i64 {
        ((self.total + i64::from(self.per_page) - 1) / i64::from(self.per_page)).max(1)
    }
}

/// Flows of one source country in the console's range (traffic map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryFlows {
    /// ISO alpha-2, or `ZZ` for private and unknown addresses.
    pub country: String,
    pub flows: i64,
    pub bytes: i64,
    /// Flows the ensemble alerted on.
    pub alerting: i64,
}

/// The console's header and maps for a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleOverview {
    pub from: i64,
    pub to: i64,
    /// Traffic by source country (from the per-minute aggregates).
    pub traffic: Vec<CountryFlows>,
    /// Alerts by source country with the highest risk (attack origins).
    pub origins: Vec<Marker>,
    /// Open alerts (new + acknowledged), whatever their age.
    pub open_alerts: i64,
    /// Of those, new (not yet acknowledged).
    pub new_alerts: i64,
    /// Open alerts with risk ≥ 90.
    pub critical_open: i64,
    /// Employee reports waiting for the SOC (status new).
    pub reports_new: i64,
    /// Detections absorbed by suppression rules in the range.
    pub suppressed: i64,
    /// Active suppression rules.
    pub rules_active: i64,
}

/// The employee report an alert's source or target matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelBrief {
    pub report_id: i64,
    pub indicator: String,
    pub category: ReportCategory,
    pub status: ReportStatus,
    /// Reports naming the same indicator.
    pub reports: i64,
}

/// Everything the alert detail shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub alert: Alert,
    pub asset: Option<Asset>,
    pub intel: Option<IntelBrief>,
    pub playbook: Option<Playbook>,
    /// Per playbook step: ticked off?
    pub steps_done: Vec<bool>,
    /// Everything done to the alert, oldest first.
    pub history: Vec<AlertEvent>,
    /// Other alerts from the same source, newest first.
    pub related: Vec<Alert>,
    /// All other alerts from that source.
    pub related_total: i64,
    /// Usernames alerts may be assigned to (active analysts, responders and admins).
    pub assignable: Vec<String>,
    /// The response actions taken from this alert, and what the viewer may do.
    #[serde(default)]
    pub response: crate::response::ResponseAccess,
}

pub use crate::threat::threat_title;

/// Every threat key an alert can carry, for filter lists (see [`crate::threat::ThreatKey::all`]).
pub fn threat_keys() -> Vec<&'static str> {
    crate::threat::ThreatKey::all().into_iter().map(|k| k.name()).collect()
}

/// `YYYY-MM-DDTHH:MM` (optionally `:SS`, or a space instead of `T`) in UTC → unix ms.
pub fn parse_utc_minute(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("`{}` is not a date and time like 2026-11-29T14:30 (UTC).", clip(s, 30));
    if s.is_empty() {
        return Err("Give the start of the custom range.".to_string());
    }
    let (date, time) = s.split_once(['T', ' ']).ok_or_else(bad)?;
    let num = |p: &str, len: usize| -> Option<i64> {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok()).flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = match (d.next(), d.next(), d.next(), d.next()) {
        (Some(y), Some(m), Some(day), None) => {
            (num(y, 4).ok_or_else(bad)?, num(m, 2).ok_or_else(bad)?, num(day, 2).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    };
    let mut t = time.split(':');
    let (h, min, sec) = match (t.next(), t.next(), t.next(), t.next()) {
        (Some(h), Some(mi), None, None) => (num(h, 2).ok_or_else(bad)?, num(mi, 2).ok_or_else(bad)?, 0),
        (Some(h), Some(mi), Some(se), None) => {
            (num(h, 2).ok_or_else(bad)?, num(mi, 2).ok_or_else(bad)?, num(se, 2).ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&m) || day < 1 || day > days_in_month(y, m) || h > 23 || min > 59 || sec > 59 {
        return Err(bad());
    }
    Ok(((days_from_civil(y, m, day) * 24 + h) * 60 + min) * 60_000 + sec * 1000)
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000_000;

    fn q(pairs: &[(&str, &str)]) -> QueueQuery {
        QueueQuery::from_params(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn an_empty_query_is_the_open_queue_of_the_last_24_hours_by_risk() {
        let f = QueueQuery::default().validate(NOW).unwrap();
        assert_eq!((f.range, f.from, f.to), (TimeRange::Last24h, NOW - 86_400_000, None));
        assert_eq!(f.status, StatusFilter::Open);
        assert_eq!(f.status.statuses(), vec![AlertStatus::New, AlertStatus::Acknowledged]);
        assert_eq!((f.group, f.sort, f.page), (GroupBy::None, SortBy::Risk, 1));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        for (name, value) in [
            ("range", "2w"),
            ("status", "closed"),
            ("threat", "DROP TABLE alerts"),
            ("min_risk", "101"),
            ("min_risk", "high"),
            ("asset", "10.0.0"),
            ("src_ip", "x"),
            ("country", "Germany"),
            ("group", "asset"),
            ("sort", "oldest"),
            ("page", "0"),
            ("q", &"x".repeat(MAX_SEARCH + 1)),
        ] {
            let err = q(&[(name, value)]).validate(NOW).unwrap_err();
            assert_eq!(err.field, name, "{name}={value}: {err:?}");
        }
        let err = q(&[("range", "custom")]).validate(NOW).unwrap_err();
        assert_eq!(err.field, "from");
        let err = q(&[("range", "custom"), ("from", "2026-11-29T10:00"), ("to", "2026-11-29T09:00")])
            .validate(NOW)
            .unwrap_err();
        assert_eq!(err.field, "to");
    }

    #[test]
    fn values_are_normalised() {
        let f = q(&[
            ("country", "de"),
            ("q", "  203.0.113.7 "),
            ("asset", "10.0.0.5"),
            ("status", "all"),
            ("group", "threat"),
        ])
        .validate(NOW)
        .unwrap();
        assert_eq!(f.country.as_deref(), Some("DE"));
        assert_eq!(f.text, Some(TextSearch::Address("203.0.113.7".into())));
        assert_eq!(f.asset_ip.as_deref(), Some("10.0.0.5"));
        assert!(f.status.statuses().is_empty());
        assert_eq!(q(&[("q", "SSH Brute")]).validate(NOW).unwrap().text, Some(TextSearch::Words("ssh brute".into())));
    }

    #[test]
    fn custom_ranges_are_utc_minutes() {
        let f = q(&[("range", "custom"), ("from", "2026-11-29T10:00"), ("to", "2026-11-29 11:30:15")])
            .validate(NOW)
            .unwrap();
        let day = days_from_civil(2026, 11, 29) * 86_400_000;
        assert_eq!(f.from, day + 10 * 3_600_000);
        assert_eq!(f.to, Some(day + 11 * 3_600_000 + 30 * 60_000 + 15_000));
        assert_eq!(crate::time::datetime_local(f.from), "2026-11-29T10:00");
        for bad in ["2026-02-30T10:00", "2026-11-29", "2026-11-29T24:00", "29/11/2026 10:00", "2026-1-29T10:00"] {
            assert!(parse_utc_minute(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_keep_the_query_and_reset_the_page() {
        let query = q(&[("range", "1h"), ("threat", "ddos"), ("page", "3")]);
        assert_eq!(query.to_query_string(), "?range=1h&threat=ddos&page=3");
        assert_eq!(query.with("country", "FR").to_query_string(), "?range=1h&threat=ddos&country=FR");
        assert_eq!(
            query.with("page", "4").href(Some(("alert", "7".into()))),
            "/soc?range=1h&threat=ddos&page=4&alert=7"
        );
        assert_eq!(QueueQuery::default().href(None), "/soc");
        assert_eq!(q(&[("q", "a&b=c d")]).to_query_string(), "?q=a%26b%3Dc%20d");
    }

    #[test]
    fn every_offered_threat_key_filters_the_queue() {
        for key in threat_keys() {
            let query = q(&[("threat", key)]);
            assert!(query.validate(1_700_000_000_000).is_ok(), "{key}");
        }
    }

    #[test]
    fn threat_titles_cover_every_key() {
        assert_eq!(threat_title("ddos"), "DDoS");
        assert_eq!(threat_title("signature"), "Suricata signature");
        assert_eq!(threat_title("unknown_anomaly"), "Unknown anomaly");
        assert_eq!(threat_title("something_new"), "something_new");
        let keys = threat_keys();
        assert!(keys.contains(&"port_scan") && !keys.contains(&"benign") && keys.contains(&"signature"));
    }
}
