//! Accounts: created, given a role, disabled and enabled, their password reset. The admin page
//! and `anomalyforge user …` both come here, so both are audited the same way.

use super::{CommandError, Ctx, Result};
use crate::auth;
use crate::role::Role;
use crate::store::StoreError;
use crate::user::{NewUser, User};
use crate::validate::FieldError;

/// Validates and creates an account, audited as `user.create`.
pub async fn create(ctx: Ctx<'_>, new: NewUser) -> Result<User> {
    let user = auth::create_user(ctx.db, new, Some(ctx.actor)).await?;
    tracing::info!(actor = ctx.actor, user = %user.username, role = %user.role, "user created");
    Ok(user)
}

/// Gives user `id` another role, audited as `user.set_role`. The last active admin keeps theirs.
pub async fn set_role(ctx: Ctx<'_>, id: i64, role: Role) -> Result<User> {
    let user = ctx.db.set_role(id, role, Some(ctx.actor)).await?;
    tracing::info!(actor = ctx.actor, user = %user.username, role = %role, "role changed");
    Ok(user)
}

/// Disables (ending its sessions) or enables user `id`, audited as `user.disable` or
/// `user.enable`. Nobody disables their own account, nor the last active admin.
pub async fn set_disabled(ctx: Ctx<'_>, id: i64, disabled: bool) -> Result<User> {
    if disabled && ctx.actor_id == Some(id) {
        return Err(FieldError::new("user_id", "You cannot disable your own account.").into());
    }
    let user = ctx.db.set_disabled(id, disabled, Some(ctx.actor)).await?;
    tracing::info!(actor = ctx.actor, user = %user.username, disabled, "account status changed");
    Ok(user)
}

/// Sets a new password for `username` and ends their sessions, audited as `user.reset_password`.
pub async fn reset_password(ctx: Ctx<'_>, username: &str, password: String) -> Result<User> {
    let user = auth::reset_password(ctx.db, username, password, Some(ctx.actor)).await?;
    tracing::info!(actor = ctx.actor, user = %user.username, "password reset");
    Ok(user)
}

/// The account named `username` (any case), or `NotFound` naming it.
pub async fn by_name(ctx: Ctx<'_>, username: &str) -> Result<User> {
    ctx.db
        .user_by_username(&username.trim().to_ascii_lowercase())
        .await?
        .ok_or_else(|| CommandError::Store(StoreError::NotFound(format!("user `{username}`"))))
}
