//! The hunt filter syntax.
//!
//! A query is terms separated by whitespace. A term is `key:value` (`=` works as `:` too), or
//! `key:a,b,c` for any of several values; a leading `-` negates it (none of the values). Terms of
//! the same key must all hold. Values with spaces, commas or quotes are written in double quotes
//! (`asset:"HR laptop 3"`; `\"` and `\\` inside).
//!
//! | key | values |
//! |---|---|
//! | `src`, `dst`, `ip` (either side) | an address or a network: `10.0.0.5`, `10.0.0.0/8` |
//! | `sport`, `dport`, `port` (either side) | a port or a range: `443`, `1000-2000` |
//! | `proto` | `tcp`, `udp`, `icmp` or a protocol number 0–255 |
//! | `country` | an ISO 3166 two-letter code of either side (`RU`) |
//! | `asset` | an inventory asset name |
//! | `risk` | `risk>=70`, `risk>70`, `risk<=30`, `risk<30`, `risk=50` / `risk:50` (0–100) |
//! | `threat`, `profile` | a key: lowercase letters, digits, `_`, `-` |
//! | `detector` | a lowercase word (`ml`, `signature`, `behaviour`, `intel`) |
//! | `verdict` | `alert`, `benign` |
//! | `kind` | `flows`, `alerts`, `all` (once) |
//! | `since` | a span back from now: `30s`, `15m`, `24h`, `7d`, `2w` (once) |
//! | `from`, `until` | `2026-03-01` (a whole UTC day) or RFC 3339 `2026-03-01T12:00:00Z` (once) |

use std::net::IpAddr;

use super::{
    Cidr, DurationUnit, HuntKind, HuntQuery, PortRange, RelDuration, RiskOp, RiskTerm, Term, TimePoint, Verdict,
};
use crate::intel::time::{parse_date_days, parse_rfc3339_ms};

/// Longest filter text, in bytes, as given and as written out canonically (names of protocols and
/// quotes can make the canonical text longer than what was typed; both must fit, so that the
/// canonical text of any query that was accepted reads back).
pub const MAX_QUERY_BYTES: usize = 4096;
/// Longest asset name.
const MAX_NAME_CHARS: usize = 200;
/// Longest `since`: ten years.
const MAX_SINCE_MS: i64 = 3653 * 86_400_000;
/// Unix ms of 0000-01-01T00:00:00Z and of 9999-12-31T23:59:59.999Z: instants outside years
/// 0000–9999 have no RFC 3339 spelling.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

/// A term that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct FilterError {
    /// Byte offset of the term in the filter text (for a form field: in that field's value).
    pub at: usize,
    /// The term as written.
    pub term: String,
    /// What is wrong and what the key allows.
    pub message: String,
}

/// The keys, in the order the canonical text and the pairs list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Kind,
    Since,
    From,
    Until,
    Src,
    Dst,
    Ip,
    Sport,
    Dport,
    Port,
    Proto,
    Country,
    Asset,
    Risk,
    Threat,
    Detector,
    Profile,
    Verdict,
}

impl Key {
    const ALL: [Key; 18] = [
        Key::Kind,
        Key::Since,
        Key::From,
        Key::Until,
        Key::Src,
        Key::Dst,
        Key::Ip,
        Key::Sport,
        Key::Dport,
        Key::Port,
        Key::Proto,
        Key::Country,
        Key::Asset,
        Key::Risk,
        Key::Threat,
        Key::Detector,
        Key::Profile,
        Key::Verdict,
    ];

    fn name(self) -> &'static str {
        match self {
            Key::Kind => "kind",
            Key::Since => "since",
            Key::From => "from",
            Key::Until => "until",
            Key::Src => "src",
            Key::Dst => "dst",
            Key::Ip => "ip",
            Key::Sport => "sport",
            Key::Dport => "dport",
            Key::Port => "port",
            Key::Proto => "proto",
            Key::Country => "country",
            Key::Asset => "asset",
            Key::Risk => "risk",
            Key::Threat => "threat",
            Key::Detector => "detector",
            Key::Profile => "profile",
            Key::Verdict => "verdict",
        }
    }

    fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Keys that take one value, once.
    fn single(self) -> bool {
        matches!(self, Key::Kind | Key::Since | Key::From | Key::Until)
    }
}

/// A key people might mean by another name.
fn suggestion(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase().replace(['-', '.'], "_");
    Some(match n.as_str() {
        "dst_port" | "dest_port" | "destport" | "dstport" | "destination_port" | "id_resp_p" => "dport",
        "src_port" | "srcport" | "source_port" | "id_orig_p" => "sport",
        "source" | "src_ip" | "srcip" | "source_ip" | "saddr" | "id_orig_h" => "src",
        "dest" | "destination" | "dst_ip" | "dstip" | "dest_ip" | "daddr" | "id_resp_h" => "dst",
        "addr" | "address" | "host_ip" => "ip",
        "protocol" | "transport" => "proto",
        "cc" | "geo" | "geoip" => "country",
        "score" | "severity" => "risk",
        "host" | "hostname" | "device" => "asset",
        "type" | "attack" | "label" | "class" => "threat",
        "status" | "triage" => "verdict",
        "start" | "after" => "from",
        "end" | "before" | "to" => "until",
        "last" | "window" | "range" => "since",
        _ => return None,
    })
}

