//! One profile's ensemble: scaling, the five models, the fitted risk score, and per-flow reasons.

use crate::detection::{
    AnomalyThreshold, ContributionSource, FeatureContribution, FeatureProfile, FlowContext, FusionParams, ModelKind,
    ModelSignal, Verdict,
};
use crate::flow::Flow;
use crate::threat::Threat;

use super::autoencoder::Autoencoder;
use super::features::{scale_flows, Scaler, Schema};
use super::gbdt::{normalise_ovr, FlatForest};
use super::iforest::IsolationForest;
use super::ocsvm::OneClassSvm;
use super::rare::RareNeighbours;

/// Classes of the web-attack specialist, in output order.
pub const WEB_CLASSES: [Threat; 4] = [Threat::Benign, Threat::WebBruteForce, Threat::WebXss, Threat::WebSqlInjection];

/// The specialist runs on rows whose web-attack probability mass (from the main classifier) is at least
/// this; it then decides WHICH web attack.
pub const WEB_GATE: f32 = 0.01;

/// Names of the fusion inputs (in [`FusionParams::inputs`] order).
pub const FUSION_INPUTS: [&str; 5] =
    ["gbdt_not_benign_margin", "gbdt_best_attack_margin", "isolation_forest", "one_class_svm", "autoencoder"];

/// How many top features each source contributes to a verdict.
pub const TOP_FEATURES: usize = 5;

/// A trained ensemble for one feature profile.
#[derive(Debug, Clone)]
pub struct ProfileModel {
    pub schema: Schema,
    pub scaler: Scaler,
    pub gbdt: FlatForest,
    pub web: FlatForest,
    /// The rare-class stage (None for models trained before it existed).
    pub rare: Option<RareNeighbours>,
    pub iforest: IsolationForest,
    pub ocsvm: OneClassSvm,
    pub ae: Autoencoder,
    pub fusion: FusionParams,
}

/// How much of a verdict to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: model signals and the top contributing features (tree path contributions and
    /// autoencoder errors cost about as much as scoring itself).
    Full,
    /// Risk, alert, class, probability and context only (`models` and `top_features` empty). The live
    /// pipeline scores whole batches this way and explains one flow per alert.
    Brief,
}

/// Every model's raw output for a batch (row-major where 2-D).
#[derive(Debug, Clone, Default)]
pub struct BatchScores {
    pub n: usize,
    /// `n × Threat::COUNT` one-vs-rest margins (log-odds) of the classifier.
    pub margins: Vec<f32>,
    /// `n × Threat::COUNT` class probabilities (web mass re-split by the specialist).
    pub probs: Vec<f32>,
    /// Specialist probability of a web attack (0 where the gate did not open).
    pub web_attack: Vec<f32>,
    pub iforest: Vec<f32>,
    pub ocsvm: Vec<f32>,
    pub ae: Vec<f32>,
    /// `n × d` per-feature squared reconstruction errors.
    pub ae_err: Vec<f32>,
    /// 0–100.
    pub risk: Vec<f32>,
}

impl BatchScores {
    pub fn p_attack(&self, r: usize) -> f32 {
        1.0 - self.probs[r * Threat::COUNT]
    }

    /// The most probable class of row `r`.
    pub fn argmax(&self, r: usize) -> Threat {
        let p = &self.probs[r * Threat::COUNT..(r + 1) * Threat::COUNT];
        let k = p.iter().enumerate().fold(0, |best, (k, &v)| if v > p[best] { k } else { best });
        Threat::from_index(k).unwrap_or(Threat::Benign)
    }

    /// The most likely attack class of row `r` and its probability.
    pub fn top_attack(&self, r: usize) -> (Threat, f32) {
        let p = &self.probs[r * Threat::COUNT..(r + 1) * Threat::COUNT];
        let (k, v) =
            p.iter().enumerate().skip(1).fold((1, f32::MIN), |acc, (k, &v)| if v > acc.1 { (k, v) } else { acc });
        (Threat::from_index(k).unwrap_or(Threat::Benign), v)
    }
}

