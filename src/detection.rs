//! What the detection engine says about flows and about itself, in types the browser can show.
//!
//! Browser-safe (serde only): [`Verdict`] is one scored flow with its reasons; [`ModelManifest`] is
//! `models/manifest.json` (what was trained on what, with which settings, and how well it did).

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::threat::Threat;

pub use crate::feature_profile::FeatureProfile;

/// One model of the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Multi-class gradient-boosted trees.
    Gbdt,
    /// The web-attack specialist (brute force / XSS / SQL injection).
    WebSpecialist,
    IsolationForest,
    OneClassSvm,
    Autoencoder,
}

impl ModelKind {
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Gbdt,
        ModelKind::WebSpecialist,
        ModelKind::IsolationForest,
        ModelKind::OneClassSvm,
        ModelKind::Autoencoder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Gbdt => "gbdt",
            ModelKind::WebSpecialist => "web_specialist",
            ModelKind::IsolationForest => "isolation_forest",
            ModelKind::OneClassSvm => "one_class_svm",
            ModelKind::Autoencoder => "autoencoder",
        }
    }
}

/// How one model judged one flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSignal {
    pub model: ModelKind,
    /// The model's own score (probability of an attack for the classifiers, anomaly score otherwise).
    pub score: f32,
    /// The score above which this model is said to fire (fitted on the validation split).
    pub threshold: f32,
    pub fired: bool,
    /// How strongly it fired: 1.0 = at its threshold; for the anomaly models 0.0 = a typical benign
    /// flow (score − benign median) / (threshold − benign median); for the classifiers score / 0.5.
    pub strength: f32,
}

/// Where a feature contribution comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributionSource {
    /// Saabas path contribution in the gradient-boosted trees, towards the predicted class.
    Gbdt,
    /// Per-feature reconstruction error of the autoencoder (scaled units, squared).
    Autoencoder,
}

/// One feature's share in a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    /// Feature name (borrowed from the static vocabulary on the server, owned after deserialising).
    pub feature: Cow<'static, str>,
    pub source: ContributionSource,
    pub contribution: f32,
    /// The raw (unscaled) value of the feature in this flow, when present.
    pub value: Option<f32>,
}

/// Context applied after classification (never a model feature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowContext {
    /// The source address is inside the configured internal networks: an attack from it suggests a
    /// compromised host (lateral movement).
    InternalSource,
    /// Some features of the profile were missing and were imputed with the training median.
    ImputedFeatures { count: u32 },
    /// Only the anomaly layer alerted: the classifier calls the flow benign, but its combined anomaly
    /// score is at or above the layer's threshold.
    AnomalyOnly { score: f32, threshold: f32 },
}

/// The engine's judgement of one flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// 0–100.
    pub risk: f32,
    /// `risk >= operating threshold`.
    pub alert: bool,
    /// The classifier's most likely class (an attack type when alerting, otherwise benign).
    pub class: Threat,
    /// The classifier's probability of `class`.
    pub class_probability: f32,
    /// The feature profile that scored this flow.
    pub profile: FeatureProfile,
    pub models: Vec<ModelSignal>,
    /// Top contributing features (at most five from the trees, five from the autoencoder).
    pub top_features: Vec<FeatureContribution>,
    pub context: Vec<FlowContext>,
}

impl Verdict {
    /// An alert of the anomaly layer alone: the classifier names no attack.
    pub fn anomaly_only(&self) -> bool {
        self.alert && self.class == Threat::Benign
    }
}

/// Precision / recall / F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub class: Threat,
    pub support: u64,
    pub predicted: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Recall of one model (or the ensemble) on one group of attacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecallAt {
    pub model: String,
    /// What was recalled: `all`, a family name, a day.
    pub group: String,
    pub attacks: u64,
    pub recall: f64,
    /// The benign false-positive rate that the threshold was set for (0.01), or `operating` for the
    /// ensemble's operating threshold.
    pub at: String,
    /// Benign false-positive rate measured on the same test rows.
    pub benign_fpr: f64,
}

/// How dataset labels were mapped onto the threat vocabulary in an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelMapping {
    pub label: String,
    pub threat: Option<Threat>,
    pub rows: u64,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// `whole-file`, `random`, `by-day`, `leave-one-family-out`.
    pub split: String,
    pub profile: FeatureProfile,
    pub data: String,
    pub test_rows: u64,
    pub rejected_rows: u64,
    /// Macro-F1 of the classifier (most probable class of the trees + web specialist), over the classes
    /// present in the test rows; `per_class` details it.
    pub macro_f1: f64,
    /// Macro-F1 of the classes as verdicts show them: benign unless the risk reaches the operating
    /// threshold, then the most probable attack class.
    pub macro_f1_verdict: f64,
    pub per_class_verdict: Vec<ClassMetrics>,
    pub attack_recall: f64,
    pub benign_fpr: f64,
    pub pr_auc: f64,
    pub operating_threshold: f64,
    pub per_class: Vec<ClassMetrics>,
    /// Anomaly models (and the ensemble) on attacks, per group.
    pub recall: Vec<RecallAt>,
    pub label_mapping: Vec<LabelMapping>,
    pub notes: Vec<String>,
}

