//! Errors of one panel stay in that panel: a failed list shows its message where the list would
//! be, and the rest of the page keeps working.

use leptos::prelude::*;

#[component]
pub fn PanelErrors(children: Children) -> impl IntoView {
    view! {
        <ErrorBoundary fallback=|errors| view! {
            <div class="error" role="alert" data-test="panel-error">
                {move || errors.get().into_iter().map(|(_, e)| view! { <p>{e.to_string()}</p> }).collect_view()}
            </div>
        }>
            {children()}
        </ErrorBoundary>
    }
}
