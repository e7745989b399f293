//! Response actions on an alert's or an incident's page: the actions taken (with their state,
//! who, when, why and the expiry, and approve / reject / lift where the viewer may act), and the form
//! to block an address, isolate a host or note a manual action. Every form is an `ActionForm`, so it
//! works before (or without) the WASM; the page refreshes its detail on [`RespondActions::version`].

use crate::api::response::{ApproveAction, LiftAction, RejectAction, RequestAction};
use crate::components::format::utc;
use anomalyforge::response::{ActionKind, ActionState, ActionStatus, ResponseAccess, ResponseAction, MAX_REASON};
use leptos::prelude::*;

/// The server actions of the respond forms; the page creates them once and re-reads its detail
/// when [`RespondActions::version`] changes.
#[derive(Clone, Copy)]
pub struct RespondActions {
    pub request: ServerAction<RequestAction>,
    pub approve: ServerAction<ApproveAction>,
    pub reject: ServerAction<RejectAction>,
    pub lift: ServerAction<LiftAction>,
}

impl RespondActions {
    pub fn new() -> RespondActions {
        RespondActions {
            request: ServerAction::new(),
            approve: ServerAction::new(),
            reject: ServerAction::new(),
            lift: ServerAction::new(),
        }
    }

    pub fn version(&self) -> (usize, usize, usize, usize) {
        (
            self.request.version().get(),
            self.approve.version().get(),
            self.reject.version().get(),
            self.lift.version().get(),
        )
    }

    /// The latest outcome in words, or the latest error.
    pub fn outcome(&self) -> Option<Result<String, String>> {
        let done = |r: Option<Result<ResponseAction, crate::error::AppError>>, verb: &'static str| {
            r.map(|r| {
                r.map(|a| {
                    let verb = match (verb, a.status) {
                        ("requested", ActionStatus::Pending) => "waits for a second person's approval",
                        ("requested", _) => "recorded: in force",
                        (v, _) => v,
                    };
                    format!("{} (action #{}) {verb}.", a.describe(), a.id)
                })
                .map_err(|e| e.to_string())
            })
        };
        [
            (self.request.version().get(), done(self.request.value().get(), "requested")),
            (self.approve.version().get(), done(self.approve.value().get(), "approved: in force")),
            (self.reject.version().get(), done(self.reject.value().get(), "rejected")),
            (self.lift.version().get(), done(self.lift.value().get(), "lifted")),
        ]
        .into_iter()
        .filter(|(_, r)| r.is_some())
        .max_by_key(|(v, _)| *v)
        .and_then(|(_, r)| r)
    }
}

impl Default for RespondActions {
    fn default() -> Self {
        RespondActions::new()
    }
}

/// Durations offered by the form: (hours, words); empty: until lifted.
const DURATIONS: [(&str, &str); 6] = [
    ("1", "1 hour"),
    ("4", "4 hours"),
    ("24", "24 hours"),
    ("168", "7 days"),
    ("720", "30 days"),
    ("", "until lifted"),
];