/// One training input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingFile {
    pub path: String,
    pub sha256: String,
    pub rows: u64,
    pub rejected_rows: u64,
}

/// One model file of a profile, with its digest (checked at load time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactFile {
    /// `None` for the scaler shared by every model of the profile.
    pub model: Option<ModelKind>,
    pub file: String,
    pub format: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A fitted threshold or weight of the risk score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionParams {
    /// Names of the fusion inputs, in order.
    pub inputs: Vec<String>,
    pub weights: Vec<f64>,
    pub bias: f64,
    /// Risk (0–100) at and above which a flow alerts.
    pub operating_threshold: f64,
    /// Per anomaly model: (median benign score, score at 1 % benign FPR) on the validation split.
    pub anomaly_thresholds: Vec<AnomalyThreshold>,
    /// The anomaly layer (None in versions trained before it: the anomaly models only feed the weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_gate: Option<AnomalyGate>,
}

/// The anomaly layer: a flow far from every benign flow the anomaly models learned alerts even when
/// the classifier calls it benign (an attack it never saw). Its threshold is set on the out-of-fold
/// benign training rows so the layer adds at most `benign_fpr_budget` of benign flows to the
/// classifier's alerts; the test split is never seen. Such an alert names no attack class: its threat
/// is "unknown anomaly".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyGate {
    /// How the three normalised anomaly scores (0 = median benign, 1 = the model's 1 %-FPR point)
    /// become one.
    pub combine: AnomalyCombine,
    /// Combined score at and above which a flow alerts.
    pub threshold: f64,
    /// Share of benign validation rows the layer may add to the classifier's alerts (the training
    /// setting `anomaly_benign_fpr`).
    pub benign_fpr_budget: f64,
    /// Share of benign validation rows it added.
    pub validation_benign_fpr: f64,
    /// Share of the validation attack rows at or above the threshold. The anomaly models never see an
    /// attack, so this is what the layer catches of attacks the classifier would not know. None after
    /// a site refit: a network's normal flows hold no labelled attacks.
    pub validation_attack_recall: Option<f64>,
}

/// How the anomaly layer combines its models' normalised scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyCombine {
    /// The highest of the three.
    Max,
    /// The second highest: two models must agree.
    Second,
    Mean,
    IsolationForest,
    OneClassSvm,
    Autoencoder,
}

impl AnomalyCombine {
    pub const ALL: [AnomalyCombine; 6] = [
        AnomalyCombine::Max,
        AnomalyCombine::Second,
        AnomalyCombine::Mean,
        AnomalyCombine::IsolationForest,
        AnomalyCombine::OneClassSvm,
        AnomalyCombine::Autoencoder,
    ];

    /// One score from the isolation forest's, the one-class SVM's and the autoencoder's.
    pub fn apply(self, a: [f64; 3]) -> f64 {
        match self {
            AnomalyCombine::Max => a[0].max(a[1]).max(a[2]),
            AnomalyCombine::Second => {
                let (hi, lo) = (a[0].max(a[1]), a[0].min(a[1]));
                hi.min(a[2]).max(lo)
            }
            AnomalyCombine::Mean => (a[0] + a[1] + a[2]) / 3.0,
            AnomalyCombine::IsolationForest => a[0],
            AnomalyCombine::OneClassSvm => a[1],
            AnomalyCombine::Autoencoder => a[2],
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            AnomalyCombine::Max => "the most anomalous of the three anomaly models",
            AnomalyCombine::Second => "two of the three anomaly models agreeing",
            AnomalyCombine::Mean => "the mean of the three anomaly models",
            AnomalyCombine::IsolationForest => "the isolation forest",
            AnomalyCombine::OneClassSvm => "the one-class SVM",
            AnomalyCombine::Autoencoder => "the autoencoder",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyThreshold {
    pub model: ModelKind,
    pub benign_median: f64,
    pub at_1pct_fpr: f64,
}

/// The feature schema of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    pub profile: FeatureProfile,
    pub version: u32,
    pub features: Vec<String>,
    /// sha256 of the version and the feature names in order.
    pub hash: String,
}

/// Everything about one profile's trained ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileManifest {
    pub schema: FeatureSchema,
    pub files: Vec<ArtifactFile>,
    pub fusion: FusionParams,
    pub training_seconds: f64,
    pub train_rows: u64,
    pub validation_rows: u64,
    pub test_rows: u64,
    /// The training rows' distribution of each feature, for the drift monitor (absent in versions
    /// trained before drift was measured; `anomalyforge drift-reference` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<crate::drift::ProfileReference>,
}

/// Measured speed, from `anomalyforge bench`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub profile: FeatureProfile,
    pub rows: u64,
    pub threads: u32,
    pub per_model_flows_per_second: Vec<(ModelKind, f64)>,
    /// Other stages of the ensemble path timed alone: `scaling` (flows to the scaled matrix),
    /// `all_models` (every model and the risk on scaled rows), `reasons` (verdicts with top features).
    pub stage_flows_per_second: Vec<(String, f64)>,
    pub ensemble_flows_per_second: f64,
    /// The pipeline's detection path on one thread: the ensemble, the ML gate and the behaviour
    /// detectors (state kept across batches), flows to verdicts and findings.
    #[serde(default)]
    pub ensemble_with_behaviour_flows_per_second: Option<f64>,
    /// The behaviour detectors' memory with many active host pairs.
    #[serde(default)]
    pub behaviour_memory: Option<BehaviourMemory>,
}

