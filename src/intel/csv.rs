//! CSV feeds (RFC 4180: quoted fields, doubled quotes, line ends inside quotes). The header row
//! names the columns, in any order and case: the indicator column is the first present of
//! `indicator`, `value`, `ioc`, `ip`, `domain`, `url`, `hash`; optional columns are `type` (the value
//! must then be of that kind), `description` or `comment`, `confidence` (0–100), `valid_from` or
//! `first_seen`, and `expires` or `valid_until` (RFC 3339, or `YYYY-MM-DD` for that day's midnight
//! UTC). Without a `type` column, an indicator column named `ip`, `domain`, `url` or `hash` says the
//! kind. Rows are named by the line they start on; lines starting with `#` are comments.

use super::time::parse_timestamp_ms;
use super::{
    clip, Collector, HashAlgo, Indicator, IndicatorError, IndicatorKind, IntelEntry, Location, MAX_LINE_BYTES,
};
use crate::csv_cell::unguard;

/// Names of the indicator column, the first present wins.
const INDICATOR_COLUMNS: &[&str] = &["indicator", "value", "ioc", "ip", "domain", "url", "hash"];

/// The kind a `type` column (or a STIX object path) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Any,
    Kind(IndicatorKind),
    V4,
    V6,
    Algo(HashAlgo),
}

impl Expect {
    /// The kind named by a `type` cell, or `None` for an unknown type.
    pub(super) fn from_type(t: &str) -> Option<Expect> {
        Some(match t.trim().to_ascii_lowercase().as_str() {
            "" => Expect::Any,
            "ip" | "cidr" | "ip-src" | "ip-dst" | "address" | "network" => Expect::Kind(IndicatorKind::Ip),
            "ipv4" | "ipv4-addr" => Expect::V4,
            "ipv6" | "ipv6-addr" => Expect::V6,
            "domain" | "hostname" | "domain-name" | "fqdn" | "host" => Expect::Kind(IndicatorKind::Domain),
            "url" | "uri" => Expect::Kind(IndicatorKind::Url),
            "md5" => Expect::Algo(HashAlgo::Md5),
            "sha1" | "sha-1" => Expect::Algo(HashAlgo::Sha1),
            "sha256" | "sha-256" => Expect::Algo(HashAlgo::Sha256),
            "hash" | "filehash" | "file-hash" => Expect::Kind(IndicatorKind::Hash),
            _ => return None,
        })
    }

    /// Reads a value that must be of this kind.
    pub(super) fn parse(self, value: &str) -> Result<Indicator, IndicatorError> {
        let wrong = |found: &Indicator, expected: &str| IndicatorError::WrongKind {
            value: clip(value.trim()),
            found: found.describe(),
            expected: expected.into(),
        };
        match self {
            Expect::Any => Indicator::parse(value),
            Expect::Kind(kind) => Indicator::parse_as(value, kind),
            Expect::V4 | Expect::V6 => {
                let found = Indicator::parse_as(value, IndicatorKind::Ip)?;
                let v4 = match &found {
                    Indicator::Ip(ip) => ip.is_ipv4(),
                    Indicator::Cidr(c) => c.network().is_ipv4(),
                    _ => unreachable!("parse_as(Ip) gives an address or a network"),
                };
                match (self, v4) {
                    (Expect::V4, true) | (Expect::V6, false) => Ok(found),
                    (Expect::V4, false) => Err(wrong(&found, "an IPv4 address")),
                    _ => Err(wrong(&found, "an IPv6 address")),
                }
            }
            Expect::Algo(algo) => {
                let found = Indicator::parse_as(value, IndicatorKind::Hash)?;
                match &found {
                    Indicator::Hash(h) if h.algo() == algo => Ok(found),
                    _ => Err(wrong(&found, algo.described())),
                }
            }
        }
    }
}

/// The columns of a header line read without quotes handling beyond stripping them (for sniffing).
pub(super) fn split_header_line(line: &str) -> Vec<String> {
    line.trim_start_matches('\u{feff}')
        .split(',')
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect()
}

/// The index of the indicator column of a header (names lowercase and trimmed).
pub(super) fn indicator_column(header: &[String]) -> Option<usize> {
    INDICATOR_COLUMNS.iter().find_map(|name| header.iter().position(|h| h == name))
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|name| header.iter().position(|h| h == name))
}

