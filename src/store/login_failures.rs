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
    pub async fn record_login_failure(&self, username: &str, ip: &str) -> Result<()> {
        sqlx::query("INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)")
            .bind(username)
            .bind(ip)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn login_failures_for_account(&self, username: &str, since: i64) -> Result<FailureCount> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures WHERE username = $1 AND at > $2")
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
        Ok(sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(before).execute(self.pool()).await?.rows_affected())
    }
}
