//! The instances' site samples as the database gives them back (`src/baseline/shared.rs`), in their
//! binary layout (the stored form is this, gzip'd).
//!
//! Asserts: no panic or oversized allocation, and a sample that decodes encodes to one that decodes
//! to the same sample (compared through `Debug`, where a NaN value equals itself).
#![no_main]

use anomalyforge::baseline::shared::{decode_raw, encode_raw};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sample) = decode_raw(data) {
        let again = decode_raw(&encode_raw(&sample)).expect("an encoded sample decodes");
        assert_eq!(format!("{again:?}"), format!("{sample:?}"));
    }
});
