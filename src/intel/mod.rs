//! Threat-intel indicators and the files they come in: plain lists, CSV, STIX 2.1 bundles and MISP
//! events. Browser-safe: the import page and the IOC check box use the same parsers as the server.
//!
//! [`Indicator`] is one IOC in canonical form (an address, a network, a domain, a URL or a file
//! hash), so the same indicator written two ways is stored once. [`parse`] reads a whole document of
//! one [`IntelFormat`] into [`IntelEntry`]s, each with the line or object it came from. Like the
//! source parsers in `ingest`, it never panics and never stops at a bad entry: a bad entry becomes a
//! [`Rejection`] naming its line (1-based) or object id and what was wrong, and the rest imports. Only
//! a document that cannot be read at all (broken JSON, a CSV without an indicator column) gives a
//! single rejection for the whole [`Location::Document`].
//!
//! What is not an indicator for detection is counted, not rejected: STIX objects other than
//! indicators, MISP attributes of other types or with `to_ids` off, and repeats of an indicator
//! already read from the same document (the first one wins).
//!
//! Bounds: at most [`MAX_ENTRIES`] entries and as many rejections per document (one more rejection
//! says where reading stopped), lines and CSV records of at most [`MAX_LINE_BYTES`], values of at most
//! [`MAX_INDICATOR_BYTES`], descriptions cut to [`MAX_DESCRIPTION_CHARS`].

pub mod catalog;
mod csv;
#[cfg(feature = "server")]
pub mod import;
mod indicator;
#[cfg(feature = "server")]
pub mod ioc;
#[cfg(feature = "server")]
pub mod manage;
pub mod matcher;
mod misp;
mod pattern;
mod plain;
#[cfg(test)]
mod props;
mod stix;
pub mod time;

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) use indicator::clip;
pub use indicator::{
    refang, Cidr, Domain, FileHash, HashAlgo, Indicator, IndicatorError, IndicatorKind, Url, MAX_INDICATOR_BYTES,
};

/// Most entries one document may give; the rest is rejected with one rejection saying so.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Longest line of a plain list, and longest record of a CSV, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Descriptions longer than this are cut.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// The format of a threat-intel document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntelFormat {
    /// One indicator a line, with `#` comments.
    Plain,
    /// A CSV with a header naming the indicator column.
    Csv,
    /// A STIX 2.1 bundle of indicator objects.
    Stix,
    /// A MISP event (or search result) in JSON.
    Misp,
}

impl IntelFormat {
    pub const ALL: [IntelFormat; 4] = [IntelFormat::Plain, IntelFormat::Csv, IntelFormat::Stix, IntelFormat::Misp];

    pub fn as_str(self) -> &'static str {
        match self {
            IntelFormat::Plain => "plain",
            IntelFormat::Csv => "csv",
            IntelFormat::Stix => "stix",
            IntelFormat::Misp => "misp",
        }
    }

    /// The format a user or a feed configuration names: `plain` (also `list`, `txt`), `csv`,
    /// `stix`, `misp`; case does not matter.
    pub fn from_name(name: &str) -> Option<IntelFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "plain" | "list" | "txt" | "text" => Some(IntelFormat::Plain),
            "csv" => Some(IntelFormat::Csv),
            "stix" | "stix2" | "stix21" => Some(IntelFormat::Stix),
            "misp" => Some(IntelFormat::Misp),
            _ => None,
        }
    }

    /// The format of an upload or a feed response by its `Content-Type` (parameters such as
    /// `charset` or STIX's `version=2.1` do not matter); `application/json` is told apart by
    /// [`IntelFormat::sniff`]ing the body. `None` for other types.
    pub fn from_content_type(content_type: &str, body: &str) -> Option<IntelFormat> {
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/plain" => Some(IntelFormat::Plain),
            "text/csv" | "application/csv" => Some(IntelFormat::Csv),
            "application/stix+json" | "application/vnd.oasis.stix+json" | "application/taxii+json" => {
                Some(IntelFormat::Stix)
            }
            "application/json" => Some(IntelFormat::sniff(body)),
            _ => None,
        }
    }

    /// Guesses the format of a document: JSON holding a `"type": "bundle"` (or a STIX object) is STIX,
    /// JSON holding `Event`, `Attribute` or `response` is MISP; text whose first line has a comma and
    /// names an indicator column is CSV; anything else is a plain list. JSON that is neither (or that
    /// does not parse) is taken as STIX, whose parser then says what is wrong with it.
    pub fn sniff(input: &str) -> IntelFormat {
        let text = input.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with(['{', '[']) {
            return match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v) if misp::looks_like_misp(&v) => IntelFormat::Misp,
                _ => IntelFormat::Stix,
            };
        }
        let first = text.lines().next().unwrap_or("");
        if first.contains(',') && csv::indicator_column(&csv::split_header_line(first)).is_some() {
            IntelFormat::Csv
        } else {
            IntelFormat::Plain
        }
    }
}

