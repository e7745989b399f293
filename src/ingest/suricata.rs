//! Suricata EVE JSON lines.
//!
//! - `event_type: "flow"` becomes a [`Flow`] of the `conn` profile: packets and bytes each way
//!   (`flow.pkts_toserver`/`pkts_toclient`, `flow.bytes_toserver`/`bytes_toclient`), duration
//!   `flow.end - flow.start`, timestamp `flow.start` (UTC). Suricata's byte counts are whole packets
//!   (IP headers included) where Zeek and CICFlowMeter count payload; they are passed on as Suricata
//!   writes them.
//! - `event_type: "alert"` becomes a [`SignatureAlert`] (signature, sid, category, severity, 5-tuple,
//!   event timestamp).
//! - Every other event type (`dns`, `http`, `tls`, `fileinfo`, `anomaly`, `stats`, …) is valid input
//!   this source does not use: it is skipped and counted, not rejected.
//!
//! Ports are required for TCP, UDP and SCTP. ICMP events carry `icmp_type`/`icmp_code` instead, which
//! are put in the source/destination port slots as Zeek does; other protocols get port 0.

use serde_json::{Map, Value};

use super::{
    json, parse_reader, parse_slice, time, IngestError, IngestRecord, Limits, LineError, LineParser, Outcome, Parsed,
    SignatureAlert,
};
use crate::flow::{ConnSummary, FiveTuple, Flow};
use crate::ingest::zeek::MAX_COUNT;

/// Parses EVE JSON lines into flows and signature alerts.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Parsed<IngestRecord>, IngestError> {
    parse_slice(&mut EveParser, input, limits)
}

/// Parses EVE JSON lines from a stream, buffering at most one line.
pub fn parse_stream<R: std::io::BufRead>(reader: R, limits: &Limits) -> Result<Parsed<IngestRecord>, IngestError> {
    parse_reader(&mut EveParser, reader, limits)
}

/// The EVE line parser (stateless).
#[derive(Debug, Clone, Copy, Default)]
pub struct EveParser;

impl LineParser for EveParser {
    type Record = IngestRecord;

    fn parse_line(&mut self, _line_no: usize, line: &[u8]) -> Outcome<IngestRecord> {
        match event(line) {
            Ok(Some(r)) => Outcome::Record(r),
            Ok(None) => Outcome::Skipped,
            Err(e) => Outcome::Rejected(e),
        }
    }
}

/// One EVE line: a record, `None` for an event type we skip, or why it was rejected.
fn event(line: &[u8]) -> Result<Option<IngestRecord>, LineError> {
    let m = json::object(line)?;
    let event_type = json::string("event_type", json::require(&m, "event_type")?)?;
    match event_type {
        "flow" => flow(&m).map(|f| Some(IngestRecord::Flow(f))),
        "alert" => alert(&m).map(|a| Some(IngestRecord::SignatureAlert(a))),
        _ => Ok(None),
    }
}

fn flow(m: &Map<String, Value>) -> Result<Flow, LineError> {
    let five_tuple = five_tuple(m)?;
    let f = object(m, "flow")?;
    let start = timestamp(f, "flow.start", "start")?;
    let end = timestamp(f, "flow.end", "end")?;
    if end < start {
        return Err(LineError::Invalid("flow.end is before flow.start".into()));
    }
    let timestamp =
        time::format_micros(start).ok_or_else(|| LineError::Invalid("flow.start is outside years 0000-9999".into()))?;
    Ok(Flow::from_conn(&ConnSummary {
        five_tuple: Some(five_tuple),
        timestamp: Some(timestamp),
        duration_us: (end - start) as f64,
        fwd_packets: count(f, "flow.pkts_toserver", "pkts_toserver")?,
        bwd_packets: count(f, "flow.pkts_toclient", "pkts_toclient")?,
        fwd_bytes: count(f, "flow.bytes_toserver", "bytes_toserver")?,
        bwd_bytes: count(f, "flow.bytes_toclient", "bytes_toclient")?,
        protocol: five_tuple.protocol,
        dst_port: five_tuple.dst_port,
    }))
}

fn alert(m: &Map<String, Value>) -> Result<SignatureAlert, LineError> {
    let five_tuple = five_tuple(m)?;
    let ts = timestamp(m, "timestamp", "timestamp")?;
    let timestamp =
        time::format_micros(ts).ok_or_else(|| LineError::Invalid("timestamp is outside years 0000-9999".into()))?;
    let a = object(m, "alert")?;
    let field = |name: &str| json::get(a, name).ok_or_else(|| LineError::MissingField(format!("alert.{name}")));
    let signature = json::string("alert.signature", field("signature")?)?.to_string();
    let signature_id = json::count("alert.signature_id", field("signature_id")?)?;
    let category =
        json::get(a, "category").map(|v| json::string("alert.category", v).map(str::to_string)).transpose()?;
    let severity_value = field("severity")?;
    let severity = severity_value.as_u64().and_then(|s| u8::try_from(s).ok()).ok_or_else(|| LineError::BadValue {
        field: "alert.severity".into(),
        problem: "expected a priority 0-255",
        value: json::show(severity_value),
    })?;
    Ok(SignatureAlert { signature, signature_id, category, severity, five_tuple, timestamp })
}

