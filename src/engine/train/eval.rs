//! Evaluations that retrain: `by-day` and `leave-one-family-out` (models retrained per fold with
//! the manifest's hyper-parameters; the test fold never reaches training, scaling or thresholds),
//! and what the behaviour detectors add to them. The metrics themselves, and the whole-file and
//! `random` splits of a loaded model, are [`crate::engine::metrics`].

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::{train_profile, LabelledData, TrainConfig};
use crate::detection::{EvalReport, FeatureProfile, RecallAt};
use crate::engine::metrics::{outcomes, report, Outcomes};
use crate::engine::EngineError;
use crate::flow::Flow;
use crate::threat::{BehaviourThreat, Threat, ThreatFamily};

fn subset(data: &LabelledData, idx: &[usize]) -> (Vec<Flow>, Vec<Threat>) {
    (idx.iter().map(|&i| data.flows[i].clone()).collect(), idx.iter().map(|&i| data.labels[i]).collect())
}

/// By-day split: for every day that has attacks, train on the other days and test on it.
pub fn by_day(
    data: &LabelledData,
    profile: FeatureProfile,
    cfg: &TrainConfig,
    name: &str,
) -> Result<EvalReport, EngineError> {
    let mut days: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, f) in data.flows.iter().enumerate() {
        match f.day() {
            Some(d) => days.entry(d.to_string()).or_default().push(i),
            None => {
                return Err(EngineError::Csv {
                    path: name.into(),
                    reason: format!("row {i} has no timestamp: a by-day split needs one on every row"),
                })
            }
        }
    }
    let mut all = Outcomes::default();
    let mut notes = Vec::new();
    let mut thresholds = Vec::new();
    for (day, test) in &days {
        if !test.iter().any(|&i| data.labels[i].is_attack()) {
            notes.push(format!("{day}: no attacks, always in training"));
            continue;
        }
        let rest: Vec<usize> = (0..data.len()).filter(|i| data.flows[*i].day() != Some(day.as_str())).collect();
        let trained = train_profile(profile, data, &rest, cfg)?;
        let (flows, labels) = subset(data, test);
        let tag = format!("day:{day}");
        let o = outcomes(&trained.model, &flows, &labels, &|_| tag.clone());
        let classes: Vec<&str> = {
            let mut c: Vec<&str> =
                test.iter().map(|&i| data.labels[i]).filter(|t| t.is_attack()).map(|t| t.name()).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        notes.push(format!(
            "{day}: trained on {} rows of the other days, tested on {} rows (attacks: {})",
            rest.len(),
            test.len(),
            classes.join(", ")
        ));
        thresholds.push(trained.model.fusion.operating_threshold);
        all.extend(o);
    }
    let mean_thr = thresholds.iter().sum::<f64>() / thresholds.len().max(1) as f64;
    let mut r = report(&all, profile, "by-day", name, mean_thr);
    notes.push("attack classes of a held-out day were mostly never seen in training: the classifier cannot name them; this measures what the anomaly models and the risk score catch".into());
    notes.push("operating_threshold is the mean of the per-fold thresholds".into());
    r.notes = notes;
    Ok(r)
}

/// Leave-one-family-out: for each attack family, train on the standard training rows without that
/// family, test on the standard test split's benign rows plus every row of the family.
pub fn leave_one_family_out(
    data: &LabelledData,
    profile: FeatureProfile,
    cfg: &TrainConfig,
    name: &str,
) -> Result<EvalReport, EngineError> {
    let (train0, test0) = super::standard_split(&data.labels, cfg);
    let mut all = Outcomes::default();
    let mut notes = Vec::new();
    let mut thresholds = Vec::new();
    // The behaviour detectors need no training: run them once over the rows in time order, as a
    // sensor would have sent them, and credit a row when its host pair was flagged.
    let flagged = BehaviourFlags::over(&data.flows);
    let (mut caught, mut attacks, mut benign_hit, mut benign) = (0u64, 0u64, 0u64, 0u64);
    let mut with_behaviour = Vec::new();
    for family in ThreatFamily::ATTACKS {
        let fam_rows: Vec<usize> = (0..data.len()).filter(|&i| data.labels[i].family() == family).collect();
        if fam_rows.is_empty() {
            continue;
        }
        let keep =
            |v: &[usize]| -> Vec<usize> { v.iter().copied().filter(|&i| data.labels[i].family() != family).collect() };
        let train = keep(&train0);
        let trained = train_profile(profile, data, &train, cfg)?;
        let mut test: Vec<usize> = test0.iter().copied().filter(|&i| !data.labels[i].is_attack()).collect();
        test.extend(&fam_rows);
        let (flows, labels) = subset(data, &test);
        let tag = format!("held_out:{}", family.name());
        let o = outcomes(&trained.model, &flows, &labels, &|_| tag.clone());
        let (mut c, mut a, mut bh, mut b) = (0u64, 0u64, 0u64, 0u64);
        for (k, &i) in test.iter().enumerate() {
            if data.labels[i].is_attack() {
                let hit = o.alert[k] || flagged.names(&data.flows[i], family);
                (a, c) = (a + 1, c + u64::from(hit));
            } else {
                // A benign row is a false alert whatever the detector called its pair.
                let hit = o.alert[k] || flagged.covers(&data.flows[i]);
                (b, bh) = (b + 1, bh + u64::from(hit));
            }
        }
        with_behaviour.push(RecallAt {
            model: "ensemble+behaviour".into(),
            group: tag.clone(),
            attacks: a,
            recall: c as f64 / a.max(1) as f64,
            at: "operating".into(),
            benign_fpr: bh as f64 / b.max(1) as f64,
        });
        (caught, attacks, benign_hit, benign) = (caught + c, attacks + a, benign_hit + bh, benign + b);
        // Keep only the held-out family's attacks and the benign rows of the last fold for the pooled
        // benign FPR (benign rows repeat across folds; pooled rates average over folds).
        notes.push(format!(
            "{}: trained without it on {} rows, tested on {} rows",
            family.name(),
            train.len(),
            test.len()
        ));
        thresholds.push(trained.model.fusion.operating_threshold);
        all.extend(o);
    }
    let mean_thr = thresholds.iter().sum::<f64>() / thresholds.len().max(1) as f64;
    let mut r = report(&all, profile, "leave-one-family-out", name, mean_thr);
    r.recall.push(RecallAt {
        model: "ensemble+behaviour".into(),
        group: "all".into(),
        attacks,
        recall: caught as f64 / attacks.max(1) as f64,
        at: "operating".into(),
        benign_fpr: benign_hit as f64 / benign.max(1) as f64,
    });
    r.recall.extend(with_behaviour);
    notes.push("per-class metrics pool all folds (test benign rows are repeated once per fold); read `recall` entries `held_out:<family>` for what each model catches of a family it never saw".into());
    notes.push(format!(
        "`ensemble+behaviour`: a held-out attack row counts as caught when the fold's ensemble alerts on it or the behaviour detectors (run once over all {} rows in time order, default settings, 2,000-row batches) flagged its host pair (or its source as a scanner) with a threat type that names its family (a scan for port scans, a flood for DoS, password guessing for brute force and web attacks, a beacon, scan or flood for botnets); a benign row counts as a false positive when its pair was flagged with any type. In CIC-IDS2017 most attacks share one attacker and one victim address, so pair-level credit without the type check would credit any family on that pair. The behaviour detectors learn nothing, so no fold's test rows reach them as training",
        data.len()
    ));
    r.notes = notes;
    Ok(r)
}

