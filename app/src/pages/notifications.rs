//! `/admin/notifications` (admins): where alerts and incidents are announced.
//!
//! - channels: a signed webhook (its key is shown once, when it is created), a Slack-compatible
//!   webhook, or email; each with its limit a minute; send a test, delete;
//! - rules: which events go to which channel (new alerts from a severity, of some threats, on assets
//!   from a criticality; incidents opened; incidents escalated);
//! - the newest deliveries with their outcome: sent, queued for a retry (with the last error),
//!   failed, held over the limit, summed up in a digest.
//!
//! Every form is an `ActionForm`, so the page works without JavaScript.

use crate::api::notify::{
    notifications, CreateChannel, CreateRule, CreatedChannel, DeleteChannel, DeleteRule, TestChannel,
};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::error::AppError;
use crate::resource::resource;
use anomalyforge::alert::Severity;
use anomalyforge::notify::{ChannelKind, Delivery, EventKind, NotifyOverview};
use anomalyforge::pages::{PageSpec, ADMIN};
use leptos::prelude::*;

/// The page (guarded like `/admin`).
pub const PAGE: PageSpec = PageSpec {
    path: "/admin/notifications",
    title: "Notifications",
    nav_label: "Notifications",
    in_nav: false,
    ..ADMIN
};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    view! {
        <Guarded page=PAGE>
            <Notifications/>
        </Guarded>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    create_channel: ServerAction<CreateChannel>,
    delete_channel: ServerAction<DeleteChannel>,
    test: ServerAction<TestChannel>,
    create_rule: ServerAction<CreateRule>,
    delete_rule: ServerAction<DeleteRule>,
}

