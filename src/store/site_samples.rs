//! The `site_samples` table: each instance's sample of scored flows, shared for learning the
//! network's normal ([`crate::baseline::shared`]).

use super::{Db, Result};
use sqlx::Row;

impl Db {
    /// Writes (or replaces) sample `id`.
    pub async fn put_site_sample(&self, id: &str, now: i64, sample: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO site_samples (id, updated_at, sample) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, sample = excluded.sample",
        )
        .bind(id.to_string())
        .bind(now)
        .bind(sample.to_vec())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Samples written at or after `since`, but `except`'s: (id, stored form), oldest first.
    pub async fn site_samples_since(&self, since: i64, except: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT id, sample FROM site_samples WHERE updated_at >= $1 AND id <> $2 ORDER BY updated_at, id",
        )
        .bind(since)
        .bind(except.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("sample")?))).collect()
    }

    /// Deletes samples last written before `before`; returns how many.
    pub async fn prune_site_samples(&self, before: i64) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM site_samples WHERE updated_at < $1").bind(before).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
