//! The CICFlowMeter CSV reader (`src/engine/csv.rs`), both layouts: columns are mapped by header
//! name, so the input's own header decides between the 2017 MachineLearningCVE layout and the
//! corrected 2021 one (the seeds hold both; mutations mix them).
#![no_main]

use std::io::Cursor;
use std::path::Path;

use anomalyforge::engine::csv::FlowReader;
use anomalyforge::flow::FEATURE_COUNT;
use anomalyforge_fuzz::check_features;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A header without a single feature column is refused, which is fine.
    let Ok(mut reader) = FlowReader::from_reader(Path::new("fuzz.csv"), Box::new(Cursor::new(data.to_vec()))) else {
        return;
    };
    let info = reader.header().clone();
    assert!((1..=FEATURE_COUNT).contains(&info.features_found), "{info:?}");
    assert!(
        info.features_found + info.duplicate_columns.len() + info.unknown_columns.len() <= info.columns,
        "{info:?}"
    );
    // The csv crate ends a record at `\n`, `\r` or `\r\n`; the header takes one record.
    let terminators = data.iter().filter(|b| matches!(b, b'\n' | b'\r')).count() as u64;
    let (mut accepted, mut rejected) = (0u64, 0u64);
    while let Some(row) = reader.next_flow() {
        match row {
            Ok(f) => {
                check_features(&f);
                // An empty label rejects the row.
                assert!(f.label.as_deref().is_none_or(|l| !l.is_empty()), "empty label accepted");
                accepted += 1;
            }
            Err(_) => rejected += 1,
        }
        assert!(accepted + rejected <= terminators, "{} rows from {terminators} line endings", accepted + rejected);
    }
    let stats = reader.stats();
    assert_eq!((stats.rows, stats.rejected), (accepted, rejected), "counts disagree with the rows returned");
    assert!(stats.first_rejections.len() as u64 <= rejected.min(20));
});
