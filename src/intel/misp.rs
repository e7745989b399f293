//! MISP JSON: an event (`{"Event":{…}}`), a search result (`{"response":[{"Event":…},…]}` or
//! `{"response":{"Attribute":[…]}}`), a list of events, or bare attributes (`{"Attribute":[…]}` or a
//! list). Attributes count both directly under the event and inside its objects
//! (`Object[].Attribute`).
//!
//! Attribute types that give indicators: `ip-src`, `ip-dst` (an address or a network), their `|port`
//! forms (the address), `domain`, `hostname`, `domain|ip` (both), `url`, `md5`, `sha1`, `sha256`, and
//! `filename|md5` / `filename|sha1` / `filename|sha256` (the hash). Other types, attributes with
//! `to_ids` off (not meant for detection) and deleted ones are counted as ignored. An attribute is
//! named by its `uuid`, else its `id`, else `<event uuid> #<n>` (its 1-based position in the event,
//! objects' attributes after the event's own). The `comment` is the description (the event's
//! `info` when there is none); `first_seen`, else `timestamp`, is the start of validity; the event's
//! `threat_level_id` 1–4 gives confidence 100/75/50/25.

use serde_json::{Map, Value};

use super::csv::Expect;
use super::time::parse_rfc3339_ms;
use super::{clip, Collector, HashAlgo, IndicatorKind, IntelEntry, Location};

/// Whether a JSON document has MISP's shape (for [`IntelFormat::sniff`](super::IntelFormat::sniff)).
pub(super) fn looks_like_misp(v: &Value) -> bool {
    let misp_object = |v: &Value| match v {
        Value::Object(o) => {
            ["Event", "Attribute", "response"].iter().any(|k| o.contains_key(*k))
                || (o.contains_key("value") && (o.contains_key("to_ids") || o.contains_key("category")))
        }
        _ => false,
    };
    match v {
        Value::Array(a) => a.first().is_some_and(misp_object),
        other => misp_object(other),
    }
}

pub(super) fn parse(input: &str, c: &mut Collector) {
    let text = input.strip_prefix('\u{feff}').unwrap_or(input);
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return c.reject(Location::Document, None, format!("not valid JSON: {e}")),
    };
    let mut events = 0;
    match &doc {
        Value::Object(o) if o.contains_key("response") => match &o["response"] {
            Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| top_item(item, i, &mut events, c)),
            item @ Value::Object(_) => top_item(item, 0, &mut events, c),
            _ => c.reject(Location::Document, None, "the \"response\" is neither a list nor an object"),
        },
        Value::Object(_) => top_item(&doc, 0, &mut events, c),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| top_item(item, i, &mut events, c)),
        _ => c.reject(Location::Document, None, "expected a MISP event, a search result or a list of attributes"),
    }
}

/// One element of a document or a search result: an event, an event's body, or one attribute.
fn top_item(item: &Value, i: usize, events: &mut usize, c: &mut Collector) {
    if c.full() {
        return;
    }
    match item {
        Value::Object(o) if o.contains_key("Event") => {
            *events += 1;
            event(&o["Event"], *events, c)
        }
        Value::Object(o) if o.contains_key("Attribute") || o.contains_key("Object") => {
            *events += 1;
            event(item, *events, c)
        }
        Value::Object(o) if o.contains_key("type") && o.contains_key("value") => {
            let ev = EventInfo { name: "attribute".into(), info: None, confidence: None };
            attribute(item, &ev, i + 1, c)
        }
        _ => c.reject(Location::Object(format!("item {}", i + 1)), None, "neither a MISP event nor an attribute"),
    }
}

/// What an event gives its attributes.
struct EventInfo<'a> {
    /// The event's uuid (or `event <n>`), naming attributes that have no id.
    name: String,
    info: Option<&'a str>,
    confidence: Option<u8>,
}

