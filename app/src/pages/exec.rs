//! `/exec` (executives, admins): how secure we are over time, for people who do not read logs.
//!
//! The range is in the URL (`?range=24h|7d|30d`), so the switch is three plain links: without
//! JavaScript each is a page load rendered on the server; after hydration the router turns a click
//! into a new `kpi/report` call and the figures and charts are drawn again in the browser (the
//! charts are pure functions of the report, so both sides draw the same SVG). One server function
//! returns every figure. Nothing here is made up: an empty period says so. The print style sheet
//! turns the page into a one-page report.

use crate::api::kpi::get_kpis;
use crate::components::chart::ChartView;
use crate::components::errors::PanelErrors;
use crate::components::guard::Guarded;
use crate::components::worldmap::WorldMapView;
use crate::resource::resource;
use anomalyforge::charts::format_number;
use anomalyforge::kpi::charts::{exec_charts, mean_text};
use anomalyforge::kpi::{describe_until, describe_window, Breakdown, Change, KpiRange, KpiReport, Polarity};
use anomalyforge::pages;
use anomalyforge::worldmap::{choropleth_count_legend, Country};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::collections::HashMap;

/// Hides text from sight but not from screen readers.
const VISUALLY_HIDDEN: &str =
    "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0";

#[component]
pub fn ExecPage() -> impl IntoView {
    view! {
        <Guarded page=pages::EXEC>
            <Dashboard/>
        </Guarded>
    }
}

