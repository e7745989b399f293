//! `/intel` (analysts, responders, admins): threat-intel sources and their indicators.
//!
//! The sources table shows each source's confidence, expiry, indicators (active of stored) and hits
//! in traffic; admins enable, disable, expire or delete them, and do the same to one indicator. The
//! import panel takes a pasted document or a chosen file (read into the box in the browser) of any
//! supported format and answers with what was imported, what was rejected and why (by line or
//! object), and what the retro-hunt over the stored flows found. The indicator list is a GET form,
//! so every filter is a link and works without JavaScript, like every other form here.

use crate::api::intel::{
    intel_indicators, intel_sources, ChangeIntelIndicator, ChangeIntelSource, ImportIntel, IntelOverview,
};
use crate::components::errors::PanelErrors;
use crate::components::format::{count, grouped, utc};
use crate::components::guard::Guarded;
use crate::resource::resource;
use anomalyforge::intel::catalog::{
    ImportReport, IndicatorPage, IndicatorRow, IndicatorState, IntelSource, SourceKind, REPORTS_SOURCE,
};
use anomalyforge::intel::{IndicatorKind, IntelFormat};
use anomalyforge::pages;
use anomalyforge::url_query::encode_component;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn IntelPage() -> impl IntoView {
    view! {
        <Guarded page=pages::INTEL>
            <Intel/>
        </Guarded>
    }
}

/// The link of an IOC check.
pub fn ioc_href(value: &str) -> String {
    format!("/hunt/ioc?value={}", encode_component(value))
}

