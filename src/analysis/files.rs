//! The files an analysis keeps, in `<data_dir>/analyses/<id>/`:
//! - `input`: the upload as it arrived (gzip stays gzip), read again by "import as alerts";
//! - `rows.jsonl.gz`: one scored row per flow, in file order, for the downloads.
//!
//! An analysis in progress writes to a directory of its own under `analyses/incoming/` and is moved
//! to its id only once it is stored, so a failed or interrupted upload leaves nothing that looks
//! finished (start-up and housekeeping clear `incoming/`).

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

/// One scored flow, as the downloads carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredRow {
    /// Line of the file it was read from (1-based).
    pub line: u64,
    pub timestamp: Option<String>,
    pub src_ip: Option<String>,
    pub src_port: Option<u16>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    /// The classifier's most likely class, and its probability.
    pub class: String,
    pub probability: f32,
    /// 0–100, with the internal-source context applied.
    pub risk: u8,
    /// Whether ingest would raise an alert for it.
    pub alert: bool,
    /// What an alert would carry (`benign` when it would not alert).
    pub threat: String,
    /// `cicflowmeter` or `conn`.
    pub profile: String,
    /// The file's own label, when it has one.
    pub label: Option<String>,
    /// Why, in sentences (for alerting flows).
    pub reasons: Vec<String>,
}

/// The CSV download's columns.
pub const CSV_COLUMNS: [&str; 15] = [
    "line",
    "timestamp",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "class",
    "probability",
    "risk",
    "alert",
    "threat",
    "profile",
    "label",
    "reasons",
];

/// The upload's file name in an analysis's directory.
pub const INPUT: &str = "input";
/// The scored rows' file name.
pub const ROWS: &str = "rows.jsonl.gz";

/// Where analyses live.
#[derive(Debug, Clone)]
pub struct AnalysisFiles {
    root: PathBuf,
}

impl AnalysisFiles {
    pub fn new(data_dir: &Path) -> AnalysisFiles {
        AnalysisFiles { root: data_dir.join("analyses") }
    }

    /// The finished analysis `id`'s directory.
    pub fn dir(&self, id: i64) -> PathBuf {
        self.root.join(id.to_string())
    }

    pub fn input(&self, id: i64) -> PathBuf {
        self.dir(id).join(INPUT)
    }

    pub fn rows(&self, id: i64) -> PathBuf {
        self.dir(id).join(ROWS)
    }

    /// A new directory for an analysis in progress.
    pub fn incoming(&self) -> io::Result<PathBuf> {
        let base = self.root.join("incoming");
        std::fs::create_dir_all(&base)?;
        for _ in 0..16 {
            let name = format!("{:016x}", rand::random::<u64>());
            let dir = base.join(name);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("cannot create a directory for the analysis"))
    }

    /// Moves a finished analysis from `incoming` to its id.
    pub fn keep(&self, incoming: &Path, id: i64) -> io::Result<()> {
        std::fs::rename(incoming, self.dir(id))
    }

