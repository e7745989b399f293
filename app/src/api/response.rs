//! Response actions for the SOC roles: the list (everyone in the SOC reads it), and requesting,
//! approving, rejecting and lifting (the roles of the deployment's `[response]` policy; a kind that
//! needs approval waits for a second person). Each change is one transaction in the domain
//! (`anomalyforge::store::response`), with its audit row and timeline entries.

use crate::error::AppError;
use anomalyforge::response::{ActionList, ResponseAction};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ssr::authorize,
    anomalyforge::response::{ResponseAccess, ResponsePolicy},
    anomalyforge::role::{Access, Role},
    anomalyforge::store::now_ms,
};

/// What `role` may do under the deployment's policy, with `actions`.
#[cfg(feature = "ssr")]
pub(crate) fn access(st: &crate::state::AppState, role: Role, actions: Vec<ResponseAction>) -> ResponseAccess {
    let policy: &ResponsePolicy = &st.config.response;
    ResponseAccess { actions, may_act: policy.may_act(role), approval: policy.approval.clone(), now: now_ms() }
}

/// The signed-in user, when the policy lets their role act; 403 otherwise.
#[cfg(feature = "ssr")]
async fn actor() -> Result<(crate::state::AppState, anomalyforge::user::CurrentUser), AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    if !st.config.response.may_act(me.role) {
        return Err(AppError::Forbidden);
    }
    Ok((st, me))
}

/// What waits for approval, what is in force, and what ended (newest first).
#[server(endpoint = "response/list", output = crate::json::Reply)]
pub async fn list_actions() -> Result<ActionList, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let now = now_ms();
    let (pending, active, ended) = st.db.response_actions(now).await?;
    let policy = &st.config.response;
    Ok(ActionList { pending, active, ended, now, may_act: policy.may_act(me.role), approval: policy.approval.clone() })
}

/// Requests an action: `kind` block, isolate or manual; `target` the address or network, the host,
/// or what was acted on; `hours` empty for until lifted; `incident` and `alert` what it answers
/// (either may be empty). In force at once unless the policy wants a second person's approval.
#[server(endpoint = "response/request", output = crate::json::Reply)]
pub async fn request_action(
    kind: String,
    target: String,
    reason: String,
    #[server(default)] hours: String,
    #[server(default)] incident: String,
    #[server(default)] alert: String,
) -> Result<ResponseAction, AppError> {
    let (st, me) = actor().await?;
    let new = anomalyforge::response::NewAction::from_form(&kind, &target, &reason, &hours, &incident, &alert)?;
    let pending = st.config.response.needs_approval(new.kind);
    Ok(st.db.request_action(&me.username, &new, pending, now_ms()).await?)
}

/// Approves a pending action (not one's own): it is in force from now for its duration.
#[server(endpoint = "response/approve", output = crate::json::Reply)]
pub async fn approve_action(id: i64) -> Result<ResponseAction, AppError> {
    let (st, me) = actor().await?;
    Ok(st.db.approve_action(id, &me.username, now_ms()).await?)
}

/// Turns down (or withdraws) a pending action, with why.
#[server(endpoint = "response/reject", output = crate::json::Reply)]
pub async fn reject_action(id: i64, #[server(default)] note: String) -> Result<ResponseAction, AppError> {
    let (st, me) = actor().await?;
    Ok(st.db.reject_action(id, &me.username, &note_of(&note)?, now_ms()).await?)
}

/// Lifts an action in force before its expiry, with why.
#[server(endpoint = "response/lift", output = crate::json::Reply)]
pub async fn lift_action(id: i64, #[server(default)] note: String) -> Result<ResponseAction, AppError> {
    let (st, me) = actor().await?;
    Ok(st.db.lift_action(id, &me.username, &note_of(&note)?, now_ms()).await?)
}

#[cfg(feature = "ssr")]
fn note_of(note: &str) -> Result<String, AppError> {
    let note = note.trim();
    if note.chars().count() > anomalyforge::response::MAX_REASON {
        return Err(AppError::Invalid {
            field: "note".into(),
            message: format!("Use at most {} characters.", anomalyforge::response::MAX_REASON),
        });
    }
    Ok(note.to_string())
}
