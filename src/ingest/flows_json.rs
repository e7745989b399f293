//! The integrator flow format (`POST /api/v1/ingest/flows`): a JSON array of flow objects, or NDJSON
//! (one flow object per line).
//!
//! ```json
//! {"src_ip": "192.0.2.10", "src_port": 51514, "dst_ip": "198.51.100.5", "dst_port": 443,
//!  "protocol": "tcp", "timestamp": "2024-05-01T12:00:00.250Z",
//!  "duration_us": 1500000, "fwd_packets": 10, "bwd_packets": 8, "fwd_bytes": 1200, "bwd_bytes": 5400}
//!
//! {"src_ip": "192.0.2.10", "src_port": 51514, "dst_ip": "198.51.100.5", "dst_port": 443,
//!  "protocol": 6, "timestamp": 1714564800.25,
//!  "features": {"Flow Duration": 1500000, "Total Fwd Packet": 10, "Fwd IAT Mean": null}}
//! ```
//!
//! - The 5-tuple and `timestamp` are required. `protocol` is a name (`tcp`, `udp`, `icmp`, …) or an
//!   IANA number; `timestamp` is ISO 8601 / RFC 3339 (UTC when it has no offset) or epoch seconds.
//! - Then EITHER the conn summary (all of `duration_us`, `fwd_packets`, `bwd_packets`, `fwd_bytes`,
//!   `bwd_bytes`; bytes are payload bytes, as Zeek and CICFlowMeter count them), from which the
//!   `conn` profile's features are computed exactly as for Zeek,
//! - OR `features`: values by canonical CICFlowMeter name ([`crate::flow::FEATURES`]); `null` marks a
//!   missing value. An unknown name rejects the flow, naming it (and the canonical name when it is a
//!   2017-layout alias or differs only in case). `Dst Port` and `Protocol` are taken from the 5-tuple
//!   when absent and must agree with it when present.
//! - Any other key rejects the flow, naming the key.
//!
//! In an array, a rejected element is reported with the line its first byte is on. A structural error
//! of the array itself (missing `,` or `]`) rejects the rest of the input at that line, keeping the
//! elements before it.

use serde_json::{Map, Value};

use super::{json, parse_slice, time, Collector, IngestError, Limits, LineError, LineParser, Outcome, Parsed};
use crate::flow::{feature_index, feature_index_for_header, ConnSummary, FiveTuple, Flow, FEATURES};
use crate::ingest::zeek::MAX_COUNT;

const CONN_FIELDS: [&str; 5] = ["duration_us", "fwd_packets", "bwd_packets", "fwd_bytes", "bwd_bytes"];
const TUPLE_FIELDS: [&str; 6] = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol", "timestamp"];

/// Parses a JSON array of flows or NDJSON flows.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Parsed<Flow>, IngestError> {
    let body = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    match body.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(start) if body[start] == b'[' => parse_array(body, start, limits),
        _ => parse_slice(&mut FlowsParser, input, limits),
    }
}

/// The NDJSON line parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowsParser;

impl LineParser for FlowsParser {
    type Record = Flow;

    fn parse_line(&mut self, _line_no: usize, line: &[u8]) -> Outcome<Flow> {
        match record(line) {
            Ok(f) => Outcome::Record(f),
            Err(e) => Outcome::Rejected(e),
        }
    }
}

/// Walks the top-level elements of a JSON array without building it: each element is a slice of the
/// input, parsed on its own, so one bad element loses nothing else.
fn parse_array(input: &[u8], open: usize, limits: &Limits) -> Result<Parsed<Flow>, IngestError> {
    let mut out = Collector::new(limits);
    let mut line = 1 + count_newlines(&input[..open]);
    let mut i = open + 1;
    let skip_ws = |i: &mut usize, line: &mut usize| {
        while let Some(b) = input.get(*i).filter(|b| b.is_ascii_whitespace()) {
            if *b == b'\n' {
                *line += 1;
            }
            *i += 1;
        }
    };
    skip_ws(&mut i, &mut line);
    if input.get(i) == Some(&b']') {
        return trailing(input, i + 1, line, out);
    }
    loop {
        skip_ws(&mut i, &mut line);
        let start = i;
        let start_line = line;
        // Scan one element: up to a `,` or `]` outside strings and nested values.
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let end = loop {
            let Some(&b) = input.get(i) else { break None };
            if b == b'\n' {
                line += 1;
            }
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => break Some(b),
                    _ => {}
                }
            }
            i += 1;
        };
        let Some(terminator) = end else {
            let e = LineError::Invalid("JSON array is not closed with `]`".into());
            out.push(start_line, Outcome::Rejected(e))?;
            return Ok(out.parsed);
        };
        let element = input[start..i].trim_ascii_end();
        let outcome = if element.is_empty() {
            Outcome::Rejected(LineError::Invalid("empty array element".into()))
        } else if element.len() > limits.max_line_bytes {
            Outcome::Rejected(LineError::RecordTooLong { len: element.len(), max: limits.max_line_bytes })
        } else {
            FlowsParser.parse_line(start_line, element)
        };
        out.push(start_line, outcome)?;
        i += 1;
        if terminator == b']' {
            return trailing(input, i, line, out);
        }
    }
}

