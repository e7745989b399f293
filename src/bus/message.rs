//! What travels on the ingest bus, and how a message becomes a [`Batch`].
//!
//! The stream holds these subjects (`<prefix>` is `[bus] subject`, `P` is `[bus] partitions`):
//!
//! | subject | payload | sent by | taken by |
//! |---|---|---|---|
//! | `<prefix>.batch.<k>`, `k` in `0..P` | one partition's records, parsed by an ingest endpoint, in the binary layout of [`super::codec`] | AnomalyForge instances | the instance that owns partition `k` |
//! | `<prefix>.csv`, `.flows`, `.zeek`, `.suricata` | a body exactly as the matching `POST /api/v1/ingest/…` endpoint takes it (plain, not gzip) | sensors, directly | any instance, which parses it and publishes its records to the partitions |
//! | `<prefix>.batch` | parsed records of every partition, in the binary layout | instances from before partitions | any instance, as a sensor body |
//!
//! A partition of a message published as `<id>` is published as `<id>/<k>` (and `<id>/<k>.<j>`
//! when it needs several messages), so a message routed twice makes the same ids.
//!
//! Every message should carry a `Nats-Msg-Id` header, the batch id: JetStream drops a republished
//! id within its duplicate window, and the database stores an id at most once ([`crate::store::bus_batches`]).
//! A sensor message without one is known by its stream sequence, which still makes a redelivery a
//! no-op but cannot recognise the sensor's own retries. A publish to any other subject under the
//! prefix is not taken by the stream: JetStream answers it with an error (no responders).

use std::time::{Duration, Instant};

use super::codec;
use crate::ingest::body::{self, BodyError, BodyFormat};
use crate::ingest::Limits;
use crate::pipeline::{Batch, Source};
use crate::store::now_ms;
use bytes::Bytes;

/// The subject token of parsed batches.
pub const BATCH_TOKEN: &str = "batch";
/// The tokens of the subjects any instance takes and routes to the partitions.
pub const ROUTED_TOKENS: [&str; 5] = [BATCH_TOKEN, "csv", "flows", "zeek", "suricata"];

/// What a subject says a message holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Parsed records of one partition.
    Part(usize),
    /// Parsed records of any partition (to be routed).
    Batch,
    /// A sensor's body (to be parsed and routed).
    Body(BodyFormat),
}

/// Why a message cannot be stored (it is refused, not delivered again).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("subject `{subject}` is not one of {prefix}.batch.<partition>, {prefix}.batch, {prefix}.csv, {prefix}.flows, {prefix}.zeek, {prefix}.suricata")]
    Subject { subject: String, prefix: String },
    #[error("the batch is not a readable batch message: {0}")]
    Batch(String),
    #[error("the body cannot be read: {0}")]
    Body(#[from] BodyError),
}

/// The subject of partition `k`.
pub fn part_subject(prefix: &str, k: usize) -> String {
    format!("{prefix}.{BATCH_TOKEN}.{k}")
}

/// Every subject of the stream: the partitions', then the routed ones.
pub fn subjects(prefix: &str, partitions: usize) -> Vec<String> {
    (0..partitions)
        .map(|k| part_subject(prefix, k))
        .chain(ROUTED_TOKENS.iter().map(|t| format!("{prefix}.{t}")))
        .collect()
}

/// The kind of a message on `subject`, under `prefix`, with `partitions` partitions.
pub fn kind_of(prefix: &str, subject: &str, partitions: usize) -> Result<Kind, MessageError> {
    let refuse = || MessageError::Subject { subject: subject.to_string(), prefix: prefix.to_string() };
    let token = subject.strip_prefix(prefix).and_then(|t| t.strip_prefix('.')).ok_or_else(refuse)?;
    if token == BATCH_TOKEN {
        return Ok(Kind::Batch);
    }
    if let Some(text) = token.strip_prefix(BATCH_TOKEN).and_then(|t| t.strip_prefix('.')) {
        // Written as published: `batch.3`, never `batch.03`.
        return match text.parse::<usize>() {
            Ok(k) if k < partitions && k.to_string() == text => Ok(Kind::Part(k)),
            _ => Err(refuse()),
        };
    }
    BodyFormat::parse_name(token).filter(|f| f.as_str() == token).map(Kind::Body).ok_or_else(refuse)
}

