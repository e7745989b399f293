//! Evaluation: per-class precision/recall/F1, macro-F1, attack recall and benign FPR at the operating
//! threshold, PR-AUC (average precision of the risk score, attack vs benign), and the recall of each
//! anomaly model at its 1 %-FPR threshold — overall and per attack family.
//!
//! Splits: whole file (the loaded model), `random` (the training run's own stratified test split,
//! reproduced from the manifest seed), `by-day` and `leave-one-family-out` (models retrained per fold
//! with the manifest's hyper-parameters; the test fold never reaches training, scaling or thresholds).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::ensemble::{BatchScores, ProfileModel};
use super::train::{train_profile, LabelledData, TrainConfig};
use super::{progress_bar, EngineError};
use crate::detection::{ClassMetrics, EvalReport, FeatureProfile, ModelKind, RecallAt};
use crate::flow::Flow;
use crate::threat::{BehaviourThreat, Threat, ThreatFamily};

/// Batch size used when scoring for evaluation.
pub const EVAL_BATCH: usize = 4096;

/// Per-row outcome kept for metrics.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    pub truth: Vec<Threat>,
    /// Class of the verdict (benign below the operating threshold).
    pub predicted: Vec<Threat>,
    /// Most probable class of the classifier.
    pub argmax: Vec<Threat>,
    pub risk: Vec<f32>,
    /// Did each anomaly model fire at its 1 %-FPR threshold (IF, OCSVM, AE)?
    pub anomaly_fired: Vec<[bool; 3]>,
    pub alert: Vec<bool>,
    /// Group tag for per-group recall (a day, a family); empty = none.
    pub group: Vec<String>,
}

impl Outcomes {
    pub fn extend(&mut self, other: Outcomes) {
        self.truth.extend(other.truth);
        self.predicted.extend(other.predicted);
        self.argmax.extend(other.argmax);
        self.risk.extend(other.risk);
        self.anomaly_fired.extend(other.anomaly_fired);
        self.alert.extend(other.alert);
        self.group.extend(other.group);
    }
}

/// Scores `flows` with `model` in batches and records outcomes.
pub fn outcomes(model: &ProfileModel, flows: &[Flow], labels: &[Threat], group: &dyn Fn(usize) -> String) -> Outcomes {
    let mut o = Outcomes::default();
    let pb = progress_bar(flows.len() as u64, &format!("scoring ({})", model.profile().name()));
    let mut x = Vec::new();
    let thr = &model.fusion.anomaly_thresholds;
    for (b, chunk) in flows.chunks(EVAL_BATCH).enumerate() {
        model.scale(chunk, &mut x);
        let s: BatchScores = model.score_matrix(&x, chunk.len());
        for r in 0..chunk.len() {
            let i = b * EVAL_BATCH + r;
            let alert = s.risk[r] as f64 >= model.fusion.operating_threshold;
            o.truth.push(labels[i]);
            // An alert of the anomaly layer alone names no class: it counts in the alert figures
            // (recall, benign FPR) and as benign in the per-class ones.
            o.predicted.push(if alert && !model.anomaly_only(&s, r) { s.top_attack(r).0 } else { Threat::Benign });
            o.argmax.push(s.argmax(r));
            o.risk.push(s.risk[r]);
            o.alert.push(alert);
            let fired = |k: usize, v: f32| thr.get(k).is_some_and(|t| v as f64 > t.at_1pct_fpr);
            o.anomaly_fired.push([fired(0, s.iforest[r]), fired(1, s.ocsvm[r]), fired(2, s.ae[r])]);
            o.group.push(group(i));
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    o
}

/// Average precision of `scores` for the positive class (ties broken pessimistically).
pub fn average_precision(scores: &[f32], positive: &[bool]) -> f64 {
    let total_pos = positive.iter().filter(|&&p| p).count();
    if total_pos == 0 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Descending score; among ties negatives first (pessimistic).
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(positive[a].cmp(&positive[b])));
    let mut tp = 0usize;
    let mut ap = 0.0;
    let mut i = 0;
    while i < order.len() {
        // Process a block of tied scores together.
        let mut j = i;
        let mut block_tp = 0;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if positive[order[j]] {
                block_tp += 1;
            }
            j += 1;
        }
        if block_tp > 0 {
            tp += block_tp;
            let precision = tp as f64 / j as f64;
            ap += precision * block_tp as f64 / total_pos as f64;
        }
        i = j;
    }
    ap
}

