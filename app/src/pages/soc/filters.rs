//! The queue's filters: one GET form whose fields are the URL parameters (so every filtered view is
//! a link that can be shared, bookmarked, and opened without JavaScript), and the active filters as
//! chips that remove themselves.

use super::use_console;
use anomalyforge::console::{threat_keys, threat_title, GroupBy, QueueQuery, SortBy, StatusFilter, TimeRange};
use leptos::prelude::*;
use leptos_router::components::Form;

#[component]
pub fn Filters() -> impl IntoView {
    let ctx = use_console();
    let q = move || ctx.query.get();
    let range = move || q().range;
    let is_range = move |r: TimeRange| {
        let current = range();
        current == r.as_str() || (current.is_empty() && r == TimeRange::Last24h)
    };
    view! {
        <Form method="GET" action="/soc">
            <div class="filters" data-test="filters">
                <div class="field search">
                    <label for="soc-q">"Search " <kbd>"/"</kbd></label>
                    <input id="soc-q" name="q" type="search" maxlength="100" autocomplete="off"
                        placeholder="address, threat, signature, country"
                        prop:value=move || q().q value=move || q().q/>
                </div>
                <div class="field">
                    <label for="soc-range">"Time range"</label>
                    <select id="soc-range" name="range">
                        {TimeRange::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str() selected=move || is_range(r)>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="soc-from">"From (UTC, custom)"</label>
                    <input id="soc-from" name="from" type="datetime-local" value=move || q().from prop:value=move || q().from/>
                </div>
                <div class="field">
                    <label for="soc-to">"To (UTC, custom)"</label>
                    <input id="soc-to" name="to" type="datetime-local" value=move || q().to prop:value=move || q().to/>
                </div>
                <div class="field">
                    <label for="soc-status">"Status"</label>
                    <select id="soc-status" name="status">
                        {StatusFilter::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || {
                                let cur = q().status;
                                cur == s.as_str() || (cur.is_empty() && s == StatusFilter::Open)
                            }>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="soc-threat">"Threat type"</label>
                    <select id="soc-threat" name="threat">
                        <option value="" selected=move || q().threat.is_empty()>"Any type"</option>
                        {threat_keys().into_iter().map(|k| view! {
                            <option value=k selected=move || q().threat == k>{threat_title(k)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field narrow">
                    <label for="soc-min-risk">"Min. risk"</label>
                    <input id="soc-min-risk" name="min_risk" type="number" min="0" max="100" step="1"
                        value=move || q().min_risk prop:value=move || q().min_risk/>
                </div>
                <div class="field">
                    <label for="soc-asset">"Asset (IP)"</label>
                    <input id="soc-asset" name="asset" maxlength="45" value=move || q().asset prop:value=move || q().asset/>
                </div>
                <div class="field narrow">
                    <label for="soc-country">"Country"</label>
                    <input id="soc-country" name="country" maxlength="2" placeholder="DE"
                        value=move || q().country prop:value=move || q().country/>
                </div>
                <div class="field">
                    <label for="soc-src">"Source (IP)"</label>
                    <input id="soc-src" name="src_ip" maxlength="45" value=move || q().src_ip prop:value=move || q().src_ip/>
                </div>
                <div class="field">
                    <label for="soc-group">"Group by"</label>
                    <select id="soc-group" name="group">
                        {GroupBy::ALL.into_iter().map(|g| view! {
                            <option value=g.as_str() selected=move || q().group == g.as_str()>{g.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="soc-sort">"Order"</label>
                    <select id="soc-sort" name="sort">
                        {SortBy::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || {
                                let cur = q().sort;
                                cur == s.as_str() || (cur.is_empty() && s == SortBy::Risk)
                            }>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="filter-buttons">
                    <button type="submit" class="primary" data-test="apply-filters">"Apply"</button>
                    <a href="/soc" class="button-link" data-test="reset-filters">"Reset"</a>
                </div>
            </div>
        </Form>
        <Chips/>
    }
}

/// The active filters, each a link that removes it.
#[component]
fn Chips() -> impl IntoView {
    let ctx = use_console();
    move || {
        let q = ctx.query.get();
        let chips: Vec<(&str, String)> = [
            ("q", "Search", q.q.clone()),
            ("status", "Status", q.status.clone()),
            ("threat", "Type", if q.threat.is_empty() { String::new() } else { threat_title(&q.threat) }),
            ("min_risk", "Risk ≥", q.min_risk.clone()),
            ("asset", "Asset", q.asset.clone()),
            ("country", "Country", q.country.clone()),
            ("src_ip", "Source", q.src_ip.clone()),
            ("group", "Grouped by", q.group.clone()),
        ]
        .into_iter()
        .filter(|(_, _, v)| !v.is_empty())
        .map(|(param, label, v)| (param, format!("{label}: {v}")))
        .collect();
        (!chips.is_empty()).then(|| {
            view! {
                <ul class="chips" aria-label="Active filters" data-test="chips">
                    {chips.into_iter().map(|(param, text)| {
                        let href = QueueQuery::href(&q.with(param, ""), None);
                        let label = format!("Remove filter {text}");
                        view! {
                            <li><a href=href data-test=format!("chip-{param}") aria-label=label>
                                {text} " ×"
                            </a></li>
                        }
                    }).collect_view()}
                </ul>
            }
        })
    }
}
