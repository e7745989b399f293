//! The `alerts`, `ingest_stats`, `traffic_minute` and `alert_hourly` tables.
//!
//! A batch is stored by [`Db::persist_batch`] in ONE transaction: discovered assets, its alerts (new
//! ones inserted, repeats of an open alert within the deduplication window merged into it), the traffic
//! and hourly aggregates, and its statistics row. So an acknowledged batch is stored entirely or not at
//! all, and the aggregates always agree with the alerts.

use super::sql::{values_clause, ROWS_PER_INSERT, ROWS_PER_UPSERT};
use super::{now_ms, Db, Result, StoreError};
use crate::alert::{dedup_key, Alert, AlertCursor, AlertFilter, AlertPage, AlertStatus, Detector, Severity};
use crate::asset::Criticality;
use crate::kpi::rollup::{AlertContribution, AlertRollup, ResponseDeltas};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

/// An alert to store: one detection, or several with the same dedup key merged in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Unix ms of the first and latest detection merged into it.
    pub seen_at: i64,
    pub last_seen: i64,
    /// Detections merged into it (≥ 1).
    pub count: i64,
    pub src_ip: Option<String>,
    pub src_port: Option<i64>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<i64>,
    pub protocol: Option<i64>,
    pub threat: String,
    /// Clamped to 0–100 on insert. After enrichment; the largest of the merged detections.
    pub risk: i64,
    /// Sum of the merged detections' risks (for average-risk KPIs).
    pub risk_sum: i64,
    /// The detector's own risk, before enrichment.
    pub base_risk: i64,
    pub detector: Detector,
    pub signature: Option<String>,
    pub reasons: String,
    pub features: String,
    pub src_country: Option<String>,
    pub src_lat: Option<f64>,
    pub src_lon: Option<f64>,
    /// The internal address the alert is about; resolved to an asset id when stored.
    pub asset_ip: Option<String>,
    /// That asset's criticality (for the hourly rollup), when known.
    pub criticality: Option<Criticality>,
    pub report_id: Option<i64>,
    /// The analysed file it was imported from ([`crate::alert::Alert::origin`]).
    pub origin: Option<String>,
}

impl NewAlert {
    /// Every field empty or zero (a base for struct-update syntax).
    pub fn blank() -> NewAlert {
        NewAlert {
            seen_at: 0,
            last_seen: 0,
            count: 1,
            src_ip: None,
            src_port: None,
            dst_ip: None,
            dst_port: None,
            protocol: None,
            threat: String::new(),
            risk: 0,
            risk_sum: 0,
            base_risk: 0,
            detector: Detector::Ml,
            signature: None,
            reasons: "{}".into(),
            features: "[]".into(),
            src_country: None,
            src_lat: None,
            src_lon: None,
            asset_ip: None,
            criticality: None,
            report_id: None,
            origin: None,
        }
    }

    pub fn dedup_key(&self) -> String {
        dedup_key(self.src_ip.as_deref(), self.dst_ip.as_deref(), &self.threat)
    }

    /// Folds a later detection with the same key into this one: counts add up, the time span grows,
    /// and the riskier detection's reasons are kept.
    pub fn merge(&mut self, other: NewAlert) {
        self.count += other.count;
        self.risk_sum += other.risk_sum;
        self.seen_at = self.seen_at.min(other.seen_at);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.report_id = self.report_id.or(other.report_id);
        if other.risk > self.risk {
            let (count, risk_sum, seen_at, last_seen, report_id) =
                (self.count, self.risk_sum, self.seen_at, self.last_seen, self.report_id);
            *self = NewAlert { count, risk_sum, seen_at, last_seen, report_id, ..other };
        }
    }
}

/// Merges detections with the same dedup key whose times are at most `window_ms` apart (0 = no
/// merging). The result is ordered by key, then time.
pub fn merge_detections(mut alerts: Vec<NewAlert>, window_ms: i64) -> Vec<NewAlert> {
    if window_ms <= 0 || alerts.len() < 2 {
        return alerts;
    }
    let mut keyed: Vec<(String, NewAlert)> = alerts.drain(..).map(|a| (a.dedup_key(), a)).collect();
    keyed.sort_by(|(ka, a), (kb, b)| ka.cmp(kb).then(a.seen_at.cmp(&b.seen_at)));
    let mut out: Vec<(String, NewAlert)> = Vec::new();
    for (key, a) in keyed {
        match out.last_mut() {
            Some((k, last)) if *k == key && a.seen_at - last.last_seen <= window_ms => last.merge(a),
            _ => out.push((key, a)),
        }
    }
    out.into_iter().map(|(_, a)| a).collect()
}

