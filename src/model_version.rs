//! Model versions as the `/models` page shows them: which versions exist, which one is active, how a
//! retrained candidate compared with the model it would replace, and how far a retrain has got.
//!
//! Browser-safe (serde only). The rule that decides whether a retrained model may replace the running
//! one lives here ([`compare`]) so that the page can explain it with the same constants the server
//! applies. The server side (versions on disk, the retrain job, the engine swap) is
//! `crate::model_registry`.

use serde::{Deserialize, Serialize};

use crate::charts::Chart;
use crate::detection::{EvalReport, FeatureProfile, TrainingFile};
use crate::threat::Threat;

/// The id of the version shipped with the server (`AF_MODEL_DIR`).
pub const SHIPPED: &str = "shipped";

/// How much worse than the running model a candidate may measure and still count as "not worse",
/// on the same held-out rows. Chosen against the size of the held-out split of the shipped data
/// (9,005 rows: 1,199 benign, 7,806 attacks, 2–6 rows in five rare classes):
/// - macro-F1 −0.005: one wrong row of a rare class costs macro-F1 0.006–0.013, so any such loss
///   is "worse"; differences below half a rare-class row are noise of the f32 scores;
/// - attack recall −0.002: about 15 of 7,806 attacks;
/// - benign false-positive rate +0.001: one more benign flow alerted out of 1,199 is tolerated, two
///   are not.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    pub macro_f1: f64,
    pub attack_recall: f64,
    pub benign_fpr: f64,
}

pub const TOLERANCES: Tolerances = Tolerances { macro_f1: 0.005, attack_recall: 0.002, benign_fpr: 0.001 };

/// One of the three figures the rule compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Macro-F1 of the classifier (most probable class) over the classes in the held-out rows.
    MacroF1,
    /// Share of attack rows at or above the operating threshold.
    AttackRecall,
    /// Share of benign rows at or above the operating threshold.
    BenignFpr,
    /// Share of this network's held-out normal flows the ensemble alerts on (a site baseline's check).
    SiteNormalAlerts,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::MacroF1, Metric::AttackRecall, Metric::BenignFpr];

    pub fn title(self) -> &'static str {
        match self {
            Metric::MacroF1 => "Macro-F1",
            Metric::AttackRecall => "Attack recall",
            Metric::BenignFpr => "Benign false-positive rate",
            Metric::SiteNormalAlerts => "This network's normal flows alerting",
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::BenignFpr | Metric::SiteNormalAlerts)
    }

    pub fn tolerance(self, t: &Tolerances) -> f64 {
        match self {
            Metric::MacroF1 => t.macro_f1,
            Metric::AttackRecall => t.attack_recall,
            Metric::BenignFpr => t.benign_fpr,
            Metric::SiteNormalAlerts => 0.0,
        }
    }

    fn of(self, m: &SplitMetrics) -> f64 {
        match self {
            Metric::MacroF1 => m.macro_f1,
            Metric::AttackRecall => m.attack_recall,
            Metric::BenignFpr => m.benign_fpr,
            Metric::SiteNormalAlerts => f64::NAN,
        }
    }
}

/// One model's figures on the held-out rows of one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitMetrics {
    pub rows: u64,
    pub macro_f1: f64,
    pub attack_recall: f64,
    pub benign_fpr: f64,
}

impl SplitMetrics {
    pub fn from_report(r: &EvalReport) -> SplitMetrics {
        SplitMetrics {
            rows: r.test_rows,
            macro_f1: r.macro_f1,
            attack_recall: r.attack_recall,
            benign_fpr: r.benign_fpr,
        }
    }
}

/// One comparison of the rule: a metric of a profile, baseline against candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub profile: FeatureProfile,
    pub metric: Metric,
    pub baseline: f64,
    pub candidate: f64,
    /// The worst value the candidate may have (baseline ∓ tolerance).
    pub limit: f64,
    pub passed: bool,
}

impl Check {
    /// "macro-F1 (conn) 0.9120 < 0.9534 (0.9584 − 0.005)".
    pub fn describe(&self) -> String {
        let t = (self.limit - self.baseline).abs();
        let (op, sign) = if self.metric.higher_is_better() {
            (if self.passed { "≥" } else { "<" }, "−")
        } else {
            (if self.passed { "≤" } else { ">" }, "+")
        };
        format!(
            "{} ({}) {:.4} {op} {:.4} ({:.4} {sign} {t:.3})",
            self.metric.title(),
            self.profile.name(),
            self.candidate,
            self.limit,
            self.baseline
        )
    }
}

