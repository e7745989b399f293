//! Model versions, the choice of the active one, the engine the pipeline scores with, and the
//! background retrain (server only).
//!
//! Where versions live: the shipped models (`AF_MODEL_DIR`, read-only, in git) are version
//! [`SHIPPED`]. A retrain or a learning job writes `r1`, `r2`, … in the layout of `models/` (manifest
//! and safetensors files with their digests) plus `version.json` (who made it, how it compared) and
//! `insight.json` (confusion matrices and feature importances). The database holds every finished
//! version's files and the cluster's choice of the active version ([`crate::store::model_versions`]);
//! each instance keeps a copy of the files under `$AF_DATA_DIR/models/<id>/` to load them from, and
//! the choice it last ran in `active.json` (which seeds a database that has no choice yet). Every
//! version is kept; admins activate any of them (rollback).
//!
//! Several instances on one PostgreSQL share one registry:
//! - a job claims its version number in the database when it starts, so two instances' jobs never
//!   make the same id, and stores the version's files before it switches to it;
//! - a switch (an admin's activation, a finished job) writes the cluster's choice; a job switches
//!   only if the version it started from is still the active one;
//! - each instance follows the choice ([`Registry::sync`], every [`FOLLOW_EVERY`] from
//!   [`Registry::spawn_follow`]): it fetches the versions it has not seen and swaps the engine when
//!   the choice changes. An instance that cannot load the chosen version keeps scoring with the one
//!   it runs and says so on the page.
//!
//! Switching is atomic for the pipeline: it holds an [`EngineSlot`] and takes the current engine once
//! per batch, so a batch is scored by one model from its first flow to its last explanation; a swap
//! only affects the batches that start after it.

pub mod insight;
pub mod learn;
pub mod retrain;

use crate::audit::AuditAction;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::detection::ModelManifest;
use crate::engine::{io, Engine, EngineError};
use crate::model_version::{
    insight_charts, Comparison, Headline, InsightState, JobState, ModelInsight, ModelVersionInfo, ModelsOverview,
    ProfileSummary, RetrainStatus, SplitMetrics, VersionDetail, SHIPPED,
};
use crate::store::{now_ms, Db};

use crate::engine::slot::EngineSlot;

/// What a retrain trains on (`[retrain]` in the configuration file, `AF_RETRAIN__FILES`,
/// `AF_RETRAIN__CONFIG`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetrainConfig {
    /// Labelled CICFlowMeter CSV files (gzip or plain).
    pub files: Vec<PathBuf>,
    /// A `TrainConfig` JSON file with the hyper-parameters; unset = those of the active version, so
    /// that a retrain repeats its recipe (and its held-out split) on the files above.
    pub config: Option<PathBuf>,
    /// Threads the retrain may use (at lowered priority); 0 = half the cores, at least one, so that
    /// ingest keeps the others.
    pub threads: usize,
}

impl Default for RetrainConfig {
    fn default() -> Self {
        RetrainConfig { files: vec![PathBuf::from("data/cicids2017/improved_train.csv.gz")], config: None, threads: 0 }
    }
}

/// Errors of the registry. Each names what failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a model job is running (job {job}, {percent:.0} % done); wait until it finishes")]
    Busy { job: u64, percent: f32 },
    #[error("model version `{0}` does not exist")]
    UnknownVersion(String),
    #[error("model version `{id}` cannot be loaded: {source}")]
    Load { id: String, source: EngineError },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{0}")]
    Task(String),
    #[error("the model registry's database: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// `version.json` of a retrained version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VersionMeta {
    pub id: String,
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    pub comparison: Option<Comparison>,
}

/// `active.json`: this data dir's record of the active choice it last ran. The database's choice
/// is the one that counts; this one seeds a database that has none yet (a data dir from before the
/// database kept the choice, or moved to a new database).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct ActiveChoice {
    active: String,
    changed_by: String,
    changed_at: i64,
}

const ACTIVE_FILE: &str = "active.json";
/// How often an instance checks the cluster's active version and stored versions (one small query
/// each).
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
const VERSION_FILE: &str = "version.json";
const INSIGHT_FILE: &str = "insight.json";
/// The shipped version's insight, computed once per data directory (keyed by what it was computed for).
const SHIPPED_INSIGHT_FILE: &str = "shipped-insight.json";

/// Handle to the registry (cheap to clone).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("root", &self.inner.root).field("shipped", &self.inner.shipped_dir).finish()
    }
}

