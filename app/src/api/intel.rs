//! Threat intel for the pages: `/intel` (sources, indicators, import; admins manage them) and the
//! IOC check on `/hunt/ioc`. Thin: each function authorizes and calls the domain
//! (`anomalyforge::intel::{import, ioc, manage}`), which audits and reloads live matching.

use crate::error::AppError;
use anomalyforge::intel::catalog::{ImportReport, IndicatorPage, IntelSource, IocCheck};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// The sources, and whether the viewer may manage them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelOverview {
    pub sources: Vec<IntelSource>,
    pub can_manage: bool,
}

#[server(endpoint = "intel/sources", output = crate::json::Reply)]
pub async fn intel_sources() -> Result<IntelOverview, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let sources = st.db.intel_sources(anomalyforge::store::now_ms()).await?;
    Ok(IntelOverview { sources, can_manage: Access::ADMIN.allows(me.role) })
}

/// A page of indicators: `source` an id or empty, `text` part of the value, `kind` and `state`
/// their names or empty.
#[server(endpoint = "intel/indicators", output = crate::json::Reply)]
pub async fn intel_indicators(
    source: String,
    text: String,
    kind: String,
    state: String,
    page: u32,
) -> Result<IndicatorPage, AppError> {
    use anomalyforge::intel::catalog::IndicatorState;
    use anomalyforge::intel::IndicatorKind;
    use anomalyforge::store::intel::IndicatorQuery;
    let (st, _) = authorize(Access::SOC).await?;
    let invalid = |field: &str, message: String| AppError::Invalid { field: field.into(), message };
    let q = IndicatorQuery {
        source_id: match source.trim() {
            "" => None,
            s => Some(s.parse().map_err(|_| invalid("source", format!("`{s}` is not a source id.")))?),
        },
        text: text.chars().take(256).collect(),
        kind: match kind.trim() {
            "" => None,
            k => Some(
                IndicatorKind::ALL
                    .into_iter()
                    .find(|x| x.as_str() == k)
                    .ok_or_else(|| invalid("kind", format!("`{k}` is not a kind of indicator.")))?,
            ),
        },
        state: match state.trim() {
            "" => None,
            s => Some(IndicatorState::parse(s).ok_or_else(|| invalid("state", format!("`{s}` is not a state.")))?),
        },
        page: page.max(1),
    };
    Ok(st.db.intel_indicators(&q, anomalyforge::store::now_ms()).await?)
}

/// Imports pasted or uploaded text into `source` (created if new). Empty fields keep the source's
/// settings; `expiry_days` takes a number or `never`.
#[server(endpoint = "intel/import", output = crate::json::Reply)]
pub async fn import_intel(
    source: String,
    format: String,
    confidence: String,
    expiry_days: String,
    text: String,
) -> Result<ImportReport, AppError> {
    use anomalyforge::intel::import::{import, ImportRequest};
    use anomalyforge::intel::IntelFormat;
    let (st, me) = authorize(Access::SOC).await?;
    let invalid = |field: &str, message: String| AppError::Invalid { field: field.into(), message };
    if text.trim().is_empty() {
        return Err(invalid("text", "Paste the indicators, or choose a file.".into()));
    }
    let req = ImportRequest {
        source: source.trim().to_string(),
        format: match format.trim() {
            "" | "auto" => None,
            f => Some(IntelFormat::from_name(f).ok_or_else(|| invalid("format", format!("`{f}` is not a format.")))?),
        },
        confidence: match confidence.trim() {
            "" => None,
            c => Some(
                c.parse::<u8>()
                    .ok()
                    .filter(|c| *c <= 100)
                    .ok_or_else(|| invalid("confidence", format!("`{c}` is not a confidence from 0 to 100.")))?,
            ),
        },
        expiry_days: match expiry_days.trim() {
            "" => None,
            "never" => Some(None),
            d => Some(Some(d.parse::<u32>().ok().filter(|d| (1..=3660).contains(d)).ok_or_else(|| {
                invalid("expiry_days", format!("`{d}` is not a number of days from 1 to 3660, or never."))
            })?)),
        },
        text,
        ..ImportRequest::default()
    };
    Ok(import(&st.db, &st.intel_context(), req, &me.username).await?)
}

/// Enables, disables, expires or deletes a source (admins).
#[server(endpoint = "intel/source", output = crate::json::Reply)]
pub async fn change_intel_source(id: i64, action: String) -> Result<String, AppError> {
    use anomalyforge::intel::catalog::SourceAction;
    let (st, me) = authorize(Access::ADMIN).await?;
    let action = SourceAction::parse(&action).ok_or_else(|| AppError::Invalid {
        field: "action".into(),
        message: format!("`{action}` is not an action."),
    })?;
    Ok(anomalyforge::intel::manage::change_source(&st.db, st.enricher.as_deref(), id, action, &me.username).await?)
}

/// Enables, disables or expires one indicator (admins).
#[server(endpoint = "intel/indicator", output = crate::json::Reply)]
pub async fn change_intel_indicator(id: i64, action: String) -> Result<String, AppError> {
    use anomalyforge::intel::catalog::IndicatorAction;
    let (st, me) = authorize(Access::ADMIN).await?;
    let action = IndicatorAction::parse(&action).ok_or_else(|| AppError::Invalid {
        field: "action".into(),
        message: format!("`{action}` is not an action."),
    })?;
    Ok(anomalyforge::intel::manage::change_indicator(&st.db, st.enricher.as_deref(), id, action, &me.username).await?)
}

/// Everything known about one value; `None` for an empty one (nothing asked yet).
#[server(endpoint = "hunt/ioc", output = crate::json::Reply)]
pub async fn check_ioc(value: String) -> Result<Option<IocCheck>, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    let found = anomalyforge::intel::ioc::check(&st.db, st.enricher.as_deref(), &value, anomalyforge::store::now_ms())
        .await
        .map_err(|e| match e {
            anomalyforge::intel::import::IntelError::Invalid(message) => {
                AppError::Invalid { field: "value".into(), message }
            }
            other => other.into(),
        })?;
    Ok(Some(found))
}
