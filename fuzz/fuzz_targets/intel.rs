//! The threat-intel import (`src/intel/`): plain lists, CSV, STIX 2.1 and MISP. The first byte picks
//! the format, the rest is the document (mapped the lossy way to text, as an upload is).
//!
//! Asserts what the module promises: no panic; rejections named by line are in input order and
//! inside the text; every entry's indicator is canonical (its text parses back to itself) and
//! appears once; a plain list gives at most one outcome per non-comment line.
#![no_main]

use std::collections::HashSet;

use anomalyforge::intel::{parse, Indicator, IntelFormat, Location, MAX_ENTRIES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = IntelFormat::ALL[usize::from(pick) % IntelFormat::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    let parsed = parse(format, &text);
    // 1-based lines: each `\n`, `\r\n` or lone `\r` ends one.
    let b = text.as_bytes();
    let lines = 1 + (0..b.len()).filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n'))).count();
    let mut last = 0;
    for r in &parsed.rejected {
        if let Location::Line(l) = r.at {
            assert!(l > last && l as usize <= lines, "rejection on line {l} after line {last}, of {lines}");
            last = l;
        }
        assert!(r.value.as_ref().is_none_or(|v| v.chars().count() <= 200), "value not cut: {r:?}");
        assert!(!r.reason.is_empty());
    }
    let mut seen = HashSet::new();
    for e in &parsed.entries {
        let shown = e.indicator.to_string();
        assert_eq!(Indicator::parse(&shown).as_ref(), Ok(&e.indicator), "{shown} does not parse back");
        assert!(seen.insert(&e.indicator), "{shown} imported twice");
        assert!(e.confidence.is_none_or(|c| c <= 100));
    }
    assert!(parsed.entries.len() <= MAX_ENTRIES);
    if format == IntelFormat::Plain {
        let data_lines = text
            .strip_prefix('\u{feff}')
            .unwrap_or(&text)
            .split("\r\n")
            .flat_map(|l| l.split(['\r', '\n']))
            .filter(|l| {
                let t = l.trim();
                !(t.is_empty() || t.starts_with(['#', ';']) || t.starts_with("//"))
            })
            .count() as u64;
        let outcomes = parsed.entries.len() as u64 + parsed.rejected.len() as u64 + parsed.ignored;
        assert!(outcomes <= data_lines, "{outcomes} outcomes from {data_lines} lines");
    }
});
