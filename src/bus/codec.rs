//! The binary encoding of an instance's parsed batches on the bus (`<subject>.batch.<k>`).
//!
//! JSON spent most of the bus's cost formatting and parsing each flow's 83 feature values as text;
//! this writes them as little-endian `f32`s behind a presence bitmap, about a third of the bytes and a
//! small fraction of the CPU. Sensors do not write it: they publish the ingest formats themselves
//! ([`super::message`]). Layout (integers little-endian):
//!
//! On the bus a message is packed with LZ4 ([`pack`]): the flows' values repeat a lot, and the NATS
//! nodes store and replicate about a third of the bytes (measured on CIC-IDS2017 rows: 315 bytes a
//! flow plain, 115 packed). A message that LZ4 would not shrink travels plain; [`decode`] reads both.
//!
//! ```text
//! packed   = "AFZ1" plain_len:u32 lz4_block                (the LZ4 block format of a plain message)
//! message  = "AFB1" header_len:u32 header:JSON flows:u32 flow*
//! header   = {"source","token_id","received_at","rejected","skipped","signatures":[SignatureAlert…]}
//! flow     = flags:u8 [tuple] [timestamp:str] features [label:str] [uid:str] [conn]
//!            flags: 1 tuple, 2 timestamp, 4 label, 8 uid, 16 conn
//! tuple    = ip src_port:u16 ip dst_port:u16 protocol:u8      ip = 4 a.b.c.d | 6 sixteen bytes
//! str      = len:u32 UTF-8
//! features = n:u16 bitmap:ceil(n/8) bytes, then one f32 per set bit (bit i of byte i/8 = feature i)
//! conn     = state:u8 (0xFF none, else its index in ConnState::ALL) local_orig:u8 local_resp:u8 (0 none, 1 no, 2 yes)
//! ```
//!
//! Decoding checks every length against what is left, so a corrupt or hostile message is an error
//! naming the offset, never a panic or an allocation larger than the message (a packed one: than
//! [`MAX_UNPACKED`], and than LZ4's largest expansion of its length).

use serde::{Deserialize, Serialize};

use crate::binary::{put_ip, put_str, Reader};
use crate::flow::{ConnMeta, ConnState, FiveTuple, Flow};
use crate::ingest::SignatureAlert;

const MAGIC: &[u8; 4] = b"AFB1";
const PACKED: &[u8; 4] = b"AFZ1";
/// The largest message unpacked.
pub const MAX_UNPACKED: usize = 256 << 20;
/// LZ4 cannot expand a block more than about 255 times: a packed message claiming more is damaged.
const MAX_EXPANSION: usize = 256;
const F_TUPLE: u8 = 1;
const F_TIMESTAMP: u8 = 2;
const F_LABEL: u8 = 4;
const F_UID: u8 = 8;
const F_CONN: u8 = 16;

/// What travels beside the flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub source: String,
    pub token_id: Option<i64>,
    pub received_at: i64,
    pub rejected: usize,
    pub skipped: usize,
    pub signatures: Vec<SignatureAlert>,
}

/// Encodes `header` and `flows` as one message.
pub fn encode(header: &Header, flows: &[Flow]) -> Vec<u8> {
    let head = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(12 + head.len() + flows.len() * 400);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&(flows.len() as u32).to_le_bytes());
    for f in flows {
        encode_flow(f, &mut out);
    }
    out
}

