//! Suppression rules for the SOC roles: list, create, expire, delete. Changes are audited and
//! reach the pipeline at its next batch.

use crate::error::AppError;
use anomalyforge::suppression::{Suppression, SuppressionList};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::commands::suppressions, anomalyforge::role::Access};

/// Every rule, split into active and expired at the server's clock.
#[server(endpoint = "suppressions/list", output = crate::json::Reply)]
pub async fn list_suppressions() -> Result<SuppressionList, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let now = anomalyforge::store::now_ms();
    Ok(SuppressionList::split(st.db.list_suppressions().await?, now))
}

/// Creates a rule; empty criteria are unset (at least one is needed), `expires_in_hours` empty
/// means until expired by hand.
#[server(endpoint = "suppressions/create", output = crate::json::Reply)]
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
    Ok(suppressions::create(st.command(&me), &rule).await?)
}

#[server(endpoint = "suppressions/expire", output = crate::json::Reply)]
pub async fn expire_suppression(id: i64) -> Result<Suppression, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(suppressions::expire(st.command(&me), id).await?)
}

#[server(endpoint = "suppressions/delete", output = crate::json::Reply)]
pub async fn delete_suppression(id: i64) -> Result<(), AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(suppressions::delete(st.command(&me), id).await?)
}
