//! File analysis (`/analyze`): an analyst uploads a flow or log file they have in hand (a
//! CICFlowMeter CSV, a Zeek conn.log, a Suricata EVE file, plain or gzip) and gets a report: what
//! the running model and the behaviour detectors make of every record, with charts, the riskiest
//! flows and their playbooks, and how far the file is from what the model learned.
//!
//! Nothing of an analysis becomes an alert unless the analyst imports it; the file then goes
//! through the normal pipeline, its alerts tagged with the file's name.
//!
//! Browser-safe: the report and its charts. The streaming analyser ([`run`]), the files an analysis
//! keeps ([`files`]) and the standalone HTML report ([`html`]) are server-only.

use serde::{Deserialize, Serialize};

use crate::charts::{
    bar_chart, line_chart, scatter_chart, Axis, Bar, BarChartSpec, Chart, Colour, LineChartSpec, ScatterGroup,
    ScatterPoint, ScatterSpec, TimeSeries,
};
use crate::drift::DriftLevel;
use crate::playbook::Playbook;

#[cfg(feature = "server")]
pub mod files;
#[cfg(feature = "server")]
pub mod html;
#[cfg(feature = "server")]
pub mod run;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod settings;
#[cfg(feature = "server")]
mod tally;

/// The features the report's scatter can plot (both feature profiles have them).
pub const SCATTER_FEATURES: [&str; 10] = [
    "Flow Duration",
    "Total Fwd Packet",
    "Total Bwd packets",
    "Total Length of Fwd Packet",
    "Total Length of Bwd Packet",
    "Flow Bytes/s",
    "Flow Packets/s",
    "Fwd Packet Length Mean",
    "Bwd Packet Length Mean",
    "Dst Port",
];
/// The scatter's axes before the analyst picks others.
pub const DEFAULT_SCATTER: (&str, &str) = ("Flow Duration", "Total Length of Fwd Packet");
/// Rows of the riskiest-flows table.
pub const RISKIEST: usize = 25;
/// Rejected rows named in the report (all are counted).
pub const REJECTED_LISTED: usize = 100;
/// Addresses, services and signatures listed per top list.
pub const TOP_LISTED: usize = 15;

/// A file format the analyser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// CICFlowMeter CSV, the 2017 "MachineLearningCVE" or the corrected 2021 layout.
    Csv,
    /// Zeek conn.log, tab-separated with its `#fields` header or JSON lines.
    Zeek,
    /// Suricata EVE JSON lines (`flow` records are scored, `alert` events counted as signatures).
    Eve,
}

impl FileFormat {
    pub const ALL: [FileFormat; 3] = [FileFormat::Csv, FileFormat::Zeek, FileFormat::Eve];

    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Zeek => "zeek",
            FileFormat::Eve => "eve",
        }
    }

    pub fn parse(s: &str) -> Option<FileFormat> {
        FileFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            FileFormat::Csv => "CICFlowMeter CSV",
            FileFormat::Zeek => "Zeek conn.log",
            FileFormat::Eve => "Suricata EVE JSON",
        }
    }
}

/// Whether an imported analysis's flows have gone through the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Running,
    Done,
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Running => "running",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ImportStatus> {
        [ImportStatus::Running, ImportStatus::Done, ImportStatus::Failed].into_iter().find(|x| x.as_str() == s)
    }
}

/// What "import as alerts" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportState {
    pub status: ImportStatus,
    /// Who pressed the button, and when (unix ms).
    pub by: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Flows and signature alerts submitted to the pipeline so far.
    pub records: i64,
    pub alerts_created: i64,
    pub alerts_updated: i64,
    /// Why it stopped, when it failed.
    pub error: Option<String>,
}

/// One analysis in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    pub id: i64,
    pub file_name: String,
    pub format: FileFormat,
    /// Who uploaded it.
    pub owner: String,
    pub created_at: i64,
    /// When it and its files are deleted (unix ms).
    pub expires_at: i64,
    /// Bytes uploaded (compressed, when the file was gzip).
    pub bytes: i64,
    /// Records read, of them rejected, and alerting flows.
    pub records: i64,
    pub rejected: i64,
    pub alerts: i64,
    pub model_version: String,
    pub import: Option<ImportState>,
}

/// Flows of one threat as the verdicts name it (`benign` for flows that would not alert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatCount {
    pub threat: String,
    pub flows: u64,
    pub max_risk: u8,
}

/// Flows, bytes and alerting flows of one address, service or protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Talker {
    pub key: String,
    pub flows: u64,
    pub bytes: u64,
    pub alerts: u64,
}

/// A signature the EVE file's `alert` events name, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCount {
    pub signature: String,
    pub severity: u8,
    pub events: u64,
}

/// The file's flows over traffic time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Width of a bucket, ms.
    pub bucket_ms: i64,
    /// (bucket start in unix ms, flows, alerting flows), oldest first, empty buckets left out.
    pub points: Vec<(i64, u64, u64)>,
    /// Flows without a readable timestamp.
    pub undated: u64,
}

