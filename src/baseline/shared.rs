//! Every instance's site sample, for learning the network's normal in a cluster.
//!
//! Each instance samples the flows it scores ([`super::sample`]). With the ingest bus an instance
//! scores the hosts of its partitions only ([`crate::bus::partition`]), so its sample covers its
//! share of the network. On PostgreSQL every instance writes its sample to `site_samples` every
//! [`SHARE_EVERY`]; "learn this network's normal" (scheduled on the leader, or asked for on any
//! instance) merges the samples written in the last [`FRESH_FOR`] with its own live one, in
//! proportion to the flows each was drawn from ([`merge`]), so the result is again a uniform sample
//! of everything the cluster scored. A sample older than that (an instance that stopped) is left
//! out, and housekeeping removes it after [`KEEP_FOR`].
//!
//! The stored form is gzip over a small binary layout (integers little-endian):
//!
//! ```text
//! sample  = "AFS1" profiles:u8 profile*
//! profile = name_len:u8 name  seen:u64  width:u16  rows:u32  row*
//! row     = flags:u8 (1 src, 2 dst, 4 alerted)  [ip] [ip]  width × f32      ip = 4 a.b.c.d | 6 sixteen bytes
//! ```
//!
//! Reading checks every length against what is left, so a damaged sample is an error naming the
//! offset, never a panic or an allocation larger than the data.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sample::{Sampled, SiteSample};
use crate::binary::{put_ip, DecodeError, Reader};
use crate::detection::FeatureProfile;
use crate::engine::features::Schema;
use crate::store::{now_ms, Db};

/// How often an instance writes its sample.
pub const SHARE_EVERY: Duration = Duration::from_secs(300);
/// Samples written this recently are merged (ms): three periods, so one late write is not missed.
pub const FRESH_FOR: i64 = 3 * 300 * 1000;
/// Samples older than this are deleted (ms).
pub const KEEP_FOR: i64 = 24 * 3600 * 1000;
/// The most rows one profile of a stored sample may claim (bounds what a damaged sample allocates).
const MAX_ROWS: usize = 10_000_000;

const MAGIC: &[u8; 4] = b"AFS1";

/// Every profile's sample and how many flows it was drawn from ([`SiteSample::snapshot`]).
pub type Snapshot = Vec<(FeatureProfile, u64, Vec<Sampled>)>;

/// The stored form of `snapshot`: [`encode_raw`], gzip'd.
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&encode_raw(snapshot));
    gz.finish().unwrap_or_default()
}

/// `snapshot` in the binary layout of the module docs.
pub fn encode_raw(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(snapshot.len() as u8);
    for (profile, seen, rows) in snapshot {
        let name = profile.name().as_bytes();
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&seen.to_le_bytes());
        let width = Schema::for_profile(*profile).len();
        out.extend_from_slice(&(width as u16).to_le_bytes());
        out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
        for r in rows {
            let flags = u8::from(r.src.is_some()) | u8::from(r.dst.is_some()) << 1 | u8::from(r.alerted) << 2;
            out.push(flags);
            for ip in [r.src, r.dst].into_iter().flatten() {
                put_ip(&mut out, ip);
            }
            for i in 0..width {
                out.extend_from_slice(&r.values.get(i).copied().unwrap_or(f32::NAN).to_le_bytes());
            }
        }
    }
    out
}

/// A stored sample again ([`encode`]).
pub fn decode(stored: &[u8]) -> Result<Snapshot, DecodeError> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(stored)
        .take(1 << 30)
        .read_to_end(&mut bytes)
        .map_err(|e| DecodeError { at: 0, what: format!("not gzip: {e}") })?;
    decode_raw(&bytes)
}