/// A message's batch, with its bus id. A sensor body is parsed here (bad records are counted as
/// rejected, as an endpoint counts them).
pub fn decode(kind: Kind, payload: Bytes, id: String, limits: &Limits) -> Result<Batch, MessageError> {
    let mut batch = match kind {
        Kind::Part(_) | Kind::Batch => {
            let (h, flows) = codec::decode(&payload).map_err(|e| MessageError::Batch(e.to_string()))?;
            let source = Source::parse(&h.source)
                .filter(|s| !matches!(s, Source::Replay | Source::File))
                .ok_or_else(|| MessageError::Batch(format!("unknown source `{}`", h.source)))?;
            let age = Duration::from_millis(u64::try_from(now_ms().saturating_sub(h.received_at)).unwrap_or(0));
            Batch {
                rejected: h.rejected,
                skipped: h.skipped,
                received_at: h.received_at,
                received: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
                ..Batch::new(source, h.token_id, flows, h.signatures)
            }
        }
        Kind::Body(format) => {
            let parsed = body::parse(format, payload, limits)?;
            let (rejected, skipped) = (parsed.rejected.len(), parsed.skipped);
            let (flows, signatures) = body::split(parsed.records);
            let source = Source::parse(format.as_str()).unwrap_or(Source::Flows);
            Batch { rejected, skipped, ..Batch::new(source, None, flows, signatures) }
        }
    };
    batch.bus_ids = vec![(id, batch.flows.len() + batch.signatures.len())];
    Ok(batch)
}

