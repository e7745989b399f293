//! The integrator flow format (`src/ingest/flows_json.rs`): a JSON array of flow objects or NDJSON.
//! The public entry point decides which from the first byte; NDJSON is also parsed as a stream and
//! must agree.
#![no_main]

use anomalyforge::ingest::flows_json::{self, FlowsParser};
use anomalyforge_fuzz::{check_batch, check_ingest_flow, check_lines, check_refusal, limits_for, lines_in};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    for limits in limits_for(data) {
        let parsed = match flows_json::parse(data, &limits) {
            Ok(p) => p,
            Err(e) => {
                check_refusal(&e, &limits);
                continue;
            }
        };
        // Several array elements may share a line, so only NDJSON has at most one outcome per line.
        check_batch(&parsed, lines_in(data), &limits);
        parsed.records.iter().for_each(check_ingest_flow);
        assert_eq!(parsed.skipped, 0, "the flow format has no record kind to skip");
        if !is_array {
            let lines = check_lines(FlowsParser, data, &limits);
            assert_eq!(lines.as_ref(), Some(&parsed), "NDJSON parse differs from the line parser");
        }
    }
});
