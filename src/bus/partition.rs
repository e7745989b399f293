//! Partitions of the ingest bus: every flow of one source host goes to the same partition, so the
//! instance that owns the partition ([`super::ownership`]) sees all of that host's traffic.
//!
//! The behaviour detectors (beacons, scans, brute force, floods and exfiltration) and the ML gate
//! all keep their state by the flow's source address (`src`, or the `(src, dst)` pair). Before the
//! bus was partitioned, a host's batches went to whichever instance pulled them, so each instance
//! saw part of a beacon's connections: a pattern split across instances was seen later or not at
//! all. With partitions, an instance sees every connection of the hosts it owns, exactly as a single
//! instance does.
//!
//! The partition of an address is FNV-1a of its bytes, mixed, modulo the partition count: the same on every
//! instance and every version, so instances agree without talking. A flow without addresses has no
//! behaviour state; those are spread by their position in the batch.

use std::net::IpAddr;

use crate::pipeline::Batch;

/// The partition of a source address, of `partitions`.
pub fn of_ip(ip: IpAddr, partitions: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    match ip {
        IpAddr::V4(v) => eat(&v.octets()),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            // `::ffff:a.b.c.d` is the same host as `a.b.c.d`.
            Some(v4) => eat(&v4.octets()),
            None => eat(&v.octets()),
        },
    }
    // FNV's low bits depend only on the inputs' low bits (10.0.0.1 and 10.0.0.9 would share a
    // partition of 8): mix all bits down first (MurmurHash3's finaliser).
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % partitions.max(1) as u64) as usize
}

/// `batch` cut into one batch per partition that has records, in partition order. The parts keep
/// the batch's source, token and arrival time; the counts of rejected and skipped records travel
/// with the first part. A batch with no records at all is one empty part on partition 0, so its
/// counts are still stored.
pub fn split(batch: Batch, partitions: usize) -> Vec<(usize, Batch)> {
    let partitions = partitions.max(1);
    let mut parts: Vec<Option<Batch>> = (0..partitions).map(|_| None).collect();
    let empty = |b: &Batch| Batch {
        source: b.source,
        token_id: b.token_id,
        origin: b.origin.clone(),
        bus_ids: Vec::new(),
        flows: Vec::new(),
        signatures: Vec::new(),
        rejected: 0,
        skipped: 0,
        received_at: b.received_at,
        received: b.received,
    };
    let mut template = empty(&batch);
    let (flows, signatures, rejected, skipped) = (batch.flows, batch.signatures, batch.rejected, batch.skipped);
    for (i, flow) in flows.into_iter().enumerate() {
        let k = flow.five_tuple.map_or(i % partitions, |t| of_ip(t.src_ip, partitions));
        parts[k].get_or_insert_with(|| empty(&template)).flows.push(flow);
    }
    for signature in signatures {
        let k = of_ip(signature.five_tuple.src_ip, partitions);
        parts[k].get_or_insert_with(|| empty(&template)).signatures.push(signature);
    }
    let mut out: Vec<(usize, Batch)> = parts.into_iter().enumerate().filter_map(|(k, b)| b.map(|b| (k, b))).collect();
    if out.is_empty() {
        template.rejected = rejected;
        template.skipped = skipped;
        return vec![(0, template)];
    }
    out[0].1.rejected = rejected;
    out[0].1.skipped = skipped;
    out
}

