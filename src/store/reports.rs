//! The `employee_reports` table and the SOC's queue of reported indicators (`report_indicators`:
//! one row per reported address with the status every report of it shares; see `crate::report`).

use super::{audit, now_ms, Db, Result, StoreError};
use crate::audit::AuditAction;
use crate::report::{
    AlertMatches, EmployeeReport, IndicatorKind, QueueFilter, ReportCategory, ReportLine, ReportQueue, ReportStatus,
    ReportedIndicator, StatusChange, StatusCounts, LINES_PER_INDICATOR, NAMES_PER_INDICATOR, QUEUE_PER_PAGE,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

const COLUMNS: &str = "r.id, r.reporter_id, u.username AS reporter, r.indicator, r.indicator_kind, r.category, \
                       r.description, r.status, r.note, r.created_at, r.updated_at";
const FROM: &str = "employee_reports r JOIN users u ON u.id = r.reporter_id";
/// A person's name as the SOC sees it.
const NAME: &str = "COALESCE(NULLIF(u.display_name, ''), u.username)";

/// A report to store (fields already validated and normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub reporter_id: i64,
    pub indicator: String,
    pub kind: IndicatorKind,
    pub category: ReportCategory,
    pub description: String,
}

/// The reports that count as intel for one address: its newest report, how many there are, and the
/// SOC's status of the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntelRef {
    pub indicator: String,
    pub report_id: i64,
    pub category: ReportCategory,
    pub status: ReportStatus,
    pub reports: i64,
}

