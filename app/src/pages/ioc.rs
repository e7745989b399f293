//! `/hunt/ioc` (analysts, responders, admins): the IOC check. One value — an address, a network,
//! a domain, a URL or a file hash — and everything known about it: intel entries, alerts, stored
//! flows, employee reports, the asset record and the country. A plain GET form, so a check is a
//! link (pivots from `/hunt` and `/intel` land here) and works without JavaScript.

use crate::api::intel::check_ioc;
use crate::components::errors::PanelErrors;
use crate::components::format::{count, grouped, utc};
use crate::components::guard::Guarded;
use crate::pages::hunt::{hunt_href, Histogram};
use crate::pages::intel::ioc_href;
use crate::resource::resource;
use anomalyforge::console::threat_title;
use anomalyforge::intel::catalog::{HostPeers, IocCheck, Talker};
use anomalyforge::intel::IndicatorKind;
use anomalyforge::pages;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn IocPage() -> impl IntoView {
    view! {
        <Guarded page=pages::HUNT>
            <Ioc/>
        </Guarded>
    }
}

#[component]
fn Ioc() -> impl IntoView {
    let params = use_query_map();
    let value = Memo::new(move |_| params.with(|p| p.get("value").unwrap_or_default()));
    let found = resource(move || value.get(), check_ioc);
    view! {
        <div class="ioc" data-test="page" data-page="/hunt/ioc">
            <p class="muted"><a href="/hunt">"← Hunt"</a></p>
            <h1>"IOC check"</h1>
            <form method="get" action="/hunt/ioc">
                <div class="filters" data-test="ioc-form">
                    <div class="field search">
                        <label for="ioc-value">"Address, network, domain, URL or file hash"</label>
                        <input id="ioc-value" name="value" type="search" maxlength="4096" autocomplete="off" spellcheck="false"
                            placeholder="203.0.113.7" prop:value=move || value.get() value=move || value.get()/>
                    </div>
                    <div class="filter-buttons">
                        <button type="submit" class="primary" data-test="ioc-submit">"Check"</button>
                    </div>
                </div>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        found.await.map(|f| match f {
                            None => view! {
                                <p class="panel" data-test="ioc-empty">"Give one value: what intel lists it, which alerts and stored flows involve it, who reported it, and which asset it is."</p>
                            }.into_any(),
                            Some(c) => view! { <IocResult c/> }.into_any(),
                        })
                    })}
                </PanelErrors>
            </Transition>
        </div>
    }
}

