//! Autoencoder trained with candle-nn on benign rows; inference from plain f32 arrays.
//!
//! A symmetric MLP `d → h → b → h → d` (tanh, linear output) learns to reconstruct benign traffic; the
//! anomaly score is the mean squared reconstruction error and the per-feature squared errors explain
//! it. Weights are saved in safetensors (`l{0..3}.weight` as `[out, in]`, `l{0..3}.bias`), exactly as
//! candle-nn's `Linear` stores them; scoring reads them back into flat arrays.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{linear, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::EngineError;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AeParams {
    pub hidden: usize,
    pub bottleneck: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl Default for AeParams {
    fn default() -> Self {
        AeParams { hidden: 32, bottleneck: 8, epochs: 60, batch_size: 128, learning_rate: 3e-3, seed: 0 }
    }
}

/// One dense layer, `w` row-major `[out, in]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Autoencoder {
    pub layers: Vec<Dense>,
}

fn tensor_err(model: &'static str) -> impl Fn(candle_core::Error) -> EngineError {
    move |e| EngineError::Training { model, reason: e.to_string() }
}

impl Autoencoder {
    /// Trains on `n` benign rows. Returns the model and the candle tensors to save.
    pub fn fit(
        x: &[f32],
        n: usize,
        d: usize,
        p: &AeParams,
    ) -> Result<(Autoencoder, HashMap<String, Tensor>), EngineError> {
        let te = tensor_err("autoencoder");
        let dev = Device::Cpu;
        let hidden = p.hidden.min(d.max(4));
        let bottleneck = p.bottleneck.min(hidden).max(2);
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
        let dims = [d, hidden, bottleneck, hidden, d];
        let layers: Vec<Linear> = (0..4)
            .map(|i| linear(dims[i], dims[i + 1], vb.pp(format!("l{i}"))))
            .collect::<Result<_, _>>()
            .map_err(&te)?;
        let forward = |xs: &Tensor| -> candle_core::Result<Tensor> {
            let mut h = xs.clone();
            for (i, l) in layers.iter().enumerate() {
                h = l.forward(&h)?;
                if i < 3 {
                    h = h.tanh()?;
                }
            }
            Ok(h)
        };
        let mut opt = candle_nn::AdamW::new(
            varmap.all_vars(),
            ParamsAdamW { lr: p.learning_rate, weight_decay: 1e-5, ..Default::default() },
        )
        .map_err(&te)?;
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let mut order: Vec<usize> = (0..n).collect();
        let bs = p.batch_size.max(8);
        let mut batch = Vec::with_capacity(bs * d);
        let mut last = f32::NAN;
        // candle's CPU initialiser cannot be seeded: re-initialise every variable from our seeded RNG
        // (uniform ±1/√fan_in, like candle-nn's default) so training is reproducible.
        {
            use rand::Rng;
            let vars = varmap
                .data()
                .lock()
                .map_err(|_| EngineError::Training { model: "autoencoder", reason: "variable map poisoned".into() })?;
            let mut names: Vec<&String> = vars.keys().collect();
            names.sort();
            for name in names {
                let var = &vars[name];
                let dims = var.dims().to_vec();
                let fan_in = if name.ends_with(".weight") {
                    dims.get(1).copied().unwrap_or(1)
                } else {
                    dims_of_weight(&vars, name).unwrap_or(1)
                };
                let bound = 1.0 / (fan_in as f32).sqrt();
                let count: usize = dims.iter().product();
                let values: Vec<f32> = (0..count).map(|_| rng.gen_range(-bound..bound)).collect();
                let t = Tensor::from_vec(values, dims.as_slice(), &dev).map_err(&te)?;
                var.set(&t).map_err(&te)?;
            }
        }
        for epoch in 0..p.epochs {
            order.shuffle(&mut rng);
            let mut total = 0.0f32;
            let mut batches = 0;
            for chunk in order.chunks(bs) {
                batch.clear();
                for &r in chunk {
                    batch.extend_from_slice(&x[r * d..(r + 1) * d]);
                }
                let xs = Tensor::from_slice(&batch, (chunk.len(), d), &dev).map_err(&te)?;
                let loss =
                    (forward(&xs).map_err(&te)? - &xs).and_then(|e| e.sqr()).and_then(|e| e.mean_all()).map_err(&te)?;
                opt.backward_step(&loss).map_err(&te)?;
                total += loss.to_scalar::<f32>().map_err(&te)?;
                batches += 1;
            }
            last = total / batches.max(1) as f32;
            if epoch % 20 == 0 {
                tracing::debug!(epoch, loss = last, "autoencoder epoch");
            }
        }
        tracing::info!(rows = n, loss = last, "autoencoder trained");
        let tensors: HashMap<String, Tensor> = varmap
            .data()
            .lock()
            .map_err(|_| EngineError::Training { model: "autoencoder", reason: "variable map poisoned".into() })?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        let ae = Autoencoder::from_tensors(&tensors)
            .map_err(|reason| EngineError::Training { model: "autoencoder", reason })?;
        Ok((ae, tensors))
    }

