//! Matching addresses against the active address and network indicators, at flow rate.
//!
//! [`IntelSet`] keeps exact addresses in one hash map and networks in one hash map per prefix length
//! (keyed by the masked address), so a lookup costs one probe per distinct prefix length in use,
//! whatever the number of indicators. When several sources list an address, the entry with the highest
//! confidence wins (then the most specific network, then the lowest id, so the choice is stable).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::Indicator;

/// An active indicator as matching needs it: enough to name it in an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRef {
    pub id: i64,
    pub source_id: i64,
    pub source: String,
    /// Canonical text of the indicator.
    pub value: String,
    /// The entry's confidence, or its source's.
    pub confidence: u8,
    pub description: String,
}

impl IndicatorRef {
    /// The 0–100 risk of a flow that matches it: the confidence, kept between 30 (a weak listing
    /// still deserves a look) and 90 (a listing alone is not proof of compromise).
    pub fn risk(&self) -> u8 {
        (f32::from(self.confidence) * 0.9).round().clamp(30.0, 90.0) as u8
    }
}

/// The active address and network indicators.
#[derive(Debug, Clone, Default)]
pub struct IntelSet {
    entries: Vec<IndicatorRef>,
    exact: HashMap<IpAddr, usize>,
    /// (prefix length, IPv6?) → masked network → entry; longest prefixes first.
    nets: Vec<(u8, bool, HashMap<IpAddr, usize>)>,
}

/// `ip` with the bits past `prefix` cleared.
pub fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let p = u32::from(prefix.min(32));
            let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let p = u32::from(prefix.min(128));
            let m = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

impl IntelSet {
    /// Builds the set from indicators; those that are not addresses or networks are left out.
    pub fn new(indicators: impl IntoIterator<Item = (Indicator, IndicatorRef)>) -> IntelSet {
        let mut set = IntelSet::default();
        let mut nets: HashMap<(u8, bool), HashMap<IpAddr, usize>> = HashMap::new();
        for (indicator, r) in indicators {
            let (slot, key) = match indicator {
                Indicator::Ip(ip) => (set.exact.get(&ip).copied(), None),
                Indicator::Cidr(c) => {
                    let k = (c.prefix_len(), c.network().is_ipv6());
                    (nets.get(&k).and_then(|m| m.get(&c.network())).copied(), Some((k, c.network())))
                }
                _ => continue,
            };
            if let Some(i) = slot {
                if !better(&r, &set.entries[i]) {
                    continue;
                }
            }
            let i = set.entries.len();
            set.entries.push(r);
            match (indicator, key) {
                (Indicator::Ip(ip), _) => {
                    set.exact.insert(ip, i);
                }
                (_, Some((k, net))) => {
                    nets.entry(k).or_default().insert(net, i);
                }
                _ => {}
            }
        }
        set.nets = nets.into_iter().map(|((p, v6), m)| (p, v6, m)).collect();
        set.nets.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        set
    }

    /// Indicators held (one per address or network).
    pub fn len(&self) -> usize {
        self.exact.len() + self.nets.iter().map(|n| n.2.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The indicator that lists `ip`, if any: the most confident of those that do.
    pub fn lookup(&self, ip: IpAddr) -> Option<&IndicatorRef> {
        let mut best: Option<&IndicatorRef> = self.exact.get(&ip).map(|&i| &self.entries[i]);
        for (prefix, v6, nets) in &self.nets {
            if *v6 != ip.is_ipv6() {
                continue;
            }
            if let Some(&i) = nets.get(&mask(ip, *prefix)) {
                let r = &self.entries[i];
                // Networks come longest first, so on equal confidence the more specific one stays.
                if best.is_none_or(|b| r.confidence > b.confidence) {
                    best = Some(r);
                }
            }
        }
        best
    }
}

/// Whether `a` should replace `b` for the same address or network.
fn better(a: &IndicatorRef, b: &IndicatorRef) -> bool {
    (a.confidence, std::cmp::Reverse(a.id)) > (b.confidence, std::cmp::Reverse(b.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(id: i64, value: &str, confidence: u8) -> (Indicator, IndicatorRef) {
        let indicator = Indicator::parse(value).unwrap();
        let value = indicator.to_string();
        (
            indicator,
            IndicatorRef { id, source_id: 1, source: "feed".into(), value, confidence, description: String::new() },
        )
    }

    #[test]
    fn addresses_and_networks_match_the_most_confident_listing() {
        let set = IntelSet::new([
            r(1, "203.0.113.7", 40),
            r(2, "203.0.113.0/24", 80),
            r(3, "198.51.100.0/22", 60),
            r(4, "198.51.100.0/24", 60),
            r(5, "2001:db8::/32", 70),
            r(6, "evil.example", 99),
            r(7, "203.0.113.7", 30),
        ]);
        assert_eq!(set.len(), 5, "the domain is left out and the repeat is kept once");
        let id = |ip: &str| set.lookup(ip.parse().unwrap()).map(|r| r.id);
        assert_eq!(id("203.0.113.7"), Some(2), "the /24 is more confident than the address");
        assert_eq!(id("203.0.113.200"), Some(2));
        assert_eq!(id("198.51.100.9"), Some(4), "equal confidence: the more specific network");
        assert_eq!(id("198.51.103.255"), Some(3));
        assert_eq!(id("198.51.104.0"), None);
        assert_eq!(id("2001:db8:1::5"), Some(5));
        assert_eq!(id("2001:db9::5"), None);
        assert_eq!(id("10.0.0.1"), None);
        assert_eq!(set.lookup("203.0.113.7".parse().unwrap()).unwrap().risk(), 72);
    }

    proptest! {
        /// The set answers like a scan over every listing would.
        #[test]
        fn lookup_agrees_with_a_scan(
            nets in proptest::collection::vec((any::<u32>(), 8u8..=32, 0u8..=100), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let listings: Vec<(Indicator, IndicatorRef)> = nets
                .iter()
                .enumerate()
                .map(|(i, &(a, p, c))| {
                    let net = mask(IpAddr::V4(Ipv4Addr::from(a)), p);
                    r(i as i64, &format!("{net}/{p}"), c)
                })
                .collect();
            let set = IntelSet::new(listings.clone());
            for probe in probes.iter().copied().chain(nets.iter().map(|n| n.0)) {
                let ip = IpAddr::V4(Ipv4Addr::from(probe));
                let best = listings.iter().filter(|(ind, _)| ind.contains_ip(ip)).map(|(_, r)| r.confidence).max();
                prop_assert_eq!(set.lookup(ip).map(|r| r.confidence), best);
            }
        }
    }
}
