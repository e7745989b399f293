//! The frame of a page whose content is built by a later piece of work: it states, in one line,
//! what the page will hold. It never shows made-up data.

use crate::components::guard::Guarded;
use anomalyforge::pages::PageSpec;
use leptos::prelude::*;

#[component]
pub fn Upcoming(page: PageSpec, will_hold: &'static str) -> impl IntoView {
    view! {
        <Guarded page=page>
            <section class="panel" data-test="page" data-page=page.path>
                <h1>{page.title}</h1>
                <p class="muted">{will_hold}</p>
            </section>
        </Guarded>
    }
}
