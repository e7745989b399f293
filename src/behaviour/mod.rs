//! Host-behaviour detectors: the second layer of detection (see `DESIGN.md`, "Detection ensemble").
//!
//! A per-flow model judges one connection. Command-and-control, scanning, password guessing and
//! floods are defined by the pattern of MANY connections between the same hosts over time, so these
//! detectors keep state across batches, per host pair and per host:
//! - [`beacon`]: an internal host calling one external endpoint at regular intervals with similar
//!   sizes (scored as RITA scores beacons: Bowley skew and median absolute deviation of the gaps and
//!   sizes), or persistently although every attempt is refused or unanswered;
//! - [`scan`]: one source, many hosts on one port (horizontal) or many ports on one host (vertical);
//!   and an outside source probing one of our hosts while many other sources do the same;
//! - [`brute_force`]: many short connections from one source to an authentication service;
//! - [`volume`]: floods against our hosts, floods sent by our hosts, and large uploads to a
//!   destination the host rarely uses.
//!
//! Time is traffic time (the flows' own timestamps), never the wall clock, so a replayed or
//! back-filled log is judged as it happened. Each detector raises a [`Finding`] once its pattern is
//! clear and then, while the pattern goes on, one update per batch with the connections it added; the
//! pipeline turns findings into alerts (threat type from [`BehaviourThreat`], reasons in words with
//! the numbers) that go through enrichment, suppression, deduplication and storage like any other.
//!
//! Memory is bounded: every table holds at most [`BehaviourConfig::max_tracked`] keys and evicts the
//! coldest (least recently seen) eighth when full; per-key history is capped too. `anomalyforge bench
//! behaviour` measures the state at 100,000 active host pairs.

pub mod beacon;
pub mod brute_force;
pub mod ml_gate;
pub mod scan;
mod stats;
mod table;
pub mod tuning;
pub mod volume;

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::flow::{feature_index, ConnState, Flow};
use crate::ingest::time;
pub use crate::threat::BehaviourThreat;

/// Settings of the behaviour detectors (`[behaviour]` in the config file, `AF_BEHAVIOUR__…`). Missing
/// keys take the defaults; unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Run the detectors in the pipeline (`AF_BEHAVIOUR__ENABLED`).
    pub enabled: bool,
    /// Most keys (host pairs or hosts) each detector tracks; beyond it the coldest are evicted.
    pub max_tracked: usize,
    pub beacon: beacon::BeaconConfig,
    pub scan: scan::ScanConfig,
    pub brute_force: brute_force::BruteForceConfig,
    pub volume: volume::VolumeConfig,
    /// When a per-flow verdict on coarse features may alert ([`ml_gate`]).
    pub ml: ml_gate::MlGateConfig,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            enabled: true,
            max_tracked: 100_000,
            beacon: beacon::BeaconConfig::default(),
            scan: scan::ScanConfig::default(),
            brute_force: brute_force::BruteForceConfig::default(),
            volume: volume::VolumeConfig::default(),
            ml: ml_gate::MlGateConfig::default(),
        }
    }
}

impl BehaviourConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_tracked < 64 {
            return Err("max_tracked must be at least 64".into());
        }
        self.beacon.validate().map_err(|e| format!("beacon.{e}"))?;
        self.scan.validate().map_err(|e| format!("scan.{e}"))?;
        self.brute_force.validate().map_err(|e| format!("brute_force.{e}"))?;
        self.volume.validate().map_err(|e| format!("volume.{e}"))?;
        self.ml.validate().map_err(|e| format!("ml.{e}"))?;
        Ok(())
    }
}

/// How a connection attempt went, as far as the sensor tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing came back (Zeek `S0`, `SH`, `RSTOS0`, or no responder packets).
    Unanswered,
    /// Refused (Zeek `REJ`).
    Refused,
    /// The responder took part.
    Answered,
}

impl Outcome {
    pub fn failed(self) -> bool {
        self != Outcome::Answered
    }
}

