//! Reproducible stratified splits of labelled rows: a held-out share of every class, and k folds.
//! Seeded per class, so a split is the same on every run with the same seed.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::threat::Threat;

/// Stratified split of `idx` (by `labels[i]`): returns (kept, held out), `fraction` of each class held
/// out (rounded; a class with ≥ 2 rows always keeps at least one row on each side).
pub fn stratified_split(idx: &[usize], labels: &[Threat], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut by_class: BTreeMap<Threat, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        by_class.entry(labels[i]).or_default().push(i);
    }
    let mut kept = Vec::new();
    let mut held = Vec::new();
    for (class, mut rows) in by_class {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (class.index() as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rows.shuffle(&mut rng);
        let n = rows.len();
        let mut h = (n as f64 * fraction).round() as usize;
        if n >= 2 {
            h = h.clamp(1, n - 1);
        } else {
            h = 0;
        }
        held.extend_from_slice(&rows[..h]);
        kept.extend_from_slice(&rows[h..]);
    }
    kept.sort_unstable();
    held.sort_unstable();
    (kept, held)
}

/// Stratified assignment of `rows` to `k` folds (seeded).
pub fn stratified_folds(rows: &[usize], labels: &[Threat], k: usize, seed: u64) -> Vec<usize> {
    let mut by_class: BTreeMap<Threat, Vec<usize>> = BTreeMap::new();
    for (pos, &r) in rows.iter().enumerate() {
        by_class.entry(labels[r]).or_default().push(pos);
    }
    let mut fold = vec![0usize; rows.len()];
    for (class, mut members) in by_class {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (class.index() as u64 + 7).wrapping_mul(0x2545_F491_4F6C_DD1D));
        members.shuffle(&mut rng);
        for (i, pos) in members.into_iter().enumerate() {
            fold[pos] = i % k;
        }
    }
    fold
}
