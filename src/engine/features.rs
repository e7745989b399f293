//! Feature profiles, the versioned schema, and scaling.
//!
//! A profile is an ordered list of features from the vocabulary ([`crate::flow::FEATURES`]). Its schema
//! hash (sha256 of the schema version, the profile name and the names in order) is written into the
//! manifest and checked at load time. Identifiers (IPs, flow id, timestamp, source port) are not in the
//! vocabulary at all, so no profile can use them.
//!
//! Scaling: `t(x) = sign(x)·ln(1+|x|)`, then standardised with the mean and standard deviation of the
//! TRAINING rows only, and clipped to ±[`CLIP`]. Missing values become the scaled training median.
//! The transform is monotone, so tree splits keep their meaning.

use sha2::{Digest, Sha256};

use crate::detection::{FeatureProfile, FeatureSchema};
use crate::flow::{feature_index, Flow, FEATURES};

/// Version of the schema rules (bump when a profile's list or the scaling changes meaning).
pub const SCHEMA_VERSION: u32 = 1;

/// Scaled values are clipped to this magnitude.
pub const CLIP: f32 = 10.0;

/// Features of the `conn` profile: what Zeek conn.log, Suricata flow events and NetFlow give (or let
/// one compute exactly): destination port, protocol, duration, packets and bytes each way, rates, means.
pub const CONN_FEATURES: [&str; 15] = [
    "Dst Port",
    "Protocol",
    "Flow Duration",
    "Total Fwd Packet",
    "Total Bwd packets",
    "Total Length of Fwd Packet",
    "Total Length of Bwd Packet",
    "Flow Bytes/s",
    "Flow Packets/s",
    "Fwd Packets/s",
    "Bwd Packets/s",
    "Fwd Packet Length Mean",
    "Bwd Packet Length Mean",
    "Average Packet Size",
    "Down/Up Ratio",
];

/// A profile's feature list (canonical indices) and hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub profile: FeatureProfile,
    pub indices: Vec<usize>,
    pub hash: String,
}

impl Schema {
    pub fn for_profile(profile: FeatureProfile) -> Schema {
        let indices: Vec<usize> = match profile {
            FeatureProfile::Cicflowmeter => (0..FEATURES.len()).collect(),
            FeatureProfile::Conn => CONN_FEATURES
                .iter()
                .map(|n| feature_index(n).unwrap_or_else(|| unreachable!("conn feature {n} not in vocabulary")))
                .collect(),
        };
        let hash = schema_hash(profile, &indices);
        Schema { profile, indices, hash }
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.indices.iter().map(|&i| FEATURES[i].to_string()).collect()
    }

    pub fn name(&self, j: usize) -> &'static str {
        FEATURES[self.indices[j]]
    }

    pub fn to_manifest(&self) -> FeatureSchema {
        FeatureSchema {
            profile: self.profile,
            version: SCHEMA_VERSION,
            features: self.names(),
            hash: self.hash.clone(),
        }
    }

    /// How many of this profile's features the flow has.
    pub fn present(&self, flow: &Flow) -> usize {
        self.indices.iter().filter(|&&i| flow.features.get(i).copied().flatten().is_some()).count()
    }
}

fn schema_hash(profile: FeatureProfile, indices: &[usize]) -> String {
    let mut h = Sha256::new();
    h.update(format!("anomalyforge-schema-v{SCHEMA_VERSION}\n{}\n", profile.name()).as_bytes());
    for &i in indices {
        h.update(FEATURES[i].as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The monotone compression applied before standardisation: `sign(x)·ln(1+|x|)`.
///
/// Two thirds of CICFlowMeter values are zero or a small whole number (counts, flags, lengths, ports),
/// so those take `ln(1+k)` from a table filled with the very same `ln_1p` (bit-identical results);
/// the libm call was the largest cost of scaling.
#[inline]
pub fn compress(x: f32) -> f32 {
    compress_with(small_whole_ln_1p(), x)
}

/// [`compress`] with the table already at hand (hoisted out of loops).
#[inline(always)]
fn compress_with(table: &[f32; SMALL_WHOLE], x: f32) -> f32 {
    let a = x.abs();
    if a < SMALL_WHOLE as f32 {
        let k = a as u32;
        if k as f32 == a {
            return x.signum() * table[k as usize];
        }
    }
    x.signum() * a.ln_1p()
}

/// Whole numbers below this take [`compress`]'s table.
const SMALL_WHOLE: usize = 4096;

fn small_whole_ln_1p() -> &'static [f32; SMALL_WHOLE] {
    static TABLE: std::sync::OnceLock<Box<[f32; SMALL_WHOLE]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0f32; SMALL_WHOLE]);
        for (k, v) in t.iter_mut().enumerate() {
            *v = (k as f32).ln_1p();
        }
        t
    })
}

/// Inverse of [`compress`].
#[inline]
pub fn decompress(t: f32) -> f32 {
    t.signum() * t.abs().exp_m1()
}

/// Standardisation fitted on training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Scaled value used for a missing feature (the scaled training median).
    pub fill: Vec<f32>,
}

