//! The pipeline's sample of the flows it scored: per feature profile, a uniform reservoir (Vitter's
//! algorithm R) of at most `sample_size` flows, so memory is bounded however long the server runs and
//! every flow seen had the same chance to be kept.
//!
//! A sampled flow keeps only its profile's feature values (f32, NaN = missing), its addresses and
//! whether it alerted: about 330 bytes for the full CICFlowMeter profile, 100 for `conn`.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::detection::{FeatureProfile, Verdict};
use crate::engine::features::Schema;
use crate::flow::Flow;

/// One kept flow.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// The profile's feature values in schema order (NaN = missing).
    pub values: Box<[f32]>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// It alerted, or its host pair was flagged by a behaviour detector in the same batch.
    pub alerted: bool,
}

impl Sampled {
    pub fn of(schema: &Schema, flow: &Flow, alerted: bool) -> Sampled {
        let values =
            schema.indices.iter().map(|&c| flow.features.get(c).copied().flatten().unwrap_or(f32::NAN)).collect();
        Sampled { values, src: flow.five_tuple.map(|t| t.src_ip), dst: flow.five_tuple.map(|t| t.dst_ip), alerted }
    }

    /// The flow again, with only this profile's features.
    pub fn to_flow(&self, schema: &Schema) -> Flow {
        let mut f = Flow::empty();
        for (&c, &v) in schema.indices.iter().zip(self.values.iter()) {
            if let Some(slot) = f.features.get_mut(c) {
                *slot = v.is_finite().then_some(v);
            }
        }
        f
    }
}

/// The profile's feature values of `flow` as kept with its ML alert (`reasons.flow`), so that an
/// analyst's "false positive" can become a benign row for the next baseline and retrain.
pub fn flow_record(profile: FeatureProfile, flow: &Flow) -> serde_json::Value {
    let schema = Schema::for_profile(profile);
    let features: Vec<Option<f32>> = schema.indices.iter().map(|&c| flow.features.get(c).copied().flatten()).collect();
    serde_json::json!({ "profile": profile, "features": features })
}

/// The flow kept by [`flow_record`] (None when `record` is not one, or its length is not the
/// profile's).
pub fn flow_of_record(record: &serde_json::Value) -> Option<(FeatureProfile, Flow)> {
    let profile: FeatureProfile = serde_json::from_value(record.get("profile")?.clone()).ok()?;
    let features: Vec<Option<f32>> = serde_json::from_value(record.get("features")?.clone()).ok()?;
    let schema = Schema::for_profile(profile);
    if features.len() != schema.len() {
        return None;
    }
    let mut flow = Flow::empty();
    for (&c, v) in schema.indices.iter().zip(features) {
        flow.features[c] = v.filter(|v| v.is_finite());
    }
    Some((profile, flow))
}

/// Whether `flow` belongs to a host pair (either direction) or a host in `flagged`.
pub fn is_flagged(flagged: &HashSet<(IpAddr, Option<IpAddr>)>, flow: &Flow) -> bool {
    !flagged.is_empty()
        && flow.five_tuple.is_some_and(|t| {
            let (a, b) = (t.src_ip, t.dst_ip);
            [(a, Some(b)), (b, Some(a)), (a, None), (b, None)].iter().any(|k| flagged.contains(k))
        })
}

#[derive(Debug)]
struct Reservoir {
    profile: FeatureProfile,
    schema: Schema,
    seen: u64,
    rows: Vec<Sampled>,
}

/// Every profile's reservoir.
#[derive(Debug)]
pub struct SiteSample {
    /// This sample's name among the instances' samples ([`super::shared`]): random per process.
    id: String,
    capacity: usize,
    reservoirs: Vec<Reservoir>,
    rng: u64,
}

