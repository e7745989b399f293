//! Input parsers of the live pipeline: Zeek conn.log (TSV and JSON lines), Suricata EVE JSON and the
//! integrator flow format, each turning bytes into [`Flow`]s (or, for Suricata alerts,
//! [`SignatureAlert`]s).
//!
//! Every parser is pure (bytes in, values out), never panics and never stops at a bad record: a bad
//! record becomes a [`Rejected`] with its 1-based line number and a reason, and parsing goes on. Only
//! exceeding the batch's record limit ([`Limits::max_records`]) or an I/O error ends a batch early, as
//! an [`IngestError`] the caller turns into an HTTP 413 or a CLI message.
//!
//! Bounds: a line longer than [`Limits::max_line_bytes`] is rejected without being copied or parsed,
//! the streaming reader ([`parse_reader`]) never buffers more than that per line, and the number of
//! data lines (accepted, rejected or skipped) per batch is capped, so the rejection list is bounded
//! too. Header, comment and blank lines do not count towards the cap.
//!
//! Timestamps are normalised to UTC `YYYY-MM-DD HH:MM:SS.ffffff` (the layout of the CIC-IDS2017 CSVs,
//! so [`Flow::day`] works on every source); see [`time`].

pub mod body;
pub mod flows_json;
#[cfg(test)]
mod props;
pub mod suricata;
pub mod time;
pub mod zeek;

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::flow::{FiveTuple, Flow};

/// Default longest accepted line (or JSON array element): 64 KiB. Real conn.log lines are ~200 bytes
/// and EVE lines ~1 KB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024;
/// Default most data lines per batch.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

/// Longest excerpt of input quoted in a rejection reason.
const MAX_QUOTED_CHARS: usize = 64;

/// Size limits of one batch (a config section: missing keys take the defaults, unknown keys are errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest line (NDJSON/TSV) or JSON array element in bytes, without its line ending.
    pub max_line_bytes: usize,
    /// Most data lines (accepted + rejected + skipped) in one batch.
    pub max_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line_bytes: DEFAULT_MAX_LINE_BYTES, max_records: DEFAULT_MAX_RECORDS }
    }
}

/// One record that was not accepted, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Rejected {
    /// 1-based line number in the input (for a JSON array: the line the element starts on).
    pub line: usize,
    pub reason: String,
}

impl Rejected {
    pub fn new(line: usize, error: &LineError) -> Rejected {
        Rejected { line, reason: error.to_string() }
    }
}

/// The outcome of parsing one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parsed<T> {
    /// Accepted records, in input order.
    pub records: Vec<T>,
    /// Rejected records, in input order.
    pub rejected: Vec<Rejected>,
    /// Valid records of kinds this source does not turn into anything (Suricata `dns`, `http`, …).
    pub skipped: usize,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed { records: Vec::new(), rejected: Vec::new(), skipped: 0 }
    }
}

impl<T> Parsed<T> {
    /// Data lines seen: accepted + rejected + skipped.
    pub fn total(&self) -> usize {
        self.records.len() + self.rejected.len() + self.skipped
    }
}

/// A Suricata signature match (EVE `event_type: "alert"`): a signature-based detection beside the ML
/// ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureAlert {
    /// The rule's message, e.g. `ET DROP Dshield Block Listed Source group 1`.
    pub signature: String,
    /// The rule's `sid`.
    pub signature_id: u64,
    /// The rule's classtype description (`Misc Attack`); Suricata omits it for rules without one.
    pub category: Option<String>,
    /// Suricata priority: 1 is the most severe.
    pub severity: u8,
    pub five_tuple: FiveTuple,
    /// UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub timestamp: String,
}

/// What a source produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IngestRecord {
    Flow(Flow),
    SignatureAlert(SignatureAlert),
}

/// Why a batch as a whole was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("batch has more than {max} records (limit reached at line {line})")]
    TooManyRecords { max: usize, line: usize },
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
}

/// Why one record was rejected. Its `Display` is the reason reported to the sender.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LineError {
    #[error("line is {len} bytes, longer than the limit of {max}")]
    LineTooLong { len: usize, max: usize },
    #[error("record is {len} bytes, longer than the limit of {max}")]
    RecordTooLong { len: usize, max: usize },
    #[error("invalid UTF-8 at byte {at}")]
    InvalidUtf8 { at: usize },
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("expected a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("missing field `{0}`")]
    MissingField(String),
    #[error("field `{field}` is unset")]
    Unset { field: String },
    #[error("field `{field}`: {problem}, got {value}")]
    BadValue { field: String, problem: &'static str, value: String },
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("unknown feature name `{name}`{}", hint.as_ref().map(|h| format!(" (the canonical name is `{h}`)")).unwrap_or_default())]
    UnknownFeature { name: String, hint: Option<String> },
    #[error("{0}")]
    Invalid(String),
    #[error("expected {expected} tab-separated fields as declared by #fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("data line before any #fields header")]
    NoHeader,
    #[error("the #fields header on line {header_line} is unusable: {problem}")]
    BadHeader { header_line: usize, problem: String },
    #[error("header directive preceded by whitespace: directives must start with `#` in column 1")]
    IndentedDirective,
    #[error("malformed header directive: {0}")]
    BadDirective(String),
}