/// Where a connection goes, relative to our networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Internal → external.
    Outbound,
    /// External → internal.
    Inbound,
    /// Internal → internal.
    Lateral,
    /// Neither side is ours.
    Transit,
}

/// What the detectors read of one flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Unix ms, traffic time.
    pub at: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub dst_port: u16,
    pub protocol: u8,
    /// Seconds.
    pub duration: f32,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    pub outcome: Outcome,
    /// A TCP connection that was set up but carried no payload either way (a connect scan's probe, or
    /// a browser's unused pre-connection); never set for midstream records.
    pub empty: bool,
    pub direction: Direction,
}

/// Index of the RST flag count, which tells a refused connection in flows without a state.
fn rst_index() -> Option<usize> {
    static IDX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *IDX.get_or_init(|| feature_index("RST Flag Count"))
}

/// Whether an address can be one end of a conversation (not multicast, broadcast, unspecified or
/// loopback): traffic to the others is discovery and is never a beacon, a scan target or a victim.
pub fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            !(v.is_multicast() || v.is_broadcast() || v.is_unspecified() || v.is_loopback() || v.octets()[3] == 255)
        }
        IpAddr::V6(v) => !(v.is_multicast() || v.is_unspecified() || v.is_loopback()),
    }
}

impl Observation {
    /// The observation of a flow, or `None` when it lacks addresses or a time (nothing to relate it
    /// to). `internal` says whether an address is one of ours (the configured networks); the sensor's
    /// own local flags (Zeek `local_orig`/`local_resp`) count too.
    pub fn of(flow: &Flow, internal: &impl Fn(IpAddr) -> bool) -> Option<Observation> {
        let t = flow.five_tuple?;
        let at = time::flow_ms(flow)?;
        let v = flow.volumes();
        let (orig_pkts, resp_pkts) = (v.fwd_packets, v.bwd_packets);
        let (orig_bytes, resp_bytes) = (v.fwd_bytes, v.bwd_bytes);
        let rst = rst_index().and_then(|k| flow.features.get(k).copied().flatten()).unwrap_or(0.0);
        let meta = flow.conn.unwrap_or_default();
        let outcome = match meta.state {
            Some(ConnState::REJ) => Outcome::Refused,
            Some(s) if s.failed() => Outcome::Unanswered,
            // `OTH` (midstream, no SYN seen) is never a failed attempt: Zeek often cannot tell which side
            // began it, and reversed halves of long sessions would read as probes.
            Some(_) => Outcome::Answered,
            None if resp_pkts == 0 => Outcome::Unanswered,
            // A reset answer with no payload either way: a closed port.
            None if t.protocol == 6 && orig_bytes == 0 && resp_bytes == 0 && resp_pkts <= 2 && rst > 0.0 => {
                Outcome::Refused
            }
            None => Outcome::Answered,
        };
        let src_in = meta.local_orig == Some(true) || internal(t.src_ip);
        let dst_in = meta.local_resp == Some(true) || internal(t.dst_ip);
        let direction = match (src_in, dst_in) {
            (true, false) => Direction::Outbound,
            (false, true) => Direction::Inbound,
            (true, true) => Direction::Lateral,
            (false, false) => Direction::Transit,
        };
        let midstream = matches!(meta.state, Some(ConnState::OTH));
        let empty = t.protocol == 6 && outcome == Outcome::Answered && orig_bytes == 0 && resp_bytes == 0 && !midstream;
        Some(Observation {
            empty,
            at,
            src: t.src_ip,
            dst: t.dst_ip,
            dst_port: t.dst_port,
            protocol: t.protocol,
            duration: v.duration_us / 1e6,
            orig_bytes,
            resp_bytes,
            orig_pkts,
            resp_pkts,
            outcome,
            direction,
        })
    }
}

