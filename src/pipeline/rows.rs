//! A scored batch turned into rows: detections grouped by dedup key into alerts (only the riskiest
//! flow of each run explained), enrichment, suppression, threat-intel matches, traffic per minute and
//! the busiest talkers; and the alert builders every detector shares.

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::json;

use super::{Batch, PipelineError};
use crate::alert::{Detector, INTEL_THREAT, SIGNATURE_THREAT};
use crate::behaviour::Finding;
use crate::detection::{FeatureProfile, Verdict};
use crate::enrich::Enricher;
use crate::flow::{feature_index, FiveTuple, Flow};
use crate::ingest::{time, SignatureAlert};
use crate::intel::matcher::IndicatorRef;
use crate::playbook::UNKNOWN_ANOMALY;
use crate::store::alerts::{merge_detections, BatchStats, NewAlert, PersistBatch, TrafficCount, TrafficKey};
use crate::store::flows::{FlowBatch, NewFlow};
use crate::traffic::{Dim, TopCounter, TopKey, Volume};

/// A scored batch turned into rows.
pub(super) struct Prepared {
    pub(super) persist: PersistBatch,
    /// The scored flows, for the flow history (empty when it is off).
    pub(super) flows: FlowBatch,
    pub(super) detections: usize,
    pub(super) behaviour: usize,
    /// Per source country: flows, bytes, alerting flows (for the live stream).
    pub(super) live_traffic: HashMap<String, (u64, u64, u64)>,
}

/// Bytes both ways of a flow, from its payload totals (0 when the source does not give them).
fn flow_bytes(f: &Flow) -> i64 {
    let v = f.volumes();
    i64::try_from(v.fwd_bytes.saturating_add(v.bwd_bytes)).unwrap_or(i64::MAX)
}

/// Detections of one source, target and threat type in a batch: (time, flow index, detector risk).
type Group = Vec<(i64, usize, f32)>;