struct Inner {
    shipped_dir: PathBuf,
    root: PathBuf,
    retrain: RetrainConfig,
    /// The configured behaviour-detector settings: learning the network's normal raises thresholds
    /// from them.
    behaviour: crate::behaviour::BehaviourConfig,
    /// Where the shipped models' data may be found (checked by digest): the retrain files and the
    /// replay file, besides the paths the manifest records.
    data_files: Vec<PathBuf>,
    db: Db,
    slot: Mutex<Option<EngineSlot>>,
    state: Mutex<State>,
    /// Serialises switches (activation, a finished retrain) so active.json and the slot agree.
    switch: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    active: String,
    /// The version in the slot (none when ingest is off).
    running: Option<String>,
    /// The generation of the cluster's choice this instance has followed.
    generation: i64,
    job: Option<RetrainStatus>,
    jobs: u64,
    shipped_insight: Option<InsightState>,
    notes: Vec<String>,
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|source| RegistryError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| RegistryError::Io { path: path.to_path_buf(), source })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, RegistryError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RegistryError::Corrupt { path: path.to_path_buf(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io { path: path.to_path_buf(), source }),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), RegistryError> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| RegistryError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })?;
    write_atomic(path, &text)
}

/// Every file under `dir`, by its path relative to `dir` (`/`-separated), sorted.
fn read_tree(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), RegistryError> {
        let entries = std::fs::read_dir(dir).map_err(|source| RegistryError::Io { path: dir.to_path_buf(), source })?;
        for e in entries {
            let e = e.map_err(|source| RegistryError::Io { path: dir.to_path_buf(), source })?;
            let path = e.path();
            let name = e.file_name().to_str().map(str::to_string).ok_or_else(|| RegistryError::Corrupt {
                path: path.clone(),
                reason: "the file name is not UTF-8".into(),
            })?;
            let file_type = e.file_type().map_err(|source| RegistryError::Io { path: path.clone(), source })?;
            if file_type.is_dir() {
                walk(&path, &format!("{prefix}{name}/"), out)?;
            } else if file_type.is_file() {
                let bytes = std::fs::read(&path).map_err(|source| RegistryError::Io { path: path.clone(), source })?;
                out.push((format!("{prefix}{name}"), bytes));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Writes `files` (relative `/`-separated paths) under a fresh `dir`. A path that would leave `dir`
/// (absolute, `..`, empty parts) is refused.
fn write_tree(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), RegistryError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| RegistryError::Io { path: dir.to_path_buf(), source })?;
    }
    for (rel, bytes) in files {
        let inside = !rel.is_empty() && rel.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
        if !inside || rel.contains('\\') {
            return Err(RegistryError::Corrupt {
                path: dir.to_path_buf(),
                reason: format!("a stored file's path `{rel}` leaves the version's directory"),
            });
        }
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| RegistryError::Io { path: parent.to_path_buf(), source })?;
        }
        std::fs::write(&path, bytes).map_err(|source| RegistryError::Io { path, source })?;
    }
    Ok(())
}

/// Removes what retrains interrupted by a stop left behind (`.r<N>.partial`).
fn remove_partial_versions(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.strip_prefix('.').and_then(|n| n.strip_suffix(".partial")).and_then(retrained_number).is_some() {
            match std::fs::remove_dir_all(e.path()) {
                Ok(()) => tracing::warn!(dir = %e.path().display(), "removed an interrupted retrain's files"),
                Err(err) => {
                    tracing::warn!(dir = %e.path().display(), error = %err, "cannot remove an interrupted retrain's files")
                }
            }
        }
    }
}

/// `r7` → 7.
fn retrained_number(id: &str) -> Option<u64> {
    id.strip_prefix('r').filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).and_then(|n| n.parse().ok())
}

/// The random-split figures of each profile of a manifest.
pub fn headline(m: &ModelManifest) -> Vec<Headline> {
    let mut out: Vec<Headline> = m
        .evaluation
        .iter()
        .filter(|r| r.split == "random")
        .map(|r| Headline { profile: r.profile, metrics: SplitMetrics::from_report(r) })
        .collect();
    out.sort_by_key(|h| crate::detection::FeatureProfile::ALL.iter().position(|p| *p == h.profile));
    out
}

/// What the registry needs to know (built from the server's configuration by
/// `Config::registry_settings`; the registry does not read the configuration itself).
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// The server's data directory; versions live under `<data_dir>/models`.
    pub data_dir: PathBuf,
    /// The shipped models.
    pub model_dir: PathBuf,
    pub retrain: RetrainConfig,
    pub behaviour: crate::behaviour::BehaviourConfig,
    /// What a retrain may train on: the retrain files and the replay file.
    pub data_files: Vec<PathBuf>,
    /// Whether ingest runs on this server (without it no model runs).
    pub ingest: bool,
}

