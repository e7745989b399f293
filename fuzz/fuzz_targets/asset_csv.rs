//! The asset inventory CSV import (`src/asset_csv.rs`), and the export of what it accepted: the
//! module promises that an exported file imports back unchanged.
#![no_main]

use anomalyforge::asset::{Asset, AssetEdit};
use anomalyforge::asset_csv::{parse_csv, to_csv, MAX_IMPORT_ROWS};
use libfuzzer_sys::fuzz_target;

fn asset(e: &AssetEdit) -> Asset {
    Asset {
        id: 0,
        ip: e.ip.clone(),
        hostname: e.hostname.clone(),
        owner: e.owner.clone(),
        purpose: e.purpose.clone(),
        criticality: e.criticality,
        tags: e.tags.clone(),
        discovered: false,
        first_seen: None,
        last_seen: None,
        created_at: 0,
        updated_at: 0,
    }
}

fuzz_target!(|data: &[u8]| {
    // The import takes text (a form field); invalid UTF-8 never reaches it, so map it the lossy way.
    let text = String::from_utf8_lossy(data);
    let Ok((edits, rejected)) = parse_csv(&text) else { return };
    // 1-based lines of the text, the header on line 1. Lines end as CSV records do: at `\n`, `\r\n`
    // or a lone `\r`.
    let b = text.as_bytes();
    let lines = 1 + (0..b.len()).filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n'))).count();
    for line in edits.iter().map(|(l, _)| *l).chain(rejected.iter().map(|r| r.line)) {
        assert!(line >= 2 && line <= lines, "row on line {line} of {lines}");
    }
    assert!(rejected.windows(2).all(|w| w[0].line <= w[1].line), "rejections not sorted: {rejected:?}");
    assert!(edits.windows(2).all(|w| w[0].0 <= w[1].0), "edits out of input order");
    // A later row for the same address replaces the earlier one.
    for (i, (_, e)) in edits.iter().enumerate() {
        assert!(edits[..i].iter().all(|(_, other)| other.ip != e.ip), "{} imported twice", e.ip);
    }
    assert!(edits.len() <= MAX_IMPORT_ROWS);
    // Every accepted row exports and imports back unchanged.
    let assets: Vec<Asset> = edits.iter().map(|(_, e)| asset(e)).collect();
    let exported = to_csv(&assets);
    let (again, refused) = parse_csv(&exported).expect("an export has an `ip` column");
    assert!(refused.is_empty(), "the export of valid rows has rejected rows: {refused:?}\n{exported}");
    let before: Vec<&AssetEdit> = edits.iter().map(|(_, e)| e).collect();
    let after: Vec<&AssetEdit> = again.iter().map(|(_, e)| e).collect();
    assert_eq!(before, after, "export/import round trip changed the rows:\n{exported}");
});
