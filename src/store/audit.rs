//! The audit trail: who did what, to what, when. Written for every administrative action.

use super::{now_ms, Db, Result};
pub use crate::audit::{AuditAction, AuditEntry};
use sqlx::{Any, Row, Transaction};

/// Writes an audit row inside the transaction of the change it records, so both commit or neither.
pub(crate) async fn audit_in(
    tx: &mut Transaction<'_, Any>,
    at: i64,
    actor: &str,
    action: AuditAction,
    target: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(at)
        .bind(actor)
        .bind(action.as_str())
        .bind(target)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Db {
    /// Records an action whose effect is not a write of its own in this database (a model file
    /// switched, a replay started, a job that ran); a database change records its row with
    /// [`audit_in`] in the change's transaction instead.
    pub async fn audit(&self, actor: &str, action: AuditAction, target: &str, detail: &str) -> Result<()> {
        sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(now_ms())
            .bind(actor)
            .bind(action.as_str())
            .bind(target)
            .bind(detail)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The newest entries first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1")
            .bind(limit.clamp(1, 500))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