#[component]
fn IocResult(c: IocCheck) -> impl IntoView {
    let IocCheck { value, kind, intel, alerts, alerts_total, flows, reports, asset, country, peers } = c;
    let address = matches!(kind, IndicatorKind::Ip | IndicatorKind::Cidr);
    let verdict = match intel.iter().find(|i| i.state == anomalyforge::intel::catalog::IndicatorState::Active) {
        Some(i) => format!("Listed as malicious by {} ({} % confidence).", i.source, i.confidence),
        None if !intel.is_empty() => "Listed before, but no listing is active now.".to_string(),
        None => "No intel source lists it.".to_string(),
    };
    let headline = format!(
        "{}{value} — {}{}",
        if kind == IndicatorKind::Ip { "Host " } else { "" },
        kind.as_str(),
        country.as_deref().map(|c| format!(", {c}")).unwrap_or_default()
    );
    let hunt = address.then(|| hunt_href(&format!("ip:{value}")));
    view! {
        <section class="panel" data-test="ioc-result">
            <h2 data-test="ioc-value">{headline}</h2>
            <p data-test="ioc-verdict" class:warning=intel.iter().any(|i| i.state == anomalyforge::intel::catalog::IndicatorState::Active)>{verdict}</p>
            {hunt.clone().map(|h| view! { <p><a href=h rel="external">"Hunt its flows →"</a></p> })}
        </section>
        <section class="panel" data-test="ioc-intel">
            <h2>{format!("Intel ({})", intel.len())}</h2>
            {if intel.is_empty() {
                view! { <p class="empty">"No entry in any source."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll"><table class="table compact">
                        <thead><tr><th>"Entry"</th><th>"Source"</th><th>"Confidence"</th><th>"State"</th><th>"Expires (UTC)"</th><th>"Hits"</th><th>"Description"</th></tr></thead>
                        <tbody>
                            {intel.into_iter().map(|i| view! {
                                <tr>
                                    <td><code>{i.value}</code></td>
                                    <td><a href=format!("/intel?source={}", i.source_id) rel="external">{i.source}</a></td>
                                    <td>{format!("{} %", i.confidence)}</td>
                                    <td>{i.state.as_str()}</td>
                                    <td>{i.expires_at.map_or_else(|| "never".to_string(), utc)}</td>
                                    <td>{grouped(i.hits as u64)}</td>
                                    <td>{i.description}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
        <section class="panel" data-test="ioc-alerts">
            <h2>{format!("Alerts ({})", grouped(alerts_total.max(0) as u64))}</h2>
            {if !address {
                view! { <p class="muted">"Alerts name addresses, not names or hashes."</p> }.into_any()
            } else if alerts.is_empty() {
                view! { <p class="empty">"No alert from or to it."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll"><table class="table compact">
                        <thead><tr><th>"Alert"</th><th>"Last seen (UTC)"</th><th>"Threat"</th><th>"Risk"</th><th>"Status"</th><th>"Source → target"</th></tr></thead>
                        <tbody>
                            {alerts.into_iter().map(|a| view! {
                                <tr>
                                    <td><a href=format!("/soc?alert={}", a.id)>{format!("#{}", a.id)}</a></td>
                                    <td>{utc(a.last_seen)}</td>
                                    <td>{threat_title(&a.threat)}</td>
                                    <td>{a.risk}</td>
                                    <td>{a.status.replace('_', " ")}</td>
                                    <td>{format!("{} → {}", a.src_ip.unwrap_or_else(|| "—".into()), a.dst_ip.unwrap_or_else(|| "—".into()))}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
        <section class="panel" data-test="ioc-flows">
            <h2>"Stored flows"</h2>
            {match flows {
                None => view! { <p class="muted">"Stored flows carry addresses, not names or hashes."</p> }.into_any(),
                Some(f) => {
                    let text = format!(
                        "{} from or to it{}.",
                        count(f.matched, "flow", "flows"),
                        if f.complete { String::new() } else { format!(" back to {} (the search stopped at its time budget)", utc(f.searched_from)) }
                    );
                    view! {
                        <p data-test="ioc-flow-count">{text}</p>
                        <Histogram histogram=f.histogram.clone() bucket_ms=f.bucket_ms from=f.from until=f.until/>
                        {(!f.flows.is_empty()).then(|| view! {
                            <ul class="compact-list">
                                {f.flows.into_iter().take(10).map(|r| view! {
                                    <li>{format!("{} {}:{} → {}:{} {} ({} B out / {} B in)", utc(r.at), r.src, r.sport, r.dst, r.dport, r.proto_name(), r.bytes_out, r.bytes_in)}</li>
                                }).collect_view()}
                            </ul>
                        })}
                        {hunt.map(|h| view! { <p><a href=h rel="external">"All of them in the hunt →"</a></p> })}
                    }.into_any()
                }
            }}
        </section>
        {peers.map(|p| view! { <Peers p/> })}
        <section class="panel" data-test="ioc-reports">
            <h2>{format!("Employee reports ({})", reports.len())}</h2>
            {if reports.is_empty() {
                view! { <p class="empty">"Nobody reported it."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {reports.into_iter().map(|r| view! {
                            <li>{format!("#{} on {}: {} ({})", r.id, utc(r.created_at), r.category.replace('_', " "), r.status)}</li>
                        }).collect_view()}
                    </ul>
                    <p><a href="/soc/reports">"The report queue →"</a></p>
                }.into_any()
            }}
        </section>
        <section class="panel" data-test="ioc-asset">
            <h2>"Asset"</h2>
            {match asset {
                Some(a) => view! {
                    <p>{format!("{} — {}, {} criticality, owner {}", a.ip, a.hostname.unwrap_or_else(|| "no host name".into()), a.criticality.as_str(), a.owner.unwrap_or_else(|| "unknown".into()))}</p>
                    <p><a href="/assets">"The asset inventory →"</a></p>
                }.into_any(),
                None if kind == IndicatorKind::Ip => view! { <p class="empty">"Not in the asset inventory."</p> }.into_any(),
                None => view! { <p class="muted">"Assets are single addresses."</p> }.into_any(),
            }}
        </section>
    }
}

/// Whom the host talked to, who talked to it, and on which ports (a day of stored flows).
#[component]
fn Peers(p: HostPeers) -> impl IntoView {
    let HostPeers { from, until, contacted, contacted_by, ports } = p;
    let table = |title: &'static str, test: &'static str, rows: Vec<Talker>, address: bool| {
        view! {
            <div data-test=test>
                <h3>{title}</h3>
                {if rows.is_empty() {
                    view! { <p class="empty">"None."</p> }.into_any()
                } else {
                    view! {
                        <table class="table compact">
                            <thead><tr><th>{if address { "Address" } else { "Port" }}</th><th>"Flows"</th><th>"Bytes"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|t| {
                                    let href = if address { ioc_href(&t.value) } else { hunt_href(&format!("dport:{}", t.value)) };
                                    view! {
                                        <tr>
                                            <td><a href=href rel="external">{t.value}</a></td>
                                            <td>{grouped(t.flows.max(0) as u64)}</td>
                                            <td>{grouped(t.bytes.max(0) as u64)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </div>
        }
    };
    view! {
        <section class="panel" data-test="ioc-peers">
            <h2>"Peers and ports"</h2>
            <p class="muted">{format!("Stored flows from {} to {}.", utc(from), utc(until))}</p>
            <div class="peer-grid">
                {table("It contacted", "ioc-contacted", contacted, true)}
                {table("Contacted by", "ioc-contacted-by", contacted_by, true)}
                {table("Ports", "ioc-ports", ports, false)}
            </div>
        </section>
    }
}
