//! The bounded accumulators of one analysis: whatever the file's size, each holds a fixed number of
//! entries, so an analysis's memory does not grow with the file.

use std::collections::HashMap;

use super::{BehaviourFinding, ProfileComparison, Talker, Timeline};
use crate::behaviour::Finding;
use crate::detection::FeatureProfile;
use crate::drift::{psi, DriftLevel, ProfileReference};

/// Keys a top list keeps between prunings; it is cut back to this many when it holds twice as many.
pub const TOP_KEPT: usize = 4_096;
/// Timeline buckets at most: past it, the bucket width doubles.
pub const MAX_BUCKETS: usize = 600;
/// Distinct findings kept (pattern updates of a kept finding are merged into it).
pub const MAX_FINDINGS: usize = 200;

/// Flows, bytes and alerting flows per key, keeping the busiest.
#[derive(Debug, Default)]
pub struct Tops {
    counts: HashMap<String, (u64, u64, u64)>,
    /// A key was dropped at some point: a listed count may be short.
    pub pruned: bool,
}

impl Tops {
    pub fn add(&mut self, key: &str, bytes: u64, alert: bool) {
        if let Some(c) = self.counts.get_mut(key) {
            c.0 += 1;
            c.1 += bytes;
            c.2 += u64::from(alert);
        } else {
            self.counts.insert(key.to_string(), (1, bytes, u64::from(alert)));
            if self.counts.len() >= 2 * TOP_KEPT {
                self.prune();
            }
        }
    }

    fn prune(&mut self) {
        let mut all: Vec<(String, (u64, u64, u64))> = self.counts.drain().collect();
        all.sort_unstable_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        all.truncate(TOP_KEPT);
        self.counts = all.into_iter().collect();
        self.pruned = true;
    }

    /// The `n` busiest, most flows first (ties by key).
    pub fn top(&self, n: usize) -> Vec<Talker> {
        let mut all: Vec<Talker> =
            self.counts.iter().map(|(k, c)| Talker { key: k.clone(), flows: c.0, bytes: c.1, alerts: c.2 }).collect();
        all.sort_unstable_by(|a, b| b.flows.cmp(&a.flows).then_with(|| a.key.cmp(&b.key)));
        all.truncate(n);
        all
    }
}

/// Flows and alerting flows per bucket of traffic time; the width doubles (from one second) until
/// the file's span fits [`MAX_BUCKETS`].
#[derive(Debug)]
pub struct TimelineTally {
    bucket_ms: i64,
    buckets: HashMap<i64, (u64, u64)>,
    undated: u64,
}

impl Default for TimelineTally {
    fn default() -> Self {
        TimelineTally { bucket_ms: 1_000, buckets: HashMap::new(), undated: 0 }
    }
}

impl TimelineTally {
    pub fn add(&mut self, at_ms: Option<i64>, alert: bool) {
        let Some(at) = at_ms else {
            self.undated += 1;
            return;
        };
        let b = self.buckets.entry(at.div_euclid(self.bucket_ms) * self.bucket_ms).or_default();
        b.0 += 1;
        b.1 += u64::from(alert);
        while self.span_buckets() > MAX_BUCKETS as i64 {
            self.widen();
        }
    }

    fn span_buckets(&self) -> i64 {
        match (self.buckets.keys().min(), self.buckets.keys().max()) {
            (Some(lo), Some(hi)) => (hi - lo) / self.bucket_ms + 1,
            _ => 0,
        }
    }

    fn widen(&mut self) {
        // 1 s → 2 s → 5 s → 10 s … keeps labels readable.
        let steps = [
            1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
            7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
        ];
        let next = steps.into_iter().find(|s| *s > self.bucket_ms).unwrap_or(self.bucket_ms * 2);
        let old = std::mem::take(&mut self.buckets);
        for (at, (f, a)) in old {
            let b = self.buckets.entry(at.div_euclid(next) * next).or_default();
            b.0 += f;
            b.1 += a;
        }
        self.bucket_ms = next;
    }

