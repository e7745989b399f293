//! Zeek conn.log: the tab-separated format with its `#` header, and JSON lines.
//!
//! Each line is read on its own terms: a line starting with `#` is a header directive (or a comment),
//! a line starting with `{` is a JSON object, anything else is a TSV data line read with the most
//! recent `#fields` header. A new `#fields` header (Zeek starts one after each log rotation) replaces
//! the previous one.
//!
//! TSV columns are found by their `#fields` names, never by position; extra columns (`service`,
//! `label`, …) are ignored. `#separator` (with `\xHH` escapes), `#unset_field` and `#empty_field` are
//! honoured; without them Zeek's defaults apply (tab, `-`, `(empty)`).
//!
//! Required: `ts`, `id.orig_h`, `id.orig_p`, `id.resp_h`, `id.resp_p`, `proto`, `orig_pkts`,
//! `resp_pkts` (a header without one of them makes its section unusable, and a record with one unset
//! is rejected). Zeek leaves `duration`, `orig_bytes` and `resp_bytes` unset when it saw no payload
//! or a single packet (an unanswered SYN): those are read as 0, which is what they measure; in JSON
//! lines an absent key or `null` means unset. A JSON record with a `_path` other than `conn` (a
//! `weird` or `dns` record sent to the wrong endpoint) is rejected.
//!
//! `proto` is Zeek's transport name (`tcp`, `udp`, `icmp`; `icmp` between IPv6 addresses is ICMPv6,
//! 58); `unknown_transport` is rejected. For ICMP, Zeek writes type and code in the port fields; they
//! are kept there as Zeek wrote them.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    json, parse_reader, parse_slice, quote, time, utf8, IngestError, Limits, LineError, LineParser, Outcome, Parsed,
};
use crate::flow::{ConnMeta, ConnState, ConnSummary, FiveTuple, Flow};

/// Largest packet or byte count accepted (2^53, where `f64` stops being exact); larger values are
/// rejected rather than risk overflow in the feature arithmetic.
pub const MAX_COUNT: u64 = 1 << 53;

const TS: &str = "ts";
const ORIG_H: &str = "id.orig_h";
const ORIG_P: &str = "id.orig_p";
const RESP_H: &str = "id.resp_h";
const RESP_P: &str = "id.resp_p";
const PROTO: &str = "proto";
const DURATION: &str = "duration";
const ORIG_BYTES: &str = "orig_bytes";
const RESP_BYTES: &str = "resp_bytes";
const ORIG_PKTS: &str = "orig_pkts";
const RESP_PKTS: &str = "resp_pkts";

/// The columns read, in [`Columns`] order.
const COLUMNS: [&str; 11] =
    [TS, ORIG_H, ORIG_P, RESP_H, RESP_P, PROTO, DURATION, ORIG_BYTES, RESP_BYTES, ORIG_PKTS, RESP_PKTS];

const UID: &str = "uid";
const CONN_STATE: &str = "conn_state";
const LOCAL_ORIG: &str = "local_orig";
const LOCAL_RESP: &str = "local_resp";

/// Columns read when present (the behaviour detectors use them; a log without them still scores).
/// An unknown `conn_state` or a `local_*` other than `T`/`F` is read as unset, never rejected: a
/// newer Zeek may add states, and the counters alone still describe the connection.
const OPTIONAL: [&str; 4] = [UID, CONN_STATE, LOCAL_ORIG, LOCAL_RESP];

/// Parses a whole conn.log (TSV, JSON lines, or both) into flows.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Parsed<Flow>, IngestError> {
    parse_slice(&mut ZeekParser::default(), input, limits)
}

/// Parses a conn.log from a stream, buffering at most one line.
pub fn parse_stream<R: std::io::BufRead>(reader: R, limits: &Limits) -> Result<Parsed<Flow>, IngestError> {
    parse_reader(&mut ZeekParser::default(), reader, limits)
}

/// The state of one conn.log: the current header and directives.
#[derive(Debug, Clone)]
pub struct ZeekParser {
    separator: u8,
    unset: String,
    empty: String,
    header: Header,
}

