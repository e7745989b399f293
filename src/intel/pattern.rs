//! The STIX 2.1 patterning language, as much as importing indicators needs: a tokenizer and a
//! recursive-descent parser for the whole grammar (observation expressions joined by `OR`, `AND`,
//! `FOLLOWEDBY`, with `WITHIN`, `START … STOP` and `REPEATS` qualifiers; comparison expressions with
//! every operator, `NOT`, `AND`, `OR` and parentheses), and [`values`], which says which indicators a
//! pattern matches when it is an `OR` of equality (`=`, `IN`, `ISSUBSET`) comparisons on paths we
//! can match, or why it cannot be imported.

use super::csv::Expect;
use super::{HashAlgo, IndicatorKind};

/// Deepest nesting of brackets and parentheses a pattern may have.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Comma,
    /// `=`, `!=`, `<`, `>`, `<=`, `>=`.
    Op(&'static str),
    /// A keyword or other bare word (`AND`, `true`, `42`, …), as written.
    Word(String),
    /// A `'…'` string, unescaped.
    Str(String),
    /// A typed literal: `t'…'`, `b'…'`, `h'…'`.
    Typed(String),
    Path(Path),
}

/// An object path: `file:hashes.'SHA-256'` is type `file`, steps `hashes`, `SHA-256`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Path {
    pub object: String,
    pub steps: Vec<String>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.object, self.steps.join("."))
    }
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        match ch {
            _ if ch.is_ascii_whitespace() => i += 1,
            b'[' | b']' | b'(' | b')' | b',' | b'=' => {
                out.push(match ch {
                    b'[' => Tok::LBrack,
                    b']' => Tok::RBrack,
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b',' => Tok::Comma,
                    _ => Tok::Op("="),
                });
                i += 1;
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                out.push(Tok::Op("!="));
                i += 2;
            }
            b'<' | b'>' => {
                let eq = b.get(i + 1) == Some(&b'=');
                out.push(Tok::Op(match (ch, eq) {
                    (b'<', true) => "<=",
                    (b'<', false) => "<",
                    (_, true) => ">=",
                    _ => ">",
                }));
                i += 1 + usize::from(eq);
            }
            b'\'' => {
                let (text, end) = string(s, i)?;
                out.push(Tok::Str(text));
                i = end;
            }
            _ if ch.is_ascii_alphanumeric() || matches!(ch, b'-' | b'+' | b'.' | b'_') => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b'+' | b'.' | b'_')) {
                    i += 1;
                }
                let word = &s[start..i];
                if b.get(i) == Some(&b':') && word.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
                    let (path, end) = path(s, word, i + 1)?;
                    out.push(Tok::Path(path));
                    i = end;
                } else if b.get(i) == Some(&b'\'') && matches!(word, "t" | "b" | "h") {
                    let (text, end) = string(s, i)?;
                    out.push(Tok::Typed(format!("{word}'{text}'")));
                    i = end;
                } else {
                    out.push(Tok::Word(word.to_string()));
                }
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected '{}' at byte {i} of the pattern", c.escape_default()));
            }
        }
    }
    Ok(out)
}

/// A `'…'` string starting at `i` (on the quote): its text with `\'` and `\\` unescaped, and the
/// index after the closing quote.
fn string(s: &str, i: usize) -> Result<(String, usize), String> {
    let mut text = String::new();
    let mut chars = s[i + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '\'' => return Ok((text, i + 1 + k + 1)),
            '\\' => match chars.next() {
                Some((_, e @ ('\'' | '\\'))) => text.push(e),
                Some((_, e)) => return Err(format!("unknown escape '\\{}' in a string", e.escape_default())),
                None => break,
            },
            c => text.push(c),
        }
    }
    Err(format!("the string starting at byte {i} of the pattern is not closed"))
}

