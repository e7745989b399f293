//! The detail of one alert (`/soc?alert=N`): why it fired (in words and numbers), where it came
//! from, the asset it concerns, employee reports about it, triage, the playbook with steps to tick
//! off, related alerts from the same source, and its history. Every form is an `ActionForm`, so
//! triage works before (or without) the WASM.

use super::use_console;
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::respond::Respond;
use crate::components::session::use_session;
use crate::components::worldmap::country_name;
use crate::error::AppError;
use crate::resource::Resource;
use anomalyforge::alert::{Alert, AlertStatus};
use anomalyforge::charts::format_number;
use anomalyforge::console::{threat_title, AlertDetail, IntelBrief};
use anomalyforge::explain::{explain, Explanation};
use anomalyforge::playbook::{playbook_href, Playbook};
use anomalyforge::triage::{label, AlertEvent};
use leptos::prelude::*;

type DetailResource = Resource<Result<Option<AlertDetail>, AppError>>;

#[component]
pub fn Detail(detail: DetailResource) -> impl IntoView {
    let ctx = use_console();
    view! {
        <Show when=move || ctx.alert_id.get().is_some()>
            <aside class="panel soc-detail" aria-label="Alert detail" data-test="alert-detail">
                <Transition fallback=|| view! { <p class="muted">"Loading the alert…"</p> }>
                    <PanelErrors>
                        {move || Suspend::new(async move {
                            detail.await.map(|d| d.map(|d| view! { <DetailBody d/> }))
                        })}
                    </PanelErrors>
                </Transition>
            </aside>
        </Show>
    }
}

#[component]
fn DetailBody(d: AlertDetail) -> impl IntoView {
    let ctx = use_console();
    let a = d.alert.clone();
    let why = explain(&a);
    let close = ctx.href_with_alert(None);
    let status = a.status;
    view! {
        <header class="detail-head" data-alert-id=a.id.to_string()>
            <a href=close class="close" aria-label="Close the detail (Esc)" data-test="close-detail">"×"</a>
            <h2>
                <span class=format!("risk sev-{}", a.severity.as_str())>{a.risk}</span>
                " " {threat_title(&a.threat)}
            </h2>
            <p class="muted">
                {format!("Alert #{} · {} severity · ", a.id, a.severity.as_str())}
                <span data-test="detail-status" data-status=a.status.as_str()>{label(status)}</span>
                {a.assignee.clone().map(|u| format!(" · assigned to {u}"))}
            </p>
            {a.incident_id.map(|n| view! {
                <p class="small"><a href=super::queue::incident_href(n) data-test="detail-incident">{format!("Part of incident #{n}")}</a></p>
            })}
            {a.origin.clone().map(|file| view! {
                <p class="small" data-test="detail-origin">{format!("Imported from the analysed file {file}, not seen live")}</p>
            })}
            <p class="muted small">{format!(
                "{} {}{} · first seen {} · last seen {}",
                format_number(a.count as f64),
                // A behaviour alert counts the connections of its pattern, not separate detections.
                if a.detector == anomalyforge::alert::Detector::Behaviour { "connection" } else { "detection" },
                if a.count == 1 { "" } else { "s" },
                utc(a.first_seen),
                utc(a.last_seen)
            )}</p>
        </header>
        <Triage alert=a.clone() assignable=d.assignable.clone()/>
        <Respond
            access=d.response.clone()
            actions=ctx.respond
            alert=a.id
            blocks=a.src_ip.iter().chain(a.dst_ip.iter()).filter(|ip| !anomalyforge::net::is_internal_address(ip)).cloned().collect()
            hosts=a.src_ip.iter().chain(a.dst_ip.iter()).filter(|ip| anomalyforge::net::is_internal_address(ip)).cloned().collect()
        />
        <Why why alert=a.clone()/>
        <Where alert=a.clone() d=d.clone()/>
        {d.intel.clone().map(|i| view! { <Intel i/> })}
        {d.playbook.clone().map(|p| view! { <Steps alert_id=a.id playbook=p done=d.steps_done.clone()/> })}
        <Related d=d.clone()/>
        <History events=d.history.clone()/>
        <details class="raw">
            <summary>"Raw reasons and features (JSON)"</summary>
            <pre data-test="raw-reasons">{pretty(&a.reasons)}</pre>
            <pre data-test="raw-features">{pretty(&a.features)}</pre>
        </details>
    }
}

