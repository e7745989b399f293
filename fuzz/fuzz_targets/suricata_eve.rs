//! Suricata EVE JSON lines (`src/ingest/suricata.rs`): flow events become flows, alerts become
//! signature alerts, other event types are skipped. Parsed as a buffer and as a stream.
#![no_main]

use anomalyforge::ingest::{suricata::EveParser, IngestRecord};
use anomalyforge_fuzz::{check_ingest_flow, check_lines, check_timestamp, limits_for};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for limits in limits_for(data) {
        let Some(p) = check_lines(EveParser, data, &limits) else { continue };
        for r in &p.records {
            match r {
                IngestRecord::Flow(f) => check_ingest_flow(f),
                IngestRecord::SignatureAlert(a) => check_timestamp(&a.timestamp),
            }
        }
    }
});
