//! The tabs of the SOC console's pages: the console itself, the employee reports (with how many
//! reported addresses are new) and the suppression rules. The sub-pages are guarded like `/soc`
//! (`anomalyforge::pages::page_for_path` maps `/soc/...` to it).

use crate::api::reports::report_counts;
use crate::resource::resource;
use anomalyforge::pages::{PageSpec, SOC};
use anomalyforge::role::Access;
use leptos::prelude::*;

/// `/soc/reports`: the reported addresses and the SOC's decisions about them.
pub const REPORTS_PAGE: PageSpec = PageSpec {
    path: "/soc/reports",
    title: "Employee reports",
    nav_label: "Employee reports",
    access: Access::SOC,
    in_nav: false,
};
/// `/soc/incidents`: incidents and suggested groupings.
pub const INCIDENTS_PAGE: PageSpec =
    PageSpec { path: "/soc/incidents", title: "Incidents", nav_label: "Incidents", access: Access::SOC, in_nav: false };
/// `/soc/response`: response actions and the enforcement feeds.
pub const RESPONSE_PAGE: PageSpec = PageSpec {
    path: "/soc/response",
    title: "Response actions",
    nav_label: "Response",
    access: Access::SOC,
    in_nav: false,
};
/// `/soc/rules`: suppression rules.
pub const RULES_PAGE: PageSpec = PageSpec {
    path: "/soc/rules",
    title: "Suppression rules",
    nav_label: "Suppression rules",
    access: Access::SOC,
    in_nav: false,
};

/// The tab bar; `current` is the path of the page showing it. `version` changes when something on
/// the page may have changed the number of new reports (e.g. a server action's version).
#[component]
pub fn SocTabs(current: &'static str, #[prop(into, optional)] version: Signal<usize>) -> impl IntoView {
    let counts = resource(move || version.get(), |_| report_counts());
    let tab = move |path: &'static str| (path == current).then_some("page");
    view! {
        <nav class="soc-tabs" aria-label="SOC console" data-test="soc-tabs">
            <a href=SOC.path aria-current=tab(SOC.path)>"Console"</a>
            <a href=INCIDENTS_PAGE.path aria-current=tab(INCIDENTS_PAGE.path) data-test="tab-incidents">{INCIDENTS_PAGE.nav_label}</a>
            <a href=RESPONSE_PAGE.path aria-current=tab(RESPONSE_PAGE.path) data-test="tab-response">{RESPONSE_PAGE.nav_label}</a>
            <a href=REPORTS_PAGE.path aria-current=tab(REPORTS_PAGE.path) data-test="tab-reports">
                {REPORTS_PAGE.nav_label}
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        // A failed count leaves the tab plain; the page's own panel shows errors.
                        counts.await.ok().filter(|c| c.new > 0).map(|c| view! {
                            " " <span class="badge warn" data-test="new-reports">{format!("{} new", c.new)}</span>
                        })
                    })}
                </Transition>
            </a>
            <a href=RULES_PAGE.path aria-current=tab(RULES_PAGE.path)>{RULES_PAGE.nav_label}</a>
        </nav>
    }
}
