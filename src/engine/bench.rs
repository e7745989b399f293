//! `anomalyforge bench`: flows per second of each model and of the whole ensemble.
//!
//! The input rows are repeated until there are at least [`MIN_ROWS`]; everything runs once as a warm-up
//! before timing. Per-model figures time that model alone on pre-scaled batches; the ensemble figure
//! times the full path from `&[Flow]` to verdicts with reasons (scaling, all models, risk, top
//! features), in batches of [`BATCH`], on `threads` threads (rows split across threads).

use std::time::Instant;

use rayon::prelude::*;

use super::ensemble::{BatchScores, ProfileModel, WEB_CLASSES};
use super::{score_with, EngineError};
use crate::detection::{BenchReport, ModelKind};
use crate::flow::Flow;
use crate::threat::Threat;

pub const MIN_ROWS: usize = 200_000;
pub const BATCH: usize = 4096;

/// Repeats `flows` until there are at least `min` rows.
pub fn replicate(flows: &[Flow], min: usize) -> Vec<Flow> {
    if flows.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(min.max(flows.len()));
    while out.len() < min {
        out.extend_from_slice(flows);
    }
    out
}

fn timed<F: Fn()>(f: F) -> f64 {
    f(); // warm-up
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

pub fn run(m: &ProfileModel, flows: &[Flow], threads: usize) -> Result<BenchReport, EngineError> {
    let flows = replicate(flows, MIN_ROWS);
    let n = flows.len();
    let d = m.dim();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| EngineError::Training { model: "bench", reason: format!("thread pool: {e}") })?;
    // Pre-scaled batches for the per-model figures.
    let batches: Vec<(Vec<f32>, usize)> = flows
        .chunks(BATCH)
        .map(|c| {
            let mut x = Vec::new();
            m.scale(c, &mut x);
            (x, c.len())
        })
        .collect();
    let per_batch = |f: &(dyn Fn(&[f32], usize) + Sync)| {
        pool.install(|| batches.par_iter().for_each(|(x, k)| f(x, *k)));
    };
    let mut per_model = Vec::new();
    let k = Threat::COUNT;
    let secs = timed(|| {
        per_batch(&|x, r| {
            let mut out = vec![0f32; r * k];
            m.gbdt.margins(x, r, &mut out);
            std::hint::black_box(&out);
        })
    });
    per_model.push((ModelKind::Gbdt, n as f64 / secs));
    let secs = timed(|| {
        per_batch(&|x, r| {
            let mut out = vec![0f32; r * WEB_CLASSES.len()];
            m.web.margins(x, r, &mut out);
            std::hint::black_box(&out);
        })
    });
    per_model.push((ModelKind::WebSpecialist, n as f64 / secs));
    let secs = timed(|| {
        per_batch(&|x, r| {
            let mut out = vec![0f32; r];
            m.iforest.score(x, r, &mut out);
            std::hint::black_box(&out);
        })
    });
    per_model.push((ModelKind::IsolationForest, n as f64 / secs));
    let secs = timed(|| {
        per_batch(&|x, r| {
            let mut out = vec![0f32; r];
            m.ocsvm.score(x, r, &mut out);
            std::hint::black_box(&out);
        })
    });
    per_model.push((ModelKind::OneClassSvm, n as f64 / secs));
    let secs = timed(|| {
        per_batch(&|x, r| {
            let mut err = vec![0f32; r * d];
            let mut out = vec![0f32; r];
            m.ae.score(x, r, &mut err, &mut out);
            std::hint::black_box(&out);
        })
    });
    per_model.push((ModelKind::Autoencoder, n as f64 / secs));

    let mut stages = Vec::new();
    let secs = timed(|| {
        pool.install(|| {
            flows.par_chunks(BATCH).for_each(|c| {
                let mut x = Vec::new();
                let miss = m.scale(c, &mut x);
                std::hint::black_box((&x, &miss));
            })
        })
    });
    stages.push(("scaling".to_string(), n as f64 / secs));
    let secs = timed(|| {
        per_batch(&|x, r| {
            let s = m.score_matrix(x, r);
            std::hint::black_box(&s);
        })
    });
    stages.push(("all_models".to_string(), n as f64 / secs));
    let scored: Vec<BatchScores> = batches.iter().map(|(x, r)| m.score_matrix(x, *r)).collect();
    let secs = timed(|| {
        pool.install(|| {
            flows.par_chunks(BATCH).zip(batches.par_iter()).zip(scored.par_iter()).for_each(|((c, (x, _)), s)| {
                let miss = vec![0u32; c.len()];
                let v = m.verdicts(c, x, &miss, s, crate::engine::ensemble::Detail::Full);
                std::hint::black_box(&v);
            })
        })
    });
    stages.push(("reasons".to_string(), n as f64 / secs));

    // Whole ensemble from flows to verdicts.
    let secs = timed(|| {
        pool.install(|| {
            flows.par_chunks(BATCH).for_each(|c| {
                let v = score_with(m, c, crate::engine::ensemble::Detail::Full);
                std::hint::black_box(&v);
            })
        })
    });
    let ensemble = n as f64 / secs;
    // Sanity: the scores are real (not optimised away) and finite.
    let probe: BatchScores = m.score_matrix(&batches[0].0, batches[0].1);
    if probe.risk.iter().any(|r| !r.is_finite()) {
        return Err(EngineError::Training { model: "bench", reason: "non-finite risk".into() });
    }
    tracing::info!(rows = n, threads, ensemble, "bench done");
    Ok(BenchReport {
        profile: m.profile(),
        rows: n as u64,
        threads: threads as u32,
        per_model_flows_per_second: per_model,
        stage_flows_per_second: stages,
        ensemble_flows_per_second: ensemble,
    })
}