pub(super) fn parse(input: &str, c: &mut Collector) {
    let mut records = Records::new(input);
    let header = loop {
        match records.next() {
            None => return,
            Some((_, Ok(fields))) if is_blank(&fields) || is_comment(&fields) => continue,
            Some((line, Ok(fields))) => break (line, fields),
            Some((line, Err(e))) => {
                c.reject(Location::Document, None, format!("the header row (line {line}) is unreadable: {e}"));
                return;
            }
        }
    };
    let names: Vec<String> = header.1.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let Some(ind) = indicator_column(&names) else {
        let found: Vec<String> = names.iter().map(|n| format!("'{}'", clip(n))).collect();
        c.reject(
            Location::Document,
            None,
            format!(
                "the header (line {}) has no indicator column: it names {}; expected one of {}",
                header.0,
                found.join(", "),
                INDICATOR_COLUMNS.join(", ")
            ),
        );
        return;
    };
    let type_col = column(&names, &["type"]);
    let implied = match names[ind].as_str() {
        "ip" => Expect::Kind(IndicatorKind::Ip),
        "domain" => Expect::Kind(IndicatorKind::Domain),
        "url" => Expect::Kind(IndicatorKind::Url),
        "hash" => Expect::Kind(IndicatorKind::Hash),
        _ => Expect::Any,
    };
    let desc_col = column(&names, &["description", "comment"]);
    let conf_col = column(&names, &["confidence"]);
    let from_col = column(&names, &["valid_from", "first_seen"]);
    let until_col = column(&names, &["expires", "valid_until"]);
    for (line, record) in records {
        if c.full() {
            return;
        }
        let at = || Location::Line(line);
        let fields = match record {
            Ok(f) if is_blank(&f) || is_comment(&f) => continue,
            Ok(f) => f,
            Err(e) => {
                c.reject(at(), None, e);
                continue;
            }
        };
        let cell = |i: Option<usize>| i.and_then(|i| fields.get(i)).map(|v| v.trim()).filter(|v| !v.is_empty());
        let Some(value) = cell(Some(ind)) else {
            c.reject(at(), None, format!("no value in column '{}'", names[ind]));
            continue;
        };
        let expect = match cell(type_col) {
            None => implied,
            Some(t) => match Expect::from_type(t) {
                Some(e) => e,
                None => {
                    c.reject(
                        at(),
                        Some(t),
                        format!(
                            "unknown type '{}'; known: ip, ipv4, ipv6, cidr, domain, hostname, url, md5, sha1, sha256, hash",
                            clip(t)
                        ),
                    );
                    continue;
                }
            },
        };
        let indicator = match expect.parse(value) {
            Ok(i) => i,
            Err(e) => {
                c.reject(at(), Some(value), e.to_string());
                continue;
            }
        };
        let confidence = match cell(conf_col).map(parse_confidence) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(bad)) => {
                c.reject(
                    at(),
                    Some(value),
                    format!("column 'confidence': '{}' is not a whole number 0–100", clip(bad)),
                );
                continue;
            }
        };
        let mut times = [None, None];
        let mut bad_time = None;
        for (slot, col) in times.iter_mut().zip([from_col, until_col]) {
            if let Some(t) = cell(col) {
                match parse_timestamp_ms(t) {
                    Some(ms) => *slot = Some(ms),
                    None => bad_time = Some((col.map(|i| names[i].clone()).unwrap_or_default(), t)),
                }
            }
        }
        if let Some((name, t)) = bad_time {
            c.reject(
                at(),
                Some(value),
                format!("column '{name}': '{}' is not a date (YYYY-MM-DD) or an RFC 3339 time", clip(t)),
            );
            continue;
        }
        let entry = IntelEntry {
            description: cell(desc_col).map(|d| unguard(d).to_string()),
            confidence,
            valid_from: times[0],
            valid_until: times[1],
            ..IntelEntry::new(indicator, format!("line {line}"))
        };
        c.entry(entry, at);
    }
}

fn parse_confidence(s: &str) -> Result<u8, &str> {
    match s.parse::<u8>() {
        Ok(v) if v <= 100 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
        _ => Err(s),
    }
}

