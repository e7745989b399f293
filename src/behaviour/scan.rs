//! Scanning, as Zeek's scan policy counts it: distinct targets of one source's probes within a window.
//! - **horizontal**: one source, many hosts on one port;
//! - **vertical**: one source, many ports on one host;
//! - **distributed probing**: one of our hosts probed by many outside sources (Internet background
//!   scanning of a host with a public address): each probing source is reported, with how many others
//!   probed the host.
//!
//! A probe is an attempt that failed (unanswered or refused); for vertical scans and probes of our
//! hosts, a TCP connection that carried no payload either way counts too (a connect scan). Browsers
//! open such empty pre-connections to many sites on 443, and busy clients see some of their attempts
//! fail, so a horizontal scan also needs most of the source's attempts on that port to fail
//! (`horizontal_failed_share`). The threat type says where the scan runs: inbound, lateral (internal
//! to internal) or outbound (an internal host scanning the Internet, as a bot spreading does).

#[cfg(test)]
use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::table::{Table, VecMap};
use super::{endpoint, is_unicast, proto_name, span_words, BehaviourThreat, Direction, Finding, Findings, Observation};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScanConfig {
    /// Distinct hosts probed on one port that make a horizontal scan.
    pub horizontal_hosts: u32,
    /// Share of the source's attempts on that port that failed, at least.
    pub horizontal_failed_share: f64,
    /// Distinct ports probed on one host that make a vertical scan.
    pub vertical_ports: u32,
    /// Outside sources probing one of our hosts within the window before each of them is reported.
    pub probe_sources: u32,
    /// Counting window in seconds: a source idle this long starts over.
    pub window_secs: f64,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            horizontal_hosts: 20,
            horizontal_failed_share: 0.5,
            vertical_ports: 15,
            probe_sources: 5,
            window_secs: 3600.0,
        }
    }
}

impl ScanConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.horizontal_hosts < 3 || self.vertical_ports < 3 {
            return Err("horizontal_hosts and vertical_ports must be at least 3".into());
        }
        if !(0.0..=1.0).contains(&self.horizontal_failed_share) || self.probe_sources < 1 || self.window_secs <= 0.0 {
            return Err("horizontal_failed_share must be 0–1, probe_sources at least 1 and window_secs above 0".into());
        }
        Ok(())
    }
}

/// Distinct (host, port) targets remembered per source; beyond it the counts stop growing, which is
/// far past every threshold.
const MAX_TARGETS: usize = 512;
/// Probing sources remembered per target host.
const MAX_SOURCES: usize = 256;

#[derive(Debug, Default)]
struct Source {
    first: i64,
    last: i64,
    probes: u64,
    targets: VecMap<(IpAddr, u16), ()>,
    /// Per port: distinct hosts failed on, failed attempts, other attempts.
    hosts_per_port: VecMap<u16, (u32, u32, u32)>,
    ports_per_host: VecMap<IpAddr, u32>,
    detected: Option<(i64, Kind)>,
    protocol: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Many hosts on this port.
    Horizontal(u16),
    /// Many ports on this host.
    Vertical(IpAddr),
}

#[derive(Debug, Default)]
struct Target {
    /// Probing source → (first, last probe time, probes).
    sources: VecMap<IpAddr, (i64, i64, u64)>,
    ports: VecMap<u16, u32>,
    /// Enough sources probe the host: each probe is reported.
    reporting: bool,
}

#[derive(Debug)]
pub struct Scans {
    config: ScanConfig,
    sources: Table<IpAddr, Source>,
    targets: Table<IpAddr, Target>,
}

fn threat_of(d: Direction) -> Option<BehaviourThreat> {
    match d {
        Direction::Inbound => Some(BehaviourThreat::ScanInbound),
        Direction::Lateral => Some(BehaviourThreat::ScanLateral),
        Direction::Outbound => Some(BehaviourThreat::ScanOutbound),
        Direction::Transit => None,
    }
}

impl Scans {
    pub fn new(config: ScanConfig, cap: usize) -> Scans {
        Scans { config, sources: Table::new(cap), targets: Table::new(cap) }
    }

