//! The alert queue: the page of alerts for the filters (riskiest first unless asked otherwise), or
//! the groups when grouped; paging; row selection and the bulk bar; the outcome of the last triage.

use super::use_console;
use crate::api::alerts::TriageAlerts;
use crate::api::incidents::{active_incidents, AddToIncident, CreateIncident};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::session::use_session;
use crate::error::AppError;
use crate::resource::{resource, Resource};
use anomalyforge::console::{threat_title, GroupBy, GroupRow, QueuePage, QueueRow};
use anomalyforge::triage::{label, TriageOutcome};
use leptos::prelude::*;

type QueueResource = Resource<Result<QueuePage, AppError>>;

#[component]
pub fn Queue(queue: QueueResource) -> impl IntoView {
    let ctx = use_console();
    view! {
        <TriageResult/>
        <IncidentResult/>
        <BulkBar/>
        <Transition fallback=|| view! { <p class="muted">"Loading alerts…"</p> }>
            <PanelErrors>
                {move || Suspend::new(async move {
                    queue.await.map(|page| {
                        let ids: Vec<i64> = page.rows.iter().map(|r| r.alert.id).collect();
                        ctx.rows.set(ids);
                        ctx.cursor.update(|c| {
                            if let Some(i) = *c {
                                if i >= page.rows.len() {
                                    *c = page.rows.len().checked_sub(1);
                                }
                            }
                        });
                        view! { <QueueBody page/> }
                    })
                })}
            </PanelErrors>
        </Transition>
    }
}

#[component]
fn QueueBody(page: QueuePage) -> impl IntoView {
    let ctx = use_console();
    let query = ctx.query.get_untracked();
    let pages = page.pages();
    let current = i64::from(page.filter.page);
    let summary = format!(
        "{} alert{} match · {} · page {current} of {pages}",
        page.total,
        if page.total == 1 { "" } else { "s" },
        page.filter.range.label().to_lowercase()
    );
    let link = {
        let query = query.clone();
        move |p: i64| query.with("page", &p.to_string()).href(None)
    };
    let grouped = page.filter.group != GroupBy::None;
    view! {
        <p class="queue-summary" data-test="queue-summary" data-total=page.total.to_string()>{summary}</p>
        {if grouped {
            view! { <Groups group=page.filter.group groups=page.groups/> }.into_any()
        } else if page.rows.is_empty() {
            view! {
                <p class="muted empty" data-test="queue-empty">
                    "No alerts match these filters. Widen the time range or the status, or reset the filters."
                </p>
            }.into_any()
        } else {
            view! { <AlertTable rows=page.rows/> }.into_any()
        }}
        {(!grouped && pages > 1).then(|| view! {
            <nav class="button-row pager" aria-label="Pages">
                {(current > 1).then(|| view! { <a href=link(current - 1) data-test="prev-page">"← Previous"</a> })}
                <span>{format!("Page {current} of {pages}")}</span>
                {(current < pages).then(|| view! { <a href=link(current + 1) data-test="next-page">"Next →"</a> })}
            </nav>
        })}
    }
}

