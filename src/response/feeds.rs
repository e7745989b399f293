//! The enforcement feeds: the response actions in force, in the formats the tools that enforce them
//! read. Each is rendered from the active, unexpired, approved actions only, so a lifted or expired
//! block leaves every feed at the next poll. Nothing a person typed (reasons, notes) is written into
//! a feed: only canonical addresses and networks, action numbers and fixed words.
//!
//! - [`plain`]: one address or network a line (firewalls that poll a list: pfSense/OPNsense URL
//!   tables, FortiGate external threat feeds, Palo Alto external dynamic lists);
//! - [`nftables`]: a file for `nft -f` that replaces the table `inet anomalyforge` whole, with sets of
//!   blocked networks and isolated hosts and the chains that drop their traffic;
//! - [`suricata`]: drop rules for Suricata in IPS mode, both directions, one `sid` per action and
//!   direction.
//!
//! Overlapping entries are collapsed for the list and the sets (an address inside a blocked network
//! is left out), because nftables refuses overlapping intervals in one set.

use super::{canonical, ActionKind};
use crate::intel::Cidr;
use std::net::IpAddr;

/// The first Suricata `sid` of the feed: action `n` has `SID_BASE + 2n` (inbound) and `+ 1`
/// (outbound), in the range Suricata leaves to local rules.
pub const SID_BASE: u64 = 9_100_000;

/// One action in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub id: i64,
    pub kind: ActionKind,
    /// Canonical address or network.
    pub target: String,
}

/// The distinct networks of `kind`, with every one inside another left out; IPv4 first, then by
/// address and prefix.
pub fn collapse(entries: &[FeedEntry], kind: ActionKind) -> Vec<Cidr> {
    let mut nets: Vec<Cidr> =
        entries.iter().filter(|e| e.kind == kind).filter_map(|e| Cidr::parse(&e.target).ok()).collect();
    let key = |c: &Cidr| (c.network().is_ipv6(), c.network(), c.prefix_len());
    nets.sort_by_key(key);
    nets.dedup();
    let all = nets.clone();
    nets.retain(|c| !all.iter().any(|o| o != c && o.prefix_len() <= c.prefix_len() && o.contains(c.network())));
    nets
}

/// One address or network a line, nothing else (no comments: some firewalls read every line as an
/// entry).
pub fn plain(entries: &[FeedEntry], kind: ActionKind) -> String {
    collapse(entries, kind).iter().map(|c| canonical(c) + "\n").collect()
}

fn elements(nets: &[Cidr], v6: bool) -> Option<String> {
    let list: Vec<String> = nets.iter().filter(|c| c.network().is_ipv6() == v6).map(canonical).collect();
    (!list.is_empty()).then(|| format!("\t\telements = {{ {} }}\n", list.join(", ")))
}

fn set(name: &str, v6: bool, interval: bool, nets: &[Cidr]) -> String {
    format!(
        "\tset {name} {{\n\t\ttype {}\n{}{}\t}}\n",
        if v6 { "ipv6_addr" } else { "ipv4_addr" },
        if interval { "\t\tflags interval\n" } else { "" },
        elements(nets, v6).unwrap_or_default()
    )
}

/// An nftables file (`nft -f`): creates the table if it is missing, deletes it, and defines it again,
/// so loading it twice leaves exactly this. Blocked networks are dropped coming in, going out and
/// passing through; isolated hosts are cut off from everything that passes through this firewall.
pub fn nftables(entries: &[FeedEntry], generated_at: &str) -> String {
    let blocked = collapse(entries, ActionKind::Block);
    let isolated = collapse(entries, ActionKind::Isolate);
    let mut s = format!(
        "# AnomalyForge response actions in force at {generated_at}: {} blocked, {} isolated.\n\
         # Load with `nft -f`; it replaces the table inet anomalyforge whole.\n\
         table inet anomalyforge {{}}\n\
         delete table inet anomalyforge\n\
         table inet anomalyforge {{\n",
        blocked.len(),
        isolated.len()
    );
    s.push_str(&set("blocked_v4", false, true, &blocked));
    s.push_str(&set("blocked_v6", true, true, &blocked));
    s.push_str(&set("isolated_v4", false, false, &isolated));
    s.push_str(&set("isolated_v6", true, false, &isolated));
    let chain = |name: &str, rules: &[&str]| {
        let mut c = format!("\tchain {name} {{\n\t\ttype filter hook {name} priority filter - 10; policy accept;\n");
        for r in rules {
            c.push_str("\t\t");
            c.push_str(r);
            c.push('\n');
        }
        c.push_str("\t}\n");
        c
    };
    s.push_str(&chain("input", &["ip saddr @blocked_v4 drop", "ip6 saddr @blocked_v6 drop"]));
    s.push_str(&chain(
        "forward",
        &[
            "ip saddr @blocked_v4 drop",
            "ip daddr @blocked_v4 drop",
            "ip6 saddr @blocked_v6 drop",
            "ip6 daddr @blocked_v6 drop",
            "ip saddr @isolated_v4 drop",
            "ip daddr @isolated_v4 drop",
            "ip6 saddr @isolated_v6 drop",
            "ip6 daddr @isolated_v6 drop",
        ],
    ));
    s.push_str(&chain("output", &["ip daddr @blocked_v4 drop", "ip6 daddr @blocked_v6 drop"]));
    s.push_str("}\n");
    s
}

