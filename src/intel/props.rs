//! Property tests of the indicator and the document parsers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::{lines, parse, Indicator, IntelFormat, Location};

/// Text of a valid indicator of any kind, in various spellings (case, defanging, host bits).
fn indicator_text() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9_][a-zA-Z0-9_-]{0,12}";
    let domain = (prop::collection::vec(label, 1..4), "[a-zA-Z][a-zA-Z0-9]{1,8}", any::<bool>(), any::<bool>())
        .prop_map(|(labels, tld, wild, dot)| {
            format!("{}{}.{tld}{}", if wild { "*." } else { "" }, labels.join("."), if dot { "." } else { "" })
        });
    let host = prop_oneof![
        (prop::collection::vec(label, 1..3), "[a-z]{2,6}").prop_map(|(l, tld)| format!("{}.{tld}", l.join("."))),
        any::<Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<Ipv6Addr>().prop_map(|a| format!("[{a}]")),
    ];
    let url = (
        prop::sample::select(vec!["http", "HTTPS", "ftp", "hxxp", "wss"]),
        prop::option::of("[a-z]{1,6}@"),
        host,
        prop::option::of(any::<u16>()),
        "([/?#][!-~]{0,30})?",
    )
        .prop_map(|(scheme, user, host, port, rest)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{scheme}://{}{host}{port}{rest}", user.unwrap_or_default())
        });
    prop_oneof![
        any::<IpAddr>().prop_map(|a| a.to_string()),
        (any::<Ipv4Addr>(), 0u8..=32).prop_map(|(a, p)| format!("{a}/{p}")),
        (any::<Ipv6Addr>(), 0u8..=128).prop_map(|(a, p)| format!("{a}/{p}")),
        domain,
        url,
        prop::sample::select(vec![32usize, 40, 64])
            .prop_flat_map(|n| prop::collection::vec("[0-9a-fA-F]", n))
            .prop_map(|v| v.concat()),
        any::<Ipv4Addr>().prop_map(|a| a.to_string().replace('.', "[.]")),
    ]
}

/// Lines of a plain list: indicators, comments, junk, descriptions, with every kind of line end.
fn plain_document() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        indicator_text(),
        indicator_text().prop_map(|i| format!("{i}  # note")),
        Just(String::new()),
        Just("# comment".to_string()),
        Just("; comment".to_string()),
        Just("// comment".to_string()),
        Just("0.0.0.0 tracker.example.com".to_string()),
        "\\PC{0,20}",
        "[ \t#;/a-z0-9.:\\[\\]]{0,20}",
    ];
    let end = prop::sample::select(vec!["\n", "\r\n", "\r"]);
    (prop::option::of(Just('\u{feff}')), prop::collection::vec((line, end), 0..30), any::<bool>()).prop_map(
        |(bom, lines, last_end)| {
            let mut s: String = bom.into_iter().collect();
            let n = lines.len();
            for (i, (l, e)) in lines.into_iter().enumerate() {
                s.push_str(&l);
                if i + 1 < n || last_end {
                    s.push_str(e);
                }
            }
            s
        },
    )
}

/// 1-based lines a text has, counting `\n`, `\r\n` and a lone `\r` each once.
fn line_count(text: &str) -> u64 {
    lines(text).count() as u64
}

fn non_comment_lines(text: &str) -> u64 {
    lines(text)
        .filter(|(_, l)| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with(['#', ';']) || t.starts_with("//"))
        })
        .count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_indicator_parses_back_from_its_display(text in indicator_text()) {
        if let Ok(ind) = Indicator::parse(&text) {
            let shown = ind.to_string();
            prop_assert_eq!(Indicator::parse(&shown), Ok(ind.clone()), "{} shown as {}", text, shown);
            let json = serde_json::to_string(&ind).unwrap();
            prop_assert_eq!(serde_json::from_str::<Indicator>(&json).unwrap(), ind);
        }
    }

    #[test]
    fn valid_indicator_text_parses(text in indicator_text()) {
        // Every generated spelling is valid except ports beyond the URL's and odd URL tails.
        let r = Indicator::parse(&text);
        if !text.contains("://") {
            prop_assert!(r.is_ok(), "{}: {:?}", text, r);
        }
    }

    #[test]
    fn any_text_parses_or_fails_without_panicking(text in "\\PC{0,80}") {
        if let Ok(ind) = Indicator::parse(&text) {
            prop_assert_eq!(Indicator::parse(&ind.to_string()), Ok(ind));
        }
    }

    #[test]
    fn the_plain_parser_names_lines_in_order_and_counts_each_line_once(text in plain_document()) {
        let p = parse(IntelFormat::Plain, &text);
        let n = line_count(&text);
        let mut last = 0;
        for r in &p.rejected {
            let Location::Line(l) = r.at else { panic!("{:?}", r.at) };
            prop_assert!(l > last && l <= n, "line {} after {} of {}", l, last, n);
            last = l;
        }
        let total = p.entries.len() as u64 + p.rejected.len() as u64 + p.ignored;
        prop_assert!(total <= non_comment_lines(&text), "{} records from {} lines", total, non_comment_lines(&text));
        for e in &p.entries {
            prop_assert_eq!(Indicator::parse(&e.indicator.to_string()), Ok(e.indicator.clone()));
        }
    }

    #[test]
    fn every_format_takes_any_text(text in "\\PC{0,300}", which in 0usize..4) {
        let p = parse(IntelFormat::ALL[which], &text);
        for e in &p.entries {
            prop_assert_eq!(Indicator::parse(&e.indicator.to_string()), Ok(e.indicator.clone()));
        }
    }

    #[test]
    fn csv_rows_are_named_by_increasing_lines(rows in prop::collection::vec((indicator_text(), "[a-z ,\"\r\n]{0,12}"), 0..20)) {
        let mut text = String::from("indicator,description\r\n");
        for (ind, desc) in &rows {
            text.push_str(&format!("\"{}\",\"{}\"\n", ind.replace('"', "\"\""), desc.replace('"', "\"\"")));
        }
        let p = parse(IntelFormat::Csv, &text);
        let n = line_count(&text);
        let lines: Vec<u64> = p.rejected.iter().map(|r| match r.at { Location::Line(l) => l, _ => 0 }).collect();
        prop_assert!(lines.windows(2).all(|w| w[0] < w[1]) && lines.iter().all(|&l| l >= 2 && l <= n), "{:?}", lines);
        prop_assert_eq!(p.entries.len() + p.rejected.len() + p.ignored as usize, rows.len());
    }
}
