//! `/login`: the sign-in form (works without JavaScript) and, in demo mode, the demo accounts.

use crate::api::auth::demo_accounts;
use crate::components::session::use_session;
use crate::resource::resource;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let demo = resource(|| (), |_| demo_accounts());
    let result = session.login.value();
    let pending = session.login.pending();
    view! {
        <Title text="Sign in"/>
        <div class="auth-layout">
            <section class="panel auth-card">
                <h1>"Sign in"</h1>
                <p class="muted">"AnomalyForge security console"</p>
                <ActionForm action=session.login>
                    <div class="field">
                        <label for="username">"Username"</label>
                        <input id="username" name="username" autocomplete="username" maxlength="64" required/>
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" maxlength="256" required/>
                    </div>
                    <button type="submit" class="primary" disabled=move || pending.get() data-test="login-submit">
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                {move || result.get().and_then(Result::err).map(|e| view! {
                    <p class="error" role="alert" data-test="login-error">{e.to_string()}</p>
                })}
            </section>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let accounts = demo.await.unwrap_or_default();
                    (!accounts.is_empty()).then(|| view! {
                        <section class="panel demo-banner" data-test="demo-banner">
                            <h2>"Demo mode"</h2>
                            <p>"This server runs in demo mode with the accounts below. Never use demo mode with real data."</p>
                            <table class="table">
                                <thead><tr><th>"Role"</th><th>"Username"</th><th>"Password"</th></tr></thead>
                                <tbody>
                                    {accounts.into_iter().map(|a| view! {
                                        <tr>
                                            <td>{a.role.label()}</td>
                                            <td><code>{a.username}</code></td>
                                            <td><code>{a.password}</code></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    })
                })}
            </Suspense>
        </div>
    }
}
