//! "Learn this network's normal" as a background job ([`crate::baseline`]): the pipeline's sample of
//! scored flows, the analysts' false positives and the addresses confirmed malicious are gathered,
//! the active version's anomaly models and thresholds are refitted on them at lowered priority, and
//! the result becomes a new version, switched to under the not-worse rule
//! ([`crate::model_version::compare_site`]) like a retrain. One model job runs at a time.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::retrain::Candidate;
use super::{insight, write_json, Registry, RegistryError, VersionMeta, INSIGHT_FILE, VERSION_FILE};
use crate::baseline::refit::{refit, write_version, LabData, RefitInput};
use crate::baseline::sample::{Sampled, SiteSample};
use crate::behaviour::tuning::{self, Feedback};
use crate::detection::FeatureProfile;
use crate::engine::train::TrainConfig;
use crate::engine::{metrics, Engine};
use crate::flow::Flow;
use crate::model_version::{compare_site, JobKind, RetrainStatus, SplitMetrics, TOLERANCES};
use crate::report::ReportStatus;
use crate::store::now_ms;

/// Newest judged behaviour alerts read for the thresholds.
const BEHAVIOUR_FEEDBACK_LIMIT: i64 = 10_000;

/// Where one refit writes and what it starts from.
#[derive(Clone, Copy)]
struct Work<'a> {
    job: u64,
    engine: &'a Engine,
    baseline: &'a str,
    id: &'a str,
    actor: &'a str,
    partial: &'a std::path::Path,
    done: &'a std::path::Path,
}

/// What the job refits on, gathered before it leaves the async side.
struct Gathered {
    samples: Vec<(FeatureProfile, u64, Vec<Sampled>)>,
    /// Instances whose samples went into `samples` ([`crate::baseline::shared`]).
    instances: usize,
    false_positives: Vec<Flow>,
    malicious: HashSet<IpAddr>,
    /// Behaviour alerts analysts judged.
    behaviour: Vec<Feedback>,
}

impl Registry {
    /// Starts "learn this network's normal" on `sample` in the background; refused while a model job
    /// runs ([`RegistryError::Busy`]). `min_rows`: fewest usable flows of a profile to refit it.
    pub fn start_learning(
        &self,
        actor: &str,
        sample: Arc<Mutex<SiteSample>>,
        min_rows: usize,
    ) -> Result<RetrainStatus, RegistryError> {
        let kept: usize = sample.lock().unwrap_or_else(|e| e.into_inner()).counts().iter().map(|c| c.2).sum();
        let what = format!("the pipeline's sample of {kept} scored flows");
        let status = self.begin_job(actor, JobKind::LearnNormal, vec![what])?;
        tracing::info!(job = status.job, actor = %actor, kept, "learning this network's normal");
        let (registry, actor, job) = (self.clone(), actor.to_string(), status.job);
        tokio::spawn(async move { registry.run_learning(job, actor, sample, min_rows).await });
        Ok(status)
    }

