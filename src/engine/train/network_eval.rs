//! Evaluation on labelled connection logs from real networks: the whole detection (the ensemble and
//! the host-behaviour detectors) judged at the level a SOC sees it, the host pair an alert names.
//!
//! Each capture is streamed in batches of `batch_lines` flows, in file order, through the same calls
//! the pipeline makes (brief scoring, the internal-source context, the behaviour detectors with state
//! kept across batches and captures), so the figures are those of `shared/tools/eval_zeek.py` run
//! against a fresh server with the same settings, without the HTTP round trips:
//! - a connection is *alerted* when its host pair (either direction) carries at least one alert;
//! - *benign pairs* are host pairs with only benign connections; an alert on one is a false alert;
//! - alerts are counted after deduplication: detections of one source, target and threat type at most
//!   the deduplication window apart are one alert;
//! - *latency* is the traffic time from a label's first connection to the first alert on a pair that
//!   carries the label.
//!
//! Labels come from a `label` / `detailed-label` column (Stratosphere's `conn.log.labeled`; `Benign`
//! and `Malicious`, other labels such as `Background` are not counted) or from `NAME.labels.tsv` beside
//! `NAME.conn.log` (`uid<TAB>label<TAB>detailed_label`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::behaviour::{Behaviour, BehaviourConfig};
use crate::detection::{LabelFigures, NetworkEval, NetworkFigures};
use crate::engine::Engine;
use crate::flow::Flow;
use crate::ingest::{self, time, Limits};
use crate::playbook::UNKNOWN_ANOMALY;

/// One labelled capture.
#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub flows: Vec<Flow>,
    /// Zeek uid → (malicious?, detailed label).
    pub labels: HashMap<String, (bool, String)>,
    pub rejected: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkEvalError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Input { path: PathBuf, reason: String },
}

/// What a log file holds, from its first non-blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Zeek conn.log, TSV (`#` header) or JSON lines.
    Zeek,
    /// Suricata EVE JSON.
    Suricata,
    /// The integrator flow format (JSON).
    FlowsJson,
    /// CICFlowMeter CSV.
    Csv,
}

impl LogFormat {
    /// Sniffs the format of a file from its first non-blank line.
    pub fn sniff(path: &Path) -> Result<LogFormat, NetworkEvalError> {
        let io = |source| NetworkEvalError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
            Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
        } else {
            Box::new(std::io::BufReader::new(file))
        };
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(io)? == 0 {
                return Err(NetworkEvalError::Input { path: path.to_path_buf(), reason: "the file is empty".into() });
            }
            let l = line.trim_start();
            if l.is_empty() {
                continue;
            }
            return Ok(if l.starts_with('#') || l.contains("\"id.orig_h\"") {
                LogFormat::Zeek
            } else if l.contains("\"event_type\"") {
                LogFormat::Suricata
            } else if l.starts_with('{') || l.starts_with('[') {
                LogFormat::FlowsJson
            } else {
                LogFormat::Csv
            });
        }
    }
}

/// Limits for reading a whole file (not one HTTP batch): no record cap.
fn file_limits() -> Limits {
    Limits { max_records: usize::MAX, ..Limits::default() }
}

/// Reads the flows of a Zeek, Suricata or flows-JSON file (parsers of the live pipeline).
pub fn read_flows(path: &Path) -> Result<(LogFormat, Vec<Flow>, u64), NetworkEvalError> {
    let format = LogFormat::sniff(path)?;
    let io = |source| NetworkEvalError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let bad = |e: ingest::IngestError| NetworkEvalError::Input { path: path.to_path_buf(), reason: e.to_string() };
    let (flows, rejected) = match format {
        LogFormat::Zeek => {
            let p = ingest::zeek::parse_stream(reader, &file_limits()).map_err(bad)?;
            (p.records, p.rejected.len() as u64)
        }
        LogFormat::Suricata => {
            let p = ingest::suricata::parse_stream(reader, &file_limits()).map_err(bad)?;
            let flows = p
                .records
                .into_iter()
                .filter_map(|r| match r {
                    ingest::IngestRecord::Flow(f) => Some(f),
                    ingest::IngestRecord::SignatureAlert(_) => None,
                })
                .collect();
            (flows, p.rejected.len() as u64)
        }
        LogFormat::FlowsJson => {
            let mut bytes = Vec::new();
            let mut reader = reader;
            reader.read_to_end(&mut bytes).map_err(io)?;
            let p = ingest::flows_json::parse(&bytes, &file_limits()).map_err(bad)?;
            (p.records, p.rejected.len() as u64)
        }
        LogFormat::Csv => {
            let (flows, stats, _) = crate::engine::csv::FlowReader::open(path)
                .map_err(|e| NetworkEvalError::Input { path: path.to_path_buf(), reason: e.to_string() })?
                .read_all();
            (flows, stats.rejected)
        }
    };
    Ok((format, flows, rejected))
}