/// Per-class precision/recall/F1 and their macro average over classes that occur (in truth or prediction).
pub fn class_metrics(truth: &[Threat], predicted: &[Threat]) -> (Vec<ClassMetrics>, f64) {
    let mut per_class = Vec::new();
    let mut f1s = Vec::new();
    for t in Threat::ALL {
        let support = truth.iter().filter(|&&x| x == t).count() as u64;
        let npred = predicted.iter().filter(|&&x| x == t).count() as u64;
        if support == 0 && npred == 0 {
            continue;
        }
        let tp = truth.iter().zip(predicted).filter(|(a, b)| **a == t && **b == t).count() as f64;
        let precision = if npred > 0 { tp / npred as f64 } else { 0.0 };
        let recall = if support > 0 { tp / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        f1s.push(f1);
        per_class.push(ClassMetrics { class: t, support, predicted: npred, precision, recall, f1 });
    }
    let macro_f1 = if f1s.is_empty() { 0.0 } else { f1s.iter().sum::<f64>() / f1s.len() as f64 };
    (per_class, macro_f1)
}

/// Builds the report from outcomes.
pub fn report(o: &Outcomes, profile: FeatureProfile, split: &str, data: &str, threshold: f64) -> EvalReport {
    let n = o.truth.len();
    let (per_class, macro_f1) = class_metrics(&o.truth, &o.argmax);
    let (per_class_verdict, macro_f1_verdict) = class_metrics(&o.truth, &o.predicted);
    let attacks: Vec<usize> = (0..n).filter(|&i| o.truth[i].is_attack()).collect();
    let benign: Vec<usize> = (0..n).filter(|&i| !o.truth[i].is_attack()).collect();
    let rate = |rows: &[usize], f: &dyn Fn(usize) -> bool| -> f64 {
        if rows.is_empty() {
            0.0
        } else {
            rows.iter().filter(|&&i| f(i)).count() as f64 / rows.len() as f64
        }
    };
    let attack_recall = rate(&attacks, &|i| o.alert[i]);
    let benign_fpr = rate(&benign, &|i| o.alert[i]);
    let positive: Vec<bool> = o.truth.iter().map(|t| t.is_attack()).collect();
    let pr_auc = average_precision(&o.risk, &positive);

    // Recall per model and group (all attacks, each family, each tag).
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in &attacks {
        groups.entry("all".into()).or_default().push(i);
        groups.entry(format!("family:{}", o.truth[i].family().name())).or_default().push(i);
        if !o.group[i].is_empty() {
            groups.entry(o.group[i].clone()).or_default().push(i);
        }
    }
    let mut recall = Vec::new();
    let models: [(&str, usize); 4] = [
        ("ensemble", usize::MAX),
        (ModelKind::IsolationForest.name(), 0),
        (ModelKind::OneClassSvm.name(), 1),
        (ModelKind::Autoencoder.name(), 2),
    ];
    for (name, k) in models {
        let fired = |i: usize| if k == usize::MAX { o.alert[i] } else { o.anomaly_fired[i][k] };
        let fpr = rate(&benign, &fired);
        for (g, rows) in &groups {
            recall.push(RecallAt {
                model: name.to_string(),
                group: g.clone(),
                attacks: rows.len() as u64,
                recall: rate(rows, &fired),
                at: if k == usize::MAX { "operating".into() } else { "0.01".into() },
                benign_fpr: fpr,
            });
        }
    }
    EvalReport {
        split: split.to_string(),
        profile,
        data: data.to_string(),
        test_rows: n as u64,
        rejected_rows: 0,
        macro_f1,
        macro_f1_verdict,
        per_class_verdict,
        attack_recall,
        benign_fpr,
        pr_auc,
        operating_threshold: threshold,
        per_class,
        recall,
        label_mapping: Vec::new(),
        notes: Vec::new(),
    }
}

/// Evaluates a loaded model on labelled flows.
pub fn evaluate(model: &ProfileModel, flows: &[Flow], labels: &[Threat], split: &str, data: &str) -> EvalReport {
    let o = outcomes(model, flows, labels, &|_| String::new());
    report(&o, model.profile(), split, data, model.fusion.operating_threshold)
}

fn subset(data: &LabelledData, idx: &[usize]) -> (Vec<Flow>, Vec<Threat>) {
    (idx.iter().map(|&i| data.flows[i].clone()).collect(), idx.iter().map(|&i| data.labels[i]).collect())
}

/// By-day split: for every day that has attacks, train on the other days and test on it.
pub fn by_day(
    data: &LabelledData,
    profile: FeatureProfile,
    cfg: &TrainConfig,
    name: &str,
) -> Result<EvalReport, EngineError> {
    let mut days: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in data.flows.iter().enumerate() {
        match f.day() {
            Some(d) => days.entry(d.to_string()).or_default().push(i),
            None => {
                return Err(EngineError::Csv {
                    path: name.into(),
                    reason: format!("row {i} has no timestamp: a by-day split needs one on every row"),
                })
            }
        }
    }
    let mut all = Outcomes::default();
    let mut notes = Vec::new();
    let mut thresholds = Vec::new();
    for (day, test) in &days {
        if !test.iter().any(|&i| data.labels[i].is_attack()) {
            notes.push(format!("{day}: no attacks, always in training"));
            continue;
        }
        let rest: Vec<usize> = (0..data.len()).filter(|i| data.flows[*i].day() != Some(day.as_str())).collect();
        let trained = train_profile(profile, data, &rest, cfg)?;
        let (flows, labels) = subset(data, test);
        let tag = format!("day:{day}");
        let o = outcomes(&trained.model, &flows, &labels, &|_| tag.clone());
        let classes: Vec<&str> = {
            let mut c: Vec<&str> =
                test.iter().map(|&i| data.labels[i]).filter(|t| t.is_attack()).map(|t| t.name()).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        notes.push(format!(
            "{day}: trained on {} rows of the other days, tested on {} rows (attacks: {})",
            rest.len(),
            test.len(),
            classes.join(", ")
        ));
        thresholds.push(trained.model.fusion.operating_threshold);
        all.extend(o);
    }
    let mean_thr = thresholds.iter().sum::<f64>() / thresholds.len().max(1) as f64;
    let mut r = report(&all, profile, "by-day", name, mean_thr);
    notes.push("attack classes of a held-out day were mostly never seen in training: the classifier cannot name them; this measures what the anomaly models and the risk score catch".into());
    notes.push("operating_threshold is the mean of the per-fold thresholds".into());
    r.notes = notes;
    Ok(r)
}

/// Leave-one-family-out: for each attack family, train on the standard training rows without that
/// family, test on the standard test split's benign rows plus every row of the family.
pub fn leave_one_family_out(
    data: &LabelledData,
    profile: FeatureProfile,
    cfg: &TrainConfig,
    name: &str,
) -> Result<EvalReport, EngineError> {
    let (train0, test0) = super::train::standard_split(&data.labels, cfg);
    let mut all = Outcomes::default();
    let mut notes = Vec::new();
    let mut thresholds = Vec::new();
    // The behaviour detectors need no training: run them once over the rows in time order, as a
    // sensor would have sent them, and credit a row when its host pair was flagged.
    let flagged = BehaviourFlags::over(&data.flows);
    let (mut caught, mut attacks, mut benign_hit, mut benign) = (0u64, 0u64, 0u64, 0u64);
    let mut with_behaviour = Vec::new();
    for family in ThreatFamily::ATTACKS {
        let fam_rows: Vec<usize> = (0..data.len()).filter(|&i| data.labels[i].family() == family).collect();
        if fam_rows.is_empty() {
            continue;
        }
        let keep =
            |v: &[usize]| -> Vec<usize> { v.iter().copied().filter(|&i| data.labels[i].family() != family).collect() };
        let train = keep(&train0);
        let trained = train_profile(profile, data, &train, cfg)?;
        let mut test: Vec<usize> = test0.iter().copied().filter(|&i| !data.labels[i].is_attack()).collect();
        test.extend(&fam_rows);
        let (flows, labels) = subset(data, &test);
        let tag = format!("held_out:{}", family.name());
        let o = outcomes(&trained.model, &flows, &labels, &|_| tag.clone());
        let (mut c, mut a, mut bh, mut b) = (0u64, 0u64, 0u64, 0u64);
        for (k, &i) in test.iter().enumerate() {
            if data.labels[i].is_attack() {
                let hit = o.alert[k] || flagged.names(&data.flows[i], family);
                (a, c) = (a + 1, c + u64::from(hit));
            } else {
                // A benign row is a false alert whatever the detector called its pair.
                let hit = o.alert[k] || flagged.covers(&data.flows[i]);
                (b, bh) = (b + 1, bh + u64::from(hit));
            }
        }
        with_behaviour.push(RecallAt {
            model: "ensemble+behaviour".into(),
            group: tag.clone(),
            attacks: a,
            recall: c as f64 / a.max(1) as f64,
            at: "operating".into(),
            benign_fpr: bh as f64 / b.max(1) as f64,
        });
        (caught, attacks, benign_hit, benign) = (caught + c, attacks + a, benign_hit + bh, benign + b);
        // Keep only the held-out family's attacks and the benign rows of the last fold for the pooled
        // benign FPR (benign rows repeat across folds; pooled rates average over folds).
        notes.push(format!(
            "{}: trained without it on {} rows, tested on {} rows",
            family.name(),
            train.len(),
            test.len()
        ));
        thresholds.push(trained.model.fusion.operating_threshold);
        all.extend(o);
    }
    let mean_thr = thresholds.iter().sum::<f64>() / thresholds.len().max(1) as f64;
    let mut r = report(&all, profile, "leave-one-family-out", name, mean_thr);
    r.recall.push(RecallAt {
        model: "ensemble+behaviour".into(),
        group: "all".into(),
        attacks,
        recall: caught as f64 / attacks.max(1) as f64,
        at: "operating".into(),
        benign_fpr: benign_hit as f64 / benign.max(1) as f64,
    });
    r.recall.extend(with_behaviour);
    notes.push("per-class metrics pool all folds (test benign rows are repeated once per fold); read `recall` entries `held_out:<family>` for what each model catches of a family it never saw".into());
    notes.push(format!(
        "`ensemble+behaviour`: a held-out attack row counts as caught when the fold's ensemble alerts on it or the behaviour detectors (run once over all {} rows in time order, default settings, 2,000-row batches) flagged its host pair (or its source as a scanner) with a threat type that names its family (a scan for port scans, a flood for DoS, password guessing for brute force and web attacks, a beacon, scan or flood for botnets); a benign row counts as a false positive when its pair was flagged with any type. In CIC-IDS2017 most attacks share one attacker and one victim address, so pair-level credit without the type check would credit any family on that pair. The behaviour detectors learn nothing, so no fold's test rows reach them as training",
        data.len()
    ));
    r.notes = notes;
    Ok(r)
}

/// Host pairs (and scanners, for scans of many hosts) the behaviour detectors flagged in a data set,
/// with the threat types they named.
pub struct BehaviourFlags {
    pairs: HashMap<(IpAddr, IpAddr), Vec<BehaviourThreat>>,
    sources: HashMap<IpAddr, Vec<BehaviourThreat>>,
}

impl BehaviourFlags {
    /// Runs the detectors (default settings and internal networks) over `flows` in time order.
    pub fn over(flows: &[Flow]) -> BehaviourFlags {
        let cfg = crate::config::Config::default();
        let internal = |ip: IpAddr| cfg.internal_networks.iter().any(|n| n.contains(&ip));
        let mut order: Vec<(i64, usize)> = flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.timestamp.as_deref().and_then(crate::ingest::time::iso_to_micros).unwrap_or(i64::MAX), i))
            .collect();
        order.sort_unstable();
        let sorted: Vec<Flow> = order.iter().map(|&(_, i)| flows[i].clone()).collect();
        let mut b = crate::behaviour::Behaviour::new(cfg.behaviour.clone());
        let mut flags = BehaviourFlags { pairs: HashMap::new(), sources: HashMap::new() };
        for chunk in sorted.chunks(2000) {
            for f in b.observe_batch(chunk, internal) {
                let threats = match f.dst {
                    Some(d) => flags.pairs.entry((f.src.min(d), f.src.max(d))).or_default(),
                    None => flags.sources.entry(f.src).or_default(),
                };
                if !threats.contains(&f.threat) {
                    threats.push(f.threat);
                }
            }
        }
        flags
    }

    /// Whether the flow's host pair (either direction), or its source as a scanner, was flagged with a
    /// threat type that names `family` (a scan for port scans, a flood for DoS, …): credit for catching a
    /// family goes only to a detector that says what it is.
    pub fn names(&self, f: &Flow, family: ThreatFamily) -> bool {
        let Some(t) = f.five_tuple else { return false };
        let fits = |threats: &Vec<BehaviourThreat>| threats.iter().any(|b| behaviour_names(*b, family));
        self.sources.get(&t.src_ip).is_some_and(fits)
            || self.pairs.get(&(t.src_ip.min(t.dst_ip), t.src_ip.max(t.dst_ip))).is_some_and(fits)
    }

    /// Whether the flow's host pair or its source was flagged at all (any threat type).
    pub fn covers(&self, f: &Flow) -> bool {
        f.five_tuple.is_some_and(|t| {
            self.sources.contains_key(&t.src_ip)
                || self.pairs.contains_key(&(t.src_ip.min(t.dst_ip), t.src_ip.max(t.dst_ip)))
        })
    }
}