/// Flows and bytes of one minute, source country, protocol and verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrafficKey {
    /// Unix ms, a multiple of 60,000.
    pub minute: i64,
    /// ISO alpha-2, or `ZZ`.
    pub country: String,
    pub protocol: i64,
    /// `benign` or `alert`.
    pub verdict: &'static str,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficCount {
    pub flows: i64,
    pub bytes: i64,
}

/// A batch ready to store.
#[derive(Debug, Clone, Default)]
pub struct PersistBatch {
    /// Already merged in memory ([`merge_detections`]).
    pub alerts: Vec<NewAlert>,
    /// Internal addresses seen in the batch, with the latest time each was seen.
    pub assets_seen: Vec<(String, i64)>,
    pub traffic: Vec<(TrafficKey, TrafficCount)>,
    /// The batch's busiest sources, destinations and services per minute, and the rest summed
    /// ([`crate::traffic::TopCounter::finish`]).
    pub top: Vec<(i64, crate::traffic::Dim, String, crate::traffic::Volume)>,
    pub stats: BatchStats,
    /// An open alert with the same key last seen at most this long before a detection absorbs it
    /// (0 = never).
    pub dedup_window_ms: i64,
    /// Detections that suppression rules absorbed: (rule id, detections, latest seen).
    pub suppressed: Vec<(i64, i64, i64)>,
    /// Flows that matched threat-intel indicators: (indicator id, flows, latest seen).
    pub intel_hits: Vec<(i64, i64, i64)>,
    /// The bus batches (or the `Idempotency-Key`) this is, each with its record count
    /// ([`super::bus_batches`]): each stored at most once; one already stored stores nothing.
    pub bus_batches: Vec<(String, i64)>,
}

/// An alert after it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub alert: Alert,
    /// `false` when an existing alert absorbed the detections.
    pub created: bool,
}

/// Counts of one ingested batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// `csv`, `flows`, `zeek`, `suricata`, `replay`.
    pub source: String,
    pub token_id: Option<i64>,
    pub accepted: i64,
    pub rejected: i64,
    pub skipped: i64,
    pub scored: i64,
    pub score_ms: i64,
}

/// Totals over `ingest_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestTotals {
    pub batches: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub skipped: i64,
    pub scored: i64,
    pub alerts: i64,
}

/// One row of `traffic_minute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficRow {
    pub minute: i64,
    pub country: String,
    pub protocol: i64,
    pub verdict: String,
    pub flows: i64,
    pub bytes: i64,
}

/// One row of `alert_hourly`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyRow {
    pub hour: i64,
    pub threat: String,
    pub criticality: String,
    pub country: String,
    pub alerts: i64,
    pub detections: i64,
    pub risk_sum: i64,
    pub max_risk: i64,
}

pub(crate) const ALERT_COLUMNS: &str =
    "id, first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, \
                             risk, severity, status, detector, signature, reasons, features, created_at, src_country, \
                             src_lat, src_lon, asset_id, report_id, base_risk, assignee, acknowledged_at, resolved_at, incident_id, origin";
/// The advisory lock key that serialises batch commits across instances on PostgreSQL ("AFWRIT").
const ALERT_WRITE_LOCK: i64 = 0x4146_5752_4954;
/// Values bound per inserted alert.
const BINDS_PER_ALERT: usize = 25;