    /// Every `period` (from now; `[baseline] schedule_hours`): starts a refit on `sample` as
    /// `scheduler`, skipped while another model job runs, while no profile has `min_rows` kept flows
    /// yet, or while `leads()` is false (in a cluster only the leader learns on schedule, and every
    /// instance then runs what it learned). `None` starts nothing.
    pub fn spawn_learning_schedule(
        &self,
        period: Option<std::time::Duration>,
        sample: Arc<Mutex<SiteSample>>,
        min_rows: usize,
        leads: impl Fn() -> bool + Send + 'static,
    ) {
        let Some(period) = period.filter(|p| !p.is_zero()) else {
            return;
        };
        let registry = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                tick.tick().await;
                if !leads() {
                    tracing::debug!("scheduled learning of the network's normal left to the leader");
                    continue;
                }
                let ready = sample.lock().unwrap_or_else(|e| e.into_inner()).counts().iter().any(|c| c.2 >= min_rows);
                if !ready {
                    tracing::info!(
                        min_rows,
                        "scheduled learning of the network's normal skipped: too few flows kept yet"
                    );
                    continue;
                }
                match registry.start_learning("scheduler", sample.clone(), min_rows) {
                    Ok(s) => tracing::info!(job = s.job, "scheduled learning of the network's normal started"),
                    Err(e) => tracing::warn!(error = %e, "scheduled learning of the network's normal skipped"),
                }
            }
        });
    }

    async fn run_learning(&self, job: u64, actor: String, sample: Arc<Mutex<SiteSample>>, min_rows: usize) {
        let baseline = self.active();
        let action = crate::audit::AuditAction::ModelLearnNormal;
        let id = match self.claim_id(&actor).await {
            Ok(id) => id,
            Err(e) => return self.conclude(job, &baseline, "-", &actor, action, Err(e.to_string())).await,
        };
        self.progress(job, "reading analysts' false positives and confirmed addresses", 2.0);
        let result = match self.gather(sample).await {
            Ok(g) => self.learn_candidate(job, &baseline, &id, &actor, g, min_rows).await,
            Err(e) => Err(e),
        };
        self.conclude(job, &baseline, &id, &actor, action, result).await;
    }

    async fn gather(&self, sample: Arc<Mutex<SiteSample>>) -> Result<Gathered, String> {
        let false_positives = self.false_positive_flows().await;
        let malicious = self
            .db()
            .intel_index()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|i| i.status == ReportStatus::Confirmed)
            .filter_map(|i| i.indicator.parse().ok())
            .collect();
        let configured = &self.inner.behaviour;
        let behaviour = self
            .db()
            .judged_behaviour_reasons(BEHAVIOUR_FEEDBACK_LIMIT)
            .await
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|(status, reasons)| Feedback::of_alert(status, reasons, configured))
            .collect();
        let (id, own, capacity) = {
            let s = sample.lock().unwrap_or_else(|e| e.into_inner());
            (s.id().to_string(), s.snapshot(), s.capacity())
        };
        // The other instances' samples (PostgreSQL): with the ingest bus each scores its share of
        // the hosts, and the network's normal is all of them.
        let (samples, instances) = crate::baseline::shared::gather(self.db(), &id, own, capacity).await;
        Ok(Gathered { samples, instances, false_positives, malicious, behaviour })
    }

    /// Refits into `.<id>.partial`, compares, records, then renames it to `<id>`.
    async fn learn_candidate(
        &self,
        job: u64,
        baseline: &str,
        id: &str,
        actor: &str,
        gathered: Gathered,
        min_rows: usize,
    ) -> Result<Candidate, String> {
        let baseline_dir = self.dir_of(baseline).map_err(|e| format!("the active version: {e}"))?;
        let running = self.slot().filter(|_| self.running().as_deref() == Some(baseline)).map(|s| s.current());
        let (baseline, actor) = (baseline.to_string(), actor.to_string());
        self.in_background("af-learn-normal", id, move |registry, id, partial, done| {
            let engine = match running {
                Some(e) => e,
                None => {
                    Arc::new(Engine::load(&baseline_dir).map_err(|e| format!("the active version {baseline}: {e}"))?)
                }
            };
            let work = Work { job, engine: &engine, baseline: &baseline, id, actor: &actor, partial, done };
            registry.build_learned(&work, gathered, min_rows)
        })
        .await
    }

    fn build_learned(&self, w: &Work<'_>, g: Gathered, min_rows: usize) -> Result<Candidate, String> {
        let Work { job, engine, baseline, id, actor, partial, done } = *w;
        let train: TrainConfig = serde_json::from_value(engine.manifest().hyperparameters.clone()).map_err(|e| {
            format!("the hyper-parameters of {baseline} are not a training configuration of this build: {e}")
        })?;
        // The version's held-out labelled rows, when its training files are at hand.
        let files: Vec<PathBuf> = self.retrain_config().files.iter().filter(|p| p.exists()).cloned().collect();
        let lab = if files.is_empty() {
            None
        } else {
            self.progress(job, "reading the labelled held-out rows", 5.0);
            Some(LabData::load(&files, &train).map_err(|e| e.to_string())?)
        };
        self.progress(job, "refitting the anomaly models on this network's flows", 20.0);
        let kept: usize = g.samples.iter().map(|s| s.2.len()).sum();
        let seen: u64 = g.samples.iter().map(|s| s.1).sum();
        let input = RefitInput {
            engine,
            train: &train,
            samples: g.samples,
            false_positives: &g.false_positives,
            malicious: &g.malicious,
            min_rows,
            sample: if g.instances > 1 {
                format!("the sample of {kept} of {seen} flows scored by {} instances", g.instances)
            } else {
                format!("the pipeline's sample of {kept} of {seen} scored flows")
            },
            lab: lab.as_ref().map(LabData::lab),
        };
        let mut refitted = refit(&input).map_err(|e| e.to_string())?;
        refitted.behaviour_thresholds = tuning::fit(&self.inner.behaviour, &g.behaviour);
        if partial.exists() {
            std::fs::remove_dir_all(partial).map_err(|e| format!("{}: {e}", partial.display()))?;
        }
        let base_name = engine.manifest().model_version.split("-site-").next().unwrap_or_default().to_string();
        let manifest =
            write_version(engine, &refitted, partial, &format!("{base_name}-site-{id}")).map_err(|e| e.to_string())?;

        self.progress(job, "comparing with the active version", 70.0);
        let candidate = Engine::load(partial).map_err(|e| format!("the new models do not load: {e}"))?;
        let mut rows = Vec::new();
        if let Some(LabData { test_flows: flows, test_labels: labels, .. }) = &lab {
            for p in &refitted.baseline.profiles {
                let (Ok(before), Ok(after)) = (engine.profile(p.profile), candidate.profile(p.profile)) else {
                    continue;
                };
                let metrics = |m| SplitMetrics::from_report(&metrics::evaluate(m, flows, labels, "random", "held-out"));
                rows.push((p.profile, Some(metrics(before)), metrics(after)));
            }
        }
        let site: Vec<(FeatureProfile, f64, f64)> = refitted
            .baseline
            .profiles
            .iter()
            .map(|p| (p.profile, p.holdout_alert_rate_before, p.holdout_alert_rate_after))
            .collect();
        let split = match &lab {
            Some(LabData { test_flows: flows, .. }) => format!(
                "{} held-out labelled rows of {}, and this network's held-out normal flows",
                flows.len(),
                files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
            None => "this network's held-out normal flows".to_string(),
        };
        let comparison = compare_site(baseline, &split, &rows, &site, TOLERANCES);

        self.progress(job, "saving", 90.0);
        if let Some(LabData { test_flows: flows, test_labels: labels, .. }) = &lab {
            let insight = insight::compute(&candidate, flows, labels, &split);
            write_json(&partial.join(INSIGHT_FILE), &insight).map_err(|e| e.to_string())?;
        }
        let meta = VersionMeta {
            id: id.to_string(),
            created_by: actor.to_string(),
            created_at: now_ms(),
            comparison: Some(comparison.clone()),
        };
        write_json(&partial.join(VERSION_FILE), &meta).map_err(|e| e.to_string())?;
        std::fs::rename(partial, done).map_err(|e| format!("{} → {}: {e}", partial.display(), done.display()))?;
        tracing::info!(version = %manifest.model_version, id, "site baseline written");
        let engine =
            Engine::load(done).map_err(|e| format!("the new version does not load from {}: {e}", done.display()))?;
        Ok(Candidate { engine: Arc::new(engine), comparison })
    }
}
