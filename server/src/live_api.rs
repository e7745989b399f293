//! Read APIs next to the pages: the live stream (`GET /api/v1/stream`, server-sent events) for the SOC
//! console, the alert and flow listings for integrators (`GET /api/v1/alerts`, `GET /api/v1/flows`)
//! and Prometheus metrics (`GET /metrics`).
//!
//! Who may call them:
//! - the stream: a signed-in session of a role that may see alerts (analyst, responder, admin);
//! - alerts, flows and metrics: the same sessions, or an API token with the `read` scope
//!   (`Authorization: Bearer …`) for machines;
//! - the token API (`/api/v1/tokens`): an API token with the `admin` scope.

use std::convert::Infallible;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anomalyforge::alert::{AlertCursor, AlertFilter, AlertStatus, FilterError};
use anomalyforge::hub::Frame;
use anomalyforge::ingest::time;
use anomalyforge::live::LiveEvent;
use anomalyforge::metrics::{Gauges, Metrics};
use anomalyforge::role::Access;
use app::error::AppError;
use app::state::{AppState, RequestAuth};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::stream::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::authorized::{ApiCaller, Authorized, ReadApi, WatchStream};

/// How often an open stream checks its session again, at the latest.
pub const SESSION_RECHECK: Duration = Duration::from_secs(15);

/// What an open stream needs to check its session again.
struct SessionWatch {
    db: anomalyforge::store::Db,
    token: String,
    changes: tokio::sync::watch::Receiver<u64>,
    every: tokio::time::Interval,
}

impl SessionWatch {
    /// Whether the session still exists, is not expired, and its user may see alerts.
    async fn still_allowed(&self) -> bool {
        match anomalyforge::auth::session_user(&self.db, &self.token).await {
            Ok(Some(u)) => Access::SOC.allows(u.role),
            Ok(None) => {
                tracing::info!("live stream closed: its session ended or lost the right to see alerts");
                false
            }
            // The store is briefly unavailable: keep the stream; the next check decides.
            Err(e) => {
                tracing::warn!(error = %e, "cannot re-check a live stream's session");
                true
            }
        }
    }
}

/// Counts a connected stream client for as long as it lives.
struct ClientGuard(Arc<Metrics>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.stream_clients.fetch_sub(1, Relaxed);
    }
}