#[component]
fn Notifications() -> impl IntoView {
    let a = Actions {
        create_channel: ServerAction::new(),
        delete_channel: ServerAction::new(),
        test: ServerAction::new(),
        create_rule: ServerAction::new(),
        delete_rule: ServerAction::new(),
    };
    let versions = move || {
        (
            a.create_channel.version().get(),
            a.delete_channel.version().get(),
            a.test.version().get(),
            a.create_rule.version().get(),
            a.delete_rule.version().get(),
        )
    };
    let overview = resource(versions, |_| notifications());
    let error = move || -> Option<AppError> {
        a.create_channel
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| a.delete_channel.value().get().and_then(Result::err))
            .or_else(|| a.test.value().get().and_then(Result::err))
            .or_else(|| a.create_rule.value().get().and_then(Result::err))
            .or_else(|| a.delete_rule.value().get().and_then(Result::err))
    };
    let created = move || a.create_channel.value().get().and_then(Result::ok);
    view! {
        <nav class="soc-tabs" aria-label="Administration">
            <a href=ADMIN.path>"Users and tokens"</a>
            <a href=PAGE.path aria-current="page">"Notifications"</a>
        </nav>
        <section class="panel" data-test="page" data-page="/admin/notifications">
            <h1>"Notifications"</h1>
            <p class="muted">"Alerts and incidents announced where people are: a webhook signed with HMAC-SHA256, a Slack-compatible webhook, or email. "
                "Deliveries are queued with the event that caused them, retried with backoff, and kept here with their outcome; "
                "beyond a channel's limit a minute they are held and summed up in one digest."</p>
            {move || error().map(|e| view! { <p class="error" role="alert" data-test="notify-error">{e.to_string()}</p> })}
            {move || created().map(|c: CreatedChannel| view! {
                <div class="notice" role="status" data-test="channel-created">
                    <p>{format!("Channel {} created.", c.name)}</p>
                    {c.secret.map(|s| view! {
                        <p>"Its signing key, shown this once (the receiver checks " <code>"X-AnomalyForge-Signature"</code> " with it):"</p>
                        <pre data-test="channel-secret">{s}</pre>
                    })}
                </div>
            })}
            {move || a.test.value().get().and_then(Result::ok).map(|id| view! {
                <p class="notice" role="status" data-test="test-queued">{format!("Test queued as delivery #{id}; its outcome appears below within seconds.")}</p>
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { overview.await.map(|o| view! { <Body o a/> }) })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

#[component]
fn Body(o: NotifyOverview, a: Actions) -> impl IntoView {
    let NotifyOverview { channels, rules, deliveries, smtp } = o;
    let channel_name = {
        let channels = channels.clone();
        move |id: i64| channels.iter().find(|c| c.id == id).map_or_else(|| format!("#{id}"), |c| c.name.clone())
    };
    let names = channels.iter().map(|c| (c.id, c.name.clone())).collect::<Vec<_>>();
    let name_of = channel_name.clone();
    view! {
        <h2>"Channels"</h2>
        {if channels.is_empty() {
            view! { <p class="muted" data-test="no-channels">"No channel yet: nothing is announced."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll"><table class="table" data-test="channels">
                    <thead><tr><th>"Name"</th><th>"Kind"</th><th>"Sends to"</th><th>"Limit"</th><th></th></tr></thead>
                    <tbody>
                        {channels.into_iter().map(|c| {
                            let (test_id, delete_id) = (c.id.to_string(), c.id.to_string());
                            view! {
                                <tr data-channel=c.id.to_string()>
                                    <td>{c.name.clone()}</td>
                                    <td>{format!("{}{}", c.kind.label(), if c.signed { ", signed" } else { "" })}</td>
                                    <td class="prose"><code>{c.target.clone()}</code></td>
                                    <td>{format!("{} a minute", c.max_per_minute)}</td>
                                    <td class="row-actions">
                                        <ActionForm action=a.test attr:class="inline-form">
                                            <input type="hidden" name="id" value=test_id/>
                                            <button type="submit" class="small" data-test="test-channel">"Send a test"</button>
                                        </ActionForm>
                                        <ActionForm action=a.delete_channel attr:class="inline-form">
                                            <input type="hidden" name="id" value=delete_id/>
                                            <button type="submit" class="small danger" data-test="delete-channel">"Delete"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}
        <details class="triage-form" data-test="new-channel">
            <summary>"New channel"</summary>
            <ActionForm action=a.create_channel>
                <div class="form-grid">
                    <div class="field"><label for="ch-name">"Name"</label><input id="ch-name" name="name" maxlength="80" required data-test="channel-name"/></div>
                    <div class="field">
                        <label for="ch-kind">"Kind"</label>
                        <select id="ch-kind" name="kind" data-test="channel-kind">
                            {ChannelKind::ALL.map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field wide"><label for="ch-target">"Webhook URL, or email addresses (comma-separated)"</label>
                        <input id="ch-target" name="target" maxlength="2000" required autocomplete="off" data-test="channel-target"/></div>
                    <div class="field"><label for="ch-limit">"Deliveries a minute at most"</label>
                        <input id="ch-limit" name="max_per_minute" type="number" min="1" max="1000" placeholder="10"/></div>
                </div>
                {(!smtp).then(|| view! { <p class="muted small">"No SMTP server is configured ([notify.smtp]): email channels cannot be created."</p> })}
                <button type="submit" class="primary" data-test="create-channel">"Create channel"</button>
            </ActionForm>
        </details>

        <h2>"Rules"</h2>
        {if rules.is_empty() {
            view! { <p class="muted" data-test="no-rules">"No rule yet: channels receive tests only."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll"><table class="table" data-test="rules">
                    <thead><tr><th>"Sends"</th><th>"To"</th><th></th></tr></thead>
                    <tbody>
                        {rules.into_iter().map(|r| {
                            let id = r.id.to_string();
                            view! {
                                <tr data-rule=r.id.to_string()>
                                    <td>{r.describe()}</td>
                                    <td>{name_of(r.channel_id)}</td>
                                    <td>
                                        <ActionForm action=a.delete_rule attr:class="inline-form">
                                            <input type="hidden" name="id" value=id/>
                                            <button type="submit" class="small danger" data-test="delete-rule">"Delete"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}
        {(!names.is_empty()).then(|| view! {
            <details class="triage-form" data-test="new-rule">
                <summary>"New rule"</summary>
                <ActionForm action=a.create_rule>
                    <div class="form-grid">
                        <div class="field">
                            <label for="rule-channel">"Channel"</label>
                            <select id="rule-channel" name="channel" data-test="rule-channel">
                                {names.iter().map(|(id, n)| view! { <option value=id.to_string()>{n.clone()}</option> }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="rule-event">"When"</label>
                            <select id="rule-event" name="event" data-test="rule-event">
                                {EventKind::ALL.map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="rule-severity">"From severity"</label>
                            <select id="rule-severity" name="severity" data-test="rule-severity">
                                {[Severity::Low, Severity::Medium, Severity::High, Severity::Critical].map(|s| view! {
                                    <option value=s.as_str() selected=s == Severity::High>{s.as_str()}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="rule-threats">"Threats (alerts; empty: any)"</label>
                            <input id="rule-threats" name="threats" maxlength="500" placeholder="e.g. c2_beacon, ddos"/>
                        </div>
                        <div class="field">
                            <label for="rule-crit">"Assets from criticality (alerts)"</label>
                            <select id="rule-crit" name="criticality">
                                <option value="">"any alert"</option>
                                {["low", "medium", "high", "critical"].map(|c| view! { <option value=c>{c}</option> }).collect_view()}
                            </select>
                        </div>
                        <div class="field">
                            <label for="rule-asset">"Only this asset (alerts; its IP)"</label>
                            <input id="rule-asset" name="asset" maxlength="45" placeholder="any asset" data-test="rule-asset"/>
                        </div>
                    </div>
                    <button type="submit" class="primary" data-test="create-rule">"Create rule"</button>
                </ActionForm>
            </details>
        })}

        <h2>"Deliveries"</h2>
        {if deliveries.is_empty() {
            view! { <p class="muted" data-test="no-deliveries">"Nothing sent yet."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll"><table class="table compact" data-test="deliveries">
                    <thead><tr><th>"Queued (UTC)"</th><th>"Channel"</th><th>"Subject"</th><th>"Outcome"</th></tr></thead>
                    <tbody>
                        {deliveries.into_iter().map(|d| {
                            let channel = channel_name(d.channel_id);
                            view! { <DeliveryRow d channel/> }
                        }).collect_view()}
                    </tbody>
                </table></div>
            }.into_any()
        }}
    }
}

#[component]
fn DeliveryRow(d: Delivery, channel: String) -> impl IntoView {
    use anomalyforge::notify::DeliveryStatus::*;
    let outcome = match d.status {
        Sent => format!(
            "sent {}{}",
            d.sent_at.map(utc).unwrap_or_default(),
            if d.attempts > 1 { format!(" (attempt {})", d.attempts) } else { String::new() }
        ),
        Queued if d.attempts == 0 => "queued".to_string(),
        Queued => format!("attempt {} failed: {}; next try {}", d.attempts, d.last_error, utc(d.next_attempt_at)),
        Failed => format!("failed after {} attempts: {}", d.attempts, d.last_error),
        Held => "held over the channel's limit".to_string(),
        Digested => format!("summed up in digest #{}", d.digest_id.unwrap_or_default()),
    };
    view! {
        <tr data-delivery=d.id.to_string() data-status=d.status.as_str() data-event=d.event.clone()>
            <td>{utc(d.created_at)}</td>
            <td>{channel}</td>
            <td class="prose">{d.subject.clone()}</td>
            <td class=format!("delivery-{}", d.status.as_str())>{outcome}</td>
        </tr>
    }
}
