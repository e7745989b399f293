//! `/soc/reports` (analysts, responders, admins): what employees reported, grouped by the reported
//! address or domain, with categories, reporters, the matching alerts and the descriptions; the SOC
//! sets each one's status (applied to every report of it) with a note its reporters read on
//! `/report`. Filtered by status (open ones by default) and paged. Every form is an `ActionForm`,
//! so the page works before (or without) the WASM. What employees typed is shown as text.

use crate::api::reports::{queued_reports, SetIndicatorStatus};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::components::soc_tabs::{SocTabs, REPORTS_PAGE};
use crate::resource::resource;
use anomalyforge::report::{
    IndicatorKind, QueueFilter, ReportQueue, ReportStatus, ReportedIndicator, StatusChange, MAX_NOTE,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SocReportsPage() -> impl IntoView {
    view! {
        <Guarded page=REPORTS_PAGE>
            <ReportQueuePanel/>
        </Guarded>
    }
}

#[component]
fn ReportQueuePanel() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status").unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(1).max(1);
    let decide = ServerAction::<SetIndicatorStatus>::new();
    let queue = resource(move || (status(), page(), decide.version().get()), |(s, p, _)| queued_reports(s, p));
    let error = move || decide.value().get().and_then(Result::err);
    let done = move || decide.value().get().and_then(Result::ok);
    view! {
        <SocTabs current=REPORTS_PAGE.path version=decide.version()/>
        <section class="panel" data-test="page" data-page="/soc/reports">
            <h1>"Employee reports"</h1>
            <p class="muted">"Addresses and web sites employees reported as suspicious, one entry per address with all its reports. "
                "Your decision applies to every report of it, and its reporters see the status and your note on their "
                <strong>"Report"</strong>" page. A confirmed or open IP address is threat intel: alerts from or to it get a "
                "higher risk and name the report (confirmed counts most) from the next scored batch on; a dismissed one does not count."</p>
            {move || error().map(|e| view! { <p class="error" role="alert" data-test="decide-error">{e.to_string()}</p> })}
            {move || done().map(|c: StatusChange| view! {
                <p class="notice" role="status" data-test="decide-done">{decided_words(&c)}</p>
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading the reports…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move { queue.await.map(|q| view! { <QueueView queue=q decide/> }) })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

fn decided_words(c: &StatusChange) -> String {
    let reports = if c.reports == 1 { "its report".to_string() } else { format!("its {} reports", c.reports) };
    let note = if c.note.is_some() { " with your note" } else { "" };
    format!(
        "{} is now {}; the people who sent {reports} see this{note} on their Report page.",
        c.indicator,
        c.status.as_str()
    )
}

fn queue_link(filter: QueueFilter, page: i64) -> String {
    match (filter, page) {
        (QueueFilter::Open, 1) => REPORTS_PAGE.path.to_string(),
        (f, 1) => format!("{}?status={}", REPORTS_PAGE.path, f.as_str()),
        (f, p) => format!("{}?status={}&page={p}", REPORTS_PAGE.path, f.as_str()),
    }
}

#[component]
fn QueueView(queue: ReportQueue, decide: ServerAction<SetIndicatorStatus>) -> impl IntoView {
    let ReportQueue { filter, rows, page, per_page, total, counts } = queue;
    let pages = ((total + i64::from(per_page) - 1) / i64::from(per_page)).max(1);
    let current = i64::from(page);
    view! {
        <nav class="button-row filter-tabs" aria-label="Filter by status" data-test="status-filter">
            {QueueFilter::TABS.into_iter().map(|f| view! {
                <a href=queue_link(f, 1) class:active={f == filter} aria-current=(f == filter).then_some("page") data-filter=f.as_str()>
                    {f.label()} " " <span class="count">{f.count(&counts).to_string()}</span>
                </a>
            }).collect_view()}
        </nav>
        {if rows.is_empty() {
            let words = match (filter, total) {
                (_, t) if t > 0 => "Nothing on this page: go back to the first page.",
                (QueueFilter::Open, _) => "No reported address is new or under investigation.",
                (QueueFilter::All, _) => "Nobody has reported anything yet.",
                (QueueFilter::Only(_), _) => "No reported address has this status.",
            };
            view! { <p class="muted" data-test="queue-empty">{words}</p> }.into_any()
        } else {
            view! {
                <div class="cases" data-test="report-queue">
                    {rows.into_iter().map(|r| view! { <Case row=r decide/> }).collect_view()}
                </div>
            }.into_any()
        }}
        {(pages > 1).then(|| view! {
            <nav class="button-row" aria-label="Pages">
                {(current > 1).then(|| view! { <a href=queue_link(filter, current - 1)>"← Previous"</a> })}
                <span>{format!("Page {current} of {pages}")}</span>
                {(current < pages).then(|| view! { <a href=queue_link(filter, current + 1) data-test="next-page">"Next →"</a> })}
            </nav>
        })}
    }
}

/// One reported address or domain: what is known, what the reporters wrote, and the decision.
#[component]
fn Case(row: ReportedIndicator, decide: ServerAction<SetIndicatorStatus>) -> impl IntoView {
    let r = row;
    let status = r.status;
    let categories = r.categories.iter().map(|(c, n)| format!("{} × {n}", c.title())).collect::<Vec<_>>().join(" · ");
    let more_names = r.reporters - r.reporter_names.len() as i64;
    let reporters = format!(
        "{} report{} from {} {}: {}{}",
        r.reports,
        if r.reports == 1 { "" } else { "s" },
        r.reporters,
        if r.reporters == 1 { "person" } else { "people" },
        r.reporter_names.join(", "),
        if more_names > 0 { format!(" and {more_names} more") } else { String::new() },
    );
    let decision = match (status, r.decided_by.clone(), r.decided_at) {
        // A new report reopened a dismissed address.
        (ReportStatus::New, Some(by), Some(at)) => {
            Some(format!("Reopened by a new report; last changed by {by}, {}", utc(at)))
        }
        (ReportStatus::New, _, _) => None,
        (s, by, at) => Some(format!(
            "{} by {}{}",
            s.label(),
            by.unwrap_or_else(|| "a former user".into()),
            at.map(|t| format!(", {}", utc(t))).unwrap_or_default()
        )),
    };
    let hidden_lines = r.reports - r.lines.len() as i64;
    let form_id = format!("note-{}", r.indicator.replace([':', '.'], "-"));
    let indicator_field = r.indicator.clone();
    view! {
        <article class="case" data-indicator=r.indicator.clone() data-status=status.as_str()>
            <header class="case-head">
                <code class="indicator">{r.indicator.clone()}</code>
                <span class="badge">{match r.kind { IndicatorKind::Ip => "IP address", IndicatorKind::Domain => "web address" }}</span>
                <span class=format!("badge status-{}", status.as_str()) data-test="case-status">{status.label()}</span>
            </header>
            <dl class="facts">
                <dt>"Categories"</dt><dd>{categories}</dd>
                <dt>"Reports"</dt><dd data-test="case-reporters">{reporters}</dd>
                <dt>"Reported"</dt><dd>{format!("first {} · last {}", utc(r.first_reported), utc(r.last_reported))}</dd>
                <dt>"Alerts"</dt><dd data-test="case-alerts">{match (r.alerts, r.kind) {
                    (Some(m), _) if m.total() > 0 => view! {
                        <a href=format!("/soc?src_ip={}", r.indicator) data-test="alerts-link">
                            {format!("{} alert{} from it", m.from, if m.from == 1 { "" } else { "s" })}
                        </a>
                        {(m.to > 0).then(|| format!(" · {} to it", m.to))}
                    }.into_any(),
                    (Some(_), _) => view! { <span class="muted">"none so far"</span> }.into_any(),
                    (None, _) => view! { <span class="muted">"— alerts carry addresses, not web site names"</span> }.into_any(),
                }}</dd>
                {decision.map(|d| view! { <dt>"Decision"</dt><dd data-test="case-decision">{d}</dd> })}
                {r.note.clone().map(|n| view! { <dt>"Note to the reporters"</dt><dd class="prose" data-test="case-note">{n}</dd> })}
            </dl>
            <details class="report-lines" data-test="descriptions">
                <summary>{format!("What the reporters wrote ({})", r.reports)}</summary>
                <ol>
                    {r.lines.into_iter().map(|l| view! {
                        <li data-report=l.id.to_string()>
                            <p class="prose" data-test="description">{l.description}</p>
                            <p class="muted small">{format!("{} · {} · {}", l.reporter, l.category.title(), utc(l.created_at))}</p>
                        </li>
                    }).collect_view()}
                </ol>
                {(hidden_lines > 0).then(|| view! { <p class="muted">{format!("and {hidden_lines} older reports not shown")}</p> })}
            </details>
            <ActionForm action=decide attr:class="case-actions">
                <input type="hidden" name="indicator" value=indicator_field/>
                <input type="hidden" name="from" value=status.as_str()/>
                <label for=form_id.clone()>"Note to the reporters (optional, plain words; they see it with the status)"</label>
                <textarea id=form_id name="note" rows="2" maxlength=MAX_NOTE.to_string()
                    placeholder="e.g. Thanks! This was a phishing site; we blocked it for everyone."></textarea>
                <div class="button-row">
                    {status.next_steps().iter().map(|to| view! {
                        <button type="submit" name="status" value=to.as_str()
                            class=if *to == ReportStatus::Confirmed { "small primary" } else { "small" }
                            data-test=format!("to-{}", to.as_str())>
                            {status.action_to(*to)}
                        </button>
                    }).collect_view()}
                </div>
            </ActionForm>
        </article>
    }
}
