//! The detection engine (server only): CICFlowMeter CSV ingestion, feature schema and scaling, the
//! ensemble (gradient-boosted trees, web-attack specialist, Isolation Forest, One-Class SVM,
//! autoencoder), the fitted 0–100 risk score with reasons, training, evaluation and benchmarks.
//!
//! The live pipeline calls [`Engine::load`] once and [`Engine::score_batch`] per batch of flows; the
//! profile (`cicflowmeter` or `conn`) is chosen per flow from the features it has, so Zeek/Suricata/
//! NetFlow records (which lack most CICFlowMeter features) are scored by the `conn` models.

// The scoring path: what a running server loads and calls per batch.
pub mod autoencoder;
pub mod csv;
pub mod ensemble;
pub mod features;
pub mod gbdt;
pub mod iforest;
pub mod io;
pub mod ocsvm;
pub mod rare;
pub mod slot;
pub mod traverse;
// Shared by training and the registry's comparisons.
pub mod metrics;
pub mod split;
// Offline: training, evaluations that retrain, cross-validation, benchmarks.
pub mod train;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::detection::{FeatureProfile, FlowContext, ModelManifest, Verdict};
use crate::flow::Flow;
use ensemble::{Detail, ProfileModel};

/// Errors of the engine. Every variant names what failed and why.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {reason}", path.display())]
    Csv { path: PathBuf, reason: String },
    /// A model file (or the manifest) is missing, corrupt or does not match this build.
    #[error("model file {}: {reason}", file.display())]
    Model { file: PathBuf, reason: String },
    #[error("training {model}: {reason}")]
    Training { model: &'static str, reason: String },
    #[error("profile `{0}` is not in the loaded models")]
    MissingProfile(&'static str),
}

/// A progress bar on stderr (hidden when stderr is not a terminal). `len` 0 = a spinner.
pub fn progress_bar(len: u64, msg: &str) -> ProgressBar {
    let pb = if len == 0 { ProgressBar::new_spinner() } else { ProgressBar::new(len) };
    let style = if len == 0 {
        ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})")
    } else {
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
    };
    if let Ok(style) = style {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg.to_string());
    pb
}

/// Share of a profile's features a flow must have for that profile to be chosen automatically.
pub const PROFILE_COVERAGE: f64 = 0.9;

/// The loaded ensemble for every trained profile.
#[derive(Debug, Clone)]
pub struct Engine {
    dir: PathBuf,
    manifest: ModelManifest,
    profiles: Vec<ProfileModel>,
}

