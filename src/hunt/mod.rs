//! Threat hunting: the question an analyst asks of stored flows and alerts, as one line of filter
//! text (`src:10.0.0.0/8 dport:443 country:RU risk>=70 since:24h`), as form fields and as a URL
//! query. Browser-safe: the hunt page parses and shows a [`HuntQuery`], the server runs it.
//!
//! The three forms carry the same query and convert without loss: [`HuntQuery::parse`] reads the
//! text, its `Display` writes it back in a fixed key order, and [`HuntQuery::to_pairs`] /
//! [`HuntQuery::from_pairs`] give one field per key for forms and URLs. A bad term is named by its
//! byte offset, its text and what the key allows ([`FilterError`]); [`HuntQuery::parse_partial`]
//! keeps the good terms beside the errors. The syntax itself is described in [`filter`].

#[cfg(feature = "server")]
pub mod alerts;
pub mod filter;
#[cfg(feature = "server")]
pub mod search;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use self::filter::FilterError;
use crate::intel::time::{format_date, format_rfc3339_ms};
pub use crate::intel::Cidr;

/// One term of a key: any of its values (a comma list), or none of them when negated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term<T> {
    pub negated: bool,
    /// At least one value.
    pub any_of: Vec<T>,
}

impl<T> Term<T> {
    pub fn new(any_of: Vec<T>) -> Term<T> {
        Term { negated: false, any_of }
    }

    pub fn not(any_of: Vec<T>) -> Term<T> {
        Term { negated: true, any_of }
    }
}

/// A port or an inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn one(port: u16) -> PortRange {
        PortRange { first: port, last: port }
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

/// How a `risk` term compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskOp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl RiskOp {
    pub fn symbol(self) -> &'static str {
        match self {
            RiskOp::Ge => ">=",
            RiskOp::Gt => ">",
            RiskOp::Le => "<=",
            RiskOp::Lt => "<",
            RiskOp::Eq => "=",
        }
    }

    pub fn matches(self, risk: u8, value: u8) -> bool {
        match self {
            RiskOp::Ge => risk >= value,
            RiskOp::Gt => risk > value,
            RiskOp::Le => risk <= value,
            RiskOp::Lt => risk < value,
            RiskOp::Eq => risk == value,
        }
    }
}

/// `risk>=70`: the alert's 0–100 risk compared with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskTerm {
    pub negated: bool,
    pub op: RiskOp,
    pub value: u8,
}

/// The unit of a relative duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl DurationUnit {
    pub const ALL: [DurationUnit; 5] =
        [DurationUnit::Seconds, DurationUnit::Minutes, DurationUnit::Hours, DurationUnit::Days, DurationUnit::Weeks];

    pub fn suffix(self) -> char {
        match self {
            DurationUnit::Seconds => 's',
            DurationUnit::Minutes => 'm',
            DurationUnit::Hours => 'h',
            DurationUnit::Days => 'd',
            DurationUnit::Weeks => 'w',
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            DurationUnit::Seconds => 1000,
            DurationUnit::Minutes => 60_000,
            DurationUnit::Hours => 3_600_000,
            DurationUnit::Days => 86_400_000,
            DurationUnit::Weeks => 604_800_000,
        }
    }
}

/// `since:24h`: a span back from now, kept in the unit it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelDuration {
    pub amount: u32,
    pub unit: DurationUnit,
}

impl RelDuration {
    pub fn ms(&self) -> i64 {
        i64::from(self.amount) * self.unit.ms()
    }
}

impl fmt::Display for RelDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

/// `from:` / `until:` value: a whole day (UTC) or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePoint {
    /// Days since 1970-01-01 (`2026-03-01`).
    Day(i64),
    /// Unix ms (`2026-03-01T12:00:00Z`).
    At(i64),
}

impl TimePoint {
    /// Where a range starting here starts: the day's midnight or the instant.
    pub fn start_ms(&self) -> i64 {
        match *self {
            TimePoint::Day(d) => d.saturating_mul(86_400_000),
            TimePoint::At(ms) => ms,
        }
    }

    /// Where a range ending here ends (exclusive): after the whole day, or at the instant.
    pub fn end_ms(&self) -> i64 {
        match *self {
            TimePoint::Day(d) => d.saturating_add(1).saturating_mul(86_400_000),
            TimePoint::At(ms) => ms,
        }
    }
}

impl fmt::Display for TimePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TimePoint::Day(d) => f.write_str(&format_date(d)),
            TimePoint::At(ms) => f.write_str(&format_rfc3339_ms(ms)),
        }
    }
}

/// `verdict:` of an alert's triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Alert,
    Benign,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alert => "alert",
            Verdict::Benign => "benign",
        }
    }
}

/// The alerts a hunt found: the newest that match, how many matched among those read, and whether
/// every alert of the time range was read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertHunt {
    pub alerts: Vec<crate::alert::Alert>,
    pub matched: u64,
    /// Alerts of the time range read (newest first), at most the search's cap.
    pub scanned: u64,
    /// False when the cap stopped the search before the oldest alert of the range.
    pub complete: bool,
}