/// Builds a batch's rows (CPU work, run on the blocking thread with the scoring).
///
/// Detections are grouped by dedup key first, and only the riskiest detection of each run (detections
/// at most `window_ms` apart) becomes an alert with reasons: building and enriching JSON per detection
/// would cost more than scoring when most flows of a batch are one attack.
pub(super) fn prepare(
    batch: &Batch,
    verdicts: &[Verdict],
    findings: &[Finding],
    explain: impl FnOnce(&[usize]) -> Vec<Verdict>,
    enricher: &Enricher,
    window_ms: i64,
    store_flows: bool,
) -> Result<Prepared, PipelineError> {
    if verdicts.len() != batch.flows.len() {
        return Err(PipelineError::Scoring(format!("{} verdicts for {} flows", verdicts.len(), batch.flows.len())));
    }
    let now = batch.received_at;
    // (minute, country, protocol, alerting) → flows, bytes.
    type MinuteKey = (i64, Option<[u8; 2]>, i64, bool);
    let mut traffic: HashMap<MinuteKey, TrafficCount> = HashMap::new();
    let mut top = TopCounter::default();
    let mut assets_seen: HashMap<IpAddr, i64> = HashMap::new();
    // (source, target, threat) → the detections merged into one alert.
    type GroupKey = (Option<IpAddr>, Option<IpAddr>, &'static str);
    let mut groups: HashMap<GroupKey, Group> = HashMap::new();
    let mut flows = Vec::with_capacity(if store_flows { batch.flows.len() } else { 0 });
    // Threat intel: flows to or from a listed address. (source, target, indicator) → (first, last,
    // flows, the listing, which end it lists) for flows no other detector alerted on; every match
    // counts as a hit of its indicator.
    let intel = enricher.intel();
    type Listed = (i64, i64, i64, IndicatorRef, &'static str, FiveTuple);
    let mut listed: HashMap<(IpAddr, IpAddr, i64), Listed> = HashMap::new();
    let mut intel_hits: HashMap<i64, (i64, i64)> = HashMap::new();
    for (i, (f, v)) in batch.flows.iter().zip(verdicts).enumerate() {
        let at = seen_at(f.timestamp.as_deref(), now);
        let country = f.five_tuple.and_then(|t| enricher.country_code(t.src_ip));
        if let (true, Some(t)) = (store_flows, f.five_tuple) {
            flows.push(stored_flow(f, t, v, at, enricher.country_code(t.dst_ip).or(country)));
        }
        if let Some(t) = f.five_tuple {
            for ip in [t.src_ip, t.dst_ip] {
                if enricher.is_internal(ip) {
                    let e = assets_seen.entry(ip).or_insert(at);
                    *e = (*e).max(at);
                }
            }
            if !intel.is_empty() {
                let hit = [(t.src_ip, "source"), (t.dst_ip, "destination")]
                    .into_iter()
                    .filter_map(|(ip, side)| Some((intel.lookup(ip)?, side)))
                    .max_by_key(|(r, side)| (r.confidence, *side == "source"));
                if let Some((r, side)) = hit {
                    let h = intel_hits.entry(r.id).or_insert((0, at));
                    (h.0, h.1) = (h.0 + 1, h.1.max(at));
                    if !v.alert {
                        let e =
                            listed.entry((t.src_ip, t.dst_ip, r.id)).or_insert_with(|| (at, at, 0, r.clone(), side, t));
                        (e.0, e.1, e.2) = (e.0.min(at), e.1.max(at), e.2 + 1);
                    }
                }
            }
        }
        let protocol = f.five_tuple.map_or_else(|| protocol_feature(f), |t| i64::from(t.protocol));
        let minute = at - at.rem_euclid(60_000);
        let c = traffic.entry((minute, country, protocol, v.alert)).or_default();
        c.flows += 1;
        c.bytes += flow_bytes(f);
        let volume = Volume { flows: 1, bytes: flow_bytes(f), alerting: i64::from(v.alert) };
        match f.five_tuple {
            Some(t) => {
                top.add(minute, Dim::Src, TopKey::Ip(t.src_ip), volume);
                top.add(minute, Dim::Dst, TopKey::Ip(t.dst_ip), volume);
                top.add(minute, Dim::Service, TopKey::Service(t.protocol, t.dst_port), volume);
            }
            None => {
                for dim in Dim::ALL {
                    top.add(minute, dim, TopKey::Other, volume);
                }
            }
        }
        if v.alert {
            // The classifier said benign but the ensemble alerted: only the anomaly models fired.
            let threat = if v.class.is_attack() { v.class.name() } else { UNKNOWN_ANOMALY };
            let key = (f.five_tuple.map(|t| t.src_ip), f.five_tuple.map(|t| t.dst_ip), threat);
            groups.entry(key).or_default().push((at, i, v.risk));
        }
    }
    let behaviour = findings.iter().map(|f| f.count as usize).sum::<usize>();
    let detections = groups.values().map(Vec::len).sum::<usize>() + batch.signatures.len() + behaviour;
    // Runs of detections per key: (context, first, last, count, risk sum, the riskiest flow).
    let mut runs: Vec<(crate::enrich::Context, i64, i64, i64, i64, usize)> = Vec::new();
    for ((src, dst, _), mut dets) in groups {
        let ctx = enricher.context(src, dst);
        dets.sort_by_key(|d| d.0);
        let mut start = 0;
        for j in 1..=dets.len() {
            if j == dets.len() || window_ms <= 0 || dets[j].0 - dets[j - 1].0 > window_ms {
                let run = &dets[start..j];
                let &(_, best, _) = run.iter().max_by(|a, b| a.2.total_cmp(&b.2)).unwrap_or(&run[0]);
                let risk_sum = run.iter().map(|d| ctx.weigh(d.2).round() as i64).sum();
                runs.push((ctx.clone(), run[0].0, run[run.len() - 1].0, run.len() as i64, risk_sum, best));
                start = j;
            }
        }
    }
    let representatives: Vec<usize> = runs.iter().map(|r| r.5).collect();
    let explained = explain(&representatives);
    if explained.len() != runs.len() {
        return Err(PipelineError::Scoring(format!("{} explanations for {} alerts", explained.len(), runs.len())));
    }
    let mut alerts: Vec<NewAlert> = Vec::with_capacity(runs.len());
    for ((ctx, first, last, count, risk_sum, best), v) in runs.into_iter().zip(&explained) {
        let mut a = ml_alert(&batch.flows[best], v, now);
        enricher.apply(&ctx, &mut a);
        (a.seen_at, a.last_seen, a.count, a.risk_sum) = (first, last, count, risk_sum);
        alerts.push(a);
    }
    let mut signatures: Vec<NewAlert> = batch
        .signatures
        .iter()
        .map(|s| {
            let mut a = signature_alert(s, now);
            enricher.enrich(&mut a);
            a
        })
        .collect();
    for s in &batch.signatures {
        for ip in [s.five_tuple.src_ip, s.five_tuple.dst_ip] {
            if enricher.is_internal(ip) {
                let at = seen_at(Some(&s.timestamp), now);
                let e = assets_seen.entry(ip).or_insert(at);
                *e = (*e).max(at);
            }
        }
    }
    signatures.extend(findings.iter().map(|f| {
        let mut a = behaviour_alert(f, now);
        enricher.enrich(&mut a);
        a.risk_sum = a.risk * a.count;
        a
    }));
    signatures.extend(listed.into_values().map(|(first, last, n, r, side, t)| {
        let mut a = intel_alert(&r, side, t, first, last, n, false);
        enricher.enrich(&mut a);
        a.risk_sum = a.risk * a.count;
        a
    }));
    signatures = merge_detections(signatures, window_ms);
    alerts.extend(signatures);
    // Suppression rules absorb whole alerts (all their detections), counted on the rule.
    let mut suppressed: HashMap<i64, (i64, i64)> = HashMap::new();
    alerts.retain(|a| match enricher.suppressed_by(a, now) {
        Some(rule) => {
            let hit = suppressed.entry(rule).or_default();
            hit.0 += a.count;
            hit.1 = hit.1.max(a.last_seen);
            false
        }
        None => true,
    });
    let mut suppressed: Vec<(i64, i64, i64)> = suppressed.into_iter().map(|(id, (n, last))| (id, n, last)).collect();
    suppressed.sort_unstable();
    alerts.sort_by(|a, b| (a.seen_at, &a.threat, &a.src_ip).cmp(&(b.seen_at, &b.threat, &b.src_ip)));

    let code = |c: Option<[u8; 2]>| {
        c.map_or_else(|| crate::worldmap::Country::UNKNOWN.to_string(), |c| String::from_utf8_lossy(&c).into_owned())
    };
    let mut live_traffic: HashMap<String, (u64, u64, u64)> = HashMap::new();
    let mut rows: Vec<(TrafficKey, TrafficCount)> = Vec::with_capacity(traffic.len());
    for ((minute, country, protocol, alerting), c) in traffic {
        let country = code(country);
        let live = live_traffic.entry(country.clone()).or_default();
        live.0 += c.flows as u64;
        live.1 += c.bytes as u64;
        live.2 += if alerting { c.flows as u64 } else { 0 };
        rows.push((TrafficKey { minute, country, protocol, verdict: if alerting { "alert" } else { "benign" } }, c));
    }
    rows.sort_by(|a, b| {
        (a.0.minute, &a.0.country, a.0.protocol, a.0.verdict).cmp(&(
            b.0.minute,
            &b.0.country,
            b.0.protocol,
            b.0.verdict,
        ))
    });
    let mut assets_seen: Vec<(String, i64)> = assets_seen.into_iter().map(|(ip, at)| (ip.to_string(), at)).collect();
    assets_seen.sort();
    if let Some(origin) = &batch.origin {
        for a in &mut alerts {
            a.origin = Some(origin.clone());
        }
    }
    Ok(Prepared {
        persist: PersistBatch {
            alerts,
            assets_seen,
            traffic: rows,
            top: top.finish(),
            stats: BatchStats::default(),
            dedup_window_ms: window_ms,
            suppressed,
            intel_hits: {
                let mut hits: Vec<(i64, i64, i64)> = intel_hits.into_iter().map(|(id, (n, at))| (id, n, at)).collect();
                hits.sort_unstable();
                hits
            },
            bus_batches: Vec::new(),
        },
        flows: FlowBatch {
            day: crate::store::flows::day_of(now),
            source: batch.source.as_str().to_string(),
            token_id: batch.token_id,
            flows,
        },
        detections,
        behaviour,
        live_traffic,
    })
}

/// A scored flow with addresses as the flow history stores it.
fn stored_flow(f: &Flow, t: FiveTuple, v: &Verdict, at: i64, cc: Option<[u8; 2]>) -> NewFlow {
    let vol = f.volumes();
    NewFlow {
        at,
        src: t.src_ip,
        dst: t.dst_ip,
        sport: t.src_port,
        dport: t.dst_port,
        proto: t.protocol,
        bytes_out: vol.fwd_bytes,
        bytes_in: vol.bwd_bytes,
        pkts_out: vol.fwd_packets,
        pkts_in: vol.bwd_packets,
        duration_ms: (vol.duration_us / 1000.0) as u64,
        risk: v.risk.round().clamp(0.0, 100.0) as u8,
        threat: if v.anomaly_only() { UNKNOWN_ANOMALY } else { v.class.name() },
        alerted: v.alert,
        profile: match v.profile {
            FeatureProfile::Cicflowmeter => 0,
            FeatureProfile::Conn => 1,
        },
        cc,
    }
}

/// The `Protocol` feature of a flow without a 5-tuple (the 2017 CSV layout), or 0.
fn protocol_feature(f: &Flow) -> i64 {
    static IDX: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let i = *IDX.get_or_init(|| feature_index("Protocol"));
    i.and_then(|i| f.features.get(i).copied().flatten()).map_or(0, |p| p as i64)
}

/// Unix ms of a normalised timestamp, or `fallback`.
fn seen_at(timestamp: Option<&str>, fallback: i64) -> i64 {
    timestamp.and_then(time::iso_to_micros).map(|us| us.div_euclid(1000)).unwrap_or(fallback)
}

/// An alert from a flow the ensemble scored at or above its operating threshold.
pub fn ml_alert(flow: &Flow, v: &Verdict, now: i64) -> NewAlert {
    let t = flow.five_tuple;
    let reasons = json!({
        "class": v.class,
        "class_probability": v.class_probability,
        "profile": v.profile,
        "models": v.models,
        "context": v.context,
        "flow": crate::baseline::sample::flow_record(v.profile, flow),
    });
    let at = seen_at(flow.timestamp.as_deref(), now);
    let risk = v.risk.round().clamp(0.0, 100.0) as i64;
    let threat = if v.class.is_attack() { v.class.name() } else { UNKNOWN_ANOMALY };
    NewAlert {
        seen_at: at,
        last_seen: at,
        count: 1,
        src_ip: t.map(|t| t.src_ip.to_string()),
        src_port: t.map(|t| i64::from(t.src_port)),
        dst_ip: t.map(|t| t.dst_ip.to_string()),
        dst_port: t.map(|t| i64::from(t.dst_port)),
        protocol: t.map(|t| i64::from(t.protocol)),
        threat: threat.to_string(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: Detector::Ml,
        signature: None,
        reasons: reasons.to_string(),
        features: serde_json::to_string(&v.top_features).unwrap_or_else(|_| "[]".into()),
        ..NewAlert::blank()
    }
}

/// An alert from a host-behaviour finding: its count is the connections the finding covers.
pub fn behaviour_alert(f: &Finding, now: i64) -> NewAlert {
    let risk = i64::from(f.risk.min(100));
    let first = if f.first_seen > 0 { f.first_seen } else { now };
    NewAlert {
        seen_at: first,
        last_seen: f.last_seen.max(first),
        count: i64::try_from(f.count.max(1)).unwrap_or(i64::MAX),
        src_ip: Some(f.src.to_string()),
        src_port: None,
        dst_ip: f.dst.map(|ip| ip.to_string()),
        dst_port: f.dst_port.map(i64::from),
        protocol: f.protocol.map(i64::from),
        threat: f.threat.name().to_string(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: Detector::Behaviour,
        signature: None,
        reasons: f.reasons().to_string(),
        features: "[]".into(),
        ..NewAlert::blank()
    }
}

/// An alert from flows of one source and target that a threat-intel indicator lists: `count` flows
/// from `first` to `last` (Unix ms). `retro` marks one found by searching the stored flows after the
/// indicator was imported.
pub fn intel_alert(
    r: &IndicatorRef,
    side: &'static str,
    t: FiveTuple,
    first: i64,
    last: i64,
    count: i64,
    retro: bool,
) -> NewAlert {
    let risk = i64::from(r.risk());
    let reasons = json!({
        "intel_match": {
            "indicator_id": r.id, "indicator": r.value, "source": r.source, "source_id": r.source_id,
            "confidence": r.confidence, "description": r.description, "matched": side, "retro": retro,
        },
    });
    NewAlert {
        seen_at: first,
        last_seen: last.max(first),
        count: count.max(1),
        src_ip: Some(t.src_ip.to_string()),
        src_port: Some(i64::from(t.src_port)),
        dst_ip: Some(t.dst_ip.to_string()),
        dst_port: Some(i64::from(t.dst_port)),
        protocol: Some(i64::from(t.protocol)),
        threat: INTEL_THREAT.to_string(),
        risk,
        risk_sum: risk * count.max(1),
        base_risk: risk,
        detector: Detector::Intel,
        signature: Some(format!("{} listed by {}", r.value, r.source)),
        reasons: reasons.to_string(),
        features: "[]".into(),
        ..NewAlert::blank()
    }
}

/// Risk of a signature alert from Suricata's priority (1 is the most severe).
pub fn signature_risk(severity: u8) -> i64 {
    match severity {
        1 => 90,
        2 => 70,
        3 => 50,
        _ => 30,
    }
}

/// An alert from a Suricata rule match.
pub fn signature_alert(s: &SignatureAlert, now: i64) -> NewAlert {
    let t = s.five_tuple;
    let reasons = json!({
        "signature_id": s.signature_id,
        "category": s.category,
        "suricata_severity": s.severity,
    });
    let at = seen_at(Some(&s.timestamp), now);
    let risk = signature_risk(s.severity);
    NewAlert {
        seen_at: at,
        last_seen: at,
        count: 1,
        src_ip: Some(t.src_ip.to_string()),
        src_port: Some(i64::from(t.src_port)),
        dst_ip: Some(t.dst_ip.to_string()),
        dst_port: Some(i64::from(t.dst_port)),
        protocol: Some(i64::from(t.protocol)),
        threat: SIGNATURE_THREAT.to_string(),
        risk,
        risk_sum: risk,
        base_risk: risk,
        detector: Detector::Signature,
        signature: Some(s.signature.clone()),
        reasons: reasons.to_string(),
        features: "[]".into(),
        ..NewAlert::blank()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_timestamps_become_unix_ms() {
        assert_eq!(seen_at(Some("1970-01-01 00:00:01.500000"), 7), 1500);
        assert_eq!(seen_at(Some("not a time"), 7), 7);
        assert_eq!(seen_at(None, 7), 7);
    }

    #[test]
    fn signature_severity_maps_to_risk() {
        assert_eq!(signature_risk(1), 90);
        assert_eq!(signature_risk(3), 50);
        assert_eq!(signature_risk(0), 30);
    }
}
