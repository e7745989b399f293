//! Sign-in, sign-out and "who am I".

use crate::error::AppError;
use anomalyforge::user::{CurrentUser, DemoAccount};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod ssr {
    use anomalyforge::auth::SESSION_COOKIE;
    use http::header::{HeaderValue, SET_COOKIE};
    use leptos::prelude::use_context;
    use leptos_axum::ResponseOptions;

    /// `HttpOnly; SameSite=Lax`, and `Secure` when configured. `max_age = 0` deletes the cookie.
    pub fn set_session_cookie(value: &str, max_age_secs: u64, secure: bool) {
        let cookie = format!(
            "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
            if secure { "; Secure" } else { "" }
        );
        if let (Some(opts), Ok(v)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(&cookie)) {
            opts.append_header(SET_COOKIE, v);
        }
    }
}

/// Signs in. Always issues a new session id; the previous session of this browser, if any, ends.
/// Without JavaScript the browser is redirected to the role's home page.
#[server(endpoint = "auth/login", output = crate::json::Reply)]
pub async fn login(username: String, password: String) -> Result<CurrentUser, AppError> {
    use self::ssr::*;
    use super::ssr::*;
    let st = state()?;
    let auth = request_auth().await?;
    let (user, token) = anomalyforge::auth::login(&st.db, &st.login_policy, &username, &password, &auth.client).await?;
    if let Some(old) = auth.token {
        anomalyforge::auth::logout(&st.db, &old).await?;
    }
    set_session_cookie(&token.token, st.config.session_ttl_secs, st.config.secure_cookies);
    leptos_axum::redirect(anomalyforge::pages::landing_for(&user));
    Ok(user)
}

/// Ends the session on the server and clears the cookie.
#[server(endpoint = "auth/logout", output = crate::json::Reply)]
pub async fn logout() -> Result<(), AppError> {
    use self::ssr::*;
    use super::ssr::*;
    let st = state()?;
    let auth = request_auth().await?;
    if let Some(token) = auth.token {
        anomalyforge::auth::logout(&st.db, &token).await?;
        if let Some(u) = auth.user {
            tracing::info!(user_id = u.id, username = %u.username, "signed out");
        }
    }
    set_session_cookie("", 0, st.config.secure_cookies);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or `None`. Never an authorisation error: anyone may ask who they are.
#[server(endpoint = "auth/me", output = crate::json::Reply)]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    Ok(super::ssr::request_auth().await?.user)
}

/// Demo accounts for the login page's banner; empty unless the server runs in demo mode.
#[server(endpoint = "auth/demo_accounts", output = crate::json::Reply)]
pub async fn demo_accounts() -> Result<Vec<DemoAccount>, AppError> {
    Ok(super::ssr::state()?.demo_accounts.as_ref().clone())
}
