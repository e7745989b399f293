//! The threat vocabulary: what the classifier predicts and what a SOC acts on.
//!
//! Browser-safe (serde only). Dataset labels of every CIC-IDS2017 release map onto one [`Threat`]
//! through [`Threat::from_label`]; the mapping is reported by `anomalyforge eval`.
//!
//! `Infiltration - Portscan` (a port scan run from an already compromised internal host) maps to
//! [`Threat::PortScan`]: flow features cannot tell it from an external scan. Where the source sits is
//! applied after classification, as context (see `DESIGN.md`, "Detection ensemble").

use serde::{Deserialize, Serialize};
use std::fmt;

/// A threat type the classifier can predict. `Benign` is the absence of a threat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threat {
    Benign,
    Botnet,
    Ddos,
    DosGoldenEye,
    DosHulk,
    DosSlowhttptest,
    DosSlowloris,
    FtpPatator,
    SshPatator,
    Heartbleed,
    Infiltration,
    PortScan,
    WebBruteForce,
    WebXss,
    WebSqlInjection,
}

/// Attack families, used for leave-one-family-out evaluation and grouping in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreatFamily {
    Benign,
    Dos,
    Ddos,
    PortScan,
    Botnet,
    BruteForce,
    WebAttack,
    Infiltration,
    Heartbleed,
}

impl Threat {
    /// Every threat, in class-index order (the classifier's output order).
    pub const ALL: [Threat; 15] = [
        Threat::Benign,
        Threat::Botnet,
        Threat::Ddos,
        Threat::DosGoldenEye,
        Threat::DosHulk,
        Threat::DosSlowhttptest,
        Threat::DosSlowloris,
        Threat::FtpPatator,
        Threat::SshPatator,
        Threat::Heartbleed,
        Threat::Infiltration,
        Threat::PortScan,
        Threat::WebBruteForce,
        Threat::WebXss,
        Threat::WebSqlInjection,
    ];

    /// Number of classes.
    pub const COUNT: usize = 15;

    /// Position in [`Threat::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Inverse of [`Threat::index`].
    pub fn from_index(i: usize) -> Option<Threat> {
        Threat::ALL.get(i).copied()
    }

    pub fn is_attack(self) -> bool {
        self != Threat::Benign
    }

    pub fn is_web_attack(self) -> bool {
        matches!(self, Threat::WebBruteForce | Threat::WebXss | Threat::WebSqlInjection)
    }

