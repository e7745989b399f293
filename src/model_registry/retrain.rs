//! The background retrain: one job at a time, on a small thread pool at lowered priority (so ingest
//! keeps scoring), reporting stages and percent. Every finished retrain is kept as a new version; it
//! becomes the active one only if it is not worse than the version that was active when it started
//! ([`crate::model_version::compare`] on the same held-out rows). A failure leaves the running model
//! as it was and is shown with its cause.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::{insight, write_json, Registry, RegistryError, VersionMeta, INSIGHT_FILE, VERSION_FILE};
use crate::detection::{FeatureProfile, ModelManifest};
use crate::engine::train::{load_labelled, standard_split, train_data_and_save, TrainConfig};
use crate::engine::{io, metrics, Engine};
use crate::flow::Flow;
use crate::model_version::{compare, Comparison, JobKind, JobState, RetrainStatus, SplitMetrics, TOLERANCES};
use crate::store::now_ms;
use crate::threat::Threat;

/// A thread pool for background model work: `threads` threads (0 = half the cores, at least one),
/// each at nice 10, so that the pipeline's scoring threads win when both want a core. Training's
/// parallel loops (forust, candle) run on whichever rayon pool they are installed in.
pub fn low_priority_pool(threads: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let n = if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map(|n| n.get() / 2).unwrap_or(1).max(1)
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("af-retrain-{i}"))
        .start_handler(|_| lower_priority())
        .build()
}

fn lower_priority() {
    // SAFETY: nice(2) only changes the scheduling priority of the calling thread (Linux threads have
    // their own nice value); it reads and writes no memory of ours. A failure leaves the priority as
    // it was, which is harmless.
    #[cfg(unix)]
    let _ = unsafe { libc::nice(10) };
}

/// A trained, checked and compared version, ready to be switched to.
pub(super) struct Candidate {
    pub(super) engine: Arc<Engine>,
    pub(super) comparison: Comparison,
}

/// Percent of the job at the start of each stage.
const READ_AT: f32 = 1.0;
const TRAIN_AT: f32 = 5.0;
const TRAIN_SPAN: f32 = 80.0;
const COMPARE_AT: f32 = 86.0;
const INSIGHT_AT: f32 = 94.0;
const SAVE_AT: f32 = 98.0;

impl Registry {
    /// Starts a retrain in the background and returns its first status. A second request while one
    /// runs is refused ([`RegistryError::Busy`]).
    pub fn start_retrain(&self, actor: &str) -> Result<RetrainStatus, RegistryError> {
        let files = self.inner.retrain.files.iter().map(|p| p.display().to_string()).collect();
        let status = self.begin_job(actor, JobKind::Retrain, files)?;
        tracing::info!(job = status.job, actor = %actor, files = ?status.files, "retrain started");
        let (registry, actor, job) = (self.clone(), actor.to_string(), status.job);
        tokio::spawn(async move { registry.run_job(job, actor).await });
        Ok(status)
    }

    /// Records a new running job, or refuses while one runs (one model job at a time).
    pub(super) fn begin_job(
        &self,
        actor: &str,
        kind: JobKind,
        files: Vec<String>,
    ) -> Result<RetrainStatus, RegistryError> {
        let mut st = self.state();
        if let Some(j) = st.job.as_ref().filter(|j| j.state == JobState::Running) {
            return Err(RegistryError::Busy { job: j.job, percent: j.percent });
        }
        st.jobs += 1;
        let status = RetrainStatus {
            job: st.jobs,
            state: JobState::Running,
            stage: "starting".into(),
            percent: 0.0,
            started_at: now_ms(),
            finished_at: None,
            started_by: actor.to_string(),
            files,
            version: None,
            activated: false,
            comparison: None,
            error: None,
            kind,
        };
        st.job = Some(status.clone());
        Ok(status)
    }

    async fn run_job(&self, job: u64, actor: String) {
        let baseline = self.active();
        let action = crate::audit::AuditAction::ModelRetrain;
        let id = match self.claim_id(&actor).await {
            Ok(id) => id,
            Err(e) => return self.conclude(job, &baseline, "-", &actor, action, Err(e.to_string())).await,
        };
        let result = self.train_candidate(job, &baseline, &id, &actor).await;
        self.conclude(job, &baseline, &id, &actor, action, result).await;
    }