fn pretty(json: &str) -> String {
    serde_json::from_slice::<serde_json::Value>(json.as_bytes())
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

#[component]
fn Why(why: Explanation, alert: Alert) -> impl IntoView {
    let steps = why.risk_steps.clone();
    view! {
        <section class="detail-section" data-test="why">
            <h3>"Why it fired"</h3>
            <p data-test="why-headline"><strong>{why.headline.clone()}</strong></p>
            <ul class="reasons">
                {why.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
            </ul>
            <p class="risk-steps" data-test="risk-steps">
                {steps.iter().enumerate().map(|(i, s)| view! {
                    {(i > 0).then_some(" → ")}
                    <span title=s.what.clone()>{format!("{} ({})", s.risk, s.what)}</span>
                }).collect_view()}
            </p>
            {(!why.models.is_empty()).then(|| view! {
                <table class="table compact" data-test="models">
                    <thead><tr><th>"Model"</th><th>"Fired"</th><th>"Score"</th><th>"Threshold"</th><th>"Strength"</th></tr></thead>
                    <tbody>
                        {why.models.iter().map(|m| view! {
                            <tr class:fired=m.fired>
                                <td>{m.name.clone()}</td>
                                <td>{if m.fired { "yes" } else { "no" }}</td>
                                <td>{num(m.score)}</td>
                                <td>{num(m.threshold)}</td>
                                <td>{format!("{}×", num(m.strength))}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!why.features.is_empty()).then(|| view! {
                <h4>"Features that mattered most"</h4>
                <table class="table compact" data-test="features">
                    <thead><tr><th>"Feature"</th><th>"Value in this flow"</th><th>"Effect"</th><th>"Weight"</th></tr></thead>
                    <tbody>
                        {why.features.iter().map(|f| view! {
                            <tr>
                                <td>{f.feature.clone()}</td>
                                <td>{f.value.map_or_else(|| "missing".to_string(), |v| format_number(f64::from(v)))}</td>
                                <td>{f.words.clone()}</td>
                                <td>{num(f.contribution)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(alert.detector == anomalyforge::alert::Detector::Ml).then(|| view! {
                <p class="muted small">"Scores are the models' own: probabilities for the classifiers, anomaly scores for the others. "
                    "Strength 1.0× means at the model's threshold. " <a href="/models">"How the models were trained and evaluated"</a></p>
            })}
        </section>
    }
}

fn num(v: f32) -> String {
    if !v.is_finite() {
        "—".to_string()
    } else if v.abs() >= 100.0 {
        format_number(f64::from(v))
    } else {
        format!("{v:.3}")
    }
}

fn protocol_name(p: Option<i64>) -> String {
    match p {
        Some(6) => "TCP".into(),
        Some(17) => "UDP".into(),
        Some(1) => "ICMP".into(),
        Some(58) => "ICMPv6".into(),
        Some(n) => format!("protocol {n}"),
        None => "unknown protocol".into(),
    }
}

#[component]
fn Where(alert: Alert, d: AlertDetail) -> impl IntoView {
    let ctx = use_console();
    let country = alert.src_country.clone();
    let src = match (&alert.src_ip, alert.src_port) {
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
        (Some(ip), None) => ip.clone(),
        _ => "unknown".into(),
    };
    let dst = match (&alert.dst_ip, alert.dst_port) {
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
        (Some(ip), None) => ip.clone(),
        _ => "unknown".into(),
    };
    let query = ctx.query.get_untracked();
    view! {
        <section class="detail-section" data-test="where">
            <h3>"Source and target"</h3>
            <dl class="facts">
                <dt>"Source"</dt>
                <dd>
                    <code data-test="detail-src">{src}</code>
                    {match country {
                        Some(cc) => view! {
                            " · " <a href=query.with("country", &cc).href(None) data-world-map="">{
                                // The name comes with the world map (fetched in the browser).
                                let cc = cc.clone();
                                move || country_name(&cc)
                            }</a>
                            <span class="muted small">" (" <a href="https://db-ip.com" rel="external noopener" target="_blank">"IP Geolocation by DB-IP"</a> ")"</span>
                        }.into_any(),
                        None => view! { <span class="muted">" · private or unknown location"</span> }.into_any(),
                    }}
                </dd>
                <dt>"Target"</dt>
                <dd><code data-test="detail-dst">{dst}</code> {format!(" · {}", protocol_name(alert.protocol))}</dd>
            </dl>
            {match d.asset.clone() {
                Some(asset) => view! {
                    <h4>"Asset"</h4>
                    <dl class="facts" data-test="asset">
                        <dt>"Address"</dt><dd><code>{asset.ip.clone()}</code> {asset.hostname.clone().map(|h| format!(" · {h}"))}</dd>
                        <dt>"Owner"</dt><dd>{asset.owner.clone().filter(|o| !o.trim().is_empty()).unwrap_or_else(|| "Unassigned".into())}</dd>
                        <dt>"Purpose"</dt><dd>{asset.purpose.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Criticality"</dt><dd><span class=format!("badge crit-{}", asset.criticality.as_str())>{asset.criticality.as_str()}</span>
                            {asset.discovered.then(|| view! { " " <span class="badge warn">"discovered, not yet reviewed"</span> })}</dd>
                        {(!asset.tags.is_empty()).then(|| view! { <dt>"Tags"</dt><dd>{asset.tags.join(", ")}</dd> })}
                    </dl>
                    <p class="small"><a href=query.with("asset", &asset.ip).with("status", "all").href(None)>"All alerts of this asset"</a>
                        " · " <a href="/assets">"Asset inventory"</a></p>
                }.into_any(),
                None => view! { <p class="muted small">"No internal asset is involved (or the address is not in the configured internal networks)."</p> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Intel(i: IntelBrief) -> impl IntoView {
    view! {
        <section class="detail-section" data-test="intel">
            <h3>"Employee reports"</h3>
            <p>
                {format!("{} report{} about ", i.reports, if i.reports == 1 { "" } else { "s" })}
                <code>{i.indicator.clone()}</code>
                {format!(" · {} · status {}", i.category.title(), i.status.as_str())}
            </p>
            <p class="small"><a href="/soc/reports">"Open the employee reports"</a></p>
        </section>
    }
}

#[component]
fn Triage(alert: Alert, assignable: Vec<String>) -> impl IntoView {
    let ctx = use_console();
    let session = use_session();
    let me = session.user.with_untracked(|u| u.as_ref().map(|u| u.username.clone()).unwrap_or_default());
    let id = alert.id;
    let status = alert.status;
    let open = status.is_open();
    let hidden = move |name: &'static str, value: String| view! { <input type="hidden" name=name value=value/> };
    let pending = ctx.triage.pending();
    view! {
        <section class="detail-section triage" data-test="triage">
            <h3>"Triage"</h3>
            <div class="triage-buttons">
                {(status == AlertStatus::New).then(|| view! {
                    <ActionForm action=ctx.triage>
                        {hidden("ids", id.to_string())}{hidden("action", "acknowledge".into())}{hidden("note", String::new())}{hidden("assignee", String::new())}
                        <button type="submit" class="primary" data-test="acknowledge" disabled=pending>"Acknowledge " <kbd>"a"</kbd></button>
                    </ActionForm>
                })}
                {open.then(|| view! {
                    <ActionForm action=ctx.triage>
                        {hidden("ids", id.to_string())}{hidden("action", "assign".into())}{hidden("note", String::new())}
                        <label class="visually-hidden" for="assign-to">"Assign to"</label>
                        <select id="assign-to" name="assignee" data-test="assignee">
                            {assignable.iter().map(|u| view! { <option value=u.clone() selected=*u == me>{u.clone()}</option> }).collect_view()}
                        </select>
                        <button type="submit" data-test="assign" disabled=pending>"Assign"</button>
                    </ActionForm>
                })}
            </div>
            {if open {
                view! {
                    <details class="triage-form" open>
                        <summary>"Resolve " <kbd>"r"</kbd></summary>
                        <ActionForm action=ctx.triage>
                            {hidden("ids", id.to_string())}{hidden("action", "resolve".into())}{hidden("assignee", String::new())}
                            <label for="resolve-note">"What was done (optional)"</label>
                            <input id="resolve-note" name="note" maxlength="2000" data-test="resolve-note"/>
                            <button type="submit" class="primary" data-test="resolve" disabled=pending>"Resolve"</button>
                        </ActionForm>
                    </details>
                    <details class="triage-form">
                        <summary data-test="fp-open">"False positive " <kbd>"f"</kbd></summary>
                        <ActionForm action=ctx.triage>
                            {hidden("ids", id.to_string())}{hidden("action", "false_positive".into())}{hidden("assignee", String::new())}
                            <label for="fp-reason">"Why is this not an attack? (required)"</label>
                            <textarea id="fp-reason" name="note" rows="2" maxlength="2000" required data-test="fp-reason"></textarea>
                            <label for="fp-suppress">"Also stop alerting on"</label>
                            <select id="fp-suppress" name="suppress" data-test="fp-suppress">
                                <option value="">"Nothing — just this alert"</option>
                                <option value="source">"This source address"</option>
                                <option value="source,type">"This source, for this threat type"</option>
                                <option value="type,asset">"This threat type on this asset"</option>
                                <option value="asset">"Anything on this asset"</option>
                            </select>
                            <button type="submit" class="danger" data-test="false-positive" disabled=pending>"Mark false positive"</button>
                        </ActionForm>
                    </details>
                }.into_any()
            } else {
                view! {
                    <ActionForm action=ctx.triage>
                        {hidden("ids", id.to_string())}{hidden("action", "reopen".into())}{hidden("assignee", String::new())}
                        <label for="reopen-note">"Reopen (optional note)"</label>
                        <input id="reopen-note" name="note" maxlength="2000"/>
                        <button type="submit" data-test="reopen" disabled=pending>"Reopen"</button>
                    </ActionForm>
                }.into_any()
            }}
            <details class="triage-form">
                <summary>"Comment"</summary>
                <ActionForm action=ctx.triage>
                    {hidden("ids", id.to_string())}{hidden("action", "comment".into())}{hidden("assignee", String::new())}
                    <label for="comment-text">"Comment"</label>
                    <textarea id="comment-text" name="note" rows="2" maxlength="2000" required data-test="comment-text"></textarea>
                    <button type="submit" data-test="comment" disabled=pending>"Add comment"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn Steps(alert_id: i64, playbook: Playbook, done: Vec<bool>) -> impl IntoView {
    let ctx = use_console();
    let total = playbook.steps.len();
    let ticked = done.iter().filter(|d| **d).count();
    view! {
        <section class="detail-section" data-test="playbook">
            <h3>"Playbook: " {playbook.title.clone()}</h3>
            <p class="muted small">{playbook.summary.clone()}</p>
            <p class="small" data-test="steps-progress">{format!("{ticked} of {total} steps done")}</p>
            <ol class="steps">
                {playbook.steps.clone().into_iter().enumerate().map(|(i, step)| {
                    let is_done = done.get(i).copied().unwrap_or(false);
                    view! {
                        <li class:done=is_done>
                            <ActionForm action=ctx.tick>
                                <input type="hidden" name="alert_id" value=alert_id.to_string()/>
                                <input type="hidden" name="step" value=(i + 1).to_string()/>
                                <input type="hidden" name="done" value=(!is_done).to_string()/>
                                <button type="submit" class="step" data-test="step" data-done=is_done.to_string()
                                    aria-pressed=is_done.to_string()>
                                    <span aria-hidden="true">{if is_done { "☑ " } else { "☐ " }}</span>
                                    {step}
                                </button>
                            </ActionForm>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <p class="small"><a href=playbook_href(&playbook.threat)>"The whole playbook"</a></p>
        </section>
    }
}

#[component]
fn Related(d: AlertDetail) -> impl IntoView {
    let ctx = use_console();
    let query = ctx.query.get_untracked();
    let Some(src) = d.alert.src_ip.clone() else {
        return ().into_any();
    };
    view! {
        <section class="detail-section" data-test="related">
            <h3>"Other alerts from this source"</h3>
            {if d.related.is_empty() {
                view! { <p class="muted small">"None: this is the only alert from " <code>{src.clone()}</code> "."</p> }.into_any()
            } else {
                view! {
                    <ul class="related">
                        {d.related.iter().map(|r| {
                            let href = query.href(Some(("alert", r.id.to_string())));
                            view! {
                                <li>
                                    <span class=format!("risk sev-{}", r.severity.as_str())>{r.risk}</span>
                                    " " <a href=href>{threat_title(&r.threat)}</a>
                                    <span class="muted small">{format!(" → {} · {} · {}", r.dst_ip.clone().unwrap_or_default(), r.status.as_str(), utc(r.last_seen))}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <p class="small"><a href=query.with("src_ip", &src).with("status", "all").with("range", "7d").href(None) data-test="related-all">
                        {format!("All {} other alert{} from this source", d.related_total, if d.related_total == 1 { "" } else { "s" })}
                    </a></p>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn History(events: Vec<AlertEvent>) -> impl IntoView {
    view! {
        <section class="detail-section" data-test="history">
            <h3>"History"</h3>
            {if events.is_empty() {
                view! { <p class="muted small">"Nothing has been done to this alert yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="history">
                        {events.into_iter().map(|e| view! {
                            <li data-test="history-entry" data-action=e.action.clone()>
                                <span class="muted small">{utc(e.at)}</span> " "
                                <strong>{e.actor.clone()}</strong> " "
                                {action_words(&e.action)}
                                {(!e.detail.is_empty()).then(|| view! { ": " <span class="prose">{e.detail.clone()}</span> })}
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

fn action_words(action: &str) -> String {
    let words = match action {
        "acknowledge" => "acknowledged",
        "assign" => "assigned to",
        "comment" => "commented",
        "resolve" => "resolved",
        "false_positive" => "marked a false positive",
        "reopen" => "reopened",
        "step_done" => "ticked off step",
        "incident" => "added it to incident",
        "action" => "took a response action",
        "action_approved" => "approved a response action",
        "action_rejected" => "rejected a response action",
        "action_lifted" => "lifted a response action",
        "step_undone" => "unticked step",
        other => other,
    };
    words.to_string()
}
