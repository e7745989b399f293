//! One-Class SVM (Schölkopf et al.), trained with linfa-svm on a subsample of benign rows.
//!
//! linfa-svm solves the ν one-class problem with a dense n² kernel, so it is fitted on at most
//! `max_rows` rows. After fitting, the support vectors (training rows with α ≠ 0) and their α are
//! copied into flat arrays and the decision function `Σ αᵢ·exp(−‖x − svᵢ‖² / eps) − ρ` is computed
//! directly; the anomaly score is its negation (higher = more anomalous). Training checks that this
//! reproduces linfa's own `weighted_sum` on sample rows.

use linfa::prelude::*;
use linfa_svm::Svm;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::EngineError;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OcsvmParams {
    pub nu: f64,
    /// Gaussian kernel width as a multiple of the feature count (`eps = gamma_scale · d`).
    pub eps_per_feature: f64,
    pub max_rows: usize,
    pub seed: u64,
}

impl Default for OcsvmParams {
    fn default() -> Self {
        OcsvmParams { nu: 0.02, eps_per_feature: 1.0, max_rows: 1500, seed: 0 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OneClassSvm {
    pub n_features: usize,
    pub eps: f32,
    pub rho: f32,
    pub alpha: Vec<f32>,
    /// Support vectors, row-major.
    pub support: Vec<f32>,
}

impl OneClassSvm {
    pub fn fit(x: &[f32], n: usize, d: usize, p: &OcsvmParams) -> Result<OneClassSvm, EngineError> {
        let err = |reason: String| EngineError::Training { model: "one_class_svm", reason };
        let m = p.max_rows.min(n);
        if m < 10 {
            return Err(err(format!("only {m} benign rows")));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut rows: Vec<usize> = sample(&mut rng, n, m).into_iter().collect();
        rows.sort_unstable();
        let mut data = Array2::<f64>::zeros((m, d));
        for (i, &r) in rows.iter().enumerate() {
            for j in 0..d {
                data[[i, j]] = x[r * d + j] as f64;
            }
        }
        let eps = p.eps_per_feature * d as f64;
        let dataset = DatasetBase::from(data.clone());
        let model = Svm::<f64, Pr>::params()
            .nu_weight(p.nu)
            .gaussian_kernel(eps)
            .fit(&dataset)
            .map_err(|e| err(e.to_string()))?;
        let thresh = 100.0 * f64::EPSILON;
        if model.alpha.len() != m {
            return Err(err(format!("solver returned {} multipliers for {m} rows", model.alpha.len())));
        }
        let mut alpha = Vec::new();
        let mut support = Vec::new();
        for (i, &a) in model.alpha.iter().enumerate() {
            if a.abs() > thresh {
                alpha.push(a as f32);
                support.extend(data.row(i).iter().map(|&v| v as f32));
            }
        }
        let svm = OneClassSvm { n_features: d, eps: eps as f32, rho: model.rho as f32, alpha, support };
        // Our flat decision function must agree with linfa's.
        for i in (0..m).step_by((m / 16).max(1)) {
            let row: Vec<f32> = data.row(i).iter().map(|&v| v as f32).collect();
            let ours = svm.weighted_sum(&row) as f64;
            let theirs = model.weighted_sum(&ArrayView1::from(data.row(i).as_slice().unwrap_or(&[])));
            if (ours - theirs).abs() > 1e-3 * theirs.abs().max(1.0) {
                return Err(err(format!("flat decision function disagrees with linfa: {ours} vs {theirs}")));
            }
        }
        tracing::info!(rows = m, support_vectors = svm.alpha.len(), rho = svm.rho, "one-class SVM trained");
        Ok(svm)
    }

    pub fn n_support(&self) -> usize {
        self.alpha.len()
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.support.len() != self.alpha.len() * self.n_features {
            return Err("support vectors do not match the multipliers".into());
        }
        if self.eps.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return Err("kernel width must be positive".into());
        }
        Ok(())
    }

    #[inline]
    fn weighted_sum(&self, row: &[f32]) -> f32 {
        let d = self.n_features;
        let inv = 1.0 / self.eps;
        let mut sum = 0.0f32;
        for (a, sv) in self.alpha.iter().zip(self.support.chunks_exact(d)) {
            let dist = super::sq_dist(row, sv);
            sum += a * (-dist * inv).exp();
        }
        sum
    }

    /// Anomaly scores (`ρ − Σ αᵢ K(x, svᵢ)`) of `n` rows. Distances come from one matrix product
    /// (`‖x‖² + ‖s‖² − 2·x·s`), which is what makes the kernel expansion fast.
    pub fn score(&self, x: &[f32], n: usize, out: &mut [f32]) {
        let d = self.n_features;
        let m = self.alpha.len();
        assert!(x.len() >= n * d && out.len() >= n && self.support.len() == m * d, "one-class SVM: bad shapes");
        if n == 0 {
            return;
        }
        if m == 0 {
            out[..n].iter_mut().for_each(|o| *o = self.rho);
            return;
        }
        let xv = ArrayView2::from_shape((n, d), &x[..n * d]).expect("shape checked above");
        let sv = ArrayView2::from_shape((m, d), &self.support[..]).expect("shape checked above");
        let dots = xv.dot(&sv.t());
        let sv_norm: Vec<f32> = self.support.chunks_exact(d).map(|s| super::dot(s, s)).collect();
        let inv = 1.0 / self.eps;
        for r in 0..n {
            let row = &x[r * d..(r + 1) * d];
            let xx = super::dot(row, row);
            let dr = dots.row(r);
            let mut sum = 0.0f32;
            for j in 0..m {
                let dist = (xx + sv_norm[j] - 2.0 * dr[j]).max(0.0);
                sum += self.alpha[j] * (-dist * inv).exp();
            }
            out[r] = self.rho - sum;
        }
    }
}