/// Host pairs (and scanners, for scans of many hosts) the behaviour detectors flagged in a data set,
/// with the threat types they named.
pub struct BehaviourFlags {
    pairs: HashMap<(IpAddr, IpAddr), Vec<BehaviourThreat>>,
    sources: HashMap<IpAddr, Vec<BehaviourThreat>>,
}

impl BehaviourFlags {
    /// Runs the detectors (default settings and internal networks) over `flows` in time order.
    pub fn over(flows: &[Flow]) -> BehaviourFlags {
        let cfg = crate::config::Config::default();
        let internal = |ip: IpAddr| cfg.internal_networks.iter().any(|n| n.contains(&ip));
        let mut order: Vec<(i64, usize)> = flows
            .iter()
            .enumerate()
            .map(|(i, f)| (f.timestamp.as_deref().and_then(crate::ingest::time::iso_to_micros).unwrap_or(i64::MAX), i))
            .collect();
        order.sort_unstable();
        let sorted: Vec<Flow> = order.iter().map(|&(_, i)| flows[i].clone()).collect();
        let mut b = crate::behaviour::Behaviour::new(cfg.behaviour.clone());
        let mut flags = BehaviourFlags { pairs: HashMap::new(), sources: HashMap::new() };
        for chunk in sorted.chunks(2000) {
            for f in b.observe_batch(chunk, internal) {
                let threats = match f.dst {
                    Some(d) => flags.pairs.entry((f.src.min(d), f.src.max(d))).or_default(),
                    None => flags.sources.entry(f.src).or_default(),
                };
                if !threats.contains(&f.threat) {
                    threats.push(f.threat);
                }
            }
        }
        flags
    }

    /// Whether the flow's host pair (either direction), or its source as a scanner, was flagged with a
    /// threat type that names `family` (a scan for port scans, a flood for DoS, …): credit for catching a
    /// family goes only to a detector that says what it is.
    pub fn names(&self, f: &Flow, family: ThreatFamily) -> bool {
        let Some(t) = f.five_tuple else { return false };
        let fits = |threats: &Vec<BehaviourThreat>| threats.iter().any(|b| behaviour_names(*b, family));
        self.sources.get(&t.src_ip).is_some_and(fits)
            || self.pairs.get(&(t.src_ip.min(t.dst_ip), t.src_ip.max(t.dst_ip))).is_some_and(fits)
    }

    /// Whether the flow's host pair or its source was flagged at all (any threat type).
    pub fn covers(&self, f: &Flow) -> bool {
        f.five_tuple.is_some_and(|t| {
            self.sources.contains_key(&t.src_ip)
                || self.pairs.contains_key(&(t.src_ip.min(t.dst_ip), t.src_ip.max(t.dst_ip)))
        })
    }
}

/// Which behaviour threat types name an attack family.
pub fn behaviour_names(b: BehaviourThreat, family: ThreatFamily) -> bool {
    use BehaviourThreat as B;
    match family {
        ThreatFamily::Dos | ThreatFamily::Ddos => matches!(b, B::DosInbound | B::FloodOutbound),
        ThreatFamily::PortScan => matches!(b, B::ScanInbound | B::ScanLateral | B::ScanOutbound),
        ThreatFamily::BruteForce | ThreatFamily::WebAttack => b == B::BruteForce,
        ThreatFamily::Botnet => matches!(b, B::C2Beacon | B::ScanOutbound | B::FloodOutbound),
        ThreatFamily::Infiltration => matches!(b, B::C2Beacon | B::ScanLateral | B::ScanOutbound | B::Exfiltration),
        ThreatFamily::Heartbleed | ThreatFamily::Benign => false,
    }
}
