//! The one error type of the web layer. Server functions return `Result<T, AppError>`; the UI
//! matches on the variant. Domain errors are converted here, at the edge.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("Your role may not do this.")]
    Forbidden,
    #[error("Invalid username or password.")]
    InvalidCredentials,
    #[error("Too many failed sign-in attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The request was refused: {0}")]
    BadRequest(String),
    #[error("Something went wrong on the server; it has been logged.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::RateLimited { .. } => 429,
            AppError::Invalid { .. } => 422,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::BadRequest(_) => 400,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }

    /// The form field the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::MissingArg(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest(m)
            }
            ServerFnErrorErr::Request(m) | ServerFnErrorErr::Response(m) => AppError::Transport(m),
            other => AppError::Transport(other.to_string()),
        }
    }
}

impl From<anomalyforge::validate::FieldError> for AppError {
    fn from(e: anomalyforge::validate::FieldError) -> Self {
        AppError::Invalid { field: e.field, message: e.message }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use anomalyforge::auth::AuthError;
    use anomalyforge::store::StoreError;

    impl From<StoreError> for AppError {
        fn from(e: StoreError) -> Self {
            match e {
                StoreError::NotFound(what) => AppError::NotFound(format!("{what} does not exist.")),
                StoreError::Conflict(m) => AppError::Conflict(m),
                StoreError::Invalid(m) => AppError::Invalid { field: "request".into(), message: m },
                other => {
                    tracing::error!(error = %other, "storage error");
                    AppError::Internal
                }
            }
        }
    }

    impl From<AuthError> for AppError {
        fn from(e: AuthError) -> Self {
            match e {
                AuthError::InvalidCredentials => AppError::InvalidCredentials,
                AuthError::TooManyAttempts { retry_after_secs } => AppError::RateLimited { retry_after_secs },
                AuthError::Unauthenticated => AppError::Unauthenticated,
                AuthError::Forbidden(_) => AppError::Forbidden,
                AuthError::Invalid(f) => f.into(),
                AuthError::Store(s) => s.into(),
                AuthError::Hash(m) => {
                    tracing::error!(error = %m, "password hashing failed");
                    AppError::Internal
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_http_semantics() {
        assert_eq!(AppError::Unauthenticated.status_code(), 401);
        assert_eq!(AppError::Forbidden.status_code(), 403);
        assert_eq!(AppError::RateLimited { retry_after_secs: 3 }.status_code(), 429);
        assert_eq!(AppError::Invalid { field: "username".into(), message: "x".into() }.field(), Some("username"));
    }

    #[test]
    fn errors_round_trip_through_the_wire_encoding() {
        let e = AppError::Invalid { field: "password".into(), message: "too short".into() };
        assert_eq!(AppError::de(e.ser()), e);
    }
}
