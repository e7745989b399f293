//! Security KPIs for people who do not read logs (`/exec`): the periods a range covers, the figures
//! of one KPI report with their previous-period comparison, and the plain words that describe a
//! change. Browser-safe and pure; the store fills a [`KpiReport`] from rollup tables
//! (`store::kpi`), the page and the CSV export read it.
//!
//! Periods. A range is a number of buckets (24 hours, 7 or 30 UTC days) ending with the bucket in
//! progress, so the charts show whole hours and whole calendar days. The period ends at the end of
//! the current hour; the previous period is the same span one period earlier, cut at the same hour,
//! so both cover exactly the same length of time:
//!
//! ```text
//! 7 days at Nov 21 14:37 UTC:  current  = [Nov 15 00:00, Nov 21 15:00)
//!                              previous = [Nov  8 00:00, Nov 14 15:00)
//! ```
//!
//! Definitions (also stated on the page):
//! - alerts are counted in the hour of their first detection; repeats merged into an open alert
//!   count as detections, not as new alerts;
//! - average risk is the mean risk (0–100) of all detections;
//! - mean time to acknowledge (MTTA): for the alerts first handled in the period, the mean time from
//!   the moment AnomalyForge raised the alert to its first triage action;
//! - mean time to resolve (MTTR): for the alerts closed (resolved or marked a false positive) in the
//!   period and not reopened since, the mean time from raised to closed;
//! - open vs resolved: the alerts raised in the period, by the status they have now.

pub mod charts;
pub mod export;
#[cfg(feature = "server")]
pub mod rollup;

use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

use crate::time::utc_minute_plain;
pub use crate::time::{DAY, HOUR};
/// Rows in the top-assets list.
pub const TOP_ASSETS: usize = 10;

/// The time range of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KpiRange {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
}

impl KpiRange {
    pub const ALL: [KpiRange; 3] = [KpiRange::Day, KpiRange::Week, KpiRange::Month];
    /// What `/exec` shows without `?range=`.
    pub const DEFAULT: KpiRange = KpiRange::Week;

    /// `24h`, `7d`, `30d` (the URL and CSV spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            KpiRange::Day => "24h",
            KpiRange::Week => "7d",
            KpiRange::Month => "30d",
        }
    }

    /// `24 hours`, `7 days`, `30 days`.
    pub fn label(self) -> &'static str {
        match self {
            KpiRange::Day => "24 hours",
            KpiRange::Week => "7 days",
            KpiRange::Month => "30 days",
        }
    }

    /// Reads `24h`, `7d` or `30d` (surrounding space and case ignored); the error names the field
    /// `range` and says what is accepted.
    pub fn parse(s: &str) -> Result<KpiRange, FieldError> {
        let t = s.trim().to_ascii_lowercase();
        KpiRange::ALL.into_iter().find(|r| r.as_str() == t).ok_or_else(|| {
            let shown: String = s.trim().chars().take(20).collect();
            FieldError::new("range", format!("“{shown}” is not a range: use 24h, 7d or 30d."))
        })
    }

    /// Length of one bucket of the charts: an hour for 24 hours, a day otherwise.
    pub fn bucket_ms(self) -> i64 {
        match self {
            KpiRange::Day => HOUR,
            KpiRange::Week | KpiRange::Month => DAY,
        }
    }

    /// Buckets in one period.
    pub fn buckets(self) -> usize {
        match self {
            KpiRange::Day => 24,
            KpiRange::Week => 7,
            KpiRange::Month => 30,
        }
    }

    /// The current and previous periods at `now` (unix ms); see the module docs.
    pub fn periods(self, now: i64) -> Periods {
        let bucket = self.bucket_ms();
        let n = self.buckets() as i64;
        let from = floor(now, bucket) - (n - 1) * bucket;
        let to = floor(now, HOUR) + HOUR;
        let len = n * bucket;
        Periods {
            range: self,
            bucket_ms: bucket,
            current: Window { from, to },
            previous: Window { from: from - len, to: to - len },
        }
    }
}

