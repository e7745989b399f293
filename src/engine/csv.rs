//! Streaming CICFlowMeter CSV reader.
//!
//! Columns are mapped by header name, so both the 2017 "MachineLearningCVE" layout (leading spaces,
//! ` Fwd Header Length` twice, `Infinity`/`NaN`, en-dash labels) and the corrected 2021 layout (`Src IP`,
//! `Dst Port`, …, `Label`, `Attempted Category`) load into the same [`Flow`]. Gzip is detected from the
//! magic bytes. A bad row is rejected with its line number and reason, counted, and reading goes on.

use std::fs::File;
use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::EngineError;
use crate::flow::{feature_index_for_header, FiveTuple, Flow, FEATURE_COUNT};

/// Longest accepted record, in bytes (a CICFlowMeter row is well under 2 KiB).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// What a CSV column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Feature(usize),
    SrcIp,
    SrcPort,
    DstIp,
    Timestamp,
    Label,
    Ignored,
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// Counts kept while reading.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub rows: u64,
    pub rejected: u64,
    /// The first rejections (at most 20), for the report.
    pub first_rejections: Vec<RowError>,
    /// The stream broke (an I/O or gzip error, a size limit): the rows after it were not read.
    pub io_error: Option<String>,
}

/// How the header was understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    pub columns: usize,
    pub features_found: usize,
    pub has_label: bool,
    pub has_addresses: bool,
    pub has_timestamp: bool,
    /// Feature columns that appear twice; the first occurrence is used.
    pub duplicate_columns: Vec<String>,
    /// Columns that are neither features nor known identifiers.
    pub unknown_columns: Vec<String>,
}

/// Reads [`Flow`]s from a CICFlowMeter CSV, one record at a time.
pub struct FlowReader {
    path: PathBuf,
    rdr: csv::Reader<Box<dyn Read + Send>>,
    columns: Vec<Column>,
    info: HeaderInfo,
    record: csv::ByteRecord,
    stats: ReadStats,
    feature_of_dst_port: Option<usize>,
    feature_of_protocol: Option<usize>,
    /// Added to the csv crate's line numbers (see `from_reader`).
    line_lag: u64,
}