fn known_keys() -> String {
    Key::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
}

/// A value of some key: read from and written as the text of one list item.
trait FilterValue: Sized {
    fn read(key: Key, s: &str) -> Result<Self, String>;
    fn write(&self) -> String;
}

impl FilterValue for Cidr {
    fn read(key: Key, s: &str) -> Result<Self, String> {
        Cidr::parse(s).map_err(|_| {
            format!("{}: '{}' is not an IP address or a network (10.0.0.5, 10.0.0.0/8)", key.name(), clip(s))
        })
    }

    fn write(&self) -> String {
        if self.is_host() {
            self.network().to_string()
        } else {
            self.to_string()
        }
    }
}

impl FilterValue for PortRange {
    fn read(key: Key, s: &str) -> Result<Self, String> {
        let port = |p: &str| -> Result<u16, String> {
            match p.parse::<u16>() {
                Ok(v) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
                _ => Err(format!("{}: '{}' is not a port (0–65535)", key.name(), clip(p))),
            }
        };
        match s.split_once('-') {
            None => port(s).map(PortRange::one),
            Some((a, b)) => {
                let (first, last) = (port(a)?, port(b)?);
                if first > last {
                    return Err(format!("{}: in '{s}' the first port is above the last", key.name()));
                }
                Ok(PortRange { first, last })
            }
        }
    }

    fn write(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}-{}", self.first, self.last)
        }
    }
}

impl FilterValue for u8 {
    fn read(key: Key, s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "icmp" => Ok(1),
            "tcp" => Ok(6),
            "udp" => Ok(17),
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u8>().is_ok() => {
                Ok(n.parse().expect("checked"))
            }
            _ => Err(format!("{}: '{}' is not tcp, udp, icmp or a protocol number 0–255", key.name(), clip(s))),
        }
    }

    fn write(&self) -> String {
        match self {
            1 => "icmp".into(),
            6 => "tcp".into(),
            17 => "udp".into(),
            n => n.to_string(),
        }
    }
}

impl FilterValue for String {
    fn read(key: Key, s: &str) -> Result<Self, String> {
        let k = key.name();
        match key {
            Key::Country => {
                if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(s.to_ascii_uppercase())
                } else {
                    Err(format!("{k}: '{}' is not a two-letter ISO country code (RU, US)", clip(s)))
                }
            }
            Key::Asset => {
                if s.trim().is_empty() {
                    Err(format!("{k}: the name is empty"))
                } else if s.chars().count() > MAX_NAME_CHARS {
                    Err(format!("{k}: the name is longer than {MAX_NAME_CHARS} characters"))
                } else if s.chars().any(char::is_control) {
                    Err(format!("{k}: the name has control characters"))
                } else {
                    Ok(s.to_string())
                }
            }
            _ => {
                let lower = s.to_ascii_lowercase();
                let extra: &[u8] = if key == Key::Detector { b"_" } else { b"_-" };
                let ok = !lower.is_empty()
                    && lower.len() <= 64
                    && lower.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b));
                if ok {
                    Ok(lower)
                } else if key == Key::Detector {
                    Err(format!(
                        "{k}: '{}' is not a detector name (a lowercase word: ml, signature, behaviour, intel)",
                        clip(s)
                    ))
                } else {
                    Err(format!("{k}: '{}' is not a {k} key (lowercase letters, digits, _ and -)", clip(s)))
                }
            }
        }
    }

    fn write(&self) -> String {
        self.clone()
    }
}

impl FilterValue for Verdict {
    fn read(key: Key, s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "alert" => Ok(Verdict::Alert),
            "benign" => Ok(Verdict::Benign),
            _ => Err(format!("{}: '{}' is not alert or benign", key.name(), clip(s))),
        }
    }

    fn write(&self) -> String {
        self.as_str().into()
    }
}

fn read_kind(s: &str) -> Result<HuntKind, String> {
    match s.to_ascii_lowercase().as_str() {
        "flows" => Ok(HuntKind::Flows),
        "alerts" => Ok(HuntKind::Alerts),
        "all" => Ok(HuntKind::All),
        _ => Err(format!("kind: '{}' is not flows, alerts or all", clip(s))),
    }
}

fn read_since(s: &str) -> Result<RelDuration, String> {
    let bad = || format!("since: '{}' is not a duration like 30s, 15m, 24h, 7d or 2w", clip(s));
    let unit =
        s.chars().last().and_then(|c| DurationUnit::ALL.into_iter().find(|u| u.suffix() == c.to_ascii_lowercase()));
    let (Some(unit), Some(num)) = (unit, s.get(..s.len().saturating_sub(1))) else {
        return Err(bad());
    };
    if num.is_empty() || num.len() > 9 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let amount: u32 = num.parse().map_err(|_| bad())?;
    let d = RelDuration { amount, unit };
    if amount == 0 {
        return Err(format!("since: '{s}' is no time at all"));
    }
    if d.ms() > MAX_SINCE_MS {
        return Err(format!("since: '{}' is longer than ten years", clip(s)));
    }
    Ok(d)
}

