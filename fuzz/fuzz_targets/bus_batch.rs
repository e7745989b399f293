//! The ingest bus's batch messages (`src/bus/codec.rs`): what instances, and anyone NATS lets
//! publish to the stream, put on `<subject>.batch.<k>`.
//!
//! Asserts what the codec promises: no panic, and a message that decodes encodes to one that decodes
//! to the same batch (compared through `Debug`, where a NaN feature equals itself).
#![no_main]

use anomalyforge::bus::codec::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, flows)) = decode(data) {
        let again = decode(&encode(&header, &flows)).expect("an encoded batch decodes");
        assert_eq!(format!("{again:?}"), format!("{:?}", (header, flows)));
    }
});
