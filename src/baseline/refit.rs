//! "Learn this network's normal": refits one model version's anomaly models and thresholds on a sample
//! of the site's own flows and writes the result as a new version (the classifier is kept as it is:
//! it needs labelled attacks, which a site's sample does not have).
//!
//! Per profile with at least `min_rows` usable sampled flows:
//! 1. flows that alerted (or whose host pair a behaviour detector flagged) and flows to or from an
//!    address confirmed malicious are left out; flows of alerts analysts marked as false positives
//!    are added as benign rows;
//! 2. the usable flows are shuffled (seeded) into halves: the anomaly models are fitted on one half
//!    (with the version's benign training rows, when at hand: the new normal is the lab's and this
//!    network's); the other is split again into calibration rows and held-out rows;
//! 3. on the calibration rows: each anomaly model's median and 1 %-point, the anomaly layer's
//!    threshold (the version's budget of benign flows, same way of combining its models), and the
//!    classifier's operating threshold — raised, never lowered, toward the point where at most the
//!    version's target share of this network's normal flows reach it, but only as far as the
//!    version's held-out labelled attacks allow (half the not-worse rule's recall slack); without
//!    them it stays;
//! 4. the usable flows become the profile's drift reference: the models' normal is now this network's;
//! 5. the held-out rows give the before/after figures: how many of this network's normal flows the
//!    ensemble alerts on (and, before, how many the pipeline let alert with the anomaly layer silenced
//!    for drift).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::sample::Sampled;
use super::{ProfileBaseline, SiteBaseline};
use crate::detection::{FeatureProfile, ModelManifest, Verdict};
use crate::drift::{reference, ProfileReference, SIGNIFICANT};
use crate::engine::ensemble::{Detail, ProfileModel};
use crate::engine::train::{calibrate_anomaly, fit_anomaly_models, now_rfc3339, AnomalyModels, TrainConfig};
use crate::engine::{io, score_with, Engine, EngineError};
use crate::flow::Flow;
use crate::model_version::TOLERANCES;
use crate::threat::Threat;

/// What one refit works with.
pub struct RefitInput<'a> {
    pub engine: &'a Engine,
    /// The version's training settings (its anomaly models' parameters, benign budgets and seed).
    pub train: &'a TrainConfig,
    /// Per profile: flows seen, flows kept.
    pub samples: Vec<(FeatureProfile, u64, Vec<Sampled>)>,
    /// Flows of alerts analysts marked as false positives.
    pub false_positives: &'a [Flow],
    /// Addresses confirmed malicious.
    pub malicious: &'a HashSet<IpAddr>,
    pub min_rows: usize,
    /// Where the sample came from, in words.
    pub sample: String,
    /// The version's labelled training data, when at hand. Without it the operating threshold stays
    /// and the anomaly models learn this network's normal alone.
    pub lab: Option<Lab<'a>>,
}

/// The version's labelled training data, split as it was trained.
#[derive(Clone, Copy)]
pub struct Lab<'a> {
    /// The held-out rows: the operating threshold is raised only as far as their attack recall allows.
    pub test_flows: &'a [Flow],
    pub test_labels: &'a [Threat],
    /// The benign training rows: the anomaly models learn them with this network's flows, so that what
    /// was unlike the lab's normal stays unlike the new normal unless this network does it.
    pub benign_train: &'a [Flow],
}

/// A version's labelled training data read back and split as it was trained (owned; [`LabData::lab`]
/// lends it to a refit).
pub struct LabData {
    pub test_flows: Vec<Flow>,
    pub test_labels: Vec<Threat>,
    pub benign_train: Vec<Flow>,
}

impl LabData {
    pub fn load(files: &[std::path::PathBuf], train: &TrainConfig) -> Result<LabData, EngineError> {
        let data = crate::engine::train::load_labelled(files)?;
        let (train_rows, test) = crate::engine::train::standard_split(&data.labels, train);
        Ok(LabData {
            test_flows: test.iter().map(|&i| data.flows[i].clone()).collect(),
            test_labels: test.iter().map(|&i| data.labels[i]).collect(),
            benign_train: train_rows
                .iter()
                .filter(|&&i| !data.labels[i].is_attack())
                .map(|&i| data.flows[i].clone())
                .collect(),
        })
    }

