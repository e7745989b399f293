//! A whole request body (or bus message) in one of the ingest formats, parsed into records: the one
//! entry point the HTTP ingest endpoints and the ingest bus's sensor messages ([`crate::bus`]) share.

use std::io::Cursor;
use std::path::Path;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{flows_json, suricata, zeek, IngestError, IngestRecord, Limits, Parsed, Rejected};
use crate::engine::csv::FlowReader;
use crate::flow::Flow;

/// The formats a body may be in; the names are the ingest endpoints' and the bus's `AF-Format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// CICFlowMeter CSV, either layout, with its header line.
    Csv,
    /// The integrator flow format: a JSON array or JSON lines ([`flows_json`]).
    Flows,
    /// A Zeek conn.log, TSV with its `#fields` header or JSON lines.
    Zeek,
    /// Suricata EVE JSON lines.
    Suricata,
}

impl BodyFormat {
    pub const ALL: [BodyFormat; 4] = [BodyFormat::Csv, BodyFormat::Flows, BodyFormat::Zeek, BodyFormat::Suricata];

    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Csv => "csv",
            BodyFormat::Flows => "flows",
            BodyFormat::Zeek => "zeek",
            BodyFormat::Suricata => "suricata",
        }
    }

    pub fn parse_name(name: &str) -> Option<BodyFormat> {
        BodyFormat::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// Why a body could not be read at all (a bad record is a [`Rejected`], not this).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More records than [`Limits::max_records`], or the input could not be read.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A CSV whose first line is no CICFlowMeter header.
    #[error("{0}")]
    Unreadable(String),
}

/// Parses `bytes` in `format`. Bad records are listed in [`Parsed::rejected`] by line; the valid ones
/// are kept.
pub fn parse(format: BodyFormat, bytes: Bytes, limits: &Limits) -> Result<Parsed<IngestRecord>, BodyError> {
    let flows = |p: Parsed<Flow>| Parsed {
        records: p.records.into_iter().map(IngestRecord::Flow).collect(),
        rejected: p.rejected,
        skipped: p.skipped,
    };
    Ok(match format {
        BodyFormat::Csv => parse_csv(bytes, limits)?,
        BodyFormat::Flows => flows(flows_json::parse(&bytes, limits)?),
        BodyFormat::Zeek => flows(zeek::parse(&bytes, limits)?),
        BodyFormat::Suricata => suricata::parse(&bytes, limits)?,
    })
}

/// CICFlowMeter CSV through the engine's reader (columns by header name, both layouts).
pub fn parse_csv(bytes: Bytes, limits: &Limits) -> Result<Parsed<IngestRecord>, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Parsed::default());
    }
    let mut reader = FlowReader::from_reader(Path::new("request body"), Box::new(Cursor::new(bytes)))
        .map_err(|e| BodyError::Unreadable(e.to_string()))?;
    if reader.header().features_found == 0 {
        return Err(BodyError::Unreadable(
            "the CSV header names no CICFlowMeter feature column (is the first line the header?)".into(),
        ));
    }
    let mut out = Parsed::default();
    while let Some(row) = reader.next_flow() {
        if out.total() >= limits.max_records {
            return Err(IngestError::TooManyRecords { max: limits.max_records, line: out.total() + 2 }.into());
        }
        match row {
            Ok(flow) => out.records.push(IngestRecord::Flow(flow)),
            Err(e) => {
                out.rejected.push(Rejected { line: usize::try_from(e.line).unwrap_or(usize::MAX), reason: e.reason })
            }
        }
    }
    Ok(out)
}

/// Splits parsed records into flows and signature alerts.
pub fn split(records: Vec<IngestRecord>) -> (Vec<Flow>, Vec<super::SignatureAlert>) {
    let mut flows = Vec::with_capacity(records.len());
    let mut signatures = Vec::new();
    for r in records {
        match r {
            IngestRecord::Flow(f) => flows.push(f),
            IngestRecord::SignatureAlert(a) => signatures.push(a),
        }
    }
    (flows, signatures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_rejected_by_line_and_the_rest_kept() {
        let csv = Bytes::from_static(b"Dst Port,Flow Duration,Total Fwd Packet\n80,100,2\n443,oops,3\n22,5,1\n");
        let p = parse(BodyFormat::Csv, csv.clone(), &Limits::default()).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.rejected.len(), 1);
        assert_eq!(p.rejected[0].line, 3);
        let err = parse(BodyFormat::Csv, csv, &Limits { max_records: 2, ..Limits::default() }).unwrap_err();
        assert!(matches!(err, BodyError::Ingest(IngestError::TooManyRecords { max: 2, .. })), "{err}");
        let err = parse(BodyFormat::Csv, Bytes::from_static(b"a,b\n1,2\n"), &Limits::default()).unwrap_err();
        assert!(matches!(err, BodyError::Unreadable(_)), "{err}");
    }

    #[test]
    fn format_names_round_trip() {
        for f in BodyFormat::ALL {
            assert_eq!(BodyFormat::parse_name(f.as_str()), Some(f));
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
        assert_eq!(BodyFormat::parse_name(" Zeek "), Some(BodyFormat::Zeek));
        assert_eq!(BodyFormat::parse_name("eve"), None);
    }
}
