//! The KPI rollups (`kpi_alert_rollup`, `kpi_asset_cumulative`, `kpi_response`) and the KPI report
//! read from them.
//!
//! Writes: [`add_alert_rollup`] and [`add_response`] run inside the transactions of
//! `persist_batch` and `triage`, so the rollups always agree with the alerts. Reads:
//! [`Db::kpi_report`] answers one range with six small queries (run at the same time) whose size
//! depends on the number of hours, days, categories and assets, never on the number of alerts:
//! - volume, risk and criticality per bucket: the `criticality` rows (every alert has exactly one);
//! - threat types, source countries: their rows summed per period;
//! - top assets: four look-ups per asset in the running totals (total before each period's end minus
//!   total before its start), the ten largest, with their inventory entries;
//! - response: `kpi_response` per bucket;
//! - employee reports: `employee_reports` by `created_at` (indexed; a few per day).
//!
//! A day range reads daily rows for whole days and hourly rows for the partial days at the edges
//! ([`crate::kpi::Window::spans`]), so 30 days cost about 60 rows per category.

use super::sql::{values_clause, ROWS_PER_UPSERT};
use super::{Db, Result, StoreError};
use crate::kpi::rollup::{AlertRollup, Dim, Metric, ResponseDeltas};
use crate::kpi::{
    AssetKpi, Breakdown, Compared, CriticalitySeries, KpiRange, KpiReport, Mean, Period, Periods, ReportCounts,
    Response, ResponseBucket, StatusCounts, Volume, CRITICALITIES, DAY, HOUR, TOP_ASSETS,
};
use crate::worldmap::WorldMap;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

/// Adds a batch's rollup changes (upserts: counts add up).
pub(crate) async fn add_alert_rollup(tx: &mut Transaction<'_, Any>, rollup: AlertRollup) -> Result<()> {
    let (rows, assets) = rollup.into_rows();
    for chunk in rows.chunks(ROWS_PER_UPSERT) {
        let sql = format!(
            "INSERT INTO kpi_alert_rollup (grain, bucket, dim, key, alerts, detections, risk_sum) VALUES {} \
             ON CONFLICT (grain, dim, bucket, key) DO UPDATE SET alerts = kpi_alert_rollup.alerts + excluded.alerts, \
             detections = kpi_alert_rollup.detections + excluded.detections, risk_sum = kpi_alert_rollup.risk_sum + excluded.risk_sum",
            values_clause(chunk.len(), 7, "")
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.grain)
                .bind(r.bucket)
                .bind(r.dim.as_str())
                .bind(r.key.clone())
                .bind(r.alerts)
                .bind(r.detections)
                .bind(r.risk_sum);
        }
        q.execute(&mut **tx).await?;
    }
    // Running totals: the hour's row and every later one grow (later rows exist only when older
    // detections arrive late); a missing row for the hour starts from the total before it.
    for (asset, hour, n) in assets {
        sqlx::query("UPDATE kpi_asset_cumulative SET alerts = alerts + $1 WHERE asset_id = $2 AND hour >= $3")
            .bind(n)
            .bind(asset)
            .bind(hour)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO kpi_asset_cumulative (asset_id, hour, alerts) \
             SELECT $1, $2, $3 + COALESCE((SELECT alerts FROM kpi_asset_cumulative WHERE asset_id = $1 AND hour < $2 ORDER BY hour DESC LIMIT 1), 0) \
             WHERE NOT EXISTS (SELECT 1 FROM kpi_asset_cumulative WHERE asset_id = $1 AND hour = $2)",
        )
        .bind(asset)
        .bind(hour)
        .bind(n)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Applies response changes (upsert: counts and times add up, negative changes included).