/// The header of [`alerts_to_csv`].
pub const ALERT_CSV_HEADER: &str =
    "id,first_seen_utc,last_seen_utc,threat,risk,severity,status,detector,src_ip,src_port,\
dst_ip,dst_port,protocol,count,src_country,signature,assignee";

/// Alerts as CSV (RFC 4180, CRLF), every text cell formula-safe (`crate::csv_cell`): a signature
/// or an address comes from traffic, and a spreadsheet must not run it.
pub fn alerts_to_csv(alerts: &[crate::alert::Alert]) -> String {
    use crate::csv_cell::cell;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let text = |v: &Option<String>| cell(v.as_deref().unwrap_or_default());
    let mut out = String::with_capacity(64 + alerts.len() * 160);
    out.push_str(ALERT_CSV_HEADER);
    out.push_str("\r\n");
    for a in alerts {
        let line = [
            a.id.to_string(),
            format_rfc3339_ms(a.first_seen),
            format_rfc3339_ms(a.last_seen),
            cell(&a.threat),
            a.risk.to_string(),
            a.severity.as_str().to_string(),
            a.status.as_str().to_string(),
            a.detector.as_str().to_string(),
            text(&a.src_ip),
            opt(a.src_port),
            text(&a.dst_ip),
            opt(a.dst_port),
            opt(a.protocol),
            a.count.to_string(),
            text(&a.src_country),
            text(&a.signature),
            text(&a.assignee),
        ]
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

/// Whether one term holds: any of its values matches, or, negated, none does.
fn holds<T>(t: &Term<T>, matches: impl Fn(&T) -> bool) -> bool {
    t.any_of.iter().any(matches) != t.negated
}

impl HuntQuery {
    /// Whether the query holds for an alert (times aside: the search narrows by time first).
    /// `assets` are the addresses of each `asset:` term, in order. An alert has the verdict `alert`;
    /// its country is its source's; a port or protocol it does not carry matches no value.
    pub fn matches_alert(&self, a: &crate::alert::Alert, assets: &[Vec<std::net::IpAddr>]) -> bool {
        use std::net::IpAddr;
        let addr = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
        let (src, dst) = (addr(&a.src_ip), addr(&a.dst_ip));
        let in_net = |ip: Option<IpAddr>, c: &Cidr| ip.is_some_and(|ip| c.contains(ip));
        let port = |p: Option<i64>, r: &PortRange| p.and_then(|p| u16::try_from(p).ok()).is_some_and(|p| r.contains(p));
        let profile = || {
            serde_json::from_str::<serde_json::Value>(&a.reasons)
                .ok()
                .and_then(|r| r.get("profile").and_then(|p| p.as_str()).map(str::to_string))
        };
        self.src.iter().all(|t| holds(t, |c| in_net(src, c)))
            && self.dst.iter().all(|t| holds(t, |c| in_net(dst, c)))
            && self.ip.iter().all(|t| holds(t, |c| in_net(src, c) || in_net(dst, c)))
            && self.sport.iter().all(|t| holds(t, |r| port(a.src_port, r)))
            && self.dport.iter().all(|t| holds(t, |r| port(a.dst_port, r)))
            && self.port.iter().all(|t| holds(t, |r| port(a.src_port, r) || port(a.dst_port, r)))
            && self.proto.iter().all(|t| holds(t, |p| a.protocol == Some(i64::from(*p))))
            && self.country.iter().all(|t| holds(t, |c| a.src_country.as_deref() == Some(c.as_str())))
            && self.asset.iter().zip(assets).all(|(t, ips)| {
                (src.is_some_and(|ip| ips.contains(&ip)) || dst.is_some_and(|ip| ips.contains(&ip))) != t.negated
            })
            && self.risk.iter().all(|r| r.op.matches(a.risk.clamp(0, 100) as u8, r.value) != r.negated)
            && self.threat.iter().all(|t| holds(t, |k| *k == a.threat))
            && self.detector.iter().all(|t| holds(t, |d| d == a.detector.as_str()))
            && (self.profile.is_empty() || {
                let p = profile();
                self.profile.iter().all(|t| holds(t, |k| p.as_deref() == Some(k.as_str())))
            })
            && self.verdict.iter().all(|t| holds(t, |v| *v == Verdict::Alert))
    }
}

/// `kind:` what the hunt searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HuntKind {
    Flows,
    Alerts,
    All,
}

impl HuntKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HuntKind::Flows => "flows",
            HuntKind::Alerts => "alerts",
            HuntKind::All => "all",
        }
    }
}

