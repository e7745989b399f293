//! Gradient-boosted trees: trained with forust-ml, scored from our own flat arrays.
//!
//! forust-ml (pure Rust, maintained, histogram-based like LightGBM/XGBoost-hist) trains binary
//! log-loss boosters; the multi-class model is one-vs-rest: one booster per class, probabilities
//! normalised over classes. Each trained tree is then copied into a [`FlatForest`]: complete binary
//! trees in heap layout (children of node `i` at `2i+1` / `2i+2`), padded to a common depth (a leaf
//! above the bottom becomes a node whose threshold is +∞, so traversal always goes left, and whose
//! descendants repeat the leaf's value). Scoring is then a branch-free loop of `depth` steps per tree:
//! `i = 2i + 1 + (x[feature[i]] >= threshold[i])`, eight rows at a time from a transposed block
//! ([`super::traverse`]); with AVX2 the eight rows are one vector and a tree is evaluated level by level
//! with compares and blends instead of a walk (`traverse::avx2`), 4× the scalar walk's throughput.
//!
//! Thresholds: forust compares `f64(x) < split` with an f64 split value; we store the smallest f32 `t`
//! with `t >= split`, so for every f32 input `x < t ⇔ x < split` and predictions are identical.

use forust_ml::{GradientBooster, Matrix};

#[cfg(target_arch = "x86_64")]
use super::traverse::avx2;
use super::traverse::{descend, splits, Block, Split, BLOCK, LANES};
use super::EngineError;

/// Hyper-parameters of one boosted model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GbdtParams {
    pub rounds: usize,
    pub learning_rate: f32,
    pub max_depth: usize,
    pub l2: f32,
    pub min_leaf_weight: f32,
    pub nbins: u16,
    pub early_stopping_rounds: usize,
    /// Exponent of the class-balancing sample weight `(n / (K·n_class))^power` (0 = unweighted).
    pub balance_power: f64,
    pub seed: u64,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            rounds: 40,
            learning_rate: 0.3,
            max_depth: 5,
            l2: 1.0,
            min_leaf_weight: 1.0,
            nbins: 128,
            early_stopping_rounds: 5,
            balance_power: 0.5,
            seed: 0,
        }
    }
}

/// Trees in flat heap-layout arrays.
///
/// Tree `t` is a complete binary tree of depth `tree_depth[t]` (its own depth: shallow trees cost fewer
/// steps); its `2^depth − 1` internal nodes start at `node_offset[t]` in `feature`/`threshold`, and its
/// `2^(depth+1) − 1` node values at `value_offset[t]` in `value`. Trees of one output are contiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatForest {
    pub n_outputs: usize,
    pub n_features: usize,
    /// Output (class) each tree adds to.
    pub tree_output: Vec<u32>,
    /// Depth (number of splits from root to leaf) of each tree.
    pub tree_depth: Vec<u32>,
    /// Base margin of each output.
    pub base: Vec<f32>,
    pub feature: Vec<u32>,
    pub threshold: Vec<f32>,
    /// Node values (internal nodes: forust's node weight, for path contributions; the last `2^depth`
    /// of each tree: leaf values).
    pub value: Vec<f32>,
    // Derived at construction (not stored).
    /// `feature`/`threshold` as traversal records (see [`super::traverse`]).
    splits: Vec<Split>,
    /// Each tree's bottom level (its leaf values), padded for the AVX2 kernel, at `leaf_offset[t]`.
    leaves: Vec<f32>,
    leaf_offset: Vec<usize>,
    /// Tree indices with each output's trees sorted by depth (for [`FlatForest::contributions`]: the
    /// walk's loop exits become predictable; the sum does not depend on the order beyond rounding).
    by_depth: Vec<u32>,
    node_offset: Vec<usize>,
    value_offset: Vec<usize>,
    /// Trees of output `k` are `output_range[k].0 .. output_range[k].1`.
    output_range: Vec<(usize, usize)>,
}

