//! Traffic analytics of the SOC console (browser-safe): flows per second and alerting flows per
//! second over the selected range, the protocol and service mix, and the top talkers. All of it is
//! read from per-minute aggregates the pipeline writes in each batch's transaction (`traffic_minute`
//! for the rates and protocols, `traffic_top_minute` for services and talkers), never from the flows
//! themselves, so it costs the same with or without the flow history.
//!
//! Talkers and services are bounded: each batch contributes its [`TOP_PER_BATCH`] busiest keys of
//! each dimension and sums the rest under [`OTHER`], so a scan of 60,000 ports or a spoofed flood
//! cannot grow the table without bound, and a dimension's flows still add up to the total.

use crate::charts::{bar_chart, line_chart, Axis, Bar, BarChartSpec, Chart, Colour, LineChartSpec, TimeSeries};
use crate::flow_history::proto_name;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// Keys of one dimension a batch writes per minute; the rest of the batch is summed under [`OTHER`].
pub const TOP_PER_BATCH: usize = 64;
/// The key of "everything else" (and of flows without addresses).
pub const OTHER: &str = "";
/// Talkers and services listed.
pub const TOP_LISTED: usize = 10;
/// Days of busiest-key rows kept (the console's ranges reach 7 days back; custom ranges further back
/// still get rates and protocols, from `traffic_minute`).
pub const KEEP_TOP_DAYS: i64 = 31;
/// Points of the rate chart at most.
const MAX_POINTS: i64 = 120;

/// A dimension of `traffic_top_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    Src,
    Dst,
    Service,
}

impl Dim {
    pub const ALL: [Dim; 3] = [Dim::Src, Dim::Dst, Dim::Service];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Src => "src",
            Dim::Dst => "dst",
            Dim::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Flows, bytes and alerting flows of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub flows: i64,
    pub bytes: i64,
    pub alerting: i64,
}

impl Volume {
    pub fn add(&mut self, o: Volume) {
        self.flows += o.flows;
        self.bytes += o.bytes;
        self.alerting += o.alerting;
    }
}

/// One bucket of the rate chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    /// Bucket start, unix ms.
    pub at: i64,
    pub flows: i64,
    pub alerting: i64,
}

/// One row of a mix or top list: a protocol (`tcp`), a service (`tcp/443`) or an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// What it is; [`OTHER`] for everything beyond the busiest.
    pub key: String,
    pub volume: Volume,
}

impl Share {
    /// `tcp/443 (https)`, an address, or "everything else".
    pub fn label(&self) -> String {
        if self.key == OTHER {
            return "everything else".to_string();
        }
        match service_name(&self.key) {
            Some(name) => format!("{} ({name})", self.key),
            None => self.key.clone(),
        }
    }
}

/// The console's traffic analytics for a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficAnalytics {
    pub from: i64,
    pub to: i64,
    /// Width of a rate bucket, ms (a whole number of minutes).
    pub bucket_ms: i64,
    /// Every bucket of the range, oldest first, zeros included.
    pub series: Vec<RatePoint>,
    /// Flows by protocol, most first.
    pub protocols: Vec<Share>,
    /// The busiest services (protocol and destination port), most flows first, then "everything
    /// else" when it has any.
    pub services: Vec<Share>,
    /// The busiest sources and destinations by flows, and by bytes.
    pub sources: Vec<Share>,
    pub destinations: Vec<Share>,
    pub sources_by_bytes: Vec<Share>,
    pub destinations_by_bytes: Vec<Share>,
    pub total: Volume,
}

