//! Beaconing: an internal host calling one external endpoint (address, port, protocol) again and
//! again. Two patterns:
//! - **regular**: the gaps between connections and the bytes sent are alike, scored as RITA scores
//!   beacons (`activecm/rita`, `analysis/beacons.go`): for the gaps, the mean of 1 − |Bowley skew| and
//!   1 − MAD/median; for the sizes, 1 − |skew| and 1 − MAD/32 bytes; the beacon score is the mean of
//!   the two. Only gaps up to `max_interval_secs` are judged: operating systems and antivirus keep
//!   push channels that call home every 5 to 30 minutes like clockwork, and telling those from a
//!   slow implant needs the site's own baseline, not a timing score;
//! - **persistent failure**: many attempts, nearly all refused or unanswered (Zeek `REJ`/`S0`), to one
//!   endpoint: an implant whose server is down or blocked keeps knocking.
//!
//! Discovery and infrastructure traffic is not judged: multicast and broadcast destinations, and the
//! ports in `ignore_ports` (DNS, NTP, NetBIOS, mDNS, SSDP, DHCP, LLMNR by default), whose clients
//! legitimately poll their servers.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::stats::regularity;
use super::table::Table;
use super::{
    endpoint, is_unicast, secs_words, span_words, BehaviourThreat, Direction, Finding, Findings, Observation, Outcome,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BeaconConfig {
    /// Connections needed before timing is judged.
    pub min_connections: u32,
    /// Traffic-time span the connections must cover, in seconds.
    pub min_span_secs: f64,
    /// Median gaps judged (seconds): faster is a stream or a flood, slower see the module docs.
    pub min_interval_secs: f64,
    pub max_interval_secs: f64,
    /// Beacon score (0–1) at and above which a regular pattern alerts.
    pub min_score: f64,
    /// Failed attempts (refused or unanswered) that make a persistent-failure pattern, when at least
    /// `persistent_failed_share` of the pair's attempts failed.
    pub persistent_attempts: u32,
    pub persistent_failed_share: f64,
    /// A pair idle this long (seconds) starts over.
    pub window_secs: f64,
    /// Destination ports never judged.
    pub ignore_ports: Vec<u16>,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        BeaconConfig {
            min_connections: 12,
            min_span_secs: 60.0,
            min_interval_secs: 0.5,
            max_interval_secs: 120.0,
            min_score: 0.8,
            persistent_attempts: 20,
            persistent_failed_share: 0.9,
            window_secs: 3600.0,
            ignore_ports: vec![53, 67, 68, 123, 137, 138, 1900, 5353, 5355],
        }
    }
}

impl BeaconConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.min_connections < 4 {
            return Err("min_connections must be at least 4".into());
        }
        if !(0.0..=1.0).contains(&self.min_score) || !(0.0..=1.0).contains(&self.persistent_failed_share) {
            return Err("min_score and persistent_failed_share must be between 0 and 1".into());
        }
        if self.persistent_attempts < 2
            || self.window_secs <= 0.0
            || self.min_interval_secs < 0.0
            || self.max_interval_secs <= self.min_interval_secs
        {
            return Err("persistent_attempts must be at least 2, window_secs above 0, and max_interval_secs above min_interval_secs ≥ 0".into());
        }
        Ok(())
    }
}

/// Recent connection times and sizes kept per pair (between `HISTORY` and twice as many).
const HISTORY: usize = 32;

type Key = (IpAddr, IpAddr, u16, u8);

#[derive(Debug, Default)]
struct Pair {
    first: i64,
    last: i64,
    count: u64,
    refused: u64,
    unanswered: u64,
    /// Recent connection times (ms after `first`) and bytes sent, oldest first, at most 2 × [`HISTORY`].
    times: Vec<u32>,
    sizes: Vec<u32>,
    /// When the pattern became clear, once it has.
    detected: Option<(i64, Pattern)>,
    /// Highest regularity score judged (before and after detection): the threshold that would have
    /// kept this pair quiet lies above it ([`super::tuning`]).
    peak_score: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Regular,
    PersistentFailure,
}

