//! The streaming analyser: a file in, a report and the scored rows out, one batch at a time.
//!
//! The input is read once, in order, through a decompressor when it is gzip, and never held whole:
//! records are parsed a line (or CSV record) at a time into batches of [`BATCH`] flows, each batch
//! is scored and tallied, its rows are written, and it is dropped. Everything the report keeps is
//! bounded (see [`super::tally`]), so memory does not grow with the file (`scripts/bench-analyze.sh`
//! measures it on 500 MB).
//!
//! Each batch is judged as ingest judges it: the running model's brief verdicts, the internal-source
//! context, the behaviour detectors' gate on coarse per-flow verdicts and their findings across
//! batches (in traffic time, with their own state: an analysis never teaches the live detectors).
//! Only alerting flows and the riskiest are scored again in full for their reasons. The drift
//! monitor's muting of anomaly-only verdicts does not apply: the report shows the file's drift instead.

use std::io::{self, BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use flate2::read::MultiGzDecoder;

use super::files::{Limited, RowsWriter, ScoredRow};
use super::tally::{DriftTally, FindingsTally, Highest, Reservoir, TimelineTally, Tops};
use super::{
    AnalysisReport, FileFormat, LabelledFigures, ModelComparison, RiskyFlow, SamplePoint, SignatureCount, ThreatCount,
    REJECTED_LISTED, RISKIEST, SCATTER_FEATURES, TOP_LISTED,
};
use crate::behaviour::{Behaviour, BehaviourConfig};
use crate::detection::Verdict;
use crate::engine::csv::FlowReader;
use crate::engine::Engine;
use crate::flow::{feature_index, Flow};
use crate::ingest::suricata::EveParser;
use crate::ingest::zeek::ZeekParser;
use crate::ingest::{stream_lines, IngestRecord, Limits, Outcome};
use crate::playbook::UNKNOWN_ANOMALY;

/// Flows scored together.
pub const BATCH: usize = 4_096;
/// Sampled flows for the scatter, of all flows and of alerting flows.
const SAMPLE_ALL: usize = 1_500;
const SAMPLE_ALERTS: usize = 500;
/// Why a flow the models alerted on does not alert (see [`crate::behaviour::ml_gate`]).
const GATED: &str = "No alert: on a sensor's coarse connection features one flow says little, so a detection alerts only when the classifier is sure of the class and the same host pair shows it again; the model's reasons follow.";
/// Distinct signatures counted by name (the rest under one row).
const MAX_SIGNATURES: usize = 1_000;

/// What an analysis works with.
#[derive(Clone)]
pub struct Context {
    pub engine: Arc<Engine>,
    /// Whether an address is inside the organisation (the configured internal networks).
    pub internal: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
    pub behaviour: BehaviourConfig,
    /// Longest line of a Zeek or EVE file.
    pub max_line_bytes: usize,
    /// Most bytes a gzip upload may expand to.
    pub max_expanded_bytes: u64,
}

/// Why a file could not be analysed. Nothing of it is kept.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error("the file is empty")]
    Empty,
    #[error("cannot tell the file's format: {0}; choose the format by hand if it is one the analyser reads")]
    UnknownFormat(String),
    #[error("the file cannot be read as {format}: {reason}")]
    Unreadable { format: &'static str, reason: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("nothing in the file could be read ({rejected} records rejected{first})")]
    NothingRead { rejected: u64, first: String },
    #[error("reading the file: {0}")]
    Read(String),
    #[error("writing the analysis: {0}")]
    Write(io::Error),
}

impl From<io::Error> for AnalysisError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::FileTooLarge {
            AnalysisError::TooLarge(e.to_string())
        } else {
            AnalysisError::Read(e.to_string())
        }
    }
}

/// Wraps a raw upload: decompresses gzip (told by its magic bytes) within the expansion limit.
/// Returns the reader and whether it was gzip.
pub fn open_input<R: Read + Send + 'static>(raw: R, max_expanded: u64) -> io::Result<(Box<dyn BufRead + Send>, bool)> {
    let mut raw = BufReader::with_capacity(1 << 16, raw);
    let head = loop {
        match raw.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    let gzip = head.len() >= 2 && head[..2] == [0x1f, 0x8b];
    let reader: Box<dyn BufRead + Send> = if gzip {
        let gz = Limited::new(MultiGzDecoder::new(raw), max_expanded, "the decompressed file");
        Box::new(BufReader::with_capacity(1 << 16, gz))
    } else {
        Box::new(raw)
    };
    Ok((reader, gzip))
}

