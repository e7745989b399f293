//! What a version's classifier does on its held-out rows beyond the manifest's figures: the
//! confusion matrix (true class × the classifier's most probable class) and a global feature
//! importance per profile.
//!
//! Importance is the mean, over the held-out rows, of the absolute Saabas path contribution of each
//! feature to the margin of the class the classifier predicted — the same per-flow contributions that
//! alerts carry as their reasons, averaged. The flat trees keep no split gain or cover, so gain-based
//! importance cannot be derived from the artifacts; this measure needs only the trees and the rows.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detection::{FeatureProfile, ModelManifest};
use crate::engine::ensemble::{BatchScores, ProfileModel};
use crate::engine::metrics::EVAL_BATCH;
use crate::engine::train::{load_labelled, standard_split, TrainConfig};
use crate::engine::{io, Engine};
use crate::flow::Flow;
use crate::model_version::{FeatureImportance, ModelInsight, ProfileInsight};
use crate::threat::Threat;

/// What a cached insight of the shipped models was computed for; a different manifest or data
/// makes it stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippedKey {
    pub model_version: String,
    pub created_at: String,
    pub training_sha256: Vec<String>,
}

impl ShippedKey {
    pub fn of(m: &ModelManifest) -> ShippedKey {
        ShippedKey {
            model_version: m.model_version.clone(),
            created_at: m.created_at.clone(),
            training_sha256: m.training_files.iter().map(|f| f.sha256.clone()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedInsight {
    pub key: ShippedKey,
    pub insight: ModelInsight,
}

/// "stratified 20 % test split (seed 2017) of data/…: 9,005 rows".
pub fn split_description(cfg: &TrainConfig, files: &[PathBuf], rows: usize) -> String {
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    format!(
        "stratified {:.0} % test split (seed {}) of {}: {rows} rows",
        cfg.test_fraction * 100.0,
        cfg.seed,
        names.join(", ")
    )
}

/// Confusion matrices and importances of every profile of `engine` on labelled held-out rows.
pub fn compute(engine: &Engine, flows: &[Flow], labels: &[Threat], split: &str) -> ModelInsight {
    let profiles = FeatureProfile::ALL
        .into_iter()
        .filter_map(|p| engine.profile(p).ok())
        .map(|m| profile_insight(m, flows, labels))
        .collect();
    ModelInsight { split: split.to_string(), profiles }
}

/// One profile's confusion matrix and importances.
pub fn profile_insight(m: &ProfileModel, flows: &[Flow], labels: &[Threat]) -> ProfileInsight {
    let d = m.dim();
    let k = Threat::COUNT;
    let mut cells = vec![0u64; k * k];
    let mut total = vec![0f64; d];
    let mut contrib = vec![0f32; d];
    let mut x = Vec::new();
    for (b, chunk) in flows.chunks(EVAL_BATCH).enumerate() {
        m.scale(chunk, &mut x);
        let mut s = BatchScores { n: chunk.len(), ..Default::default() };
        m.classify(&x, chunk.len(), &mut s);
        for r in 0..chunk.len() {
            let predicted = s.argmax(r);
            let truth = labels[b * EVAL_BATCH + r];
            cells[truth.index() * k + predicted.index()] += 1;
            m.gbdt.contributions(&x[r * d..(r + 1) * d], predicted.index(), &mut contrib);
            for (t, c) in total.iter_mut().zip(&contrib) {
                *t += f64::from(c.abs());
            }
        }
    }
    let present: Vec<Threat> = Threat::ALL
        .into_iter()
        .filter(|t| (0..k).any(|j| cells[t.index() * k + j] > 0 || cells[j * k + t.index()] > 0))
        .collect();
    let confusion =
        present.iter().map(|t| present.iter().map(|p| cells[t.index() * k + p.index()]).collect()).collect();
    let n = flows.len().max(1) as f64;
    let mut importances: Vec<FeatureImportance> = (0..d)
        .map(|j| FeatureImportance { feature: m.schema.name(j).to_string(), mean_abs_contribution: total[j] / n })
        .collect();
    importances.sort_by(|a, b| {
        b.mean_abs_contribution.total_cmp(&a.mean_abs_contribution).then_with(|| a.feature.cmp(&b.feature))
    });
    ProfileInsight { profile: m.profile(), rows: flows.len() as u64, classes: present, confusion, importances }
}

/// The insight of the models in `dir` (described by `m`) on their own held-out split, reproduced
/// from the manifest's seed and test fraction. The training files are found among `candidates` by
/// digest; a missing or changed file is a reason, not a guess.
pub fn for_manifest(dir: &Path, m: &ModelManifest, candidates: &[PathBuf]) -> Result<ModelInsight, String> {
    let mut digests = Vec::new();
    for c in candidates {
        if let Ok(d) = io::sha256_stream(c) {
            digests.push((d, c.clone()));
        }
    }
    let mut paths = Vec::new();
    for f in &m.training_files {
        match digests.iter().find(|(d, _)| *d == f.sha256) {
            Some((_, p)) => paths.push(p.clone()),
            None => {
                return Err(format!(
                    "the data these models were tested on ({}, sha256 {}…) is not among the retrain files ({}); point AF_RETRAIN__FILES at it",
                    f.path,
                    f.sha256.get(..12).unwrap_or(&f.sha256),
                    candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
    let cfg: TrainConfig = serde_json::from_value(m.hyperparameters.clone()).map_err(|e| {
        format!("the manifest's hyper-parameters do not describe a training configuration of this build: {e}")
    })?;
    let data = load_labelled(&paths).map_err(|e| e.to_string())?;
    let (_, test) = standard_split(&data.labels, &cfg);
    let flows: Vec<Flow> = test.iter().map(|&i| data.flows[i].clone()).collect();
    let labels: Vec<Threat> = test.iter().map(|&i| data.labels[i]).collect();
    let engine = Engine::load(dir).map_err(|e| e.to_string())?;
    Ok(compute(&engine, &flows, &labels, &split_description(&cfg, &paths, test.len())))
}