/// A hunt: every term must hold (terms of one key too); a term holds when any of its values matches,
/// or, negated, when none does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntQuery {
    pub kind: Option<HuntKind>,
    pub since: Option<RelDuration>,
    pub from: Option<TimePoint>,
    pub until: Option<TimePoint>,
    /// Source address in a network.
    pub src: Vec<Term<Cidr>>,
    /// Destination address in a network.
    pub dst: Vec<Term<Cidr>>,
    /// Either address in a network.
    pub ip: Vec<Term<Cidr>>,
    pub sport: Vec<Term<PortRange>>,
    pub dport: Vec<Term<PortRange>>,
    /// Either port.
    pub port: Vec<Term<PortRange>>,
    /// IP protocol number (tcp 6, udp 17, icmp 1).
    pub proto: Vec<Term<u8>>,
    /// ISO 3166 alpha-2 code, uppercase: of the outside end of a flow, of an alert's source.
    pub country: Vec<Term<String>>,
    /// Inventory asset name (as written, case kept).
    pub asset: Vec<Term<String>>,
    pub risk: Vec<RiskTerm>,
    /// Threat key (`ddos`, `port_scan`).
    pub threat: Vec<Term<String>>,
    /// Detector name (`ml`, `signature`, `behaviour`, `intel`).
    pub detector: Vec<Term<String>>,
    /// Feature profile (`cicflowmeter`, `conn`).
    pub profile: Vec<Term<String>>,
    pub verdict: Vec<Term<Verdict>>,
}

impl HuntQuery {
    /// Reads filter text; the first bad term is the error.
    pub fn parse(text: &str) -> Result<HuntQuery, FilterError> {
        filter::parse(text)
    }

    /// Reads filter text keeping every good term, with an error for each bad one.
    pub fn parse_partial(text: &str) -> (HuntQuery, Vec<FilterError>) {
        filter::parse_partial(text)
    }

    /// One `(key, value)` per key in use, in the canonical order; the value is the key's part of the
    /// filter text without the key (`("dport", "443,8443 -22")`, `("risk", ">=70")`).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        filter::to_pairs(self)
    }

    /// The inverse of [`HuntQuery::to_pairs`], for URL query strings and form fields. Empty fields
    /// are absent; a field given twice adds its terms.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Result<HuntQuery, FilterError> {
        filter::from_pairs(pairs)
    }

    pub fn is_empty(&self) -> bool {
        *self == HuntQuery::default()
    }

    /// The time range the query asks for, as unix ms `[start, end)`: `since` counts back from
    /// `now_ms`, `from` starts at its day's midnight or its instant (the later of the two wins when
    /// both are given), `until` ends after its whole day or at its instant. `None` is unbounded.
    pub fn time_range(&self, now_ms: i64) -> (Option<i64>, Option<i64>) {
        let since = self.since.map(|d| now_ms.saturating_sub(d.ms()));
        let from = self.from.map(|f| f.start_ms());
        let start = match (since, from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        (start, self.until.map(|u| u.end_ms()))
    }
}

impl fmt::Display for HuntQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&filter::to_text(self))
    }
}

impl std::str::FromStr for HuntQuery {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HuntQuery::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, Detector, Severity};

    fn alert() -> Alert {
        Alert {
            id: 1,
            first_seen: 0,
            last_seen: 0,
            count: 3,
            src_ip: Some("10.0.0.5".into()),
            src_port: Some(50_000),
            dst_ip: Some("198.51.100.7".into()),
            dst_port: Some(443),
            protocol: Some(6),
            threat: "c2_beacon".into(),
            risk: 81,
            severity: Severity::High,
            status: crate::alert::AlertStatus::New,
            detector: Detector::Behaviour,
            signature: None,
            reasons: r#"{"profile":"conn"}"#.into(),
            features: "[]".into(),
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
        }
    }

    #[test]
    fn alerts_match_every_key_like_flows_do() {
        let a = alert();
        let m = |q: &str| HuntQuery::parse(q).unwrap().matches_alert(&a, &[]);
        for yes in [
            "src:10.0.0.0/8 dst:198.51.100.0/24",
            "ip:198.51.100.7 dport:443 proto:tcp",
            "port:50000 risk>=80 threat:c2_beacon,ddos detector:behaviour",
            "-country:RU profile:conn verdict:alert",
            "-dst:10.0.0.0/8 -threat:ddos",
        ] {
            assert!(m(yes), "{yes}");
        }
        for no in [
            "src:192.168.0.0/16",
            "dport:80",
            "proto:udp",
            "country:RU",
            "risk>90",
            "detector:ml",
            "verdict:benign",
            "-ip:10.0.0.5",
        ] {
            assert!(!m(no), "{no}");
        }
        let mut evil = a.clone();
        evil.signature = Some("=HYPERLINK(\"http://x\")".into());
        let csv = alerts_to_csv(&[evil]);
        assert!(csv.starts_with("id,first_seen_utc,") && csv.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "{csv}");
        let q = HuntQuery::parse("asset:web").unwrap();
        assert!(q.matches_alert(&a, &[vec!["10.0.0.5".parse().unwrap()]]));
        assert!(!q.matches_alert(&a, &[vec!["10.0.0.6".parse().unwrap()]]));
    }
}