    /// Ends a model job: the candidate is stored for the cluster; if it is not worse than
    /// `baseline` it is switched to (unless the active version changed meanwhile, here or on another
    /// instance); the outcome is audited as `action` and kept in the job's status. A job that failed
    /// gives up its version number and leaves no files.
    pub(super) async fn conclude(
        &self,
        job: u64,
        baseline: &str,
        id: &str,
        actor: &str,
        action: crate::audit::AuditAction,
        result: Result<Candidate, String>,
    ) {
        let result = match result {
            Ok(c) => match self.store_version(id).await {
                Ok(true) => Ok(c),
                Ok(false) => Err(format!("version {id} is stored already by another job")),
                Err(e) => Err(format!("storing version {id} for the cluster: {e}")),
            },
            Err(e) => Err(e),
        };
        match result {
            Ok(c) => {
                let mut activated = false;
                let mut note = String::new();
                if c.comparison.not_worse {
                    let _switch = self.inner.switch.lock().await;
                    let moved = |now: String| format!("; not activated: the active version changed to {now} meanwhile");
                    if self.active() != baseline {
                        note = moved(self.active());
                    } else {
                        match self.switch_to(id, c.engine, actor, baseline, true).await {
                            Ok(true) => activated = true,
                            Ok(false) => note = moved("another one".into()),
                            Err(e) => note = format!("; not activated: {e}"),
                        }
                    }
                }
                let verdict = if activated { "activated" } else { "kept, not activated" };
                let detail = format!("{verdict}: {}{note}", c.comparison.summary());
                tracing::info!(job, version = %id, activated, action = action.as_str(), comparison = %c.comparison.summary(), "model job finished");
                if let Err(e) = self.db().audit(actor, action, id, &detail).await {
                    tracing::error!(error = %e, "cannot audit a model job");
                }
                self.finish(job, |j| {
                    j.state = JobState::Succeeded;
                    j.stage = format!("{id} {verdict}{note}");
                    j.percent = 100.0;
                    j.version = Some(id.to_string());
                    j.activated = activated;
                    j.comparison = Some(c.comparison);
                });
            }
            Err(e) => {
                tracing::error!(job, action = action.as_str(), error = %e, "model job failed; the running model is unchanged");
                self.abandon(id).await;
                if let Err(a) = self.db().audit(actor, action, "-", &format!("failed: {e}")).await {
                    tracing::error!(error = %a, "cannot audit a model job");
                }
                self.finish(job, |j| {
                    j.state = JobState::Failed;
                    j.stage = "failed".into();
                    j.error = Some(e);
                });
            }
        }
    }