impl fmt::Display for IntelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a document an entry or a rejection is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A 1-based line (for a CSV record: the line it starts on).
    Line(u64),
    /// A STIX object id or a MISP attribute uuid (or a stand-in like `objects[3]` when it has none).
    Object(String),
    /// The document as a whole.
    Document,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Object(id) => f.write_str(id),
            Location::Document => f.write_str("the document"),
        }
    }
}

/// One indicator read from a document, with what the document says about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelEntry {
    pub indicator: Indicator,
    pub description: Option<String>,
    /// 0–100, as the publisher rated it.
    pub confidence: Option<u8>,
    /// Unix ms (UTC) from which the indicator applies.
    pub valid_from: Option<i64>,
    /// Unix ms (UTC) after which it no longer applies.
    pub valid_until: Option<i64>,
    /// Where it came from: `line 12`, a STIX indicator id or a MISP attribute uuid.
    pub reference: String,
}

impl IntelEntry {
    pub fn new(indicator: Indicator, reference: impl Into<String>) -> IntelEntry {
        IntelEntry {
            indicator,
            description: None,
            confidence: None,
            valid_from: None,
            valid_until: None,
            reference: reference.into(),
        }
    }
}

/// An entry that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub at: Location,
    /// The offending text, cut to 200 characters.
    pub value: Option<String>,
    /// What was wrong, in plain words.
    pub reason: String,
}

/// What [`parse`] made of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedIntel {
    /// Indicators, in document order, each once.
    pub entries: Vec<IntelEntry>,
    /// Entries that were not imported, in document order.
    pub rejected: Vec<Rejection>,
    /// Valid records that are not indicators for detection, and repeated indicators.
    pub ignored: u64,
}

/// Reads a threat-intel document of the given format.
pub fn parse(format: IntelFormat, input: &str) -> ParsedIntel {
    parse_limited(format, input, MAX_ENTRIES)
}

/// [`parse`] with another entry cap (tests).
fn parse_limited(format: IntelFormat, input: &str, max: usize) -> ParsedIntel {
    let mut c = Collector::new(max);
    match format {
        IntelFormat::Plain => plain::parse(input, &mut c),
        IntelFormat::Csv => csv::parse(input, &mut c),
        IntelFormat::Stix => stix::parse(input, &mut c),
        IntelFormat::Misp => misp::parse(input, &mut c),
    }
    c.out
}

/// Gathers entries and rejections: merges repeated indicators and stops at the cap.
struct Collector {
    out: ParsedIntel,
    seen: HashSet<Indicator>,
    max: usize,
    full: bool,
}

impl Collector {
    fn new(max: usize) -> Collector {
        Collector { out: ParsedIntel::default(), seen: HashSet::new(), max, full: false }
    }

    /// Whether the cap was reached: parsers stop reading.
    fn full(&self) -> bool {
        self.full
    }

    fn entry(&mut self, mut entry: IntelEntry, at: impl FnOnce() -> Location) {
        if self.full {
            return;
        }
        if self.seen.contains(&entry.indicator) {
            self.out.ignored += 1;
            return;
        }
        if self.out.entries.len() >= self.max {
            let reason =
                format!("more than {} indicators in one document: this one and the rest were not read", self.max);
            self.out.rejected.push(Rejection { at: at(), value: Some(entry.indicator.to_string()), reason });
            self.full = true;
            return;
        }
        entry.description = entry.description.map(|d| cut(d.trim())).filter(|d| !d.is_empty());
        self.seen.insert(entry.indicator.clone());
        self.out.entries.push(entry);
    }

