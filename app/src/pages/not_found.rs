use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <section class="panel" data-test="not-found">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. " <a href="/" rel="external">"Go to your start page"</a>"."</p>
        </section>
    }
}
