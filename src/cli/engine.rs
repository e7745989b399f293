//! `anomalyforge train|eval|score|bench`: the detection engine's commands.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};

use crate::detection::{EvalReport, FeatureProfile, LabelMapping};
use crate::engine::csv::FlowReader;
use crate::engine::train::{bench, eval};
use crate::engine::train::{load_labelled, standard_split, TrainConfig};
use crate::engine::{io, metrics, progress_bar, score_with, Engine};
use crate::flow::Flow;
use crate::threat::Threat;

#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// Train every model of both feature profiles and write them with a manifest.
    Train(TrainArgs),
    /// Evaluate the models on a labelled CSV.
    Eval(EvalArgs),
    /// Score a CSV: one JSON line per flow with risk, class and reasons.
    Score(ScoreArgs),
    /// Measure flows per second of each model and of the whole ensemble.
    Bench(BenchArgs),
    /// Cross-validate the classifier on the training rows only (never the test split): how
    /// hyper-parameters are chosen.
    Cv(CvArgs),
    /// Record in the manifest each profile's training-data distribution (decile bins per feature),
    /// which the drift monitor compares live traffic with; for versions trained before it existed
    /// (`train` records it itself). Uses the training rows of the manifest's split, never the test rows.
    DriftReference(DriftReferenceArgs),
    /// Learn a network's normal from its logs: refit a version's anomaly models and thresholds on the
    /// flows of the logs (those the version alerts on, and connections labelled malicious, are left
    /// out) and write the result as a new version with before/after figures.
    LearnNormal(LearnNormalArgs),
}

#[derive(Debug, Args)]
pub struct LearnNormalArgs {
    /// Directory with the version to start from.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// This network's logs: Zeek conn.log (TSV or JSON), Suricata EVE, CICFlowMeter CSV, JSON flows,
    /// or a directory of conn.logs.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Directory for the new version.
    #[arg(long)]
    pub out: PathBuf,
    /// Flows kept per profile (a uniform sample of the logs).
    #[arg(long, default_value_t = crate::baseline::BaselineConfig::default().sample_size)]
    pub sample_size: usize,
    /// Fewest usable flows of a profile before it is refitted.
    #[arg(long, default_value_t = crate::baseline::BaselineConfig::default().min_rows)]
    pub min_rows: usize,
    /// Flows per batch, as a sensor sends them.
    #[arg(long, default_value_t = 2000)]
    pub batch_lines: usize,
    /// The version's labelled training files, whose held-out rows bound how far the operating
    /// threshold may rise (default: the manifest's training files, where they exist).
    #[arg(long, num_args = 1..)]
    pub lab_data: Vec<PathBuf>,
}

fn learn_normal_cmd(a: LearnNormalArgs) -> anyhow::Result<()> {
    let cfg = server_config()?;
    let engine = Engine::load(&a.models)?;
    let train = config_of(&engine)?;
    let mut captures = Vec::new();
    for path in &a.data {
        captures.extend(crate::engine::train::network_eval::read_captures(path)?);
    }
    let logs = crate::baseline::logs::sample_captures(
        &engine,
        &cfg.behaviour,
        &cfg.internal_networks,
        &captures,
        a.batch_lines,
        a.sample_size,
    );
    let names = a.data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let lab_files: Vec<PathBuf> = if a.lab_data.is_empty() {
        engine.manifest().training_files.iter().map(|f| PathBuf::from(&f.path)).filter(|p| p.exists()).collect()
    } else {
        a.lab_data.clone()
    };
    let lab = if lab_files.is_empty() {
        eprintln!("no labelled training files at hand: the operating thresholds stay as they are");
        None
    } else {
        Some(crate::baseline::refit::LabData::load(&lab_files, &train)?)
    };
    let input = crate::baseline::refit::RefitInput {
        lab: lab.as_ref().map(crate::baseline::refit::LabData::lab),
        engine: &engine,
        train: &train,
        samples: logs.samples,
        false_positives: &[],
        malicious: &Default::default(),
        min_rows: a.min_rows,
        sample: format!(
            "a sample of {} ({} connections, {} labelled malicious left out)",
            names, logs.connections, logs.labelled_malicious
        ),
    };
    let refit = crate::baseline::refit::refit(&input)?;
    let version = format!("{}-site", engine.manifest().model_version);
    let manifest = crate::baseline::refit::write_version(&engine, &refit, &a.out, &version)?;
    print_baseline(manifest.site_baseline.as_ref().expect("just written"));
    eprintln!("wrote {} to {}", version, a.out.display());
    Ok(())
}

