//! Playbooks: a responder rewrites one threat's title, summary and steps.

use super::{Ctx, Result};
use crate::playbook::{validate_playbook, Playbook};
use crate::validate::FieldError;

/// Replaces the playbook of `threat` (`steps`: one per line), audited as `playbook.update`.
pub async fn update(ctx: Ctx<'_>, threat: &str, title: &str, summary: &str, steps: &str) -> Result<Playbook> {
    let (title, summary, steps) = validate_playbook(title, summary, steps)?;
    let user = ctx.actor_id.ok_or_else(|| FieldError::new("user", "Sign in to edit playbooks."))?;
    let p = ctx.db.update_playbook(threat, &title, &summary, &steps, (user, ctx.actor)).await?;
    tracing::info!(actor = ctx.actor, threat = %p.threat, steps = p.steps.len(), "playbook updated");
    Ok(p)
}
