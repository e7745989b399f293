//! The `employee_reports` table.

use super::{now_ms, Db, Result, StoreError};
use crate::report::{EmployeeReport, IndicatorKind, ReportCategory, ReportStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str = "r.id, r.reporter_id, u.username AS reporter, r.indicator, r.indicator_kind, r.category, \
                       r.description, r.status, r.created_at, r.updated_at";

/// A report to store (fields already validated and normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub reporter_id: i64,
    pub indicator: String,
    pub kind: IndicatorKind,
    pub category: ReportCategory,
    pub description: String,
}

/// The reports that count as intel for one address: the most relevant one (confirmed first, then the
/// newest) and how many there are.
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
        category: ReportCategory::parse(&category)
            .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.category", detail: category.clone() })?,
        description: row.try_get("description")?,
        status: ReportStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.status", detail: status.clone() })?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Db {
    pub async fn create_report(&self, r: &NewReport) -> Result<EmployeeReport> {
        let now = now_ms();
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
        .fetch_one(self.pool())
        .await?
        .try_get("id")?;
        self.report_by_id(id).await
    }

    pub async fn report_by_id(&self, id: i64) -> Result<EmployeeReport> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM employee_reports r JOIN users u ON u.id = r.reporter_id WHERE r.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("report #{id}")))?;
        report_from_row(&row)
    }

    /// One person's reports, newest first.
    pub async fn reports_by(&self, reporter_id: i64, limit: i64, offset: i64) -> Result<Vec<EmployeeReport>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM employee_reports r JOIN users u ON u.id = r.reporter_id \
             WHERE r.reporter_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
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

    /// Sets a report's status (the SOC's decision). Returns the updated report.
    pub async fn set_report_status(&self, id: i64, status: ReportStatus, by_user: i64) -> Result<EmployeeReport> {
        let n = sqlx::query("UPDATE employee_reports SET status = $1, handled_by = $2, updated_at = $3 WHERE id = $4")
            .bind(status.as_str())
            .bind(by_user)
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("report #{id}")));
        }
        self.report_by_id(id).await
    }

    /// Reported IP addresses that are not dismissed, one entry per address (for enrichment).
    pub async fn intel_index(&self) -> Result<Vec<IntelRef>> {
        let rows = sqlx::query(
            "SELECT id, indicator, category, status FROM employee_reports \
             WHERE indicator_kind = 'ip' AND status <> 'dismissed' ORDER BY indicator, created_at DESC, id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<IntelRef> = Vec::new();
        for r in &rows {
            let indicator: String = r.try_get("indicator")?;
            let category: String = r.try_get("category")?;
            let status: String = r.try_get("status")?;
            let category = ReportCategory::parse(&category)
                .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.category", detail: category.clone() })?;
            let status = ReportStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt { column: "employee_reports.status", detail: status.clone() })?;
            let id: i64 = r.try_get("id")?;
            match out.last_mut() {
                Some(last) if last.indicator == indicator => {
                    last.reports += 1;
                    // A confirmed report outranks open ones (rows are newest first within an address).
                    if status == ReportStatus::Confirmed && last.status != ReportStatus::Confirmed {
                        (last.report_id, last.category, last.status) = (id, category, status);
                    }
                }
                _ => out.push(IntelRef { indicator, report_id: id, category, status, reports: 1 }),
            }
        }
        Ok(out)
    }
}