/// What a parser made of one line.
#[derive(Debug)]
pub enum Outcome<T> {
    /// An accepted record.
    Record(T),
    /// A valid record of a kind the source ignores (counted).
    Skipped,
    /// A header, comment or blank line (not counted).
    Ignored,
    Rejected(LineError),
}

impl<T> Outcome<T> {
    /// The same outcome with its record mapped.
    pub fn map_record<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Record(r) => Outcome::Record(f(r)),
            Outcome::Skipped => Outcome::Skipped,
            Outcome::Ignored => Outcome::Ignored,
            Outcome::Rejected(e) => Outcome::Rejected(e),
        }
    }
}

/// A stateful line-at-a-time parser (state: e.g. the current Zeek `#fields` header). Driven by
/// [`parse_slice`] over a buffer or [`parse_reader`] over a stream.
pub trait LineParser {
    type Record;
    /// Parses one line (without its line ending, at most `max_line_bytes` long). `line_no` is 1-based.
    fn parse_line(&mut self, line_no: usize, line: &[u8]) -> Outcome<Self::Record>;
}

/// Collects outcomes into a [`Parsed`] and enforces the record cap.
struct Collector<'a, T> {
    parsed: Parsed<T>,
    limits: &'a Limits,
}

impl<'a, T> Collector<'a, T> {
    fn new(limits: &'a Limits) -> Self {
        Collector { parsed: Parsed::default(), limits }
    }

    fn push(&mut self, line_no: usize, outcome: Outcome<T>) -> Result<(), IngestError> {
        if !matches!(outcome, Outcome::Ignored) && self.parsed.total() >= self.limits.max_records {
            return Err(IngestError::TooManyRecords { max: self.limits.max_records, line: line_no });
        }
        match outcome {
            Outcome::Record(r) => self.parsed.records.push(r),
            Outcome::Skipped => self.parsed.skipped += 1,
            Outcome::Ignored => {}
            Outcome::Rejected(e) => self.parsed.rejected.push(Rejected::new(line_no, &e)),
        }
        Ok(())
    }
}

/// Parses one line after the common checks (length, blank), trimming a trailing `\r`.
fn feed<P: LineParser>(parser: &mut P, line_no: usize, line: &[u8], limits: &Limits) -> Outcome<P::Record> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > limits.max_line_bytes {
        return Outcome::Rejected(LineError::LineTooLong { len: line.len(), max: limits.max_line_bytes });
    }
    // A UTF-8 byte order mark (Windows editors write one) is not part of the first record.
    let line = if line_no == 1 { line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line) } else { line };
    if line.iter().all(u8::is_ascii_whitespace) {
        return Outcome::Ignored;
    }
    parser.parse_line(line_no, line)
}

/// Runs a line parser over a whole buffer (an HTTP body).
pub fn parse_slice<P: LineParser>(
    parser: &mut P,
    input: &[u8],
    limits: &Limits,
) -> Result<Parsed<P::Record>, IngestError> {
    let mut out = Collector::new(limits);
    if input.is_empty() {
        return Ok(out.parsed);
    }
    // A final line ending does not start another line.
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let outcome = feed(parser, i + 1, line, limits);
        out.push(i + 1, outcome)?;
    }
    Ok(out.parsed)
}

/// Runs a line parser over a stream (a file, a request body stream). Buffers at most
/// `max_line_bytes + 1` bytes of a line: the rest of an overlong line is read and dropped.
pub fn parse_reader<P: LineParser, R: BufRead>(
    parser: &mut P,
    reader: R,
    limits: &Limits,
) -> Result<Parsed<P::Record>, IngestError> {
    let mut out = Collector::new(limits);
    stream_lines(parser, reader, limits, |line_no, outcome| out.push(line_no, outcome))?;
    Ok(out.parsed)
}

