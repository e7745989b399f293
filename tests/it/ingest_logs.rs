//! The ingest parsers on real logs from the project's shared data (`../shared/data/logs`, read in
//! place: the Slips files are GPL-2.0 and are not copied into this repository). Outside CI each test
//! skips, saying so, when its file is absent; in CI (`CI` set) it fails.
//!
//! The expected counts were computed independently of this code, with Python over the same files:
//! data lines = non-blank lines not starting with `#`; a line whose first non-blank byte is `#` after
//! leading whitespace is a malformed directive; a TSV section is conn.log when its `#fields` has the
//! conn columns; a JSON record is conn when `_path` is absent or `conn`; Suricata events counted by
//! `event_type`. Sums of packets and bytes likewise (unset Zeek bytes counted as 0).
#![cfg(feature = "server")]

/// Named `ingest` so that the project's test filter `ingest::` selects these tests too.
mod ingest {
    use std::io::Read;
    use std::path::PathBuf;

    use anomalyforge::flow::Flow;
    use anomalyforge::ingest::{self as ingest, IngestRecord, Limits, Parsed};

    fn logs_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/logs")
    }

    /// The file's bytes (gunzipped for `.gz`), or `None` after saying why the test is skipped.
    fn read(rel: &str) -> Option<Vec<u8>> {
        let path = logs_dir().join(rel);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                // In CI (`CI` set) the shared logs are beside the clone: a missing file is a failure,
                // never a test passed by skipping it.
                assert!(std::env::var_os("CI").is_none(), "{}: {e}; CI needs ../shared/data/logs", path.display());
                eprintln!(
                    "SKIPPED: {} is not available ({e}); the real-log tests need ../shared/data/logs",
                    path.display()
                );
                return None;
            }
        };
        if rel.ends_with(".gz") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).expect("gunzip shared log");
            Some(out)
        } else {
            Some(bytes)
        }
    }

    fn sums(flows: &[Flow]) -> [f64; 4] {
        let mut s = [0.0; 4];
        for f in flows {
            for (i, name) in
                ["Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet", "Total Length of Bwd Packet"]
                    .iter()
                    .enumerate()
            {
                s[i] += f64::from(f.get(name).expect("conn features are present"));
            }
        }
        s
    }

    fn zeek(rel: &str) -> Option<Parsed<Flow>> {
        let bytes = read(rel)?;
        let parsed = ingest::zeek::parse(&bytes, &Limits::default()).expect("within limits");
        // The streaming reader must agree with the whole-buffer parse.
        let streamed =
            ingest::zeek::parse_stream(std::io::BufReader::with_capacity(4096, &bytes[..]), &Limits::default())
                .expect("within limits");
        assert_eq!(parsed, streamed, "{rel}: reader and slice parses differ");
        Some(parsed)
    }

    #[test]
    fn zeek_tsv_horizontal_port_scan() {
        let Some(p) = zeek("slips/port-scans_horizontal_conn.log") else { return };
        assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (41, 0, 0));
        assert_eq!(sums(&p.records), [227.0, 343.0, 14265.0, 228618.0]);
        // 11 records are unanswered SYNs with duration and bytes unset: read as zero.
        assert_eq!(p.records.iter().filter(|f| f.get("Flow Duration") == Some(0.0)).count(), 11);
        let first = &p.records[0];
        assert_eq!(first.timestamp.as_deref(), Some("1970-01-01 00:15:28.943457"));
        assert_eq!(first.get("Flow Duration"), Some(55687.0));
    }

    #[test]
    fn zeek_tsv_with_an_indented_separator_line() {
        // Line 1 of this file is `\t#separator \x09`: refused by line, the 141 records after it are read
        // with Zeek's default separator.
        let Some(p) = zeek("slips/test10-mixed-zeek-dir_conn.log") else { return };
        assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (141, 1, 0));
        assert_eq!(p.rejected[0].line, 1);
        assert!(
            p.rejected[0].reason.contains("directives must start with `#` in column 1"),
            "{}",
            p.rejected[0].reason
        );
        assert_eq!(sums(&p.records), [985.0, 1085.0, 130839.0, 964396.0]);
        assert!(p.records.iter().any(|f| f.five_tuple.is_some_and(|t| t.src_ip.is_ipv6())));
    }

    #[test]
    fn zeek_tsv_labeled_with_extra_columns() {
        let Some(p) = zeek("slips/test18-malicious-ctu-sme-11-win_zeek-labeled_conn.log.labeled") else { return };
        assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (766, 0, 0));
        assert_eq!(sums(&p.records), [2826.0, 1854.0, 226495.0, 33755.0]);
        assert!(p.records.iter().all(|f| f.label.is_none()), "labels never ride along into the models");
    }

    #[test]
    fn zeek_json_vertical_port_scan() {
        let Some(p) = zeek("slips/port-scans_vertical_conn.log") else { return };
        assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (50, 0, 0));
        assert_eq!(sums(&p.records), [170.0, 273.0, 909.0, 256662.0]);
        assert_eq!(p.records[0].timestamp.as_deref(), Some("2023-11-24 12:16:57.314165"));
    }

    #[test]
    fn zeek_json_mixed_with_unset_fields_omitted() {
        let Some(p) = zeek("slips/test9-mixed-zeek-dir_conn.log") else { return };
        assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (576, 0, 0));
        assert_eq!(sums(&p.records), [14608.0, 48852.0, 726271.0, 60355587.0]);
        assert_eq!(p.records.iter().filter(|f| f.five_tuple.is_some_and(|t| t.src_ip.is_ipv6())).count(), 16);
    }

    #[test]
    fn zeek_logs_of_other_kinds_are_refused_line_by_line() {
        for (rel, rejected) in [
            ("zed-sample-data/zeek-default_dns.log.gz", 53615),
            ("zed-sample-data/zeek-default_ssl.log.gz", 49474),
            ("zed-sample-data/zeek-default_notice.log.gz", 207),
            ("zed-sample-data/zeek-default_weird.log.gz", 24202),
            ("zed-sample-data/zeek-json_weird.json.gz", 24202),
            ("zed-sample-data/zeek-json_notice.json.gz", 207),
        ] {
            let Some(p) = zeek(rel) else { continue };
            assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (0, rejected, 0), "{rel}");
            let reason = &p.rejected[0].reason;
            assert!(reason.contains("not a conn.log"), "{rel}: {reason}");
        }
    }

    #[test]
    fn suricata_eve_flows_alerts_and_skipped_events() {
        let Some(bytes) = read("slips/test6-malicious.suricata.json") else { return };
        let p = ingest::suricata::parse(&bytes, &Limits::default()).expect("within limits");
        let streamed = ingest::suricata::parse_stream(&bytes[..], &Limits::default()).expect("within limits");
        assert_eq!(p, streamed);
        // 3,512 flow + 745 alert events; 680 dns + 56 http + 3 fileinfo + 3 anomaly + 1 tls skipped.
        assert_eq!((p.records.len(), p.rejected.len(), p.skipped), (4257, 0, 743));
        let flows: Vec<Flow> = p
            .records
            .iter()
            .filter_map(|r| match r {
                IngestRecord::Flow(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        let alerts: Vec<_> = p
            .records
            .iter()
            .filter_map(|r| match r {
                IngestRecord::SignatureAlert(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!((flows.len(), alerts.len()), (3512, 745));
        assert_eq!(sums(&flows), [30191.0, 8980.0, 4381935.0, 648694.0]);
        let sids: std::collections::BTreeSet<u64> = alerts.iter().map(|a| a.signature_id).collect();
        assert_eq!(sids.len(), 122);
        let by_severity = |s: u8| alerts.iter().filter(|a| a.severity == s).count();
        assert_eq!((by_severity(1), by_severity(2), by_severity(3)), (2, 741, 2));
        let a = alerts[0];
        assert_eq!(a.signature, "ET CINS Active Threat Intelligence Poor Reputation IP group 89");
        assert_eq!(
            (a.signature_id, a.category.as_deref(), a.timestamp.as_str()),
            (2403388, Some("Misc Attack"), "2021-06-06 13:59:46.457984")
        );
        assert_eq!(a.five_tuple.dst_port, 445);
        // The first flow event: 12 packets to the server over 1.107183 s (start 16:38:55.855844+0200).
        let f = &flows[0];
        assert_eq!(f.timestamp.as_deref(), Some("2021-06-06 14:38:55.855844"));
        assert_eq!(f.get("Flow Duration"), Some(1_107_183.0));
        assert_eq!(f.get("Total Fwd Packet"), Some(12.0));
    }

    #[test]
    fn the_record_cap_refuses_a_real_file_that_is_too_big() {
        let Some(bytes) = read("slips/test6-malicious.suricata.json") else { return };
        let limits = Limits { max_records: 4999, ..Limits::default() };
        let err = ingest::suricata::parse(&bytes, &limits).expect_err("5,000 events exceed a cap of 4,999");
        assert_eq!(err.to_string(), "batch has more than 4999 records (limit reached at line 5000)");
        let limits = Limits { max_records: 5000, ..Limits::default() };
        assert_eq!(ingest::suricata::parse(&bytes, &limits).expect("exactly at the cap").total(), 5000);
    }

    #[test]
    fn real_zeek_json_through_the_flows_endpoint_is_refused_by_name() {
        // Zeek's key names are not the integrator format's: the first unknown key is named.
        let Some(bytes) = read("slips/port-scans_vertical_conn.log") else { return };
        let p = ingest::flows_json::parse(&bytes, &Limits::default()).expect("within limits");
        assert_eq!((p.records.len(), p.rejected.len()), (0, 50));
        assert!(p.rejected[0].reason.starts_with("unknown field `"), "{}", p.rejected[0].reason);
    }
}