/// The format of a file from its first line.
pub fn detect(first: &[u8]) -> Result<FileFormat, AnalysisError> {
    let text = String::from_utf8_lossy(first);
    let line = text.trim_start_matches('\u{feff}').lines().map(str::trim).find(|l| !l.is_empty());
    let Some(line) = line else { return Err(AnalysisError::Empty) };
    if line.starts_with("#separator") || line.starts_with("#fields") {
        return Ok(FileFormat::Zeek);
    }
    if line.starts_with('{') {
        if line.contains("\"event_type\"") {
            return Ok(FileFormat::Eve);
        }
        if line.contains("\"id.orig_h\"") {
            return Ok(FileFormat::Zeek);
        }
        return Err(AnalysisError::UnknownFormat(
            "JSON lines that are neither Suricata EVE (no `event_type`) nor Zeek conn (no `id.orig_h`)".into(),
        ));
    }
    let known = line.split(',').filter(|h| crate::flow::feature_index_for_header(h.trim()).is_some()).count();
    if known >= 2 {
        return Ok(FileFormat::Csv);
    }
    let shown: String = line.chars().take(60).collect();
    Err(AnalysisError::UnknownFormat(format!(
        "the first line `{shown}` is not a CICFlowMeter CSV header, a Zeek header or a JSON record"
    )))
}

/// Analyses one file. `input` is the raw upload (plain or gzip); the scored rows go to `rows`.
/// `format` is the analyst's choice, detected from the first line when `None`.
pub fn analyze<R: Read + Send + 'static>(
    input: R,
    file_name: &str,
    format: Option<FileFormat>,
    ctx: &Context,
    rows: &Path,
) -> Result<AnalysisReport, AnalysisError> {
    let started = Instant::now();
    let (mut reader, compressed) = open_input(input, ctx.max_expanded_bytes)?;
    let head = reader.fill_buf()?;
    if head.is_empty() {
        return Err(AnalysisError::Empty);
    }
    let format = match format {
        Some(f) => f,
        None => detect(&head[..head.len().min(64 * 1024)])?,
    };
    let writer = RowsWriter::create(rows).map_err(AnalysisError::Write)?;
    let mut a = Analysis::new(ctx, file_name, format, compressed, writer);
    let counted = CountingReader { inner: reader, read: 0 };
    let expanded = match format {
        FileFormat::Csv => a.read_csv(counted)?,
        FileFormat::Zeek => {
            let mut counted = counted;
            let limits = Limits { max_line_bytes: ctx.max_line_bytes, max_records: usize::MAX };
            stream_lines(&mut ZeekParser::default(), &mut counted, &limits, |line, outcome| {
                a.outcome(line as u64, outcome.map_record(IngestRecord::Flow))
            })?;
            counted.read
        }
        FileFormat::Eve => {
            let mut counted = counted;
            let limits = Limits { max_line_bytes: ctx.max_line_bytes, max_records: usize::MAX };
            stream_lines(&mut EveParser, &mut counted, &limits, |line, outcome| a.outcome(line as u64, outcome))?;
            counted.read
        }
    };
    a.flush()?;
    a.finish(expanded, started)
}

/// Counts the bytes read (after decompression).
struct CountingReader<R> {
    inner: R,
    read: u64,
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.read += amt as u64;
        self.inner.consume(amt);
    }
}

/// The state of one analysis.
struct Analysis<'a> {
    ctx: &'a Context,
    file_name: String,
    format: FileFormat,
    compressed: bool,
    rows: RowsWriter,
    behaviour: Behaviour,
    lines: Vec<u64>,
    flows: Vec<Flow>,
    records: u64,
    scored: u64,
    signatures: u64,
    skipped: u64,
    rejected: u64,
    rejected_rows: Vec<(u64, String)>,
    alerts: u64,
    threats: Vec<ThreatCount>,
    risk_histogram: [u64; 10],
    timeline: TimelineTally,
    protocols: Tops,
    sources: Tops,
    destinations: Tops,
    services: Tops,
    signature_events: std::collections::HashMap<String, (u8, u64)>,
    riskiest: Highest<(u64, Flow, Verdict)>,
    findings: FindingsTally,
    drift: DriftTally,
    labelled: LabelledFigures,
    sample_all: Reservoir<SamplePoint>,
    sample_alerts: Reservoir<SamplePoint>,
    scatter_index: Vec<Option<usize>>,
    dst_port: Option<usize>,
    protocol: Option<usize>,
}