/// Runs a line parser over a stream and hands each line's outcome to `sink` as it is read, with
/// no cap on the number of lines (the file analyser's bound is the file size). Buffers at most
/// `max_line_bytes + 1` bytes of a line. The first error of `sink` or of the reader ends it.
pub fn stream_lines<P: LineParser, R: BufRead, E: From<std::io::Error>>(
    parser: &mut P,
    mut reader: R,
    limits: &Limits,
    mut sink: impl FnMut(usize, Outcome<P::Record>) -> Result<(), E>,
) -> Result<(), E> {
    // +1 so that a line of exactly the limit plus its `\r` still fits.
    let cap = limits.max_line_bytes.saturating_add(1);
    let mut line: Vec<u8> = Vec::new();
    let mut line_len = 0usize; // true length, including dropped bytes
    let mut line_no = 0usize;
    let mut in_line = false;
    let mut last_byte: Option<u8> = None; // of the line so far, even if dropped
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(E::from(e)),
        };
        if buf.is_empty() {
            if in_line {
                line_no += 1;
                let outcome = finish_line(parser, line_no, &line, line_len, last_byte, limits);
                sink(line_no, outcome)?;
            }
            return Ok(());
        }
        let (chunk, ends_line) = match buf.iter().position(|b| *b == b'\n') {
            Some(p) => (&buf[..p], Some(p + 1)),
            None => (buf, None),
        };
        in_line = true;
        if let Some(b) = chunk.last() {
            last_byte = Some(*b);
        }
        line_len = line_len.saturating_add(chunk.len());
        let room = cap.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = ends_line.unwrap_or(chunk.len());
        reader.consume(consumed);
        if ends_line.is_some() {
            line_no += 1;
            let outcome = finish_line(parser, line_no, &line, line_len, last_byte, limits);
            sink(line_no, outcome)?;
            line.clear();
            line_len = 0;
            in_line = false;
            last_byte = None;
        }
    }
}

fn finish_line<P: LineParser>(
    parser: &mut P,
    line_no: usize,
    kept: &[u8],
    true_len: usize,
    last_byte: Option<u8>,
    limits: &Limits,
) -> Outcome<P::Record> {
    if true_len > kept.len() {
        // Truncated while reading: report the real length without a final `\r`, as `parse_slice` does.
        let len = if last_byte == Some(b'\r') { true_len - 1 } else { true_len };
        return Outcome::Rejected(LineError::LineTooLong { len, max: limits.max_line_bytes });
    }
    feed(parser, line_no, kept, limits)
}

/// Input quoted in a reason: at most [`MAX_QUOTED_CHARS`] characters, with `…` when cut.
pub(crate) fn quote(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_QUOTED_CHARS).collect();
    if s.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push('…');
    }
    format!("{out:?}")
}

/// Bytes as UTF-8 text, or the rejection naming the first bad byte.
pub(crate) fn utf8(line: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(line).map_err(|e| LineError::InvalidUtf8 { at: e.valid_up_to() })
}

/// IANA protocol number of a transport name (`tcp`, `UDP`, `IPv6-ICMP`, …) or of a decimal number.
pub(crate) fn protocol_number(name: &str) -> Option<u8> {
    let n = name.trim();
    if let Ok(v) = n.parse::<u8>() {
        return Some(v);
    }
    match n.to_ascii_lowercase().as_str() {
        "icmp" => Some(1),
        "igmp" => Some(2),
        "tcp" => Some(6),
        "udp" => Some(17),
        "gre" => Some(47),
        "esp" => Some(50),
        "ah" => Some(51),
        "icmpv6" | "ipv6-icmp" | "icmp6" => Some(58),
        "sctp" => Some(132),
        _ => None,
    }
}

/// Helpers to read typed fields of a JSON object, with rejections that name the field.
pub(crate) mod json {
    use super::{quote, LineError};
    use serde_json::{Map, Value};
    use std::net::IpAddr;

