//! Notification channels, rules and the durable delivery queue
//! (`migrations/*/20261206000080_notifications.sql`).
//!
//! Deliveries are queued by [`enqueue_in`] inside the transaction of the event they announce, so an
//! alert that is stored is announced and one that is rolled back is not. Each channel takes at most
//! `max_per_minute` deliveries; beyond that they are `held`, and [`Db::digest_held`] sums a
//! channel's held deliveries up in one digest once the oldest has waited the hold time. A sender
//! claims a due delivery with a lease ([`Db::claim_due`]) so two workers never send it twice.

use crate::audit::AuditAction;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

use super::{audit, get_bool, Db, Result, StoreError};
use crate::alert::Severity;
use crate::asset::Criticality;
use crate::notify::message::{self, Message};
use crate::notify::{
    Channel, ChannelKind, Delivery, DeliveryStatus, EventKind, NewChannel, NewRule, NotifyOverview, Rule,
    RECENT_DELIVERIES,
};

/// An event that may be announced: what the rules match on, and its message.
pub(crate) struct Announce {
    pub kind: EventKind,
    pub severity: Severity,
    /// Alerts only.
    pub threat: Option<String>,
    /// Alerts only: the asset whose criticality a rule may ask for.
    pub asset_id: Option<i64>,
    pub message: Message,
}

/// A delivery with what its sender needs of the channel.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub kind: ChannelKind,
    pub target: String,
    pub secret: String,
    pub channel: String,
}

const DELIVERY_COLUMNS: &str = "d.id, d.channel_id, d.rule_id, d.event, d.subject, d.payload, d.status, d.attempts, \
     d.next_attempt_at, d.last_error, d.digest_id, d.created_at, d.sent_at";

