//! `/hunt` (analysts, responders, admins): search the stored flows.
//!
//! The question is one line of filter text (`src:10.0.0.0/8 dport:443 country:RU risk>=70
//! since:24h`) or the builder's fields, one per key; both are plain GET forms whose fields are the
//! URL, so every hunt is a link and a page load, the same with or without JavaScript. The query is shown back in its
//! canonical text, a bad term is named with what its key allows, and the good terms still run. Every
//! address, port, country and threat in the results is a link to the hunt for it; the results page
//! by a cursor link, export as CSV, and say how far back the search got within its time budget.

use crate::api::hunt::{hunt_alerts, hunt_flows, HuntAnswer};
use crate::components::format::{bytes, count, grouped, utc};
use crate::components::guard::Guarded;
use crate::resource::resource;
use anomalyforge::console::threat_title;
use anomalyforge::flow_history::{FlowRecord, FlowSearch, FlowSort};
use anomalyforge::hunt::{FilterError, HuntQuery};
use anomalyforge::pages;
use anomalyforge::url_query::encode_component;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The builder's fields: (key, label, placeholder).
const FIELDS: [(&str, &str, &str); 14] = [
    ("since", "Since", "24h"),
    ("from", "From (UTC)", "2026-12-01"),
    ("until", "Until (UTC)", "2026-12-06T12:00:00Z"),
    ("ip", "Either address", "203.0.113.7"),
    ("src", "Source", "10.0.0.0/8"),
    ("dst", "Destination", "192.0.2.0/24"),
    ("dport", "Destination port", "443,8443"),
    ("port", "Either port", "22"),
    ("proto", "Protocol", "tcp"),
    ("country", "Country (outside end)", "RU"),
    ("asset", "Asset", "\"mail server\""),
    ("risk", "Risk", ">=70"),
    ("threat", "Threat", "port_scan"),
    ("verdict", "Verdict", "alert"),
];

/// The hunt of this URL: the `q` text and the builder's fields, read together (the good terms of a
/// partly bad query still run), and what was wrong.
fn query_of(get: impl Fn(&str) -> Option<String>) -> (HuntQuery, Vec<FilterError>) {
    let text = get("q").unwrap_or_default();
    let pairs: Vec<(String, String)> = FIELDS
        .iter()
        .filter_map(|(k, _, _)| get(k).filter(|v| !v.trim().is_empty()).map(|v| (k.to_string(), v)))
        .collect();
    let (q, mut errors) = HuntQuery::parse_partial(&text);
    match HuntQuery::from_pairs(&pairs) {
        Ok(more) if !more.is_empty() => {
            let (merged, more_errors) = HuntQuery::parse_partial(&format!("{q} {more}"));
            errors.extend(more_errors);
            (merged, errors)
        }
        Ok(_) => (q, errors),
        Err(e) => {
            errors.push(e);
            (q, errors)
        }
    }
}

/// The link of a hunt.
pub fn hunt_href(q: &str) -> String {
    format!("/hunt?q={}", encode_component(q))
}

#[component]
pub fn HuntPage() -> impl IntoView {
    view! {
        <Guarded page=pages::HUNT>
            <Hunt/>
        </Guarded>
    }
}

