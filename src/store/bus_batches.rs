//! Batches stored from the ingest bus ([`crate::bus`]), by id: the record that makes a redelivered
//! batch a no-op. A batch's row is written in the same transaction as its alerts and statistics
//! ([`Db::persist_batch`]), so "stored" and "remembered as stored" cannot disagree.

use super::{Db, Result};

impl Db {
    /// Whether the bus batch `id` is already stored.
    pub async fn bus_batch_stored(&self, id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_batches WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// Forgets stored bus batches older than `before` (unix ms); the stream's redelivery horizon is far
    /// shorter.
    pub async fn prune_bus_batches(&self, before: i64) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM bus_batches WHERE stored_at < $1").bind(before).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}

/// Records `id` as stored inside the batch's transaction; false when it already was.
pub(super) async fn claim(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: &str, records: i64, now: i64) -> Result<bool> {
    let done =
        sqlx::query("INSERT INTO bus_batches (id, records, stored_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id.to_string())
            .bind(records)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}
