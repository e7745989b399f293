//! Storage on SQLite (the embedded default, WAL mode) or PostgreSQL, chosen by the URL.
//!
//! Queries go through sqlx's `Any` driver with `$N` placeholders, which both backends accept, so
//! one query text serves both and one test suite (`tests/it/store.rs`) runs against both. The schema
//! lives in `migrations/sqlite` and `migrations/postgres`, kept in step (same file names, same
//! tables and columns); they are compiled into the binary. Timestamps are Unix milliseconds
//! (BIGINT) and booleans are 0/1 integers so that values decode identically on both backends.

pub mod alerts;
pub mod analyses;
pub mod assets;
pub mod audit;
pub mod bus_batches;
pub mod console;
pub mod demo;
pub mod flows;
pub mod incidents;
pub mod instance;
pub mod intel;
pub mod kpi;
pub mod login_failures;
mod migrations;
pub mod model_versions;
pub mod notify;
pub mod playbooks;
pub mod reports;
pub mod response;
pub mod sessions;
pub mod site_samples;
pub mod sql;
pub mod suppressions;
pub mod tokens;
pub mod traffic;
pub mod triage;
pub mod users;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};
use std::time::Duration;

/// How hard SQLite makes each commit durable (`sqlite_synchronous`). In WAL mode:
/// - `full` (the default): the write-ahead log is synced to disk at every commit, so every batch the
///   server acknowledged survives a process kill, an operating-system crash and a power loss;
/// - `normal`: the log is synced only at checkpoints. An acknowledged batch survives a process kill,
///   but an operating-system crash or power loss can undo the last commits since the last checkpoint.
///
/// PostgreSQL's durability is its own (`synchronous_commit`, on by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    Normal,
    #[default]
    Full,
}

impl SqliteSync {
    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Storage errors. Each message includes its cause's text (and so does not also chain it as a
/// `source`, which would print the cause twice in `{:#}` reports).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database at {url}: {cause}")]
    Open { url: String, cause: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("unsupported database URL `{0}` (use sqlite://… or postgres://…)")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A bus batch delivered again after it was stored ([`bus_batches`]); nothing was written.
    #[error("batch `{0}` is already stored")]
    AlreadyStored(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("corrupt value in column {column}: {detail}")]
    Corrupt { column: &'static str, detail: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

/// A pool of connections to the configured database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// Bumped after every write that can end or narrow a session (sign-out, disable, role or
    /// password change), so that long-lived streams re-check theirs at once
    /// ([`Db::session_changes`]).
    sessions_changed: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// PostgreSQL day partitions of `flows` known to exist ([`flows`]).
    partitions: flows::Partitions,
    /// SQLite: the flow history's own database file ([`flows`]); PostgreSQL: `None` (the main pool).
    flow_pool: Option<AnyPool>,
}

/// The URL with any password replaced, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Db {
    /// Changes when a session may have ended or lost rights in this process (see the field).
    /// Other processes' changes are seen by the periodic re-check of whoever holds a session open.
    pub fn session_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sessions_changed.subscribe()
    }

    fn sessions_changed(&self) {
        self.sessions_changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Opens a pool with SQLite's `synchronous = FULL` (see [`SqliteSync`]).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        Db::connect_with(url, max_connections, SqliteSync::Full).await
    }

