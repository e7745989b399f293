//! Cross-validation of the classifier on TRAINING rows only (`anomalyforge cv`): the way
//! hyper-parameters are chosen without ever looking at the test split.
//!
//! The standard split's training rows are cut into `folds` stratified folds (`repeats` times with
//! different seeds); for each fold the classifier (main forest + web specialist, the same
//! [`classify`] path as scoring) is trained on the other folds and predicts it. Reported: the macro-F1
//! of each repeat, their mean, and per-class figures and confusions pooled over repeats.

use std::collections::BTreeMap;

use super::{fit_ovr, matrix, rows_of, standard_split};
use super::{LabelledData, TrainConfig};
use crate::detection::{ClassMetrics, FeatureProfile};
use crate::engine::ensemble::{classify, BatchScores, WEB_CLASSES};
use crate::engine::features::{raw_row, Scaler, Schema};
use crate::engine::rare::RareNeighbours;
use crate::engine::split::stratified_folds;
use crate::engine::{metrics, EngineError};
use crate::threat::Threat;

/// Classes with fewer training rows than this have their misclassified rows listed.
pub const RARE: usize = 100;

/// Result of a cross-validation run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CvReport {
    pub profile: FeatureProfile,
    pub folds: usize,
    pub repeats: usize,
    pub rows: usize,
    /// Macro-F1 of each repeat (most probable class, every training row predicted once per repeat).
    pub macro_f1: Vec<f64>,
    pub mean_macro_f1: f64,
    /// Per-class figures pooled over repeats.
    pub per_class: Vec<ClassMetrics>,
    /// (truth, predicted, count) of every confusion, pooled over repeats.
    pub confusions: Vec<(Threat, Threat, u64)>,
    /// Misclassified rows of the rare classes (fewer than [`RARE`] training rows): (row of the data,
    /// truth, predicted), pooled over repeats.
    pub rare_errors: Vec<(usize, Threat, Threat)>,
    pub seconds: f64,
    /// Out-of-fold outputs of every training row in every repeat (for `cv --dump`; not serialised).
    #[serde(skip)]
    pub oof: Vec<OofRow>,
}

/// One training row's out-of-fold outputs in one repeat.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OofRow {
    pub repeat: usize,
    /// Row of the data file.
    pub row: usize,
    pub truth: Threat,
    pub predicted: Threat,
    /// The classifier's one-vs-rest margins, in `Threat::ALL` order.
    pub margins: Vec<f32>,
    /// The web specialist's margins (benign, brute force, XSS, SQL injection), for every row.
    pub web_margins: Vec<f32>,
    /// The row scaled by its fold's scaler.
    pub x: Vec<f32>,
}

