//! The signed-in user and the sign-in/out actions, provided to every component.
//!
//! Who is signed in is known before anything renders: the server's middleware resolves the session
//! cookie for every request, the page reads it from the request synchronously, and a
//! [`SharedValue`] carries the same value to the browser for hydration. No component has to wait
//! for a "who am I" request, and no `<Suspense>` depends on the session, which keeps each page's
//! data loading independent (one resource awaited under several `<Suspense>` boundaries can stall
//! a streamed response in Leptos 0.8: leptos-rs/leptos#4851).

use crate::api::auth::{Login, Logout};
use anomalyforge::user::CurrentUser;
use leptos::prelude::*;
use leptos::server::SharedValue;

#[derive(Clone, Copy)]
pub struct Session {
    /// The signed-in user; updated when sign-in or sign-out completes in the browser.
    pub user: RwSignal<Option<CurrentUser>>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
}

impl Session {
    /// Creates the session for this render and provides it as context.
    pub fn provide() -> Session {
        let initial = SharedValue::new(request_user).into_inner();
        let session = Session { user: RwSignal::new(initial), login: ServerAction::new(), logout: ServerAction::new() };
        // Sign-in and sign-out also redirect; keep the signal right for the page shown meanwhile.
        Effect::new(move |_| {
            if let Some(Ok(u)) = session.login.value().get() {
                session.user.set(Some(u));
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(())) = session.logout.value().get() {
                session.user.set(None);
            }
        });
        provide_context(session);
        session
    }
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The user the server's middleware found for this request (server side only).
#[cfg(feature = "ssr")]
fn request_user() -> Option<CurrentUser> {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::state::RequestAuth>().and_then(|a| a.user.clone()))
}

/// In the browser the value always comes from the server's render; a page built without one
/// (no server render) starts signed out.
#[cfg(not(feature = "ssr"))]
fn request_user() -> Option<CurrentUser> {
    None
}
