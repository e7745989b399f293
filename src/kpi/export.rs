//! The KPI report as CSV (`GET /exec/export.csv?range=7d`): one long table that a spreadsheet can
//! pivot, with one figure per line.
//!
//! Columns: `metric, period, start_utc, end_utc, category, label, value`.
//! - whole-period figures have the period's window as start and end (end exclusive);
//! - per-bucket figures (`*_per_bucket`) have the bucket's hour or day;
//! - `category` is the stored key (threat key, criticality, ISO country code, asset address) and
//!   `label` the same in words; both are empty for plain figures;
//! - `value` is a plain number (no thousands separator); means are in minutes; a figure without a
//!   value (a mean of nothing) is empty.
//!
//! Text from data (asset host names) is quoted as CSV needs, and a cell that a spreadsheet would
//! run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`
//! ([`crate::csv_cell`], shared with the asset export).

use super::{KpiReport, Period, Window};
use crate::time::iso_utc;

pub const HEADER: &str = "metric,period,start_utc,end_utc,category,label,value";

/// `kpis-7d-2026-11-21.csv` (the UTC date of the report).
pub fn file_name(r: &KpiReport) -> String {
    format!("kpis-{}-{}.csv", r.periods.range.as_str(), &iso_utc(r.generated_at)[..10])
}

/// A cell as CSV text (see the module docs): the shared writer of every export.
pub use crate::csv_cell::cell;

fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

struct Out {
    text: String,
}

impl Out {
    fn row(&mut self, metric: &str, period: Period, w: Window, category: &str, label: &str, value: Option<String>) {
        let fields = [
            metric.to_string(),
            period.as_str().to_string(),
            iso_utc(w.from),
            iso_utc(w.to),
            cell(category),
            cell(label),
            value.unwrap_or_default(),
        ];
        self.text.push_str(&fields.join(","));
        self.text.push('\n');
    }
}

fn int(v: i64) -> Option<String> {
    Some(v.to_string())
}

fn minutes(ms: Option<f64>) -> Option<String> {
    ms.map(|ms| number(ms / 60_000.0))
}

