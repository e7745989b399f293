//! The pipeline's drift monitor: per source (ingest format and API token) and profile, bin counts of
//! a sample of recent flows, compared with the active model version's references.
//!
//! Memory and time are bounded: one flow in [`SAMPLE_EVERY`] is binned (a binary search per feature),
//! a source keeps two tumbling windows of at most [`WINDOW`] sampled flows (the PSI is computed over
//! both, so it always covers between one and two windows of recent traffic), and at most
//! [`MAX_SOURCES`] sources are tracked (the least recently seen is dropped).

use super::{psi, DriftLevel, DriftReport, ProfileReference, SourceDrift};
use crate::detection::{FeatureProfile, Verdict};
use crate::engine::Engine;
use crate::flow::Flow;
use std::collections::HashMap;

/// One flow in this many is binned.
pub const SAMPLE_EVERY: usize = 4;
/// Sampled flows per tumbling window.
pub const WINDOW: u64 = 5_000;
/// Sources tracked at once.
pub const MAX_SOURCES: usize = 256;
/// Features listed as having moved most.
const TOP: usize = 5;

/// Who sent the flows and how they are scored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    source: &'static str,
    token_id: Option<i64>,
    profile: FeatureProfile,
}

#[derive(Debug, Clone)]
struct Counts {
    flows: u64,
    /// Per feature, per bin.
    bins: Vec<Vec<u64>>,
}

impl Counts {
    fn new(reference: &ProfileReference) -> Counts {
        Counts { flows: 0, bins: reference.features.iter().map(|f| vec![0; f.bins()]).collect() }
    }
}

#[derive(Debug, Clone)]
struct Window {
    current: Counts,
    previous: Option<Counts>,
    last_seen: i64,
}

/// One batch as the monitor sees it.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub source: &'static str,
    pub token_id: Option<i64>,
    pub flows: &'a [Flow],
    /// When it arrived (unix ms).
    pub now_ms: i64,
}

/// Drift of every source against one model version.
#[derive(Debug, Default)]
pub struct Monitor {
    model_version: String,
    references: Vec<(FeatureProfile, ProfileReference)>,
    /// Each reference's feature positions in a flow (by the profile's schema).
    indices: Vec<Vec<usize>>,
    sources: HashMap<Key, Window>,
    /// Flows seen, for the sampling stride across batches.
    seen: usize,
}

impl Monitor {
    /// Bins a sample of `flows` (of one batch from `source`, sent with `token_id`) under the profile the
    /// engine scores each with. A new model version starts the windows afresh.
    pub fn observe(
        &mut self,
        engine: &Engine,
        source: &'static str,
        token_id: Option<i64>,
        flows: &[Flow],
        now_ms: i64,
    ) {
        let manifest = engine.manifest();
        let references =
            || manifest.profiles.iter().filter_map(|p| p.reference.clone().map(|r| (p.schema.profile, r))).collect();
        let batch = Observed { source, token_id, flows, now_ms };
        self.observe_with(&manifest.model_version, references, |f| engine.choose_profile(f), batch);
    }

    /// [`Monitor::observe`] with the model version's references (read only when the version
    /// changes) and its choice of profile given.
    pub fn observe_with(
        &mut self,
        model_version: &str,
        references: impl FnOnce() -> Vec<(FeatureProfile, ProfileReference)>,
        choose_profile: impl Fn(&Flow) -> FeatureProfile,
        batch: Observed<'_>,
    ) {
        let Observed { source, token_id, flows, now_ms } = batch;
        if model_version != self.model_version {
            self.model_version = model_version.to_string();
            self.references = references();
            self.indices =
                self.references.iter().map(|(p, _)| crate::engine::features::Schema::for_profile(*p).indices).collect();
            self.sources.clear();
        }
        if self.references.is_empty() {
            return;
        }
        let first = (SAMPLE_EVERY - self.seen % SAMPLE_EVERY) % SAMPLE_EVERY;
        self.seen = self.seen.wrapping_add(flows.len());
        for flow in flows.iter().skip(first).step_by(SAMPLE_EVERY) {
            let profile = choose_profile(flow);
            let Some(at) = self.references.iter().position(|(p, _)| *p == profile) else { continue };
            let (reference, indices) = (&self.references[at].1, &self.indices[at]);
            let key = Key { source, token_id, profile };
            if !self.sources.contains_key(&key) && self.sources.len() >= MAX_SOURCES {
                if let Some(oldest) = self.sources.iter().min_by_key(|(_, w)| w.last_seen).map(|(k, _)| k.clone()) {
                    self.sources.remove(&oldest);
                }
            }
            let window = self.sources.entry(key).or_insert_with(|| Window {
                current: Counts::new(reference),
                previous: None,
                last_seen: now_ms,
            });
            if window.current.flows >= WINDOW {
                let fresh = Counts::new(reference);
                window.previous = Some(std::mem::replace(&mut window.current, fresh));
            }
            for (j, bins) in reference.features.iter().enumerate() {
                let v = flow.features.get(indices[j]).copied().flatten();
                window.current.bins[j][bins.bin(v)] += 1;
            }
            window.current.flows += 1;
            window.last_seen = now_ms;
        }
    }