/// Cross-validates the classifier of `profile` on the training rows of the standard split.
pub fn cross_validate(
    data: &LabelledData,
    profile: FeatureProfile,
    cfg: &TrainConfig,
    folds: usize,
    repeats: usize,
) -> Result<CvReport, EngineError> {
    let started = std::time::Instant::now();
    let (train, _test) = standard_split(&data.labels, cfg);
    let schema = Schema::for_profile(profile);
    let d = schema.len();
    let n = train.len();
    let labels: Vec<Threat> = train.iter().map(|&i| data.labels[i]).collect();
    let mut truth_all = Vec::new();
    let mut pred_all = Vec::new();
    let mut macro_f1 = Vec::new();
    let mut rare_errors = Vec::new();
    let mut oof = Vec::new();
    let count = |t: Threat| labels.iter().filter(|&&l| l == t).count();
    let folds = folds.max(2);
    for rep in 0..repeats.max(1) {
        let fold_of =
            stratified_folds(&(0..n).collect::<Vec<_>>(), &labels, folds, cfg.seed.wrapping_add(11 + rep as u64));
        let mut pred = vec![Threat::Benign; n];
        for f in 0..folds {
            let inner: Vec<usize> = (0..n).filter(|&r| fold_of[r] != f).collect();
            let outer: Vec<usize> = (0..n).filter(|&r| fold_of[r] == f).collect();
            // Scaling fitted on the inner rows only, as training does.
            let inner_global: Vec<usize> = inner.iter().map(|&r| train[r]).collect();
            let raw: Vec<Vec<Option<f32>>> = inner_global.iter().map(|&i| raw_row(&schema, &data.flows[i])).collect();
            let scaler = Scaler::fit(&raw, d);
            drop(raw);
            let x = matrix(&schema, &scaler, &data.flows, &train);
            let gbdt = fit_ovr(&x, d, &inner, &labels, &Threat::ALL, cfg.gbdt_for(profile))?;
            let web = fit_ovr(&x, d, &inner, &labels, &WEB_CLASSES, &cfg.web_specialist)?;
            let rare_params = cfg.rare_for(profile);
            let rare = rare_params.enabled.then(|| RareNeighbours::fit(&x, d, &inner, &labels, rare_params));
            let xo = rows_of(&x, d, &outer);
            let mut s = BatchScores { n: outer.len(), ..Default::default() };
            classify(&gbdt, &web, rare.as_ref(), d, &xo, outer.len(), &mut s);
            let wk = WEB_CLASSES.len();
            let mut wm = vec![0f32; outer.len() * wk];
            web.margins(&xo, outer.len(), &mut wm);
            for (j, &r) in outer.iter().enumerate() {
                pred[r] = s.argmax(j);
                oof.push(OofRow {
                    repeat: rep,
                    row: train[r],
                    truth: labels[r],
                    predicted: pred[r],
                    margins: s.margins[j * Threat::COUNT..(j + 1) * Threat::COUNT].to_vec(),
                    web_margins: wm[j * wk..(j + 1) * wk].to_vec(),
                    x: xo[j * d..(j + 1) * d].to_vec(),
                });
            }
            tracing::info!(repeat = rep, fold = f, "cv fold done");
        }
        for r in 0..n {
            if pred[r] != labels[r] && (count(labels[r]) < RARE || count(pred[r]) < RARE) {
                rare_errors.push((train[r], labels[r], pred[r]));
            }
        }
        let (_, m) = metrics::class_metrics(&labels, &pred);
        macro_f1.push(m);
        truth_all.extend_from_slice(&labels);
        pred_all.extend(pred);
    }
    let (per_class, _) = metrics::class_metrics(&truth_all, &pred_all);
    let mut conf: BTreeMap<(Threat, Threat), u64> = BTreeMap::new();
    for (t, p) in truth_all.iter().zip(&pred_all) {
        if t != p {
            *conf.entry((*t, *p)).or_default() += 1;
        }
    }
    let mean_macro_f1 = macro_f1.iter().sum::<f64>() / macro_f1.len() as f64;
    Ok(CvReport {
        profile,
        folds,
        repeats: repeats.max(1),
        rows: n,
        macro_f1,
        mean_macro_f1,
        per_class,
        confusions: conf.into_iter().map(|((t, p), c)| (t, p, c)).collect(),
        rare_errors,
        seconds: started.elapsed().as_secs_f64(),
        oof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{Flow, FEATURES};

    /// Three classes separable on two features; one rare class.
    fn toy() -> LabelledData {
        let mut data = LabelledData::default();
        let mut s = 12345u64;
        let mut noise = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32) / (1u64 << 24) as f32
        };
        for i in 0..600 {
            let (label, a, b) = match i % 20 {
                0 => (Threat::WebXss, 500.0, 9000.0),
                1..=9 => (Threat::Ddos, 80.0, 10.0 + noise()),
                _ => (Threat::Benign, 1000.0 + 100.0 * noise(), 10.0),
            };
            let mut features = vec![Some(noise()); FEATURES.len()];
            features[0] = Some(a);
            features[3] = Some(b);
            data.flows.push(Flow { features, ..Flow::empty() });
            data.labels.push(label);
        }
        data
    }

    #[test]
    fn cross_validation_predicts_every_training_row_once_per_repeat() {
        let data = toy();
        let mut cfg = TrainConfig::with_seed(3);
        cfg.gbdt.rounds = 5;
        cfg.conn_gbdt = None;
        cfg.web_specialist.rounds = 5;
        let r = cross_validate(&data, FeatureProfile::Cicflowmeter, &cfg, 3, 2).expect("cv");
        assert_eq!(r.macro_f1.len(), 2);
        assert_eq!(r.rows, 480, "the 20 % test split is never used");
        let support: u64 = r.per_class.iter().map(|c| c.support).sum();
        assert_eq!(support, 2 * 480);
        assert!(r.mean_macro_f1 > 0.95, "{}", r.mean_macro_f1);
    }
}
