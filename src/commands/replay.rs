//! The replay of recorded traffic, controlled by an admin: started, stopped, or its speed set.

use super::{CommandError, Ctx, Result};
use crate::audit::AuditAction;
use crate::live::ReplayStatus;
use crate::replay::Replay;
use crate::validate::FieldError;

/// Applies `action` (`start`, `stop` or `speed`) to the replay, audited as `replay.<action>` with
/// the speed after it. `speed` is the form's text, so anything typed gets a message naming it.
pub async fn control(ctx: Ctx<'_>, replay: &Replay, action: &str, speed: Option<&str>) -> Result<ReplayStatus> {
    let (status, audited) = match action {
        "start" => (replay.start().await.map_err(|e| CommandError::Conflict(e.to_string()))?, AuditAction::ReplayStart),
        "stop" => (replay.stop(), AuditAction::ReplayStop),
        "speed" => {
            let invalid = |message: String| FieldError::new("speed", message);
            let raw = speed.map(str::trim).unwrap_or_default();
            if raw.is_empty() {
                return Err(invalid("Enter a speed: recorded seconds per second, e.g. 60.".into()).into());
            }
            let speed = raw.parse::<f64>().map_err(|_| {
                invalid(format!(
                    "`{}` is not a number: enter the speed as recorded seconds per second, e.g. 60.",
                    raw.chars().take(20).collect::<String>()
                ))
            })?;
            (replay.set_speed(speed).map_err(|e| invalid(e.to_string()))?, AuditAction::ReplaySpeed)
        }
        other => return Err(FieldError::new("action", format!("Unknown replay action `{other}`.")).into()),
    };
    ctx.db.audit(ctx.actor, audited, "replay", &format!("speed={}", status.speed)).await?;
    tracing::info!(actor = ctx.actor, action, speed = status.speed, "replay control");
    Ok(status)
}