#[inline]
pub fn logit(p: f32) -> f64 {
    let p = (p as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The highest normalised anomaly score (scores beyond it are clamped).
pub const ANOMALY_SCORE_MAX: f64 = 10.0;

/// Anomaly score normalised so 0 = median benign, 1 = the 1 %-FPR threshold.
#[inline]
pub fn normalise_anomaly(s: f32, t: &AnomalyThreshold) -> f64 {
    let span = (t.at_1pct_fpr - t.benign_median).abs().max(1e-9);
    ((s as f64 - t.benign_median) / span).clamp(-2.0, ANOMALY_SCORE_MAX)
}

impl ProfileModel {
    pub fn profile(&self) -> FeatureProfile {
        self.schema.profile
    }

    pub fn dim(&self) -> usize {
        self.schema.len()
    }

    /// Scales flows into `x` (row-major). Returns missing-feature counts per row.
    pub fn scale(&self, flows: &[Flow], x: &mut Vec<f32>) -> Vec<u32> {
        let mut missing = Vec::with_capacity(flows.len());
        scale_flows(&self.schema, &self.scaler, flows, x, &mut missing);
        missing
    }

    /// Classifier probabilities (with the web specialist and the rare-class stage) into `s.probs`,
    /// `s.web_attack`.
    pub fn classify(&self, x: &[f32], n: usize, s: &mut BatchScores) {
        classify(&self.gbdt, &self.web, self.rare.as_ref(), self.dim(), x, n, s);
    }

    /// Every model on `n` scaled rows, and the risk.
    pub fn score_matrix(&self, x: &[f32], n: usize) -> BatchScores {
        let mut s = BatchScores { n, ..Default::default() };
        self.classify(x, n, &mut s);
        s.iforest.resize(n, 0.0);
        self.iforest.score(x, n, &mut s.iforest);
        s.ocsvm.resize(n, 0.0);
        self.ocsvm.score(x, n, &mut s.ocsvm);
        s.ae.resize(n, 0.0);
        s.ae_err.resize(n * self.dim(), 0.0);
        self.ae.score(x, n, &mut s.ae_err, &mut s.ae);
        s.risk = (0..n).map(|r| self.risk(&s, r)).collect();
        s
    }

    /// Fusion inputs of row `r`.
    pub fn fusion_inputs(s: &BatchScores, r: usize, thresholds: &[AnomalyThreshold]) -> [f64; 5] {
        let a = |i: usize, v: f32| thresholds.get(i).map(|t| normalise_anomaly(v, t)).unwrap_or(0.0);
        let m = &s.margins[r * Threat::COUNT..(r + 1) * Threat::COUNT];
        let best_attack = m[1..].iter().copied().fold(f32::MIN, f32::max);
        [
            (-m[0] as f64).clamp(-12.0, 12.0),
            (best_attack as f64).clamp(-12.0, 12.0),
            a(0, s.iforest[r]),
            a(1, s.ocsvm[r]),
            a(2, s.ae[r]),
        ]
    }

    /// Risk (0–100) of row `r`: the fitted weights' risk, or the anomaly layer's when it is higher.
    pub fn risk(&self, s: &BatchScores, r: usize) -> f32 {
        let fused = self.fused_risk(s, r);
        self.anomaly_risk(s, r).map_or(fused, |a| a.max(fused))
    }

    /// The fitted weights' risk of row `r` (the classifier's margins, weighted with the anomaly scores).
    pub fn fused_risk(&self, s: &BatchScores, r: usize) -> f32 {
        let z = Self::fusion_inputs(s, r, &self.fusion.anomaly_thresholds);
        let mut t = self.fusion.bias;
        for (w, v) in self.fusion.weights.iter().zip(z) {
            t += w * v;
        }
        (100.0 / (1.0 + (-t).exp())) as f32
    }

    /// The anomaly layer's combined score of row `r` (None without a layer).
    pub fn anomaly_score(&self, s: &BatchScores, r: usize) -> Option<f64> {
        let gate = self.fusion.anomaly_gate.as_ref()?;
        let thr = &self.fusion.anomaly_thresholds;
        let a = |i: usize, v: f32| thr.get(i).map(|t| normalise_anomaly(v, t)).unwrap_or(0.0);
        Some(gate.combine.apply([a(0, s.iforest[r]), a(1, s.ocsvm[r]), a(2, s.ae[r])]))
    }

    /// The risk the anomaly layer gives row `r` when its score reaches the layer's threshold: the
    /// operating threshold there, rising to half-way between it and 100 at the highest score.
    fn anomaly_risk(&self, s: &BatchScores, r: usize) -> Option<f32> {
        let gate = self.fusion.anomaly_gate.as_ref()?;
        let score = self.anomaly_score(s, r)?;
        if score < gate.threshold {
            return None;
        }
        let op = self.fusion.operating_threshold;
        let top = ANOMALY_SCORE_MAX.max(gate.threshold + 1e-9);
        let above = ((score - gate.threshold) / (top - gate.threshold)).clamp(0.0, 1.0);
        Some((op + (100.0 - op) * 0.5 * above) as f32)
    }

    /// True when row `r` alerts only through the anomaly layer: the classifier and the weights call it
    /// benign. Such a verdict names no attack class.
    pub fn anomaly_only(&self, s: &BatchScores, r: usize) -> bool {
        let op = self.fusion.operating_threshold;
        (s.risk[r] as f64) >= op && (self.fused_risk(s, r) as f64) < op
    }

    /// Verdicts with reasons for `flows`, whose scaled rows are `x` and scores `s`.
    pub fn verdicts(
        &self,
        flows: &[Flow],
        x: &[f32],
        missing: &[u32],
        s: &BatchScores,
        detail: Detail,
    ) -> Vec<Verdict> {
        let d = self.dim();
        let mut contrib = vec![0f32; d];
        let thr = &self.fusion.anomaly_thresholds;
        (0..flows.len())
            .map(|r| {
                let risk = s.risk[r];
                let alert = (risk as f64) >= self.fusion.operating_threshold;
                let (class, class_probability) = if alert && !self.anomaly_only(s, r) {
                    s.top_attack(r)
                } else {
                    (Threat::Benign, s.probs[r * Threat::COUNT])
                };
                let mut context = Vec::new();
                if missing[r] > 0 {
                    context.push(FlowContext::ImputedFeatures { count: missing[r] });
                }
                if alert && class == Threat::Benign {
                    context.push(FlowContext::AnomalyOnly {
                        score: self.anomaly_score(s, r).unwrap_or(0.0) as f32,
                        threshold: self.fusion.anomaly_gate.as_ref().map_or(0.0, |g| g.threshold as f32),
                    });
                }
                if detail == Detail::Brief {
                    let profile = self.profile();
                    return Verdict {
                        risk,
                        alert,
                        class,
                        class_probability,
                        profile,
                        models: Vec::new(),
                        top_features: Vec::new(),
                        context,
                    };
                }
                let mut models = Vec::with_capacity(5);
                let pa = s.p_attack(r);
                models.push(ModelSignal {
                    model: ModelKind::Gbdt,
                    score: pa,
                    threshold: 0.5,
                    fired: pa >= 0.5,
                    strength: pa / 0.5,
                });
                let w = s.web_attack[r];
                models.push(ModelSignal {
                    model: ModelKind::WebSpecialist,
                    score: w,
                    threshold: 0.5,
                    fired: w >= 0.5,
                    strength: w / 0.5,
                });
                for (i, (kind, v)) in [
                    (ModelKind::IsolationForest, s.iforest[r]),
                    (ModelKind::OneClassSvm, s.ocsvm[r]),
                    (ModelKind::Autoencoder, s.ae[r]),
                ]
                .into_iter()
                .enumerate()
                {
                    let t = thr.get(i);
                    let at = t.map(|t| t.at_1pct_fpr as f32).unwrap_or(f32::INFINITY);
                    models.push(ModelSignal {
                        model: kind,
                        score: v,
                        threshold: at,
                        fired: v >= at,
                        strength: t.map(|t| normalise_anomaly(v, t) as f32).unwrap_or(0.0),
                    });
                }
                let row = &x[r * d..(r + 1) * d];
                self.gbdt.contributions(row, class.index(), &mut contrib);
                let mut top = Vec::with_capacity(2 * TOP_FEATURES);
                top.extend(
                    top_k::<TOP_FEATURES>(&contrib)
                        .into_iter()
                        .filter(|&(_, c)| c > 0.0)
                        .map(|(j, c)| self.contribution(flows, r, j, c, ContributionSource::Gbdt)),
                );
                let err = &s.ae_err[r * d..(r + 1) * d];
                top.extend(
                    top_k::<TOP_FEATURES>(err)
                        .into_iter()
                        .map(|(j, c)| self.contribution(flows, r, j, c, ContributionSource::Autoencoder)),
                );
                Verdict {
                    risk,
                    alert,
                    class,
                    class_probability,
                    profile: self.profile(),
                    models,
                    top_features: top,
                    context,
                }
            })
            .collect()
    }

    fn contribution(
        &self,
        flows: &[Flow],
        r: usize,
        j: usize,
        c: f32,
        source: ContributionSource,
    ) -> FeatureContribution {
        let canonical = self.schema.indices[j];
        FeatureContribution {
            feature: std::borrow::Cow::Borrowed(self.schema.name(j)),
            source,
            contribution: c,
            value: flows[r].features.get(canonical).copied().flatten(),
        }
    }
}

/// The classifier: one-vs-rest margins and probabilities of `gbdt` into `s.margins`, `s.probs`; rows with
/// at least [`WEB_GATE`] web-attack mass get it re-split by the specialist `web` (`s.web_attack`); then
/// the rare-class stage `rare` may change the most probable class of an ambiguous row (its probability
/// is swapped with the previous winner's, so the distribution keeps its values).
pub fn classify(
    gbdt: &FlatForest,
    web: &FlatForest,
    rare: Option<&RareNeighbours>,
    d: usize,
    x: &[f32],
    n: usize,
    s: &mut BatchScores,
) {
    let k = Threat::COUNT;
    s.margins.clear();
    s.margins.resize(n * k, 0.0);
    gbdt.margins(x, n, &mut s.margins);
    s.probs.resize(n * k, 0.0);
    for r in 0..n {
        normalise_ovr(&s.margins[r * k..(r + 1) * k], &mut s.probs[r * k..(r + 1) * k]);
    }
    s.web_attack.clear();
    s.web_attack.resize(n, 0.0);
    let web_idx: Vec<usize> = WEB_CLASSES[1..].iter().map(|t| t.index()).collect();
    let gated: Vec<usize> =
        (0..n).filter(|&r| web_idx.iter().map(|&i| s.probs[r * k + i]).sum::<f32>() >= WEB_GATE).collect();
    if !gated.is_empty() {
        let mut sub = Vec::with_capacity(gated.len() * d);
        for &r in &gated {
            sub.extend_from_slice(&x[r * d..(r + 1) * d]);
        }
        let wk = WEB_CLASSES.len();
        let mut wm = vec![0f32; gated.len() * wk];
        web.margins(&sub, gated.len(), &mut wm);
        let mut q = [0f32; 4];
        for (g, &r) in gated.iter().enumerate() {
            normalise_ovr(&wm[g * wk..(g + 1) * wk], &mut q);
            s.web_attack[r] = 1.0 - q[0];
            let mass: f32 = web_idx.iter().map(|&i| s.probs[r * k + i]).sum();
            let qa = q[1] + q[2] + q[3];
            if qa > 0.0 {
                for (j, &i) in web_idx.iter().enumerate() {
                    s.probs[r * k + i] = mass * q[j + 1] / qa;
                }
            }
        }
    }
    if let Some(rare) = rare {
        for r in 0..n {
            let row = &x[r * d..(r + 1) * d];
            let predicted = s.argmax(r);
            let web_pick = || specialist_web_class(web, row);
            if let Some(t) = rare.decide(row, &s.margins[r * k..(r + 1) * k], predicted, web_pick) {
                s.probs.swap(r * k + predicted.index(), r * k + t.index());
            }
        }
    }
}

/// The specialist's most probable web attack for one row.
fn specialist_web_class(web: &FlatForest, row: &[f32]) -> Threat {
    let mut m = [0f32; 4];
    web.margins(row, 1, &mut m);
    let best = (2..WEB_CLASSES.len()).fold(1, |b, j| if m[j] > m[b] { j } else { b });
    WEB_CLASSES[best]
}

/// Indices and values of the `K` largest values, largest first (fewer when `v` is shorter). NaN is
/// never picked. Runs on every flow's contributions and reconstruction errors, so it keeps the `K`
/// best in a fixed array: one comparison per value against the current K-th.
pub fn top_k<const K: usize>(v: &[f32]) -> TopK<K> {
    let mut best = [(0usize, f32::NEG_INFINITY); K];
    let mut len = 0;
    if K == 0 {
        return TopK { best, len };
    }
    for (i, &x) in v.iter().enumerate() {
        // Full: only a value above the K-th gets in (NaN compares false); filling: anything but NaN.
        let above_kth = x.partial_cmp(&best[K - 1].1) == Some(std::cmp::Ordering::Greater);
        if (len == K && !above_kth) || x.is_nan() {
            continue;
        }
        // Insertion: shift the smaller ones down (ties keep the earlier index first).
        let mut pos = len.min(K - 1);
        while pos > 0 && x > best[pos - 1].1 {
            best[pos] = best[pos - 1];
            pos -= 1;
        }
        best[pos] = (i, x);
        len = (len + 1).min(K);
    }
    TopK { best, len }
}

/// The result of [`top_k`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopK<const K: usize> {
    best: [(usize, f32); K],
    len: usize,
}

impl<const K: usize> IntoIterator for TopK<K> {
    type Item = (usize, f32);
    type IntoIter = std::iter::Take<std::array::IntoIter<(usize, f32), K>>;
    fn into_iter(self) -> Self::IntoIter {
        self.best.into_iter().take(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn top<const K: usize>(v: &[f32]) -> Vec<(usize, f32)> {
        top_k::<K>(v).into_iter().collect()
    }

    #[test]
    fn top_k_picks_the_largest_in_order() {
        assert_eq!(top::<3>(&[0.1, 5.0, -1.0, 3.0, 4.0]), vec![(1, 5.0), (4, 4.0), (3, 3.0)]);
        assert_eq!(top::<5>(&[1.0]), vec![(0, 1.0)]);
        assert_eq!(top::<2>(&[f32::NAN, 2.0, 2.0, 1.0]), vec![(1, 2.0), (2, 2.0)]);
        assert_eq!(top::<0>(&[1.0]), vec![]);
    }

    proptest! {
        /// Same answer as sorting by value (descending, earlier index first on ties) and taking K.
        #[test]
        fn top_k_matches_a_sort(v in prop::collection::vec(-5i32..5, 0..40)) {
            let v: Vec<f32> = v.into_iter().map(|x| x as f32 * 0.5).collect();
            let mut want: Vec<(usize, f32)> = v.iter().copied().enumerate().collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(5);
            prop_assert_eq!(top::<5>(&v), want);
        }
    }
}