/// `t` rounded down to a multiple of `step` (UTC hours and days are multiples of the epoch).
pub fn floor(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

/// A half-open span of time `[from, to)` in unix ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

impl Window {
    pub fn contains(&self, t: i64) -> bool {
        self.from <= t && t < self.to
    }

    pub fn len(&self) -> i64 {
        (self.to - self.from).max(0)
    }

    pub fn is_empty(&self) -> bool {
        self.to <= self.from
    }

    /// The window as rollup rows cover it, for windows on hour boundaries: the whole UTC days inside
    /// it (daily rows) and the hours before the first and after the last whole day (hourly rows).
    /// With `days = false` everything is hours (a chart by hour cannot use daily rows). The parts
    /// are disjoint and together are exactly the window.
    pub fn spans(&self, days: bool) -> Spans {
        let whole = (floor(self.from + DAY - 1, DAY), floor(self.to, DAY));
        if !days || whole.0 >= whole.1 {
            return Spans {
                days: None,
                hours: vec![(self.from, self.to)].into_iter().filter(|(a, b)| a < b).collect(),
            };
        }
        let hours = [(self.from, whole.0), (whole.1, self.to)].into_iter().filter(|(a, b)| a < b).collect();
        Spans { days: Some(whole), hours }
    }
}

/// How rollup rows cover a [`Window`] (see [`Window::spans`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spans {
    /// `[from, to)` of whole days, if any.
    pub days: Option<(i64, i64)>,
    /// `[from, to)` spans of hourly rows (at most two, none empty).
    pub hours: Vec<(i64, i64)>,
}

/// Which of the two compared periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Current,
    Previous,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Current => "current",
            Period::Previous => "previous",
        }
    }
}

/// The current period of a range and the previous one it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Periods {
    pub range: KpiRange,
    /// Bucket length of the charts (an hour or a day).
    pub bucket_ms: i64,
    pub current: Window,
    pub previous: Window,
}

impl Periods {
    /// Length of a whole period (buckets × bucket length): the shift from previous to current.
    pub fn shift(&self) -> i64 {
        self.range.buckets() as i64 * self.bucket_ms
    }

    /// The start of each bucket of the current period, oldest first.
    pub fn buckets(&self) -> Vec<i64> {
        (0..self.range.buckets() as i64).map(|i| self.current.from + i * self.bucket_ms).collect()
    }

    /// The window of `period`.
    pub fn window(&self, period: Period) -> Window {
        match period {
            Period::Current => self.current,
            Period::Previous => self.previous,
        }
    }

    /// The period and bucket index of an instant, or `None` outside both periods.
    pub fn locate(&self, t: i64) -> Option<(Period, usize)> {
        let (period, w) = if self.current.contains(t) {
            (Period::Current, self.current)
        } else if self.previous.contains(t) {
            (Period::Previous, self.previous)
        } else {
            return None;
        };
        Some((period, ((t - w.from) / self.bucket_ms) as usize))
    }

    /// Whether rollups are read by day (whole days) as well as by hour.
    pub fn by_day(&self) -> bool {
        self.bucket_ms == DAY
    }
}

/// A figure in the current period and in the previous one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compared<T> {
    pub current: T,
    pub previous: T,
}

impl<T> Compared<T> {
    pub fn get(&self, period: Period) -> &T {
        match period {
            Period::Current => &self.current,
            Period::Previous => &self.previous,
        }
    }

    pub fn get_mut(&mut self, period: Period) -> &mut T {
        match period {
            Period::Current => &mut self.current,
            Period::Previous => &mut self.previous,
        }
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Compared<U> {
        Compared { current: f(&self.current), previous: f(&self.previous) }
    }
}

/// Alerts, detections and their summed risk (of a period, a bucket or a category).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Alerts created.
    pub alerts: i64,
    /// Every detection, repeats merged into an alert included.
    pub detections: i64,
    pub risk_sum: i64,
}

impl Volume {
    /// Mean risk of the detections (0–100), `None` without detections.
    pub fn average_risk(&self) -> Option<f64> {
        (self.detections > 0).then(|| self.risk_sum as f64 / self.detections as f64)
    }

    pub fn add(&mut self, other: Volume) {
        self.alerts += other.alerts;
        self.detections += other.detections;
        self.risk_sum += other.risk_sum;
    }
}

