//! Running a hunt on the stored flows (server only): a [`HuntQuery`] resolved into the storage's
//! filter — assets become their addresses, relative times absolute — and searched within the time
//! budget of [`crate::store::flows`].

use std::net::IpAddr;

use super::{HuntQuery, RiskOp, Term, Verdict};
use crate::flow_history::{FlowCursor, FlowSearch, FlowSort};
use crate::store::flows::{FlowFilter, FlowTerm, SearchBudget, Side};
use crate::store::{Db, StoreError};

/// Why a hunt cannot run, naming the term.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The storage filter of `q` at `now` (Unix ms). Asset names are looked up in the inventory (by host
/// name, case-insensitive, or address); an unknown one is an error naming it.
pub async fn resolve(db: &Db, q: &HuntQuery, now: i64) -> Result<FlowFilter, HuntError> {
    let (from, until) = q.time_range(now);
    if let (Some(f), Some(u)) = (from, until) {
        if f >= u {
            return Err(HuntError::Invalid(format!("the time range is empty: it starts at or after it ends ({q})")));
        }
    }
    let mut terms: Vec<(FlowTerm, bool)> = Vec::new();
    let nets = |t: &Term<crate::intel::Cidr>| t.any_of.iter().map(|c| (c.network(), c.prefix_len())).collect();
    for (side, list) in [(Side::Src, &q.src), (Side::Dst, &q.dst), (Side::Any, &q.ip)] {
        terms.extend(list.iter().map(|t| (FlowTerm::Addr(side, nets(t)), t.negated)));
    }
    for (side, list) in [(Side::Src, &q.sport), (Side::Dst, &q.dport), (Side::Any, &q.port)] {
        for t in list {
            terms.push((FlowTerm::Port(side, t.any_of.iter().map(|r| (r.first, r.last)).collect()), t.negated));
        }
    }
    terms.extend(q.proto.iter().map(|t| (FlowTerm::Proto(t.any_of.clone()), t.negated)));
    terms.extend(q.country.iter().map(|t| (FlowTerm::Country(t.any_of.clone()), t.negated)));
    for r in &q.risk {
        let (lo, hi) = match r.op {
            RiskOp::Ge => (r.value, 100),
            RiskOp::Gt => (r.value.saturating_add(1), 100),
            RiskOp::Le => (0, r.value),
            RiskOp::Lt => (0, r.value.saturating_sub(1)),
            RiskOp::Eq => (r.value, r.value),
        };
        // `risk<0` holds for no flow.
        let (lo, hi) = if r.op == RiskOp::Lt && r.value == 0 { (1, 0) } else { (lo, hi) };
        terms.push((FlowTerm::Risk(lo, hi), r.negated));
    }
    terms.extend(q.threat.iter().map(|t| (FlowTerm::Threat(t.any_of.clone()), t.negated)));
    for t in &q.profile {
        let mut profiles = Vec::new();
        for p in &t.any_of {
            match p.as_str() {
                "cicflowmeter" => profiles.push(0),
                "conn" => profiles.push(1),
                other => {
                    return Err(HuntError::Invalid(format!("profile: '{other}' is not a profile (cicflowmeter, conn)")))
                }
            }
        }
        terms.push((FlowTerm::Profile(profiles), t.negated));
    }
    for t in &q.verdict {
        let alerted: Vec<bool> = t.any_of.iter().map(|v| *v == Verdict::Alert).collect();
        // `verdict:alert,benign` holds for every flow.
        let cond = match (alerted.contains(&true), alerted.contains(&false)) {
            (true, true) => FlowTerm::Risk(0, 100),
            (a, _) => FlowTerm::Alerted(a),
        };
        terms.push((cond, t.negated));
    }
    // Flows are scored by the ML ensemble: `detector:ml` holds for each, any other detector for none.
    for t in &q.detector {
        let ml = t.any_of.iter().any(|d| d == "ml");
        terms.push((if ml { FlowTerm::Risk(0, 100) } else { FlowTerm::Risk(1, 0) }, t.negated));
    }
    for t in &q.asset {
        let mut hosts = Vec::new();
        for name in &t.any_of {
            let ips = db.asset_addresses(name).await?;
            if ips.is_empty() {
                return Err(HuntError::Invalid(format!("asset: no asset is named '{name}' (host name or address)")));
            }
            hosts.extend(ips.into_iter().map(|ip: IpAddr| (ip, if ip.is_ipv4() { 32 } else { 128 })));
        }
        terms.push((FlowTerm::Addr(Side::Any, hosts), t.negated));
    }
    Ok(FlowFilter { from, until, terms })
}

/// A page of the flows `q` finds, with counts and a histogram (see [`Db::hunt_flows`]).
pub async fn search_flows(
    db: &Db,
    q: &HuntQuery,
    sort: FlowSort,
    cursor: Option<FlowCursor>,
    limit: i64,
    now: i64,
) -> Result<FlowSearch, HuntError> {
    let filter = resolve(db, q, now).await?;
    Ok(db.hunt_flows(&filter, sort, cursor, limit, SearchBudget::default()).await?)
}