pub fn to_csv(r: &KpiReport) -> String {
    let mut out = Out { text: String::with_capacity(16 * 1024) };
    out.text.push_str(HEADER);
    out.text.push('\n');
    for period in [Period::Current, Period::Previous] {
        let w = r.periods.window(period);
        let totals = r.totals.get(period);
        let raised = r.response.raised.get(period);
        let reports = r.reports.get(period);
        let mut plain = |metric: &str, value: Option<String>| out.row(metric, period, w, "", "", value);
        plain("alerts", int(totals.alerts));
        plain("detections", int(totals.detections));
        plain("average_risk", totals.average_risk().map(number));
        plain("alerts_raised", int(raised.total()));
        plain("raised_still_open", int(raised.open()));
        plain("raised_resolved", int(raised.resolved));
        plain("raised_false_positive", int(raised.false_positive));
        plain("acknowledged", int(r.response.acknowledge.get(period).n));
        plain("mtta_minutes", minutes(r.response.acknowledge.get(period).ms()));
        plain("closed", int(r.response.close.get(period).n));
        plain("mttr_minutes", minutes(r.response.close.get(period).ms()));
        plain("reports_received", int(reports.received));
        plain("reports_confirmed", int(reports.confirmed));
        let incidents = r.incidents.get(period);
        plain("incidents_opened", int(incidents.opened));
        plain("incidents_contained", int(incidents.contain.n));
        plain("mttc_minutes", minutes(incidents.contain.ms()));
        for c in &r.by_criticality {
            out.row("alerts_by_criticality", period, w, &c.key, &c.label, int(*c.alerts.get(period)));
        }
        for b in &r.by_threat {
            out.row("alerts_by_threat", period, w, &b.key, &b.label, int(*b.alerts.get(period)));
        }
        for b in &r.countries {
            out.row("alerts_by_country", period, w, &b.key, &b.label, int(*b.alerts.get(period)));
        }
        for a in &r.top_assets {
            out.row("alerts_by_asset", period, w, &a.ip, &a.name(), int(*a.alerts.get(period)));
        }
    }
    let step = r.periods.bucket_ms;
    for (i, start) in r.periods.buckets().into_iter().enumerate() {
        // The last bucket ends with the period (the current hour).
        let w = Window { from: start, to: (start + step).min(r.periods.current.to) };
        let v = r.series[i];
        let resp = r.response.series[i];
        let mut plain = |metric: &str, value: Option<String>| out.row(metric, Period::Current, w, "", "", value);
        plain("alerts_per_bucket", int(v.alerts));
        plain("detections_per_bucket", int(v.detections));
        plain("average_risk_per_bucket", v.average_risk().map(number));
        plain("raised_still_open_per_bucket", int(resp.raised.open()));
        plain("raised_resolved_per_bucket", int(resp.raised.resolved));
        plain("raised_false_positive_per_bucket", int(resp.raised.false_positive));
        plain("mtta_minutes_per_bucket", minutes(resp.acknowledge.ms()));
        plain("mttr_minutes_per_bucket", minutes(resp.close.ms()));
        for c in &r.by_criticality {
            out.row("alerts_by_criticality_per_bucket", Period::Current, w, &c.key, &c.label, int(c.values[i]));
        }
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::charts::tests::week;

    #[test]
    fn the_report_becomes_one_long_table() {
        let r = week();
        let csv = to_csv(&r);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert!(lines.iter().all(|l| l.split(',').count() >= 7), "every row has every column");
        let find = |prefix: &str| {
            lines.iter().find(|l| l.starts_with(prefix)).copied().unwrap_or_else(|| panic!("no {prefix} in\n{csv}"))
        };
        assert_eq!(find("alerts,current,"), "alerts,current,2026-11-15T00:00:00Z,2026-11-21T15:00:00Z,,,140");
        assert_eq!(find("alerts,previous,"), "alerts,previous,2026-11-08T00:00:00Z,2026-11-14T15:00:00Z,,,120");
        assert_eq!(find("mtta_minutes,current"), "mtta_minutes,current,2026-11-15T00:00:00Z,2026-11-21T15:00:00Z,,,18");
        assert_eq!(
            find("mttr_minutes,previous"),
            "mttr_minutes,previous,2026-11-08T00:00:00Z,2026-11-14T15:00:00Z,,,",
            "a mean of nothing is empty"
        );
        assert_eq!(
            find("average_risk,previous"),
            "average_risk,previous,2026-11-08T00:00:00Z,2026-11-14T15:00:00Z,,,50"
        );
        assert!(
            csv.contains("alerts_by_threat,current,2026-11-15T00:00:00Z,2026-11-21T15:00:00Z,port_scan,Port scan,80\n")
        );
        assert!(csv.contains(
            "alerts_by_asset,current,2026-11-15T00:00:00Z,2026-11-21T15:00:00Z,10.0.0.5,db-prod-01 (10.0.0.5),61\n"
        ));
        assert!(csv.contains("alerts_per_bucket,current,2026-11-19T00:00:00Z,2026-11-20T00:00:00Z,,,44\n"));
        assert!(
            csv.contains("alerts_per_bucket,current,2026-11-21T00:00:00Z,2026-11-21T15:00:00Z,,,9\n"),
            "the last bucket ends with the period"
        );
        assert_eq!(lines.iter().filter(|l| l.starts_with("alerts_by_criticality_per_bucket,")).count(), 7 * 5);
        assert_eq!(file_name(&r), "kpis-7d-2026-11-21.csv");
    }

    #[test]
    fn text_from_data_cannot_break_the_table_or_run_as_a_formula() {
        assert_eq!(cell("db-1"), "db-1");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+2"), "'-1+2");
        let mut r = week();
        r.top_assets[0].hostname = Some("=cmd|' /C calc'!A0,evil".into());
        let csv = to_csv(&r);
        assert!(csv.contains(",\"'=cmd|' /C calc'!A0,evil (10.0.0.5)\",61\n"), "{csv}");
    }
}
