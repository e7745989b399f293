//! `/soc/incidents` (analysts, responders, admins): incidents beside the alert queue.
//!
//! - the list: filters in the URL (status, severity, owner, text), highest severity first, paged;
//! - suggested incidents: open alerts that share a host or an address, to accept or dismiss;
//! - the detail of one incident (`?incident=N`): who and what it involves, its commands (comment,
//!   owner, severity, contain, resolve, false positive, reopen), adding alerts, merging another
//!   incident into it, its alerts and its timeline.
//!
//! Like the console, everything is rendered on the server first: the filters are a GET form, every
//! change an `ActionForm`, so the page works before (or without) the WASM. Titles, comments and
//! addresses are rendered as text.

use crate::api::incidents::{
    incident_suggestions, incident_view, list_incidents, AcceptSuggestion, AddToIncident, DismissSuggestion,
    IncidentAct, MergeIncidents,
};
use crate::components::errors::PanelErrors;
use crate::components::format::{count, utc};
use crate::components::guard::Guarded;
use crate::components::respond::{Respond, RespondActions};
use crate::components::session::use_session;
use crate::components::soc_tabs::{SocTabs, INCIDENTS_PAGE};
use crate::error::AppError;
use crate::resource::resource;
use anomalyforge::alert::Severity;
use anomalyforge::console::threat_title;
use anomalyforge::incident::{
    AddOutcome, Incident, IncidentDetail, IncidentPage, IncidentQuery, IncidentStatus, Involved, Suggestion,
};
use anomalyforge::triage::label;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

const SEVERITIES: [Severity; 4] = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

#[component]
pub fn IncidentsPage() -> impl IntoView {
    view! {
        <Guarded page=INCIDENTS_PAGE>
            <Incidents/>
        </Guarded>
    }
}

/// The page's server actions, shared by its parts.
#[derive(Clone, Copy)]
struct Actions {
    act: ServerAction<IncidentAct>,
    merge: ServerAction<MergeIncidents>,
    add: ServerAction<AddToIncident>,
    accept: ServerAction<AcceptSuggestion>,
    dismiss: ServerAction<DismissSuggestion>,
    respond: RespondActions,
    query: Memo<IncidentQuery>,
}

impl Actions {
    fn version(&self) -> (usize, usize, usize, usize, usize, (usize, usize, usize, usize)) {
        (
            self.act.version().get(),
            self.merge.version().get(),
            self.add.version().get(),
            self.accept.version().get(),
            self.dismiss.version().get(),
            self.respond.version(),
        )
    }

    /// The page's URL with incident `id` open (or none).
    fn href_with(&self, id: Option<i64>) -> String {
        self.query.with_untracked(|q| q.with("incident", &id.map(|i| i.to_string()).unwrap_or_default()).href())
    }
}

