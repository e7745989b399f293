//! Incidents, their timeline and the dismissed suggestions
//! (`migrations/*/20261206000060_incidents.sql`). Every change is one transaction: the incident,
//! its timeline entry, the alerts it touches (with their own history entries and the KPI response
//! rollup) and the audit row commit together or not at all.

use crate::audit::AuditAction;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

use super::alerts::{alert_from_row, ALERT_COLUMNS};
use super::notify::Announce;
use super::{audit, triage, Db, Result, StoreError};
use crate::alert::{Alert, Severity};
use crate::console::threat_title;
use crate::incident::{
    default_title, severity_of_alerts, suggest, AddOutcome, Candidate, Incident, IncidentCommand, IncidentDetail,
    IncidentEvent, IncidentFilter, IncidentPage, IncidentStatus, IncidentSummary, Involved, NewIncident, Suggestion,
    PER_PAGE, SUGGEST_SCAN, SUGGEST_WINDOW_MS,
};
use crate::kpi::{Compared, IncidentCounts, Mean, Periods};
use crate::net::is_internal_address;
use crate::notify::message::{self, IncidentBrief};
use crate::notify::EventKind;

/// Alerts shown on an incident's page (the newest); the counts cover them all.
pub const DETAIL_ALERTS: i64 = 500;

const INCIDENT_COLUMNS: &str = "i.id, i.title, i.severity, i.status, i.owner, i.resolution, i.created_by, \
     i.created_at, i.updated_at, i.contained_at, i.closed_at, i.merged_into, \
     (SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id) AS n_alerts, \
     (SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id AND a.status IN ('new', 'acknowledged')) AS n_open, \
     (SELECT MAX(a.risk) FROM alerts a WHERE a.incident_id = i.id) AS max_risk, \
     (SELECT MAX(a.last_seen) FROM alerts a WHERE a.incident_id = i.id) AS last_seen";

/// Highest severity first.
const SEVERITY_RANK: &str = "CASE i.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END";

fn incident_of(r: &AnyRow) -> Result<Incident> {
    let severity: String = r.try_get("severity")?;
    let status: String = r.try_get("status")?;
    Ok(Incident {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        severity: Severity::parse(&severity)
            .ok_or(StoreError::Corrupt { column: "incidents.severity", detail: severity })?,
        status: IncidentStatus::parse(&status)
            .ok_or(StoreError::Corrupt { column: "incidents.status", detail: status })?,
        owner: r.try_get("owner")?,
        resolution: r.try_get("resolution")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        contained_at: r.try_get("contained_at")?,
        closed_at: r.try_get("closed_at")?,
        merged_into: r.try_get("merged_into")?,
        alerts: r.try_get("n_alerts")?,
        open_alerts: r.try_get("n_open")?,
        max_risk: r.try_get::<Option<i64>, _>("max_risk")?.unwrap_or(0),
        last_seen: r.try_get("last_seen")?,
    })
}