/// A candidate against the version it would replace, on the same held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The version compared against (the active one when the retrain started).
    pub baseline: String,
    /// Which rows both were scored on.
    pub split: String,
    /// True when those rows are also the baseline's own held-out split (same training files, seed and
    /// test fraction), so that neither model saw them in training.
    pub same_split: bool,
    pub tolerances: Tolerances,
    pub checks: Vec<Check>,
    pub not_worse: bool,
    pub notes: Vec<String>,
}

impl Comparison {
    /// One line for the audit log and the page.
    pub fn summary(&self) -> String {
        let failed: Vec<String> = self.checks.iter().filter(|c| !c.passed).map(Check::describe).collect();
        if self.not_worse {
            format!("not worse than {} on {} checks", self.baseline, self.checks.len())
        } else {
            format!("worse than {}: {}", self.baseline, failed.join("; "))
        }
    }
}

/// The rule: a candidate is "not worse" when, for every profile the baseline has, each of the three
/// metrics is within [`TOLERANCES`] of the baseline's on the same rows. A profile the baseline lacks
/// is not compared (noted). Without any check the candidate counts as worse: nothing was shown.
pub fn compare(
    baseline: &str,
    split: &str,
    same_split: bool,
    profiles: &[(FeatureProfile, Option<SplitMetrics>, SplitMetrics)],
    tolerances: Tolerances,
) -> Comparison {
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    for (profile, base, cand) in profiles {
        let Some(base) = base else {
            notes.push(format!("{baseline} has no `{}` models: that profile is not compared", profile.name()));
            continue;
        };
        for metric in Metric::ALL {
            let (b, c, t) = (metric.of(base), metric.of(cand), metric.tolerance(&tolerances));
            // A hair of slack so that equal f64 figures computed in a different order still pass.
            let (limit, passed) =
                if metric.higher_is_better() { (b - t, c >= b - t - 1e-12) } else { (b + t, c <= b + t + 1e-12) };
            checks.push(Check {
                profile: *profile,
                metric,
                baseline: b,
                candidate: c,
                limit,
                passed: passed && c.is_finite(),
            });
        }
    }
    if !same_split {
        notes.push(format!(
            "{baseline} was trained on other data or another split: it may have seen some of these rows in training, which favours it (the rule then errs on the side of keeping the running model)"
        ));
    }
    let not_worse = !checks.is_empty() && checks.iter().all(|c| c.passed);
    Comparison {
        baseline: baseline.to_string(),
        split: split.to_string(),
        same_split,
        tolerances,
        checks,
        not_worse,
        notes,
    }
}

/// The not-worse rule for "learn this network's normal": on the version's held-out labelled rows
/// (`lab`, empty when none are at hand) macro-F1 and attack recall within the tolerances — the lab's
/// benign rows are not this network's, so their false-positive rate is not checked — and on this
/// network's held-out normal flows (`site`: before, after) no more alerts than before.
pub fn compare_site(
    baseline: &str,
    split: &str,
    lab: &[(FeatureProfile, Option<SplitMetrics>, SplitMetrics)],
    site: &[(FeatureProfile, f64, f64)],
    tolerances: Tolerances,
) -> Comparison {
    let mut c = compare(baseline, split, true, lab, tolerances);
    c.checks.retain(|k| k.metric != Metric::BenignFpr);
    if lab.is_empty() {
        c.notes.push("no labelled rows at hand (AF_RETRAIN__FILES): only this network's figures are compared".into());
    } else {
        c.notes.push("the lab's benign rows are not this network's: their false-positive rate is not checked".into());
    }
    for &(profile, before, after) in site {
        c.checks.push(Check {
            profile,
            metric: Metric::SiteNormalAlerts,
            baseline: before,
            candidate: after,
            limit: before,
            passed: after <= before + 1e-12 && after.is_finite(),
        });
    }
    c.not_worse = !c.checks.is_empty() && c.checks.iter().all(|k| k.passed);
    c
}

/// The random-split figures of a manifest's profile, as shown in the versions table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub profile: FeatureProfile,
    pub metrics: SplitMetrics,
}

/// One model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionInfo {
    /// [`SHIPPED`] or `r1`, `r2`, … for retrained versions.
    pub id: String,
    /// The manifest's `model_version`.
    pub model_version: String,
    /// RFC 3339 (the manifest's `created_at`).
    pub created_at: String,
    /// Who started the retrain that made it (none for the shipped version).
    pub created_by: Option<String>,
    /// The version the pipeline should run (kept across restarts).
    pub active: bool,
    /// The version the pipeline is scoring with right now (none when ingest is off).
    pub running: bool,
    pub training_files: Vec<TrainingFile>,
    /// Random-split figures per profile.
    pub headline: Vec<Headline>,
    /// For a retrained version: how it compared with the model it would have replaced.
    pub comparison: Option<Comparison>,
}

