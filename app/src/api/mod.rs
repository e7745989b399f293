//! Server functions. Each one is thin: check the role, call the `anomalyforge` domain, return
//! shared types. URLs are fixed (`/api/<endpoint>`) so integrators and tests can rely on them.

pub mod admin;
pub mod auth;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::AppError;
    use crate::state::{AppState, RequestAuth};
    use anomalyforge::role::Access;
    use anomalyforge::user::CurrentUser;
    use http::header::{HeaderValue, RETRY_AFTER};
    use http::StatusCode;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;
    use std::future::Future;

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

    /// Runs a server function body and turns an error into its HTTP status.
    pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let out = body.await;
        if let Err(e) = &out {
            if let Some(opts) = use_context::<ResponseOptions>() {
                opts.set_status(StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
                if let AppError::RateLimited { retry_after_secs } = e {
                    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        opts.insert_header(RETRY_AFTER, v);
                    }
                }
            }
        }
        out
    }
}
