//! One network flow as the engine sees it: where it went (when known), when (when known), the
//! CICFlowMeter feature vector with missing values explicit, and the dataset label when present.
//!
//! Browser-safe (serde only). The feature vocabulary [`FEATURES`] uses the names of the corrected 2021
//! CIC-IDS2017 release; [`feature_index_for_header`] also accepts the 2017 "MachineLearningCVE" names.
//! Identifiers (flow id, IP addresses, source port, timestamp) are NOT in the vocabulary: they live in
//! [`FiveTuple`] and [`Flow::timestamp`] and never reach a model.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::threat::Threat;

/// Every flow feature the engine knows, in canonical order (index = position in [`Flow::features`]).
pub const FEATURES: [&str; 83] = [
    "Dst Port",
    "Protocol",
    "Flow Duration",
    "Total Fwd Packet",
    "Total Bwd packets",
    "Total Length of Fwd Packet",
    "Total Length of Bwd Packet",
    "Fwd Packet Length Max",
    "Fwd Packet Length Min",
    "Fwd Packet Length Mean",
    "Fwd Packet Length Std",
    "Bwd Packet Length Max",
    "Bwd Packet Length Min",
    "Bwd Packet Length Mean",
    "Bwd Packet Length Std",
    "Flow Bytes/s",
    "Flow Packets/s",
    "Flow IAT Mean",
    "Flow IAT Std",
    "Flow IAT Max",
    "Flow IAT Min",
    "Fwd IAT Total",
    "Fwd IAT Mean",
    "Fwd IAT Std",
    "Fwd IAT Max",
    "Fwd IAT Min",
    "Bwd IAT Total",
    "Bwd IAT Mean",
    "Bwd IAT Std",
    "Bwd IAT Max",
    "Bwd IAT Min",
    "Fwd PSH Flags",
    "Bwd PSH Flags",
    "Fwd URG Flags",
    "Bwd URG Flags",
    "Fwd RST Flags",
    "Bwd RST Flags",
    "Fwd Header Length",
    "Bwd Header Length",
    "Fwd Packets/s",
    "Bwd Packets/s",
    "Packet Length Min",
    "Packet Length Max",
    "Packet Length Mean",
    "Packet Length Std",
    "Packet Length Variance",
    "FIN Flag Count",
    "SYN Flag Count",
    "RST Flag Count",
    "PSH Flag Count",
    "ACK Flag Count",
    "URG Flag Count",
    "CWR Flag Count",
    "ECE Flag Count",
    "Down/Up Ratio",
    "Average Packet Size",
    "Fwd Segment Size Avg",
    "Bwd Segment Size Avg",
    "Fwd Bytes/Bulk Avg",
    "Fwd Packet/Bulk Avg",
    "Fwd Bulk Rate Avg",
    "Bwd Bytes/Bulk Avg",
    "Bwd Packet/Bulk Avg",
    "Bwd Bulk Rate Avg",
    "Subflow Fwd Packets",
    "Subflow Fwd Bytes",
    "Subflow Bwd Packets",
    "Subflow Bwd Bytes",
    "FWD Init Win Bytes",
    "Bwd Init Win Bytes",
    "Fwd Act Data Pkts",
    "Fwd Seg Size Min",
    "Active Mean",
    "Active Std",
    "Active Max",
    "Active Min",
    "Idle Mean",
    "Idle Std",
    "Idle Max",
    "Idle Min",
    "ICMP Code",
    "ICMP Type",
    "Total TCP Flow Time",
];

/// Number of features in the vocabulary.
pub const FEATURE_COUNT: usize = FEATURES.len();

