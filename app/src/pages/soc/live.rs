//! The console's live side: the stream of server-sent events (`GET /api/v1/stream`), batched so the
//! page stays responsive however fast alerts arrive, and the live tail that an analyst can pause.
//!
//! Events are collected as they come and applied once a second in one batch: the tail gets the new
//! alerts, the traffic rate is updated, and — unless the analyst paused — the queue and maps are
//! fetched again (at most every [`REFRESH_MS`]), so they always show what the database holds for
//! the current filters.

use super::use_console;
use crate::components::format::utc;
use anomalyforge::console::threat_title;
use anomalyforge::live::{AlertEvent, TrafficTick};
use leptos::prelude::*;

/// Alerts kept in the tail.
pub const TAIL_LEN: usize = 30;
/// The queue is fetched again at most this often while alerts arrive…
pub const REFRESH_MS: f64 = 3000.0;
/// …and the maps and figures at most this often (redrawing two maps costs more than a table).
pub const MAP_REFRESH_MS: f64 = 10_000.0;
/// How often the traffic analytics are fetched again while traffic flows (the aggregates are per
/// minute, so more often would only repeat the same figures).
pub const TRAFFIC_REFRESH_MS: f64 = 15_000.0;

#[derive(Clone, Copy)]
pub struct LiveState {
    /// The stream: `None` until it first opens or fails, then whether it is open (the browser
    /// reconnects by itself after a failure).
    pub connected: RwSignal<Option<bool>>,
    /// The analyst paused the live updates (the tail and the queue stay as they are).
    pub paused: RwSignal<bool>,
    /// The newest alert events, newest first.
    pub tail: RwSignal<Vec<AlertEvent>>,
    /// Alert events that arrived while paused.
    pub missed: RwSignal<u64>,
    /// The last second of traffic.
    pub rate: RwSignal<Option<TrafficTick>>,
    /// Bumped to fetch the queue again.
    pub refreshes: RwSignal<u64>,
    /// Bumped to fetch the maps and figures again.
    pub map_refreshes: RwSignal<u64>,
    /// Bumped to fetch the traffic analytics again (on traffic, not only on alerts).
    pub traffic_refreshes: RwSignal<u64>,
}

/// When the queue and the maps were last fetched again (browser clock, ms).
#[derive(Debug, Default, Clone, Copy)]
pub struct LastRefresh {
    pub queue: f64,
    pub maps: f64,
    pub traffic: f64,
}

impl LiveState {
    pub fn new() -> LiveState {
        LiveState {
            connected: RwSignal::new(None),
            paused: RwSignal::new(false),
            tail: RwSignal::new(Vec::new()),
            missed: RwSignal::new(0),
            rate: RwSignal::new(None),
            refreshes: RwSignal::new(0),
            map_refreshes: RwSignal::new(0),
            traffic_refreshes: RwSignal::new(0),
        }
    }

    /// Applies a batch of events received since the last one.
    pub fn apply(
        &self,
        alerts: Vec<AlertEvent>,
        traffic: Option<TrafficTick>,
        lagged: bool,
        now_ms: f64,
        last: &mut LastRefresh,
    ) {
        let ticked = traffic.is_some();
        if let Some(t) = traffic {
            self.rate.set(Some(t));
        }
        if ticked && !self.paused.get_untracked() && now_ms - last.traffic >= TRAFFIC_REFRESH_MS {
            last.traffic = now_ms;
            self.traffic_refreshes.update(|r| *r += 1);
        }
        let arrived = !alerts.is_empty() || lagged;
        if self.paused.get_untracked() {
            if !alerts.is_empty() {
                self.missed.update(|m| *m += alerts.len() as u64);
            }
            return;
        }
        if !alerts.is_empty() {
            self.tail.update(|tail| {
                for e in alerts {
                    tail.retain(|t| t.alert.id != e.alert.id);
                    tail.insert(0, e);
                }
                tail.truncate(TAIL_LEN);
            });
        }
        if arrived && now_ms - last.queue >= REFRESH_MS {
            last.queue = now_ms;
            self.refreshes.update(|r| *r += 1);
        }
        if arrived && now_ms - last.maps >= MAP_REFRESH_MS {
            last.maps = now_ms;
            self.map_refreshes.update(|r| *r += 1);
        }
    }

