//! Threat-intel sources and their indicators (`migrations/*/20261206000050_threat_intel.sql`).
//!
//! An indicator is stored once per source by its canonical text, so re-importing a feed refreshes
//! its entries (description, confidence, validity) instead of adding copies; an admin's decision to
//! disable one survives the refresh. Hits are counted in the transaction that stores the alerts they
//! raised ([`record_intel_hits`]). The built-in `employee-reports` source follows the report queue:
//! confirming a reported address or domain lists it, any other decision takes it off
//! ([`sync_report_indicator`], called in the decision's transaction).

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{get_bool, now_ms, Db, Result, StoreError};
use crate::intel::catalog::{
    check_source_name, IndicatorPage, IndicatorRow, IndicatorState, IntelSource, IocAlert, IocReport, SourceKind,
    DEFAULT_CONFIDENCE, DEFAULT_EXPIRY_DAYS, REPORTS_SOURCE,
};
use crate::intel::matcher::IndicatorRef;
use crate::intel::{Indicator, IndicatorKind, IntelEntry, IntelFormat};

/// Indicators per page of [`Db::intel_indicators`].
pub const PER_PAGE: u32 = 50;
/// Rows per multi-row insert (10 values each, well under both backends' parameter limits).
const CHUNK: usize = 500;

/// A filter over stored indicators.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndicatorQuery {
    pub source_id: Option<i64>,
    /// Part of the value, case-insensitive.
    pub text: String,
    pub kind: Option<IndicatorKind>,
    pub state: Option<IndicatorState>,
    /// 1-based.
    pub page: u32,
}

/// What storing an import changed.
#[derive(Debug, Default)]
pub struct StoredIntel {
    /// Indicators new to the source, with their ids.
    pub new: Vec<(i64, Indicator)>,
    pub updated: u64,
}

const SOURCE_COLUMNS: &str = "s.id, s.name, s.kind, s.confidence, s.expiry_days, s.enabled, s.description, \
     s.created_at, s.updated_at, s.last_import_at, s.last_format";

/// `i.` is active at `$1`.
const ACTIVE: &str = "i.enabled = 1 AND s.enabled = 1 AND (i.expires_at IS NULL OR i.expires_at > $1) \
     AND (i.valid_from IS NULL OR i.valid_from <= $1)";

fn source_of(r: &AnyRow, counts: Option<(i64, i64, i64)>) -> Result<IntelSource> {
    let kind: String = r.try_get("kind")?;
    let (indicators, active, hits) = counts.unwrap_or_default();
    Ok(IntelSource {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: SourceKind::parse(&kind).ok_or(StoreError::Corrupt { column: "intel_sources.kind", detail: kind })?,
        confidence: r.try_get::<i64, _>("confidence")?.clamp(0, 100) as u8,
        expiry_days: r.try_get::<Option<i64>, _>("expiry_days")?.map(|d| d.clamp(1, i64::from(u32::MAX)) as u32),
        enabled: get_bool(r, "enabled")?,
        description: r.try_get("description")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_import_at: r.try_get("last_import_at")?,
        last_format: r.try_get("last_format")?,
        indicators,
        active,
        hits,
    })
}

fn kind_of(s: &str) -> Result<IndicatorKind> {
    IndicatorKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt { column: "intel_indicators.kind", detail: s.to_string() })
}

const INDICATOR_COLUMNS: &str = "i.id, i.source_id, s.name AS source, i.value, i.kind, \
     COALESCE(i.confidence, s.confidence) AS confidence, i.description, i.reference, i.valid_from, i.expires_at, \
     i.enabled * s.enabled AS enabled, i.hits, i.last_hit_at, i.created_at, i.updated_at";

