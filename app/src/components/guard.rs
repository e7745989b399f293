//! Shows a page's content only to the roles allowed to see it. This is presentation only: the
//! server refuses the page (401/403) and every server function checks the role itself.

use super::session::use_session;
use anomalyforge::pages::PageSpec;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Guarded(page: PageSpec, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Title text=page.title/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.user.await {
                    Ok(Some(u)) if page.access.allows(u.role) => children.read_value()().into_any(),
                    Ok(Some(u)) => view! {
                        <section class="panel" data-test="forbidden">
                            <h1>"Not available for your role"</h1>
                            <p>{format!("{} is not open to the {} role. ", page.title, u.role.label().to_lowercase())}
                                <a href="/" rel="external">"Go to your start page"</a>"."
                            </p>
                        </section>
                    }
                    .into_any(),
                    Ok(None) => view! {
                        <section class="panel" data-test="signin-required">
                            <h1>"Sign in required"</h1>
                            <p>{format!("Sign in to open {}. ", page.title)} <a href="/login" rel="external">"Sign in"</a></p>
                        </section>
                    }
                    .into_any(),
                    Err(e) => view! {
                        <section class="panel error-panel" role="alert">
                            <h1>"Could not check your session"</h1>
                            <p>{e.to_string()}</p>
                        </section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
