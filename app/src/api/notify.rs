//! Notification channels, rules and deliveries, for admins (`/admin/notifications`). Changes are
//! audited in the domain (`anomalyforge::store::notify`).

use crate::error::AppError;
use anomalyforge::notify::NotifyOverview;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use {super::ssr::authorize, anomalyforge::role::Access, anomalyforge::store::now_ms};

/// A channel just created, with its webhook signing key shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedChannel {
    pub id: i64,
    pub name: String,
    /// The HMAC-SHA256 key of a webhook channel; never shown again.
    pub secret: Option<String>,
}

/// Channels, rules and the newest deliveries with their outcome.
#[server(endpoint = "notify/overview", output = crate::json::Reply)]
pub async fn notifications() -> Result<NotifyOverview, AppError> {
    let (st, _) = authorize(Access::ADMIN).await?;
    Ok(st.db.notify_overview(st.config.notify.smtp.is_some()).await?)
}

/// Creates a channel: `kind` webhook, slack or email; `target` the URL or the addresses;
/// `max_per_minute` empty for the default. A webhook gets a new signing key, returned this once.
#[server(endpoint = "notify/channel_create", output = crate::json::Reply)]
pub async fn create_channel(
    name: String,
    kind: String,
    target: String,
    #[server(default)] max_per_minute: String,
) -> Result<CreatedChannel, AppError> {
    use anomalyforge::notify::{ChannelKind, NewChannel};
    let (st, me) = authorize(Access::ADMIN).await?;
    let new = NewChannel::from_form(&name, &kind, &target, &max_per_minute)?;
    if new.kind == ChannelKind::Email && st.config.notify.smtp.is_none() {
        return Err(AppError::Invalid {
            field: "kind".into(),
            message: "No SMTP server is configured ([notify.smtp] or AF_NOTIFY__SMTP__HOST): email cannot be sent."
                .into(),
        });
    }
    let secret = (new.kind == ChannelKind::Webhook).then(anomalyforge::notify::send::new_secret);
    let id = st.db.create_channel(&new, secret.as_deref().unwrap_or_default(), &me.username, now_ms()).await?;
    Ok(CreatedChannel { id, name: new.name, secret })
}

#[server(endpoint = "notify/channel_delete", output = crate::json::Reply)]
pub async fn delete_channel(id: i64) -> Result<(), AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(st.db.delete_channel(id, &me.username, now_ms()).await?)
}

/// Queues a test notification to a channel; its outcome shows in the deliveries.
#[server(endpoint = "notify/channel_test", output = crate::json::Reply)]
pub async fn test_channel(id: i64) -> Result<i64, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(st.db.queue_test(id, &me.username, now_ms()).await?)
}

/// Creates a rule: `event` alert, incident_opened or incident_escalated; `severity` the minimum;
/// `threats` (alerts) comma-separated keys or empty for any; `criticality` (alerts) the asset's
/// minimum or empty for any; `asset` (alerts) one asset's address, or empty for any.
#[server(endpoint = "notify/rule_create", output = crate::json::Reply)]
pub async fn create_rule(
    channel: String,
    event: String,
    severity: String,
    #[server(default)] threats: String,
    #[server(default)] criticality: String,
    #[server(default)] asset: String,
) -> Result<i64, AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    let new = anomalyforge::notify::NewRule::from_form(&channel, &event, &severity, &threats, &criticality, &asset)?;
    Ok(st.db.create_rule(&new, &me.username, now_ms()).await?)
}

#[server(endpoint = "notify/rule_delete", output = crate::json::Reply)]
pub async fn delete_rule(id: i64) -> Result<(), AppError> {
    let (st, me) = authorize(Access::ADMIN).await?;
    Ok(st.db.delete_rule(id, &me.username, now_ms()).await?)
}
