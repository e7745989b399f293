//! The one error type of the web layer. Server functions return `Result<T, AppError>`; the UI
//! matches on the variant. Domain errors are converted here, at the edge.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// On the wire every error is `{"error": kind, "message": text, "field"?, "retry_after_secs"?, "detail"?}`
/// (see [`WireError`]), so integrators get a readable message and the UI gets the variant back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "WireError", try_from = "WireError")]
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
    /// A per-user limit other than sign-in (e.g. reports per hour).
    #[error("{message}")]
    TooMany { message: String, retry_after_secs: u64 },
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
            AppError::RateLimited { .. } | AppError::TooMany { .. } => 429,
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

/// The JSON shape of an [`AppError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// What a refused request or an unreachable server said, without the sentence `message` wraps
    /// it in, so the variant comes back whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<AppError> for WireError {
    fn from(e: AppError) -> Self {
        let message = e.to_string();
        let detail = match &e {
            AppError::BadRequest(d) | AppError::Transport(d) => Some(d.clone()),
            _ => None,
        };
        let (kind, field, retry_after_secs) = match e {
            AppError::Unauthenticated => ("unauthenticated", None, None),
            AppError::Forbidden => ("forbidden", None, None),
            AppError::InvalidCredentials => ("invalid_credentials", None, None),
            AppError::RateLimited { retry_after_secs } => ("rate_limited", None, Some(retry_after_secs)),
            AppError::Invalid { field, .. } => ("invalid", Some(field), None),
            AppError::TooMany { retry_after_secs, .. } => ("too_many", None, Some(retry_after_secs)),
            AppError::NotFound(_) => ("not_found", None, None),
            AppError::Conflict(_) => ("conflict", None, None),
            AppError::BadRequest(_) => ("bad_request", None, None),
            AppError::Internal => ("internal", None, None),
            AppError::Transport(_) => ("transport", None, None),
        };
        WireError { error: kind.to_string(), message, field, retry_after_secs, detail }
    }
}

impl TryFrom<WireError> for AppError {
    type Error = String;
    fn try_from(w: WireError) -> Result<Self, String> {
        Ok(match w.error.as_str() {
            "unauthenticated" => AppError::Unauthenticated,
            "forbidden" => AppError::Forbidden,
            "invalid_credentials" => AppError::InvalidCredentials,
            "rate_limited" => AppError::RateLimited { retry_after_secs: w.retry_after_secs.unwrap_or(0) },
            "invalid" => AppError::Invalid { field: w.field.unwrap_or_default(), message: w.message },
            "too_many" => AppError::TooMany { message: w.message, retry_after_secs: w.retry_after_secs.unwrap_or(0) },
            "not_found" => AppError::NotFound(w.message),
            "conflict" => AppError::Conflict(w.message),
            "bad_request" => AppError::BadRequest(w.detail.unwrap_or(w.message)),
            "internal" => AppError::Internal,
            "transport" => AppError::Transport(w.detail.unwrap_or(w.message)),
            other => return Err(format!("unknown error kind `{other}`")),
        })
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

    impl From<anomalyforge::intel::import::IntelError> for AppError {
        fn from(e: anomalyforge::intel::import::IntelError) -> Self {
            use anomalyforge::intel::import::IntelError;
            match e {
                IntelError::Invalid(message) => AppError::Invalid { field: "request".into(), message },
                IntelError::Store(e) => e.into(),
            }
        }
    }

    impl From<anomalyforge::commands::CommandError> for AppError {
        fn from(e: anomalyforge::commands::CommandError) -> Self {
            use anomalyforge::commands::CommandError;
            match e {
                CommandError::Invalid(f) => f.into(),
                CommandError::Store(s) => s.into(),
                CommandError::Auth(a) => a.into(),
                CommandError::Conflict(m) => AppError::Conflict(m),
                CommandError::TooMany { message, retry_after_secs } => AppError::TooMany { message, retry_after_secs },
            }
        }
    }

    impl From<AuthError> for AppError {
        fn from(e: AuthError) -> Self {
            let message = e.to_string();
            match e {
                AuthError::InvalidCredentials => AppError::InvalidCredentials,
                AuthError::TooManyAttempts { retry_after_secs } => AppError::RateLimited { retry_after_secs },
                AuthError::Busy { retry_after_secs } => AppError::TooMany { message, retry_after_secs },
                AuthError::Unauthenticated => AppError::Unauthenticated,
                AuthError::Forbidden(_) => AppError::Forbidden,
                AuthError::Invalid(f) => f.into(),
                AuthError::Store(s) => s.into(),
                AuthError::Hash(m) | AuthError::DemoRefused(m) => {
                    tracing::error!(error = %m, "authentication set-up failed");
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
        for e in [
            AppError::Invalid { field: "password".into(), message: "too short".into() },
            AppError::RateLimited { retry_after_secs: 42 },
            AppError::TooMany { message: "You sent 10 reports this hour.".into(), retry_after_secs: 600 },
            AppError::NotFound("user #3 does not exist.".into()),
            AppError::BadRequest("missing field `password`".into()),
            AppError::InvalidCredentials,
            AppError::Transport("connection refused".into()),
            // A detail that begins like the sentence around it comes back whole (it used to be
            // recovered by trimming that sentence off the message).
            AppError::BadRequest("The request was refused: twice".into()),
        ] {
            assert_eq!(AppError::de(e.ser()), e);
        }
    }

    #[test]
    fn the_wire_shape_carries_kind_and_message() {
        let json = serde_json::to_value(AppError::RateLimited { retry_after_secs: 7 }).unwrap();
        assert_eq!(json["error"], "rate_limited");
        assert_eq!(json["retry_after_secs"], 7);
        assert!(json["message"].as_str().unwrap().contains("7 seconds"));
        let json =
            serde_json::to_value(AppError::Invalid { field: "username".into(), message: "Enter a username.".into() })
                .unwrap();
        assert_eq!(json, serde_json::json!({"error": "invalid", "message": "Enter a username.", "field": "username"}));
    }
}