    /// Judges from now on with these settings (the state is kept).
    pub fn retune(&mut self, config: ScanConfig) {
        self.config = config;
    }

    pub fn observe(&mut self, o: &Observation, out: &mut Findings) {
        let Some(threat) = threat_of(o.direction) else { return };
        if !is_unicast(o.dst) {
            return;
        }
        let failed = o.outcome.failed();
        if failed || o.empty {
            self.by_source(o, threat, out);
            if o.direction == Direction::Inbound {
                self.by_target(o, out);
            }
        } else if let Some(s) = self.sources.get_mut(&o.src) {
            // A conversation: it counts against a horizontal scan on that port.
            if let Some(p) = s.hosts_per_port.get_mut(&o.dst_port) {
                p.2 += 1;
            }
        }
    }

    fn by_source(&mut self, o: &Observation, threat: BehaviourThreat, out: &mut Findings) {
        let c = &self.config;
        let window_ms = (c.window_secs * 1000.0) as i64;
        let s = self.sources.touch(&o.src, o.at, Source::default);
        if s.probes > 0 && (o.at - s.last > window_ms || o.at - s.first > 4 * window_ms) {
            *s = Source::default();
        }
        if s.probes == 0 {
            s.first = o.at;
        }
        s.last = s.last.max(o.at);
        s.probes += 1;
        s.protocol = o.protocol;
        let failed = o.outcome.failed();
        let new_target = s.targets.len() < MAX_TARGETS && s.targets.entry_or((o.dst, o.dst_port), || ()).1;
        let port = s.hosts_per_port.entry_or(o.dst_port, Default::default).0;
        if failed {
            port.0 += u32::from(new_target);
            port.1 += 1;
        } else {
            port.2 += 1;
        }
        if new_target {
            *s.ports_per_host.entry_or(o.dst, || 0).0 += 1;
        }
        let dst_of = |k: Kind| match k {
            Kind::Horizontal(_) => None,
            Kind::Vertical(h) => Some(h),
        };
        if let Some((detected_at, kind)) = s.detected {
            if !out.add(threat, o.src, dst_of(kind), 1, o.at) {
                out.push(source_finding(o.src, s, kind, threat, detected_at, 1));
            }
            return;
        }
        let horizontal = s.hosts_per_port.get(&o.dst_port).is_some_and(|&(hosts, failed, other)| {
            hosts >= c.horizontal_hosts && f64::from(failed) >= c.horizontal_failed_share * f64::from(failed + other)
        });
        let vertical = s.ports_per_host.get(&o.dst).is_some_and(|&n| n >= c.vertical_ports);
        let kind = if vertical {
            Some(Kind::Vertical(o.dst))
        } else if horizontal {
            Some(Kind::Horizontal(o.dst_port))
        } else {
            None
        };
        if let Some(kind) = kind {
            s.detected = Some((o.at, kind));
            let count = s.probes;
            out.push(source_finding(o.src, s, kind, threat, o.at, count));
        }
    }

    fn by_target(&mut self, o: &Observation, out: &mut Findings) {
        let c = &self.config;
        let window_ms = (c.window_secs * 1000.0) as i64;
        let t = self.targets.touch(&o.dst, o.at, Target::default);
        t.sources.retain(|_, s| o.at - s.1 <= window_ms);
        if !t.sources.contains_key(&o.src) && t.sources.len() >= MAX_SOURCES {
            if let Some(oldest) = t.sources.iter().min_by_key(|(_, s)| s.1).map(|(ip, _)| *ip) {
                t.sources.remove(&oldest);
            }
        }
        let e = t.sources.entry_or(o.src, || (o.at, o.at, 0)).0;
        e.1 = e.1.max(o.at);
        e.2 += 1;
        *t.ports.entry_or(o.dst_port, || 0).0 += 1;
        if t.ports.len() > 64 {
            // Keep the most probed ports only: they are what the summary names.
            t.ports.keep_top(32, |_, n| std::cmp::Reverse(*n));
        }
        let n = t.sources.len() as u32;
        if n < c.probe_sources {
            t.reporting = false;
            return;
        }
        let threat = BehaviourThreat::ScanInbound;
        // The first time the host counts as under scanning, every source of the window is reported
        // (with all its probes); from then on, each probe.
        let sources: Vec<(IpAddr, (i64, i64, u64))> = if t.reporting {
            vec![(o.src, (o.at, o.at, 1))]
        } else {
            t.reporting = true;
            t.sources.iter().map(|(ip, s)| (*ip, *s)).collect()
        };
        for (src, (first, last, probes)) in sources {
            if !out.add(threat, src, Some(o.dst), probes, last) {
                out.push(target_finding(src, o, t, first, last, probes, n));
            }
        }
    }