/// One detector's conclusion: a pattern between a source and a target (or many targets).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub threat: BehaviourThreat,
    pub src: IpAddr,
    /// `None` when the pattern spans many targets (a horizontal scan): the reasons name them.
    pub dst: Option<IpAddr>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    /// Traffic time (unix ms) of the pattern's first and latest connection.
    pub first_seen: i64,
    pub last_seen: i64,
    /// Traffic time at which the pattern became clear (the first finding), for detection latency.
    pub detected_at: i64,
    /// Connections this finding covers (for an update: the ones added since the previous one).
    pub count: u64,
    /// 0–100, before asset criticality and intel.
    pub risk: u8,
    /// Plain words with the numbers: "142 connections to 66.63.168.35:5888/tcp …".
    pub summary: String,
    /// Further lines for the alert's detail view.
    pub details: Vec<String>,
    /// The figures behind the summary.
    pub figures: Value,
}

impl Finding {
    /// The reasons JSON stored with the alert.
    pub fn reasons(&self) -> Value {
        json!({
            "behaviour": self.threat.name(),
            "summary": self.summary,
            "details": self.details,
            "figures": self.figures,
            "detected_at": self.detected_at,
        })
    }
}

/// Counters for `/metrics` and the bench.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BehaviourStats {
    pub observed: u64,
    pub tracked: usize,
    pub evicted: u64,
    /// Estimated bytes of state.
    pub state_bytes: usize,
}

/// Every detector's state. Not thread-safe by itself: the pipeline holds it behind a mutex and
/// feeds it one batch at a time.
#[derive(Debug)]
pub struct Behaviour {
    /// The settings in use: the configured ones with the running version's learned thresholds.
    config: BehaviourConfig,
    /// The configured settings, and the model version whose thresholds are laid over them.
    configured: BehaviourConfig,
    tuned_for: Option<String>,
    beacon: beacon::Beacons,
    scan: scan::Scans,
    brute: brute_force::BruteForce,
    volume: volume::Volumes,
    gate: ml_gate::MlGate,
    observed: u64,
    /// Latest traffic time seen (drives expiry).
    now: i64,
    since_expiry: u64,
}

/// Observations between two sweeps of expired state.
const EXPIRY_EVERY: u64 = 50_000;

impl Behaviour {
    pub fn new(config: BehaviourConfig) -> Behaviour {
        let cap = config.max_tracked;
        Behaviour {
            beacon: beacon::Beacons::new(config.beacon.clone(), cap),
            scan: scan::Scans::new(config.scan.clone(), cap),
            brute: brute_force::BruteForce::new(config.brute_force.clone(), cap),
            volume: volume::Volumes::new(config.volume.clone(), cap),
            gate: ml_gate::MlGate::new(config.ml.clone(), cap),
            configured: config.clone(),
            tuned_for: None,
            config,
            observed: 0,
            now: i64::MIN,
            since_expiry: 0,
        }
    }

    pub fn config(&self) -> &BehaviourConfig {
        &self.config
    }

    /// Uses the thresholds a model version learned from this network's feedback ([`tuning`]), laid
    /// over the configured settings; the state gathered so far is kept. Cheap when the version is the
    /// one already followed, so the pipeline calls it with every batch.
    pub fn follow(&mut self, manifest: &crate::detection::ModelManifest) {
        if self.tuned_for.as_deref() == Some(manifest.model_version.as_str()) {
            return;
        }
        let config = tuning::apply(&self.configured, &manifest.behaviour_thresholds);
        if config != self.config {
            tracing::info!(
                version = %manifest.model_version,
                learned = manifest.behaviour_thresholds.len(),
                "behaviour detectors follow the model version's thresholds"
            );
        }
        self.beacon.retune(config.beacon.clone());
        self.scan.retune(config.scan.clone());
        self.brute.retune(config.brute_force.clone());
        self.volume.retune(config.volume.clone());
        self.config = config;
        self.tuned_for = Some(manifest.model_version.clone());
    }

    /// Clears the `alert` of per-flow verdicts that may not alert on their own yet ([`ml_gate`]).
    pub fn gate_ml(&mut self, flows: &[Flow], verdicts: &mut [crate::detection::Verdict]) {
        self.gate.apply(flows, verdicts);
    }