#[component]
fn AlertTable(rows: Vec<QueueRow>) -> impl IntoView {
    let ctx = use_console();
    let ids: Vec<i64> = rows.iter().map(|r| r.alert.id).collect();
    let all_ids = ids.clone();
    let all_selected = move || {
        let sel = ctx.selected.get();
        !all_ids.is_empty() && all_ids.iter().all(|id| sel.contains(id))
    };
    view! {
        <table class="table queue" data-test="queue">
            <thead>
                <tr>
                    <th class="check">
                        <input type="checkbox" aria-label="Select every alert on this page" data-test="select-all"
                            prop:checked=all_selected
                            on:change=move |_| {
                                let every = ids.iter().all(|id| ctx.selected.get_untracked().contains(id));
                                ctx.selected.update(|s| for id in &ids { if every { s.remove(id); } else { s.insert(*id); } });
                            }/>
                    </th>
                    <th>"Risk"</th><th>"Threat"</th><th>"Source"</th><th>"Target"</th><th>"Count"</th>
                    <th>"Last seen (UTC)"</th><th>"Status"</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().enumerate().map(|(i, r)| view! { <AlertLine index=i row=r/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn AlertLine(index: usize, row: QueueRow) -> impl IntoView {
    let ctx = use_console();
    let a = row.alert;
    let id = a.id;
    let href = ctx.href_with_alert(Some(id));
    let target = match (&a.dst_ip, a.dst_port) {
        (Some(ip), Some(port)) => format!("{ip}:{port}"),
        (Some(ip), None) => ip.clone(),
        (None, _) => "—".to_string(),
    };
    let status = a.status;
    view! {
        <tr
            data-alert-id=id.to_string()
            data-status=a.status.as_str()
            class:cursor=move || ctx.cursor.get() == Some(index)
            class:selected=move || ctx.selected.with(|s| s.contains(&id))
            class:open=move || ctx.alert_id.get() == Some(id)
        >
            <td class="check">
                <input type="checkbox" aria-label=format!("Select alert {id}") data-test="select"
                    prop:checked=move || ctx.selected.with(|s| s.contains(&id))
                    on:change=move |_| ctx.selected.update(|s| if !s.remove(&id) { s.insert(id); })/>
            </td>
            <td><span class=format!("risk sev-{}", a.severity.as_str()) title=format!("{} severity", a.severity.as_str())>{a.risk}</span></td>
            <td>
                <a href=href data-test="open-alert">{threat_title(&a.threat)}</a>
                {a.signature.clone().map(|s| view! { <div class="muted small">{s}</div> })}
            </td>
            <td>
                <code>{a.src_ip.clone().unwrap_or_else(|| "—".into())}</code>
                {a.src_country.clone().map(|c| view! { " " <span class="badge">{c}</span> })}
            </td>
            <td>
                <code>{target}</code>
                {row.asset.map(|asset| view! {
                    <div class="small">
                        {asset.hostname.clone().unwrap_or_default()}
                        " " <span class=format!("badge crit-{}", asset.criticality.as_str())>{asset.criticality.as_str()}</span>
                    </div>
                })}
            </td>
            <td>{a.count}</td>
            <td>{utc(a.last_seen)}</td>
            <td>
                <span class=format!("status status-{}", a.status.as_str())>{label(status)}</span>
                {a.assignee.clone().map(|u| view! { <div class="muted small">{format!("→ {u}")}</div> })}
                {a.incident_id.map(|n| view! {
                    <div class="small"><a href=incident_href(n) data-test="alert-incident">{format!("Incident #{n}")}</a></div>
                })}
            </td>
        </tr>
    }
}

#[component]
fn Groups(group: GroupBy, groups: Vec<GroupRow>) -> impl IntoView {
    let ctx = use_console();
    let query = ctx.query.get_untracked();
    if groups.is_empty() {
        return view! { <p class="muted empty" data-test="queue-empty">"No alerts match these filters."</p> }
            .into_any();
    }
    let (param, heading) = match group {
        GroupBy::Source => ("src_ip", "Source address"),
        _ => ("threat", "Threat type"),
    };
    view! {
        <table class="table groups" data-test="groups">
            <thead>
                <tr><th>{heading}</th><th>"Alerts"</th><th>"Detections"</th><th>"Highest risk"</th><th>"Last seen (UTC)"</th><th></th></tr>
            </thead>
            <tbody>
                {groups.into_iter().map(|g| {
                    let name = if group == GroupBy::Threat { threat_title(&g.key) } else { g.key.clone() };
                    let href = (g.key != "-").then(|| query.with(param, &g.key).with("group", "").href(None));
                    view! {
                        <tr data-group=g.key.clone()>
                            <td>{name}</td>
                            <td>{g.alerts}</td>
                            <td>{g.detections}</td>
                            <td><span class=format!("risk sev-{}", anomalyforge::alert::Severity::from_risk(g.max_risk).as_str())>{g.max_risk}</span></td>
                            <td>{utc(g.last_seen)}</td>
                            <td>{href.map(|h| view! { <a href=h data-test="open-group">{format!("Show {} alert{}", g.alerts, if g.alerts == 1 { "" } else { "s" })}</a> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Runs `action` on the selected alerts (or on `ids` when given).
pub fn dispatch_triage(
    triage: ServerAction<TriageAlerts>,
    ids: Vec<i64>,
    action: &str,
    note: String,
    assignee: String,
) {
    if ids.is_empty() {
        return;
    }
    let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    triage.dispatch(TriageAlerts { ids, action: action.to_string(), note, assignee, suppress: String::new() });
}

/// `/soc/incidents` with incident `id` open.
pub fn incident_href(id: i64) -> String {
    format!("{}?incident={id}", crate::components::soc_tabs::INCIDENTS_PAGE.path)
}

/// Opens an incident of `ids` (named after them).
pub fn dispatch_incident(action: ServerAction<CreateIncident>, ids: Vec<i64>) {
    if ids.is_empty() {
        return;
    }
    let ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    action.dispatch(CreateIncident { ids, title: String::new(), severity: String::new() });
}

/// Actions on the selected alerts.
#[component]
fn BulkBar() -> impl IntoView {
    let ctx = use_console();
    let session = use_session();
    let note = RwSignal::new(String::new());
    let run = move |action: &'static str| {
        let ids: Vec<i64> = ctx.selected.get_untracked().into_iter().collect();
        let me = session.user.with_untracked(|u| u.as_ref().map(|u| u.username.clone()).unwrap_or_default());
        let assignee = if action == "assign" { me } else { String::new() };
        dispatch_triage(ctx.triage, ids, action, note.get_untracked(), assignee);
    };
    view! {
        <Show when=move || !ctx.selected.with(|s| s.is_empty())>
            <div class="bulk-bar" role="toolbar" aria-label="Actions on the selected alerts" data-test="bulk-bar">
                <strong>{move || format!("{} selected", ctx.selected.with(|s| s.len()))}</strong>
                <button type="button" class="small" data-test="bulk-acknowledge" on:click=move |_| run("acknowledge")>"Acknowledge"</button>
                <button type="button" class="small" data-test="bulk-assign" on:click=move |_| run("assign")>"Assign to me"</button>
                <button type="button" class="small" data-test="bulk-resolve" on:click=move |_| run("resolve")>"Resolve"</button>
                <input id="bulk-note" type="text" maxlength="2000" placeholder="Note or false-positive reason"
                    aria-label="Note, or the reason for a false positive" data-test="bulk-note"
                    prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                <button type="button" class="small danger" data-test="bulk-false-positive" on:click=move |_| run("false_positive")>"False positive"</button>
                <button type="button" class="small" data-test="bulk-incident"
                    on:click=move |_| dispatch_incident(ctx.incident, ctx.selected.get_untracked().into_iter().collect())>
                    "New incident " <kbd>"i"</kbd>
                </button>
                <AddToIncidentControl/>
                <button type="button" class="small link-button" on:click=move |_| ctx.selected.set(Default::default())>"Clear selection"</button>
            </div>
        </Show>
    }
}

/// Adds the selection to an active incident.
#[component]
fn AddToIncidentControl() -> impl IntoView {
    let ctx = use_console();
    let choices = resource(move || ctx.incident.version().get(), |_| active_incidents());
    let chosen = RwSignal::new(String::new());
    let add = move |_| {
        let Ok(incident) = chosen.get_untracked().parse::<i64>() else { return };
        let ids = ctx.selected.get_untracked().iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        ctx.add_to_incident.dispatch(AddToIncident { incident, ids });
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // Without active incidents (or when they cannot be read) there is nothing to add to.
                choices.await.ok().filter(|c| !c.is_empty()).map(|c| {
                    if chosen.get_untracked().is_empty() {
                        chosen.set(c[0].0.to_string());
                    }
                    view! {
                        <label class="visually-hidden" for="bulk-incident-to">"Incident to add the selection to"</label>
                        <select id="bulk-incident-to" data-test="bulk-incident-to" on:change=move |ev| chosen.set(event_target_value(&ev))>
                            {c.into_iter().map(|(id, title)| view! { <option value=id.to_string()>{format!("#{id} {title}")}</option> }).collect_view()}
                        </select>
                        <button type="button" class="small" data-test="bulk-add-to-incident" on:click=add>"Add to incident"</button>
                    }
                })
            })}
        </Transition>
    }
}

/// What opening an incident or adding to one did, with a link to it.
#[component]
fn IncidentResult() -> impl IntoView {
    let ctx = use_console();
    Effect::new(move |_| {
        if let Some(Ok(_)) = ctx.incident.value().get() {
            ctx.selected.set(Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = ctx.add_to_incident.value().get() {
            ctx.selected.set(Default::default());
        }
    });
    move || {
        let latest = if ctx.incident.version().get() >= ctx.add_to_incident.version().get() {
            ctx.incident.value().get()
        } else {
            ctx.add_to_incident.value().get()
        };
        latest.map(|r| match r {
            Ok(out) => view! {
                <p class="notice" role="status" data-test="incident-result">
                    {format!("{} ", out.describe())}
                    <a href=incident_href(out.incident_id) data-test="open-incident">{format!("Open incident #{}", out.incident_id)}</a>
                </p>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert" data-test="incident-error">{e.to_string()}</p> }.into_any(),
        })
    }
}

/// What the last triage action did.
#[component]
fn TriageResult() -> impl IntoView {
    let ctx = use_console();
    // A successful bulk action clears the selection.
    Effect::new(move |_| {
        if let Some(Ok(_)) = ctx.triage.value().get() {
            ctx.selected.set(Default::default());
        }
    });
    move || {
        ctx.triage.value().get().map(|r| match r {
            Ok(out) => {
                view! { <p class="notice" role="status" data-test="triage-result">{describe(&out)}</p> }.into_any()
            }
            Err(e) => view! { <p class="error" role="alert" data-test="triage-error">{e.to_string()}</p> }.into_any(),
        })
    }
}

/// "2 alerts changed. #7 skipped: the alert is already acknowledged."
pub fn describe(out: &[TriageOutcome]) -> String {
    let changed = out.iter().filter(|o| o.status.is_some()).count();
    let mut text = match (changed, out.first().and_then(|o| o.status)) {
        (1, Some(s)) if out.len() == 1 => format!("Alert #{} is now {}.", out[0].alert_id, label(s)),
        (n, _) => format!("{n} alert{} changed.", if n == 1 { "" } else { "s" }),
    };
    for o in out.iter().filter(|o| o.status.is_none()) {
        text.push_str(&format!(" #{} skipped: {}.", o.alert_id, o.skipped.as_deref().unwrap_or("not applicable")));
    }
    text
}
