//! Property tests: no parser panics, whatever the bytes; the streaming reader agrees with the
//! whole-buffer parse; the limits hold; timestamps round-trip.

use proptest::prelude::*;

use super::*;

const ZEEK_TSV: &str = "#separator \\x09\n#unset_field\t-\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts\n928.943457\tC\t10.0.2.112\t49168\t195.113.214.219\t80\ttcp\t0.055687\t261\t1077\t5\t5\n929.2\tC\t10.0.2.112\t49171\t151.97.100.116\t6898\ttcp\t-\t-\t-\t1\t0\n";
const ZEEK_JSON: &str = "{\"ts\":1700828217.314165,\"id.orig_h\":\"192.168.1.9\",\"id.orig_p\":50820,\"id.resp_h\":\"45.33.32.156\",\"id.resp_p\":443,\"proto\":\"tcp\",\"duration\":0.2,\"orig_bytes\":0,\"resp_bytes\":0,\"orig_pkts\":1,\"resp_pkts\":1}\n";
const EVE: &str = "{\"timestamp\":\"2021-06-06T15:59:46.457984+0200\",\"event_type\":\"alert\",\"src_ip\":\"198.51.100.7\",\"src_port\":51698,\"dest_ip\":\"192.168.1.129\",\"dest_port\":445,\"proto\":\"TCP\",\"alert\":{\"signature_id\":2403388,\"signature\":\"ET CINS\",\"category\":\"Misc Attack\",\"severity\":2}}\n{\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"src_port\":1,\"dest_ip\":\"10.0.0.2\",\"dest_port\":53,\"proto\":\"UDP\",\"flow\":{\"pkts_toserver\":1,\"pkts_toclient\":1,\"bytes_toserver\":74,\"bytes_toclient\":130,\"start\":\"2021-06-06T15:59:59.5+0200\",\"end\":\"2021-06-06T16:00:00+0200\"}}\n{\"event_type\":\"dns\"}\n";
const FLOWS: &str = "[{\"src_ip\":\"192.0.2.10\",\"src_port\":51514,\"dst_ip\":\"198.51.100.5\",\"dst_port\":443,\"protocol\":\"tcp\",\"timestamp\":\"2024-05-01T12:00:00Z\",\"duration_us\":1500000,\"fwd_packets\":10,\"bwd_packets\":8,\"fwd_bytes\":1200,\"bwd_bytes\":5400},\n{\"src_ip\":\"2001:db8::1\",\"src_port\":1,\"dst_ip\":\"2001:db8::2\",\"dst_port\":53,\"protocol\":17,\"timestamp\":1.5,\"features\":{\"Flow Duration\":1,\"Fwd IAT Mean\":null}}]\n";

/// Bytes biased towards what the parsers look at.
fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![any::<u8>(), prop::sample::select(b"[]{}\",:\\\t\n\r# -.0123456789eE".to_vec()),];
    prop::collection::vec(token, 0..600)
}

/// A valid sample with random edits: overwritten bytes, deleted and duplicated ranges.
fn mutated(sample: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>(), 0u8..4);
    prop::collection::vec(edit, 1..6).prop_map(move |edits| {
        let mut b = sample.as_bytes().to_vec();
        for (i, j, byte, kind) in edits {
            if b.is_empty() {
                break;
            }
            let (i, j) = (i.index(b.len()), j.index(b.len()));
            let (lo, hi) = (i.min(j), i.max(j));
            match kind {
                0 => b[i] = byte,
                1 => {
                    b.drain(lo..hi);
                }
                2 => {
                    let copy = b[lo..hi].to_vec();
                    b.splice(lo..lo, copy);
                }
                _ => b.insert(i, byte),
            }
        }
        b
    })
}

fn any_limits() -> impl Strategy<Value = Limits> {
    (1usize..300, 1usize..30).prop_map(|(max_line_bytes, max_records)| Limits { max_line_bytes, max_records })
}

fn lines_in(input: &[u8]) -> usize {
    input.split(|b| *b == b'\n').count()
}