    pub fn lab(&self) -> Lab<'_> {
        Lab { test_flows: &self.test_flows, test_labels: &self.test_labels, benign_train: &self.benign_train }
    }
}

/// One refitted profile.
pub struct RefitProfile {
    pub model: ProfileModel,
    pub ae_tensors: HashMap<String, Tensor>,
    pub reference: ProfileReference,
}

/// A finished refit, not yet written.
pub struct Refit {
    pub profiles: Vec<RefitProfile>,
    pub baseline: SiteBaseline,
    /// The behaviour detectors' thresholds fitted on the analysts' feedback
    /// ([`crate::behaviour::tuning::fit`]; empty: the configured ones).
    pub behaviour_thresholds: Vec<crate::baseline::BehaviourThreshold>,
}

/// Refits every profile that has enough usable rows. Fails when none has.
pub fn refit(input: &RefitInput<'_>) -> Result<Refit, EngineError> {
    let mut profiles = Vec::new();
    let mut figures = Vec::new();
    let mut unchanged = Vec::new();
    for (profile, seen, rows) in &input.samples {
        let Ok(model) = input.engine.profile(*profile) else { continue };
        let fps: Vec<Flow> =
            input.false_positives.iter().filter(|f| input.engine.choose_profile(f) == *profile).cloned().collect();
        let is_malicious = |s: &Sampled| {
            s.src.is_some_and(|a| input.malicious.contains(&a)) || s.dst.is_some_and(|a| input.malicious.contains(&a))
        };
        let excluded_alerted = rows.iter().filter(|s| s.alerted).count() as u64;
        let excluded_malicious = rows.iter().filter(|s| !s.alerted && is_malicious(s)).count() as u64;
        let usable: Vec<Flow> =
            rows.iter().filter(|s| !s.alerted && !is_malicious(s)).map(|s| s.to_flow(&model.schema)).collect();
        if usable.len() < input.min_rows {
            unchanged.push(format!(
                "{}: {} usable sampled flows of {} seen, {} needed",
                profile.name(),
                usable.len(),
                seen,
                input.min_rows
            ));
            continue;
        }
        let before_reference = input
            .engine
            .manifest()
            .profiles
            .iter()
            .find(|p| p.schema.profile == *profile)
            .and_then(|p| p.reference.clone());
        let (refitted, mut fig) =
            refit_profile(model, before_reference.as_ref(), usable, &fps, input.train, input.lab)?;
        fig.sampled = *seen;
        fig.excluded_alerted = excluded_alerted;
        fig.excluded_malicious = excluded_malicious;
        tracing::info!(
            profile = profile.name(),
            fit = fig.fit_rows,
            calibration = fig.calibration_rows,
            holdout = fig.holdout_rows,
            before = fig.holdout_alert_rate_before,
            after = fig.holdout_alert_rate_after,
            "site baseline refitted"
        );
        profiles.push(refitted);
        figures.push(fig);
    }
    if profiles.is_empty() {
        return Err(EngineError::Training {
            model: "site baseline",
            reason: format!("no profile has enough of this network's normal flows: {}", unchanged.join("; ")),
        });
    }
    Ok(Refit {
        profiles,
        baseline: SiteBaseline {
            learned_at: now_rfc3339(),
            base_version: input.engine.manifest().model_version.clone(),
            sample: input.sample.clone(),
            profiles: figures,
            unchanged,
        },
        behaviour_thresholds: Vec::new(),
    })
}

