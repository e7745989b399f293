//! What a per-flow verdict needs before it becomes an alert on real traffic.
//!
//! The ensemble was trained on one lab dataset. On the full CICFlowMeter feature set it is validated
//! flow by flow (benign FPR 0.0000 on held-out rows), so a single alerting flow raises an alert. On the
//! `conn` profile (16 coarse features: what Zeek, Suricata and NetFlow give) one lone flow says little:
//! on real Zeek logs a single unanswered outbound SYN looks like a port-scan probe, a plain HTTP
//! download like DoS Hulk, a long HTTPS download like Heartbleed (`shared/data/logs/zeek-labelled`:
//! 27 of 545 benign host pairs alerted, all by such lone flows). So a `conn`-profile detection alerts
//! only when
//! - the classifier is more sure of the attack class than of everything else together
//!   (`conn_min_class_probability`), and
//! - the same host pair shows it again: `conn_min_detections` detections of the same class within
//!   `window_secs` (every attack these classes name is many flows: scans, floods, guessing). From then
//!   on the pair's detections of that class alert at once, until it is quiet for a window.
//!
//! Traffic to multicast and broadcast addresses (SSDP, mDNS, NetBIOS) never alerts: it is discovery,
//! not a conversation with a host.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::table::Table;
use crate::detection::{FeatureProfile, Verdict};
use crate::flow::Flow;
use crate::ingest::time;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlGateConfig {
    /// Detections of one class between one host pair within the window before `conn`-profile
    /// detections alert (1 = every detection alerts).
    pub conn_min_detections: u32,
    /// Least probability of the attack class for a `conn`-profile detection.
    pub conn_min_class_probability: f32,
    pub window_secs: f64,
}

impl Default for MlGateConfig {
    fn default() -> Self {
        MlGateConfig { conn_min_detections: 3, conn_min_class_probability: 0.5, window_secs: 600.0 }
    }
}