#[component]
fn Incidents() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| IncidentQuery::from_params(|k| p.get(k))));
    let open_id = Memo::new(move |_| query.with(IncidentQuery::open_id));
    let a = Actions {
        act: ServerAction::new(),
        merge: ServerAction::new(),
        add: ServerAction::new(),
        accept: ServerAction::new(),
        dismiss: ServerAction::new(),
        respond: RespondActions::new(),
        query,
    };
    provide_context(a);
    // Each resource is awaited under exactly one <Transition> (see components/session.rs).
    let list = resource(move || (query.with(|q| q.with("incident", "")), a.version()), |(q, _)| list_incidents(q));
    let suggestions = resource(move || a.version(), |_| incident_suggestions());
    let detail = resource(
        move || (open_id.get(), a.version()),
        |(id, _)| async move {
            match id {
                Some(id) => incident_view(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <SocTabs current=INCIDENTS_PAGE.path/>
        <div class="soc" data-test="page" data-page="/soc/incidents">
            <h1>"Incidents"</h1>
            <Outcome/>
            <div class="soc-grid" class:with-detail=move || open_id.get().is_some()>
                <div class="stack">
                    <section class="panel" aria-label="Incidents">
                        <Filters/>
                        <Transition fallback=|| view! { <p class="muted">"Loading incidents…"</p> }>
                            <PanelErrors>
                                {move || Suspend::new(async move { list.await.map(|page| view! { <List page/> }) })}
                            </PanelErrors>
                        </Transition>
                    </section>
                    <section class="panel" aria-label="Suggested incidents" data-test="suggestions">
                        <h2>"Suggested incidents"</h2>
                        <p class="muted small">"Open alerts in no incident that share an internal host or an external address, each within 6 hours of the previous. Accept one to open an incident of its alerts; a dismissed suggestion comes back only when a newer alert joins it."</p>
                        <Transition fallback=|| view! { <p class="muted">"Looking for related alerts…"</p> }>
                            <PanelErrors>
                                {move || Suspend::new(async move { suggestions.await.map(|s| view! { <Suggestions list=s/> }) })}
                            </PanelErrors>
                        </Transition>
                    </section>
                </div>
                <Show when=move || open_id.get().is_some()>
                    <aside class="panel soc-detail" aria-label="Incident detail" data-test="incident-detail">
                        <Transition fallback=|| view! { <p class="muted">"Loading the incident…"</p> }>
                            <PanelErrors>
                                {move || Suspend::new(async move { detail.await.map(|d| d.map(|d| view! { <Detail d/> })) })}
                            </PanelErrors>
                        </Transition>
                    </aside>
                </Show>
            </div>
        </div>
    }
}

/// What the last change did, or why it failed.
#[component]
fn Outcome() -> impl IntoView {
    let a = expect_context::<Actions>();
    let added = move |r: Option<Result<AddOutcome, AppError>>| {
        r.map(|r| {
            r.map(|o| {
                let href = a.href_with(Some(o.incident_id));
                view! { {format!("{} ", o.describe())} <a href=href data-test="open-incident">{format!("Open incident #{}", o.incident_id)}</a> }
                    .into_any()
            })
        })
    };
    let changed = move |r: Option<Result<Incident, AppError>>| {
        r.map(|r| r.map(|i| format!("Incident #{} is {}.", i.id, i.status.label()).into_any()))
    };
    let last = move || {
        // The most recent action's outcome; versions tell which ran last.
        let candidates: [(usize, Option<Result<AnyView, AppError>>); 5] = [
            (a.act.version().get(), changed(a.act.value().get())),
            (a.merge.version().get(), changed(a.merge.value().get())),
            (a.add.version().get(), added(a.add.value().get())),
            (a.accept.version().get(), added(a.accept.value().get())),
            (
                a.dismiss.version().get(),
                a.dismiss.value().get().map(|r| r.map(|()| "Suggestion dismissed.".into_any())),
            ),
        ];
        candidates.into_iter().filter(|(_, r)| r.is_some()).max_by_key(|(v, _)| *v).and_then(|(_, r)| r)
    };
    move || {
        last().map(|r| match r {
            Ok(v) => view! { <p class="notice" role="status" data-test="incident-result">{v}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert" data-test="incident-error">{e.to_string()}</p> }.into_any(),
        })
    }
}

/// The list's filters: a GET form, so each filter is a link and works without JavaScript.
#[component]
fn Filters() -> impl IntoView {
    let a = expect_context::<Actions>();
    let q = a.query.get_untracked();
    let option = |value: &'static str, text: &'static str, current: &str| {
        view! { <option value=value selected=current == value>{text}</option> }
    };
    view! {
        <form method="get" action=INCIDENTS_PAGE.path class="filters" data-test="incident-filters">
            <div class="field">
                <label for="inc-status">"Status"</label>
                <select id="inc-status" name="status">
                    {option("", "Active", &q.status)}
                    {option("open", "Open", &q.status)}
                    {option("contained", "Contained", &q.status)}
                    {option("resolved", "Resolved", &q.status)}
                    {option("false_positive", "False positive", &q.status)}
                    {option("all", "All", &q.status)}
                </select>
            </div>
            <div class="field">
                <label for="inc-severity">"Severity"</label>
                <select id="inc-severity" name="severity">
                    {option("", "Any", &q.severity)}
                    {SEVERITIES.map(|s| view! { <option value=s.as_str() selected=q.severity == s.as_str()>{s.as_str()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="inc-owner">"Owner"</label>
                <input id="inc-owner" name="owner" value=q.owner.clone() maxlength="64" placeholder="username"/>
            </div>
            <div class="field">
                <label for="inc-q">"Title or #number"</label>
                <input id="inc-q" name="q" type="search" value=q.q.clone() maxlength="200"/>
            </div>
            <button type="submit" data-test="filter-incidents">"Filter"</button>
        </form>
    }
}

#[component]
fn List(page: IncidentPage) -> impl IntoView {
    let a = expect_context::<Actions>();
    let query = a.query.get_untracked();
    let pages = page.pages();
    let current = i64::from(page.filter.page);
    let (open, contained) = page.active;
    let summary = format!(
        "{} · {} open, {} contained in all",
        count(page.total as u64, "incident matches", "incidents match"),
        open,
        contained
    );
    let link = move |p: i64| query.with("page", &p.to_string()).href();
    view! {
        <p class="queue-summary" data-test="incident-summary" data-total=page.total.to_string()>{summary}</p>
        {if page.rows.is_empty() {
            view! {
                <p class="muted empty" data-test="incidents-empty">
                    "No incident matches. Create one from the alert queue (select alerts, then "
                    <kbd>"i"</kbd>
                    " or “New incident”), or accept a suggestion below."
                </p>
            }.into_any()
        } else {
            view! {
                <table class="table" data-test="incidents">
                    <thead>
                        <tr><th>"Severity"</th><th>"Incident"</th><th>"Status"</th><th>"Owner"</th><th>"Alerts"</th><th>"Last alert (UTC)"</th></tr>
                    </thead>
                    <tbody>
                        {page.rows.into_iter().map(|i| view! { <Row i/> }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {(pages > 1).then(|| view! {
            <nav class="button-row pager" aria-label="Pages">
                {(current > 1).then(|| view! { <a href=link(current - 1)>"← Previous"</a> })}
                <span>{format!("Page {current} of {pages}")}</span>
                {(current < pages).then(|| view! { <a href=link(current + 1)>"Next →"</a> })}
            </nav>
        })}
    }
}

#[component]
fn Row(i: Incident) -> impl IntoView {
    let a = expect_context::<Actions>();
    let href = a.href_with(Some(i.id));
    let id = i.id;
    view! {
        <tr data-incident=id.to_string() data-status=i.status.as_str() class:open=move || a.query.with(|q| q.open_id()) == Some(id)>
            <td><span class=format!("risk sev-{}", i.severity.as_str())>{i.severity.as_str()}</span></td>
            <td><a href=href data-test="open-incident">{format!("#{} {}", i.id, i.title)}</a></td>
            <td><span class=format!("status status-{}", i.status.as_str())>{i.status.label()}</span></td>
            <td>{i.owner.clone().unwrap_or_else(|| "—".into())}</td>
            <td>{format!("{} ({} open)", i.alerts, i.open_alerts)}</td>
            <td>{i.last_seen.map(utc).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

#[component]
fn Suggestions(list: Vec<Suggestion>) -> impl IntoView {
    let a = expect_context::<Actions>();
    if list.is_empty() {
        return view! { <p class="muted" data-test="no-suggestions">"No open alerts share a host or an address right now."</p> }
            .into_any();
    }
    view! {
        <ul class="suggestions">
            {list.into_iter().map(|s| {
                let title = s.title(threat_title);
                let ids = s.alert_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
                let n = s.alert_ids.len() as u64;
                let (key, newest) = (s.key.clone(), s.newest_alert().to_string());
                view! {
                    <li data-test="suggestion" data-key=s.key.clone()>
                        <strong>{title.clone()}</strong>
                        <div class="muted small">
                            {format!("{} · {} to {} · highest risk {}", count(n, "alert", "alerts"), utc(s.first_seen), utc(s.last_seen), s.max_risk)}
                        </div>
                        <div class="button-row">
                            <ActionForm action=a.accept attr:class="inline-form">
                                <input type="hidden" name="ids" value=ids/>
                                <input type="hidden" name="title" value=title/>
                                <button type="submit" class="small primary" data-test="accept-suggestion">"Open incident"</button>
                            </ActionForm>
                            <ActionForm action=a.dismiss attr:class="inline-form">
                                <input type="hidden" name="key" value=key/>
                                <input type="hidden" name="newest" value=newest/>
                                <button type="submit" class="small" data-test="dismiss-suggestion">"Dismiss"</button>
                            </ActionForm>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn Detail(d: IncidentDetail) -> impl IntoView {
    let a = expect_context::<Actions>();
    let i = d.incident.clone();
    let close = a.href_with(None);
    let owner = i.owner.clone().map_or_else(|| "no owner".to_string(), |o| format!("owned by {o}"));
    view! {
        <header class="detail-head" data-incident=i.id.to_string()>
            <a href=close class="close" aria-label="Close the incident">"×"</a>
            <h2>
                <span class=format!("risk sev-{}", i.severity.as_str())>{i.severity.as_str()}</span>
                " " {i.title.clone()}
            </h2>
            <p class="muted">
                {format!("Incident #{} · ", i.id)}
                <span data-test="incident-status" data-status=i.status.as_str()>{i.status.label()}</span>
                {format!(" · {owner} · opened by {} {}", i.created_by, utc(i.created_at))}
            </p>
            <p class="muted small">{format!(
                "{} ({} open){}{}",
                count(i.alerts as u64, "alert", "alerts"),
                i.open_alerts,
                i.contained_at.map(|t| format!(" · contained {}", utc(t))).unwrap_or_default(),
                i.closed_at.map(|t| format!(" · closed {}", utc(t))).unwrap_or_default(),
            )}</p>
            {(!i.resolution.is_empty()).then(|| view! { <p data-test="resolution"><strong>"Resolution: "</strong><span class="prose">{i.resolution.clone()}</span></p> })}
            {i.merged_into.map(|m| view! {
                <p class="notice">{format!("Merged into incident #{m}. ")}<a href=a.href_with(Some(m))>{format!("Open #{m}")}</a></p>
            })}
        </header>
        <Involvement d=d.clone()/>
        {i.merged_into.is_none().then(|| view! { <Commands d=d.clone()/> })}
        {i.merged_into.is_none().then(|| {
            let blocks = d.summary.addresses.iter().map(|v| v.key.clone()).collect::<Vec<_>>();
            let hosts = d.summary.hosts.iter().map(|v| v.key.clone()).collect::<Vec<_>>();
            view! { <Respond access=d.response.clone() actions=a.respond incident=i.id blocks hosts/> }
        })}
        <Alerts d=d.clone()/>
        <Timeline d=d.clone()/>
    }
}

#[component]
fn Involvement(d: IncidentDetail) -> impl IntoView {
    let s = d.summary;
    let list = |title: &'static str, test: &'static str, items: Vec<Involved>, code: bool| {
        view! {
            <div data-test=test>
                <h3>{title}</h3>
                {if items.is_empty() {
                    view! { <p class="muted small">"None."</p> }.into_any()
                } else {
                    view! {
                        <ul class="plain">
                            {items.into_iter().map(|v| view! {
                                <li>
                                    {if code {
                                        view! { <code>{v.key.clone()}</code> }.into_any()
                                    } else {
                                        view! { <span>{v.label.clone().unwrap_or(v.key.clone())}</span> }.into_any()
                                    }}
                                    <span class="muted small">{format!(
                                        "{} · {}",
                                        v.label.clone().filter(|_| code).map(|l| format!(" ({l})")).unwrap_or_default(),
                                        count(v.alerts as u64, "alert", "alerts")
                                    )}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </div>
        }
    };
    view! {
        <section class="detail-section" data-test="involved">
            <div class="peer-grid">
                {list("Internal hosts", "hosts", s.hosts, true)}
                {list("External addresses", "addresses", s.addresses, true)}
                {list("Threats", "threats", s.threats, false)}
            </div>
            {s.first_seen.zip(s.last_seen).map(|(f, l)| view! { <p class="muted small">{format!("Alerts from {} to {}.", utc(f), utc(l))}</p> })}
        </section>
    }
}

#[component]
fn Commands(d: IncidentDetail) -> impl IntoView {
    let a = expect_context::<Actions>();
    let session = use_session();
    let me = session.user.with_untracked(|u| u.as_ref().map(|u| u.username.clone()).unwrap_or_default());
    let i = d.incident;
    let iid = i.id;
    let status = i.status;
    let pending = a.act.pending();
    let hidden = move |name: &'static str, value: String| view! { <input type="hidden" name=name value=value/> };
    let owner = i.owner.clone().unwrap_or(me);
    let form = move |action: &'static str,
                     label: &'static str,
                     button: &'static str,
                     required: bool,
                     class: &'static str| {
        let field = format!("inc-{action}");
        view! {
            <ActionForm action=a.act>
                {hidden("id", iid.to_string())}{hidden("action", action.into())}{hidden("value", String::new())}
                <label for=field.clone()>{label}</label>
                <textarea id=field name="note" rows="2" maxlength="2000" required=required data-test=format!("{action}-note")></textarea>
                <button type="submit" class=class data-test=action disabled=pending>{button}</button>
            </ActionForm>
        }
    };
    view! {
        <section class="detail-section triage" data-test="incident-commands">
            <h3>"Respond"</h3>
            {if status.is_active() {
                view! {
                    {(status == IncidentStatus::Open).then(|| view! {
                        <details class="triage-form" open>
                            <summary>"Contain"</summary>
                            {form("contain", "What was done to stop the spread (optional)", "Mark contained", false, "primary")}
                        </details>
                    })}
                    <details class="triage-form" open=status == IncidentStatus::Contained>
                        <summary>"Resolve"</summary>
                        {form("resolve", "Resolution: what happened and what was done (required; it resolves the open alerts too)", "Resolve", true, "primary")}
                    </details>
                    <details class="triage-form">
                        <summary>"False positive"</summary>
                        {form("false_positive", "Why this is not an attack (required; it closes the open alerts as false positives)", "Mark false positive", true, "danger")}
                    </details>
                }.into_any()
            } else {
                form("reopen", "Reopen (optional note)", "Reopen", false, "").into_any()
            }}
            <details class="triage-form">
                <summary>"Comment"</summary>
                {form("comment", "Comment", "Add comment", true, "")}
            </details>
            <div class="triage-buttons">
                <ActionForm action=a.act>
                    {hidden("id", iid.to_string())}{hidden("action", "assign".into())}{hidden("note", String::new())}
                    <label for="inc-owner-to">"Owner"</label>
                    <select id="inc-owner-to" name="value" data-test="owner">
                        {d.assignable.iter().map(|u| view! { <option value=u.clone() selected=*u == owner>{u.clone()}</option> }).collect_view()}
                    </select>
                    <button type="submit" data-test="assign" disabled=pending>"Set owner"</button>
                </ActionForm>
                <ActionForm action=a.act>
                    {hidden("id", iid.to_string())}{hidden("action", "severity".into())}{hidden("note", String::new())}
                    <label for="inc-severity-to">"Severity"</label>
                    <select id="inc-severity-to" name="value" data-test="severity">
                        {SEVERITIES.map(|s| view! { <option value=s.as_str() selected=s == i.severity>{s.as_str()}</option> }).collect_view()}
                    </select>
                    <button type="submit" data-test="set-severity" disabled=pending>"Set severity"</button>
                </ActionForm>
            </div>
            {status.is_active().then(|| view! {
                <ActionForm action=a.add attr:class="inline-form">
                    {hidden("incident", iid.to_string())}
                    <label for="inc-add">"Add alerts (numbers, comma-separated)"</label>
                    <input id="inc-add" name="ids" maxlength="4000" placeholder="e.g. 812, 815" required data-test="add-alerts-ids"/>
                    <button type="submit" data-test="add-alerts">"Add"</button>
                </ActionForm>
            })}
            {(!d.mergeable.is_empty()).then(|| view! {
                <ActionForm action=a.merge attr:class="inline-form">
                    {hidden("into", iid.to_string())}
                    <label for="inc-merge">"Merge another incident into this one"</label>
                    <select id="inc-merge" name="from" data-test="merge-from">
                        {d.mergeable.iter().map(|(m, t)| view! { <option value=m.to_string()>{format!("#{m} {t}")}</option> }).collect_view()}
                    </select>
                    <button type="submit" data-test="merge">"Merge"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn Alerts(d: IncidentDetail) -> impl IntoView {
    let shown = d.alerts.len() as i64;
    let total = d.incident.alerts;
    view! {
        <section class="detail-section" data-test="incident-alerts">
            <h3>{format!("Alerts ({total})")}</h3>
            {(shown < total).then(|| view! { <p class="muted small">{format!("The newest {shown} are listed.")}</p> })}
            {if d.alerts.is_empty() {
                view! { <p class="muted small">"No alerts: they moved with a merge, or were deleted by retention."</p> }.into_any()
            } else {
                view! {
                    <table class="table compact">
                        <thead><tr><th>"Risk"</th><th>"Alert"</th><th>"Source → target"</th><th>"Status"</th><th>"Last seen"</th></tr></thead>
                        <tbody>
                            {d.alerts.into_iter().map(|al| {
                                let st = label(al.status);
                                view! {
                                    <tr data-alert-id=al.id.to_string()>
                                        <td><span class=format!("risk sev-{}", al.severity.as_str())>{al.risk}</span></td>
                                        <td><a href=format!("/soc?alert={}", al.id)>{format!("#{} {}", al.id, threat_title(&al.threat))}</a></td>
                                        <td><code>{format!("{} → {}", al.src_ip.clone().unwrap_or_else(|| "—".into()), al.dst_ip.clone().unwrap_or_else(|| "—".into()))}</code></td>
                                        <td><span class=format!("status status-{}", al.status.as_str())>{st}</span></td>
                                        <td>{utc(al.last_seen)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Timeline(d: IncidentDetail) -> impl IntoView {
    view! {
        <section class="detail-section" data-test="timeline">
            <h3>"Timeline"</h3>
            <ol class="history">
                {d.timeline.into_iter().map(|e| view! {
                    <li data-test="timeline-entry" data-kind=e.kind.clone()>
                        <span class="muted small">{utc(e.at)}</span> " "
                        <strong>{e.actor.clone()}</strong>
                        {format!(" · {}", e.kind_label())}
                        {(!e.detail.is_empty()).then(|| view! { ": " <span class="prose">{e.detail.clone()}</span> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
