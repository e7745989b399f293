//! The operations on analyses, with their side effects (files, audit, limits): analyse a file and
//! keep it, import it as alerts, delete it, and expire old ones. The web edge only authenticates and
//! calls these.

use crate::audit::AuditAction;
use std::io::{self, Read, Write};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::files::{AnalysisFiles, Limited, INPUT, ROWS};
use super::run::{analyze, open_input, AnalysisError, Context};
use super::settings::AnalysisConfig;
use super::{AnalysisReport, AnalysisSummary, FileFormat, ImportState, ImportStatus};
use crate::behaviour::BehaviourConfig;
use crate::engine::csv::FlowReader;
use crate::flow::Flow;
use crate::ingest::suricata::EveParser;
use crate::ingest::zeek::ZeekParser;
use crate::ingest::{stream_lines, IngestRecord, Limits, Outcome, SignatureAlert};
use crate::pipeline::{Batch, Pipeline, PipelineError, Source};
use crate::store::analyses::{AnalysisRow, NewAnalysis};
use crate::store::{now_ms, Backend, Db, StoreError};
use crate::user::CurrentUser;

/// Records per batch an import submits.
const IMPORT_BATCH: usize = 5_000;

/// Why an operation on analyses was refused or failed; the edge maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("file analysis is turned off on this server")]
    Disabled,
    #[error("{running} analyses are being read already, the most this server runs at once; try again in a minute")]
    Busy { running: usize },
    #[error("you keep {kept} analyses, the most allowed; delete one on /analyze first")]
    Quota { kept: usize },
    #[error("{0}")]
    Analysis(#[from] AnalysisError),
    #[error("analysis {0} not found")]
    NotFound(i64),
    /// The row is there, but no copy of its files is (removed by hand, or lost with a data directory
    /// on SQLite).
    #[error("analysis {0}'s files are no longer kept")]
    FilesGone(i64),
    #[error("{0}")]
    Conflict(String),
    #[error("storage: {0}")]
    Store(StoreError),
    #[error("files: {0}")]
    Files(io::Error),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

/// One of the [`AnalysisConfig::max_running`] places to read a file.
pub struct RunningPermit {
    _permit: OwnedSemaphorePermit,
}

/// File analyses on this server.
#[derive(Clone)]
pub struct Analyses {
    db: Db,
    files: AnalysisFiles,
    config: AnalysisConfig,
    pipeline: Pipeline,
    behaviour: BehaviourConfig,
    limits: Limits,
    running: Arc<Semaphore>,
}

impl std::fmt::Debug for Analyses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyses").field("config", &self.config).finish()
    }
}

impl Analyses {
    /// Clears analyses a previous run left unfinished.
    pub async fn start(
        db: Db,
        data_dir: &std::path::Path,
        config: AnalysisConfig,
        pipeline: Pipeline,
        behaviour: BehaviourConfig,
        limits: Limits,
    ) -> Analyses {
        let files = AnalysisFiles::new(data_dir);
        if let Err(e) = files.clear_incoming() {
            tracing::warn!(error = %e, "cannot clear unfinished analyses");
        }
        match db.fail_interrupted_imports(now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(imports = n, "imports interrupted by the last stop are marked failed"),
            Err(e) => tracing::warn!(error = %e, "cannot mark interrupted imports"),
        }
        let running = Arc::new(Semaphore::new(config.max_running.max(1)));
        Analyses { db, files, config, pipeline, behaviour, limits, running }
    }

    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    pub fn files(&self) -> &AnalysisFiles {
        &self.files
    }

    /// A place to read a file now, and room in the user's quota; refused at once otherwise.
    pub async fn admit(&self, user: &CurrentUser) -> Result<RunningPermit, ServiceError> {
        if !self.config.enabled {
            return Err(ServiceError::Disabled);
        }
        let kept = self.db.count_analyses(user.id).await? as usize;
        if kept >= self.config.max_per_user {
            return Err(ServiceError::Quota { kept });
        }
        match self.running.clone().try_acquire_owned() {
            Ok(permit) => Ok(RunningPermit { _permit: permit }),
            Err(_) => Err(ServiceError::Busy { running: self.config.max_running }),
        }
    }

