//! The CICFlowMeter CSV reader on real rows of both CIC-IDS2017 layouts (copied into
//! data/cicids2017/fixtures/ from the published files) and on broken rows.
#![cfg(feature = "server")]

use std::path::{Path, PathBuf};

use anomalyforge::engine::csv::FlowReader;
use anomalyforge::flow::{feature_index, Flow};
use anomalyforge::threat::Threat;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cicids2017/fixtures").join(name)
}

fn read_str(text: &str) -> (Vec<Result<Flow, anomalyforge::engine::csv::RowError>>, u64, u64) {
    let mut r =
        FlowReader::from_reader(Path::new("inline.csv"), Box::new(std::io::Cursor::new(text.as_bytes().to_vec())))
            .expect("header");
    let mut out = Vec::new();
    while let Some(x) = r.next_flow() {
        out.push(x);
    }
    let st = r.stats().clone();
    (out, st.rows, st.rejected)
}

#[test]
fn reads_the_2017_machinelearningcve_layout() {
    let r = FlowReader::open(&fixture("cicids2017_ml_sample.csv")).expect("open");
    let h = r.header().clone();
    assert!(h.has_label);
    assert!(!h.has_addresses);
    assert_eq!(h.duplicate_columns, vec!["Fwd Header Length".to_string()]);
    assert_eq!(h.features_found, 77, "77 distinct feature columns in the 2017 layout");
    let (flows, stats, _) = r.read_all();
    assert_eq!(stats.rejected, 0);
    assert_eq!(flows.len(), 4);
    // Row 1: `Infinity,Infinity` rates over a zero duration are missing, not numbers.
    let f = &flows[0];
    assert_eq!(f.get("Dst Port"), Some(80.0));
    assert_eq!(f.get("Flow Duration"), Some(0.0));
    assert_eq!(f.get("Flow Bytes/s"), None);
    assert_eq!(f.get("Flow Packets/s"), None);
    assert_eq!(f.get("Total Fwd Packet"), Some(1.0));
    assert_eq!(f.get("FWD Init Win Bytes"), Some(255.0));
    assert!(f.five_tuple.is_none());
    assert!(f.timestamp.is_none());
    // Columns absent from this layout are explicit misses.
    assert_eq!(f.get("Protocol"), None);
    assert_eq!(f.get("ICMP Type"), None);
    // Row 2: `NaN`.
    assert_eq!(flows[1].get("Flow Bytes/s"), None);
    assert_eq!(flows[1].get("Bwd Init Win Bytes"), Some(-1.0));
    // Row 3: the en-dash label.
    assert_eq!(flows[2].label.as_deref(), Some("Web Attack \u{2013} XSS"));
    assert_eq!(flows[2].threat(), Some(Threat::WebXss));
    assert_eq!(flows[3].threat(), Some(Threat::Botnet));
    assert_eq!(flows[0].threat(), Some(Threat::Benign));
}

#[test]
fn reads_the_corrected_2021_layout() {
    let r = FlowReader::open(&fixture("cicids2017_improved_sample.csv")).expect("open");
    assert!(r.header().has_addresses && r.header().has_timestamp && r.header().has_label);
    assert_eq!(r.header().features_found, 83);
    let (flows, stats, _) = r.read_all();
    assert_eq!(stats.rejected, 0);
    assert_eq!(flows.len(), 4);
    let f = &flows[0];
    let t = f.five_tuple.expect("5-tuple");
    assert_eq!(t.src_ip.to_string(), "192.168.10.8");
    assert_eq!(t.src_port, 58040);
    assert_eq!(t.dst_ip.to_string(), "192.168.10.3");
    assert_eq!(t.dst_port, 53);
    assert_eq!(t.protocol, 17);
    assert_eq!(f.timestamp.as_deref(), Some("2017-07-06 19:30:27.531798"));
    assert_eq!(f.day(), Some("2017-07-06"));
    assert_eq!(f.get("Flow Duration"), Some(61902.0));
    assert_eq!(f.get("Total Bwd packets"), Some(2.0));
    assert_eq!(f.get("ICMP Type"), Some(-1.0));
    // `Infiltration - Portscan` is a port scan for the classifier.
    assert_eq!(flows[1].threat(), Some(Threat::PortScan));
    assert_eq!(flows[2].threat(), Some(Threat::Botnet));
    assert_eq!(flows[3].threat(), Some(Threat::WebSqlInjection));
}