/// One of the riskiest flows, explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskyFlow {
    /// Line of the file it was read from (1-based).
    pub line: u64,
    pub timestamp: Option<String>,
    pub src: Option<String>,
    pub dst: Option<String>,
    pub service: Option<String>,
    /// The threat an alert would carry (`benign` when it would not alert).
    pub threat: String,
    pub risk: u8,
    pub alert: bool,
    /// The file's own label, when it has one.
    pub label: Option<String>,
    pub reasons: Vec<String>,
}

/// A behaviour detector's finding (scan, beacon, brute force, flood), merged over the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourFinding {
    /// The threat key (`beaconing`, `port_scan`, …).
    pub threat: String,
    pub src: String,
    pub dst: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub connections: u64,
    pub risk: u8,
    pub summary: String,
    pub details: Vec<String>,
}

/// The file's flows of one feature profile against the training data of the running model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileComparison {
    /// `cicflowmeter` or `conn`.
    pub profile: String,
    pub flows: u64,
    /// Mean population stability index over the profile's features.
    pub psi: f64,
    pub level: DriftLevel,
    /// The features that moved most, with their PSI.
    pub top: Vec<(String, f64)>,
}

/// How the model did on the file's own labels (when the file carries them), next to what its
/// evaluation promised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelledFigures {
    pub benign: u64,
    pub benign_alerted: u64,
    pub attacks: u64,
    pub attacks_alerted: u64,
}

impl LabelledFigures {
    pub fn false_positive_rate(&self) -> Option<f64> {
        (self.benign > 0).then(|| self.benign_alerted as f64 / self.benign as f64)
    }

    pub fn recall(&self) -> Option<f64> {
        (self.attacks > 0).then(|| self.attacks_alerted as f64 / self.attacks as f64)
    }
}

/// The file next to the running model's own figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelComparison {
    pub model_version: String,
    /// The files the model was trained on (names only).
    pub trained_on: Vec<String>,
    /// The evaluation's benign false-positive rate and attack recall, per profile.
    pub evaluated: Vec<(String, f64, f64)>,
    pub profiles: Vec<ProfileComparison>,
    /// Share of the file's flows that alert.
    pub alert_rate: f64,
    pub labelled: Option<LabelledFigures>,
}

/// A sampled flow for the scatter: its [`SCATTER_FEATURES`] values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplePoint {
    pub values: Vec<Option<f32>>,
    pub alert: bool,
}

/// The report of one analysed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisReport {
    pub file_name: String,
    pub format: FileFormat,
    /// The upload was gzip.
    pub compressed: bool,
    /// Bytes uploaded, and bytes after decompression.
    pub bytes: u64,
    pub expanded_bytes: u64,
    /// Data records read (flows, signature events, skipped events and rejected rows).
    pub records: u64,
    pub flows: u64,
    pub signatures: u64,
    /// Valid records the analysis does not use (EVE `dns`, `http`, …).
    pub skipped: u64,
    pub rejected: u64,
    /// The first [`REJECTED_LISTED`] rejected rows: (line, reason).
    pub rejected_rows: Vec<(u64, String)>,
    /// Flows that would alert.
    pub alerts: u64,
    pub threats: Vec<ThreatCount>,
    /// Flows per risk decile: `[0, 10)`, …, `[90, 100]`.
    pub risk_histogram: Vec<u64>,
    pub timeline: Timeline,
    pub protocols: Vec<Talker>,
    pub sources: Vec<Talker>,
    pub destinations: Vec<Talker>,
    pub services: Vec<Talker>,
    /// Whether a top list may under-count (it kept only the busiest keys of a very varied file).
    pub tops_approximate: bool,
    pub signature_events: Vec<SignatureCount>,
    pub riskiest: Vec<RiskyFlow>,
    /// The playbooks of the riskiest flows' threats.
    pub playbooks: Vec<Playbook>,
    pub findings: Vec<BehaviourFinding>,
    pub model: ModelComparison,
    pub sample: Vec<SamplePoint>,
    /// Seconds the analysis took.
    pub seconds: f64,
}

impl AnalysisReport {
    /// Alerting flows by threat.
    pub fn threat_chart(&self) -> Chart {
        bar_chart(&BarChartSpec {
            title: "Alerting flows by threat".into(),
            value_axis: Axis::new("Flows", ""),
            colour: Some(Colour(0xd5, 0x5e, 0x00)),
            bars: self
                .threats
                .iter()
                .filter(|t| t.threat != "benign")
                .map(|t| Bar { label: crate::console::threat_title(&t.threat), value: t.flows as f64 })
                .collect(),
        })
    }