    /// Deletes an analysis's files (nothing when they are gone already).
    pub fn remove(&self, id: i64) -> io::Result<()> {
        match std::fs::remove_dir_all(self.dir(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Clears analyses that never finished (a crash, a stop during an upload).
    pub fn clear_incoming(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(self.root.join("incoming")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Ids with a directory (for housekeeping: directories whose row is gone are deleted).
    pub fn ids(&self) -> io::Result<Vec<i64>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut ids = Vec::new();
        for e in entries {
            if let Some(id) = e?.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

/// Writes scored rows as gzip JSON lines.
pub struct RowsWriter {
    out: GzEncoder<BufWriter<File>>,
    line: Vec<u8>,
}

impl RowsWriter {
    pub fn create(path: &Path) -> io::Result<RowsWriter> {
        let file = BufWriter::with_capacity(1 << 16, File::create(path)?);
        Ok(RowsWriter { out: GzEncoder::new(file, Compression::fast()), line: Vec::with_capacity(512) })
    }

    pub fn write(&mut self, row: &ScoredRow) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, row).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub fn finish(self) -> io::Result<()> {
        let mut file = self.out.finish()?;
        file.flush()?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()
    }
}

/// The rows of an analysis as JSON lines, decompressed, for streaming to a client.
pub fn open_rows(path: &Path) -> io::Result<impl BufRead + Send> {
    Ok(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(BufReader::new(File::open(path)?))))
}

/// Converts JSON-lines rows to CSV, formula-safe, writing a header first. Reads and writes one row
/// at a time.
pub fn rows_to_csv(rows: impl BufRead, out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS).map_err(io::Error::other)?;
    for line in rows.lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let r: ScoredRow = serde_json::from_str(&line).map_err(io::Error::other)?;
        let opt = |v: Option<String>| v.unwrap_or_default();
        let fields = [
            r.line.to_string(),
            opt(r.timestamp),
            opt(r.src_ip),
            opt(r.src_port.map(|p| p.to_string())),
            opt(r.dst_ip),
            opt(r.dst_port.map(|p| p.to_string())),
            opt(r.protocol.map(|p| p.to_string())),
            r.class,
            format!("{:.4}", r.probability),
            r.risk.to_string(),
            r.alert.to_string(),
            r.threat,
            r.profile,
            opt(r.label),
            r.reasons.join(" "),
        ];
        w.write_record(fields.iter().map(|f| crate::csv_cell::guard(f).into_owned())).map_err(io::Error::other)?;
    }
    w.flush()
}

/// A reader that stops with [`io::ErrorKind::FileTooLarge`] past `limit` bytes, and counts what it
/// read.
pub struct Limited<R> {
    inner: R,
    limit: u64,
    pub read: u64,
    what: &'static str,
}

impl<R: Read> Limited<R> {
    /// `what` names the limit in the error: "the upload", "the decompressed file".
    pub fn new(inner: R, limit: u64, what: &'static str) -> Limited<R> {
        Limited { inner, limit, read: 0, what }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("{} is larger than the limit of {} bytes", self.what, self.limit),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, label: &str) -> ScoredRow {
        ScoredRow {
            line,
            timestamp: None,
            src_ip: Some("10.0.0.1".into()),
            src_port: Some(5555),
            dst_ip: Some("203.0.113.9".into()),
            dst_port: Some(443),
            protocol: Some(6),
            class: "benign".into(),
            probability: 0.9,
            risk: 3,
            alert: false,
            threat: "benign".into(),
            profile: "conn".into(),
            label: Some(label.into()),
            reasons: vec!["one.".into(), "two.".into()],
        }
    }

    #[test]
    fn rows_round_trip_and_the_csv_is_formula_safe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.jsonl.gz");
        let mut w = RowsWriter::create(&path).unwrap();
        w.write(&row(2, "BENIGN")).unwrap();
        w.write(&row(3, "=cmd|' /C calc'!A0")).unwrap();
        w.finish().unwrap();
        let lines: Vec<String> = open_rows(&path).unwrap().lines().map(|l| l.unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(serde_json::from_str::<ScoredRow>(&lines[0]).unwrap(), row(2, "BENIGN"));
        let mut csv = Vec::new();
        rows_to_csv(open_rows(&path).unwrap(), &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("line,timestamp,src_ip"), "{csv}");
        assert!(csv.contains("2,,10.0.0.1,5555,203.0.113.9,443,6,benign,0.9000,3,false,benign,conn,BENIGN,one. two."));
        assert!(csv.contains("'=cmd"), "{csv}");
    }

    #[test]
    fn a_limited_reader_names_its_limit() {
        let mut r = Limited::new(&b"0123456789"[..], 4, "the upload");
        let err = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(err.to_string(), "the upload is larger than the limit of 4 bytes");
    }
}
