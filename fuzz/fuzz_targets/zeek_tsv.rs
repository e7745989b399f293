//! Zeek conn.log in its tab-separated form (`src/ingest/zeek.rs`), as a buffer and as a stream.
//!
//! The input is parsed as it is (its own `#` directives decide separator, unset marker and columns),
//! and once more behind a fixed conn.log header, so that mutated data rows reach the record parser even
//! when the mutation broke the input's own header.
#![no_main]

use anomalyforge::ingest::{zeek::ZeekParser, Limits};
use anomalyforge_fuzz::{check_ingest_flow, check_lines, limits_for};
use libfuzzer_sys::fuzz_target;

const HEADER: &[u8] = b"#separator \\x09\n#unset_field\t-\n#empty_field\t(empty)\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\torig_pkts\tresp_pkts\n";

fuzz_target!(|data: &[u8]| {
    for limits in limits_for(data) {
        if let Some(p) = check_lines(ZeekParser::default(), data, &limits) {
            p.records.iter().for_each(check_ingest_flow);
        }
    }
    let behind_header = [HEADER, data].concat();
    if let Some(p) = check_lines(ZeekParser::default(), &behind_header, &Limits::default()) {
        p.records.iter().for_each(check_ingest_flow);
    }
});
