//! `Authorized<P>`: the access check of the session routes outside the server functions (exports,
//! file analysis), as an axum extractor. A handler that takes one runs only for a signed-in user whose
//! role the policy `P` allows; anyone else gets 401 or 403 with the JSON error body of the API,
//! `{"error": kind, "message": text}`, naming what the policy is for.

use std::marker::PhantomData;

use anomalyforge::role::Access;
use anomalyforge::user::CurrentUser;
use app::state::RequestAuth;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Who may use a route, and what it is, for the refusal's message.
pub trait Policy {
    const ACCESS: Access;
    /// "export the inventory", "analyse files", …
    const WHAT: &'static str;
}

/// The signed-in user, allowed by `P`.
#[derive(Debug, Clone)]
pub struct Authorized<P> {
    pub user: CurrentUser,
    _policy: PhantomData<P>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    SignedOut(&'static str),
    Role(&'static str),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, kind, message) = match self {
            Refused::SignedOut(what) => (StatusCode::UNAUTHORIZED, "unauthenticated", format!("Sign in to {what}.")),
            Refused::Role(what) => (StatusCode::FORBIDDEN, "forbidden", format!("Your role may not {what}.")),
        };
        (status, axum::Json(json!({ "error": kind, "message": message }))).into_response()
    }
}

impl<P: Policy, S: Send + Sync> FromRequestParts<S> for Authorized<P> {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Resolved once per request by the session middleware; absent means no session.
        let user = parts.extensions.get::<RequestAuth>().and_then(|a| a.user.clone());
        match user {
            None => Err(Refused::SignedOut(P::WHAT)),
            Some(u) if !P::ACCESS.allows(u.role) => Err(Refused::Role(P::WHAT)),
            Some(user) => Ok(Authorized { user, _policy: PhantomData }),
        }
    }
}

/// Exporting the asset inventory.
#[derive(Debug, Clone, Copy)]
pub struct ExportAssets;
impl Policy for ExportAssets {
    const ACCESS: Access = Access::ASSETS;
    const WHAT: &'static str = "export the inventory";
}

/// Exporting a hunt's flows or alerts.
#[derive(Debug, Clone, Copy)]
pub struct ExportFlows;
impl Policy for ExportFlows {
    const ACCESS: Access = Access::SOC;
    const WHAT: &'static str = "export flows";
}

/// Exporting the KPIs.
#[derive(Debug, Clone, Copy)]
pub struct ExportKpis;
impl Policy for ExportKpis {
    const ACCESS: Access = Access::EXEC;
    const WHAT: &'static str = "export the KPIs";
}

/// Analysing files and downloading the results.
#[derive(Debug, Clone, Copy)]
pub struct AnalyseFiles;
impl Policy for AnalyseFiles {
    const ACCESS: Access = Access::SOC;
    const WHAT: &'static str = "analyse files";
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomalyforge::role::Role;

    async fn check(user: Option<Role>) -> Result<String, StatusCode> {
        let mut req = axum::http::Request::new(());
        let auth = RequestAuth {
            user: user.map(|role| CurrentUser {
                id: 1,
                username: "u".into(),
                display_name: String::new(),
                role,
                must_change_password: false,
            }),
            token: None,
            client: Default::default(),
        };
        req.extensions_mut().insert(auth);
        let (mut parts, ()) = req.into_parts();
        Authorized::<ExportKpis>::from_request_parts(&mut parts, &())
            .await
            .map(|a| a.user.username)
            .map_err(|r| r.into_response().status())
    }

    #[tokio::test]
    async fn a_policy_lets_its_roles_in_and_refuses_the_rest() {
        assert_eq!(check(Some(Role::Executive)).await, Ok("u".to_string()));
        assert_eq!(check(Some(Role::Admin)).await, Ok("u".to_string()));
        assert_eq!(check(Some(Role::Analyst)).await, Err(StatusCode::FORBIDDEN));
        assert_eq!(check(None).await, Err(StatusCode::UNAUTHORIZED));
    }
}