/// A batch as one or more payloads of at most `max_bytes` each (when a single flow is not larger),
/// each packed with LZ4 ([`codec::pack`]): flows are cut in order by their plain size, and the signature alerts and counts travel with the first part.
pub fn encode(batch: &Batch, max_bytes: usize) -> Vec<Bytes> {
    let header = |first: bool| codec::Header {
        source: batch.source.as_str().to_string(),
        token_id: batch.token_id,
        received_at: batch.received_at,
        rejected: if first { batch.rejected } else { 0 },
        skipped: if first { batch.skipped } else { 0 },
        signatures: if first { batch.signatures.clone() } else { Vec::new() },
    };
    let whole = codec::encode(&header(true), &batch.flows);
    if whole.len() <= max_bytes {
        return vec![Bytes::from(codec::pack(whole))];
    }
    // Too large for one message: measure each flow once, then cut.
    let mut scratch = Vec::new();
    let sizes: Vec<usize> = batch
        .flows
        .iter()
        .map(|f| {
            scratch.clear();
            codec::encode_flow(f, &mut scratch);
            scratch.len()
        })
        .collect();
    let mut parts = Vec::new();
    let mut start = 0;
    while start < batch.flows.len() || parts.is_empty() {
        let first = parts.is_empty();
        let base = codec::encode(&header(first), &[]).len();
        let mut end = start;
        let mut size = base;
        while end < batch.flows.len() && (end == start || size + sizes[end] <= max_bytes) {
            size += sizes[end];
            end += 1;
        }
        parts.push(Bytes::from(codec::pack(codec::encode(&header(first), &batch.flows[start..end]))));
        start = end;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{FiveTuple, Flow};

    fn flow(i: u16) -> Flow {
        let tuple = FiveTuple {
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: 40000 + i,
            dst_ip: "192.0.2.7".parse().unwrap(),
            dst_port: 443,
            protocol: 6,
        };
        Flow {
            five_tuple: Some(tuple),
            timestamp: Some("2026-12-06 10:00:00.000000".into()),
            features: vec![Some(f32::from(i)); crate::flow::FEATURES.len()],
            label: None,
            uid: None,
            conn: None,
        }
    }

    #[test]
    fn subjects_name_the_kind() {
        let p = "anomalyforge.ingest";
        assert_eq!(kind_of(p, "anomalyforge.ingest.batch", 8).unwrap(), Kind::Batch);
        assert_eq!(kind_of(p, "anomalyforge.ingest.batch.7", 8).unwrap(), Kind::Part(7));
        assert_eq!(kind_of(p, "anomalyforge.ingest.zeek", 8).unwrap(), Kind::Body(BodyFormat::Zeek));
        for bad in [
            "anomalyforge.ingest",
            "anomalyforge.ingest.Zeek",
            "anomalyforge.ingest.eve",
            "other.zeek",
            "anomalyforge.ingest.batch.8",
            "anomalyforge.ingest.batch.03",
            "anomalyforge.ingest.batch.x",
        ] {
            let e = kind_of(p, bad, 8).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("anomalyforge.ingest.suricata"), "{e}");
        }
    }

    #[test]
    fn the_stream_holds_every_partition_and_the_routed_subjects() {
        let all = subjects("af.in", 3);
        assert_eq!(
            all,
            [
                "af.in.batch.0",
                "af.in.batch.1",
                "af.in.batch.2",
                "af.in.batch",
                "af.in.csv",
                "af.in.flows",
                "af.in.zeek",
                "af.in.suricata"
            ]
        );
        for s in &all {
            kind_of("af.in", s, 3).unwrap();
        }
    }

    #[test]
    fn a_batch_round_trips_whole_and_split() {
        let mut batch = Batch::new(Source::Zeek, Some(7), (0..40).map(flow).collect(), Vec::new());
        (batch.rejected, batch.skipped) = (3, 2);
        let one = encode(&batch, usize::MAX);
        assert_eq!(one.len(), 1);
        let back = decode(Kind::Batch, one[0].clone(), "b-1".into(), &Limits::default()).unwrap();
        assert_eq!((back.flows, back.token_id, back.rejected, back.skipped), (batch.flows.clone(), Some(7), 3, 2));
        assert_eq!(
            (back.source, back.received_at, back.bus_ids),
            (Source::Zeek, batch.received_at, vec![("b-1".to_string(), 40)])
        );

        // Parts are cut by their plain size.
        let limit = codec::unpack(&one[0]).unwrap().len() / 5;
        let parts = encode(&batch, limit);
        assert!(parts.len() >= 5, "{} parts", parts.len());
        assert!(parts.iter().all(|p| p.len() <= limit));
        let decoded: Vec<Batch> =
            parts.into_iter().map(|p| decode(Kind::Batch, p, "x".into(), &Limits::default()).unwrap()).collect();
        let flows: Vec<Flow> = decoded.iter().flat_map(|b| b.flows.clone()).collect();
        assert_eq!(flows, batch.flows, "every flow once, in order");
        assert_eq!(decoded.iter().map(|b| b.rejected).sum::<usize>(), 3);
        assert_eq!(decoded.iter().map(|b| b.skipped).sum::<usize>(), 2);
    }

    #[test]
    fn unreadable_messages_say_why() {
        let e = decode(Kind::Batch, Bytes::from_static(b"{\"source\":\"zeek\""), "x".into(), &Limits::default());
        assert!(matches!(e, Err(MessageError::Batch(_))));
        let replay = Batch::new(Source::Replay, None, Vec::new(), Vec::new());
        let replay = encode(&replay, usize::MAX).remove(0);
        let e = decode(Kind::Batch, replay, "x".into(), &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("unknown source `replay`"), "{e}");
        let e = decode(Kind::Body(BodyFormat::Csv), Bytes::from_static(b"a,b\n1,2\n"), "x".into(), &Limits::default());
        assert!(matches!(e, Err(MessageError::Body(_))));
    }

    #[test]
    fn a_sensor_body_is_parsed_and_its_bad_lines_counted() {
        let log = "#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n\
                   1447864573.943457\tCx1\t10.0.2.112\t49168\t195.113.214.219\t80\ttcp\thttp\t0.055687\t261\t1077\tSF\t5\t5\n\
                   not a line\n";
        let b = decode(Kind::Body(BodyFormat::Zeek), Bytes::from(log), "s-1".into(), &Limits::default()).unwrap();
        assert_eq!((b.source, b.flows.len(), b.rejected, b.token_id), (Source::Zeek, 1, 1, None));
        assert_eq!(b.bus_ids, [("s-1".to_string(), 1)]);
    }
}
