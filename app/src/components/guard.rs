//! Shows a page's content only to the roles allowed to see it. This is presentation only: the
//! server refuses the page (401/403) and every server function checks the role itself.
//!
//! The check is synchronous (the session is known before rendering), so the page's own resources
//! are created once, at the top of the page, and never inside a `<Suspense>` of the guard.

use super::session::use_session;
use anomalyforge::pages::PageSpec;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Guarded(page: PageSpec, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    // Memoised, so that the page is only built again when the answer changes (not on every
    // change of the user record).
    let verdict = Memo::new(move |_| session.user.with(|u| u.as_ref().map(|u| (page.access.allows(u.role), u.role))));
    view! {
        <Title text=page.title/>
        {move || match verdict.get() {
            Some((true, _)) => children.read_value()().into_any(),
            Some((false, role)) => view! {
                <section class="panel" data-test="forbidden">
                    <h1>"Not available for your role"</h1>
                    <p>{format!("{} is not open to the {} role. ", page.title, role.label().to_lowercase())}
                        <a href="/" rel="external">"Go to your start page"</a>"."
                    </p>
                </section>
            }
            .into_any(),
            None => view! {
                <section class="panel" data-test="signin-required">
                    <h1>"Sign in required"</h1>
                    <p>{format!("Sign in to open {}. ", page.title)} <a href="/login" rel="external">"Sign in"</a></p>
                </section>
            }
            .into_any(),
        }}
    }
}