#[derive(Debug, Clone)]
enum Header {
    None,
    /// Field count and the index of each of [`COLUMNS`].
    Usable {
        fields: usize,
        index: [usize; 11],
        optional: [Option<usize>; 4],
    },
    Unusable {
        line: usize,
        problem: String,
    },
}

impl Default for ZeekParser {
    fn default() -> Self {
        ZeekParser { separator: b'\t', unset: "-".into(), empty: "(empty)".into(), header: Header::None }
    }
}

impl LineParser for ZeekParser {
    type Record = Flow;

    fn parse_line(&mut self, line_no: usize, line: &[u8]) -> Outcome<Flow> {
        let result = match line.first() {
            Some(b'#') => return self.directive(line_no, line),
            Some(b'{') => json_record(line),
            _ if line.trim_ascii_start().starts_with(b"#") => Err(LineError::IndentedDirective),
            _ => self.tsv_record(line),
        };
        match result {
            Ok(flow) => Outcome::Record(flow),
            Err(e) => Outcome::Rejected(e),
        }
    }
}

impl ZeekParser {
    fn directive(&mut self, line_no: usize, line: &[u8]) -> Outcome<Flow> {
        let text = match utf8(line) {
            Ok(t) => t,
            Err(e) => return Outcome::Rejected(e),
        };
        // `#separator` is the one directive whose value follows a space (it declares the separator).
        if let Some(value) = text.strip_prefix("#separator") {
            let value = value.trim_start_matches(' ');
            return match unescape(value) {
                Some(bytes) if bytes.len() == 1 && bytes[0] != b'\n' => {
                    self.separator = bytes[0];
                    Outcome::Ignored
                }
                _ => Outcome::Rejected(LineError::BadDirective(format!(
                    "#separator must be one byte (e.g. \\x09), got {}",
                    quote(value)
                ))),
            };
        }
        let sep = self.separator as char;
        let (key, value) = text.split_once(sep).unwrap_or((text, ""));
        match key {
            "#fields" => {
                self.header = header(line_no, value.split(sep));
                Outcome::Ignored
            }
            "#unset_field" => {
                self.unset = value.to_string();
                Outcome::Ignored
            }
            "#empty_field" => {
                self.empty = value.to_string();
                Outcome::Ignored
            }
            // `#set_separator`, `#path`, `#open`, `#types`, `#close` and comments carry nothing we need.
            _ => Outcome::Ignored,
        }
    }

    fn tsv_record(&self, line: &[u8]) -> Result<Flow, LineError> {
        let (fields, index, optional) = match &self.header {
            Header::Usable { fields, index, optional } => (*fields, index, optional),
            Header::Unusable { line, problem } => {
                return Err(LineError::BadHeader { header_line: *line, problem: problem.clone() })
            }
            Header::None => return Err(LineError::NoHeader),
        };
        let text = utf8(line)?;
        let values: Vec<&str> = text.split(self.separator as char).collect();
        if values.len() != fields {
            return Err(LineError::FieldCount { expected: fields, found: values.len() });
        }
        let get = |col: usize| -> Option<&str> {
            let v = values.get(index[col]).copied()?;
            (v != self.unset).then_some(v)
        };
        let empty = self.empty.as_str();
        let number = |col: usize| -> Result<Option<&str>, LineError> {
            match get(col) {
                Some(v) if v == empty => Err(bad(COLUMNS[col], "expected a number", v)),
                other => Ok(other),
            }
        };
        let required = |col: usize| get(col).ok_or_else(|| LineError::Unset { field: COLUMNS[col].to_string() });
        let ts = required(0)?;
        let ts = time::epoch_str_to_micros(ts).ok_or_else(|| bad(TS, "expected epoch seconds", ts))?;
        let orig_h = ip(ORIG_H, required(1)?)?;
        let orig_p = port(ORIG_P, required(2)?)?;
        let resp_h = ip(RESP_H, required(3)?)?;
        let resp_p = port(RESP_P, required(4)?)?;
        let proto = required(5)?;
        let duration = number(6)?.map(|v| seconds(DURATION, v)).transpose()?.unwrap_or(0.0);
        let orig_bytes = number(7)?.map(|v| count(ORIG_BYTES, v)).transpose()?.unwrap_or(0);
        let resp_bytes = number(8)?.map(|v| count(RESP_BYTES, v)).transpose()?.unwrap_or(0);
        let orig_pkts = count(ORIG_PKTS, number(9)?.ok_or_else(|| unset(ORIG_PKTS))?)?;
        let resp_pkts = count(RESP_PKTS, number(10)?.ok_or_else(|| unset(RESP_PKTS))?)?;
        let protocol = protocol(proto, orig_h.is_ipv6())?;
        let opt =
            |i: usize| optional[i].and_then(|c| values.get(c).copied()).filter(|v| *v != self.unset && *v != empty);
        let extra = Extra {
            uid: opt(0).map(str::to_string),
            state: opt(1).and_then(ConnState::parse),
            local_orig: opt(2).and_then(zeek_bool),
            local_resp: opt(3).and_then(zeek_bool),
        };
        flow(Conn {
            extra,
            ts,
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            protocol,
            duration,
            orig_bytes,
            resp_bytes,
            orig_pkts,
            resp_pkts,
        })
    }
}