impl MlGateConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.conn_min_detections == 0
            || !(0.0..=1.0).contains(&self.conn_min_class_probability)
            || self.window_secs <= 0.0
        {
            return Err(
                "conn_min_detections must be at least 1, conn_min_class_probability 0–1, window_secs above 0".into()
            );
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Pending {
    /// Recent detection times, at most `conn_min_detections`.
    times: Vec<i64>,
    /// Latest time a detection alerted (the pair is corroborated while it keeps going).
    confirmed: Option<i64>,
}

#[derive(Debug)]
pub struct MlGate {
    config: MlGateConfig,
    pairs: Table<(IpAddr, IpAddr, u8), Pending>,
    /// Detections held back so far (for the figures).
    pub held: u64,
}

impl MlGate {
    pub fn new(config: MlGateConfig, cap: usize) -> MlGate {
        MlGate { config, pairs: Table::new(cap), held: 0 }
    }

    /// Clears `alert` on the verdicts that may not alert yet (see the module docs).
    pub fn apply(&mut self, flows: &[Flow], verdicts: &mut [Verdict]) {
        let c = &self.config;
        let window_ms = (c.window_secs * 1000.0) as i64;
        // In time order, so "three within the window" means what it says when a batch is unordered.
        let mut order: Vec<(i64, usize)> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| v.alert)
            .map(|(i, _)| (time::flow_ms(&flows[i]).unwrap_or(0), i))
            .collect();
        order.sort_unstable();
        for (at, i) in order {
            let (f, v) = (&flows[i], &mut verdicts[i]);
            let Some(t) = f.five_tuple else { continue };
            if !super::is_unicast(t.dst_ip) {
                v.alert = false;
                self.held += 1;
                continue;
            }
            if v.profile != FeatureProfile::Conn
                || c.conn_min_detections <= 1 && v.class_probability >= c.conn_min_class_probability
            {
                continue;
            }
            if v.class.is_attack() && v.class_probability < c.conn_min_class_probability {
                v.alert = false;
                self.held += 1;
                continue;
            }
            let p = self.pairs.touch(&(t.src_ip, t.dst_ip, v.class.index() as u8), at, Pending::default);
            if p.confirmed.is_some_and(|last| at - last <= window_ms) {
                p.confirmed = Some(at);
                continue;
            }
            p.confirmed = None;
            p.times.retain(|&t| at - t <= window_ms);
            p.times.push(at);
            if p.times.len() >= c.conn_min_detections as usize {
                p.times.clear();
                p.confirmed = Some(at);
            } else {
                v.alert = false;
                self.held += 1;
            }
        }
    }

    pub fn expire(&mut self, now: i64) {
        self.pairs.expire(now - (self.config.window_secs * 1000.0) as i64);
    }

    pub fn stats(&self) -> (usize, u64, usize) {
        let owned: usize = self.pairs.values().map(|p| p.times.capacity() * 8).sum();
        (self.pairs.len(), self.pairs.evicted(), self.pairs.shallow_bytes() + owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{ConnSummary, FiveTuple};
    use crate::threat::Threat;

    fn flow(secs: i64, dst: &str) -> Flow {
        Flow::from_conn(&ConnSummary {
            five_tuple: Some(FiveTuple {
                src_ip: "192.168.1.5".parse().unwrap(),
                src_port: 4000,
                dst_ip: dst.parse().unwrap(),
                dst_port: 443,
                protocol: 6,
            }),
            timestamp: Some(time::format_micros(1_700_000_000_000_000 + secs * 1_000_000).unwrap()),
            duration_us: 1.0,
            fwd_packets: 2,
            bwd_packets: 0,
            fwd_bytes: 0,
            bwd_bytes: 0,
            protocol: 6,
            dst_port: 443,
        })
    }

    fn verdict(profile: FeatureProfile, p: f32) -> Verdict {
        Verdict {
            risk: 99.0,
            alert: true,
            class: Threat::PortScan,
            class_probability: p,
            profile,
            models: Vec::new(),
            top_features: Vec::new(),
            context: Vec::new(),
        }
    }

    #[test]
    fn a_lone_conn_detection_waits_for_its_pair_to_repeat() {
        let mut g = MlGate::new(MlGateConfig::default(), 1000);
        let flows: Vec<Flow> = [0, 100, 200, 300, 2000].iter().map(|&s| flow(s, "20.54.24.231")).collect();
        let mut v: Vec<Verdict> = flows.iter().map(|_| verdict(FeatureProfile::Conn, 0.99)).collect();
        // One batch at a time: the first two are held, the third and fourth alert, the fifth (a
        // quiet window later) is held again.
        for i in 0..flows.len() {
            g.apply(&flows[i..=i], &mut v[i..=i]);
        }
        assert_eq!(v.iter().map(|v| v.alert).collect::<Vec<_>>(), [false, false, true, true, false]);
    }

    #[test]
    fn full_feature_verdicts_alert_alone_and_discovery_never_does() {
        let mut g = MlGate::new(MlGateConfig::default(), 1000);
        let flows = [flow(0, "20.54.24.231"), flow(1, "239.255.255.250")];
        let mut v = vec![verdict(FeatureProfile::Cicflowmeter, 0.99), verdict(FeatureProfile::Cicflowmeter, 0.99)];
        g.apply(&flows, &mut v);
        assert!(v[0].alert && !v[1].alert);
    }

    #[test]
    fn an_unsure_class_on_coarse_features_does_not_alert() {
        let mut g = MlGate::new(MlGateConfig::default(), 1000);
        let flows: Vec<Flow> = (0..10).map(|s| flow(s, "90.182.9.57")).collect();
        let mut v: Vec<Verdict> = flows.iter().map(|_| verdict(FeatureProfile::Conn, 0.4)).collect();
        g.apply(&flows, &mut v);
        assert!(v.iter().all(|v| !v.alert));
    }
}
