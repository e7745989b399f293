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
        let mut h = ArrayView2::from_shape((n, d), &x[..n * d]).expect("shape checked above").to_owned();
        for (li, layer) in self.layers.iter().enumerate() {
            let w = ArrayView2::from_shape((layer.outputs, layer.inputs), &layer.w[..]).expect("validated at load");
            let mut next = h.dot(&w.t());
            for mut row in next.rows_mut() {
                for (v, b) in row.iter_mut().zip(&layer.b) {
                    let s = *v + b;
                    *v = if li < 3 { fast_tanh(s) } else { s };
                }
            }
            h = next;
        }
        for r in 0..n {
            let row = &x[r * d..(r + 1) * d];
            let rec = h.row(r);
            let e = &mut err[r * d..(r + 1) * d];
            let mut total = 0.0;
            for j in 0..d {
                let t = rec[j] - row[j];
                e[j] = t * t;
                total += e[j];
            }
            score[r] = total / d as f32;
        }
    }
}

fn dims_of_weight(vars: &HashMap<String, candle_core::Var>, bias: &str) -> Option<usize> {
    let w = vars.get(&bias.replace(".bias", ".weight"))?;
    w.dims().get(1).copied()
}

/// tanh to within ~1e-6 (the exact std `tanh` is the bottleneck otherwise).
#[inline]
fn fast_tanh(x: f32) -> f32 {
    if x.abs() > 9.0 {
        return x.signum();
    }
    let e = (2.0 * x).exp();
    (e - 1.0) / (e + 1.0)
}