    /// Stable machine name (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Threat::Benign => "benign",
            Threat::Botnet => "botnet",
            Threat::Ddos => "ddos",
            Threat::DosGoldenEye => "dos_golden_eye",
            Threat::DosHulk => "dos_hulk",
            Threat::DosSlowhttptest => "dos_slowhttptest",
            Threat::DosSlowloris => "dos_slowloris",
            Threat::FtpPatator => "ftp_patator",
            Threat::SshPatator => "ssh_patator",
            Threat::Heartbleed => "heartbleed",
            Threat::Infiltration => "infiltration",
            Threat::PortScan => "port_scan",
            Threat::WebBruteForce => "web_brute_force",
            Threat::WebXss => "web_xss",
            Threat::WebSqlInjection => "web_sql_injection",
        }
    }

    /// Human title for the UI.
    pub fn title(self) -> &'static str {
        match self {
            Threat::Benign => "Benign",
            Threat::Botnet => "Botnet",
            Threat::Ddos => "DDoS",
            Threat::DosGoldenEye => "DoS GoldenEye",
            Threat::DosHulk => "DoS Hulk",
            Threat::DosSlowhttptest => "DoS Slowhttptest",
            Threat::DosSlowloris => "DoS Slowloris",
            Threat::FtpPatator => "FTP brute force (Patator)",
            Threat::SshPatator => "SSH brute force (Patator)",
            Threat::Heartbleed => "Heartbleed",
            Threat::Infiltration => "Infiltration",
            Threat::PortScan => "Port scan",
            Threat::WebBruteForce => "Web brute force",
            Threat::WebXss => "Cross-site scripting",
            Threat::WebSqlInjection => "SQL injection",
        }
    }

    pub fn family(self) -> ThreatFamily {
        match self {
            Threat::Benign => ThreatFamily::Benign,
            Threat::Botnet => ThreatFamily::Botnet,
            Threat::Ddos => ThreatFamily::Ddos,
            Threat::DosGoldenEye | Threat::DosHulk | Threat::DosSlowhttptest | Threat::DosSlowloris => {
                ThreatFamily::Dos
            }
            Threat::FtpPatator | Threat::SshPatator => ThreatFamily::BruteForce,
            Threat::Heartbleed => ThreatFamily::Heartbleed,
            Threat::Infiltration => ThreatFamily::Infiltration,
            Threat::PortScan => ThreatFamily::PortScan,
            Threat::WebBruteForce | Threat::WebXss | Threat::WebSqlInjection => ThreatFamily::WebAttack,
        }
    }

    /// The first step of the playbook for this threat type (shown next to an alert).
    pub fn playbook(self) -> &'static str {
        match self {
            Threat::Benign => "No action.",
            Threat::Botnet => "Isolate the host, look for the command-and-control peer, reimage.",
            Threat::Ddos | Threat::DosGoldenEye | Threat::DosHulk | Threat::DosSlowhttptest | Threat::DosSlowloris => {
                "Rate-limit or block the sources upstream; check the target service's health."
            }
            Threat::FtpPatator | Threat::SshPatator => {
                "Block the source, check the target's authentication logs for a successful login."
            }
            Threat::Heartbleed => "Patch OpenSSL on the target, rotate its keys and session secrets.",
            Threat::Infiltration => "Treat the internal host as compromised: isolate and investigate.",
            Threat::PortScan => {
                "Block the source if external; if internal, treat it as lateral movement from a compromised host."
            }
            Threat::WebBruteForce => "Lock the targeted accounts, rate-limit the login endpoint.",
            Threat::WebXss | Threat::WebSqlInjection => {
                "Check the web application's logs for the payload; enable the WAF rule; patch the input handling."
            }
        }
    }

    /// Maps a dataset label (any CIC-IDS2017 spelling) onto the vocabulary. Returns `None` for a label
    /// we do not know. `X - Attempted` (2021 corrected release) maps onto `X`'s threat type.
    pub fn from_label(label: &str) -> Option<Threat> {
        let norm = normalize_label(label);
        let base = norm.strip_suffix(" - attempted").unwrap_or(&norm);
        Some(match base {
            "benign" => Threat::Benign,
            "bot" | "botnet" => Threat::Botnet,
            "ddos" => Threat::Ddos,
            "dos goldeneye" => Threat::DosGoldenEye,
            "dos hulk" => Threat::DosHulk,
            "dos slowhttptest" => Threat::DosSlowhttptest,
            "dos slowloris" => Threat::DosSlowloris,
            "ftp-patator" => Threat::FtpPatator,
            "ssh-patator" => Threat::SshPatator,
            "heartbleed" => Threat::Heartbleed,
            "infiltration" => Threat::Infiltration,
            "portscan" | "port scan" | "infiltration - portscan" => Threat::PortScan,
            "web attack - brute force" => Threat::WebBruteForce,
            "web attack - xss" => Threat::WebXss,
            "web attack - sql injection" => Threat::WebSqlInjection,
            _ => return None,
        })
    }
}

/// Lower-cases, turns en/em dashes and the mojibake replacement character into `-`, and collapses
/// whitespace, so `Web Attack – XSS`, `Web Attack � XSS` and `Web Attack - XSS` compare equal.
pub fn normalize_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut last_space = true;
    for c in label.chars() {
        let c = match c {
            '\u{2013}' | '\u{2014}' | '\u{2212}' | '\u{FFFD}' => '-',
            c => c,
        };
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.extend(c.to_lowercase());
            last_space = false;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Threat types raised by the host-behaviour detectors (`crate::behaviour`): patterns of many
/// connections over time that no single flow shows. The classifier never predicts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BehaviourThreat {
    /// An internal host calls one external endpoint again and again: at regular intervals with
    /// similar sizes, or persistently although it is refused or unanswered.
    C2Beacon,
    /// An outside address probes our hosts: many hosts or ports, or one of many sources probing the
    /// same host.
    ScanInbound,
    /// An internal host probes other internal hosts (lateral movement).
    ScanLateral,
    /// An internal host probes many outside hosts or ports (a bot spreading).
    ScanOutbound,
    /// Many short connections from one source to an authentication service.
    BruteForce,
    /// A flood of connections or packets against one of our hosts.
    DosInbound,
    /// An internal host floods an outside host (a bot taking part in a DDoS).
    FloodOutbound,
    /// An unusually large upload from an internal host to a destination it rarely uses.
    Exfiltration,
}