    /// Feeds one batch (in any order; it is sorted by time here) and returns the findings it made
    /// clear, one per threat, source and target.
    pub fn observe_batch(&mut self, flows: &[Flow], internal: impl Fn(IpAddr) -> bool) -> Vec<Finding> {
        if !self.config.enabled {
            return Vec::new();
        }
        let mut obs: Vec<Observation> = flows.iter().filter_map(|f| Observation::of(f, &internal)).collect();
        obs.sort_by_key(|o| o.at);
        self.observe(&obs)
    }

    /// [`observe_batch`](Self::observe_batch) on observations already made, in time order.
    pub fn observe(&mut self, obs: &[Observation]) -> Vec<Finding> {
        let mut out = Findings::default();
        for o in obs {
            self.now = self.now.max(o.at);
            self.beacon.observe(o, &mut out);
            self.scan.observe(o, &mut out);
            self.brute.observe(o, &mut out);
            self.volume.observe(o, &mut out);
        }
        self.observed += obs.len() as u64;
        self.since_expiry += obs.len() as u64;
        if self.since_expiry >= EXPIRY_EVERY {
            self.since_expiry = 0;
            self.expire();
        }
        out.into_vec()
    }

    /// Drops state older than each detector's window (by traffic time).
    pub fn expire(&mut self) {
        let now = self.now;
        if now == i64::MIN {
            // No traffic time seen yet (flows without timestamps): nothing to measure age by.
            return;
        }
        self.beacon.expire(now);
        self.scan.expire(now);
        self.brute.expire(now);
        self.volume.expire(now);
        self.gate.expire(now);
    }

    pub fn stats(&self) -> BehaviourStats {
        let parts =
            [self.beacon.stats(), self.scan.stats(), self.brute.stats(), self.volume.stats(), self.gate.stats()];
        BehaviourStats {
            observed: self.observed,
            tracked: parts.iter().map(|p| p.0).sum(),
            evicted: parts.iter().map(|p| p.1).sum(),
            state_bytes: parts.iter().map(|p| p.2).sum(),
        }
    }
}

/// Findings of one batch, merged per threat, source and target: a flood makes one finding per batch,
/// not one per connection.
#[derive(Debug, Default)]
pub struct Findings {
    by_key: HashMap<(BehaviourThreat, IpAddr, Option<IpAddr>), Finding>,
}

impl Findings {
    /// Adds a finding; one with the same key merges into it (counts add up, the latest words win).
    pub fn push(&mut self, f: Finding) {
        match self.by_key.entry((f.threat, f.src, f.dst)) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let e = e.get_mut();
                e.count += f.count;
                e.first_seen = e.first_seen.min(f.first_seen);
                e.last_seen = e.last_seen.max(f.last_seen);
                e.detected_at = e.detected_at.min(f.detected_at);
                e.risk = e.risk.max(f.risk);
                (e.summary, e.details, e.figures) = (f.summary, f.details, f.figures);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(f);
            }
        }
    }

    /// Whether a finding with this key is already in the batch (to skip re-describing it).
    pub fn has(&self, threat: BehaviourThreat, src: IpAddr, dst: Option<IpAddr>) -> bool {
        self.by_key.contains_key(&(threat, src, dst))
    }

    /// Adds connections to a finding already in the batch.
    pub fn add(&mut self, threat: BehaviourThreat, src: IpAddr, dst: Option<IpAddr>, count: u64, at: i64) -> bool {
        match self.by_key.get_mut(&(threat, src, dst)) {
            Some(f) => {
                f.count += count;
                f.last_seen = f.last_seen.max(at);
                true
            }
            None => false,
        }
    }

    pub fn into_vec(self) -> Vec<Finding> {
        let mut v: Vec<Finding> = self.by_key.into_values().collect();
        v.sort_by_key(|f| (f.first_seen, f.threat, f.src, f.dst));
        v
    }
}

/// `ip:port/proto` as people write it.
pub fn endpoint(ip: IpAddr, port: u16, protocol: u8) -> String {
    let proto = proto_name(protocol);
    match ip {
        IpAddr::V6(_) => format!("[{ip}]:{port}/{proto}"),
        IpAddr::V4(_) => format!("{ip}:{port}/{proto}"),
    }
}