fn refit_profile(
    model: &ProfileModel,
    before_reference: Option<&ProfileReference>,
    mut usable: Vec<Flow>,
    false_positives: &[Flow],
    cfg: &TrainConfig,
    lab: Option<Lab<'_>>,
) -> Result<(RefitProfile, ProfileBaseline), EngineError> {
    let profile = model.profile();
    let drift_psi_before =
        before_reference.map_or(f64::INFINITY, |r| reference::mean_psi_of(r, &model.schema, &usable));
    let reference = reference::build(&model.schema, &usable, &(0..usable.len()).collect::<Vec<_>>());
    usable.shuffle(&mut ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5173_u64));
    let holdout = usable.split_off(usable.len() * 3 / 4);
    let calibration = usable.split_off(usable.len() * 2 / 3);
    let mut fit = usable;
    fit.extend_from_slice(false_positives);
    let site_fit_rows = fit.len();
    if let Some(lab) = lab {
        fit.extend_from_slice(lab.benign_train);
    }
    let mut calibration = calibration;
    calibration.extend_from_slice(false_positives);

    // 1. The anomaly models on this network's normal flows.
    let d = model.dim();
    let mut x = Vec::new();
    model.scale(&fit, &mut x);
    let AnomalyModels { iforest, ocsvm, ae, ae_tensors } = fit_anomaly_models(&x, fit.len(), d, cfg)?;
    let mut next = model.clone();
    (next.iforest, next.ocsvm, next.ae) = (iforest, ocsvm, ae);

    // 2. Their thresholds, the operating threshold and the anomaly layer's, on the calibration rows.
    model.scale(&calibration, &mut x);
    calibrate_anomaly(&mut next, &x, calibration.len());
    let s = next.score_matrix(&x, calibration.len());
    let mut fused: Vec<f64> = (0..calibration.len()).map(|r| next.fused_risk(&s, r) as f64).collect();
    fused.sort_by(|a, b| b.total_cmp(a));
    let allowed = (cfg.target_benign_fpr * calibration.len() as f64).floor() as usize;
    let site_floor = fused.get(allowed).map_or(0.0, |v| v.next_up());
    let before_op = model.fusion.operating_threshold;
    let lab_bound =
        lab.map_or(before_op, |l| highest_keeping_recall(model, &next, l.test_flows, l.test_labels, before_op));
    next.fusion.operating_threshold = site_floor.min(lab_bound).max(before_op).min(99.999);
    if next.fusion.operating_threshold != before_op {
        // The anomaly layer's budget counts what the classifier leaves quiet at the new threshold.
        calibrate_anomaly(&mut next, &x, calibration.len());
    }
    if let Some(gate) = next.fusion.anomaly_gate.as_mut() {
        // What it catches of attacks is not measurable on a site's normal flows.
        gate.validation_attack_recall = None;
    }
    let op = next.fusion.operating_threshold;

    // 3. Before and after on the held-out rows, as the pipeline judges them.
    let muted_before = drift_psi_before >= SIGNIFICANT;
    let rate = |m: &ProfileModel, muted: bool, flows: &[Flow]| -> u64 {
        score_with(m, flows, Detail::Brief)
            .iter()
            .filter(|v: &&Verdict| v.alert && !(muted && v.anomaly_only()))
            .count() as u64
    };
    let share = |n: u64| n as f64 / holdout.len().max(1) as f64;
    let figures = ProfileBaseline {
        profile,
        sampled: 0,
        excluded_alerted: 0,
        excluded_malicious: 0,
        false_positives: false_positives.len() as u64,
        fit_rows: site_fit_rows as u64,
        lab_benign_rows: lab.map_or(0, |l| l.benign_train.len() as u64),
        calibration_rows: calibration.len() as u64,
        holdout_rows: holdout.len() as u64,
        operating_threshold_before: before_op,
        operating_threshold_after: op,
        anomaly_threshold_before: model.fusion.anomaly_gate.as_ref().map(|g| g.threshold),
        anomaly_threshold_after: next.fusion.anomaly_gate.as_ref().map(|g| g.threshold),
        drift_psi_before,
        holdout_alert_rate_before: share(rate(model, false, &holdout)),
        holdout_alert_rate_after: share(rate(&next, false, &holdout)),
        holdout_alerting_before: share(rate(model, muted_before, &holdout)),
        false_positives_alerting_before: rate(model, false, false_positives),
        false_positives_alerting_after: rate(&next, false, false_positives),
    };
    Ok((RefitProfile { model: next, ae_tensors, reference }, figures))
}

