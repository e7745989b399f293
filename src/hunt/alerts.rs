//! Hunting alerts (server only): the alerts whose span overlaps the hunt's time range are read
//! newest first, up to [`ALERT_SCAN`], and the query is applied to each
//! ([`HuntQuery::matches_alert`]). Alerts are few next to flows, and their addresses are text, so
//! one pass over the time index answers every filter the flows take, networks included.

use std::net::IpAddr;

use super::search::HuntError;
use super::{AlertHunt, HuntQuery};
use crate::store::Db;

/// Alerts of the time range one hunt reads at most.
pub const ALERT_SCAN: i64 = 20_000;

/// The newest `limit` alerts `q` finds at `now` (Unix ms).
pub async fn search_alerts(db: &Db, q: &HuntQuery, now: i64, limit: usize) -> Result<AlertHunt, HuntError> {
    let (from, until) = q.time_range(now);
    let mut assets: Vec<Vec<IpAddr>> = Vec::with_capacity(q.asset.len());
    for t in &q.asset {
        let mut ips = Vec::new();
        for name in &t.any_of {
            let found = db.asset_addresses(name).await?;
            if found.is_empty() {
                return Err(HuntError::Invalid(format!("asset: no asset is named '{name}' (host name or address)")));
            }
            ips.extend(found);
        }
        assets.push(ips);
    }
    let read = db.alerts_overlapping(from, until, ALERT_SCAN).await?;
    let scanned = read.len() as u64;
    let mut out = AlertHunt { complete: scanned < ALERT_SCAN as u64, scanned, ..AlertHunt::default() };
    for a in read {
        if q.matches_alert(&a, &assets) {
            out.matched += 1;
            if out.alerts.len() < limit {
                out.alerts.push(a);
            }
        }
    }
    Ok(out)
}