impl BehaviourThreat {
    pub const ALL: [BehaviourThreat; 8] = [
        BehaviourThreat::C2Beacon,
        BehaviourThreat::ScanInbound,
        BehaviourThreat::ScanLateral,
        BehaviourThreat::ScanOutbound,
        BehaviourThreat::BruteForce,
        BehaviourThreat::DosInbound,
        BehaviourThreat::FloodOutbound,
        BehaviourThreat::Exfiltration,
    ];

    /// Stable machine name: the alert's threat key and its playbook's.
    pub fn name(self) -> &'static str {
        match self {
            BehaviourThreat::C2Beacon => "c2_beacon",
            BehaviourThreat::ScanInbound => "scan_inbound",
            BehaviourThreat::ScanLateral => "scan_lateral",
            BehaviourThreat::ScanOutbound => "scan_outbound",
            BehaviourThreat::BruteForce => "brute_force",
            BehaviourThreat::DosInbound => "dos_inbound",
            BehaviourThreat::FloodOutbound => "flood_outbound",
            BehaviourThreat::Exfiltration => "exfiltration",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            BehaviourThreat::C2Beacon => "Command-and-control beacon",
            BehaviourThreat::ScanInbound => "Inbound scan or probe",
            BehaviourThreat::ScanLateral => "Internal (lateral) scan",
            BehaviourThreat::ScanOutbound => "Outbound scan from an internal host",
            BehaviourThreat::BruteForce => "Password guessing",
            BehaviourThreat::DosInbound => "Denial of service against an asset",
            BehaviourThreat::FloodOutbound => "Flood sent by an internal host",
            BehaviourThreat::Exfiltration => "Large upload to a rare destination",
        }
    }

    pub fn from_name(key: &str) -> Option<BehaviourThreat> {
        BehaviourThreat::ALL.into_iter().find(|t| t.name() == key)
    }
}

impl fmt::Display for Threat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

impl ThreatFamily {
    pub const ATTACKS: [ThreatFamily; 8] = [
        ThreatFamily::Dos,
        ThreatFamily::Ddos,
        ThreatFamily::PortScan,
        ThreatFamily::Botnet,
        ThreatFamily::BruteForce,
        ThreatFamily::WebAttack,
        ThreatFamily::Infiltration,
        ThreatFamily::Heartbleed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ThreatFamily::Benign => "benign",
            ThreatFamily::Dos => "dos",
            ThreatFamily::Ddos => "ddos",
            ThreatFamily::PortScan => "port_scan",
            ThreatFamily::Botnet => "botnet",
            ThreatFamily::BruteForce => "brute_force",
            ThreatFamily::WebAttack => "web_attack",
            ThreatFamily::Infiltration => "infiltration",
            ThreatFamily::Heartbleed => "heartbleed",
        }
    }
}

/// What an alert's stored `threat` names. Alerts keep the key as text (it is what the database, the
/// API and the playbooks use), and this is its one reading: one list of keys, one title each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreatKey<'a> {
    /// A class of the engine's classifier (an attack type, or `benign`).
    Attack(Threat),
    /// A behaviour detector's finding.
    Behaviour(BehaviourThreat),
    /// An anomaly the classifier could not name (`unknown_anomaly`).
    UnknownAnomaly,
    /// A Suricata signature alert (`signature`).
    Signature,
    /// A threat-intel match (`intel_match`).
    Intel,
    /// A key this version does not know (a newer server's, or a removed type's), shown as stored.
    Other(&'a str),
}

