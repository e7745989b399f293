//! The hunt over stored flows (`/hunt`, analysts, responders, admins): the same search as
//! `GET /api/v1/flows`, for the page.

use crate::error::AppError;
use anomalyforge::flow_history::FlowSearch;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Flows the page shows at once.
pub const HUNT_PAGE_FLOWS: i64 = 50;

/// What the page shows for a hunt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HuntAnswer {
    /// The flow history is off on this server (`[flows] enabled`).
    Off,
    /// An empty filter: nothing searched yet.
    NotAsked,
    /// `kind:alerts`: the hunt is for alerts only.
    AlertsOnly,
    Found(FlowSearch),
}

/// Searches the stored flows with `q` (filter text), in `sort` order, after `cursor`.
#[server(endpoint = "hunt/flows", output = crate::json::Reply)]
pub async fn hunt_flows(q: String, sort: String, cursor: String) -> Result<HuntAnswer, AppError> {
    use anomalyforge::flow_history::{FlowCursor, FlowSort};
    use anomalyforge::hunt::search::{search_flows, HuntError};
    use anomalyforge::hunt::HuntQuery;
    let (st, _) = authorize(Access::SOC).await?;
    if !st.config.flow_history() {
        return Ok(HuntAnswer::Off);
    }
    let query = HuntQuery::parse(&q).map_err(|e| AppError::Invalid { field: "q".into(), message: e.message })?;
    if query.is_empty() {
        return Ok(HuntAnswer::NotAsked);
    }
    if query.kind == Some(anomalyforge::hunt::HuntKind::Alerts) {
        return Ok(HuntAnswer::AlertsOnly);
    }
    let sort = match sort.as_str() {
        "" => FlowSort::Newest,
        s => FlowSort::parse(s)
            .ok_or_else(|| AppError::Invalid { field: "sort".into(), message: format!("`{s}` is not an order.") })?,
    };
    let cursor = match cursor.trim() {
        "" => None,
        c => Some(FlowCursor::decode(c).ok_or_else(|| AppError::Invalid {
            field: "cursor".into(),
            message: "That page link is not valid any more: start the search again.".into(),
        })?),
    };
    match search_flows(&st.db, &query, sort, cursor, HUNT_PAGE_FLOWS, anomalyforge::store::now_ms()).await {
        Ok(found) => Ok(HuntAnswer::Found(found)),
        Err(HuntError::Invalid(message)) => Err(AppError::Invalid { field: "q".into(), message }),
        Err(HuntError::Store(e)) => Err(e.into()),
    }
}

/// Alerts the page shows at once.
pub const HUNT_PAGE_ALERTS: usize = 50;

/// The alerts `q` finds (unless it is `kind:flows`, or empty: then `None`).
#[server(endpoint = "hunt/alerts", output = crate::json::Reply)]
pub async fn hunt_alerts(q: String) -> Result<Option<anomalyforge::hunt::AlertHunt>, AppError> {
    use anomalyforge::hunt::search::HuntError;
    use anomalyforge::hunt::{HuntKind, HuntQuery};
    let (st, _) = authorize(Access::SOC).await?;
    let query = HuntQuery::parse(&q).map_err(|e| AppError::Invalid { field: "q".into(), message: e.message })?;
    if query.is_empty() || query.kind == Some(HuntKind::Flows) {
        return Ok(None);
    }
    let now = anomalyforge::store::now_ms();
    match anomalyforge::hunt::alerts::search_alerts(&st.db, &query, now, HUNT_PAGE_ALERTS).await {
        Ok(found) => Ok(Some(found)),
        Err(HuntError::Invalid(message)) => Err(AppError::Invalid { field: "q".into(), message }),
        Err(HuntError::Store(e)) => Err(e.into()),
    }
}