fn event(ev: &Value, n: usize, c: &mut Collector) {
    let Value::Object(e) = ev else {
        return c.reject(Location::Object(format!("event {n}")), None, "the event is not a JSON object");
    };
    let name = match e.get("uuid").and_then(Value::as_str).map(str::trim) {
        Some(u) if !u.is_empty() => clip(u),
        _ => format!("event {n}"),
    };
    let confidence = match e.get("threat_level_id").map(text_of).as_deref() {
        Some("1") => Some(100),
        Some("2") => Some(75),
        Some("3") => Some(50),
        Some("4") => Some(25),
        _ => None,
    };
    let info = e.get("info").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let ev = EventInfo { name, info, confidence };
    let own = list(e, "Attribute");
    let in_objects = list(e, "Object").iter().flat_map(|o| o.as_object().map(|o| list(o, "Attribute")).unwrap_or(&[]));
    for (i, a) in own.iter().chain(in_objects).enumerate() {
        if c.full() {
            return;
        }
        attribute(a, &ev, i + 1, c);
    }
}

fn list<'a>(o: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    match o.get(key) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

/// A string or a number as text (MISP writes ids and flags either way).
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A MISP flag: `true`, `1`, `"1"`, `"true"` are on; anything else off; a missing flag is `missing`.
fn flag(a: &Map<String, Value>, key: &str, missing: bool) -> bool {
    match a.get(key) {
        None | Some(Value::Null) => missing,
        Some(v) => matches!(text_of(v).to_ascii_lowercase().as_str(), "true" | "1"),
    }
}