impl Scaler {
    /// Fits on raw rows (`rows[r][j]` = feature `j` of the profile, `None` if missing).
    pub fn fit(rows: &[Vec<Option<f32>>], d: usize) -> Scaler {
        let mut mean = vec![0f32; d];
        let mut std = vec![1f32; d];
        let mut fill = vec![0f32; d];
        let mut col: Vec<f64> = Vec::with_capacity(rows.len());
        for j in 0..d {
            col.clear();
            col.extend(rows.iter().filter_map(|r| r.get(j).copied().flatten()).map(|x| compress(x) as f64));
            if col.is_empty() {
                continue;
            }
            let n = col.len() as f64;
            let m = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
            let s = var.sqrt();
            mean[j] = m as f32;
            std[j] = if s > 1e-6 { s as f32 } else { 1.0 };
            col.sort_by(|a, b| a.total_cmp(b));
            let median = col[col.len() / 2] as f32;
            fill[j] = ((median - mean[j]) / std[j]).clamp(-CLIP, CLIP);
        }
        Scaler { mean, std, fill }
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    #[inline]
    pub fn scale(&self, j: usize, x: Option<f32>) -> f32 {
        self.scale_with(small_whole_ln_1p(), j, x)
    }

    #[inline(always)]
    fn scale_with(&self, table: &[f32; SMALL_WHOLE], j: usize, x: Option<f32>) -> f32 {
        match x {
            Some(x) if x.is_finite() => ((compress_with(table, x) - self.mean[j]) / self.std[j]).clamp(-CLIP, CLIP),
            _ => self.fill[j],
        }
    }

    /// Raw value of a scaled one (exact up to rounding when it was not clipped).
    pub fn unscale(&self, j: usize, s: f32) -> f32 {
        decompress(s * self.std[j] + self.mean[j])
    }
}

/// Extracts a profile's raw features from a flow.
pub fn raw_row(schema: &Schema, flow: &Flow) -> Vec<Option<f32>> {
    schema.indices.iter().map(|&i| flow.features.get(i).copied().flatten()).collect()
}

/// Scales flows into a row-major matrix (`out` is resized to `flows.len() * d`). Returns per row how
/// many features were missing.
pub fn scale_flows(schema: &Schema, scaler: &Scaler, flows: &[Flow], out: &mut Vec<f32>, missing: &mut Vec<u32>) {
    let d = schema.len();
    out.clear();
    out.resize(flows.len() * d, 0.0);
    missing.clear();
    let table = small_whole_ln_1p();
    for (f, row) in flows.iter().zip(out.chunks_exact_mut(d)) {
        let mut miss = 0u32;
        for (j, (o, &i)) in row.iter_mut().zip(&schema.indices).enumerate() {
            let v = f.features.get(i).copied().flatten();
            miss += v.is_none() as u32;
            *o = scaler.scale_with(table, j, v);
        }
        missing.push(miss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn profiles_have_distinct_stable_hashes() {
        let a = Schema::for_profile(FeatureProfile::Cicflowmeter);
        let b = Schema::for_profile(FeatureProfile::Conn);
        assert_ne!(a.hash, b.hash);
        assert_eq!(a.hash, Schema::for_profile(FeatureProfile::Cicflowmeter).hash);
        assert_eq!(b.len(), CONN_FEATURES.len());
        for n in ["Src IP", "Src Port", "Timestamp", "Flow ID"] {
            assert!(!a.names().iter().any(|f| f == n));
        }
    }

    #[test]
    fn compress_is_bit_identical_to_the_formula() {
        let formula = |x: f32| x.signum() * x.abs().ln_1p();
        let mut probes: Vec<f32> = (0..5000).map(|k| k as f32).collect();
        probes.extend([0.5, 4095.5, 4096.0, 1e9, f32::MAX, f32::MIN_POSITIVE, 1e-30, 3.25]);
        for x in probes.clone() {
            for v in [x, -x] {
                assert_eq!(compress(v).to_bits(), formula(v).to_bits(), "{v}");
            }
        }
        assert!(compress(f32::NAN).is_nan());
        assert_eq!(compress(f32::INFINITY), f32::INFINITY);
    }

    proptest! {
        #[test]
        fn compress_matches_the_formula_bit_for_bit(x in any::<f32>()) {
            let want = x.signum() * x.abs().ln_1p();
            prop_assert!(compress(x).to_bits() == want.to_bits() || (x.is_nan() && compress(x).is_nan()));
        }

        #[test]
        fn scaling_is_monotone_and_invertible(
            rows in prop::collection::vec(prop::collection::vec(prop::option::of(-1e7f32..1e9f32), 3), 2..40),
            a in -1e6f32..1e8f32, b in -1e6f32..1e8f32,
        ) {
            let s = Scaler::fit(&rows, 3);
            for j in 0..3 {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                prop_assert!(s.scale(j, Some(lo)) <= s.scale(j, Some(hi)));
                let v = s.scale(j, Some(a));
                prop_assert!(v.is_finite() && v.abs() <= CLIP);
                if v.abs() < CLIP {
                    let back = s.unscale(j, v);
                    prop_assert!((back - a).abs() <= 1e-3 * a.abs().max(1.0), "{a} -> {v} -> {back}");
                }
                prop_assert_eq!(s.scale(j, None), s.fill[j]);
                prop_assert_eq!(s.scale(j, Some(f32::NAN)), s.fill[j]);
            }
        }

        #[test]
        fn fitted_scaler_standardises_its_training_rows(
            rows in prop::collection::vec(prop::collection::vec(prop::option::of(-1e5f32..1e5f32), 2), 2..30),
        ) {
            let s1 = Scaler::fit(&rows, 2);
            prop_assert_eq!(&s1, &Scaler::fit(&rows, 2), "fitting is deterministic");
            prop_assert!(s1.std.iter().all(|v| *v > 0.0));
            // Standardised training columns have mean ~0.
            for j in 0..2 {
                let vals: Vec<f32> = rows.iter().filter_map(|r| r[j]).map(|x| s1.scale(j, Some(x))).collect();
                if vals.len() > 1 && vals.iter().all(|v| v.abs() < CLIP) {
                    let m = vals.iter().sum::<f32>() / vals.len() as f32;
                    prop_assert!(m.abs() < 1e-2, "mean {m}");
                }
            }
        }
    }
}