    pub fn finish(&self) -> Timeline {
        let mut points: Vec<(i64, u64, u64)> = self.buckets.iter().map(|(at, (f, a))| (*at, *f, *a)).collect();
        points.sort_unstable();
        Timeline { bucket_ms: self.bucket_ms, points, undated: self.undated }
    }
}

/// A uniform sample (reservoir, algorithm R) with a fixed seed, so the same file gives the same
/// report.
#[derive(Debug)]
pub struct Reservoir<T> {
    cap: usize,
    seen: u64,
    state: u64,
    pub items: Vec<T>,
}

impl<T> Reservoir<T> {
    pub fn new(cap: usize, seed: u64) -> Reservoir<T> {
        Reservoir { cap, seen: 0, state: seed | 1, items: Vec::with_capacity(cap) }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Offers one item, built only when it is kept.
    pub fn offer(&mut self, make: impl FnOnce() -> T) {
        self.seen += 1;
        if self.items.len() < self.cap {
            self.items.push(make());
        } else {
            let j = self.next() % self.seen;
            if (j as usize) < self.cap {
                self.items[j as usize] = make();
            }
        }
    }
}

/// The `cap` items with the highest score (ties: the earliest), and nothing else.
#[derive(Debug)]
pub struct Highest<T> {
    cap: usize,
    items: Vec<(u32, u64, T)>,
}

impl<T> Highest<T> {
    pub fn new(cap: usize) -> Highest<T> {
        Highest { cap, items: Vec::with_capacity(cap + 1) }
    }

    /// Whether an item scoring `score` would be kept.
    pub fn admits(&self, score: u32) -> bool {
        self.items.len() < self.cap || self.items.last().is_some_and(|l| score > l.0)
    }

    pub fn offer(&mut self, score: u32, order: u64, make: impl FnOnce() -> T) {
        if !self.admits(score) {
            return;
        }
        let at = self.items.partition_point(|x| x.0 > score || (x.0 == score && x.1 < order));
        self.items.insert(at, (score, order, make()));
        self.items.truncate(self.cap);
    }

    pub fn into_vec(self) -> Vec<T> {
        self.items.into_iter().map(|x| x.2).collect()
    }
}

/// One profile's reference, its features' positions in a flow, flows seen, and bin counts.
type ProfileBins = (FeatureProfile, ProfileReference, Vec<usize>, u64, Vec<Vec<u64>>);

/// Every flow's feature bins against the running model's training references, per profile.
#[derive(Debug, Default)]
pub struct DriftTally {
    profiles: Vec<ProfileBins>,
}

impl DriftTally {
    pub fn new(references: Vec<(FeatureProfile, ProfileReference)>) -> DriftTally {
        let profiles = references
            .into_iter()
            .map(|(p, r)| {
                let indices = crate::engine::features::Schema::for_profile(p).indices;
                let bins = r.features.iter().map(|f| vec![0u64; f.bins()]).collect();
                (p, r, indices, 0, bins)
            })
            .collect();
        DriftTally { profiles }
    }

    pub fn add(&mut self, profile: FeatureProfile, features: &[Option<f32>]) {
        let Some((_, r, indices, flows, bins)) = self.profiles.iter_mut().find(|x| x.0 == profile) else { return };
        *flows += 1;
        for (j, f) in r.features.iter().enumerate() {
            let v = indices.get(j).and_then(|&i| features.get(i)).copied().flatten();
            bins[j][f.bin(v)] += 1;
        }
    }

