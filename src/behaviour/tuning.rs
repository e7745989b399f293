//! The behaviour detectors' thresholds, fitted to one network from its analysts' feedback.
//!
//! A per-flow model learns a network's normal from a sample of its flows ([`crate::baseline`]). A
//! behaviour detector judges patterns over minutes to hours, which a uniform sample of flows does not
//! keep; what it has of a network's normal are the patterns it raised and the analysts judged. So the
//! refit reads the behaviour alerts analysts closed:
//! - a finding marked **false positive** is this network's normal: the threshold it reached is raised
//!   just above its measure ("a beacon score of 0.86 to the backup server is normal here");
//! - a finding **acknowledged or resolved** is a detection worth keeping: the threshold stays at or
//!   under its measure, whatever the false positives ask;
//! - no threshold goes below the configured value, and none above its ceiling: three times a count,
//!   four times a volume, halfway from a score to 1. Past the ceiling the pattern is too like what the
//!   detector exists to catch; suppress that host pair or change the config instead.
//!
//! The thresholds are written into the new model version ([`crate::detection::ModelManifest`]'s
//! `behaviour_thresholds`), so a rollback restores the previous ones, and [`apply`] lays them over the
//! configured settings wherever detectors run with that version (the pipeline, `eval`).

use serde_json::Value;

use super::BehaviourConfig;
use crate::baseline::BehaviourThreshold;
use crate::threat::BehaviourThreat;

/// A threshold the feedback may raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    BeaconMinScore,
    BeaconPersistentAttempts,
    ScanHorizontalHosts,
    ScanVerticalPorts,
    ScanProbeSources,
    BruteForceAttempts,
    BruteForceWebAttempts,
    FloodConnectionsPerMin,
    FloodPacketsPerMin,
    UploadBytes,
}

impl Setting {
    pub const ALL: [Setting; 10] = [
        Setting::BeaconMinScore,
        Setting::BeaconPersistentAttempts,
        Setting::ScanHorizontalHosts,
        Setting::ScanVerticalPorts,
        Setting::ScanProbeSources,
        Setting::BruteForceAttempts,
        Setting::BruteForceWebAttempts,
        Setting::FloodConnectionsPerMin,
        Setting::FloodPacketsPerMin,
        Setting::UploadBytes,
    ];

    /// The key in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Setting::BeaconMinScore => "beacon.min_score",
            Setting::BeaconPersistentAttempts => "beacon.persistent_attempts",
            Setting::ScanHorizontalHosts => "scan.horizontal_hosts",
            Setting::ScanVerticalPorts => "scan.vertical_ports",
            Setting::ScanProbeSources => "scan.probe_sources",
            Setting::BruteForceAttempts => "brute_force.attempts",
            Setting::BruteForceWebAttempts => "brute_force.web_attempts",
            Setting::FloodConnectionsPerMin => "volume.flood_connections_per_min",
            Setting::FloodPacketsPerMin => "volume.flood_packets_per_min",
            Setting::UploadBytes => "volume.upload_bytes",
        }
    }

    pub fn of_name(name: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn get(self, c: &BehaviourConfig) -> f64 {
        match self {
            Setting::BeaconMinScore => c.beacon.min_score,
            Setting::BeaconPersistentAttempts => f64::from(c.beacon.persistent_attempts),
            Setting::ScanHorizontalHosts => f64::from(c.scan.horizontal_hosts),
            Setting::ScanVerticalPorts => f64::from(c.scan.vertical_ports),
            Setting::ScanProbeSources => f64::from(c.scan.probe_sources),
            Setting::BruteForceAttempts => f64::from(c.brute_force.attempts),
            Setting::BruteForceWebAttempts => f64::from(c.brute_force.web_attempts),
            Setting::FloodConnectionsPerMin => f64::from(c.volume.flood_connections_per_min),
            Setting::FloodPacketsPerMin => c.volume.flood_packets_per_min as f64,
            Setting::UploadBytes => c.volume.upload_bytes as f64,
        }
    }

    fn set(self, c: &mut BehaviourConfig, v: f64) {
        let count = |v: f64| v.round().clamp(0.0, f64::from(u32::MAX)) as u32;
        match self {
            Setting::BeaconMinScore => c.beacon.min_score = v.clamp(0.0, 1.0),
            Setting::BeaconPersistentAttempts => c.beacon.persistent_attempts = count(v),
            Setting::ScanHorizontalHosts => c.scan.horizontal_hosts = count(v),
            Setting::ScanVerticalPorts => c.scan.vertical_ports = count(v),
            Setting::ScanProbeSources => c.scan.probe_sources = count(v),
            Setting::BruteForceAttempts => c.brute_force.attempts = count(v),
            Setting::BruteForceWebAttempts => c.brute_force.web_attempts = count(v),
            Setting::FloodConnectionsPerMin => c.volume.flood_connections_per_min = count(v),
            Setting::FloodPacketsPerMin => c.volume.flood_packets_per_min = v.round().max(0.0) as u64,
            Setting::UploadBytes => c.volume.upload_bytes = v.round().max(0.0) as u64,
        }
    }

    /// The most feedback may raise a configured value to.
    pub fn ceiling(self, configured: f64) -> f64 {
        match self {
            Setting::BeaconMinScore => configured + (1.0 - configured) / 2.0,
            Setting::FloodConnectionsPerMin | Setting::FloodPacketsPerMin | Setting::UploadBytes => 4.0 * configured,
            _ => 3.0 * configured,
        }
    }

    /// The smallest threshold a finding with this measure stays under (detectors alert at `>=`).
    fn above(self, measure: f64) -> f64 {
        match self {
            // Scores are shown with two decimals: the next hundredth.
            Setting::BeaconMinScore => ((measure * 100.0).floor() + 1.0) / 100.0,
            Setting::FloodConnectionsPerMin | Setting::FloodPacketsPerMin | Setting::UploadBytes => {
                (measure * 1.1).ceil()
            }
            _ => measure.floor() + 1.0,
        }
    }
}

