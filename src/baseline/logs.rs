//! A site's sample from its logs (`anomalyforge learn-normal --data`): the captures are streamed
//! through the engine, the drift monitor and the behaviour detectors as the pipeline streams ingest
//! batches, and offered to a [`SiteSample`] as the pipeline offers them. Connections a label calls
//! malicious are left out before sampling (a site's own logs have no labels; the shared ones do).

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

use super::sample::{Sampled, SiteSample};
use crate::behaviour::{Behaviour, BehaviourConfig};
use crate::detection::FeatureProfile;
use crate::drift::monitor::Monitor;
use crate::engine::train::network_eval::Capture;
use crate::engine::Engine;
use crate::flow::Flow;

/// What sampling the logs gave.
pub struct LogSample {
    pub samples: Vec<(FeatureProfile, u64, Vec<Sampled>)>,
    /// Connections left out because their label says malicious.
    pub labelled_malicious: u64,
    pub connections: u64,
}

pub fn sample_captures(
    engine: &Engine,
    behaviour: &BehaviourConfig,
    internal: &[IpNet],
    captures: &[Capture],
    batch_lines: usize,
    capacity: usize,
) -> LogSample {
    let is_internal = |ip: IpAddr| internal.iter().any(|n| n.contains(&ip));
    let mut detectors = Behaviour::new(behaviour.clone());
    let mut drift = Monitor::default();
    let mut sample = SiteSample::new(capacity);
    let (mut labelled_malicious, mut connections) = (0u64, 0u64);
    for (k, c) in captures.iter().enumerate() {
        let sensor = Some(k as i64);
        for chunk in c.flows.chunks(batch_lines.max(1)) {
            let mut verdicts = engine.score_batch_brief(chunk);
            drift.observe(engine, "logs", sensor, chunk, 0);
            drift.mute_anomalies("logs", sensor, &mut verdicts);
            Engine::apply_context(&mut verdicts, chunk, is_internal);
            detectors.gate_ml(chunk, &mut verdicts);
            let flagged: HashSet<(IpAddr, Option<IpAddr>)> =
                detectors.observe_batch(chunk, is_internal).into_iter().map(|f| (f.src, f.dst)).collect();
            for (f, v) in chunk.iter().zip(&verdicts) {
                connections += 1;
                if is_malicious(c, f) {
                    labelled_malicious += 1;
                    continue;
                }
                sample.offer_one(v.profile, f, v.alert || super::sample::is_flagged(&flagged, f));
            }
        }
    }
    LogSample { samples: sample.snapshot(), labelled_malicious, connections }
}

fn is_malicious(c: &Capture, f: &Flow) -> bool {
    f.uid.as_ref().and_then(|u| c.labels.get(u)).is_some_and(|(m, _)| *m)
        || f.label.as_deref().is_some_and(|l| !l.eq_ignore_ascii_case("benign") && !l.is_empty() && l != "-")
}
