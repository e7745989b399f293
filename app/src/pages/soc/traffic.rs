//! The console's traffic analytics for the selected range: flows per second and alerting flows per
//! second, the protocol and service mix, and the top talkers by flows and by bytes. Every talker is
//! a link that filters the queue (a source by `src_ip`, a destination by the search, which matches
//! either end). Fetched again while traffic flows (at most every [`super::live::TRAFFIC_REFRESH_MS`]).

use super::use_console;
use crate::components::chart::ChartView;
use crate::components::errors::PanelErrors;
use crate::components::format::bytes;
use crate::error::AppError;
use crate::resource::Resource;
use anomalyforge::charts::format_number;
use anomalyforge::console::QueueQuery;
use anomalyforge::traffic::{Share, TrafficAnalytics, TOP_PER_BATCH};
use leptos::prelude::*;

type TrafficResource = Resource<Result<TrafficAnalytics, AppError>>;

#[component]
pub fn Traffic(traffic: TrafficResource) -> impl IntoView {
    view! {
        <section class="panel soc-traffic" aria-labelledby="traffic-title" data-test="traffic">
            <h2 id="traffic-title">"Traffic"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading the traffic analytics…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { traffic.await.map(|t| view! { <TrafficBody t/> }) })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

#[component]
fn TrafficBody(t: TrafficAnalytics) -> impl IntoView {
    let secs = ((t.to - t.from).max(1000) / 1000) as f64;
    let per_second = t.total.flows as f64 / secs;
    // Quiet ranges read better per minute than as "0 a second".
    let rate = if per_second >= 1.0 || t.total.flows == 0 {
        format!("{} a second", format_number((per_second * 100.0).round() / 100.0))
    } else {
        format!("{} a minute", format_number((per_second * 6000.0).round() / 100.0))
    };
    let summary = format!(
        "{} flows in the range ({rate} on average), {} of them alerting; {}.",
        format_number(t.total.flows as f64),
        format_number(t.total.alerting as f64),
        bytes(t.total.bytes.max(0) as u64),
    );
    let (rate, protocols, services) = (t.rate_chart(), t.protocol_chart(), t.service_chart());
    view! {
        <p class="muted small" data-test="traffic-summary">{summary}</p>
        <div class="chart-grid traffic-charts">
            <div class="traffic-rate" data-test="traffic-rate"><ChartView chart=rate/></div>
            <div data-test="traffic-protocols"><ChartView chart=protocols/></div>
            <div data-test="traffic-services"><ChartView chart=services/></div>
        </div>
        <div class="traffic-talkers">
            <Talkers title="Top sources" test="top-sources" rows=t.sources by_bytes=t.sources_by_bytes param="src_ip"/>
            <Talkers title="Top destinations" test="top-destinations" rows=t.destinations by_bytes=t.destinations_by_bytes param="q"/>
        </div>
        <p class="muted small">{format!(
            "Talkers and services are counted from each batch's {TOP_PER_BATCH} busiest per minute; the rest is summed as “everything else”. Rates and protocols count every flow."
        )}</p>
    }
}

/// Top talkers by flows, then by bytes; each address filters the queue with `param`.
#[component]
fn Talkers(
    title: &'static str,
    test: &'static str,
    rows: Vec<Share>,
    by_bytes: Vec<Share>,
    param: &'static str,
) -> impl IntoView {
    let ctx = use_console();
    let link = move |ip: &str| ctx.query.with_untracked(|q: &QueueQuery| q.with(param, ip).href(None));
    let table = move |caption: &'static str, rows: Vec<Share>| {
        if rows.is_empty() {
            return view! { <p class="muted small">"No traffic with addresses in this range."</p> }.into_any();
        }
        view! {
            <table class="table compact talkers">
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr><th scope="col">"Address"</th><th scope="col" class="num">"Flows"</th>
                    <th scope="col" class="num">"Alerting"</th><th scope="col" class="num">"Bytes"</th></tr></thead>
                <tbody>
                    {rows.into_iter().map(|s| {
                        let href = link(&s.key);
                        let label = format!("Filter the queue by {}", s.key);
                        let alarm = s.volume.alerting > 0;
                        view! {
                            <tr>
                                <td><a href=href aria-label=label class="mono">{s.key.clone()}</a></td>
                                <td class="num">{format_number(s.volume.flows as f64)}</td>
                                <td class="num" class:alarm=alarm>{format_number(s.volume.alerting as f64)}</td>
                                <td class="num">{bytes(s.volume.bytes.max(0) as u64)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <div class="talker-panel" data-test=test>
            <h3>{format!("{title} by flows")}</h3>
            {table("By flows", rows)}
            <details>
                <summary>{format!("{title} by bytes")}</summary>
                {table("By bytes", by_bytes)}
            </details>
        </div>
    }
}
