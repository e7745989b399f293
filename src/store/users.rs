//! The `users` table.

use super::{audit, get_bool, is_unique_violation, now_ms, Db, Result, StoreError};
use crate::audit::AuditAction;
use crate::role::Role;
use crate::user::User;
use sqlx::any::AnyRow;
use sqlx::Row;

/// What sign-in needs to know about an account. Holds the password hash, so it is never
/// serialised and never leaves the server.
#[derive(Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, username, display_name, role, disabled, created_at, last_login_at, must_change_password";

fn user_from_row(row: &AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: role.parse().map_err(|e: crate::role::UnknownRole| StoreError::Corrupt {
            column: "users.role",
            detail: e.to_string(),
        })?,
        disabled: get_bool(row, "disabled")?,
        created_at: row.try_get("created_at")?,
        last_login_at: row.try_get("last_login_at")?,
        must_change_password: get_bool(row, "must_change_password")?,
    })
}

impl Db {
    /// Inserts a user whose fields are already validated and whose password is already hashed.
    /// Audited as `user.create` by `by` in the same transaction; `None` (start-up, seeding) is not.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        password_hash: &str,
        must_change_password: bool,
        by: Option<&str>,
    ) -> Result<User> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO users (username, display_name, password_hash, role, disabled, created_at, updated_at, must_change_password) \
             VALUES ($1, $2, $3, $4, 0, $5, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(username)
        .bind(display_name)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .bind(i64::from(must_change_password))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("A user named `{username}` already exists."))
            } else {
                e.into()
            }
        })?;
        let user = user_from_row(&row)?;
        if let Some(actor) = by {
            let detail = format!("role={}", user.role);
            audit::audit_in(&mut tx, now, actor, AuditAction::UserCreate, &user.username, &detail).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username")).fetch_all(self.pool()).await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?.try_get("n")?)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user #{id}")))?;
        user_from_row(&row)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn credentials(&self, username: &str) -> Result<Option<Credentials>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS}, password_hash FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(Credentials { user: user_from_row(&r)?, password_hash: r.try_get("password_hash")? }))
            .transpose()
    }

    /// Number of enabled admins other than `except`.
    async fn other_active_admins(&self, except: i64) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id <> $1")
            .bind(except)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// Changes a role, audited as `user.set_role` by `by` in the same transaction (`None`: start-up,
    /// not audited). Refuses to demote the last active admin.
    pub async fn set_role(&self, id: i64, role: Role, by: Option<&str>) -> Result<User> {
        let user = self.user_by_id(id).await?;
        if user.role == Role::Admin && role != Role::Admin && !user.disabled && self.other_active_admins(id).await? == 0
        {
            return Err(StoreError::Invalid("The last active administrator cannot lose the admin role.".into()));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(actor) = by {
            audit::audit_in(&mut tx, now, actor, AuditAction::UserSetRole, &user.username, &format!("role={role}"))
                .await?;
        }
        tx.commit().await?;
        self.sessions_changed();
        self.user_by_id(id).await
    }

    /// Disables or re-enables an account. Disabling ends its sessions. Refuses to disable the
    /// last active admin. Audited as `user.disable` or `user.enable` by `by` in the same
    /// transaction (`None`: start-up, not audited).
    pub async fn set_disabled(&self, id: i64, disabled: bool, by: Option<&str>) -> Result<User> {
        let user = self.user_by_id(id).await?;
        if disabled && user.role == Role::Admin && !user.disabled && self.other_active_admins(id).await? == 0 {
            return Err(StoreError::Invalid("The last active administrator cannot be disabled.".into()));
        }
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(disabled))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        if let Some(actor) = by {
            let action = if disabled { AuditAction::UserDisable } else { AuditAction::UserEnable };
            audit::audit_in(&mut tx, now, actor, action, &user.username, "").await?;
        }
        tx.commit().await?;
        self.sessions_changed();
        self.user_by_id(id).await
    }

    /// Replaces a password hash and ends the account's sessions, audited as `user.reset_password`
    /// by `by` in the same transaction (`None`: start-up, not audited).
    pub async fn set_password_hash(&self, id: i64, password_hash: &str, by: Option<&str>) -> Result<()> {
        self.replace_password(id, password_hash, None, by).await
    }

    /// A user's own new password: stored, the must-change flag cleared, and every other session of the
    /// user ended (a thief's session does not outlive the change), in one transaction with its
    /// audit row (`user.password_change` by `username`, the owner).
    pub async fn change_own_password(
        &self,
        id: i64,
        password_hash: &str,
        keep_session_hash: &str,
        username: &str,
    ) -> Result<()> {
        self.replace_password(id, password_hash, Some(keep_session_hash), Some(username)).await
    }

    /// The password hash of a user, for checking their current password.
    pub async fn password_hash(&self, id: i64) -> Result<String> {
        Ok(sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user #{id}")))?
            .try_get("password_hash")?)
    }

    /// Stores a new hash and ends the user's sessions (all, or all but `keep_session_hash`, the owner's
    /// own change, which also clears the must-change flag) in one transaction.
    async fn replace_password(
        &self,
        id: i64,
        password_hash: &str,
        keep_session_hash: Option<&str>,
        by: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2, \
             must_change_password = CASE WHEN $4 THEN 0 ELSE must_change_password END WHERE id = $3",
        )
        .bind(password_hash)
        .bind(now)
        .bind(id)
        .bind(keep_session_hash.is_some())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user #{id}")));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(id)
            .bind(keep_session_hash.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        if let Some(actor) = by {
            let username: String = sqlx::query("SELECT username FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("username")?;
            let (action, detail) = match keep_session_hash {
                Some(_) => (AuditAction::UserPasswordChange, "own password; other sessions ended"),
                None => (AuditAction::UserResetPassword, ""),
            };
            audit::audit_in(&mut tx, now, actor, action, &username, detail).await?;
        }
        tx.commit().await?;
        self.sessions_changed();
        Ok(())
    }

    pub async fn record_login(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
