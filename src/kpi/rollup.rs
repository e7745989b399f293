//! What one stored alert or one triage step adds to the KPI rollups (`kpi_alert_rollup`,
//! `kpi_asset_cumulative`, `kpi_response`). Pure: the store applies the rows in the same transaction as the change
//! they count, and the benchmark generator uses the same functions, so its rollups agree with its
//! alerts by construction.

use super::{floor, DAY, HOUR};
use crate::alert::AlertStatus;
use std::collections::BTreeMap;

/// The dimensions of `kpi_alert_rollup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Threat,
    Criticality,
    Country,
}

impl Dim {
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Threat => "threat",
            Dim::Criticality => "criticality",
            Dim::Country => "country",
        }
    }
}

/// Both grains are kept for every dimension and for the response (see the migration).
pub const GRAINS: [i64; 2] = [HOUR, DAY];

/// One row of `kpi_alert_rollup` to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRollupRow {
    pub grain: i64,
    pub bucket: i64,
    pub dim: Dim,
    pub key: String,
    pub alerts: i64,
    pub detections: i64,
    pub risk_sum: i64,
}

/// What a stored alert (new or grown) contributes, counted like `alert_hourly`: in the hour of its
/// detections' first `seen_at`.
#[derive(Debug, Clone, Copy)]
pub struct AlertContribution<'a> {
    pub seen_at: i64,
    pub threat: &'a str,
    /// `low` … `critical`, or `None` without an asset.
    pub criticality: Option<&'a str>,
    /// ISO alpha-2, or `None` (counted as `ZZ`).
    pub country: Option<&'a str>,
    pub asset_id: Option<i64>,
    /// 1 when the alert was created, 0 when detections grew an open one.
    pub created: i64,
    pub detections: i64,
    pub risk_sum: i64,
}

/// (grain, dimension, bucket, key): the primary key of a `kpi_alert_rollup` row.
type RowKey = (i64, Dim, i64, String);

/// The rollup changes of a batch: rows of `kpi_alert_rollup` summed per row key (alerts,
/// detections, risk sum), and alerts created per (asset, hour) for `kpi_asset_cumulative`.
#[derive(Debug, Default)]
pub struct AlertRollup {
    rows: BTreeMap<RowKey, (i64, i64, i64)>,
    assets: BTreeMap<(i64, i64), i64>,
}

impl AlertRollup {
    pub fn add(&mut self, c: &AlertContribution) {
        let keys = [
            (Dim::Threat, c.threat),
            (Dim::Criticality, c.criticality.unwrap_or("none")),
            (Dim::Country, c.country.unwrap_or(crate::worldmap::Country::UNKNOWN)),
        ];
        for grain in GRAINS {
            let bucket = floor(c.seen_at, grain);
            for (dim, key) in keys {
                let e = self.rows.entry((grain, dim, bucket, key.to_string())).or_default();
                e.0 += c.created;
                e.1 += c.detections;
                e.2 += c.risk_sum;
            }
        }
        if let (Some(asset), true) = (c.asset_id, c.created != 0) {
            *self.assets.entry((asset, floor(c.seen_at, HOUR))).or_default() += c.created;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.assets.is_empty()
    }

    /// The `kpi_alert_rollup` rows, in key order (so writes are deterministic), and the
    /// (asset id, hour, alerts created) additions to the running totals.
    pub fn into_rows(self) -> (Vec<AlertRollupRow>, Vec<(i64, i64, i64)>) {
        let rows = self
            .rows
            .into_iter()
            .map(|((grain, dim, bucket, key), (alerts, detections, risk_sum))| AlertRollupRow {
                grain,
                bucket,
                dim,
                key,
                alerts,
                detections,
                risk_sum,
            })
            .collect();
        (rows, self.assets.into_iter().map(|((asset, hour), n)| (asset, hour, n)).collect())
    }
}

/// The metrics of `kpi_response`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Alerts stored in the hour, by their status now.
    Raised(AlertStatus),
    /// Alerts first handled in the hour (time from raised).
    Acknowledged,
    /// Alerts closed in the hour and not reopened (time from raised).
    Closed,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Raised(AlertStatus::New) => "raised_new",
            Metric::Raised(AlertStatus::Acknowledged) => "raised_acknowledged",
            Metric::Raised(AlertStatus::Resolved) => "raised_resolved",
            Metric::Raised(AlertStatus::FalsePositive) => "raised_false_positive",
            Metric::Acknowledged => "acknowledged",
            Metric::Closed => "closed",
        }
    }

    /// Every metric, in the order rows are written.
    pub const ALL: [Metric; 6] = [
        Metric::Raised(AlertStatus::New),
        Metric::Raised(AlertStatus::Acknowledged),
        Metric::Raised(AlertStatus::Resolved),
        Metric::Raised(AlertStatus::FalsePositive),
        Metric::Acknowledged,
        Metric::Closed,
    ];

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }

    fn rank(self) -> usize {
        Metric::ALL.iter().position(|m| *m == self).unwrap_or(Metric::ALL.len())
    }
}

