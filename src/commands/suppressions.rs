//! Suppression rules: created (by hand, or from a false positive), expired, deleted. Each change is
//! audited in its transaction and reaches the pipeline's enrichment at the next batch.

use super::{Ctx, Result};
use crate::suppression::{NewSuppression, Suppression};

/// Stores a validated rule, audited as `suppression.create`.
pub async fn create(ctx: Ctx<'_>, rule: &NewSuppression) -> Result<Suppression> {
    let saved = ctx.db.create_suppression(rule, ctx.actor).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(actor = ctx.actor, rule = saved.id, what = %saved.describe(), "suppression rule created");
    Ok(saved)
}

/// Ends rule `id` now, audited as `suppression.expire`.
pub async fn expire(ctx: Ctx<'_>, id: i64) -> Result<Suppression> {
    let rule = ctx.db.expire_suppression(id, ctx.actor).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(actor = ctx.actor, rule = id, "suppression rule expired");
    Ok(rule)
}

/// Deletes rule `id`, audited as `suppression.delete`.
pub async fn delete(ctx: Ctx<'_>, id: i64) -> Result<()> {
    ctx.db.delete_suppression(id, ctx.actor).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(actor = ctx.actor, rule = id, "suppression rule deleted");
    Ok(())
}
