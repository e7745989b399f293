//! Volume anomalies per host pair:
//! - **floods**: connections per minute from one source to one target far above what a person or a
//!   program talking to a service makes (a SYN, ACK or HTTP flood; the target may answer each one), or
//!   one-sided packets per minute (a UDP or ICMP flood in few records). Towards one of our hosts it is
//!   a denial of service; from one of our hosts towards the outside, a bot taking part in a DDoS.
//!   Resolver and time traffic (`ignore_ports`) is not judged: a site's DNS forwarder legitimately
//!   sends thousands of queries a minute to its upstream;
//! - **large uploads to a rare destination**: an internal host sends far more than it receives to an
//!   outside address it had not talked to before the window (possible exfiltration).
//!
//! Rates come from two tumbling one-minute windows (the previous one weighted by its overlap).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::table::Table;
use super::{bytes_words, is_unicast, span_words, BehaviourThreat, Direction, Finding, Findings, Observation};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VolumeConfig {
    /// Connections per minute from one source to one target that make a flood.
    pub flood_connections_per_min: u32,
    /// Packets per minute sent from one source to one target that make a flood.
    pub flood_packets_per_min: u64,
    /// A packet flood is one-sided: the target answers at most this share of the packets sent.
    pub flood_max_reply_share: f64,
    /// Destination ports whose floods are not judged.
    pub ignore_ports: Vec<u16>,
    /// Bytes sent to one outside address within `upload_window_secs` that make a large upload.
    pub upload_bytes: u64,
    pub upload_window_secs: f64,
    /// Sent ÷ received at and above which an upload is one-sided.
    pub upload_ratio: f64,
    /// A destination with at most this many earlier connections (before the upload window) is rare.
    pub rare_connections: u64,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        VolumeConfig {
            flood_connections_per_min: 600,
            flood_packets_per_min: 60_000,
            flood_max_reply_share: 0.25,
            ignore_ports: vec![53, 123],
            upload_bytes: 200_000_000,
            upload_window_secs: 3600.0,
            upload_ratio: 10.0,
            rare_connections: 5,
        }
    }
}

impl VolumeConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.flood_connections_per_min < 10 || self.flood_packets_per_min < 100 {
            return Err("flood_connections_per_min must be at least 10 and flood_packets_per_min at least 100".into());
        }
        if !(0.0..=1.0).contains(&self.flood_max_reply_share)
            || self.upload_window_secs <= 0.0
            || self.upload_ratio < 1.0
        {
            return Err("flood_max_reply_share must be 0–1, upload_window_secs above 0, upload_ratio at least 1".into());
        }
        Ok(())
    }
}

use crate::time::MINUTE;

#[derive(Debug, Default)]
struct Pair {
    /// First time this pair was seen (age decides whether a destination is rare).
    since: i64,
    last: i64,
    connections: u64,
    minute_start: i64,
    /// This and the previous minute: connections, packets sent, packets answered (saturating).
    cur: (u32, u32, u32),
    prev: (u32, u32, u32),
    /// Detected at, first connection of the flood.
    flood: Option<(i64, i64)>,
    /// The upload window: start, connections before it, bytes sent and received in it.
    upload_start: i64,
    before_upload: u64,
    sent: u64,
    received: u64,
    upload: Option<i64>,
    protocol: u8,
    port: u16,
}

impl Pair {
    fn per_minute(&self, at: i64) -> (f64, f64, f64) {
        let w = 1.0 - (at - self.minute_start).clamp(0, MINUTE) as f64 / MINUTE as f64;
        (
            f64::from(self.cur.0) + f64::from(self.prev.0) * w,
            f64::from(self.cur.1) + f64::from(self.prev.1) * w,
            f64::from(self.cur.2) + f64::from(self.prev.2) * w,
        )
    }
}

#[derive(Debug)]
pub struct Volumes {
    config: VolumeConfig,
    pairs: Table<(IpAddr, IpAddr), Pair>,
}

impl Volumes {
    pub fn new(config: VolumeConfig, cap: usize) -> Volumes {
        Volumes { config, pairs: Table::new(cap) }
    }

    /// Judges from now on with these settings (the state is kept).
    pub fn retune(&mut self, config: VolumeConfig) {
        self.config = config;
    }

