//! Isolation Forest (Liu, Ting, Zhou 2008), trained on benign rows only.
//!
//! linfa has no Isolation Forest, so this is a direct implementation of the paper: `trees` trees, each
//! grown on `sample_size` rows drawn without replacement, split on a random feature at a uniform random
//! value, to height `ceil(log2(sample_size))`; a node holding one row (or at the height limit) is a leaf
//! worth `depth + c(size)`. The score is `2^(−E[h(x)] / c(sample_size))` in (0, 1]; higher is more
//! anomalous. Trees are stored in the same padded heap layout as the boosted trees.

use super::traverse::{descend, splits, Block, Split};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IForestParams {
    pub trees: usize,
    pub sample_size: usize,
    pub seed: u64,
}

impl Default for IForestParams {
    fn default() -> Self {
        IForestParams { trees: 100, sample_size: 256, seed: 0 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IsolationForest {
    pub depth: u32,
    pub n_features: usize,
    pub n_trees: usize,
    /// Normaliser `c(sample_size)`.
    pub c_norm: f32,
    pub feature: Vec<u32>,
    pub threshold: Vec<f32>,
    /// Leaf path lengths (`2^depth` per tree).
    pub leaf: Vec<f32>,
    /// `feature`/`threshold` as traversal records (derived by [`IsolationForest::new`]).
    splits: Vec<Split>,
}

/// Average path length of an unsuccessful BST search among `n` points.
pub fn c_factor(n: usize) -> f32 {
    if n <= 1 {
        return 0.0;
    }
    if n == 2 {
        return 1.0;
    }
    let n = n as f64;
    let h = (n - 1.0).ln() + 0.577_215_664_9;
    (2.0 * h - 2.0 * (n - 1.0) / n) as f32
}

impl IsolationForest {
    pub fn fit(x: &[f32], n: usize, d: usize, p: &IForestParams) -> IsolationForest {
        let psi = p.sample_size.min(n).max(2);
        let depth = (psi as f64).log2().ceil().max(1.0) as u32;
        let internal = (1usize << depth) - 1;
        let leaves = 1usize << depth;
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut feature = vec![0; p.trees * internal];
        let mut threshold = vec![f32::INFINITY; p.trees * internal];
        let mut leaf = vec![0.0; p.trees * leaves];
        for t in 0..p.trees {
            let rows: Vec<usize> = sample(&mut rng, n, psi.min(n)).into_iter().collect();
            let feat = &mut feature[t * internal..(t + 1) * internal];
            let thr = &mut threshold[t * internal..(t + 1) * internal];
            let leaf = &mut leaf[t * leaves..(t + 1) * leaves];
            grow(x, d, rows, 0, 0, depth, internal, feat, thr, leaf, &mut rng);
        }
        IsolationForest::new(depth, d, p.trees, c_factor(psi), feature, threshold, leaf)
            .unwrap_or_else(|e| unreachable!("a grown forest is valid: {e}"))
    }

    /// Builds the forest from its stored arrays, checking their lengths and indices.
    pub fn new(
        depth: u32,
        n_features: usize,
        n_trees: usize,
        c_norm: f32,
        feature: Vec<u32>,
        threshold: Vec<f32>,
        leaf: Vec<f32>,
    ) -> Result<IsolationForest, String> {
        if depth == 0 || depth > 16 {
            return Err(format!("tree depth {depth} is outside 1..=16"));
        }
        let internal = (1usize << depth) - 1;
        if feature.len() != n_trees * internal || threshold.len() != n_trees * internal {
            return Err("split arrays do not match the tree count".into());
        }
        if leaf.len() != n_trees * (internal + 1) {
            return Err("leaf array does not match the tree count".into());
        }
        if feature.iter().any(|&f| f as usize >= n_features) {
            return Err("a split uses an unknown feature".into());
        }
        let splits = splits(&feature, &threshold, n_features);
        Ok(IsolationForest { depth, n_features, n_trees, c_norm, feature, threshold, leaf, splits })
    }

    /// Anomaly scores of `n` rows (row-major, `n_features` wide), a transposed block at a time
    /// ([`super::traverse`]).
    pub fn score(&self, x: &[f32], n: usize, out: &mut [f32]) {
        let internal = (1usize << self.depth) - 1;
        let leaves = internal + 1;
        assert!(x.len() >= n * self.n_features && out.len() >= n, "score: buffers too small");
        out[..n].iter_mut().for_each(|o| *o = 0.0);
        let mut block = Block::new(self.n_features);
        let mut start = 0;
        while start < n {
            let rows = block.load(x, start, n);
            let out = &mut out[start..start + rows];
            for t in 0..self.n_trees {
                let nodes = &self.splits[t * internal..(t + 1) * internal];
                let leaf = &self.leaf[t * leaves..(t + 1) * leaves];
                for g in block.groups() {
                    let reached = descend(block.xt(), g, nodes, self.depth);
                    for (l, &i) in reached.iter().enumerate().take(rows - g) {
                        out[g + l] += leaf[i as usize - internal];
                    }
                }
            }
            start += rows;
        }
        let k = 1.0 / (self.n_trees as f32 * self.c_norm.max(1e-6));
        for o in out[..n].iter_mut() {
            *o = (-(*o) * k).exp2();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn grow(
    x: &[f32],
    d: usize,
    rows: Vec<usize>,
    heap: usize,
    level: u32,
    depth: u32,
    internal: usize,
    feat: &mut [u32],
    thr: &mut [f32],
    leaf: &mut [f32],
    rng: &mut ChaCha8Rng,
) {
    let make_leaf = |heap: usize, leaf: &mut [f32], value: f32| {
        // Every bottom-level descendant of `heap` holds the value.
        let mut lo = heap;
        let mut hi = heap;
        while lo < internal {
            lo = 2 * lo + 1;
            hi = 2 * hi + 2;
        }
        for l in lo..=hi {
            leaf[l - internal] = value;
        }
    };
    if level >= depth || rows.len() <= 1 {
        make_leaf(heap, leaf, level as f32 + c_factor(rows.len()));
        return;
    }
    // A random feature that varies within these rows.
    let mut chosen = None;
    for _ in 0..(2 * d) {
        let j = rng.gen_range(0..d);
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &r in &rows {
            let v = x[r * d + j];
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi > lo {
            chosen = Some((j, lo, hi));
            break;
        }
    }
    let Some((j, lo, hi)) = chosen else {
        make_leaf(heap, leaf, level as f32 + c_factor(rows.len()));
        return;
    };
    let mut split = rng.gen_range(lo..hi);
    if split <= lo {
        split = hi; // keep both sides non-empty: lo goes left, hi right
    }
    let (left, right): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&r| x[r * d + j] < split);
    feat[heap] = j as u32;
    thr[heap] = split;
    grow(x, d, left, 2 * heap + 1, level + 1, depth, internal, feat, thr, leaf, rng);
    grow(x, d, right, 2 * heap + 2, level + 1, depth, internal, feat, thr, leaf, rng);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_score_higher_than_inliers() {
        let d = 3;
        let mut x = Vec::new();
        for i in 0..500 {
            let v = (i as f32 * 0.618).fract() * 0.2;
            x.extend([v, 0.1 - v, v * 0.5]);
        }
        let f = IsolationForest::fit(&x, 500, d, &IForestParams { trees: 50, sample_size: 128, seed: 1 });
        let probe = [0.05, 0.05, 0.02, 5.0, -5.0, 5.0];
        let mut s = [0f32; 2];
        f.score(&probe, 2, &mut s);
        assert!(s[1] > s[0] + 0.1, "{s:?}");
    }
}
