//! Playbooks (`/playbooks`): read by analysts, responders and admins; changed by responders and
//! admins. Every change is written to the audit trail.

use crate::error::AppError;
use anomalyforge::playbook::Playbook;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

#[server(endpoint = "playbooks/list", output = crate::json::Reply)]
pub async fn list_playbooks() -> Result<Vec<Playbook>, AppError> {
    let (st, _) = authorize(Access::PLAYBOOKS).await?;
    Ok(st.db.list_playbooks().await?)
}

/// Replaces a playbook's title, summary and steps (`steps`: one per line).
#[server(endpoint = "playbooks/update", output = crate::json::Reply)]
pub async fn update_playbook(
    threat: String,
    title: String,
    summary: String,
    steps: String,
) -> Result<Playbook, AppError> {
    let (st, me) = authorize(Access::PLAYBOOK_EDIT).await?;
    Ok(anomalyforge::commands::playbooks::update(st.command(&me), &threat, &title, &summary, &steps).await?)
}
