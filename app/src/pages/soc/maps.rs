//! The console's header figures and its two world maps for the selected time range: traffic by
//! source country (shaded by flows) and attack origins (markers sized by alerts, coloured by the
//! highest risk). Clicking a country filters the queue by it.

use super::use_console;
use crate::components::errors::PanelErrors;
use crate::components::worldmap::WorldMapView;
use crate::error::AppError;
use crate::resource::Resource;
use anomalyforge::charts::format_number;
use anomalyforge::console::ConsoleOverview;
use anomalyforge::worldmap::Country;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use std::collections::HashMap;

type OverviewResource = Resource<Result<ConsoleOverview, AppError>>;

#[component]
pub fn Overview(overview: OverviewResource) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading the overview…"</p> }>
            <PanelErrors>
                {move || Suspend::new(async move { overview.await.map(|o| view! { <OverviewBody o/> }) })}
            </PanelErrors>
        </Transition>
    }
}

#[component]
fn OverviewBody(o: ConsoleOverview) -> impl IntoView {
    let ctx = use_console();
    let navigate = use_navigate();
    let select = Callback::new(move |iso: String| {
        let href = ctx
            .query
            .with_untracked(|q| if q.country == iso { q.with("country", "") } else { q.with("country", &iso) })
            .href(None);
        navigate(&href, Default::default());
    });
    let selected =
        Signal::derive(move || ctx.query.with(|q| (!q.country.is_empty()).then(|| q.country.to_uppercase())));
    let traffic: HashMap<String, f64> = o
        .traffic
        .iter()
        .filter(|c| c.country != Country::UNKNOWN)
        .map(|c| (c.country.clone(), c.flows as f64))
        .collect();
    let internal = o.traffic.iter().find(|c| c.country == Country::UNKNOWN).map_or(0, |c| c.flows);
    let total_flows: i64 = o.traffic.iter().map(|c| c.flows).sum();
    let alerting: i64 = o.traffic.iter().map(|c| c.alerting).sum();
    let origin_alerts: u64 = o.origins.iter().map(|m| m.count).sum();
    let alarm = o.critical_open > 0;
    view! {
        <section class="soc-stats" aria-label="Figures" data-test="soc-stats">
            <div class="stat" data-test="stat-open"><span class="stat-value">{format_number(o.open_alerts as f64)}</span><span class="stat-label">"open alerts"</span></div>
            <div class="stat" data-test="stat-new"><span class="stat-value">{format_number(o.new_alerts as f64)}</span><span class="stat-label">"not yet acknowledged"</span></div>
            <div class="stat" class:alarm=alarm data-test="stat-critical"><span class="stat-value">{format_number(o.critical_open as f64)}</span><span class="stat-label">"open with risk ≥ 90"</span></div>
            <a class="stat" href="/soc/reports" data-test="stat-reports"><span class="stat-value">{format_number(o.reports_new as f64)}</span><span class="stat-label">"new employee reports"</span></a>
            <a class="stat" href="/soc/rules" data-test="stat-suppressed"><span class="stat-value">{format_number(o.suppressed as f64)}</span>
                <span class="stat-label">{format!("detections suppressed by {} active rule{}", o.rules_active, if o.rules_active == 1 { "" } else { "s" })}</span></a>
        </section>
        <div class="soc-maps">
            <figure class="panel map-panel" data-test="traffic-map">
                <figcaption>
                    <h2>"Traffic by source country"</h2>
                    <p class="muted small">{format!(
                        "{} flows in the range, {} of them alerting; {} from internal or unlocated addresses (not on the map).",
                        format_number(total_flows as f64), format_number(alerting as f64), format_number(internal as f64)
                    )}</p>
                </figcaption>
                <WorldMapView values=Signal::stored(traffic) unit="flows" on_select=select selected
                    label="Traffic by source country: click a country to filter the alert queue"/>
            </figure>
            <figure class="panel map-panel" data-test="origins-map">
                <figcaption>
                    <h2>"Attack origins"</h2>
                    <p class="muted small">{format!(
                        "{} alerts from {} countries in the range; circle size is the number of alerts, colour the highest risk.",
                        format_number(origin_alerts as f64), o.origins.len()
                    )}</p>
                </figcaption>
                <WorldMapView markers=Signal::stored(o.origins.clone()) unit="alerts" on_select=select selected
                    label="Attack origins: click a country to filter the alert queue"/>
            </figure>
        </div>
        <p class="muted small attribution">"Countries from source addresses: " <a href="https://db-ip.com" rel="external noopener" target="_blank">"IP Geolocation by DB-IP"</a>
            ". Map: Natural Earth."</p>
    }
}
