//! Evaluation metrics of a loaded model on labelled flows: per-class precision/recall/F1, macro-F1,
//! attack recall and benign FPR at the operating threshold, PR-AUC (average precision of the risk
//! score, attack vs benign), and the recall of each anomaly model at its 1 %-FPR threshold, overall
//! and per group. Used by training (its held-out report), the offline evaluations in
//! [`train::eval`](super::train::eval) and the model registry's comparisons.

use std::collections::BTreeMap;

use super::ensemble::{BatchScores, ProfileModel};
use super::progress_bar;
use crate::detection::{ClassMetrics, EvalReport, FeatureProfile, ModelKind, RecallAt};
use crate::flow::Flow;
use crate::threat::Threat;

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