impl PartialOrd for Metric {
    fn partial_cmp(&self, other: &Metric) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Metric {
    fn cmp(&self, other: &Metric) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// Changes to `kpi_response`, summed per (grain, bucket, metric).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResponseDeltas {
    rows: BTreeMap<(i64, i64, Metric), (i64, i64)>,
}

/// An alert's triage state before a step, and the step.
#[derive(Debug, Clone, Copy)]
pub struct TriageStep {
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub from: AlertStatus,
    pub to: AlertStatus,
    /// When the step happens.
    pub at: i64,
}

impl ResponseDeltas {
    fn add(&mut self, at: i64, metric: Metric, n: i64, ms: i64) {
        for grain in GRAINS {
            let e = self.rows.entry((grain, floor(at, grain), metric)).or_default();
            e.0 += n;
            e.1 += ms;
        }
    }

    /// `n` alerts stored at `created_at` (they start as `new`).
    pub fn raised(&mut self, created_at: i64, n: i64) {
        if n != 0 {
            self.add(created_at, Metric::Raised(AlertStatus::New), n, 0);
        }
    }

    /// One triage step, as `store::triage` applies it: the alert moves between the `raised_*`
    /// counts of its creation hour; the first step out of `new` is its acknowledgement; closing
    /// counts it as closed; reopening takes back its previous closing.
    pub fn step(&mut self, s: &TriageStep) {
        if s.from != s.to {
            self.add(s.created_at, Metric::Raised(s.from), -1, 0);
            self.add(s.created_at, Metric::Raised(s.to), 1, 0);
        }
        if s.acknowledged_at.is_none() && s.to != AlertStatus::New {
            self.add(s.at, Metric::Acknowledged, 1, s.at - s.created_at);
        }
        if s.from.is_open() && !s.to.is_open() {
            self.add(s.at, Metric::Closed, 1, s.at - s.created_at);
        }
        if !s.from.is_open() && s.to.is_open() {
            if let Some(closed) = s.resolved_at {
                self.add(closed, Metric::Closed, -1, -(closed - s.created_at));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.values().all(|&(n, ms)| n == 0 && ms == 0)
    }

    /// (grain, bucket, metric, n, ms) rows, without those that cancel out.
    pub fn into_rows(self) -> Vec<(i64, i64, Metric, i64, i64)> {
        self.rows
            .into_iter()
            .filter(|(_, (n, ms))| *n != 0 || *ms != 0)
            .map(|((g, b, m), (n, ms))| (g, b, m, n, ms))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertStatus::*;

    const T: i64 = 1_795_219_200_000; // 2026-11-21 00:00 UTC

    #[test]
    fn an_alert_counts_in_every_dimension_and_both_grains() {
        let mut r = AlertRollup::default();
        let c = AlertContribution {
            seen_at: T + 90 * 60_000,
            threat: "ddos",
            criticality: Some("high"),
            country: None,
            asset_id: Some(7),
            created: 1,
            detections: 3,
            risk_sum: 200,
        };
        r.add(&c);
        r.add(&AlertContribution { created: 0, detections: 2, risk_sum: 100, criticality: None, ..c });
        r.add(&AlertContribution { seen_at: T + 100 * 60_000, asset_id: Some(9), ..c });
        let (rows, assets) = r.into_rows();
        let find =
            |grain, dim, key: &str| rows.iter().find(|x| x.grain == grain && x.dim == dim && x.key == key).cloned();
        let hour = find(HOUR, Dim::Threat, "ddos").unwrap();
        assert_eq!((hour.bucket, hour.alerts, hour.detections, hour.risk_sum), (T + HOUR, 2, 8, 500));
        assert_eq!(find(DAY, Dim::Threat, "ddos").unwrap().bucket, T);
        assert_eq!(find(HOUR, Dim::Country, "ZZ").unwrap().detections, 8);
        assert_eq!(find(HOUR, Dim::Criticality, "high").unwrap().detections, 6);
        assert_eq!(find(HOUR, Dim::Criticality, "none").unwrap().alerts, 0, "a grown alert adds detections only");
        assert_eq!(rows.len(), 2 * (1 + 2 + 1));
        assert_eq!(
            assets,
            vec![(7, T + HOUR, 1), (9, T + HOUR, 1)],
            "created alerts per asset and hour; growth is not an alert"
        );
    }

    #[test]
    fn metrics_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::parse(m.as_str()), Some(m));
        }
        assert_eq!(Metric::parse("raised_deleted"), None);
    }