fn read_time(key: Key, s: &str) -> Result<TimePoint, String> {
    if let Some(days) = parse_date_days(s) {
        return Ok(TimePoint::Day(days));
    }
    match parse_rfc3339_ms(s) {
        Some(ms) if (MIN_MS..=MAX_MS).contains(&ms) => Ok(TimePoint::At(ms)),
        _ => Err(format!(
            "{}: '{}' is not a date (2026-03-01) or an RFC 3339 time (2026-03-01T12:00:00Z)",
            key.name(),
            clip(s)
        )),
    }
}

fn read_risk(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(v) if v <= 100 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(v),
        _ => Err(format!("risk: '{}' is not a risk 0–100", clip(s))),
    }
}

fn clip(s: &str) -> String {
    crate::intel::clip(s)
}

/// Whether a value must be quoted to read back as one list item.
fn needs_quotes(s: &str) -> bool {
    s.is_empty() || s.starts_with('-') || s.contains(|c: char| c.is_whitespace() || matches!(c, ',' | '"' | '\\'))
}

fn quote(s: &str) -> String {
    if needs_quotes(s) {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn write_list<T: FilterValue>(values: &[T]) -> String {
    values.iter().map(|v| quote(&v.write())).collect::<Vec<_>>().join(",")
}

/// One written term: negated, the separator after the key in filter text, the separator in a form
/// field, and the values.
struct Written {
    negated: bool,
    text_sep: &'static str,
    field_sep: &'static str,
    values: String,
}

fn written<T: FilterValue>(terms: &[Term<T>]) -> Vec<Written> {
    terms
        .iter()
        .map(|t| Written { negated: t.negated, text_sep: ":", field_sep: "", values: write_list(&t.any_of) })
        .collect()
}

fn single<T: std::fmt::Display>(v: &Option<T>) -> Vec<Written> {
    v.iter().map(|v| Written { negated: false, text_sep: ":", field_sep: "", values: quote(&v.to_string()) }).collect()
}

fn terms_of(q: &HuntQuery, key: Key) -> Vec<Written> {
    match key {
        Key::Kind => single(&q.kind.map(|k| k.as_str())),
        Key::Since => single(&q.since),
        Key::From => single(&q.from),
        Key::Until => single(&q.until),
        Key::Src => written(&q.src),
        Key::Dst => written(&q.dst),
        Key::Ip => written(&q.ip),
        Key::Sport => written(&q.sport),
        Key::Dport => written(&q.dport),
        Key::Port => written(&q.port),
        Key::Proto => written(&q.proto),
        Key::Country => written(&q.country),
        Key::Asset => written(&q.asset),
        Key::Risk => q
            .risk
            .iter()
            .map(|r| {
                let (text_sep, field_sep) = match r.op {
                    RiskOp::Eq => (":", ""),
                    op => (op.symbol(), op.symbol()),
                };
                Written { negated: r.negated, text_sep, field_sep, values: r.value.to_string() }
            })
            .collect(),
        Key::Threat => written(&q.threat),
        Key::Detector => written(&q.detector),
        Key::Profile => written(&q.profile),
        Key::Verdict => written(&q.verdict),
    }
}

pub(super) fn to_text(q: &HuntQuery) -> String {
    let mut out = Vec::new();
    for key in Key::ALL {
        for w in terms_of(q, key) {
            out.push(format!("{}{}{}{}", if w.negated { "-" } else { "" }, key.name(), w.text_sep, w.values));
        }
    }
    out.join(" ")
}

pub(super) fn to_pairs(q: &HuntQuery) -> Vec<(String, String)> {
    Key::ALL
        .into_iter()
        .filter_map(|key| {
            let terms: Vec<String> = terms_of(q, key)
                .into_iter()
                .map(|w| format!("{}{}{}", if w.negated { "-" } else { "" }, w.field_sep, w.values))
                .collect();
            (!terms.is_empty()).then(|| (key.name().to_string(), terms.join(" ")))
        })
        .collect()
}

/// Reads text term by term.
struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.i += c.len_utf8();
        }
    }

    /// Moves to the end of the current term (whitespace outside quotes).
    fn skip_term(&mut self) {
        let mut quoted = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() && !quoted {
                return;
            }
            if c == '\\' && quoted {
                self.i += 1;
                if let Some(n) = self.peek() {
                    self.i += n.len_utf8();
                }
                continue;
            }
            if c == '"' {
                quoted = !quoted;
            }
            self.i += c.len_utf8();
        }
    }

    /// A comma list of values (bare or double-quoted), ending at whitespace or the end.
    fn values(&mut self, key: &str) -> Result<Vec<String>, String> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.i += 1;
                    let mut v = String::new();
                    loop {
                        match self.peek() {
                            None => return Err(format!("{key}: a quoted value is not closed")),
                            Some('"') => {
                                self.i += 1;
                                break;
                            }
                            Some('\\') => {
                                self.i += 1;
                                match self.peek() {
                                    Some(c @ ('"' | '\\')) => {
                                        v.push(c);
                                        self.i += 1;
                                    }
                                    _ => return Err(format!("{key}: inside quotes only \\\" and \\\\ are escapes")),
                                }
                            }
                            Some(c) => {
                                v.push(c);
                                self.i += c.len_utf8();
                            }
                        }
                    }
                    if self.peek().is_some_and(|c| !c.is_whitespace() && c != ',') {
                        return Err(format!("{key}: text right after a closing quote"));
                    }
                    items.push(v);
                }
                _ => {
                    let start = self.i;
                    while let Some(c) = self.peek().filter(|c| !c.is_whitespace() && *c != ',') {
                        if c == '"' {
                            return Err(format!("{key}: a quote inside a value (quote the whole value)"));
                        }
                        self.i += c.len_utf8();
                    }
                    if start == self.i {
                        return Err(if items.is_empty() {
                            format!("{key}: no value")
                        } else {
                            format!("{key}: an empty value in the list")
                        });
                    }
                    items.push(self.s[start..self.i].to_string());
                }
            }
            if self.peek() == Some(',') {
                self.i += 1;
            } else {
                return Ok(items);
            }
        }
    }
}

