//! Stored flows as the hunting pages and the API show them (browser-safe). The table and its queries
//! are in `store::flows`; the filter language is [`crate::hunt`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One stored flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    pub id: i64,
    /// Traffic time, Unix ms.
    pub at: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// IANA protocol number.
    pub proto: u8,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub pkts_out: u64,
    pub pkts_in: u64,
    pub duration_ms: u64,
    /// 0–100.
    pub risk: u8,
    /// The verdict's threat key (the classifier's class; `unknown_anomaly` for the anomaly layer).
    pub threat: String,
    /// Whether the verdict alerted.
    pub alerted: bool,
    /// `cicflowmeter` or `conn`.
    pub profile: String,
    /// The ingest source (`zeek`, `csv`, …) and the API token that sent it.
    pub source: String,
    pub token_id: Option<i64>,
    /// ISO country code of the outside end (the destination's when both are outside) at storage
    /// time; `None` when both are internal or private, or the address is unknown.
    pub cc: Option<String>,
}

impl FlowRecord {
    /// `tcp`, `udp`, `icmp` or the number.
    pub fn proto_name(&self) -> String {
        proto_name(self.proto)
    }
}

/// `tcp`, `udp`, `icmp`, `icmpv6` or the number.
pub fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        n => n.to_string(),
    }
}

/// The header of [`to_csv`].
pub const CSV_HEADER: &str = "time_utc,src,sport,dst,dport,proto,bytes_out,bytes_in,pkts_out,pkts_in,duration_ms,risk,threat,alerted,profile,source,country";

/// Flows as CSV (header first). Every text cell is guarded against spreadsheet formulas
/// ([`crate::csv_cell`]): threat keys and sources come from configuration, but nothing read from
/// traffic may run in a spreadsheet.
pub fn to_csv(flows: &[FlowRecord]) -> String {
    use crate::csv_cell::cell;
    let mut out = String::with_capacity(64 + flows.len() * 120);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for f in flows {
        let line = [
            crate::intel::time::format_rfc3339_ms(f.at),
            cell(&f.src.to_string()),
            f.sport.to_string(),
            cell(&f.dst.to_string()),
            f.dport.to_string(),
            cell(&f.proto_name()),
            f.bytes_out.to_string(),
            f.bytes_in.to_string(),
            f.pkts_out.to_string(),
            f.pkts_in.to_string(),
            f.duration_ms.to_string(),
            f.risk.to_string(),
            cell(&f.threat),
            u8::from(f.alerted).to_string(),
            cell(&f.profile),
            cell(&f.source),
            cell(f.cc.as_deref().unwrap_or_default()),
        ]
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

/// How a result is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowSort {
    /// Newest first (pages follow a cursor).
    #[default]
    Newest,
    Oldest,
    /// Riskiest first, then newest.
    Risk,
    /// Most bytes (both ways) first, then newest.
    Bytes,
}

impl FlowSort {
    pub const ALL: [FlowSort; 4] = [FlowSort::Newest, FlowSort::Oldest, FlowSort::Risk, FlowSort::Bytes];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowSort::Newest => "newest",
            FlowSort::Oldest => "oldest",
            FlowSort::Risk => "risk",
            FlowSort::Bytes => "bytes",
        }
    }

    pub fn parse(s: &str) -> Option<FlowSort> {
        FlowSort::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where the next page starts: after this flow of the previous page (its sort key and id), as an
/// opaque string `<key>.<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCursor {
    pub key: i64,
    pub id: i64,
}

impl FlowCursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.key, self.id)
    }

    pub fn decode(s: &str) -> Option<FlowCursor> {
        let (k, i) = s.split_once('.')?;
        Some(FlowCursor { key: k.parse().ok()?, id: i.parse().ok()? })
    }
}

/// A search of the stored flows: a page, how many matched, and when.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowSearch {
    pub flows: Vec<FlowRecord>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    /// Flows matching in the part of the range searched.
    pub matched: u64,
    /// (bucket start, flows) over the part searched, empty buckets left out.
    pub histogram: Vec<(i64, u64)>,
    pub bucket_ms: i64,
    /// The range asked for (Unix ms, `until` exclusive), and how far back the search got within its
    /// time budget: everything when `complete`, otherwise `[searched_from, until)`.
    pub from: i64,
    pub until: i64,
    pub searched_from: i64,
    pub complete: bool,
    pub took_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_sorts_round_trip_and_junk_is_refused() {
        let c = FlowCursor { key: -5, id: 42 };
        assert_eq!(FlowCursor::decode(&c.encode()), Some(c));
        for bad in ["", "1", "a.b", "1.2.3", ".4"] {
            assert_eq!(FlowCursor::decode(bad), None, "{bad}");
        }
        for s in FlowSort::ALL {
            assert_eq!(FlowSort::parse(s.as_str()), Some(s));
        }
        assert_eq!(proto_name(6), "tcp");
        assert_eq!(proto_name(47), "47");
    }

    #[test]
    fn csv_rows_are_guarded_against_formulas() {
        let f = FlowRecord {
            id: 1,
            at: 1_795_254_300_000,
            src: "10.0.0.1".parse().unwrap(),
            dst: "192.0.2.9".parse().unwrap(),
            sport: 5,
            dport: 443,
            proto: 6,
            bytes_out: 1,
            bytes_in: 2,
            pkts_out: 3,
            pkts_in: 4,
            duration_ms: 5,
            risk: 90,
            threat: "port_scan".into(),
            alerted: true,
            profile: "conn".into(),
            source: "=HYPERLINK(\"x\")".into(),
            token_id: None,
            cc: Some("RU".into()),
        };
        let csv = to_csv(&[f]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(lines[1], "2026-11-21T09:45:00Z,10.0.0.1,5,192.0.2.9,443,tcp,1,2,3,4,5,90,port_scan,1,conn,\"'=HYPERLINK(\"\"x\"\")\",RU");
    }
}