    /// Opens a pool. For SQLite the database file (and its directory) is created if missing and
    /// put into WAL mode with the given sync level.
    pub async fn connect_with(url: &str, max_connections: u32, sync: SqliteSync) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        if backend == Backend::Sqlite {
            if let Some(dir) = sqlite_parent_dir(url) {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| StoreError::Open { url: redact_url(url), cause: sqlx::Error::Io(e) })?;
            }
        }
        // One direct connection first: a pool would report only "timed out" instead of the
        // cause (refused, authentication failed, unknown database, unwritable file …).
        let probe =
            AnyConnection::connect(url).await.map_err(|cause| StoreError::Open { url: redact_url(url), cause })?;
        let _ = probe.close().await;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during writes; see SqliteSync for what each
                        // sync level survives. A 32 MiB page cache (not 2) keeps the upper levels of
                        // the flow history's indexes in memory, where every stored flow inserts.
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32768;",
                            sync.pragma()
                        );
                        conn.execute(pragmas.as_str()).await?;
                        // A connection reads the planner's statistics once, when it loads the
                        // schema: refresh them first if they are stale (see `Db::optimize`), so no
                        // connection of the pool plans without them.
                        conn.execute("PRAGMA optimize = 0x10002;").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|cause| StoreError::Open { url: redact_url(url), cause })?;
        let flow_pool = match backend {
            Backend::Sqlite => Some(flows::open_sqlite_pool(url).await?),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            sessions_changed: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
            partitions: flows::Partitions::default(),
            flow_pool,
        })
    }

    /// The sync level a SQLite connection of this pool runs with (`None` on PostgreSQL).
    pub async fn sqlite_synchronous(&self) -> Result<Option<i64>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        Ok(Some(sqlx::query("PRAGMA synchronous").fetch_one(&self.pool).await?.try_get(0)?))
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<()> {
        let migrations = match self.backend {
            Backend::Sqlite => migrations::SQLITE,
            Backend::Postgres => migrations::POSTGRES,
        };
        migrations.migrator().await?.run(&self.pool).await?;
        if let Some(flows) = &self.flow_pool {
            // The SQLite flow history's own file ([`flows`]).
            migrations::SQLITE_FLOWS.migrator().await?.run(flows).await?;
        }
        Ok(())
    }

    /// Refreshes the statistics the query planner chooses indexes by. SQLite keeps none until
    /// asked (without them it sorted every open alert of the day to show the riskiest fifty:
    /// 700 ms at 100,000 alerts instead of 13 ms); `PRAGMA optimize` with the 0x10000 flag analyses
    /// the tables whose size changed much since they were last analysed, and is cheap otherwise.
    /// PostgreSQL's autovacuum does this by itself. Every new SQLite connection runs it (a
    /// connection reads the statistics when it loads the schema, so one analysing does not update
    /// the others until the pool recycles them); the server also runs it every few minutes.
    pub async fn optimize(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA optimize = 0x10002").execute(&self.pool).await?;
        }
        if let Some(flows) = &self.flow_pool {
            sqlx::query("PRAGMA optimize = 0x10002").execute(flows).await?;
        }
        Ok(())
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that reads, then writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a deferred transaction that read first
    /// fails with "database is locked" when another connection wrote in between, and no wait
    /// helps it. PostgreSQL's row locks need nothing more.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// The pool of the flow history: its own SQLite file, or the main PostgreSQL database.
    pub fn flow_pool(&self) -> &AnyPool {
        self.flow_pool.as_ref().unwrap_or(&self.pool)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(flows) = &self.flow_pool {
            flows.close().await;
        }
    }
}

fn sqlite_parent_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next()?;
    if path.is_empty() || path.starts_with(":memory:") {
        return None;
    }
    std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).map(Into::into)
}

/// Reads a 0/1 integer column as a bool (SQLite has no boolean type).
pub(crate) fn get_bool(row: &AnyRow, col: &'static str) -> Result<bool> {
    use sqlx::Row;
    let v: i64 = row.try_get(col)?;
    Ok(v != 0)
}

/// True when the error is a UNIQUE constraint violation (both backends).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || db.code().is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://af:s3cret@db:5432/x"), "postgres://af:***@db:5432/x");
        assert_eq!(redact_url("sqlite://var/a.db"), "sqlite://var/a.db");
    }

    #[test]
    fn sqlite_dir_is_derived_from_the_url() {
        assert_eq!(sqlite_parent_dir("sqlite://var/a.db?mode=rwc"), Some("var".into()));
        assert_eq!(sqlite_parent_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_parent_dir("sqlite://a.db"), None);
    }
}
