//! Suppression rules for the SOC roles: list, create, expire, delete. Changes are audited and
//! reach the pipeline at its next batch.

use crate::error::AppError;
use anomalyforge::suppression::{Suppression, SuppressionList};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Every rule, split into active and expired at the server's clock.
#[server(endpoint = "suppressions/list")]
pub async fn list_suppressions() -> Result<SuppressionList, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let now = anomalyforge::store::now_ms();
    Ok(SuppressionList::split(st.db.list_suppressions().await?, now))
}

/// Creates a rule; empty criteria are unset (at least one is needed), `expires_in_hours` empty
/// means until expired by hand.
#[server(endpoint = "suppressions/create")]
pub async fn create_suppression(
    src_ip: String,
    threat: String,
    asset_ip: String,
    reason: String,
    expires_in_hours: String,
) -> Result<Suppression, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let rule =
        anomalyforge::suppression::validate_suppression(&src_ip, &threat, &asset_ip, &reason, &expires_in_hours)?;
    save(&st, &me.username, &rule).await
}

#[server(endpoint = "suppressions/expire")]
pub async fn expire_suppression(id: i64) -> Result<Suppression, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let rule = st.db.expire_suppression(id).await?;
    changed(&st, &me.username, "suppression.expire", &rule).await?;
    Ok(rule)
}

#[server(endpoint = "suppressions/delete")]
pub async fn delete_suppression(id: i64) -> Result<(), AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    st.db.delete_suppression(id).await?;
    if let Some(e) = &st.enricher {
        e.invalidate();
    }
    st.db.audit(&me.username, "suppression.delete", &format!("#{id}"), "").await?;
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) async fn save(
    st: &crate::state::AppState,
    actor: &str,
    rule: &anomalyforge::suppression::NewSuppression,
) -> Result<Suppression, AppError> {
    let saved = st.db.create_suppression(rule, actor).await?;
    changed(st, actor, "suppression.create", &saved).await?;
    tracing::info!(actor, rule = saved.id, what = %saved.describe(), "suppression rule created");
    Ok(saved)
}

#[cfg(feature = "ssr")]
async fn changed(st: &crate::state::AppState, actor: &str, action: &str, rule: &Suppression) -> Result<(), AppError> {
    if let Some(e) = &st.enricher {
        e.invalidate();
    }
    st.db.audit(actor, action, &format!("#{}", rule.id), &format!("{}; {}", rule.describe(), rule.reason)).await?;
    Ok(())
}