    pub fn expire(&mut self, now: i64) {
        let before = now - (self.config.window_secs * 1000.0) as i64;
        self.sources.expire(before);
        self.targets.expire(before);
    }

    pub fn stats(&self) -> (usize, u64, usize) {
        let per_source: usize = self
            .sources
            .values()
            .map(|s| s.targets.heap_bytes() + s.hosts_per_port.heap_bytes() + s.ports_per_host.heap_bytes())
            .sum();
        let per_target: usize = self.targets.values().map(|t| t.sources.heap_bytes() + t.ports.heap_bytes()).sum();
        (
            self.sources.len() + self.targets.len(),
            self.sources.evicted() + self.targets.evicted(),
            self.sources.shallow_bytes() + self.targets.shallow_bytes() + per_source + per_target,
        )
    }
}

fn direction_words(threat: BehaviourThreat) -> &'static str {
    match threat {
        BehaviourThreat::ScanOutbound => {
            "An internal host is probing outside hosts: a bot spreading or a compromised host looking for victims."
        }
        BehaviourThreat::ScanLateral => {
            "An internal host is probing other internal hosts: lateral movement, or an unannounced scanner."
        }
        _ => "An outside address is probing your hosts for services to attack.",
    }
}

fn source_finding(
    src: IpAddr,
    s: &Source,
    kind: Kind,
    threat: BehaviourThreat,
    detected_at: i64,
    count: u64,
) -> Finding {
    let span = span_words((s.last - s.first) as f64 / 1000.0);
    let proto = proto_name(s.protocol);
    let (summary, dst, port, figures) = match kind {
        Kind::Horizontal(port) => {
            let hosts = s.hosts_per_port.get(&port).map_or(0, |p| p.0);
            (
                format!(
                    "horizontal scan: {src} probed {hosts} hosts on port {port}/{proto} over {span} ({} probes)",
                    s.probes
                ),
                None,
                Some(port),
                json!({ "kind": "horizontal", "hosts": hosts, "port": port, "probes": s.probes, "span_secs": (s.last - s.first) as f64 / 1000.0 }),
            )
        }
        Kind::Vertical(host) => {
            let ports = s.ports_per_host.get(&host).copied().unwrap_or(0);
            (
                format!("vertical scan: {src} probed {ports} ports on {host} over {span} ({} probes)", s.probes),
                Some(host),
                None,
                json!({ "kind": "vertical", "ports": ports, "host": host.to_string(), "probes": s.probes, "span_secs": (s.last - s.first) as f64 / 1000.0 }),
            )
        }
    };
    let risk = match threat {
        BehaviourThreat::ScanLateral => 75,
        BehaviourThreat::ScanOutbound => 70,
        _ => 55,
    };
    Finding {
        threat,
        src,
        dst,
        dst_port: port,
        protocol: Some(s.protocol),
        first_seen: s.first,
        last_seen: s.last,
        detected_at,
        count,
        risk,
        summary,
        details: vec![
            direction_words(threat).to_string(),
            format!("{} distinct targets (host and port) probed in this window; a probe is an attempt that was unanswered, refused or carried no data.", s.targets.len()),
        ],
        figures,
    }
}

