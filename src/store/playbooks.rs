//! The `playbooks` table (seeded by a migration).

use super::{audit, now_ms, Db, Result, StoreError};
use crate::audit::AuditAction;
use crate::playbook::Playbook;
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str = "p.threat, p.title, p.summary, p.steps, p.updated_at, u.username AS updated_by";

fn playbook_from_row(row: &AnyRow) -> Result<Playbook> {
    let steps: String = row.try_get("steps")?;
    Ok(Playbook {
        threat: row.try_get("threat")?,
        title: row.try_get("title")?,
        summary: row.try_get("summary")?,
        steps: serde_json::from_str(&steps)
            .map_err(|e| StoreError::Corrupt { column: "playbooks.steps", detail: e.to_string() })?,
        updated_at: row.try_get("updated_at")?,
        updated_by: row.try_get("updated_by")?,
    })
}

impl Db {
    pub async fn list_playbooks(&self) -> Result<Vec<Playbook>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM playbooks p LEFT JOIN users u ON u.id = p.updated_by ORDER BY p.title"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(playbook_from_row).collect()
    }

    pub async fn playbook(&self, threat: &str) -> Result<Playbook> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM playbooks p LEFT JOIN users u ON u.id = p.updated_by WHERE p.threat = $1"
        ))
        .bind(threat)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("playbook for `{threat}`")))?;
        playbook_from_row(&row)
    }

    /// Replaces a playbook's text and steps (validated by the caller), audited as `playbook.update` by
    /// `actor` (user `by_user`) in the same transaction.
    pub async fn update_playbook(
        &self,
        threat: &str,
        title: &str,
        summary: &str,
        steps: &[String],
        (by_user, actor): (i64, &str),
    ) -> Result<Playbook> {
        let count = steps.len();
        let steps = serde_json::to_string(steps).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE playbooks SET title = $1, summary = $2, steps = $3, updated_at = $4, updated_by = $5 WHERE threat = $6")
            .bind(title)
            .bind(summary)
            .bind(steps)
            .bind(now_ms())
            .bind(by_user)
            .bind(threat)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("playbook for `{threat}`")));
        }
        audit::audit_in(&mut tx, now_ms(), actor, AuditAction::PlaybookUpdate, threat, &format!("steps={count}"))
            .await?;
        tx.commit().await?;
        self.playbook(threat).await
    }
}