    /// Removes what a failed job left of version `id` (its files here and its claimed number).
    async fn abandon(&self, id: &str) {
        let Some(number) = super::retrained_number(id) else { return };
        let dir = self.root().join(id);
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a failed model job's files");
            }
        }
        if let Err(e) = self.db().drop_model_claim(number).await {
            tracing::warn!(version = %id, error = %e, "cannot give up a failed model job's version number");
        }
    }

    /// Trains into `.<id>.partial`, compares, records, then renames it to `<id>` (so a failed or
    /// interrupted retrain never leaves a version behind).
    async fn train_candidate(&self, job: u64, baseline: &str, id: &str, actor: &str) -> Result<Candidate, String> {
        let baseline_dir = self.dir_of(baseline).map_err(|e| format!("the active version: {e}"))?;
        let running = self.slot().filter(|_| self.running().as_deref() == Some(baseline)).map(|s| s.current());
        let false_positives = self.false_positive_flows().await;
        let (baseline, actor) = (baseline.to_string(), actor.to_string());
        self.in_background("af-retrain", id, move |registry, id, partial, done| {
            let job = Job {
                registry,
                job,
                baseline: &baseline,
                baseline_dir: &baseline_dir,
                running,
                id,
                actor: &actor,
                false_positives,
            };
            job.build(partial, done)
        })
        .await
    }

    /// Runs `work(registry, id, partial dir, final dir)` on a plain thread in the low-priority pool
    /// and waits for it; a failure removes the partial directory. A plain thread, not
    /// `spawn_blocking`: the runtime waits for blocking tasks when it shuts down, and a server asked
    /// to stop must not wait for a model job (a partial directory is removed at the next start).
    pub(super) async fn in_background(
        &self,
        name: &str,
        id: &str,
        work: impl FnOnce(&Registry, &str, &Path, &Path) -> Result<Candidate, String> + Send + 'static,
    ) -> Result<Candidate, String> {
        let partial = self.root().join(format!(".{id}.partial"));
        let done = self.root().join(id);
        let (registry, id, work_dir) = (self.clone(), id.to_string(), partial.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let result = low_priority_pool(registry.inner.retrain.threads)
                    .map_err(|e| format!("cannot start the model job's threads: {e}"))
                    .and_then(|pool| pool.install(|| work(&registry, &id, &work_dir, &done)));
                let _ = tx.send(result);
            })
            .map_err(|e| format!("cannot start the model job's thread: {e}"))?;
        let result = rx.await.map_err(|_| "the model job's thread stopped".to_string()).and_then(|r| r);
        if result.is_err() && partial.exists() {
            if let Err(e) = std::fs::remove_dir_all(&partial) {
                tracing::warn!(dir = %partial.display(), error = %e, "cannot remove a failed model job's files");
            }
        }
        result
    }
}

impl Registry {
    /// Flows of the newest ML alerts analysts marked as false positives (none when they cannot be
    /// read: a retrain does not fail for want of feedback).
    pub(super) async fn false_positive_flows(&self) -> Vec<Flow> {
        match self.db().false_positive_reasons(FALSE_POSITIVES).await {
            Ok(reasons) => reasons
                .iter()
                .filter_map(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                .filter_map(|v| v.get("flow").and_then(crate::baseline::sample::flow_of_record))
                .map(|(_, flow)| flow)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the analysts' false positives");
                Vec::new()
            }
        }
    }
}

/// Analysts' false positives read per model job (the newest).
pub(super) const FALSE_POSITIVES: i64 = 5_000;

/// What one retrain works with.
struct Job<'a> {
    registry: &'a Registry,
    job: u64,
    baseline: &'a str,
    baseline_dir: &'a Path,
    /// The baseline's engine when it is the one running (saves loading it again).
    running: Option<Arc<Engine>>,
    id: &'a str,
    actor: &'a str,
    /// Flows of alerts analysts marked as false positives: benign training rows.
    false_positives: Vec<Flow>,
}