fn object<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a Map<String, Value>, LineError> {
    let v = json::require(m, field)?;
    v.as_object().ok_or_else(|| LineError::BadValue {
        field: field.into(),
        problem: "expected an object",
        value: json::show(v),
    })
}

/// `src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto` of an event.
fn five_tuple(m: &Map<String, Value>) -> Result<FiveTuple, LineError> {
    let src_ip = json::ip("src_ip", json::require(m, "src_ip")?)?;
    let dst_ip = json::ip("dest_ip", json::require(m, "dest_ip")?)?;
    let protocol = json::protocol("proto", json::require(m, "proto")?)?;
    let port = |field: &str| -> Result<u16, LineError> {
        match json::get(m, field) {
            Some(v) => json::port(field, v),
            None if matches!(protocol, 6 | 17 | 132) => Err(LineError::MissingField(field.into())),
            None => Ok(0),
        }
    };
    let icmp = |field: &str| -> Result<u16, LineError> {
        json::get(m, field).map(|v| json::port(field, v).map(|n| n.min(255))).transpose().map(|n| n.unwrap_or(0))
    };
    let (src_port, dst_port) = if matches!(protocol, 1 | 58) && json::get(m, "src_port").is_none() {
        (icmp("icmp_type")?, icmp("icmp_code")?)
    } else {
        (port("src_port")?, port("dest_port")?)
    };
    Ok(FiveTuple { src_ip, src_port, dst_ip, dst_port, protocol })
}

fn timestamp(m: &Map<String, Value>, name: &str, key: &str) -> Result<i64, LineError> {
    let v = json::get(m, key).ok_or_else(|| LineError::MissingField(name.into()))?;
    v.as_str().and_then(time::iso_to_micros).ok_or_else(|| LineError::BadValue {
        field: name.into(),
        problem: "expected an ISO 8601 time",
        value: json::show(v),
    })
}

