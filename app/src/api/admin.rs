//! User and API-token administration (admin only). Every action is written to the audit trail.

use crate::error::AppError;
use anomalyforge::api_token::{ApiToken, CreatedApiToken, TokenList};
use anomalyforge::audit::AuditEntry;
use anomalyforge::live::ReplayStatus;
use anomalyforge::role::Role;
use anomalyforge::user::User;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {
    super::ssr::authorize,
    anomalyforge::{commands::users, role::Access},
};

#[server(endpoint = "admin/list_users", output = crate::json::Reply)]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let (st, _) = authorize(Access::ADMIN).await?;
    Ok(st.db.list_users().await?)
}

#[server(endpoint = "admin/create_user", output = crate::json::Reply)]
pub async fn create_user(
    username: String,
    display_name: String,
    role: Role,
    password: String,
) -> Result<User, AppError> {
    use anomalyforge::user::NewUser;
    let (st, me) = authorize(Access::ADMIN).await?;
    // The admin knows this password: its owner chooses their own at the first sign-in.
    let new = NewUser { username, display_name, role, password, must_change_password: true };
    Ok(users::create(st.command(&me), new).await?)
}

#[server(endpoint = "admin/set_role", output = crate::json::Reply)]
pub async fn set_role(user_id: i64, role: Role) -> Result<User, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(users::set_role(st.command(&me), user_id, role).await?)
}

#[server(endpoint = "admin/set_disabled", output = crate::json::Reply)]
pub async fn set_disabled(user_id: i64, disabled: bool) -> Result<User, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(users::set_disabled(st.command(&me), user_id, disabled).await?)
}

#[server(endpoint = "admin/audit", output = crate::json::Reply)]
pub async fn recent_audit() -> Result<Vec<AuditEntry>, AppError> {
    let (st, _) = authorize(Access::ADMIN).await?;
    Ok(st.db.recent_audit(50).await?)
}

#[server(endpoint = "admin/list_api_tokens", output = crate::json::Reply)]
pub async fn list_api_tokens() -> Result<TokenList, AppError> {
    let (st, _) = authorize(Access::ADMIN).await?;
    Ok(TokenList { now: anomalyforge::store::now_ms(), tokens: st.db.list_api_tokens().await? })
}

/// Creates an API token with `scopes` (`ingest,read`…) that expires after `expires_in_days` (empty:
/// never); the reply carries its value, which is never shown again.
#[server(endpoint = "admin/create_api_token", output = crate::json::Reply)]
pub async fn create_api_token(
    name: String,
    scopes: String,
    expires_in_days: String,
) -> Result<CreatedApiToken, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    let days = match expires_in_days.trim() {
        "" | "never" => None,
        d => Some(d.parse::<u32>().map_err(|_| {
            anomalyforge::validate::FieldError::new("expires_in_days", format!("`{d}` is not a number of days."))
        })?),
    };
    let req = anomalyforge::auth::TokenRequest { name: &name, scopes: &scopes, expires_in_days: days };
    Ok(anomalyforge::auth::create_api_token(&st.db, req, &me.username).await?)
}

#[server(endpoint = "admin/revoke_api_token", output = crate::json::Reply)]
pub async fn revoke_api_token(token_id: i64) -> Result<ApiToken, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(anomalyforge::auth::revoke_api_token(&st.db, token_id, &me.username).await?)
}

/// The state of the traffic replay (recorded CIC-IDS2017 flows sent through the pipeline).
#[server(endpoint = "admin/replay_status", output = crate::json::Reply)]
pub async fn replay_state() -> Result<ReplayStatus, AppError> {
    let (st, _) = authorize(Access::ADMIN).await?;
    Ok(replay_of(&st)?.status())
}

/// Starts the replay, stops it, or sets its speed (`action` = `start`, `stop` or `speed`; `speed` is
/// the text of the form's field, so that anything typed gets a message naming it).
#[server(endpoint = "admin/replay_control", output = crate::json::Reply)]
pub async fn replay_control(action: String, speed: Option<String>) -> Result<ReplayStatus, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    let replay = replay_of(&st)?;
    Ok(anomalyforge::commands::replay::control(st.command(&me), &replay, &action, speed.as_deref()).await?)
}

#[cfg(feature = "ssr")]
fn replay_of(st: &crate::state::AppState) -> Result<anomalyforge::replay::Replay, AppError> {
    st.replay.clone().ok_or_else(|| {
        AppError::Conflict("The replay is unavailable: ingest is off on this server (AF_INGEST=false).".into())
    })
}