impl FlatForest {
    /// Builds the forest from its stored arrays, checking lengths and indices.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n_outputs: usize,
        n_features: usize,
        tree_output: Vec<u32>,
        tree_depth: Vec<u32>,
        base: Vec<f32>,
        feature: Vec<u32>,
        threshold: Vec<f32>,
        value: Vec<f32>,
    ) -> Result<FlatForest, String> {
        let t = tree_output.len();
        if tree_depth.len() != t {
            return Err("tree depths do not match the tree count".into());
        }
        if tree_depth.iter().any(|&d| d == 0 || d > 16) {
            return Err("a tree's depth is outside 1..=16".into());
        }
        let mut node_offset = Vec::with_capacity(t);
        let mut value_offset = Vec::with_capacity(t);
        let (mut no, mut vo) = (0usize, 0usize);
        for &d in &tree_depth {
            node_offset.push(no);
            value_offset.push(vo);
            no += (1usize << d) - 1;
            vo += (1usize << (d + 1)) - 1;
        }
        if feature.len() != no || threshold.len() != no {
            return Err("split arrays do not match the tree depths".into());
        }
        if value.len() != vo {
            return Err("value array does not match the tree depths".into());
        }
        if base.len() != n_outputs {
            return Err("base scores do not match the output count".into());
        }
        if tree_output.iter().any(|&o| o as usize >= n_outputs) {
            return Err("a tree points to an unknown output".into());
        }
        if tree_output.windows(2).any(|w| w[0] > w[1]) {
            return Err("trees are not grouped by output".into());
        }
        if feature.iter().any(|&f| f as usize >= n_features) {
            return Err("a split uses an unknown feature".into());
        }
        let output_range: Vec<(usize, usize)> = (0..n_outputs)
            .map(|k| {
                (
                    tree_output.partition_point(|&o| (o as usize) < k),
                    tree_output.partition_point(|&o| (o as usize) <= k),
                )
            })
            .collect();
        let splits = splits(&feature, &threshold, n_features);
        let mut leaves = Vec::new();
        let mut leaf_offset = Vec::with_capacity(t);
        for (&d, &vo) in tree_depth.iter().zip(&value_offset) {
            leaf_offset.push(leaves.len());
            let bottom = &value[vo + (1usize << d) - 1..vo + (1usize << (d + 1)) - 1];
            leaves.extend_from_slice(bottom);
            leaves.resize(leaves.len() + bottom.len().max(LANES) - bottom.len(), 0.0);
        }
        let mut by_depth: Vec<u32> = (0..t as u32).collect();
        by_depth.sort_by_key(|&i| (tree_output[i as usize], tree_depth[i as usize]));
        Ok(FlatForest {
            splits,
            leaves,
            leaf_offset,
            by_depth,
            n_outputs,
            n_features,
            tree_output,
            tree_depth,
            base,
            feature,
            threshold,
            value,
            node_offset,
            value_offset,
            output_range,
        })
    }

    pub fn n_trees(&self) -> usize {
        self.tree_output.len()
    }

    pub fn max_depth(&self) -> u32 {
        self.tree_depth.iter().copied().max().unwrap_or(0)
    }

    /// (features, thresholds, values, depth) of tree `t`.
    #[inline]
    fn tree(&self, t: usize) -> (&[u32], &[f32], &[f32], u32) {
        let d = self.tree_depth[t];
        let no = self.node_offset[t];
        let vo = self.value_offset[t];
        let internal = (1usize << d) - 1;
        (
            &self.feature[no..no + internal],
            &self.threshold[no..no + internal],
            &self.value[vo..vo + 2 * internal + 1],
            d,
        )
    }

    /// Split records and values of tree `t`, and its depth.
    #[inline]
    fn tree_splits(&self, t: usize) -> (&[Split], &[f32], u32) {
        let d = self.tree_depth[t];
        let no = self.node_offset[t];
        let vo = self.value_offset[t];
        let internal = (1usize << d) - 1;
        (&self.splits[no..no + internal], &self.value[vo..vo + 2 * internal + 1], d)
    }

    /// Margins (log-odds per output) of `n` rows of `x` (row-major, `n_features` wide) into `out`
    /// (`n × n_outputs`). Rows go through the trees a transposed block at a time ([`super::traverse`]);
    /// on a CPU with AVX2 and trees no deeper than [`avx2::MAX_DEPTH`] the vector kernel evaluates them,
    /// otherwise [`FlatForest::margins_scalar`]. Both give bit-identical results (same leaves, same
    /// order of additions).
    pub fn margins(&self, x: &[f32], n: usize, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.max_depth() <= avx2::MAX_DEPTH && avx2::available() {
            self.for_each_group(x, n, out, |xt, g, o, range| {
                // SAFETY: AVX2 is available; every tree is 1..=MAX_DEPTH deep (`new` rejects depth 0, and
                // the branch above checks the maximum); `new` derived the node and leaf offsets from the
                // checked array lengths, so they cover each tree's splits and padded leaves; split
                // features are below `n_features`, the width of the block `xt` (checked by `splits`);
                // `for_each_group` passes `g + LANES <= BLOCK`.
                unsafe {
                    avx2::sum_trees(
                        xt,
                        g,
                        range,
                        &self.tree_depth,
                        &self.node_offset,
                        &self.splits,
                        &self.leaf_offset,
                        &self.leaves,
                        self.base[o],
                    )
                }
            });
            return;
        }
        self.margins_scalar(x, n, out);
    }

    /// [`FlatForest::margins`] with the portable kernel ([`descend`]).
    pub fn margins_scalar(&self, x: &[f32], n: usize, out: &mut [f32]) {
        self.for_each_group(x, n, out, |xt, g, o, range| {
            let mut acc = [self.base[o]; LANES];
            for t in range {
                let (nodes, val, depth) = self.tree_splits(t);
                let leaf = descend(xt, g, nodes, depth);
                for (a, &i) in acc.iter_mut().zip(&leaf) {
                    *a += val[i as usize];
                }
            }
            acc
        });
    }

    /// Runs `sum(xt, g, output, trees of output)` for every output and every group of [`LANES`] rows
    /// (`xt` the transposed block holding the group at `g`), writing the returned margins into `out`.
    fn for_each_group(
        &self,
        x: &[f32],
        n: usize,
        out: &mut [f32],
        sum: impl Fn(&[f32], usize, usize, std::ops::Range<usize>) -> [f32; LANES],
    ) {
        let d = self.n_features;
        let k = self.n_outputs;
        assert!(x.len() >= n * d && out.len() >= n * k, "margins: buffers too small");
        let mut block = Block::new(d);
        let mut start = 0;
        while start < n {
            let rows = block.load(x, start, n);
            let out = &mut out[start * k..(start + rows) * k];
            for (o, &(lo, hi)) in self.output_range.iter().enumerate() {
                for g in block.groups() {
                    let m = sum(block.xt(), g, o, lo..hi);
                    for (l, &v) in m.iter().enumerate().take(rows - g) {
                        out[(g + l) * k + o] = v;
                    }
                }
            }
            start += rows;
        }
    }

    /// Saabas path contributions of one row towards `output`: for every split on the path, the change of
    /// node value is credited to the split feature. `contrib` (length `n_features`) is overwritten.
    ///
    /// Padding nodes (threshold +∞, always left) have children repeating their value, so they add 0
    /// without a test. A walk is a chain of dependent loads, so [`CONTRIB_WALKS`] trees (of similar
    /// depth: `by_depth` order) are walked together, and they add into two accumulators (when the row
    /// is at most [`CONTRIB_SPLIT_MAX`] wide) because many trees split on the same feature.
    pub fn contributions(&self, row: &[f32], output: usize, contrib: &mut [f32]) {
        let nf = self.n_features;
        let contrib = &mut contrib[..nf];
        contrib.iter_mut().for_each(|c| *c = 0.0);
        let Some(&(lo, hi)) = self.output_range.get(output) else { return };
        let row = &row[..nf];
        let mut second = [0f32; CONTRIB_SPLIT_MAX];
        let split = nf <= CONTRIB_SPLIT_MAX;
        for chunk in self.by_depth[lo..hi].chunks(CONTRIB_WALKS) {
            let mut walks = [(&[][..], &[][..], 0u32, 0usize); CONTRIB_WALKS];
            for (w, &t) in walks.iter_mut().zip(chunk) {
                let (nodes, val, depth) = self.tree_splits(t as usize);
                *w = (nodes, val, depth, 0);
            }
            let deepest = walks.iter().map(|w| w.2).max().unwrap_or(0);
            for level in 0..deepest {
                for (l, (nodes, val, depth, i)) in walks.iter_mut().enumerate() {
                    if level < *depth {
                        let s = nodes[*i];
                        let f = s.off as usize / BLOCK;
                        let next = 2 * *i + 1 + (row[f] >= s.thr) as usize;
                        let delta = val[next] - val[*i];
                        if split && l % 2 == 1 {
                            second[f] += delta;
                        } else {
                            contrib[f] += delta;
                        }
                        *i = next;
                    }
                }
            }
        }
        if split {
            contrib.iter_mut().zip(&second).for_each(|(c, s)| *c += s);
        }
    }

    /// Sum of the root values of output `k` (the part of the margin no feature explains) plus its base.
    pub fn bias(&self, k: usize) -> f32 {
        let (lo, hi) = self.output_range[k];
        self.base[k] + (lo..hi).map(|t| self.tree(t).2[0]).sum::<f32>()
    }
}