impl TrafficAnalytics {
    /// Buckets of whole minutes, at most [`MAX_POINTS`] of them over `from..to`.
    pub fn bucket_for(from: i64, to: i64) -> i64 {
        let minutes = ((to - from).max(60_000) + 59_999) / 60_000;
        let per = (minutes + MAX_POINTS - 1) / MAX_POINTS;
        // Round up to a width that reads well on an axis.
        let width = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440].into_iter().find(|w| *w >= per).unwrap_or(per);
        width * 60_000
    }

    /// Flows per second and alerting flows per second (a bucket's flows over its seconds).
    pub fn rate_chart(&self) -> Chart {
        let secs = (self.bucket_ms / 1000).max(1) as f64;
        let any = self.total.flows > 0;
        let series = |name: &str, colour, f: fn(&RatePoint) -> i64| TimeSeries {
            name: name.into(),
            colour: Some(colour),
            points: if any { self.series.iter().map(|p| (p.at, f(p) as f64 / secs)).collect() } else { Vec::new() },
        };
        line_chart(&LineChartSpec {
            title: "Flows per second".into(),
            x: Axis::new("Time", "UTC"),
            y: Axis::new("Flows", "per second"),
            series: vec![
                series("all flows", Colour(0x00, 0x72, 0xb2), |p| p.flows),
                series("alerting flows", Colour(0xd5, 0x5e, 0x00), |p| p.alerting),
            ],
        })
    }

    /// Flows by protocol.
    pub fn protocol_chart(&self) -> Chart {
        share_chart("Flows by protocol", &self.protocols)
    }

    /// Flows by service (protocol and destination port).
    pub fn service_chart(&self) -> Chart {
        share_chart("Flows by service", &self.services)
    }
}

fn share_chart(title: &str, shares: &[Share]) -> Chart {
    bar_chart(&BarChartSpec {
        title: title.into(),
        value_axis: Axis::new("Flows", "in the range"),
        colour: None,
        bars: shares
            .iter()
            .filter(|s| s.volume.flows > 0)
            .map(|s| Bar { label: s.label(), value: s.volume.flows as f64 })
            .collect(),
    })
}

/// `tcp/443`.
pub fn service_key(protocol: u8, port: u16) -> String {
    format!("{}/{port}", proto_name(protocol))
}

/// The usual name of a well-known service key, `None` when it has none here.
pub fn service_name(key: &str) -> Option<&'static str> {
    let (proto, port) = key.split_once('/')?;
    let port: u16 = port.parse().ok()?;
    let name = match (proto, port) {
        ("tcp", 20 | 21) => "ftp",
        ("tcp", 22) => "ssh",
        ("tcp", 23) => "telnet",
        ("tcp", 25 | 465 | 587) => "smtp",
        (_, 53) => "dns",
        ("udp", 67 | 68) => "dhcp",
        ("tcp", 80 | 8080 | 8000) => "http",
        ("udp", 123) => "ntp",
        ("tcp", 110 | 995) => "pop3",
        ("udp", 137 | 138) | ("tcp", 139) => "netbios",
        ("tcp", 143 | 993) => "imap",
        ("udp", 161 | 162) => "snmp",
        ("tcp", 389 | 636) => "ldap",
        ("tcp", 443 | 8443) => "https",
        ("udp", 443) => "quic",
        ("tcp", 445) => "smb",
        ("udp", 500 | 4500) => "ipsec",
        ("udp", 514) => "syslog",
        ("udp", 1900) => "ssdp",
        ("tcp", 1433) => "mssql",
        ("tcp", 3306) => "mysql",
        ("tcp", 3389) => "rdp",
        ("udp", 5353) => "mdns",
        ("tcp", 5432) => "postgresql",
        ("tcp", 5900) => "vnc",
        ("tcp", 6379) => "redis",
        _ => return None,
    };
    Some(name)
}

/// A key of [`TopCounter`], formatted only for the rows it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TopKey {
    /// Flows without addresses, and everything beyond the busiest.
    Other,
    Ip(IpAddr),
    /// Protocol number and destination port.
    Service(u8, u16),
}

impl TopKey {
    pub fn text(self) -> String {
        match self {
            TopKey::Other => OTHER.to_string(),
            TopKey::Ip(ip) => ip.to_string(),
            TopKey::Service(p, port) => service_key(p, port),
        }
    }
}

