//! The `suppressions` table: rules, their expiry, and the detections they absorbed.

use super::{audit, now_ms, Db, Result, StoreError};
use crate::audit::AuditAction;
use crate::suppression::{NewSuppression, Suppression};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

const COLUMNS: &str = "id, src_ip, threat, asset_ip, reason, created_by, created_at, expires_at, hits, last_hit";

fn from_row(r: &AnyRow) -> Result<Suppression> {
    Ok(Suppression {
        id: r.try_get("id")?,
        src_ip: r.try_get("src_ip")?,
        threat: r.try_get("threat")?,
        asset_ip: r.try_get("asset_ip")?,
        reason: r.try_get("reason")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        hits: r.try_get("hits")?,
        last_hit: r.try_get("last_hit")?,
    })
}

impl Db {
    /// Stores a rule and its audit row (`suppression.create` by `created_by`) in one transaction.
    pub async fn create_suppression(&self, rule: &NewSuppression, created_by: &str) -> Result<Suppression> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let expires_at = rule.expires_in_hours.map(|h| now + i64::from(h) * 3_600_000);
        let row = sqlx::query(&format!(
            "INSERT INTO suppressions (src_ip, threat, asset_ip, reason, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        ))
        .bind(&rule.src_ip)
        .bind(&rule.threat)
        .bind(&rule.asset_ip)
        .bind(&rule.reason)
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let saved = from_row(&row)?;
        audit_rule(&mut tx, now, created_by, AuditAction::SuppressionCreate, &saved).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Every rule, active ones first, newest first.
    pub async fn list_suppressions(&self) -> Result<Vec<Suppression>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM suppressions ORDER BY CASE WHEN expires_at IS NULL OR expires_at > $1 THEN 0 ELSE 1 END, created_at DESC, id DESC LIMIT 1000"
        ))
        .bind(now_ms())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The rules in force at `now` (for the pipeline).
    pub async fn active_suppressions(&self, now: i64) -> Result<Vec<Suppression>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM suppressions WHERE expires_at IS NULL OR expires_at > $1 ORDER BY id"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Ends a rule now (it stays listed with its hits). A rule that already expired keeps the time
    /// it expired at.
    /// Ends a rule now (one already ended keeps its time), audited as `suppression.expire`.
    pub async fn expire_suppression(&self, id: i64, actor: &str) -> Result<Suppression> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE suppressions SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at <= $1 THEN expires_at ELSE $1 END \
             WHERE id = $2 RETURNING {COLUMNS}"
        ))
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("suppression rule #{id}")))?;
        let rule = from_row(&row)?;
        audit_rule(&mut tx, now, actor, AuditAction::SuppressionExpire, &rule).await?;
        tx.commit().await?;
        Ok(rule)
    }

    /// Deletes a rule, audited as `suppression.delete` with what it matched.
    pub async fn delete_suppression(&self, id: i64, actor: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!("DELETE FROM suppressions WHERE id = $1 RETURNING {COLUMNS}"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("suppression rule #{id}")))?;
        audit_rule(&mut tx, now_ms(), actor, AuditAction::SuppressionDelete, &from_row(&row)?).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a batch's suppressed detections to their rules (inside the batch's transaction).
    pub(crate) async fn count_suppressed(tx: &mut Transaction<'_, Any>, hits: &[(i64, i64, i64)]) -> Result<()> {
        for &(id, count, last) in hits {
            sqlx::query(
                "UPDATE suppressions SET hits = hits + $1, \
                 last_hit = CASE WHEN last_hit IS NULL OR last_hit < $2 THEN $2 ELSE last_hit END WHERE id = $3",
            )
            .bind(count)
            .bind(last)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// The audit row of a change to `rule`: its number, what it matches and why.
async fn audit_rule(
    tx: &mut Transaction<'_, Any>,
    now: i64,
    actor: &str,
    action: AuditAction,
    rule: &Suppression,
) -> Result<()> {
    audit::audit_in(tx, now, actor, action, &format!("#{}", rule.id), &format!("{}; {}", rule.describe(), rule.reason))
        .await
}