#[component]
fn Hunt() -> impl IntoView {
    let params = use_query_map();
    let parsed = Memo::new(move |_| params.with(|p| query_of(|k| p.get(k))));
    let text = Memo::new(move |_| parsed.with(|(q, _)| q.to_string()));
    // The box shows the canonical query, or what was typed while a term of it is wrong (to fix it).
    let shown = Memo::new(move |_| {
        if parsed.with(|(_, errors)| errors.is_empty()) {
            text.get()
        } else {
            params.with(|p| p.get("q").unwrap_or_default())
        }
    });
    let sort = Memo::new(move |_| params.with(|p| p.get("sort").unwrap_or_default()));
    let cursor = Memo::new(move |_| params.with(|p| p.get("cursor").unwrap_or_default()));
    let found = resource(move || (text.get(), sort.get(), cursor.get()), |(q, s, c)| hunt_flows(q, s, c));
    let alerts = resource(move || text.get(), hunt_alerts);
    let pairs = Memo::new(move |_| parsed.with(|(q, _)| q.to_pairs()));
    // A hunt for one address links to its host page.
    let host = Memo::new(move |_| {
        parsed.with(|(q, _)| match q.ip.as_slice() {
            [t] if !t.negated && t.any_of.len() == 1 && t.any_of[0].is_host() => {
                Some(t.any_of[0].network().to_string())
            }
            _ => None,
        })
    });
    let field = move |key: &'static str| pairs.with(|p| p.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()));
    view! {
        <div class="hunt" data-test="page" data-page="/hunt">
            <h1>"Hunt"</h1>
            <p class="muted">"Search the stored flows below, or " <a href="/hunt/ioc" data-test="ioc-link">"check one value"</a>
                " (an address, network, domain, URL or hash) against intel, alerts, reports and assets."</p>
            <form method="get" action="/hunt">
                <div class="filters hunt-search" data-test="hunt-form">
                    <div class="field search">
                        <label for="hunt-q">"Filter"</label>
                        <input id="hunt-q" name="q" type="search" maxlength="4096" autocomplete="off" spellcheck="false"
                            placeholder="src:10.0.0.0/8 dport:443 country:RU risk>=70 since:24h"
                            prop:value=move || shown.get() value=move || shown.get()/>
                    </div>
                    <div class="field">
                        <label for="hunt-sort">"Order"</label>
                        <select id="hunt-sort" name="sort">
                            {FlowSort::ALL.into_iter().map(|s| view! {
                                <option value=s.as_str() selected=move || sort.get() == s.as_str()>{sort_label(s)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="filter-buttons">
                        <button type="submit" class="primary" data-test="hunt-submit">"Search"</button>
                        <a href="/hunt" class="button-link">"Clear"</a>
                    </div>
                </div>
            </form>
            {move || host.get().map(|ip| view! {
                <p data-test="hunt-host"><a href=crate::pages::intel::ioc_href(&ip) rel="external">{format!("Host page of {ip}: peers, ports, alerts, reports, intel, asset →")}</a></p>
            })}
            {move || parsed.with(|(_, errors)| (!errors.is_empty()).then(|| view! {
                <ul class="form-errors" data-test="hunt-errors" role="alert">
                    {errors.iter().map(|e| view! {
                        <li>{format!("{} — the other terms were searched.", e.message)}</li>
                    }).collect_view()}
                </ul>
            }))}
            <details class="panel hunt-builder">
                <summary>"Build a filter"</summary>
                <form method="get" action="/hunt">
                    <div class="filters" data-test="hunt-builder">
                        {FIELDS.into_iter().map(|(key, label, placeholder)| {
                            let id = format!("hunt-f-{key}");
                            view! {
                                <div class="field">
                                    <label for=id.clone()>{label}</label>
                                    <input id=id name=key maxlength="512" autocomplete="off" spellcheck="false" placeholder=placeholder
                                        prop:value=move || field(key).unwrap_or_default() value=move || field(key).unwrap_or_default()/>
                                </div>
                            }
                        }).collect_view()}
                        <div class="filter-buttons">
                            <button type="submit">"Search"</button>
                        </div>
                    </div>
                </form>
                <p class="muted">"A comma means any of (" <code>"dport:80,443"</code> "), a minus before a key means none of ("
                    <code>"-country:US"</code> "), a repeated key means all of. Addresses take a network ("
                    <code>"10.0.0.0/8"</code> "), ports a range (" <code>"1000-2000"</code> ")."</p>
            </details>
            <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
                {move || Suspend::new(async move { match found.await {
                    Err(e) => view! {
                        <div class="error" role="alert" data-test="panel-error"><p>{e.to_string()}</p></div>
                    }.into_any(),
                    Ok(HuntAnswer::Off) => view! {
                        <p class="panel empty" data-test="hunt-off">"The flow history is off on this server: nothing is stored to hunt in. "
                            "An admin turns it on with " <code>"AF_FLOWS__ENABLED=true"</code> " (see \"Flow history\" in the README)."</p>
                    }.into_any(),
                    Ok(HuntAnswer::NotAsked) => view! { <Examples/> }.into_any(),
                    Ok(HuntAnswer::AlertsOnly) => ().into_any(),
                    Ok(HuntAnswer::Found(s)) => view! { <Results search=s text=text.get_untracked() sort=sort.get_untracked()/> }.into_any(),
                }})}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Searching alerts…"</p> }>
                {move || Suspend::new(async move { match alerts.await {
                    Err(e) => view! {
                        <div class="error" role="alert" data-test="panel-error"><p>{e.to_string()}</p></div>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(found)) => view! { <AlertResults found text=text.get_untracked()/> }.into_any(),
                }})}
            </Transition>
        </div>
    }
}

/// The alerts a hunt found, each a link to its detail, its addresses and threat pivots.
#[component]
fn AlertResults(found: anomalyforge::hunt::AlertHunt, text: String) -> impl IntoView {
    let anomalyforge::hunt::AlertHunt { alerts, matched, scanned, complete } = found;
    let summary = if complete {
        format!("{} matched.", count(matched, "alert", "alerts"))
    } else {
        format!(
            "{} matched among the newest {} of the range (narrow the time range to see older ones).",
            count(matched, "alert", "alerts"),
            grouped(scanned)
        )
    };
    let link = |q: String, text: String| view! { <a href=hunt_href(&q) rel="external">{text}</a> };
    let addr = move |ip: Option<String>| ip.map(|ip| link(format!("ip:{ip}"), ip.clone()));
    view! {
        <section class="panel" data-test="hunt-alerts">
            <h2>"Alerts"</h2>
            <p data-test="hunt-alert-summary" class:warning=!complete>{summary}</p>
            {(matched > 0).then(|| view! {
                <p><a href=format!("/hunt/export.csv?of=alerts&q={}", encode_component(&text)) data-test="hunt-alert-export">"Export these alerts as CSV"</a></p>
            })}
            {if alerts.is_empty() {
                view! { <p class="empty">"No alert matches."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="table compact" data-test="hunt-alert-table">
                            <thead><tr>
                                <th>"Alert"</th><th>"Last seen (UTC)"</th><th>"Threat"</th><th>"Risk"</th><th>"Source"</th>
                                <th>"Destination"</th><th>"Port"</th><th>"Detector"</th><th>"Count"</th><th>"Status"</th>
                            </tr></thead>
                            <tbody>
                                {alerts.into_iter().map(|a| view! {
                                    <tr data-alert=a.id>
                                        <td><a href=format!("/soc?alert={}", a.id)>{format!("#{}", a.id)}</a></td>
                                        <td>{utc(a.last_seen)}</td>
                                        <td>{link(format!("threat:{}", a.threat), threat_title(&a.threat))}</td>
                                        <td>{a.risk}</td>
                                        <td>{addr(a.src_ip.clone())}</td>
                                        <td>{addr(a.dst_ip.clone())}</td>
                                        <td>{a.dst_port.map(|p| link(format!("dport:{p}"), p.to_string()))}</td>
                                        <td>{link(format!("detector:{}", a.detector.as_str()), a.detector.as_str().to_string())}</td>
                                        <td>{grouped(a.count.max(0) as u64)}</td>
                                        <td>{a.status.as_str().replace('_', " ")}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

fn sort_label(s: FlowSort) -> &'static str {
    match s {
        FlowSort::Newest => "Newest first",
        FlowSort::Oldest => "Oldest first",
        FlowSort::Risk => "Riskiest first",
        FlowSort::Bytes => "Most bytes first",
    }
}

#[component]
fn Examples() -> impl IntoView {
    let examples = [
        ("risk>=70 since:24h", "risky flows of the last day"),
        ("verdict:alert since:7d", "flows that alerted this week"),
        ("dport:22,3389 -src:10.0.0.0/8 since:24h", "remote logins from outside"),
        ("country:RU,KP since:7d", "traffic with two countries"),
    ];
    view! {
        <div class="panel" data-test="hunt-examples">
            <p>"Type a filter above, or start from one of these:"</p>
            <ul>
                {examples.into_iter().map(|(q, what)| view! {
                    <li><a href=hunt_href(q) rel="external"><code>{q}</code></a>{format!(" — {what}")}</li>
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn Results(search: FlowSearch, text: String, sort: String) -> impl IntoView {
    let FlowSearch { flows, next, matched, histogram, bucket_ms, from, until, searched_from, complete, took_ms } =
        search;
    let coverage = if complete {
        format!("searched {} – {}", utc(from), utc(until))
    } else {
        format!(
            "searched back to {} of {} – {} (narrow the filter or the time range to see further)",
            utc(searched_from),
            utc(from),
            utc(until)
        )
    };
    let summary = format!("{} matched, {coverage}, in {took_ms} ms.", count(matched, "flow", "flows"));
    let export = format!("/hunt/export.csv?q={}&sort={}", encode_component(&text), encode_component(&sort));
    let next_href =
        next.map(|c| format!("{}&sort={}&cursor={}", hunt_href(&text), encode_component(&sort), encode_component(&c)));
    view! {
        <section class="panel" data-test="hunt-results">
            <p data-test="hunt-summary" class:warning=!complete>{summary}</p>
            <Histogram histogram bucket_ms from until/>
            <p><a href=export data-test="hunt-export">"Export these flows as CSV"</a></p>
            {if flows.is_empty() {
                view! { <p class="empty">"No stored flow matches."</p> }.into_any()
            } else {
                view! { <FlowTable flows text=text.clone() sort=sort.clone()/> }.into_any()
            }}
            {next_href.map(|h| view! { <p><a href=h rel="external" data-test="hunt-next">"Next page →"</a></p> })}
        </section>
    }
}

/// Flows per time bucket as bars over the searched range (SVG, drawn on the server).
#[component]
pub(crate) fn Histogram(histogram: Vec<(i64, u64)>, bucket_ms: i64, from: i64, until: i64) -> impl IntoView {
    if histogram.is_empty() || until <= from {
        return ().into_any();
    }
    let span = (until - from) as f64;
    let top = histogram.iter().map(|h| h.1).max().unwrap_or(1).max(1) as f64;
    let (w, h) = (720.0, 80.0);
    // A bucket may be wider than a short range: at most the whole width.
    let bar = (bucket_ms as f64 / span * w).clamp(1.5, w);
    let unit = if bucket_ms >= 86_400_000 {
        format!("{} days", bucket_ms / 86_400_000)
    } else if bucket_ms >= 3_600_000 {
        format!("{} hours", bucket_ms / 3_600_000)
    } else {
        format!("{} minutes", bucket_ms / 60_000)
    };
    let label = format!(
        "Matching flows per {unit} from {} to {}; the highest bar is {} flows",
        utc(from),
        utc(until),
        grouped(top as u64)
    );
    view! {
        <svg class="hunt-histogram" data-test="hunt-histogram" viewBox=format!("0 0 {w} {h}") role="img" aria-label=label.clone()
            preserveAspectRatio="none">
            <title>{label.clone()}</title>
            <line x1="0" y1=format!("{h}") x2=format!("{w}") y2=format!("{h}") class="axis"/>
            {histogram.into_iter().map(|(at, n)| {
                let x = ((at - from) as f64 / span * w).clamp(0.0, (w - bar).max(0.0));
                let bh = (n as f64 / top * (h - 2.0)).max(1.0);
                view! {
                    <rect x=format!("{x:.2}") y=format!("{:.2}", h - bh) width=format!("{:.2}", (bar - 0.5).max(1.0)) height=format!("{bh:.2}")>
                        <title>{format!("{}: {} flows", utc(at), grouped(n))}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
        <p class="muted hunt-axis"><span>{utc(from)}</span><span>{utc(until)}</span></p>
    }
    .into_any()
}

#[component]
fn FlowTable(flows: Vec<FlowRecord>, text: String, sort: String) -> impl IntoView {
    let link = |q: String, text: String| view! { <a href=hunt_href(&q) rel="external">{text}</a> };
    // Sortable columns: each header is the same hunt in its order (time toggles newest/oldest).
    let order = |label: &'static str, by: FlowSort| {
        let current = FlowSort::parse(&sort).unwrap_or_default();
        let by = if by == FlowSort::Newest && current == FlowSort::Newest { FlowSort::Oldest } else { by };
        let active = current == by || (by == FlowSort::Oldest && current == FlowSort::Newest);
        let mark = match current {
            FlowSort::Newest if by == FlowSort::Oldest => " ↓",
            FlowSort::Oldest if by == FlowSort::Oldest => " ↑",
            c if c == by => " ↓",
            _ => "",
        };
        let href = format!("{}&sort={}", hunt_href(&text), by.as_str());
        view! {
            <a href=href rel="external" class:active=active data-test=format!("sort-{}", by.as_str())>
                {format!("{label}{mark}")}
            </a>
        }
    };
    view! {
        <div class="table-scroll">
            <table class="table compact" data-test="hunt-flows">
                <thead><tr>
                    <th>{order("Time (UTC)", FlowSort::Newest)}</th><th>"Source"</th><th>"Destination"</th><th>"Port"</th><th>"Proto"</th>
                    <th>{order("Bytes out / in", FlowSort::Bytes)}</th><th>"Duration"</th><th>{order("Risk", FlowSort::Risk)}</th>
                    <th>"Verdict"</th><th>"Country"</th><th>"From"</th>
                </tr></thead>
                <tbody>
                    // Keyed by flow: a new result replaces rows instead of patching the old ones in place.
                    <For each=move || flows.clone() key=|f| f.id children=move |f| {
                        let verdict = if f.alerted { format!("alert: {}", threat_title(&f.threat)) } else { threat_title(&f.threat) };
                        view! {
                            <tr data-flow=f.id>
                                <td>{utc(f.at)}</td>
                                <td>{link(format!("ip:{}", f.src), f.src.to_string())}{format!(":{}", f.sport)}</td>
                                <td>{link(format!("ip:{}", f.dst), f.dst.to_string())}</td>
                                <td>{link(format!("dport:{}", f.dport), f.dport.to_string())}</td>
                                <td>{f.proto_name()}</td>
                                <td>{format!("{} / {}", bytes(f.bytes_out), bytes(f.bytes_in))}</td>
                                <td>{format!("{:.1} s", f.duration_ms as f64 / 1000.0)}</td>
                                <td>{f.risk}</td>
                                <td>{link(format!("threat:{}", f.threat), verdict)}</td>
                                <td>{f.cc.clone().map(|cc| link(format!("country:{cc}"), cc))}</td>
                                <td>{f.source.clone()}</td>
                            </tr>
                        }
                    }/>
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_and_the_builders_fields_make_one_query() {
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
        };
        let (q, errors) = query_of(get(&[("q", "dport:443 since:24h"), ("country", "ru")]));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(q, HuntQuery::parse("since:24h dport:443 country:RU").unwrap());
        // A bad term is named; the good ones still run.
        let (q, errors) = query_of(get(&[("q", "dport:99999 src:10.0.0.0/8"), ("risk", ">=70")]));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(q, HuntQuery::parse("src:10.0.0.0/8 risk>=70").unwrap());
        assert_eq!(hunt_href("ip:10.0.0.1 since:1h"), "/hunt?q=ip%3A10.0.0.1%20since%3A1h");
        assert_eq!(bytes(1536), "1.5 KiB");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_histogram_of_a_range_shorter_than_its_bucket_draws() {
        // 10 minutes searched with one-hour buckets: the bar is as wide as the chart.
        let html =
            view! { <Histogram histogram=vec![(0, 5)] bucket_ms=3_600_000 from=60_000 until=660_000/> }.to_html();
        assert!(html.contains("<rect"), "{html}");
    }
}