fn attribute(v: &Value, ev: &EventInfo<'_>, n: usize, c: &mut Collector) {
    let fallback = format!("{} #{n}", ev.name);
    let Value::Object(a) = v else {
        return c.reject(Location::Object(fallback), None, "the attribute is not a JSON object");
    };
    let reference = [a.get("uuid"), a.get("id")]
        .into_iter()
        .flatten()
        .map(text_of)
        .find(|s| !s.is_empty())
        .map(|s| clip(&s))
        .unwrap_or(fallback);
    let at = || Location::Object(reference.clone());
    if flag(a, "deleted", false) {
        return c.ignore();
    }
    let Some(kind) = a.get("type").and_then(Value::as_str) else {
        return c.reject(at(), None, "the attribute has no \"type\"");
    };
    let Some(value) = a.get("value").and_then(Value::as_str) else {
        return c.reject(at(), None, "the attribute has no \"value\"");
    };
    let ip = Expect::Kind(IndicatorKind::Ip);
    let domain = Expect::Kind(IndicatorKind::Domain);
    let second = || value.split_once('|').map(|(_, b)| b);
    let parts: Vec<(Expect, Option<&str>)> = match kind {
        "ip-src" | "ip-dst" => vec![(ip, Some(value))],
        "ip-src|port" | "ip-dst|port" => vec![(ip, value.split_once('|').map(|(a, _)| a))],
        "domain" | "hostname" => vec![(domain, Some(value))],
        "domain|ip" => vec![(domain, value.split_once('|').map(|(a, _)| a)), (ip, second())],
        "url" => vec![(Expect::Kind(IndicatorKind::Url), Some(value))],
        "md5" => vec![(Expect::Algo(HashAlgo::Md5), Some(value))],
        "sha1" => vec![(Expect::Algo(HashAlgo::Sha1), Some(value))],
        "sha256" => vec![(Expect::Algo(HashAlgo::Sha256), Some(value))],
        "filename|md5" => vec![(Expect::Algo(HashAlgo::Md5), second())],
        "filename|sha1" => vec![(Expect::Algo(HashAlgo::Sha1), second())],
        "filename|sha256" => vec![(Expect::Algo(HashAlgo::Sha256), second())],
        _ => return c.ignore(),
    };
    if !flag(a, "to_ids", true) {
        return c.ignore();
    }
    let valid_from = match a.get("first_seen").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => match parse_rfc3339_ms(t) {
            Some(ms) => Some(ms),
            None => return c.reject(at(), Some(t), format!("\"first_seen\" '{}' is not an RFC 3339 time", clip(t))),
        },
        None => a.get("timestamp").map(text_of).and_then(|t| t.parse::<i64>().ok()).and_then(|s| s.checked_mul(1000)),
    };
    let comment = a.get("comment").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let description = comment.or(ev.info).map(str::to_string);
    let confidence =
        a.get("confidence").and_then(Value::as_u64).filter(|&n| n <= 100).map(|n| n as u8).or(ev.confidence);
    for (expect, part) in parts {
        let Some(part) = part else {
            c.reject(at(), Some(value), format!("a '{kind}' value has two parts separated by '|'"));
            continue;
        };
        match expect.parse(part) {
            Ok(indicator) => {
                let entry = IntelEntry {
                    description: description.clone(),
                    confidence,
                    valid_from,
                    ..IntelEntry::new(indicator, reference.clone())
                };
                c.entry(entry, at);
            }
            Err(e) => c.reject(at(), Some(part), e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, time::parse_rfc3339_ms, IntelFormat, Location};

    const EVENT: &str = "5f0c3d2a-9b8e-4c7d-a6f5-e4d3c2b1a098";

    #[test]
    fn the_sample_event_imports_attributes_and_object_attributes() {
        let p = parse(IntelFormat::Misp, include_str!("testdata/event.misp.json"));
        let got: Vec<(String, &str)> =
            p.entries.iter().map(|e| (e.indicator.to_string(), e.reference.as_str())).collect();
        let uuid = |n: u32| format!("8d1f0c3e-1a2b-4c5d-8e9f-0a1b2c3d4e{n:02}");
        let expected: Vec<(String, String)> = vec![
            ("198.51.100.23".into(), uuid(1)),
            ("update-check.example.net".into(), uuid(2)),
            ("http://update-check.example.net/gate.php".into(), uuid(3)),
            ("203.0.113.7".into(), uuid(4)),
            ("cdn.badcdn.example.org".into(), uuid(5)),
            ("192.0.2.44".into(), uuid(5)),
            ("3395856ce81f2b7382dee72602f798b642f14140".into(), uuid(12)),
            ("mail.tidewater.example".into(), "40023".into()),
            ("44d88612fea8a8f36de82e1278abb02f".into(), "9e2f1d4c-2b3a-4d5e-9f0a-1b2c3d4e5f02".into()),
            (
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f".into(),
                "9e2f1d4c-2b3a-4d5e-9f0a-1b2c3d4e5f03".into(),
            ),
            ("stage2.tidewater.example".into(), format!("{EVENT} #18")),
            ("203.0.113.45".into(), "40042".into()),
        ];
        let expected: Vec<(String, &str)> = expected.iter().map(|(a, b)| (a.clone(), b.as_str())).collect();
        assert_eq!(got, expected);
        let e = &p.entries;
        assert_eq!(e[0].description.as_deref(), Some("C2 server"));
        assert_eq!(e[0].confidence, Some(75), "threat level 2");
        assert_eq!(e[0].valid_from, Some(1_769_938_200_000));
        assert_eq!(e[1].description.as_deref(), Some("Tidewater phishing campaign: loader and C2"));
        assert_eq!(e[1].valid_from, parse_rfc3339_ms("2026-02-01T09:30:00Z"));
        assert_eq!(e[1].valid_until, None, "last_seen is not an expiry");
        assert_eq!(e[10].description.as_deref(), Some("Second-stage host"));
        let rejected: Vec<(&Location, Option<&str>)> = p.rejected.iter().map(|r| (&r.at, r.value.as_deref())).collect();
        assert_eq!(
            rejected,
            vec![
                (&Location::Object(uuid(9)), Some("10.0.0.999")),
                (&Location::Object(uuid(11)), Some("3395856ce81f2b7382dee72602f798b642f1414")),
            ]
        );
        assert!(p.rejected[1].reason.contains("39 hex digits"), "{}", p.rejected[1].reason);
        // link, text, to_ids "0", deleted, filename, size-in-bytes.
        assert_eq!(p.ignored, 6);
    }

    #[test]
    fn search_results_event_lists_and_bare_attributes() {
        let attr = |v: &str| format!(r#"{{"type":"ip-dst","value":"{v}","to_ids":true,"uuid":"u-{v}"}}"#);
        let search = format!(
            r#"{{"response":[{{"Event":{{"uuid":"e1","threat_level_id":1,"Attribute":[{}]}}}},{{"Event":{{"uuid":"e2","Attribute":[{}]}}}}]}}"#,
            attr("10.0.0.1"),
            attr("10.0.0.2")
        );
        let p = parse(IntelFormat::Misp, &search);
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].confidence, Some(100));
        assert_eq!(p.entries[1].confidence, None);
        let bare = format!(r#"{{"Attribute":[{},{}]}}"#, attr("10.0.0.3"), attr("10.0.0.0/8"));
        assert_eq!(parse(IntelFormat::Misp, &bare).entries[1].indicator.to_string(), "10.0.0.0/8");
        let array = format!("[{}, 7]", attr("10.0.0.4"));
        let p = parse(IntelFormat::Misp, &array);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.rejected[0].at, Location::Object("item 2".into()));
        let result = format!(r#"{{"response":{{"Attribute":[{}]}}}}"#, attr("10.0.0.5"));
        assert_eq!(parse(IntelFormat::Misp, &result).entries.len(), 1);
        let events = format!(r#"[{{"Event":{{"Attribute":[{}]}}}}]"#, attr("10.0.0.6"));
        assert_eq!(parse(IntelFormat::Misp, &events).entries[0].reference, "u-10.0.0.6");
        assert_eq!(parse(IntelFormat::Misp, "{").rejected[0].at, Location::Document);
        assert_eq!(parse(IntelFormat::Misp, "\"x\"").rejected[0].at, Location::Document);
    }

    #[test]
    fn to_ids_deleted_and_composite_values() {
        let one = |fields: &str| {
            parse(IntelFormat::Misp, &format!(r#"{{"Event":{{"uuid":"e","Attribute":[{{{fields}}}]}}}}"#))
        };
        assert_eq!(one(r#""type":"ip-dst","value":"10.0.0.1","to_ids":false"#).ignored, 1);
        assert_eq!(one(r#""type":"ip-dst","value":"10.0.0.1","to_ids":0"#).ignored, 1);
        assert_eq!(one(r#""type":"ip-dst","value":"10.0.0.1","to_ids":"0""#).ignored, 1);
        assert_eq!(one(r#""type":"ip-dst","value":"10.0.0.1""#).entries.len(), 1, "to_ids defaults to on");
        assert_eq!(one(r#""type":"ip-dst","value":"10.0.0.1","deleted":"1""#).ignored, 1);
        let p = one(r#""type":"ip-dst|port","value":"2001:db8::1|443""#);
        assert_eq!(p.entries[0].indicator.to_string(), "2001:db8::1");
        let p = one(r#""type":"ip-dst|port","value":"10.0.0.1""#);
        assert_eq!(p.rejected[0].reason, "a 'ip-dst|port' value has two parts separated by '|'");
        assert_eq!(p.rejected[0].at, Location::Object("e #1".into()));
        let p = one(r#""type":"filename|md5","value":"a.exe|44d88612fea8a8f36de82e1278abb02f""#);
        assert_eq!(p.entries[0].indicator.to_string(), "44d88612fea8a8f36de82e1278abb02f");
        let p = one(r#""type":"md5","value":"3395856ce81f2b7382dee72602f798b642f14140""#);
        assert!(p.rejected[0].reason.contains("is a SHA-1 hash, not an MD5 hash"), "{}", p.rejected[0].reason);
        let p = one(r#""type":"domain","value":"x.example","first_seen":"yesterday""#);
        assert_eq!(p.rejected[0].reason, "\"first_seen\" 'yesterday' is not an RFC 3339 time");
        assert_eq!(one(r#""type":"domain""#).rejected[0].reason, "the attribute has no \"value\"");
    }
}