/// Where a retrain job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Succeeded,
    Failed,
}

/// The latest retrain job (one runs at a time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainStatus {
    /// Counts jobs since the server started.
    pub job: u64,
    pub state: JobState,
    /// What it is doing ("reading data/…", "training cicflowmeter: fold 2/3", "comparing", …).
    pub stage: String,
    /// 0–100.
    pub percent: f32,
    /// Unix ms.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub started_by: String,
    pub files: Vec<String>,
    /// The version written (also when it was not activated).
    pub version: Option<String>,
    pub activated: bool,
    pub comparison: Option<Comparison>,
    /// Why it failed (the running model is untouched).
    pub error: Option<String>,
    /// A retrain on labelled files, or a refit on this network's normal traffic.
    #[serde(default)]
    pub kind: JobKind,
}

/// What a model job does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    #[default]
    Retrain,
    /// "Learn this network's normal" ([`crate::baseline`]).
    LearnNormal,
}

impl JobKind {
    pub fn title(self) -> &'static str {
        match self {
            JobKind::Retrain => "Retrain",
            JobKind::LearnNormal => "Learn this network's normal",
        }
    }
}

/// The result of activating a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// The version active before (equal to `to` when it already was).
    pub from: String,
    pub to: String,
}

/// One feature's global importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    pub feature: String,
    /// Mean over the held-out rows of |path contribution| of the feature to the margin of the
    /// classifier's predicted class.
    pub mean_abs_contribution: f64,
}

/// The confusion matrix and feature importances of one profile's classifier on held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileInsight {
    pub profile: FeatureProfile,
    pub rows: u64,
    /// Classes present in truth or prediction, in class order; rows and columns of `confusion`.
    pub classes: Vec<Threat>,
    /// `confusion[true][predicted]` (the classifier's most probable class).
    pub confusion: Vec<Vec<u64>>,
    /// Every feature, most important first.
    pub importances: Vec<FeatureImportance>,
}

/// What was measured on a version's held-out split beyond what the manifest records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInsight {
    /// Which rows ("stratified 20 % test split (seed 2017) of data/…").
    pub split: String,
    pub profiles: Vec<ProfileInsight>,
}

/// Whether a version's insight can be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum InsightState {
    Ready(ModelInsight),
    /// Being computed in the background (the shipped version's, once per server).
    Computing,
    /// Why it cannot be computed (for example the training file is not available here).
    Unavailable(String),
}

/// One profile's summary from a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSummary {
    pub profile: FeatureProfile,
    pub features: u64,
    pub train_rows: u64,
    pub test_rows: u64,
    pub operating_threshold: f64,
    pub training_seconds: f64,
    /// The anomaly layer (None: the anomaly models only feed the risk weights).
    #[serde(default)]
    pub anomaly_gate: Option<crate::detection::AnomalyGate>,
}

/// A profile's two charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileCharts {
    pub profile: FeatureProfile,
    pub confusion: Chart,
    pub importances: Chart,
}

/// Everything the page shows about one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDetail {
    pub id: String,
    pub model_version: String,
    pub created_at: String,
    pub engine_version: String,
    pub seed: u64,
    pub training_files: Vec<TrainingFile>,
    pub profiles: Vec<ProfileSummary>,
    /// Every evaluation of the manifest (random split, by day, leave one family out), per profile.
    pub evaluation: Vec<EvalReport>,
    /// Detection on labelled real-network logs (ensemble and behaviour detectors), when measured.
    pub network_evaluation: Vec<crate::detection::NetworkEval>,
    /// What "learn this network's normal" did, when this version came from it.
    #[serde(default)]
    pub site_baseline: Option<crate::baseline::SiteBaseline>,
    /// Behaviour-detector thresholds raised by this network's feedback.
    #[serde(default)]
    pub behaviour_thresholds: Vec<crate::baseline::BehaviourThreshold>,
    /// The hyper-parameters, pretty-printed JSON.
    pub hyperparameters: String,
    pub notes: Vec<String>,
    pub insight: InsightState,
    pub charts: Vec<ProfileCharts>,
}