/// `NAME.labels.tsv` beside `NAME.conn.log` (or `NAME.log`).
fn labels_file(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".conn.log").or_else(|| name.strip_suffix(".log"))?;
    let p = path.with_file_name(format!("{stem}.labels.tsv"));
    p.exists().then_some(p)
}

/// `benign` / `malicious` in any case; other labels are not counted.
fn label_kind(label: &str) -> Option<bool> {
    match label.trim().to_ascii_lowercase().as_str() {
        "benign" => Some(false),
        "malicious" => Some(true),
        _ => None,
    }
}

/// Labels by uid from `NAME.labels.tsv` or from the log's own label columns.
fn read_labels(path: &Path) -> Result<HashMap<String, (bool, String)>, NetworkEvalError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| NetworkEvalError::Io { path: p.clone(), source }
    };
    let mut labels = HashMap::new();
    if let Some(tsv) = labels_file(path) {
        let text = std::fs::read_to_string(&tsv).map_err(io(&tsv))?;
        for line in text.lines().skip_while(|l| l.starts_with("uid\t")) {
            let mut f = line.split('\t');
            if let (Some(uid), Some(label)) = (f.next(), f.next()) {
                if let Some(m) = label_kind(label) {
                    labels.insert(uid.to_string(), (m, f.next().unwrap_or("-").to_string()));
                }
            }
        }
        return Ok(labels);
    }
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut cols: Option<(usize, usize, Option<usize>)> = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(io(path))?;
        if let Some(fields) = line.strip_prefix("#fields\t") {
            let names: Vec<&str> = fields.split('\t').collect();
            let at = |n: &[&str]| names.iter().position(|f| n.contains(f));
            cols = match (at(&["uid"]), at(&["label"])) {
                (Some(u), Some(l)) => Some((u, l, at(&["detailed-label", "detailedlabel", "detailed_label"]))),
                _ => None,
            };
        } else if line.starts_with('{') {
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(&line) {
                let s = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_string);
                if let (Some(uid), Some(m2)) = (s("uid"), s("label").as_deref().and_then(label_kind)) {
                    labels.insert(uid, (m2, s("detailed-label").unwrap_or_else(|| "-".into())));
                }
            }
        } else if let (false, Some((u, l, d))) = (line.starts_with('#'), cols) {
            let v: Vec<&str> = line.split('\t').collect();
            if let (Some(uid), Some(m)) = (v.get(u), v.get(l).and_then(|l| label_kind(l))) {
                let detail = d.and_then(|d| v.get(d)).copied().unwrap_or("-");
                labels.insert(uid.to_string(), (m, detail.to_string()));
            }
        }
    }
    Ok(labels)
}

/// Reads one capture: its flows and, for Zeek logs, its labels.
pub fn read_capture(path: &Path) -> Result<Capture, NetworkEvalError> {
    let (format, flows, rejected) = read_flows(path)?;
    let labels = if format == LogFormat::Zeek { read_labels(path)? } else { HashMap::new() };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("capture");
    let name = name.trim_end_matches(".gz").trim_end_matches(".labeled");
    let name = name.strip_suffix(".conn.log").or_else(|| name.strip_suffix("_conn.log")).unwrap_or(name).to_string();
    Ok(Capture { name, flows, labels, rejected })
}