/// One flow's bytes, appended to `out`.
pub fn encode_flow(f: &Flow, out: &mut Vec<u8>) {
    let flags = [
        (f.five_tuple.is_some(), F_TUPLE),
        (f.timestamp.is_some(), F_TIMESTAMP),
        (f.label.is_some(), F_LABEL),
        (f.uid.is_some(), F_UID),
        (f.conn.is_some(), F_CONN),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0u8, |acc, (_, bit)| acc | bit);
    out.push(flags);
    if let Some(t) = f.five_tuple {
        put_ip(out, t.src_ip);
        out.extend_from_slice(&t.src_port.to_le_bytes());
        put_ip(out, t.dst_ip);
        out.extend_from_slice(&t.dst_port.to_le_bytes());
        out.push(t.protocol);
    }
    if let Some(ts) = &f.timestamp {
        put_str(out, ts);
    }
    let n = f.features.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    let bitmap_at = out.len();
    out.resize(bitmap_at + n.div_ceil(8), 0);
    for (i, v) in f.features[..n].iter().enumerate() {
        if let Some(v) = v {
            out[bitmap_at + i / 8] |= 1 << (i % 8);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    if let Some(label) = &f.label {
        put_str(out, label);
    }
    if let Some(uid) = &f.uid {
        put_str(out, uid);
    }
    if let Some(c) = f.conn {
        let state = c.state.and_then(|s| ConnState::ALL.iter().position(|x| *x == s)).map_or(0xFF, |i| i as u8);
        let tri = |b: Option<bool>| match b {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        };
        out.extend_from_slice(&[state, tri(c.local_orig), tri(c.local_resp)]);
    }
}

/// Why a message is not a readable batch.
pub use crate::binary::DecodeError;

/// One flow written by [`encode_flow`].
fn read_flow(r: &mut Reader<'_>) -> Result<Flow, DecodeError> {
    let flags = r.u8("flow flags")?;
    if flags & !(F_TUPLE | F_TIMESTAMP | F_LABEL | F_UID | F_CONN) != 0 {
        return r.fail_at(r.at() - 1, format!("unknown flow flags {flags:#04x}"));
    }
    let five_tuple = if flags & F_TUPLE != 0 {
        let src_ip = r.ip()?;
        let src_port = r.u16("source port")?;
        let dst_ip = r.ip()?;
        let dst_port = r.u16("destination port")?;
        let protocol = r.u8("protocol")?;
        Some(FiveTuple { src_ip, src_port, dst_ip, dst_port, protocol })
    } else {
        None
    };
    let timestamp = if flags & F_TIMESTAMP != 0 { Some(r.str("timestamp")?) } else { None };
    let n = r.u16("feature count")? as usize;
    let bitmap = r.take(n.div_ceil(8), "feature bitmap")?;
    let mut features = Vec::with_capacity(n);
    for i in 0..n {
        features.push(if bitmap[i / 8] & (1 << (i % 8)) != 0 { Some(r.f32("feature value")?) } else { None });
    }
    let label = if flags & F_LABEL != 0 { Some(r.str("label")?) } else { None };
    let uid = if flags & F_UID != 0 { Some(r.str("uid")?) } else { None };
    let conn = if flags & F_CONN != 0 {
        let state = match r.u8("connection state")? {
            0xFF => None,
            i => match ConnState::ALL.get(i as usize) {
                Some(s) => Some(*s),
                None => return r.fail_at(r.at() - 1, format!("connection state {i} is unknown")),
            },
        };
        let mut tri = |what: &str| match r.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(false)),
            2 => Ok(Some(true)),
            other => r.fail_at(r.at() - 1, format!("{what} {other} is not 0, 1 or 2")),
        };
        let local_orig = tri("local_orig")?;
        let local_resp = tri("local_resp")?;
        Some(ConnMeta { state, local_orig, local_resp })
    } else {
        None
    };
    Ok(Flow { five_tuple, timestamp, features, label, uid, conn })
}

/// `message` ([`encode`]) packed with LZ4 for the bus, or itself when that would not be smaller.
pub fn pack(message: Vec<u8>) -> Vec<u8> {
    let block = lz4_flex::block::compress(&message);
    if block.len() + 8 >= message.len() {
        return message;
    }
    let mut out = Vec::with_capacity(block.len() + 8);
    out.extend_from_slice(PACKED);
    out.extend_from_slice(&(message.len() as u32).to_le_bytes());
    out.extend_from_slice(&block);
    out
}

