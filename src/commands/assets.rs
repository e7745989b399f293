//! The asset inventory: an asset saved by hand, or many imported from CSV. Audited, and the next
//! alerts' enrichment sees the change at once.

use super::{Ctx, Result};
use crate::asset::{validate_asset, Asset, AssetInput, ImportSummary};
use crate::validate::FieldError;

/// Creates an asset or edits one (by address), audited as `asset.save`. A discovered asset that is
/// saved counts as reviewed.
pub async fn save(ctx: Ctx<'_>, input: &AssetInput) -> Result<Asset> {
    let edit = validate_asset(input)?;
    let saved = ctx.db.upsert_asset(&(&edit).into(), Some(ctx.actor)).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(actor = ctx.actor, ip = %saved.ip, criticality = saved.criticality.as_str(), "asset saved");
    Ok(saved)
}

/// Imports CSV text (columns: `crate::asset_csv`). Valid rows are saved in one transaction with
/// the `asset.import` audit row; every other row is listed with its line and reason.
pub async fn import_csv(ctx: Ctx<'_>, csv: &str) -> Result<ImportSummary> {
    if csv.trim().is_empty() {
        return Err(FieldError::new("csv", "Paste the CSV text, header line first.").into());
    }
    let (edits, rejected) = crate::asset_csv::parse_csv(csv)
        .map_err(|m| FieldError::new("csv", format!("The CSV cannot be imported: {m}.")))?;
    let edits: Vec<_> = edits.into_iter().map(|(_, e)| e).collect();
    let (created, updated) = ctx.db.import_assets(&edits, Some(ctx.actor), rejected.len()).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(actor = ctx.actor, created, updated, rejected = rejected.len(), "assets imported");
    Ok(ImportSummary { created, updated, rejected })
}
