//! Employee reports: anyone signed in files one (a few per hour); the SOC decides about a reported
//! indicator for every report of it. Both reach enrichment at once, so a confirmed address counts
//! as intel from the next batch.

use super::{CommandError, Ctx, Result};
use crate::report::{validate_report, validate_status_change, EmployeeReport, StatusChange, REPORTS_PER_HOUR};
use crate::store::now_ms;
use crate::store::reports::NewReport;
use crate::validate::FieldError;

/// Files a report as the signed-in person; more than [`REPORTS_PER_HOUR`] in an hour is refused.
pub async fn file(ctx: Ctx<'_>, indicator: &str, category: &str, description: &str) -> Result<EmployeeReport> {
    let (indicator, kind, category, description) = validate_report(indicator, category, description)?;
    let reporter = ctx.actor_id.ok_or_else(|| FieldError::new("user", "Sign in to file a report."))?;
    if ctx.db.count_reports_since(reporter, now_ms() - crate::time::HOUR).await? >= REPORTS_PER_HOUR {
        return Err(CommandError::TooMany {
            message: format!(
                "You have sent {REPORTS_PER_HOUR} reports in the last hour. Thank you! Please wait a while before sending more."
            ),
            retry_after_secs: 600,
        });
    }
    let report =
        ctx.db.create_report(&NewReport { reporter_id: reporter, indicator, kind, category, description }).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(
        user = ctx.actor,
        report_id = report.id,
        kind = kind.as_str(),
        category = category.as_str(),
        "employee report filed"
    );
    Ok(report)
}

/// The SOC's decision about `indicator`: from `from` (the status the analyst saw) to `status`,
/// with an optional `note` its reporters read. Audited as `report.set_status`.
pub async fn set_status(ctx: Ctx<'_>, indicator: &str, from: &str, status: &str, note: &str) -> Result<StatusChange> {
    let (from, to, note) = validate_status_change(from, status, note)?;
    let indicator = indicator.trim();
    if indicator.is_empty() || indicator.len() > 300 {
        return Err(FieldError::new("indicator", "The reported address is missing; reload the page.").into());
    }
    let user = ctx.actor_id.ok_or_else(|| FieldError::new("user", "Sign in to decide about reports."))?;
    let change = ctx.db.set_indicator_status(indicator, from, to, note.as_deref(), (user, ctx.actor)).await?;
    ctx.caches.enrichment_changed();
    tracing::info!(
        actor = ctx.actor,
        indicator,
        from = from.as_str(),
        to = to.as_str(),
        reports = change.reports,
        "report status changed"
    );
    Ok(change)
}
