//! The model registry's shared state ([`crate::model_registry`]): retrained and learned versions with
//! their files, the number a model job claims when it starts, and the cluster's active version. With
//! several instances on one PostgreSQL, this is what makes a version trained on one instance run on
//! all of them.

use super::{Db, Result};
use sqlx::Row;

/// `model_versions.state` of a number a running job holds.
const BUILDING: &str = "building";
/// `model_versions.state` of a finished version, with its files.
const READY: &str = "ready";
/// Tries before a claim gives up: each try loses only to a job that claimed the same number at the
/// same moment on another instance.
const CLAIM_TRIES: u32 = 20;

/// The cluster's choice of the active version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveModel {
    pub version: String,
    pub changed_by: String,
    /// Unix ms.
    pub changed_at: i64,
    /// Switches so far; each one increments it.
    pub generation: i64,
}

/// A finished version to store: its number, who made it, and its files by relative path.
#[derive(Debug, Clone, Copy)]
pub struct NewModelVersion<'a> {
    pub number: u64,
    pub created_by: &'a str,
    pub created_at: i64,
    pub files: &'a [(String, Vec<u8>)],
}

impl Db {
    /// Claims the next version number, above every stored or claimed one and above `at_least` (the
    /// instance's own directories), for a model job that starts now. Two instances' jobs never get
    /// the same number.
    pub async fn claim_model_number(&self, created_by: &str, at_least: u64, now: i64) -> Result<u64> {
        for _ in 0..CLAIM_TRIES {
            let max: Option<i64> =
                sqlx::query_scalar("SELECT MAX(number) FROM model_versions").fetch_one(self.pool()).await?;
            let number = (max.unwrap_or(0).max(0) as u64).max(at_least) + 1;
            let done = sqlx::query(
                "INSERT INTO model_versions (id, number, state, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(format!("r{number}"))
            .bind(number as i64)
            .bind(BUILDING)
            .bind(created_by.to_string())
            .bind(now)
            .execute(self.pool())
            .await?;
            if done.rows_affected() == 1 {
                return Ok(number);
            }
        }
        Err(super::StoreError::Conflict(format!(
            "no model version number could be claimed in {CLAIM_TRIES} tries: other instances keep taking them"
        )))
    }

    /// Gives up the claim of a job that failed (a stored version is never removed).
    pub async fn drop_model_claim(&self, number: u64) -> Result<()> {
        sqlx::query("DELETE FROM model_versions WHERE number = $1 AND state = $2")
            .bind(number as i64)
            .bind(BUILDING)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Stores a finished version and its files in one transaction: the job's claim becomes the
    /// version, or, for a version made before versions were stored here, a new row. False when a
    /// finished version of that number is already stored; it is left as it is.
    pub async fn store_model_version(&self, v: NewModelVersion<'_>) -> Result<bool> {
        let id = format!("r{}", v.number);
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "INSERT INTO model_versions (id, number, state, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET state = $3, created_by = $4, created_at = $5 \
             WHERE model_versions.state = $6",
        )
        .bind(id.clone())
        .bind(v.number as i64)
        .bind(READY)
        .bind(v.created_by.to_string())
        .bind(v.created_at)
        .bind(BUILDING)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        for (path, bytes) in v.files {
            sqlx::query("INSERT INTO model_files (version, path, bytes) VALUES ($1, $2, $3)")
                .bind(id.clone())
                .bind(path.clone())
                .bind(bytes.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The ids of the stored versions (`r<N>`), by number.
    pub async fn stored_model_versions(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM model_versions WHERE state = $1 ORDER BY number")
            .bind(READY)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// A stored version's files, by relative path (none for an unknown or unfinished one).
    pub async fn model_version_files(&self, id: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT f.path, f.bytes FROM model_files f JOIN model_versions v ON v.id = f.version \
             WHERE f.version = $1 AND v.state = $2 ORDER BY f.path",
        )
        .bind(id.to_string())
        .bind(READY)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("path")?, r.try_get("bytes")?))).collect()
    }

    /// The cluster's active version; the first instance records `initial` (by `changed_by`) when
    /// nothing was chosen yet.
    pub async fn init_active_model(&self, initial: &str, changed_by: &str, now: i64) -> Result<ActiveModel> {
        sqlx::query(
            "INSERT INTO model_active (slot, version, changed_by, changed_at, generation) VALUES (1, $1, $2, $3, 0) \
             ON CONFLICT (slot) DO NOTHING",
        )
        .bind(initial.to_string())
        .bind(changed_by.to_string())
        .bind(now)
        .execute(self.pool())
        .await?;
        self.active_model().await?.ok_or_else(|| super::StoreError::NotFound("the active model version".into()))
    }

    /// The cluster's active version, once [`Db::init_active_model`] has recorded one.
    pub async fn active_model(&self) -> Result<Option<ActiveModel>> {
        let row = sqlx::query("SELECT version, changed_by, changed_at, generation FROM model_active WHERE slot = 1")
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(ActiveModel {
                version: r.try_get("version")?,
                changed_by: r.try_get("changed_by")?,
                changed_at: r.try_get("changed_at")?,
                generation: r.try_get("generation")?,
            })
        })
        .transpose()
    }

    /// Makes `version` the cluster's active one and returns the new generation. With `expected`, only
    /// if that is still the active version (a finished job switches only from the version it
    /// started from); `None` when it no longer is.
    pub async fn set_active_model(
        &self,
        version: &str,
        changed_by: &str,
        now: i64,
        expected: Option<&str>,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "UPDATE model_active SET version = $1, changed_by = $2, changed_at = $3, generation = generation + 1 \
             WHERE slot = 1 AND ($4 = 0 OR version = $5) RETURNING generation",
        )
        .bind(version.to_string())
        .bind(changed_by.to_string())
        .bind(now)
        .bind(i64::from(expected.is_some()))
        .bind(expected.unwrap_or_default().to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(r.try_get("generation")?)).transpose()
    }
}
