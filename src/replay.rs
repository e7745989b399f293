//! Replay of recorded traffic: the shipped CIC-IDS2017 flows sent through the live pipeline as if
//! they arrived now, so the console has something real to show in demo mode.
//!
//! - The labels are removed before the flows reach the models; they are only used here to find the
//!   attack campaigns.
//! - Time is re-based to now and compressed by `speed` (replay seconds per wall-clock second). Gaps
//!   longer than [`MAX_GAP_US`] in the recording are shortened to it: the shipped recording is a
//!   1.6 % sample of five capture days, so its flows are seconds apart and the nights hours apart;
//!   played with the recorded gaps, the first attack (Tuesday morning) would come only after the
//!   whole sampled Monday, minutes of a quiet console in a demo.
//! - The recording's attacker machines (every address outside the victim LAN 192.168.10.0/24 that
//!   takes part in an attack flow) are replaced, per attack type, by addresses drawn from real DB-IP
//!   ranges of several countries, so the maps show plausible origins. DDoS is spread over several
//!   countries. Benign traffic keeps its recorded addresses. The README says all of this is replay.
//! - At most `max_flows_per_second` are sent; a full queue makes the replay wait, never drop.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::csv::FlowReader;
use crate::flow::Flow;
use crate::geoip::GeoIp;
use crate::ingest::time;
use crate::live::ReplayStatus;
use crate::pipeline::{Batch, Pipeline, PipelineError, Source};
use crate::store::now_ms;
use crate::threat::Threat;

/// Longest pause between two recorded flows that the replay keeps (one second of replay clock).
pub const MAX_GAP_US: i64 = 1_000_000;
/// The replay starts this much replay clock before the recording's first attack (two seconds at the
/// default speed), so a demo shows live alerts within its first half minute instead of after the
/// recording's attack-free first day; the flows before that point play at the end of each loop.
pub const LEAD_US: i64 = 120_000_000;
/// Slowest and fastest allowed speeds.
pub const SPEED_RANGE: (f64, f64) = crate::live::REPLAY_SPEED_RANGE;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    /// The CICFlowMeter CSV (2021 layout, with addresses and timestamps) to replay.
    pub file: PathBuf,
    /// Replay seconds per wall-clock second.
    pub speed: f64,
    /// Start with the server; unset = only in demo mode.
    pub autostart: Option<bool>,
    /// Start over at the end.
    pub looping: bool,
    /// Upper bound on the flows sent per second, whatever the speed.
    pub max_flows_per_second: u64,
    /// Countries whose DB-IP ranges supply the attackers' addresses.
    pub attacker_countries: Vec<String>,
    /// Seed of the address drawing (the same seed gives the same origins).
    pub seed: u64,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            file: PathBuf::from("data/cicids2017/improved_train.csv.gz"),
            speed: 60.0,
            autostart: None,
            looping: true,
            max_flows_per_second: 5_000,
            attacker_countries: ["CN", "RU", "US", "BR", "IN", "KR", "VN", "NL", "IR", "UA", "RO", "NG"]
                .map(String::from)
                .to_vec(),
            seed: 2017,
        }
    }
}

impl ReplayConfig {
    pub fn validate(&self) -> Result<(), ReplayError> {
        check_speed(self.speed)?;
        if self.max_flows_per_second == 0 {
            return Err(ReplayError::Invalid("max_flows_per_second must be greater than 0".into()));
        }
        if self.attacker_countries.is_empty() {
            return Err(ReplayError::Invalid("attacker_countries must name at least one country".into()));
        }
        if let Some(c) =
            self.attacker_countries.iter().find(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(ReplayError::Invalid(format!("attacker_countries: `{c}` is not a two-letter country code")));
        }
        Ok(())
    }
}

fn check_speed(speed: f64) -> Result<(), ReplayError> {
    if !(SPEED_RANGE.0..=SPEED_RANGE.1).contains(&speed) {
        return Err(ReplayError::Invalid(format!(
            "speed must be between {} and {} (got {speed})",
            SPEED_RANGE.0, SPEED_RANGE.1
        )));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot load the replay recording: {0}")]
    Load(String),
}

/// The recording, ready to send.
#[derive(Debug)]
pub struct Recording {
    /// Flows in time order, labels removed, attacker addresses replaced.
    pub flows: Vec<Flow>,
    /// Replay-clock offset of each flow from the first, in microseconds (gaps capped).
    pub offsets_us: Vec<i64>,
    /// The replay-clock offset of the first attack flow, if the recording has one.
    pub first_attack_us: Option<i64>,
    pub file: String,
}

fn victim_lan(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.octets()[..3] == [192, 168, 10])
}