impl FlowReader {
    /// Opens a plain or gzip-compressed CSV file.
    pub fn open(path: &Path) -> Result<FlowReader, EngineError> {
        let io_err = |source| EngineError::Io { path: path.to_path_buf(), source };
        let mut file = BufReader::new(File::open(path).map_err(io_err)?);
        let mut magic = [0u8; 2];
        let n = read_prefix(&mut file, &mut magic).map_err(io_err)?;
        let file = File::open(path).map_err(io_err)?;
        let inner: Box<dyn Read + Send> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(BufReader::new(file))))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        FlowReader::from_reader(path, inner)
    }

    /// Reads from any byte stream (`name` is used in messages).
    pub fn from_reader(name: &Path, inner: Box<dyn Read + Send>) -> Result<FlowReader, EngineError> {
        let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(inner);
        let headers = rdr
            .byte_headers()
            .map_err(|e| EngineError::Csv { path: name.to_path_buf(), reason: format!("cannot read the header: {e}") })?
            .clone();
        let mut columns = Vec::with_capacity(headers.len());
        let mut seen = [false; FEATURE_COUNT];
        let mut info = HeaderInfo {
            columns: headers.len(),
            features_found: 0,
            has_label: false,
            has_addresses: false,
            has_timestamp: false,
            duplicate_columns: Vec::new(),
            unknown_columns: Vec::new(),
        };
        for h in headers.iter() {
            let h = String::from_utf8_lossy(h);
            let name = h.trim();
            let lower = name.to_ascii_lowercase();
            let col = match lower.as_str() {
                "src ip" | "source ip" => Column::SrcIp,
                "dst ip" | "destination ip" => Column::DstIp,
                "src port" | "source port" => Column::SrcPort,
                "timestamp" => Column::Timestamp,
                "label" => Column::Label,
                "id" | "flow id" | "attempted category" => Column::Ignored,
                _ => match feature_index_for_header(name) {
                    Some(i) if seen[i] => {
                        info.duplicate_columns.push(name.to_string());
                        Column::Ignored
                    }
                    Some(i) => {
                        seen[i] = true;
                        info.features_found += 1;
                        Column::Feature(i)
                    }
                    None => {
                        info.unknown_columns.push(name.to_string());
                        Column::Ignored
                    }
                },
            };
            match col {
                Column::Label => info.has_label = true,
                Column::SrcIp | Column::DstIp => info.has_addresses = true,
                Column::Timestamp => info.has_timestamp = true,
                _ => {}
            }
            columns.push(col);
        }
        if info.features_found == 0 {
            return Err(EngineError::Csv {
                path: name.to_path_buf(),
                reason: "no CICFlowMeter feature column in the header".into(),
            });
        }
        tracing::debug!(path = %name.display(), columns = info.columns, features = info.features_found,
            label = info.has_label, "opened flow CSV");
        Ok(FlowReader {
            path: name.to_path_buf(),
            columns,
            info,
            record: csv::ByteRecord::new(),
            stats: ReadStats::default(),
            feature_of_dst_port: crate::flow::feature_index("Dst Port"),
            feature_of_protocol: crate::flow::feature_index("Protocol"),
            // The csv crate counts a CRLF line when it reads the `\n` that starts the next record,
            // so in a CRLF file its positions are one line early: still on line 1 after the header.
            line_lag: u64::from(rdr.position().line() < 2),
            rdr,
        })
    }

    pub fn header(&self) -> &HeaderInfo {
        &self.info
    }

    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The line the record last returned by [`next_flow`](Self::next_flow) starts on (1-based).
    pub fn line(&self) -> u64 {
        self.record.position().map(|p| p.line() + self.line_lag).unwrap_or(0)
    }

    /// The next record: `Some(Ok(flow))`, `Some(Err(row error))` for a rejected row (already counted),
    /// `None` at the end. A broken stream (I/O or gzip error) ends the file with an error.
    pub fn next_flow(&mut self) -> Option<Result<Flow, RowError>> {
        loop {
            match self.rdr.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {
                    let line = self.record.position().map(|p| p.line() + self.line_lag).unwrap_or(0);
                    if self.record.len() == 1 && self.record.get(0).is_some_and(|f| f.is_empty()) {
                        continue; // blank line
                    }
                    let result = self.parse_record(line);
                    match &result {
                        Ok(_) => self.stats.rows += 1,
                        Err(e) => self.reject(e.clone()),
                    }
                    return Some(result);
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line() + self.line_lag).unwrap_or(0);
                    let err = RowError { line, reason: format!("unreadable record: {e}") };
                    self.reject(err.clone());
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        self.stats.io_error = Some(io.to_string());
                        return None;
                    }
                    return Some(Err(err));
                }
            }
        }
    }

    /// Fills `out` with up to `n` good flows (rejected rows are counted and logged, and skipped).
    /// Returns the number read; 0 at the end of the file.
    pub fn next_batch(&mut self, n: usize, out: &mut Vec<Flow>) -> usize {
        out.clear();
        while out.len() < n {
            match self.next_flow() {
                None => break,
                Some(Ok(f)) => out.push(f),
                Some(Err(_)) => {}
            }
        }
        out.len()
    }

    /// Reads the whole file (for training and evaluation, which need every row anyway).
    pub fn read_all(mut self) -> (Vec<Flow>, ReadStats, HeaderInfo) {
        let mut flows = Vec::new();
        while let Some(r) = self.next_flow() {
            if let Ok(f) = r {
                flows.push(f);
            }
        }
        (flows, self.stats, self.info)
    }

    fn reject(&mut self, e: RowError) {
        self.stats.rejected += 1;
        if self.stats.first_rejections.len() < 20 {
            tracing::warn!(path = %self.path.display(), line = e.line, reason = %e.reason, "rejected row");
            self.stats.first_rejections.push(e);
        }
    }

    fn parse_record(&self, line: u64) -> Result<Flow, RowError> {
        let rec = &self.record;
        if rec.len() != self.columns.len() {
            return Err(RowError {
                line,
                reason: format!("expected {} fields, found {}", self.columns.len(), rec.len()),
            });
        }
        if rec.as_slice().len() > MAX_RECORD_BYTES {
            return Err(RowError { line, reason: format!("record longer than {MAX_RECORD_BYTES} bytes") });
        }
        let mut flow = Flow::empty();
        let mut src_ip = None;
        let mut dst_ip = None;
        let mut src_port = None;
        for (col, raw) in self.columns.iter().zip(rec.iter()) {
            let text =
                std::str::from_utf8(raw).map_err(|_| RowError { line, reason: "field is not UTF-8".into() })?.trim();
            match *col {
                Column::Feature(i) => {
                    flow.features[i] = parse_number(text).map_err(|reason| RowError {
                        line,
                        reason: format!("column `{}`: {reason}", crate::flow::FEATURES[i]),
                    })?
                }
                Column::SrcIp => src_ip = parse_ip(text, line, "Src IP")?,
                Column::DstIp => dst_ip = parse_ip(text, line, "Dst IP")?,
                Column::SrcPort => {
                    src_port = if text.is_empty() {
                        None
                    } else {
                        Some(text.parse::<u16>().map_err(|_| RowError {
                            line,
                            reason: format!("column `Src Port`: not a port: {text:?}"),
                        })?)
                    }
                }
                Column::Timestamp => flow.timestamp = (!text.is_empty()).then(|| text.to_string()),
                Column::Label => {
                    if text.is_empty() {
                        return Err(RowError { line, reason: "empty label".into() });
                    }
                    flow.label = Some(text.to_string());
                }
                Column::Ignored => {}
            }
        }
        if let (Some(src_ip), Some(dst_ip), Some(src_port)) = (src_ip, dst_ip, src_port) {
            let dst_port = self.feature_of_dst_port.and_then(|i| flow.features[i]);
            let protocol = self.feature_of_protocol.and_then(|i| flow.features[i]);
            if let (Some(dp), Some(p)) = (dst_port, protocol) {
                if (0.0..=65535.0).contains(&dp) && (0.0..=255.0).contains(&p) {
                    flow.five_tuple =
                        Some(FiveTuple { src_ip, src_port, dst_ip, dst_port: dp as u16, protocol: p as u8 });
                }
            }
        }
        Ok(flow)
    }
}

fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let k = r.read(&mut buf[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(n)
}

fn parse_ip(text: &str, line: u64, col: &str) -> Result<Option<IpAddr>, RowError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<IpAddr>()
        .map(Some)
        .map_err(|_| RowError { line, reason: format!("column `{col}`: not an IP address: {text:?}") })
}

/// Parses one feature value. Empty, `NaN` and `Infinity` are missing (`Ok(None)`): a rate over a zero
/// duration has no value. Anything else that is not a number rejects the row.
pub fn parse_number(text: &str) -> Result<Option<f32>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            let f = v as f32;
            Ok(f.is_finite().then_some(f))
        }
        Ok(_) => Ok(None),
        Err(_) => {
            let lower = text.to_ascii_lowercase();
            if matches!(lower.as_str(), "nan" | "infinity" | "-infinity" | "inf" | "-inf") {
                Ok(None)
            } else {
                Err(format!("not a number: {:?}", truncate(text, 40)))
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
