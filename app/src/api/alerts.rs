//! Alert triage for the SOC roles (analysts, responders, admins): actions on one alert or a
//! selection, and an alert's history. Every action is written to the alert's history
//! (`alert_events`) with who and when.

use crate::error::AppError;
use anomalyforge::triage::{AlertEvent, TriageOutcome};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access};

/// Applies a triage action to the alerts in `ids` (comma-separated, at most 500): `action` is
/// acknowledge, assign, comment, resolve, false_positive or reopen; `note` the comment,
/// resolution note or false-positive reason; `assignee` a username for assign. Alerts the action
/// does not apply to are reported as skipped, with the reason; the others change together.
/// With `false_positive`, `suppress` may name what a suppression rule should match for each
/// alert marked (comma-separated: `source`, `type`, `asset`); the reason becomes the rule's.
#[server(endpoint = "alerts/triage", output = crate::json::Reply)]
pub async fn triage_alerts(
    ids: String,
    action: String,
    note: String,
    assignee: String,
    #[server(default)] suppress: String,
) -> Result<Vec<TriageOutcome>, AppError> {
    use anomalyforge::triage::{parse_ids, SuppressFrom, Triage, MAX_BULK};
    let (st, me) = authorize(Access::SOC).await?;
    let ids = parse_ids(&ids, MAX_BULK)?;
    let triage = Triage::from_form(&action, &note, &assignee)?;
    let suppress = SuppressFrom::parse(&suppress, &triage)?;
    Ok(anomalyforge::commands::triage::apply(st.command(&me), &ids, &triage, suppress).await?)
}

/// Everything done to an alert, oldest first.
#[server(endpoint = "alerts/history", output = crate::json::Reply)]
pub async fn alert_history(alert_id: i64) -> Result<Vec<AlertEvent>, AppError> {
    let (st, _) = authorize(Access::SOC).await?;
    Ok(st.db.alert_events(alert_id).await?)
}
