//! The asset inventory as CSV: export, and import with every bad row named by its line.
//!
//! Columns are found by header name (case and surrounding spaces ignored), so a spreadsheet's own
//! column order and extra columns are fine: `ip` is required; `hostname`, `owner`, `purpose`,
//! `criticality` and `tags` are optional. Tags are separated by `;` inside their cell. Export
//! writes the same columns plus read-only ones (`discovered`, `first_seen`, `last_seen`, ignored
//! on import), so an exported file can be edited in a spreadsheet and imported back. Imported rows
//! count as reviewed: their `discovered` flag is cleared. Text that a spreadsheet would run as a
//! formula is exported with a `'` in front and imported without it ([`crate::csv_cell`]).

use crate::asset::{validate_asset, Asset, AssetEdit, AssetInput, RejectedRow};
use crate::csv_cell::{guard, unguard};

/// Rows one import may hold; the rest of a bigger file is rejected with this reason.
pub const MAX_IMPORT_ROWS: usize = 10_000;

const HEADER: [&str; 9] =
    ["ip", "hostname", "owner", "purpose", "criticality", "tags", "discovered", "first_seen", "last_seen"];

/// The inventory as CSV text, header first.
pub fn to_csv(assets: &[Asset]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let ms = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
    // Writing to a Vec cannot fail.
    let _ = w.write_record(HEADER);
    let text = |t: Option<&str>| guard(t.unwrap_or("")).into_owned();
    for a in assets {
        let _ = w.write_record([
            a.ip.as_str(),
            &text(a.hostname.as_deref()),
            &text(a.owner.as_deref()),
            &text(a.purpose.as_deref()),
            a.criticality.as_str(),
            &text(Some(&a.tags.join(";"))),
            if a.discovered { "true" } else { "false" },
            &ms(a.first_seen),
            &ms(a.last_seen),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Valid edits (with their line) and rejected rows of an asset CSV.
pub type ParsedAssets = (Vec<(usize, AssetEdit)>, Vec<RejectedRow>);

/// Parses CSV text into valid edits (with their line) and rejected rows. A later row for the
/// same address wins over an earlier one; the earlier is reported as replaced.
pub fn parse_csv(text: &str) -> Result<ParsedAssets, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("the header line cannot be read: {e}"))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let Some(ip_col) = col("ip") else {
        return Err(format!(
            "the header line has no `ip` column (found: {})",
            headers.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
        ));
    };
    let (host, owner, purpose, crit, tags) =
        (col("hostname"), col("owner"), col("purpose"), col("criticality"), col("tags"));
    let mut edits: Vec<(usize, AssetEdit)> = Vec::new();
    let mut rejected = Vec::new();
    let mut rows = 0usize;
    let starts = line_starts(text);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_of(text, &starts, p)).unwrap_or(0);
                rejected.push(RejectedRow { line, reason: format!("not readable as CSV: {e}") });
                continue;
            }
        };
        let line = record.position().map(|p| line_of(text, &starts, p)).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows += 1;
        if rows > MAX_IMPORT_ROWS {
            rejected.push(RejectedRow {
                line,
                reason: format!("an import holds at most {MAX_IMPORT_ROWS} rows; import the rest separately"),
            });
            break;
        }
        let cell = |c: Option<usize>| unguard(c.and_then(|c| record.get(c)).unwrap_or("")).to_string();
        let input = AssetInput {
            ip: cell(Some(ip_col)),
            hostname: cell(host),
            owner: cell(owner),
            purpose: cell(purpose),
            criticality: cell(crit),
            tags: cell(tags),
        };
        match validate_asset(&input) {
            Ok(edit) => {
                if let Some(i) = edits.iter().position(|(_, e)| e.ip == edit.ip) {
                    let (earlier, _) = edits.remove(i);
                    rejected.push(RejectedRow {
                        line: earlier,
                        reason: format!("{} appears again on line {line}, which was used instead", edit.ip),
                    });
                }
                edits.push((line, edit));
            }
            Err(e) => rejected.push(RejectedRow { line, reason: format!("{}: {}", e.field, e.message) }),
        }
    }
    rejected.sort_by_key(|r| r.line);
    Ok((edits, rejected))
}

/// Byte offsets at which the lines of the text start. A line ends where the CSV reader ends a
/// record: at `\n`, `\r\n` or a lone `\r` (old Mac spreadsheets). The reader's own line count only
/// counts `\n`, which would name every row of a `\r` file line 1.
fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let ends = b.iter().enumerate().filter(|&(i, c)| *c == b'\n' || (*c == b'\r' && b.get(i + 1) != Some(&b'\n')));
    std::iter::once(0).chain(ends.map(|(i, _)| i + 1)).collect()
}