/// One batch's per-minute keys of each dimension, cut to the busiest: counts everything, then keeps
/// the [`TOP_PER_BATCH`] keys with the most flows per minute and sums the rest under [`OTHER`].
#[derive(Debug, Default)]
pub struct TopCounter {
    counts: HashMap<(i64, Dim, TopKey), Volume>,
}

impl TopCounter {
    pub fn add(&mut self, minute: i64, dim: Dim, key: TopKey, v: Volume) {
        self.counts.entry((minute, dim, key)).or_default().add(v);
    }

    /// `(minute, dim, key, volume)` sorted by minute, dim and key, at most `TOP_PER_BATCH + 1` rows
    /// per minute and dimension.
    pub fn finish(self) -> Vec<(i64, Dim, String, Volume)> {
        let mut groups: HashMap<(i64, Dim), Vec<(TopKey, Volume)>> = HashMap::new();
        for ((minute, dim, key), v) in self.counts {
            groups.entry((minute, dim)).or_default().push((key, v));
        }
        let mut out = Vec::new();
        for ((minute, dim), mut keys) in groups {
            // Busiest first; ties by key so the cut is the same every time.
            keys.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then_with(|| a.0.cmp(&b.0)));
            let mut other = Volume::default();
            let mut kept = 0;
            for (key, v) in keys {
                if key != TopKey::Other && kept < TOP_PER_BATCH {
                    kept += 1;
                    out.push((minute, dim, key.text(), v));
                } else {
                    other.add(v);
                }
            }
            if other != Volume::default() {
                out.push((minute, dim, OTHER.to_string(), other));
            }
        }
        out.sort_by(|a, b| (a.0, a.1.as_str(), &a.2).cmp(&(b.0, b.1.as_str(), &b.2)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::tests::{snapshot, well_formed};
    use proptest::prelude::*;

    /// A whole hour (2025-11-24 16:00 UTC).
    const T0: i64 = 1_764_000_000_000;

    fn share(key: &str, flows: i64) -> Share {
        Share { key: key.into(), volume: Volume { flows, bytes: flows * 900, alerting: flows / 10 } }
    }

    fn analytics() -> TrafficAnalytics {
        let bucket_ms = TrafficAnalytics::bucket_for(T0, T0 + 3_600_000);
        let series = (0..60)
            .map(|i| RatePoint {
                at: T0 + i * bucket_ms,
                flows: 600 + (i % 7) * 120,
                alerting: if i > 40 { 90 } else { 3 },
            })
            .collect();
        TrafficAnalytics {
            from: T0,
            to: T0 + 3_600_000,
            bucket_ms,
            series,
            protocols: vec![share("tcp", 30_000), share("udp", 9_000), share("icmp", 120)],
            services: vec![share("tcp/443", 20_000), share("udp/53", 8_000), share("tcp/4444", 700), share(OTHER, 300)],
            sources: vec![share("10.0.0.5", 9_000)],
            destinations: vec![share("203.0.113.7", 4_000)],
            sources_by_bytes: vec![],
            destinations_by_bytes: vec![],
            total: Volume { flows: 39_120, bytes: 0, alerting: 2_000 },
        }
    }

    #[test]
    fn buckets_are_whole_minutes_and_at_most_120() {
        assert_eq!(TrafficAnalytics::bucket_for(0, 15 * 60_000), 60_000);
        assert_eq!(TrafficAnalytics::bucket_for(0, 3_600_000), 60_000);
        assert_eq!(TrafficAnalytics::bucket_for(0, 86_400_000), 15 * 60_000);
        assert_eq!(TrafficAnalytics::bucket_for(0, 7 * 86_400_000), 120 * 60_000);
        for span in [1, 59_999, 61_000, 3 * 86_400_000 + 7] {
            let b = TrafficAnalytics::bucket_for(0, span);
            assert_eq!(b % 60_000, 0);
            assert!(span / b <= MAX_POINTS, "{span}: {b}");
        }
    }

    #[test]
    fn services_read_with_their_names() {
        assert_eq!(service_key(6, 443), "tcp/443");
        assert_eq!(share("tcp/443", 1).label(), "tcp/443 (https)");
        assert_eq!(share("udp/53", 1).label(), "udp/53 (dns)");
        assert_eq!(share("tcp/4444", 1).label(), "tcp/4444");
        assert_eq!(share(OTHER, 1).label(), "everything else");
        assert_eq!(share("10.0.0.5", 1).label(), "10.0.0.5");
    }

    #[test]
    fn traffic_charts_snapshot() {
        let a = analytics();
        for (name, chart) in [
            ("traffic_rate", a.rate_chart()),
            ("traffic_protocols", a.protocol_chart()),
            ("traffic_services", a.service_chart()),
        ] {
            well_formed(chart.svg());
            snapshot(name, &chart);
        }
        assert!(a.service_chart().alt().contains("tcp/443 (https)"), "{}", a.service_chart().alt());
        let empty = TrafficAnalytics { total: Volume::default(), protocols: vec![], services: vec![], ..analytics() };
        assert!(empty.rate_chart().svg().contains("No data"), "an empty range says so");
        assert!(empty.protocol_chart().svg().contains("No data"));
    }

    proptest! {
        /// However many keys a batch has, at most TOP_PER_BATCH + 1 rows per minute and dimension are
        /// written, the busiest are kept, and nothing is lost: the volumes add up.
        #[test]
        fn the_busiest_are_kept_and_the_rest_adds_up(
            rows in proptest::collection::vec((0i64..3, 0usize..3, 0u16..200, 1i64..50, 0i64..5000), 0..600)
        ) {
            let mut c = TopCounter::default();
            let mut totals: HashMap<(i64, Dim), Volume> = HashMap::new();
            let mut per_key: HashMap<(i64, Dim, String), i64> = HashMap::new();
            for (m, d, k, flows, bytes) in &rows {
                let (minute, dim) = (m * 60_000, Dim::ALL[*d]);
                let ip = IpAddr::from([10, 0, (k / 256) as u8, (k % 256) as u8]);
                let key = if *k == 0 { TopKey::Other } else { TopKey::Ip(ip) };
                let v = Volume { flows: *flows, bytes: *bytes, alerting: flows / 2 };
                c.add(minute, dim, key, v);
                let key = key.text();
                totals.entry((minute, dim)).or_default().add(v);
                *per_key.entry((minute, dim, key)).or_default() += flows;
            }
            let out = c.finish();
            let mut sums: HashMap<(i64, Dim), Volume> = HashMap::new();
            let mut counts: HashMap<(i64, Dim), usize> = HashMap::new();
            for (m, d, k, v) in &out {
                sums.entry((*m, *d)).or_default().add(*v);
                *counts.entry((*m, *d)).or_default() += 1;
                if k != OTHER {
                    prop_assert_eq!(per_key[&(*m, *d, k.clone())], v.flows);
                    prop_assert!(k.parse::<IpAddr>().is_ok());
                }
            }
            prop_assert_eq!(sums, totals);
            prop_assert!(counts.values().all(|n| *n <= TOP_PER_BATCH + 1));
            // Every kept key has at least as many flows as every key summed into OTHER.
            for ((m, d), _) in counts {
                let kept: Vec<i64> = out.iter().filter(|r| r.0 == m && r.1 == d && r.2 != OTHER).map(|r| r.3.flows).collect();
                let kept_keys: Vec<&String> = out.iter().filter(|r| r.0 == m && r.1 == d).map(|r| &r.2).collect();
                let dropped = per_key
                    .iter()
                    .filter(|((pm, pd, k), _)| *pm == m && *pd == d && k != OTHER && !kept_keys.contains(&k))
                    .map(|(_, f)| *f);
                if let (Some(min_kept), Some(max_dropped)) = (kept.iter().min(), dropped.max()) {
                    prop_assert!(*min_kept >= max_dropped);
                }
            }
        }
    }
}