fn is_blank(fields: &[String]) -> bool {
    fields.iter().all(|f| f.trim().is_empty())
}

fn is_comment(fields: &[String]) -> bool {
    fields.first().is_some_and(|f| f.trim_start().starts_with('#'))
}

/// RFC 4180 records with the 1-based line each starts on. A line ends at `\n`, `\r\n` or a lone
/// `\r`, inside quotes too; a byte order mark in front is dropped. Text after a closing quote is kept
/// (`"a"b` is `ab`), as spreadsheets do.
struct Records<'a> {
    s: &'a str,
    pos: usize,
    line: u64,
}

impl<'a> Records<'a> {
    fn new(input: &'a str) -> Records<'a> {
        Records { s: input.strip_prefix('\u{feff}').unwrap_or(input), pos: 0, line: 1 }
    }

    /// The length of the line end at `i` (`\r\n` is one).
    fn line_end_len(b: &[u8], i: usize) -> usize {
        if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        }
    }
}

impl Iterator for Records<'_> {
    type Item = (u64, Result<Vec<String>, String>);

    fn next(&mut self) -> Option<Self::Item> {
        let (s, b) = (self.s, self.s.as_bytes());
        if self.pos >= b.len() {
            return None;
        }
        let start_line = self.line;
        let start = self.pos;
        let mut i = self.pos;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut error = None;
        loop {
            if b.get(i) == Some(&b'"') {
                i += 1;
                loop {
                    match b[i..].iter().position(|&ch| matches!(ch, b'"' | b'\r' | b'\n')) {
                        None => {
                            field.push_str(&s[i..]);
                            i = b.len();
                            error = Some(format!("the quoted field opened on line {start_line} is not closed"));
                            break;
                        }
                        Some(k) => {
                            field.push_str(&s[i..i + k]);
                            i += k;
                            if b[i] == b'"' {
                                if b.get(i + 1) == Some(&b'"') {
                                    field.push('"');
                                    i += 2;
                                } else {
                                    i += 1;
                                    break;
                                }
                            } else {
                                let len = Self::line_end_len(b, i);
                                field.push_str(&s[i..i + len]);
                                i += len;
                                self.line += 1;
                            }
                        }
                    }
                }
            }
            let k = b[i..].iter().position(|&ch| matches!(ch, b',' | b'\r' | b'\n')).unwrap_or(b.len() - i);
            field.push_str(&s[i..i + k]);
            i += k;
            fields.push(std::mem::take(&mut field));
            if i >= b.len() {
                break;
            }
            if b[i] == b',' {
                i += 1;
            } else {
                i += Self::line_end_len(b, i);
                self.line += 1;
                break;
            }
        }
        self.pos = i;
        let len = i - start;
        if error.is_none() && len > MAX_LINE_BYTES {
            error = Some(format!("record is {len} bytes, longer than the limit of {MAX_LINE_BYTES}"));
        }
        Some((start_line, error.map_or(Ok(fields), Err)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, time::parse_timestamp_ms, IntelFormat, Location};
    use super::Records;

    #[test]
    fn the_sample_feed_imports_and_names_its_bad_rows_by_line() {
        let p = parse(IntelFormat::Csv, include_str!("testdata/feed.csv"));
        let got: Vec<(String, &str)> =
            p.entries.iter().map(|e| (e.indicator.to_string(), e.reference.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("198.51.100.23".into(), "line 2"),
                ("evil-updates.example.net".into(), "line 3"),
                ("https://cdn-files.example.org/payload.bin".into(), "line 4"),
                ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(), "line 6"),
                ("198.51.100.0/24".into(), "line 7"),
                ("d41d8cd98f00b204e9800998ecf8427e".into(), "line 12"),
            ]
        );
        let first = &p.entries[0];
        assert_eq!(first.description.as_deref(), Some("Cobalt Strike team server, seen by two sensors"));
        assert_eq!(first.confidence, Some(90));
        assert_eq!(first.valid_until, parse_timestamp_ms("2026-06-30"));
        assert_eq!(p.entries[1].description.as_deref(), Some("Fake updater; \"stage 2\" host"));
        assert_eq!(p.entries[1].valid_until, parse_timestamp_ms("2026-04-01T00:00:00Z"));
        assert_eq!(p.entries[2].description.as_deref(), Some("Dropper URL\n(multi-line note from the analyst)"));
        assert_eq!(p.entries[2].confidence, None);
        let rejected: Vec<(&Location, &str)> = p.rejected.iter().map(|r| (&r.at, r.reason.as_str())).collect();
        assert_eq!(
            rejected,
            vec![
                (&Location::Line(8), "'10.0.0.5' is an IPv4 address, not a domain"),
                (
                    &Location::Line(9),
                    "'badhost..example.com' is not a valid domain: label '' is not 1–63 characters long"
                ),
                (&Location::Line(10), "column 'confidence': '150' is not a whole number 0–100"),
                (&Location::Line(11), "column 'expires': 'next week' is not a date (YYYY-MM-DD) or an RFC 3339 time"),
            ]
        );
        assert_eq!(p.ignored, 0);
    }

    #[test]
    fn a_header_without_an_indicator_column_is_refused_naming_its_columns() {
        let p = parse(IntelFormat::Csv, "Address,Note\n1.2.3.4,x\n");
        assert!(p.entries.is_empty());
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].at, Location::Document);
        assert_eq!(
            p.rejected[0].reason,
            "the header (line 1) has no indicator column: it names 'address', 'note'; expected one of indicator, \
             value, ioc, ip, domain, url, hash"
        );
        assert_eq!(parse(IntelFormat::Csv, ""), Default::default());
    }

    #[test]
    fn column_names_imply_kinds_and_types_are_checked() {
        let p = parse(IntelFormat::Csv, "ip,domain\nevil.com,x.com\n10.0.0.1,y.com\n");
        assert_eq!(p.entries.len(), 1, "the ip column comes first and holds addresses");
        assert_eq!(p.rejected[0].reason, "'evil.com' is a domain, not an IP address");
        let p = parse(IntelFormat::Csv, "value,type\n2001:db8::1,ipv4\nabc,weird\n,ip\n10.0.0.1,IPv4\n");
        assert_eq!(p.rejected[0].reason, "'2001:db8::1' is an IPv6 address, not an IPv4 address");
        assert!(p.rejected[1].reason.starts_with("unknown type 'weird'; known: ip, ipv4"));
        assert_eq!(p.rejected[2].reason, "no value in column 'value'");
        assert_eq!(p.entries.len(), 1);
        let p = parse(IntelFormat::Csv, &format!("hash,type\n{},sha1\n", "a".repeat(32)));
        assert_eq!(p.rejected[0].reason, format!("'{}' is an MD5 hash, not a SHA-1 hash", "a".repeat(32)));
    }

    #[test]
    fn records_start_lines_count_every_line_end() {
        let text = "a,b\r\n\"x\ny\",1\r\"p\"\"q\"z,2\n\n3,\"open";
        let got: Vec<(u64, Result<Vec<String>, String>)> = Records::new(text).collect();
        assert_eq!(got[0], (1, Ok(vec!["a".into(), "b".into()])));
        assert_eq!(got[1], (2, Ok(vec!["x\ny".into(), "1".into()])));
        assert_eq!(got[2], (4, Ok(vec!["p\"qz".into(), "2".into()])));
        assert_eq!(got[3], (5, Ok(vec!["".into()])));
        assert_eq!(got[4], (6, Err("the quoted field opened on line 6 is not closed".into())));
        assert_eq!(got.len(), 5);
        let p = parse(IntelFormat::Csv, "# exported 2026-03-01\r\nioc\r#comment\r\r10.0.0.1\r\"10.0.0.2\"\"\r");
        assert_eq!(p.entries[0].reference, "line 5");
        assert_eq!(p.rejected[0].at, Location::Line(6));
        assert_eq!(Records::new("a,").collect::<Vec<_>>(), vec![(1, Ok(vec!["a".into(), "".into()]))]);
    }

    #[test]
    fn spreadsheet_guards_are_dropped_from_descriptions() {
        let p = parse(IntelFormat::Csv, "indicator,comment\n10.0.0.1,'=cmd\n");
        assert_eq!(p.entries[0].description.as_deref(), Some("=cmd"));
    }
}