fn count(m: &Map<String, Value>, name: &str, key: &str) -> Result<u64, LineError> {
    let v = json::get(m, key).ok_or_else(|| LineError::MissingField(name.into()))?;
    v.as_u64().filter(|n| *n <= MAX_COUNT).ok_or_else(|| LineError::BadValue {
        field: name.into(),
        problem: "expected a count 0-2^53",
        value: json::show(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like the lines of Slips' test6-malicious.suricata.json (values made up).
    const ALERT: &str = r#"{"timestamp":"2021-06-06T15:59:46.457984+0200","flow_id":1,"event_type":"alert","src_ip":"198.51.100.7","src_port":51698,"dest_ip":"192.168.1.129","dest_port":445,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2403388,"rev":66418,"signature":"ET CINS Active Threat Intelligence Poor Reputation IP group 89","category":"Misc Attack","severity":2},"flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":60,"bytes_toclient":0,"start":"2021-06-06T15:59:46.457984+0200"}}"#;
    const FLOW: &str = r#"{"timestamp":"2021-06-06T16:00:50.000000+0200","flow_id":2,"event_type":"flow","src_ip":"192.168.1.129","src_port":54321,"dest_ip":"203.0.113.9","dest_port":53,"proto":"UDP","app_proto":"dns","flow":{"pkts_toserver":1,"pkts_toclient":1,"bytes_toserver":74,"bytes_toclient":130,"start":"2021-06-06T15:59:59.500000+0200","end":"2021-06-06T16:00:00.000000+0200","age":1,"state":"established","reason":"timeout","alerted":false}}"#;
    const DNS: &str = r#"{"timestamp":"2021-06-06T16:00:00.000000+0200","event_type":"dns","src_ip":"192.168.1.129","src_port":54321,"dest_ip":"203.0.113.9","dest_port":53,"proto":"UDP","dns":{"type":"query","rrname":"example.com"}}"#;

    fn run(input: &str) -> Parsed<IngestRecord> {
        parse(input.as_bytes(), &Limits::default()).unwrap()
    }

    fn reasons(p: &Parsed<IngestRecord>) -> Vec<(usize, &str)> {
        p.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect()
    }

    #[test]
    fn flow_alert_and_skipped_events() {
        let p = run(&format!("{ALERT}\n{FLOW}\n{DNS}\n"));
        assert_eq!(reasons(&p), vec![]);
        assert_eq!(p.skipped, 1);
        let IngestRecord::SignatureAlert(a) = &p.records[0] else { panic!("{:?}", p.records[0]) };
        assert_eq!(a.signature, "ET CINS Active Threat Intelligence Poor Reputation IP group 89");
        assert_eq!(a.signature_id, 2403388);
        assert_eq!(a.category.as_deref(), Some("Misc Attack"));
        assert_eq!(a.severity, 2);
        assert_eq!(a.timestamp, "2021-06-06 13:59:46.457984");
        assert_eq!((a.five_tuple.src_port, a.five_tuple.dst_port, a.five_tuple.protocol), (51698, 445, 6));
        let IngestRecord::Flow(f) = &p.records[1] else { panic!("{:?}", p.records[1]) };
        assert_eq!(f.timestamp.as_deref(), Some("2021-06-06 13:59:59.500000"));
        assert_eq!(f.get("Flow Duration"), Some(500_000.0));
        assert_eq!(f.get("Total Fwd Packet"), Some(1.0));
        assert_eq!(f.get("Total Length of Bwd Packet"), Some(130.0));
        assert_eq!(f.get("Protocol"), Some(17.0));
        assert_eq!(f.get("Dst Port"), Some(53.0));
        assert_eq!(f.get("Flow Packets/s"), Some(4.0));
    }

    #[test]
    fn icmp_events_put_type_and_code_in_the_port_slots() {
        let icmp = r#"{"timestamp":"2021-06-06T16:00:00Z","event_type":"alert","src_ip":"2001:db8::1","dest_ip":"2001:db8::2","proto":"IPv6-ICMP","icmp_type":128,"icmp_code":0,"alert":{"signature_id":1,"signature":"ping","severity":3}}"#;
        let p = run(icmp);
        let IngestRecord::SignatureAlert(a) = &p.records[0] else { panic!("{p:?}") };
        assert_eq!((a.five_tuple.src_port, a.five_tuple.dst_port, a.five_tuple.protocol), (128, 0, 58));
        assert_eq!(a.category, None);
    }

    #[test]
    fn broken_events_are_rejected_with_reasons() {
        let input = [
            FLOW.to_string(),
            FLOW.replace(r#""end":"2021-06-06T16:00:00.000000+0200","#, ""),
            FLOW.replace(r#""end":"2021-06-06T16:00:00.000000+0200""#, r#""end":"2021-06-06T15:00:00.000000+0200""#),
            FLOW.replace(r#""pkts_toclient":1"#, r#""pkts_toclient":1.5"#),
            FLOW.replace(r#""src_port":54321,"#, ""),
            FLOW.replace(r#""proto":"UDP""#, r#""proto":"QUIC""#),
            FLOW.replace(r#""dest_ip":"203.0.113.9""#, r#""dest_ip":"example.com""#),
            FLOW.replace(r#""start":"2021-06-06T15:59:59.500000+0200""#, r#""start":"June 6th""#),
            ALERT.replace(r#""severity":2"#, r#""severity":300"#),
            ALERT.replace(r#""signature":"ET CINS Active Threat Intelligence Poor Reputation IP group 89","#, ""),
            ALERT.replace(r#""event_type":"alert","#, ""),
            ALERT.replace(r#""event_type":"alert""#, r#""event_type":7"#),
            r#"{"event_type":"flow","flow":[]}"#.to_string(),
            "[1,2]".to_string(),
            "not json".to_string(),
        ]
        .join("\n");
        let p = run(&input);
        assert_eq!(p.records.len(), 1);
        let r = reasons(&p);
        assert_eq!(
            r[..12],
            [
                (2, "missing field `flow.end`"),
                (3, "flow.end is before flow.start"),
                (4, "field `flow.pkts_toclient`: expected a count 0-2^53, got \"1.5\""),
                (5, "missing field `src_port`"),
                (6, "field `proto`: expected a transport protocol name or number 0-255, got \"QUIC\""),
                (7, "field `dest_ip`: expected an IP address, got \"example.com\""),
                (8, "field `flow.start`: expected an ISO 8601 time, got \"June 6th\""),
                (9, "field `alert.severity`: expected a priority 0-255, got \"300\""),
                (10, "missing field `alert.signature`"),
                (11, "missing field `event_type`"),
                (12, "field `event_type`: expected a string, got \"7\""),
                (13, "missing field `src_ip`"),
            ]
        );
        assert_eq!(r[12], (14, "expected a JSON object, found an array"));
        assert!(r[13].1.starts_with("invalid JSON: expected ident"), "{}", r[13].1);
    }

    #[test]
    fn a_flow_member_that_is_not_an_object_is_named() {
        let p = run(
            r#"{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","src_port":1,"dest_port":2,"proto":6,"flow":[]}"#,
        );
        assert_eq!(reasons(&p), vec![(1, "field `flow`: expected an object, got an array")]);
    }

    #[test]
    fn overlong_and_non_utf8_lines_are_rejected() {
        let limits = Limits { max_line_bytes: 100, max_records: 10 };
        let mut input = format!("{ALERT}\n{DNS}\n").into_bytes();
        input.extend_from_slice(b"{\"event_type\":\"dns\",\"x\":\"\xff\"}\n");
        let p = parse(&input, &limits).unwrap();
        assert_eq!(p.rejected[0].reason, format!("line is {} bytes, longer than the limit of 100", ALERT.len()));
        assert_eq!(p.rejected[1].reason, format!("line is {} bytes, longer than the limit of 100", DNS.len()));
        assert!(p.rejected[2].reason.starts_with("invalid JSON: invalid unicode"), "{}", p.rejected[2].reason);
    }
}
