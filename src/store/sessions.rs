//! Server-side sessions. The cookie holds a random token; the table holds only its SHA-256, so a
//! copy of the database does not let anyone sign in.

use super::{now_ms, Db, Result};
use crate::role::Role;
use crate::user::CurrentUser;
use sqlx::Row;

impl Db {
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        ttl_ms: i64,
        ip: &str,
        user_agent: &str,
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(now + ttl_ms)
        .bind(ip)
        .bind(user_agent)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The user of a live session: not expired, account not disabled. The role is read from the
    /// account each time, so a role change applies at once.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<CurrentUser>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.must_change_password FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let Ok(role) = role.parse::<Role>() else { return Ok(None) };
        Ok(Some(CurrentUser {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            role,
            must_change_password: super::get_bool(&row, "must_change_password")?,
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(self.pool()).await?;
        self.sessions_changed();
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn prune_sessions(&self) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Test and operator helper: moves a session's expiry.
    pub async fn set_session_expiry(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE token_hash = $2")
            .bind(expires_at)
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
