//! Response actions (`migrations/*/20261206000070_response_actions.sql`). Each change is one
//! transaction with its audit row and, when the action concerns an incident, its timeline entry (and
//! the alert's history entry when it concerns an alert), so the record of what was done is complete
//! or absent, never half written.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{audit, Db, Result, StoreError};
use crate::audit::AuditAction;
use crate::response::feeds::FeedEntry;
use crate::response::{ActionKind, ActionStatus, NewAction, ResponseAction, ENDED_SHOWN};

const COLUMNS: &str = "id, kind, target, reason, incident_id, alert_id, requested_by, requested_at, status, \
     decided_by, decided_at, expires_at, lifted_by, lifted_at, end_note";

/// In force at `$1`.
const IN_FORCE: &str = "status = 'active' AND (expires_at IS NULL OR expires_at > $1)";

fn action_of(r: &AnyRow) -> Result<ResponseAction> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    Ok(ResponseAction {
        id: r.try_get("id")?,
        kind: ActionKind::parse(&kind).ok_or(StoreError::Corrupt { column: "response_actions.kind", detail: kind })?,
        target: r.try_get("target")?,
        reason: r.try_get("reason")?,
        incident_id: r.try_get("incident_id")?,
        alert_id: r.try_get("alert_id")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        status: ActionStatus::parse(&status)
            .ok_or(StoreError::Corrupt { column: "response_actions.status", detail: status })?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        expires_at: r.try_get("expires_at")?,
        lifted_by: r.try_get("lifted_by")?,
        lifted_at: r.try_get("lifted_at")?,
        end_note: r.try_get("end_note")?,
    })
}

/// "Block 203.0.113.7 for 24 h (action #3): C2 server" — the words of the timeline and history.
fn words(a: &ResponseAction, now: i64) -> String {
    let span = match a.expires_at {
        Some(t) if a.kind != ActionKind::Manual => format!(" for {}", hours((t - now).max(0))),
        None if a.kind != ActionKind::Manual && a.status == ActionStatus::Active => " until lifted".to_string(),
        _ => String::new(),
    };
    format!("{}{span} (action #{}): {}", a.describe(), a.id, a.reason)
}

fn hours(ms: i64) -> String {
    let h = (ms + 1_800_000) / 3_600_000;
    if h == 1 {
        "1 hour".into()
    } else {
        format!("{h} hours")
    }
}

async fn load(tx: &mut Transaction<'_, Any>, id: i64) -> Result<ResponseAction> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM response_actions WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("response action #{id}")))?;
    action_of(&row)
}