async fn event_in(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    at: i64,
    actor: &str,
    kind: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO incident_events (incident_id, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(at)
        .bind(actor)
        .bind(kind)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Status and merge of an incident, locked for the change (PostgreSQL; SQLite's writer lock is
/// taken by the transaction's first write).
async fn current_status(tx: &mut Transaction<'_, Any>, id: i64) -> Result<(IncidentStatus, String, Severity)> {
    let row = sqlx::query("SELECT status, merged_into, title, severity FROM incidents WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("incident #{id}")))?;
    if let Some(into) = row.try_get::<Option<i64>, _>("merged_into")? {
        return Err(StoreError::Conflict(format!(
            "Incident #{id} was merged into incident #{into}; work on that one."
        )));
    }
    let status: String = row.try_get("status")?;
    let severity: String = row.try_get("severity")?;
    Ok((
        IncidentStatus::parse(&status).ok_or(StoreError::Corrupt { column: "incidents.status", detail: status })?,
        row.try_get("title")?,
        Severity::parse(&severity).ok_or(StoreError::Corrupt { column: "incidents.severity", detail: severity })?,
    ))
}

/// Puts the alerts of `ids` into incident `id` (those in no incident yet); each gets a history
/// entry. Returns what was added and what was skipped, with why.
async fn attach(tx: &mut Transaction<'_, Any>, id: i64, ids: &[i64], actor: &str, now: i64) -> Result<AddOutcome> {
    let mut out = AddOutcome { incident_id: id, added: Vec::new(), skipped: Vec::new() };
    for &alert in ids {
        let row =
            sqlx::query("SELECT incident_id FROM alerts WHERE id = $1").bind(alert).fetch_optional(&mut **tx).await?;
        match row.map(|r| r.try_get::<Option<i64>, _>("incident_id")).transpose()? {
            None => out.skipped.push((alert, "it does not exist".into())),
            Some(Some(other)) if other == id => out.skipped.push((alert, "it is already in this incident".into())),
            Some(Some(other)) => out.skipped.push((alert, format!("it is already in incident #{other}"))),
            Some(None) => {
                sqlx::query("UPDATE alerts SET incident_id = $1 WHERE id = $2 AND incident_id IS NULL")
                    .bind(id)
                    .bind(alert)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO alert_events (alert_id, at, actor, action, detail) VALUES ($1, $2, $3, 'incident', $4)",
                )
                .bind(alert)
                .bind(now)
                .bind(actor)
                .bind(format!("#{id}"))
                .execute(&mut **tx)
                .await?;
                out.added.push(alert);
            }
        }
    }
    Ok(out)
}

/// Announces an incident whose severity went up from `was` to `now_severity`.
async fn escalated(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    title: &str,
    was: Severity,
    now_severity: Severity,
    actor: &str,
    now: i64,
) -> Result<()> {
    let alerts: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE incident_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let brief = IncidentBrief { id, title: title.to_string(), severity: now_severity, alerts };
    let e = Announce {
        kind: EventKind::IncidentEscalated,
        severity: now_severity,
        threat: None,
        asset_id: None,
        message: message::incident_escalated(&brief, was, actor, now),
    };
    super::notify::enqueue_in(tx, &[e], now).await?;
    Ok(())
}

fn added_detail(out: &AddOutcome) -> String {
    out.added.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(", ")
}

impl Db {
    /// Creates an incident from alerts (those already in another incident are skipped, with why).
    /// Without a title it is named after its alerts; without a severity it takes the riskiest
    /// alert's. Fails, creating nothing, when none of the alerts can be added.
    pub async fn create_incident(&self, actor: &str, new: &NewIncident, now: i64) -> Result<AddOutcome> {
        let mut tx = self.begin_write().await?;
        let mut alerts: Vec<Alert> = Vec::new();
        for &id in &new.alert_ids {
            if let Some(r) = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            {
                let a = alert_from_row(&r)?;
                if a.incident_id.is_none() {
                    alerts.push(a);
                }
            }
        }
        if alerts.is_empty() {
            // Say why for each, through the same checks `attach` makes.
            let probe = attach(&mut tx, 0, &new.alert_ids, actor, now).await?;
            let why: Vec<String> = probe.skipped.iter().map(|(id, why)| format!("#{id}: {why}")).collect();
            return Err(StoreError::Invalid(format!(
                "None of the selected alerts can start an incident ({}).",
                why.join("; ")
            )));
        }
        let title = if new.title.is_empty() { default_title(&alerts, threat_title) } else { new.title.clone() };
        let severity = new.severity.unwrap_or_else(|| severity_of_alerts(&alerts));
        let row = sqlx::query(
            "INSERT INTO incidents (title, severity, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, 'open', $3, $4, $4) RETURNING id",
        )
        .bind(&title)
        .bind(severity.as_str())
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let out = attach(&mut tx, id, &new.alert_ids, actor, now).await?;
        event_in(&mut tx, id, now, actor, "created", &format!("{title} · {} severity", severity.as_str())).await?;
        event_in(&mut tx, id, now, actor, "alerts_added", &added_detail(&out)).await?;
        audit::audit_in(&mut tx, now, actor, AuditAction::IncidentCreate, &format!("#{id}"), &title).await?;
        let brief = IncidentBrief { id, title: title.clone(), severity, alerts: out.added.len() as i64 };
        let opened = Announce {
            kind: EventKind::IncidentOpened,
            severity,
            threat: None,
            asset_id: None,
            message: message::incident_opened(&brief, actor, now),
        };
        super::notify::enqueue_in(&mut tx, &[opened], now).await?;
        tx.commit().await?;
        tracing::info!(incident = id, actor, alerts = out.added.len(), "incident created");
        Ok(out)
    }

    /// Adds alerts to an active incident.
    pub async fn add_to_incident(&self, id: i64, actor: &str, ids: &[i64], now: i64) -> Result<AddOutcome> {
        let mut tx = self.begin_write().await?;
        let (status, _, _) = current_status(&mut tx, id).await?;
        if !status.is_active() {
            return Err(StoreError::Conflict(format!(
                "Incident #{id} is {}; reopen it before you add alerts.",
                status.label()
            )));
        }
        let out = attach(&mut tx, id, ids, actor, now).await?;
        if !out.added.is_empty() {
            event_in(&mut tx, id, now, actor, "alerts_added", &added_detail(&out)).await?;
            sqlx::query("UPDATE incidents SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit::audit_in(
                &mut tx,
                now,
                actor,
                AuditAction::IncidentAddAlerts,
                &format!("#{id}"),
                &added_detail(&out),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Applies a command (comment, owner, severity, contain, resolve, false positive, reopen).
    /// Resolving or marking a false positive closes the incident's open alerts the same way. A
    /// command that does not apply in the current status is a conflict that says why.
    pub async fn incident_command(&self, id: i64, actor: &str, cmd: &IncidentCommand, now: i64) -> Result<Incident> {
        let mut tx = self.begin_write().await?;
        let (current, title, was) = current_status(&mut tx, id).await?;
        let next = cmd.next_status(current).map_err(|why| StoreError::Conflict(format!("Incident #{id}: {why}.")))?;
        let (owner, severity) = match cmd {
            IncidentCommand::Assign { to } => (Some(to.as_str()), None),
            IncidentCommand::Severity { to } => (None, Some(to.as_str())),
            _ => (None, None),
        };
        let closing = i64::from(current.is_active() && !next.is_active());
        let reopening = i64::from(!current.is_active() && next.is_active());
        let containing = i64::from(next != IncidentStatus::Open);
        let resolution = match cmd {
            IncidentCommand::Resolve { resolution } => Some(resolution.as_str()),
            IncidentCommand::FalsePositive { reason } => Some(reason.as_str()),
            IncidentCommand::Reopen { .. } => Some(""),
            _ => None,
        };
        sqlx::query(
            "UPDATE incidents SET status = $1, owner = COALESCE($2, owner), severity = COALESCE($3, severity), \
             resolution = COALESCE($4, resolution), updated_at = $5, \
             contained_at = CASE WHEN contained_at IS NULL AND $6 = 1 THEN $5 ELSE contained_at END, \
             closed_at = CASE WHEN $7 = 1 THEN $5 WHEN $8 = 1 THEN NULL ELSE closed_at END \
             WHERE id = $9",
        )
        .bind(next.as_str())
        .bind(owner)
        .bind(severity)
        .bind(resolution)
        .bind(now)
        .bind(containing)
        .bind(closing)
        .bind(reopening)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        event_in(&mut tx, id, now, actor, cmd.kind(), &cmd.detail()).await?;
        if let Some(t) = cmd.alert_triage(id) {
            let open: Vec<i64> = sqlx::query(
                "SELECT id FROM alerts WHERE incident_id = $1 AND status IN ('new', 'acknowledged') ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
            triage::triage_in(&mut tx, &open, actor, &t, now).await?;
        }
        audit::audit_in(&mut tx, now, actor, AuditAction::from(cmd), &format!("#{id}"), &cmd.detail()).await?;
        if let IncidentCommand::Severity { to } = cmd {
            if *to > was {
                escalated(&mut tx, id, &title, was, *to, actor, now).await?;
            }
        }
        tx.commit().await?;
        tracing::info!(incident = id, actor, action = cmd.kind(), status = next.as_str(), "incident changed");
        self.incident(id).await
    }

    /// Merges the incidents of `from` into `into`: their alerts and timelines move, each leaves a
    /// timeline entry on both sides, the severity becomes the highest, and the merged ones point
    /// to `into` from then on.
    pub async fn merge_incidents(&self, into: i64, from: &[i64], actor: &str, now: i64) -> Result<Incident> {
        if from.is_empty() {
            return Err(StoreError::Invalid("Choose the incidents to merge into this one.".into()));
        }
        let mut tx = self.begin_write().await?;
        let (status, into_title, mut severity) = current_status(&mut tx, into).await?;
        let was = severity;
        if !status.is_active() {
            return Err(StoreError::Conflict(format!(
                "Incident #{into} is {}; reopen it before you merge into it.",
                status.label()
            )));
        }
        for &other in from {
            if other == into {
                return Err(StoreError::Invalid(format!("Incident #{into} cannot be merged into itself.")));
            }
            let (_, title, sev) = current_status(&mut tx, other).await?;
            severity = severity.max(sev);
            let moved = sqlx::query("UPDATE alerts SET incident_id = $1 WHERE incident_id = $2")
                .bind(into)
                .bind(other)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for q in [
                "UPDATE incident_events SET incident_id = $1 WHERE incident_id = $2",
                "UPDATE incidents SET merged_into = $1 WHERE merged_into = $2",
            ] {
                sqlx::query(q).bind(into).bind(other).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE incidents SET merged_into = $1, updated_at = $2 WHERE id = $3")
                .bind(into)
                .bind(now)
                .bind(other)
                .execute(&mut *tx)
                .await?;
            let detail = format!("#{other} {title} ({moved} alert{})", if moved == 1 { "" } else { "s" });
            event_in(&mut tx, into, now, actor, "merged", &detail).await?;
            event_in(&mut tx, other, now, actor, "merged", &format!("into #{into}")).await?;
            audit::audit_in(
                &mut tx,
                now,
                actor,
                AuditAction::IncidentMerge,
                &format!("#{other}"),
                &format!("into #{into}"),
            )
            .await?;
        }
        sqlx::query("UPDATE incidents SET severity = $1, updated_at = $2 WHERE id = $3")
            .bind(severity.as_str())
            .bind(now)
            .bind(into)
            .execute(&mut *tx)
            .await?;
        if severity > was {
            escalated(&mut tx, into, &into_title, was, severity, actor, now).await?;
        }
        tx.commit().await?;
        self.incident(into).await
    }

    pub async fn incident(&self, id: i64) -> Result<Incident> {
        let row = sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("incident #{id}")))?;
        incident_of(&row)
    }

    /// One page of incidents for the filter (merged ones are left out), highest severity first,
    /// then the most recently changed.
    pub async fn incidents(&self, f: &IncidentFilter) -> Result<IncidentPage> {
        let mut conds = vec!["i.merged_into IS NULL".to_string()];
        let mut binds: Vec<String> = Vec::new();
        let bind = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if !f.statuses.is_empty() {
            let list: Vec<String> = f.statuses.iter().map(|s| bind(s.as_str().to_string(), &mut binds)).collect();
            conds.push(format!("i.status IN ({})", list.join(", ")));
        }
        if let Some(s) = f.severity {
            conds.push(format!("i.severity = {}", bind(s.as_str().to_string(), &mut binds)));
        }
        if let Some(o) = &f.owner {
            conds.push(format!("i.owner = {}", bind(o.clone(), &mut binds)));
        }
        let id_text = f.text.trim_start_matches('#');
        if let Ok(id) = id_text.parse::<i64>() {
            conds.push(format!("CAST(i.id AS TEXT) = {}", bind(id.to_string(), &mut binds)));
        } else if !f.text.is_empty() {
            let pattern =
                format!("%{}%", f.text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            conds.push(format!("LOWER(i.title) LIKE {} ESCAPE '\\'", bind(pattern, &mut binds)));
        }
        let wh = conds.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) AS n FROM incidents i WHERE {wh}");
        let mut count = sqlx::query(&count_sql);
        for b in &binds {
            count = count.bind(b.clone());
        }
        let total: i64 = count.fetch_one(self.pool()).await?.try_get("n")?;
        let offset = i64::from(f.page.saturating_sub(1)) * i64::from(PER_PAGE);
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE {wh} ORDER BY {SEVERITY_RANK} DESC, i.updated_at DESC, i.id DESC \
             LIMIT {PER_PAGE} OFFSET {offset}"
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(self.pool()).await?.iter().map(incident_of).collect::<Result<Vec<_>>>()?;
        let active = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM incidents WHERE merged_into IS NULL AND status IN ('open', 'contained') \
             GROUP BY status",
        )
        .fetch_all(self.pool())
        .await?;
        let mut counts = (0, 0);
        for r in &active {
            let status: String = r.try_get("status")?;
            let n: i64 = r.try_get("n")?;
            if status == "open" {
                counts.0 = n;
            } else {
                counts.1 = n;
            }
        }
        Ok(IncidentPage { filter: f.clone(), total, rows, active: counts })
    }

    /// Active incidents (open or contained), newest first, for the "add to incident" choices.
    pub async fn active_incidents(&self) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT id, title FROM incidents WHERE merged_into IS NULL AND status IN ('open', 'contained') \
             ORDER BY updated_at DESC, id DESC LIMIT 200",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("title")?))).collect()
    }

    /// The incident, its alerts (the newest [`DETAIL_ALERTS`]), its timeline and who and what it
    /// involves.
    pub async fn incident_detail(&self, id: i64) -> Result<IncidentDetail> {
        let incident = self.incident(id).await?;
        let alerts = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE incident_id = $1 ORDER BY last_seen DESC, id DESC LIMIT {DETAIL_ALERTS}"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(alert_from_row)
        .collect::<Result<Vec<_>>>()?;
        let timeline = sqlx::query(
            "SELECT id, incident_id, at, actor, kind, detail FROM incident_events WHERE incident_id = $1 ORDER BY at, id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(IncidentEvent {
                id: r.try_get("id")?,
                incident_id: r.try_get("incident_id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                kind: r.try_get("kind")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut assets: HashMap<i64, (String, Option<String>)> = HashMap::new();
        for asset_id in alerts.iter().filter_map(|a| a.asset_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = assets.entry(asset_id) {
                if let Some(r) = sqlx::query("SELECT ip, hostname FROM assets WHERE id = $1")
                    .bind(asset_id)
                    .fetch_optional(self.pool())
                    .await?
                {
                    e.insert((r.try_get("ip")?, r.try_get("hostname")?));
                }
            }
        }
        let summary = summarize(&alerts, &assets);
        let assignable = self.assignable_users().await?;
        let mergeable = if incident.status.is_active() && incident.merged_into.is_none() {
            self.active_incidents().await?.into_iter().filter(|(other, _)| *other != id).collect()
        } else {
            Vec::new()
        };
        let response =
            crate::response::ResponseAccess { actions: self.actions_for(Some(id), None).await?, ..Default::default() };
        Ok(IncidentDetail { incident, alerts, timeline, summary, assignable, mergeable, response })
    }

    /// Proposed incidents from the newest [`SUGGEST_SCAN`] open alerts in no incident.
    pub async fn incident_suggestions(&self) -> Result<Vec<Suggestion>> {
        let rows = sqlx::query(&format!(
            "SELECT a.id, a.last_seen, a.src_ip, a.dst_ip, a.threat, a.risk, s.ip AS asset_ip FROM alerts a \
             LEFT JOIN assets s ON s.id = a.asset_id \
             WHERE a.incident_id IS NULL AND a.status IN ('new', 'acknowledged') \
             ORDER BY a.last_seen DESC, a.id DESC LIMIT {SUGGEST_SCAN}"
        ))
        .fetch_all(self.pool())
        .await?;
        let candidates = rows
            .iter()
            .map(|r| {
                Ok(Candidate {
                    id: r.try_get("id")?,
                    last_seen: r.try_get("last_seen")?,
                    src_ip: r.try_get("src_ip")?,
                    dst_ip: r.try_get("dst_ip")?,
                    asset_ip: r.try_get("asset_ip")?,
                    threat: r.try_get("threat")?,
                    risk: r.try_get("risk")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let dismissed: HashMap<String, i64> = sqlx::query("SELECT key, newest_alert FROM incident_dismissals")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("newest_alert")?)))
            .collect::<Result<_>>()?;
        Ok(suggest(&candidates, &dismissed, SUGGEST_WINDOW_MS))
    }

    /// Dismisses the suggestion `key` up to its newest alert `newest`.
    pub async fn dismiss_suggestion(&self, key: &str, newest: i64, actor: &str, now: i64) -> Result<()> {
        let valid = key
            .split_once(':')
            .is_some_and(|(kind, ip)| matches!(kind, "host" | "address") && ip.parse::<std::net::IpAddr>().is_ok());
        if !valid || newest < 1 {
            return Err(StoreError::Invalid(format!("`{key}` is not a suggestion.")));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO incident_dismissals (key, newest_alert, actor, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET newest_alert = excluded.newest_alert, actor = excluded.actor, at = excluded.at",
        )
        .bind(key)
        .bind(newest)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::audit_in(
            &mut tx,
            now,
            actor,
            AuditAction::IncidentDismissSuggestion,
            key,
            &format!("up to alert #{newest}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Incidents opened and contained in each period, the mean time to contain of those contained,
    /// and the active incidents now (merged ones are counted in the incident they joined).
    pub(crate) async fn kpi_incidents(&self, p: &Periods) -> Result<(Compared<IncidentCounts>, i64)> {
        let sum = |expr: &str, cond: &str| {
            format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN {expr} ELSE 0 END), 0) AS BIGINT)")
        };
        let cur_open = "created_at >= $1 AND created_at < $3";
        let prev_open = "created_at >= $2 AND created_at < $4";
        let cur_cont = "contained_at >= $1 AND contained_at < $3";
        let prev_cont = "contained_at >= $2 AND contained_at < $4";
        let sql = format!(
            "SELECT {} AS opened_cur, {} AS opened_prev, {} AS contained_cur, {} AS contained_prev, \
             {} AS contain_ms_cur, {} AS contain_ms_prev, {} AS active FROM incidents WHERE merged_into IS NULL",
            sum("1", cur_open),
            sum("1", prev_open),
            sum("1", cur_cont),
            sum("1", prev_cont),
            sum("contained_at - created_at", cur_cont),
            sum("contained_at - created_at", prev_cont),
            sum("1", "status IN ('open', 'contained')"),
        );
        let r = sqlx::query(&sql)
            .bind(p.current.from)
            .bind(p.previous.from)
            .bind(p.current.to)
            .bind(p.previous.to)
            .fetch_one(self.pool())
            .await?;
        let counts = |opened: &str, contained: &str, ms: &str| -> Result<IncidentCounts> {
            Ok(IncidentCounts {
                opened: r.try_get(opened)?,
                contain: Mean { n: r.try_get(contained)?, total_ms: r.try_get(ms)? },
            })
        };
        Ok((
            Compared {
                current: counts("opened_cur", "contained_cur", "contain_ms_cur")?,
                previous: counts("opened_prev", "contained_prev", "contain_ms_prev")?,
            },
            r.try_get("active")?,
        ))
    }
}

/// Who and what the alerts involve: internal hosts (assets and private addresses), external
/// addresses and threats, each with how many alerts name it, most first.
fn summarize(alerts: &[Alert], assets: &HashMap<i64, (String, Option<String>)>) -> IncidentSummary {
    let mut hosts: BTreeMap<String, (Option<String>, i64)> = BTreeMap::new();
    let mut addresses: BTreeMap<String, (Option<String>, i64)> = BTreeMap::new();
    let mut threats: BTreeMap<String, i64> = BTreeMap::new();
    for a in alerts {
        let asset = a.asset_id.and_then(|id| assets.get(&id));
        let mut named: Vec<&str> = Vec::new();
        if let Some((ip, hostname)) = asset {
            hosts.entry(ip.clone()).or_insert((hostname.clone(), 0)).1 += 1;
            named.push(ip);
        }
        for (ip, country) in [(&a.src_ip, &a.src_country), (&a.dst_ip, &None)] {
            let Some(ip) = ip.as_deref() else { continue };
            if named.contains(&ip) {
                continue;
            }
            named.push(ip);
            if is_internal_address(ip) {
                hosts.entry(ip.to_string()).or_insert((None, 0)).1 += 1;
            } else {
                addresses.entry(ip.to_string()).or_insert((country.clone(), 0)).1 += 1;
            }
        }
        *threats.entry(a.threat.clone()).or_default() += 1;
    }
    let ranked = |m: BTreeMap<String, (Option<String>, i64)>| {
        let mut v: Vec<Involved> =
            m.into_iter().map(|(key, (label, alerts))| Involved { key, label, alerts }).collect();
        v.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.key.cmp(&b.key)));
        v
    };
    let mut threats: Vec<Involved> =
        threats.into_iter().map(|(key, alerts)| Involved { label: Some(threat_title(&key)), key, alerts }).collect();
    threats.sort_by(|a, b| b.alerts.cmp(&a.alerts).then(a.key.cmp(&b.key)));
    IncidentSummary {
        hosts: ranked(hosts),
        addresses: ranked(addresses),
        threats,
        first_seen: alerts.iter().map(|a| a.first_seen).min(),
        last_seen: alerts.iter().map(|a| a.last_seen).max(),
    }
}