/// After the closing `]` only whitespace may follow.
fn trailing(
    input: &[u8],
    after: usize,
    line: usize,
    mut out: Collector<'_, Flow>,
) -> Result<Parsed<Flow>, IngestError> {
    let rest = input.get(after..).unwrap_or_default();
    if let Some(p) = rest.iter().position(|b| !b.is_ascii_whitespace()) {
        let at = line + count_newlines(&rest[..p]);
        out.push(
            at,
            Outcome::Rejected(LineError::Invalid("unexpected data after the closing `]` of the array".into())),
        )?;
    }
    Ok(out.parsed)
}

fn count_newlines(b: &[u8]) -> usize {
    b.iter().filter(|c| **c == b'\n').count()
}

/// One flow object.
fn record(bytes: &[u8]) -> Result<Flow, LineError> {
    let m = json::object(bytes)?;
    if let Some(k) =
        m.keys().find(|k| !TUPLE_FIELDS.contains(&k.as_str()) && !CONN_FIELDS.contains(&k.as_str()) && *k != "features")
    {
        return Err(LineError::UnknownField(k.clone()));
    }
    let five_tuple = FiveTuple {
        src_ip: json::ip("src_ip", json::require(&m, "src_ip")?)?,
        src_port: json::port("src_port", json::require(&m, "src_port")?)?,
        dst_ip: json::ip("dst_ip", json::require(&m, "dst_ip")?)?,
        dst_port: json::port("dst_port", json::require(&m, "dst_port")?)?,
        protocol: json::protocol("protocol", json::require(&m, "protocol")?)?,
    };
    let ts_value = json::require(&m, "timestamp")?;
    let ts = match ts_value {
        Value::String(s) => time::iso_to_micros(s).or_else(|| time::epoch_str_to_micros(s)),
        v => v.as_f64().and_then(time::epoch_f64_to_micros),
    }
    .and_then(time::format_micros)
    .ok_or_else(|| LineError::BadValue {
        field: "timestamp".into(),
        problem: "expected an ISO 8601 time or epoch seconds (years 0000-9999)",
        value: json::show(ts_value),
    })?;
    let has_conn = CONN_FIELDS.iter().any(|f| m.contains_key(*f));
    match (has_conn, m.get("features")) {
        (true, Some(_)) => {
            Err(LineError::Invalid("give either the conn summary fields or `features`, not both".into()))
        }
        (false, None) => Err(LineError::Invalid(format!(
            "no flow data: give the conn summary fields ({}) or `features`",
            CONN_FIELDS.join(", ")
        ))),
        (true, None) => conn_flow(&m, five_tuple, ts),
        (false, Some(features)) => feature_flow(features, five_tuple, ts),
    }
}

fn conn_flow(m: &Map<String, Value>, five_tuple: FiveTuple, ts: String) -> Result<Flow, LineError> {
    let count = |f: &str| -> Result<u64, LineError> {
        let v = json::require(m, f)?;
        json::count(f, v).and_then(|n| {
            (n <= MAX_COUNT).then_some(n).ok_or_else(|| LineError::BadValue {
                field: f.into(),
                problem: "expected a count 0-2^53",
                value: json::show(v),
            })
        })
    };
    Ok(Flow::from_conn(&ConnSummary {
        five_tuple: Some(five_tuple),
        timestamp: Some(ts),
        duration_us: json::non_negative("duration_us", json::require(m, "duration_us")?)?,
        fwd_packets: count("fwd_packets")?,
        bwd_packets: count("bwd_packets")?,
        fwd_bytes: count("fwd_bytes")?,
        bwd_bytes: count("bwd_bytes")?,
        protocol: five_tuple.protocol,
        dst_port: five_tuple.dst_port,
    }))
}