impl<'a> ThreatKey<'a> {
    /// Reads a stored key; never fails (an unknown key is [`ThreatKey::Other`]). `benign` reads as
    /// the classifier's class (a file analysis shows flows by class), though no alert carries it.
    pub fn parse(key: &'a str) -> ThreatKey<'a> {
        match key {
            crate::alert::SIGNATURE_THREAT => ThreatKey::Signature,
            crate::alert::INTEL_THREAT => ThreatKey::Intel,
            crate::playbook::UNKNOWN_ANOMALY => ThreatKey::UnknownAnomaly,
            k => Threat::ALL
                .into_iter()
                .find(|t| t.name() == k)
                .map(ThreatKey::Attack)
                .or_else(|| BehaviourThreat::from_name(k).map(ThreatKey::Behaviour))
                .unwrap_or(ThreatKey::Other(k)),
        }
    }

    /// Every key an alert can carry, for filter lists: the engine's attack types, the behaviour
    /// detectors' types, then `unknown_anomaly`, `signature` and `intel_match`.
    pub fn all() -> Vec<ThreatKey<'static>> {
        Threat::ALL
            .into_iter()
            .filter(|t| t.is_attack())
            .map(ThreatKey::Attack)
            .chain(BehaviourThreat::ALL.map(ThreatKey::Behaviour))
            .chain([ThreatKey::UnknownAnomaly, ThreatKey::Signature, ThreatKey::Intel])
            .collect()
    }

    /// The stored key.
    pub fn name(self) -> &'a str {
        match self {
            ThreatKey::Attack(t) => t.name(),
            ThreatKey::Behaviour(t) => t.name(),
            ThreatKey::UnknownAnomaly => crate::playbook::UNKNOWN_ANOMALY,
            ThreatKey::Signature => crate::alert::SIGNATURE_THREAT,
            ThreatKey::Intel => crate::alert::INTEL_THREAT,
            ThreatKey::Other(k) => k,
        }
    }

    /// The title people read (`ddos` → "DDoS"); an unknown key is shown as stored.
    pub fn title(self) -> &'a str {
        match self {
            ThreatKey::Attack(t) => t.title(),
            ThreatKey::Behaviour(t) => t.title(),
            ThreatKey::UnknownAnomaly => "Unknown anomaly",
            ThreatKey::Signature => "Suricata signature",
            ThreatKey::Intel => "Threat-intel match",
            ThreatKey::Other(k) => k,
        }
    }
}

/// The title of a stored threat key, owned: [`ThreatKey::title`] for the many places that map keys
/// to strings.
pub fn threat_title(key: &str) -> String {
    ThreatKey::parse(key).title().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_both_releases_map_to_one_vocabulary() {
        assert_eq!(Threat::from_label("PortScan"), Some(Threat::PortScan));
        assert_eq!(Threat::from_label("Portscan"), Some(Threat::PortScan));
        assert_eq!(Threat::from_label("Infiltration - Portscan"), Some(Threat::PortScan));
        assert_eq!(Threat::from_label("Bot"), Some(Threat::Botnet));
        assert_eq!(Threat::from_label("Botnet"), Some(Threat::Botnet));
        assert_eq!(Threat::from_label("Web Attack \u{2013} XSS"), Some(Threat::WebXss));
        assert_eq!(Threat::from_label("Web Attack - XSS"), Some(Threat::WebXss));
        assert_eq!(Threat::from_label("Web Attack \u{FFFD} Sql Injection"), Some(Threat::WebSqlInjection));
        assert_eq!(Threat::from_label("Web Attack - SQL Injection"), Some(Threat::WebSqlInjection));
        assert_eq!(Threat::from_label("DoS slowloris"), Some(Threat::DosSlowloris));
        assert_eq!(Threat::from_label(" BENIGN "), Some(Threat::Benign));
        assert_eq!(Threat::from_label("DoS Hulk - Attempted"), Some(Threat::DosHulk));
        assert_eq!(Threat::from_label("something else"), None);
    }

    #[test]
    fn index_round_trips() {
        for t in Threat::ALL {
            assert_eq!(Threat::from_index(t.index()), Some(t));
        }
    }

    #[test]
    fn every_threat_key_reads_back_with_one_title() {
        let all = ThreatKey::all();
        let mut names = std::collections::HashSet::new();
        for k in &all {
            assert!(names.insert(k.name()), "{} listed twice", k.name());
            assert_eq!(ThreatKey::parse(k.name()), *k);
            assert!(!k.title().is_empty() && k.title() != k.name(), "{} has a title", k.name());
        }
        assert_eq!(ThreatKey::parse("signature").title(), "Suricata signature");
        assert_eq!(ThreatKey::parse("c2_beacon"), ThreatKey::Behaviour(BehaviourThreat::C2Beacon));
        assert_eq!(ThreatKey::parse("benign").title(), "Benign");
        assert_eq!(ThreatKey::parse("from_the_future").title(), "from_the_future");
        assert!(!all.contains(&ThreatKey::Attack(Threat::Benign)));
    }
}
