//! The IOC check (server only): everything known about one value — an address, a network, a domain,
//! a URL or a file hash — from threat intel, alerts, the flow history, employee reports and the asset
//! inventory. Behind `/ioc`, `GET /api/v1/ioc` and `anomalyforge ioc`.
//!
//! Alerts and stored flows carry addresses, not names: a domain, URL or hash is answered from intel
//! and reports only, and the result says so by leaving `flows` empty.

use std::net::IpAddr;

use super::catalog::{HostPeers, IocCheck, Talker};
use super::import::IntelError;
use super::Indicator;
use crate::enrich::Enricher;
use crate::flow_history::FlowSort;
use crate::store::flows::{FlowFilter, FlowTerm, SearchBudget, Side};
use crate::store::Db;

/// Alerts and flows an IOC check lists at most (the totals count them all).
pub const LISTED: i64 = 20;

/// Checks `value` at `now`.
pub async fn check(db: &Db, enricher: Option<&Enricher>, value: &str, now: i64) -> Result<IocCheck, IntelError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(IntelError::Invalid("give an address, network, domain, URL or file hash".into()));
    }
    let ind = Indicator::parse(value).map_err(|e| IntelError::Invalid(e.to_string()))?;
    let intel = db.intel_about(&ind, now).await?;
    let net: Option<(IpAddr, u8)> = match &ind {
        Indicator::Ip(ip) => Some((*ip, if ip.is_ipv4() { 32 } else { 128 })),
        Indicator::Cidr(c) => Some((c.network(), c.prefix_len())),
        _ => None,
    };
    let (mut alerts, mut alerts_total, mut flows) = (Vec::new(), 0, None);
    if let Some((ip, prefix)) = net {
        let ips: Vec<String> = match &ind {
            Indicator::Ip(ip) => vec![ip.to_string()],
            _ => db
                .alert_addresses()
                .await?
                .into_iter()
                .filter(|a| a.parse::<IpAddr>().is_ok_and(|a| ind.contains_ip(a)))
                .collect(),
        };
        if !ips.is_empty() {
            (alerts, alerts_total) = db.alerts_about(&ips, LISTED).await?;
        }
        let filter =
            FlowFilter { from: None, until: None, terms: vec![(FlowTerm::Addr(Side::Any, vec![(ip, prefix)]), false)] };
        flows = Some(db.hunt_flows(&filter, FlowSort::Newest, None, LISTED, SearchBudget::default()).await?);
    }
    let reported = match &ind {
        Indicator::Ip(_) | Indicator::Domain(_) => db.reports_of(&ind.to_string(), LISTED).await?,
        _ => Vec::new(),
    };
    let peers = match (&ind, &flows) {
        (Indicator::Ip(ip), Some(f)) if f.matched > 0 => Some(host_peers(db, *ip).await?),
        _ => None,
    };
    let (asset, country) = match &ind {
        Indicator::Ip(ip) => (db.asset_by_ip(&ip.to_string()).await?, enricher.and_then(|e| e.country(*ip))),
        _ => (None, None),
    };
    Ok(IocCheck {
        value: ind.to_string(),
        kind: ind.kind(),
        intel,
        alerts,
        alerts_total,
        flows,
        reports: reported,
        asset,
        country,
        peers,
    })
}

/// Stored flows of the last day a host's peers and ports are counted over.
pub const PEERS_SPAN_MS: i64 = 86_400_000;
/// Peers and ports listed at most.
pub const PEERS_LISTED: i64 = 10;

/// Whom `ip` talked to, who talked to it and on which ports, over the last day of stored flows.
async fn host_peers(db: &Db, ip: IpAddr) -> Result<HostPeers, IntelError> {
    let Some((_, last)) = db.flow_time_range().await? else {
        return Ok(HostPeers::default());
    };
    let (from, until) = (last + 1 - PEERS_SPAN_MS, last + 1);
    let prefix = if ip.is_ipv4() { 32 } else { 128 };
    let side = |side: Side| FlowFilter {
        from: None,
        until: None,
        terms: vec![(FlowTerm::Addr(side, vec![(ip, prefix)]), false)],
    };
    let talkers = |rows: Vec<(String, i64, i64)>| {
        rows.into_iter().map(|(value, flows, bytes)| Talker { value, flows, bytes }).collect::<Vec<_>>()
    };
    Ok(HostPeers {
        from,
        until,
        contacted: talkers(db.top_flow_values(&side(Side::Src), from, until, "dst", PEERS_LISTED).await?),
        contacted_by: talkers(db.top_flow_values(&side(Side::Dst), from, until, "src", PEERS_LISTED).await?),
        ports: talkers(db.top_flow_values(&side(Side::Any), from, until, "dport", PEERS_LISTED).await?),
    })
}