    pub fn resume(&self) {
        self.paused.set(false);
        self.missed.set(0);
        self.refreshes.update(|r| *r += 1);
        self.map_refreshes.update(|r| *r += 1);
        self.traffic_refreshes.update(|r| *r += 1);
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the stream in the browser (nothing on the server). It reconnects by itself (EventSource).
pub fn connect(live: LiveState) {
    #[cfg(feature = "hydrate")]
    browser::connect(live);
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{LastRefresh, LiveState};
    use anomalyforge::live::LiveEvent;
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    pub fn connect(live: LiveState) {
        Effect::new(move |_| {
            let Ok(source) = web_sys::EventSource::new("/api/v1/stream") else {
                return;
            };
            let pending: Rc<RefCell<Vec<LiveEvent>>> = Rc::new(RefCell::new(Vec::new()));
            for name in ["alert", "traffic", "lagged"] {
                let pending = pending.clone();
                let on_event = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                    if let Some(data) = ev.data().as_string() {
                        // The one JSON reader in the WASM (see crate::json).
                        if let Ok(event) = crate::json::from_slice::<LiveEvent>(data.as_bytes()) {
                            pending.borrow_mut().push(event);
                        }
                    }
                });
                let _ = source.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
                on_event.forget();
            }
            let on_open = Closure::<dyn FnMut()>::new(move || live.connected.set(Some(true)));
            source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
            let on_error = Closure::<dyn FnMut()>::new(move || live.connected.set(Some(false)));
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();

            let last = std::cell::Cell::new(LastRefresh::default());
            let drain = pending.clone();
            let handle = set_interval_with_handle(
                move || {
                    let events: Vec<LiveEvent> = std::mem::take(&mut *drain.borrow_mut());
                    if events.is_empty() {
                        return;
                    }
                    let mut alerts = Vec::new();
                    let mut traffic = None;
                    let mut lagged = false;
                    for e in events {
                        match e {
                            LiveEvent::Alert(a) => alerts.push(a),
                            LiveEvent::Traffic(t) => traffic = Some(t),
                            LiveEvent::Lagged { .. } => lagged = true,
                        }
                    }
                    let mut l = last.get();
                    live.apply(alerts, traffic, lagged, js_sys::Date::now(), &mut l);
                    last.set(l);
                },
                Duration::from_millis(1000),
            );
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || {
                source.close();
                if let Ok(h) = handle {
                    h.clear();
                }
            });
        });
    }
}

/// "● Live" / "Paused" with the traffic rate and the pause button.
#[component]
pub fn LiveStatus() -> impl IntoView {
    let live = use_console().live;
    view! {
        <div class="live-status" data-test="live-status">
            <span class="live-dot" class:on=move || live.connected.get() == Some(true) && !live.paused.get() aria-hidden="true"></span>
            <span data-test="live-state">{move || match (live.connected.get(), live.paused.get()) {
                (_, true) => "Paused",
                (Some(true), false) => "Live",
                (Some(false), false) => "Reconnecting…",
                (None, false) => "Connecting…",
            }}</span>
            {move || live.rate.get().map(|t| view! {
                <span class="muted" data-test="live-rate">
                    {format!("{} flows/s · {} alerting", t.flows, t.alerting)}
                </span>
            })}
            <button type="button" class="small" data-test="live-toggle"
                on:click=move |_| if live.paused.get_untracked() { live.resume() } else { live.paused.set(true) }>
                {move || if live.paused.get() { "Resume" } else { "Pause" }}
            </button>
            {move || (live.missed.get() > 0).then(|| view! {
                <span class="badge warn" data-test="live-missed">{format!("{} new while paused", live.missed.get())}</span>
            })}
        </div>
    }
}

/// The newest alerts as they arrive.
#[component]
pub fn Tail() -> impl IntoView {
    let ctx = use_console();
    let live = ctx.live;
    view! {
        <section class="panel live-tail" aria-label="Live tail" data-test="live-tail">
            <h2>"Live tail"</h2>
            <p class="muted">"Alerts as the pipeline stores them (new ones and repeats that grew an open alert). "
                "Pause to hold the tail and the queue while you work; nothing is lost."</p>
            {move || {
                let tail = live.tail.get();
                if tail.is_empty() {
                    view! { <p class="muted" data-test="tail-empty">"Waiting for alerts…"</p> }.into_any()
                } else {
                    view! {
                        <ol class="tail">
                            {tail.into_iter().map(|e| {
                                let a = e.alert;
                                let href = ctx.href_with_alert(Some(a.id));
                                view! {
                                    <li data-test="tail-item" data-alert-id=a.id.to_string()>
                                        <span class=format!("risk sev-{}", a.severity.as_str())>{a.risk}</span>
                                        <a href=href>{threat_title(&a.threat)}</a>
                                        <code>{a.src_ip.clone().unwrap_or_else(|| "?".into())}</code>
                                        " → "
                                        <code>{a.dst_ip.clone().unwrap_or_else(|| "?".into())}</code>
                                        <span class="muted">{if e.created { "new".to_string() } else { format!("×{}", a.count) }}</span>
                                        <span class="muted">{utc(a.last_seen)}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }
            }}
        </section>
    }
}