fn print_baseline(b: &crate::baseline::SiteBaseline) {
    println!("learned from {}", b.sample);
    for p in &b.profiles {
        let pct = |v: f64| format!("{:.2} %", v * 100.0);
        let thr = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        println!(
            "[{}] {} usable flows ({} alerted and {} malicious left out, {} analysts' false positives added); fitted on {} (and {} benign training rows), thresholds on {}, held out {}",
            p.profile.name(),
            p.fit_rows + p.calibration_rows + p.holdout_rows - 2 * p.false_positives,
            p.excluded_alerted,
            p.excluded_malicious,
            p.false_positives,
            p.fit_rows,
            p.lab_benign_rows,
            p.calibration_rows,
            p.holdout_rows
        );
        println!(
            "  drift before (mean PSI) {:.3}; operating threshold {:.3} -> {:.3}; anomaly layer threshold {} -> {}",
            p.drift_psi_before,
            p.operating_threshold_before,
            p.operating_threshold_after,
            thr(p.anomaly_threshold_before),
            thr(p.anomaly_threshold_after)
        );
        println!(
            "  held-out normal flows the ensemble alerts on: before {}  after {} (before, with the anomaly layer silenced for drift: {}); analysts' false positives alerting: {} -> {}",
            pct(p.holdout_alert_rate_before),
            pct(p.holdout_alert_rate_after),
            pct(p.holdout_alerting_before),
            p.false_positives_alerting_before,
            p.false_positives_alerting_after
        );
    }
    for u in &b.unchanged {
        println!("unchanged: {u}");
    }
}

#[derive(Debug, Args)]
pub struct DriftReferenceArgs {
    /// Directory with manifest.json.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// The labelled CSV files the version was trained on.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
}