/// The header of a `#fields` line, or why it cannot be used.
fn header<'a>(line_no: usize, names: impl Iterator<Item = &'a str>) -> Header {
    let names: Vec<&str> = names.collect();
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        if seen.insert(n, i).is_some() {
            return Header::Unusable { line: line_no, problem: format!("field {} appears twice", quote(n)) };
        }
    }
    let mut index = [0usize; 11];
    let mut missing = Vec::new();
    for (slot, col) in index.iter_mut().zip(COLUMNS) {
        match seen.get(col) {
            Some(i) => *slot = *i,
            None => missing.push(col),
        }
    }
    let optional = OPTIONAL.map(|col| seen.get(col).copied());
    if missing.is_empty() {
        Header::Usable { fields: names.len(), index, optional }
    } else {
        Header::Unusable { line: line_no, problem: format!("not a conn.log: no {} field", missing.join(", ")) }
    }
}

/// Decodes Zeek's `\xHH` escapes.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = std::str::from_utf8(b.get(i + 2..i + 4)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Zeek's `T` / `F`.
fn zeek_bool(v: &str) -> Option<bool> {
    match v {
        "T" => Some(true),
        "F" => Some(false),
        _ => None,
    }
}

/// The optional columns of a record.
#[derive(Default)]
struct Extra {
    uid: Option<String>,
    state: Option<ConnState>,
    local_orig: Option<bool>,
    local_resp: Option<bool>,
}

/// A validated conn record.
struct Conn {
    extra: Extra,
    ts: i64,
    orig_h: std::net::IpAddr,
    orig_p: u16,
    resp_h: std::net::IpAddr,
    resp_p: u16,
    protocol: u8,
    /// Seconds.
    duration: f64,
    orig_bytes: u64,
    resp_bytes: u64,
    orig_pkts: u64,
    resp_pkts: u64,
}

fn flow(c: Conn) -> Result<Flow, LineError> {
    let timestamp =
        time::format_micros(c.ts).ok_or_else(|| LineError::Invalid("ts is outside years 0000-9999".into()))?;
    let mut f = Flow::from_conn(&ConnSummary {
        five_tuple: Some(FiveTuple {
            src_ip: c.orig_h,
            src_port: c.orig_p,
            dst_ip: c.resp_h,
            dst_port: c.resp_p,
            protocol: c.protocol,
        }),
        timestamp: Some(timestamp),
        duration_us: c.duration * 1e6,
        fwd_packets: c.orig_pkts,
        bwd_packets: c.resp_pkts,
        fwd_bytes: c.orig_bytes,
        bwd_bytes: c.resp_bytes,
        protocol: c.protocol,
        dst_port: c.resp_p,
    });
    let Extra { uid, state, local_orig, local_resp } = c.extra;
    f.uid = uid;
    if state.is_some() || local_orig.is_some() || local_resp.is_some() {
        f.conn = Some(ConnMeta { state, local_orig, local_resp });
    }
    Ok(f)
}

fn bad(field: &str, problem: &'static str, value: &str) -> LineError {
    LineError::BadValue { field: field.to_string(), problem, value: quote(value) }
}

fn unset(field: &str) -> LineError {
    LineError::Unset { field: field.to_string() }
}

