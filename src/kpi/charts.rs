//! The charts of the executive dashboard, built from a [`KpiReport`] with [`crate::charts`]: each has
//! a title, axes with units (time in UTC), colours from the colour-blind-safe palette and a text
//! alternative. Pure and deterministic, so the server renders them into the page and the browser
//! draws the same SVG again when the range changes.

use super::{format_duration, KpiRange, KpiReport, HOUR};
use crate::alert::Severity;
use crate::charts::{
    bar_chart, line_chart, stacked_bar_chart, Axis, Bar, BarChartSpec, Chart, Colour, LineChartSpec, StackedBarSpec,
    StackedSeries, TimeSeries, PALETTE,
};

/// Every chart of the page, in page order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCharts {
    pub alerts: Chart,
    pub risk: Chart,
    pub threats: Chart,
    pub criticality: Chart,
    pub status: Chart,
    pub response_times: Chart,
    pub assets: Chart,
}

pub fn exec_charts(r: &KpiReport) -> ExecCharts {
    ExecCharts {
        alerts: alerts_chart(r),
        risk: risk_chart(r),
        threats: threats_chart(r),
        criticality: criticality_chart(r),
        status: status_chart(r),
        response_times: response_times_chart(r),
        assets: assets_chart(r),
    }
}

/// `hour` or `day`.
fn per(range: KpiRange) -> &'static str {
    if range.bucket_ms() == HOUR {
        "hour"
    } else {
        "day"
    }
}

fn time_axis(range: KpiRange) -> Axis {
    Axis::new(if range.bucket_ms() == HOUR { "Hour" } else { "Day" }, "UTC")
}

/// `last 7 days`: the unit of a whole-period count.
fn in_period(range: KpiRange) -> String {
    format!("last {}", range.label())
}

const GREY: Colour = PALETTE[7];
const GREEN: Colour = PALETTE[2];

fn criticality_colour(key: &str) -> Colour {
    match key {
        "low" => Colour::severity(Severity::Low),
        "medium" => Colour::severity(Severity::Medium),
        "high" => Colour::severity(Severity::High),
        "critical" => Colour::severity(Severity::Critical),
        _ => GREY,
    }
}

/// Alerts per bucket of the current period (a line; no points at all when the period has none, so
/// the chart says there is no data instead of drawing a flat line).
pub fn alerts_chart(r: &KpiReport) -> Chart {
    let range = r.periods.range;
    let any = r.totals.current.detections > 0 || r.totals.current.alerts > 0;
    let points = if any {
        r.periods.buckets().into_iter().zip(&r.series).map(|(t, v)| (t, v.alerts as f64)).collect()
    } else {
        Vec::new()
    };
    line_chart(&LineChartSpec {
        title: format!("Alerts per {}", per(range)),
        x: time_axis(range),
        y: Axis::new("Alerts", format!("per {}", per(range))),
        series: vec![TimeSeries { name: "alerts".into(), colour: None, points }],
    })
}

/// Mean risk of the detections of each bucket (buckets without detections are left out).
pub fn risk_chart(r: &KpiReport) -> Chart {
    let range = r.periods.range;
    let points =
        r.periods.buckets().into_iter().zip(&r.series).filter_map(|(t, v)| v.average_risk().map(|a| (t, a))).collect();
    line_chart(&LineChartSpec {
        title: format!("Average risk per {}", per(range)),
        x: time_axis(range),
        y: Axis::new("Average risk", "0–100"),
        series: vec![TimeSeries { name: "average risk".into(), colour: Some(PALETTE[1]), points }],
    })
}

/// Alerts of the current period by threat type, most first.
pub fn threats_chart(r: &KpiReport) -> Chart {
    let bars = r
        .by_threat
        .iter()
        .filter(|b| b.alerts.current > 0)
        .map(|b| Bar { label: b.label.clone(), value: b.alerts.current as f64 })
        .collect();
    bar_chart(&BarChartSpec {
        title: "Alerts by threat type".into(),
        value_axis: Axis::new("Alerts", in_period(r.periods.range)),
        colour: None,
        bars,
    })
}

