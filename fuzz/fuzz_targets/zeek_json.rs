//! Zeek conn.log as JSON lines (`src/ingest/zeek.rs`: a line starting with `{` is one JSON record),
//! as a buffer and as a stream.
#![no_main]

use anomalyforge::ingest::zeek::ZeekParser;
use anomalyforge_fuzz::{check_ingest_flow, check_lines, limits_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limits in limits_for(data) {
        if let Some(p) = check_lines(ZeekParser::default(), data, &limits) {
            p.records.iter().for_each(check_ingest_flow);
        }
    }
});