fn drift_reference_cmd(a: DriftReferenceArgs) -> anyhow::Result<()> {
    let mut manifest = io::load_manifest(&a.models)?;
    let cfg: TrainConfig = serde_json::from_value(manifest.hyperparameters.clone())
        .context("the manifest's hyperparameters are not a training configuration")?;
    let data = load_labelled(&a.data)?;
    let digests: Vec<&str> = data.files.iter().map(|f| f.sha256.as_str()).collect();
    if manifest.training_files.iter().any(|f| !digests.contains(&f.sha256.as_str())) {
        bail!(
            "{} are not the files this version was trained on (their SHA-256 differ from the manifest's)",
            a.data.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let (train, _test) = standard_split(&data.labels, &cfg);
    for p in &mut manifest.profiles {
        let schema = crate::engine::features::Schema::for_profile(p.schema.profile);
        p.reference = Some(crate::drift::reference::build(&schema, &data.flows, &train));
        eprintln!(
            "{}: reference of {} features on {} training rows",
            p.schema.profile.name(),
            schema.len(),
            train.len()
        );
    }
    io::write_manifest(&a.models, &manifest)?;
    Ok(())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileArg {
    Cicflowmeter,
    Conn,
}

impl From<ProfileArg> for FeatureProfile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Cicflowmeter => FeatureProfile::Cicflowmeter,
            ProfileArg::Conn => FeatureProfile::Conn,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SplitArg {
    /// The training run's stratified test split (reproduced from the manifest seed).
    Random,
    /// Train on the other days, test on each day with attacks (retrains per fold).
    ByDay,
    /// Train without one attack family, test on it (retrains per fold).
    LeaveOneFamilyOut,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled CICFlowMeter CSV files (plain or .gz).
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "models")]
    pub out: PathBuf,
    /// Seed of every split and model (same seed and data = same models).
    #[arg(long, default_value_t = 2017)]
    pub seed: u64,
    /// Hyper-parameters as JSON (a `TrainConfig`, e.g. the manifest's `hyperparameters`); its seed is
    /// replaced by --seed. Default: the built-in configuration.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Directory with manifest.json and the model files.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// A labelled CICFlowMeter CSV (either CIC-IDS2017 layout, plain or .gz): per-flow evaluation of
    /// the ensemble. Or a labelled Zeek conn.log (a `label`/`detailed-label` column, or
    /// `NAME.labels.tsv` beside `NAME.conn.log`), or a directory of them: the whole detection
    /// (ensemble and behaviour detectors) judged per connection and host pair.
    #[arg(long)]
    pub data: PathBuf,
    /// Real-network logs: flows per batch, as a sensor sends them.
    #[arg(long, default_value_t = 2000)]
    pub batch_lines: usize,
    /// Without a split the whole file is the test set.
    #[arg(long, value_enum)]
    pub split: Option<SplitArg>,
    #[arg(long, value_enum, default_value = "cicflowmeter")]
    pub profile: ProfileArg,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also store the report in the manifest's `evaluation` list (replacing the same split/profile).
    #[arg(long)]
    pub record: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Directory with manifest.json and the model files.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Flows in any ingest format: CICFlowMeter CSV (either layout, plain or .gz), Zeek conn.log (TSV
    /// or JSON lines), Suricata EVE JSON, or the JSON flow format. The behaviour detectors run too:
    /// their findings are written as `{"finding": …}` lines.
    #[arg(long)]
    pub data: PathBuf,
    /// JSON-lines output file (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Force a profile (default: chosen per flow from the features present).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// Internal networks (CIDR, repeatable; default: the configured ones): alerts from these sources get
    /// the lateral-movement context, applied after classification, and the behaviour detectors judge
    /// direction by them.
    #[arg(long = "internal", value_name = "CIDR")]
    pub internal: Vec<ipnet::IpNet>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Directory with manifest.json and the model files.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// CICFlowMeter CSV (either CIC-IDS2017 layout, plain or .gz).
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, value_enum, default_value = "cicflowmeter")]
    pub profile: ProfileArg,
    #[arg(long)]
    pub json: bool,
    /// Also store the figures in the manifest's `bench` list.
    #[arg(long)]
    pub record: bool,
}

#[derive(Debug, Args)]
pub struct CvArgs {
    /// Labelled CICFlowMeter CSV files (plain or .gz).
    #[arg(long, required = true)]
    pub data: PathBuf,
    /// Hyper-parameters as JSON (a `TrainConfig`); default: the built-in configuration.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, default_value_t = 2017)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "cicflowmeter")]
    pub profile: ProfileArg,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write every training row's out-of-fold outputs (margins, specialist margins, scaled row)
    /// as JSON lines to this file, for analysing decision rules on training rows only.
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn run(cmd: EngineCommand) -> anyhow::Result<()> {
    init_tracing();
    match cmd {
        EngineCommand::Train(a) => train(a),
        EngineCommand::Eval(a) => eval_cmd(a),
        EngineCommand::Score(a) => score(a),
        EngineCommand::Bench(a) => bench_cmd(a),
        EngineCommand::Cv(a) => cv_cmd(a),
        EngineCommand::DriftReference(a) => drift_reference_cmd(a),
        EngineCommand::LearnNormal(a) => learn_normal_cmd(a),
    }
}

/// The configuration of `--config` (its seed replaced by `seed`), or the built-in one.
fn load_config(path: Option<&Path>, seed: u64) -> anyhow::Result<TrainConfig> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let mut cfg: TrainConfig = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a training configuration", path.display()))?;
            cfg.seed = seed;
            cfg
        }
        None => TrainConfig::with_seed(seed),
    })
}