/// The 1-based line a record starts on. The reader's position of a record that follows blank
/// lines is the first blank line; skip those so the line named is the one with the data.
fn line_of(text: &str, starts: &[usize], p: &csv::Position) -> usize {
    let start = (p.byte() as usize).min(text.len());
    let data = start + text.as_bytes()[start..].iter().take_while(|b| matches!(b, b'\n' | b'\r')).count();
    starts.partition_point(|s| *s <= data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::Criticality;
    use proptest::prelude::*;

    fn asset(ip: &str, owner: Option<&str>, tags: &[&str]) -> Asset {
        Asset {
            id: 1,
            ip: ip.into(),
            hostname: Some("host-1".into()),
            owner: owner.map(str::to_string),
            purpose: Some("Billing, \"legacy\" box".into()),
            criticality: Criticality::Critical,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            discovered: false,
            first_seen: None,
            last_seen: Some(1_700_000_000_000),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn export_imports_back_unchanged() {
        let assets = vec![asset("10.0.0.1", Some("Finance"), &["pci", "prod"]), asset("10.0.0.2", None, &[])];
        let text = to_csv(&assets);
        assert!(
            text.starts_with("ip,hostname,owner,purpose,criticality,tags,discovered,first_seen,last_seen\n"),
            "{text}"
        );
        let (edits, rejected) = parse_csv(&text).unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(edits.len(), 2);
        assert_eq!(edits[0].0, 2);
        let e = &edits[0].1;
        assert_eq!(
            (e.ip.as_str(), e.owner.as_deref(), e.criticality),
            ("10.0.0.1", Some("Finance"), Criticality::Critical)
        );
        assert_eq!(e.purpose.as_deref(), Some("Billing, \"legacy\" box"));
        assert_eq!(e.tags, vec!["pci", "prod"]);
        assert_eq!(edits[1].1.owner, None);
    }

    #[test]
    fn formulas_in_asset_fields_are_exported_as_text_and_import_back() {
        let mut a = asset("10.0.0.9", Some("=HYPERLINK(\"http://evil\",\"open\")"), &["-x"]);
        a.purpose = Some("+cmd|' /C calc'!A0".into());
        let text = to_csv(&[a]);
        let row = text.lines().nth(1).unwrap();
        for cell in row.split(',').skip(1).take(3) {
            assert!(!cell.trim_start_matches('"').starts_with(['=', '+', '-', '@']), "{row}");
        }
        let (edits, rejected) = parse_csv(&text).unwrap();
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(edits[0].1.owner.as_deref(), Some("=HYPERLINK(\"http://evil\",\"open\")"));
        assert_eq!(edits[0].1.purpose.as_deref(), Some("+cmd|' /C calc'!A0"));
        assert_eq!(edits[0].1.tags, vec!["-x"]);
    }

    #[test]
    fn columns_are_found_by_name_and_bad_rows_are_named_by_line() {
        let text = "\u{feff}Owner , IP,Criticality,Notes\n\
                    Finance,10.0.0.1,high,x\n\
                    Web,10.0.0.999,low,x\n\
                    \n\
                    Ops,10.0.0.3,urgent,x\n\
                    Ops,10.0.0.4\n\
                    Later,10.0.0.1,low,x\n";
        let (edits, rejected) = parse_csv(text).unwrap();
        let ips: Vec<(&str, Criticality)> = edits.iter().map(|(_, e)| (e.ip.as_str(), e.criticality)).collect();
        assert_eq!(ips, vec![("10.0.0.4", Criticality::Medium), ("10.0.0.1", Criticality::Low)]);
        let lines: Vec<usize> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 5], "{rejected:?}");
        assert!(rejected[0].reason.contains("line 7"), "{rejected:?}");
        assert!(rejected[1].reason.starts_with("ip:"), "{rejected:?}");
        assert!(rejected[2].reason.starts_with("criticality:"), "{rejected:?}");
    }

    #[test]
    fn a_file_without_an_ip_column_is_refused_with_what_it_has() {
        let err = parse_csv("address,owner\n10.0.0.1,x\n").unwrap_err();
        assert!(err.contains("no `ip` column") && err.contains("`address`"), "{err}");
    }

    #[test]
    fn rows_after_a_lone_carriage_return_are_named_by_their_line() {
        // Found by fuzz/fuzz_targets/asset_csv.rs: the CSV reader ends a record at a lone `\r` but
        // counted lines at `\n` only, so this bad row was named line 1, the header's.
        let (edits, rejected) = parse_csv(std::str::from_utf8(b"IP\rb").unwrap()).unwrap();
        assert!(edits.is_empty());
        assert_eq!(rejected.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2], "{rejected:?}");
        // Every line ending, mixed, with a blank line (a lone `\r`) before the bad row.
        let (edits, rejected) = parse_csv("ip\r10.0.0.1\r\n\r10.0.0.999\n10.0.0.2\r").unwrap();
        assert_eq!(edits.iter().map(|(line, _)| *line).collect::<Vec<_>>(), vec![2, 5]);
        assert_eq!(rejected.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4], "{rejected:?}");
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,300}") {
            if let Ok((edits, rejected)) = parse_csv(&text) {
                prop_assert!(edits.len() + rejected.len() <= text.lines().count() + 1);
            }
        }

        #[test]
        fn exported_owners_and_tags_survive(owner in "[^\\p{Cc}]{0,60}", tag in "[a-z0-9_-]{1,20}") {
            let a = asset("192.0.2.7", Some(&owner), &[&tag]);
            let (edits, rejected) = parse_csv(&to_csv(&[a])).unwrap();
            prop_assert!(rejected.is_empty());
            let expected = owner.trim();
            prop_assert_eq!(edits[0].1.owner.as_deref().unwrap_or(""), expected);
            prop_assert_eq!(&edits[0].1.tags, &vec![tag]);
        }
    }
}