/// 2017 "MachineLearningCVE" header names that differ from the canonical ones (compared trimmed and
/// case-insensitively).
const ALIASES: [(&str, &str); 21] = [
    ("destination port", "Dst Port"),
    ("total fwd packets", "Total Fwd Packet"),
    ("total backward packets", "Total Bwd packets"),
    ("total length of fwd packets", "Total Length of Fwd Packet"),
    ("total length of bwd packets", "Total Length of Bwd Packet"),
    ("min packet length", "Packet Length Min"),
    ("max packet length", "Packet Length Max"),
    ("cwe flag count", "CWR Flag Count"),
    ("avg fwd segment size", "Fwd Segment Size Avg"),
    ("avg bwd segment size", "Bwd Segment Size Avg"),
    ("fwd avg bytes/bulk", "Fwd Bytes/Bulk Avg"),
    ("fwd avg packets/bulk", "Fwd Packet/Bulk Avg"),
    ("fwd avg bulk rate", "Fwd Bulk Rate Avg"),
    ("bwd avg bytes/bulk", "Bwd Bytes/Bulk Avg"),
    ("bwd avg packets/bulk", "Bwd Packet/Bulk Avg"),
    ("bwd avg bulk rate", "Bwd Bulk Rate Avg"),
    ("init_win_bytes_forward", "FWD Init Win Bytes"),
    ("init_win_bytes_backward", "Bwd Init Win Bytes"),
    ("act_data_pkt_fwd", "Fwd Act Data Pkts"),
    ("min_seg_size_forward", "Fwd Seg Size Min"),
    ("total bwd packets", "Total Bwd packets"),
];

/// The canonical index of a CSV header (either release's spelling), or `None` if it is not a feature
/// (identifiers, label, unknown columns).
pub fn feature_index_for_header(header: &str) -> Option<usize> {
    let h = header.trim().to_ascii_lowercase();
    let canonical = ALIASES.iter().find(|(alias, _)| *alias == h).map(|(_, c)| *c);
    match canonical {
        Some(c) => FEATURES.iter().position(|f| *f == c),
        None => FEATURES.iter().position(|f| f.to_ascii_lowercase() == h),
    }
}

/// The canonical index of a feature name.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| *f == name)
}

/// Source, destination and transport protocol (IANA number) of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiveTuple {
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dst_ip: IpAddr,
    pub dst_port: u16,
    pub protocol: u8,
}

/// How a connection went, as Zeek's `conn_state` says (Suricata and CICFlowMeter do not say; the
/// behaviour detectors then judge from the packet counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnState {
    /// `S0`: an attempt with no reply.
    S0,
    /// `S1`: established, not terminated.
    S1,
    /// `SF`: normal establishment and termination.
    SF,
    /// `REJ`: the attempt was rejected.
    REJ,
    /// `S2`, `S3`: established, only one side closed.
    S2,
    S3,
    /// `RSTO`, `RSTR`: established, then reset by the originator / responder.
    RSTO,
    RSTR,
    /// `RSTOS0`: the originator sent a SYN then a RST, never a SYN-ACK was seen.
    RSTOS0,
    /// `RSTRH`: the responder sent a SYN-ACK then a RST, no SYN from the originator was seen.
    RSTRH,
    /// `SH`, `SHR`: a SYN (or SYN-ACK) then a FIN, no established connection.
    SH,
    SHR,
    /// `OTH`: no SYN seen, midstream traffic.
    OTH,
}

impl ConnState {
    pub const ALL: [ConnState; 13] = [
        ConnState::S0,
        ConnState::S1,
        ConnState::SF,
        ConnState::REJ,
        ConnState::S2,
        ConnState::S3,
        ConnState::RSTO,
        ConnState::RSTR,
        ConnState::RSTOS0,
        ConnState::RSTRH,
        ConnState::SH,
        ConnState::SHR,
        ConnState::OTH,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }

    pub fn parse(s: &str) -> Option<ConnState> {
        ConnState::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The attempt never became a conversation: unanswered (`S0`, `SH`, `RSTOS0`) or refused (`REJ`).
    pub fn failed(self) -> bool {
        matches!(self, ConnState::S0 | ConnState::REJ | ConnState::RSTOS0 | ConnState::SH)
    }
}

/// What a sensor said about a connection beyond its counters (Zeek conn.log), when it said it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnMeta {
    pub state: Option<ConnState>,
    /// Zeek's `local_orig` / `local_resp`: the sensor counts that side as one of its own networks
    /// (`Site::local_nets`). Used beside the configured internal networks, never instead of them.
    pub local_orig: Option<bool>,
    pub local_resp: Option<bool>,
}