/// A count and a summed duration, for a mean time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mean {
    pub n: i64,
    pub total_ms: i64,
}

impl Mean {
    /// The mean in ms, `None` when nothing was counted.
    pub fn ms(&self) -> Option<f64> {
        (self.n > 0).then(|| self.total_ms as f64 / self.n as f64)
    }

    pub fn add(&mut self, n: i64, total_ms: i64) {
        self.n += n;
        self.total_ms += total_ms;
    }
}

/// Alerts by the status they have now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub new: i64,
    pub acknowledged: i64,
    pub resolved: i64,
    pub false_positive: i64,
}

impl StatusCounts {
    /// New or acknowledged.
    pub fn open(&self) -> i64 {
        self.new + self.acknowledged
    }

    /// Resolved or marked a false positive.
    pub fn closed(&self) -> i64 {
        self.resolved + self.false_positive
    }

    pub fn total(&self) -> i64 {
        self.open() + self.closed()
    }

    /// The counter of a `status` column value (`None` for an unknown one).
    pub fn slot(&mut self, status: &str) -> Option<&mut i64> {
        match status {
            "new" => Some(&mut self.new),
            "acknowledged" => Some(&mut self.acknowledged),
            "resolved" => Some(&mut self.resolved),
            "false_positive" => Some(&mut self.false_positive),
            _ => None,
        }
    }
}

/// Triage of one bucket of the current period: alerts raised in it by status now, and the
/// acknowledgements and closings that happened in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseBucket {
    pub raised: StatusCounts,
    pub acknowledge: Mean,
    pub close: Mean,
}

/// Response figures of both periods.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Time to acknowledge of the alerts first handled in each period.
    pub acknowledge: Compared<Mean>,
    /// Time to close of the alerts closed in each period (and not reopened).
    pub close: Compared<Mean>,
    /// Alerts raised in each period, by status now.
    pub raised: Compared<StatusCounts>,
    /// Per bucket of the current period.
    pub series: Vec<ResponseBucket>,
}

/// Alerts of one category (threat type, criticality, country) in both periods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The stored key (`port_scan`, `high`, `DE`).
    pub key: String,
    /// The key in words (`Port scan`, `High`, `Germany`).
    pub label: String,
    pub alerts: Compared<i64>,
}

/// One asset criticality (or `none`) over the buckets of the current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalitySeries {
    pub key: String,
    pub label: String,
    /// Alerts per bucket of the current period.
    pub values: Vec<i64>,
    pub alerts: Compared<i64>,
}

/// An asset among the most targeted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetKpi {
    pub id: i64,
    pub ip: String,
    pub hostname: Option<String>,
    /// Its criticality now.
    pub criticality: String,
    pub alerts: Compared<i64>,
}

impl AssetKpi {
    /// `db-1 (10.0.0.5)`, or the address alone.
    pub fn name(&self) -> String {
        match self.hostname.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => format!("{h} ({})", self.ip),
            None => self.ip.clone(),
        }
    }
}

/// Employee reports received in a period, and how many of them the SOC has confirmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportCounts {
    pub received: i64,
    pub confirmed: i64,
}

/// Incidents opened in a period, and the time to contain of those contained in it (from creation
/// to the first containment, or to the closing when never contained first).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentCounts {
    pub opened: i64,
    pub contain: Mean,
}

/// Every figure of the dashboard for one range (one server function answers it whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiReport {
    pub periods: Periods,
    /// When it was computed (unix ms).
    pub generated_at: i64,
    pub totals: Compared<Volume>,
    /// Per bucket of the current period.
    pub series: Vec<Volume>,
    /// In [`CRITICALITIES`] order (stacked bottom to top).
    pub by_criticality: Vec<CriticalitySeries>,
    /// Threat types with alerts in either period, most alerts (current) first.
    pub by_threat: Vec<Breakdown>,
    /// Source countries with alerts in either period, most alerts (current) first. `ZZ`: unknown
    /// or private addresses.
    pub countries: Vec<Breakdown>,
    /// At most [`TOP_ASSETS`], most alerts (current) first.
    pub top_assets: Vec<AssetKpi>,
    pub response: Response,
    pub reports: Compared<ReportCounts>,
    #[serde(default)]
    pub incidents: Compared<IncidentCounts>,
    /// Incidents open or contained when the report was made.
    #[serde(default)]
    pub active_incidents: i64,
}

