//! Whether the data on the pages includes demo mode's generated history (any signed-in user).

use crate::error::AppError;
use anomalyforge::demo::DemoHistory;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// What demo mode generated in this database, or `None` when nothing was.
#[server(endpoint = "demo/history", output = crate::json::Reply)]
pub async fn generated_history() -> Result<Option<DemoHistory>, AppError> {
    let (st, _) = authorize(Access::SIGNED_IN).await?;
    Ok(st.db.demo_history().await?)
}
