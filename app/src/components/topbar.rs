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
                            .filter(|_| !u.must_change_password)
                            .map(|p| view! { <A href=p.path>{p.nav_label}</A> })
                            .collect_view()}
                    </nav>
                    <div class="me">
                        <a class="me-name" href="/account" title="Your account: change your password" data-test="account-link">{u.display_name.clone()}</a>
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
