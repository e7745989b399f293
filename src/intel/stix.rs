//! STIX 2.1: a bundle (`{"type":"bundle","objects":[…]}`), a single indicator object or a bare list
//! of objects. Only `indicator` objects count, others are ignored; a revoked indicator, a pattern
//! type other than `stix`, and a pattern that cannot be matched value by value (see
//! [`pattern::values`](super::pattern::values)) are rejected naming the object's id. `valid_from`,
//! `valid_until` and `confidence` are kept; `name` and `description` become the description.

use serde_json::{Map, Value};

use super::pattern;
use super::time::parse_rfc3339_ms;
use super::{clip, Collector, IntelEntry, Location, MAX_LINE_BYTES};

pub(super) fn parse(input: &str, c: &mut Collector) {
    let text = input.strip_prefix('\u{feff}').unwrap_or(input);
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return c.reject(Location::Document, None, format!("not valid JSON: {e}")),
    };
    let single;
    let objects: &[Value] = match &doc {
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("bundle") => match o.get("objects") {
            Some(Value::Array(a)) => a,
            None | Some(Value::Null) => &[],
            Some(_) => return c.reject(Location::Document, None, "the bundle's \"objects\" is not a list"),
        },
        Value::Object(_) => {
            single = [doc.clone()];
            &single
        }
        Value::Array(a) => a,
        _ => {
            return c.reject(
                Location::Document,
                None,
                "expected a STIX bundle, an indicator object or a list of objects, found a bare value",
            )
        }
    };
    for (i, obj) in objects.iter().enumerate() {
        if c.full() {
            return;
        }
        object(i, obj, c);
    }
}

fn object(i: usize, obj: &Value, c: &mut Collector) {
    let Value::Object(o) = obj else {
        return c.reject(Location::Object(format!("objects[{i}]")), None, "not a JSON object");
    };
    let id = match o.get("id").and_then(Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() => clip(id),
        _ => format!("objects[{i}]"),
    };
    let at = || Location::Object(id.clone());
    match o.get("type").and_then(Value::as_str) {
        Some("indicator") => {}
        Some(_) => return c.ignore(),
        None => return c.reject(at(), None, "the object has no \"type\""),
    }
    if o.get("revoked") == Some(&Value::Bool(true)) {
        return c.reject(at(), None, "revoked");
    }
    match o.get("pattern_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.eq_ignore_ascii_case("stix") => {}
        Some(Value::String(t)) => {
            return c.reject(
                at(),
                Some(t),
                format!("pattern type '{}' is not supported (only stix patterns are)", clip(t)),
            )
        }
        Some(_) => return c.reject(at(), None, "\"pattern_type\" is not a string"),
    }
    let Some(pattern) = o.get("pattern").and_then(Value::as_str) else {
        return c.reject(at(), None, "the indicator has no \"pattern\"");
    };
    if pattern.len() > MAX_LINE_BYTES {
        return c.reject(
            at(),
            Some(pattern),
            format!("the pattern is {} bytes long, more than the limit of {MAX_LINE_BYTES}", pattern.len()),
        );
    }
    let confidence = match o.get("confidence") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().filter(|&n| n <= 100) {
            Some(n) => Some(n as u8),
            None => return c.reject(at(), Some(&v.to_string()), "\"confidence\" is not a whole number 0–100"),
        },
    };
    let (valid_from, valid_until) = match (time(o, "valid_from"), time(o, "valid_until")) {
        (Ok(from), Ok(until)) => (from, until),
        (Err(e), _) | (_, Err(e)) => return c.reject(at(), None, e),
    };
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let description = match (text("name"), text("description")) {
        (Some(n), Some(d)) => Some(format!("{n}: {d}")),
        (n, d) => n.or(d).map(str::to_string),
    };
    let wanted = match pattern::values(pattern) {
        Ok(w) => w,
        Err(reason) => return c.reject(at(), Some(pattern), reason),
    };
    for w in wanted {
        match w.expect.parse(&w.value) {
            Ok(indicator) => {
                let entry = IntelEntry {
                    description: description.clone(),
                    confidence,
                    valid_from,
                    valid_until,
                    ..IntelEntry::new(indicator, id.clone())
                };
                c.entry(entry, at);
            }
            Err(e) => c.reject(at(), Some(&w.value), e.to_string()),
        }
    }
}

