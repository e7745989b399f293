//! Server functions. Each one is thin: check the role, call the `anomalyforge` domain, return
//! shared types. URLs are fixed (`/api/<endpoint>`) so integrators and tests can rely on them.
//! An `Err(AppError)` is sent as JSON; the server's middleware gives the response the error's HTTP
//! status (`AppError::status_code`), so the functions themselves never deal with HTTP.

pub mod account;
pub mod admin;
pub mod alerts;
pub mod analyze;
pub mod assets;
pub mod auth;
pub mod demo;
pub mod drift;
pub mod hunt;
pub mod incidents;
pub mod intel;
pub mod kpi;
pub mod models;
pub mod notify;
pub mod playbooks;
pub mod reports;
pub mod response;
pub mod soc;
pub mod suppressions;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::AppError;
    use crate::state::{AppState, RequestAuth};
    use anomalyforge::role::Access;
    use anomalyforge::user::CurrentUser;
    use leptos::prelude::*;

    pub fn state() -> Result<AppState, AppError> {
        use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from context");
            AppError::Internal
        })
    }

    /// The request's authentication as resolved by the server middleware.
    pub async fn request_auth() -> Result<RequestAuth, AppError> {
        match leptos_axum::extract::<axum::Extension<RequestAuth>>().await {
            Ok(axum::Extension(auth)) => Ok(auth),
            Err(e) => {
                tracing::error!(error = %e, "request authentication missing (is the session middleware installed?)");
                Err(AppError::Internal)
            }
        }
    }

    /// The signed-in user, if their role is allowed; 401/403 otherwise.
    pub async fn authorize(access: Access) -> Result<(AppState, CurrentUser), AppError> {
        let st = state()?;
        let auth = request_auth().await?;
        let user = anomalyforge::auth::authorize(auth.user.as_ref(), access)?;
        Ok((st, user))
    }
}