#[derive(Debug)]
pub struct Beacons {
    config: BeaconConfig,
    pairs: Table<Key, Pair>,
}

/// What the timing and sizes of a pair say.
struct Judgement {
    timing: f64,
    size: f64,
    score: f64,
    median_gap: f64,
    mad_gap: f64,
    median_size: f64,
    mad_size: f64,
}

impl Pair {
    fn failed(&self) -> u64 {
        self.refused + self.unanswered
    }

    fn judge(&self) -> Judgement {
        let gaps: Vec<f64> = self.times.windows(2).map(|w| f64::from(w[1].saturating_sub(w[0])) / 1000.0).collect();
        let sizes: Vec<f64> = self.sizes.iter().map(|&s| f64::from(s)).collect();
        let (timing, median_gap, mad_gap) = regularity(&gaps, None);
        let (size, median_size, mad_size) = regularity(&sizes, Some(32.0));
        Judgement { timing, size, score: (timing + size) / 2.0, median_gap, mad_gap, median_size, mad_size }
    }
}

impl Beacons {
    pub fn new(config: BeaconConfig, cap: usize) -> Beacons {
        Beacons { config, pairs: Table::new(cap) }
    }

    /// Judges from now on with these settings (the state is kept).
    pub fn retune(&mut self, config: BeaconConfig) {
        self.config = config;
    }

    pub fn observe(&mut self, o: &Observation, out: &mut Findings) {
        if o.direction != Direction::Outbound || !is_unicast(o.dst) || self.config.ignore_ports.contains(&o.dst_port) {
            return;
        }
        let c = &self.config;
        let key = (o.src, o.dst, o.dst_port, o.protocol);
        let window_ms = (c.window_secs * 1000.0) as i64;
        let p = self.pairs.touch(&key, o.at, Pair::default);
        // Idle for a window, or older than the offsets can say (49 days): start over.
        if p.count > 0 && (o.at - p.last > window_ms || o.at - p.first >= i64::from(u32::MAX)) {
            *p = Pair::default();
        }
        if p.count == 0 {
            p.first = o.at;
        }
        p.last = p.last.max(o.at);
        p.count += 1;
        match o.outcome {
            Outcome::Refused => p.refused += 1,
            Outcome::Unanswered => p.unanswered += 1,
            Outcome::Answered => {}
        }
        p.times.push((o.at - p.first).clamp(0, i64::from(u32::MAX)) as u32);
        p.sizes.push(o.orig_bytes.min(u64::from(u32::MAX)) as u32);
        if p.times.len() >= 2 * HISTORY {
            p.times.drain(..HISTORY);
            p.sizes.drain(..HISTORY);
        }
        let span = (p.last - p.first) as f64 / 1000.0;
        let judged_now = p.count >= u64::from(c.min_connections)
            && (p.count < 2 * u64::from(c.min_connections) || p.count.is_multiple_of(4));
        if let Some((detected_at, pattern)) = p.detected {
            let mut rose = false;
            if judged_now && pattern == Pattern::Regular && span >= c.min_span_secs {
                let score = p.judge().score as f32;
                rose = score > p.peak_score;
                p.peak_score = p.peak_score.max(score);
            }
            // The pattern goes on: one update per batch (with new figures when the score rose).
            let (threat, src, dst) = (BehaviourThreat::C2Beacon, o.src, Some(o.dst));
            if rose && out.has(threat, src, dst) {
                out.push(finding(key, p, pattern, detected_at, 0, &self.config));
            }
            if !out.add(threat, src, dst, 1, o.at) {
                out.push(finding(key, p, pattern, detected_at, 1, &self.config));
            }
            return;
        }
        if span < c.min_span_secs {
            return;
        }
        let failed = p.failed();
        let pattern = if failed >= u64::from(c.persistent_attempts)
            && failed as f64 >= c.persistent_failed_share * p.count as f64
        {
            Some(Pattern::PersistentFailure)
        } else if judged_now {
            let j = p.judge();
            p.peak_score = p.peak_score.max(j.score as f32);
            (j.median_gap <= c.max_interval_secs && j.median_gap >= c.min_interval_secs && j.score >= c.min_score)
                .then_some(Pattern::Regular)
        } else {
            None
        };
        if let Some(pattern) = pattern {
            p.detected = Some((o.at, pattern));
            let count = p.count;
            out.push(finding(key, p, pattern, o.at, count, &self.config));
        }
    }