/// One flow record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The 5-tuple, when the source gives addresses (the 2017 ML CSVs do not).
    pub five_tuple: Option<FiveTuple>,
    /// Start time as written by the source (`2017-07-06 19:30:27.531798`), when known.
    pub timestamp: Option<String>,
    /// Feature values by canonical index ([`FEATURES`]); `None` = missing, unknown or not a finite
    /// number (`Infinity`/`NaN` in the CSV, e.g. a rate over a zero duration).
    pub features: Vec<Option<f32>>,
    /// The dataset label as written in the file, when the file has one.
    pub label: Option<String>,
    /// The sensor's connection id (Zeek `uid`), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Connection state and the sensor's local flags (Zeek), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn: Option<ConnMeta>,
}

/// What a flow carried ([`Flow::volumes`]): payload bytes and packets each way, and its duration.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Volumes {
    pub duration_us: f32,
    pub fwd_packets: u64,
    pub bwd_packets: u64,
    pub fwd_bytes: u64,
    pub bwd_bytes: u64,
}

/// What Zeek conn.log, Suricata flow events and NetFlow records share: enough for the `conn` profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnSummary {
    pub five_tuple: Option<FiveTuple>,
    pub timestamp: Option<String>,
    /// Flow duration in microseconds.
    pub duration_us: f64,
    pub fwd_packets: u64,
    pub bwd_packets: u64,
    /// Payload bytes originator → responder (Zeek `orig_bytes`; CICFlowMeter counts payload too).
    pub fwd_bytes: u64,
    /// Payload bytes responder → originator (Zeek `resp_bytes`).
    pub bwd_bytes: u64,
    pub protocol: u8,
    pub dst_port: u16,
}

impl Flow {
    /// A flow with the `conn` profile's features computed as CICFlowMeter defines them (rates per
    /// second over the duration, missing when the duration is zero; means per packet); every other
    /// feature is missing.
    pub fn from_conn(c: &ConnSummary) -> Flow {
        let mut f = Flow::empty();
        f.five_tuple = c.five_tuple;
        f.timestamp = c.timestamp.clone();
        let secs = c.duration_us / 1e6;
        let packets = (c.fwd_packets + c.bwd_packets) as f64;
        let bytes = (c.fwd_bytes + c.bwd_bytes) as f64;
        let rate = |v: f64| (secs > 0.0).then(|| (v / secs) as f32);
        let mean = |b: u64, p: u64| if p > 0 { b as f32 / p as f32 } else { 0.0 };
        let mut put = |name: &str, v: Option<f32>| {
            if let (Some(i), Some(v)) = (feature_index(name), v) {
                f.features[i] = v.is_finite().then_some(v);
            }
        };
        put("Dst Port", Some(c.dst_port as f32));
        put("Protocol", Some(c.protocol as f32));
        put("Flow Duration", Some(c.duration_us as f32));
        put("Total Fwd Packet", Some(c.fwd_packets as f32));
        put("Total Bwd packets", Some(c.bwd_packets as f32));
        put("Total Length of Fwd Packet", Some(c.fwd_bytes as f32));
        put("Total Length of Bwd Packet", Some(c.bwd_bytes as f32));
        put("Flow Bytes/s", rate(bytes));
        put("Flow Packets/s", rate(packets));
        put("Fwd Packets/s", rate(c.fwd_packets as f64));
        put("Bwd Packets/s", rate(c.bwd_packets as f64));
        put("Fwd Packet Length Mean", Some(mean(c.fwd_bytes, c.fwd_packets)));
        put("Bwd Packet Length Mean", Some(mean(c.bwd_bytes, c.bwd_packets)));
        put("Average Packet Size", Some(if packets > 0.0 { (bytes / packets) as f32 } else { 0.0 }));
        put("Down/Up Ratio", Some(if c.fwd_packets > 0 { c.bwd_packets as f32 / c.fwd_packets as f32 } else { 0.0 }));
        f
    }

    /// A flow with every feature missing.
    pub fn empty() -> Flow {
        Flow {
            five_tuple: None,
            timestamp: None,
            features: vec![None; FEATURE_COUNT],
            label: None,
            uid: None,
            conn: None,
        }
    }

    /// Sets a feature by canonical name. Returns false if the name is not in the vocabulary.
    pub fn set(&mut self, name: &str, value: f32) -> bool {
        match feature_index(name) {
            Some(i) => {
                if self.features.len() < FEATURE_COUNT {
                    self.features.resize(FEATURE_COUNT, None);
                }
                self.features[i] = value.is_finite().then_some(value);
                true
            }
            None => false,
        }
    }