/// What one term says, before it is added to the query.
struct Parsed {
    key: Key,
    negated: bool,
    op: RiskOp,
    values: Vec<String>,
}

fn push<T: FilterValue>(list: &mut Vec<Term<T>>, p: &Parsed) -> Result<(), String> {
    let any_of = p.values.iter().map(|v| T::read(p.key, v)).collect::<Result<Vec<T>, String>>()?;
    list.push(Term { negated: p.negated, any_of });
    Ok(())
}

fn set<T>(slot: &mut Option<T>, key: Key, v: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{} is given twice (it takes one value)", key.name()));
    }
    *slot = Some(v);
    Ok(())
}

/// Adds a read term to the query, checking its values.
fn apply(q: &mut HuntQuery, p: &Parsed) -> Result<(), String> {
    let k = p.key.name();
    if p.key.single() {
        if p.negated {
            return Err(format!("{k} cannot be negated"));
        }
        if p.values.len() > 1 {
            return Err(format!("{k} takes one value, not a list"));
        }
    }
    let one = p.values.first().map(String::as_str).unwrap_or("");
    match p.key {
        Key::Kind => set(&mut q.kind, p.key, read_kind(one)?),
        Key::Since => set(&mut q.since, p.key, read_since(one)?),
        Key::From => set(&mut q.from, p.key, read_time(p.key, one)?),
        Key::Until => set(&mut q.until, p.key, read_time(p.key, one)?),
        Key::Src => push(&mut q.src, p),
        Key::Dst => push(&mut q.dst, p),
        Key::Ip => push(&mut q.ip, p),
        Key::Sport => push(&mut q.sport, p),
        Key::Dport => push(&mut q.dport, p),
        Key::Port => push(&mut q.port, p),
        Key::Proto => push(&mut q.proto, p),
        Key::Country => push(&mut q.country, p),
        Key::Asset => push(&mut q.asset, p),
        Key::Risk => {
            if p.values.len() > 1 {
                return Err("risk takes one value; for a band write two terms: risk>=50 risk<80".into());
            }
            q.risk.push(RiskTerm { negated: p.negated, op: p.op, value: read_risk(one)? });
            Ok(())
        }
        Key::Threat => push(&mut q.threat, p),
        Key::Detector => push(&mut q.detector, p),
        Key::Profile => push(&mut q.profile, p),
        Key::Verdict => push(&mut q.verdict, p),
    }
}

/// Reads a `risk` comparison: `>=`, `>`, `<=`, `<`, `=`, or nothing (equal).
fn risk_op(r: &mut Reader<'_>) -> RiskOp {
    let rest = &r.s[r.i..];
    let (op, len) = if rest.starts_with(">=") {
        (RiskOp::Ge, 2)
    } else if rest.starts_with("<=") {
        (RiskOp::Le, 2)
    } else if rest.starts_with('>') {
        (RiskOp::Gt, 1)
    } else if rest.starts_with('<') {
        (RiskOp::Lt, 1)
    } else if rest.starts_with('=') {
        (RiskOp::Eq, 1)
    } else {
        (RiskOp::Eq, 0)
    };
    r.i += len;
    op
}

