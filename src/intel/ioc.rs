//! The IOC check (server only): everything known about one value — an address, a network, a domain,
//! a URL or a file hash — from threat intel, alerts, the flow history, employee reports and the asset
//! inventory. Behind `/ioc`, `GET /api/v1/ioc` and `anomalyforge ioc`.
//!
//! Alerts and stored flows carry addresses, not names: a domain, URL or hash is answered from intel
//! and reports only, and the result says so by leaving `flows` empty.

use std::net::IpAddr;

use super::catalog::IocCheck;
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
    })
}