    /// Reads `input` (the raw upload, plain or gzip, at most `max_upload_bytes`), analyses it, keeps
    /// the report and the files, and audits it. `input` is read on a blocking thread.
    pub async fn analyze(
        &self,
        permit: RunningPermit,
        user: &CurrentUser,
        file_name: &str,
        format: Option<FileFormat>,
        input: impl Read + Send + 'static,
    ) -> Result<AnalysisSummary, ServiceError> {
        let file_name = clean_file_name(file_name);
        let dir = self.files.incoming().map_err(ServiceError::Files)?;
        let pipeline = &self.pipeline;
        let ctx = Context {
            engine: pipeline.engine(),
            internal: {
                let e = pipeline.enricher().clone();
                Arc::new(move |ip| e.is_internal(ip))
            },
            behaviour: self.behaviour.clone(),
            max_line_bytes: self.limits.max_line_bytes,
            max_expanded_bytes: self.config.max_expanded_bytes,
        };
        let max_upload = self.config.max_upload_bytes;
        let (name, work) = (file_name.clone(), dir.clone());
        let outcome = tokio::task::spawn_blocking(move || -> Result<(AnalysisReport, u64), AnalysisError> {
            let _permit = permit;
            let copy = std::fs::File::create(work.join(INPUT)).map_err(AnalysisError::Write)?;
            let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let tee = Tee {
                inner: Limited::new(input, max_upload, "the upload"),
                copy: io::BufWriter::with_capacity(1 << 16, copy),
                count: counted.clone(),
            };
            let report = analyze(tee, &name, format, &ctx, &work.join(ROWS))?;
            Ok((report, counted.load(std::sync::atomic::Ordering::Relaxed)))
        })
        .await;
        let (mut report, bytes) = match outcome {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                tracing::error!(error = %e, "the analysis task failed");
                return Err(ServiceError::Files(io::Error::other("the analysis stopped unexpectedly")));
            }
        };
        report.bytes = bytes;
        // The playbooks of the riskiest flows' threats.
        let mut threats: Vec<&str> = report.riskiest.iter().filter(|r| r.alert).map(|r| r.threat.as_str()).collect();
        threats.sort_unstable();
        threats.dedup();
        let mut playbooks = Vec::new();
        for t in threats {
            match self.db.playbook(t).await {
                Ok(p) => playbooks.push(p),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => tracing::warn!(error = %e, threat = t, "cannot read a playbook for the analysis"),
            }
        }
        report.playbooks = playbooks;
        let now = now_ms();
        // On PostgreSQL the files go into the database with the row, so that any instance serves
        // them; on SQLite (one instance) they stay in this data directory alone.
        let shared = match self.db.backend() {
            Backend::Postgres => vec![(INPUT, dir.join(INPUT)), (ROWS, dir.join(ROWS))],
            Backend::Sqlite => Vec::new(),
        };
        let new = NewAnalysis {
            owner_id: user.id,
            created_at: now,
            expires_at: now + self.config.retention_ms(),
            bytes: bytes as i64,
            report: &report,
            files: &shared,
        };
        let id = match self.db.insert_analysis(&new).await {
            Ok(id) => id,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        };
        if let Err(e) = self.files.keep(&dir, id) {
            let _ = self.db.delete_analysis(id).await;
            let _ = std::fs::remove_dir_all(&dir);
            return Err(ServiceError::Files(e));
        }
        let detail = format!(
            "{} ({}, {bytes} bytes): {} records, {} alerting flows, {} rejected",
            report.file_name,
            report.format.as_str(),
            report.records,
            report.alerts,
            report.rejected
        );
        self.db.audit(&user.username, AuditAction::AnalysisCreate, &format!("analysis:{id}"), &detail).await?;
        tracing::info!(
            analysis = id,
            user = %user.username,
            file = %report.file_name,
            format = report.format.as_str(),
            bytes,
            records = report.records,
            alerts = report.alerts,
            seconds = report.seconds,
            "file analysed"
        );
        Ok(self.db.analysis(id).await?.summary)
    }

    /// An analysis the user may see: their own, or any for an admin.
    pub async fn get(&self, user: &CurrentUser, id: i64) -> Result<AnalysisRow, ServiceError> {
        let row = match self.db.analysis(id).await {
            Err(StoreError::NotFound(_)) => return Err(ServiceError::NotFound(id)),
            other => other?,
        };
        if row.owner_id != user.id && user.role != crate::role::Role::Admin {
            // Not yours: as if it did not exist.
            return Err(ServiceError::NotFound(id));
        }
        Ok(row)
    }

    /// The user's analyses (an admin sees everyone's).
    pub async fn list(&self, user: &CurrentUser) -> Result<Vec<AnalysisSummary>, ServiceError> {
        let owner = (user.role != crate::role::Role::Admin).then_some(user.id);
        Ok(self.db.list_analyses(owner).await?.into_iter().map(|r| r.summary).collect())
    }

    pub async fn report(&self, user: &CurrentUser, id: i64) -> Result<(AnalysisSummary, AnalysisReport), ServiceError> {
        let row = self.get(user, id).await?;
        Ok((row.summary, self.db.analysis_report(id).await?))
    }

    /// The scored rows' file of an analysis the user may see, fetched first when this instance has
    /// no copy.
    pub async fn rows_file(&self, user: &CurrentUser, id: i64) -> Result<std::path::PathBuf, ServiceError> {
        self.get(user, id).await?;
        self.ensure_files(id).await?;
        Ok(self.files.rows(id))
    }

    /// Makes sure this data directory holds analysis `id`'s files. On PostgreSQL another instance
    /// may have made it: its files are fetched from the database once, through `incoming/` and a
    /// rename, so a copy is never seen half written.
    async fn ensure_files(&self, id: i64) -> Result<(), ServiceError> {
        use tokio::io::AsyncWriteExt;
        if self.files.dir(id).is_dir() {
            return Ok(());
        }
        let dir = self.files.incoming().map_err(ServiceError::Files)?;
        let fetched: Result<(), ServiceError> = async {
            for name in [INPUT, ROWS] {
                let chunks = self.db.analysis_file_chunks(id, name).await?;
                if chunks == 0 {
                    return Err(ServiceError::FilesGone(id));
                }
                let mut out = tokio::fs::File::create(dir.join(name)).await.map_err(ServiceError::Files)?;
                for seq in 0..chunks {
                    let chunk = self.db.analysis_file_chunk(id, name, seq).await?;
                    out.write_all(&chunk).await.map_err(ServiceError::Files)?;
                }
                out.sync_all().await.map_err(ServiceError::Files)?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = fetched {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        if let Err(e) = self.files.keep(&dir, id) {
            let _ = std::fs::remove_dir_all(&dir);
            // A request beside this one fetched it first.
            if !self.files.dir(id).is_dir() {
                return Err(ServiceError::Files(e));
            }
        }
        tracing::info!(analysis = id, "fetched an analysis's files from the database");
        Ok(())
    }

    /// Deletes an analysis and its files.
    pub async fn delete(&self, user: &CurrentUser, id: i64) -> Result<(), ServiceError> {
        let row = self.get(user, id).await?;
        if row.summary.import.as_ref().is_some_and(|i| i.status == ImportStatus::Running) {
            return Err(ServiceError::Conflict("its import is running; delete it when the import has ended".into()));
        }
        self.db.delete_analysis(id).await?;
        self.files.remove(id).map_err(ServiceError::Files)?;
        self.db
            .audit(&user.username, AuditAction::AnalysisDelete, &format!("analysis:{id}"), &row.summary.file_name)
            .await?;
        Ok(())
    }

    /// Starts "import as alerts": the file goes through the pipeline in the background, its alerts
    /// tagged with the file's name. Refused while an import of it runs or after one finished.
    pub async fn import(&self, user: &CurrentUser, id: i64) -> Result<(), ServiceError> {
        let row = self.get(user, id).await?;
        if !self.db.start_analysis_import(id, &user.username, now_ms()).await? {
            return Err(ServiceError::Conflict(format!("{} has been imported already", row.summary.file_name)));
        }
        self.db
            .audit(&user.username, AuditAction::AnalysisImport, &format!("analysis:{id}"), &row.summary.file_name)
            .await?;
        let this = self.clone();
        let (by, started_at) = (user.username.clone(), now_ms());
        tokio::spawn(async move {
            let state = this.run_import(id, &row.summary, by, started_at).await;
            if let Err(e) = this.db.update_analysis_import(id, &state).await {
                tracing::error!(analysis = id, error = %e, "cannot record the end of an import");
            }
        });
        Ok(())
    }

    async fn run_import(&self, id: i64, summary: &AnalysisSummary, by: String, started_at: i64) -> ImportState {
        let mut state = ImportState {
            status: ImportStatus::Running,
            by,
            started_at,
            finished_at: None,
            records: 0,
            alerts_created: 0,
            alerts_updated: 0,
            error: None,
        };
        if let Err(e) = self.ensure_files(id).await {
            state.status = ImportStatus::Failed;
            state.error = Some(format!("the analysed file is not available: {e}"));
            state.finished_at = Some(now_ms());
            return state;
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<Flow>, Vec<SignatureAlert>)>(2);
        let (path, format, limits, max_expanded) =
            (self.files.input(id), summary.format, self.limits, self.config.max_expanded_bytes);
        let reader = tokio::task::spawn_blocking(move || read_batches(&path, format, limits, max_expanded, tx));
        let origin = summary.file_name.clone();
        let mut batches = 0u64;
        while let Some((flows, signatures)) = rx.recv().await {
            let n = flows.len() + signatures.len();
            let batch = Batch { origin: Some(origin.clone()), ..Batch::new(Source::File, None, flows, signatures) };
            match self.submit(n, batch).await {
                Ok(outcome) => {
                    state.records += n as i64;
                    state.alerts_created += outcome.alerts_created as i64;
                    state.alerts_updated += outcome.alerts_updated as i64;
                }
                Err(e) => {
                    state.error = Some(format!("the pipeline refused a batch: {e}"));
                    break;
                }
            }
            batches += 1;
            if batches.is_multiple_of(20) {
                if let Err(e) = self.db.update_analysis_import(id, &state).await {
                    tracing::warn!(analysis = id, error = %e, "cannot record an import's progress");
                }
            }
        }
        drop(rx);
        match reader.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if state.error.is_none() => state.error = Some(format!("reading the kept file: {e}")),
            Ok(Err(_)) => {}
            Err(e) => state.error = Some(format!("the reader stopped: {e}")),
        }
        state.status = if state.error.is_some() { ImportStatus::Failed } else { ImportStatus::Done };
        state.finished_at = Some(now_ms());
        tracing::info!(
            analysis = id,
            records = state.records,
            created = state.alerts_created,
            updated = state.alerts_updated,
            status = state.status.as_str(),
            "analysis imported as alerts"
        );
        state
    }

    /// Submits one batch, waiting (not failing) while the queue is full: an import is not in a hurry.
    async fn submit(&self, n: usize, batch: Batch) -> Result<crate::pipeline::BatchOutcome, PipelineError> {
        loop {
            match self.pipeline.reserve(n).await {
                Ok(slot) => return self.pipeline.submit_in(slot, batch).await,
                Err(PipelineError::Busy { .. }) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                Err(e) => return Err(e),
            }
        }
    }

    /// Deletes expired analyses (rows and stored files; once per cluster, on the leader) and this
    /// data directory's copies without a row. Returns how many were deleted.
    pub async fn expire(&self, now: i64) -> Result<usize, ServiceError> {
        let expired = self.db.expired_analyses(now).await?;
        for &id in &expired {
            self.db.delete_analysis(id).await?;
            self.files.remove(id).map_err(ServiceError::Files)?;
        }
        self.prune_copies().await?;
        Ok(expired.len())
    }

    /// Deletes this data directory's copies of analyses whose row is gone: expired or deleted on
    /// another instance (every instance, after the leader's [`Analyses::expire`]). Returns how many.
    pub async fn prune_copies(&self) -> Result<usize, ServiceError> {
        let kept: std::collections::HashSet<i64> = self.db.analysis_ids().await?.into_iter().collect();
        let mut removed = 0;
        for id in self.files.ids().map_err(ServiceError::Files)? {
            if !kept.contains(&id) {
                self.files.remove(id).map_err(ServiceError::Files)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The kept input, read again in batches for the pipeline.
fn read_batches(
    path: &std::path::Path,
    format: FileFormat,
    limits: Limits,
    max_expanded: u64,
    tx: tokio::sync::mpsc::Sender<(Vec<Flow>, Vec<SignatureAlert>)>,
) -> io::Result<()> {
    let (reader, _) = open_input(std::fs::File::open(path)?, max_expanded)?;
    let mut flows = Vec::with_capacity(IMPORT_BATCH);
    let mut signatures = Vec::new();
    let send = |flows: &mut Vec<Flow>, signatures: &mut Vec<SignatureAlert>| -> io::Result<()> {
        let batch = (std::mem::take(flows), std::mem::take(signatures));
        tx.blocking_send(batch).map_err(|_| io::Error::other("the import stopped"))
    };
    let limits = Limits { max_records: usize::MAX, ..limits };
    match format {
        FileFormat::Csv => {
            let mut r = FlowReader::from_reader(path, Box::new(reader)).map_err(io::Error::other)?;
            while let Some(x) = r.next_flow() {
                if let Ok(f) = x {
                    flows.push(f);
                    if flows.len() >= IMPORT_BATCH {
                        send(&mut flows, &mut signatures)?;
                    }
                }
            }
            if let Some(e) = r.stats().io_error.clone() {
                return Err(io::Error::other(e));
            }
        }
        FileFormat::Zeek | FileFormat::Eve => {
            let mut sink = |_line: usize, outcome: Outcome<IngestRecord>| -> io::Result<()> {
                match outcome {
                    Outcome::Record(IngestRecord::Flow(f)) => flows.push(f),
                    Outcome::Record(IngestRecord::SignatureAlert(s)) => signatures.push(s),
                    _ => {}
                }
                if flows.len() + signatures.len() >= IMPORT_BATCH {
                    send(&mut flows, &mut signatures)?;
                }
                Ok(())
            };
            if format == FileFormat::Zeek {
                stream_lines(&mut ZeekParser::default(), reader, &limits, |l, o| {
                    sink(l, o.map_record(IngestRecord::Flow))
                })?;
            } else {
                stream_lines(&mut EveParser, reader, &limits, &mut sink)?;
            }
        }
    }
    if !flows.is_empty() || !signatures.is_empty() {
        send(&mut flows, &mut signatures)?;
    }
    Ok(())
}

/// The name shown for an upload: its last path component, without control characters, at most 200
/// characters; "upload" when nothing is left.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim().to_string();
    if clean.is_empty() {
        "upload".to_string()
    } else {
        clean
    }
}

/// Copies what is read to a file (the kept input), counting it.
struct Tee<R, W: Write> {
    inner: R,
    copy: W,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.copy.flush()?;
        } else {
            self.copy.write_all(&buf[..n])?;
        }
        self.count.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_path_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\ann\\capture.csv"), "capture.csv");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{7}b\nc.log"), "abc.log");
        assert_eq!(clean_file_name("  "), "upload");
    }
}
