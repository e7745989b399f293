//! `/playbooks`: the ordered response steps for every threat type the engine and the signature
//! detector report (seeded by a migration, written for AnomalyForge). Each playbook has an anchor
//! (`/playbooks#ddos`) that alerts link to. Responders and admins edit them in place; the server
//! checks that role again. All text is rendered as text.

use crate::api::playbooks::{list_playbooks, UpdatePlaybook};
use crate::components::errors::PanelErrors;
use crate::components::format::utc;
use crate::components::guard::Guarded;
use crate::components::session::use_session;
use crate::resource::resource;
use anomalyforge::pages;
use anomalyforge::playbook::Playbook;
use anomalyforge::role::Access;
use leptos::prelude::*;

#[component]
pub fn PlaybooksPage() -> impl IntoView {
    view! {
        <Guarded page=pages::PLAYBOOKS>
            <Playbooks/>
        </Guarded>
    }
}

#[component]
fn Playbooks() -> impl IntoView {
    let update = ServerAction::<UpdatePlaybook>::new();
    let list = resource(move || update.version().get(), |_| list_playbooks());
    let session = use_session();
    let can_edit =
        Signal::derive(move || session.user.with(|u| u.as_ref().is_some_and(|u| Access::PLAYBOOK_EDIT.allows(u.role))));
    let error = move || update.value().get().and_then(Result::err);
    view! {
        <section class="panel" data-test="page" data-page="/playbooks">
            <h1>"Playbooks"</h1>
            <p class="muted">"What to do, in order, for each kind of alert. Every alert links to the playbook of its type."</p>
            {move || error().map(|e| view! { <p class="error" role="alert" data-test="playbook-error">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading playbooks…"</p> }>
                <PanelErrors>
                    {move || Suspend::new(async move {
                        list.await.map(|items| view! {
                            <nav class="toc" aria-label="Playbooks">
                                <ul>{items.iter().map(|p| view! { <li><a href=format!("#{}", p.threat)>{p.title.clone()}</a></li> }).collect_view()}</ul>
                            </nav>
                            {items.into_iter().map(|p| view! { <PlaybookCard playbook=p can_edit update/> }).collect_view()}
                        })
                    })}
                </PanelErrors>
            </Transition>
        </section>
    }
}

#[component]
fn PlaybookCard(playbook: Playbook, can_edit: Signal<bool>, update: ServerAction<UpdatePlaybook>) -> impl IntoView {
    let steps_text = playbook.steps.join("\n");
    let edited = playbook.updated_by.clone().map(|who| format!("Last changed by {who}, {}.", utc(playbook.updated_at)));
    // What the edit form starts from (kept in a `StoredValue` so the form can be rebuilt when shown).
    let form =
        StoredValue::new((playbook.threat.clone(), playbook.title.clone(), playbook.summary.clone(), steps_text));
    view! {
        <article class="playbook" id=playbook.threat.clone() data-playbook=playbook.threat.clone()>
            <h2>{playbook.title.clone()}</h2>
            <p>{playbook.summary.clone()}</p>
            <ol class="steps">
                {playbook.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
            </ol>
            {edited.map(|e| view! { <p class="muted small">{e}</p> })}
            <Show when=move || can_edit.get()>
                {move || {
                    let (threat, title, summary, steps) = form.get_value();
                    view! { <PlaybookEdit threat title summary steps update/> }
                }}
            </Show>
        </article>
    }
}

/// The editor. Its textareas are filled through `prop:value`, never as children: Leptos' server
/// renderer writes a textarea's children unescaped, so stored text like `</textarea><script>…` would
/// break out of it. The cost: without JavaScript the editor starts empty (saving it empty is refused).
#[component]
fn PlaybookEdit(
    threat: String,
    title: String,
    summary: String,
    steps: String,
    update: ServerAction<UpdatePlaybook>,
) -> impl IntoView {
    view! {
        <details class="edit">
            <summary>"Edit this playbook"</summary>
            <ActionForm action=update>
                <input type="hidden" name="threat" value=threat/>
                <div class="field">
                    <label>"Title" <input name="title" maxlength="120" required value=title/></label>
                </div>
                <div class="field">
                    <label>"Summary" <textarea name="summary" rows="2" maxlength="500" prop:value=summary></textarea></label>
                </div>
                <div class="field">
                    <label>"Steps, one per line" <textarea name="steps" rows="8" required prop:value=steps></textarea></label>
                </div>
                <button type="submit" class="primary" data-test="save-playbook">"Save playbook"</button>
            </ActionForm>
        </details>
    }
}
