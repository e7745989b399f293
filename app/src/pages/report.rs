//! `/report`: for everyone, in plain words. Report a suspicious IP address or web address, and see
//! what the security team decided about each of your reports, with the note they left. The form is an `ActionForm`, so it works
//! before (or without) the WASM. Everything a person typed is shown as text.

use crate::api::reports::{categories, my_reports, SubmitReport};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::resource::resource;
use anomalyforge::pages;
use anomalyforge::report::{EmployeeReport, ReportStatus, MAX_DESCRIPTION};
use leptos::prelude::*;

#[component]
pub fn ReportPage() -> impl IntoView {
    view! {
        <Guarded page=pages::REPORT>
            <ReportPanel/>
        </Guarded>
    }
}

/// What each status means, for the person who reported.
fn status_words(s: ReportStatus) -> &'static str {
    match s {
        ReportStatus::New => "Received — the security team has not looked at it yet.",
        ReportStatus::Investigating => "Being looked at by the security team.",
        ReportStatus::Confirmed => "Confirmed as a threat — thank you! It now helps protect everyone.",
        ReportStatus::Dismissed => "Checked and found harmless.",
    }
}

#[component]
fn ReportPanel() -> impl IntoView {
    let submit = ServerAction::<SubmitReport>::new();
    let mine = resource(move || submit.version().get(), |_| my_reports());
    let error = move || submit.value().get().and_then(Result::err);
    let sent = move || submit.value().get().and_then(Result::ok);
    let field_error =
        move |field: &'static str| move || error().filter(|e| e.field() == Some(field)).map(|e| e.to_string());
    view! {
        <section class="panel" data-test="page" data-page="/report">
            <h1>"Report something suspicious"</h1>
            <p class="muted">"Saw a strange email link, a website pretending to be ours, or something probing our systems? "
                "Tell the security team here. You do not need to be sure — reporting helps."</p>
            {move || sent().map(|r: EmployeeReport| view! {
                <p class="notice" role="status" data-test="report-sent">{format!("Thank you. Your report about {} was sent.", r.indicator)}</p>
            })}
            {move || error().filter(|e| e.field().is_none()).map(|e| view! { <p class="error" role="alert" data-test="report-error">{e.to_string()}</p> })}
            <ActionForm action=submit>
                <div class="form-grid">
                    <div class="field wide">
                        <label for="report-indicator">"IP address or web address"</label>
                        <input id="report-indicator" name="indicator" maxlength="300" required autocomplete="off"
                            placeholder="e.g. 203.0.113.7 or suspicious-site.example"/>
                        <p class="error" data-test="error-indicator">{field_error("indicator")}</p>
                    </div>
                    // Radio buttons, not a select: every choice is read whole, on a phone too.
                    <fieldset class="field wide choices">
                        <legend>"What kind of problem is it?"</legend>
                        {categories().into_iter().enumerate().map(|(i, (value, title))| view! {
                            <label class="choice">
                                <input type="radio" name="category" id=format!("report-category-{value}") value=value
                                    required checked=i == 0/>
                                <span>{title}</span>
                            </label>
                        }).collect_view()}
                        <p class="error" data-test="error-category">{field_error("category")}</p>
                    </fieldset>
                    <div class="field wide">
                        <label for="report-description">"What happened?"</label>
                        <textarea id="report-description" name="description" rows="4" maxlength=MAX_DESCRIPTION.to_string() required
                            placeholder="For example: I got an email asking me to log in to this site."></textarea>
                        <p class="error" data-test="error-description">{field_error("description")}</p>
                    </div>
                </div>
                <button type="submit" class="primary" data-test="send-report">"Send report"</button>
            </ActionForm>
        </section>
        <section class="panel" data-test="my-reports">
            <h2>"My reports"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading your reports…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        mine.await.map(|list| if list.is_empty() {
                            view! { <p class="muted">"You have not reported anything yet."</p> }.into_any()
                        } else { view! {
                            <table class="table">
                                <thead><tr><th>"Sent"</th><th>"What"</th><th>"Kind"</th><th>"Your description"</th><th>"Status"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r| view! {
                                        <tr data-report=r.id.to_string()>
                                            <td>{utc(r.created_at)}</td>
                                            <td><code>{r.indicator.clone()}</code></td>
                                            <td>{r.category.title()}</td>
                                            <td class="prose">{r.description.clone()}</td>
                                            <td data-test="report-status" data-status=r.status.as_str()>
                                                {status_words(r.status)}
                                                {r.note.clone().map(|n| view! {
                                                    <p class="soc-note prose" data-test="soc-note">
                                                        <span class="muted">"The security team says: "</span>{n}
                                                    </p>
                                                })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any() })
                    })}
                </PanelErrors>
            </Transition>
        </section>
    }
}