/// The respond section: actions taken and the form. `blocks` and `hosts` are the addresses the page
/// suggests (the alert's or incident's external addresses and internal hosts).
#[component]
pub fn Respond(
    access: ResponseAccess,
    actions: RespondActions,
    #[prop(optional)] incident: Option<i64>,
    #[prop(optional)] alert: Option<i64>,
    blocks: Vec<String>,
    hosts: Vec<String>,
    /// List the actions taken above the form (off where the page lists them itself).
    #[prop(default = true)]
    list: bool,
) -> impl IntoView {
    let ResponseAccess { actions: taken, may_act, approval, now } = access;
    let kind = RwSignal::new(if blocks.is_empty() && !hosts.is_empty() { "isolate" } else { "block" }.to_string());
    let first_block = blocks.first().cloned().unwrap_or_default();
    let first_host = hosts.first().cloned().unwrap_or_default();
    let target = RwSignal::new(if kind.get_untracked() == "block" { first_block.clone() } else { first_host.clone() });
    let approval_note = approval.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
    let suggestions: Vec<String> = blocks.iter().chain(hosts.iter()).cloned().collect();
    let list_id = format!("respond-targets-{}", incident.or(alert).unwrap_or(0));
    let hours_id = format!("{list_id}-hours");
    view! {
        <section class="detail-section respond" data-test="respond">
            <h3>{if list { "Response actions" } else { "New action" }}</h3>
            {move || actions.outcome().map(|r| match r {
                Ok(m) => view! { <p class="notice" role="status" data-test="respond-result">{m}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-test="respond-error">{e}</p> }.into_any(),
            })}
            {if !list {
                ().into_any()
            } else if taken.is_empty() {
                view! { <p class="muted small" data-test="no-actions">"No response action yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="actions-list">
                        {taken.into_iter().rev().map(|a| view! { <ActionItem a now may_act actions/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {may_act.then(|| view! {
                <details class="triage-form" data-test="respond-form">
                    <summary>"Block, isolate or note an action"</summary>
                    <ActionForm action=actions.request>
                        <input type="hidden" name="incident" value=incident.map(|i| i.to_string()).unwrap_or_default()/>
                        <input type="hidden" name="alert" value=alert.map(|i| i.to_string()).unwrap_or_default()/>
                        <label for=format!("{list_id}-kind")>"Action"</label>
                        <select id=format!("{list_id}-kind") name="kind" data-test="respond-kind"
                            on:change={
                                let (b, h) = (first_block.clone(), first_host.clone());
                                move |ev| {
                                    let k = event_target_value(&ev);
                                    target.set(match k.as_str() { "block" => b.clone(), "isolate" => h.clone(), _ => String::new() });
                                    kind.set(k);
                                }
                            }>
                            {ActionKind::ALL.map(|k| view! { <option value=k.as_str() selected=kind.get_untracked() == k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                        <label for=format!("{list_id}-target")>
                            {move || match kind.get().as_str() {
                                "block" => "Address or network to block (e.g. 203.0.113.7 or 198.51.100.0/24)",
                                "isolate" => "Internal host to isolate",
                                _ => "What was done, and to what",
                            }}
                        </label>
                        <input id=format!("{list_id}-target") name="target" maxlength="200" autocomplete="off" list=list_id.clone()
                            data-test="respond-target" prop:value=move || target.get() on:input=move |ev| target.set(event_target_value(&ev))/>
                        <datalist id=list_id.clone()>
                            {suggestions.into_iter().map(|s| view! { <option value=s/> }).collect_view()}
                        </datalist>
                        <Show when=move || kind.get() != "manual">
                            <label for=hours_id.clone()>"For"</label>
                            <select id=hours_id.clone() name="hours" data-test="respond-hours">
                                {DURATIONS.map(|(h, w)| view! { <option value=h selected=h == "24">{w}</option> }).collect_view()}
                            </select>
                        </Show>
                        <label for=format!("{list_id}-reason")>"Why (required; it is recorded with your name)"</label>
                        <textarea id=format!("{list_id}-reason") name="reason" rows="2" maxlength=MAX_REASON.to_string() required data-test="respond-reason"></textarea>
                        {(!approval_note.is_empty()).then(|| view! {
                            <p class="muted small">{format!("Needs a second person's approval before it is in force: {approval_note}.")}</p>
                        })}
                        <button type="submit" class="primary" data-test="respond-submit">"Record the action"</button>
                    </ActionForm>
                </details>
            })}
        </section>
    }
}

/// One action, with what the viewer may do to it.
#[component]
pub fn ActionItem(a: ResponseAction, now: i64, may_act: bool, actions: RespondActions) -> impl IntoView {
    let state = a.state(now);
    let id = a.id.to_string();
    let when = match (state, a.expires_at) {
        (ActionState::Active, Some(t)) => format!("in force until {}", utc(t)),
        (ActionState::Active, None) if a.kind == ActionKind::Manual => "done".to_string(),
        (ActionState::Active, None) => "in force until lifted".to_string(),
        (ActionState::Expired, Some(t)) => format!("expired {}", utc(t)),
        (ActionState::Lifted, _) => format!(
            "lifted by {} {}",
            a.lifted_by.clone().unwrap_or_default(),
            a.lifted_at.map(utc).unwrap_or_default()
        ),
        (ActionState::Rejected, _) => format!("rejected by {}", a.lifted_by.clone().unwrap_or_default()),
        _ => state.label().to_string(),
    };
    let (approve_id, reject_id, lift_id) = (id.clone(), id.clone(), id.clone());
    let mut meta = format!("#{} · {} {} · {when}", a.id, a.requested_by, utc(a.requested_at));
    if let Some(d) = a.decided_by.clone().filter(|_| state != ActionState::Rejected) {
        meta.push_str(&format!(" · approved by {d}"));
    }
    if let Some(i) = a.incident_id {
        meta.push_str(&format!(" · incident #{i}"));
    }
    view! {
        <li data-test="action" data-action-id=id.clone() data-state=state.as_str() data-kind=a.kind.as_str()>
            <strong>{a.describe()}</strong>
            <span class=format!("badge action-{}", state.as_str())>{state.label()}</span>
            <div class="muted small">{meta}</div>
            <div class="prose small">{a.reason.clone()}</div>
            {(!a.end_note.is_empty()).then(|| view! { <div class="prose small muted">{format!("Note: {}", a.end_note)}</div> })}
            {(may_act && state == ActionState::Pending).then(|| view! {
                <div class="button-row">
                    <ActionForm action=actions.approve attr:class="inline-form">
                        <input type="hidden" name="id" value=approve_id/>
                        <button type="submit" class="small primary" data-test="approve-action">"Approve"</button>
                    </ActionForm>
                    <ActionForm action=actions.reject attr:class="inline-form">
                        <input type="hidden" name="id" value=reject_id/>
                        <input name="note" maxlength="2000" placeholder="why not (optional)" aria-label="Why it is rejected"/>
                        <button type="submit" class="small" data-test="reject-action">"Reject"</button>
                    </ActionForm>
                </div>
            })}
            {(may_act && state == ActionState::Active && a.kind != ActionKind::Manual).then(|| view! {
                <ActionForm action=actions.lift attr:class="inline-form">
                    <input type="hidden" name="id" value=lift_id/>
                    <input name="note" maxlength="2000" placeholder="why (optional)" aria-label="Why it is lifted" data-test="lift-note"/>
                    <button type="submit" class="small" data-test="lift-action">"Lift"</button>
                </ActionForm>
            })}
        </li>
    }
}