    /// A feature by canonical name.
    pub fn get(&self, name: &str) -> Option<f32> {
        feature_index(name).and_then(|i| self.features.get(i).copied().flatten())
    }

    /// How much the flow carried, from its features (0 where the source does not give a figure).
    pub fn volumes(&self) -> Volumes {
        struct Idx([Option<usize>; 5]);
        static IDX: std::sync::OnceLock<Idx> = std::sync::OnceLock::new();
        let Idx(i) = IDX.get_or_init(|| {
            Idx([
                "Flow Duration",
                "Total Fwd Packet",
                "Total Bwd packets",
                "Total Length of Fwd Packet",
                "Total Length of Bwd Packet",
            ]
            .map(feature_index))
        });
        let get = |k: Option<usize>| k.and_then(|k| self.features.get(k).copied().flatten()).unwrap_or(0.0).max(0.0);
        Volumes {
            duration_us: get(i[0]),
            fwd_packets: get(i[1]) as u64,
            bwd_packets: get(i[2]) as u64,
            fwd_bytes: get(i[3]) as u64,
            bwd_bytes: get(i[4]) as u64,
        }
    }

    /// The label mapped onto the threat vocabulary (`None` without a label or for an unknown one).
    pub fn threat(&self) -> Option<Threat> {
        self.label.as_deref().and_then(Threat::from_label)
    }

    /// The calendar day of the timestamp (`YYYY-MM-DD`), when the timestamp starts with one.
    pub fn day(&self) -> Option<&str> {
        let ts = self.timestamp.as_deref()?;
        let day = ts.get(0..10)?;
        let b = day.as_bytes();
        (b[4] == b'-' && b[7] == b'-').then_some(day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_both_layouts_map_to_the_same_feature() {
        assert_eq!(feature_index_for_header(" Destination Port"), feature_index_for_header("Dst Port"));
        assert_eq!(feature_index_for_header(" Total Fwd Packets"), feature_index("Total Fwd Packet"));
        assert_eq!(feature_index_for_header("Total Bwd packets"), feature_index("Total Bwd packets"));
        assert_eq!(feature_index_for_header(" Total Backward Packets"), feature_index("Total Bwd packets"));
        assert_eq!(feature_index_for_header("Init_Win_bytes_forward"), feature_index("FWD Init Win Bytes"));
        assert_eq!(feature_index_for_header(" Flow Bytes/s"), feature_index("Flow Bytes/s"));
        assert_eq!(feature_index_for_header("Src IP"), None);
        assert_eq!(feature_index_for_header(" Label"), None);
    }

    #[test]
    fn conn_summary_matches_cicflowmeter_definitions() {
        // The first benign row of improved_train: 61902 µs, 2/2 packets, 74/354 payload bytes, UDP/53.
        let f = Flow::from_conn(&ConnSummary {
            five_tuple: None,
            timestamp: None,
            duration_us: 61902.0,
            fwd_packets: 2,
            bwd_packets: 2,
            fwd_bytes: 74,
            bwd_bytes: 354,
            protocol: 17,
            dst_port: 53,
        });
        let close = |name: &str, want: f32| {
            let got = f.get(name).unwrap_or(f32::NAN);
            assert!((got - want).abs() <= 1e-3 * want.abs().max(1.0), "{name}: {got} vs {want}");
        };
        close("Flow Bytes/s", 6914.155);
        close("Flow Packets/s", 64.618);
        close("Fwd Packets/s", 32.309);
        close("Fwd Packet Length Mean", 37.0);
        close("Bwd Packet Length Mean", 177.0);
        close("Average Packet Size", 107.0);
        close("Down/Up Ratio", 1.0);
        assert_eq!(f.get("Flow IAT Mean"), None);
    }

    #[test]
    fn vocabulary_has_no_duplicates() {
        for (i, a) in FEATURES.iter().enumerate() {
            for b in &FEATURES[i + 1..] {
                assert_ne!(a.to_ascii_lowercase(), b.to_ascii_lowercase());
            }
        }
    }
}