    /// The level of one source's recent traffic scored with `profile` (Learning when it has not been
    /// seen, or the model version has no reference for the profile).
    pub fn level(&self, source: &'static str, token_id: Option<i64>, profile: FeatureProfile) -> DriftLevel {
        let key = Key { source, token_id, profile };
        let (Some(w), Some((_, reference))) =
            (self.sources.get(&key), self.references.iter().find(|(p, _)| *p == profile))
        else {
            return DriftLevel::Learning;
        };
        let flows = w.current.flows + w.previous.as_ref().map_or(0, |p| p.flows);
        DriftLevel::of(mean_psi(reference, w).0, flows)
    }

    /// Silences the anomaly layer where the models' normal is not the traffic's: an alert raised by
    /// the anomaly layer alone (`Verdict::anomaly_only`) stays an alert only when its source's recent
    /// traffic under that profile is stable or moderately drifted. A sensor the models have not seen
    /// enough of yet, or whose traffic does not look like the training data, would otherwise raise an
    /// alert for every flow that is simply new to them. Returns how many alerts were silenced.
    pub fn mute_anomalies(&self, source: &'static str, token_id: Option<i64>, verdicts: &mut [Verdict]) -> u64 {
        let mut muted = 0;
        let mut levels: Vec<(FeatureProfile, DriftLevel)> = Vec::new();
        for v in verdicts.iter_mut().filter(|v| v.anomaly_only()) {
            let level = match levels.iter().find(|(p, _)| *p == v.profile) {
                Some(&(_, l)) => l,
                None => {
                    let l = self.level(source, token_id, v.profile);
                    levels.push((v.profile, l));
                    l
                }
            };
            if matches!(level, DriftLevel::Learning | DriftLevel::Significant) {
                v.alert = false;
                muted += 1;
            }
        }
        muted
    }

    /// Every source's drift now, the most drifted first.
    pub fn report(&self) -> DriftReport {
        let mut sources: Vec<SourceDrift> = self
            .sources
            .iter()
            .filter_map(|(key, w)| {
                let reference = self.references.iter().find(|(p, _)| *p == key.profile).map(|(_, r)| r)?;
                let flows = w.current.flows + w.previous.as_ref().map_or(0, |p| p.flows);
                let (mean, mut per_feature) = mean_psi(reference, w);
                per_feature.sort_by(|a, b| b.1.total_cmp(&a.1));
                per_feature.truncate(TOP);
                Some(SourceDrift {
                    source: key.source.to_string(),
                    token_id: key.token_id,
                    token_name: None,
                    profile: key.profile,
                    flows,
                    psi: mean,
                    level: DriftLevel::of(mean, flows),
                    top: per_feature,
                    last_seen: w.last_seen,
                })
            })
            .collect();
        sources.sort_by(|a, b| b.psi.total_cmp(&a.psi).then_with(|| a.source.cmp(&b.source)));
        DriftReport { model_version: self.model_version.clone(), sources }
    }
}