/// Alerts per bucket stacked by the criticality of the targeted asset (criticalities without
/// alerts in the period are left out of the legend).
pub fn criticality_chart(r: &KpiReport) -> Chart {
    let range = r.periods.range;
    let series = r
        .by_criticality
        .iter()
        .filter(|c| c.values.iter().any(|v| *v > 0))
        .map(|c| StackedSeries {
            name: c.label.clone(),
            colour: Some(criticality_colour(&c.key)),
            values: c.values.iter().map(|v| *v as f64).collect(),
        })
        .collect();
    stacked_bar_chart(&StackedBarSpec {
        title: "Alerts by asset criticality".into(),
        x: time_axis(range),
        y: Axis::new("Alerts", format!("per {}", per(range))),
        buckets: r.periods.buckets(),
        series,
    })
}

/// Alerts raised per bucket, by the status they have now: still open, resolved, false positive.
pub fn status_chart(r: &KpiReport) -> Chart {
    let range = r.periods.range;
    let series = |name: &str, colour: Colour, f: fn(&super::StatusCounts) -> i64| StackedSeries {
        name: name.into(),
        colour: Some(colour),
        values: r.response.series.iter().map(|b| f(&b.raised) as f64).collect(),
    };
    stacked_bar_chart(&StackedBarSpec {
        title: "Alerts raised, by status now".into(),
        x: time_axis(range),
        y: Axis::new("Alerts", format!("per {}", per(range))),
        buckets: r.periods.buckets(),
        series: vec![
            series("open", Colour::severity(Severity::High), |s| s.open()),
            series("resolved", GREEN, |s| s.resolved),
            series("false positive", GREY, |s| s.false_positive),
        ],
    })
}

/// Mean time to acknowledge and to resolve per bucket, in minutes or hours (whichever reads better
/// for the largest value).
pub fn response_times_chart(r: &KpiReport) -> Chart {
    let range = r.periods.range;
    let buckets = r.periods.buckets();
    let largest =
        r.response.series.iter().flat_map(|b| [b.acknowledge.ms(), b.close.ms()]).flatten().fold(0.0, f64::max);
    let (unit, scale) = if largest >= 2.0 * HOUR as f64 { ("hours", HOUR as f64) } else { ("minutes", 60_000.0) };
    let line = |name: &str, colour: Colour, mean: fn(&super::ResponseBucket) -> Option<f64>| TimeSeries {
        name: name.into(),
        colour: Some(colour),
        points: buckets
            .iter()
            .zip(&r.response.series)
            .filter_map(|(t, b)| mean(b).map(|ms| (*t, ms / scale)))
            .collect(),
    };
    line_chart(&LineChartSpec {
        title: "Mean time to acknowledge and to resolve".into(),
        x: time_axis(range),
        y: Axis::new("Mean time", unit),
        series: vec![
            line("to acknowledge", PALETTE[0], |b| b.acknowledge.ms()),
            line("to resolve", PALETTE[4], |b| b.close.ms()),
        ],
    })
}

/// The most targeted assets of the current period.
pub fn assets_chart(r: &KpiReport) -> Chart {
    bar_chart(&BarChartSpec {
        title: "Most targeted assets".into(),
        value_axis: Axis::new("Alerts", in_period(r.periods.range)),
        colour: Some(PALETTE[6]),
        bars: r.top_assets.iter().map(|a| Bar { label: a.name(), value: a.alerts.current as f64 }).collect(),
    })
}