/// Loads and prepares a recording (blocking: run it on a blocking thread).
pub fn load_recording(config: &ReplayConfig, geo: &GeoIp) -> Result<Recording, ReplayError> {
    let reader = FlowReader::open(&config.file).map_err(|e| ReplayError::Load(e.to_string()))?;
    let (flows, _stats, _header) = reader.read_all();
    let mut timed: Vec<(i64, Flow)> = flows
        .into_iter()
        .filter(|f| f.five_tuple.is_some())
        .filter_map(|f| Some((time::iso_to_micros(f.timestamp.as_deref()?)?, f)))
        .collect();
    if timed.is_empty() {
        return Err(ReplayError::Load(format!(
            "{}: no flow has both addresses and a timestamp (replay needs the 2021 CSV layout)",
            config.file.display()
        )));
    }
    timed.sort_by_key(|(t, _)| *t);

    // Address pools per attacker country, drawn from its DB-IP ranges.
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let ranges: Vec<(String, Vec<(u32, u32)>)> = config
        .attacker_countries
        .iter()
        .map(|c| (c.clone(), geo.ranges_of(c)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    if ranges.is_empty() {
        return Err(ReplayError::Load("none of attacker_countries has DB-IP ranges".into()));
    }
    let draw = |rng: &mut ChaCha8Rng| -> IpAddr {
        let (_, rs) = &ranges[rng.gen_range(0..ranges.len())];
        let (a, b) = rs[rng.gen_range(0..rs.len())];
        // Avoid the network and broadcast-looking ends of a range.
        let x = if b - a > 2 { rng.gen_range(a + 1..b) } else { a };
        IpAddr::V4(Ipv4Addr::from(x))
    };
    // Per (recorded attacker address, attack type): the replacement addresses (DDoS gets several).
    let mut campaigns: HashMap<(IpAddr, Threat), Vec<IpAddr>> = HashMap::new();
    let mut out_flows = Vec::with_capacity(timed.len());
    let mut offsets = Vec::with_capacity(timed.len());
    let mut first_attack = None;
    let (mut clock, mut prev) = (0i64, timed[0].0);
    for (i, (t, mut f)) in timed.into_iter().enumerate() {
        clock += (t - prev).clamp(0, MAX_GAP_US);
        prev = t;
        let threat = f.label.as_deref().and_then(Threat::from_label).unwrap_or(Threat::Benign);
        f.label = None;
        if threat.is_attack() && first_attack.is_none() {
            first_attack = Some(i);
        }
        if threat.is_attack() {
            if let Some(tuple) = f.five_tuple.as_mut() {
                for ip in [&mut tuple.src_ip, &mut tuple.dst_ip] {
                    if !victim_lan(*ip) {
                        let pool = campaigns.entry((*ip, threat)).or_insert_with(|| {
                            let n = if threat == Threat::Ddos { 12 } else { 1 };
                            (0..n).map(|_| draw(&mut rng)).collect()
                        });
                        *ip = pool[i % pool.len()];
                    }
                }
            }
        }
        offsets.push(clock);
        out_flows.push(f);
    }
    let start = first_attack.map_or(0, |a| offsets.partition_point(|&o| o < offsets[a] - LEAD_US));
    let offsets = rotate(&mut out_flows, offsets, start);
    let first_attack_us = first_attack.map(|a| offsets[(a + out_flows.len() - start) % out_flows.len()]);
    Ok(Recording { flows: out_flows, offsets_us: offsets, first_attack_us, file: config.file.display().to_string() })
}

/// Makes flow `start` the first: the flows before it move to the end, one capped gap after the last.
fn rotate(flows: &mut [Flow], offsets: Vec<i64>, start: usize) -> Vec<i64> {
    if start == 0 || start >= offsets.len() {
        return offsets;
    }
    flows.rotate_left(start);
    let base = offsets[start];
    let wrap = offsets[offsets.len() - 1] - base + MAX_GAP_US;
    offsets[start..].iter().map(|o| o - base).chain(offsets[..start].iter().map(|o| o - offsets[0] + wrap)).collect()
}

struct Shared {
    config: ReplayConfig,
    pipeline: Pipeline,
    geo: Arc<GeoIp>,
    status: Mutex<ReplayStatus>,
    recording: tokio::sync::OnceCell<Arc<Recording>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Handle to the replay (cheap to clone).
#[derive(Clone)]
pub struct Replay {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay").field("status", &self.status()).finish()
    }
}

/// How often the replay sends what became due.
const TICK: Duration = Duration::from_millis(200);

impl Replay {
    pub fn new(config: ReplayConfig, pipeline: Pipeline, geo: Arc<GeoIp>) -> Replay {
        let status =
            ReplayStatus { speed: config.speed, file: config.file.display().to_string(), ..ReplayStatus::default() };
        Replay {
            shared: Arc::new(Shared {
                config,
                pipeline,
                geo,
                status: Mutex::new(status),
                recording: tokio::sync::OnceCell::new(),
                task: Mutex::new(None),
            }),
        }
    }

    pub fn status(&self) -> ReplayStatus {
        self.shared.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut ReplayStatus)) {
        f(&mut self.shared.status.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Loads the recording (first time only) and starts sending. Starting a running replay does
    /// nothing.
    pub async fn start(&self) -> Result<ReplayStatus, ReplayError> {
        let rec = self
            .shared
            .recording
            .get_or_try_init(|| async {
                let (config, geo) = (self.shared.config.clone(), self.shared.geo.clone());
                tokio::task::spawn_blocking(move || load_recording(&config, &geo))
                    .await
                    .map_err(|e| ReplayError::Load(e.to_string()))?
                    .map(Arc::new)
            })
            .await?
            .clone();
        let mut task = self.shared.task.lock().unwrap_or_else(|e| e.into_inner());
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(self.status());
        }
        self.update(|s| {
            s.running = true;
            s.total = rec.flows.len() as u64;
            s.last_error = None;
        });
        let me = self.clone();
        *task = Some(tokio::spawn(async move { me.run(rec).await }));
        tracing::info!(file = %self.shared.config.file.display(), speed = self.status().speed, "replay started");
        Ok(self.status())
    }

    /// Stops sending (a batch already handed to the pipeline is still stored).
    pub fn stop(&self) -> ReplayStatus {
        if let Some(t) = self.shared.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
            tracing::info!("replay stopped");
        }
        self.update(|s| s.running = false);
        self.status()
    }

    pub fn set_speed(&self, speed: f64) -> Result<ReplayStatus, ReplayError> {
        check_speed(speed)?;
        self.update(|s| s.speed = speed);
        Ok(self.status())
    }

    async fn run(self, rec: Arc<Recording>) {
        let max_per_tick =
            (self.shared.config.max_flows_per_second as f64 * TICK.as_secs_f64()).ceil().max(1.0) as usize;
        let mut pos = self.status().position as usize % rec.flows.len().max(1);
        let mut clock = rec.offsets_us[pos];
        let mut last = Instant::now();
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let speed = self.status().speed;
            clock += (last.elapsed().as_secs_f64() * speed * 1e6) as i64;
            last = Instant::now();
            let end = (pos..rec.flows.len())
                .take(max_per_tick)
                .take_while(|&i| rec.offsets_us[i] <= clock)
                .last()
                .map_or(pos, |i| i + 1);
            if end > pos {
                if end - pos == max_per_tick {
                    // Rate-capped: do not let the replay clock run ahead of what was sent.
                    clock = rec.offsets_us[end - 1];
                }
                let now_us = now_ms() * 1000;
                let flows: Vec<Flow> = rec.flows[pos..end]
                    .iter()
                    .zip(&rec.offsets_us[pos..end])
                    .map(|(f, &off)| {
                        let mut f = f.clone();
                        // Re-based: the flow happened (clock − offset) replay-µs before now.
                        f.timestamp = time::format_micros(now_us - ((clock - off) as f64 / speed) as i64);
                        f
                    })
                    .collect();
                let n = flows.len();
                match self.shared.pipeline.submit(Batch::new(Source::Replay, None, flows, Vec::new())).await {
                    Ok(_) => {
                        pos = end;
                        self.update(|s| {
                            s.sent += n as u64;
                            s.position = pos as u64;
                        });
                    }
                    // The queue is full: keep the flows and try again next tick.
                    Err(PipelineError::Busy { .. }) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "replay stopped: the pipeline failed");
                        self.update(|s| {
                            s.running = false;
                            s.last_error = Some(e.to_string());
                        });
                        return;
                    }
                }
            }
            if pos >= rec.flows.len() {
                if !self.shared.config.looping {
                    self.update(|s| s.running = false);
                    return;
                }
                pos = 0;
                clock = 0;
                self.update(|s| {
                    s.loops += 1;
                    s.position = 0;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_recording_is_sorted_unlabelled_gap_capped_and_attackers_relocated() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let geo = GeoIp::load(&root.join("data/geo/ip-country.csv.gz")).unwrap();
        let config =
            ReplayConfig { file: root.join("data/cicids2017/improved_train.csv.gz"), ..ReplayConfig::default() };
        let rec = load_recording(&config, &geo).unwrap();
        assert!(rec.flows.len() > 40_000, "{}", rec.flows.len());
        assert!(rec.flows.iter().all(|f| f.label.is_none()), "labels never reach the models");
        assert!(rec.offsets_us.windows(2).all(|w| w[1] >= w[0] && w[1] - w[0] <= MAX_GAP_US));
        assert_eq!(rec.offsets_us[0], 0);
        // It starts shortly before the first attack, and nothing of the recording is lost.
        let first = rec.first_attack_us.expect("the recording has attacks");
        assert!((LEAD_US - MAX_GAP_US..=LEAD_US).contains(&first), "first attack at {first} µs");
        assert_eq!(rec.flows.len(), rec.offsets_us.len());
        // 172.16.0.1 (the recording's attacker NAT) is gone from the ~29,700 attack flows it sent (3 benign
        // flows keep it); attackers now come from the configured countries.
        let recorded: IpAddr = "172.16.0.1".parse().unwrap();
        assert_eq!(rec.flows.iter().filter(|f| f.five_tuple.unwrap().src_ip == recorded).count(), 3);
        let mut countries: Vec<String> = rec
            .flows
            .iter()
            .filter_map(|f| geo.country(f.five_tuple.unwrap().src_ip))
            .filter(|c| config.attacker_countries.contains(c))
            .collect();
        countries.sort();
        countries.dedup();
        assert!(countries.len() >= 5, "several origin countries: {countries:?}");
        // Seeded: the same origins every time.
        let again = load_recording(&config, &geo).unwrap();
        assert_eq!(rec.flows[..500], again.flows[..500]);
    }

    #[test]
    fn rotating_keeps_every_flow_in_order_with_capped_gaps() {
        let flows: Vec<Flow> = (0..5).map(|i| Flow { timestamp: Some(i.to_string()), ..Flow::empty() }).collect();
        let mut rotated = flows.clone();
        let offsets = rotate(&mut rotated, vec![0, 10, 20, 30, 40], 2);
        assert_eq!(offsets, vec![0, 10, 20, 20 + MAX_GAP_US, 30 + MAX_GAP_US]);
        let order: Vec<&str> = rotated.iter().map(|f| f.timestamp.as_deref().unwrap()).collect();
        assert_eq!(order, ["2", "3", "4", "0", "1"]);
        let mut same = flows.clone();
        assert_eq!(rotate(&mut same, vec![0, 10, 20, 30, 40], 0), vec![0, 10, 20, 30, 40]);
        assert_eq!(same, flows);
    }

    #[test]
    fn bad_settings_are_named() {
        let c = ReplayConfig { speed: 0.0, ..ReplayConfig::default() };
        assert!(c.validate().unwrap_err().to_string().contains("speed must be between"));
        let c = ReplayConfig { attacker_countries: vec!["China".into()], ..ReplayConfig::default() };
        assert!(c.validate().unwrap_err().to_string().contains("`China`"));
        let geo = GeoIp::default();
        let c = ReplayConfig { file: "/nonexistent.csv".into(), ..ReplayConfig::default() };
        assert!(load_recording(&c, &geo).unwrap_err().to_string().contains("/nonexistent.csv"));
    }
}
