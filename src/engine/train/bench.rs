//! `anomalyforge bench`: flows per second of each model and of the whole ensemble.
//!
//! The input rows are repeated until there are at least [`MIN_ROWS`]; everything runs once as a warm-up
//! before timing. Per-model figures time that model alone on pre-scaled batches; the ensemble figure
//! times the full path from `&[Flow]` to verdicts with reasons (scaling, all models, risk, top
//! features), in batches of [`BATCH`], on `threads` threads (rows split across threads). The
//! pipeline's detection path (ensemble, ML gate, behaviour detectors with their state across batches)
//! is timed on one thread, and the behaviour detectors' memory is measured at 100,000 active host
//! pairs ([`behaviour_memory`]).

use std::time::Instant;

use rayon::prelude::*;

use crate::behaviour::{Behaviour, BehaviourConfig};
use crate::detection::{BehaviourMemory, BenchReport, ModelKind};
use crate::engine::ensemble::{BatchScores, ProfileModel, WEB_CLASSES};
use crate::engine::{score_with, EngineError};
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

    // The pipeline's detection path: ensemble, ML gate and behaviour detectors, one thread, state
    // across batches (a fresh state per timed run).
    let behaviour = |with_models: bool| {
        let mut b = Behaviour::new(BehaviourConfig::default());
        let internal = |ip: std::net::IpAddr| matches!(ip, std::net::IpAddr::V4(v) if v.is_private());
        let mut found = 0usize;
        for c in flows.chunks(BATCH) {
            if with_models {
                let mut v = score_with(m, c, crate::engine::ensemble::Detail::Brief);
                b.gate_ml(c, &mut v);
                std::hint::black_box(&v);
            }
            found += b.observe_batch(c, internal).len();
        }
        std::hint::black_box(found);
    };
    let secs = timed(|| behaviour(false));
    stages.push(("behaviour".to_string(), n as f64 / secs));
    // The drift monitor as the pipeline runs it (one flow in four binned), against these rows' own bins.
    let all: Vec<usize> = (0..n).collect();
    let reference = crate::drift::reference::build(&m.schema, &flows, &all);
    let secs = timed(|| {
        use crate::drift::monitor::{Monitor, Observed};
        let mut monitor = Monitor::default();
        for c in flows.chunks(BATCH) {
            let batch = Observed { source: "csv", token_id: None, flows: c, now_ms: 0 };
            monitor.observe_with("bench", || vec![(m.profile(), reference.clone())], |_| m.profile(), batch);
        }
        std::hint::black_box(monitor.report());
    });
    stages.push(("drift".to_string(), n as f64 / secs));
    let secs = timed(|| behaviour(true));
    let with_behaviour = n as f64 / secs;
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
        ensemble_with_behaviour_flows_per_second: Some(with_behaviour),
        behaviour_memory: Some(behaviour_memory(100_000, 20)),
    })
}

/// Resident memory of this process in bytes (Linux `/proc/self/statm`), or 0 where unknown.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// Feeds `pairs` distinct active host pairs (internal host → outside endpoint, and outside host →
/// internal host), `per_pair` connections each spread over 20 minutes, some refused, and measures the
/// detectors' state.
pub fn behaviour_memory(pairs: usize, per_pair: usize) -> BehaviourMemory {
    use crate::behaviour::{Direction, Observation, Outcome};
    let before = rss_bytes();
    let mut b = Behaviour::new(BehaviourConfig::default());
    let t0 = 1_700_000_000_000i64;
    let mut batch = Vec::with_capacity(BATCH);
    let mut connections = 0u64;
    for round in 0..per_pair {
        for p in 0..pairs {
            let [_, x, y, z] = (p as u32).to_be_bytes();
            let inbound = p % 2 == 1;
            let (inside, outside) = (std::net::Ipv4Addr::new(10, x, y, z), std::net::Ipv4Addr::new(45, x, y, z));
            let (src, dst) = if inbound { (outside, inside) } else { (inside, outside) };
            let refused = (p + round) % 7 == 0;
            batch.push(Observation {
                at: t0 + (round as i64) * 60_000 + (p as i64 % 60_000),
                src: src.into(),
                dst: dst.into(),
                dst_port: if inbound { 22 } else { 443 },
                protocol: 6,
                duration: 0.5,
                orig_bytes: if refused { 0 } else { 400 + (p % 100) as u64 },
                resp_bytes: if refused { 0 } else { 2000 },
                orig_pkts: 5,
                resp_pkts: if refused { 1 } else { 5 },
                outcome: if refused { Outcome::Refused } else { Outcome::Answered },
                empty: false,
                direction: if inbound { Direction::Inbound } else { Direction::Outbound },
            });
            if batch.len() == BATCH {
                connections += batch.len() as u64;
                std::hint::black_box(b.observe(&batch));
                batch.clear();
            }
        }
    }
    connections += batch.len() as u64;
    std::hint::black_box(b.observe(&batch));
    let s = b.stats();
    let after = rss_bytes();
    BehaviourMemory {
        active_pairs: pairs as u64,
        connections,
        tracked: s.tracked as u64,
        evicted: s.evicted,
        state_bytes: s.state_bytes as u64,
        rss_growth_bytes: after.saturating_sub(before),
    }
}