/// The steps of an object path after `type:`, starting at `i`.
fn path(s: &str, object: &str, mut i: usize) -> Result<(Path, usize), String> {
    let b = s.as_bytes();
    let mut steps = Vec::new();
    loop {
        if b.get(i) == Some(&b'\'') {
            let (text, end) = string(s, i)?;
            steps.push(text);
            i = end;
        } else {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-')) {
                i += 1;
            }
            if start == i {
                return Err(format!("object path '{object}:…' has an empty step at byte {i}"));
            }
            steps.push(s[start..i].to_string());
        }
        // List indexes: `[0]`, `[*]`.
        while b.get(i) == Some(&b'[') {
            let close = s[i..].find(']').map(|k| i + k).ok_or("a list index '[' is not closed")?;
            let index = &s[i + 1..close];
            if index != "*" && (index.is_empty() || !index.bytes().all(|c| c.is_ascii_digit())) {
                return Err(format!("'{}' is not a list index", super::clip(index)));
            }
            steps.push(format!("[{index}]"));
            i = close + 1;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
        } else {
            return Ok((Path { object: object.to_string(), steps }, i));
        }
    }
}

/// An observation expression.
#[derive(Debug, Clone, PartialEq)]
enum Obs {
    Cmp(Cmp),
    Or(Vec<Obs>),
    And(Vec<Obs>),
    FollowedBy(Vec<Obs>),
}

/// A comparison expression.
#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Test { path: Path, negated: bool, op: String, values: Vec<Tok> },
    Or(Vec<Cmp>),
    And(Vec<Cmp>),
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn eat(&mut self, t: &Tok) -> bool {
        let hit = self.peek() == Some(t);
        self.pos += usize::from(hit);
        hit
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        let hit = self.keyword(k);
        self.pos += usize::from(hit);
        hit
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "the end of the pattern".into(),
            Some(Tok::Word(w)) => format!("'{}'", super::clip(w)),
            Some(Tok::Str(s)) => format!("'{}'", super::clip(s)),
            Some(Tok::Path(p)) => format!("'{p}'"),
            Some(t) => format!("{t:?}"),
        }
    }

    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("the pattern nests deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn list<T>(
        &mut self,
        kw: &str,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
        join: fn(Vec<T>) -> T,
    ) -> Result<T, String> {
        let mut items = vec![item(self)?];
        while self.eat_keyword(kw) {
            items.push(item(self)?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one item") } else { join(items) })
    }

    fn obs_followed_by(&mut self) -> Result<Obs, String> {
        self.list("FOLLOWEDBY", Self::obs_or, Obs::FollowedBy)
    }

    fn obs_or(&mut self) -> Result<Obs, String> {
        self.list("OR", Self::obs_and, Obs::Or)
    }

    fn obs_and(&mut self) -> Result<Obs, String> {
        self.list("AND", Self::obs_qualified, Obs::And)
    }

    fn obs_qualified(&mut self) -> Result<Obs, String> {
        let obs = self.obs_primary()?;
        loop {
            if self.eat_keyword("WITHIN") {
                self.literal("a number of seconds")?;
                self.expect_keyword("SECONDS")?;
            } else if self.eat_keyword("START") {
                self.literal("a timestamp")?;
                self.expect_keyword("STOP")?;
                self.literal("a timestamp")?;
            } else if self.eat_keyword("REPEATS") {
                self.literal("a count")?;
                self.expect_keyword("TIMES")?;
            } else {
                return Ok(obs);
            }
        }
    }

    fn obs_primary(&mut self) -> Result<Obs, String> {
        self.deeper()?;
        let obs = if self.eat(&Tok::LBrack) {
            let cmp = self.cmp_or()?;
            if !self.eat(&Tok::RBrack) {
                return Err(format!("expected ']' but found {}", self.describe()));
            }
            Obs::Cmp(cmp)
        } else if self.eat(&Tok::LParen) {
            let obs = self.obs_followed_by()?;
            if !self.eat(&Tok::RParen) {
                return Err(format!("expected ')' but found {}", self.describe()));
            }
            obs
        } else {
            return Err(format!("expected '[' but found {}", self.describe()));
        };
        self.depth -= 1;
        Ok(obs)
    }

    fn cmp_or(&mut self) -> Result<Cmp, String> {
        self.list("OR", Self::cmp_and, Cmp::Or)
    }

    fn cmp_and(&mut self) -> Result<Cmp, String> {
        self.list("AND", Self::cmp_primary, Cmp::And)
    }

    fn cmp_primary(&mut self) -> Result<Cmp, String> {
        self.deeper()?;
        let cmp = if self.eat(&Tok::LParen) {
            let cmp = self.cmp_or()?;
            if !self.eat(&Tok::RParen) {
                return Err(format!("expected ')' but found {}", self.describe()));
            }
            cmp
        } else if self.eat_keyword("EXISTS") {
            match self.next() {
                Some(Tok::Path(path)) => Cmp::Test { path, negated: false, op: "EXISTS".into(), values: vec![] },
                _ => return Err("EXISTS is not followed by an object path".into()),
            }
        } else {
            let path = match self.next() {
                Some(Tok::Path(p)) => p,
                _ => {
                    self.pos -= 1;
                    return Err(format!(
                        "expected an object path such as ipv4-addr:value but found {}",
                        self.describe()
                    ));
                }
            };
            let negated = self.eat_keyword("NOT");
            let op = match self.next() {
                Some(Tok::Op(op)) => op.to_string(),
                Some(Tok::Word(w))
                    if ["IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"]
                        .iter()
                        .any(|k| w.eq_ignore_ascii_case(k)) =>
                {
                    w.to_ascii_uppercase()
                }
                _ => {
                    self.pos -= 1;
                    return Err(format!("expected an operator after '{path}' but found {}", self.describe()));
                }
            };
            let values = if op == "IN" {
                if !self.eat(&Tok::LParen) {
                    return Err(format!("expected '(' after IN but found {}", self.describe()));
                }
                let mut values = vec![self.literal("a value")?];
                while self.eat(&Tok::Comma) {
                    values.push(self.literal("a value")?);
                }
                if !self.eat(&Tok::RParen) {
                    return Err(format!("expected ')' closing the IN list but found {}", self.describe()));
                }
                values
            } else {
                vec![self.literal("a value")?]
            };
            Cmp::Test { path, negated, op, values }
        };
        self.depth -= 1;
        Ok(cmp)
    }

    fn literal(&mut self, what: &str) -> Result<Tok, String> {
        match self.next() {
            Some(t @ (Tok::Str(_) | Tok::Typed(_) | Tok::Word(_))) => Ok(t),
            _ => {
                self.pos -= 1;
                Err(format!("expected {what} but found {}", self.describe()))
            }
        }
    }

    fn expect_keyword(&mut self, k: &str) -> Result<(), String> {
        if self.eat_keyword(k) {
            Ok(())
        } else {
            Err(format!("expected {k} but found {}", self.describe()))
        }
    }
}

fn parse(pattern: &str) -> Result<Obs, String> {
    let mut p = Parser { toks: tokenize(pattern)?, pos: 0, depth: 0 };
    let obs = p.obs_followed_by()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {} after the end of the pattern", p.describe()));
    }
    Ok(obs)
}