impl Registry {
    /// Opens the registry under `settings.data_dir`: stores the versions of this data dir that the
    /// database lacks (made before it kept them), fetches those it lacks here, and reads which version
    /// is active (the shipped one when nothing was chosen). Nothing is loaded yet: see
    /// [`Registry::load_active`].
    pub async fn open(settings: RegistrySettings, db: Db) -> Result<Registry, RegistryError> {
        let root = settings.data_dir.join("models");
        std::fs::create_dir_all(&root).map_err(|source| RegistryError::Io { path: root.clone(), source })?;
        remove_partial_versions(&root);
        let legacy = read_json::<ActiveChoice>(&root.join(ACTIVE_FILE))?;
        let registry = Registry {
            inner: Arc::new(Inner {
                shipped_dir: settings.model_dir,
                root,
                retrain: settings.retrain,
                behaviour: settings.behaviour,
                data_files: settings.data_files,
                db,
                slot: Mutex::new(None),
                state: Mutex::new(State { active: SHIPPED.to_string(), ..State::default() }),
                switch: tokio::sync::Mutex::new(()),
            }),
        };
        registry.store_local().await?;
        registry.fetch_stored().await?;
        let (initial, by) = match &legacy {
            Some(a) => (a.active.as_str(), a.changed_by.as_str()),
            None => (SHIPPED, "system"),
        };
        let chosen = registry.inner.db.init_active_model(initial, by, now_ms()).await?;
        {
            let mut st = registry.state();
            st.active = chosen.version;
            st.generation = chosen.generation;
        }
        if !settings.ingest {
            registry.state().notes.push("Ingest is off on this server (AF_INGEST=false): no model is running; versions and their figures are shown from their manifests.".into());
        }
        Ok(registry)
    }

    /// Follows the cluster: fetches the stored versions this instance lacks and, when the active
    /// choice changed since it last looked, swaps the engine to it. The server calls it every
    /// [`FOLLOW_EVERY`] ([`Registry::spawn_follow`]).
    pub async fn sync(&self) -> Result<(), RegistryError> {
        self.fetch_stored().await?;
        let Some(chosen) = self.inner.db.active_model().await? else {
            return Ok(());
        };
        let _switch = self.inner.switch.lock().await;
        if chosen.generation == self.state().generation {
            return Ok(());
        }
        let from = self.active();
        if chosen.version != from && self.slot().is_some() {
            match self.load(&chosen.version).await {
                Ok(engine) => {
                    if let Some(slot) = self.slot() {
                        slot.replace(engine);
                    }
                    self.state().running = Some(chosen.version.clone());
                    tracing::info!(from = %from, to = %chosen.version, changed_by = %chosen.changed_by, "model version switched by another instance");
                }
                Err(e) => {
                    tracing::error!(version = %chosen.version, error = %e, "the cluster's active model version cannot be loaded here; this instance keeps its model");
                    // Composed before the state is locked: `running()` locks it too.
                    let note = format!(
                        "Version {} became active ({}), but this instance cannot load it ({e}); it keeps scoring with {}.",
                        chosen.version,
                        chosen.changed_by,
                        self.running().unwrap_or_else(|| from.clone())
                    );
                    self.state().notes.push(note);
                }
            }
        }
        self.record_choice(&chosen.version, &chosen.changed_by);
        let mut st = self.state();
        st.active = chosen.version;
        st.generation = chosen.generation;
        Ok(())
    }