fn ip(field: &str, v: &str) -> Result<std::net::IpAddr, LineError> {
    v.parse().map_err(|_| bad(field, "expected an IP address", v))
}

fn port(field: &str, v: &str) -> Result<u16, LineError> {
    v.parse().map_err(|_| bad(field, "expected a port number 0-65535", v))
}

fn count(field: &str, v: &str) -> Result<u64, LineError> {
    v.parse::<u64>().ok().filter(|n| *n <= MAX_COUNT).ok_or_else(|| bad(field, "expected a count 0-2^53", v))
}

fn seconds(field: &str, v: &str) -> Result<f64, LineError> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| bad(field, "expected non-negative seconds", v))
}

/// IANA number of Zeek's transport name; `icmp` between IPv6 hosts is ICMPv6.
fn protocol(name: &str, ipv6: bool) -> Result<u8, LineError> {
    match super::protocol_number(name) {
        Some(1) if ipv6 => Ok(58),
        Some(p) => Ok(p),
        None => Err(bad(PROTO, "expected a known transport protocol (tcp, udp, icmp)", name)),
    }
}

/// One Zeek JSON line.
fn json_record(line: &[u8]) -> Result<Flow, LineError> {
    let m = json::object(line)?;
    if let Some(path) = json::get(&m, "_path") {
        if path.as_str() != Some("conn") {
            return Err(LineError::Invalid(format!("not a conn.log record (_path {})", json::show(path))));
        }
    }
    let ts = match json::require(&m, TS)? {
        Value::String(s) => time::iso_to_micros(s).or_else(|| time::epoch_str_to_micros(s)),
        v => v.as_f64().and_then(time::epoch_f64_to_micros),
    }
    .ok_or_else(|| json_bad(&m, TS, "expected epoch seconds or an ISO 8601 time"))?;
    let orig_h = json::ip(ORIG_H, json::require(&m, ORIG_H)?)?;
    let orig_p = json::port(ORIG_P, json::require(&m, ORIG_P)?)?;
    let resp_h = json::ip(RESP_H, json::require(&m, RESP_H)?)?;
    let resp_p = json::port(RESP_P, json::require(&m, RESP_P)?)?;
    let proto = json::string(PROTO, json::require(&m, PROTO)?)?;
    let protocol = protocol(proto, orig_h.is_ipv6())?;
    let optional_count = |f: &str| json::get(&m, f).map(|v| json_count(f, v)).transpose().map(|c| c.unwrap_or(0));
    let duration = json::get(&m, DURATION).map(|v| json::non_negative(DURATION, v)).transpose()?.unwrap_or(0.0);
    let orig_bytes = optional_count(ORIG_BYTES)?;
    let resp_bytes = optional_count(RESP_BYTES)?;
    let orig_pkts = json_count(ORIG_PKTS, json::require(&m, ORIG_PKTS)?)?;
    let resp_pkts = json_count(RESP_PKTS, json::require(&m, RESP_PKTS)?)?;
    let text = |k: &str| json::get(&m, k).and_then(Value::as_str);
    let flag = |k: &str| json::get(&m, k).and_then(Value::as_bool);
    let extra = Extra {
        uid: text(UID).map(str::to_string),
        state: text(CONN_STATE).and_then(ConnState::parse),
        local_orig: flag(LOCAL_ORIG),
        local_resp: flag(LOCAL_RESP),
    };
    flow(Conn {
        extra,
        ts,
        orig_h,
        orig_p,
        resp_h,
        resp_p,
        protocol,
        duration,
        orig_bytes,
        resp_bytes,
        orig_pkts,
        resp_pkts,
    })
}

fn json_count(field: &str, v: &Value) -> Result<u64, LineError> {
    json::count(field, v).and_then(|n| {
        (n <= MAX_COUNT).then_some(n).ok_or_else(|| bad(field, "expected a count 0-2^53", &n.to_string()))
    })
}