impl KpiReport {
    /// Nothing was recorded in either period (a fresh installation): the page says so.
    pub fn is_empty(&self) -> bool {
        let r = &self.response;
        self.totals.current.detections == 0
            && self.totals.previous.detections == 0
            && r.raised.current.total() == 0
            && r.raised.previous.total() == 0
            && r.acknowledge.current.n + r.acknowledge.previous.n + r.close.current.n + r.close.previous.n == 0
            && self.reports.current.received + self.reports.previous.received == 0
            && self.incidents.current.opened + self.incidents.previous.opened + self.active_incidents == 0
    }
}

/// Criticality keys of `kpi_alert_rollup`, in stacking order, with their labels.
pub const CRITICALITIES: [(&str, &str); 5] =
    [("none", "No known asset"), ("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")];

/// Whether a rise of a figure is bad news, good news or neither (for its colour; the words say
/// the direction either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    HigherIsWorse,
    HigherIsBetter,
    Neutral,
}

/// How a figure moved from the previous period to the current one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Signed percentage of the previous value.
    Percent(f64),
    /// Equal values (zero included).
    Same,
    /// Up from zero.
    FromZero,
    /// The previous period has no value to compare with (a mean of nothing).
    NoPrevious,
    /// The current period has no value.
    NoCurrent,
}

/// Which way a change points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Flat,
    Unknown,
}

impl Change {
    pub fn between(current: Option<f64>, previous: Option<f64>) -> Change {
        match (current, previous) {
            (None, _) => Change::NoCurrent,
            (Some(_), None) => Change::NoPrevious,
            (Some(c), Some(p)) if c == p => Change::Same,
            (Some(_), Some(0.0)) => Change::FromZero,
            (Some(c), Some(p)) => Change::Percent((c - p) / p.abs() * 100.0),
        }
    }

    /// For counts (always comparable).
    pub fn of_counts(c: &Compared<i64>) -> Change {
        Change::between(Some(c.current as f64), Some(c.previous as f64))
    }

    pub fn direction(self) -> Direction {
        match self {
            Change::Percent(p) if p > 0.0 => Direction::Up,
            Change::Percent(_) => Direction::Down,
            Change::FromZero => Direction::Up,
            Change::Same => Direction::Flat,
            Change::NoPrevious | Change::NoCurrent => Direction::Unknown,
        }
    }

    /// `better`, `worse` or `neutral`: the CSS class of the change under `polarity`.
    pub fn tone(self, polarity: Polarity) -> &'static str {
        match (self.direction(), polarity) {
            (Direction::Up, Polarity::HigherIsWorse) | (Direction::Down, Polarity::HigherIsBetter) => "worse",
            (Direction::Down, Polarity::HigherIsWorse) | (Direction::Up, Polarity::HigherIsBetter) => "better",
            _ => "neutral",
        }
    }

    /// `▲`, `▼`, `=` or nothing (decoration: [`Change::words`] says the same).
    pub fn arrow(self) -> &'static str {
        match self.direction() {
            Direction::Up => "▲",
            Direction::Down => "▼",
            Direction::Flat => "=",
            Direction::Unknown => "",
        }
    }

    /// The change in words, against the previous period of `range`: `up 12 % vs previous 7 days`,
    /// `down less than 1 % vs previous 24 hours`, `no change vs previous 30 days`, `up from none in
    /// the previous 7 days`, `nothing to compare with in the previous 7 days`.
    pub fn words(self, range: KpiRange) -> String {
        let span = range.label();
        match self {
            Change::Percent(p) => {
                let way = if p > 0.0 { "up" } else { "down" };
                let size = p.abs();
                let amount = if size < 1.0 {
                    "less than 1 %".to_string()
                } else {
                    format!("{} %", crate::charts::format_number(size.round()))
                };
                format!("{way} {amount} vs previous {span}")
            }
            Change::Same => format!("no change vs previous {span}"),
            Change::FromZero => format!("up from none in the previous {span}"),
            Change::NoPrevious => format!("nothing to compare with in the previous {span}"),
            Change::NoCurrent => format!("none in this period, so no comparison with the previous {span}"),
        }
    }

    /// [`Change::words`] with the arrow in front, as on the page and in the issue's example
    /// (`▲ 12 % vs previous 7 days`).
    pub fn text(self, range: KpiRange) -> String {
        let words = self.words(range);
        match self.arrow() {
            "" => words,
            arrow => {
                let rest = words.strip_prefix("up ").or_else(|| words.strip_prefix("down ")).unwrap_or(&words);
                format!("{arrow} {rest}")
            }
        }
    }
}