pub(crate) fn alert_from_row(row: &AnyRow) -> Result<Alert> {
    let severity: String = row.try_get("severity")?;
    let detector: String = row.try_get("detector")?;
    let status: String = row.try_get("status")?;
    Ok(Alert {
        id: row.try_get("id")?,
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        count: row.try_get("count")?,
        src_ip: row.try_get("src_ip")?,
        src_port: row.try_get("src_port")?,
        dst_ip: row.try_get("dst_ip")?,
        dst_port: row.try_get("dst_port")?,
        protocol: row.try_get("protocol")?,
        threat: row.try_get("threat")?,
        risk: row.try_get("risk")?,
        severity: Severity::parse(&severity)
            .ok_or_else(|| StoreError::Corrupt { column: "alerts.severity", detail: severity.clone() })?,
        status: AlertStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt { column: "alerts.status", detail: status.clone() })?,
        detector: Detector::parse(&detector)
            .ok_or_else(|| StoreError::Corrupt { column: "alerts.detector", detail: detector.clone() })?,
        signature: row.try_get("signature")?,
        reasons: row.try_get("reasons")?,
        features: row.try_get("features")?,
        created_at: row.try_get("created_at")?,
        src_country: row.try_get("src_country")?,
        src_lat: row.try_get("src_lat")?,
        src_lon: row.try_get("src_lon")?,
        asset_id: row.try_get("asset_id")?,
        report_id: row.try_get("report_id")?,
        base_risk: row.try_get("base_risk")?,
        assignee: row.try_get("assignee")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        resolved_at: row.try_get("resolved_at")?,
        incident_id: row.try_get("incident_id")?,
        origin: row.try_get("origin")?,
    })
}

const HOUR_MS: i64 = crate::time::HOUR;

