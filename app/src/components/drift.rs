//! Drift, shown to people: the `/models` panel (every source, its PSI and the features that moved)
//! and the console's warning when a source's traffic is a different population from the training data.

use crate::api::drift::load_drift;
use crate::components::errors::PanelErrors;
use crate::resource::resource;
use anomalyforge::drift::{DriftLevel, DriftReport, SourceDrift, MIN_FLOWS, MODERATE, SIGNIFICANT};
use leptos::prelude::*;

/// Every source's drift, most drifted first.
#[component]
pub fn DriftPanel() -> impl IntoView {
    let report = resource(|| (), |_| load_drift());
    view! {
        <section class="panel" data-test="drift-panel">
            <h2>"Does the traffic look like what the models learned?"</h2>
            <p class="muted">{format!(
                "Per source (a sensor's API token and format), a sample of its recent flows is compared feature by feature with \
                 the training data of the running version (population stability index, PSI). Below {MODERATE} it looks the same; \
                 from {SIGNIFICANT} it is a different population, and the per-flow models' false-alert and detection rates on it \
                 are not the ones measured below. A source is judged after {MIN_FLOWS} sampled flows."
            )}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        report.await.map(|r: DriftReport| if r.sources.is_empty() {
                            view! { <p class="muted" data-test="drift-empty">"No traffic scored since the server started."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table compact" data-test="drift">
                                    <thead><tr><th>"Source"</th><th>"Profile"</th><th>"Flows sampled"</th><th>"PSI"</th><th>"Verdict"</th><th>"Features that moved most"</th></tr></thead>
                                    <tbody>{r.sources.into_iter().map(|s| view! { <DriftRow s/> }).collect_view()}</tbody>
                                </table>
                            }.into_any()
                        })
                    })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

#[component]
fn DriftRow(s: SourceDrift) -> impl IntoView {
    let level = s.level;
    let badge = match level {
        DriftLevel::Significant => "badge crit-critical",
        DriftLevel::Moderate => "badge warn",
        _ => "badge",
    };
    let top = s.top.iter().map(|(f, p)| format!("{f} ({p:.2})")).collect::<Vec<_>>().join(", ");
    view! {
        <tr data-source=s.source.clone() data-level=level.as_str()>
            <td>{s.label()}</td>
            <td>{s.profile.name()}</td>
            <td>{s.flows}</td>
            <td>{format!("{:.2}", s.psi)}</td>
            <td><span class=badge>{level.as_str()}</span>" "<span class="muted small">{level.words()}</span></td>
            <td class="small">{top}</td>
        </tr>
    }
}

/// The console's warning: one line per source whose traffic is a different population.
#[component]
pub fn DriftWarning() -> impl IntoView {
    let report = resource(|| (), |_| load_drift());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                // A console without the drift figures still works: nothing is shown.
                report.await.ok().and_then(|r| {
                    let lines: Vec<String> = r.significant().map(|s| format!(
                        "{}: its traffic does not look like what the models learned (PSI {:.2}; most moved: {}). Expect more false alerts \
                         and missed attacks from the per-flow models; the behaviour detectors do not depend on it.",
                        s.label(), s.psi, s.top.iter().take(3).map(|(f, _)| f.as_str()).collect::<Vec<_>>().join(", "),
                    )).collect();
                    (!lines.is_empty()).then(|| view! {
                        <div class="warning drift-warning" role="status" data-test="drift-warning">
                            {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
                            <p><a href="/models#drift">"See the drift of every source on /models"</a></p>
                        </div>
                    })
                })
            })}
        </Transition>
    }
}