/// What an object path holds, when it is one we can match.
fn expect_of(path: &Path) -> Option<Expect> {
    let steps: Vec<&str> = path.steps.iter().map(String::as_str).collect();
    Some(match (path.object.as_str(), steps.as_slice()) {
        ("ipv4-addr", ["value"]) => Expect::V4,
        ("ipv6-addr", ["value"]) => Expect::V6,
        ("domain-name", ["value"]) => Expect::Kind(IndicatorKind::Domain),
        ("url", ["value"]) => Expect::Kind(IndicatorKind::Url),
        ("network-traffic", ["src_ref" | "dst_ref", "value"]) => Expect::Kind(IndicatorKind::Ip),
        ("file", ["hashes", algo]) => match algo.to_ascii_uppercase().as_str() {
            "MD5" => Expect::Algo(HashAlgo::Md5),
            "SHA-1" | "SHA1" => Expect::Algo(HashAlgo::Sha1),
            "SHA-256" | "SHA256" => Expect::Algo(HashAlgo::Sha256),
            _ => return None,
        },
        _ => return None,
    })
}

const SUPPORTED_PATHS: &str = "ipv4-addr:value, ipv6-addr:value, domain-name:value, url:value, \
     file:hashes.MD5/'SHA-1'/'SHA-256', network-traffic:src_ref.value/dst_ref.value";