fn delivery_of(r: &AnyRow) -> Result<Delivery> {
    let status: String = r.try_get("status")?;
    Ok(Delivery {
        id: r.try_get("id")?,
        channel_id: r.try_get("channel_id")?,
        rule_id: r.try_get("rule_id")?,
        event: r.try_get("event")?,
        subject: r.try_get("subject")?,
        payload: r.try_get("payload")?,
        status: DeliveryStatus::parse(&status)
            .ok_or(StoreError::Corrupt { column: "notify_deliveries.status", detail: status })?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        digest_id: r.try_get("digest_id")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}

fn rule_of(r: &AnyRow) -> Result<Rule> {
    let event: String = r.try_get("event")?;
    let severity: String = r.try_get("min_severity")?;
    let threats: String = r.try_get("threats")?;
    let criticality: Option<String> = r.try_get("min_criticality")?;
    Ok(Rule {
        id: r.try_get("id")?,
        channel_id: r.try_get("channel_id")?,
        event: EventKind::parse(&event).ok_or(StoreError::Corrupt { column: "notify_rules.event", detail: event })?,
        min_severity: Severity::parse(&severity)
            .ok_or(StoreError::Corrupt { column: "notify_rules.min_severity", detail: severity })?,
        threats: threats.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        min_criticality: criticality.as_deref().and_then(Criticality::parse),
        asset_ip: r.try_get("asset_ip")?,
        enabled: get_bool(r, "enabled")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Queues the deliveries `events` call for under the enabled rules of enabled channels, one per
/// channel and event, held beyond each channel's limit a minute. Returns how many were queued or
/// held.
pub(crate) async fn enqueue_in(tx: &mut Transaction<'_, Any>, events: &[Announce], now: i64) -> Result<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT r.id, r.channel_id, r.event, r.min_severity, r.threats, r.min_criticality, r.asset_ip, r.enabled, \
         r.created_by, r.created_at, c.max_per_minute FROM notify_rules r JOIN notify_channels c ON c.id = r.channel_id \
         WHERE r.enabled = 1 AND c.enabled = 1 ORDER BY r.id",
    )
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut rules: Vec<(Rule, i64)> = Vec::with_capacity(rows.len());
    for r in &rows {
        rules.push((rule_of(r)?, r.try_get("max_per_minute")?));
    }
    let mut sent_last_minute: HashMap<i64, i64> = HashMap::new();
    let mut assets: HashMap<i64, Option<(String, Criticality)>> = HashMap::new();
    let mut queued = 0;
    for e in events {
        // The asset's address and criticality, for the rules that ask and for the message.
        let asset = match e.asset_id.filter(|_| e.kind == EventKind::Alert) {
            Some(id) => match assets.get(&id) {
                Some(a) => a.clone(),
                None => {
                    let row = sqlx::query("SELECT ip, criticality FROM assets WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut **tx)
                        .await?;
                    let a = match row {
                        Some(r) => {
                            let (ip, c): (String, String) = (r.try_get("ip")?, r.try_get("criticality")?);
                            Criticality::parse(&c).map(|c| (ip, c))
                        }
                        None => None,
                    };
                    assets.insert(id, a.clone());
                    a
                }
            },
            None => None,
        };
        let mut msg = e.message.clone();
        if let (Some((_, c)), Some(alert)) = (&asset, msg.payload.get_mut("alert")) {
            alert["asset_criticality"] = serde_json::Value::String(c.as_str().to_string());
        }
        let mut channels_done: Vec<i64> = Vec::new();
        for (rule, limit) in &rules {
            if channels_done.contains(&rule.channel_id) {
                continue;
            }
            let matched = match e.kind {
                EventKind::Alert => rule.matches_alert(
                    e.severity,
                    e.threat.as_deref().unwrap_or_default(),
                    asset.as_ref().map(|(ip, c)| (ip.as_str(), *c)),
                ),
                kind => rule.matches_incident(kind, e.severity),
            };
            if !matched {
                continue;
            }
            channels_done.push(rule.channel_id);
            let count = match sent_last_minute.get(&rule.channel_id) {
                Some(n) => *n,
                None => sqlx::query(
                    "SELECT COUNT(*) AS n FROM notify_deliveries WHERE channel_id = $1 AND created_at > $2 \
                     AND status IN ('queued', 'sent', 'failed') AND event <> 'digest'",
                )
                .bind(rule.channel_id)
                .bind(now - 60_000)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?,
            };
            let status = if count < *limit { DeliveryStatus::Queued } else { DeliveryStatus::Held };
            sent_last_minute.insert(rule.channel_id, count + 1);
            insert(tx, rule.channel_id, Some(rule.id), &msg, status, now).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

async fn insert(
    tx: &mut Transaction<'_, Any>,
    channel: i64,
    rule: Option<i64>,
    m: &Message,
    status: DeliveryStatus,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO notify_deliveries (channel_id, rule_id, event, subject, payload, status, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(channel)
    .bind(rule)
    .bind(m.event)
    .bind(&m.subject)
    .bind(m.payload.to_string())
    .bind(status.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

impl Db {
    /// Channels, rules and the newest deliveries, for the admin page.
    pub async fn notify_overview(&self, smtp: bool) -> Result<NotifyOverview> {
        let channels = sqlx::query(
            "SELECT id, name, kind, target, secret, max_per_minute, enabled, created_by, created_at FROM notify_channels ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            let secret: String = r.try_get("secret")?;
            Ok(Channel {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                kind: ChannelKind::parse(&kind).ok_or(StoreError::Corrupt { column: "notify_channels.kind", detail: kind })?,
                target: r.try_get("target")?,
                signed: !secret.is_empty(),
                max_per_minute: r.try_get("max_per_minute")?,
                enabled: get_bool(r, "enabled")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let rules = sqlx::query(
            "SELECT id, channel_id, event, min_severity, threats, min_criticality, asset_ip, enabled, created_by, \
             created_at FROM notify_rules ORDER BY channel_id, id",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(rule_of)
        .collect::<Result<Vec<_>>>()?;
        let deliveries = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM notify_deliveries d ORDER BY d.id DESC LIMIT {RECENT_DELIVERIES}"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(delivery_of)
        .collect::<Result<Vec<_>>>()?;
        Ok(NotifyOverview { channels, rules, deliveries, smtp })
    }

    /// Creates a channel; `secret` is the webhook's signing key ('' for the others).
    pub async fn create_channel(&self, new: &NewChannel, secret: &str, actor: &str, now: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM notify_channels WHERE name = $1")
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("A channel named {} exists already.", new.name)));
        }
        let row = sqlx::query(
            "INSERT INTO notify_channels (name, kind, target, secret, max_per_minute, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(&new.target)
        .bind(secret)
        .bind(new.max_per_minute)
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        audit::audit_in(
            &mut tx,
            now,
            actor,
            AuditAction::NotifyChannelCreate,
            &new.name,
            &format!("{} {}", new.kind.as_str(), new.target),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes a channel with its rules and deliveries.
    pub async fn delete_channel(&self, id: i64, actor: &str, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let name: String = sqlx::query("SELECT name FROM notify_channels WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("channel #{id}")))?
            .try_get("name")?;
        // Children first: SQLite enforces the foreign keys only when told to.
        for q in [
            "DELETE FROM notify_deliveries WHERE channel_id = $1",
            "DELETE FROM notify_rules WHERE channel_id = $1",
            "DELETE FROM notify_channels WHERE id = $1",
        ] {
            sqlx::query(q).bind(id).execute(&mut *tx).await?;
        }
        audit::audit_in(&mut tx, now, actor, AuditAction::NotifyChannelDelete, &name, "").await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_rule(&self, new: &NewRule, actor: &str, now: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let channel: String = sqlx::query("SELECT name FROM notify_channels WHERE id = $1")
            .bind(new.channel_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("channel #{}", new.channel_id)))?
            .try_get("name")?;
        let row = sqlx::query(
            "INSERT INTO notify_rules (channel_id, event, min_severity, threats, min_criticality, asset_ip, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.channel_id)
        .bind(new.event.as_str())
        .bind(new.min_severity.as_str())
        .bind(new.threats.join(","))
        .bind(new.min_criticality.map(Criticality::as_str))
        .bind(new.asset_ip.as_deref())
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        audit::audit_in(&mut tx, now, actor, AuditAction::NotifyRuleCreate, &channel, new.event.as_str()).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn delete_rule(&self, id: i64, actor: &str, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM notify_rules WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("rule #{id}")));
        }
        audit::audit_in(&mut tx, now, actor, AuditAction::NotifyRuleDelete, &format!("#{id}"), "").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a test delivery to a channel, whatever its rules and limit.
    pub async fn queue_test(&self, channel: i64, actor: &str, now: i64) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let name: String = sqlx::query("SELECT name FROM notify_channels WHERE id = $1")
            .bind(channel)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("channel #{channel}")))?
            .try_get("name")?;
        let id = insert(&mut tx, channel, None, &message::test(&name, actor, now), DeliveryStatus::Queued, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Sums up, per channel, the deliveries held back over its limit once the oldest has waited
    /// `hold_ms`: one queued digest, and the held ones marked `digested` with its id. Returns the
    /// digests queued.
    pub async fn digest_held(&self, now: i64, hold_ms: i64) -> Result<usize> {
        let channels: Vec<i64> = sqlx::query(
            "SELECT channel_id FROM notify_deliveries WHERE status = 'held' GROUP BY channel_id HAVING MIN(created_at) <= $1",
        )
        .bind(now - hold_ms)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get("channel_id"))
        .collect::<std::result::Result<_, _>>()?;
        let mut digests = 0;
        for channel in channels {
            let mut tx = self.begin_write().await?;
            let held = sqlx::query(
                "SELECT id, event, subject, created_at FROM notify_deliveries WHERE channel_id = $1 AND status = 'held' ORDER BY id",
            )
            .bind(channel)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = held.last() else { continue };
            let last_id: i64 = last.try_get("id")?;
            let mut items = Vec::with_capacity(held.len());
            let (mut first_at, mut last_at) = (i64::MAX, i64::MIN);
            for r in &held {
                let at: i64 = r.try_get("created_at")?;
                first_at = first_at.min(at);
                last_at = last_at.max(at);
                items.push((r.try_get::<String, _>("event")?, r.try_get::<String, _>("subject")?));
            }
            let digest = insert(
                &mut tx,
                channel,
                None,
                &message::digest(&items, first_at, last_at, now),
                DeliveryStatus::Queued,
                now,
            )
            .await?;
            sqlx::query(
                "UPDATE notify_deliveries SET status = 'digested', digest_id = $1 WHERE channel_id = $2 AND status = 'held' AND id <= $3",
            )
            .bind(digest)
            .bind(channel)
            .bind(last_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            digests += 1;
        }
        Ok(digests)
    }

    /// Claims up to `limit` queued deliveries due at `now` on enabled channels: each is leased until
    /// `lease_until` (another worker skips it), oldest first.
    pub async fn claim_due(&self, now: i64, lease_until: i64, limit: i64) -> Result<Vec<DueDelivery>> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS}, c.kind, c.target, c.secret, c.name FROM notify_deliveries d \
             JOIN notify_channels c ON c.id = d.channel_id \
             WHERE d.status = 'queued' AND d.next_attempt_at <= $1 AND c.enabled = 1 ORDER BY d.next_attempt_at, d.id LIMIT {limit}"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let d = delivery_of(r)?;
            let claimed = sqlx::query(
                "UPDATE notify_deliveries SET next_attempt_at = $1 WHERE id = $2 AND status = 'queued' AND next_attempt_at = $3",
            )
            .bind(lease_until)
            .bind(d.id)
            .bind(d.next_attempt_at)
            .execute(self.pool())
            .await?
            .rows_affected();
            if claimed == 1 {
                let kind: String = r.try_get("kind")?;
                out.push(DueDelivery {
                    kind: ChannelKind::parse(&kind)
                        .ok_or(StoreError::Corrupt { column: "notify_channels.kind", detail: kind })?,
                    target: r.try_get("target")?,
                    secret: r.try_get("secret")?,
                    channel: r.try_get("name")?,
                    delivery: d,
                });
            }
        }
        Ok(out)
    }

    /// Records a delivery attempt: sent, or failed with why — retried at `retry_at`, or for good when
    /// that is `None`.
    pub async fn record_attempt(
        &self,
        id: i64,
        now: i64,
        outcome: std::result::Result<(), (String, Option<i64>)>,
    ) -> Result<()> {
        match outcome {
            Ok(()) => sqlx::query(
                "UPDATE notify_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = '' WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?,
            Err((error, retry_at)) => sqlx::query(
                "UPDATE notify_deliveries SET status = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $4",
            )
            .bind(if retry_at.is_some() { "queued" } else { "failed" })
            .bind(error.chars().take(500).collect::<String>())
            .bind(retry_at.unwrap_or(now))
            .bind(id)
            .execute(self.pool())
            .await?,
        };
        Ok(())
    }

    /// Deletes deliveries that ended (sent, failed, summed up in a digest) before `before`; queued and
    /// held ones stay. Returns how many went.
    pub async fn prune_deliveries(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM notify_deliveries WHERE status IN ('sent', 'failed', 'digested') AND created_at < $1",
        )
        .bind(before)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    pub async fn delivery(&self, id: i64) -> Result<Delivery> {
        let row = sqlx::query(&format!("SELECT {DELIVERY_COLUMNS} FROM notify_deliveries d WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("delivery #{id}")))?;
        delivery_of(&row)
    }
}
