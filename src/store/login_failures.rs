//! Failed sign-in attempts, kept to rate-limit guessing per account and per client address.
//! Stored in the database so that several server instances on one PostgreSQL share the limit.

use super::{now_ms, Db, Result};
use sqlx::Row;

/// Failures seen within a window, and when the oldest of them leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub count: i64,
    pub oldest_at: Option<i64>,
}

impl Db {
    /// Records a sign-in attempt as a failure (before its password is checked) and returns its id.
    pub async fn record_login_failure(&self, username: &str, ip: &str) -> Result<i64> {
        let row = sqlx::query("INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3) RETURNING id")
            .bind(username)
            .bind(ip)
            .bind(now_ms())
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Takes back an attempt that was refused before its password was checked.
    pub async fn forget_login_failure(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Whether `ip` is the address of the account's last successful sign-in.
    pub async fn is_last_login_address(&self, username: &str, ip: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE username = $1 AND last_login_ip = $2")
            .bind(username)
            .bind(ip)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    pub async fn set_last_login_address(&self, user_id: i64, ip: &str) -> Result<()> {
        sqlx::query("UPDATE users SET last_login_ip = $1 WHERE id = $2")
            .bind(ip)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn login_failures_for_account(&self, username: &str, since: i64) -> Result<FailureCount> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures WHERE username = $1 AND at > $2")
                .bind(username)
                .bind(since)
                .fetch_one(self.pool())
                .await?;
        Ok(FailureCount { count: row.try_get("n")?, oldest_at: row.try_get("oldest")? })
    }

    pub async fn login_failures_for_address(&self, ip: &str, since: i64) -> Result<FailureCount> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures WHERE ip = $1 AND at > $2")
            .bind(ip)
            .bind(since)
            .fetch_one(self.pool())
            .await?;
        Ok(FailureCount { count: row.try_get("n")?, oldest_at: row.try_get("oldest")? })
    }

    /// A successful sign-in clears the account's failures.
    pub async fn clear_login_failures(&self, username: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn prune_login_failures(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected())
    }
}