fn feature_flow(features: &Value, five_tuple: FiveTuple, ts: String) -> Result<Flow, LineError> {
    let map = features.as_object().ok_or_else(|| LineError::BadValue {
        field: "features".into(),
        problem: "expected an object of feature values by name",
        value: json::show(features),
    })?;
    if map.is_empty() {
        return Err(LineError::Invalid("`features` is empty".into()));
    }
    let mut flow = Flow::empty();
    flow.five_tuple = Some(five_tuple);
    flow.timestamp = Some(ts);
    for (name, v) in map {
        let Some(i) = feature_index(name) else {
            let hint = feature_index_for_header(name).and_then(|i| FEATURES.get(i)).map(|c| c.to_string());
            return Err(LineError::UnknownFeature { name: name.clone(), hint });
        };
        let value = match v {
            Value::Null => None,
            Value::Number(n) => {
                let x = n.as_f64().map(|x| x as f32).filter(|x| x.is_finite());
                Some(x.ok_or_else(|| LineError::BadValue {
                    field: format!("features.{name}"),
                    problem: "number out of range for a 32-bit float",
                    value: json::show(v),
                })?)
            }
            other => {
                return Err(LineError::BadValue {
                    field: format!("features.{name}"),
                    problem: "expected a number or null",
                    value: json::show(other),
                })
            }
        };
        if let Some(slot) = flow.features.get_mut(i) {
            *slot = value;
        }
    }
    for (name, want) in [("Dst Port", f32::from(five_tuple.dst_port)), ("Protocol", f32::from(five_tuple.protocol))] {
        match map.get(name).map(|v| v.as_f64()) {
            None | Some(None) => {
                flow.set(name, want);
            }
            Some(Some(got)) if got as f32 != want => {
                return Err(LineError::Invalid(format!("features.{name} ({got}) disagrees with the 5-tuple ({want})")));
            }
            Some(Some(_)) => {}
        }
    }
    Ok(flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONN: &str = r#"{"src_ip":"192.0.2.10","src_port":51514,"dst_ip":"198.51.100.5","dst_port":443,"protocol":"tcp","timestamp":"2024-05-01T12:00:00.250Z","duration_us":1500000,"fwd_packets":10,"bwd_packets":8,"fwd_bytes":1200,"bwd_bytes":5400}"#;
    const FEAT: &str = r#"{"src_ip":"2001:db8::1","src_port":5353,"dst_ip":"2001:db8::2","dst_port":53,"protocol":17,"timestamp":1714564800.25,"features":{"Flow Duration":1500000,"Total Fwd Packet":10,"Fwd IAT Mean":null}}"#;

    fn run(input: &str) -> Parsed<Flow> {
        parse(input.as_bytes(), &Limits::default()).unwrap()
    }

    fn reasons(p: &Parsed<Flow>) -> Vec<(usize, &str)> {
        p.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect()
    }

    #[test]
    fn conn_summary_and_feature_map_forms() {
        let p = run(&format!("{CONN}\n{FEAT}\n"));
        assert_eq!(reasons(&p), vec![]);
        let c = &p.records[0];
        assert_eq!(c.timestamp.as_deref(), Some("2024-05-01 12:00:00.250000"));
        assert_eq!(c.get("Flow Bytes/s"), Some(4400.0));
        assert_eq!(c.get("Dst Port"), Some(443.0));
        assert_eq!(c.five_tuple.unwrap().protocol, 6);
        let f = &p.records[1];
        assert_eq!(f.timestamp.as_deref(), Some("2024-05-01 12:00:00.250000"));
        assert_eq!(f.get("Flow Duration"), Some(1_500_000.0));
        assert_eq!(f.get("Fwd IAT Mean"), None);
        assert_eq!(f.get("Dst Port"), Some(53.0), "filled from the 5-tuple");
        assert_eq!(f.get("Protocol"), Some(17.0));
        assert_eq!(f.get("Flow Bytes/s"), None, "nothing is derived in the features form");
    }

    #[test]
    fn a_json_array_gives_the_same_flows_with_element_lines() {
        let p = run(&format!("  [\n  {CONN},\n  {FEAT}\n,\n{{\"src_ip\":1}}\n]\n"));
        assert_eq!(p.records.len(), 2);
        assert_eq!(reasons(&p), vec![(5, "field `src_ip`: expected an IP address, got \"1\"")]);
        assert_eq!(run("[]").total(), 0);
        assert_eq!(run(" [ ] \n").total(), 0);
    }

    #[test]
    fn strings_with_brackets_commas_and_escapes_do_not_split_elements() {
        let tricky = CONN.replace(r#""protocol":"tcp""#, r#""protocol":"tcp\"],{[,""#);
        let p = run(&format!("[{tricky},{CONN}]"));
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.rejected.len(), 1);
        assert!(
            p.rejected[0].reason.starts_with("field `protocol`: expected a transport protocol"),
            "{}",
            p.rejected[0].reason
        );
    }

    #[test]
    fn broken_arrays_keep_what_came_before() {
        let p = run(&format!("[{CONN},\n{CONN}"));
        assert_eq!(p.records.len(), 1);
        assert_eq!(reasons(&p), vec![(2, "JSON array is not closed with `]`")]);
        let p = run(&format!("[{CONN},,{CONN},]"));
        assert_eq!(p.records.len(), 2);
        assert_eq!(reasons(&p), vec![(1, "empty array element"), (1, "empty array element")]);
        let p = run(&format!("[{CONN}]\n\nxx"));
        assert_eq!(reasons(&p), vec![(3, "unexpected data after the closing `]` of the array")]);
        let p = run(&format!("[{CONN} {CONN}]"));
        assert!(p.rejected[0].reason.starts_with("invalid JSON: trailing characters"), "{p:?}");
    }

    #[test]
    fn oversized_array_elements_and_too_many_elements() {
        let limits = Limits { max_line_bytes: 100, max_records: 3 };
        let p = parse(format!("[{CONN}]").as_bytes(), &limits).unwrap();
        assert_eq!(p.rejected[0].reason, format!("record is {} bytes, longer than the limit of 100", CONN.len()));
        let err = parse(b"[1,2,3,4]", &limits).unwrap_err();
        assert!(matches!(err, IngestError::TooManyRecords { max: 3, line: 1 }), "{err}");
    }

    #[test]
    fn unknown_names_and_bad_values_are_rejected_by_name() {
        let input = [
            CONN.replace(r#""fwd_bytes":1200"#, r#""fwd_bytes":1200,"label":"BENIGN""#),
            FEAT.replace("Total Fwd Packet", "Total Fwd Packets"),
            FEAT.replace("Total Fwd Packet", "Bogus Feature"),
            FEAT.replace("Total Fwd Packet", "flow bytes/s"),
            FEAT.replace(r#""Flow Duration":1500000"#, r#""Flow Duration":"long""#),
            FEAT.replace(r#""Flow Duration":1500000"#, r#""Flow Duration":1e300"#),
            FEAT.replace(r#""Flow Duration":1500000"#, r#""Dst Port":80"#),
            FEAT.replace(
                r#""features":{"Flow Duration":1500000,"Total Fwd Packet":10,"Fwd IAT Mean":null}"#,
                r#""features":{}"#,
            ),
            FEAT.replace(r#""features":{"#, r#""duration_us":1,"features":{"#),
            CONN.replace(r#","bwd_bytes":5400"#, ""),
            CONN.replace(
                r#""duration_us":1500000,"fwd_packets":10,"bwd_packets":8,"fwd_bytes":1200,"bwd_bytes":5400"#,
                r#""x":1"#,
            )
            .replace(r#","x":1"#, ""),
            CONN.replace(r#""timestamp":"2024-05-01T12:00:00.250Z""#, r#""timestamp":"soon""#),
            CONN.replace(r#""duration_us":1500000"#, r#""duration_us":-5"#),
            CONN.replace(r#""src_port":51514"#, r#""src_port":65536"#),
        ]
        .join("\n");
        let p = run(&input);
        assert!(p.records.is_empty());
        assert_eq!(
            reasons(&p),
            vec![
                (1, "unknown field `label`"),
                (2, "unknown feature name `Total Fwd Packets` (the canonical name is `Total Fwd Packet`)"),
                (3, "unknown feature name `Bogus Feature`"),
                (4, "unknown feature name `flow bytes/s` (the canonical name is `Flow Bytes/s`)"),
                (5, "field `features.Flow Duration`: expected a number or null, got \"long\""),
                (6, "field `features.Flow Duration`: number out of range for a 32-bit float, got \"1e+300\""),
                (7, "features.Dst Port (80) disagrees with the 5-tuple (53)"),
                (8, "`features` is empty"),
                (9, "give either the conn summary fields or `features`, not both"),
                (10, "missing field `bwd_bytes`"),
                (11, "no flow data: give the conn summary fields (duration_us, fwd_packets, bwd_packets, fwd_bytes, bwd_bytes) or `features`"),
                (12, "field `timestamp`: expected an ISO 8601 time or epoch seconds (years 0000-9999), got \"soon\""),
                (13, "field `duration_us`: expected a non-negative number, got \"-5\""),
                (14, "field `src_port`: expected a port number 0-65535, got \"65536\""),
            ]
        );
    }

    #[test]
    fn every_canonical_name_is_accepted() {
        let features: Map<String, Value> =
            FEATURES.iter().enumerate().map(|(i, n)| (n.to_string(), Value::from(i as f64))).collect();
        let mut m: Map<String, Value> = serde_json::from_str(FEAT).unwrap();
        m.insert("features".into(), Value::Object(features));
        m.insert("dst_port".into(), Value::from(0));
        m.insert("protocol".into(), Value::from(1));
        let p = run(&Value::Object(m).to_string());
        assert_eq!(reasons(&p), vec![]);
        assert_eq!(p.records[0].features.iter().flatten().count(), FEATURES.len());
    }
}