#[test]
fn both_layouts_fill_the_same_feature_slots() {
    let (a, _, _) = FlowReader::open(&fixture("cicids2017_ml_sample.csv")).expect("open").read_all();
    let (b, _, _) = FlowReader::open(&fixture("cicids2017_improved_sample.csv")).expect("open").read_all();
    for name in [
        "Dst Port",
        "Flow Duration",
        "Total Fwd Packet",
        "Total Length of Bwd Packet",
        "Packet Length Max",
        "Fwd Seg Size Min",
    ] {
        let i = feature_index(name).expect("in vocabulary");
        assert!(a[0].features[i].is_some(), "2017 layout lacks {name}");
        assert!(b[0].features[i].is_some(), "2021 layout lacks {name}");
    }
}

#[test]
fn broken_rows_are_rejected_with_line_and_reason_and_reading_goes_on() {
    let text = "\
 Destination Port, Flow Duration, Total Fwd Packets, Label
80,100,3,BENIGN
443,abc,2,BENIGN
22,5,1
53,7,1,DoS Hulk
8080,1e3,2,
21,9,1,FTP-Patator
";
    let (rows, ok, rejected) = read_str(text);
    assert_eq!(ok, 3);
    assert_eq!(rejected, 3);
    let errs: Vec<_> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errs[0].line, 3);
    assert!(errs[0].reason.contains("Flow Duration") && errs[0].reason.contains("not a number"), "{}", errs[0].reason);
    assert_eq!(errs[1].line, 4);
    assert!(errs[1].reason.contains("expected 4 fields, found 3"), "{}", errs[1].reason);
    assert_eq!(errs[2].line, 6);
    assert!(errs[2].reason.contains("empty label"), "{}", errs[2].reason);
    let good: Vec<&Flow> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(good[2].threat(), Some(Threat::FtpPatator));
}

#[test]
fn bad_addresses_and_garbage_never_panic() {
    let text = "Src IP,Src Port,Dst IP,Dst Port,Protocol,Flow Duration,Label\n\
                10.0.0.1,70000,10.0.0.2,80,6,5,BENIGN\n\
                not-an-ip,1,10.0.0.2,80,6,5,BENIGN\n\
                10.0.0.1,1234,10.0.0.2,80,6,5,BENIGN\n\
                \u{0}\u{1}\u{2},,,,,,\n";
    let (rows, ok, rejected) = read_str(text);
    assert_eq!(ok, 1, "{rows:?}");
    assert_eq!(rejected, 3);
    let good: Vec<&Flow> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(good[0].five_tuple.is_some());
}

#[test]
fn a_file_without_feature_columns_is_an_error_naming_it() {
    let r = FlowReader::from_reader(Path::new("bogus.csv"), Box::new(std::io::Cursor::new(b"a,b,c\n1,2,3\n".to_vec())));
    let e = r.err().expect("error").to_string();
    assert!(e.contains("bogus.csv") && e.contains("no CICFlowMeter feature column"), "{e}");
}

#[test]
fn gzip_files_stream() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cicids2017/original_sample.csv.gz");
    let mut r = FlowReader::open(&path).expect("open gz");
    let mut batch = Vec::new();
    let n = r.next_batch(1000, &mut batch);
    assert_eq!(n, 1000);
    assert!(batch.iter().all(|f| f.threat().is_some()));
}
