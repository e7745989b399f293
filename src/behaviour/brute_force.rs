//! Password guessing: many short, answered connections from one source to one authentication service
//! (SSH, Telnet, FTP, RDP, SMB, VNC, mail and database logins; web logins only when the target is one
//! of ours, with a higher threshold, since browsers open many connections to the sites they use).
//!
//! Counted over a sliding window, estimated from two tumbling windows (the previous one weighted by
//! how much of it still overlaps), so the state per pair is a few counters whatever the rate.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::table::Table;
use super::{endpoint, span_words, BehaviourThreat, Direction, Finding, Findings, Observation, Outcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BruteForceConfig {
    /// Login attempts (short answered connections) within the window that make password guessing.
    pub attempts: u32,
    /// The same for web login ports, counted only towards our own hosts.
    pub web_attempts: u32,
    /// Window in seconds.
    pub window_secs: f64,
    /// Longest connection (seconds) that counts as one attempt.
    pub max_attempt_secs: f64,
    /// Authentication services (destination ports).
    pub auth_ports: Vec<u16>,
    /// Web ports whose logins are counted with `web_attempts`.
    pub web_ports: Vec<u16>,
}

impl Default for BruteForceConfig {
    fn default() -> Self {
        BruteForceConfig {
            attempts: 20,
            web_attempts: 100,
            window_secs: 600.0,
            max_attempt_secs: 60.0,
            auth_ports: vec![
                21, 22, 23, 25, 110, 139, 143, 389, 445, 465, 587, 993, 995, 1433, 2323, 3306, 3389, 5432, 5900,
            ],
            web_ports: vec![80, 443, 8080, 8443],
        }
    }
}

impl BruteForceConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.attempts < 3 || self.web_attempts < 3 {
            return Err("attempts and web_attempts must be at least 3".into());
        }
        if self.window_secs <= 0.0 || self.max_attempt_secs <= 0.0 {
            return Err("window_secs and max_attempt_secs must be above 0".into());
        }
        Ok(())
    }
}

type Key = (IpAddr, IpAddr, u16);

#[derive(Debug, Default)]
struct Pair {
    first: i64,
    last: i64,
    window_start: i64,
    current: u32,
    previous: u32,
    attempts: u64,
    bytes: u64,
    detected: Option<i64>,
    /// Most attempts within one window so far: the threshold that would have kept this pair quiet
    /// lies above it ([`super::tuning`]).
    peak: f32,
}

impl Pair {
    /// Attempts in the window ending at `at`.
    fn in_window(&self, at: i64, window_ms: i64) -> f64 {
        let into = (at - self.window_start).clamp(0, window_ms) as f64 / window_ms as f64;
        f64::from(self.current) + f64::from(self.previous) * (1.0 - into)
    }
}

#[derive(Debug)]
pub struct BruteForce {
    config: BruteForceConfig,
    pairs: Table<Key, Pair>,
}

impl BruteForce {
    pub fn new(config: BruteForceConfig, cap: usize) -> BruteForce {
        BruteForce { config, pairs: Table::new(cap) }
    }

    /// Judges from now on with these settings (the state is kept).
    pub fn retune(&mut self, config: BruteForceConfig) {
        self.config = config;
    }

    pub fn observe(&mut self, o: &Observation, out: &mut Findings) {
        let c = &self.config;
        let web = c.web_ports.contains(&o.dst_port);
        if !(c.auth_ports.contains(&o.dst_port)
            || web && matches!(o.direction, Direction::Inbound | Direction::Lateral))
        {
            return;
        }
        if o.outcome != Outcome::Answered || f64::from(o.duration) > c.max_attempt_secs || o.protocol != 6 {
            return;
        }
        let threshold = if web { c.web_attempts } else { c.attempts };
        let window_ms = (c.window_secs * 1000.0) as i64;
        let key = (o.src, o.dst, o.dst_port);
        let p = self.pairs.touch(&key, o.at, Pair::default);
        if p.attempts == 0 || o.at - p.last > 2 * window_ms {
            *p = Pair { first: o.at, window_start: o.at, ..Pair::default() };
        }
        while o.at - p.window_start >= window_ms {
            p.previous = if o.at - p.window_start >= 2 * window_ms { 0 } else { p.current };
            p.current = 0;
            p.window_start += window_ms * ((o.at - p.window_start) / window_ms).max(1);
        }
        p.current += 1;
        p.attempts += 1;
        p.bytes += o.orig_bytes;
        p.last = p.last.max(o.at);
        let in_window = p.in_window(o.at, window_ms);
        p.peak = p.peak.max(in_window as f32);
        let threat = BehaviourThreat::BruteForce;
        if let Some(detected_at) = p.detected {
            if !out.add(threat, o.src, Some(o.dst), 1, o.at) {
                out.push(finding(key, p, o, detected_at, 1, window_ms, web));
            }
            return;
        }
        if in_window >= f64::from(threshold) {
            p.detected = Some(o.at);
            let n = p.attempts;
            out.push(finding(key, p, o, o.at, n, window_ms, web));
        }
    }

