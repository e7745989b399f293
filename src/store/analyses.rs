//! The `analyses` table ([`crate::analysis`]): one row per kept file analysis, with its report.

use super::{Db, Result, StoreError};
use crate::analysis::{AnalysisReport, AnalysisSummary, FileFormat, ImportState, ImportStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str = "a.id, a.owner_id, u.username, a.file_name, a.format, a.created_at, a.expires_at, a.bytes, \
     a.records, a.rejected, a.alerts, a.model_version, a.import_status, a.import_by, a.import_started_at, \
     a.import_finished_at, a.import_records, a.import_created, a.import_updated, a.import_error";

/// A new analysis to keep.
#[derive(Debug, Clone)]
pub struct NewAnalysis<'a> {
    pub owner_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub bytes: i64,
    pub report: &'a AnalysisReport,
    /// Files stored with the row, by name (`input`, `rows.jsonl.gz`): read from these paths in
    /// [`CHUNK_BYTES`] chunks, in the row's transaction. Empty on SQLite (one instance: the files
    /// stay in its data directory alone).
    pub files: &'a [(&'a str, std::path::PathBuf)],
}

/// The size of every stored chunk of an analysis's file but its last.
pub const CHUNK_BYTES: usize = 1 << 20;

/// One analysis and who owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRow {
    pub owner_id: i64,
    pub summary: AnalysisSummary,
}

fn from_row(r: &AnyRow) -> Result<AnalysisRow> {
    let format: String = r.try_get("format")?;
    let import = match r.try_get::<Option<String>, _>("import_status")? {
        None => None,
        Some(s) => Some(ImportState {
            status: ImportStatus::parse(&s)
                .ok_or(StoreError::Corrupt { column: "analyses.import_status", detail: s.clone() })?,
            by: r.try_get::<Option<String>, _>("import_by")?.unwrap_or_default(),
            started_at: r.try_get::<Option<i64>, _>("import_started_at")?.unwrap_or_default(),
            finished_at: r.try_get("import_finished_at")?,
            records: r.try_get("import_records")?,
            alerts_created: r.try_get("import_created")?,
            alerts_updated: r.try_get("import_updated")?,
            error: r.try_get("import_error")?,
        }),
    };
    Ok(AnalysisRow {
        owner_id: r.try_get("owner_id")?,
        summary: AnalysisSummary {
            id: r.try_get("id")?,
            file_name: r.try_get("file_name")?,
            format: FileFormat::parse(&format)
                .ok_or(StoreError::Corrupt { column: "analyses.format", detail: format.clone() })?,
            owner: r.try_get("username")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            bytes: r.try_get("bytes")?,
            records: r.try_get("records")?,
            rejected: r.try_get("rejected")?,
            alerts: r.try_get("alerts")?,
            model_version: r.try_get("model_version")?,
            import,
        },
    })
}