/// (hour, threat, criticality, country): the primary key of an `alert_hourly` row.
type HourlyKey = (i64, String, &'static str, String);

/// `alert_hourly` rows to add, summed per key (alerts, detections, risk sum, max risk).
#[derive(Debug, Default)]
pub(crate) struct HourlyRollup {
    rows: HashMap<HourlyKey, (i64, i64, i64, i64)>,
}

impl HourlyRollup {
    /// Adds a stored alert (created or grown) with its highest risk.
    pub(crate) fn add(&mut self, a: &AlertContribution, risk: i64) {
        let key = (
            a.seen_at.div_euclid(HOUR_MS) * HOUR_MS,
            a.threat.to_string(),
            a.criticality.and_then(Criticality::parse).map_or("none", Criticality::as_str),
            a.country.unwrap_or(crate::worldmap::Country::UNKNOWN).to_string(),
        );
        let e = self.rows.entry(key).or_default();
        e.0 += a.created;
        e.1 += a.detections;
        e.2 += a.risk_sum;
        e.3 = e.3.max(risk.clamp(0, 100));
    }

    pub(crate) async fn write(self, tx: &mut Transaction<'_, Any>) -> Result<()> {
        let rows: Vec<_> = self.rows.into_iter().collect();
        for chunk in rows.chunks(ROWS_PER_UPSERT) {
            let sql = format!(
                "INSERT INTO alert_hourly (hour, threat, criticality, country, alerts, detections, risk_sum, max_risk) \
                 VALUES {} ON CONFLICT (hour, threat, criticality, country) DO UPDATE SET \
                 alerts = alert_hourly.alerts + excluded.alerts, detections = alert_hourly.detections + excluded.detections, \
                 risk_sum = alert_hourly.risk_sum + excluded.risk_sum, \
                 max_risk = CASE WHEN excluded.max_risk > alert_hourly.max_risk THEN excluded.max_risk ELSE alert_hourly.max_risk END",
                values_clause(chunk.len(), 8, "")
            );
            let mut q = sqlx::query(&sql);
            for ((hour, threat, crit, country), (alerts, detections, risk_sum, max_risk)) in chunk {
                q = q
                    .bind(*hour)
                    .bind(threat.clone())
                    .bind(*crit)
                    .bind(country.clone())
                    .bind(*alerts)
                    .bind(*detections)
                    .bind(*risk_sum)
                    .bind(*max_risk);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl Db {
    /// Stores a batch in one transaction (see the module docs). Returns the alerts created or updated.
    pub async fn persist_batch(&self, batch: &PersistBatch) -> Result<Vec<StoredAlert>> {
        self.persist_batch_at(batch, now_ms()).await
    }

    /// [`Db::persist_batch`] with the storage time (`created_at` of new alerts) given, for tests and
    /// fixtures with hand-computed times.
    pub async fn persist_batch_at(&self, batch: &PersistBatch, now: i64) -> Result<Vec<StoredAlert>> {
        let mut tx = self.begin_write().await?;
        if self.backend() == super::Backend::Postgres {
            // Several instances may share the database (`crate::cluster`): batches commit one at a
            // time across all of them, as they do within one, so deduplication never races (two
            // instances would otherwise both find no open alert and both insert one).
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ALERT_WRITE_LOCK).execute(&mut *tx).await?;
        }
        for (id, records) in &batch.bus_batches {
            if !super::bus_batches::claim(&mut tx, id, *records, now).await? {
                tx.rollback().await?;
                return Err(StoreError::AlreadyStored(id.clone()));
            }
        }
        let asset_ids: HashMap<String, i64> =
            Db::touch_assets(&mut tx, &batch.assets_seen).await?.into_iter().collect();
        Db::count_suppressed(&mut tx, &batch.suppressed).await?;
        super::intel::record_intel_hits(&mut tx, &batch.intel_hits).await?;
        let asset_of = |a: &NewAlert| a.asset_ip.as_ref().and_then(|ip| asset_ids.get(ip).copied());

        let mut stored: Vec<StoredAlert> = Vec::with_capacity(batch.alerts.len());
        let mut to_insert: Vec<&NewAlert> = Vec::new();
        // Per input alert: did it become a new alert (true) or grow an open one?
        let mut created: Vec<bool> = Vec::with_capacity(batch.alerts.len());
        for a in &batch.alerts {
            let updated = match batch.dedup_window_ms {
                w if w > 0 => update_open_alert(&mut tx, a, w).await?,
                _ => None,
            };
            created.push(updated.is_none());
            match updated {
                Some(alert) => stored.push(StoredAlert { alert, created: false }),
                None => to_insert.push(a),
            }
        }
        for chunk in to_insert.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO alerts (first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, \
                 risk, severity, detector, signature, reasons, features, created_at, dedup_key, src_country, src_lat, \
                 src_lon, asset_id, report_id, base_risk, origin, status) VALUES {} RETURNING {ALERT_COLUMNS}",
                values_clause(chunk.len(), BINDS_PER_ALERT - 1, ", 'new'")
            );
            // Not a cached prepared statement: sqlx 0.8.6's `Any` driver binds a NULL f64 as a REAL
            // (float4) NULL, so a statement first prepared with an alert without coordinates types
            // `src_lat` REAL and PostgreSQL refuses the next batch's coordinates ("incorrect binary
            // data format"). Unnamed statements take each execution's own types.
            let mut q = sqlx::query(&sql).persistent(false);
            for a in chunk {
                let risk = a.risk.clamp(0, 100);
                q = q
                    .bind(a.seen_at)
                    .bind(a.last_seen)
                    .bind(a.count.max(1))
                    .bind(a.src_ip.clone())
                    .bind(a.src_port)
                    .bind(a.dst_ip.clone())
                    .bind(a.dst_port)
                    .bind(a.protocol)
                    .bind(a.threat.clone())
                    .bind(risk)
                    .bind(Severity::from_risk(risk).as_str())
                    .bind(a.detector.as_str())
                    .bind(a.signature.clone())
                    .bind(a.reasons.clone())
                    .bind(a.features.clone())
                    .bind(now)
                    .bind(a.dedup_key())
                    .bind(a.src_country.clone())
                    .bind(a.src_lat)
                    .bind(a.src_lon)
                    .bind(asset_of(a))
                    .bind(a.report_id)
                    .bind(a.base_risk.clamp(0, 100))
                    .bind(a.origin.clone());
            }
            for row in q.fetch_all(&mut *tx).await? {
                stored.push(StoredAlert { alert: alert_from_row(&row)?, created: true });
            }
        }

        // Hourly rollup of what was just stored, and the KPI rollups (crate::kpi::rollup).
        let mut hourly = HourlyRollup::default();
        let mut kpi = AlertRollup::default();
        for (a, &is_new) in batch.alerts.iter().zip(&created) {
            let contribution = AlertContribution {
                seen_at: a.seen_at,
                threat: &a.threat,
                criticality: a.criticality.map(|c| c.as_str()),
                country: a.src_country.as_deref(),
                asset_id: asset_of(a),
                created: i64::from(is_new),
                detections: a.count,
                risk_sum: a.risk_sum,
            };
            hourly.add(&contribution, a.risk);
            kpi.add(&contribution);
        }
        hourly.write(&mut tx).await?;
        super::kpi::add_alert_rollup(&mut tx, kpi).await?;
        let mut response = ResponseDeltas::default();
        response.raised(now, to_insert.len() as i64);
        super::kpi::add_response(&mut tx, response).await?;

        for chunk in batch.traffic.chunks(ROWS_PER_UPSERT) {
            let sql = format!(
                "INSERT INTO traffic_minute (minute, country, protocol, verdict, flows, bytes) VALUES {} \
                 ON CONFLICT (minute, country, protocol, verdict) DO UPDATE SET \
                 flows = traffic_minute.flows + excluded.flows, bytes = traffic_minute.bytes + excluded.bytes",
                values_clause(chunk.len(), 6, "")
            );
            let mut q = sqlx::query(&sql);
            for (k, c) in chunk {
                q = q
                    .bind(k.minute)
                    .bind(k.country.clone())
                    .bind(k.protocol)
                    .bind(k.verdict)
                    .bind(c.flows)
                    .bind(c.bytes);
            }
            q.execute(&mut *tx).await?;
        }

        super::traffic::write_top_in(&mut tx, &batch.top).await?;

        let stats = &batch.stats;
        sqlx::query(
            "INSERT INTO ingest_stats (at, source, token_id, accepted, rejected, skipped, scored, alerts, score_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(now)
        .bind(stats.source.clone())
        .bind(stats.token_id)
        .bind(stats.accepted)
        .bind(stats.rejected)
        .bind(stats.skipped)
        .bind(stats.scored)
        .bind(batch.alerts.iter().map(|a| a.count).sum::<i64>())
        .bind(stats.score_ms)
        .execute(&mut *tx)
        .await?;
        // New alerts (not repeats) are announced in this transaction: stored means announced.
        let announce: Vec<super::notify::Announce> = stored
            .iter()
            .filter(|s| s.created)
            .map(|s| super::notify::Announce {
                kind: crate::notify::EventKind::Alert,
                severity: s.alert.severity,
                threat: Some(s.alert.threat.clone()),
                asset_id: s.alert.asset_id,
                message: crate::notify::message::alert(&s.alert, None, now),
            })
            .collect();
        super::notify::enqueue_in(&mut tx, &announce, now).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// One page of alerts matching `f`, newest (last seen) first, after `cursor`. `limit` is clamped
    /// to 1–500. The filters map onto the `alerts_by_*` indexes.
    pub async fn query_alerts(&self, f: &AlertFilter, cursor: Option<AlertCursor>, limit: i64) -> Result<AlertPage> {
        let limit = limit.clamp(1, 500);
        let mut conds: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.from.is_some() {
            conds.push(format!("last_seen >= {}", next()));
        }
        if f.to.is_some() {
            conds.push(format!("last_seen < {}", next()));
        }
        if f.status.is_some() {
            conds.push(format!("status = {}", next()));
        }
        if f.threat.is_some() {
            conds.push(format!("threat = {}", next()));
        }
        if f.min_risk.is_some() {
            conds.push(format!("risk >= {}", next()));
        }
        if f.country.is_some() {
            conds.push(format!("src_country = {}", next()));
        }
        if f.asset_id.is_some() {
            conds.push(format!("asset_id = {}", next()));
        }
        if f.src_ip.is_some() {
            conds.push(format!("src_ip = {}", next()));
        }
        if cursor.is_some() {
            let (a, b, c) = (next(), next(), next());
            conds.push(format!("(last_seen < {a} OR (last_seen = {b} AND id < {c}))"));
        }
        let lim = next();
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {} ORDER BY last_seen DESC, id DESC LIMIT {lim}",
            if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) }
        );
        let mut q = sqlx::query(&sql);
        q = match f.from {
            Some(v) => q.bind(v),
            None => q,
        };
        q = match f.to {
            Some(v) => q.bind(v),
            None => q,
        };
        q = match f.status {
            Some(v) => q.bind(v.as_str()),
            None => q,
        };
        q = match &f.threat {
            Some(v) => q.bind(v.clone()),
            None => q,
        };
        q = match f.min_risk {
            Some(v) => q.bind(v),
            None => q,
        };
        q = match &f.country {
            Some(v) => q.bind(v.clone()),
            None => q,
        };
        q = match f.asset_id {
            Some(v) => q.bind(v),
            None => q,
        };
        q = match &f.src_ip {
            Some(v) => q.bind(v.clone()),
            None => q,
        };
        if let Some(c) = cursor {
            q = q.bind(c.last_seen).bind(c.last_seen).bind(c.id);
        }
        // One extra row tells whether there is a next page.
        let rows = q.bind(limit + 1).fetch_all(self.pool()).await?;
        let mut alerts = rows.iter().map(alert_from_row).collect::<Result<Vec<_>>>()?;
        let more = alerts.len() as i64 > limit;
        alerts.truncate(limit as usize);
        let next =
            if more { alerts.last().map(|a| AlertCursor { last_seen: a.last_seen, id: a.id }.encode()) } else { None };
        Ok(AlertPage { alerts, next })
    }

    /// Traffic rows with `from <= minute < to`, oldest first.
    pub async fn traffic_between(&self, from: i64, to: i64) -> Result<Vec<TrafficRow>> {
        let rows = sqlx::query(
            "SELECT minute, country, protocol, verdict, flows, bytes FROM traffic_minute \
             WHERE minute >= $1 AND minute < $2 ORDER BY minute, country, protocol, verdict",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TrafficRow {
                    minute: r.try_get("minute")?,
                    country: r.try_get("country")?,
                    protocol: r.try_get("protocol")?,
                    verdict: r.try_get("verdict")?,
                    flows: r.try_get("flows")?,
                    bytes: r.try_get("bytes")?,
                })
            })
            .collect()
    }

    /// Hourly rollup rows with `from <= hour < to`, oldest first.
    pub async fn hourly_between(&self, from: i64, to: i64) -> Result<Vec<HourlyRow>> {
        let rows = sqlx::query(
            "SELECT hour, threat, criticality, country, alerts, detections, risk_sum, max_risk FROM alert_hourly \
             WHERE hour >= $1 AND hour < $2 ORDER BY hour, threat, criticality, country",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HourlyRow {
                    hour: r.try_get("hour")?,
                    threat: r.try_get("threat")?,
                    criticality: r.try_get("criticality")?,
                    country: r.try_get("country")?,
                    alerts: r.try_get("alerts")?,
                    detections: r.try_get("detections")?,
                    risk_sum: r.try_get("risk_sum")?,
                    max_risk: r.try_get("max_risk")?,
                })
            })
            .collect()
    }

    /// The most recent alerts, newest first (ties by id).
    pub async fn alert_by_id(&self, id: i64) -> Result<Alert> {
        let row = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("alert #{id}")))?;
        alert_from_row(&row)
    }

    pub async fn recent_alerts(&self, limit: i64) -> Result<Vec<Alert>> {
        let rows =
            sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts ORDER BY last_seen DESC, id DESC LIMIT $1"))
                .bind(limit.clamp(1, 1000))
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// Alerts seen within `[from, until)` (their first-to-last span overlaps it), newest first, at
    /// most `limit` (for a hunt, which filters them further).
    pub async fn alerts_overlapping(&self, from: Option<i64>, until: Option<i64>, limit: i64) -> Result<Vec<Alert>> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE last_seen >= $1 AND first_seen < $2 \
             ORDER BY last_seen DESC, id DESC LIMIT $3"
        ))
        .bind(from.unwrap_or(i64::MIN))
        .bind(until.unwrap_or(i64::MAX))
        .bind(limit.clamp(1, 100_000))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// The `reasons` of the newest ML alerts analysts marked as false positives (they carry the
    /// alerting flow's features, `reasons.flow`), at most `limit`.
    pub async fn false_positive_reasons(&self, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT reasons FROM alerts WHERE status = 'false_positive' AND detector = 'ml' \
             ORDER BY last_seen DESC, id DESC LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>("reasons")?)).collect()
    }

    /// Status and reasons of the newest behaviour alerts analysts judged (false positive,
    /// acknowledged or resolved): the feedback the behaviour thresholds are fitted on.
    pub async fn judged_behaviour_reasons(&self, limit: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT status, reasons FROM alerts WHERE detector = 'behaviour' \
             AND status IN ('false_positive', 'acknowledged', 'resolved') \
             ORDER BY last_seen DESC, id DESC LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get::<String, _>("status")?, r.try_get::<String, _>("reasons")?))).collect()
    }

    pub async fn count_alerts(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM alerts").fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Sums over every ingested batch.
    pub async fn ingest_totals(&self) -> Result<IngestTotals> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS batches, CAST(COALESCE(SUM(accepted), 0) AS BIGINT) AS accepted, \
             CAST(COALESCE(SUM(rejected), 0) AS BIGINT) AS rejected, CAST(COALESCE(SUM(skipped), 0) AS BIGINT) AS skipped, \
             CAST(COALESCE(SUM(scored), 0) AS BIGINT) AS scored, CAST(COALESCE(SUM(alerts), 0) AS BIGINT) AS alerts \
             FROM ingest_stats",
        )
        .fetch_one(self.pool())
        .await?;
        // PostgreSQL's SUM(BIGINT) is NUMERIC, which the Any driver cannot decode: hence the casts.
        Ok(IngestTotals {
            batches: row.try_get("batches")?,
            accepted: row.try_get("accepted")?,
            rejected: row.try_get("rejected")?,
            skipped: row.try_get("skipped")?,
            scored: row.try_get("scored")?,
            alerts: row.try_get("alerts")?,
        })
    }
}