fn time(o: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => match parse_rfc3339_ms(s.trim()) {
            Some(ms) => Ok(Some(ms)),
            None => Err(format!("\"{key}\" '{}' is not an RFC 3339 time", clip(s))),
        },
        Some(_) => Err(format!("\"{key}\" is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, time::parse_rfc3339_ms, IntelFormat, Location};

    #[test]
    fn the_sample_bundle_imports_indicators_and_names_the_rest_by_id() {
        let p = parse(IntelFormat::Stix, include_str!("testdata/bundle.stix.json"));
        let got: Vec<(String, &str)> =
            p.entries.iter().map(|e| (e.indicator.to_string(), e.reference.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("login-microsoftonline.example.net".into(), "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
                (
                    "https://login-microsoftonline.example.net/common/oauth2".into(),
                    "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
                ),
                ("198.51.100.0/24".into(), "indicator--1ed8caa7-a708-4706-b651-f1186ede6ca1"),
                (
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                    "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade"
                ),
                ("203.0.113.45".into(), "indicator--c2a5b3f4-6f7e-4d8c-9a1b-2c3d4e5f6a7b"),
                ("2001:db8:bad::7".into(), "indicator--c2a5b3f4-6f7e-4d8c-9a1b-2c3d4e5f6a7b"),
            ]
        );
        let first = &p.entries[0];
        assert_eq!(
            first.description.as_deref(),
            Some("Phishing domain of campaign Tidewater: Credential phishing pages imitating a sign-in portal.")
        );
        assert_eq!(first.confidence, Some(80));
        assert_eq!(first.valid_from, parse_rfc3339_ms("2026-02-01T09:30:00.000Z"));
        assert_eq!(first.valid_until, parse_rfc3339_ms("2026-08-01T00:00:00Z"));
        assert_eq!(p.entries[2].valid_from, parse_rfc3339_ms("2026-02-03T11:00:00Z"), "+01:00 offset");
        let rejected: Vec<(&Location, &str)> = p.rejected.iter().map(|r| (&r.at, r.reason.as_str())).collect();
        let obj = |id: &str| Location::Object(id.into());
        assert_eq!(rejected.len(), 5, "{rejected:#?}");
        assert_eq!(rejected[0].0, &obj("indicator--5d3e2a1b-0c9f-4e8d-b7a6-958473625140"));
        assert!(rejected[0].1.contains("joins comparisons with AND"), "{}", rejected[0].1);
        assert_eq!(rejected[1], (&obj("indicator--6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"), "revoked"));
        assert_eq!(
            rejected[2],
            (
                &obj("indicator--7c6b5a4d-3e2f-4b1a-8d9c-0e1f2a3b4c5d"),
                "pattern type 'yara' is not supported (only stix patterns are)"
            )
        );
        assert_eq!(rejected[3].0, &obj("indicator--c2a5b3f4-6f7e-4d8c-9a1b-2c3d4e5f6a7b"));
        assert_eq!(p.rejected[3].value.as_deref(), Some("300.1.1.1"));
        assert_eq!(rejected[4].0, &obj("indicator--d3b6c4a5-7a8f-4e9d-8b2c-3d4e5f6a7b8c"));
        assert!(rejected[4].1.contains("operator LIKE"), "{}", rejected[4].1);
        // identity, malware, relationship; and the domain listed again by the last indicator.
        assert_eq!(p.ignored, 4);
    }

    #[test]
    fn single_objects_bare_lists_and_broken_documents() {
        let one = r#"{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '10.0.0.1']"}"#;
        assert_eq!(parse(IntelFormat::Stix, one).entries.len(), 1);
        let list = format!("[{one}, 5, {{\"id\":\"x\"}}]");
        let p = parse(IntelFormat::Stix, &list);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.rejected[0].at, Location::Object("objects[1]".into()));
        assert_eq!(p.rejected[1].reason, "the object has no \"type\"");
        let broken = parse(IntelFormat::Stix, "{\"type\":\"bundle\",\"objects\":[");
        assert_eq!(broken.rejected.len(), 1);
        assert_eq!(broken.rejected[0].at, Location::Document);
        assert!(
            broken.rejected[0].reason.starts_with("not valid JSON: EOF while parsing"),
            "{}",
            broken.rejected[0].reason
        );
        assert_eq!(parse(IntelFormat::Stix, "42").rejected[0].at, Location::Document);
        assert_eq!(parse(IntelFormat::Stix, r#"{"type":"bundle"}"#), Default::default());
    }

    #[test]
    fn bad_fields_reject_the_indicator() {
        let with = |extra: &str| {
            let doc = format!(
                r#"{{"type":"indicator","id":"indicator--2","pattern":"[domain-name:value = 'x.example']"{extra}}}"#
            );
            parse(IntelFormat::Stix, &doc)
        };
        assert_eq!(with("").entries.len(), 1);
        assert_eq!(with(r#","confidence":101"#).rejected[0].reason, "\"confidence\" is not a whole number 0–100");
        assert_eq!(
            with(r#","valid_until":"soon""#).rejected[0].reason,
            "\"valid_until\" 'soon' is not an RFC 3339 time"
        );
        assert_eq!(with(r#","pattern_type":7"#).rejected[0].reason, "\"pattern_type\" is not a string");
        assert_eq!(with(r#","pattern_type":"STIX""#).entries.len(), 1);
        let p = parse(IntelFormat::Stix, r#"{"type":"indicator","id":"indicator--3"}"#);
        assert_eq!(p.rejected[0].reason, "the indicator has no \"pattern\"");
        let p = parse(
            IntelFormat::Stix,
            r#"{"type":"indicator","id":"indicator--4","pattern":"[ipv4-addr:value = '2001:db8::1']"}"#,
        );
        assert_eq!(p.rejected[0].reason, "'2001:db8::1' is an IPv6 address, not an IPv4 address");
    }
}