fn report_from_row(row: &AnyRow) -> Result<EmployeeReport> {
    let kind: String = row.try_get("indicator_kind")?;
    let category: String = row.try_get("category")?;
    let status: String = row.try_get("status")?;
    Ok(EmployeeReport {
        id: row.try_get("id")?,
        reporter_id: row.try_get("reporter_id")?,
        reporter: row.try_get("reporter")?,
        indicator: row.try_get("indicator")?,
        kind: IndicatorKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.indicator_kind", detail: kind.clone() })?,
        category: parse_category(&category)?,
        description: row.try_get("description")?,
        status: parse_status(&status, "employee_reports.status")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn parse_status(s: &str, column: &'static str) -> Result<ReportStatus> {
    ReportStatus::parse(s).ok_or_else(|| StoreError::Corrupt { column, detail: s.to_string() })
}

fn parse_category(s: &str) -> Result<ReportCategory> {
    ReportCategory::parse(s)
        .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.category", detail: s.to_string() })
}

/// A query with `values` bound as its first parameters.
fn with_values<'q>(sql: &'q str, values: &[String]) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    values.iter().fold(sqlx::query(sql), |q, v| q.bind(v.clone()))
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Db {
    /// Stores a report and files it under its indicator: a first report opens the indicator as
    /// `new`; a later one leaves the indicator's status as it is, except that it reopens a dismissed
    /// one (status `new`, the old note cleared, its earlier reports open again) so the SOC looks at
    /// the fresh evidence. The new report itself is `new` with no note whatever the indicator's
    /// status: what the SOC knows about an address stays with the SOC until it decides again, and
    /// that decision reaches every report of the address.
    pub async fn create_report(&self, r: &NewReport) -> Result<EmployeeReport> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let status: String = sqlx::query(
            "INSERT INTO report_indicators (indicator, indicator_kind, status, first_reported, last_reported, updated_at) \
             VALUES ($1, $2, 'new', $3, $3, $3) ON CONFLICT (indicator) DO UPDATE SET \
             last_reported = CASE WHEN excluded.last_reported > report_indicators.last_reported \
                 THEN excluded.last_reported ELSE report_indicators.last_reported END, \
             note = CASE WHEN report_indicators.status = 'dismissed' THEN NULL ELSE report_indicators.note END, \
             status = CASE WHEN report_indicators.status = 'dismissed' THEN 'new' ELSE report_indicators.status END, \
             updated_at = excluded.updated_at \
             RETURNING status",
        )
        .bind(&r.indicator)
        .bind(r.kind.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("status")?;
        // A reopened indicator's earlier reports are open again too.
        if status == ReportStatus::New.as_str() {
            sqlx::query(
                "UPDATE employee_reports SET status = 'new', note = NULL, updated_at = $1 WHERE indicator = $2 AND status = 'dismissed'",
            )
            .bind(now)
            .bind(&r.indicator)
            .execute(&mut *tx)
            .await?;
        }
        let id: i64 = sqlx::query(
            "INSERT INTO employee_reports (reporter_id, indicator, indicator_kind, category, description, status, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'new', $6, $6) RETURNING id",
        )
        .bind(r.reporter_id)
        .bind(&r.indicator)
        .bind(r.kind.as_str())
        .bind(r.category.as_str())
        .bind(&r.description)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        self.report_by_id(id).await
    }

    pub async fn report_by_id(&self, id: i64) -> Result<EmployeeReport> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report #{id}")))?;
        report_from_row(&row)
    }

    /// One person's reports, newest first.
    pub async fn reports_by(&self, reporter_id: i64, limit: i64, offset: i64) -> Result<Vec<EmployeeReport>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE r.reporter_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(reporter_id)
        .bind(limit.clamp(1, 500))
        .bind(offset.max(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(report_from_row).collect()
    }

    /// Reports a person filed since `since` (unix ms), for the per-user rate limit.
    pub async fn count_reports_since(&self, reporter_id: i64, since: i64) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM employee_reports WHERE reporter_id = $1 AND created_at >= $2")
            .bind(reporter_id)
            .bind(since)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// The SOC's decision about an indicator: moves it from `from` to `to` with a note to its
    /// reporters (`None` clears the note), and every report of it with it. `from` must still be its
    /// status: if someone changed it meanwhile the change is refused (`Conflict`, naming the status
    /// it has now), so nobody overwrites a decision they have not seen. The move itself is checked
    /// by `crate::report::validate_status_change`. Audited as `report.set_status` by `actor` (user
    /// `by_user`) in the same transaction.
    pub async fn set_indicator_status(
        &self,
        indicator: &str,
        from: ReportStatus,
        to: ReportStatus,
        note: Option<&str>,
        (by_user, actor): (i64, &str),
    ) -> Result<StatusChange> {
        let mut tx = self.begin_write().await?;
        let reports = apply_status(&mut tx, indicator, Some(from), to, note, by_user).await?;
        let detail = format!("{} → {}; {reports} report(s); note: {}", from.as_str(), to.as_str(), note.unwrap_or("—"));
        audit::audit_in(&mut tx, now_ms(), actor, AuditAction::ReportSetStatus, indicator, &detail).await?;
        tx.commit().await?;
        Ok(StatusChange { indicator: indicator.to_string(), from, status: to, reports, note: note.map(str::to_string) })
    }

    /// Sets the status of a report's indicator (and so of every report of it), whatever it was, and
    /// clears the note. Returns the report. For tools and tests; the SOC uses
    /// [`Db::set_indicator_status`].
    pub async fn set_report_status(&self, id: i64, status: ReportStatus, by_user: i64) -> Result<EmployeeReport> {
        let report = self.report_by_id(id).await?;
        let mut tx = self.begin_write().await?;
        apply_status(&mut tx, &report.indicator, None, status, None, by_user).await?;
        tx.commit().await?;
        self.report_by_id(id).await
    }

    /// Reported indicators per status.
    pub async fn report_status_counts(&self) -> Result<StatusCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM report_indicators GROUP BY status")
            .fetch_all(self.pool())
            .await?;
        let mut counts = StatusCounts::default();
        for r in &rows {
            let status: String = r.try_get("status")?;
            counts.add(parse_status(&status, "report_indicators.status")?, r.try_get("n")?);
        }
        Ok(counts)
    }

    /// One page (from 1) of the SOC's queue: the indicators whose status the filter shows, most
    /// recently reported first (read through `report_indicators_by_status`), each with its reports,
    /// categories, reporters and the alerts that involve it.
    pub async fn report_queue(&self, filter: QueueFilter, page: u32) -> Result<ReportQueue> {
        let page = page.max(1);
        let per_page = QUEUE_PER_PAGE;
        let counts = self.report_status_counts().await?;
        let statuses = filter.statuses();
        let n = statuses.len();
        let sql = format!(
            "SELECT i.indicator, i.indicator_kind, i.status, i.note, i.first_reported, i.last_reported, i.decided_at, \
             {NAME} AS decided_by FROM report_indicators i LEFT JOIN users u ON u.id = i.decided_by \
             WHERE i.status IN ({}) ORDER BY i.last_reported DESC, i.indicator LIMIT ${} OFFSET ${}",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let values: Vec<String> = statuses.iter().map(|s| s.as_str().to_string()).collect();
        let rows = with_values(&sql, &values)
            .bind(i64::from(per_page))
            .bind(i64::from(page - 1) * i64::from(per_page))
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.try_get("indicator_kind")?;
            let status: String = r.try_get("status")?;
            out.push(ReportedIndicator {
                indicator: r.try_get("indicator")?,
                kind: IndicatorKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                    column: "report_indicators.indicator_kind",
                    detail: kind.clone(),
                })?,
                status: parse_status(&status, "report_indicators.status")?,
                note: r.try_get("note")?,
                decided_by: r.try_get("decided_by")?,
                decided_at: r.try_get("decided_at")?,
                first_reported: r.try_get("first_reported")?,
                last_reported: r.try_get("last_reported")?,
                reports: 0,
                categories: Vec::new(),
                reporters: 0,
                reporter_names: Vec::new(),
                lines: Vec::new(),
                alerts: None,
            });
        }
        self.fill_report_details(&mut out).await?;
        Ok(ReportQueue { filter, rows: out, page, per_page, total: filter.count(&counts), counts })
    }

    /// Adds reports, categories, reporters and matching alerts to a page of indicators (a few small
    /// queries for the whole page, through `employee_reports_by_indicator` and the alerts' address
    /// indexes).
    async fn fill_report_details(&self, rows: &mut [ReportedIndicator]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let index: HashMap<String, usize> = rows.iter().enumerate().map(|(i, r)| (r.indicator.clone(), i)).collect();
        let keys: Vec<String> = rows.iter().map(|r| r.indicator.clone()).collect();
        let k = keys.len();
        let at = |ind: &str| index.get(ind).copied();

        let sql = format!(
            "SELECT indicator, COUNT(*) AS reports, COUNT(DISTINCT reporter_id) AS reporters FROM employee_reports \
             WHERE indicator IN ({}) GROUP BY indicator",
            placeholders(1, k)
        );
        for r in with_values(&sql, &keys).fetch_all(self.pool()).await? {
            if let Some(i) = at(&r.try_get::<String, _>("indicator")?) {
                (rows[i].reports, rows[i].reporters) = (r.try_get("reports")?, r.try_get("reporters")?);
            }
        }

        let sql = format!(
            "SELECT indicator, category, COUNT(*) AS n FROM employee_reports WHERE indicator IN ({}) \
             GROUP BY indicator, category ORDER BY n DESC, category",
            placeholders(1, k)
        );
        for r in with_values(&sql, &keys).fetch_all(self.pool()).await? {
            if let Some(i) = at(&r.try_get::<String, _>("indicator")?) {
                let category: String = r.try_get("category")?;
                rows[i].categories.push((parse_category(&category)?, r.try_get("n")?));
            }
        }

        // The first people to report each indicator, in the order they did.
        let sql = format!(
            "SELECT indicator, name FROM (SELECT r.indicator, {NAME} AS name, MIN(r.created_at) AS first_at, \
             ROW_NUMBER() OVER (PARTITION BY r.indicator ORDER BY MIN(r.created_at), r.reporter_id) AS n \
             FROM employee_reports r JOIN users u ON u.id = r.reporter_id WHERE r.indicator IN ({}) \
             GROUP BY r.indicator, r.reporter_id, u.display_name, u.username) t WHERE n <= ${} ORDER BY indicator, first_at",
            placeholders(1, k),
            k + 1
        );
        for r in with_values(&sql, &keys).bind(NAMES_PER_INDICATOR).fetch_all(self.pool()).await? {
            if let Some(i) = at(&r.try_get::<String, _>("indicator")?) {
                rows[i].reporter_names.push(r.try_get("name")?);
            }
        }

        let sql = format!(
            "SELECT id, indicator, name, category, description, created_at FROM (SELECT r.id, r.indicator, {NAME} AS name, \
             r.category, r.description, r.created_at, \
             ROW_NUMBER() OVER (PARTITION BY r.indicator ORDER BY r.created_at DESC, r.id DESC) AS n \
             FROM employee_reports r JOIN users u ON u.id = r.reporter_id WHERE r.indicator IN ({})) t \
             WHERE n <= ${} ORDER BY indicator, created_at DESC, id DESC",
            placeholders(1, k),
            k + 1
        );
        for r in with_values(&sql, &keys).bind(LINES_PER_INDICATOR).fetch_all(self.pool()).await? {
            if let Some(i) = at(&r.try_get::<String, _>("indicator")?) {
                let category: String = r.try_get("category")?;
                rows[i].lines.push(ReportLine {
                    id: r.try_get("id")?,
                    reporter: r.try_get("name")?,
                    category: parse_category(&category)?,
                    description: r.try_get("description")?,
                    created_at: r.try_get("created_at")?,
                });
            }
        }

        let ips: Vec<String> =
            rows.iter().filter(|r| r.kind == IndicatorKind::Ip).map(|r| r.indicator.clone()).collect();
        for (ip, m) in self.alerts_involving(&ips).await? {
            if let Some(i) = at(&ip) {
                rows[i].alerts = Some(m);
            }
        }
        for r in rows.iter_mut().filter(|r| r.kind == IndicatorKind::Ip && r.alerts.is_none()) {
            r.alerts = Some(AlertMatches::default());
        }
        Ok(())
    }

    /// Alerts per address among `ips`: as the source, and as the target of an alert from elsewhere
    /// (through `alerts_by_source` and `alerts_by_destination`). Addresses without alerts are absent.
    pub async fn alerts_involving(&self, ips: &[String]) -> Result<HashMap<String, AlertMatches>> {
        let mut out: HashMap<String, AlertMatches> = HashMap::new();
        for chunk in ips.chunks(500) {
            let list = placeholders(1, chunk.len());
            for (column, sql) in [
                (
                    "src_ip",
                    format!("SELECT src_ip AS ip, COUNT(*) AS n FROM alerts WHERE src_ip IN ({list}) GROUP BY src_ip"),
                ),
                (
                    "dst_ip",
                    format!(
                        "SELECT dst_ip AS ip, COUNT(*) AS n FROM alerts WHERE dst_ip IN ({list}) \
                         AND (src_ip IS NULL OR src_ip <> dst_ip) GROUP BY dst_ip"
                    ),
                ),
            ] {
                for r in with_values(&sql, chunk).fetch_all(self.pool()).await? {
                    let n: i64 = r.try_get("n")?;
                    let m = out.entry(r.try_get("ip")?).or_default();
                    if column == "src_ip" {
                        m.from = n;
                    } else {
                        m.to = n;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Reported IP addresses that are not dismissed, one entry per address (for enrichment).
    pub async fn intel_index(&self) -> Result<Vec<IntelRef>> {
        let rows = sqlx::query(
            "SELECT r.id, r.indicator, r.category, i.status FROM employee_reports r \
             JOIN report_indicators i ON i.indicator = r.indicator \
             WHERE r.indicator_kind = 'ip' AND i.status <> 'dismissed' ORDER BY r.indicator, r.created_at DESC, r.id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<IntelRef> = Vec::new();
        for r in &rows {
            let indicator: String = r.try_get("indicator")?;
            let category: String = r.try_get("category")?;
            let status: String = r.try_get("status")?;
            let category = parse_category(&category)?;
            let status = parse_status(&status, "report_indicators.status")?;
            let id: i64 = r.try_get("id")?;
            match out.last_mut() {
                // Rows are newest first within an address; the status is the address's.
                Some(last) if last.indicator == indicator => last.reports += 1,
                _ => out.push(IntelRef { indicator, report_id: id, category, status, reports: 1 }),
            }
        }
        Ok(out)
    }
}

/// Moves an indicator (and every report of it) to `to`, if its status is still `expected` (any
/// status when `None`). Returns the number of its reports.
async fn apply_status(
    tx: &mut Transaction<'_, Any>,
    indicator: &str,
    expected: Option<ReportStatus>,
    to: ReportStatus,
    note: Option<&str>,
    by_user: i64,
) -> Result<i64> {
    let now = now_ms();
    let changed = sqlx::query(
        "UPDATE report_indicators SET status = $1, note = $2, decided_by = $3, decided_at = $4, updated_at = $4 \
         WHERE indicator = $5 AND ($6 = '' OR status = $6)",
    )
    .bind(to.as_str())
    .bind(note)
    .bind(by_user)
    .bind(now)
    .bind(indicator)
    .bind(expected.map_or("", |s| s.as_str()))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let current = sqlx::query("SELECT status FROM report_indicators WHERE indicator = $1")
            .bind(indicator)
            .fetch_optional(&mut **tx)
            .await?;
        return Err(match current {
            None => StoreError::NotFound(format!("reported address {indicator}")),
            Some(row) => StoreError::Conflict(format!(
                "{indicator} is {} now: someone changed it while you were looking. Reload the list and decide again.",
                row.try_get::<String, _>("status")?
            )),
        });
    }
    let reports = sqlx::query(
        "UPDATE employee_reports SET status = $1, note = $2, handled_by = $3, updated_at = $4 WHERE indicator = $5",
    )
    .bind(to.as_str())
    .bind(note)
    .bind(by_user)
    .bind(now)
    .bind(indicator)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    super::intel::sync_report_indicator(tx, indicator, to == ReportStatus::Confirmed, now).await?;
    Ok(reports as i64)
}