/// The headline of a mean time: `12 min` or `–`.
pub fn mean_text(ms: Option<f64>) -> String {
    ms.map_or_else(|| "–".to_string(), format_duration)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::charts::tests::{snapshot, well_formed};
    use crate::kpi::*;

    /// 2026-11-21 14:37:12.5 UTC.
    pub(crate) const NOW: i64 = 1_795_271_832_500;

    /// A hand-made week: alerts every day, two criticalities, three threats, two assets, some
    /// triage; the previous period smaller.
    pub(crate) fn week() -> KpiReport {
        let periods = KpiRange::Week.periods(NOW);
        let alerts = [12, 30, 18, 0, 44, 27, 9];
        let series: Vec<Volume> = alerts
            .iter()
            .map(|&a| Volume { alerts: a, detections: a * 3, risk_sum: a * 3 * (40 + a % 7 * 5) })
            .collect();
        let high = [2, 10, 3, 0, 20, 5, 1];
        let by_criticality = CRITICALITIES
            .iter()
            .map(|(key, label)| {
                let values: Vec<i64> = match *key {
                    "high" => high.to_vec(),
                    "medium" => alerts.iter().zip(high).map(|(a, h)| a - h).collect(),
                    _ => vec![0; 7],
                };
                let sum = values.iter().sum();
                CriticalitySeries {
                    key: key.to_string(),
                    label: label.to_string(),
                    values,
                    alerts: Compared { current: sum, previous: sum / 2 },
                }
            })
            .collect();
        let breakdown = |key: &str, label: &str, cur: i64, prev: i64| Breakdown {
            key: key.into(),
            label: label.into(),
            alerts: Compared { current: cur, previous: prev },
        };
        let raised =
            |new, acknowledged, resolved, false_positive| StatusCounts { new, acknowledged, resolved, false_positive };
        let response_series = alerts
            .iter()
            .enumerate()
            .map(|(i, &a)| ResponseBucket {
                raised: raised(
                    a / 4 + if i == 6 { 2 } else { 0 },
                    a / 4,
                    a / 2 - if i == 6 { 2 } else { 0 },
                    a - a / 4 * 2 - a / 2,
                ),
                acknowledge: Mean { n: a / 2, total_ms: a / 2 * (10 + i as i64 * 3) * 60_000 },
                close: Mean { n: a / 3, total_ms: a / 3 * (2 + i as i64) * HOUR },
            })
            .collect();
        KpiReport {
            periods,
            generated_at: NOW,
            totals: Compared {
                current: series.iter().fold(Volume::default(), |mut s, v| {
                    s.add(*v);
                    s
                }),
                previous: Volume { alerts: 120, detections: 300, risk_sum: 15_000 },
            },
            series,
            by_criticality,
            by_threat: vec![
                breakdown("port_scan", "Port scan", 80, 50),
                breakdown("ddos", "DDoS", 42, 60),
                breakdown("ssh_patator", "SSH brute force (Patator)", 18, 10),
            ],
            countries: vec![
                breakdown("CN", "China", 70, 40),
                breakdown("US", "United States of America", 50, 60),
                breakdown("ZZ", "Unknown or private address", 20, 20),
            ],
            top_assets: vec![
                AssetKpi {
                    id: 3,
                    ip: "10.0.0.5".into(),
                    hostname: Some("db-prod-01".into()),
                    criticality: "high".into(),
                    alerts: Compared { current: 61, previous: 30 },
                },
                AssetKpi {
                    id: 9,
                    ip: "10.0.8.20".into(),
                    hostname: None,
                    criticality: "medium".into(),
                    alerts: Compared { current: 17, previous: 25 },
                },
            ],
            response: Response {
                acknowledge: Compared {
                    current: Mean { n: 60, total_ms: 60 * 18 * 60_000 },
                    previous: Mean { n: 40, total_ms: 40 * 25 * 60_000 },
                },
                close: Compared { current: Mean { n: 40, total_ms: 40 * 5 * HOUR }, previous: Mean::default() },
                raised: Compared { current: raised(40, 30, 60, 10), previous: raised(20, 20, 70, 10) },
                series: response_series,
            },
            reports: Compared {
                current: ReportCounts { received: 6, confirmed: 2 },
                previous: ReportCounts { received: 4, confirmed: 1 },
            },
            incidents: Compared::default(),
            active_incidents: 0,
        }
    }

    #[test]
    fn exec_charts_snapshot_with_titles_units_and_alt_text() {
        let c = exec_charts(&week());
        let all = [
            ("exec_alerts", &c.alerts),
            ("exec_risk", &c.risk),
            ("exec_threats", &c.threats),
            ("exec_criticality", &c.criticality),
            ("exec_status", &c.status),
            ("exec_response_times", &c.response_times),
            ("exec_assets", &c.assets),
        ];
        for (name, chart) in all {
            well_formed(chart.svg());
            assert!(!chart.alt().is_empty(), "{name} has a text alternative");
            snapshot(name, chart);
        }
        assert_eq!(c.alerts.alt(), "Alerts per day: peak 44 at Nov 19, total 140 (Nov 15 to Nov 21).");
        assert!(c.alerts.svg().contains("Alerts (per day)") && c.alerts.svg().contains("Day (UTC)"), "axes with units");
        assert!(c.risk.svg().contains("Average risk (0–100)"));
        assert_eq!(c.threats.alt(), "Alerts by threat type: 3 categories; highest: Port scan 80, DDoS 42, SSH brute force (Patator) 18; total 140.");
        assert!(c.threats.svg().contains("Alerts (last 7 days)"));
        assert!(c.criticality.alt().contains("Medium 99, High 41"), "{}", c.criticality.alt());
        assert!(!c.criticality.svg().contains("No known asset"), "criticalities without alerts stay out of the legend");
        assert!(
            c.status.alt().starts_with("Alerts raised, by status now: total 140 over 7 bars"),
            "{}",
            c.status.alt()
        );
        assert!(c.response_times.svg().contains("Mean time (hours)"), "hours when the largest mean is over two hours");
        assert!(c.response_times.alt().contains("to acknowledge: peak 0.47"), "{}", c.response_times.alt());
        assert_eq!(
            c.assets.alt(),
            "Most targeted assets: 2 categories; highest: db-prod-01 (10.0.0.5) 61, 10.0.8.20 17; total 78."
        );
    }

    #[test]
    fn an_empty_period_says_so_in_every_chart() {
        let mut r = week();
        r.totals.current = Volume::default();
        r.series.iter_mut().for_each(|v| *v = Volume::default());
        r.by_criticality.iter_mut().for_each(|c| c.values.iter_mut().for_each(|v| *v = 0));
        r.by_threat.iter_mut().for_each(|b| b.alerts.current = 0);
        r.top_assets.clear();
        r.response.series.iter_mut().for_each(|b| *b = ResponseBucket::default());
        let c = exec_charts(&r);
        for chart in [&c.alerts, &c.risk, &c.threats, &c.criticality, &c.status, &c.response_times, &c.assets] {
            assert!(chart.alt().ends_with(": no data in this range."), "{}", chart.alt());
        }
        snapshot("exec_empty", &c.alerts);
    }

    #[test]
    fn day_ranges_chart_by_hour_and_short_times_in_minutes() {
        let mut r = week();
        r.periods = KpiRange::Day.periods(NOW);
        r.series = (0..24).map(|h| Volume { alerts: h % 5, detections: h % 5, risk_sum: h % 5 * 50 }).collect();
        r.response.series = (0..24)
            .map(|h| ResponseBucket { acknowledge: Mean { n: 1, total_ms: h * 60_000 }, ..ResponseBucket::default() })
            .collect();
        let c = exec_charts(&r);
        assert!(c.alerts.svg().contains("Alerts (per hour)") && c.alerts.svg().contains("Hour (UTC)"));
        assert!(c.alerts.alt().starts_with("Alerts per hour: peak 4 at Nov 20 19:00"), "{}", c.alerts.alt());
        assert!(c.response_times.svg().contains("Mean time (minutes)"));
        assert_eq!(mean_text(Some(90_000.0)), "2 min");
        assert_eq!(mean_text(None), "–");
    }
}