/// One value a pattern matches, with the kind its path holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Wanted {
    pub expect: Expect,
    pub value: String,
}

/// The values of a pattern that is an `OR` of `=`, `IN` or `ISSUBSET` comparisons, or why the pattern
/// cannot be imported. Comparisons on paths or with operators we cannot match are left out of an
/// `OR` that has others (matching fewer of its values alerts on less than the publisher meant, never
/// more); a pattern with none left is refused with the reason. A pattern that joins conditions with
/// `AND` or `FOLLOWEDBY` is refused: importing one side alone would alert on far more.
pub(super) fn values(pattern: &str) -> Result<Vec<Wanted>, String> {
    let obs = parse(pattern).map_err(|e| format!("the pattern does not parse: {e}"))?;
    let mut out = Vec::new();
    let mut skipped = None;
    collect_obs(&obs, &mut out, &mut skipped)?;
    if out.is_empty() {
        return Err(skipped.unwrap_or_else(|| "the pattern has no comparison".into()));
    }
    Ok(out)
}

fn collect_obs(obs: &Obs, out: &mut Vec<Wanted>, skipped: &mut Option<String>) -> Result<(), String> {
    match obs {
        Obs::Cmp(c) => collect_cmp(c, out, skipped),
        Obs::Or(items) => items.iter().try_for_each(|o| collect_obs(o, out, skipped)),
        Obs::And(_) => Err("the pattern joins observations with AND: only all of them together mean a match, \
                            which a single indicator cannot express"
            .into()),
        Obs::FollowedBy(_) => Err("the pattern joins observations with FOLLOWEDBY: only the sequence means a \
                                   match, which a single indicator cannot express"
            .into()),
    }
}