pub(crate) async fn add_response(tx: &mut Transaction<'_, Any>, deltas: ResponseDeltas) -> Result<()> {
    let rows = deltas.into_rows();
    for chunk in rows.chunks(ROWS_PER_UPSERT) {
        let sql = format!(
            "INSERT INTO kpi_response (grain, bucket, metric, n, ms_sum) VALUES {} ON CONFLICT (grain, bucket, metric) DO UPDATE SET \
             n = kpi_response.n + excluded.n, ms_sum = kpi_response.ms_sum + excluded.ms_sum",
            values_clause(chunk.len(), 5, "")
        );
        let mut q = sqlx::query(&sql);
        for (grain, bucket, metric, n, ms) in chunk {
            q = q.bind(*grain).bind(*bucket).bind(metric.as_str()).bind(*n).bind(*ms);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// One contiguous piece of a period as rollup rows of one grain cover it.
#[derive(Debug, Clone, Copy)]
struct Part {
    period: Period,
    grain: i64,
    from: i64,
    to: i64,
}

fn parts(p: &Periods) -> Vec<Part> {
    [Period::Current, Period::Previous]
        .into_iter()
        .flat_map(|period| {
            let spans = p.window(period).spans(p.by_day());
            let days = spans.days.map(|(from, to)| Part { period, grain: DAY, from, to });
            days.into_iter().chain(spans.hours.into_iter().map(move |(from, to)| Part {
                period,
                grain: HOUR,
                from,
                to,
            }))
        })
        .collect()
}

/// The rows of a rollup `table` (with `grain` and `bucket` columns) that make up both periods, as a
/// sub-select of `period` (0 = current, 1 = previous) and `columns`, and the values to bind, in
/// order. `filter` is a condition on constant text (a dimension name from a closed enum) or empty.
fn period_rows(p: &Periods, columns: &str, table: &str, filter: &str) -> (String, Vec<i64>) {
    let mut binds = Vec::new();
    let selects: Vec<String> = parts(p)
        .into_iter()
        .map(|part| {
            let n = binds.len();
            binds.extend([part.grain, part.from, part.to]);
            let tag = match part.period {
                Period::Current => 0,
                Period::Previous => 1,
            };
            format!(
                "SELECT CAST({tag} AS BIGINT) AS period, {columns} FROM {table} WHERE grain = ${} {filter} AND bucket >= ${} AND bucket < ${}",
                n + 1,
                n + 2,
                n + 3
            )
        })
        .collect();
    (selects.join(" UNION ALL "), binds)
}

/// [`period_rows`] of one dimension of `kpi_alert_rollup`.
fn rollup_rows(p: &Periods, dim: Dim) -> (String, Vec<i64>) {
    period_rows(
        p,
        "bucket, key, alerts, detections, risk_sum",
        "kpi_alert_rollup",
        &format!("AND dim = '{}'", dim.as_str()),
    )
}

fn period_of(tag: i64) -> Period {
    if tag == 0 {
        Period::Current
    } else {
        Period::Previous
    }
}

/// A country code in words, from the bundled world map.
fn country_label(iso: &str) -> String {
    if iso == crate::worldmap::Country::UNKNOWN {
        return "Unknown or private address".to_string();
    }
    WorldMap::bundled().country(iso).map_or_else(|| iso.to_string(), |c| c.name.clone())
}

impl Db {
    /// Every figure of the dashboard for `range` at `now` (see the module docs).
    pub async fn kpi_report(&self, range: KpiRange, now: i64) -> Result<KpiReport> {
        let started = std::time::Instant::now();
        let periods = range.periods(now);
        let p = &periods;
        let (volume, by_threat, countries, top_assets, response, reports, (incidents, active_incidents)) = tokio::try_join!(
            self.kpi_volume(p),
            self.kpi_breakdown(p, Dim::Threat, crate::console::threat_title),
            self.kpi_breakdown(p, Dim::Country, country_label),
            self.kpi_top_assets(p),
            self.kpi_response(p),
            self.kpi_reports(p),
            self.kpi_incidents(p),
        )?;
        let (totals, series, by_criticality) = volume;
        tracing::debug!(range = range.as_str(), elapsed_us = started.elapsed().as_micros() as u64, "KPI report");
        Ok(KpiReport {
            periods,
            generated_at: now,
            totals,
            series,
            by_criticality,
            by_threat,
            countries,
            top_assets,
            response,
            reports,
            incidents,
            active_incidents,
        })
    }

    /// Totals, the per-bucket volume of the current period and alerts by criticality, from the
    /// `criticality` rows.
    async fn kpi_volume(&self, p: &Periods) -> Result<(Compared<Volume>, Vec<Volume>, Vec<CriticalitySeries>)> {
        let (rows_sql, binds) = rollup_rows(p, Dim::Criticality);
        let mut q = sqlx::query(&rows_sql);
        for b in binds {
            q = q.bind(b);
        }
        let n = p.range.buckets();
        let mut totals = Compared::<Volume>::default();
        let mut series = vec![Volume::default(); n];
        let mut by_criticality: Vec<CriticalitySeries> = CRITICALITIES
            .iter()
            .map(|(key, label)| CriticalitySeries {
                key: key.to_string(),
                label: label.to_string(),
                values: vec![0; n],
                alerts: Compared::default(),
            })
            .collect();
        for row in q.fetch_all(self.pool()).await? {
            let bucket: i64 = row.try_get("bucket")?;
            let Some((period, i)) = p.locate(bucket) else { continue };
            let v = Volume {
                alerts: row.try_get("alerts")?,
                detections: row.try_get("detections")?,
                risk_sum: row.try_get("risk_sum")?,
            };
            totals.get_mut(period).add(v);
            let key: String = row.try_get("key")?;
            let crit = by_criticality
                .iter_mut()
                .find(|c| c.key == key)
                .ok_or_else(|| StoreError::Corrupt { column: "kpi_alert_rollup.key", detail: key.clone() })?;
            *crit.alerts.get_mut(period) += v.alerts;
            if period == Period::Current {
                series[i].add(v);
                crit.values[i] += v.alerts;
            }
        }
        Ok((totals, series, by_criticality))
    }

    /// Alerts per key of `dim` in both periods, most alerts (current, then previous) first.
    async fn kpi_breakdown(&self, p: &Periods, dim: Dim, label: fn(&str) -> String) -> Result<Vec<Breakdown>> {
        let (rows_sql, binds) = rollup_rows(p, dim);
        let sql = format!(
            "SELECT period, key, CAST(SUM(alerts) AS BIGINT) AS alerts FROM ({rows_sql}) AS parts GROUP BY period, key"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        let mut by_key: HashMap<String, Compared<i64>> = HashMap::new();
        for row in q.fetch_all(self.pool()).await? {
            let period = period_of(row.try_get("period")?);
            *by_key.entry(row.try_get("key")?).or_default().get_mut(period) += row.try_get::<i64, _>("alerts")?;
        }
        let mut out: Vec<Breakdown> = by_key
            .into_iter()
            .filter(|(_, a)| a.current != 0 || a.previous != 0)
            .map(|(key, alerts)| Breakdown { label: label(&key), key, alerts })
            .collect();
        out.sort_by(|a, b| {
            (b.alerts.current, b.alerts.previous)
                .cmp(&(a.alerts.current, a.alerts.previous))
                .then_with(|| a.key.cmp(&b.key))
        });
        Ok(out)
    }

    /// The [`TOP_ASSETS`] assets of the inventory with the most alerts in the current period, from
    /// the running totals: for each asset, the total before a period's end minus the total before
    /// its start.
    async fn kpi_top_assets(&self, p: &Periods) -> Result<Vec<AssetKpi>> {
        let before = |n: usize| {
            format!("COALESCE((SELECT c.alerts FROM kpi_asset_cumulative c WHERE c.asset_id = a.id AND c.hour < ${n} ORDER BY c.hour DESC LIMIT 1), 0)")
        };
        let sql = format!(
            "SELECT id, ip, hostname, criticality, cur, prev FROM (SELECT a.id, a.ip, a.hostname, a.criticality, {} - {} AS cur, {} - {} AS prev \
             FROM assets a) AS totals WHERE cur > 0 ORDER BY cur DESC, id LIMIT {TOP_ASSETS}",
            before(1),
            before(2),
            before(3),
            before(4)
        );
        let rows = sqlx::query(&sql)
            .bind(p.current.to)
            .bind(p.current.from)
            .bind(p.previous.to)
            .bind(p.previous.from)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AssetKpi {
                    id: row.try_get("id")?,
                    ip: row.try_get("ip")?,
                    hostname: row.try_get("hostname")?,
                    criticality: row.try_get("criticality")?,
                    alerts: Compared { current: row.try_get("cur")?, previous: row.try_get("prev")? },
                })
            })
            .collect()
    }

    /// Response figures: status now of the alerts raised in each period, acknowledgements and
    /// closings in each period, and all of them per bucket of the current period.
    async fn kpi_response(&self, p: &Periods) -> Result<Response> {
        let (rows_sql, binds) = period_rows(p, "bucket, metric, n, ms_sum", "kpi_response", "");
        let mut q = sqlx::query(&rows_sql);
        for b in binds {
            q = q.bind(b);
        }
        let mut out = Response { series: vec![ResponseBucket::default(); p.range.buckets()], ..Response::default() };
        for row in q.fetch_all(self.pool()).await? {
            let Some((period, i)) = p.locate(row.try_get("bucket")?) else { continue };
            let metric: String = row.try_get("metric")?;
            let metric = Metric::parse(&metric)
                .ok_or_else(|| StoreError::Corrupt { column: "kpi_response.metric", detail: metric.clone() })?;
            let (count, ms): (i64, i64) = (row.try_get("n")?, row.try_get("ms_sum")?);
            let apply = |raised: &mut StatusCounts, ack: &mut Mean, close: &mut Mean| match metric {
                Metric::Raised(status) => {
                    if let Some(slot) = raised.slot(status.as_str()) {
                        *slot += count;
                    }
                }
                Metric::Acknowledged => ack.add(count, ms),
                Metric::Closed => close.add(count, ms),
            };
            apply(out.raised.get_mut(period), out.acknowledge.get_mut(period), out.close.get_mut(period));
            if period == Period::Current {
                let s = &mut out.series[i];
                apply(&mut s.raised, &mut s.acknowledge, &mut s.close);
            }
        }
        Ok(out)
    }

    /// Employee reports received in each period, and how many of them are confirmed now.
    async fn kpi_reports(&self, p: &Periods) -> Result<Compared<ReportCounts>> {
        let count = |cond: &str| format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS BIGINT)");
        let sql = format!(
            "SELECT {} AS received_cur, {} AS confirmed_cur, {} AS received_prev, {} AS confirmed_prev FROM employee_reports \
             WHERE created_at >= $2 AND created_at < $3 AND (created_at < $4 OR created_at >= $1)",
            count("created_at >= $1"),
            count("created_at >= $1 AND status = 'confirmed'"),
            count("created_at < $1"),
            count("created_at < $1 AND status = 'confirmed'"),
        );
        let row = sqlx::query(&sql)
            .bind(p.current.from)
            .bind(p.previous.from)
            .bind(p.current.to)
            .bind(p.previous.to)
            .fetch_one(self.pool())
            .await?;
        Ok(Compared {
            current: ReportCounts { received: row.try_get("received_cur")?, confirmed: row.try_get("confirmed_cur")? },
            previous: ReportCounts {
                received: row.try_get("received_prev")?,
                confirmed: row.try_get("confirmed_prev")?,
            },
        })
    }
}