fn cv_cmd(a: CvArgs) -> anyhow::Result<()> {
    let cfg = load_config(a.config.as_deref(), a.seed)?;
    let data = load_labelled(std::slice::from_ref(&a.data))?;
    if data.is_empty() {
        bail!("{}: no labelled rows", a.data.display());
    }
    let r = crate::engine::train::cv::cross_validate(&data, a.profile.into(), &cfg, a.folds, a.repeats)?;
    if let Some(path) = &a.dump {
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut out = BufWriter::new(file);
        for row in &r.oof {
            serde_json::to_writer(&mut out, row)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        eprintln!("wrote {} out-of-fold rows to {}", r.oof.len(), path.display());
    }
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "[{} / {}-fold cv x{} on {} training rows] mean macro-F1 {:.4} (per repeat {:?}) in {:.1} s",
        r.profile.name(),
        r.folds,
        r.repeats,
        r.rows,
        r.mean_macro_f1,
        r.macro_f1.iter().map(|v| format!("{v:.4}")).collect::<Vec<_>>(),
        r.seconds
    );
    print_classes(&r.per_class);
    println!("confusions (truth -> predicted, pooled over repeats):");
    for (t, p, c) in &r.confusions {
        println!("  {:<20} -> {:<20} {c}", t.name(), p.name());
    }
    println!("misclassified rows of the rare classes (row of the data file, truth -> predicted):");
    for (row, t, p) in &r.rare_errors {
        println!("  {row:>6} {:<20} -> {}", t.name(), p.name());
    }
    Ok(())
}

fn train(a: TrainArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let cfg = load_config(a.config.as_deref(), a.seed)?;
    let m = crate::engine::train::train_and_save(&a.data, &a.out, &cfg)?;
    eprintln!(
        "trained in {:.1} s (models: {:.1} s) -> {}",
        t.elapsed().as_secs_f64(),
        m.training_seconds,
        a.out.display()
    );
    for r in &m.evaluation {
        print_summary(r);
    }
    Ok(())
}

fn config_of(engine: &Engine) -> anyhow::Result<TrainConfig> {
    serde_json::from_value(engine.manifest().hyperparameters.clone())
        .context("the manifest's hyperparameters do not describe a training configuration of this build")
}

/// The server's configuration (defaults, `AF_CONFIG`, `AF_*`): the behaviour thresholds, internal
/// networks and deduplication window the CLI judges with.
fn server_config() -> anyhow::Result<crate::config::Config> {
    crate::config::Config::from_env().context("reading the configuration (AF_CONFIG, AF_*)")
}

fn network_eval_cmd(a: &EvalArgs, engine: &Engine) -> anyhow::Result<()> {
    let cfg = server_config()?;
    let captures = crate::engine::train::network_eval::read_captures(&a.data)?;
    if captures.iter().all(|c| c.labels.is_empty()) {
        bail!(
            "{}: no labelled connection (a `label` column, or NAME.labels.tsv beside NAME.conn.log)",
            a.data.display()
        );
    }
    let name = a.data.display().to_string();
    let report = crate::engine::train::network_eval::evaluate(
        engine,
        &cfg.behaviour,
        &cfg.internal_networks,
        cfg.dedup_window_secs,
        &captures,
        a.batch_lines,
        &name,
    );
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_network(&report);
    }
    if a.record {
        let mut m = engine.manifest().clone();
        m.network_evaluation.retain(|r| r.data != report.data);
        m.network_evaluation.push(report);
        io::write_manifest(&a.models, &m)?;
        eprintln!("recorded in {}", a.models.join(io::MANIFEST).display());
    }
    Ok(())
}