fn collect_cmp(cmp: &Cmp, out: &mut Vec<Wanted>, skipped: &mut Option<String>) -> Result<(), String> {
    match cmp {
        Cmp::Or(items) => items.iter().try_for_each(|c| collect_cmp(c, out, skipped)),
        Cmp::And(_) => Err("the pattern joins comparisons with AND: only all of them together mean a match, \
                            which a single indicator cannot express"
            .into()),
        Cmp::Test { path, negated, op, values } => {
            let mut skip = |reason: String| {
                skipped.get_or_insert(reason);
                Ok(())
            };
            let Some(expect) = expect_of(path) else {
                return skip(format!("'{path}' is not a path we can match (supported: {SUPPORTED_PATHS})"));
            };
            let address = matches!(expect, Expect::V4 | Expect::V6 | Expect::Kind(IndicatorKind::Ip));
            if *negated {
                return skip(format!("'{path} NOT {op}' matches everything but its values, which cannot be imported"));
            }
            if !(op == "=" || op == "IN" || (op == "ISSUBSET" && address)) {
                return skip(format!(
                    "operator {op} on '{path}' cannot be imported (only =, IN and, for addresses, ISSUBSET)"
                ));
            }
            for v in values {
                match v {
                    Tok::Str(s) => out.push(Wanted { expect, value: s.clone() }),
                    _ => return skip(format!("'{path} {op}' compares with something other than a string")),
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(p: &str) -> Result<Vec<String>, String> {
        values(p).map(|v| v.into_iter().map(|w| w.value).collect())
    }

    #[test]
    fn or_lists_of_equalities_give_every_value() {
        assert_eq!(vals("[ipv4-addr:value = '198.51.100.1']"), Ok(vec!["198.51.100.1".into()]));
        assert_eq!(
            vals("[domain-name:value = 'a.example' OR domain-name:value = 'b.example'] OR [url:value = 'http://c.example/']"),
            Ok(vec!["a.example".into(), "b.example".into(), "http://c.example/".into()])
        );
        assert_eq!(
            vals("[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2')]"),
            Ok(vec!["10.0.0.1".into(), "10.0.0.2".into()])
        );
        assert_eq!(vals("[ipv4-addr:value ISSUBSET '203.0.113.0/24']"), Ok(vec!["203.0.113.0/24".into()]));
        assert_eq!(vals("([(ipv6-addr:value = '2001:db8::1')])"), Ok(vec!["2001:db8::1".into()]));
        assert_eq!(
            vals(r"[file:name = 'it\'s \\ here' OR url:value = 'http://x.example/a\'b']"),
            Ok(vec!["http://x.example/a'b".into()])
        );
        let hashes =
            values("[file:hashes.'SHA-256' = 'aa' OR file:hashes.MD5 = 'bb' OR file:hashes.SHA1 = 'cc']").unwrap();
        let algos: Vec<Expect> = hashes.iter().map(|w| w.expect).collect();
        assert_eq!(
            algos,
            vec![Expect::Algo(HashAlgo::Sha256), Expect::Algo(HashAlgo::Md5), Expect::Algo(HashAlgo::Sha1)]
        );
        assert_eq!(
            vals("[network-traffic:dst_ref.value = '192.0.2.9'] WITHIN 600 SECONDS"),
            Ok(vec!["192.0.2.9".into()])
        );
        assert_eq!(
            vals("[url:value = 'http://x.example/'] START t'2026-01-01T00:00:00Z' STOP t'2026-02-01T00:00:00Z' REPEATS 2 TIMES"),
            Ok(vec!["http://x.example/".into()])
        );
    }

    #[test]
    fn patterns_that_cannot_be_imported_say_why() {
        let why = |p: &str| vals(p).unwrap_err();
        assert!(why("[ipv4-addr:value = '10.0.0.1' AND network-traffic:dst_port = 443]").contains("AND"));
        assert!(why("[ipv4-addr:value = '10.0.0.1'] AND [domain-name:value = 'x.example']")
            .contains("observations with AND"));
        assert!(
            why("[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [domain-name:value = 'x.example']").contains("FOLLOWEDBY")
        );
        assert!(why("[ipv4-addr:value != '10.0.0.1']").contains("operator != "));
        assert!(why("[domain-name:value LIKE '%.example']").contains("operator LIKE"));
        assert!(why("[domain-name:value MATCHES '^x']").contains("operator MATCHES"));
        assert!(why("[network-traffic:dst_port > 1024]").contains("'network-traffic:dst_port' is not a path"));
        assert!(why("[file:name = 'x.exe']").contains("supported: ipv4-addr:value"));
        assert!(why("[ipv4-addr:value NOT = '10.0.0.1']").contains("NOT"));
        assert!(why("[domain-name:value ISSUBSET 'x']").contains("ISSUBSET"));
        assert!(why("[ipv4-addr:value = 5]").contains("other than a string"));
        assert!(why("[ipv4-addr:value = '10.0.0.1'").contains("expected ']'"));
        assert!(why("[ipv4-addr:value = 'open").contains("not closed"));
        assert!(why("ipv4-addr:value = '1'").contains("expected '['"));
        assert!(why("[ipv4-addr:value = '1'] garbage").contains("after the end"));
        assert!(why(r"[url:value = 'a\n']").contains("unknown escape"));
        assert!(
            why(&format!("{}[ipv4-addr:value = '1']{}", "(".repeat(100), ")".repeat(100))).contains("deeper than 64")
        );
        assert!(why("[]").contains("expected an object path"));
        assert!(why("[ipv4-addr:value IN ('1', ]").contains("expected a value"));
        assert!(why("[ipv4-addr:value ~ '1']").contains("unexpected '~'"));
        assert!(why("[EXISTS ipv4-addr:value]").contains("operator EXISTS"));
    }

    #[test]
    fn paths_with_list_indexes_and_quoted_steps_tokenize() {
        let toks = tokenize("[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]").unwrap();
        assert_eq!(
            toks[1],
            Tok::Path(Path {
                object: "file".into(),
                steps: vec![
                    "extensions".into(),
                    "windows-pebinary-ext".into(),
                    "sections".into(),
                    "[*]".into(),
                    "entropy".into()
                ]
            })
        );
        assert!(tokenize("[file:x[a] = '1']").is_err());
    }
}