pub fn proto_name(protocol: u8) -> String {
    match protocol {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        p => format!("proto {p}"),
    }
}

/// A span of seconds in words: "42 s", "8 min", "3.5 h".
pub fn span_words(secs: f64) -> String {
    if secs < 90.0 {
        format!("{:.0} s", secs.max(0.0))
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} h", secs / 3600.0)
    }
}

/// An interval in seconds with sensible precision: "1.00 s", "12.4 s", "301 s".
pub fn secs_words(secs: f64) -> String {
    if secs < 10.0 {
        format!("{secs:.2} s")
    } else if secs < 100.0 {
        format!("{secs:.1} s")
    } else {
        format!("{secs:.0} s")
    }
}

/// Bytes in words: "512 B", "3.2 MB".
pub fn bytes_words(b: f64) -> String {
    if b < 1e3 {
        format!("{b:.0} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Synthetic streams for the detectors' tests.
    use super::*;

    pub fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A connection from `src` to `dst:port`, at `at_ms`, with the given outcome.
    pub fn conn(at_ms: i64, src: &str, dst: &str, port: u16, outcome: Outcome) -> Observation {
        let internal = |ip: IpAddr| matches!(ip, IpAddr::V4(v) if v.is_private());
        let (src, dst) = (ip(src), ip(dst));
        let direction = match (internal(src), internal(dst)) {
            (true, false) => Direction::Outbound,
            (false, true) => Direction::Inbound,
            (true, true) => Direction::Lateral,
            (false, false) => Direction::Transit,
        };
        let answered = outcome == Outcome::Answered;
        Observation {
            at: at_ms,
            src,
            dst,
            dst_port: port,
            protocol: 6,
            duration: if answered { 0.2 } else { 0.0 },
            orig_bytes: if answered { 300 } else { 0 },
            resp_bytes: if answered { 1200 } else { 0 },
            orig_pkts: if answered { 6 } else { 1 },
            resp_pkts: if answered { 5 } else { 0 },
            outcome,
            empty: false,
            direction,
        }
    }

    /// Feeds observations in batches of `batch` and collects every finding.
    pub fn run(b: &mut Behaviour, obs: &[Observation], batch: usize) -> Vec<Finding> {
        obs.chunks(batch.max(1)).flat_map(|c| b.observe(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::flow::{ConnMeta, ConnSummary, FiveTuple};

    #[test]
    fn expiring_before_any_traffic_time_is_a_no_op() {
        // Flows without timestamps (the 2017 CSV layout) leave the clock unset.
        let mut b = Behaviour::new(BehaviourConfig::default());
        b.expire();
        assert_eq!(b.stats().tracked, 0);
    }

    #[test]
    fn detectors_follow_the_running_versions_learned_thresholds_over_the_configured_ones() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        let mut manifest = crate::engine::io::load_manifest(&dir).expect("the shipped manifest");
        let configured = BehaviourConfig { max_tracked: 1000, ..BehaviourConfig::default() };
        let mut b = Behaviour::new(configured.clone());
        b.follow(&manifest);
        assert_eq!(b.config(), &configured, "the shipped version learned nothing");
        let feedback = [tuning::Feedback {
            judgement: tuning::Judgement::FalsePositive,
            measures: vec![(tuning::Setting::ScanVerticalPorts, 30.0)],
        }];
        manifest.behaviour_thresholds = tuning::fit(&configured, &feedback);
        // The same version is not looked at again; a new one is.
        b.follow(&manifest);
        assert_eq!(b.config().scan.vertical_ports, 15);
        manifest.model_version.push_str("-site-r1");
        b.follow(&manifest);
        assert_eq!(b.config().scan.vertical_ports, 31);
        // 30 ports on one host is now this network's normal; 45 (the ceiling) is not.
        let probes = |n: u16, host: &str| -> Vec<Observation> {
            (0..n)
                .map(|p| conn(1_700_000_000_000 + i64::from(p) * 1_000, "10.0.0.5", host, 1000 + p, Outcome::Refused))
                .collect()
        };
        assert!(b.observe(&probes(30, "10.0.0.9")).is_empty());
        assert!(!b.observe(&probes(45, "10.0.0.10")).is_empty());
    }

    #[test]
    fn observations_read_state_direction_and_counts() {
        let mut f = Flow::from_conn(&ConnSummary {
            five_tuple: Some(FiveTuple {
                src_ip: ip("147.32.81.167"),
                src_port: 5000,
                dst_ip: ip("66.63.168.35"),
                dst_port: 5888,
                protocol: 6,
            }),
            timestamp: Some("2023-02-22 00:00:03.714845".into()),
            duration_us: 37_629.0,
            fwd_packets: 2,
            bwd_packets: 2,
            fwd_bytes: 0,
            bwd_bytes: 0,
            protocol: 6,
            dst_port: 5888,
        });
        let none = |_: IpAddr| false;
        let o = Observation::of(&f, &none).unwrap();
        assert_eq!((o.direction, o.outcome, o.orig_pkts, o.resp_pkts), (Direction::Transit, Outcome::Answered, 2, 2));
        assert_eq!(o.at, 1_677_024_003_714);
        f.conn = Some(ConnMeta { state: Some(ConnState::REJ), local_orig: Some(true), local_resp: Some(false) });
        let o = Observation::of(&f, &none).unwrap();
        assert_eq!((o.direction, o.outcome), (Direction::Outbound, Outcome::Refused));
        f.timestamp = None;
        assert!(Observation::of(&f, &none).is_none(), "no time, nothing to relate");
    }

    #[test]
    fn state_stays_bounded_under_a_flood_of_unique_pairs() {
        let config = BehaviourConfig { max_tracked: 1000, ..BehaviourConfig::default() };
        let mut b = Behaviour::new(config);
        // 200,000 connections from spoofed outside sources to 200,000 distinct inside hosts.
        let obs: Vec<Observation> = (0..200_000u32)
            .map(|i| {
                let [_, x, y, z] = i.to_be_bytes();
                conn(
                    1_700_000_000_000 + i64::from(i),
                    &format!("45.{x}.{y}.{z}"),
                    &format!("10.{x}.{y}.{z}"),
                    23,
                    Outcome::Answered,
                )
            })
            .collect();
        for c in obs.chunks(2000) {
            b.observe(c);
        }
        let s = b.stats();
        // Five tables (beacon, scan sources and targets, brute force, volume, ML gate), each capped.
        assert!(s.tracked <= 5 * 1000, "{s:?}");
        assert!(s.evicted > 100_000, "{s:?}");
        assert!(s.state_bytes < 8 * 1024 * 1024, "{s:?}");
        assert_eq!(s.observed, 200_000);
    }

    #[test]
    fn discovery_addresses_are_not_endpoints() {
        assert!(!is_unicast(ip("239.255.255.250")));
        assert!(!is_unicast(ip("192.168.1.255")));
        assert!(!is_unicast(ip("ff02::1")));
        assert!(is_unicast(ip("66.63.168.35")));
    }

    #[test]
    fn words_carry_the_numbers() {
        assert_eq!(endpoint(ip("66.63.168.35"), 5888, 6), "66.63.168.35:5888/tcp");
        assert_eq!(span_words(498.0), "8 min");
        assert_eq!(secs_words(0.532), "0.53 s");
        assert_eq!(bytes_words(3_200_000.0), "3.2 MB");
    }

    #[test]
    fn config_refuses_unknown_keys_and_names_bad_values() {
        let err =
            serde_json::from_str::<BehaviourConfig>(r#"{"beacon":{"min_conections":3}}"#).unwrap_err().to_string();
        assert!(err.contains("min_conections"), "{err}");
        let mut c = BehaviourConfig::default();
        c.validate().unwrap();
        c.max_tracked = 1;
        assert!(c.validate().unwrap_err().contains("max_tracked"));
    }
}