/// Widest row for which [`FlatForest::contributions`] keeps a second accumulator on the stack.
pub const CONTRIB_SPLIT_MAX: usize = 128;
/// Trees [`FlatForest::contributions`] walks together.
pub const CONTRIB_WALKS: usize = 4;

/// Class-balancing weights `(n / (K·n_class))^power`.
pub fn balance_weights(labels: &[usize], n_classes: usize, power: f64) -> Vec<f64> {
    let mut counts = vec![0usize; n_classes];
    for &l in labels {
        counts[l] += 1;
    }
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    let n = labels.len() as f64;
    labels.iter().map(|&l| (n / (present as f64 * counts[l] as f64)).powf(power)).collect()
}

/// Column-major f64 copy (forust's input layout).
pub fn to_col_major(x: &[f32], n: usize, d: usize) -> Vec<f64> {
    let mut out = vec![0f64; n * d];
    for r in 0..n {
        for j in 0..d {
            out[j * n + r] = x[r * d + j] as f64;
        }
    }
    out
}

/// Validation rows for early stopping: (row-major matrix, rows, targets per output, weights).
pub type Validation<'a> = (&'a [f32], usize, &'a [Vec<f64>], &'a [f64]);

/// Trains one-vs-rest boosters: for each output `k`, target `targets[k][r]` in {0,1}.
/// Returns the forust boosters (kept for tests) and the flat forest.
#[allow(clippy::too_many_arguments)]
pub fn train_ovr(
    x: &[f32],
    n: usize,
    d: usize,
    targets: &[Vec<f64>],
    weights: &[f64],
    valid: Option<Validation<'_>>,
    params: &GbdtParams,
    mut on_output: impl FnMut(usize),
) -> Result<(Vec<GradientBooster>, FlatForest), EngineError> {
    let cols = to_col_major(x, n, d);
    let matrix = Matrix::new(&cols, n, d);
    let valid_cols = valid.map(|(vx, vn, _, _)| to_col_major(vx, vn, d));
    let mut boosters = Vec::with_capacity(targets.len());
    for (k, y) in targets.iter().enumerate() {
        let positives = y.iter().filter(|&&v| v > 0.5).count();
        let mut b = GradientBooster::default()
            .set_iterations(params.rounds)
            .set_learning_rate(params.learning_rate)
            .set_max_depth(params.max_depth)
            .set_l2(params.l2)
            .set_min_leaf_weight(params.min_leaf_weight)
            .set_nbins(params.nbins)
            .set_seed(params.seed.wrapping_add(k as u64))
            .set_parallel(true);
        let mut eval = None;
        if let (Some((_, vn, vt, vw)), Some(vc)) = (valid, valid_cols.as_ref()) {
            let vpos = vt[k].iter().filter(|&&v| v > 0.5).count();
            // Early stopping needs enough validation positives to be more than noise.
            if params.early_stopping_rounds > 0 && vpos >= 30 && positives > 0 {
                b = b
                    .set_evaluation_metric(Some(forust_ml::metric::Metric::LogLoss))
                    .set_early_stopping_rounds(Some(params.early_stopping_rounds));
                eval = Some(vec![(Matrix::new(vc, vn, d), vt[k].as_slice(), vw)]);
            }
        }
        if positives == 0 {
            // No example of this class in the training rows (e.g. a held-out family): no trees, and a
            // base margin that says "never".
            boosters.push(b.set_initialize_base_score(false).set_base_score(-12.0));
            on_output(k);
            continue;
        }
        b.fit(&matrix, y, weights, eval)
            .map_err(|e| EngineError::Training { model: "gbdt", reason: format!("output {k}: {e}") })?;
        tracing::debug!(output = k, positives, trees = b.trees.len(), best = ?b.best_iteration, "booster trained");
        boosters.push(b);
        on_output(k);
    }
    let flat = flatten(&boosters, d)?;
    Ok((boosters, flat))
}