#[component]
fn Intel() -> impl IntoView {
    let import = ServerAction::<ImportIntel>::new();
    let change_source = ServerAction::<ChangeIntelSource>::new();
    let change_indicator = ServerAction::<ChangeIntelIndicator>::new();
    let versions = move || (import.version().get(), change_source.version().get(), change_indicator.version().get());
    let overview = resource(versions, |_| intel_sources());
    let params = use_query_map();
    let filter = Memo::new(move |_| {
        params.with(|p| {
            let get = |k: &str| p.get(k).unwrap_or_default();
            (get("source"), get("text"), get("kind"), get("state"), get("page").parse::<u32>().unwrap_or(1).max(1))
        })
    });
    let indicators = resource(
        move || (filter.get(), versions()),
        |((source, text, kind, state, page), _)| intel_indicators(source, text, kind, state, page),
    );
    let changed = move || {
        change_source.value().get().or_else(|| change_indicator.value().get()).map(|r| r.map_err(|e| e.to_string()))
    };
    view! {
        <div class="intel" data-test="page" data-page="/intel">
            <h1>"Threat intel"</h1>
            <p class="muted">"Lists of known-bad addresses, networks, domains, URLs and file hashes. Flows to or from a listed address or network raise a "
                "“Threat-intel match” alert (or raise the risk of the alert they already carry); a new listing is also searched over the stored flows. "
                "Check any single value with the " <a href="/hunt/ioc">"IOC check"</a> "."</p>
            {move || changed().map(|r| match r {
                Ok(done) => view! { <p class="notice" role="status" data-test="intel-changed">{done}</p> }.into_any(),
                Err(e) => view! { <div class="error" role="alert" data-test="panel-error"><p>{e}</p></div> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading sources…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        overview.await.map(|o| view! { <Sources overview=o change=change_source/> })
                    })}
                </PanelErrors>
            </Transition>
            <ImportPanel import/>
            <section class="panel" data-test="intel-indicators">
                <h2>"Indicators"</h2>
                <IndicatorFilter filter/>
                <Transition fallback=|| view! { <p class="muted">"Loading indicators…"</p> }>
                    <PanelErrors>
                        {move || Suspend::new(async move {
                            let can_manage = overview.await.map(|o| o.can_manage).unwrap_or(false);
                            indicators.await.map(|p| view! { <Indicators page=p can_manage change=change_indicator filter/> })
                        })}
                    </PanelErrors>
                </Transition>
            </section>
        </div>
    }
}

fn expiry(days: Option<u32>) -> String {
    days.map_or_else(|| "never".to_string(), |d| format!("after {d} days"))
}

#[component]
fn Sources(overview: IntelOverview, change: ServerAction<ChangeIntelSource>) -> impl IntoView {
    let IntelOverview { sources, can_manage } = overview;
    view! {
        <section class="panel" data-test="intel-sources">
            <h2>"Sources"</h2>
            <div class="table-scroll">
                <table class="table compact">
                    <thead><tr>
                        <th>"Source"</th><th>"Confidence"</th><th>"Indicators expire"</th><th>"Active / stored"</th>
                        <th>"Hits"</th><th>"Last import (UTC)"</th><th>"State"</th>
                        {can_manage.then(|| view! { <th>"Manage"</th> })}
                    </tr></thead>
                    <tbody>
                        {sources.into_iter().map(|s| view! { <SourceRow s can_manage change/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn SourceRow(s: IntelSource, can_manage: bool, change: ServerAction<ChangeIntelSource>) -> impl IntoView {
    let href = format!("/intel?source={}", s.id);
    let what = if s.kind == SourceKind::Reports {
        "Employee reports the SOC confirmed".to_string()
    } else if s.description.is_empty() {
        "Imported".to_string()
    } else {
        s.description.clone()
    };
    let last = match (s.last_import_at, s.last_format.as_deref()) {
        (Some(at), Some(f)) => format!("{} ({f})", utc(at)),
        (Some(at), None) => utc(at),
        _ if s.kind == SourceKind::Reports => "follows the report queue".to_string(),
        _ => "never".to_string(),
    };
    let id = s.id;
    let form = move |action: &'static str, label: &'static str, class: &'static str| {
        view! {
            <ActionForm action=change attr:class="inline-form">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" class=class data-test=format!("source-{action}")>{label}</button>
            </ActionForm>
        }
    };
    let manage = can_manage.then(|| {
        view! {
            <td class="actions">
                {if s.enabled { form("disable", "Disable", "small") } else { form("enable", "Enable", "small") }}
                {(s.active > 0).then(|| form("expire", "Expire all now", "small"))}
                {(s.kind == SourceKind::Feed).then(|| view! {
                    <details class="confirm">
                        <summary data-test="source-delete-ask">"Delete…"</summary>
                        <p>{format!("Delete {} and its {} indicators? Disabling keeps them.", s.name, grouped(s.indicators as u64))}</p>
                        {form("delete", "Delete for good", "small danger")}
                    </details>
                })}
            </td>
        }
    });
    view! {
        <tr data-source=s.name.clone()>
            <td><a href=href rel="external"><strong>{s.name.clone()}</strong></a><br/><span class="muted">{what}</span></td>
            <td>{format!("{} %", s.confidence)}</td>
            <td>{expiry(s.expiry_days)}</td>
            <td>{format!("{} / {}", grouped(s.active as u64), grouped(s.indicators as u64))}</td>
            <td data-test="source-hits">{grouped(s.hits as u64)}</td>
            <td>{last}</td>
            <td>{if s.enabled { "enabled" } else { "disabled" }}</td>
            {manage}
        </tr>
    }
}

#[component]
fn ImportPanel(import: ServerAction<ImportIntel>) -> impl IntoView {
    let result = move || import.value().get();
    let (text, set_text) = signal(String::new());
    let (file_note, set_file_note) = signal(None::<String>);
    let on_file = move |ev: leptos::ev::Event| read_file(ev, set_text, set_file_note);
    view! {
        <section class="panel" data-test="intel-import">
            <h2>"Import"</h2>
            <p class="muted">"A plain list (one indicator a line, " <code>"#"</code> " comments), a CSV with a header naming the indicator column, "
                "a STIX 2.1 bundle or a MISP event. Up to 2 MB here; larger feeds go through "
                <code>"POST /api/v1/intel/{source}"</code> " or " <code>"anomalyforge intel import"</code> ". A new source is created with the settings given."</p>
            <ActionForm action=import>
                <div class="form-grid">
                    <div class="field">
                        <label for="intel-source">"Source name"</label>
                        <input id="intel-source" name="source" required maxlength="64" pattern="[a-z0-9][a-z0-9._-]*" placeholder="abuse-feodo"
                            autocomplete="off" spellcheck="false"/>
                    </div>
                    <div class="field">
                        <label for="intel-format">"Format"</label>
                        <select id="intel-format" name="format">
                            <option value="auto">"Tell from the content"</option>
                            {IntelFormat::ALL.into_iter().map(|f| view! { <option value=f.as_str()>{format_label(f)}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="intel-confidence">"Confidence (0–100)"</label>
                        <input id="intel-confidence" name="confidence" inputmode="numeric" maxlength="3" placeholder="50 for a new source"/>
                    </div>
                    <div class="field">
                        <label for="intel-expiry">"Indicators expire after (days, or never)"</label>
                        <input id="intel-expiry" name="expiry_days" maxlength="5" placeholder="30 for a new source"/>
                    </div>
                </div>
                <div class="field">
                    <label for="intel-file">"File"</label>
                    <input id="intel-file" type="file" accept=".txt,.csv,.json,.stix,text/plain,text/csv,application/json" on:change=on_file/>
                    {move || file_note.get().map(|n| view! { <p class="muted" data-test="intel-file-note">{n}</p> })}
                </div>
                <div class="field">
                    <label for="intel-text">"Indicators (or the file's text)"</label>
                    <textarea id="intel-text" name="text" rows="6" spellcheck="false" data-test="intel-text"
                        placeholder="203.0.113.7\n198.51.100.0/24\nevil.example"
                        prop:value=move || text.get() on:input=move |ev| set_text.set(event_target_value(&ev))></textarea>
                </div>
                <button type="submit" class="primary" data-test="intel-import-submit">"Import"</button>
            </ActionForm>
            {move || result().map(|r| match r {
                Ok(report) => view! { <ImportResult report/> }.into_any(),
                Err(e) => view! { <div class="error" role="alert" data-test="panel-error"><p>{e.to_string()}</p></div> }.into_any(),
            })}
        </section>
    }
}

/// Reads the chosen file into the text box (in the browser; without JavaScript the text is pasted).
#[allow(unused_variables)]
fn read_file(ev: leptos::ev::Event, set_text: WriteSignal<String>, set_note: WriteSignal<Option<String>>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        const LIMIT: f64 = 2.0 * 1024.0 * 1024.0;
        if file.size() > LIMIT {
            set_note.set(Some(format!(
                "{} is {:.1} MB: import it with the API or the command line (2 MB here).",
                file.name(),
                file.size() / 1024.0 / 1024.0
            )));
            return;
        }
        let name = file.name();
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(v) => {
                    set_text.set(v.as_string().unwrap_or_default());
                    set_note.set(Some(format!("{name} read; press Import.")));
                }
                Err(_) => set_note.set(Some(format!("{name} could not be read."))),
            }
        });
    }
}

fn format_label(f: IntelFormat) -> &'static str {
    match f {
        IntelFormat::Plain => "Plain list",
        IntelFormat::Csv => "CSV",
        IntelFormat::Stix => "STIX 2.1 bundle",
        IntelFormat::Misp => "MISP event",
    }
}

#[component]
fn ImportResult(report: ImportReport) -> impl IntoView {
    let ImportReport { source, format, imported, updated, rejected, ignored, retro } = report;
    let summary = format!(
        "{source}: read as {}; {} new, {} updated, {} rejected{}.",
        format_label(format),
        grouped(imported),
        grouped(updated),
        grouped(rejected.len() as u64),
        if ignored > 0 {
            format!(", {} ignored (not indicators for detection, or repeats)", grouped(ignored))
        } else {
            String::new()
        }
    );
    let hunt = match retro.since {
        _ if retro.indicators == 0 => "No new address or network to search the stored flows for.".to_string(),
        None => format!("{} new addresses and networks; no flows are stored to search.", grouped(retro.indicators)),
        Some(since) => format!(
            "Retro-hunt: {} searched over the flows stored since {}: {} matched, {} raised or updated{}.",
            count(retro.indicators, "new address or network", "new addresses and networks"),
            utc(since),
            count(retro.flows, "flow", "flows"),
            count(retro.alerts, "alert", "alerts"),
            if retro.skipped > 0 {
                format!("; {} more not searched (over the cap of one import)", grouped(retro.skipped))
            } else {
                String::new()
            }
        ),
    };
    view! {
        <div class="notice" role="status" data-test="intel-import-result">
            <p>{summary}</p>
            <p data-test="intel-retro">{hunt}</p>
            {(retro.not_searchable > 0).then(|| view! {
                <p class="muted">{format!("{} domains, URLs or hashes are kept for IOC checks: stored flows carry addresses only.", grouped(retro.not_searchable))}</p>
            })}
            {(!rejected.is_empty()).then(|| view! {
                <ul class="form-errors" data-test="intel-rejected">
                    {rejected.into_iter().take(50).map(|r| view! {
                        <li>{format!("{}: {}{}", r.at, r.reason, r.value.map(|v| format!(" — “{v}”")).unwrap_or_default())}</li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

type Filter = (String, String, String, String, u32);

#[component]
fn IndicatorFilter(filter: Memo<Filter>) -> impl IntoView {
    let get = move |i: usize| {
        filter.with(|f| match i {
            0 => f.0.clone(),
            1 => f.1.clone(),
            2 => f.2.clone(),
            _ => f.3.clone(),
        })
    };
    view! {
        <form method="get" action="/intel">
            <div class="filters" data-test="intel-filter">
                <input type="hidden" name="source" prop:value=move || get(0) value=move || get(0)/>
                <div class="field search">
                    <label for="intel-q">"Value contains"</label>
                    <input id="intel-q" name="text" type="search" maxlength="256" autocomplete="off" spellcheck="false"
                        prop:value=move || get(1) value=move || get(1)/>
                </div>
                <div class="field">
                    <label for="intel-kind">"Kind"</label>
                    <select id="intel-kind" name="kind">
                        <option value="">"any"</option>
                        {IndicatorKind::ALL.into_iter().map(|k| view! {
                            <option value=k.as_str() selected=move || get(2) == k.as_str()>{k.as_str()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="intel-state">"State"</label>
                    <select id="intel-state" name="state">
                        <option value="">"any"</option>
                        {IndicatorState::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || get(3) == s.as_str()>{s.as_str()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="filter-buttons">
                    <button type="submit">"Filter"</button>
                    <a href="/intel" class="button-link">"Clear"</a>
                </div>
            </div>
        </form>
    }
}

#[component]
fn Indicators(
    page: IndicatorPage,
    can_manage: bool,
    change: ServerAction<ChangeIntelIndicator>,
    filter: Memo<Filter>,
) -> impl IntoView {
    let IndicatorPage { rows, total, page, per_page } = page;
    let pages = ((total.max(0) as u64).div_ceil(u64::from(per_page))).max(1) as u32;
    let link = move |to: u32| {
        filter.with(|(source, text, kind, state, _)| {
            format!(
                "/intel?source={}&text={}&kind={}&state={}&page={to}",
                encode_component(source),
                encode_component(text),
                encode_component(kind),
                encode_component(state)
            )
        })
    };
    let summary = format!("{}; page {page} of {pages}.", count(total.max(0) as u64, "indicator", "indicators"));
    view! {
        <p data-test="intel-count">{summary}</p>
        {if rows.is_empty() {
            view! { <p class="empty">"No indicator matches."</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                    <table class="table compact" data-test="intel-indicator-table">
                        <thead><tr>
                            <th>"Indicator"</th><th>"Kind"</th><th>"Source"</th><th>"Confidence"</th><th>"Expires (UTC)"</th>
                            <th>"State"</th><th>"Hits"</th><th>"Last hit (UTC)"</th><th>"From"</th>
                            {can_manage.then(|| view! { <th>"Manage"</th> })}
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! { <IndicatorLine r can_manage change/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
        <p class="pager">
            {(page > 1).then(|| view! { <a href=link(page - 1) rel="external" data-test="intel-prev">"← Previous"</a> })}
            " "
            {(page < pages).then(|| view! { <a href=link(page + 1) rel="external" data-test="intel-next">"Next →"</a> })}
        </p>
    }
}

#[component]
fn IndicatorLine(r: IndicatorRow, can_manage: bool, change: ServerAction<ChangeIntelIndicator>) -> impl IntoView {
    let id = r.id;
    let form = move |action: &'static str, label: &'static str| {
        view! {
            <ActionForm action=change attr:class="inline-form">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="action" value=action/>
                <button type="submit" class="small" data-test=format!("indicator-{action}")>{label}</button>
            </ActionForm>
        }
    };
    let manage = can_manage.then(|| {
        view! {
            <td class="actions">
                {if r.enabled { form("disable", "Disable") } else { form("enable", "Enable") }}
                {(r.state == IndicatorState::Active).then(|| form("expire", "Expire now"))}
            </td>
        }
    });
    let from = if r.source == REPORTS_SOURCE { "employee reports".to_string() } else { r.reference.clone() };
    view! {
        <tr data-indicator=r.value.clone()>
            <td><a href=super::intel::ioc_href(&r.value) rel="external"><code>{r.value.clone()}</code></a>
                {(!r.description.is_empty()).then(|| view! { <br/><span class="muted">{r.description.clone()}</span> })}</td>
            <td>{r.kind.as_str()}</td>
            <td>{r.source.clone()}</td>
            <td>{format!("{} %", r.confidence)}</td>
            <td>{r.expires_at.map_or_else(|| "never".to_string(), utc)}</td>
            <td data-test="indicator-state">{r.state.as_str()}</td>
            <td>{grouped(r.hits as u64)}</td>
            <td>{r.last_hit_at.map_or_else(|| "—".to_string(), utc)}</td>
            <td>{from}</td>
            {manage}
        </tr>
    }
}