impl<'a> Analysis<'a> {
    fn new(ctx: &'a Context, file_name: &str, format: FileFormat, compressed: bool, rows: RowsWriter) -> Analysis<'a> {
        let manifest = ctx.engine.manifest();
        let references =
            manifest.profiles.iter().filter_map(|p| p.reference.clone().map(|r| (p.schema.profile, r))).collect();
        let mut behaviour = Behaviour::new(ctx.behaviour.clone());
        behaviour.follow(manifest);
        Analysis {
            ctx,
            file_name: file_name.to_string(),
            format,
            compressed,
            rows,
            behaviour,
            lines: Vec::with_capacity(BATCH),
            flows: Vec::with_capacity(BATCH),
            records: 0,
            scored: 0,
            signatures: 0,
            skipped: 0,
            rejected: 0,
            rejected_rows: Vec::new(),
            alerts: 0,
            threats: Vec::new(),
            risk_histogram: [0; 10],
            timeline: TimelineTally::default(),
            protocols: Tops::default(),
            sources: Tops::default(),
            destinations: Tops::default(),
            services: Tops::default(),
            signature_events: std::collections::HashMap::new(),
            riskiest: Highest::new(RISKIEST),
            findings: FindingsTally::default(),
            drift: DriftTally::new(references),
            labelled: LabelledFigures { benign: 0, benign_alerted: 0, attacks: 0, attacks_alerted: 0 },
            sample_all: Reservoir::new(SAMPLE_ALL, 0x5eed_0001),
            sample_alerts: Reservoir::new(SAMPLE_ALERTS, 0x5eed_0002),
            scatter_index: SCATTER_FEATURES.iter().map(|f| feature_index(f)).collect(),
            dst_port: feature_index("Dst Port"),
            protocol: feature_index("Protocol"),
        }
    }

    fn read_csv<R: BufRead + Send + 'static>(&mut self, input: CountingReader<R>) -> Result<u64, AnalysisError> {
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let shared = SharedCount { inner: input, count: counter.clone() };
        let mut reader = FlowReader::from_reader(Path::new(&self.file_name), Box::new(shared))
            .map_err(|e| AnalysisError::Unreadable { format: FileFormat::Csv.title(), reason: e.to_string() })?;
        while let Some(r) = reader.next_flow() {
            self.records += 1;
            match r {
                Ok(flow) => {
                    let line = reader.line();
                    self.push_flow(line, flow)?;
                }
                Err(e) => self.reject(e.line, e.reason),
            }
        }
        if let Some(err) = reader.stats().io_error.clone() {
            return Err(classify_read_error(err));
        }
        Ok(counter.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn outcome(&mut self, line: u64, outcome: Outcome<IngestRecord>) -> Result<(), AnalysisError> {
        match outcome {
            Outcome::Ignored => {}
            Outcome::Skipped => {
                self.records += 1;
                self.skipped += 1;
            }
            Outcome::Rejected(e) => {
                self.records += 1;
                self.reject(line, e.to_string());
            }
            Outcome::Record(IngestRecord::Flow(f)) => {
                self.records += 1;
                self.push_flow(line, f)?;
            }
            Outcome::Record(IngestRecord::SignatureAlert(s)) => {
                self.records += 1;
                self.signatures += 1;
                let key = if self.signature_events.len() < MAX_SIGNATURES
                    || self.signature_events.contains_key(&s.signature)
                {
                    s.signature
                } else {
                    "(other signatures)".to_string()
                };
                let e = self.signature_events.entry(key).or_insert((s.severity, 0));
                e.0 = e.0.min(s.severity);
                e.1 += 1;
            }
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, reason: String) {
        self.rejected += 1;
        if self.rejected_rows.len() < REJECTED_LISTED {
            self.rejected_rows.push((line, reason));
        }
    }

    fn push_flow(&mut self, line: u64, flow: Flow) -> Result<(), AnalysisError> {
        self.lines.push(line);
        self.flows.push(flow);
        if self.flows.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Scores and tallies the batch, writes its rows, and drops it.
    fn flush(&mut self) -> Result<(), AnalysisError> {
        if self.flows.is_empty() {
            return Ok(());
        }
        let flows = std::mem::take(&mut self.flows);
        let lines = std::mem::take(&mut self.lines);
        let engine = self.ctx.engine.clone();
        let internal = self.ctx.internal.clone();
        let mut verdicts = engine.score_batch_brief(&flows);
        Engine::apply_context(&mut verdicts, &flows, |ip| internal(ip));
        self.behaviour.gate_ml(&flows, &mut verdicts);
        for f in self.behaviour.observe_batch(&flows, |ip| internal(ip)) {
            self.findings.add(&f);
        }
        // Reasons for the alerting flows, from a full scoring of those alone.
        let alerting: Vec<usize> = (0..flows.len()).filter(|&i| verdicts[i].alert).collect();
        let mut reasons: Vec<Vec<String>> = vec![Vec::new(); flows.len()];
        if !alerting.is_empty() {
            let picked: Vec<Flow> = alerting.iter().map(|&i| flows[i].clone()).collect();
            let mut full = engine.score_batch(&picked);
            Engine::apply_context(&mut full, &picked, |ip| internal(ip));
            for (&i, v) in alerting.iter().zip(&full) {
                reasons[i] = crate::explain::verdict_reasons(v);
            }
        }
        for (i, (flow, v)) in flows.into_iter().zip(verdicts).enumerate() {
            let line = lines[i];
            let row = self.tally(line, &flow, &v, std::mem::take(&mut reasons[i]));
            self.rows.write(&row).map_err(AnalysisError::Write)?;
            // Alerting flows first, then by risk: a gated verdict is not what an analyst acts on.
            let score = u32::from(v.alert) * 1_000_000 + (v.risk.clamp(0.0, 100.0) * 100.0) as u32;
            if self.riskiest.admits(score) {
                self.riskiest.offer(score, line, || (line, flow, v));
            }
        }
        Ok(())
    }

    fn tally(&mut self, line: u64, flow: &Flow, v: &Verdict, reasons: Vec<String>) -> ScoredRow {
        self.scored += 1;
        let threat = threat_of(v);
        let risk = v.risk.round().clamp(0.0, 100.0) as u8;
        if v.alert {
            self.alerts += 1;
        }
        match self.threats.iter_mut().find(|t| t.threat == threat) {
            Some(t) => {
                t.flows += 1;
                t.max_risk = t.max_risk.max(risk);
            }
            None => self.threats.push(ThreatCount { threat: threat.to_string(), flows: 1, max_risk: risk }),
        }
        self.risk_histogram[usize::from(risk / 10).min(9)] += 1;
        self.timeline.add(crate::ingest::time::flow_ms(flow), v.alert);
        let vol = flow.volumes();
        let bytes = vol.fwd_bytes + vol.bwd_bytes;
        let t = flow.five_tuple.as_ref();
        let feature = |i: Option<usize>| i.and_then(|i| flow.features.get(i).copied().flatten());
        let protocol = t.map(|t| t.protocol).or_else(|| feature(self.protocol).map(|p| p as u8));
        let dst_port = t.map(|t| t.dst_port).or_else(|| feature(self.dst_port).map(|p| p as u16));
        if let Some(p) = protocol {
            self.protocols.add(&crate::flow_history::proto_name(p), bytes, v.alert);
        }
        match (protocol, dst_port) {
            (Some(p), Some(port)) => self.services.add(&crate::traffic::service_key(p, port), bytes, v.alert),
            // The 2017 CSV layout has the port but no protocol column.
            (None, Some(port)) => self.services.add(&format!("port {port}"), bytes, v.alert),
            _ => {}
        }
        if let Some(t) = t {
            self.sources.add(&t.src_ip.to_string(), bytes, v.alert);
            self.destinations.add(&t.dst_ip.to_string(), bytes, v.alert);
        }
        self.drift.add(v.profile, &flow.features);
        if let Some(label) = flow.label.as_deref() {
            let benign = label.trim().eq_ignore_ascii_case("benign");
            if benign {
                self.labelled.benign += 1;
                self.labelled.benign_alerted += u64::from(v.alert);
            } else {
                self.labelled.attacks += 1;
                self.labelled.attacks_alerted += u64::from(v.alert);
            }
        }
        let point = || SamplePoint {
            values: self
                .scatter_index
                .iter()
                .map(|i| i.and_then(|i| flow.features.get(i).copied().flatten()))
                .collect(),
            alert: v.alert,
        };
        if v.alert {
            let p = point();
            self.sample_alerts.offer(|| p);
        } else {
            let p = point();
            self.sample_all.offer(|| p);
        }
        ScoredRow {
            line,
            timestamp: flow.timestamp.clone(),
            src_ip: t.map(|t| t.src_ip.to_string()),
            src_port: t.map(|t| t.src_port),
            dst_ip: t.map(|t| t.dst_ip.to_string()),
            dst_port,
            protocol,
            class: v.class.name().to_string(),
            probability: v.class_probability,
            risk,
            alert: v.alert,
            threat: threat.to_string(),
            profile: v.profile.name().to_string(),
            label: flow.label.clone(),
            reasons,
        }
    }

    fn finish(self, expanded: u64, started: Instant) -> Result<AnalysisReport, AnalysisError> {
        if self.scored == 0 && self.signatures == 0 && self.skipped == 0 {
            let first = self.rejected_rows.first().map(|(l, r)| format!("; line {l}: {r}")).unwrap_or_default();
            return Err(AnalysisError::NothingRead { rejected: self.rejected, first });
        }
        self.rows.finish().map_err(AnalysisError::Write)?;
        let engine = &self.ctx.engine;
        let manifest = engine.manifest();
        // The riskiest flows, explained in full.
        let risky = self.riskiest.into_vec();
        let flows: Vec<Flow> = risky.iter().map(|r| r.1.clone()).collect();
        let mut full = engine.score_batch(&flows);
        Engine::apply_context(&mut full, &flows, |ip| (self.ctx.internal)(ip));
        let riskiest = risky
            .iter()
            .zip(&full)
            .map(|((line, flow, brief), v)| {
                let t = flow.five_tuple.as_ref();
                RiskyFlow {
                    line: *line,
                    timestamp: flow.timestamp.clone(),
                    src: t.map(|t| crate::behaviour::endpoint(t.src_ip, t.src_port, t.protocol)),
                    dst: t.map(|t| crate::behaviour::endpoint(t.dst_ip, t.dst_port, t.protocol)),
                    service: t.map(|t| crate::traffic::service_key(t.protocol, t.dst_port)),
                    threat: threat_of(brief).to_string(),
                    risk: brief.risk.round().clamp(0.0, 100.0) as u8,
                    alert: brief.alert,
                    label: flow.label.clone(),
                    reasons: {
                        let mut reasons = crate::explain::verdict_reasons(v);
                        if v.alert && !brief.alert {
                            reasons.insert(0, GATED.to_string());
                        }
                        reasons
                    },
                }
            })
            .collect();
        let mut threats = self.threats;
        threats.sort_by(|a, b| b.flows.cmp(&a.flows).then_with(|| a.threat.cmp(&b.threat)));
        let mut signature_events: Vec<SignatureCount> = self
            .signature_events
            .into_iter()
            .map(|(signature, (severity, events))| SignatureCount { signature, severity, events })
            .collect();
        signature_events.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.signature.cmp(&b.signature)));
        signature_events.truncate(TOP_LISTED);
        let mut sample = self.sample_all.items;
        sample.extend(self.sample_alerts.items);
        let labelled = (self.labelled.benign + self.labelled.attacks > 0).then_some(self.labelled);
        let model = ModelComparison {
            model_version: manifest.model_version.clone(),
            trained_on: manifest
                .training_files
                .iter()
                .map(|f| Path::new(&f.path).file_name().map_or(f.path.clone(), |n| n.to_string_lossy().into_owned()))
                .collect(),
            evaluated: manifest
                .evaluation
                .iter()
                .filter(|e| e.split == "random")
                .map(|e| (e.profile.name().to_string(), e.benign_fpr, e.attack_recall))
                .collect(),
            profiles: self.drift.finish(),
            alert_rate: if self.scored > 0 { self.alerts as f64 / self.scored as f64 } else { 0.0 },
            labelled,
        };
        let tops_approximate =
            self.sources.pruned || self.destinations.pruned || self.services.pruned || self.protocols.pruned;
        Ok(AnalysisReport {
            file_name: self.file_name,
            format: self.format,
            compressed: self.compressed,
            bytes: 0,
            expanded_bytes: expanded,
            records: self.records,
            flows: self.scored,
            signatures: self.signatures,
            skipped: self.skipped,
            rejected: self.rejected,
            rejected_rows: self.rejected_rows,
            alerts: self.alerts,
            threats,
            risk_histogram: self.risk_histogram.to_vec(),
            timeline: self.timeline.finish(),
            protocols: self.protocols.top(TOP_LISTED),
            sources: self.sources.top(TOP_LISTED),
            destinations: self.destinations.top(TOP_LISTED),
            services: self.services.top(TOP_LISTED),
            tops_approximate,
            signature_events,
            riskiest,
            playbooks: Vec::new(),
            findings: self.findings.finish(),
            model,
            sample,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// The threat an alert would carry, `benign` when it would not alert.
fn threat_of(v: &Verdict) -> &'static str {
    if !v.alert {
        "benign"
    } else if v.anomaly_only() {
        UNKNOWN_ANOMALY
    } else {
        v.class.name()
    }
}

fn classify_read_error(reason: String) -> AnalysisError {
    if reason.contains("larger than the limit") {
        AnalysisError::TooLarge(reason)
    } else {
        AnalysisError::Read(reason)
    }
}

/// A reader whose byte count is visible after it has been boxed away (the CSV reader owns it).
struct SharedCount<R> {
    inner: R,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for SharedCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}