impl Engine {
    /// Loads `dir/manifest.json` and every model it lists, checking digests, the feature schema and
    /// shapes. Errors name the file and the cause.
    pub fn load(dir: &Path) -> Result<Engine, EngineError> {
        let manifest = io::load_manifest(dir)?;
        let mut profiles = Vec::new();
        for pm in &manifest.profiles {
            profiles.push(io::load_profile(dir, pm)?);
        }
        if profiles.is_empty() {
            return Err(EngineError::Model {
                file: dir.join(io::MANIFEST),
                reason: "no profile in the manifest".into(),
            });
        }
        tracing::info!(dir = %dir.display(), version = %manifest.model_version, profiles = profiles.len(), "engine loaded");
        Ok(Engine { dir: dir.to_path_buf(), manifest, profiles })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    pub fn profile(&self, p: FeatureProfile) -> Result<&ProfileModel, EngineError> {
        self.profiles.iter().find(|m| m.profile() == p).ok_or(EngineError::MissingProfile(p.name()))
    }

    /// `cicflowmeter` when the flow has at least [`PROFILE_COVERAGE`] of its features (and that profile
    /// is loaded), otherwise `conn` (missing features are imputed and reported in the verdict).
    pub fn choose_profile(&self, flow: &Flow) -> FeatureProfile {
        // The loaded model's schema: building one per flow cost a SHA-256 of its 83 names each time.
        let full = self.profiles.iter().find(|m| m.profile() == FeatureProfile::Cicflowmeter).map(|m| &m.schema);
        let has_conn = self.profiles.iter().any(|m| m.profile() == FeatureProfile::Conn);
        match full {
            Some(s) if !has_conn || s.present(flow) as f64 >= PROFILE_COVERAGE * s.len() as f64 => {
                FeatureProfile::Cicflowmeter
            }
            _ if has_conn => FeatureProfile::Conn,
            _ => self.profiles[0].profile(),
        }
    }

    /// Scores a batch, choosing the profile per flow. Verdicts are in input order.
    pub fn score_batch(&self, flows: &[Flow]) -> Vec<Verdict> {
        self.score_batch_detail(flows, Detail::Full)
    }

    /// [`score_batch`](Self::score_batch) without explanations ([`Detail::Brief`]): the same risk,
    /// alert and class, about twice as fast. Explain chosen flows afterwards with `score_batch`.
    pub fn score_batch_brief(&self, flows: &[Flow]) -> Vec<Verdict> {
        self.score_batch_detail(flows, Detail::Brief)
    }

    fn score_batch_detail(&self, flows: &[Flow], detail: Detail) -> Vec<Verdict> {
        let choice: Vec<FeatureProfile> = flows.iter().map(|f| self.choose_profile(f)).collect();
        if choice.iter().all(|&p| p == choice[0]) {
            if let Some(&p) = choice.first() {
                if let Ok(m) = self.profile(p) {
                    return score_with(m, flows, detail);
                }
            }
        }
        let mut out: Vec<Option<Verdict>> = vec![None; flows.len()];
        for m in &self.profiles {
            let idx: Vec<usize> = (0..flows.len()).filter(|&i| choice[i] == m.profile()).collect();
            if idx.is_empty() {
                continue;
            }
            let sub: Vec<Flow> = idx.iter().map(|&i| flows[i].clone()).collect();
            for (v, i) in score_with(m, &sub, detail).into_iter().zip(idx) {
                out[i] = Some(v);
            }
        }
        out.into_iter().flatten().collect()
    }

    /// Scores a batch with one profile.
    pub fn score_batch_as(&self, flows: &[Flow], profile: FeatureProfile) -> Result<Vec<Verdict>, EngineError> {
        Ok(score_with(self.profile(profile)?, flows, Detail::Full))
    }

    /// Applies "the source is inside our networks" AFTER classification: an alerting flow from an
    /// internal source gets [`FlowContext::InternalSource`] (lateral movement) and its risk is raised by
    /// a quarter of the remaining headroom. Never a model input.
    pub fn apply_context(verdicts: &mut [Verdict], flows: &[Flow], is_internal: impl Fn(IpAddr) -> bool) {
        for (v, f) in verdicts.iter_mut().zip(flows) {
            if let Some(t) = &f.five_tuple {
                if v.alert && is_internal(t.src_ip) {
                    v.context.push(FlowContext::InternalSource);
                    v.risk += (100.0 - v.risk) * 0.25;
                }
            }
        }
    }
}

/// Scores `flows` with one profile model, in bounded batches.
pub fn score_with(m: &ProfileModel, flows: &[Flow], detail: Detail) -> Vec<Verdict> {
    let mut out = Vec::with_capacity(flows.len());
    let mut x = Vec::new();
    for chunk in flows.chunks(metrics::EVAL_BATCH) {
        let missing = m.scale(chunk, &mut x);
        let s = m.score_matrix(&x, chunk.len());
        out.extend(m.verdicts(chunk, &x, &missing, &s, detail));
    }
    out
}

/// `Σ aᵢ·bᵢ` with eight accumulators (vectorises).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for l in 0..8 {
            acc[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        s += a[i] * b[i];
    }
    s
}

/// `‖a − b‖²` with eight accumulators.
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for l in 0..8 {
            let t = a[c * 8 + l] - b[c * 8 + l];
            acc[l] += t * t;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..n {
        let t = a[i] - b[i];
        s += t * t;
    }
    s
}
