//! Alert triage for the SOC roles (analysts, responders, admins): actions on one alert or a
//! selection, and an alert's history. Every action is written to the alert's history
//! (`alert_events`) with who and when.

use crate::error::AppError;
use anomalyforge::triage::{AlertEvent, TriageOutcome};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Applies a triage action to the alerts in `ids` (comma-separated, at most 500): `action` is
/// acknowledge, assign, comment, resolve, false_positive or reopen; `note` the comment,
/// resolution note or false-positive reason; `assignee` a username for assign. Alerts the action
/// does not apply to are reported as skipped, with the reason; the others change together.
/// With `false_positive`, `suppress` may name what a suppression rule should match for each
/// alert marked (comma-separated: `source`, `type`, `asset`); the reason becomes the rule's.
#[server(endpoint = "alerts/triage")]
pub async fn triage_alerts(
    ids: String,
    action: String,
    note: String,
    assignee: String,
    #[server(default)] suppress: String,
) -> Result<Vec<TriageOutcome>, AppError> {
    use anomalyforge::triage::{Triage, MAX_BULK};
    let (st, me) = authorize(Access::SOC).await?;
    let ids = parse_ids(&ids, MAX_BULK)?;
    let triage = Triage::from_form(&action, &note, &assignee)?;
    if let Triage::Assign { to } = &triage {
        super::ssr::check_assignee(&st, to, "assignee").await?;
    }
    let criteria = suppress_criteria(&suppress, &triage)?;
    let out = st.db.triage(&ids, &me.username, &triage).await?;
    if let (Some((source, kind, asset)), Triage::FalsePositive { reason }) = (criteria, &triage) {
        let mut rules: Vec<anomalyforge::suppression::NewSuppression> = Vec::new();
        for o in out.iter().filter(|o| o.status.is_some()) {
            let a = st.db.alert_by_id(o.alert_id).await?;
            let asset_ip = match (asset, a.asset_id) {
                (true, Some(id)) => Some(st.db.asset_by_id(id).await?.ip),
                _ => None,
            };
            let rule = anomalyforge::suppression::NewSuppression {
                src_ip: a.src_ip.filter(|_| source),
                threat: kind.then(|| a.threat.clone()),
                asset_ip,
                reason: reason.clone(),
                expires_in_hours: None,
            };
            if (rule.src_ip.is_some() || rule.threat.is_some() || rule.asset_ip.is_some()) && !rules.contains(&rule) {
                rules.push(rule);
            }
        }
        for rule in &rules {
            super::suppressions::save(&st, &me.username, rule).await?;
        }
    }
    let changed = out.iter().filter(|o| o.status.is_some()).count();
    tracing::info!(actor = %me.username, action = triage.name(), alerts = ids.len(), changed, "alerts triaged");
    Ok(out)
}

/// Everything done to an alert, oldest first.
#[server(endpoint = "alerts/history")]
pub async fn alert_history(alert_id: i64) -> Result<Vec<AlertEvent>, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    Ok(st.db.alert_events(alert_id).await?)
}

/// What the suppression rule of a false positive matches: (source, type, asset).
#[cfg(feature = "ssr")]
fn suppress_criteria(raw: &str, triage: &anomalyforge::triage::Triage) -> Result<Option<(bool, bool, bool)>, AppError> {
    let (mut source, mut kind, mut asset) = (false, false, false);
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "source" => source = true,
            "type" => kind = true,
            "asset" => asset = true,
            other => {
                return Err(AppError::Invalid {
                    field: "suppress".into(),
                    message: format!("`{other}` is not something a rule can match: use source, type or asset."),
                })
            }
        }
    }
    if !(source || kind || asset) {
        return Ok(None);
    }
    if !matches!(triage, anomalyforge::triage::Triage::FalsePositive { .. }) {
        return Err(AppError::Invalid {
            field: "suppress".into(),
            message: "Only a false positive can create a suppression rule.".into(),
        });
    }
    Ok(Some((source, kind, asset)))
}

/// `"3, 7,9"` → `[3, 7, 9]` (duplicates dropped, order kept); more than `max` is refused.
#[cfg(feature = "ssr")]
fn parse_ids(raw: &str, max: usize) -> Result<Vec<i64>, AppError> {
    let mut ids: Vec<i64> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id: i64 = part.parse().ok().filter(|id| *id > 0).ok_or_else(|| AppError::Invalid {
            field: "ids".into(),
            message: format!("`{part}` is not an alert number."),
        })?;
        if !ids.contains(&id) {
            if ids.len() == max {
                return Err(AppError::Invalid {
                    field: "ids".into(),
                    message: format!("Select at most {max} alerts at a time."),
                });
            }
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(AppError::Invalid { field: "ids".into(), message: "Select at least one alert.".into() });
    }
    Ok(ids)
}
