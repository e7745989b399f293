//! Building a profile's [`ProfileReference`] from training rows (at training time, and by
//! `anomalyforge drift-reference` for model versions trained before drift was measured).

use super::{FeatureBins, ProfileReference, BINS};
use crate::engine::features::Schema;
use crate::flow::Flow;

/// Decile bins of every feature of `schema` over `rows` of `flows`.
pub fn build(schema: &Schema, flows: &[Flow], rows: &[usize]) -> ProfileReference {
    let features = (0..schema.len())
        .map(|j| {
            let canonical = schema.indices[j];
            let mut values: Vec<f64> = rows
                .iter()
                .filter_map(|&r| flows[r].features.get(canonical).copied().flatten())
                .filter(|v| v.is_finite())
                .map(f64::from)
                .collect();
            values.sort_by(f64::total_cmp);
            let mut edges: Vec<f64> = Vec::with_capacity(BINS);
            if !values.is_empty() {
                for k in 1..BINS {
                    let q = values[(k * values.len() / BINS).min(values.len() - 1)];
                    // Ties merge bins; a value equal to an edge belongs above it, so the lowest value
                    // needs no edge of its own.
                    if q > values[0] && edges.last().is_none_or(|&last| q > last) {
                        edges.push(q);
                    }
                }
            }
            let mut bins = FeatureBins { feature: schema.name(j).to_string(), edges, expected: Vec::new() };
            let mut counts = vec![0u64; bins.bins()];
            for &r in rows {
                counts[bins.bin(flows[r].features.get(canonical).copied().flatten())] += 1;
            }
            let n = rows.len().max(1) as f64;
            bins.expected = counts.iter().map(|&c| c as f64 / n).collect();
            bins
        })
        .collect();
    ProfileReference { rows: rows.len() as u64, features }
}
/// Mean PSI of `flows` (scored with `schema`'s profile) against `reference`, as the monitor computes
/// it for a source.
pub fn mean_psi_of(reference: &ProfileReference, schema: &Schema, flows: &[Flow]) -> f64 {
    let per_feature: Vec<f64> = reference
        .features
        .iter()
        .enumerate()
        .map(|(j, bins)| {
            let canonical = schema.indices.get(j).copied().unwrap_or(usize::MAX);
            let mut counts = vec![0u64; bins.bins()];
            for f in flows {
                counts[bins.bin(f.features.get(canonical).copied().flatten())] += 1;
            }
            super::psi(&bins.expected, &counts)
        })
        .collect();
    per_feature.iter().sum::<f64>() / per_feature.len().max(1) as f64
}