/// A duration for people: `40 s`, `12 min`, `3 h 05 min`, `2 d 4 h`.
pub fn format_duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "–".to_string();
    }
    let secs = (ms / 1000.0).round() as i64;
    if secs < 60 {
        return format!("{secs} s");
    }
    let mins = (ms / 60_000.0).round() as i64;
    if mins < 60 {
        return format!("{mins} min");
    }
    if mins < 24 * 60 {
        return format!("{} h {:02} min", mins / 60, mins % 60);
    }
    let hours = (ms / HOUR as f64).round() as i64;
    format!("{} d {} h", hours / 24, hours % 24)
}

/// `2026-11-15 00:00 – 2026-11-21 15:00 UTC` (the end is exclusive: "up to").
pub fn describe_window(w: Window) -> String {
    format!("{} – {} UTC", utc_minute_plain(w.from), utc_minute_plain(w.to))
}

/// The window up to `now` when it ends later (the current period ends with the hour in progress):
/// `2026-11-15 00:00 – 2026-11-21 14:37 UTC`.
pub fn describe_until(w: Window, now: i64) -> String {
    describe_window(Window { from: w.from, to: w.to.min(now) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::iso_utc;

    /// 2026-11-21 14:37:12.5 UTC.
    const NOW: i64 = 1_795_271_832_500;
    /// 2026-11-21 00:00 UTC.
    const MIDNIGHT: i64 = 1_795_219_200_000;

    #[test]
    fn the_fixture_instants_are_what_they_say() {
        assert_eq!(utc_minute_plain(NOW), "2026-11-21 14:37");
        assert_eq!(utc_minute_plain(MIDNIGHT), "2026-11-21 00:00");
        assert_eq!(iso_utc(NOW), "2026-11-21T14:37:12Z");
    }

    #[test]
    fn ranges_parse_and_name_the_field_when_wrong() {
        for r in KpiRange::ALL {
            assert_eq!(KpiRange::parse(r.as_str()), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        assert_eq!(KpiRange::parse(" 30D "), Ok(KpiRange::Month));
        let e = KpiRange::parse("1y").unwrap_err();
        assert_eq!(e.field, "range");
        assert_eq!(e.message, "“1y” is not a range: use 24h, 7d or 30d.");
        assert!(KpiRange::parse(&"x".repeat(500)).unwrap_err().message.len() < 80, "long input is cut");
    }

    #[test]
    fn the_day_range_is_24_whole_hours_ending_with_the_current_one() {
        let p = KpiRange::Day.periods(NOW);
        let h = floor(NOW, HOUR);
        assert_eq!(utc_minute_plain(h), "2026-11-21 14:00");
        assert_eq!(p.current, Window { from: h - 23 * HOUR, to: h + HOUR });
        assert_eq!(p.previous, Window { from: h - 47 * HOUR, to: h - 23 * HOUR });
        assert_eq!(p.current.len(), p.previous.len());
        assert_eq!(p.buckets().len(), 24);
        assert_eq!(p.buckets()[23], h);
        assert_eq!(describe_window(p.current), "2026-11-20 15:00 – 2026-11-21 15:00 UTC");
        assert_eq!(describe_until(p.current, NOW), "2026-11-20 15:00 – 2026-11-21 14:37 UTC");
        assert_eq!(describe_until(p.previous, NOW), "2026-11-19 15:00 – 2026-11-20 15:00 UTC");
    }

    #[test]
    fn day_ranges_are_calendar_days_and_the_previous_period_is_cut_at_the_same_hour() {
        let p = KpiRange::Week.periods(NOW);
        assert_eq!(describe_window(p.current), "2026-11-15 00:00 – 2026-11-21 15:00 UTC");
        assert_eq!(describe_window(p.previous), "2026-11-08 00:00 – 2026-11-14 15:00 UTC");
        assert_eq!(p.current.len(), p.previous.len(), "same length of time");
        assert_eq!(p.buckets(), (0..7).map(|d| MIDNIGHT - (6 - d) * DAY).collect::<Vec<_>>());
        assert_eq!(p.shift(), 7 * DAY);
        let m = KpiRange::Month.periods(NOW);
        assert_eq!(describe_window(m.current), "2026-10-23 00:00 – 2026-11-21 15:00 UTC");
        assert_eq!(describe_window(m.previous), "2026-09-23 00:00 – 2026-10-22 15:00 UTC");
        // At the very start of a day, the day in progress is one hour long.
        let p = KpiRange::Week.periods(MIDNIGHT);
        assert_eq!(p.current.to, MIDNIGHT + HOUR);
        assert_eq!(p.current.len(), 6 * DAY + HOUR);
    }

    #[test]
    fn instants_are_located_in_their_period_and_bucket() {
        let p = KpiRange::Week.periods(NOW);
        assert_eq!(p.locate(MIDNIGHT + 5), Some((Period::Current, 6)));
        assert_eq!(p.locate(p.current.from), Some((Period::Current, 0)));
        assert_eq!(p.locate(p.current.to), None, "the end is exclusive");
        assert_eq!(p.locate(p.previous.from + DAY), Some((Period::Previous, 1)));
        assert_eq!(p.locate(p.previous.to), None, "the rest of that day is not compared");
        assert_eq!(p.locate(p.previous.from - 1), None);
        let d = KpiRange::Day.periods(NOW);
        assert_eq!(d.locate(NOW), Some((Period::Current, 23)));
        assert_eq!(d.locate(NOW - 24 * HOUR), Some((Period::Previous, 23)));
    }

    #[test]
    fn windows_split_into_whole_days_and_edge_hours() {
        let w = Window { from: MIDNIGHT - 3 * DAY, to: MIDNIGHT + 15 * HOUR };
        assert_eq!(
            w.spans(true),
            Spans { days: Some((MIDNIGHT - 3 * DAY, MIDNIGHT)), hours: vec![(MIDNIGHT, MIDNIGHT + 15 * HOUR)] }
        );
        assert_eq!(w.spans(false), Spans { days: None, hours: vec![(w.from, w.to)] });
        let w = Window { from: MIDNIGHT - 5 * HOUR, to: MIDNIGHT + DAY + 2 * HOUR };
        assert_eq!(
            w.spans(true),
            Spans {
                days: Some((MIDNIGHT, MIDNIGHT + DAY)),
                hours: vec![(MIDNIGHT - 5 * HOUR, MIDNIGHT), (MIDNIGHT + DAY, MIDNIGHT + DAY + 2 * HOUR)]
            }
        );
        let w = Window { from: MIDNIGHT + HOUR, to: MIDNIGHT + 9 * HOUR };
        assert_eq!(w.spans(true), Spans { days: None, hours: vec![(w.from, w.to)] }, "no whole day inside");
        assert_eq!(Window { from: 5, to: 5 }.spans(true).hours, vec![], "an empty window has no parts");
    }

    #[test]
    fn spans_cover_the_window_exactly() {
        // Every hour-aligned window of up to 40 days starting anywhere in a 2-day stretch.
        for start in (0..48).map(|h| MIDNIGHT + h * HOUR) {
            for len in [1, 5, 23, 24, 25, 47, 48, 24 * 7 + 3, 24 * 40] {
                let w = Window { from: start, to: start + len * HOUR };
                let s = w.spans(true);
                let mut parts: Vec<(i64, i64)> = s.hours.clone();
                parts.extend(s.days);
                parts.sort();
                assert_eq!(parts.first().unwrap().0, w.from);
                assert_eq!(parts.last().unwrap().1, w.to);
                assert!(parts.windows(2).all(|p| p[0].1 == p[1].0), "contiguous, disjoint: {parts:?}");
                if let Some((a, b)) = s.days {
                    assert!(a % DAY == 0 && b % DAY == 0 && a < b);
                }
                assert!(s.hours.len() <= 2);
            }
        }
    }

    #[test]
    fn changes_are_described_in_words() {
        let c = |cur: i64, prev: i64| Change::of_counts(&Compared { current: cur, previous: prev });
        assert_eq!(c(112, 100).text(KpiRange::Week), "▲ 12 % vs previous 7 days");
        assert_eq!(c(112, 100).words(KpiRange::Week), "up 12 % vs previous 7 days");
        assert_eq!(c(97, 100).text(KpiRange::Day), "▼ 3 % vs previous 24 hours");
        assert_eq!(c(1001, 1000).words(KpiRange::Month), "up less than 1 % vs previous 30 days");
        assert_eq!(c(2, 3).words(KpiRange::Week), "down 33 % vs previous 7 days");
        assert_eq!(c(5000, 2).words(KpiRange::Week), "up 249,900 % vs previous 7 days");
        assert_eq!(c(0, 40).words(KpiRange::Week), "down 100 % vs previous 7 days");
        assert_eq!(c(5, 5).text(KpiRange::Week), "= no change vs previous 7 days");
        assert_eq!(c(0, 0).words(KpiRange::Week), "no change vs previous 7 days");
        assert_eq!(c(4, 0).text(KpiRange::Week), "▲ from none in the previous 7 days");
        assert_eq!(
            Change::between(Some(3.0), None).text(KpiRange::Day),
            "nothing to compare with in the previous 24 hours"
        );
        assert_eq!(Change::between(None, Some(3.0)).direction(), Direction::Unknown);
        assert_eq!(
            Change::between(None, Some(3.0)).text(KpiRange::Week),
            "none in this period, so no comparison with the previous 7 days"
        );
        assert_eq!(c(112, 100).tone(Polarity::HigherIsWorse), "worse");
        assert_eq!(c(88, 100).tone(Polarity::HigherIsWorse), "better");
        assert_eq!(c(88, 100).tone(Polarity::HigherIsBetter), "worse");
        assert_eq!(c(88, 100).tone(Polarity::Neutral), "neutral");
        assert_eq!(c(4, 4).tone(Polarity::HigherIsWorse), "neutral");
    }

    #[test]
    fn means_and_averages_need_something_to_average() {
        assert_eq!(Mean { n: 4, total_ms: 10 * 60_000 }.ms(), Some(150_000.0));
        assert_eq!(Mean::default().ms(), None);
        assert_eq!(Volume { alerts: 2, detections: 4, risk_sum: 250 }.average_risk(), Some(62.5));
        assert_eq!(Volume::default().average_risk(), None);
        let mut s = StatusCounts::default();
        *s.slot("new").unwrap() += 3;
        *s.slot("false_positive").unwrap() += 1;
        *s.slot("resolved").unwrap() += 2;
        assert!(s.slot("deleted").is_none());
        assert_eq!((s.open(), s.closed(), s.total()), (3, 3, 6));
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(format_duration(40_400.0), "40 s");
        assert_eq!(format_duration(59_600.0), "1 min");
        assert_eq!(format_duration(12.0 * 60_000.0), "12 min");
        assert_eq!(format_duration(3.0 * HOUR as f64 + 5.0 * 60_000.0), "3 h 05 min");
        assert_eq!(format_duration(2.0 * DAY as f64 + 4.2 * HOUR as f64), "2 d 4 h");
        assert_eq!(format_duration(f64::NAN), "–");
    }

    #[test]
    fn threats_and_assets_are_named_for_people() {
        use crate::console::threat_title;
        assert_eq!(threat_title("port_scan"), "Port scan");
        assert_eq!(threat_title("signature"), "Suricata signature");
        assert_eq!(threat_title("unknown_anomaly"), "Unknown anomaly");
        assert_eq!(threat_title("something_new"), "something_new");
        let mut a = AssetKpi {
            id: 1,
            ip: "10.0.0.5".into(),
            hostname: Some("db-1".into()),
            criticality: "high".into(),
            alerts: Compared::default(),
        };
        assert_eq!(a.name(), "db-1 (10.0.0.5)");
        a.hostname = Some(" ".into());
        assert_eq!(a.name(), "10.0.0.5");
    }
}
