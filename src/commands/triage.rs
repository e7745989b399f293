//! Alert triage on one alert or a selection, and the suppression rules a false positive asks for.
//! The alerts change together in one transaction (with their history); each rule made from them is
//! then stored with its own audit row.

use super::{suppressions, Ctx, Result};
use crate::role::Access;
use crate::suppression::NewSuppression;
use crate::triage::{step_detail, steps_done, SuppressFrom, Triage, TriageOutcome, STEP_DONE, STEP_UNDONE};
use crate::validate::FieldError;

/// Applies `triage` to the alerts `ids`. Alerts the action does not apply to are reported as
/// skipped, with the reason. A false positive with `suppress` set creates one rule per distinct
/// (source, type, asset) of the alerts it changed, with the reason as the rule's.
pub async fn apply(
    ctx: Ctx<'_>,
    ids: &[i64],
    triage: &Triage,
    suppress: Option<SuppressFrom>,
) -> Result<Vec<TriageOutcome>> {
    if let Triage::Assign { to } = triage {
        check_assignee(ctx, to, "assignee").await?;
    }
    let out = ctx.db.triage(ids, ctx.actor, triage).await?;
    if let (Some(from), Triage::FalsePositive { reason }) = (suppress, triage) {
        let mut rules: Vec<NewSuppression> = Vec::new();
        for o in out.iter().filter(|o| o.status.is_some()) {
            let a = ctx.db.alert_by_id(o.alert_id).await?;
            let asset_ip = match (from.asset, a.asset_id) {
                (true, Some(id)) => Some(ctx.db.asset_by_id(id).await?.ip),
                _ => None,
            };
            let rule = NewSuppression {
                src_ip: a.src_ip.filter(|_| from.source),
                threat: from.kind.then(|| a.threat.clone()),
                asset_ip,
                reason: reason.clone(),
                expires_in_hours: None,
            };
            if (rule.src_ip.is_some() || rule.threat.is_some() || rule.asset_ip.is_some()) && !rules.contains(&rule) {
                rules.push(rule);
            }
        }
        for rule in &rules {
            suppressions::create(ctx, rule).await?;
        }
    }
    let changed = out.iter().filter(|o| o.status.is_some()).count();
    tracing::info!(actor = ctx.actor, action = triage.name(), alerts = ids.len(), changed, "alerts triaged");
    Ok(out)
}

/// Ticks step `step` (from 1) of the alert's playbook off (`done`) or back on, in the alert's
/// history; returns which steps are done now.
pub async fn tick_step(ctx: Ctx<'_>, alert_id: i64, step: u32, done: bool) -> Result<Vec<bool>> {
    let alert = ctx.db.alert_by_id(alert_id).await?;
    let playbook = ctx.db.playbook(&alert.threat).await?;
    let text =
        usize::try_from(step).ok().and_then(|n| n.checked_sub(1)).and_then(|i| playbook.steps.get(i)).ok_or_else(
            || FieldError::new("step", format!("The playbook for this alert has steps 1 to {}.", playbook.steps.len())),
        )?;
    let action = if done { STEP_DONE } else { STEP_UNDONE };
    ctx.db.record_alert_event(alert_id, ctx.actor, action, &step_detail(step as usize, text)).await?;
    tracing::info!(actor = ctx.actor, alert_id, step, done, "playbook step ticked");
    let history = ctx.db.alert_events(alert_id).await?;
    Ok(steps_done(&history, playbook.steps.len()))
}

/// Alerts and incidents are assigned only to active accounts whose role works on them; `field`
/// names the form field the refusal is about.
pub async fn check_assignee(ctx: Ctx<'_>, to: &str, field: &str) -> Result<()> {
    let refuse = |message: String| Err(FieldError::new(field, message).into());
    match ctx.db.user_by_username(to).await? {
        Some(u) if !u.disabled && Access::SOC.allows(u.role) => Ok(()),
        Some(u) if u.disabled => refuse(format!("{to}'s account is disabled.")),
        Some(u) => refuse(format!(
            "{to} is {} and cannot work on alerts; assign an analyst, responder or admin.",
            u.role.label().to_lowercase()
        )),
        None => refuse(format!("There is no user named {to}.")),
    }
}
