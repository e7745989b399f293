//! The `alerts` and `ingest_stats` tables. A batch's alerts and its statistics row are written in ONE
//! transaction ([`Db::persist_batch`]), with multi-row inserts, so an acknowledged batch is stored
//! entirely or not at all.

use super::{now_ms, Db, Result, StoreError};
use crate::alert::{Alert, Detector, Severity};
use sqlx::any::AnyRow;
use sqlx::Row;

/// An alert to insert (new alerts start with status `new` and count 1).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub seen_at: i64,
    pub src_ip: Option<String>,
    pub src_port: Option<i64>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<i64>,
    pub protocol: Option<i64>,
    pub threat: String,
    /// Clamped to 0–100 on insert.
    pub risk: i64,
    pub detector: Detector,
    pub signature: Option<String>,
    pub reasons: String,
    pub features: String,
}

/// Counts of one ingested batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// `csv`, `flows`, `zeek`, `suricata`.
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

const ALERT_COLUMNS: &str = "id, first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, \
                             severity, status, detector, signature, reasons, features, created_at";
/// Values bound per inserted alert.
const BINDS_PER_ALERT: usize = 15;
/// Rows per INSERT statement. Small on purpose: SQLite looks up a named (`$N`) parameter by a linear
/// scan, so binding costs grow with the square of the parameters per statement (500 rows = 7,500
/// parameters took 4.3 s for 14,000 alerts; 32 rows make it a small fraction of that).
const ROWS_PER_INSERT: usize = 32;

fn alert_from_row(row: &AnyRow) -> Result<Alert> {
    let severity: String = row.try_get("severity")?;
    let detector: String = row.try_get("detector")?;
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
        status: row.try_get("status")?,
        detector: Detector::parse(&detector)
            .ok_or_else(|| StoreError::Corrupt { column: "alerts.detector", detail: detector.clone() })?,
        signature: row.try_get("signature")?,
        reasons: row.try_get("reasons")?,
        features: row.try_get("features")?,
        created_at: row.try_get("created_at")?,
    })
}

/// `($1, …, $15, 1, 'new'), ($16, …)` for `rows` alerts.
fn values_clause(rows: usize) -> String {
    let mut out = String::with_capacity(rows * 100);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..BINDS_PER_ALERT {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * BINDS_PER_ALERT + c + 1).to_string());
        }
        out.push_str(", 1, 'new')");
    }
    out
}

impl Db {
    /// Stores a batch's alerts and its statistics row in one transaction. Returns how many alerts
    /// were inserted.
    pub async fn persist_batch(&self, alerts: &[NewAlert], stats: &BatchStats) -> Result<usize> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        for chunk in alerts.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO alerts (first_seen, last_seen, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, \
                 severity, detector, signature, reasons, features, created_at, count, status) VALUES {}",
                values_clause(chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for a in chunk {
                let risk = a.risk.clamp(0, 100);
                q = q
                    .bind(a.seen_at)
                    .bind(a.seen_at)
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
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
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
        .bind(alerts.len() as i64)
        .bind(stats.score_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(alerts.len())
    }

    /// The most recent alerts, newest first (ties by id).
    pub async fn recent_alerts(&self, limit: i64) -> Result<Vec<Alert>> {
        let rows = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts ORDER BY last_seen DESC, id DESC LIMIT $1"))
            .bind(limit.clamp(1, 1000))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_from_row).collect()
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