/// Every conn.log in a directory (`*.conn.log`, `*conn.log.labeled`), by name; or the one file.
pub fn read_captures(path: &Path) -> Result<Vec<Capture>, NetworkEvalError> {
    if !path.is_dir() {
        return Ok(vec![read_capture(path)?]);
    }
    let io = |source| NetworkEvalError::Io { path: path.to_path_buf(), source };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("conn.log") || n.ends_with("conn.log.labeled"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(NetworkEvalError::Input {
            path: path.to_path_buf(),
            reason: "no *.conn.log file in this directory".into(),
        });
    }
    files.iter().map(|f| read_capture(f)).collect()
}

type Pair = (IpAddr, IpAddr);

/// Per detailed label: connections, alerted connections, first time, host pairs.
type LabelTally = (u64, u64, i64, HashSet<Pair>);

fn pair(a: IpAddr, b: IpAddr) -> Pair {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Detections of one source, target and threat: their times (to count alerts after deduplication).
#[derive(Default)]
struct Alerts {
    groups: HashMap<(IpAddr, Option<IpAddr>, String), Vec<i64>>,
    /// First alert time per host pair.
    first: HashMap<Pair, i64>,
}

impl Alerts {
    fn add(&mut self, src: IpAddr, dst: Option<IpAddr>, threat: &str, at: i64) {
        self.groups.entry((src, dst, threat.to_string())).or_default().push(at);
        if let Some(dst) = dst {
            let e = self.first.entry(pair(src, dst)).or_insert(at);
            *e = (*e).min(at);
        }
    }

    /// Alerts after deduplication per group (runs of detections at most `window_ms` apart).
    fn alerts(&self, window_ms: i64) -> impl Iterator<Item = (&(IpAddr, Option<IpAddr>, String), u64)> {
        self.groups.iter().map(move |(k, times)| {
            let mut t = times.clone();
            t.sort_unstable();
            let runs = 1 + t.windows(2).filter(|w| window_ms <= 0 || w[1] - w[0] > window_ms).count() as u64;
            (k, runs)
        })
    }
}

/// Streams captures through the ensemble and the behaviour detectors and measures detection.
pub fn evaluate(
    engine: &Engine,
    behaviour: &BehaviourConfig,
    internal: &[IpNet],
    dedup_window_secs: u64,
    captures: &[Capture],
    batch_lines: usize,
    data: &str,
) -> NetworkEval {
    let is_internal = |ip: IpAddr| internal.iter().any(|n| n.contains(&ip));
    // One detector state for all captures, as one server receiving them one after the other.
    let mut detectors = Behaviour::new(behaviour.clone());
    // With the thresholds the version learned from its network's feedback, as the pipeline would.
    detectors.follow(engine.manifest());
    // The pipeline's drift monitor, so the anomaly layer is silenced where the pipeline would.
    let mut drift = crate::drift::monitor::Monitor::default();
    let mut muted = 0u64;
    let window_ms = i64::try_from(dedup_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let mut figures = Vec::new();
    for (k, c) in captures.iter().enumerate() {
        // Each capture is its own sensor (its own API token in the pipeline).
        let sensor = Some(k as i64);
        let mut alerts = Alerts::default();
        for chunk in c.flows.chunks(batch_lines.max(1)) {
            let mut verdicts = engine.score_batch_brief(chunk);
            drift.observe(engine, "eval", sensor, chunk, 0);
            muted += drift.mute_anomalies("eval", sensor, &mut verdicts);
            Engine::apply_context(&mut verdicts, chunk, is_internal);
            detectors.gate_ml(chunk, &mut verdicts);
            for (f, v) in chunk.iter().zip(&verdicts) {
                if let (true, Some(t)) = (v.alert, f.five_tuple) {
                    let threat = if v.class.is_attack() { v.class.name() } else { UNKNOWN_ANOMALY };
                    alerts.add(t.src_ip, Some(t.dst_ip), threat, flow_ms(f));
                }
            }
            for f in detectors.observe_batch(chunk, is_internal) {
                alerts.add(f.src, f.dst, f.threat.name(), f.detected_at.max(f.first_seen));
                if f.last_seen > f.detected_at {
                    alerts.add(f.src, f.dst, f.threat.name(), f.last_seen);
                }
            }
        }
        figures.push(measure(c, &alerts, window_ms, &is_internal));
    }
    let overall = combine(&figures);
    NetworkEval {
        data: data.to_string(),
        batch_lines,
        captures: figures,
        overall,
        notes: vec![
            format!("streamed in batches of {batch_lines} flows through the ensemble and the behaviour detectors (state kept across batches and captures), deduplication window {dedup_window_secs} s"),
            "a connection counts as alerted when its host pair (either direction) carries an alert; benign pairs are pairs with only benign connections".into(),
            format!("each capture is its own sensor for the drift monitor; {muted} alerts of the anomaly layer alone were silenced because the sensor's traffic was new or drifted from the training data, as the pipeline silences them"),
        ],
    }
}

fn flow_ms(f: &Flow) -> i64 {
    time::flow_ms(f).unwrap_or(0)
}

fn measure(c: &Capture, alerts: &Alerts, window_ms: i64, internal: &impl Fn(IpAddr) -> bool) -> NetworkFigures {
    let mut n = NetworkFigures::empty(&c.name);
    (n.connections, n.rejected) = (c.flows.len() as u64, c.rejected);
    // (has benign, has malicious) per pair; per label: connections, alerted, first time, pairs.
    let mut pairs: HashMap<Pair, (bool, bool)> = HashMap::new();
    let mut labels: BTreeMap<(bool, String), LabelTally> = BTreeMap::new();
    let mut hosts: HashSet<IpAddr> = HashSet::new();
    let (mut t0, mut t1) = (i64::MAX, i64::MIN);
    for f in &c.flows {
        let Some(t) = f.five_tuple else { continue };
        let at = flow_ms(f);
        (t0, t1) = (t0.min(at), t1.max(at));
        let meta = f.conn.unwrap_or_default();
        if meta.local_orig == Some(true) || internal(t.src_ip) {
            hosts.insert(t.src_ip);
        }
        if meta.local_resp == Some(true) || internal(t.dst_ip) {
            hosts.insert(t.dst_ip);
        }
        let Some((malicious, detail)) = f.uid.as_ref().and_then(|u| c.labels.get(u)) else { continue };
        let p = pair(t.src_ip, t.dst_ip);
        let hit = alerts.first.contains_key(&p);
        let e = pairs.entry(p).or_default();
        if *malicious {
            e.1 = true;
            n.malicious += 1;
            n.malicious_alerted += u64::from(hit);
        } else {
            e.0 = true;
            n.benign += 1;
            n.benign_alerted += u64::from(hit);
        }
        let l = labels.entry((*malicious, detail.clone())).or_insert((0, 0, i64::MAX, HashSet::new()));
        l.0 += 1;
        l.1 += u64::from(hit);
        l.2 = l.2.min(at);
        l.3.insert(p);
    }
    let benign_pairs: HashSet<Pair> = pairs.iter().filter(|(_, (b, m))| *b && !*m).map(|(p, _)| *p).collect();
    n.benign_pairs = benign_pairs.len() as u64;
    n.benign_pairs_alerted = benign_pairs.iter().filter(|p| alerts.first.contains_key(p)).count() as u64;
    let (mut by_threat, mut false_by_threat): (BTreeMap<String, u64>, BTreeMap<String, u64>) = Default::default();
    for ((src, dst, threat), runs) in alerts.alerts(window_ms) {
        *by_threat.entry(threat.clone()).or_default() += runs;
        if dst.is_some_and(|d| benign_pairs.contains(&pair(*src, d))) {
            n.false_alerts += runs;
            *false_by_threat.entry(threat.clone()).or_default() += runs;
        }
    }
    n.alerts_by_threat = by_threat.into_iter().collect();
    n.false_alerts_by_threat = false_by_threat.into_iter().collect();
    if t1 > t0 {
        n.host_days = hosts.len() as f64 * (t1 - t0) as f64 / 86_400_000.0;
    }
    n.per_label = labels
        .into_iter()
        .map(|((malicious, label), (connections, alerted, first, ps))| {
            let alert_at = ps.iter().filter_map(|p| alerts.first.get(p)).min().copied();
            LabelFigures {
                label,
                malicious,
                connections,
                alerted,
                latency_secs: alert_at.map(|a| (a - first).max(0) as f64 / 1000.0),
            }
        })
        .collect();
    n
}

/// The figures of all captures together.
fn combine(all: &[NetworkFigures]) -> NetworkFigures {
    let mut o = NetworkFigures::empty("all");
    let mut labels: BTreeMap<(bool, String), LabelFigures> = BTreeMap::new();
    let (mut threats, mut false_threats): (BTreeMap<String, u64>, BTreeMap<String, u64>) = Default::default();
    for f in all {
        o.connections += f.connections;
        o.rejected += f.rejected;
        o.benign += f.benign;
        o.benign_alerted += f.benign_alerted;
        o.malicious += f.malicious;
        o.malicious_alerted += f.malicious_alerted;
        o.benign_pairs += f.benign_pairs;
        o.benign_pairs_alerted += f.benign_pairs_alerted;
        o.false_alerts += f.false_alerts;
        o.host_days += f.host_days;
        for l in &f.per_label {
            let e = labels.entry((l.malicious, l.label.clone())).or_insert(LabelFigures {
                label: l.label.clone(),
                malicious: l.malicious,
                connections: 0,
                alerted: 0,
                latency_secs: None,
            });
            e.connections += l.connections;
            e.alerted += l.alerted;
            // The worst capture's latency.
            e.latency_secs = match (e.latency_secs, l.latency_secs) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        }
        for (t, n) in &f.alerts_by_threat {
            *threats.entry(t.clone()).or_default() += n;
        }
        for (t, n) in &f.false_alerts_by_threat {
            *false_threats.entry(t.clone()).or_default() += n;
        }
    }
    o.per_label = labels.into_values().collect();
    o.alerts_by_threat = threats.into_iter().collect();
    o.false_alerts_by_threat = false_threats.into_iter().collect();
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_from_the_column_or_the_file_beside() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x_conn.log.labeled");
        std::fs::write(
            &log,
            "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\tlabel\tdetailedlabel\n\
             1677024003.7\tC1\t192.168.1.107\t65164\t66.63.168.35\t5888\ttcp\t0.03\t0\t0\tREJ\t2\t2\tMalicious\tRemcosRAT\n\
             1677024004.7\tC2\t192.168.1.107\t65165\t8.8.8.8\t53\tudp\t0.03\t40\t80\tSF\t1\t1\tBenign\t-\n\
             1677024005.7\tC3\t192.168.1.107\t65166\t8.8.4.4\t53\tudp\t0.03\t40\t80\tSF\t1\t1\tBackground\t-\n",
        )
        .unwrap();
        let c = read_capture(&log).unwrap();
        assert_eq!(c.name, "x");
        assert_eq!(c.flows.len(), 3);
        assert_eq!(c.labels.get("C1"), Some(&(true, "RemcosRAT".to_string())));
        assert_eq!(c.labels.get("C2"), Some(&(false, "-".to_string())));
        assert!(!c.labels.contains_key("C3"), "Background is not counted");
        let conn = dir.path().join("y.conn.log");
        std::fs::write(&conn, "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\torig_bytes\tresp_bytes\torig_pkts\tresp_pkts\n1.0\tU1\t10.0.0.1\t1\t10.0.0.2\t2\ttcp\t0\t0\t0\t1\t0\n").unwrap();
        std::fs::write(dir.path().join("y.labels.tsv"), "uid\tlabel\tdetailed_label\nU1\tmalicious\tScan\n").unwrap();
        let c = read_capture(&conn).unwrap();
        assert_eq!(c.labels.get("U1"), Some(&(true, "Scan".to_string())));
        assert_eq!(read_captures(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn alerts_are_counted_after_deduplication() {
        let mut a = Alerts::default();
        let (s, d) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for t in [0, 1000, 2000, 900_000, 901_000] {
            a.add(s, Some(d), "c2_beacon", t);
        }
        let runs: u64 = a.alerts(600_000).map(|(_, n)| n).sum();
        assert_eq!(runs, 2);
        assert_eq!(a.first.get(&pair(d, s)), Some(&0));
    }
}