/// The plain message of `bytes`: unpacked when [`pack`] packed it, else `bytes` themselves.
pub fn unpack(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DecodeError> {
    if !bytes.starts_with(PACKED) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut r = Reader::new(bytes);
    r.take(4, "magic")?;
    let len = r.u32("unpacked length")? as usize;
    let block = &bytes[r.at()..];
    if len > MAX_UNPACKED || len > block.len().saturating_mul(MAX_EXPANSION) {
        return r.fail_at(
            4,
            format!("an unpacked length of {len} bytes from a {}-byte block is not believable", block.len()),
        );
    }
    let mut out = vec![0u8; len];
    match lz4_flex::block::decompress_into(block, &mut out) {
        Ok(n) if n == len => Ok(std::borrow::Cow::Owned(out)),
        Ok(n) => r.fail(format!("the block unpacks to {n} bytes, not the {len} it claims")),
        Err(e) => r.fail(format!("not an LZ4 block: {e}")),
    }
}

/// Decodes a message written by [`encode`], packed ([`pack`]) or not.
pub fn decode(bytes: &[u8]) -> Result<(Header, Vec<Flow>), DecodeError> {
    let plain = unpack(bytes)?;
    decode_plain(&plain)
}

fn decode_plain(bytes: &[u8]) -> Result<(Header, Vec<Flow>), DecodeError> {
    let mut r = Reader::new(bytes);
    if r.take(4, "magic")? != MAGIC {
        return Err(DecodeError { at: 0, what: "not a batch message (the magic is not AFB1)".into() });
    }
    let n = r.u32("header length")? as usize;
    let start = r.at();
    let header: Header = serde_json::from_slice(r.take(n, "header")?)
        .map_err(|e| DecodeError { at: start, what: format!("header: {e}") })?;
    let count = r.u32("flow count")? as usize;
    // Each flow takes at least 3 bytes: a count beyond that is a lie, not a reason to allocate.
    if count > r.left() / 3 {
        return r.fail(format!("{count} flows cannot fit in {} bytes", r.left()));
    }
    let mut flows = Vec::with_capacity(count);
    for _ in 0..count {
        flows.push(read_flow(&mut r)?);
    }
    if r.left() != 0 {
        return r.fail(format!("{} bytes after the last flow", r.left()));
    }
    Ok((header, flows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn header() -> Header {
        Header {
            source: "zeek".into(),
            token_id: Some(3),
            received_at: 7,
            rejected: 1,
            skipped: 2,
            signatures: Vec::new(),
        }
    }

    fn arb_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![any::<[u8; 4]>().prop_map(IpAddr::from), any::<[u8; 16]>().prop_map(IpAddr::from)]
    }

    fn arb_flow() -> impl Strategy<Value = Flow> {
        let tuple = (arb_ip(), any::<u16>(), arb_ip(), any::<u16>(), any::<u8>()).prop_map(
            |(src_ip, src_port, dst_ip, dst_port, protocol)| FiveTuple { src_ip, src_port, dst_ip, dst_port, protocol },
        );
        let conn = (
            proptest::option::of(proptest::sample::select(ConnState::ALL.to_vec())),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(state, local_orig, local_resp)| ConnMeta { state, local_orig, local_resp });
        (
            proptest::option::of(tuple),
            proptest::option::of(".{0,30}"),
            proptest::collection::vec(
                proptest::option::of(any::<f32>().prop_filter("finite", |v| v.is_finite())),
                0..100,
            ),
            proptest::option::of(".{0,12}"),
            proptest::option::of("[A-Za-z0-9]{0,18}"),
            proptest::option::of(conn),
        )
            .prop_map(|(five_tuple, timestamp, features, label, uid, conn)| Flow {
                five_tuple,
                timestamp,
                features,
                label,
                uid,
                conn,
            })
    }

    proptest! {
        #[test]
        fn flows_round_trip(flows in proptest::collection::vec(arb_flow(), 0..20)) {
            let bytes = encode(&header(), &flows);
            let (h, back) = decode(&bytes).unwrap();
            prop_assert_eq!(h, header());
            prop_assert_eq!(back, flows);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn a_cut_or_altered_message_is_an_error_or_another_batch(
            flows in proptest::collection::vec(arb_flow(), 1..5),
            cut in any::<proptest::sample::Index>(),
            flip in any::<proptest::sample::Index>(),
        ) {
            let bytes = encode(&header(), &flows);
            let n = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..n]).is_err(), "a message cut at {} of {} bytes decoded", n, bytes.len());
            let mut altered = bytes.clone();
            altered[flip.index(bytes.len())] ^= 0xA5;
            let _ = decode(&altered);
        }
    }

    #[test]
    fn packed_messages_read_back_and_damage_is_refused_before_allocating() {
        // Real rows: the shipped CIC-IDS2017 attack sample.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/cicids2017/fixtures/cicids2017_attacks_sample.csv");
        let (flows, _, _) = crate::engine::csv::FlowReader::open(&path).unwrap().read_all();
        assert_eq!(flows.len(), 24);
        let plain = encode(&header(), &flows);
        let packed = pack(plain.clone());
        assert!(packed.starts_with(PACKED) && packed.len() * 2 < plain.len(), "{} of {}", packed.len(), plain.len());
        assert_eq!(decode(&packed).unwrap(), decode(&plain).unwrap());
        // What LZ4 cannot shrink travels plain.
        let tiny = encode(&header(), &[]);
        assert_eq!(pack(tiny.clone()), tiny);
        // A claimed length beyond LZ4's expansion, or beyond the cap, allocates nothing.
        let mut lie = packed.clone();
        lie[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = decode(&lie).unwrap_err();
        assert!(e.to_string().contains("not believable"), "{e}");
        let mut short = packed.clone();
        short[4..8].copy_from_slice(&((plain.len() + 1) as u32).to_le_bytes());
        assert!(decode(&short).unwrap_err().to_string().contains("unpacks to"), "a length that does not match");
        let cut = &packed[..packed.len() - 10];
        assert!(decode(cut).is_err());
    }

    #[test]
    fn errors_name_the_offset_and_what_was_wrong() {
        assert_eq!(decode(b"JSON").unwrap_err().what, "not a batch message (the magic is not AFB1)");
        let mut bytes = encode(&header(), &[]);
        let n = bytes.len();
        bytes[n - 4..].copy_from_slice(&1_000_000u32.to_le_bytes());
        let e = decode(&bytes).unwrap_err();
        assert!(e.what.contains("1000000 flows cannot fit"), "{e}");
        let e = decode(&[&encode(&header(), &[])[..], b"x"].concat()).unwrap_err();
        assert!(e.what.contains("after the last flow"), "{e}");
    }

    #[test]
    fn a_real_flow_takes_a_third_of_its_json() {
        let flow = Flow {
            five_tuple: Some(FiveTuple {
                src_ip: "10.0.0.1".parse().unwrap(),
                src_port: 51514,
                dst_ip: "192.0.2.7".parse().unwrap(),
                dst_port: 443,
                protocol: 6,
            }),
            timestamp: Some("2026-12-06 10:00:00.123456".into()),
            features: (0..crate::flow::FEATURES.len()).map(|i| Some(i as f32 * 1234.567)).collect(),
            label: None,
            uid: Some("CxS1ZP3Cd2jm3ZYeWb".into()),
            conn: Some(ConnMeta { state: Some(ConnState::SF), local_orig: Some(true), local_resp: None }),
        };
        let mut binary = Vec::new();
        encode_flow(&flow, &mut binary);
        let json = serde_json::to_vec(&flow).unwrap();
        assert!(binary.len() * 2 < json.len(), "{} bytes binary, {} JSON", binary.len(), json.len());
    }
}
