//! `/`: the server redirects a signed-in user to their role's start page and anyone else to the
//! sign-in page. This view only shows when the router reaches `/` inside the browser.

use crate::components::session::use_session;
use anomalyforge::pages::home_for;
use leptos::prelude::*;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = use_session();
    view! {
        {move || match session.user.get() {
            Some(u) => view! {
                <section class="panel">
                    <h1>{format!("Welcome, {}", u.display_name)}</h1>
                    <p><a href=home_for(u.role)>"Continue to your start page"</a></p>
                </section>
            }
            .into_any(),
            None => view! {
                <section class="panel">
                    <h1>"AnomalyForge"</h1>
                    <p><a href="/login">"Sign in"</a></p>
                </section>
            }
            .into_any(),
        }}
    }
}