/// Trees forust uses for prediction (all, or up to the early-stopping iteration).
pub fn prediction_trees(b: &GradientBooster) -> &[forust_ml::tree::Tree] {
    let n = b.prediction_iteration.unwrap_or(b.trees.len()).min(b.trees.len());
    &b.trees[..n]
}

fn tree_depth(tree: &forust_ml::tree::Tree, node: usize) -> u32 {
    let nd = &tree.nodes[node];
    if nd.is_leaf {
        0
    } else {
        1 + tree_depth(tree, nd.left_child).max(tree_depth(tree, nd.right_child))
    }
}

/// The smallest f32 `t` with `t as f64 >= s`.
pub fn ceil_f32(s: f64) -> f32 {
    let t = s as f32;
    if (t as f64) < s {
        next_up(t)
    } else {
        t
    }
}

fn next_up(t: f32) -> f32 {
    if t.is_nan() || t == f32::INFINITY {
        return t;
    }
    if t == 0.0 {
        return f32::from_bits(1);
    }
    let bits = t.to_bits();
    if t > 0.0 {
        f32::from_bits(bits + 1)
    } else {
        f32::from_bits(bits - 1)
    }
}

/// Copies forust boosters (output k = booster k) into one flat forest.
pub fn flatten(boosters: &[GradientBooster], d: usize) -> Result<FlatForest, EngineError> {
    let mut tree_output = Vec::new();
    let mut tree_depths = Vec::new();
    let mut feature = Vec::new();
    let mut threshold = Vec::new();
    let mut value = Vec::new();
    for (k, b) in boosters.iter().enumerate() {
        for tree in prediction_trees(b) {
            if tree.nodes.is_empty() {
                continue;
            }
            let depth = tree_depth(tree, 0).max(1);
            if depth > 12 {
                return Err(EngineError::Training {
                    model: "gbdt",
                    reason: format!("tree depth {depth} too large to flatten"),
                });
            }
            let internal = (1usize << depth) - 1;
            let nodes = (1usize << (depth + 1)) - 1;
            let mut feat = vec![0u32; internal];
            let mut thr = vec![f32::INFINITY; internal];
            let mut val = vec![0f32; nodes];
            place(tree, 0, 0, &mut feat, &mut thr, &mut val, internal);
            tree_output.push(k as u32);
            tree_depths.push(depth);
            feature.extend(feat);
            threshold.extend(thr);
            value.extend(val);
        }
    }
    let base = boosters.iter().map(|b| b.base_score as f32).collect();
    FlatForest::new(boosters.len(), d, tree_output, tree_depths, base, feature, threshold, value)
        .map_err(|reason| EngineError::Training { model: "gbdt", reason })
}