impl Job<'_> {
    fn progress(&self, stage: &str, percent: f32) {
        self.registry.progress(self.job, stage, percent);
    }

    fn build(&self, partial: &Path, done: &Path) -> Result<Candidate, String> {
        let started = Instant::now();
        let files = self.registry.retrain_config().files.clone();
        if files.is_empty() {
            return Err("no training files are configured (AF_RETRAIN__FILES)".into());
        }
        let baseline_manifest =
            io::load_manifest(self.baseline_dir).map_err(|e| format!("the active version {}: {e}", self.baseline))?;
        let cfg = self.train_config(&baseline_manifest)?;

        self.progress(&format!("reading {}", names(&files)), READ_AT);
        let data = load_labelled(&files).map_err(|e| e.to_string())?;
        if data.is_empty() {
            return Err(format!("{}: no labelled rows", names(&files)));
        }
        if partial.exists() {
            std::fs::remove_dir_all(partial).map_err(|e| format!("{}: {e}", partial.display()))?;
        }
        let manifest =
            train_data_and_save(&data, &self.false_positives, &files, partial, &cfg, started, &|stage, done| {
                self.progress(&format!("training {stage}"), TRAIN_AT + TRAIN_SPAN * done as f32)
            })
            .map_err(|e| e.to_string())?;

        self.progress("checking the new models", COMPARE_AT);
        let candidate = Engine::load(partial).map_err(|e| format!("the new models do not load: {e}"))?;
        let baseline = match &self.running {
            Some(e) => e.clone(),
            None => Arc::new(
                Engine::load(self.baseline_dir).map_err(|e| format!("the active version {}: {e}", self.baseline))?,
            ),
        };
        let (_, test) = standard_split(&data.labels, &cfg);
        let flows: Vec<Flow> = test.iter().map(|&i| data.flows[i].clone()).collect();
        let labels: Vec<Threat> = test.iter().map(|&i| data.labels[i]).collect();
        let split = insight::split_description(&cfg, &files, test.len());
        let same_split = same_split(&baseline_manifest, &manifest, &cfg);

        self.progress(&format!("scoring the held-out rows with {}", self.baseline), COMPARE_AT + 2.0);
        let data_name = names(&files);
        let mut rows = Vec::new();
        for profile in FeatureProfile::ALL {
            let Some(report) = manifest.evaluation.iter().find(|r| r.split == "random" && r.profile == profile) else {
                continue;
            };
            let base = baseline
                .profile(profile)
                .ok()
                .map(|m| SplitMetrics::from_report(&metrics::evaluate(m, &flows, &labels, "random", &data_name)));
            rows.push((profile, base, SplitMetrics::from_report(report)));
        }
        let comparison = compare(self.baseline, &split, same_split, &rows, TOLERANCES);

        self.progress("confusion matrices and feature importances", INSIGHT_AT);
        let insight = insight::compute(&candidate, &flows, &labels, &split);

        self.progress("saving", SAVE_AT);
        let mut manifest = manifest;
        manifest.model_version = format!("{}-{}", manifest.model_version, self.id);
        // The behaviour thresholds this network's feedback set stay until the next learning.
        manifest.behaviour_thresholds = baseline_manifest.behaviour_thresholds.clone();
        manifest.notes.push(format!(
            "retrained on the server as version {} (started by {}); compared with {}: {}",
            self.id,
            self.actor,
            self.baseline,
            comparison.summary()
        ));
        io::write_manifest(partial, &manifest).map_err(|e| e.to_string())?;
        let meta = VersionMeta {
            id: self.id.to_string(),
            created_by: self.actor.to_string(),
            created_at: now_ms(),
            comparison: Some(comparison.clone()),
        };
        write_json(&partial.join(VERSION_FILE), &meta).map_err(|e| e.to_string())?;
        write_json(&partial.join(INSIGHT_FILE), &insight).map_err(|e| e.to_string())?;
        std::fs::rename(partial, done).map_err(|e| format!("{} → {}: {e}", partial.display(), done.display()))?;
        // The engine that may be switched to is loaded from its final place (and so checked again).
        let engine =
            Engine::load(done).map_err(|e| format!("the new version does not load from {}: {e}", done.display()))?;
        Ok(Candidate { engine: Arc::new(engine), comparison })
    }

    /// `AF_RETRAIN__CONFIG` if set, otherwise the baseline's own hyper-parameters (so the held-out
    /// split is the baseline's when the files are the same).
    fn train_config(&self, baseline: &ModelManifest) -> Result<TrainConfig, String> {
        match &self.registry.retrain_config().config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: not a training configuration: {e}", path.display()))
            }
            None => serde_json::from_value(baseline.hyperparameters.clone()).map_err(|e| {
                format!("the hyper-parameters of {} do not describe a training configuration of this build ({e}); set AF_RETRAIN__CONFIG", self.baseline)
            }),
        }
    }
}

/// Whether the candidate's held-out rows are also the baseline's: same training files (by digest),
/// same seed and test fraction.
fn same_split(baseline: &ModelManifest, candidate: &ModelManifest, cfg: &TrainConfig) -> bool {
    let digests = |m: &ModelManifest| m.training_files.iter().map(|f| f.sha256.clone()).collect::<Vec<_>>();
    let h = &baseline.hyperparameters;
    digests(baseline) == digests(candidate)
        && h.get("seed").and_then(|v| v.as_u64()) == Some(cfg.seed)
        && h.get("test_fraction").and_then(|v| v.as_f64()) == Some(cfg.test_fraction)
}

fn names(files: &[PathBuf]) -> String {
    files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