impl Db {
    /// Stores a finished analysis, and its files when [`NewAnalysis::files`] names them, in one
    /// transaction; returns its id. A file that cannot be read stores nothing, naming it.
    pub async fn insert_analysis(&self, a: &NewAnalysis<'_>) -> Result<i64> {
        use tokio::io::AsyncReadExt;
        let report = serde_json::to_string(a.report).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO analyses (owner_id, file_name, format, created_at, expires_at, bytes, records, rejected, \
             alerts, model_version, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(a.owner_id)
        .bind(a.report.file_name.as_str())
        .bind(a.report.format.as_str())
        .bind(a.created_at)
        .bind(a.expires_at)
        .bind(a.bytes)
        .bind(a.report.records as i64)
        .bind(a.report.rejected as i64)
        .bind(a.report.alerts as i64)
        .bind(a.report.model.model_version.as_str())
        .bind(report)
        .fetch_one(&mut *tx)
        .await?;
        for (name, path) in a.files {
            let unreadable = |e: std::io::Error| StoreError::Invalid(format!("reading {}: {e}", path.display()));
            let mut file = tokio::fs::File::open(path).await.map_err(unreadable)?;
            let mut seq = 0i32;
            loop {
                let mut chunk = Vec::with_capacity(CHUNK_BYTES);
                (&mut file).take(CHUNK_BYTES as u64).read_to_end(&mut chunk).await.map_err(unreadable)?;
                // An empty file is one empty chunk, so that "stored" and "empty" are told apart.
                if chunk.is_empty() && seq > 0 {
                    break;
                }
                let last = chunk.len() < CHUNK_BYTES;
                sqlx::query("INSERT INTO analysis_chunks (analysis_id, file, seq, bytes) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(name.to_string())
                    .bind(seq)
                    .bind(chunk)
                    .execute(&mut *tx)
                    .await?;
                seq += 1;
                if last {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(id)
    }

    /// How many chunks of an analysis's file are stored (0: none, as on SQLite).
    pub async fn analysis_file_chunks(&self, id: i64, file: &str) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM analysis_chunks WHERE analysis_id = $1 AND file = $2")
            .bind(id)
            .bind(file.to_string())
            .fetch_one(self.pool())
            .await?)
    }

    /// Chunk `seq` of an analysis's file.
    pub async fn analysis_file_chunk(&self, id: i64, file: &str, seq: i64) -> Result<Vec<u8>> {
        let bytes: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT bytes FROM analysis_chunks WHERE analysis_id = $1 AND file = $2 AND seq = $3")
                .bind(id)
                .bind(file.to_string())
                .bind(seq as i32)
                .fetch_optional(self.pool())
                .await?;
        bytes.ok_or_else(|| StoreError::NotFound(format!("chunk {seq} of {file} of analysis {id}")))
    }

    /// Analyses, newest first: one owner's, or everyone's (`None`).
    pub async fn list_analyses(&self, owner_id: Option<i64>) -> Result<Vec<AnalysisRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM analyses a JOIN users u ON u.id = a.owner_id \
             WHERE $1 = 1 OR a.owner_id = $2 ORDER BY a.created_at DESC, a.id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(owner_id.is_none()))
            .bind(owner_id.unwrap_or(0))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Analyses an owner keeps.
    pub async fn count_analyses(&self, owner_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM analyses WHERE owner_id = $1")
            .bind(owner_id)
            .fetch_one(self.pool())
            .await?)
    }

    pub async fn analysis(&self, id: i64) -> Result<AnalysisRow> {
        let sql = format!("SELECT {COLUMNS} FROM analyses a JOIN users u ON u.id = a.owner_id WHERE a.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?;
        from_row(&row.ok_or_else(|| StoreError::NotFound(format!("analysis {id}")))?)
    }

    pub async fn analysis_report(&self, id: i64) -> Result<AnalysisReport> {
        let text: Option<String> = sqlx::query_scalar("SELECT report FROM analyses WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let text = text.ok_or_else(|| StoreError::NotFound(format!("analysis {id}")))?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt { column: "analyses.report", detail: e.to_string() })
    }

    /// Deletes an analysis's row and its stored files; the copies in data directories are the
    /// caller's (see [`crate::analysis::files`]).
    pub async fn delete_analysis(&self, id: i64) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM analysis_chunks WHERE analysis_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted =
            sqlx::query("DELETE FROM analyses WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Analyses kept past their time.
    pub async fn expired_analyses(&self, now: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM analyses WHERE expires_at <= $1 ORDER BY id")
            .bind(now)
            .fetch_all(self.pool())
            .await?)
    }

    /// Every analysis id (housekeeping deletes directories without a row).
    pub async fn analysis_ids(&self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM analyses").fetch_all(self.pool()).await?)
    }

    /// Marks an import as started, unless one is running or done: true when this call started it.
    pub async fn start_analysis_import(&self, id: i64, by: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE analyses SET import_status = 'running', import_by = $1, import_started_at = $2, \
             import_finished_at = NULL, import_records = 0, import_created = 0, import_updated = 0, import_error = NULL \
             WHERE id = $3 AND (import_status IS NULL OR import_status = 'failed')",
        )
        .bind(by)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records an import's progress, or its end (`finished_at`).
    pub async fn update_analysis_import(&self, id: i64, state: &ImportState) -> Result<()> {
        sqlx::query(
            "UPDATE analyses SET import_status = $1, import_finished_at = $2, import_records = $3, \
             import_created = $4, import_updated = $5, import_error = $6 WHERE id = $7",
        )
        .bind(state.status.as_str())
        .bind(state.finished_at)
        .bind(state.records)
        .bind(state.alerts_created)
        .bind(state.alerts_updated)
        .bind(state.error.clone())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Imports that were running when the server stopped: they did not finish.
    pub async fn fail_interrupted_imports(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE analyses SET import_status = 'failed', import_finished_at = $1, \
             import_error = 'the server stopped during the import; import again to finish it' \
             WHERE import_status = 'running'",
        )
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}
