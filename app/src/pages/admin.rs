//! `/admin`: user accounts (list, create, change role, disable/enable), API tokens for integrators
//! (create, shown once; revoke), the traffic replay of recorded CIC-IDS2017 flows (state, start, stop,
//! speed) and the recent audit trail.
//! Every form is an `ActionForm`, so the page works before (or without) the WASM.

use crate::api::admin::{
    list_api_tokens, list_users, recent_audit, replay_state, CreateApiToken, CreateUser, ReplayControl, RevokeApiToken,
    SetDisabled, SetRole,
};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::resource::resource;
use anomalyforge::api_token::{ApiToken, CreatedApiToken, TokenList, TokenScope, TokenState};
use anomalyforge::live::{ReplayStatus, REPLAY_SPEED_RANGE};
use anomalyforge::pages;
use anomalyforge::role::Role;
use anomalyforge::user::User;
use leptos::prelude::*;

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Guarded page=pages::ADMIN>
            <AdminPanel/>
        </Guarded>
    }
}

#[component]
fn AdminPanel() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetRole>::new();
    let set_disabled = ServerAction::<SetDisabled>::new();
    let changes = move || (create.version().get(), set_role.version().get(), set_disabled.version().get());
    let users = resource(changes, |_| list_users());
    let audit = resource(changes, |_| recent_audit());

    // The latest error of any action, shown above the table.
    let last_error = move || {
        [create.value().get(), set_role.value().get(), set_disabled.value().get()]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
    };
    let created = move || create.value().get().and_then(Result::ok);

    view! {
        <nav class="soc-tabs" aria-label="Administration">
            <a href="/admin" aria-current="page">"Users and tokens"</a>
            <a href=crate::pages::notifications::PAGE.path data-test="tab-notifications">"Notifications"</a>
        </nav>
        <section class="panel">
            <h1>"Users"</h1>
            {move || last_error().map(|e| view! { <p class="error" role="alert" data-test="admin-error">{e.to_string()}</p> })}
            {move || created().map(|u: User| view! { <p class="notice" role="status">{format!("Created {} ({}).", u.username, u.role.label())}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        users.await.map(|list| view! {
                            <table class="table" data-test="users">
                                <thead>
                                    <tr><th>"Username"</th><th>"Name"</th><th>"Role"</th><th>"Status"</th><th>"Last sign-in"</th><th></th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! { <UserRow user=u set_role set_disabled/> }).collect_view()}
                                </tbody>
                            </table>
                        })
                    })}
                </PanelErrors>
            </Transition>
        </section>
        <section class="panel">
            <h2>"Add a user"</h2>
            <ActionForm action=create>
                <div class="form-grid">
                    <div class="field">
                        <label for="new-username">"Username"</label>
                        <input id="new-username" name="username" maxlength="64" required autocomplete="off"/>
                    </div>
                    <div class="field">
                        <label for="new-display">"Display name"</label>
                        <input id="new-display" name="display_name" maxlength="128"/>
                    </div>
                    <div class="field">
                        <label for="new-role">"Role"</label>
                        <RoleSelect id="new-role" selected=Role::Employee/>
                    </div>
                    <div class="field">
                        <label for="new-password">"Initial password (12+ characters)"</label>
                        <input id="new-password" name="password" type="password" minlength="12" maxlength="256" required autocomplete="new-password"/>
                    </div>
                </div>
                <button type="submit" class="primary" data-test="create-user">"Create user"</button>
            </ActionForm>
        </section>
        <ApiTokens/>
        <Replay/>
        <section class="panel">
            <h2>"Recent administrative actions"</h2>
            <Transition fallback=|| ()>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        audit.await.map(|entries| if entries.is_empty() {
                            view! { <p class="muted">"No administrative actions recorded yet."</p> }.into_any()
                        } else { view! {
                            <table class="table compact" data-test="audit">
                                <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"Target"</th><th>"Detail"</th></tr></thead>
                                <tbody>
                                    {entries.into_iter().map(|e| view! {
                                        <tr><td>{utc(e.at)}</td><td>{e.actor}</td><td>{e.action}</td><td>{e.target}</td><td>{e.detail}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() })
                    })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

/// API tokens for integrators: list (scopes, expiry, last use; legacy tokens flagged), create with
/// scopes and an optional lifetime (the value is shown once, as text), revoke.
#[component]
fn ApiTokens() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = resource(move || (create.version().get(), revoke.version().get()), |_| list_api_tokens());
    let last_error = move || {
        [create.value().get().map(|r| r.map(|_| ())), revoke.value().get().map(|r| r.map(|_| ()))]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
    };
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section class="panel" data-test="api-tokens">
            <h2>"API tokens"</h2>
            <p class="muted">"Sensors send flows and logs to " <code>"/api/v1/ingest/…"</code> ", dashboards read "
                <code>"/api/v1/alerts"</code> " and " <code>"/metrics"</code> ", provisioning tools manage tokens at "
                <code>"/api/v1/tokens"</code> ", each with " <code>"Authorization: Bearer <token>"</code>
                " and a token that has that scope. Only a hash of each token is stored."</p>
            {move || last_error().map(|e| view! { <p class="error" role="alert" data-test="token-error">{e.to_string()}</p> })}
            {move || created().map(|c: CreatedApiToken| view! {
                <div class="notice" role="status" data-test="new-token">
                    <p>{format!("Token “{}” created. Copy it now: it will not be shown again.", c.token.name)}</p>
                    <code class="secret">{c.secret}</code>
                </div>
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        tokens.await.map(|list: TokenList| if list.tokens.is_empty() {
                            view! { <p class="muted">"No API tokens yet."</p> }.into_any()
                        } else {
                            let legacy = list.active_legacy();
                            let now = list.now;
                            view! {
                            {(legacy > 0).then(|| view! {
                                <p class="warning" role="status" data-test="legacy-tokens">
                                    {format!(
                                        "{legacy} active token{} {} created before tokens had scopes: {} may send flows and read every alert. \
                                         Create a token with only the scope each integration needs, switch the integration to it, then revoke the old one.",
                                        if legacy == 1 { "" } else { "s" }, if legacy == 1 { "was" } else { "were" }, if legacy == 1 { "it" } else { "they" },
                                    )}
                                </p>
                            })}
                            <table class="table compact" data-test="tokens">
                                <thead><tr><th>"Name"</th><th>"May"</th><th>"Created"</th><th>"By"</th><th>"Last used"</th><th>"Expires"</th><th>"Status"</th><th></th></tr></thead>
                                <tbody>
                                    {list.tokens.into_iter().map(|t| view! { <TokenRow token=t now revoke/> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() })
                    })}
                </PanelErrors>
            </Transition>
            <ActionForm action=create>
                <div class="form-grid">
                    <div class="field">
                        <label for="new-token-name">"Token name (who or what uses it)"</label>
                        <input id="new-token-name" name="name" maxlength="64" required autocomplete="off"/>
                    </div>
                    <div class="field">
                        <label for="new-token-scopes">"It may"</label>
                        <select id="new-token-scopes" name="scopes" data-test="token-scopes">
                            <option value="ingest" selected>"Send flows and logs (a sensor)"</option>
                            <option value="read">"Read alerts, flows and metrics (a dashboard)"</option>
                            <option value="ingest,read">"Send flows and read alerts"</option>
                            <option value="admin">"Create and revoke API tokens (provisioning)"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="new-token-days">"Expires after"</label>
                        <select id="new-token-days" name="expires_in_days" data-test="token-days">
                            <option value="30">"30 days"</option>
                            <option value="90">"90 days"</option>
                            <option value="365" selected>"1 year"</option>
                            <option value="">"Never (until revoked)"</option>
                        </select>
                    </div>
                </div>
                <button type="submit" class="primary" data-test="create-token">"Create token"</button>
            </ActionForm>
        </section>
    }
}

/// The replay of recorded CIC-IDS2017 traffic: what it is, its state (refreshed every few seconds
/// while it runs, once the page is hydrated), start/stop and speed.
#[component]
fn Replay() -> impl IntoView {
    let control = ServerAction::<ReplayControl>::new();
    let status = resource(move || control.version().get(), |_| replay_state());
    let error = move || control.value().get().and_then(Result::err);
    // Poll while the replay runs, so "flows sent" and the position move on screen.
    let running = RwSignal::new(false);
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if running.get_untracked() {
                    status.refetch();
                }
            },
            std::time::Duration::from_secs(3),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <section class="panel" data-test="replay" id="replay">
            <h2>"Traffic replay (demonstration data)"</h2>
            <p class="muted">"This replays " <strong>"recorded"</strong> " network flows from the public CIC-IDS2017 data set "
                "(Canadian Institute for Cybersecurity, University of New Brunswick; shipped as " <code>"data/cicids2017"</code>
                ") through the live pipeline: the labels are removed before scoring, times are moved to now and the attackers' "
                "addresses are replaced by addresses of several countries, drawn from "
                <a href="https://db-ip.com" rel="noopener">"IP Geolocation by DB-IP"</a> " ranges. "
                "None of it is your network's traffic. Speed is recorded seconds per real second (60 = one recorded minute each second)."</p>
            {move || error().map(|e| view! { <p class="error" role="alert" data-test="replay-error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        status.await.map(|s: ReplayStatus| {
                            running.set(s.running);
                            view! { <ReplayFacts status=s control/> }
                        })
                    })}
                </PanelErrors>
            </Transition>
            <ActionForm action=control attr:class="inline-form">
                <input type="hidden" name="action" value="speed"/>
                <label for="replay-speed">{format!("New speed ({}–{})", REPLAY_SPEED_RANGE.0, REPLAY_SPEED_RANGE.1)}</label>
                <input id="replay-speed" name="speed" inputmode="decimal" autocomplete="off" required placeholder="e.g. 60"/>
                <button type="submit" class="small" data-test="replay-set-speed">"Set speed"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ReplayFacts(status: ReplayStatus, control: ServerAction<ReplayControl>) -> impl IntoView {
    let s = status;
    let position = if s.total > 0 {
        format!("{} of {} flows in pass {} ({} completed)", s.position, s.total, s.loops + 1, s.loops)
    } else {
        "not loaded yet (loaded at the first start)".into()
    };
    view! {
        <dl class="facts" data-test="replay-status">
            <dt>"State"</dt>
            <dd data-test="replay-state" data-running=s.running.to_string()>{if s.running { "Running" } else { "Stopped" }}</dd>
            <dt>"Speed"</dt><dd data-test="replay-speed">{format!("{}× (recorded seconds per second)", s.speed)}</dd>
            <dt>"Flows sent"</dt><dd data-test="replay-sent">{s.sent.to_string()}</dd>
            <dt>"Position"</dt><dd>{position}</dd>
            <dt>"Recording"</dt><dd><code>{s.file.clone()}</code></dd>
            {s.last_error.clone().map(|e| view! { <dt>"Stopped because"</dt><dd class="error" data-test="replay-last-error">{e}</dd> })}
        </dl>
        <ActionForm action=control attr:class="inline-form">
            <input type="hidden" name="action" value=if s.running { "stop" } else { "start" }/>
            <button type="submit" class=if s.running { "danger" } else { "primary" } data-test="replay-toggle">
                {if s.running { "Stop replay" } else { "Start replay" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn TokenRow(token: ApiToken, now: i64, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    let state = token.state(now);
    let revoked = state == TokenState::Revoked;
    let status = match state {
        TokenState::Active => "Active".to_string(),
        TokenState::Expired => format!("Expired {}", token.expires_at.map(utc).unwrap_or_default()),
        TokenState::Revoked => format!("Revoked {}", token.revoked_at.map(utc).unwrap_or_default()),
    };
    let scopes = token.scopes.iter().map(TokenScope::as_str).collect::<Vec<_>>().join(", ");
    view! {
        <tr data-token=token.id.to_string() data-scopes=token.scopes.to_string() class:disabled=state != TokenState::Active>
            <td>{token.name.clone()}</td>
            <td>
                {scopes}
                {token.legacy.then(|| view! { " " <span class="badge warn" title="Created before tokens had scopes">"legacy"</span> })}
            </td>
            <td>{utc(token.created_at)}</td>
            <td>{token.created_by.clone()}</td>
            <td>{token.last_used_at.map(utc).unwrap_or_else(|| "never".into())}</td>
            <td>{token.expires_at.map(utc).unwrap_or_else(|| "never".into())}</td>
            <td>{status}</td>
            <td>
                {(!revoked).then(|| view! {
                    <ActionForm action=revoke attr:class="inline-form">
                        <input type="hidden" name="token_id" value=token.id.to_string()/>
                        <button type="submit" class="small danger">"Revoke"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

#[component]
fn UserRow(user: User, set_role: ServerAction<SetRole>, set_disabled: ServerAction<SetDisabled>) -> impl IntoView {
    let id_for_role = user.id.to_string();
    let id_for_status = user.id.to_string();
    let toggle_to = (!user.disabled).to_string();
    view! {
        <tr data-user=user.username.clone() class:disabled=user.disabled>
            <td><code>{user.username.clone()}</code></td>
            <td>{user.display_name.clone()}</td>
            <td>
                <ActionForm action=set_role attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id_for_role/>
                    <RoleSelect id="" selected=user.role/>
                    <button type="submit" class="small">"Save"</button>
                </ActionForm>
            </td>
            <td>{if user.disabled { "Disabled" } else { "Active" }}</td>
            <td>{user.last_login_at.map(utc).unwrap_or_else(|| "never".into())}</td>
            <td>
                <ActionForm action=set_disabled attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id_for_status/>
                    <input type="hidden" name="disabled" value=toggle_to/>
                    <button type="submit" class="small" class:danger=!user.disabled>
                        {if user.disabled { "Enable" } else { "Disable" }}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn RoleSelect(id: &'static str, selected: Role) -> impl IntoView {
    view! {
        <select name="role" id=(!id.is_empty()).then_some(id) aria-label="Role">
            {Role::ALL.into_iter().map(|r| view! {
                <option value=r.as_str() selected=r == selected>{r.label()}</option>
            }).collect_view()}
        </select>
    }
}
