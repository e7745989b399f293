//! Incidents for the SOC roles (analysts, responders, admins): the list, one incident's page,
//! creating one from alerts, adding alerts, commands (comment, owner, severity, contain, resolve,
//! false positive, reopen), merging, and the suggested groupings. Each change is one transaction
//! in the domain (`anomalyforge::store::incidents`), audited there.

use crate::error::AppError;
use anomalyforge::incident::{AddOutcome, Incident, IncidentDetail, IncidentPage, IncidentQuery, Suggestion};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access, anomalyforge::store::now_ms};

/// One page of incidents for the filters of `query` (the page's URL parameters); a bad parameter
/// is a 422 naming it.
#[server(endpoint = "incidents/list", output = crate::json::Reply)]
pub async fn list_incidents(query: IncidentQuery) -> Result<IncidentPage, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    let filter = query.validate()?;
    Ok(st.db.incidents(&filter).await?)
}

/// Everything an incident's page shows.
#[server(endpoint = "incidents/detail", output = crate::json::Reply)]
pub async fn incident_view(id: i64) -> Result<IncidentDetail, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let mut d = st.db.incident_detail(id).await?;
    d.response = super::response::access(&st, me.role, std::mem::take(&mut d.response.actions));
    Ok(d)
}

/// Active incidents (open or contained): (id, title), for "add to incident".
#[server(endpoint = "incidents/active", output = crate::json::Reply)]
pub async fn active_incidents() -> Result<Vec<(i64, String)>, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    Ok(st.db.active_incidents().await?)
}

/// Creates an incident from the alerts of `ids` (comma-separated). An empty `title` names it after
/// its alerts; an empty `severity` takes the riskiest alert's.
#[server(endpoint = "incidents/create", output = crate::json::Reply)]
pub async fn create_incident(
    ids: String,
    #[server(default)] title: String,
    #[server(default)] severity: String,
) -> Result<AddOutcome, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let new = anomalyforge::incident::NewIncident::from_form(&title, &severity, &ids)?;
    Ok(st.db.create_incident(&me.username, &new, now_ms()).await?)
}

/// Adds the alerts of `ids` to incident `incident`.
#[server(endpoint = "incidents/add", output = crate::json::Reply)]
pub async fn add_to_incident(incident: i64, ids: String) -> Result<AddOutcome, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let ids = anomalyforge::incident::parse_ids(&ids)?;
    Ok(st.db.add_to_incident(incident, &me.username, &ids, now_ms()).await?)
}

/// A command on incident `id`: `action` is comment, assign, severity, contain, resolve,
/// false_positive or reopen; `note` the comment, note, resolution or reason; `value` the owner's
/// username or the severity.
#[server(endpoint = "incidents/act", output = crate::json::Reply)]
pub async fn incident_act(
    id: i64,
    action: String,
    #[server(default)] note: String,
    #[server(default)] value: String,
) -> Result<Incident, AppError> {
    use anomalyforge::incident::IncidentCommand;
    let (st, me) = authorize(Access::SOC).await?;
    let cmd = IncidentCommand::from_form(&action, &note, &value)?;
    if let IncidentCommand::Assign { to } = &cmd {
        anomalyforge::commands::triage::check_assignee(st.command(&me), to, "value").await?;
    }
    Ok(st.db.incident_command(id, &me.username, &cmd, now_ms()).await?)
}

/// Merges incident `from` into incident `into`.
#[server(endpoint = "incidents/merge", output = crate::json::Reply)]
pub async fn merge_incidents(into: i64, from: i64) -> Result<Incident, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(st.db.merge_incidents(into, &[from], &me.username, now_ms()).await?)
}

/// Proposed incidents: open alerts in no incident that share a host or an address.
#[server(endpoint = "incidents/suggestions", output = crate::json::Reply)]
pub async fn incident_suggestions() -> Result<Vec<Suggestion>, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    Ok(st.db.incident_suggestions().await?)
}

/// Accepts a suggestion: an incident of its alerts, named after them.
#[server(endpoint = "incidents/accept", output = crate::json::Reply)]
pub async fn accept_suggestion(ids: String, title: String) -> Result<AddOutcome, AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    let new = anomalyforge::incident::NewIncident::from_form(&title, "", &ids)?;
    Ok(st.db.create_incident(&me.username, &new, now_ms()).await?)
}

/// Dismisses suggestion `key` up to its newest alert `newest`; it comes back when a newer alert
/// joins the group.
#[server(endpoint = "incidents/dismiss", output = crate::json::Reply)]
pub async fn dismiss_suggestion(key: String, newest: i64) -> Result<(), AppError> {
    let (st, me) = authorize(Access::SOC).await?;
    Ok(st.db.dismiss_suggestion(&key, newest, &me.username, now_ms()).await?)
}