    /// Builds the model from safetensors tensors (`l{i}.weight`, `l{i}.bias`).
    pub fn from_tensors(t: &HashMap<String, Tensor>) -> Result<Autoencoder, String> {
        let mut layers = Vec::new();
        for i in 0..4 {
            let w = t.get(&format!("l{i}.weight")).ok_or(format!("tensor l{i}.weight missing"))?;
            let b = t.get(&format!("l{i}.bias")).ok_or(format!("tensor l{i}.bias missing"))?;
            let (outputs, inputs) = w.dims2().map_err(|e| format!("l{i}.weight: {e}"))?;
            let w = w
                .to_dtype(DType::F32)
                .and_then(|w| w.flatten_all())
                .and_then(|w| w.to_vec1::<f32>())
                .map_err(|e| format!("l{i}.weight: {e}"))?;
            let b = b.to_dtype(DType::F32).and_then(|b| b.to_vec1::<f32>()).map_err(|e| format!("l{i}.bias: {e}"))?;
            if b.len() != outputs {
                return Err(format!("l{i}.bias has {} values for {outputs} outputs", b.len()));
            }
            layers.push(Dense { inputs, outputs, w, b });
        }
        for i in 1..4 {
            if layers[i].inputs != layers[i - 1].outputs {
                return Err(format!("layer l{i} does not fit layer l{}", i - 1));
            }
        }
        if layers[3].outputs != layers[0].inputs {
            return Err("output width differs from input width".into());
        }
        Ok(Autoencoder { layers })
    }

    pub fn load(path: &Path) -> Result<Autoencoder, String> {
        let t = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| e.to_string())?;
        Autoencoder::from_tensors(&t)
    }

    pub fn n_features(&self) -> usize {
        self.layers[0].inputs
    }

    /// Per-feature squared reconstruction errors of `n` rows into `err` (`n × d`), mean into `score`.
    /// Each layer is one matrix product over the batch.
    pub fn score(&self, x: &[f32], n: usize, err: &mut [f32], score: &mut [f32]) {
        let d = self.n_features();
        assert!(x.len() >= n * d && err.len() >= n * d && score.len() >= n, "autoencoder: bad shapes");
        if n == 0 {
            return;
        }
        let x = ArrayView2::from_shape((n, d), &x[..n * d]).expect("shape checked above");
        let mut h: Option<ndarray::Array2<f32>> = None;
        for (li, layer) in self.layers.iter().enumerate() {
            let w = ArrayView2::from_shape((layer.outputs, layer.inputs), &layer.w[..]).expect("validated at load");
            let mut next = match &h {
                None => x.dot(&w.t()),
                Some(h) => h.dot(&w.t()),
            };
            for mut row in next.rows_mut() {
                let row = row.as_slice_mut().expect("a fresh product is contiguous");
                if li < 3 {
                    row.iter_mut().zip(&layer.b).for_each(|(v, b)| *v = tanh(*v + b));
                } else {
                    row.iter_mut().zip(&layer.b).for_each(|(v, b)| *v += b);
                }
            }
            h = Some(next);
        }
        let h = h.expect("four layers");
        let x = &x.as_slice().expect("contiguous by construction")[..n * d];
        let rec = h.as_slice().expect("a fresh product is contiguous");
        for (((row, rec), e), score) in
            x.chunks_exact(d).zip(rec.chunks_exact(d)).zip(err.chunks_exact_mut(d)).zip(score.iter_mut())
        {
            let mut total = 0.0;
            for ((e, &rec), &v) in e.iter_mut().zip(rec).zip(row) {
                let t = rec - v;
                *e = t * t;
                total += *e;
            }
            *score = total / d as f32;
        }
    }
}

fn dims_of_weight(vars: &HashMap<String, candle_core::Var>, bias: &str) -> Option<usize> {
    let w = vars.get(&bias.replace(".bias", ".weight"))?;
    w.dims().get(1).copied()
}

/// tanh to within 1e-6 as a rational function (the odd 13/6 minimax form Eigen and XLA use): no
/// branch and no `exp`, so the activation loop vectorises; the exact std `tanh` (and an `exp`-based
/// formula) were the autoencoder's bottleneck. Beyond ±7.9 tanh is 1 in f32.
#[inline]
pub fn tanh(x: f32) -> f32 {
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347_1e-4;
    const B6: f32 = 1.198_258_4e-6;
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let p = x * (A1 + x2 * (A3 + x2 * (A5 + x2 * (A7 + x2 * (A9 + x2 * (A11 + x2 * A13))))));
    let q = B0 + x2 * (B2 + x2 * (B4 + x2 * B6));
    p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_tanh_is_within_1e6_everywhere() {
        let mut worst = 0f64;
        let mut x = -12.0f64;
        while x <= 12.0 {
            let got = tanh(x as f32) as f64;
            worst = worst.max((got - (x as f32 as f64).tanh()).abs());
            x += 1e-4;
        }
        assert!(worst < 1e-6, "max error {worst}");
        eprintln!("rational tanh: max error {worst:e}");
        assert_eq!(tanh(0.0), 0.0);
        assert!((tanh(100.0) - 1.0).abs() < 1e-6 && (tanh(-100.0) + 1.0).abs() < 1e-6);
        assert!(tanh(0.3) > tanh(0.2), "increasing");
        assert!(tanh(f32::NAN).is_nan());
    }
}