fn print_network(r: &crate::detection::NetworkEval) {
    for f in r.captures.iter().chain([&r.overall]) {
        println!(
            "[{}] connections {} (rejected {})  malicious {} recall {:.2} %  benign {} in alerted pairs {:.2} %  benign pairs alerted {} of {} ({:.2} %)  false alerts {} ({:.2} per host-day over {:.2} host-days)",
            f.name,
            f.connections,
            f.rejected,
            f.malicious,
            100.0 * f.recall(),
            f.benign,
            100.0 * f.benign_fpr(),
            f.benign_pairs_alerted,
            f.benign_pairs,
            100.0 * f.benign_pairs_alerted_share(),
            f.false_alerts,
            f.false_alerts_per_host_day(),
            f.host_days
        );
    }
    println!("per detailed label (all captures; latency = traffic time from its first connection to the first alert on its host pairs, worst capture):");
    for l in &r.overall.per_label {
        println!(
            "  {:<9} {:<58} n={:>6} alerted={:>6} {:>7.2} %  latency {}",
            if l.malicious { "malicious" } else { "benign" },
            l.label.chars().take(58).collect::<String>(),
            l.connections,
            l.alerted,
            100.0 * l.alerted as f64 / l.connections.max(1) as f64,
            l.latency_secs.map_or("-".to_string(), |s| format!("{s:.1} s"))
        );
    }
    println!("alerts by threat (after deduplication), and of them false (on benign pairs):");
    for (t, n) in &r.overall.alerts_by_threat {
        let false_alerts = r.overall.false_alerts_by_threat.iter().find(|(k, _)| k == t).map_or(0, |(_, n)| *n);
        println!("  {t:<20} {n:>6} {false_alerts:>6}");
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

fn eval_cmd(a: EvalArgs) -> anyhow::Result<()> {
    let engine = Engine::load(&a.models)?;
    if a.data.is_dir()
        || crate::engine::train::network_eval::LogFormat::sniff(&a.data)?
            != crate::engine::train::network_eval::LogFormat::Csv
    {
        return network_eval_cmd(&a, &engine);
    }
    let profile: FeatureProfile = a.profile.into();
    let model = engine.profile(profile)?;
    let data = load_labelled(std::slice::from_ref(&a.data))?;
    if data.is_empty() {
        bail!("{}: no labelled rows", a.data.display());
    }
    let name = a.data.display().to_string();
    let mut report = match a.split {
        None => {
            let mut r = metrics::evaluate(model, &data.flows, &data.labels, "whole-file", &name);
            r.notes.push("no split: the whole file is the test set".into());
            r
        }
        Some(SplitArg::Random) => {
            let m = engine.manifest();
            let digest = data.files.first().map(|f| f.sha256.clone()).unwrap_or_default();
            if m.training_files.len() != 1 || m.training_files[0].sha256 != digest {
                bail!(
                    "--split random reproduces the training run's test split, so --data must be the one file the models were trained on (sha256 {}); this file is {digest}",
                    m.training_files.first().map(|f| f.sha256.as_str()).unwrap_or("?")
                );
            }
            let cfg = config_of(&engine)?;
            let (_, test) = standard_split(&data.labels, &cfg);
            let flows: Vec<Flow> = test.iter().map(|&i| data.flows[i].clone()).collect();
            let labels: Vec<Threat> = test.iter().map(|&i| data.labels[i]).collect();
            let mut r = metrics::evaluate(model, &flows, &labels, "random", &name);
            r.notes.push(format!(
                "stratified {:.0} % test split (seed {}) never seen by training, scaling or threshold fitting",
                cfg.test_fraction * 100.0,
                cfg.seed
            ));
            r
        }
        Some(SplitArg::ByDay) => eval::by_day(&data, profile, &config_of(&engine)?, &name)?,
        Some(SplitArg::LeaveOneFamilyOut) => eval::leave_one_family_out(&data, profile, &config_of(&engine)?, &name)?,
    };
    report.label_mapping = data.mapping.clone();
    report.rejected_rows = data.rejected;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    if a.record {
        let mut m = engine.manifest().clone();
        m.evaluation.retain(|r| !(r.split == report.split && r.profile == report.profile));
        m.evaluation.push(report);
        io::write_manifest(&a.models, &m)?;
        eprintln!("recorded in {}", a.models.join(io::MANIFEST).display());
    }
    Ok(())
}

fn print_summary(r: &EvalReport) {
    println!(
        "[{} / {}] rows {}  macro-F1 {:.4} (verdict classes {:.4})  attack recall {:.4}  benign FPR {:.4}  PR-AUC {:.4}  (threshold {:.2})",
        r.profile.name(),
        r.split,
        r.test_rows,
        r.macro_f1,
        r.macro_f1_verdict,
        r.attack_recall,
        r.benign_fpr,
        r.pr_auc,
        r.operating_threshold
    );
}

fn print_mapping(mapping: &[LabelMapping]) {
    println!("label mapping (dataset label -> threat type, rows):");
    for m in mapping {
        println!("  {:<32} -> {:<18} {}", m.label, m.threat.map(|t| t.name()).unwrap_or("(rejected: unknown)"), m.rows);
    }
}

fn print_report(r: &EvalReport) {
    print_summary(r);
    println!("classifier (most probable class):");
    print_classes(&r.per_class);
    println!("verdicts (benign below the operating threshold):");
    print_classes(&r.per_class_verdict);
    println!("recall by model and group (anomaly models at their 1 % benign-FPR threshold from out-of-fold training scores):");
    for x in &r.recall {
        println!(
            "  {:<17} {:<28} attacks {:>6}  recall {:.4}  (benign FPR {:.4})",
            x.model, x.group, x.attacks, x.recall, x.benign_fpr
        );
    }
    print_mapping(&r.label_mapping);
    if r.rejected_rows > 0 {
        println!("rejected rows: {}", r.rejected_rows);
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

fn print_classes(classes: &[crate::detection::ClassMetrics]) {
    println!("  {:<20} {:>8} {:>9} {:>9} {:>9} {:>9}", "class", "support", "predicted", "precision", "recall", "f1");
    for c in classes {
        println!(
            "  {:<20} {:>8} {:>9} {:>9.4} {:>9.4} {:>9.4}",
            c.class.name(),
            c.support,
            c.predicted,
            c.precision,
            c.recall,
            c.f1
        );
    }
}

fn score(a: ScoreArgs) -> anyhow::Result<()> {
    use crate::engine::train::network_eval::{read_flows, LogFormat};
    let engine = Engine::load(&a.models)?;
    let cfg = server_config()?;
    let mut internal = a.internal.clone();
    if internal.is_empty() {
        internal = cfg.internal_networks.clone();
    }
    let is_internal = |ip: std::net::IpAddr| internal.iter().any(|n| n.contains(&ip));
    let mut behaviour = crate::behaviour::Behaviour::new(cfg.behaviour.clone());
    let mut out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let pb = progress_bar(0, "scoring");
    let (mut n, mut alerts, mut findings) = (0u64, 0u64, 0u64);
    let mut score_batch = |batch: &[Flow], out: &mut dyn Write| -> anyhow::Result<()> {
        let mut verdicts = match a.profile {
            Some(p) => score_with(engine.profile(p.into())?, batch, crate::engine::ensemble::Detail::Full),
            None => engine.score_batch(batch),
        };
        Engine::apply_context(&mut verdicts, batch, is_internal);
        behaviour.gate_ml(batch, &mut verdicts);
        for (f, v) in batch.iter().zip(&verdicts) {
            alerts += v.alert as u64;
            let line = serde_json::json!({
                "five_tuple": f.five_tuple,
                "timestamp": f.timestamp,
                "uid": f.uid,
                "label": f.label,
                "verdict": v,
            });
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        for f in behaviour.observe_batch(batch, is_internal) {
            findings += 1;
            let line = serde_json::json!({ "finding": {
                "threat": f.threat.name(), "src": f.src, "dst": f.dst, "dst_port": f.dst_port, "protocol": f.protocol,
                "first_seen": f.first_seen, "last_seen": f.last_seen, "count": f.count, "risk": f.risk, "reasons": f.reasons(),
            }});
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
        n += batch.len() as u64;
        pb.inc(batch.len() as u64);
        Ok(())
    };
    if LogFormat::sniff(&a.data)? == LogFormat::Csv {
        let mut reader = FlowReader::open(&a.data)?;
        let mut batch = Vec::new();
        while reader.next_batch(metrics::EVAL_BATCH, &mut batch) > 0 {
            score_batch(&batch, &mut out)?;
        }
        let st = reader.stats();
        pb.finish_and_clear();
        eprintln!("scored {n} flows, {alerts} alerting, {findings} behaviour findings, {} rows rejected", st.rejected);
        for e in &st.first_rejections {
            eprintln!("  rejected {e}");
        }
    } else {
        let (format, flows, rejected) = read_flows(&a.data)?;
        for chunk in flows.chunks(metrics::EVAL_BATCH) {
            score_batch(chunk, &mut out)?;
        }
        pb.finish_and_clear();
        eprintln!("scored {n} flows ({format:?}), {alerts} alerting, {findings} behaviour findings, {rejected} records rejected");
    }
    out.flush()?;
    Ok(())
}

fn bench_cmd(a: BenchArgs) -> anyhow::Result<()> {
    let engine = Engine::load(&a.models)?;
    let profile: FeatureProfile = a.profile.into();
    let model = engine.profile(profile)?;
    let (flows, _, _) = FlowReader::open(&a.data)?.read_all();
    if flows.is_empty() {
        bail!("{}: no rows", a.data.display());
    }
    let report = bench::run(model, &flows, a.threads)?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            for (k, fps) in &report.per_model_flows_per_second {
                o.insert(format!("{}_flows_per_second", k.name()), serde_json::json!(fps));
            }
        }
        println!("{}", serde_json::to_string(&v)?);
    } else {
        println!(
            "{} rows ({} from the file, repeated), {} thread(s), profile {}",
            report.rows,
            flows.len(),
            report.threads,
            profile.name()
        );
        for (k, fps) in &report.per_model_flows_per_second {
            println!("  {:<17} {:>12.0} flows/s", k.name(), fps);
        }
        for (k, fps) in &report.stage_flows_per_second {
            println!("  stage {:<11} {:>12.0} flows/s", k, fps);
        }
        println!(
            "  {:<17} {:>12.0} flows/s (flows -> verdicts with reasons)",
            "ensemble", report.ensemble_flows_per_second
        );
        if let Some(fps) = report.ensemble_with_behaviour_flows_per_second {
            println!(
                "  {:<17} {:>12.0} flows/s (one thread: ensemble, ML gate, behaviour detectors)",
                "pipeline detect", fps
            );
        }
        if let Some(m) = &report.behaviour_memory {
            println!(
                "  behaviour state: {} active host pairs, {} connections -> {} keys tracked, {} evicted, {:.1} MiB estimated, RSS grew {:.1} MiB",
                m.active_pairs,
                m.connections,
                m.tracked,
                m.evicted,
                m.state_bytes as f64 / 1048576.0,
                m.rss_growth_bytes as f64 / 1048576.0
            );
        }
    }
    if a.record {
        record_bench(&a.models, &engine, report)?;
    }
    Ok(())
}

fn record_bench(dir: &Path, engine: &Engine, report: crate::detection::BenchReport) -> anyhow::Result<()> {
    let mut m = engine.manifest().clone();
    m.bench.retain(|b| !(b.profile == report.profile && b.threads == report.threads));
    m.bench.push(report);
    io::write_manifest(dir, &m)?;
    eprintln!("recorded in {}", dir.join(io::MANIFEST).display());
    Ok(())
}
