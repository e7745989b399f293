//! Plain lists: one indicator a line. Blank lines and lines starting with `#`, `;` or `//` are
//! skipped; after the value, whitespace and `#` start its description (`203.0.113.7  # C2 of X`). A
//! hosts-file line (`0.0.0.0 evil.example` or `127.0.0.1 evil.example`) gives the name.

use super::{lines, Collector, Indicator, IntelEntry, Location, MAX_LINE_BYTES};

pub(super) fn parse(input: &str, c: &mut Collector) {
    for (no, line) in lines(input) {
        if c.full() {
            return;
        }
        let at = || Location::Line(no);
        if line.len() > MAX_LINE_BYTES {
            c.reject(
                at(),
                Some(line),
                format!("line is {} bytes, longer than the limit of {MAX_LINE_BYTES}", line.len()),
            );
            continue;
        }
        let text = line.trim();
        if text.is_empty() || text.starts_with(['#', ';']) || text.starts_with("//") {
            continue;
        }
        let (mut value, mut rest) = split_word(text);
        if matches!(value, "0.0.0.0" | "127.0.0.1") && !rest.is_empty() && !rest.starts_with('#') {
            (value, rest) = split_word(rest);
        }
        let description = match rest.strip_prefix('#') {
            Some(d) => Some(d.trim().to_string()),
            None if rest.is_empty() => None,
            None => {
                c.reject(
                    at(),
                    Some(text),
                    format!(
                        "unexpected text after the indicator: '{}' (a description follows ' #')",
                        super::clip(rest)
                    ),
                );
                continue;
            }
        };
        match Indicator::parse(value) {
            Ok(indicator) => {
                let entry = IntelEntry { description, ..IntelEntry::new(indicator, format!("line {no}")) };
                c.entry(entry, at);
            }
            Err(e) => c.reject(at(), Some(value), e.to_string()),
        }
    }
}

/// The first whitespace-separated word and the rest, trimmed.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, IntelFormat, Location};

    #[test]
    fn the_sample_blocklist_imports_and_names_its_junk_by_line() {
        let p = parse(IntelFormat::Plain, include_str!("testdata/blocklist.txt"));
        let got: Vec<(String, Option<&str>, &str)> = p
            .entries
            .iter()
            .map(|e| (e.indicator.to_string(), e.description.as_deref(), e.reference.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("198.51.100.23".into(), Some("Cobalt Strike team server"), "line 4"),
                ("203.0.113.0/24".into(), Some("bulletproof hosting range"), "line 5"),
                ("update-check.example.net".into(), None, "line 6"),
                ("*.badcdn.example.org".into(), Some("every subdomain"), "line 7"),
                ("http://login-portal.example.com/owa/auth.php".into(), Some("phishing kit"), "line 8"),
                ("2001:db8:dead::/48".into(), None, "line 10"),
                ("44d88612fea8a8f36de82e1278abb02f".into(), Some("EICAR test file"), "line 11"),
                ("tracker.example.info".into(), None, "line 13"),
                ("3395856ce81f2b7382dee72602f798b642f14140".into(), None, "line 16"),
                ("ftp://files.example.net/drop/x.exe".into(), None, "line 17"),
            ]
        );
        let rejected: Vec<(&Location, Option<&str>)> = p.rejected.iter().map(|r| (&r.at, r.value.as_deref())).collect();
        assert_eq!(
            rejected,
            vec![
                (&Location::Line(9), Some("999.1.2.3")),
                (&Location::Line(14), Some("not-an-indicator")),
                (&Location::Line(15), Some("198.51.100.99 scanner seen twice")),
            ]
        );
        assert!(p.rejected[0].reason.contains("neither an IP address"), "{}", p.rejected[0].reason);
        assert!(p.rejected[2].reason.contains("unexpected text after the indicator: 'scanner seen twice'"));
        assert_eq!(p.ignored, 1, "198.51.100.23 is listed twice");
    }

    #[test]
    fn every_kind_of_line_end_counts_once() {
        let p = parse(IntelFormat::Plain, "\u{feff}10.0.0.1\r\nbad\rbad\n\n10.0.0.2\rbad");
        let lines: Vec<&Location> = p.rejected.iter().map(|r| &r.at).collect();
        assert_eq!(lines, vec![&Location::Line(2), &Location::Line(3), &Location::Line(6)]);
        assert_eq!(p.entries[1].reference, "line 5");
    }

    #[test]
    fn comments_descriptions_and_long_lines() {
        let text = format!("; a comment\n// another\n  # indented\n10.0.0.1\t#\tx\n{}\n", "a".repeat(70_000));
        let p = parse(IntelFormat::Plain, &text);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].description.as_deref(), Some("x"));
        assert_eq!(p.rejected.len(), 1);
        assert!(p.rejected[0].reason.starts_with("line is 70000 bytes"));
        assert_eq!(p.rejected[0].value.as_ref().map(|v| v.chars().count()), Some(200));
        let p = parse(IntelFormat::Plain, "10.0.0.3 #\n");
        assert_eq!(p.entries[0].description, None);
    }
}