/// Reads one term of filter text at the reader's position (not whitespace).
fn term(r: &mut Reader<'_>) -> Result<Parsed, String> {
    let start = r.i;
    let negated = r.peek() == Some('-');
    r.i += usize::from(negated);
    let key_start = r.i;
    while r.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
        r.i += 1;
    }
    let name = &r.s[key_start..r.i];
    let sep = r.peek();
    let s = r.s;
    // The whole term without its `-` (with it when that leaves nothing), for messages.
    let word = || {
        let mut w = Reader { s, i: key_start };
        w.skip_term();
        if w.i > key_start {
            &s[key_start..w.i]
        } else {
            &s[start..w.i]
        }
    };
    if name.is_empty() || !matches!(sep, Some(':' | '=' | '<' | '>')) {
        return Err(bare_word(word()));
    }
    let Some(key) = Key::from_name(name) else {
        if address(word()).is_some() {
            return Err(bare_word(word()));
        }
        let hint = suggestion(name).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
        return Err(format!("unknown filter '{}'; known: {}{hint}", clip(name), known_keys()));
    };
    let op = if key == Key::Risk {
        if sep == Some(':') {
            r.i += 1;
        }
        risk_op(r)
    } else {
        if matches!(sep, Some('<' | '>')) {
            return Err(format!("{}: only risk compares with < and >; write {}:value", key.name(), key.name()));
        }
        r.i += 1;
        RiskOp::Eq
    };
    let values = r.values(key.name())?;
    Ok(Parsed { key, negated, op, values })
}

fn address(s: &str) -> Option<Cidr> {
    Cidr::parse(s).ok().or_else(|| s.parse::<IpAddr>().ok().map(Cidr::host))
}

fn bare_word(word: &str) -> String {
    match address(word) {
        Some(_) => format!("'{w}' has no filter key: write ip:{w} (either side), src:{w} or dst:{w}", w = clip(word)),
        None => format!("'{}' has no filter key: terms are key:value, such as country:RU or dport:443", clip(word)),
    }
}

pub(super) fn parse(text: &str) -> Result<HuntQuery, FilterError> {
    let (q, mut errors) = parse_partial(text);
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(errors.swap_remove(0))
    }
}

pub(super) fn parse_partial(text: &str) -> (HuntQuery, Vec<FilterError>) {
    let mut q = HuntQuery::default();
    if text.len() > MAX_QUERY_BYTES {
        let term = clip(text);
        let message = format!("the filter is {} bytes long, more than the limit of {MAX_QUERY_BYTES}", text.len());
        return (q, vec![FilterError { at: 0, term, message }]);
    }
    let mut errors = Vec::new();
    let mut r = Reader { s: text, i: 0 };
    loop {
        r.skip_space();
        if r.i >= text.len() {
            return match too_long_written(&q, text) {
                Some(e) => (HuntQuery::default(), vec![e]),
                None => (q, errors),
            };
        }
        let start = r.i;
        let result = term(&mut r).and_then(|p| apply(&mut q, &p));
        // A term ends at whitespace: anything left of it is part of the error.
        r.skip_term();
        if let Err(message) = result {
            errors.push(FilterError { at: start, term: clip(&text[start..r.i]), message });
        }
    }
}

/// The error for a query whose canonical text is longer than [`MAX_QUERY_BYTES`].
fn too_long_written(q: &HuntQuery, given: &str) -> Option<FilterError> {
    let len = to_text(q).len();
    (len > MAX_QUERY_BYTES).then(|| FilterError {
        at: 0,
        term: clip(given),
        message: format!("the filter is {len} bytes long once written out, more than the limit of {MAX_QUERY_BYTES}"),
    })
}