    pub fn observe(&mut self, o: &Observation, out: &mut Findings) {
        let flood_threat = match o.direction {
            Direction::Inbound | Direction::Lateral => BehaviourThreat::DosInbound,
            Direction::Outbound => BehaviourThreat::FloodOutbound,
            Direction::Transit => return,
        };
        if !is_unicast(o.dst) {
            return;
        }
        let c = &self.config;
        let p = self.pairs.touch(&(o.src, o.dst), o.at, Pair::default);
        if p.connections == 0 {
            (p.since, p.minute_start, p.upload_start) = (o.at, o.at, o.at);
        }
        if o.at - p.minute_start >= MINUTE {
            p.prev = if o.at - p.minute_start >= 2 * MINUTE { (0, 0, 0) } else { p.cur };
            p.cur = (0, 0, 0);
            p.minute_start += MINUTE * ((o.at - p.minute_start) / MINUTE);
        }
        let upload_ms = (c.upload_window_secs * 1000.0) as i64;
        if o.at - p.upload_start >= upload_ms {
            (p.upload_start, p.before_upload, p.sent, p.received) = (o.at, p.connections, 0, 0);
            // A flood that has calmed down ends with the window; a new one is a new finding.
            if p.per_minute(o.at).0 < f64::from(c.flood_connections_per_min) / 2.0
                && p.per_minute(o.at).1 < c.flood_packets_per_min as f64 / 2.0
            {
                p.flood = None;
            }
        }
        p.connections += 1;
        p.last = p.last.max(o.at);
        (p.protocol, p.port) = (o.protocol, o.dst_port);
        let sat = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        p.cur.0 = p.cur.0.saturating_add(1);
        p.cur.1 = p.cur.1.saturating_add(sat(o.orig_pkts));
        p.cur.2 = p.cur.2.saturating_add(sat(o.resp_pkts));
        p.sent += o.orig_bytes;
        p.received += o.resp_bytes;

        if let Some((detected_at, first)) = p.flood {
            if !out.add(flood_threat, o.src, Some(o.dst), 1, o.at) {
                out.push(flood_finding(o, p, flood_threat, detected_at, first, 1));
            }
        } else {
            let (conns, pkts, replies) = p.per_minute(o.at);
            let one_sided = replies <= c.flood_max_reply_share * pkts;
            let judged = !c.ignore_ports.contains(&o.dst_port);
            if judged
                && (conns >= f64::from(c.flood_connections_per_min)
                    || one_sided && pkts >= c.flood_packets_per_min as f64)
            {
                let first = p.minute_start - if p.prev.0 > 0 { MINUTE } else { 0 };
                let count = u64::from(p.cur.0) + u64::from(p.prev.0);
                p.flood = Some((o.at, first));
                out.push(flood_finding(o, p, flood_threat, o.at, first, count));
            }
        }

        if o.direction == Direction::Outbound {
            if let Some(detected_at) = p.upload {
                if !out.add(BehaviourThreat::Exfiltration, o.src, Some(o.dst), 1, o.at) {
                    out.push(upload_finding(o, p, detected_at, 1));
                }
            } else if p.sent >= c.upload_bytes
                && p.sent as f64 >= c.upload_ratio * p.received.max(1) as f64
                && p.before_upload <= c.rare_connections
            {
                p.upload = Some(o.at);
                let n = p.connections - p.before_upload;
                out.push(upload_finding(o, p, o.at, n));
            }
        }
    }

    pub fn expire(&mut self, now: i64) {
        self.pairs.expire(now - (self.config.upload_window_secs * 1000.0) as i64);
    }

    pub fn stats(&self) -> (usize, u64, usize) {
        (self.pairs.len(), self.pairs.evicted(), self.pairs.shallow_bytes())
    }
}