    /// Runs [`Registry::sync`] every [`FOLLOW_EVERY`] until the process ends.
    pub fn spawn_follow(&self) {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + FOLLOW_EVERY, FOLLOW_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = registry.sync().await {
                    tracing::warn!(error = %e, "cannot follow the cluster's model versions");
                }
            }
        });
    }

    /// Stores the finished versions of this data dir that the database lacks (made before it kept
    /// them), each after checking that it loads: a broken one stays on this disk only, as before.
    async fn store_local(&self) -> Result<(), RegistryError> {
        let stored = self.inner.db.stored_model_versions().await?;
        for id in self.local_versions() {
            if stored.contains(&id) {
                continue;
            }
            match self.load(&id).await {
                Ok(_) => {
                    self.store_version(&id).await?;
                }
                Err(e) => {
                    tracing::warn!(version = %id, error = %e, "a model version on this disk does not load; it is not stored for the cluster")
                }
            }
        }
        Ok(())
    }

    /// Stores version `id` from its directory here; false when the database already holds another
    /// version of that number.
    async fn store_version(&self, id: &str) -> Result<bool, RegistryError> {
        let number = retrained_number(id).ok_or_else(|| RegistryError::UnknownVersion(id.to_string()))?;
        let dir = self.inner.root.join(id);
        let files = read_tree(&dir)?;
        let meta = read_json::<VersionMeta>(&dir.join(VERSION_FILE))?;
        let (created_by, created_at) = match &meta {
            Some(m) => (m.created_by.as_str(), m.created_at),
            None => ("unknown", now_ms()),
        };
        let v = crate::store::model_versions::NewModelVersion { number, created_by, created_at, files: &files };
        let stored = self.inner.db.store_model_version(v).await?;
        if stored {
            tracing::info!(version = %id, files = files.len(), "model version stored for the cluster");
        } else {
            tracing::warn!(version = %id, "another version of this number is stored already; this data dir's copy stays here only");
        }
        Ok(stored)
    }

    /// Writes the stored versions this instance lacks into its data dir (through a partial directory
    /// and a rename, like a job).
    async fn fetch_stored(&self) -> Result<(), RegistryError> {
        let local = self.local_versions();
        for id in self.inner.db.stored_model_versions().await? {
            if local.contains(&id) || retrained_number(&id).is_none() {
                continue;
            }
            let files = self.inner.db.model_version_files(&id).await?;
            let partial = self.inner.root.join(format!(".{id}.partial"));
            write_tree(&partial, &files)?;
            let done = self.inner.root.join(&id);
            std::fs::rename(&partial, &done).map_err(|source| RegistryError::Io { path: done.clone(), source })?;
            tracing::info!(version = %id, files = files.len(), "model version fetched from the cluster");
        }
        Ok(())
    }

    /// The finished versions in this data dir (directories `r<N>` with a manifest).
    fn local_versions(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.inner.root) else { return Vec::new() };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|name| retrained_number(name).is_some())
            .filter(|name| self.inner.root.join(name).join(io::MANIFEST).is_file())
            .collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.inner.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn retrain_config(&self) -> &RetrainConfig {
        &self.inner.retrain
    }

    /// The directory of a version, if it exists.
    pub fn dir_of(&self, id: &str) -> Result<PathBuf, RegistryError> {
        if id == SHIPPED {
            return Ok(self.inner.shipped_dir.clone());
        }
        if retrained_number(id).is_none() {
            return Err(RegistryError::UnknownVersion(id.to_string()));
        }
        let dir = self.inner.root.join(id);
        if dir.join(io::MANIFEST).is_file() {
            Ok(dir)
        } else {
            Err(RegistryError::UnknownVersion(id.to_string()))
        }
    }

    /// The active version's id.
    pub fn active(&self) -> String {
        self.state().active.clone()
    }

    /// The version the pipeline scores with (none when ingest is off).
    pub fn running(&self) -> Option<String> {
        self.state().running.clone()
    }

    /// The engine slot the pipeline reads, once [`Registry::load_active`] has filled it.
    pub fn slot(&self) -> Option<EngineSlot> {
        self.inner.slot.lock().ok().and_then(|s| s.clone())
    }

    /// Loads the active version for the pipeline (off the async executor) and returns the slot to
    /// give it. A retrained version that cannot be loaded falls back to the shipped one (the page and
    /// the log say so); the shipped one failing is an error naming the file.
    pub async fn load_active(&self) -> Result<EngineSlot, RegistryError> {
        let active = self.active();
        let engine = match self.load(&active).await {
            Ok(e) => e,
            Err(e) if active != SHIPPED => {
                tracing::error!(version = %active, error = %e, "the active model version cannot be loaded; running the shipped models");
                self.state().notes.push(format!("The active version {active} could not be loaded at start-up ({e}); the shipped models run instead. Activate a version to choose again."));
                self.state().active = SHIPPED.to_string();
                self.load(SHIPPED).await?
            }
            Err(e) => return Err(e),
        };
        let id = self.active();
        tracing::info!(version = %id, model_version = %engine.manifest().model_version, "model version running");
        let slot = EngineSlot::new(engine);
        if let Ok(mut s) = self.inner.slot.lock() {
            *s = Some(slot.clone());
        }
        self.state().running = Some(id);
        Ok(slot)
    }

    /// Loads version `id` from this data dir. A stored version whose copy here does not load (a
    /// file damaged or removed) is fetched again from the database and loaded once more.
    async fn load(&self, id: &str) -> Result<Arc<Engine>, RegistryError> {
        let first = self.load_copy(id).await;
        let Err(RegistryError::Load { .. }) = &first else { return first };
        match self.refetch(id).await {
            Ok(true) => {
                tracing::warn!(version = %id, error = %first.as_ref().err().map(ToString::to_string).unwrap_or_default(), "this instance's copy of a model version did not load; fetched it again from the database");
                self.load_copy(id).await
            }
            Ok(false) => first,
            Err(e) => {
                tracing::warn!(version = %id, error = %e, "cannot fetch a model version again");
                first
            }
        }
    }

    async fn load_copy(&self, id: &str) -> Result<Arc<Engine>, RegistryError> {
        let dir = self.dir_of(id)?;
        let owned = id.to_string();
        tokio::task::spawn_blocking(move || Engine::load(&dir))
            .await
            .map_err(|e| RegistryError::Task(e.to_string()))?
            .map(Arc::new)
            .map_err(|source| RegistryError::Load { id: owned, source })
    }

    /// Replaces this data dir's copy of version `id` with the database's; false when the database
    /// does not hold it (the shipped version, or one made here that was never stored).
    async fn refetch(&self, id: &str) -> Result<bool, RegistryError> {
        if retrained_number(id).is_none() {
            return Ok(false);
        }
        let files = self.inner.db.model_version_files(id).await?;
        if files.is_empty() {
            return Ok(false);
        }
        let partial = self.inner.root.join(format!(".{id}.partial"));
        write_tree(&partial, &files)?;
        let done = self.inner.root.join(id);
        if done.exists() {
            std::fs::remove_dir_all(&done).map_err(|source| RegistryError::Io { path: done.clone(), source })?;
        }
        std::fs::rename(&partial, &done).map_err(|source| RegistryError::Io { path: done.clone(), source })?;
        Ok(true)
    }

    /// Makes `id` the active version of the cluster: loads and checks it, swaps it into the pipeline,
    /// records the choice and audits it. Activating the active version changes nothing. Refused
    /// while a model job runs here (it will switch when it finishes, if its model is not worse).
    pub async fn activate(&self, id: &str, actor: &str) -> Result<String, RegistryError> {
        if let Some(job) = self.state().job.as_ref().filter(|j| j.state == JobState::Running) {
            return Err(RegistryError::Busy { job: job.job, percent: job.percent });
        }
        let _switch = self.inner.switch.lock().await;
        if matches!(self.dir_of(id), Err(RegistryError::UnknownVersion(_))) && retrained_number(id).is_some() {
            // Made on another instance moments ago: fetch it now rather than at the next sync.
            self.fetch_stored().await?;
        }
        let from = self.active();
        if from == id {
            self.dir_of(id)?;
            return Ok(from);
        }
        let engine = self.load(id).await?;
        self.switch_to(id, engine, actor, &from, false).await?;
        if let Err(e) = self.inner.db.audit(actor, AuditAction::ModelActivate, id, &format!("from={from}")).await {
            tracing::error!(error = %e, "cannot audit a model activation");
        }
        Ok(from)
    }

    /// Records `id` as the cluster's active version and swaps `engine` (version `id`) in. With
    /// `only_from_active`, only if `from` is still the cluster's active version; false when it no
    /// longer is (nothing changed). The caller holds `switch`.
    async fn switch_to(
        &self,
        id: &str,
        engine: Arc<Engine>,
        actor: &str,
        from: &str,
        only_from_active: bool,
    ) -> Result<bool, RegistryError> {
        let expected = only_from_active.then_some(from);
        let Some(generation) = self.inner.db.set_active_model(id, actor, now_ms(), expected).await? else {
            return Ok(false);
        };
        self.record_choice(id, actor);
        let model_version = engine.manifest().model_version.clone();
        let slot = self.slot();
        if let Some(slot) = &slot {
            slot.replace(engine);
        }
        let mut st = self.state();
        st.active = id.to_string();
        st.generation = generation;
        if slot.is_some() {
            st.running = Some(id.to_string());
        }
        tracing::info!(from = %from, to = %id, model_version = %model_version, actor = %actor, swapped = slot.is_some(), "model version switched");
        Ok(true)
    }

    /// Writes `active.json` (see [`ActiveChoice`]); a failure is logged, the database holding the choice.
    fn record_choice(&self, id: &str, by: &str) {
        let choice = ActiveChoice { active: id.to_string(), changed_by: by.to_string(), changed_at: now_ms() };
        if let Err(e) = write_json(&self.inner.root.join(ACTIVE_FILE), &choice) {
            tracing::warn!(error = %e, "cannot record the active model version in the data dir");
        }
    }

    /// Claims the next version id for a job starting now: one above every version stored in the
    /// database or claimed by another instance's job, and above this data dir's own.
    pub(super) async fn claim_id(&self, actor: &str) -> Result<String, RegistryError> {
        let local = retrained_number(&self.next_id()).unwrap_or(1) - 1;
        let number = self.inner.db.claim_model_number(actor, local, now_ms()).await?;
        Ok(format!("r{number}"))
    }

    /// Every version, newest first (retrained ones by number, then the shipped one).
    pub fn versions(&self) -> (Vec<ModelVersionInfo>, Vec<String>) {
        let (active, running) = {
            let st = self.state();
            (st.active.clone(), st.running.clone())
        };
        let mut problems = Vec::new();
        let mut ids: Vec<(u64, String)> = match std::fs::read_dir(&self.inner.root) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter_map(|name| retrained_number(&name).map(|n| (n, name)))
                .collect(),
            Err(e) => {
                problems.push(format!("{}: {e}", self.inner.root.display()));
                Vec::new()
            }
        };
        ids.sort_by_key(|id| std::cmp::Reverse(id.0));
        let mut out = Vec::new();
        for id in ids.into_iter().map(|(_, id)| id).chain(std::iter::once(SHIPPED.to_string())) {
            let Ok(dir) = self.dir_of(&id) else { continue };
            let manifest = match io::load_manifest(&dir) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(format!("version {id}: {e}"));
                    continue;
                }
            };
            let meta = if id == SHIPPED {
                None
            } else {
                match read_json::<VersionMeta>(&dir.join(VERSION_FILE)) {
                    Ok(m) => m,
                    Err(e) => {
                        problems.push(format!("version {id}: {e}"));
                        None
                    }
                }
            };
            out.push(ModelVersionInfo {
                active: id == active,
                running: running.as_deref() == Some(id.as_str()),
                model_version: manifest.model_version.clone(),
                created_at: manifest.created_at.clone(),
                created_by: meta.as_ref().map(|m| m.created_by.clone()),
                training_files: manifest.training_files.clone(),
                headline: headline(&manifest),
                comparison: meta.and_then(|m| m.comparison),
                id,
            });
        }
        (out, problems)
    }

    /// The page's data: every version, the detail of `viewed` (default: the active one), the retrain.
    pub fn overview(&self, viewed: Option<&str>) -> ModelsOverview {
        let (versions, mut notes) = self.versions();
        let id = viewed.filter(|v| !v.trim().is_empty()).map(str::to_string).unwrap_or_else(|| self.active());
        let (detail, detail_error) = match self.detail(&id) {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let st = self.state();
        notes.extend(st.notes.iter().cloned());
        ModelsOverview {
            versions,
            detail,
            detail_error,
            retrain: st.job.clone(),
            retrain_files: self.inner.retrain.files.iter().map(|p| p.display().to_string()).collect(),
            notes,
        }
    }

    /// Everything the page shows about one version.
    pub fn detail(&self, id: &str) -> Result<VersionDetail, RegistryError> {
        let dir = self.dir_of(id)?;
        let m = io::load_manifest(&dir).map_err(|source| RegistryError::Load { id: id.to_string(), source })?;
        let insight = self.insight(id, &dir, &m);
        let charts = match &insight {
            InsightState::Ready(i) => insight_charts(i),
            _ => Vec::new(),
        };
        let hyperparameters = serde_json::to_string_pretty(&m.hyperparameters).unwrap_or_default();
        let profiles = m
            .profiles
            .iter()
            .map(|p| ProfileSummary {
                profile: p.schema.profile,
                features: p.schema.features.len() as u64,
                train_rows: p.train_rows,
                test_rows: p.test_rows,
                operating_threshold: p.fusion.operating_threshold,
                training_seconds: p.training_seconds,
                anomaly_gate: p.fusion.anomaly_gate.clone(),
            })
            .collect();
        Ok(VersionDetail {
            id: id.to_string(),
            model_version: m.model_version,
            created_at: m.created_at,
            engine_version: m.engine_version,
            seed: m.seed,
            training_files: m.training_files,
            profiles,
            evaluation: m.evaluation,
            network_evaluation: m.network_evaluation,
            site_baseline: m.site_baseline,
            behaviour_thresholds: m.behaviour_thresholds,
            hyperparameters,
            notes: m.notes,
            insight,
            charts,
        })
    }

    /// A version's confusion matrices and feature importances: recorded by the retrain that made it;
    /// for the shipped version computed once in the background from its held-out split (the
    /// training file must be among the retrain files, checked by digest) and kept in the data dir.
    fn insight(&self, id: &str, dir: &Path, m: &ModelManifest) -> InsightState {
        if id != SHIPPED {
            return match read_json::<ModelInsight>(&dir.join(INSIGHT_FILE)) {
                Ok(Some(i)) => InsightState::Ready(i),
                Ok(None) => InsightState::Unavailable("not recorded for this version".into()),
                Err(e) => InsightState::Unavailable(e.to_string()),
            };
        }
        let key = insight::ShippedKey::of(m);
        {
            let st = self.state();
            if let Some(s) = &st.shipped_insight {
                return s.clone();
            }
        }
        let cached = self.inner.root.join(SHIPPED_INSIGHT_FILE);
        if let Ok(Some(c)) = read_json::<insight::CachedInsight>(&cached) {
            if c.key == key {
                let state = InsightState::Ready(c.insight);
                self.state().shipped_insight = Some(state.clone());
                return state;
            }
        }
        self.state().shipped_insight = Some(InsightState::Computing);
        let registry = self.clone();
        let mut files = self.inner.data_files.clone();
        files.extend(m.training_files.iter().map(|f| PathBuf::from(&f.path)));
        files.dedup();
        let (manifest, threads) = (m.clone(), self.inner.retrain.threads);
        let shipped_dir = dir.to_path_buf();
        // A plain thread (see `train_candidate`): stopping the server does not wait for it.
        let spawned = std::thread::Builder::new().name("af-insight".into()).spawn(move || {
            let result = retrain::low_priority_pool(threads)
                .map_err(|e| e.to_string())
                .and_then(|pool| pool.install(|| insight::for_manifest(&shipped_dir, &manifest, &files)));
            let state = match result {
                Ok(i) => {
                    if let Err(e) = write_json(&cached, &insight::CachedInsight { key, insight: i.clone() }) {
                        tracing::warn!(error = %e, "cannot keep the shipped models' insight");
                    }
                    tracing::info!("shipped models' confusion matrices and feature importances computed");
                    InsightState::Ready(i)
                }
                Err(reason) => {
                    tracing::warn!(reason = %reason, "no insight for the shipped models");
                    InsightState::Unavailable(reason)
                }
            };
            registry.state().shipped_insight = Some(state);
        });
        if let Err(e) = spawned {
            let state = InsightState::Unavailable(format!("cannot start the computation: {e}"));
            self.state().shipped_insight = Some(state.clone());
            return state;
        }
        InsightState::Computing
    }

    /// The latest retrain job.
    pub fn retrain_status(&self) -> Option<RetrainStatus> {
        self.state().job.clone()
    }

    /// The next free version id (`r<N>`, one above every existing or partial one).
    fn next_id(&self) -> String {
        let max = std::fs::read_dir(&self.inner.root)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .map(|n| n.trim_start_matches('.').trim_end_matches(".partial").to_string())
                    })
                    .filter_map(|n| retrained_number(&n))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        format!("r{}", max + 1)
    }

    /// Updates the running job's stage and progress.
    fn progress(&self, job: u64, stage: &str, percent: f32) {
        let mut st = self.state();
        if let Some(j) = st.job.as_mut().filter(|j| j.job == job && j.state == JobState::Running) {
            j.stage = stage.to_string();
            j.percent = percent.clamp(0.0, 100.0).max(j.percent);
        }
    }

    fn finish(&self, job: u64, f: impl FnOnce(&mut RetrainStatus)) {
        let mut st = self.state();
        if let Some(j) = st.job.as_mut().filter(|j| j.job == job) {
            f(j);
            j.finished_at = Some(now_ms());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    /// A registry on a fresh data dir with the shipped models, and a copy of them as `r1`.
    async fn registry(dir: &Path) -> (Registry, Config) {
        let config = Config { data_dir: dir.to_path_buf(), model_dir: shipped(), ..Config::default() };
        let db = Db::connect(&config.database_url(), 1).await.unwrap();
        db.migrate().await.unwrap();
        let r = Registry::open(config.registry_settings(), db).await.unwrap();
        copy_dir(&shipped(), &r.root().join("r1"));
        let meta = VersionMeta { id: "r1".into(), created_by: "tester".into(), created_at: 1, comparison: None };
        write_json(&r.root().join("r1").join(VERSION_FILE), &meta).unwrap();
        (r, config)
    }

    #[tokio::test]
    async fn only_the_leader_learns_on_schedule() {
        use crate::baseline::sample::SiteSample;
        use crate::detection::FeatureProfile;
        use crate::model_version::JobKind;
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let open = |dir: PathBuf| async move {
            let config = Config { data_dir: dir, model_dir: shipped(), ..Config::default() };
            let db = Db::connect(&config.database_url(), 1).await.unwrap();
            db.migrate().await.unwrap();
            let mut settings = config.registry_settings();
            // No labelled files: the job refits on the sample alone, in moments.
            settings.retrain.files.clear();
            Registry::open(settings, db).await.unwrap()
        };
        let (leader, follower) = (open(a.path().to_path_buf()).await, open(b.path().to_path_buf()).await);
        let sample = || {
            let mut s = SiteSample::new(10);
            s.offer_one(FeatureProfile::Conn, &crate::flow::Flow::empty(), false);
            Arc::new(Mutex::new(s))
        };
        let every = Some(std::time::Duration::from_millis(50));
        leader.spawn_learning_schedule(every, sample(), 1, || true);
        follower.spawn_learning_schedule(every, sample(), 1, || false);
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let job = leader.retrain_status().expect("the leader learned on schedule");
        assert_eq!((job.kind, job.started_by.as_str()), (JobKind::LearnNormal, "scheduler"));
        assert!(follower.retrain_status().is_none(), "a follower leaves it to the leader");
    }

    #[test]
    fn stored_files_are_written_only_inside_their_version() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![("manifest.json".to_string(), b"{}".to_vec()), ("conn/a.bin".to_string(), vec![1, 2])];
        write_tree(&dir.path().join("r1"), &files).unwrap();
        assert_eq!(read_tree(&dir.path().join("r1")).unwrap(), vec![files[1].clone(), files[0].clone()]);
        for bad in ["../x", "/etc/x", "a/../../x", "a//b", "", "./a", "a\\..\\b"] {
            let err = write_tree(&dir.path().join("r2"), &[(bad.to_string(), vec![0])]).unwrap_err().to_string();
            assert!(err.contains("leaves the version's directory"), "{bad}: {err}");
        }
        assert!(!dir.path().join("x").exists());
    }

    #[test]
    fn retrained_ids_are_r_and_a_number() {
        assert_eq!(retrained_number("r1"), Some(1));
        assert_eq!(retrained_number("r12"), Some(12));
        for bad in ["r", "shipped", "r1a", "../r1", "R1", "r-1", ""] {
            assert_eq!(retrained_number(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_active_choice_is_kept_across_a_restart_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (r, config) = registry(dir.path()).await;
        assert_eq!(r.active(), SHIPPED);
        assert_eq!(r.next_id(), "r2");
        assert!(matches!(r.dir_of("r7"), Err(RegistryError::UnknownVersion(_))));
        assert!(matches!(r.dir_of("../models"), Err(RegistryError::UnknownVersion(_))));
        let (versions, problems) = r.versions();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(versions.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), vec!["r1", SHIPPED]);
        assert_eq!(versions[0].created_by.as_deref(), Some("tester"));
        assert_eq!(versions[1].headline.len(), 2, "random-split figures of both profiles");

        assert_eq!(r.activate("r1", "tester").await.unwrap(), SHIPPED);
        assert_eq!(r.activate("r1", "tester").await.unwrap(), "r1", "activating the active version is a no-op");
        let audit = r.db().recent_audit(5).await.unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(
            (audit[0].action.as_str(), audit[0].target.as_str(), audit[0].detail.as_str()),
            ("model.activate", "r1", "from=shipped")
        );

        // A new process on the same data dir runs r1.
        let again = Registry::open(config.registry_settings(), r.db().clone()).await.unwrap();
        assert_eq!(again.active(), "r1");
        let slot = again.load_active().await.unwrap();
        assert_eq!(slot.current().dir(), again.root().join("r1"));
        assert_eq!(again.running().as_deref(), Some("r1"));
        assert!(again.versions().0.iter().any(|v| v.id == "r1" && v.active && v.running));
    }

    #[tokio::test]
    async fn an_interrupted_retrain_leaves_nothing_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (r, config) = registry(dir.path()).await;
        let partial = r.root().join(".r2.partial");
        std::fs::create_dir_all(partial.join("conn")).unwrap();
        assert_eq!(r.next_id(), "r3", "a partial version's number is not reused while it exists");
        let again = Registry::open(config.registry_settings(), r.db().clone()).await.unwrap();
        assert!(!partial.exists());
        assert!(again.root().join("r1").exists(), "finished versions stay");
        assert_eq!(again.next_id(), "r2");
    }

    #[tokio::test]
    async fn a_switch_changes_the_engine_of_later_batches_only() {
        let dir = tempfile::tempdir().unwrap();
        let (r, _) = registry(dir.path()).await;
        let slot = r.load_active().await.unwrap();
        let batch = slot.current();
        r.activate("r1", "tester").await.unwrap();
        assert_eq!(batch.dir(), shipped(), "a batch keeps the engine it started with");
        assert_eq!(slot.current().dir(), r.root().join("r1"));
        assert_eq!(r.running().as_deref(), Some("r1"));
        r.activate(SHIPPED, "tester").await.unwrap();
        assert_eq!(slot.current().dir(), shipped(), "rollback");
    }

    #[tokio::test]
    async fn a_broken_active_version_falls_back_to_the_shipped_models_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let (r, config) = registry(dir.path()).await;
        r.activate("r1", "tester").await.unwrap();
        std::fs::write(r.root().join("r1/conn/gbdt.safetensors"), b"replaced").unwrap();
        let again = Registry::open(config.registry_settings(), r.db().clone()).await.unwrap();
        let slot = again.load_active().await.unwrap();
        assert_eq!(slot.current().dir(), shipped());
        assert_eq!(again.active(), SHIPPED);
        // (Viewing r1, not the shipped version, whose insight would be computed from the data.)
        let notes = again.overview(Some("r1")).notes;
        assert!(
            notes.iter().any(|n| n.contains("r1 could not be loaded") && n.contains("gbdt.safetensors")),
            "{notes:?}"
        );
        // Activating it again is refused with the cause, and changes nothing.
        let err = again.activate("r1", "tester").await.unwrap_err().to_string();
        assert!(err.contains("sha256"), "{err}");
        assert_eq!(slot.current().dir(), shipped());
    }
}
