//! `/soc` (analysts, responders, admins): the live SOC console.
//!
//! - maps of traffic by source country and of attack origins (`maps`);
//! - the alert queue: filters in the URL (`filters`), sorted by risk, grouped, paged, with bulk
//!   actions (`queue`);
//! - the detail of one alert (`?alert=N`): why it fired, the asset, geo, intel, the playbook with
//!   steps to tick off, related alerts, the history, and triage (`detail`);
//! - the live stream: new alerts appear without a reload, the tail can be paused (`live`);
//! - keyboard triage: j/k, a, r, f, i, x, /, Esc (`keys`);
//! - the incidents beside the queue, `/soc/incidents` (`incidents`);
//! - traffic analytics under the queue: flows per second, protocol and service mix, top talkers
//!   (`traffic`).
//!
//! Everything is rendered on the server first (the page reads and works without JavaScript: links
//! filter, forms triage); after hydration the stream keeps it current. Every value that came from
//! traffic or from people (addresses, signatures, comments) is rendered as text.

mod detail;
mod filters;
mod incidents;
mod keys;
mod live;
mod maps;
mod queue;
mod reports;
mod response;
mod rules;
mod traffic;

use crate::api::alerts::TriageAlerts;
use crate::api::incidents::{AddToIncident, CreateIncident};
use crate::api::soc::{soc_alert, soc_overview, soc_queue, soc_traffic, TickStep};
use crate::components::guard::Guarded;
use crate::components::respond::RespondActions;
use crate::components::soc_tabs::SocTabs;
use crate::resource::resource;
use anomalyforge::console::QueueQuery;
use anomalyforge::pages;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeSet;

pub use incidents::IncidentsPage;
pub use live::LiveState;
pub use reports::SocReportsPage;
pub use response::ResponsePage;
pub use rules::SocRulesPage;

/// What the parts of the console share.
#[derive(Clone, Copy)]
pub struct ConsoleCtx {
    /// The queue's filters, from the URL.
    pub query: Memo<QueueQuery>,
    /// The alert whose detail is open (`?alert=N`).
    pub alert_id: Memo<Option<i64>>,
    pub triage: ServerAction<TriageAlerts>,
    pub tick: ServerAction<TickStep>,
    /// Opening an incident of alerts, and adding alerts to one.
    pub incident: ServerAction<CreateIncident>,
    pub add_to_incident: ServerAction<AddToIncident>,
    /// Response actions from the alert's detail.
    pub respond: RespondActions,
    /// Alerts ticked for a bulk action.
    pub selected: RwSignal<BTreeSet<i64>>,
    /// The ids of the queue rows on screen, in order (for keyboard navigation).
    pub rows: RwSignal<Vec<i64>>,
    /// The keyboard cursor: an index into `rows`.
    pub cursor: RwSignal<Option<usize>>,
    pub live: LiveState,
}

impl ConsoleCtx {
    /// The console's URL with the current filters and `alert` open (or closed).
    pub fn href_with_alert(&self, alert: Option<i64>) -> String {
        self.query.with_untracked(|q| q.href(alert.map(|id| ("alert", id.to_string()))))
    }
}

pub fn use_console() -> ConsoleCtx {
    expect_context::<ConsoleCtx>()
}

#[component]
pub fn SocPage() -> impl IntoView {
    view! {
        <Guarded page=pages::SOC>
            <Console/>
        </Guarded>
    }
}

#[component]
fn Console() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| QueueQuery::from_params(|k| p.get(k))));
    let alert_id =
        Memo::new(move |_| params.with(|p| p.get("alert").and_then(|v| v.parse::<i64>().ok()).filter(|id| *id > 0)));
    let ctx = ConsoleCtx {
        query,
        alert_id,
        triage: ServerAction::new(),
        tick: ServerAction::new(),
        incident: ServerAction::new(),
        add_to_incident: ServerAction::new(),
        respond: RespondActions::new(),
        selected: RwSignal::new(BTreeSet::new()),
        rows: RwSignal::new(Vec::new()),
        cursor: RwSignal::new(None),
        live: LiveState::new(),
    };
    provide_context(ctx);

    // Each resource is awaited under exactly one <Transition> (see components/session.rs).
    let changed = move || {
        (
            ctx.triage.version().get(),
            ctx.tick.version().get(),
            ctx.incident.version().get(),
            ctx.add_to_incident.version().get(),
            ctx.respond.version(),
        )
    };
    let queue = resource(move || (query.get(), ctx.live.refreshes.get(), changed()), |(q, _, _)| soc_queue(q));
    let overview = resource(
        move || {
            (query.with(|q| (q.range.clone(), q.from.clone(), q.to.clone())), ctx.live.map_refreshes.get(), changed())
        },
        |((range, from, to), _, _)| soc_overview(QueueQuery { range, from, to, ..QueueQuery::default() }),
    );
    let traffic = resource(
        move || (query.with(|q| (q.range.clone(), q.from.clone(), q.to.clone())), ctx.live.traffic_refreshes.get()),
        |((range, from, to), _)| soc_traffic(QueueQuery { range, from, to, ..QueueQuery::default() }),
    );
    let detail = resource(
        move || (alert_id.get(), changed()),
        |(id, _)| async move {
            match id {
                Some(id) => soc_alert(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    live::connect(ctx.live);
    keys::install(ctx);

    view! {
        <div class="soc" data-test="page" data-page="/soc">
            <header class="soc-head">
                <h1>"SOC console"</h1>
                <live::LiveStatus/>
            </header>
            <SocTabs current="/soc"/>
            <crate::components::drift::DriftWarning/>
            <crate::components::demo::DemoNotice/>
            <maps::Overview overview/>
            <div class="soc-grid" class:with-detail=move || alert_id.get().is_some()>
                <section class="panel soc-queue" aria-label="Alert queue">
                    <filters::Filters/>
                    <queue::Queue queue/>
                </section>
                <detail::Detail detail/>
            </div>
            <live::Tail/>
            <traffic::Traffic traffic/>
            <keys::Help/>
        </div>
    }
}