/// Memory of the behaviour detectors' state, measured by `anomalyforge bench`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourMemory {
    /// Distinct active host pairs fed (each with several connections within the windows).
    pub active_pairs: u64,
    pub connections: u64,
    /// Keys the detectors held afterwards, and how many they evicted.
    pub tracked: u64,
    pub evicted: u64,
    /// The detectors' own estimate of their state, and the process's resident memory growth.
    pub state_bytes: u64,
    pub rss_growth_bytes: u64,
}

/// Detection on one labelled capture of real-network connection logs (or all of them), at the level
/// a SOC sees: the host pair an alert names, in either direction (`anomalyforge eval` on Zeek logs;
/// the same figures `shared/tools/eval_zeek.py` measures through the HTTP API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkFigures {
    /// The capture's name, or `all`.
    pub name: String,
    pub connections: u64,
    pub rejected: u64,
    pub benign: u64,
    /// Benign connections whose host pair raised an alert.
    pub benign_alerted: u64,
    pub malicious: u64,
    /// Malicious connections whose host pair raised an alert.
    pub malicious_alerted: u64,
    /// Host pairs with only benign connections, and how many of them raised an alert.
    pub benign_pairs: u64,
    pub benign_pairs_alerted: u64,
    /// Alerts (after deduplication) on host pairs with only benign connections.
    pub false_alerts: u64,
    /// Internal hosts × days of traffic, the denominator of false alerts per host-day.
    pub host_days: f64,
    /// Per detailed label.
    pub per_label: Vec<LabelFigures>,
    /// Alerts by threat key, and those of them on benign pairs.
    pub alerts_by_threat: Vec<(String, u64)>,
    pub false_alerts_by_threat: Vec<(String, u64)>,
}

/// Recall and detection latency of one detailed label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelFigures {
    pub label: String,
    pub malicious: bool,
    pub connections: u64,
    pub alerted: u64,
    /// Traffic seconds from the label's first connection to the first alert on a host pair that
    /// carries it (`None` when none alerted).
    pub latency_secs: Option<f64>,
}

impl NetworkFigures {
    /// Figures of nothing yet.
    pub fn empty(name: &str) -> NetworkFigures {
        NetworkFigures {
            name: name.to_string(),
            connections: 0,
            rejected: 0,
            benign: 0,
            benign_alerted: 0,
            malicious: 0,
            malicious_alerted: 0,
            benign_pairs: 0,
            benign_pairs_alerted: 0,
            false_alerts: 0,
            host_days: 0.0,
            per_label: Vec::new(),
            alerts_by_threat: Vec::new(),
            false_alerts_by_threat: Vec::new(),
        }
    }

    pub fn benign_fpr(&self) -> f64 {
        self.benign_alerted as f64 / self.benign.max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.malicious_alerted as f64 / self.malicious.max(1) as f64
    }
    pub fn benign_pairs_alerted_share(&self) -> f64 {
        self.benign_pairs_alerted as f64 / self.benign_pairs.max(1) as f64
    }
    pub fn false_alerts_per_host_day(&self) -> f64 {
        if self.host_days > 0.0 {
            self.false_alerts as f64 / self.host_days
        } else {
            0.0
        }
    }
}

/// `anomalyforge eval` over a directory of labelled real-network logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkEval {
    pub data: String,
    /// Lines per batch, as a sensor would send them.
    pub batch_lines: usize,
    pub captures: Vec<NetworkFigures>,
    pub overall: NetworkFigures,
    pub notes: Vec<String>,
}

/// `models/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Version of the artifact layout (bumped when the files change meaning).
    pub format_version: u32,
    /// Version of this trained model.
    pub model_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub engine_version: String,
    pub seed: u64,
    pub training_files: Vec<TrainingFile>,
    /// Hyper-parameters of every model, as given to the trainers.
    pub hyperparameters: serde_json::Value,
    pub profiles: Vec<ProfileManifest>,
    /// Evaluations, per profile and split (the stratified random split is done by `train`).
    pub evaluation: Vec<EvalReport>,
    pub bench: Vec<BenchReport>,
    /// Total wall time of `train` for all profiles, seconds.
    pub training_seconds: f64,
    pub label_mapping: Vec<LabelMapping>,
    pub notes: Vec<String>,
    /// Detection on labelled real-network logs (ML and behaviour detectors), when measured.
    #[serde(default)]
    pub network_evaluation: Vec<NetworkEval>,
    /// When this version learned a network's normal: from what, and the before/after figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_baseline: Option<crate::baseline::SiteBaseline>,
    /// Behaviour-detector thresholds this network's feedback raised (empty: the configured ones).
    /// A retrain carries them over; learning the network's normal fits them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub behaviour_thresholds: Vec<crate::baseline::BehaviourThreshold>,
}
