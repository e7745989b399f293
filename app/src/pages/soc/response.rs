//! `/soc/response` (analysts, responders, admins): every response action — what waits for a second
//! person's approval, what is in force, what ended — with approve, reject and lift for the roles the
//! policy lets act, a form for an action not tied to an alert or incident, and the enforcement feeds
//! a firewall or IPS polls. Every form is an `ActionForm`, so the page works without JavaScript.

use crate::api::response::list_actions;
use crate::components::errors::PanelErrors;
use crate::components::guard::Guarded;
use crate::components::respond::{ActionItem, Respond, RespondActions};
use crate::components::soc_tabs::{SocTabs, RESPONSE_PAGE};
use crate::resource::resource;
use anomalyforge::response::{ActionList, ResponseAccess, ResponseAction};
use leptos::prelude::*;

#[component]
pub fn ResponsePage() -> impl IntoView {
    view! {
        <Guarded page=RESPONSE_PAGE>
            <ResponsePanel/>
        </Guarded>
    }
}

#[component]
fn ResponsePanel() -> impl IntoView {
    let actions = RespondActions::new();
    let list = resource(move || actions.version(), |_| list_actions());
    view! {
        <SocTabs current=RESPONSE_PAGE.path/>
        <section class="panel" data-test="page" data-page="/soc/response">
            <h1>"Response actions"</h1>
            <p class="muted">"Blocks, isolations and manual actions, with who, when, why and until when. "
                "Firewalls and IPS enforce the blocks and isolations by polling the feeds below; a lifted or expired action leaves them at the next poll."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading the actions…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { list.await.map(|l| view! { <Lists l actions/> }) })}
                </PanelErrors>
            </Transition>
        </section>
        <Feeds/>
    }
}

#[component]
fn Lists(l: ActionList, actions: RespondActions) -> impl IntoView {
    let ActionList { pending, active, ended, now, may_act, approval } = l;
    let section = move |title: String, test: &'static str, items: Vec<ResponseAction>, empty: &'static str| {
        view! {
            <h2>{title}</h2>
            {if items.is_empty() {
                view! { <p class="muted" data-test=format!("{test}-empty")>{empty}</p> }.into_any()
            } else {
                view! {
                    <ul class="actions-list" data-test=test>
                        {items.into_iter().map(|a| view! { <ActionItem a now may_act actions/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        }
    };
    view! {
        {section(format!("Waiting for approval ({})", pending.len()), "pending-actions", pending, "Nothing waits for approval.")}
        {section(format!("In force ({})", active.len()), "active-actions", active, "No action is in force: the feeds are empty.")}
        {section(format!("Ended ({})", ended.len()), "ended-actions", ended, "No action has ended yet.")}
        {if may_act {
            view! {
                <Respond access=ResponseAccess { actions: Vec::new(), may_act, approval, now } actions blocks=Vec::new() hosts=Vec::new() list=false/>
            }.into_any()
        } else {
            view! { <p class="muted" data-test="may-not-act">"Your role reads the actions; the response policy lets other roles take them."</p> }.into_any()
        }}
    }
}

/// Where the enforcement tools read the actions in force.
#[component]
fn Feeds() -> impl IntoView {
    view! {
        <section class="panel" data-test="feeds">
            <h2>"Enforcement feeds"</h2>
            <p class="muted">"Create an API token with the " <code>"blocklist"</code> " scope on " <a href="/admin">"/admin"</a>
                " (it reads these feeds and nothing else) and point the firewall or IPS at one of them with "
                <code>"Authorization: Bearer <token>"</code> ". Each lists only the actions in force now."</p>
            <table class="table compact">
                <thead><tr><th>"Feed"</th><th>"For"</th></tr></thead>
                <tbody>
                    <tr><td><a href="/api/v1/blocklist"><code>"/api/v1/blocklist"</code></a></td><td>"Firewalls that poll a list: one blocked address or network a line"</td></tr>
                    <tr><td><a href="/api/v1/blocklist?kind=isolate"><code>"/api/v1/blocklist?kind=isolate"</code></a></td><td>"The isolated hosts, one a line"</td></tr>
                    <tr><td><a href="/api/v1/blocklist.nft"><code>"/api/v1/blocklist.nft"</code></a></td><td>"nftables: load with " <code>"nft -f"</code> "; it replaces the table " <code>"inet anomalyforge"</code></td></tr>
                    <tr><td><a href="/api/v1/blocklist.rules"><code>"/api/v1/blocklist.rules"</code></a></td><td>"Suricata in IPS mode: drop rules both ways"</td></tr>
                </tbody>
            </table>
        </section>
    }
}