    fn step(
        from: AlertStatus,
        to: AlertStatus,
        at: i64,
        acknowledged_at: Option<i64>,
        resolved_at: Option<i64>,
    ) -> TriageStep {
        TriageStep { created_at: T + 10 * 60_000, acknowledged_at, resolved_at, from, to, at }
    }

    #[test]
    fn triage_moves_status_counts_and_records_times() {
        let mut d = ResponseDeltas::default();
        d.raised(T + 10 * 60_000, 1);
        // Acknowledged 20 minutes after it was raised, resolved two hours later, reopened, closed
        // again as a false positive.
        d.step(&step(New, Acknowledged, T + 30 * 60_000, None, None));
        d.step(&step(Acknowledged, Resolved, T + 150 * 60_000, Some(T + 30 * 60_000), None));
        d.step(&step(Resolved, Acknowledged, T + 200 * 60_000, Some(T + 30 * 60_000), Some(T + 150 * 60_000)));
        d.step(&step(Acknowledged, FalsePositive, T + 300 * 60_000, Some(T + 30 * 60_000), None));
        let hourly: Vec<(i64, Metric, i64, i64)> =
            d.clone().into_rows().into_iter().filter(|r| r.0 == HOUR).map(|r| (r.1, r.2, r.3, r.4)).collect();
        assert_eq!(
            hourly,
            vec![
                (T, Metric::Raised(FalsePositive), 1, 0),
                (T, Metric::Acknowledged, 1, 20 * 60_000),
                (T + 5 * HOUR, Metric::Closed, 1, 290 * 60_000),
            ],
            "the reopened closing is taken back; statuses net to the last one"
        );
        let daily: Vec<(i64, Metric, i64, i64)> =
            d.into_rows().into_iter().filter(|r| r.0 == DAY).map(|r| (r.1, r.2, r.3, r.4)).collect();
        assert_eq!(
            daily,
            vec![
                (T, Metric::Raised(FalsePositive), 1, 0),
                (T, Metric::Acknowledged, 1, 20 * 60_000),
                (T, Metric::Closed, 1, 290 * 60_000)
            ]
        );
    }

    #[test]
    fn resolving_a_new_alert_acknowledges_it_too_and_comments_change_nothing() {
        let mut d = ResponseDeltas::default();
        d.step(&step(New, New, T + HOUR, None, None));
        assert!(d.is_empty(), "a comment on a new alert");
        d.step(&step(New, Resolved, T + HOUR, None, None));
        let rows = d.into_rows();
        assert!(rows.contains(&(HOUR, T + HOUR, Metric::Acknowledged, 1, 50 * 60_000)));
        assert!(rows.contains(&(HOUR, T + HOUR, Metric::Closed, 1, 50 * 60_000)));
        assert!(
            rows.contains(&(HOUR, T, Metric::Raised(New), -1, 0))
                && rows.contains(&(HOUR, T, Metric::Raised(Resolved), 1, 0))
        );
        assert!(rows.contains(&(DAY, T, Metric::Closed, 1, 50 * 60_000)));
        let mut d = ResponseDeltas::default();
        d.step(&step(Acknowledged, Acknowledged, T + HOUR, Some(T), None));
        assert!(d.is_empty(), "assigning an acknowledged alert");
    }
}