#[component]
fn Dashboard() -> impl IntoView {
    let query = use_query_map();
    // What the URL asks for; a wrong value shows the default range and says why.
    let asked = Memo::new(move |_| query.read().get("range").map(|r| KpiRange::parse(&r)));
    let range = Memo::new(move |_| match asked.get() {
        Some(Ok(r)) => r,
        _ => KpiRange::DEFAULT,
    });
    let report = resource(move || range.get(), |r| get_kpis(r.as_str().to_string()));
    let export = move || format!("/exec/export.csv?range={}", range.get().as_str());
    view! {
        <section class="panel exec" data-test="page" data-page="/exec">
            <div class="exec-head">
                <h1>"Security KPIs"</h1>
                <nav class="range-switch" aria-label="Time range" data-test="range-switch">
                    {KpiRange::ALL
                        .into_iter()
                        .map(|r| {
                            view! {
                                <a
                                    href=format!("/exec?range={}", r.as_str())
                                    data-range=r.as_str()
                                    class:active=move || range.get() == r
                                    aria-current=move || (range.get() == r).then_some("page")
                                >
                                    {format!("Last {}", r.label())}
                                </a>
                            }
                        })
                        .collect_view()}
                </nav>
                <div class="exec-actions">
                    <a href=export rel="external" download data-test="export">"Download CSV"</a>
                    <button type="button" class="print-button" on:click=move |_| print_page()>"Print report"</button>
                </div>
            </div>
            <crate::components::demo::DemoNotice/>
            {move || {
                asked.get().and_then(Result::err).map(|e| {
                    view! {
                        <p class="error" role="alert" data-test="range-error">
                            {format!("{} Showing the last {} instead.", e.message, KpiRange::DEFAULT.label())}
                        </p>
                    }
                })
            }}
            <Transition fallback=|| view! { <p class="muted">"Loading the figures…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { report.await.map(|r| view! { <Report report=r/> }) })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

fn print_page() {
    #[cfg(feature = "hydrate")]
    if let Err(e) = window().print() {
        leptos::logging::warn!("printing failed: {e:?}");
    }
}

#[component]
fn Report(report: KpiReport) -> impl IntoView {
    let range = report.periods.range;
    let charts = exec_charts(&report);
    let totals = report.totals;
    let resp = &report.response;
    let (ack, close) = (resp.acknowledge, resp.close);
    let raised = resp.raised;
    let reports = report.reports;
    let span = range.label();
    let avg = totals.map(|v| v.average_risk());
    let risk_text = avg.current.map_or_else(|| "–".to_string(), |r| format!("{r:.0}"));
    let alerts_detail = format!(
        "{} detections; previous {span}: {} alerts",
        format_number(totals.current.detections as f64),
        format_number(totals.previous.alerts as f64)
    );
    let handled = |n: i64, verb: &str| match n {
        0 => format!("no alert was {verb} in this period"),
        1 => format!("over 1 alert {verb}"),
        n => format!("over {} alerts {verb}", format_number(n as f64)),
    };
    let open_detail = format!(
        "of {} raised: {} resolved, {} false positives. Previous {span}: {} open of {}.",
        format_number(raised.current.total() as f64),
        format_number(raised.current.resolved as f64),
        format_number(raised.current.false_positive as f64),
        format_number(raised.previous.open() as f64),
        format_number(raised.previous.total() as f64),
    );
    let reports_detail = format!(
        "{} confirmed as threats (previous {span}: {} received, {} confirmed)",
        format_number(reports.current.confirmed as f64),
        format_number(reports.previous.received as f64),
        format_number(reports.previous.confirmed as f64)
    );
    let incidents = report.incidents;
    let contain = incidents.map(|c| c.contain);
    let incidents_detail = format!(
        "{} open or contained now; previous {span}: {} opened",
        format_number(report.active_incidents as f64),
        format_number(incidents.previous.opened as f64)
    );
    let contain_detail = format!(
        "over {} contained; previous {span}: {}",
        format_number(contain.current.n as f64),
        mean_text(contain.previous.ms())
    );
    let map_values: HashMap<String, f64> = report
        .countries
        .iter()
        .filter(|c| c.key != Country::UNKNOWN && c.alerts.current > 0)
        .map(|c| (c.key.clone(), c.alerts.current as f64))
        .collect();
    let map_max = map_values.values().copied().fold(0.0, f64::max);
    let unknown_sources = report.countries.iter().find(|c| c.key == Country::UNKNOWN).map_or(0, |c| c.alerts.current);
    view! {
        <p class="period" data-test="period">
            <strong>{format!("Last {span}")}</strong>
            {format!(
                ": {} (now), compared with the same span one period earlier, {}. ",
                describe_until(report.periods.current, report.generated_at),
                describe_window(report.periods.previous)
            )}
            <span class="muted">"All times are UTC. The hour in progress is compared with the whole hour a period earlier."</span>
        </p>
        {report.is_empty().then(|| view! {
            <p class="notice" role="status" data-test="empty">
                {format!("No alerts were recorded in the last {span} or the {span} before. The figures fill in as AnomalyForge raises alerts from the traffic it receives; nothing here is estimated.")}
            </p>
        })}
        <div class="kpi-cards">
            <Figure id="alerts" title="Alerts" value=format_number(totals.current.alerts as f64)
                change=Change::of_counts(&totals.map(|v| v.alerts)) polarity=Polarity::HigherIsWorse range detail=alerts_detail/>
            <Figure id="risk" title="Average risk" value=risk_text unit="/ 100"
                change=Change::between(avg.current, avg.previous) polarity=Polarity::HigherIsWorse range
                detail=format!("previous {span}: {}", avg.previous.map_or_else(|| "–".to_string(), |r| format!("{r:.0} / 100")))/>
            <Figure id="mtta" title="Mean time to acknowledge" value=mean_text(ack.current.ms())
                change=Change::between(ack.current.ms(), ack.previous.ms()) polarity=Polarity::HigherIsWorse range
                detail=format!("{}; previous {span}: {}", handled(ack.current.n, "acknowledged"), mean_text(ack.previous.ms()))/>
            <Figure id="mttr" title="Mean time to resolve" value=mean_text(close.current.ms())
                change=Change::between(close.current.ms(), close.previous.ms()) polarity=Polarity::HigherIsWorse range
                detail=format!("{}; previous {span}: {}", handled(close.current.n, "resolved or closed"), mean_text(close.previous.ms()))/>
            <Figure id="open" title="Open vs resolved" value=format_number(raised.current.open() as f64) unit="still open"
                change=Change::of_counts(&raised.map(|s| s.open())) polarity=Polarity::Neutral range detail=open_detail/>
            <Figure id="reports" title="Employee reports" value=format_number(reports.current.received as f64) unit="received"
                change=Change::of_counts(&reports.map(|r| r.received)) polarity=Polarity::Neutral range detail=reports_detail/>
            <Figure id="incidents" title="Incidents" value=format_number(incidents.current.opened as f64) unit="opened"
                change=Change::of_counts(&incidents.map(|c| c.opened)) polarity=Polarity::HigherIsWorse range detail=incidents_detail/>
            <Figure id="mttc" title="Mean time to contain" value=mean_text(contain.current.ms())
                change=Change::between(contain.current.ms(), contain.previous.ms()) polarity=Polarity::HigherIsWorse range detail=contain_detail/>
        </div>
        <div class="chart-grid" data-test="charts">
            <ChartView chart=charts.alerts/>
            <ChartView chart=charts.risk/>
            <ChartView chart=charts.threats/>
            <ChartView chart=charts.criticality/>
            <ChartView chart=charts.status/>
            <ChartView chart=charts.response_times/>
            <ChartView chart=charts.assets/>
            <figure class="chart exec-map" data-test="country-map">
                <figcaption>"Top source countries"</figcaption>
                <WorldMapView
                    values=Signal::stored(map_values)
                    unit="alerts"
                    label=format!("World map of alerts by source country, last {span}")
                />
                {(map_max > 0.0).then(|| view! {
                    <ul class="map-legend" aria-label="Colour scale">
                        {choropleth_count_legend(map_max.round() as u64).into_iter().map(|(lo, hi, colour)| {
                            let label = if lo == hi {
                                format_number(lo as f64)
                            } else {
                                format!("{}–{}", format_number(lo as f64), format_number(hi as f64))
                            };
                            view! { <li><span class="swatch" style=format!("background:{colour}")></span>{label}</li> }
                        }).collect_view()}
                    </ul>
                })}
                {(unknown_sources > 0).then(|| view! {
                    <p class="muted small">{format!("{} alerts came from private or unknown addresses and are not on the map.", format_number(unknown_sources as f64))}</p>
                })}
            </figure>
        </div>
        <div class="exec-tables">
            <BreakdownTable id="countries" title="Top source countries" first="Country" rows=report.countries.iter().take(10).cloned().collect() range/>
            <BreakdownTable id="threats" title="Alerts by threat type" first="Threat type" rows=report.by_threat.clone() range/>
            <BreakdownTable
                id="assets"
                title="Most targeted assets"
                first="Asset (criticality)"
                rows=report.top_assets.iter().map(|a| Breakdown { key: a.ip.clone(), label: format!("{} ({})", a.name(), a.criticality), alerts: a.alerts }).collect()
                range
            />
        </div>
        <Definitions range/>
    }
}

/// One headline figure: its value, the change against the previous period (arrow for the eye, words
/// for everyone) and a line of detail.
#[component]
fn Figure(
    id: &'static str,
    title: &'static str,
    #[prop(into)] value: String,
    /// Words after the value, in smaller type (`still open`).
    #[prop(optional)]
    unit: &'static str,
    change: Change,
    polarity: Polarity,
    range: KpiRange,
    #[prop(into)] detail: String,
) -> impl IntoView {
    view! {
        <div class="kpi-card" data-test=format!("kpi-{id}")>
            <h2 class="kpi-title">{title}</h2>
            <p class="kpi-value">
                <span data-test="value">{value}</span>
                {(!unit.is_empty()).then(|| view! { " " <span class="kpi-unit">{unit}</span> })}
            </p>
            <p class=format!("kpi-change {}", change.tone(polarity)) data-test="change">
                <span aria-hidden="true">{change.text(range)}</span>
                <span style=VISUALLY_HIDDEN>{change.words(range)}</span>
            </p>
            <p class="kpi-detail muted">{detail}</p>
        </div>
    }
}

#[component]
fn BreakdownTable(
    id: &'static str,
    title: &'static str,
    first: &'static str,
    rows: Vec<Breakdown>,
    range: KpiRange,
) -> impl IntoView {
    let span = range.label();
    view! {
        <section class="exec-table" data-test=format!("table-{id}")>
            <h2>{title}</h2>
            {if rows.iter().all(|r| r.alerts.current == 0 && r.alerts.previous == 0) {
                view! { <p class="muted">{format!("No alerts in the last {span} or the {span} before.")}</p> }.into_any()
            } else {
                view! {
                    <table class="table compact">
                        <thead>
                            <tr><th>{first}</th><th class="num">"Alerts"</th><th class="num">{format!("Previous {span}")}</th><th>"Change"</th></tr>
                        </thead>
                        <tbody>
                            {rows.into_iter().map(|r| {
                                let change = Change::of_counts(&r.alerts);
                                view! {
                                    <tr>
                                        <td>{r.label}</td>
                                        <td class="num">{format_number(r.alerts.current as f64)}</td>
                                        <td class="num">{format_number(r.alerts.previous as f64)}</td>
                                        <td class=format!("kpi-change {}", change.tone(Polarity::HigherIsWorse))>{short_change(change)}</td>
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

/// `▲ 12 %`, `▼ 3 %`, `new`, `=`, for table cells.
fn short_change(c: Change) -> String {
    match c {
        Change::Percent(p) if p.abs() < 1.0 => format!("{} < 1 %", c.arrow()),
        Change::Percent(p) => format!("{} {} %", c.arrow(), format_number(p.abs().round())),
        Change::FromZero => "new".to_string(),
        Change::Same => "=".to_string(),
        Change::NoPrevious | Change::NoCurrent => "–".to_string(),
    }
}

#[component]
fn Definitions(range: KpiRange) -> impl IntoView {
    view! {
        <section class="definitions" data-test="definitions">
            <h2>"How these figures are counted"</h2>
            <dl>
                <dt>"Alerts"</dt>
                <dd>"Alerts raised by the detection models and by Suricata signatures, counted in the hour of their first detection. "
                    "Repeats of the same attack (same source, target and type within the deduplication window) grow one alert and count as detections."</dd>
                <dt>"Average risk"</dt>
                <dd>"The mean risk score (0–100) of all detections, after weighing by the criticality of the targeted asset and by employee reports."</dd>
                <dt>"Mean time to acknowledge (MTTA)"</dt>
                <dd>"For the alerts first handled by an analyst in the period: the mean time from the moment AnomalyForge raised the alert to its first triage action (acknowledge, assign, resolve)."</dd>
                <dt>"Mean time to resolve (MTTR)"</dt>
                <dd>"For the alerts resolved or marked a false positive in the period and not reopened since: the mean time from raised to closed."</dd>
                <dt>"Open vs resolved"</dt>
                <dd>"The alerts AnomalyForge raised in the period, by the status they have now. An alert is raised when it is stored, so alerts from older logs loaded later count when they were loaded. "
                    "Alerts of the previous period have had longer to be resolved: compare this figure with care."</dd>
                <dt>"Asset criticality"</dt>
                <dd>"The criticality of the targeted asset when the alert was raised (low, medium, high, critical; “no known asset” when the alert involves no host of the inventory)."</dd>
                <dt>"Comparisons"</dt>
                <dd>{format!(
                    "Each figure is compared with the previous {} cut at the same hour, so both periods are exactly as long. Source countries come from DB-IP (IP Geolocation by DB-IP).",
                    range.label()
                )}</dd>
            </dl>
        </section>
    }
}