fn place(
    tree: &forust_ml::tree::Tree,
    node: usize,
    heap: usize,
    feat: &mut [u32],
    thr: &mut [f32],
    val: &mut [f32],
    internal: usize,
) {
    let nd = &tree.nodes[node];
    val[heap] = nd.weight_value;
    if heap >= internal {
        return; // bottom level: a leaf
    }
    if nd.is_leaf {
        feat[heap] = 0;
        thr[heap] = f32::INFINITY;
        fill_leaf(nd.weight_value, 2 * heap + 1, feat, thr, val, internal);
        fill_leaf(nd.weight_value, 2 * heap + 2, feat, thr, val, internal);
    } else {
        feat[heap] = nd.split_feature as u32;
        thr[heap] = ceil_f32(nd.split_value);
        place(tree, nd.left_child, 2 * heap + 1, feat, thr, val, internal);
        place(tree, nd.right_child, 2 * heap + 2, feat, thr, val, internal);
    }
}

fn fill_leaf(v: f32, heap: usize, feat: &mut [u32], thr: &mut [f32], val: &mut [f32], internal: usize) {
    val[heap] = v;
    if heap < internal {
        feat[heap] = 0;
        thr[heap] = f32::INFINITY;
        fill_leaf(v, 2 * heap + 1, feat, thr, val, internal);
        fill_leaf(v, 2 * heap + 2, feat, thr, val, internal);
    }
}