/// The `/models` page's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsOverview {
    pub versions: Vec<ModelVersionInfo>,
    /// The version shown in detail (the requested one, or the active one).
    pub detail: Option<VersionDetail>,
    /// Why the detail cannot be shown.
    pub detail_error: Option<String>,
    pub retrain: Option<RetrainStatus>,
    /// The files a retrain trains on.
    pub retrain_files: Vec<String>,
    /// Something the operator should know (ingest off, a version that failed to load at start-up).
    pub notes: Vec<String>,
}

/// How many features the importance chart shows.
pub const TOP_FEATURES: usize = 15;

/// A class name short enough for a heat-map axis (the chart cuts labels at 18 characters).
fn axis_label(t: Threat) -> &'static str {
    match t {
        Threat::FtpPatator => "FTP-Patator",
        Threat::SshPatator => "SSH-Patator",
        Threat::WebXss => "XSS",
        other => other.title(),
    }
}

/// The confusion matrix of a profile as a heat map.
pub fn confusion_chart(p: &ProfileInsight) -> Chart {
    let labels: Vec<String> = p.classes.iter().map(|t| axis_label(*t).to_string()).collect();
    crate::charts::heat_map(&crate::charts::HeatMapSpec {
        title: format!("Confusion matrix — {} ({} held-out rows)", p.profile.name(), p.rows),
        row_axis: "True class".into(),
        col_axis: "Predicted class".into(),
        rows: labels.clone(),
        cols: labels,
        cells: p.confusion.clone(),
    })
}

/// The [`TOP_FEATURES`] most important features of a profile as bars.
pub fn importance_chart(p: &ProfileInsight) -> Chart {
    crate::charts::bar_chart(&crate::charts::BarChartSpec {
        title: format!("Feature importance — {} (top {TOP_FEATURES})", p.profile.name()),
        value_axis: crate::charts::Axis::new("Mean |contribution| to the predicted class", "log-odds"),
        colour: None,
        bars: p
            .importances
            .iter()
            .take(TOP_FEATURES)
            .map(|f| crate::charts::Bar { label: f.feature.clone(), value: f.mean_abs_contribution })
            .collect(),
    })
}