/// Slice and reader parses agree (results, or error messages), and the bounds hold.
fn check<P: LineParser + Clone>(parser: P, input: &[u8], limits: &Limits) -> Result<(), TestCaseError>
where
    P::Record: PartialEq + std::fmt::Debug,
{
    let a = parse_slice(&mut parser.clone(), input, limits);
    let b = parse_reader(&mut parser.clone(), std::io::BufReader::with_capacity(7, input), limits);
    match (&a, &b) {
        (Ok(x), Ok(y)) => {
            prop_assert_eq!(x, y);
            prop_assert!(x.total() <= limits.max_records);
            prop_assert!(x.rejected.iter().all(|r| r.line >= 1 && r.line <= lines_in(input)));
            prop_assert!(x.rejected.iter().all(|r| r.reason.len() <= 400), "reasons stay short: {:?}", x.rejected);
        }
        (Err(x), Err(y)) => prop_assert_eq!(x.to_string(), y.to_string()),
        _ => prop_assert!(false, "slice and reader disagree: {:?} vs {:?}", a, b),
    }
    Ok(())
}

proptest! {
    #[test]
    fn zeek_never_panics(input in interesting_bytes(), limits in any_limits(), bom in any::<bool>()) {
        let input = if bom { [&b"\xEF\xBB\xBF"[..], &input].concat() } else { input };
        check(zeek::ZeekParser::default(), &input, &limits)?;
        check(zeek::ZeekParser::default(), &input, &Limits::default())?;
    }

    #[test]
    fn zeek_survives_edits_of_valid_logs(tsv in mutated(ZEEK_TSV), json in mutated(ZEEK_JSON), limits in any_limits()) {
        check(zeek::ZeekParser::default(), &tsv, &Limits::default())?;
        check(zeek::ZeekParser::default(), &json, &Limits::default())?;
        check(zeek::ZeekParser::default(), &tsv, &limits)?;
    }

    #[test]
    fn suricata_never_panics(input in interesting_bytes(), edited in mutated(EVE), limits in any_limits()) {
        check(suricata::EveParser, &input, &limits)?;
        check(suricata::EveParser, &edited, &Limits::default())?;
        check(suricata::EveParser, &edited, &limits)?;
    }

    #[test]
    fn flows_json_never_panics(input in interesting_bytes(), edited in mutated(FLOWS), limits in any_limits()) {
        for (bytes, limits) in [(&input, limits), (&edited, Limits::default()), (&edited, limits)] {
            if let Ok(p) = flows_json::parse(bytes, &limits) {
                prop_assert!(p.total() <= limits.max_records);
                prop_assert!(p.rejected.iter().all(|r| r.line >= 1 && r.line <= lines_in(bytes)), "{:?}", p.rejected);
            }
        }
        check(flows_json::FlowsParser, &edited, &limits)?;
    }

    #[test]
    fn arbitrary_lines_as_text(lines in prop::collection::vec("\\PC{0,80}", 0..20)) {
        let input = lines.join("\n");
        check(zeek::ZeekParser::default(), input.as_bytes(), &Limits::default())?;
        check(suricata::EveParser, input.as_bytes(), &Limits::default())?;
        let _ = flows_json::parse(input.as_bytes(), &Limits::default());
    }

    #[test]
    fn timestamps_never_panic_and_round_trip(s in "\\PC{0,40}", us in -62_167_219_200_000_000i64..=253_402_300_799_999_999) {
        let _ = time::iso_to_micros(&s);
        let _ = time::epoch_str_to_micros(&s);
        let text = time::format_micros(us).expect("in range");
        prop_assert_eq!(time::iso_to_micros(&text), Some(us));
    }
}

#[test]
fn valid_samples_parse_cleanly() {
    // The mutation bases are themselves valid, so the properties explore near-valid input.
    let z = zeek::parse(ZEEK_TSV.as_bytes(), &Limits::default()).unwrap();
    assert_eq!((z.records.len(), z.rejected.len()), (2, 0));
    let z = zeek::parse(ZEEK_JSON.as_bytes(), &Limits::default()).unwrap();
    assert_eq!((z.records.len(), z.rejected.len()), (1, 0));
    let s = suricata::parse(EVE.as_bytes(), &Limits::default()).unwrap();
    assert_eq!((s.records.len(), s.rejected.len(), s.skipped), (2, 0, 1));
    let f = flows_json::parse(FLOWS.as_bytes(), &Limits::default()).unwrap();
    assert_eq!((f.records.len(), f.rejected.len()), (2, 0));
}
