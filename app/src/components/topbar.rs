//! The top bar: the brand, the pages of the user's role, and who is signed in.

use super::session::use_session;
use anomalyforge::pages::pages_for;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn TopBar() -> impl IntoView {
    let session = use_session();
    view! {
        <header class="topbar">
            <a class="brand" href="/" rel="external">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " AnomalyForge"
            </a>
            {move || match session.user.get() {
                Some(u) => view! {
                    <nav class="nav" aria-label="Main">
                        {pages_for(u.role)
                            .map(|p| view! { <A href=p.path>{p.nav_label}</A> })
                            .collect_view()}
                    </nav>
                    <div class="me">
                        <span class="me-name">{u.display_name.clone()}</span>
                        <span class="badge">{u.role.label()}</span>
                        <ActionForm action=session.logout>
                            <button type="submit" class="link-button" data-test="logout">"Sign out"</button>
                        </ActionForm>
                    </div>
                }
                .into_any(),
                None => view! {
                    <nav class="nav" aria-label="Main">
                        <A href="/login">"Sign in"</A>
                    </nav>
                }
                .into_any(),
            }}
        </header>
    }
}