/// Which behaviour threat types name an attack family.
pub fn behaviour_names(b: BehaviourThreat, family: ThreatFamily) -> bool {
    use BehaviourThreat as B;
    match family {
        ThreatFamily::Dos | ThreatFamily::Ddos => matches!(b, B::DosInbound | B::FloodOutbound),
        ThreatFamily::PortScan => matches!(b, B::ScanInbound | B::ScanLateral | B::ScanOutbound),
        ThreatFamily::BruteForce | ThreatFamily::WebAttack => b == B::BruteForce,
        ThreatFamily::Botnet => matches!(b, B::C2Beacon | B::ScanOutbound | B::FloodOutbound),
        ThreatFamily::Infiltration => matches!(b, B::C2Beacon | B::ScanLateral | B::ScanOutbound | B::Exfiltration),
        ThreatFamily::Heartbleed | ThreatFamily::Benign => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_of_a_perfect_ranking_is_one() {
        let s = [0.9, 0.8, 0.2, 0.1];
        let p = [true, true, false, false];
        assert!((average_precision(&s, &p) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn average_precision_counts_ties_pessimistically() {
        let s = [0.5, 0.5];
        let p = [true, false];
        assert!((average_precision(&s, &p) - 0.5).abs() < 1e-12);
    }
}