    /// Parses one JSON object.
    pub fn object(bytes: &[u8]) -> Result<Map<String, Value>, LineError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(LineError::NotAnObject { found: kind(&other) }),
            Err(e) => Err(LineError::Json(e.to_string())),
        }
    }

    pub fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// A value shown in a reason.
    pub fn show(v: &Value) -> String {
        match v {
            Value::String(s) => quote(s),
            Value::Array(_) | Value::Object(_) => kind(v).to_string(),
            other => quote(&other.to_string()),
        }
    }

    fn bad(field: &str, problem: &'static str, v: &Value) -> LineError {
        LineError::BadValue { field: field.to_string(), problem, value: show(v) }
    }

    /// A present, non-null value.
    pub fn get<'a>(m: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
        m.get(field).filter(|v| !v.is_null())
    }

    pub fn require<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a Value, LineError> {
        get(m, field).ok_or_else(|| LineError::MissingField(field.to_string()))
    }

    pub fn ip(field: &str, v: &Value) -> Result<IpAddr, LineError> {
        v.as_str().and_then(|s| s.trim().parse().ok()).ok_or_else(|| bad(field, "expected an IP address", v))
    }

    pub fn port(field: &str, v: &Value) -> Result<u16, LineError> {
        v.as_u64().and_then(|n| u16::try_from(n).ok()).ok_or_else(|| bad(field, "expected a port number 0-65535", v))
    }

    pub fn count(field: &str, v: &Value) -> Result<u64, LineError> {
        v.as_u64().ok_or_else(|| bad(field, "expected a non-negative integer", v))
    }

    /// A finite, non-negative number.
    pub fn non_negative(field: &str, v: &Value) -> Result<f64, LineError> {
        v.as_f64().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| bad(field, "expected a non-negative number", v))
    }

    pub fn string<'a>(field: &str, v: &'a Value) -> Result<&'a str, LineError> {
        v.as_str().ok_or_else(|| bad(field, "expected a string", v))
    }

    /// A protocol given as a name (`tcp`) or an IANA number (`6` or `"6"`).
    pub fn protocol(field: &str, v: &Value) -> Result<u8, LineError> {
        let n = match v {
            Value::String(s) => super::protocol_number(s),
            Value::Number(_) => v.as_u64().and_then(|n| u8::try_from(n).ok()),
            _ => None,
        };
        n.ok_or_else(|| bad(field, "expected a transport protocol name or number 0-255", v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts lines that are `ok`, skips `skip`, rejects the rest.
    struct Toy;
    impl LineParser for Toy {
        type Record = String;
        fn parse_line(&mut self, _: usize, line: &[u8]) -> Outcome<String> {
            match line {
                b"skip" => Outcome::Skipped,
                b"#c" => Outcome::Ignored,
                l => match utf8(l) {
                    Ok("ok") => Outcome::Record("ok".into()),
                    Ok(_) => Outcome::Rejected(LineError::Invalid("not ok".into())),
                    Err(e) => Outcome::Rejected(e),
                },
            }
        }
    }

    fn both(input: &[u8], limits: &Limits) -> Result<Parsed<String>, IngestError> {
        let a = parse_slice(&mut Toy, input, limits);
        // A tiny buffer forces lines to span many reads.
        let b = parse_reader(&mut Toy, std::io::BufReader::with_capacity(3, input), limits);
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(x, y),
            (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
            _ => panic!("slice and reader disagree: {a:?} vs {b:?}"),
        }
        a
    }

    #[test]
    fn counts_lines_from_one_and_ignores_blank_lines_and_crlf() {
        let p = both(b"ok\r\n\nskip\n#c\nbad\nok", &Limits::default()).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.skipped, 1);
        assert_eq!(p.rejected, vec![Rejected { line: 5, reason: "not ok".into() }]);
    }

    #[test]
    fn overlong_line_is_rejected_and_the_next_one_still_parses() {
        let limits = Limits { max_line_bytes: 4, max_records: 10 };
        let p = both(b"ok\nokokokok\nok\n", &limits).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].line, 2);
        assert_eq!(p.rejected[0].reason, "line is 8 bytes, longer than the limit of 4");
    }

    #[test]
    fn record_cap_ends_the_batch_with_an_error() {
        let limits = Limits { max_line_bytes: 10, max_records: 2 };
        let err = both(b"ok\n#c\n\nbad\nok\n", &limits).unwrap_err();
        assert!(matches!(err, IngestError::TooManyRecords { max: 2, line: 5 }), "{err}");
        // Exactly at the cap is fine; ignored lines do not count.
        assert_eq!(both(b"ok\n#c\nok\n\n", &limits).unwrap().records.len(), 2);
    }

    #[test]
    fn a_byte_order_mark_is_dropped_from_the_first_line_only() {
        let p = both(b"\xEF\xBB\xBFok\n\xEF\xBB\xBFok\n", &Limits::default()).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.rejected[0].line, 2);
    }

    #[test]
    fn invalid_utf8_names_the_byte() {
        let p = both(b"o\xffk\n", &Limits::default()).unwrap();
        assert_eq!(p.rejected[0].reason, "invalid UTF-8 at byte 1");
    }

    #[test]
    fn empty_input_is_an_empty_batch() {
        assert_eq!(both(b"", &Limits::default()).unwrap(), Parsed::default());
        assert_eq!(both(b"\n\n", &Limits::default()).unwrap(), Parsed::default());
    }

    #[test]
    fn quote_cuts_long_input_on_a_char_boundary() {
        let q = quote(&"é".repeat(100));
        assert!(q.ends_with("…\""));
        assert_eq!(q.chars().filter(|c| *c == 'é').count(), MAX_QUOTED_CHARS);
    }

    #[test]
    fn protocol_names_and_numbers() {
        assert_eq!(protocol_number("TCP"), Some(6));
        assert_eq!(protocol_number("udp"), Some(17));
        assert_eq!(protocol_number("IPv6-ICMP"), Some(58));
        assert_eq!(protocol_number("006"), Some(6));
        assert_eq!(protocol_number("unknown_transport"), None);
        assert_eq!(protocol_number("300"), None);
    }
}