/// A sample in the binary layout ([`encode_raw`]). Its profiles must have this build's widths.
pub fn decode_raw(bytes: &[u8]) -> Result<Snapshot, DecodeError> {
    let mut r = Reader::new(bytes);
    if r.take(4, "the magic")? != MAGIC {
        return r.fail_at(0, "not a site sample (no AFS1)");
    }
    let profiles = r.u8("the profile count")?;
    let mut out = Vec::with_capacity(usize::from(profiles));
    for _ in 0..profiles {
        let len = usize::from(r.u8("a profile name")?);
        let name = r.take(len, "a profile name")?;
        let name = std::str::from_utf8(name).unwrap_or("");
        let Some(profile) = FeatureProfile::parse(name) else { return r.fail(format!("unknown profile `{name}`")) };
        let seen = r.u64("a flow count")?;
        let width = usize::from(r.u16("a width")?);
        let schema = Schema::for_profile(profile);
        if width != schema.len() {
            return r.fail(format!("{name} has {width} features here, {} in this build", schema.len()));
        }
        let n = r.u32("a row count")? as usize;
        // Each row takes at least 1 + 4·width bytes: a count beyond what is left is damage.
        if n > MAX_ROWS || n.saturating_mul(1 + 4 * width) > r.left() {
            return r.fail(format!("{n} rows of {name} do not fit in what is left"));
        }
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let flags = r.u8("a row")?;
            let src = if flags & 1 != 0 { Some(r.ip()?) } else { None };
            let dst = if flags & 2 != 0 { Some(r.ip()?) } else { None };
            let values = (0..width).map(|_| r.f32("a row's values")).collect::<Result<_, _>>()?;
            rows.push(Sampled { values, src, dst, alerted: flags & 4 != 0 });
        }
        out.push((profile, seen, rows));
    }
    Ok(out)
}

/// One sample of everything `own` and `others` were drawn from: per profile, each sample gives
/// rows in proportion to the flows it saw (`capacity × seen / all seen`, at most what it kept),
/// picked uniformly from it, so every flow scored anywhere had about the same chance to be kept.
pub fn merge(own: Snapshot, others: Vec<Snapshot>, capacity: usize) -> Snapshot {
    if others.is_empty() {
        return own;
    }
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    FeatureProfile::ALL
        .into_iter()
        .map(|profile| {
            let parts: Vec<(u64, Vec<Sampled>)> = std::iter::once(&own)
                .chain(others.iter())
                .flat_map(|s| s.iter().filter(|(p, _, _)| *p == profile))
                .map(|(_, seen, rows)| (*seen, rows.clone()))
                .collect();
            let seen: u64 = parts.iter().map(|(s, _)| s).sum();
            let mut merged = Vec::new();
            for (part_seen, mut rows) in parts {
                let share = if seen == 0 { 0.0 } else { capacity as f64 * part_seen as f64 / seen as f64 };
                let n = (share.round() as usize).min(rows.len());
                // A partial Fisher–Yates shuffle: the first n are a uniform pick.
                for i in 0..n {
                    let j = i + (next() % (rows.len() - i) as u64) as usize;
                    rows.swap(i, j);
                }
                rows.truncate(n);
                merged.extend(rows);
            }
            (profile, seen, merged)
        })
        .collect()
}

/// Writes this instance's sample every [`SHARE_EVERY`] (PostgreSQL, several instances), and
/// deletes samples past [`KEEP_FOR`].
pub fn spawn_share(db: Db, sample: Arc<Mutex<SiteSample>>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SHARE_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            let (id, snapshot) = {
                let s = sample.lock().unwrap_or_else(|e| e.into_inner());
                (s.id().to_string(), s.snapshot())
            };
            let stored = match tokio::task::spawn_blocking(move || encode(&snapshot)).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(error = %e, "encoding the site sample failed");
                    continue;
                }
            };
            let now = now_ms();
            if let Err(e) = db.put_site_sample(&id, now, &stored).await {
                tracing::warn!(error = %e, "sharing the site sample failed; learning elsewhere goes without it");
            }
            match db.prune_site_samples(now - KEEP_FOR).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(samples = n, "site samples of stopped instances deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting old site samples failed"),
            }
        }
    });
}