    /// Flows per risk decile.
    pub fn risk_chart(&self) -> Chart {
        bar_chart(&BarChartSpec {
            title: "Flows by risk".into(),
            value_axis: Axis::new("Flows", ""),
            colour: Some(Colour(0x56, 0xb4, 0xe9)),
            bars: self
                .risk_histogram
                .iter()
                .enumerate()
                .filter(|_| self.flows > 0)
                .map(|(i, n)| Bar {
                    label: if i == 9 { "90–100".to_string() } else { format!("{}–{}", i * 10, i * 10 + 9) },
                    value: *n as f64,
                })
                .collect(),
        })
    }

    /// Flows and alerting flows over the file's traffic time.
    pub fn timeline_chart(&self) -> Chart {
        let series = |name: &str, colour, f: fn(&(i64, u64, u64)) -> u64| TimeSeries {
            name: name.into(),
            colour: Some(colour),
            points: self.timeline.points.iter().map(|p| (p.0, f(p) as f64)).collect(),
        };
        let per = bucket_words(self.timeline.bucket_ms);
        line_chart(&LineChartSpec {
            title: "Flows over the file's time".into(),
            x: Axis::new("Traffic time", "UTC"),
            y: Axis::new("Flows", format!("per {per}")),
            series: vec![
                series("all flows", Colour(0x00, 0x72, 0xb2), |p| p.1),
                series("alerting flows", Colour(0xd5, 0x5e, 0x00), |p| p.2),
            ],
        })
    }

    /// Flows by protocol.
    pub fn protocol_chart(&self) -> Chart {
        talker_chart("Flows by protocol", &self.protocols)
    }

    /// Flows by service (protocol and destination port).
    pub fn service_chart(&self) -> Chart {
        talker_chart("Flows by service", &self.services)
    }

    /// Two of [`SCATTER_FEATURES`] of the sampled flows, alerting flows on top. Unknown feature
    /// names fall back to the defaults.
    pub fn scatter_chart(&self, x: &str, y: &str) -> Chart {
        let pos = |name: &str, default: &str| {
            SCATTER_FEATURES
                .iter()
                .position(|f| *f == name)
                .or_else(|| SCATTER_FEATURES.iter().position(|f| *f == default))
                .unwrap_or(0)
        };
        let (xi, yi) = (pos(x, DEFAULT_SCATTER.0), pos(y, DEFAULT_SCATTER.1));
        let points = self
            .sample
            .iter()
            .filter_map(|p| {
                let (vx, vy) = (p.values.get(xi).copied().flatten()?, p.values.get(yi).copied().flatten()?);
                Some(ScatterPoint { x: f64::from(vx), y: f64::from(vy), group: usize::from(p.alert) })
            })
            .collect();
        scatter_chart(&ScatterSpec {
            title: format!("{} against {}", SCATTER_FEATURES[yi], SCATTER_FEATURES[xi]),
            x: Axis::new(SCATTER_FEATURES[xi], ""),
            y: Axis::new(SCATTER_FEATURES[yi], ""),
            log_x: SCATTER_FEATURES[xi] != "Dst Port",
            log_y: SCATTER_FEATURES[yi] != "Dst Port",
            groups: vec![
                ScatterGroup { name: "no alert".into(), colour: Some(Colour(0x56, 0xb4, 0xe9)) },
                ScatterGroup { name: "alert".into(), colour: Some(Colour(0xd5, 0x5e, 0x00)) },
            ],
            points,
        })
    }
}

/// "minute", "5 minutes", "hour", "day"…
pub fn bucket_words(ms: i64) -> String {
    let units = [(86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute"), (1_000, "second")];
    for (unit, name) in units {
        if ms >= unit && ms % unit == 0 {
            let n = ms / unit;
            return if n == 1 { name.to_string() } else { format!("{n} {name}s") };
        }
    }
    format!("{ms} ms")
}

fn talker_chart(title: &str, rows: &[Talker]) -> Chart {
    bar_chart(&BarChartSpec {
        title: title.into(),
        value_axis: Axis::new("Flows", ""),
        colour: None,
        bars: rows
            .iter()
            .map(|t| Bar {
                label: crate::traffic::service_name(&t.key)
                    .map(|n| format!("{} ({n})", t.key))
                    .unwrap_or_else(|| t.key.clone()),
                value: t.flows as f64,
            })
            .collect(),
    })
}

/// Where the report of an analysis is shown.
pub fn report_href(id: i64) -> String {
    format!("/analyze/{id}")
}

/// Where its downloads are: `rows.csv`, `rows.jsonl`, `report.html`.
pub fn download_href(id: i64, file: &str) -> String {
    format!("/api/v1/analyses/{id}/{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_their_names() {
        for f in FileFormat::ALL {
            assert_eq!(FileFormat::parse(f.as_str()), Some(f));
        }
        assert_eq!(FileFormat::parse("pcap"), None);
    }

    #[test]
    fn labelled_figures_need_rows_of_their_kind() {
        let l = LabelledFigures { benign: 0, benign_alerted: 0, attacks: 4, attacks_alerted: 3 };
        assert_eq!((l.false_positive_rate(), l.recall()), (None, Some(0.75)));
    }
}