    pub fn expire(&mut self, now: i64) {
        self.pairs.expire(now - (self.config.window_secs * 1000.0) as i64);
    }

    /// (keys, evicted, estimated bytes).
    pub fn stats(&self) -> (usize, u64, usize) {
        let owned: usize = self.pairs.values().map(|p| p.times.capacity() * 4 + p.sizes.capacity() * 4).sum();
        (self.pairs.len(), self.pairs.evicted(), self.pairs.shallow_bytes() + owned)
    }
}

fn finding(key: Key, p: &Pair, pattern: Pattern, detected_at: i64, count: u64, c: &BeaconConfig) -> Finding {
    let (src, dst, port, proto) = key;
    let j = p.judge();
    let to = endpoint(dst, port, proto);
    let span = span_words((p.last - p.first) as f64 / 1000.0);
    let answered = p.count - p.failed();
    let (summary, risk) = match pattern {
        Pattern::PersistentFailure => {
            let how = match (p.refused, p.unanswered) {
                (r, 0) if answered == 0 => format!("all {r} refused"),
                (0, u) if answered == 0 => format!("all {u} unanswered"),
                (r, u) => format!("{r} refused, {u} unanswered, {answered} answered"),
            };
            (
                format!(
                    "{} connection attempts to {to} at {} ± {} intervals over {span}, {how}",
                    p.count,
                    secs_words(j.median_gap),
                    secs_words(j.mad_gap)
                ),
                75,
            )
        }
        Pattern::Regular => (
            format!(
                "{} connections to {to} at {} ± {} intervals over {span}, sending {:.0} ± {:.0} bytes each (beacon score {:.2})",
                p.count,
                secs_words(j.median_gap),
                secs_words(j.mad_gap),
                j.median_size,
                j.mad_size,
                j.score
            ),
            (50.0 + 40.0 * ((j.score - c.min_score) / (1.0 - c.min_score).max(1e-9)).clamp(0.0, 1.0)).round() as u8,
        ),
    };
    let details = vec![
        format!("The host at {src} is inside your network and {dst} is outside it."),
        match pattern {
            Pattern::PersistentFailure => format!(
                "An implant whose command server is down or blocked keeps calling it; {:.0} % of these {} attempts failed.",
                100.0 * p.failed() as f64 / p.count.max(1) as f64,
                p.count
            ),
            Pattern::Regular => format!(
                "Timing regularity {:.2} and size regularity {:.2} (1.00 = a metronome sending the same bytes), over the last {} connections.",
                j.timing,
                j.size,
                p.times.len()
            ),
        },
    ];
    Finding {
        threat: BehaviourThreat::C2Beacon,
        src,
        dst: Some(dst),
        dst_port: Some(port),
        protocol: Some(proto),
        first_seen: p.first,
        last_seen: p.last,
        detected_at,
        count,
        risk,
        summary,
        details,
        figures: json!({
            "pattern": match pattern { Pattern::Regular => "regular", Pattern::PersistentFailure => "persistent_failure" },
            "connections": p.count,
            "refused": p.refused,
            "unanswered": p.unanswered,
            "span_secs": (p.last - p.first) as f64 / 1000.0,
            "median_interval_secs": j.median_gap,
            "mad_interval_secs": j.mad_gap,
            "median_bytes": j.median_size,
            "timing_score": j.timing,
            "size_score": j.size,
            "score": j.score,
            "peak_score": p.peak_score.max(j.score as f32),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Behaviour, BehaviourConfig, Outcome};
    use super::*;

    /// A beacon every `every_ms` with jitter drawn from a fixed sequence in ±`jitter_ms`.
    fn beacon(n: usize, every_ms: i64, jitter_ms: i64, outcome: Outcome) -> Vec<Observation> {
        let mut t = 1_700_000_000_000;
        (0..n)
            .map(|i| {
                let j = if jitter_ms > 0 { ((i as i64 * 7919) % (2 * jitter_ms + 1)) - jitter_ms } else { 0 };
                t += every_ms + j;
                conn(t, "192.168.1.107", "66.63.168.35", 5888, outcome)
            })
            .collect()
    }

    #[test]
    fn a_jittery_beacon_alerts_within_two_minutes_of_its_start() {
        // Every 10 s ± 3 s, answered, same size: clear after min_connections and a minute.
        let obs = beacon(200, 10_000, 3_000, Outcome::Answered);
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 7);
        let first = found.iter().find(|f| f.threat == BehaviourThreat::C2Beacon).expect("a beacon finding");
        assert!(
            first.detected_at - obs[0].at <= 120_000 + 10_000,
            "detected after {} ms",
            first.detected_at - obs[0].at
        );
        assert_eq!(first.dst, Some(ip("66.63.168.35")));
        assert!(first.summary.contains("connections to 66.63.168.35:5888/tcp at 10"), "{}", first.summary);
        // Every later connection is counted on the alert, none twice.
        let total: u64 = found.iter().map(|f| f.count).sum();
        assert_eq!(total, obs.len() as u64);
    }

    #[test]
    fn a_one_second_beacon_alerts_within_two_minutes() {
        let obs = beacon(600, 1_000, 30, Outcome::Answered);
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 50);
        let f = found.first().expect("found");
        assert!(f.detected_at - obs[0].at <= 120_000);
        assert!(f.summary.contains("1.00 s ±"), "{}", f.summary);
    }

    #[test]
    fn refused_attempts_to_one_endpoint_are_a_failing_beacon() {
        let obs = beacon(300, 500, 40, Outcome::Refused);
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 2000);
        let f = found.first().expect("found");
        assert!(f.summary.contains("all") && f.summary.contains("refused"), "{}", f.summary);
        assert_eq!(f.risk, 75);
    }

    #[test]
    fn irregular_browsing_and_slow_push_channels_do_not_alert() {
        let mut b = Behaviour::new(BehaviourConfig::default());
        // Browsing: gaps all over the place, sizes too.
        let mut t = 1_700_000_000_000;
        let browsing: Vec<Observation> = (0..300)
            .map(|i| {
                t += [200, 45_000, 3_000, 120_000, 800, 9_000, 61_000][i % 7] + (i as i64 * 131) % 5000;
                let mut o = conn(t, "192.168.1.10", "151.101.1.69", 443, Outcome::Answered);
                o.orig_bytes = 300 + (i as u64 * 977) % 9000;
                o
            })
            .collect();
        assert!(run(&mut b, &browsing, 100).is_empty());
        // An antivirus push channel every 301.6 s: regular, but slower than max_interval_secs.
        let push: Vec<Observation> = (0..250)
            .map(|i| conn(1_700_000_000_000 + i * 301_600, "192.168.1.10", "91.228.167.171", 8883, Outcome::Answered))
            .collect();
        assert!(run(&mut b, &push, 100).is_empty());
        // DNS to the resolver is infrastructure.
        let dns: Vec<Observation> = (0..100)
            .map(|i| conn(1_700_000_000_000 + i * 5_000, "192.168.1.10", "8.8.8.8", 53, Outcome::Answered))
            .collect();
        assert!(run(&mut b, &dns, 100).is_empty());
    }
}