/// `σ(margin)` per output, normalised to sum to one (one-vs-rest → a distribution).
pub fn normalise_ovr(margins: &[f32], probs: &mut [f32]) {
    let mut sum = 0.0;
    for (p, m) in probs.iter_mut().zip(margins) {
        *p = sigmoid(*m);
        sum += *p;
    }
    if sum > 0.0 {
        probs.iter_mut().for_each(|p| *p /= sum);
    }
}

#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small, deterministic training set with structure on a few features.
    fn toy(n: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f32) / (u32::MAX >> 1) as f32 * 2.0 - 1.0
        };
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f32> = (0..d).map(|_| next()).collect();
            let label = if row[0] + 0.5 * row[1] > 0.3 {
                1
            } else if row[2] < -0.4 {
                2
            } else {
                0
            };
            x.extend(row);
            y.push(label);
        }
        (x, y)
    }

    fn trained() -> &'static (Vec<GradientBooster>, FlatForest) {
        static MODEL: std::sync::OnceLock<(Vec<GradientBooster>, FlatForest)> = std::sync::OnceLock::new();
        MODEL.get_or_init(|| {
            let (n, d) = (600, 5);
            let (x, y) = toy(n, d, 7);
            let targets: Vec<Vec<f64>> = (0..3).map(|k| y.iter().map(|&l| (l == k) as u8 as f64).collect()).collect();
            let w = vec![1.0; n];
            let params = GbdtParams { rounds: 15, max_depth: 4, early_stopping_rounds: 0, ..GbdtParams::default() };
            train_ovr(&x, n, d, &targets, &w, None, &params, |_| {}).expect("toy training")
        })
    }

    #[test]
    fn ceil_f32_is_the_smallest_f32_not_below() {
        for s in [0.1f64, -0.1, 1.0 / 3.0, 1e-40, -1e-40, 12345.678901, 0.0] {
            let t = ceil_f32(s);
            assert!(t as f64 >= s);
            assert!((next_down(t) as f64) < s || t == 0.0, "{s} {t}");
        }
    }

    fn next_down(t: f32) -> f32 {
        -next_up(-t)
    }

    #[test]
    fn flat_forest_is_valid() {
        let (_, flat) = trained();
        assert_eq!(flat.n_outputs, 3);
        assert!(flat.n_trees() > 3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn flat_arrays_predict_exactly_like_forust(
            rows in prop::collection::vec(prop::collection::vec(-1.5f32..1.5f32, 5), 1..40)
        ) {
            let (boosters, flat) = trained();
            let n = rows.len();
            let x: Vec<f32> = rows.iter().flatten().copied().collect();
            let cols = to_col_major(&x, n, 5);
            let m = Matrix::new(&cols, n, 5);
            let mut out = vec![0f32; n * 3];
            flat.margins(&x, n, &mut out);
            let mut scalar = vec![0f32; n * 3];
            flat.margins_scalar(&x, n, &mut scalar);
            prop_assert_eq!(&out, &scalar, "vector and scalar kernels differ");
            for (k, b) in boosters.iter().enumerate() {
                let expected = b.predict(&m, false);
                for r in 0..n {
                    let got = out[r * 3 + k] as f64;
                    prop_assert!((got - expected[r]).abs() < 1e-4, "row {r} output {k}: {got} vs {}", expected[r]);
                }
            }
        }

        /// Random forests of every depth the kernels specialise (and deeper): the vector kernel, the
        /// scalar kernel and a plain row-by-row walk give identical margins.
        #[test]
        fn kernels_agree_with_a_plain_walk_on_random_forests(
            d in 1usize..20,
            depths in prop::collection::vec(1u32..8, 1..30),
            shallow in any::<bool>(),
            k in 1usize..4,
            n in 1usize..140,
            seed in any::<u64>(),
        ) {
            let mut s = seed | 1;
            let mut next = move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
            let mut unit = move || (next() % 20_001) as f32 / 10_000.0 - 1.0;
            // Shallow forests take the vector kernel (where the CPU has it), deeper ones the scalar.
            let depths: Vec<u32> = depths.into_iter().map(|t| if shallow { t.min(5) } else { t }).collect();
            let trees = depths.len();
            // Trees grouped by output, the way `new` wants them.
            let tree_output: Vec<u32> = (0..trees).map(|t| (t * k / trees) as u32).collect();
            let (mut feature, mut threshold, mut value) = (Vec::new(), Vec::new(), Vec::new());
            for &depth in &depths {
                for _ in 0..(1usize << depth) - 1 {
                    feature.push(((unit() + 1.0) * 0.5 * (d as f32 - 1.0)).round() as u32);
                    let t = unit();
                    threshold.push(if t > 0.9 { f32::INFINITY } else { t });
                }
                value.extend((0..(1usize << (depth + 1)) - 1).map(|_| unit()));
            }
            let base: Vec<f32> = (0..k).map(|_| unit()).collect();
            let forest = FlatForest::new(k, d, tree_output.clone(), depths.clone(), base.clone(), feature, threshold, value)
                .map_err(TestCaseError::fail)?;
            let x: Vec<f32> = (0..n * d).map(|_| unit()).collect();
            let mut fast = vec![0f32; n * k];
            forest.margins(&x, n, &mut fast);
            let mut scalar = vec![0f32; n * k];
            forest.margins_scalar(&x, n, &mut scalar);
            prop_assert_eq!(&fast, &scalar);
            for r in 0..n {
                let row = &x[r * d..(r + 1) * d];
                let mut want = base.clone();
                for t in 0..trees {
                    let (feat, thr, val, depth) = forest.tree(t);
                    let mut i = 0usize;
                    for _ in 0..depth {
                        i = 2 * i + 1 + (row[feat[i] as usize] >= thr[i]) as usize;
                    }
                    want[tree_output[t] as usize] += val[i];
                }
                prop_assert_eq!(&fast[r * k..(r + 1) * k], &want[..], "row {}", r);
            }
        }

        #[test]
        fn contributions_sum_to_the_margin(row in prop::collection::vec(-1.5f32..1.5f32, 5), k in 0usize..3) {
            let (_, flat) = trained();
            let mut out = vec![0f32; 3];
            flat.margins(&row, 1, &mut out);
            let mut c = vec![0f32; 5];
            flat.contributions(&row, k, &mut c);
            // margin = base + Σ root values + Σ contributions
            let total = flat.bias(k) + c.iter().sum::<f32>();
            prop_assert!((total - out[k]).abs() < 1e-3, "{total} vs {}", out[k]);
        }
    }
}
