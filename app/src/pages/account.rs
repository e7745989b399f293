//! `/account`: every signed-in person's own account. They change their password here, and a person
//! whose password someone else chose (the first admin, an account made on `/admin`) is brought here
//! and kept here until they choose their own. The form is an `ActionForm`: it works without WASM.

use crate::api::account::ChangePassword;
use crate::components::guard::Guarded;
use crate::components::session::use_session;
use anomalyforge::pages;
use anomalyforge::validate::PASSWORD_MIN;
use leptos::prelude::*;

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Guarded page=pages::ACCOUNT>
            <AccountPanel/>
        </Guarded>
    }
}

#[component]
fn AccountPanel() -> impl IntoView {
    let session = use_session();
    let change = ServerAction::<ChangePassword>::new();
    let error = move || change.value().get().and_then(Result::err);
    let done = move || change.value().get().is_some_and(|r| r.is_ok());
    let field_error =
        move |field: &'static str| move || error().filter(|e| e.field() == Some(field)).map(|e| e.to_string());
    // After a forced change the user may go anywhere: refresh who they are.
    Effect::new(move |_| {
        if done() {
            session.user.update(|u| {
                if let Some(u) = u {
                    u.must_change_password = false;
                }
            });
        }
    });
    view! {
        <section class="panel narrow" data-test="page" data-page="/account">
            <h1>"Your account"</h1>
            {move || session.user.get().map(|u| view! {
                <p class="muted" data-test="account-who">{format!("Signed in as {} ({}), role {}.", u.display_name, u.username, u.role.label())}</p>
                {u.must_change_password.then(|| view! {
                    <p class="warning" role="status" data-test="must-change">
                        "Your password was chosen by someone else (at installation, or by an administrator). "
                        "Choose your own before you continue; nothing else opens until you do."
                    </p>
                })}
            })}
            {move || done().then(|| view! {
                <p class="notice" role="status" data-test="password-changed">
                    "Your password was changed. Your other sessions were signed out. "
                    {move || session.user.get().map(|u| view! { <a href=pages::home_for(u.role) rel="external">"Continue to your start page"</a> })}
                </p>
            })}
            {move || error().filter(|e| e.field().is_none()).map(|e| view! { <p class="error" role="alert" data-test="password-error">{e.to_string()}</p> })}
            <h2>"Change your password"</h2>
            <ActionForm action=change>
                <div class="form-grid single">
                    <div class="field">
                        <label for="current-password">"Current password"</label>
                        <input id="current-password" name="current" type="password" required autocomplete="current-password"/>
                        <p class="error" data-test="error-current">{field_error("current")}</p>
                    </div>
                    <div class="field">
                        <label for="new-password">{format!("New password (at least {PASSWORD_MIN} characters)")}</label>
                        <input id="new-password" name="new" type="password" required minlength=PASSWORD_MIN.to_string() autocomplete="new-password"/>
                        <p class="error" data-test="error-new">{field_error("new")}</p>
                    </div>
                    <div class="field">
                        <label for="confirm-password">"New password again"</label>
                        <input id="confirm-password" name="confirm" type="password" required autocomplete="new-password"/>
                        <p class="error" data-test="error-confirm">{field_error("confirm")}</p>
                    </div>
                </div>
                <button type="submit" class="primary" data-test="change-password">"Change password"</button>
            </ActionForm>
        </section>
    }
}