/// Merges `a` into the newest open alert with its key last seen within the window before it, if any.
async fn update_open_alert(tx: &mut Transaction<'_, Any>, a: &NewAlert, window_ms: i64) -> Result<Option<Alert>> {
    let risk = a.risk.clamp(0, 100);
    let row = sqlx::query(&format!(
        "UPDATE alerts SET count = count + $1, \
         last_seen = CASE WHEN $2 > last_seen THEN $2 ELSE last_seen END, \
         first_seen = CASE WHEN $3 < first_seen THEN $3 ELSE first_seen END, \
         reasons = CASE WHEN $4 > risk OR (detector = 'behaviour' AND $4 >= risk) THEN $5 ELSE reasons END, \
         features = CASE WHEN $4 > risk THEN $6 ELSE features END, \
         base_risk = CASE WHEN $4 > risk THEN $7 ELSE base_risk END, \
         severity = CASE WHEN $4 > risk THEN $8 ELSE severity END, \
         risk = CASE WHEN $4 > risk THEN $4 ELSE risk END, \
         report_id = COALESCE($9, report_id) \
         WHERE id = (SELECT id FROM alerts WHERE dedup_key = $10 AND last_seen >= $11 \
                     AND status IN ('new', 'acknowledged') ORDER BY last_seen DESC, id DESC LIMIT 1) \
         RETURNING {ALERT_COLUMNS}"
    ))
    .bind(a.count.max(1))
    .bind(a.last_seen)
    .bind(a.seen_at)
    .bind(risk)
    .bind(a.reasons.clone())
    .bind(a.features.clone())
    .bind(a.base_risk.clamp(0, 100))
    .bind(Severity::from_risk(risk).as_str())
    .bind(a.report_id)
    .bind(a.dedup_key())
    .bind(a.seen_at - window_ms)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(alert_from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(src: &str, threat: &str, at: i64, risk: i64) -> NewAlert {
        NewAlert {
            seen_at: at,
            last_seen: at,
            count: 1,
            src_ip: Some(src.into()),
            src_port: None,
            dst_ip: Some("10.0.0.5".into()),
            dst_port: Some(80),
            protocol: Some(6),
            threat: threat.into(),
            risk,
            risk_sum: risk,
            base_risk: risk,
            detector: Detector::Ml,
            signature: None,
            reasons: format!("{{\"r\":{risk}}}"),
            ..NewAlert::blank()
        }
    }

    #[test]
    fn detections_merge_by_key_within_the_window() {
        let merged = merge_detections(
            vec![
                det("1.1.1.1", "ddos", 1_000, 60),
                det("1.1.1.1", "ddos", 5_000, 80),
                det("2.2.2.2", "ddos", 2_000, 50),
                det("1.1.1.1", "port_scan", 3_000, 40),
                det("1.1.1.1", "ddos", 100_000, 70),
            ],
            10_000,
        );
        assert_eq!(merged.len(), 4, "{merged:#?}");
        let first = &merged[0];
        assert_eq!((first.threat.as_str(), first.count, first.seen_at, first.last_seen), ("ddos", 2, 1_000, 5_000));
        assert_eq!(
            (first.risk, first.risk_sum, first.reasons.as_str()),
            (80, 140, "{\"r\":80}"),
            "the riskier detection's reasons win"
        );
        assert_eq!((merged[1].count, merged[1].seen_at), (1, 100_000), "outside the window starts a new alert");
        assert_eq!(merge_detections(vec![det("1.1.1.1", "ddos", 1, 1), det("1.1.1.1", "ddos", 2, 1)], 0).len(), 2);
    }
}