/// Both charts of every profile of an insight.
pub fn insight_charts(i: &ModelInsight) -> Vec<ProfileCharts> {
    i.profiles
        .iter()
        .map(|p| ProfileCharts { profile: p.profile, confusion: confusion_chart(p), importances: importance_chart(p) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(f1: f64, recall: f64, fpr: f64) -> SplitMetrics {
        SplitMetrics { rows: 9005, macro_f1: f1, attack_recall: recall, benign_fpr: fpr }
    }

    #[test]
    fn equal_or_better_is_not_worse() {
        let c = compare(
            "shipped",
            "test",
            true,
            &[(FeatureProfile::Cicflowmeter, Some(m(0.98, 0.999, 0.0)), m(0.98, 0.999, 0.0))],
            TOLERANCES,
        );
        assert!(c.not_worse, "{c:?}");
        assert_eq!(c.checks.len(), 3);
        let better = compare(
            "shipped",
            "test",
            true,
            &[(FeatureProfile::Conn, Some(m(0.95, 0.98, 0.002)), m(0.97, 0.99, 0.0))],
            TOLERANCES,
        );
        assert!(better.not_worse);
        assert!(better.notes.is_empty());
    }

    #[test]
    fn each_metric_has_its_own_tolerance_and_direction() {
        let base = m(0.980, 0.9990, 0.0000);
        // Within tolerance on each metric.
        let ok = compare(
            "b",
            "s",
            true,
            &[(FeatureProfile::Conn, Some(base.clone()), m(0.9751, 0.9971, 0.0009))],
            TOLERANCES,
        );
        assert!(ok.not_worse, "{:?}", ok.checks);
        // Just beyond, one metric at a time.
        for (cand, metric) in [
            (m(0.9749, 0.999, 0.0), Metric::MacroF1),
            (m(0.98, 0.9969, 0.0), Metric::AttackRecall),
            (m(0.98, 0.999, 0.0011), Metric::BenignFpr),
        ] {
            let c = compare("b", "s", true, &[(FeatureProfile::Conn, Some(base.clone()), cand)], TOLERANCES);
            assert!(!c.not_worse, "{metric:?}");
            let failed: Vec<Metric> = c.checks.iter().filter(|c| !c.passed).map(|c| c.metric).collect();
            assert_eq!(failed, vec![metric]);
            assert!(c.summary().starts_with("worse than b: "), "{}", c.summary());
        }
        // A lower false-positive rate is better, not worse.
        let c = compare(
            "b",
            "s",
            true,
            &[(FeatureProfile::Conn, Some(m(0.98, 0.999, 0.01)), m(0.98, 0.999, 0.0))],
            TOLERANCES,
        );
        assert!(c.not_worse);
    }

    #[test]
    fn every_profile_must_pass() {
        let c = compare(
            "b",
            "s",
            true,
            &[
                (FeatureProfile::Cicflowmeter, Some(m(0.98, 0.999, 0.0)), m(0.99, 0.999, 0.0)),
                (FeatureProfile::Conn, Some(m(0.95, 0.99, 0.0)), m(0.90, 0.99, 0.0)),
            ],
            TOLERANCES,
        );
        assert!(!c.not_worse);
        assert!(c.summary().contains("Macro-F1 (conn) 0.9000 < 0.9450"), "{}", c.summary());
    }

    #[test]
    fn missing_baseline_profiles_are_noted_and_nothing_compared_is_worse() {
        let c = compare("b", "s", false, &[(FeatureProfile::Conn, None, m(0.9, 0.9, 0.0))], TOLERANCES);
        assert!(!c.not_worse, "no check passed means nothing was shown");
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
        let nan = compare(
            "b",
            "s",
            true,
            &[(FeatureProfile::Conn, Some(m(0.9, 0.9, 0.0)), m(f64::NAN, 0.9, 0.0))],
            TOLERANCES,
        );
        assert!(!nan.not_worse, "a NaN figure never passes");
    }

    #[test]
    fn charts_name_the_profile_and_keep_class_titles() {
        let p = ProfileInsight {
            profile: FeatureProfile::Conn,
            rows: 10,
            classes: vec![Threat::Benign, Threat::PortScan],
            confusion: vec![vec![5, 1], vec![0, 4]],
            importances: (0..20)
                .map(|i| FeatureImportance { feature: format!("f{i}"), mean_abs_contribution: 20.0 - i as f64 })
                .collect(),
        };
        let c = confusion_chart(&p);
        assert!(c.alt().contains("2 × 2 matrix"), "{}", c.alt());
        assert!(c.alt().contains("most common confusion: Benign as Port scan (1)"), "{}", c.alt());
        let b = importance_chart(&p);
        assert!(b.alt().contains(&format!("{TOP_FEATURES} categories")), "{}", b.alt());
    }

    /// Compares with `tests/snapshots/models/NAME.svg`; `UPDATE_SNAPSHOTS=1` rewrites the file.
    fn snapshot(name: &str, chart: &Chart) {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/models").join(format!("{name}.svg"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create snapshot dir");
            std::fs::write(&path, chart.svg()).expect("write snapshot");
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 creates it)", path.display()));
        assert!(
            chart.svg() == expected,
            "{} differs from the rendered chart (UPDATE_SNAPSHOTS=1 rewrites it)",
            path.display()
        );
    }

    /// A profile as a retrain records it: every class, a few confusions, 15 of 83 features shown.
    fn recorded() -> ProfileInsight {
        let classes = Threat::ALL.to_vec();
        let n = classes.len();
        let mut confusion = vec![vec![0u64; n]; n];
        for (i, row) in confusion.iter_mut().enumerate() {
            row[i] = [1199, 118, 1178, 936, 1186, 278, 617, 636, 474, 2, 6, 2358, 12, 3, 2][i];
        }
        confusion[10][11] = 1; // an infiltration row called a port scan
        confusion[0][14] = 1; // a benign row called SQL injection
        confusion[3][4] = 2;
        let importances = (0..83)
            .map(|j| FeatureImportance {
                feature: format!("Feature <{j}>"),
                mean_abs_contribution: 4.0 / (1.0 + j as f64),
            })
            .collect();
        ProfileInsight { profile: FeatureProfile::Cicflowmeter, rows: 9005, classes, confusion, importances }
    }

    #[test]
    fn model_chart_snapshots() {
        let p = recorded();
        let heat = confusion_chart(&p);
        assert!(
            heat.alt().starts_with(
                "Confusion matrix — cicflowmeter (9005 held-out rows): 15 × 15 matrix of true class by predicted class"
            ),
            "{}",
            heat.alt()
        );
        assert!(heat.alt().contains("most common confusion: DoS GoldenEye as DoS Hulk (2)"), "{}", heat.alt());
        snapshot("confusion", &heat);
        let bars = importance_chart(&p);
        assert!(bars.svg().contains("Feature &lt;0&gt;") && !bars.svg().contains("Feature <0>"), "labels are escaped");
        assert!(!bars.svg().contains("Feature &lt;15&gt;"), "only the top 15 are drawn");
        snapshot("importance", &bars);
        // Same data, same bytes.
        assert_eq!(confusion_chart(&recorded()), heat);
    }
}
