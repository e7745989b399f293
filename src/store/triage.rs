//! Triage actions on alerts and their history (`alert_events`).

use super::{now_ms, Db, Result, StoreError};
use crate::alert::AlertStatus;
use crate::kpi::rollup::{ResponseDeltas, TriageStep};
use crate::triage::{AlertEvent, Triage, TriageOutcome};
use sqlx::{Any, Row, Transaction};

impl Db {
    /// Applies `action` by `actor` to each alert of `ids`, in one transaction. An alert the action
    /// does not apply to (or that does not exist) is skipped with the reason; the others change
    /// status and get a history entry.
    pub async fn triage(&self, ids: &[i64], actor: &str, action: &Triage) -> Result<Vec<TriageOutcome>> {
        self.triage_at(ids, actor, action, now_ms()).await
    }

    /// [`Db::triage`] at a given time, for tests and fixtures with hand-computed times. The KPI
    /// response rollup (`crate::kpi::rollup`) changes in the same transaction.
    pub async fn triage_at(&self, ids: &[i64], actor: &str, action: &Triage, now: i64) -> Result<Vec<TriageOutcome>> {
        let mut tx = self.begin_write().await?;
        let out = triage_in(&mut tx, ids, actor, action, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// An alert's history, oldest first (reads `alert_events_by_alert`).
    pub async fn alert_events(&self, alert_id: i64) -> Result<Vec<AlertEvent>> {
        let rows = sqlx::query(
            "SELECT id, alert_id, at, actor, action, detail FROM alert_events WHERE alert_id = $1 ORDER BY at, id",
        )
        .bind(alert_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertEvent {
                    id: r.try_get("id")?,
                    alert_id: r.try_get("alert_id")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// [`Db::triage_at`] inside `tx`, for operations that triage alerts as part of a larger change
/// (closing an incident closes its open alerts).
pub(crate) async fn triage_in(
    tx: &mut Transaction<'_, Any>,
    ids: &[i64],
    actor: &str,
    action: &Triage,
    now: i64,
) -> Result<Vec<TriageOutcome>> {
    let mut out = Vec::with_capacity(ids.len());
    let mut response = ResponseDeltas::default();
    for &id in ids {
        let Some(row) =
            sqlx::query("SELECT status, created_at, acknowledged_at, resolved_at FROM alerts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
        else {
            out.push(TriageOutcome {
                alert_id: id,
                status: None,
                skipped: Some(format!("alert #{id} does not exist")),
            });
            continue;
        };
        let status: String = row.try_get("status")?;
        let current = AlertStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt { column: "alerts.status", detail: status.clone() })?;
        let next = match action.next_status(current) {
            Ok(next) => next,
            Err(why) => {
                out.push(TriageOutcome { alert_id: id, status: None, skipped: Some(why) });
                continue;
            }
        };
        let assignee = match action {
            Triage::Assign { to } => Some(to.as_str()),
            _ => None,
        };
        response.step(&TriageStep {
            created_at: row.try_get("created_at")?,
            acknowledged_at: row.try_get("acknowledged_at")?,
            resolved_at: row.try_get("resolved_at")?,
            from: current,
            to: next,
            at: now,
        });
        let closing = i64::from(current.is_open() && !next.is_open());
        let reopening = i64::from(!current.is_open() && next.is_open());
        let handled = i64::from(next != AlertStatus::New);
        sqlx::query(
            "UPDATE alerts SET status = $1, assignee = COALESCE($2, assignee), \
             acknowledged_at = CASE WHEN acknowledged_at IS NULL AND $3 = 1 THEN $4 ELSE acknowledged_at END, \
             resolved_at = CASE WHEN $5 = 1 THEN $4 WHEN $6 = 1 THEN NULL ELSE resolved_at END \
             WHERE id = $7",
        )
        .bind(next.as_str())
        .bind(assignee)
        .bind(handled)
        .bind(now)
        .bind(closing)
        .bind(reopening)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        sqlx::query("INSERT INTO alert_events (alert_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(now)
            .bind(actor)
            .bind(action.name())
            .bind(action.detail())
            .execute(&mut **tx)
            .await?;
        out.push(TriageOutcome { alert_id: id, status: Some(next), skipped: None });
    }
    super::kpi::add_response(tx, response).await?;
    Ok(out)
}