pub(super) fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Result<HuntQuery, FilterError> {
    let mut q = HuntQuery::default();
    let total: usize = pairs.iter().map(|(_, v)| v.as_ref().len()).sum();
    if total > MAX_QUERY_BYTES {
        let (k, _) = &pairs[0];
        let message = format!("the filter fields hold {total} bytes, more than the limit of {MAX_QUERY_BYTES}");
        return Err(FilterError { at: 0, term: clip(k.as_ref()), message });
    }
    for (k, v) in pairs {
        let (k, v) = (k.as_ref().trim(), v.as_ref());
        if v.trim().is_empty() {
            continue;
        }
        let Some(key) = Key::from_name(k) else {
            let hint = suggestion(k).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default();
            let message = format!("unknown filter '{}'; known: {}{hint}", clip(k), known_keys());
            return Err(FilterError { at: 0, term: clip(k), message });
        };
        let mut r = Reader { s: v, i: 0 };
        loop {
            r.skip_space();
            if r.i >= v.len() {
                break;
            }
            let start = r.i;
            let negated = r.peek() == Some('-');
            r.i += usize::from(negated);
            let op = if key == Key::Risk {
                if r.peek() == Some(':') {
                    r.i += 1;
                }
                risk_op(&mut r)
            } else {
                RiskOp::Eq
            };
            let result = r.values(key.name()).and_then(|values| apply(&mut q, &Parsed { key, negated, op, values }));
            r.skip_term();
            if let Err(message) = result {
                return Err(FilterError {
                    at: start,
                    term: format!("{}={}", key.name(), clip(&v[start..r.i])),
                    message,
                });
            }
        }
    }
    match too_long_written(&q, "") {
        Some(e) => Err(FilterError { term: q.to_pairs().first().map(|(k, _)| k.clone()).unwrap_or_default(), ..e }),
        None => Ok(q),
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> HuntQuery {
        HuntQuery::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    fn err(s: &str) -> FilterError {
        HuntQuery::parse(s).expect_err(s)
    }

    fn net(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn the_example_query_reads_into_its_terms() {
        let got = q("src:10.0.0.0/8 dport:443 country:ru risk>=70 since:24h");
        let want = HuntQuery {
            since: Some(RelDuration { amount: 24, unit: DurationUnit::Hours }),
            src: vec![Term::new(vec![net("10.0.0.0/8")])],
            dport: vec![Term::new(vec![PortRange::one(443)])],
            country: vec![Term::new(vec!["RU".into()])],
            risk: vec![RiskTerm { negated: false, op: RiskOp::Ge, value: 70 }],
            ..HuntQuery::default()
        };
        assert_eq!(got, want);
        assert_eq!(got.to_string(), "since:24h src:10.0.0.0/8 dport:443 country:RU risk>=70");
        assert_eq!(
            got.to_pairs(),
            vec![
                ("since".to_string(), "24h".to_string()),
                ("src".into(), "10.0.0.0/8".into()),
                ("dport".into(), "443".into()),
                ("country".into(), "RU".into()),
                ("risk".into(), ">=70".into()),
            ]
        );
    }

    #[test]
    fn every_key_lists_negation_and_quotes() {
        let got = q(r#"-dport:443 dport:80,8000-8080 -country:US,cn asset:"HR laptop 3","a,b" asset:plain
                      proto:TCP,udp,47 ip:2001:db8::1 dst:10.1.2.3/16 sport:0 port:65535 threat:Port_Scan
                      detector:brute_force profile:conn verdict:benign kind:alerts risk:50 risk<10 risk=5
                      risk>1 risk<=99 -risk>=90 from:2026-03-01 until:2026-03-02T12:30:00.250+02:00"#);
        assert_eq!(
            got.dport,
            vec![
                Term::not(vec![PortRange::one(443)]),
                Term::new(vec![PortRange::one(80), PortRange { first: 8000, last: 8080 }])
            ]
        );
        assert_eq!(got.country, vec![Term::not(vec!["US".into(), "CN".into()])]);
        assert_eq!(
            got.asset,
            vec![Term::new(vec!["HR laptop 3".into(), "a,b".into()]), Term::new(vec!["plain".into()])]
        );
        assert_eq!(got.proto, vec![Term::new(vec![6, 17, 47])]);
        assert_eq!(got.dst, vec![Term::new(vec![net("10.1.0.0/16")])]);
        assert_eq!(got.threat, vec![Term::new(vec!["port_scan".into()])]);
        assert_eq!(got.risk.len(), 6);
        assert_eq!(got.risk[5], RiskTerm { negated: true, op: RiskOp::Ge, value: 90 });
        assert_eq!(got.from, Some(TimePoint::Day(20_513)));
        assert_eq!(got.until, Some(TimePoint::At(1_772_447_400_250)));
        let text = got.to_string();
        assert_eq!(
            text,
            "kind:alerts from:2026-03-01 until:2026-03-02T10:30:00.250Z dst:10.1.0.0/16 ip:2001:db8::1 sport:0 \
             -dport:443 dport:80,8000-8080 port:65535 proto:tcp,udp,47 -country:US,CN asset:\"HR laptop 3\",\"a,b\" \
             asset:plain risk:50 risk<10 risk:5 risk>1 risk<=99 -risk>=90 threat:port_scan detector:brute_force \
             profile:conn verdict:benign"
        );
        assert_eq!(q(&text), got);
        assert_eq!(HuntQuery::from_pairs(&got.to_pairs()), Ok(got.clone()));
        let pairs = got.to_pairs();
        assert!(pairs.contains(&("risk".into(), "50 <10 5 >1 <=99 ->=90".into())), "{pairs:?}");
        assert!(pairs.contains(&("dport".into(), "-443 80,8000-8080".into())));
    }

    #[test]
    fn bad_terms_name_the_term_and_what_is_allowed() {
        let e = err("src:10.0.0.0/8 dport:99999");
        assert_eq!((e.at, e.term.as_str()), (15, "dport:99999"));
        assert_eq!(e.message, "dport: '99999' is not a port (0–65535)");
        let e = err("dst_port:443");
        assert!(e.message.starts_with("unknown filter 'dst_port'; known: kind, since, from, until, src, dst, ip,"));
        assert!(e.message.ends_with("(did you mean 'dport'?)"), "{}", e.message);
        let e = err("country:RU 10.0.0.1");
        assert_eq!(e.at, 11);
        assert_eq!(
            e.message,
            "'10.0.0.1' has no filter key: write ip:10.0.0.1 (either side), src:10.0.0.1 or dst:10.0.0.1"
        );
        assert!(err("2001:db8::1").message.contains("write ip:2001:db8::1"));
        assert!(err("evil").message.contains("terms are key:value"));
        let m = |s: &str| err(s).message;
        assert_eq!(m("dport:2000-1000"), "dport: in '2000-1000' the first port is above the last");
        assert_eq!(m("proto:sctpx"), "proto: 'sctpx' is not tcp, udp, icmp or a protocol number 0–255");
        assert_eq!(m("country:RUS"), "country: 'RUS' is not a two-letter ISO country code (RU, US)");
        assert_eq!(m("risk>=101"), "risk: '101' is not a risk 0–100");
        assert!(m("risk:50,60").starts_with("risk takes one value"));
        assert_eq!(m("since:3y"), "since: '3y' is not a duration like 30s, 15m, 24h, 7d or 2w");
        assert_eq!(m("since:0h"), "since: '0h' is no time at all");
        assert_eq!(m("since:999999999w"), "since: '999999999w' is longer than ten years");
        assert_eq!(m("since:1h since:2h"), "since is given twice (it takes one value)");
        assert_eq!(m("-since:1h"), "since cannot be negated");
        assert_eq!(m("kind:flows,alerts"), "kind takes one value, not a list");
        assert_eq!(m("kind:packets"), "kind: 'packets' is not flows, alerts or all");
        assert!(m("from:yesterday").starts_with("from: 'yesterday' is not a date (2026-03-01)"));
        assert!(m("until:9999-12-31T23:59:59-01:00").starts_with("until:"), "beyond year 9999");
        assert_eq!(m("verdict:maybe"), "verdict: 'maybe' is not alert or benign");
        assert!(m("threat:a.b").contains("is not a threat key"));
        assert!(m("detector:brute-force").contains("is not a detector name"));
        assert_eq!(m("dport:"), "dport: no value");
        assert_eq!(m("dport:80,,81"), "dport: an empty value in the list");
        assert_eq!(m("asset:\"open"), "asset: a quoted value is not closed");
        assert_eq!(m("asset:\"a\"b"), "asset: text right after a closing quote");
        assert_eq!(m("asset:a\"b\""), "asset: a quote inside a value (quote the whole value)");
        assert_eq!(m(r#"asset:"a\n""#), "asset: inside quotes only \\\" and \\\\ are escapes");
        assert_eq!(m("asset:\"\""), "asset: the name is empty");
        assert_eq!(m("dport>80"), "dport: only risk compares with < and >; write dport:value");
        assert!(m(&"a".repeat(5000)).contains("more than the limit of 4096"));
        // Canonical text longer than typed: `\` alone is written out quoted and escaped.
        let typed = format!("asset:{}", vec!["\\"; 1300].join(","));
        assert!(typed.len() <= 4096);
        assert!(m(&typed).contains("long once written out"), "{}", m(&typed));
        let (partial, errors) = HuntQuery::parse_partial(&typed);
        assert_eq!((partial, errors.len()), (HuntQuery::default(), 1));
        let fields = [("asset", "x".repeat(5000))];
        assert!(HuntQuery::from_pairs(&fields).unwrap_err().message.contains("fields hold 5000 bytes"));
        let e = err("- x");
        assert_eq!((e.at, e.term.as_str()), (0, "-"));
    }

    #[test]
    fn partial_parsing_keeps_the_good_terms() {
        let (got, errors) = HuntQuery::parse_partial("dport:443 bogus:1 country:XYZ risk>=70");
        assert_eq!(got.to_string(), "dport:443 risk>=70");
        let at: Vec<usize> = errors.iter().map(|e| e.at).collect();
        assert_eq!(at, vec![10, 18]);
        assert_eq!(errors[1].term, "country:XYZ");
    }

    #[test]
    fn pairs_skip_empty_fields_and_name_bad_ones() {
        let got = HuntQuery::from_pairs(&[
            ("dport", "443,8443"),
            ("risk", ">=70"),
            ("country", ""),
            ("asset", "\"HR laptop 3\""),
        ])
        .unwrap();
        assert_eq!(got.to_string(), "dport:443,8443 asset:\"HR laptop 3\" risk>=70");
        assert_eq!(HuntQuery::from_pairs(&[("risk", "70")]).unwrap().risk[0].op, RiskOp::Eq);
        assert_eq!(HuntQuery::from_pairs(&[("risk", ":>=70")]).unwrap().risk[0].op, RiskOp::Ge);
        let e = HuntQuery::from_pairs(&[("dport", "443 99999")]).unwrap_err();
        assert_eq!(
            (e.at, e.term.as_str(), e.message.as_str()),
            (4, "dport=99999", "dport: '99999' is not a port (0–65535)")
        );
        let e = HuntQuery::from_pairs(&[("dst_port", "1")]).unwrap_err();
        assert!(e.message.contains("did you mean 'dport'"));
        assert_eq!(HuntQuery::from_pairs::<&str, &str>(&[]), Ok(HuntQuery::default()));
        assert_eq!(
            HuntQuery::from_pairs(&[("asset", "\"-x\"")]).unwrap().to_pairs(),
            vec![("asset".into(), "\"-x\"".into())]
        );
    }

    #[test]
    fn time_ranges_resolve_since_from_and_until() {
        let now = 1_772_000_000_000;
        assert_eq!(HuntQuery::default().time_range(now), (None, None));
        assert_eq!(q("since:24h").time_range(now), (Some(now - 86_400_000), None));
        let day = q("from:2026-03-01 until:2026-03-01");
        assert_eq!(day.time_range(now), (Some(20_513 * 86_400_000), Some(20_514 * 86_400_000)));
        let both = q("since:2w from:2026-02-24T00:00:00Z");
        assert_eq!(both.time_range(now).0, Some(now - 14 * 86_400_000).max(Some(1_771_891_200_000)));
        assert_eq!(q("until:2026-03-01T12:00:00Z").time_range(now).1, Some(1_772_366_400_000));
    }

    fn arb_cidr() -> impl Strategy<Value = Cidr> {
        prop_oneof![
            (any::<std::net::Ipv4Addr>(), 0u8..=32).prop_map(|(a, p)| Cidr::new(a.into(), p).unwrap()),
            (any::<std::net::Ipv6Addr>(), 0u8..=128).prop_map(|(a, p)| Cidr::new(a.into(), p).unwrap()),
        ]
    }

    fn terms<T: std::fmt::Debug + Clone + 'static>(
        v: impl Strategy<Value = T> + 'static,
    ) -> impl Strategy<Value = Vec<Term<T>>> {
        prop::collection::vec(
            (any::<bool>(), prop::collection::vec(v, 1..3)).prop_map(|(negated, any_of)| Term { negated, any_of }),
            0..3,
        )
    }

    fn arb_query() -> impl Strategy<Value = HuntQuery> {
        let port = prop_oneof![
            any::<u16>().prop_map(PortRange::one),
            (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortRange { first: a.min(b), last: a.max(b) })
        ];
        let unit = prop::sample::select(DurationUnit::ALL.to_vec());
        let since = (1u32..500, unit).prop_map(|(amount, unit)| RelDuration { amount, unit });
        let time = prop_oneof![
            (-719_528i64..2_932_896).prop_map(TimePoint::Day),
            (super::MIN_MS..=super::MAX_MS).prop_map(TimePoint::At),
        ];
        let risk = (
            any::<bool>(),
            prop::sample::select(vec![RiskOp::Ge, RiskOp::Gt, RiskOp::Le, RiskOp::Lt, RiskOp::Eq]),
            0u8..=100,
        )
            .prop_map(|(negated, op, value)| RiskTerm { negated, op, value });
        let part1 = (
            prop::option::of(prop::sample::select(vec![HuntKind::Flows, HuntKind::Alerts, HuntKind::All])),
            prop::option::of(since),
            prop::option::of(time.clone()),
            prop::option::of(time),
            terms(arb_cidr()),
            terms(arb_cidr()),
            terms(arb_cidr()),
            terms(port.clone()),
            terms(port.clone()),
            terms(port),
        );
        let part2 = (
            terms(any::<u8>()),
            terms("[A-Z]{2}"),
            terms("[^\\p{Cc}]{1,12}"),
            prop::collection::vec(risk, 0..3),
            terms("[a-z0-9_-]{1,10}"),
            terms("[a-z0-9_]{1,10}"),
            terms("[a-z0-9_-]{1,10}"),
            terms(prop::sample::select(vec![Verdict::Alert, Verdict::Benign])),
        );
        (part1, part2)
            .prop_filter("asset names are not blank", |(_, p2)| {
                p2.2.iter().all(|t| t.any_of.iter().all(|a| !a.trim().is_empty()))
            })
            .prop_map(|(p1, p2)| HuntQuery {
                kind: p1.0,
                since: p1.1,
                from: p1.2,
                until: p1.3,
                src: p1.4,
                dst: p1.5,
                ip: p1.6,
                sport: p1.7,
                dport: p1.8,
                port: p1.9,
                proto: p2.0,
                country: p2.1,
                asset: p2.2,
                risk: p2.3,
                threat: p2.4,
                detector: p2.5,
                profile: p2.6,
                verdict: p2.7,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn text_and_pairs_round_trip(query in arb_query()) {
            let text = query.to_string();
            prop_assert_eq!(HuntQuery::parse(&text), Ok(query.clone()), "{}", text);
            let pairs = query.to_pairs();
            prop_assert_eq!(HuntQuery::from_pairs(&pairs), Ok(query.clone()), "{:?}", pairs);
            let json = serde_json::to_string(&query).unwrap();
            prop_assert_eq!(serde_json::from_str::<HuntQuery>(&json).unwrap(), query);
        }

        #[test]
        fn any_text_parses_or_points_inside_it(text in "\\PC{0,120}") {
            match HuntQuery::parse(&text) {
                Ok(query) => prop_assert_eq!(HuntQuery::parse(&query.to_string()), Ok(query)),
                Err(e) => {
                    prop_assert!(e.at < text.len() && text.is_char_boundary(e.at), "{:?} in {:?}", e, text);
                    prop_assert!(!e.message.is_empty());
                }
            }
        }

        #[test]
        fn term_like_text_parses_or_points_inside_it(text in "(-?(src|dport|risk|asset|since|country|x)[:=<>]{1,2}[a-zA-Z0-9.,/\"\\\\ -]{0,12} ?){0,6}") {
            let (query, errors) = HuntQuery::parse_partial(&text);
            prop_assert_eq!(HuntQuery::parse(&query.to_string()), Ok(query));
            let mut last = None;
            for e in &errors {
                prop_assert!(e.at < text.len(), "{:?}", e);
                prop_assert!(last.is_none_or(|l| l < e.at), "{:?}", errors);
                last = Some(e.at);
            }
        }
    }
}