fn json_bad(m: &Map<String, Value>, field: &str, problem: &'static str) -> LineError {
    LineError::BadValue { field: field.to_string(), problem, value: m.get(field).map(json::show).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2015-11-18-16-36-13\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";
    const ROW: &str = "928.943457\tCxl7TP23vZQ4RolkJf\t10.0.2.112\t49168\t195.113.214.219\t80\ttcp\thttp\t0.055687\t261\t1077\tSF\t-\t-\t0\tShADadfF\t5\t473\t5\t1281\t(empty)";
    const SYN_ONLY: &str = "929.267228\tCW9u9wbGOMHboemg7\t10.0.2.112\t49171\t151.97.100.116\t6898\ttcp\t-\t-\t-\t-\tS0\t-\t-\t0\tS\t1\t52\t0\t0\t(empty)";

    fn run(input: &str) -> Parsed<Flow> {
        parse(input.as_bytes(), &Limits::default()).unwrap()
    }

    fn reasons(p: &Parsed<Flow>) -> Vec<(usize, &str)> {
        p.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect()
    }

    #[test]
    fn tsv_row_becomes_a_conn_flow() {
        let p = run(&format!("{HEADER}{ROW}\n#close\t2015-11-18-16-36-14\n"));
        assert_eq!(reasons(&p), vec![]);
        let f = &p.records[0];
        let t = f.five_tuple.unwrap();
        assert_eq!(
            (t.src_ip.to_string(), t.src_port, t.dst_ip.to_string(), t.dst_port, t.protocol),
            ("10.0.2.112".into(), 49168, "195.113.214.219".into(), 80, 6)
        );
        assert_eq!(f.timestamp.as_deref(), Some("1970-01-01 00:15:28.943457"));
        assert_eq!(f.get("Flow Duration"), Some(55687.0));
        assert_eq!(f.get("Total Fwd Packet"), Some(5.0));
        assert_eq!(f.get("Total Length of Bwd Packet"), Some(1077.0));
        assert_eq!(f.get("Dst Port"), Some(80.0));
    }

    #[test]
    fn unset_duration_and_bytes_read_as_zero() {
        let p = run(&format!("{HEADER}{SYN_ONLY}\n"));
        let f = &p.records[0];
        assert_eq!(f.get("Flow Duration"), Some(0.0));
        assert_eq!(f.get("Total Length of Fwd Packet"), Some(0.0));
        assert_eq!(f.get("Flow Bytes/s"), None, "a rate over zero duration is missing");
        assert_eq!(f.get("Total Fwd Packet"), Some(1.0));
    }

    #[test]
    fn columns_are_found_by_name_not_position() {
        let input = "#fields\tresp_pkts\tid.resp_p\tproto\tid.resp_h\tts\tid.orig_h\tid.orig_p\torig_pkts\tduration\torig_bytes\tresp_bytes\n\
                     3\t443\tudp\t2001:db8::1\t1601998366.5\t192.0.2.1\t5353\t7\t1.5\t10\t20\n";
        let p = run(input);
        assert_eq!(reasons(&p), vec![]);
        let f = &p.records[0];
        assert_eq!(f.five_tuple.unwrap().dst_port, 443);
        assert_eq!(f.five_tuple.unwrap().protocol, 17);
        assert_eq!(f.get("Total Fwd Packet"), Some(7.0));
        assert_eq!(f.get("Total Bwd packets"), Some(3.0));
        assert_eq!(f.timestamp.as_deref(), Some("2020-10-06 15:32:46.500000"));
    }

    #[test]
    fn other_separators_and_unset_markers_are_honoured() {
        let input = "#separator \\x2c\n#unset_field,NA\n#fields,ts,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,duration,orig_bytes,resp_bytes,orig_pkts,resp_pkts\n1,10.0.0.1,1,10.0.0.2,2,icmp,NA,NA,NA,1,0\n1,::1,8,::2,0,icmp,-,0,0,1,0\n";
        let p = run(input);
        assert_eq!(p.records[0].five_tuple.unwrap().protocol, 1);
        assert_eq!(reasons(&p), vec![(5, "field `duration`: expected non-negative seconds, got \"-\"")]);
    }

    #[test]
    fn icmp_between_ipv6_hosts_is_icmpv6() {
        let p = run("#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts\n1\tfe80::1\t135\tff02::1\t0\ticmp\t-\t-\t-\t1\t0\n");
        assert_eq!(p.records[0].five_tuple.unwrap().protocol, 58);
    }

    #[test]
    fn broken_tsv_lines_are_rejected_with_reasons_and_the_rest_parses() {
        let short = ROW.rsplit_once('\t').unwrap().0;
        let bad_port = ROW.replace("\t49168\t", "\t70000\t");
        let bad_count = ROW.replace("\t473\t5\t", "\t473\tfive\t");
        let neg_duration = ROW.replace("0.055687", "-1");
        let bad_ip = ROW.replace("10.0.2.112", "10.0.2");
        let unset_ts = ROW.replacen("928.943457", "-", 1);
        let unset_pkts = ROW.replace("\t5\t473\t", "\t-\t473\t");
        let unknown_proto = ROW.replace("\ttcp\t", "\tunknown_transport\t");
        let empty_bytes = ROW.replace("\t261\t", "\t(empty)\t");
        let huge = ROW.replace("\t261\t", "\t18446744073709551615\t");
        let input = [
            HEADER.trim_end(),
            ROW,
            short,
            &bad_port,
            &bad_count,
            &neg_duration,
            &bad_ip,
            &unset_ts,
            &unset_pkts,
            &unknown_proto,
            &empty_bytes,
            &huge,
            ROW,
        ]
        .join("\n");
        let p = run(&input);
        assert_eq!(p.records.len(), 2);
        assert_eq!(
            reasons(&p),
            vec![
                (10, "expected 21 tab-separated fields as declared by #fields, found 20"),
                (11, "field `id.orig_p`: expected a port number 0-65535, got \"70000\""),
                (12, "field `resp_pkts`: expected a count 0-2^53, got \"five\""),
                (13, "field `duration`: expected non-negative seconds, got \"-1\""),
                (14, "field `id.orig_h`: expected an IP address, got \"10.0.2\""),
                (15, "field `ts` is unset"),
                (16, "field `orig_pkts` is unset"),
                (17, "field `proto`: expected a known transport protocol (tcp, udp, icmp), got \"unknown_transport\""),
                (18, "field `orig_bytes`: expected a number, got \"(empty)\""),
                (19, "field `orig_bytes`: expected a count 0-2^53, got \"18446744073709551615\""),
            ]
        );
    }

    #[test]
    fn data_without_a_header_is_rejected() {
        let p = run(&format!("{ROW}\n"));
        assert_eq!(reasons(&p), vec![(1, "data line before any #fields header")]);
    }

    #[test]
    fn a_header_of_another_log_makes_its_rows_unusable() {
        // The first lines of zed-sample-data's dns.log (CC BY-SA 4.0, see data/logs/README.md).
        let dns = include_str!("../../data/logs/fixtures/zed-zeek-default_dns.log");
        let p = run(dns);
        assert!(p.records.is_empty());
        assert_eq!(p.rejected.len(), 3);
        assert_eq!(p.rejected[0].line, 9);
        assert_eq!(p.rejected[0].reason, "the #fields header on line 7 is unusable: not a conn.log: no duration, orig_bytes, resp_bytes, orig_pkts, resp_pkts field");
        // A following conn header makes the parser usable again.
        let p = run(&format!("{dns}{HEADER}{ROW}\n"));
        assert_eq!(p.records.len(), 1);
    }

    #[test]
    fn duplicate_header_fields_are_refused() {
        let p = run("#fields\tts\tts\n1\t2\n");
        assert_eq!(reasons(&p), vec![(2, "the #fields header on line 1 is unusable: field \"ts\" appears twice")]);
    }

    #[test]
    fn indented_directive_and_bad_separator_are_named() {
        let p = run(&format!("\t{HEADER}{ROW}\n"));
        assert_eq!(
            reasons(&p),
            vec![(1, "header directive preceded by whitespace: directives must start with `#` in column 1")]
        );
        assert_eq!(p.records.len(), 1);
        let p = run("#separator \\x0\n#separator ab\n");
        assert_eq!(p.rejected.len(), 2);
        assert!(p.rejected[0].reason.starts_with("malformed header directive: #separator must be one byte"));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend_from_slice(ROW.replace("Cxl7", "C\u{00e9}").as_bytes());
        input.extend_from_slice(b"\n928.9\tC\xff\n#\xfe\n");
        let p = parse(&input, &Limits::default()).unwrap();
        assert_eq!(p.records.len(), 1, "UTF-8 in a field we do not read is fine");
        assert_eq!(reasons(&p), vec![(10, "invalid UTF-8 at byte 7"), (11, "invalid UTF-8 at byte 1")]);
    }

    #[test]
    fn json_lines_of_both_timestamp_styles() {
        let epoch = r#"{"ts":1700828217.314165,"uid":"C","id.orig_h":"192.168.1.9","id.orig_p":50820,"id.resp_h":"45.33.32.156","id.resp_p":443,"proto":"tcp","duration":0.20696377754211426,"orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","orig_pkts":1,"resp_pkts":1}"#;
        let iso = r#"{"_path":"conn","ts":"2018-03-24T17:15:20.600843Z","id.orig_h":"10.47.1.152","id.orig_p":49562,"id.resp_h":"23.217.103.245","id.resp_p":80,"proto":"tcp","orig_pkts":1,"resp_pkts":0}"#;
        let p = run(&format!("{epoch}\n{iso}\n"));
        assert_eq!(reasons(&p), vec![]);
        assert_eq!(p.records[0].timestamp.as_deref(), Some("2023-11-24 12:16:57.314165"));
        assert_eq!(p.records[0].get("Flow Duration"), Some(206_963.78));
        assert_eq!(p.records[1].timestamp.as_deref(), Some("2018-03-24 17:15:20.600843"));
        assert_eq!(p.records[1].get("Flow Duration"), Some(0.0), "absent duration is unset");
    }

    #[test]
    fn broken_json_lines_are_rejected_with_reasons() {
        let ok = r#"{"ts":1.5,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":2,"proto":"udp","orig_pkts":1,"resp_pkts":1}"#;
        let input = [
            ok.to_string(),
            ok.replace(r#""id.resp_p":2"#, r#""id.resp_p":"2""#),
            ok.replace(r#""proto":"udp","#, ""),
            ok.replace(r#""orig_pkts":1"#, r#""orig_pkts":-1"#),
            ok.replace(r#""ts":1.5"#, r#""ts":"yesterday""#),
            ok.replace(r#""ts":1.5"#, r#""ts":1.5,"_path":"weird""#),
            ok.replace(r#""resp_pkts":1"#, r#""resp_pkts":null"#),
            ok[..40].to_string(),
            "{}[]".to_string(),
        ]
        .join("\n");
        let p = run(&input);
        assert_eq!(p.records.len(), 1);
        let r = reasons(&p);
        assert_eq!(r[0], (2, "field `id.resp_p`: expected a port number 0-65535, got \"2\""));
        assert_eq!(r[1], (3, "missing field `proto`"));
        assert_eq!(r[2], (4, "field `orig_pkts`: expected a non-negative integer, got \"-1\""));
        assert_eq!(r[3], (5, "field `ts`: expected epoch seconds or an ISO 8601 time, got \"yesterday\""));
        assert_eq!(r[4], (6, "not a conn.log record (_path \"weird\")"));
        assert_eq!(r[5], (7, "missing field `resp_pkts`"));
        assert!(r[6].1.starts_with("invalid JSON: EOF while parsing"), "{}", r[6].1);
        assert!(r[7].1.starts_with("invalid JSON: trailing characters"), "{}", r[7].1);
    }

    #[test]
    fn json_of_another_zeek_log_is_rejected() {
        // Two lines of zed-sample-data's weird.log in JSON (CC BY-SA 4.0, see data/logs/README.md).
        let p = run(include_str!("../../data/logs/fixtures/zed-zeek-json_weird.json"));
        assert!(p.records.is_empty());
        assert_eq!(
            reasons(&p),
            vec![(1, "not a conn.log record (_path \"weird\")"), (2, "not a conn.log record (_path \"weird\")")]
        );
    }

    #[test]
    fn the_stream_reader_agrees() {
        let input = format!("{HEADER}{ROW}\n{SYN_ONLY}\nbroken\n");
        let a = parse(input.as_bytes(), &Limits::default()).unwrap();
        let b = parse_stream(std::io::BufReader::with_capacity(16, input.as_bytes()), &Limits::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.records.len(), 2);
    }
}
