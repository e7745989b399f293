//! The HTML shell, the router and the layout every page shares.

use crate::components::session::Session;
use crate::components::topbar::TopBar;
use crate::pages;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use leptos_router::SsrMode;

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The hydration and streaming scripts carry the nonce that the response's CSP names.
    #[cfg(feature = "ssr")]
    if let Some(nonce) =
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<crate::state::CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Session::provide();

    view! {
        <Stylesheet id="leptos" href="/pkg/anomalyforge.css"/>
        <Title formatter=|page: String| if page.is_empty() { "AnomalyForge".to_string() } else { format!("{page} · AnomalyForge") }/>
        <Router>
            <TopBar/>
            <main class="content">
                <ErrorBoundary fallback=|errors| view! {
                    <section class="panel error-panel" role="alert">
                        <h1>"Something went wrong"</h1>
                        <ul>
                            {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
                        </ul>
                        <p><a href="/" rel="external">"Back to your start page"</a></p>
                    </section>
                }>
                    <Routes fallback=pages::not_found::NotFound>
                        <Route path=path!("/") ssr=SsrMode::Async view=pages::home::HomePage/>
                        <Route path=path!("/login") ssr=SsrMode::Async view=pages::login::LoginPage/>
                        <Route path=path!("/soc") ssr=SsrMode::Async view=pages::soc::SocPage/>
                        <Route path=path!("/soc/incidents") ssr=SsrMode::Async view=pages::soc::IncidentsPage/>
                        <Route path=path!("/soc/response") ssr=SsrMode::Async view=pages::soc::ResponsePage/>
                        <Route path=path!("/soc/reports") ssr=SsrMode::Async view=pages::soc::SocReportsPage/>
                        <Route path=path!("/soc/rules") ssr=SsrMode::Async view=pages::soc::SocRulesPage/>
                        <Route path=path!("/hunt") ssr=SsrMode::Async view=pages::hunt::HuntPage/>
                        <Route path=path!("/analyze") ssr=SsrMode::Async view=pages::analyze::AnalyzePage/>
                        <Route path=path!("/analyze/:id") ssr=SsrMode::Async view=pages::analyze::AnalysisPage/>
                        <Route path=path!("/hunt/ioc") ssr=SsrMode::Async view=pages::ioc::IocPage/>
                        <Route path=path!("/intel") ssr=SsrMode::Async view=pages::intel::IntelPage/>
                        <Route path=path!("/playbooks") ssr=SsrMode::Async view=pages::playbooks::PlaybooksPage/>
                        <Route path=path!("/report") ssr=SsrMode::Async view=pages::report::ReportPage/>
                        <Route path=path!("/exec") ssr=SsrMode::Async view=pages::exec::ExecPage/>
                        <Route path=path!("/assets") ssr=SsrMode::Async view=pages::assets::AssetsPage/>
                        <Route path=path!("/models") ssr=SsrMode::Async view=pages::models::ModelsPage/>
                        <Route path=path!("/admin") ssr=SsrMode::Async view=pages::admin::AdminPage/>
                        <Route path=path!("/admin/notifications") ssr=SsrMode::Async view=pages::notifications::NotificationsPage/>
                        <Route path=path!("/account") ssr=SsrMode::Async view=pages::account::AccountPage/>
                    </Routes>
                </ErrorBoundary>
            </main>
            <footer class="footer">
                <span>"AnomalyForge " {anomalyforge::VERSION}</span>
            </footer>
        </Router>
    }
}
