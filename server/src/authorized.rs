//! The access checks of the routes outside the server functions, as axum extractors. Every refusal
//! is an [`AppError`], the one error of the HTTP edge:
//!
//! - [`Authorized<P>`]: the session routes (the live stream, exports, file analysis). A handler that
//!   takes one runs only for a signed-in user whose role the policy `P` allows; anyone else gets
//!   401 or 403 naming what the policy is for.
//! - [`ApiCaller<P>`]: the API routes, for machines and people alike. A live API token with the
//!   policy's scope (`Authorization: Bearer …`), or else (where the policy lets sessions in) a
//!   signed-in user of an allowed role.
//!
//! Ingest (`ingest_api::admit`) checks its token with [`token_with`] too, so the scope rule and
//! the refusals are written once.

use std::marker::PhantomData;

use anomalyforge::api_token::{ApiToken, TokenScope};
use anomalyforge::auth::TokenRefusal;
use anomalyforge::role::Access;
use anomalyforge::user::CurrentUser;
use app::error::AppError;
use app::state::{AppState, RequestAuth};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

/// Who may use a route, and what it is, for the refusal's message.
pub trait Policy {
    const ACCESS: Access;
    /// "export the inventory", "analyse files", …
    const WHAT: &'static str;
}

/// An API route: the token scope it needs, and whether signed-in people may call it too.
pub trait ApiPolicy: Policy {
    const SCOPE: TokenScope;
    /// `false` for token-only routes (the token API): a session is refused there.
    const SESSIONS: bool = true;
}

/// The signed-in user, allowed by `P`.
#[derive(Debug, Clone)]
pub struct Authorized<P> {
    pub user: CurrentUser,
    _policy: PhantomData<P>,
}

impl<P: Policy, S: Send + Sync> FromRequestParts<S> for Authorized<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        session_user::<P>(parts).map(|user| Authorized { user, _policy: PhantomData })
    }
}

/// The user of the request's session if `P` allows their role. The session middleware resolved
/// it once per request; absent means no session.
fn session_user<P: Policy>(parts: &Parts) -> Result<CurrentUser, AppError> {
    match parts.extensions.get::<RequestAuth>().and_then(|a| a.user.clone()) {
        None => Err(AppError::CredentialsRefused(format!("Sign in to {}.", P::WHAT))),
        Some(u) if !P::ACCESS.allows(u.role) => Err(AppError::Denied(format!("Your role may not {}.", P::WHAT))),
        Some(user) => Ok(user),
    }
}

/// Who called an API route.
#[derive(Debug, Clone)]
pub enum Caller {
    Token(ApiToken),
    User(CurrentUser),
}

impl Caller {
    /// As the audit trail names it: `token:<name>`, or the user's name.
    pub fn name(&self) -> String {
        match self {
            Caller::Token(t) => format!("token:{}", t.name),
            Caller::User(u) => u.username.clone(),
        }
    }
}

/// The caller of an API route, allowed by `P`.
#[derive(Debug, Clone)]
pub struct ApiCaller<P> {
    pub caller: Caller,
    _policy: PhantomData<P>,
}

impl<P: ApiPolicy> FromRequestParts<AppState> for ApiCaller<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let caller = match bearer(&parts.headers) {
            Some(secret) => Caller::Token(token_with(st, &secret, P::SCOPE).await?),
            None if !P::SESSIONS => return Err(missing_token(P::SCOPE)),
            None if parts.extensions.get::<RequestAuth>().is_none_or(|a| a.user.is_none()) => {
                return Err(AppError::CredentialsRefused(format!(
                    "Sign in, or send an API token with the `{}` scope as `Authorization: Bearer <token>`, to {}.",
                    P::SCOPE.as_str(),
                    P::WHAT
                )))
            }
            None => Caller::User(session_user::<P>(parts)?),
        };
        Ok(ApiCaller { caller, _policy: PhantomData })
    }
}

/// The refusal of a token-only route called without a token.
pub fn missing_token(scope: TokenScope) -> AppError {
    AppError::CredentialsRefused(format!(
        "missing API token: send `Authorization: Bearer <token>` (a token with the `{}` scope)",
        scope.as_str()
    ))
}