/// `GET /api/v1/stream`: `alert` events (created or updated alerts, as their batch commits),
/// `traffic` events (flows scored per second, by source country) and `lagged` events (this client
/// missed some: reload the queue). Keep-alive comments every 15 s.
#[utoipa::path(
    get, path = "/api/v1/stream", tag = "alerts",
    responses(
        (status = 200, description = "Server-sent events: `alert`, `traffic`, `lagged`", content_type = "text/event-stream", body = String),
        (status = 401, description = "No session"),
        (status = 403, description = "The role may not see alerts"),
    ),
    security(("session" = []))
)]
pub async fn stream(
    State(st): State<AppState>,
    _who: Authorized<WatchStream>,
    Extension(auth): Extension<RequestAuth>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let rx = st.live.subscribe();
    let closed = Box::pin(st.live.closed());
    st.metrics.stream_clients.fetch_add(1, Relaxed);
    let guard = ClientGuard(st.metrics.clone());
    tracing::debug!(user = auth.user.as_ref().map(|u| u.username.as_str()), "live stream opened");
    // The session is checked again every SESSION_RECHECK and whenever a session ended or lost rights
    // in this process (sign-out, disable, role or password change): the stream ends when it no longer
    // allows the alerts.
    let session = SessionWatch {
        db: st.db.clone(),
        token: auth.token.clone().unwrap_or_default(),
        changes: st.db.session_changes(),
        every: tokio::time::interval_at(tokio::time::Instant::now() + SESSION_RECHECK, SESSION_RECHECK),
    };
    let events = futures_util::stream::unfold(
        (rx, closed, guard, session),
        |(mut rx, mut closed, guard, mut session)| async move {
            let received = loop {
                tokio::select! {
                    r = rx.recv() => break r,
                    // The server is shutting down: end the response so the connection can close.
                    () = &mut closed => return None,
                    changed = session.changes.changed() => {
                        if changed.is_err() || !session.still_allowed().await {
                            return None;
                        }
                    }
                    _ = session.every.tick() => {
                        if !session.still_allowed().await {
                            return None;
                        }
                    }
                }
            };
            let frame: Arc<Frame> = match received {
                Ok(frame) => frame,
                Err(RecvError::Lagged(skipped)) => {
                    guard.0.stream_lagged.fetch_add(skipped, Relaxed);
                    let data = serde_json::to_string(&LiveEvent::Lagged { skipped }).unwrap_or_default();
                    Arc::new(Frame { event: "lagged", data })
                }
                Err(RecvError::Closed) => return None,
            };
            Some((Ok(Event::default().event(frame.event).data(frame.data.as_str())), (rx, closed, guard, session)))
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Query parameters of `GET /api/v1/alerts` (all optional, all strings so that errors name them).
#[derive(Debug, Default, Deserialize)]
pub struct AlertParams {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    threat: Option<String>,
    min_risk: Option<String>,
    country: Option<String>,
    asset_id: Option<String>,
    src_ip: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// Unix ms from `1700000000000` or an ISO-8601 time (`2026-11-21T10:00:00Z`).
fn time_param(param: &'static str, v: &str) -> Result<i64, FilterError> {
    let v = v.trim();
    v.parse::<i64>().ok().or_else(|| time::iso_to_micros(v).map(|us| us.div_euclid(1000))).ok_or_else(|| FilterError {
        param,
        reason: format!("`{v}` is neither unix milliseconds nor an ISO-8601 time"),
    })
}

fn int_param(param: &'static str, v: &str) -> Result<i64, FilterError> {
    v.trim().parse().map_err(|_| FilterError { param, reason: format!("`{v}` is not a whole number") })
}

impl AlertParams {
    fn parse(self) -> Result<(AlertFilter, Option<AlertCursor>, i64), FilterError> {
        let empty = |o: Option<String>| o.filter(|s| !s.trim().is_empty());
        let status = match empty(self.status) {
            Some(s) => Some(AlertStatus::parse(s.trim()).ok_or_else(|| FilterError {
                param: "status",
                reason: format!("`{s}` is not one of new, acknowledged, resolved, false_positive"),
            })?),
            None => None,
        };
        let filter = AlertFilter {
            from: empty(self.from).map(|v| time_param("from", &v)).transpose()?,
            to: empty(self.to).map(|v| time_param("to", &v)).transpose()?,
            status,
            threat: empty(self.threat).map(|s| s.trim().to_string()),
            min_risk: empty(self.min_risk).map(|v| int_param("min_risk", &v)).transpose()?,
            country: empty(self.country).map(|s| s.trim().to_string()),
            asset_id: empty(self.asset_id).map(|v| int_param("asset_id", &v)).transpose()?,
            src_ip: empty(self.src_ip).map(|s| s.trim().to_string()),
        };
        filter.validate()?;
        let limit = empty(self.limit).map(|v| int_param("limit", &v)).transpose()?.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(FilterError { param: "limit", reason: "must be between 1 and 500".into() });
        }
        let cursor = empty(self.cursor).map(|c| AlertCursor::parse(c.trim())).transpose()?;
        Ok((filter, cursor, limit))
    }
}

/// `GET /api/v1/alerts?from=&to=&status=&threat=&min_risk=&country=&asset_id=&src_ip=&limit=&cursor=`:
/// `{"alerts": [...], "next": cursor|null}`, newest first. Pass `next` back as `cursor` for the
/// next page.
#[utoipa::path(
    get, path = "/api/v1/alerts", tag = "alerts",
    params(
        ("from" = Option<String>, Query, description = "Last seen at or after: unix ms or ISO-8601"),
        ("to" = Option<String>, Query, description = "Last seen before: unix ms or ISO-8601"),
        ("status" = Option<String>, Query, description = "new, acknowledged, resolved or false_positive"),
        ("threat" = Option<String>, Query, description = "Threat key (ddos, port_scan, signature, intel_match, …)"),
        ("min_risk" = Option<i64>, Query, description = "0–100"),
        ("country" = Option<String>, Query, description = "ISO 3166 alpha-2 of the source"),
        ("asset_id" = Option<i64>, Query, description = "The asset's number"),
        ("src_ip" = Option<String>, Query, description = "Source address"),
        ("limit" = Option<i64>, Query, description = "1–500 (100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "Alerts, newest first", body = anomalyforge::alert::AlertPage),
        (status = 400, description = "A parameter is not valid; `param` names it"),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `read` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn list_alerts(
    State(st): State<AppState>,
    _who: ApiCaller<ReadApi>,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = params.map_err(|e| AppError::from(FilterError { param: "query", reason: e.body_text() }))?;
    let (filter, cursor, limit) = params.parse()?;
    let page = st
        .db
        .query_alerts(&filter, cursor, limit)
        .await
        .map_err(|e| AppError::unavailable_after("listing alerts", e))?;
    Ok(Json(page).into_response())
}

/// The parameter a hunt filter error is about: its key when it names one, else `q`.
fn hunt_param(term: &str) -> &'static str {
    const KEYS: [&str; 19] = [
        "src", "dst", "ip", "sport", "dport", "port", "proto", "country", "asset", "risk", "threat", "detector",
        "profile", "verdict", "since", "from", "until", "kind", "q",
    ];
    let key = term.trim_start_matches(['-', '!']);
    let key = key.split([':', '<', '>', '=']).next().unwrap_or_default();
    KEYS.into_iter().find(|k| *k == key).unwrap_or("q")
}

/// `GET /api/v1/flows?q=<filter>&<key>=<value>…&sort=&limit=&cursor=`: the stored flows a hunt finds,
/// as `/hunt` searches them. The filter is the text of `q` (`src:10.0.0.0/8 dport:443 since:24h`)
/// and/or one parameter per key (`src=10.0.0.0/8&dport=443`); `sort` is newest (default, cursor-paged),
/// oldest, risk or bytes; `limit` 1–1,000 (100). The reply is the search: `flows`, `next` (pass it
/// back as `cursor`), `matched`, `histogram`, and `complete` / `searched_from` when the time budget
/// ended the search before the oldest flow of the range.
#[utoipa::path(
    get, path = "/api/v1/flows", tag = "hunting",
    params(
        ("q" = Option<String>, Query, description = "A hunt filter: `src:10.0.0.0/8 dport:443 since:24h` (keys src, dst, ip, sport, dport, port, proto, country, asset, risk, threat, verdict, profile, since, from, until); each key may also be its own parameter"),
        ("sort" = Option<String>, Query, description = "newest (default, cursor-paged), oldest, risk or bytes"),
        ("limit" = Option<i64>, Query, description = "1–1,000 (100)"),
        ("cursor" = Option<String>, Query, description = "`next` of the previous page"),
    ),
    responses(
        (status = 200, description = "`{flows, next, matched, histogram, complete, searched_from}`", body = serde_json::Value),
        (status = 400, description = "A term is not valid; `param` names its key"),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `read` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn list_flows(
    State(st): State<AppState>,
    _who: ApiCaller<ReadApi>,
    params: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    use anomalyforge::flow_history::{FlowCursor, FlowSort};
    use anomalyforge::hunt::search::{search_flows, HuntError};
    use anomalyforge::hunt::HuntQuery;
    let Query(params) = params.map_err(|e| AppError::from(FilterError { param: "query", reason: e.body_text() }))?;
    let bad = |param: &'static str, reason: String| AppError::from(FilterError { param, reason });
    let (mut sort, mut limit, mut cursor, mut text, mut pairs) =
        (FlowSort::Newest, 100, None, String::new(), Vec::new());
    for (k, v) in params {
        match k.as_str() {
            "sort" => {
                sort = FlowSort::parse(v.trim())
                    .ok_or_else(|| bad("sort", format!("`{v}` is not one of newest, oldest, risk, bytes")))?
            }
            "limit" => {
                limit = int_param("limit", &v)?;
                if !(1..=1_000).contains(&limit) {
                    return Err(bad("limit", "must be between 1 and 1000".into()));
                }
            }
            "cursor" if !v.trim().is_empty() => {
                cursor = Some(
                    FlowCursor::decode(v.trim())
                        .ok_or_else(|| bad("cursor", format!("`{v}` is not a cursor this API gave")))?,
                )
            }
            "q" => text = v,
            _ => pairs.push((k, v)),
        }
    }
    let from_text = HuntQuery::parse(&text).map_err(|e| bad(hunt_param(&e.term), e.to_string()))?;
    let from_pairs = HuntQuery::from_pairs(&pairs).map_err(|e| bad(hunt_param(&e.term), e.to_string()))?;
    let query = HuntQuery::parse(&format!("{from_text} {from_pairs}"))
        .map_err(|e| bad(hunt_param(&e.term), format!("{e} (the `q` text and the parameters together)")))?;
    let found = search_flows(&st.db, &query, sort, cursor, limit, anomalyforge::store::now_ms()).await;
    match found {
        Ok(search) => Ok(Json(search).into_response()),
        Err(HuntError::Invalid(reason)) => Err(bad(hunt_param(&reason), reason)),
        Err(HuntError::Store(e)) => Err(AppError::unavailable_after("searching flows", e)),
    }
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text: ingest counters, queue, stream clients, drift", content_type = "text/plain", body = String),
        (status = 401, description = "No token or session"),
        (status = 403, description = "The token lacks the `read` scope"),
    ),
    security(("token" = []), ("session" = []))
)]
pub async fn metrics(State(st): State<AppState>, _who: ApiCaller<ReadApi>) -> Response {
    let gauges = st
        .pipeline
        .as_ref()
        .map(|p| Gauges { queue_depth: p.queued_flows(), queue_capacity: p.capacity() })
        .unwrap_or_default();
    let mut body = st.metrics.render(gauges);
    if let Some(p) = &st.pipeline {
        body.push_str(&anomalyforge::metrics::render_drift(&p.drift()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> AlertParams {
        let q = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        Query::<AlertParams>::try_from_uri(&format!("/x?{q}").parse().unwrap()).unwrap().0
    }

    #[test]
    fn alert_parameters_parse_and_name_what_is_wrong() {
        let (f, c, l) =
            params(&[("from", "2026-11-21T10:00:00Z"), ("status", "new"), ("min_risk", "70"), ("limit", "20")])
                .parse()
                .unwrap();
        assert_eq!(f.from, Some(1_795_255_200_000));
        assert_eq!((f.status, f.min_risk, c, l), (Some(AlertStatus::New), Some(70), None, 20));
        let (f, _, l) = params(&[("to", "1700000000000"), ("status", "")]).parse().unwrap();
        assert_eq!((f.to, f.status, l), (Some(1_700_000_000_000), None, 100));
        for (k, v) in [
            ("from", "yesterday"),
            ("status", "open"),
            ("min_risk", "high"),
            ("limit", "0"),
            ("cursor", "x"),
            ("country", "Germany"),
        ] {
            let e = params(&[(k, v)]).parse().unwrap_err();
            assert_eq!(e.param, k, "{e}");
        }
    }
}
