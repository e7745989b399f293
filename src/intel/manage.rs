//! An admin's changes to threat intel (server only): switching a source or an indicator on or off,
//! expiring them, deleting an imported source. Each change is audited and reaches live matching at
//! once (the enricher reloads its indicators).

use super::catalog::{IndicatorAction, SourceAction};
use super::import::IntelError;
use crate::enrich::Enricher;
use crate::store::{now_ms, Db};

/// Applies `action` to source `id` as `actor`; returns what was done, in words.
pub async fn change_source(
    db: &Db,
    enricher: Option<&Enricher>,
    id: i64,
    action: SourceAction,
    actor: &str,
) -> Result<String, IntelError> {
    let done = match action {
        SourceAction::Enable | SourceAction::Disable => {
            let s = db.set_intel_source_enabled(id, action == SourceAction::Enable).await?;
            format!("{} is {}.", s.name, if s.enabled { "enabled" } else { "disabled: none of its indicators match" })
        }
        SourceAction::Expire => {
            let n = db.expire_intel_source(id, now_ms()).await?;
            format!("{n} indicators of source {id} expired.")
        }
        SourceAction::Delete => {
            let s = db.delete_intel_source(id).await?;
            format!("{} and its {} indicators were deleted.", s.name, s.indicators)
        }
    };
    db.audit(actor, action.into(), &id.to_string(), &done).await?;
    crate::commands::Caches::new(enricher).enrichment_changed();
    tracing::info!(actor, source = id, action = action.as_str(), "intel source changed");
    Ok(done)
}

/// Applies `action` to indicator `id` as `actor`; returns what was done, in words.
pub async fn change_indicator(
    db: &Db,
    enricher: Option<&Enricher>,
    id: i64,
    action: IndicatorAction,
    actor: &str,
) -> Result<String, IntelError> {
    let row = match action {
        IndicatorAction::Enable | IndicatorAction::Disable => {
            db.set_indicator_enabled(id, action == IndicatorAction::Enable).await?
        }
        IndicatorAction::Expire => db.expire_indicator(id, now_ms()).await?,
    };
    let done = format!("{} ({}) is {} now.", row.value, row.source, row.state.as_str());
    db.audit(actor, action.into(), &row.value, &done).await?;
    crate::commands::Caches::new(enricher).enrichment_changed();
    tracing::info!(actor, indicator = id, action = action.as_str(), "intel indicator changed");
    Ok(done)
}