impl SiteSample {
    pub fn new(capacity: usize) -> SiteSample {
        let reservoirs = FeatureProfile::ALL
            .into_iter()
            .map(|profile| Reservoir { profile, schema: Schema::for_profile(profile), seen: 0, rows: Vec::new() })
            .collect();
        SiteSample { id: format!("{:016x}", rand::random::<u64>()), capacity, reservoirs, rng: 0x9E37_79B9_7F4A_7C15 }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Flows kept at most per profile.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn next(&mut self) -> u64 {
        // xorshift64*: the sample needs uniform picks, not secrecy.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Offers a scored batch: each flow under the profile that scored it. `flagged` holds what the
    /// behaviour detectors raised findings on in this batch: host pairs, or a host alone (a scanner).
    pub fn offer(&mut self, flows: &[Flow], verdicts: &[Verdict], flagged: &HashSet<(IpAddr, Option<IpAddr>)>) {
        for (f, v) in flows.iter().zip(verdicts) {
            self.offer_one(v.profile, f, v.alert || is_flagged(flagged, f));
        }
    }

    pub fn offer_one(&mut self, profile: FeatureProfile, flow: &Flow, alerted: bool) {
        let cap = self.capacity;
        let Some(k) = self.reservoirs.iter().position(|r| r.profile == profile) else { return };
        self.reservoirs[k].seen += 1;
        let seen = self.reservoirs[k].seen;
        let slot = if self.reservoirs[k].rows.len() < cap {
            None
        } else {
            let j = self.next() % seen;
            if j >= cap as u64 {
                return;
            }
            Some(j as usize)
        };
        let r = &mut self.reservoirs[k];
        let s = Sampled::of(&r.schema, flow, alerted);
        match slot {
            None => r.rows.push(s),
            Some(j) => r.rows[j] = s,
        }
    }

    /// A copy of every profile's sample and how many flows it was drawn from.
    pub fn snapshot(&self) -> Vec<(FeatureProfile, u64, Vec<Sampled>)> {
        self.reservoirs.iter().map(|r| (r.profile, r.seen, r.rows.clone())).collect()
    }

    /// (profile, flows seen, flows kept), for the page.
    pub fn counts(&self) -> Vec<(FeatureProfile, u64, usize)> {
        self.reservoirs.iter().map(|r| (r.profile, r.seen, r.rows.len())).collect()
    }

    /// Bytes held by the kept flows.
    pub fn bytes(&self) -> usize {
        self.reservoirs
            .iter()
            .map(|r| r.rows.capacity() * std::mem::size_of::<Sampled>() + r.rows.len() * r.schema.len() * 4)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(v: f32) -> Flow {
        let mut f = Flow::empty();
        for &c in &Schema::for_profile(FeatureProfile::Conn).indices {
            f.features[c] = Some(v);
        }
        f
    }

    #[test]
    fn the_sample_stays_bounded_and_uniform_over_everything_offered() {
        let mut s = SiteSample::new(1_000);
        for i in 0..100_000 {
            s.offer_one(FeatureProfile::Conn, &flow(i as f32), false);
        }
        let snap = s.snapshot();
        let (_, seen, rows) = snap.iter().find(|(p, _, _)| *p == FeatureProfile::Conn).expect("conn");
        assert_eq!((*seen, rows.len()), (100_000, 1_000));
        // Uniform: about a tenth of the kept flows from each tenth of the stream (binomial sd ≈ 9.5).
        for decile in 0..10 {
            let lo = decile as f32 * 10_000.0;
            let n = rows.iter().filter(|r| (lo..lo + 10_000.0).contains(&r.values[0])).count();
            assert!((50..=150).contains(&n), "decile {decile}: {n} of 1,000");
        }
        assert!(s.bytes() < 1_000 * (std::mem::size_of::<Sampled>() + 16 * 4) + 4096);
    }

    #[test]
    fn an_alerts_flow_record_gives_the_flow_back() {
        let f = flow(2.5);
        let record = flow_record(FeatureProfile::Conn, &f);
        let (profile, back) = flow_of_record(&record).expect("a record");
        assert_eq!(profile, FeatureProfile::Conn);
        let schema = Schema::for_profile(FeatureProfile::Conn);
        assert!(schema.indices.iter().all(|&c| back.features[c] == Some(2.5)));
        assert_eq!(flow_of_record(&serde_json::json!({"profile": "conn", "features": [1.0]})), None);
        assert_eq!(flow_of_record(&serde_json::json!({"class": "ddos"})), None);
    }

    #[test]
    fn a_sampled_flow_keeps_its_profile_features_and_missing_values() {
        let schema = Schema::for_profile(FeatureProfile::Conn);
        let mut f = flow(3.0);
        f.features[schema.indices[1]] = None;
        let s = Sampled::of(&schema, &f, true);
        assert!(s.values[1].is_nan() && s.alerted);
        let back = s.to_flow(&schema);
        assert_eq!(back.features[schema.indices[0]], Some(3.0));
        assert_eq!(back.features[schema.indices[1]], None);
    }
}