fn target_finding(
    src: IpAddr,
    o: &Observation,
    t: &Target,
    first: i64,
    last: i64,
    probes: u64,
    sources: u32,
) -> Finding {
    let mut ports: Vec<(u16, u32)> = t.ports.iter().map(|(p, n)| (*p, *n)).collect();
    ports.sort_by_key(|p| (std::cmp::Reverse(p.1), p.0));
    let top: Vec<String> = ports.iter().take(5).map(|(p, _)| p.to_string()).collect();
    Finding {
        threat: BehaviourThreat::ScanInbound,
        src,
        dst: Some(o.dst),
        dst_port: Some(o.dst_port),
        protocol: Some(o.protocol),
        first_seen: first,
        last_seen: last,
        detected_at: o.at,
        count: probes,
        risk: 30,
        summary: format!(
            "unsolicited connection attempt to {} that was {}; {sources} outside sources probed this host within the window (most probed ports: {})",
            endpoint(o.dst, o.dst_port, o.protocol),
            if o.outcome.failed() { "not answered" } else { "empty" },
            top.join(", ")
        ),
        details: vec![
            direction_words(BehaviourThreat::ScanInbound).to_string(),
            "Each source that probes a host under such scanning is reported at low risk: block what keeps coming back, and check that nothing answered on a port that should be closed.".to_string(),
        ],
        figures: json!({ "kind": "probe", "sources": sources, "probes": probes, "ports": top }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Behaviour, BehaviourConfig, Outcome};
    use super::*;

    #[test]
    fn a_slow_horizontal_scan_across_batches_is_found_once() {
        // One host every 40 s on 23/tcp, 60 hosts: 40 minutes, one batch per probe.
        let obs: Vec<Observation> = (0..60)
            .map(|i| {
                conn(
                    1_700_000_000_000 + i * 40_000,
                    "192.168.1.50",
                    &format!("45.{}.{}.9", 10 + i / 200, i % 200),
                    23,
                    Outcome::Unanswered,
                )
            })
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 1);
        assert!(!found.is_empty(), "slow scan found");
        assert!(found.iter().all(|f| f.threat == BehaviourThreat::ScanOutbound && f.dst.is_none()));
        assert!(found[0].summary.contains("probed 20 hosts on port 23/tcp"), "{}", found[0].summary);
        assert_eq!(found.iter().map(|f| f.count).sum::<u64>(), 60, "every probe counted once");
    }

    #[test]
    fn a_vertical_scan_names_the_host() {
        let obs: Vec<Observation> = (0..40u16)
            .map(|p| {
                conn(1_700_000_000_000 + i64::from(p) * 100, "45.1.2.3", "192.168.1.9", 1000 + p, Outcome::Refused)
            })
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 1000);
        let f = found.iter().find(|f| f.figures["kind"] == "vertical").expect("vertical");
        assert_eq!((f.threat, f.dst), (BehaviourThreat::ScanInbound, Some(ip("192.168.1.9"))));
    }

    #[test]
    fn a_host_probed_by_many_sources_reports_each_of_them() {
        let obs: Vec<Observation> = (0..12)
            .map(|i| {
                conn(1_700_000_000_000 + i * 60_000, &format!("77.1.2.{i}"), "192.168.1.9", 23, Outcome::Unanswered)
            })
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 3);
        let sources: HashSet<IpAddr> = found.iter().map(|f| f.src).collect();
        assert_eq!(sources.len(), 12, "the first four are reported once the fifth arrives");
        assert!(found[0].summary.contains("outside sources probed this host"), "{}", found[0].summary);
        // Four sources are not yet a pattern.
        let mut b = Behaviour::new(BehaviourConfig::default());
        assert!(run(&mut b, &obs[..4], 1).is_empty());
    }

    #[test]
    fn answered_traffic_to_many_hosts_is_not_a_scan() {
        let obs: Vec<Observation> = (0..100)
            .map(|i| {
                conn(1_700_000_000_000 + i * 1000, "192.168.1.50", &format!("151.101.{}.1", i), 443, Outcome::Answered)
            })
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        assert!(run(&mut b, &obs, 10).is_empty());
    }
}