fn indicator_of(r: &AnyRow, now: i64) -> Result<IndicatorRow> {
    let enabled = get_bool(r, "enabled")?;
    let (valid_from, expires_at) = (r.try_get("valid_from")?, r.try_get("expires_at")?);
    Ok(IndicatorRow {
        id: r.try_get("id")?,
        source_id: r.try_get("source_id")?,
        source: r.try_get("source")?,
        value: r.try_get("value")?,
        kind: kind_of(&r.try_get::<String, _>("kind")?)?,
        confidence: r.try_get::<i64, _>("confidence")?.clamp(0, 100) as u8,
        description: r.try_get("description")?,
        reference: r.try_get("reference")?,
        valid_from,
        expires_at,
        enabled,
        state: IndicatorState::at(now, enabled, valid_from, expires_at),
        hits: r.try_get("hits")?,
        last_hit_at: r.try_get("last_hit_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// `text` for a LIKE pattern that finds it anywhere (`%` and `_` taken literally).
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Db {
    /// Every source with its figures at `now`, the built-in one first, then by name.
    pub async fn intel_sources(&self, now: i64) -> Result<Vec<IntelSource>> {
        let sql = format!(
            "SELECT {SOURCE_COLUMNS}, \
             (SELECT COUNT(*) FROM intel_indicators i WHERE i.source_id = s.id) AS n, \
             (SELECT COUNT(*) FROM intel_indicators i WHERE i.source_id = s.id AND {ACTIVE}) AS active, \
             (SELECT CAST(COALESCE(SUM(i.hits), 0) AS BIGINT) FROM intel_indicators i WHERE i.source_id = s.id) AS hits \
             FROM intel_sources s ORDER BY CASE s.kind WHEN 'reports' THEN 0 ELSE 1 END, s.name"
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(self.pool()).await?;
        rows.iter().map(|r| source_of(r, Some((r.try_get("n")?, r.try_get("active")?, r.try_get("hits")?)))).collect()
    }

    /// One source with its figures, by name.
    pub async fn intel_source(&self, name: &str, now: i64) -> Result<Option<IntelSource>> {
        Ok(self.intel_sources(now).await?.into_iter().find(|s| s.name == name))
    }

    /// The source named `name`, created as a feed if there is none (confidence
    /// [`DEFAULT_CONFIDENCE`], expiry [`DEFAULT_EXPIRY_DAYS`] days, unless given). Given settings
    /// replace the source's: `expiry_days` `Some(None)` means its indicators never expire.
    pub async fn ensure_intel_source(
        &self,
        name: &str,
        confidence: Option<u8>,
        expiry_days: Option<Option<u32>>,
        description: Option<&str>,
    ) -> Result<IntelSource> {
        check_source_name(name).map_err(StoreError::Invalid)?;
        if confidence.is_some_and(|c| c > 100) {
            return Err(StoreError::Invalid("confidence is 0 to 100".into()));
        }
        if expiry_days == Some(Some(0)) {
            return Err(StoreError::Invalid("an expiry is at least 1 day (or `never`)".into()));
        }
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO intel_sources (name, kind, confidence, expiry_days, description, created_at, updated_at) \
             VALUES ($1, 'feed', $2, $3, $4, $5, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(i64::from(confidence.unwrap_or(DEFAULT_CONFIDENCE)))
        .bind(expiry_days.unwrap_or(Some(DEFAULT_EXPIRY_DAYS)).map(i64::from))
        .bind(description.unwrap_or(""))
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        if inserted == 0 {
            if let Some(c) = confidence {
                sqlx::query("UPDATE intel_sources SET confidence = $1, updated_at = $2 WHERE name = $3")
                    .bind(i64::from(c))
                    .bind(now)
                    .bind(name)
                    .execute(self.pool())
                    .await?;
            }
            if let Some(days) = expiry_days {
                sqlx::query("UPDATE intel_sources SET expiry_days = $1, updated_at = $2 WHERE name = $3")
                    .bind(days.map(i64::from))
                    .bind(now)
                    .bind(name)
                    .execute(self.pool())
                    .await?;
            }
            if let Some(d) = description {
                sqlx::query("UPDATE intel_sources SET description = $1, updated_at = $2 WHERE name = $3")
                    .bind(d)
                    .bind(now)
                    .bind(name)
                    .execute(self.pool())
                    .await?;
            }
        }
        self.intel_source(name, now).await?.ok_or_else(|| StoreError::NotFound(format!("intel source {name}")))
    }

    async fn intel_source_by_id(&self, id: i64) -> Result<IntelSource> {
        let now = now_ms();
        self.intel_sources(now)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("intel source {id}")))
    }

    /// Switches a whole source on or off (its indicators keep their own switches).
    pub async fn set_intel_source_enabled(&self, id: i64, enabled: bool) -> Result<IntelSource> {
        let n = sqlx::query("UPDATE intel_sources SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(enabled))
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("intel source {id}")));
        }
        self.intel_source_by_id(id).await
    }

    /// Expires every indicator of a source that is not expired yet, at `now`; returns how many.
    pub async fn expire_intel_source(&self, id: i64, now: i64) -> Result<u64> {
        self.intel_source_by_id(id).await?;
        Ok(sqlx::query(
            "UPDATE intel_indicators SET expires_at = $1, updated_at = $1 \
             WHERE source_id = $2 AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Deletes an imported source and its indicators (the built-in one cannot be deleted).
    pub async fn delete_intel_source(&self, id: i64) -> Result<IntelSource> {
        let source = self.intel_source_by_id(id).await?;
        if source.kind == SourceKind::Reports {
            return Err(StoreError::Conflict(format!(
                "`{}` follows the report queue and cannot be deleted; disable it instead",
                source.name
            )));
        }
        sqlx::query("DELETE FROM intel_indicators WHERE source_id = $1").bind(id).execute(self.pool()).await?;
        sqlx::query("DELETE FROM intel_sources WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(source)
    }

    /// Switches one indicator on or off.
    pub async fn set_indicator_enabled(&self, id: i64, enabled: bool) -> Result<IndicatorRow> {
        let now = now_ms();
        let n = sqlx::query("UPDATE intel_indicators SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(enabled))
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("indicator {id}")));
        }
        self.intel_indicator(id, now).await
    }

    /// Expires one indicator at `now` (an earlier expiry stays).
    pub async fn expire_indicator(&self, id: i64, now: i64) -> Result<IndicatorRow> {
        let n = sqlx::query(
            "UPDATE intel_indicators SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < $1 \
             THEN expires_at ELSE $1 END, updated_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("indicator {id}")));
        }
        self.intel_indicator(id, now).await
    }

    /// One indicator, by id.
    pub async fn intel_indicator(&self, id: i64, now: i64) -> Result<IndicatorRow> {
        let sql = format!(
            "SELECT {INDICATOR_COLUMNS} FROM intel_indicators i JOIN intel_sources s ON s.id = i.source_id WHERE i.id = $1"
        );
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?;
        indicator_of(&row.ok_or_else(|| StoreError::NotFound(format!("indicator {id}")))?, now)
    }

    /// Stores the entries of one import into `source`: new indicators are added, known ones refreshed
    /// (an indicator an admin disabled stays disabled). An entry without an end of its own expires
    /// after the source's `expiry_days`, counted from `now`.
    pub async fn store_intel(
        &self,
        source: &IntelSource,
        entries: &[IntelEntry],
        format: IntelFormat,
        now: i64,
    ) -> Result<StoredIntel> {
        let default_expiry = source.expiry_days.map(|d| now + i64::from(d) * 86_400_000);
        let mut out = StoredIntel::default();
        let mut tx = self.begin_write().await?;
        for chunk in entries.chunks(CHUNK) {
            let values: Vec<String> = chunk.iter().map(|e| e.indicator.to_string()).collect();
            let list = (2..values.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT value FROM intel_indicators WHERE source_id = $1 AND value IN ({list})");
            let known: std::collections::HashSet<String> = values
                .iter()
                .fold(sqlx::query(&sql).bind(source.id), |q, v| q.bind(v.clone()))
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("value"))
                .collect::<std::result::Result<_, _>>()?;
            let mut sql = String::from(
                "INSERT INTO intel_indicators (source_id, value, kind, confidence, description, reference, valid_from, \
                 expires_at, created_at, updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 9;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
            }
            sql.push_str(
                " ON CONFLICT (source_id, value) DO UPDATE SET confidence = excluded.confidence, \
                 description = excluded.description, reference = excluded.reference, valid_from = excluded.valid_from, \
                 expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            );
            let mut q = sqlx::query(&sql).bind(source.id);
            for (e, value) in chunk.iter().zip(&values) {
                q = q
                    .bind(value.clone())
                    .bind(e.indicator.kind().as_str())
                    .bind(e.confidence.map(i64::from))
                    .bind(e.description.clone().unwrap_or_default())
                    .bind(e.reference.clone())
                    .bind(e.valid_from)
                    .bind(e.valid_until.or(default_expiry))
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
            let fresh: Vec<&str> = values.iter().filter(|v| !known.contains(*v)).map(String::as_str).collect();
            out.updated += (values.len() - fresh.len()) as u64;
            if !fresh.is_empty() {
                let list = (2..fresh.len() + 2).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let sql = format!("SELECT id, value FROM intel_indicators WHERE source_id = $1 AND value IN ({list})");
                let rows = fresh
                    .iter()
                    .fold(sqlx::query(&sql).bind(source.id), |q, v| q.bind(v.to_string()))
                    .fetch_all(&mut *tx)
                    .await?;
                for r in rows {
                    let value: String = r.try_get("value")?;
                    let indicator = Indicator::parse(&value)
                        .map_err(|e| StoreError::Corrupt { column: "intel_indicators.value", detail: e.to_string() })?;
                    out.new.push((r.try_get("id")?, indicator));
                }
            }
        }
        sqlx::query("UPDATE intel_sources SET last_import_at = $1, last_format = $2, updated_at = $1 WHERE id = $3")
            .bind(now)
            .bind(format.as_str())
            .bind(source.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        out.new.sort_by_key(|n| n.0);
        Ok(out)
    }

    /// A page of indicators matching `q` at `now`, the most recently updated first.
    pub async fn intel_indicators(&self, q: &IndicatorQuery, now: i64) -> Result<IndicatorPage> {
        let mut conds = vec!["1 = 1".to_string()];
        let mut texts: Vec<String> = Vec::new();
        if let Some(id) = q.source_id {
            conds.push(format!("i.source_id = {id}"));
        }
        if let Some(k) = q.kind {
            conds.push(format!("i.kind = '{}'", k.as_str()));
        }
        if !q.text.trim().is_empty() {
            texts.push(contains_pattern(q.text.trim()));
            conds.push("i.value LIKE $2 ESCAPE '\\'".to_string());
        }
        match q.state {
            None => {}
            Some(IndicatorState::Active) => conds.push(ACTIVE.to_string()),
            Some(IndicatorState::Disabled) => conds.push("(i.enabled = 0 OR s.enabled = 0)".into()),
            Some(IndicatorState::Expired) => {
                conds.push("i.enabled = 1 AND s.enabled = 1 AND i.expires_at IS NOT NULL AND i.expires_at <= $1".into())
            }
            Some(IndicatorState::Pending) => conds.push(
                "i.enabled = 1 AND s.enabled = 1 AND (i.expires_at IS NULL OR i.expires_at > $1) AND i.valid_from > $1"
                    .into(),
            ),
        }
        let filter = conds.join(" AND ");
        let from = "FROM intel_indicators i JOIN intel_sources s ON s.id = i.source_id";
        // `$1` (now) is bound in every query, used or not, so `$2` is always the text pattern.
        let keep_now = "($1 = $1)";
        let count_sql = format!("SELECT COUNT(*) AS n {from} WHERE {keep_now} AND {filter}");
        let total: i64 = texts
            .iter()
            .fold(sqlx::query(&count_sql).bind(now), |q, t| q.bind(t.clone()))
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        let page = q.page.max(1);
        let offset = i64::from(page - 1) * i64::from(PER_PAGE);
        let sql = format!(
            "SELECT {INDICATOR_COLUMNS} {from} WHERE {keep_now} AND {filter} \
             ORDER BY i.updated_at DESC, i.id DESC LIMIT {PER_PAGE} OFFSET {offset}"
        );
        let rows =
            texts.iter().fold(sqlx::query(&sql).bind(now), |q, t| q.bind(t.clone())).fetch_all(self.pool()).await?;
        Ok(IndicatorPage {
            rows: rows.iter().map(|r| indicator_of(r, now)).collect::<Result<_>>()?,
            total,
            page,
            per_page: PER_PAGE,
        })
    }

    /// The address and network indicators active at `now`, for live matching.
    pub async fn active_intel(&self, now: i64) -> Result<Vec<(Indicator, IndicatorRef)>> {
        let sql = format!(
            "SELECT i.id, i.source_id, s.name, i.value, COALESCE(i.confidence, s.confidence) AS confidence, i.description \
             FROM intel_indicators i JOIN intel_sources s ON s.id = i.source_id \
             WHERE i.kind IN ('ip', 'cidr') AND {ACTIVE}"
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let value: String = r.try_get("value")?;
            let Ok(indicator) = Indicator::parse(&value) else {
                tracing::warn!(value = %value, "stored indicator does not parse; skipped for matching");
                continue;
            };
            out.push((
                indicator,
                IndicatorRef {
                    id: r.try_get("id")?,
                    source_id: r.try_get("source_id")?,
                    source: r.try_get("name")?,
                    value,
                    confidence: r.try_get::<i64, _>("confidence")?.clamp(0, 100) as u8,
                    description: r.try_get("description")?,
                },
            ));
        }
        Ok(out)
    }

    /// Every stored indicator about `ind`, in any state, active first: the same value, and for an
    /// address the networks holding it, for a network the addresses and networks inside it, for a
    /// domain the wildcards over it (and for a wildcard, the names under it).
    pub async fn intel_about(&self, ind: &Indicator, now: i64) -> Result<Vec<IndicatorRow>> {
        let base =
            format!("SELECT {INDICATOR_COLUMNS} FROM intel_indicators i JOIN intel_sources s ON s.id = i.source_id");
        let mut rows = Vec::new();
        let same =
            sqlx::query(&format!("{base} WHERE i.value = $1")).bind(ind.to_string()).fetch_all(self.pool()).await?;
        rows.extend(same.iter().map(|r| indicator_of(r, now)).collect::<Result<Vec<_>>>()?);
        let related_kinds = match ind {
            Indicator::Ip(_) | Indicator::Cidr(_) => "'ip', 'cidr'",
            Indicator::Domain(_) => "'domain'",
            _ => "",
        };
        if !related_kinds.is_empty() {
            // Networks and wildcards are few next to addresses and names; matching them here keeps
            // the storage free of a per-backend address type.
            let sql = format!("{base} WHERE i.kind IN ({related_kinds}) AND i.value <> $1 AND (i.kind = 'cidr' OR i.value LIKE '*.%' OR $2 = 1) LIMIT 10000");
            let wide = matches!(ind, Indicator::Cidr(_)) || matches!(ind, Indicator::Domain(d) if d.is_wildcard());
            for r in sqlx::query(&sql).bind(ind.to_string()).bind(i64::from(wide)).fetch_all(self.pool()).await? {
                let row = indicator_of(&r, now)?;
                let Ok(other) = Indicator::parse(&row.value) else { continue };
                if related(ind, &other) {
                    rows.push(row);
                }
            }
        }
        rows.sort_by_key(|r| (r.state != IndicatorState::Active, std::cmp::Reverse(r.confidence), r.id));
        Ok(rows)
    }
}

impl Db {
    /// Every distinct address alerts name as source or target (for matching a network in Rust).
    pub async fn alert_addresses(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT src_ip AS ip FROM alerts WHERE src_ip IS NOT NULL UNION SELECT dst_ip FROM alerts WHERE dst_ip IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("ip")?)).collect()
    }

    /// The newest `limit` alerts from or to any of `ips`, and how many there are.
    pub async fn alerts_about(&self, ips: &[String], limit: i64) -> Result<(Vec<IocAlert>, i64)> {
        let mut all: Vec<IocAlert> = Vec::new();
        let mut total = 0i64;
        for chunk in ips.chunks(400) {
            let list = (1..=chunk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
            let cond = format!("src_ip IN ({list}) OR dst_ip IN ({list})");
            let count_sql = format!("SELECT COUNT(*) AS n FROM alerts WHERE {cond}");
            let n: i64 = chunk
                .iter()
                .fold(sqlx::query(&count_sql), |q, ip| q.bind(ip.clone()))
                .fetch_one(self.pool())
                .await?
                .try_get("n")?;
            total += n;
            let sql = format!(
                "SELECT id, last_seen, threat, risk, status, src_ip, dst_ip FROM alerts WHERE {cond} \
                 ORDER BY last_seen DESC, id DESC LIMIT {}",
                limit.clamp(1, 1000)
            );
            for r in chunk.iter().fold(sqlx::query(&sql), |q, ip| q.bind(ip.clone())).fetch_all(self.pool()).await? {
                all.push(IocAlert {
                    id: r.try_get("id")?,
                    last_seen: r.try_get("last_seen")?,
                    threat: r.try_get("threat")?,
                    risk: r.try_get("risk")?,
                    status: r.try_get("status")?,
                    src_ip: r.try_get("src_ip")?,
                    dst_ip: r.try_get("dst_ip")?,
                });
            }
        }
        all.sort_by_key(|a| (std::cmp::Reverse(a.last_seen), std::cmp::Reverse(a.id)));
        all.truncate(limit.clamp(1, 1000) as usize);
        Ok((all, total))
    }

    /// Employee reports naming `indicator` (an address or a domain as reported), newest first.
    pub async fn reports_of(&self, indicator: &str, limit: i64) -> Result<Vec<IocReport>> {
        let rows = sqlx::query(
            "SELECT id, created_at, category, status FROM employee_reports WHERE indicator = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(indicator)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IocReport {
                    id: r.try_get("id")?,
                    created_at: r.try_get("created_at")?,
                    category: r.try_get("category")?,
                    status: r.try_get("status")?,
                })
            })
            .collect()
    }
}

/// Whether `other` is about `ind`: it holds it, or (for a network or a wildcard) lies inside it.
fn related(ind: &Indicator, other: &Indicator) -> bool {
    match (ind, other) {
        (Indicator::Ip(ip), o) => o.contains_ip(*ip),
        (Indicator::Cidr(c), Indicator::Ip(ip)) => c.contains(*ip),
        (Indicator::Cidr(c), Indicator::Cidr(o)) => {
            o.contains(c.network()) || c.contains(o.network()) && o.prefix_len() >= c.prefix_len()
        }
        (Indicator::Domain(d), Indicator::Domain(o)) => o.matches(d.name()) || d.is_wildcard() && d.matches(o.name()),
        _ => false,
    }
}

/// Adds matches to indicators' hit counts (in the transaction storing the alerts they raised):
/// (indicator id, matches, the last match's time).
pub(crate) async fn record_intel_hits(tx: &mut Transaction<'_, Any>, hits: &[(i64, i64, i64)]) -> Result<()> {
    for &(id, n, last) in hits {
        sqlx::query(
            "UPDATE intel_indicators SET hits = hits + $1, \
             last_hit_at = CASE WHEN last_hit_at IS NULL OR last_hit_at < $2 THEN $2 ELSE last_hit_at END WHERE id = $3",
        )
        .bind(n)
        .bind(last)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Keeps the built-in reports source in step with a decision on a reported indicator: confirmed
/// lists it (again), anything else takes it off.
pub(crate) async fn sync_report_indicator(
    tx: &mut Transaction<'_, Any>,
    indicator: &str,
    confirmed: bool,
    now: i64,
) -> Result<()> {
    let Ok(parsed) = Indicator::parse(indicator) else {
        return Ok(());
    };
    let value = parsed.to_string();
    if confirmed {
        sqlx::query(
            "INSERT INTO intel_indicators (source_id, value, kind, reference, created_at, updated_at) \
             SELECT id, $1, $2, 'reported by employees', $3, $3 FROM intel_sources WHERE name = $4 \
             ON CONFLICT (source_id, value) DO UPDATE SET updated_at = excluded.updated_at",
        )
        .bind(&value)
        .bind(parsed.kind().as_str())
        .bind(now)
        .bind(REPORTS_SOURCE)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(
            "DELETE FROM intel_indicators WHERE value = $1 AND source_id IN (SELECT id FROM intel_sources WHERE name = $2)",
        )
        .bind(&value)
        .bind(REPORTS_SOURCE)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("a_b%"), "%a\\_b\\%%");
        assert_eq!(contains_pattern("Evil.COM"), "%evil.com%");
    }

    #[test]
    fn related_indicators_hold_or_lie_inside() {
        let p = |s: &str| Indicator::parse(s).unwrap();
        assert!(related(&p("203.0.113.7"), &p("203.0.113.0/24")));
        assert!(!related(&p("203.0.114.7"), &p("203.0.113.0/24")));
        assert!(related(&p("203.0.113.0/24"), &p("203.0.113.9")));
        assert!(related(&p("203.0.113.0/24"), &p("203.0.0.0/16")));
        assert!(related(&p("203.0.113.0/24"), &p("203.0.113.128/25")));
        assert!(related(&p("a.evil.example"), &p("*.evil.example")));
        assert!(related(&p("*.evil.example"), &p("b.evil.example")));
        assert!(!related(&p("evil.example"), &p("good.example")));
    }
}
