//! Checks shared by the fuzz targets in `fuzz_targets/`: the invariants the parsers document, asserted
//! on whatever libFuzzer feeds them. A failed assertion is a crash, like a panic inside a parser.
//!
//! - `src/ingest/mod.rs`: a parser never panics; the streaming reader ([`parse_reader`]) and the
//!   whole-buffer parse ([`parse_slice`]) agree; a line gives at most one outcome, so accepted +
//!   rejected + skipped never exceeds the lines of the input nor [`Limits::max_records`]; rejections
//!   carry 1-based line numbers, in input order; a buffer only fails as a whole by exceeding the
//!   record cap; timestamps are normalised to UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
//! - `src/flow.rs`: a [`Flow`] holds one slot per canonical feature, and a present value is finite.
//! - the `conn` profile ([`Flow::from_conn`]) and the flow JSON format: `Dst Port` and `Protocol`
//!   agree with the 5-tuple.

use std::io::BufReader;

use anomalyforge::flow::{Flow, FEATURE_COUNT};
use anomalyforge::ingest::{parse_reader, parse_slice, IngestError, Limits, LineParser, Parsed, Rejected};

/// The limits every input is parsed with: the defaults, and tight ones (derived from the input, so a
/// run is reproducible) that make the per-line and per-batch caps trigger.
pub fn limits_for(input: &[u8]) -> [Limits; 2] {
    let tight = Limits { max_line_bytes: 16 + input.len() % 241, max_records: 1 + input.len() % 13 };
    [Limits::default(), tight]
}

/// Lines of the input as the ingest parsers number them (a final line ending may start an empty one).
pub fn lines_in(input: &[u8]) -> usize {
    input.split(|b| *b == b'\n').count()
}

/// Runs a line parser over `input` as a buffer and as a stream (a small, input-dependent read
/// buffer, so lines span reads), checks that both agree and that the bounds hold, and returns the
/// parse (`None` when the batch was refused for exceeding the record cap).
pub fn check_lines<P>(parser: P, input: &[u8], limits: &Limits) -> Option<Parsed<P::Record>>
where
    P: LineParser + Clone,
    P::Record: PartialEq + std::fmt::Debug,
{
    let whole = parse_slice(&mut parser.clone(), input, limits);
    let capacity = 1 + input.len() % 17;
    let streamed = parse_reader(&mut parser.clone(), BufReader::with_capacity(capacity, input), limits);
    match (whole, streamed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "parse_slice and parse_reader disagree");
            let lines = lines_in(input);
            assert!(a.total() <= lines, "{} outcomes from {lines} lines", a.total());
            check_batch(&a, lines, limits);
            Some(a)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "parse_slice and parse_reader fail differently");
            check_refusal(&a, limits);
            None
        }
        (a, b) => panic!("parse_slice and parse_reader disagree: {a:?} vs {b:?}"),
    }
}

/// The bounds of one parsed batch with `lines` lines.
pub fn check_batch<T>(p: &Parsed<T>, lines: usize, limits: &Limits) {
    assert!(p.total() <= limits.max_records, "{} outcomes over the cap of {}", p.total(), limits.max_records);
    check_rejected_lines(&p.rejected, lines);
}

/// Rejections name 1-based lines of the input, in input order.
pub fn check_rejected_lines(rejected: &[Rejected], lines: usize) {
    for r in rejected {
        assert!(r.line >= 1 && r.line <= lines, "rejection on line {} of {lines}: {}", r.line, r.reason);
    }
    assert!(rejected.windows(2).all(|w| w[0].line <= w[1].line), "rejections out of order: {rejected:?}");
}

/// An in-memory batch only fails as a whole by exceeding the record cap.
pub fn check_refusal(e: &IngestError, limits: &Limits) {
    match e {
        IngestError::TooManyRecords { max, .. } => assert_eq!(*max, limits.max_records),
        IngestError::Io(e) => panic!("I/O error from an in-memory buffer: {e}"),
    }
}

/// One slot per canonical feature; a present value is a finite number.
pub fn check_features(f: &Flow) {
    assert_eq!(f.features.len(), FEATURE_COUNT, "feature vector of the wrong length");
    for (i, v) in f.features.iter().enumerate() {
        if let Some(v) = v {
            assert!(v.is_finite(), "feature {} is {v}", anomalyforge::flow::FEATURES[i]);
        }
    }
}

/// A flow from a live-ingest parser (Zeek, Suricata, flow JSON): the features as above, a 5-tuple,
/// `Dst Port` and `Protocol` agreeing with it, and a normalised timestamp.
pub fn check_ingest_flow(f: &Flow) {
    check_features(f);
    let t = f.five_tuple.expect("an ingested flow has a 5-tuple");
    assert_eq!(f.get("Dst Port"), Some(f32::from(t.dst_port)), "Dst Port disagrees with the 5-tuple");
    assert_eq!(f.get("Protocol"), Some(f32::from(t.protocol)), "Protocol disagrees with the 5-tuple");
    check_timestamp(f.timestamp.as_deref().expect("an ingested flow has a timestamp"));
}

/// `YYYY-MM-DD HH:MM:SS.ffffff`.
pub fn check_timestamp(ts: &str) {
    let b = ts.as_bytes();
    let shaped = b.len() == 26
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        });
    assert!(shaped, "timestamp not normalised: {ts:?}");
}
