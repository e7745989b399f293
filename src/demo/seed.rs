//! Seeds demo mode's history into a fresh database ([`seed_history`]).
//!
//! The alerts, their triage, the employee reports and every rollup come from the KPI generator
//! ([`super::generate`], flavour [`DEMO`]): its rollups are those `persist_batch` and triage
//! keep. The incidents go through the incident store itself, at the times they would have happened,
//! so their timelines, audit rows and the mean-time-to-contain figures are the real code's.

use super::generate::{generate, GenerateOptions, DEMO};
use super::DemoHistory;
use crate::incident::{IncidentCommand, NewIncident};
use crate::kpi::{DAY, HOUR};
use crate::store::{Db, Result};
use sqlx::Row;

/// Days of history.
pub const DAYS: u32 = 30;
/// Alerts over those days (about 80 a day, more on working days and on the three incident days).
pub const ALERTS: u64 = 2_400;
/// Generated assets the alerts target.
pub const ASSETS: u32 = 40;
/// The history ends this long before the server started; the replay's alerts come after it.
const GAP_MS: i64 = 10 * 60_000;
/// Alerts of a burst gathered into its incident.
const INCIDENT_ALERTS: i64 = 12;

/// Seeds the history unless it was seeded before or the database already holds alerts (a demo
/// restarted on its own database keeps what it has). Returns what was seeded.
pub async fn seed_history(db: &Db, now: i64) -> Result<Option<DemoHistory>> {
    if db.demo_history().await?.is_some() {
        return Ok(None);
    }
    if db.count_alerts().await? > 0 {
        tracing::info!("demo history not seeded: the database already holds alerts");
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let end = now - GAP_MS;
    let opts = GenerateOptions { alerts: ALERTS, days: DAYS, assets: ASSETS, seed: 2026, end, flavour: DEMO };
    let generated = generate(db, &opts, |_| {}).await?;
    let mut incidents = 0;
    for (day, threat) in &generated.incident_days {
        if let Some(id) = incident_of_burst(db, *day, threat, end).await? {
            tracing::debug!(incident = id, threat, "demo incident seeded");
            incidents += 1;
        }
    }
    let history = DemoHistory {
        seeded_at: now,
        from: crate::kpi::floor(end, HOUR) - i64::from(DAYS) * DAY,
        to: end,
        alerts: generated.alerts as i64,
        incidents,
        reports: generated.reports as i64,
    };
    db.record_demo_history(&history).await?;
    tracing::info!(
        alerts = history.alerts,
        incidents,
        reports = history.reports,
        ms = started.elapsed().as_millis() as u64,
        "demo history seeded (generated, marked as demo data on the pages)"
    );
    Ok(Some(history))
}

/// Opens an incident of the first alerts of a burst an hour after they began, contains it within a
/// few hours and resolves it five hours later, as a responder would have.
async fn incident_of_burst(db: &Db, day: i64, threat: &str, end: i64) -> Result<Option<i64>> {
    let rows = sqlx::query(
        "SELECT id, first_seen FROM alerts WHERE threat = $1 AND first_seen >= $2 AND first_seen < $3 \
         ORDER BY first_seen, id LIMIT $4",
    )
    .bind(threat)
    .bind(day)
    .bind(day + DAY)
    .bind(INCIDENT_ALERTS)
    .fetch_all(db.pool())
    .await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let first_seen: i64 = first.try_get("first_seen")?;
    let opened = first_seen + HOUR;
    // Containing takes between 45 minutes and 3 hours, as it would from one burst to the next.
    let contained = opened + 45 * 60_000 + first_seen.rem_euclid(135) * 60_000;
    let resolved = contained + 5 * HOUR;
    if resolved >= end {
        return Ok(None);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<std::result::Result<_, _>>()?;
    let (responder, analyst) = (DEMO.analysts[1], DEMO.analysts[0]);
    let new = NewIncident { title: String::new(), severity: None, alert_ids: ids };
    let id = db.create_incident(analyst, &new, opened).await?.incident_id;
    let steps = [
        (opened + 10 * 60_000, IncidentCommand::Assign { to: responder.to_string() }),
        (
            contained,
            IncidentCommand::Contain {
                note: "Sources blocked at the edge firewall; the targets are being checked.".into(),
            },
        ),
        (
            resolved,
            IncidentCommand::Resolve {
                resolution: "No compromise found on the targets; the block stays for 30 days.".into(),
            },
        ),
    ];
    for (at, cmd) in steps {
        let actor = if matches!(cmd, IncidentCommand::Assign { .. }) { analyst } else { responder };
        db.incident_command(id, actor, &cmd, at).await?;
    }
    Ok(Some(id))
}