    pub fn expire(&mut self, now: i64) {
        self.pairs.expire(now - 2 * (self.config.window_secs * 1000.0) as i64);
    }

    pub fn stats(&self) -> (usize, u64, usize) {
        (self.pairs.len(), self.pairs.evicted(), self.pairs.shallow_bytes())
    }
}

fn service(port: u16) -> &'static str {
    match port {
        21 => "FTP",
        22 => "SSH",
        23 | 2323 => "Telnet",
        25 | 465 | 587 => "SMTP",
        110 | 995 => "POP3",
        143 | 993 => "IMAP",
        139 | 445 => "SMB",
        389 => "LDAP",
        1433 => "SQL Server",
        3306 => "MySQL",
        3389 => "RDP",
        5432 => "PostgreSQL",
        5900 => "VNC",
        80 | 443 | 8080 | 8443 => "web",
        _ => "login",
    }
}

/// `web`: judged with `web_attempts`.
fn finding(key: Key, p: &Pair, o: &Observation, detected_at: i64, count: u64, window_ms: i64, web: bool) -> Finding {
    let (src, dst, port) = key;
    let risk = match o.direction {
        Direction::Lateral => 80,
        Direction::Outbound => 75,
        _ => 65,
    };
    Finding {
        threat: BehaviourThreat::BruteForce,
        src,
        dst: Some(dst),
        dst_port: Some(port),
        protocol: Some(o.protocol),
        first_seen: p.first,
        last_seen: p.last,
        detected_at,
        count,
        risk,
        summary: format!(
            "{} short {} connections to {} over {} (about {:.0} within {}), {:.0} bytes sent on average",
            p.attempts,
            service(port),
            endpoint(dst, port, o.protocol),
            span_words((p.last - p.first) as f64 / 1000.0),
            p.in_window(p.last, window_ms),
            span_words(window_ms as f64 / 1000.0),
            p.bytes as f64 / p.attempts.max(1) as f64
        ),
        details: vec![
            "Each login attempt of a guessing tool is a new, short connection to the login service.".to_string(),
            match o.direction {
                Direction::Outbound => {
                    "The source is one of your hosts: it may be infected and attacking others (bots spread this way)."
                        .to_string()
                }
                Direction::Lateral => {
                    "Both hosts are yours: a compromised host may be trying to move laterally.".to_string()
                }
                _ => "Check the service's log for a successful login from this source.".to_string(),
            },
        ],
        figures: json!({ "attempts": p.attempts, "service": service(port), "port": port, "web": web, "window_attempts": p.peak, "window_secs": window_ms / 1000, "mean_bytes": p.bytes as f64 / p.attempts.max(1) as f64 }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Behaviour, BehaviourConfig, Outcome};
    use super::*;

    fn guesses(n: i64, every_ms: i64) -> Vec<Observation> {
        (0..n)
            .map(|i| conn(1_700_000_000_000 + i * every_ms, "45.9.9.9", "192.168.1.22", 22, Outcome::Answered))
            .collect()
    }

    #[test]
    fn ssh_guessing_is_found() {
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &guesses(60, 2_000), 5);
        let f = found.iter().find(|f| f.threat == BehaviourThreat::BruteForce).expect("found");
        assert!(f.summary.contains("short SSH connections to 192.168.1.22:22/tcp"), "{}", f.summary);
        assert_eq!(found.iter().filter(|f| f.threat == BehaviourThreat::BruteForce).map(|f| f.count).sum::<u64>(), 60);
    }

    #[test]
    fn guessing_under_the_threshold_is_not() {
        // 18 attempts per 10 minutes, for an hour: always under 20 in any window.
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &guesses(108, 600_000 / 18 + 1), 5);
        assert!(found.iter().all(|f| f.threat != BehaviourThreat::BruteForce), "{found:?}");
    }

    #[test]
    fn browsing_a_site_is_not_web_guessing() {
        let obs: Vec<Observation> = (0..300)
            .map(|i| conn(1_700_000_000_000 + i * 500, "192.168.1.22", "151.101.1.69", 443, Outcome::Answered))
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        assert!(run(&mut b, &obs, 50).iter().all(|f| f.threat != BehaviourThreat::BruteForce));
    }
}