/// How an analyst judged one behaviour finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Marked a false positive: this network's normal.
    FalsePositive,
    /// Acknowledged or resolved: a detection to keep.
    Kept,
}

/// One judged finding: which thresholds it reached, with what measures.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    pub judgement: Judgement,
    pub measures: Vec<(Setting, f64)>,
}

impl Feedback {
    /// The feedback of a stored behaviour alert: its status and its reasons JSON (as
    /// [`super::Finding::reasons`] wrote them). `None` when it is neither judged nor a behaviour
    /// finding with figures; `config` says which measures reached their thresholds.
    pub fn of_alert(status: &str, reasons: &str, config: &BehaviourConfig) -> Option<Feedback> {
        let judgement = match status {
            "false_positive" => Judgement::FalsePositive,
            "acknowledged" | "resolved" => Judgement::Kept,
            _ => return None,
        };
        let reasons: Value = serde_json::from_str(reasons).ok()?;
        let threat = BehaviourThreat::from_name(reasons.get("behaviour")?.as_str()?)?;
        let measures = measures(threat, reasons.get("figures")?, config);
        (!measures.is_empty()).then_some(Feedback { judgement, measures })
    }
}

/// The measures of a finding's figures, per setting that judged it.
pub fn measures(threat: BehaviourThreat, figures: &Value, config: &BehaviourConfig) -> Vec<(Setting, f64)> {
    let num = |k: &str| figures.get(k).and_then(Value::as_f64);
    let str = |k: &str| figures.get(k).and_then(Value::as_str);
    let one = |s: Setting, k: &str| num(k).map(|v| vec![(s, v)]).unwrap_or_default();
    match threat {
        BehaviourThreat::C2Beacon => match str("pattern") {
            // The highest score judged, which the threshold must pass (older alerts: the latest).
            Some("regular") => num("peak_score")
                .or_else(|| num("score"))
                .map(|v| vec![(Setting::BeaconMinScore, v)])
                .unwrap_or_default(),
            Some("persistent_failure") => match (num("refused"), num("unanswered")) {
                (Some(r), Some(u)) => vec![(Setting::BeaconPersistentAttempts, r + u)],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        BehaviourThreat::ScanInbound | BehaviourThreat::ScanLateral | BehaviourThreat::ScanOutbound => {
            match str("kind") {
                Some("horizontal") => one(Setting::ScanHorizontalHosts, "hosts"),
                Some("vertical") => one(Setting::ScanVerticalPorts, "ports"),
                Some("probe") => one(Setting::ScanProbeSources, "sources"),
                _ => Vec::new(),
            }
        }
        BehaviourThreat::BruteForce => {
            // The attempts within the window are what reached the threshold (older alerts: all).
            let attempts = num("window_attempts").or_else(|| num("attempts"));
            let setting = match figures.get("web").and_then(Value::as_bool) {
                Some(true) => Setting::BruteForceWebAttempts,
                _ => Setting::BruteForceAttempts,
            };
            attempts.map(|v| vec![(setting, v)]).unwrap_or_default()
        }
        BehaviourThreat::DosInbound | BehaviourThreat::FloodOutbound => {
            // A flood alerts on either rate: the ones that reached their thresholds judged it.
            let mut m = Vec::new();
            if let Some(c) =
                num("connections_per_min").filter(|&c| c >= f64::from(config.volume.flood_connections_per_min))
            {
                m.push((Setting::FloodConnectionsPerMin, c));
            }
            if let Some(p) = num("packets_per_min").filter(|&p| p >= config.volume.flood_packets_per_min as f64) {
                m.push((Setting::FloodPacketsPerMin, p));
            }
            m
        }
        BehaviourThreat::Exfiltration => one(Setting::UploadBytes, "bytes_sent"),
    }
}

/// The thresholds the feedback sets, one per setting any judged finding reached (in [`Setting::ALL`]
/// order). Settings with no false positive keep their configured value and are listed only when kept
/// detections bound them.
pub fn fit(config: &BehaviourConfig, feedback: &[Feedback]) -> Vec<BehaviourThreshold> {
    let mut out = Vec::new();
    for setting in Setting::ALL {
        let of = |j: Judgement| -> Vec<f64> {
            feedback
                .iter()
                .filter(|f| f.judgement == j)
                .flat_map(|f| f.measures.iter().filter(|(s, _)| *s == setting).map(|&(_, v)| v))
                .filter(|v| v.is_finite())
                .collect()
        };
        let (fps, kept) = (of(Judgement::FalsePositive), of(Judgement::Kept));
        if fps.is_empty() {
            continue;
        }
        let configured = setting.get(config);
        let ceiling = setting.ceiling(configured);
        let peak = fps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let floor = kept.iter().copied().fold(f64::INFINITY, f64::min);
        let learned = setting.above(peak).min(ceiling).min(floor).max(configured);
        // What the detector will actually use (counts are whole).
        let mut c = config.clone();
        setting.set(&mut c, learned);
        let learned = setting.get(&c);
        out.push(BehaviourThreshold {
            setting: setting.name().to_string(),
            configured,
            learned,
            ceiling,
            false_positives: fps.len() as u64,
            false_positives_silenced: fps.iter().filter(|&&v| v < learned).count() as u64,
            kept_detections: kept.len() as u64,
            false_positive_peak: Some(peak),
            kept_floor: floor.is_finite().then_some(floor),
        });
    }
    out
}

/// The configured settings with a version's learned thresholds laid over them. A learned value is
/// used only between the configured value and its ceiling (so an operator who raised a setting in
/// the config keeps it, and a hand-edited manifest cannot switch a detector off).
pub fn apply(config: &BehaviourConfig, thresholds: &[BehaviourThreshold]) -> BehaviourConfig {
    let mut c = config.clone();
    for t in thresholds {
        let Some(setting) = Setting::of_name(&t.setting) else {
            tracing::warn!(setting = %t.setting, "a model version names a behaviour threshold this build does not know");
            continue;
        };
        let configured = setting.get(config);
        if t.learned.is_finite() && t.learned > configured {
            setting.set(&mut c, t.learned.min(setting.ceiling(configured)));
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Behaviour, Outcome};
    use super::*;

    fn judged(judgement: Judgement, finding: &super::super::Finding) -> Feedback {
        let status = match judgement {
            Judgement::FalsePositive => "false_positive",
            Judgement::Kept => "resolved",
        };
        Feedback::of_alert(status, &finding.reasons().to_string(), &BehaviourConfig::default()).expect("judged")
    }

    /// A benign poller: about every 30 s (± 3 s) for an hour, with sizes that vary a little, as
    /// telemetry or a status check does.
    fn poller(dst: &str) -> Vec<super::super::Observation> {
        let mut at = 1_700_000_000_000;
        (0..120)
            .map(|i: i64| {
                at += 30_000 + ((i * 7_919) % 7 - 3) * 1_000;
                let mut o = conn(at, "192.168.1.20", dst, 443, Outcome::Answered);
                o.orig_bytes = 900 + ((i * 7) % 60) as u64;
                o.resp_bytes = 4_000 + ((i * 3) % 8) as u64;
                o
            })
            .collect()
    }

    #[test]
    fn a_false_positive_raises_its_threshold_and_the_detector_then_stays_quiet() {
        let mut b = Behaviour::new(BehaviourConfig::default());
        let found = b.observe(&poller("52.1.2.3"));
        let fp = found.iter().find(|f| f.threat == BehaviourThreat::C2Beacon).expect("the poller beacons");
        let feedback = vec![judged(Judgement::FalsePositive, fp)];
        let t = fit(&BehaviourConfig::default(), &feedback);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].setting, "beacon.min_score");
        assert!(t[0].learned > fp.figures["peak_score"].as_f64().unwrap(), "{t:?}");
        assert_eq!((t[0].false_positives, t[0].false_positives_silenced), (1, 1));

        // The same poller to another server is this network's normal too.
        let tuned = apply(&BehaviourConfig::default(), &t);
        let mut b = Behaviour::new(tuned);
        let again = b.observe(&poller("52.9.9.9"));
        assert!(again.iter().all(|f| f.threat != BehaviourThreat::C2Beacon), "{t:?} {again:?}");
    }

    #[test]
    fn kept_detections_bound_the_threshold_and_the_ceiling_caps_it() {
        let c = BehaviourConfig::default();
        let fb = |judgement, v| Feedback { judgement, measures: vec![(Setting::ScanHorizontalHosts, v)] };
        // A false positive at 30 hosts, a resolved scan at 25: the threshold stays at 25.
        let t = fit(&c, &[fb(Judgement::FalsePositive, 30.0), fb(Judgement::Kept, 25.0)]);
        assert_eq!((t[0].learned, t[0].kept_detections, t[0].false_positives_silenced), (25.0, 1, 0));
        // A false positive far beyond the ceiling raises it to the ceiling only.
        let t = fit(&c, &[fb(Judgement::FalsePositive, 5_000.0)]);
        assert_eq!((t[0].learned, t[0].ceiling), (60.0, 60.0));
        assert_eq!(t[0].false_positives_silenced, 0);
        // A kept detection under the configured value never lowers it.
        let t = fit(&c, &[fb(Judgement::FalsePositive, 21.0), fb(Judgement::Kept, 5.0)]);
        assert_eq!(t[0].learned, 20.0);
        // Without a false positive nothing changes.
        assert!(fit(&c, &[fb(Judgement::Kept, 40.0)]).is_empty());
    }

    #[test]
    fn apply_keeps_each_learned_value_between_the_configured_one_and_its_ceiling() {
        let c = BehaviourConfig::default();
        let t = |setting: &str, learned| BehaviourThreshold {
            setting: setting.into(),
            configured: 0.0,
            learned,
            ceiling: f64::INFINITY,
            false_positives: 1,
            false_positives_silenced: 1,
            kept_detections: 0,
            false_positive_peak: None,
            kept_floor: None,
        };
        let tuned = apply(
            &c,
            &[
                t("beacon.min_score", 0.99),
                t("scan.vertical_ports", 1.0),
                t("brute_force.attempts", 30.0),
                t("volume.upload_bytes", f64::NAN),
                t("no.such_setting", 5.0),
            ],
        );
        assert_eq!(tuned.beacon.min_score, 0.9, "capped at halfway to 1");
        assert_eq!(tuned.scan.vertical_ports, 15, "never lowered");
        assert_eq!(tuned.brute_force.attempts, 30);
        assert_eq!(tuned.volume.upload_bytes, c.volume.upload_bytes);
    }

    #[test]
    fn every_detectors_findings_name_the_setting_that_judged_them() {
        let c = BehaviourConfig::default();
        let m = |threat, figures: Value| measures(threat, &figures, &c);
        use serde_json::json;
        assert_eq!(
            m(BehaviourThreat::C2Beacon, json!({"pattern": "persistent_failure", "refused": 30, "unanswered": 2})),
            vec![(Setting::BeaconPersistentAttempts, 32.0)]
        );
        assert_eq!(
            m(BehaviourThreat::ScanInbound, json!({"kind": "probe", "sources": 7})),
            vec![(Setting::ScanProbeSources, 7.0)]
        );
        assert_eq!(
            m(BehaviourThreat::BruteForce, json!({"attempts": 150, "web": true})),
            vec![(Setting::BruteForceWebAttempts, 150.0)]
        );
        assert_eq!(
            m(BehaviourThreat::DosInbound, json!({"connections_per_min": 20.0, "packets_per_min": 90_000.0})),
            vec![(Setting::FloodPacketsPerMin, 90_000.0)]
        );
        assert_eq!(m(BehaviourThreat::Exfiltration, json!({"bytes_sent": 3.0e8})), vec![(Setting::UploadBytes, 3.0e8)]);
        assert!(Feedback::of_alert("new", r#"{"behaviour":"c2_beacon"}"#, &c).is_none(), "not judged");
        assert!(Feedback::of_alert("false_positive", "not json", &c).is_none());
        for s in Setting::ALL {
            assert_eq!(Setting::of_name(s.name()), Some(s));
            assert!(s.ceiling(s.get(&c)) > s.get(&c), "{}", s.name());
        }
    }
}