/// The highest operating threshold at which `next` still catches as many of the labelled attack rows
/// as `before` does at `op`, less half of [`TOLERANCES`]`.attack_recall` of them (half the not-worse
/// rule's slack). Attacks only the anomaly layer catches count whatever the threshold.
fn highest_keeping_recall(
    before: &ProfileModel,
    next: &ProfileModel,
    flows: &[Flow],
    labels: &[Threat],
    op: f64,
) -> f64 {
    let mut x = Vec::new();
    let (mut attacks, mut caught_before, mut by_layer) = (0usize, 0usize, 0usize);
    let mut fused: Vec<f64> = Vec::new();
    for (chunk, chunk_labels) in flows.chunks(4096).zip(labels.chunks(4096)) {
        before.scale(chunk, &mut x);
        let b = before.score_matrix(&x, chunk.len());
        let s = next.score_matrix(&x, chunk.len());
        for r in (0..chunk.len()).filter(|&r| chunk_labels[r].is_attack()) {
            attacks += 1;
            caught_before += usize::from(b.risk[r] as f64 >= op);
            if next.anomaly_only(&s, r) {
                by_layer += 1;
            } else {
                fused.push(next.fused_risk(&s, r) as f64);
            }
        }
    }
    let may_lose = (TOLERANCES.attack_recall * 0.5 * attacks as f64).floor() as usize;
    let need = caught_before.saturating_sub(may_lose);
    fused.sort_by(|a, b| b.total_cmp(a));
    if by_layer + fused.iter().filter(|&&f| f >= op).count() < need {
        return op;
    }
    match need.checked_sub(by_layer) {
        Some(k) if k > 0 => fused[k - 1].max(op),
        _ => f64::INFINITY,
    }
}

/// Writes `refit` as a new version in `out`: the refitted profiles' artifacts, the others copied from
/// the engine's directory, and a manifest naming `model_version`, with the before/after figures.
pub fn write_version(
    engine: &Engine,
    refit: &Refit,
    out: &Path,
    model_version: &str,
) -> Result<ModelManifest, EngineError> {
    std::fs::create_dir_all(out).map_err(|source| EngineError::Io { path: out.to_path_buf(), source })?;
    let mut manifest = engine.manifest().clone();
    for pm in &mut manifest.profiles {
        match refit.profiles.iter().find(|r| r.model.profile() == pm.schema.profile) {
            Some(r) => {
                pm.files = io::save_profile(&r.model, &r.ae_tensors, out)?;
                pm.fusion = r.model.fusion.clone();
                pm.reference = Some(r.reference.clone());
            }
            None => {
                for f in &pm.files {
                    let (from, to) = (engine.dir().join(&f.file), out.join(&f.file));
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|source| EngineError::Io { path: parent.to_path_buf(), source })?;
                    }
                    std::fs::copy(&from, &to).map_err(|source| EngineError::Io { path: from.clone(), source })?;
                }
            }
        }
    }
    manifest.model_version = model_version.to_string();
    manifest.created_at = now_rfc3339();
    manifest.notes.push(format!(
        "learned this network's normal from {} on {}: the anomaly models, their thresholds, the anomaly layer's and the operating threshold of {} were refitted on this network's flows (the classifier is {}'s); the evaluation figures above are {}'s, measured before the refit",
        refit.baseline.sample,
        refit.baseline.learned_at,
        refit.profiles.iter().map(|r| r.model.profile().name()).collect::<Vec<_>>().join(" and "),
        refit.baseline.base_version,
        refit.baseline.base_version,
    ));
    manifest.site_baseline = Some(refit.baseline.clone());
    manifest.behaviour_thresholds = refit.behaviour_thresholds.clone();
    let raised: Vec<String> = refit
        .behaviour_thresholds
        .iter()
        .filter(|t| t.learned > t.configured)
        .map(|t| format!("{} {} → {}", t.setting, t.configured, t.learned))
        .collect();
    if !raised.is_empty() {
        manifest.notes.push(format!(
            "behaviour thresholds raised by analysts' false positives (bounded by the detections they kept): {}",
            raised.join(", ")
        ));
    }
    io::write_manifest(out, &manifest)?;
    Ok(manifest)
}