    fn reject(&mut self, at: Location, value: Option<&str>, reason: impl Into<String>) {
        if self.full {
            return;
        }
        if self.out.rejected.len() >= self.max {
            let reason = format!("more than {} rejected entries: the rest of the document was not read", self.max);
            self.out.rejected.push(Rejection { at, value: None, reason });
            self.full = true;
            return;
        }
        self.out.rejected.push(Rejection { at, value: value.map(clip), reason: reason.into() });
    }

    fn ignore(&mut self) {
        if !self.full {
            self.out.ignored += 1;
        }
    }
}

/// A description cut to [`MAX_DESCRIPTION_CHARS`].
fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The lines of a text with their 1-based numbers. A line ends at `\n`, `\r\n` or a lone `\r`
/// (each counts once); a UTF-8 byte order mark in front is dropped. A line end at the very end does
/// not start another line.
fn lines(input: &str) -> Lines<'_> {
    Lines { rest: input.strip_prefix('\u{feff}').unwrap_or(input), no: 0 }
}

struct Lines<'a> {
    rest: &'a str,
    no: u64,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a str);

    fn next(&mut self) -> Option<(u64, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        self.no += 1;
        let (line, rest) = match self.rest.find(['\r', '\n']) {
            Some(i) => {
                let end = if self.rest[i..].starts_with("\r\n") { i + 2 } else { i + 1 };
                (&self.rest[..i], &self.rest[end..])
            }
            None => (self.rest, ""),
        };
        self.rest = rest;
        Some((self.no, line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ind(s: &str) -> Indicator {
        Indicator::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn indicators_of_every_kind_are_canonical() {
        assert_eq!(ind(" 10.1.2.3 "), Indicator::Ip("10.1.2.3".parse().unwrap()));
        assert_eq!(ind("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(ind("10.1.2.3/8").kind(), IndicatorKind::Cidr);
        assert_eq!(ind("10.1.2.3/32"), ind("10.1.2.3"));
        assert_eq!(ind("2001:DB8::1/128"), ind("2001:db8::1"));
        assert_eq!(ind("2001:db8:ffff::/32").to_string(), "2001:db8::/32");
        assert_eq!(ind("Evil.Example.COM.").to_string(), "evil.example.com");
        assert_eq!(ind("*.Example.com").to_string(), "*.example.com");
        assert_eq!(ind("_dmarc.example.com").kind(), IndicatorKind::Domain);
        let url = ind("HTTPS://User@Evil.Example.COM:8443/Path?Q=A#F");
        assert_eq!(url.to_string(), "https://User@evil.example.com:8443/Path?Q=A#F");
        let Indicator::Url(u) = &url else { panic!() };
        assert_eq!((u.scheme(), u.host()), ("https", "evil.example.com"));
        let Indicator::Url(v6) = ind("http://[2001:DB8::1]:80/x") else { panic!() };
        assert_eq!((v6.as_str(), v6.host()), ("http://[2001:db8::1]:80/x", "2001:db8::1"));
        let md5 = ind("D41D8CD98F00B204E9800998ECF8427E");
        assert_eq!(md5.to_string(), "d41d8cd98f00b204e9800998ecf8427e");
        let Indicator::Hash(h) = &md5 else { panic!() };
        assert_eq!(h.algo(), HashAlgo::Md5);
        let Indicator::Hash(h) = ind(&"a".repeat(40)) else { panic!() };
        assert_eq!(h.algo(), HashAlgo::Sha1);
        let Indicator::Hash(h) = ind(&"B".repeat(64)) else { panic!() };
        assert_eq!(h.algo(), HashAlgo::Sha256);
    }

    #[test]
    fn defanged_values_are_refanged() {
        assert_eq!(ind("hxxp://evil[.]example[.]com/a"), ind("http://evil.example.com/a"));
        assert_eq!(ind("HXXPS[://]evil(.)com"), ind("https://evil.com"));
        assert_eq!(ind("198[.]51[.]100[.]7"), ind("198.51.100.7"));
        assert_eq!(ind("2001[:]db8[:][:]1"), ind("2001:db8::1"));
        assert_eq!(ind("evil[dot]com"), ind("evil.com"));
        assert!(Indicator::parse("evil[[.]]com").unwrap_err().to_string().contains("nested in defanged text"));
        assert_eq!(ind("fxp://files{.}example.net/x.exe").to_string(), "ftp://files.example.net/x.exe");
    }

    #[test]
    fn bad_values_are_named_with_what_is_wrong() {
        let err = |s: &str| Indicator::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("999.1.2.3"),
            "'999.1.2.3' is neither an IP address, a CIDR, a domain, a URL nor an MD5/SHA-1/SHA-256 hash \
             (an IPv4 address has four numbers 0–255)"
        );
        assert!(err("10.0.0.0/33").contains("not a prefix length (0–32)"), "{}", err("10.0.0.0/33"));
        assert!(err("localhost").contains("neither"));
        assert!(err("javascript://x.com").contains("scheme 'javascript'"));
        assert!(err("http://exa mple.com/").contains("not a valid URL"));
        assert!(err("http:///path").contains("no host"));
        assert!(err("http://x.com:99999/").contains("not a port"));
        assert!(err("bad..example.com").contains("label '' is not 1–63"));
        assert!(err(&format!("{}.com", "a".repeat(64))).contains("1–63"));
        assert!(err("münchen.de").contains("xn--"));
        assert!(err(&"a".repeat(33)).contains("33 hex digits"));
        assert_eq!(Indicator::parse("  "), Err(IndicatorError::Empty));
        assert!(matches!(Indicator::parse(&"a".repeat(5000)), Err(IndicatorError::TooLong { len: 5000 })));
        assert!(Indicator::parse_as("evil.com", IndicatorKind::Ip)
            .unwrap_err()
            .to_string()
            .contains("is a domain, not an IP address"));
        assert!(Indicator::parse_as("10.0.0.0/8", IndicatorKind::Ip).is_ok());
        let long = format!("{}.com", ["abcdefghij"; 25].join("."));
        assert!(err(&long).contains("more than 253"));
    }

    #[test]
    fn addresses_and_names_match() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ind("10.0.0.0/8").contains_ip(ip("10.200.3.4")));
        assert!(!ind("10.0.0.0/8").contains_ip(ip("11.0.0.1")));
        assert!(ind("10.0.0.0/8").contains_ip(ip("::ffff:10.9.9.9")));
        assert!(!ind("10.0.0.0/8").contains_ip(ip("2001:db8::1")));
        assert!(ind("2001:db8::/32").contains_ip(ip("2001:db8:1::5")));
        assert!(ind("0.0.0.0/0").contains_ip(ip("203.0.113.9")));
        assert!(ind("192.0.2.1").contains_ip(ip("192.0.2.1")));
        assert!(!ind("evil.com").contains_ip(ip("192.0.2.1")));
        assert!(ind("evil.com").matches_domain("EVIL.com."));
        assert!(!ind("evil.com").matches_domain("www.evil.com"));
        assert!(ind("*.evil.com").matches_domain("evil.com"));
        assert!(ind("*.evil.com").matches_domain("a.b.evil.com"));
        assert!(!ind("*.evil.com").matches_domain("notevil.com"));
        assert!(!ind("*.evil.com").matches_domain(".evil.com"));
        assert!(!ind("192.0.2.1").matches_domain("192.0.2.1"));
    }

    #[test]
    fn indicators_serialize_as_their_canonical_text() {
        let i = ind("hxxp://Evil[.]com/x");
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(json, "\"http://evil.com/x\"");
        assert_eq!(serde_json::from_str::<Indicator>(&json).unwrap(), i);
        assert!(serde_json::from_str::<Indicator>("\"999.1.2.3\"").is_err());
        let c: Cidr = serde_json::from_str("\"10.1.2.3/8\"").unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        let r = Rejection { at: Location::Line(3), value: None, reason: "x".into() };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"at":{"line":3},"value":null,"reason":"x"}"#);
    }

    #[test]
    fn formats_by_name_content_type_and_content() {
        assert_eq!(IntelFormat::from_name("TXT"), Some(IntelFormat::Plain));
        assert_eq!(IntelFormat::from_name("list"), Some(IntelFormat::Plain));
        assert_eq!(IntelFormat::from_name("csv"), Some(IntelFormat::Csv));
        assert_eq!(IntelFormat::from_name("stix"), Some(IntelFormat::Stix));
        assert_eq!(IntelFormat::from_name("misp"), Some(IntelFormat::Misp));
        assert_eq!(IntelFormat::from_name("xml"), None);
        let stix = include_str!("testdata/bundle.stix.json");
        let misp = include_str!("testdata/event.misp.json");
        assert_eq!(IntelFormat::from_content_type("application/stix+json;version=2.1", ""), Some(IntelFormat::Stix));
        assert_eq!(IntelFormat::from_content_type("application/stix+json", ""), Some(IntelFormat::Stix));
        assert_eq!(IntelFormat::from_content_type("Text/CSV; charset=utf-8", ""), Some(IntelFormat::Csv));
        assert_eq!(IntelFormat::from_content_type("text/plain", "a,b"), Some(IntelFormat::Plain));
        assert_eq!(IntelFormat::from_content_type("application/json", stix), Some(IntelFormat::Stix));
        assert_eq!(IntelFormat::from_content_type("application/json", misp), Some(IntelFormat::Misp));
        assert_eq!(IntelFormat::from_content_type("image/png", ""), None);
        assert_eq!(IntelFormat::sniff(stix), IntelFormat::Stix);
        assert_eq!(IntelFormat::sniff(misp), IntelFormat::Misp);
        assert_eq!(IntelFormat::sniff(r#"{"response":[]}"#), IntelFormat::Misp);
        assert_eq!(IntelFormat::sniff(r#"[{"type":"ip-dst","value":"1.2.3.4","to_ids":true}]"#), IntelFormat::Misp);
        assert_eq!(IntelFormat::sniff(r#"{"type":"indicator","pattern":"[x]"}"#), IntelFormat::Stix);
        assert_eq!(IntelFormat::sniff(include_str!("testdata/feed.csv")), IntelFormat::Csv);
        assert_eq!(IntelFormat::sniff("\u{feff}Indicator,Type\n1.2.3.4,ip\n"), IntelFormat::Csv);
        assert_eq!(IntelFormat::sniff(include_str!("testdata/blocklist.txt")), IntelFormat::Plain);
        assert_eq!(IntelFormat::sniff("1.2.3.4, a scanner\n"), IntelFormat::Plain);
    }

    #[test]
    fn lines_end_at_every_kind_of_line_end() {
        let got: Vec<(u64, &str)> = lines("\u{feff}a\r\nb\rc\n\nd").collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]);
        assert_eq!(lines("a\n").count(), 1);
        assert_eq!(lines("\r\r").count(), 2);
        assert_eq!(lines("").count(), 0);
    }

    #[test]
    fn the_entry_cap_stops_with_one_rejection() {
        let text: String = (0..10).map(|i| format!("10.0.0.{i}\n")).collect();
        let p = parse_limited(IntelFormat::Plain, &text, 4);
        assert_eq!(p.entries.len(), 4);
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].at, Location::Line(5));
        assert!(p.rejected[0].reason.starts_with("more than 4 indicators"), "{}", p.rejected[0].reason);
        let junk: String = (0..10).map(|i| format!("junk{i}\n")).collect();
        let p = parse_limited(IntelFormat::Plain, &junk, 4);
        assert_eq!(p.rejected.len(), 5);
        assert!(p.rejected[4].reason.starts_with("more than 4 rejected"));
    }

    #[test]
    fn repeated_indicators_are_merged_and_counted() {
        let p = parse(IntelFormat::Plain, "10.0.0.1 # first\n10.0.0.1 # second\n10.0.0.1/32\n");
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].description.as_deref(), Some("first"));
        assert_eq!(p.ignored, 2);
    }
}