/// The incident timeline and the alert history get the same words.
async fn record(
    tx: &mut Transaction<'_, Any>,
    a: &ResponseAction,
    actor: &str,
    (kind, action): (&str, AuditAction),
    detail: &str,
    now: i64,
) -> Result<()> {
    if let Some(incident) = a.incident_id {
        sqlx::query("INSERT INTO incident_events (incident_id, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(incident)
            .bind(now)
            .bind(actor)
            .bind(kind)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(alert) = a.alert_id {
        sqlx::query("INSERT INTO alert_events (alert_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(alert)
            .bind(now)
            .bind(actor)
            .bind(kind)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
    }
    audit::audit_in(tx, now, actor, action, &format!("#{}", a.id), detail).await
}

impl Db {
    /// Records a requested action: in force at once, or pending when `needs_approval`. An action
    /// from an alert that belongs to an incident belongs to that incident too.
    pub async fn request_action(
        &self,
        actor: &str,
        new: &NewAction,
        needs_approval: bool,
        now: i64,
    ) -> Result<ResponseAction> {
        let mut tx = self.begin_write().await?;
        let mut incident_id = new.incident_id;
        if let Some(alert) = new.alert_id {
            let row = sqlx::query("SELECT incident_id FROM alerts WHERE id = $1")
                .bind(alert)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("alert #{alert}")))?;
            incident_id = incident_id.or(row.try_get("incident_id")?);
        }
        if let Some(id) = incident_id {
            let row = sqlx::query("SELECT merged_into FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("incident #{id}")))?;
            if let Some(into) = row.try_get::<Option<i64>, _>("merged_into")? {
                return Err(StoreError::Conflict(format!(
                    "Incident #{id} was merged into incident #{into}; act from that one."
                )));
            }
        }
        let duration = new.expires_in_hours.map(|h| i64::from(h) * 3_600_000);
        let status = if needs_approval { ActionStatus::Pending } else { ActionStatus::Active };
        let row = sqlx::query(&format!(
            "INSERT INTO response_actions (kind, target, reason, incident_id, alert_id, requested_by, requested_at, \
             status, duration_ms, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        ))
        .bind(new.kind.as_str())
        .bind(&new.target)
        .bind(&new.reason)
        .bind(incident_id)
        .bind(new.alert_id)
        .bind(actor)
        .bind(now)
        .bind(status.as_str())
        .bind(duration)
        .bind(if needs_approval { None } else { duration.map(|d| now + d) })
        .fetch_one(&mut *tx)
        .await?;
        let action = action_of(&row)?;
        let mut detail = words(&action, now);
        if needs_approval {
            detail.push_str(" — waiting for a second person's approval");
        }
        record(&mut tx, &action, actor, ("action", AuditAction::ResponseAction), &detail, now).await?;
        tx.commit().await?;
        tracing::info!(action = action.id, kind = action.kind.as_str(), target = %action.target, actor, pending = needs_approval, "response action requested");
        Ok(action)
    }

    /// Puts a pending action in force; its duration counts from now. The requester cannot approve
    /// their own request.
    pub async fn approve_action(&self, id: i64, actor: &str, now: i64) -> Result<ResponseAction> {
        let mut tx = self.begin_write().await?;
        let a = load(&mut tx, id).await?;
        if a.status != ActionStatus::Pending {
            return Err(StoreError::Conflict(format!(
                "Action #{id} is {}; only a pending action can be approved.",
                a.state(now).label()
            )));
        }
        if a.requested_by == actor {
            return Err(StoreError::Conflict(format!(
                "Action #{id} needs a second person: someone other than {actor} approves it."
            )));
        }
        let row = sqlx::query(&format!(
            "UPDATE response_actions SET status = 'active', decided_by = $1, decided_at = $2, \
             expires_at = CASE WHEN duration_ms IS NULL THEN NULL ELSE $2 + duration_ms END \
             WHERE id = $3 AND status = 'pending' RETURNING {COLUMNS}"
        ))
        .bind(actor)
        .bind(now)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let a = action_of(&row)?;
        record(&mut tx, &a, actor, ("action_approved", AuditAction::ResponseActionApproved), &words(&a, now), now)
            .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Turns down (or withdraws) a pending action, with why.
    pub async fn reject_action(&self, id: i64, actor: &str, note: &str, now: i64) -> Result<ResponseAction> {
        self.end_action(id, actor, note, now, ActionStatus::Pending, ActionStatus::Rejected).await
    }

    /// Ends an action in force before its expiry, with why. The feeds drop it at their next poll.
    pub async fn lift_action(&self, id: i64, actor: &str, note: &str, now: i64) -> Result<ResponseAction> {
        self.end_action(id, actor, note, now, ActionStatus::Active, ActionStatus::Lifted).await
    }

    async fn end_action(
        &self,
        id: i64,
        actor: &str,
        note: &str,
        now: i64,
        from: ActionStatus,
        to: ActionStatus,
    ) -> Result<ResponseAction> {
        let mut tx = self.begin_write().await?;
        let a = load(&mut tx, id).await?;
        let state = a.state(now);
        let applies = a.status == from && state != crate::response::ActionState::Expired;
        if !applies {
            let what = if to == ActionStatus::Lifted { "lifted" } else { "rejected" };
            return Err(StoreError::Conflict(format!("Action #{id} is {}; it cannot be {what}.", state.label())));
        }
        let row = sqlx::query(&format!(
            "UPDATE response_actions SET status = $1, lifted_by = $2, lifted_at = $3, end_note = $4 \
             WHERE id = $5 RETURNING {COLUMNS}"
        ))
        .bind(to.as_str())
        .bind(actor)
        .bind(now)
        .bind(note)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let a = action_of(&row)?;
        let kind = if to == ActionStatus::Lifted {
            ("action_lifted", AuditAction::ResponseActionLifted)
        } else {
            ("action_rejected", AuditAction::ResponseActionRejected)
        };
        let detail = if note.is_empty() {
            format!("{} (action #{id})", a.describe())
        } else {
            format!("{} (action #{id}): {note}", a.describe())
        };
        record(&mut tx, &a, actor, kind, &detail, now).await?;
        tx.commit().await?;
        Ok(a)
    }

    pub async fn response_action(&self, id: i64) -> Result<ResponseAction> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM response_actions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("response action #{id}")))?;
        action_of(&row)
    }

    /// Pending, in force, and the newest [`ENDED_SHOWN`] that ended (expired, lifted, rejected), at
    /// `now`.
    pub async fn response_actions(
        &self,
        now: i64,
    ) -> Result<(Vec<ResponseAction>, Vec<ResponseAction>, Vec<ResponseAction>)> {
        let fetch = |sql: String| async move {
            sqlx::query(&sql).bind(now).fetch_all(self.pool()).await?.iter().map(action_of).collect::<Result<Vec<_>>>()
        };
        let pending = fetch(format!(
            "SELECT {COLUMNS} FROM response_actions WHERE status = 'pending' AND $1 = $1 ORDER BY requested_at, id"
        ))
        .await?;
        let active = fetch(format!(
            "SELECT {COLUMNS} FROM response_actions WHERE {IN_FORCE} ORDER BY requested_at DESC, id DESC"
        ))
        .await?;
        let ended = fetch(format!(
            "SELECT {COLUMNS} FROM response_actions WHERE status IN ('lifted', 'rejected') \
             OR (status = 'active' AND expires_at <= $1) \
             ORDER BY COALESCE(lifted_at, expires_at) DESC, id DESC LIMIT {ENDED_SHOWN}"
        ))
        .await?;
        Ok((pending, active, ended))
    }

    /// Every action of an incident (or of an alert), oldest first.
    pub async fn actions_for(&self, incident: Option<i64>, alert: Option<i64>) -> Result<Vec<ResponseAction>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM response_actions WHERE ($1 IS NOT NULL AND incident_id = $1) \
             OR ($2 IS NOT NULL AND alert_id = $2) ORDER BY requested_at, id"
        ))
        .bind(incident)
        .bind(alert)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(action_of).collect()
    }

    /// Blocks and isolations in force at `now`, oldest first: what the feeds carry.
    pub async fn feed_entries(&self, now: i64) -> Result<Vec<FeedEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT id, kind, target FROM response_actions WHERE {IN_FORCE} AND kind IN ('block', 'isolate') ORDER BY id"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(FeedEntry {
                    id: r.try_get("id")?,
                    kind: ActionKind::parse(&kind)
                        .ok_or(StoreError::Corrupt { column: "response_actions.kind", detail: kind })?,
                    target: r.try_get("target")?,
                })
            })
            .collect()
    }
}