/// The mean PSI of a source's windows against `reference`, and each feature's.
fn mean_psi(reference: &ProfileReference, w: &Window) -> (f64, Vec<(String, f64)>) {
    let per_feature: Vec<(String, f64)> = reference
        .features
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let counts: Vec<u64> =
                (0..f.bins()).map(|b| w.current.bins[j][b] + w.previous.as_ref().map_or(0, |p| p.bins[j][b])).collect();
            (f.feature.clone(), psi(&f.expected, &counts))
        })
        .collect();
    let mean = per_feature.iter().map(|(_, p)| p).sum::<f64>() / per_feature.len().max(1) as f64;
    (mean, per_feature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::reference::build;
    use crate::drift::{DriftLevel, MIN_FLOWS};
    use crate::engine::features::Schema;

    /// Conn-profile flows whose durations and byte counts follow `scale`.
    fn flows(n: usize, scale: f32, seed: u64) -> Vec<Flow> {
        let mut x = seed;
        let schema = Schema::for_profile(FeatureProfile::Conn);
        (0..n)
            .map(|_| {
                let mut f = Flow::empty();
                for &c in &schema.indices {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    f.features[c] = Some(((x >> 33) % 1000) as f32 * scale);
                }
                f
            })
            .collect()
    }

    fn monitor_on(reference_flows: &[Flow]) -> (Monitor, Vec<(FeatureProfile, ProfileReference)>) {
        let rows: Vec<usize> = (0..reference_flows.len()).collect();
        let r = build(&Schema::for_profile(FeatureProfile::Conn), reference_flows, &rows);
        (Monitor::default(), vec![(FeatureProfile::Conn, r)])
    }

    fn feed(m: &mut Monitor, refs: &[(FeatureProfile, ProfileReference)], source: &'static str, flows: &[Flow]) {
        for chunk in flows.chunks(1000) {
            let batch = Observed { source, token_id: Some(7), flows: chunk, now_ms: 1 };
            m.observe_with("v1", || refs.to_vec(), |_| FeatureProfile::Conn, batch);
        }
    }

    #[test]
    fn the_same_population_is_stable_and_a_shifted_one_is_significant() {
        let (mut m, refs) = monitor_on(&flows(20_000, 1.0, 1));
        feed(&mut m, &refs, "zeek", &flows(8_000, 1.0, 2));
        feed(&mut m, &refs, "csv", &flows(8_000, 3.0, 3));
        feed(&mut m, &refs, "flows", &flows(400, 1.0, 4));
        let r = m.report();
        let of = |s: &str| r.sources.iter().find(|d| d.source == s).unwrap().clone();
        let (same, shifted, few) = (of("zeek"), of("csv"), of("flows"));
        assert_eq!((same.level, same.flows), (DriftLevel::Stable, 2_000), "{same:?}");
        assert!(same.psi < 0.05, "{same:?}");
        assert_eq!(shifted.level, DriftLevel::Significant, "{shifted:?}");
        assert_eq!(shifted.top.len(), 5);
        assert_eq!((few.level, few.flows < MIN_FLOWS), (DriftLevel::Learning, true), "{few:?}");
        assert_eq!(r.sources[0].source, "csv", "most drifted first");
        assert_eq!(r.significant().count(), 1);
    }

    #[test]
    fn the_anomaly_layer_speaks_only_for_sources_that_look_like_the_training_data() {
        let (mut m, refs) = monitor_on(&flows(20_000, 1.0, 1));
        feed(&mut m, &refs, "zeek", &flows(8_000, 1.0, 2));
        feed(&mut m, &refs, "csv", &flows(8_000, 3.0, 3));
        feed(&mut m, &refs, "flows", &flows(400, 1.0, 4));
        let verdict = |alert: bool, class: crate::threat::Threat| Verdict {
            risk: 80.0,
            alert,
            class,
            class_probability: 0.9,
            profile: FeatureProfile::Conn,
            models: Vec::new(),
            top_features: Vec::new(),
            context: Vec::new(),
        };
        let batch = || {
            vec![
                verdict(true, crate::threat::Threat::Benign),
                verdict(true, crate::threat::Threat::Ddos),
                verdict(false, crate::threat::Threat::Benign),
            ]
        };
        // Stable: the anomaly layer's alert stays.
        let mut v = batch();
        assert_eq!(m.mute_anomalies("zeek", Some(7), &mut v), 0);
        assert!(v[0].alert && v[1].alert);
        // Drifted, or too little seen: only the classifier's alert stays.
        for source in ["csv", "flows", "unseen"] {
            let mut v = batch();
            assert_eq!(m.mute_anomalies(source, Some(7), &mut v), 1, "{source}");
            assert!(!v[0].alert && v[1].alert && !v[2].alert, "{source}");
        }
        assert_eq!(m.level("zeek", Some(7), FeatureProfile::Conn), DriftLevel::Stable);
    }

    #[test]
    fn windows_and_sources_stay_bounded_and_a_new_version_starts_afresh() {
        let (mut m, refs) = monitor_on(&flows(5_000, 1.0, 1));
        feed(&mut m, &refs, "zeek", &flows(60_000, 1.0, 5));
        let d = &m.report().sources[0];
        assert!(d.flows > WINDOW && d.flows <= 2 * WINDOW, "two windows at most: {}", d.flows);
        for t in 0..(MAX_SOURCES as i64 + 10) {
            let batch = Observed { source: "flows", token_id: Some(t), flows: &flows(8, 1.0, 9), now_ms: t };
            m.observe_with("v1", || refs.to_vec(), |_| FeatureProfile::Conn, batch);
        }
        assert_eq!(m.report().sources.len(), MAX_SOURCES);
        m.observe_with(
            "v2",
            Vec::new,
            |_| FeatureProfile::Conn,
            Observed { source: "zeek", token_id: None, flows: &flows(8, 1.0, 9), now_ms: 0 },
        );
        assert!(m.report().sources.is_empty(), "a version without references measures nothing");
    }
}