fn flood_finding(
    o: &Observation,
    p: &Pair,
    threat: BehaviourThreat,
    detected_at: i64,
    first: i64,
    count: u64,
) -> Finding {
    let (conns, pkts, replies) = p.per_minute(o.at);
    let proto = super::proto_name(p.protocol);
    Finding {
        threat,
        src: o.src,
        dst: Some(o.dst),
        dst_port: Some(p.port),
        protocol: Some(p.protocol),
        first_seen: first,
        last_seen: p.last,
        detected_at,
        count,
        risk: if threat == BehaviourThreat::FloodOutbound { 80 } else { 70 },
        summary: format!(
            "{conns:.0} {proto} connections and {pkts:.0} packets a minute from {} to {}, {:.0} % of the packets answered",
            o.src,
            o.dst,
            if pkts > 0.0 { 100.0 * replies / pkts } else { 0.0 }
        ),
        details: vec![match threat {
            BehaviourThreat::FloodOutbound => "Your host is sending a one-sided flood to an outside address: it is likely infected and taking part in a DDoS.".to_string(),
            _ => "One source sends a one-sided flood to your host: a denial-of-service attempt.".to_string(),
        }],
        figures: json!({ "connections_per_min": conns, "packets_per_min": pkts, "replies_per_min": replies, "connections": p.connections }),
    }
}

fn upload_finding(o: &Observation, p: &Pair, detected_at: i64, count: u64) -> Finding {
    Finding {
        threat: BehaviourThreat::Exfiltration,
        src: o.src,
        dst: Some(o.dst),
        dst_port: Some(p.port),
        protocol: Some(p.protocol),
        first_seen: p.upload_start,
        last_seen: p.last,
        detected_at,
        count,
        risk: 65,
        summary: format!(
            "{} sent {} to {} over {} and received {}; {} had at most {} earlier connections to it",
            o.src,
            bytes_words(p.sent as f64),
            o.dst,
            span_words((p.last - p.upload_start) as f64 / 1000.0),
            bytes_words(p.received as f64),
            o.src,
            p.before_upload
        ),
        details: vec!["A large one-sided upload to an address the host rarely uses can be data leaving the organisation; ask the host's owner what it was.".to_string()],
        figures: json!({ "bytes_sent": p.sent, "bytes_received": p.received, "earlier_connections": p.before_upload }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Behaviour, BehaviourConfig, Outcome};
    use super::*;

    #[test]
    fn a_bot_flooding_a_victim_is_found() {
        // 50 unanswered SYNs a second from an internal host to one outside address.
        let obs: Vec<Observation> = (0..6000)
            .map(|i| conn(1_700_000_000_000 + i * 20, "192.168.1.66", "203.0.113.7", 80, Outcome::Unanswered))
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = run(&mut b, &obs, 2000);
        let floods: Vec<&Finding> = found.iter().filter(|f| f.threat == BehaviourThreat::FloodOutbound).collect();
        assert!(!floods.is_empty());
        assert!(floods[0].detected_at - obs[0].at <= 60_000);
        assert!(floods.iter().map(|f| f.count).sum::<u64>() >= 5000, "the flood's connections are counted");
    }

    #[test]
    fn an_answered_flood_is_a_flood_and_a_dns_forwarder_is_not() {
        // An ACK flood that the victim answers with a RST each: 20 connections a second, all answered.
        let flood: Vec<Observation> = (0..2400)
            .map(|i| conn(1_700_000_000_000 + i * 50, "192.168.1.66", "203.0.113.8", 443, Outcome::Answered))
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        assert!(run(&mut b, &flood, 500).iter().any(|f| f.threat == BehaviourThreat::FloodOutbound));
        let dns: Vec<Observation> = (0..2400)
            .map(|i| conn(1_700_000_000_000 + i * 50, "192.168.1.2", "9.9.9.9", 53, Outcome::Answered))
            .collect();
        let mut b = Behaviour::new(BehaviourConfig::default());
        assert!(run(&mut b, &dns, 500).iter().all(|f| f.threat != BehaviourThreat::FloodOutbound));
    }

    #[test]
    fn a_large_upload_to_a_new_destination_is_found_and_a_busy_website_is_not() {
        let mut up = conn(1_700_000_000_000, "192.168.1.66", "198.51.100.9", 443, Outcome::Answered);
        up.orig_bytes = 250_000_000;
        up.resp_bytes = 40_000;
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = b.observe(&[up]);
        assert_eq!(found.len(), 1);
        assert!(found[0].summary.contains("sent 250.0 MB to 198.51.100.9"), "{}", found[0].summary);
        let mut down = conn(1_700_000_000_000, "192.168.1.66", "198.51.100.10", 443, Outcome::Answered);
        down.resp_bytes = 900_000_000;
        assert!(b.observe(&[down]).is_empty());
    }
}