/// The live token of `secret` if it has `scope`; a refusal says why (401 for a token that is not
/// valid, 403 naming the missing scope, 503 when the tokens cannot be read).
pub async fn token_with(st: &AppState, secret: &str, scope: TokenScope) -> Result<ApiToken, AppError> {
    anomalyforge::auth::token_with_scope(&st.db, secret, scope).await.map_err(|e| match e {
        TokenRefusal::Invalid => AppError::CredentialsRefused(e.to_string()),
        e @ TokenRefusal::MissingScope { .. } => AppError::Denied(e.to_string()),
        TokenRefusal::Auth(e) => AppError::unavailable_after("reading API tokens", e),
    })
}

/// The bearer value of `Authorization: Bearer …`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
}

/// Watching the live stream of alerts and traffic.
#[derive(Debug, Clone, Copy)]
pub struct WatchStream;
impl Policy for WatchStream {
    const ACCESS: Access = Access::SOC;
    const WHAT: &'static str = "watch the live stream";
}

/// Reading alerts, flows, incidents, response actions, indicators and metrics.
#[derive(Debug, Clone, Copy)]
pub struct ReadApi;
impl Policy for ReadApi {
    const ACCESS: Access = Access::SOC;
    const WHAT: &'static str = "read alerts, flows and metrics";
}
impl ApiPolicy for ReadApi {
    const SCOPE: TokenScope = TokenScope::Read;
}

/// Importing threat intel.
#[derive(Debug, Clone, Copy)]
pub struct ImportIntel;
impl Policy for ImportIntel {
    const ACCESS: Access = Access::SOC;
    const WHAT: &'static str = "import threat intel";
}
impl ApiPolicy for ImportIntel {
    const SCOPE: TokenScope = TokenScope::Intel;
}

/// Reading the blocklist feeds (firewalls, IPS).
#[derive(Debug, Clone, Copy)]
pub struct ReadBlocklist;
impl Policy for ReadBlocklist {
    const ACCESS: Access = Access::SOC;
    const WHAT: &'static str = "read the blocklist feeds";
}
impl ApiPolicy for ReadBlocklist {
    const SCOPE: TokenScope = TokenScope::Blocklist;
}

/// Creating and revoking API tokens: with an `admin` token only (people use `/admin/tokens`).
#[derive(Debug, Clone, Copy)]
pub struct ManageTokens;
impl Policy for ManageTokens {
    const ACCESS: Access = Access::ADMIN;
    const WHAT: &'static str = "create and revoke API tokens";
}
impl ApiPolicy for ManageTokens {
    const SCOPE: TokenScope = TokenScope::Admin;
    const SESSIONS: bool = false;
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
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    fn parts(user: Option<Role>) -> Parts {
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
        req.into_parts().0
    }

    async fn check(user: Option<Role>) -> Result<String, (StatusCode, String)> {
        Authorized::<ExportKpis>::from_request_parts(&mut parts(user), &())
            .await
            .map(|a| a.user.username)
            .map_err(|e| (e.clone().into_response().status(), e.to_string()))
    }

    #[tokio::test]
    async fn a_policy_lets_its_roles_in_and_refuses_the_rest() {
        assert_eq!(check(Some(Role::Executive)).await, Ok("u".to_string()));
        assert_eq!(check(Some(Role::Admin)).await, Ok("u".to_string()));
        assert_eq!(
            check(Some(Role::Analyst)).await,
            Err((StatusCode::FORBIDDEN, "Your role may not export the KPIs.".into()))
        );
        assert_eq!(check(None).await, Err((StatusCode::UNAUTHORIZED, "Sign in to export the KPIs.".into())));
    }

    #[test]
    fn the_bearer_value_is_read_case_insensitively_and_trimmed() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            bearer(&h)
        };
        assert_eq!(with("Bearer af_x").as_deref(), Some("af_x"));
        assert_eq!(with("bearer  af_x ").as_deref(), Some("af_x"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