    pub fn finish(&self) -> Vec<ProfileComparison> {
        self.profiles
            .iter()
            .filter(|p| p.3 > 0)
            .map(|(p, r, _, flows, bins)| {
                let mut per: Vec<(String, f64)> =
                    r.features.iter().zip(bins).map(|(f, c)| (f.feature.clone(), psi(&f.expected, c))).collect();
                let mean = per.iter().map(|x| x.1).sum::<f64>() / per.len().max(1) as f64;
                per.sort_by(|a, b| b.1.total_cmp(&a.1));
                per.truncate(5);
                ProfileComparison {
                    profile: p.name().to_string(),
                    flows: *flows,
                    psi: mean,
                    level: DriftLevel::of(mean, *flows),
                    top: per,
                }
            })
            .collect()
    }
}

/// Behaviour findings merged per pattern (threat, source, target).
#[derive(Debug, Default)]
pub struct FindingsTally {
    found: Vec<BehaviourFinding>,
    /// Findings beyond [`MAX_FINDINGS`] distinct patterns.
    pub dropped: u64,
}

impl FindingsTally {
    pub fn add(&mut self, f: &Finding) {
        let (src, dst) = (f.src.to_string(), f.dst.map(|d| d.to_string()));
        let threat = f.threat.name().to_string();
        if let Some(x) = self.found.iter_mut().find(|x| x.threat == threat && x.src == src && x.dst == dst) {
            x.connections += f.count;
            x.last_seen = x.last_seen.max(f.last_seen);
            x.first_seen = x.first_seen.min(f.first_seen);
            x.risk = x.risk.max(f.risk);
            x.summary = f.summary.clone();
            x.details = f.details.clone();
            return;
        }
        if self.found.len() >= MAX_FINDINGS {
            self.dropped += 1;
            return;
        }
        self.found.push(BehaviourFinding {
            threat,
            src,
            dst,
            first_seen: f.first_seen,
            last_seen: f.last_seen,
            connections: f.count,
            risk: f.risk,
            summary: f.summary.clone(),
            details: f.details.clone(),
        });
    }

    /// Riskiest first, then most connections.
    pub fn finish(mut self) -> Vec<BehaviourFinding> {
        self.found.sort_by(|a, b| b.risk.cmp(&a.risk).then(b.connections.cmp(&a.connections)));
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_timeline_widens_to_fit_and_keeps_every_flow() {
        let mut t = TimelineTally::default();
        for i in 0..10_000i64 {
            t.add(Some(1_700_000_000_000 + i * 37_000), i % 10 == 0);
        }
        t.add(None, false);
        let out = t.finish();
        assert!(out.points.len() <= MAX_BUCKETS, "{}", out.points.len());
        assert_eq!(out.points.iter().map(|p| p.1).sum::<u64>(), 10_000);
        assert_eq!(out.points.iter().map(|p| p.2).sum::<u64>(), 1_000);
        assert_eq!(out.undated, 1);
    }

    #[test]
    fn highest_keeps_the_top_scores_earliest_first() {
        let mut h = Highest::new(3);
        for (i, s) in [5u32, 9, 1, 9, 7, 3].into_iter().enumerate() {
            h.offer(s, i as u64, || (s, i));
        }
        assert_eq!(h.into_vec(), vec![(9, 1), (9, 3), (7, 4)]);
    }

    proptest! {
        #[test]
        fn a_reservoir_never_holds_more_than_its_cap(n in 0usize..5_000, cap in 1usize..64) {
            let mut r = Reservoir::new(cap, 7);
            for i in 0..n {
                r.offer(|| i);
            }
            prop_assert_eq!(r.items.len(), n.min(cap));
        }

        #[test]
        fn tops_are_exact_until_pruned(keys in proptest::collection::vec(0u16..500, 0..3_000)) {
            let mut t = Tops::default();
            let mut exact: HashMap<String, u64> = HashMap::new();
            for k in &keys {
                t.add(&k.to_string(), 10, false);
                *exact.entry(k.to_string()).or_default() += 1;
            }
            prop_assert!(!t.pruned);
            for row in t.top(20) {
                prop_assert_eq!(Some(&row.flows), exact.get(&row.key));
                prop_assert_eq!(row.bytes, row.flows * 10);
            }
        }
    }
}