/// Suricata drop rules: for each action in force, traffic from its target and traffic to it.
pub fn suricata(entries: &[FeedEntry], generated_at: &str) -> String {
    let mut s = format!(
        "# AnomalyForge response actions in force at {generated_at}: {} rules.\n",
        entries.iter().filter(|e| e.kind != ActionKind::Manual).count() * 2
    );
    for e in entries.iter().filter(|e| e.kind != ActionKind::Manual) {
        // Only canonical addresses reach a rule: anything else is skipped, never written.
        let Ok(c) = Cidr::parse(&e.target) else { continue };
        let Ok(id) = u64::try_from(e.id) else { continue };
        let addr = canonical(&c);
        let addr = if matches!(c.network(), IpAddr::V6(_)) { format!("[{addr}]") } else { addr };
        let what = if e.kind == ActionKind::Block { "block" } else { "isolate" };
        let sid = SID_BASE + 2 * id;
        s.push_str(&format!(
            "drop ip {addr} any -> any any (msg:\"AnomalyForge {what} #{} from {}\"; sid:{sid}; rev:1;)\n",
            e.id,
            canonical(&c)
        ));
        s.push_str(&format!(
            "drop ip any any -> {addr} any (msg:\"AnomalyForge {what} #{} to {}\"; sid:{}; rev:1;)\n",
            e.id,
            canonical(&c),
            sid + 1
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(id: i64, kind: ActionKind, target: &str) -> FeedEntry {
        FeedEntry { id, kind, target: target.into() }
    }

    fn sample() -> Vec<FeedEntry> {
        vec![
            e(1, ActionKind::Block, "203.0.113.7"),
            e(2, ActionKind::Block, "198.51.100.0/24"),
            e(3, ActionKind::Block, "198.51.100.9"),
            e(4, ActionKind::Block, "203.0.113.7"),
            e(5, ActionKind::Block, "2001:db8::1"),
            e(6, ActionKind::Isolate, "10.0.0.5"),
            e(7, ActionKind::Manual, "reset a password"),
        ]
    }

    #[test]
    fn the_plain_list_is_one_entry_a_line_collapsed() {
        assert_eq!(plain(&sample(), ActionKind::Block), "198.51.100.0/24\n203.0.113.7\n2001:db8::1\n");
        assert_eq!(plain(&sample(), ActionKind::Isolate), "10.0.0.5\n");
        assert_eq!(plain(&[], ActionKind::Block), "");
    }

    #[test]
    fn the_nftables_file_replaces_its_table_and_fills_its_sets() {
        let f = nftables(&sample(), "2026-12-06T12:00:00Z");
        assert!(
            f.starts_with("# AnomalyForge response actions in force at 2026-12-06T12:00:00Z: 3 blocked, 1 isolated.")
        );
        assert!(f.contains("table inet anomalyforge {}\ndelete table inet anomalyforge\ntable inet anomalyforge {\n"));
        assert!(f.contains("elements = { 198.51.100.0/24, 203.0.113.7 }"), "{f}");
        assert!(f.contains("elements = { 2001:db8::1 }") && f.contains("elements = { 10.0.0.5 }"));
        let empty = nftables(&[], "t");
        assert!(!empty.contains("elements"), "an empty set has no elements line: {empty}");
    }

    #[test]
    fn suricata_rules_drop_both_ways_with_one_sid_each() {
        let r = suricata(&sample(), "t");
        assert!(r.contains(
            "drop ip 203.0.113.7 any -> any any (msg:\"AnomalyForge block #1 from 203.0.113.7\"; sid:9100002; rev:1;)"
        ));
        assert!(r.contains(
            "drop ip any any -> 10.0.0.5 any (msg:\"AnomalyForge isolate #6 to 10.0.0.5\"; sid:9100013; rev:1;)"
        ));
        assert!(r.contains("drop ip [2001:db8::1] any -> any any"));
        assert!(!r.contains("password"), "manual actions are not rules");
        assert_eq!(r.lines().filter(|l| l.starts_with("drop ")).count(), 12);
    }

    proptest! {
        /// Every listed entry is a target of the input, no two listed entries overlap, and every
        /// input target is covered by a listed one.
        #[test]
        fn collapse_covers_everything_without_overlap(raw in proptest::collection::vec((0u8..4, 0u8..255, prop_oneof![Just(32u8), Just(24u8), Just(16u8)]), 0..40)) {
            let entries: Vec<FeedEntry> = raw.iter().enumerate().map(|(i, (b, c, p))| {
                e(i as i64, ActionKind::Block, &format!("198.{}.{c}.9/{p}", 50 + b))
            }).collect();
            let out = collapse(&entries, ActionKind::Block);
            for (i, a) in out.iter().enumerate() {
                for b in &out[i + 1..] {
                    prop_assert!(!(a.contains(b.network()) || b.contains(a.network())), "{a} and {b} overlap");
                }
            }
            for en in &entries {
                let c = Cidr::parse(&en.target).unwrap();
                prop_assert!(out.iter().any(|o| o.prefix_len() <= c.prefix_len() && o.contains(c.network())));
            }
        }
    }
}