/// Batches of one partition taken together, as one batch: their records in order, their counts
/// summed, every part's ids, and the earliest arrival. The parts must share source, token and origin
/// (one statistics row names them); the first part's are kept.
pub fn merge(parts: Vec<Batch>) -> Option<Batch> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        merged.flows.extend(part.flows);
        merged.signatures.extend(part.signatures);
        merged.rejected += part.rejected;
        merged.skipped += part.skipped;
        merged.bus_ids.extend(part.bus_ids);
        merged.received_at = merged.received_at.min(part.received_at);
        merged.received = merged.received.min(part.received);
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{FiveTuple, Flow};
    use crate::pipeline::Source;
    use proptest::prelude::*;

    fn bare(label: String) -> Flow {
        Flow { five_tuple: None, timestamp: None, features: Vec::new(), label: Some(label), uid: None, conn: None }
    }

    fn flow(src: [u8; 4], n: u16) -> Flow {
        Flow {
            five_tuple: Some(FiveTuple {
                src_ip: IpAddr::from(src),
                src_port: n,
                dst_ip: IpAddr::from([198, 51, 100, 7]),
                dst_port: 443,
                protocol: 6,
            }),
            ..bare(String::new())
        }
    }

    #[test]
    fn an_address_has_one_partition_everywhere() {
        // Fixed values: instances of every version must agree on them.
        let ip = IpAddr::from([192, 168, 1, 107]);
        let first = of_ip(ip, 8);
        assert_eq!((0..100).map(|_| of_ip(ip, 8)).collect::<std::collections::HashSet<_>>().len(), 1);
        assert_eq!(of_ip("::ffff:192.168.1.107".parse().unwrap(), 8), first, "a mapped address is the same host");
        assert_eq!(of_ip(ip, 1), 0);
        assert_eq!(
            [of_ip(ip, 8), of_ip(IpAddr::from([10, 0, 0, 1]), 8), of_ip("2001:db8::1".parse().unwrap(), 8)],
            [3, 1, 7]
        );
        // Spread: 1,000 hosts of one /22 over 8 partitions, none far from its share.
        let mut counts = [0usize; 8];
        for i in 0..1000u32 {
            counts[of_ip(IpAddr::from([10, 1, (i / 256) as u8, (i % 256) as u8]), 8)] += 1;
        }
        assert!(counts.iter().all(|&c| (90..=160).contains(&c)), "{counts:?}");
        // Addresses that differ only in high bits (every eighth host) spread too.
        let used: std::collections::HashSet<usize> =
            (0..32u8).map(|i| of_ip(IpAddr::from([10, 0, 0, i * 8]), 8)).collect();
        assert_eq!(used.len(), 8);
    }

    #[test]
    fn counts_travel_with_the_first_part_and_an_empty_batch_keeps_them() {
        let mut batch = Batch::new(Source::Zeek, Some(4), vec![flow([10, 0, 0, 1], 1), flow([10, 0, 0, 2], 2)], vec![]);
        (batch.rejected, batch.skipped) = (3, 1);
        let parts = split(batch, 8);
        assert_eq!(parts.iter().map(|(_, b)| b.rejected).sum::<usize>(), 3);
        assert_eq!((parts[0].1.rejected, parts[0].1.skipped), (3, 1));
        assert!(parts.iter().all(|(_, b)| b.token_id == Some(4) && b.source == Source::Zeek));
        let mut empty = Batch::new(Source::Csv, None, vec![], vec![]);
        empty.rejected = 5;
        let parts = split(empty, 8);
        assert_eq!(parts.len(), 1);
        assert_eq!((parts[0].0, parts[0].1.rejected, parts[0].1.flows.len()), (0, 5, 0));
    }

    #[test]
    fn parts_merge_back_into_one_batch() {
        let mut a = Batch::new(Source::Csv, Some(1), vec![flow([10, 0, 0, 1], 1)], vec![]);
        (a.rejected, a.bus_ids) = (2, vec![("x/3".into(), 1)]);
        let mut b = Batch::new(Source::Csv, Some(1), vec![flow([10, 0, 0, 9], 2), flow([10, 0, 0, 9], 3)], vec![]);
        (b.skipped, b.bus_ids, b.received_at) = (1, vec![("y/3".into(), 2)], a.received_at - 5);
        let m = merge(vec![a, b]).unwrap();
        assert_eq!(m.flows.iter().map(|f| f.five_tuple.unwrap().src_port).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!((m.rejected, m.skipped, m.token_id), (2, 1, Some(1)));
        assert_eq!(m.bus_ids, [("x/3".to_string(), 1), ("y/3".to_string(), 2)]);
        assert!(merge(Vec::new()).is_none());
    }

    proptest! {
        #[test]
        fn every_record_lands_once_and_a_host_on_one_partition(
            hosts in proptest::collection::vec((any::<[u8; 4]>(), any::<bool>()), 0..200),
            partitions in 1usize..20,
        ) {
            let flows: Vec<Flow> = hosts
                .iter()
                .enumerate()
                .map(|(i, (h, tuple))| if *tuple { flow(*h, i as u16) } else { bare(i.to_string()) })
                .collect();
            let n = flows.len();
            let parts = split(Batch::new(Source::Flows, None, flows, vec![]), partitions);
            prop_assert!(parts.windows(2).all(|w| w[0].0 < w[1].0), "in partition order, one part each");
            prop_assert!(parts.iter().all(|(k, _)| *k < partitions));
            prop_assert_eq!(parts.iter().map(|(_, b)| b.flows.len()).sum::<usize>(), n);
            let mut seen = std::collections::HashMap::new();
            for (k, b) in &parts {
                for f in &b.flows {
                    if let Some(t) = f.five_tuple {
                        prop_assert_eq!(*seen.entry(t.src_ip).or_insert(*k), *k, "a host on two partitions");
                        prop_assert_eq!(of_ip(t.src_ip, partitions), *k);
                    }
                }
            }
        }
    }
}