/// `own` merged with the other instances' samples written in the last [`FRESH_FOR`]; and how many
/// samples went in. An unreadable stored sample is left out, saying why.
pub async fn gather(db: &Db, own_id: &str, own: Snapshot, capacity: usize) -> (Snapshot, usize) {
    let stored = match db.site_samples_since(now_ms() - FRESH_FOR, own_id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the other instances' site samples; learning from this one");
            return (own, 1);
        }
    };
    let decoded = tokio::task::spawn_blocking(move || {
        stored
            .into_iter()
            .filter_map(|(id, bytes)| match decode(&bytes) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(instance_sample = %id, error = %e, "a stored site sample is left out");
                    None
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let n = decoded.len() + 1;
    (merge(own, decoded, capacity), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use std::net::IpAddr;

    fn row(width: usize, v: f32, src: Option<IpAddr>, alerted: bool) -> Sampled {
        Sampled { values: vec![v; width].into_boxed_slice(), src, dst: None, alerted }
    }

    fn conn_width() -> usize {
        Schema::for_profile(FeatureProfile::Conn).len()
    }

    #[test]
    fn a_sample_reads_back_as_it_was_written() {
        let w = conn_width();
        let mut rows = vec![row(w, 1.5, Some("10.0.0.1".parse().unwrap()), true), row(w, f32::NAN, None, false)];
        rows[1].dst = Some("2001:db8::7".parse().unwrap());
        let snap: Snapshot = vec![(FeatureProfile::Conn, 42, rows.clone()), (FeatureProfile::Cicflowmeter, 0, vec![])];
        let back = decode(&encode(&snap)).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].0, back[0].1), (FeatureProfile::Conn, 42));
        assert_eq!(back[0].2[0], rows[0]);
        assert!(back[0].2[1].values.iter().all(|v| v.is_nan()) && back[0].2[1].dst == rows[1].dst);
        assert!(back[1].2.is_empty());
    }

    #[test]
    fn damage_is_an_error_naming_where() {
        assert!(decode(b"not gzip").unwrap_err().what.contains("not gzip"));
        let w = conn_width();
        let stored = encode(&vec![(FeatureProfile::Conn, 1, vec![row(w, 1.0, None, false)])]);
        let mut good = Vec::new();
        flate2::read::GzDecoder::new(&stored[..]).read_to_end(&mut good).unwrap();
        let zip = |raw: &[u8]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(raw).unwrap();
            gz.finish().unwrap()
        };
        let e = decode(&zip(&good[..good.len() - 3])).unwrap_err();
        assert!(e.what.contains("bytes needed") || e.what.contains("do not fit"), "{e}");
        let mut huge = good.clone();
        let at = 4 + 1 + 1 + 4 + 8 + 2; // the row count of the first profile
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&zip(&huge)).unwrap_err().what.contains("do not fit"));
        let mut width = good;
        width[4 + 1 + 1 + 4 + 8] ^= 1;
        assert!(decode(&zip(&width)).unwrap_err().what.contains("features here"));
    }

    #[test]
    fn merged_samples_weigh_each_by_the_flows_it_saw() {
        let w = conn_width();
        // A saw 90,000 flows (its rows carry 1.0), B 10,000 (2.0); each kept 1,000.
        let a: Snapshot = vec![(FeatureProfile::Conn, 90_000, (0..1000).map(|_| row(w, 1.0, None, false)).collect())];
        let b: Snapshot = vec![(FeatureProfile::Conn, 10_000, (0..1000).map(|_| row(w, 2.0, None, false)).collect())];
        let merged = merge(a.clone(), vec![b], 1000);
        let (_, seen, rows) = merged.iter().find(|(p, _, _)| *p == FeatureProfile::Conn).unwrap();
        assert_eq!((*seen, rows.len()), (100_000, 1000));
        assert_eq!(rows.iter().filter(|r| r.values[0] == 1.0).count(), 900);
        // Alone, a sample is itself.
        assert_eq!(merge(a.clone(), Vec::new(), 1000), a);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
            // Past the magic, as a damaged sample would be.
            let mut raw = MAGIC.to_vec();
            raw.extend_from_slice(&bytes);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&raw).unwrap();
            let _ = decode(&gz.finish().unwrap());
        }
    }
}
