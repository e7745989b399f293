//! The one error type of the web layer. Server functions return `Result<T, AppError>`; the UI
//! matches on the variant. Domain errors are converted here, at the edge.

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
    /// An uploaded file that cannot be read; the message says why (400).
    #[error("{0}")]
    BadFile(String),
    /// The server is at its limit for this kind of work; retry after `retry_after_secs` (503).
    #[error("{message}")]
    Busy { message: String, retry_after_secs: u64 },
    /// The request, or what it expands to, is larger than the limit the message names (413).
    #[error("{0}")]
    TooLarge(String),
    /// The body's media type is not one the route reads; the message names those it does (415).
    #[error("{0}")]
    UnsupportedType(String),
    /// What the request needs cannot serve it now: the database, the files, or a feature switched
    /// off on this server (503).
    #[error("{0}")]
    Unavailable(String),
    /// An API call without credentials, or with a token that is not valid (401); the message says
    /// what to send. Pages and server functions use [`AppError::Unauthenticated`].
    #[error("{0}")]
    CredentialsRefused(String),
    /// An API caller whose token scope or role does not allow the call; the message names what is
    /// missing (403).
    #[error("{0}")]
    Denied(String),
    /// A query or body parameter of an API call that is not valid; `param` names it (400).
    #[error("{message}")]
    InvalidParameter { param: String, message: String },
    /// A request for a Host name this server does not answer to (421), refused before anything
    /// else so that a DNS-rebinding page cannot drive the server from a browser.
    #[error("{0}")]
    WrongHost(String),
    /// The ingest endpoints on a server that does not ingest (`AF_INGEST=false`) (503).
    #[error("ingest is disabled on this server (AF_INGEST=false)")]
    IngestDisabled,
    /// A batch whose `Idempotency-Key` was stored before: nothing was stored again (409).
    #[error("batch `{0}` (this Idempotency-Key) is already stored; nothing was stored again")]
    AlreadyStored(String),
    #[error("Something went wrong on the server; it has been logged.")]
    Internal,
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials | AppError::CredentialsRefused(_) => 401,
            AppError::Forbidden | AppError::Denied(_) => 403,
            AppError::RateLimited { .. } | AppError::TooMany { .. } => 429,
            AppError::Invalid { .. } => 422,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::BadRequest(_) | AppError::BadFile(_) | AppError::InvalidParameter { .. } => 400,
            AppError::Busy { .. } | AppError::Unavailable(_) | AppError::IngestDisabled => 503,
            AppError::AlreadyStored(_) => 409,
            AppError::WrongHost(_) => 421,
            AppError::TooLarge(_) => 413,
            AppError::UnsupportedType(_) => 415,
            AppError::Internal => 500,
            AppError::Transport(_) => 502,
        }
    }

    /// The form field, or the API parameter, the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            AppError::InvalidParameter { param, .. } => Some(param),
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
    /// The API parameter that is not valid (`invalid_parameter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
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
            AppError::BadRequest(d)
            | AppError::Transport(d)
            | AppError::CredentialsRefused(d)
            | AppError::Denied(d)
            | AppError::AlreadyStored(d) => Some(d.clone()),
            _ => None,
        };
        let param = match &e {
            AppError::InvalidParameter { param, .. } => Some(param.clone()),
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
            AppError::BadFile(_) => ("bad_file", None, None),
            AppError::Busy { retry_after_secs, .. } => ("busy", None, Some(retry_after_secs)),
            AppError::TooLarge(_) => ("payload_too_large", None, None),
            AppError::UnsupportedType(_) => ("unsupported_media_type", None, None),
            AppError::Unavailable(_) => ("unavailable", None, None),
            AppError::CredentialsRefused(_) => ("unauthenticated", None, None),
            AppError::Denied(_) => ("forbidden", None, None),
            AppError::InvalidParameter { .. } => ("invalid_parameter", None, None),
            AppError::IngestDisabled => ("ingest_disabled", None, None),
            AppError::WrongHost(_) => ("misdirected_request", None, None),
            AppError::AlreadyStored(_) => ("already_stored", None, None),
            AppError::Internal => ("internal", None, None),
            AppError::Transport(_) => ("transport", None, None),
        };
        WireError { error: kind.to_string(), message, field, param, retry_after_secs, detail }
    }
}

impl TryFrom<WireError> for AppError {
    type Error = String;
    fn try_from(w: WireError) -> Result<Self, String> {
        Ok(match w.error.as_str() {
            // The API's refusals say why (`detail`); the pages' have one fixed text.
            "unauthenticated" => w.detail.map_or(AppError::Unauthenticated, AppError::CredentialsRefused),
            "forbidden" => w.detail.map_or(AppError::Forbidden, AppError::Denied),
            "invalid_parameter" => {
                AppError::InvalidParameter { param: w.param.unwrap_or_default(), message: w.message }
            }
            "ingest_disabled" => AppError::IngestDisabled,
            "misdirected_request" => AppError::WrongHost(w.message),
            "already_stored" => AppError::AlreadyStored(w.detail.unwrap_or(w.message)),
            "invalid_credentials" => AppError::InvalidCredentials,
            "rate_limited" => AppError::RateLimited { retry_after_secs: w.retry_after_secs.unwrap_or(0) },
            "invalid" => AppError::Invalid { field: w.field.unwrap_or_default(), message: w.message },
            "too_many" => AppError::TooMany { message: w.message, retry_after_secs: w.retry_after_secs.unwrap_or(0) },
            "not_found" => AppError::NotFound(w.message),
            "conflict" => AppError::Conflict(w.message),
            "bad_request" => AppError::BadRequest(w.detail.unwrap_or(w.message)),
            "bad_file" => AppError::BadFile(w.message),
            "busy" => AppError::Busy { message: w.message, retry_after_secs: w.retry_after_secs.unwrap_or(0) },
            "payload_too_large" => AppError::TooLarge(w.message),
            "unsupported_media_type" => AppError::UnsupportedType(w.message),
            "unavailable" => AppError::Unavailable(w.message),
            "internal" => AppError::Internal,
            "transport" => AppError::Transport(w.detail.unwrap_or(w.message)),
            other => return Err(format!("unknown error kind `{other}`")),
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::json::JsonEncoding;

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

impl AppError {
    /// An API parameter that is not valid (400 `invalid_parameter`, naming it).
    pub fn parameter(param: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::InvalidParameter { param: param.into(), message: message.into() }
    }
}

/// A filter of the read API that is not valid names its parameter.
impl From<anomalyforge::alert::FilterError> for AppError {
    fn from(e: anomalyforge::alert::FilterError) -> Self {
        AppError::parameter(e.param, e.to_string())
    }
}

impl From<anomalyforge::validate::FieldError> for AppError {
    fn from(e: anomalyforge::validate::FieldError) -> Self {
        AppError::Invalid { field: e.field, message: e.message }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::{AppError, WireError};
    use anomalyforge::analysis::run::AnalysisError;
    use anomalyforge::analysis::service::ServiceError;

    /// The HTTP edge of the routes outside the server functions (the APIs, the stream, exports,
    /// file analysis): the status of the variant, the same JSON body as a server function's error,
    /// `Retry-After` when the error says when to retry, and `WWW-Authenticate: Bearer` on a 401
    /// (these routes take API tokens; RFC 9110 asks a 401 to name its scheme).
    impl axum::response::IntoResponse for AppError {
        fn into_response(self) -> axum::response::Response {
            let status =
                http::StatusCode::from_u16(self.status_code()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let wire = WireError::from(self);
            let retry_after = wire.retry_after_secs;
            let mut res = (status, axum::Json(wire)).into_response();
            if let Some(secs) = retry_after {
                res.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            if status == http::StatusCode::UNAUTHORIZED {
                res.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
            }
            res
        }
    }

    impl AppError {
        /// A store failure at the edge of an API call: logged with what failed, answered 503 so
        /// the client retries (the API's documented `unavailable`).
        pub fn unavailable_after(what: &str, error: impl std::fmt::Display) -> AppError {
            tracing::error!(%error, "{what} failed");
            AppError::Unavailable("the database is unavailable; try again".into())
        }
    }

    /// The pipeline's refusals of a batch. Nothing of a refused batch was stored, so every one is
    /// safe to retry.
    impl From<anomalyforge::pipeline::PipelineError> for AppError {
        fn from(e: anomalyforge::pipeline::PipelineError) -> Self {
            use anomalyforge::pipeline::PipelineError;
            let stored_nothing =
                || AppError::Unavailable("the batch could not be stored and was not accepted; retry later".into());
            match e {
                PipelineError::Busy { retry_after_secs, .. } => {
                    AppError::Busy { message: e.to_string(), retry_after_secs }
                }
                PipelineError::Store(err) => {
                    tracing::error!(error = %err, "storing an ingest batch failed");
                    stored_nothing()
                }
                PipelineError::Stopped => stored_nothing(),
                PipelineError::AlreadyStored(id) => AppError::AlreadyStored(id),
                PipelineError::Scoring(err) => {
                    tracing::error!(error = %err, "scoring an ingest batch failed");
                    AppError::Internal
                }
            }
        }
    }

    impl From<ServiceError> for AppError {
        fn from(e: ServiceError) -> Self {
            let message = e.to_string();
            match e {
                ServiceError::NotFound(_) | ServiceError::FilesGone(_) => AppError::NotFound(message),
                ServiceError::Conflict(_) | ServiceError::Quota { .. } => AppError::Conflict(message),
                ServiceError::Disabled => AppError::Unavailable(message),
                ServiceError::Busy { .. } => AppError::Busy { message, retry_after_secs: 30 },
                ServiceError::Analysis(AnalysisError::TooLarge(_)) => AppError::TooLarge(message),
                ServiceError::Analysis(AnalysisError::Write(err)) => {
                    tracing::error!(error = %err, "writing an analysis failed");
                    AppError::Unavailable("The analysis could not be kept; try again later.".into())
                }
                ServiceError::Analysis(_) => AppError::BadFile(message),
                ServiceError::Store(err) => {
                    tracing::error!(error = %err, "analysis storage failed");
                    AppError::Unavailable("The database is unavailable; try again later.".into())
                }
                ServiceError::Files(err) => {
                    tracing::error!(error = %err, "analysis files failed");
                    AppError::Unavailable("The analysis files cannot be written or read; try again later.".into())
                }
            }
        }
    }
    use anomalyforge::auth::AuthError;
    use anomalyforge::model_registry::RegistryError;
    use anomalyforge::store::StoreError;

    impl From<RegistryError> for AppError {
        fn from(e: RegistryError) -> Self {
            match e {
                RegistryError::Busy { .. } => AppError::Conflict(e.to_string()),
                RegistryError::UnknownVersion(_) => AppError::NotFound(e.to_string()),
                RegistryError::Load { .. } => AppError::Conflict(e.to_string()),
                RegistryError::Store(s) => AppError::from(s),
                RegistryError::Io { .. } | RegistryError::Corrupt { .. } | RegistryError::Task(_) => {
                    tracing::error!(error = %e, "model registry error");
                    AppError::Internal
                }
            }
        }
    }

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
            AppError::BadFile("the file is empty".into()),
            AppError::Busy { message: "Two files are being analysed.".into(), retry_after_secs: 30 },
            AppError::TooLarge("larger than the limit of 65536 bytes".into()),
            AppError::UnsupportedType("this endpoint accepts text/csv".into()),
            AppError::Unavailable("The database is unavailable; try again later.".into()),
            AppError::CredentialsRefused("invalid, expired or revoked API token".into()),
            AppError::Denied("this token may not ingest (its scopes: read)".into()),
            AppError::InvalidParameter { param: "min_risk".into(), message: "`x` is not a whole number".into() },
            AppError::IngestDisabled,
            AppError::AlreadyStored("key-1-a".into()),
            AppError::WrongHost("not this Host".into()),
            AppError::Unauthenticated,
            AppError::Forbidden,
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

    #[cfg(feature = "ssr")]
    #[test]
    fn the_edge_answers_with_the_status_the_body_and_retry_after() {
        use axum::response::IntoResponse;
        let cases = [
            (AppError::Busy { message: "busy".into(), retry_after_secs: 30 }, 503, "busy", Some("30")),
            (AppError::TooLarge("big".into()), 413, "payload_too_large", None),
            (AppError::UnsupportedType("xml".into()), 415, "unsupported_media_type", None),
            (AppError::Unavailable("db".into()), 503, "unavailable", None),
            (AppError::BadFile("empty".into()), 400, "bad_file", None),
            (AppError::RateLimited { retry_after_secs: 9 }, 429, "rate_limited", Some("9")),
            (AppError::Invalid { field: "range".into(), message: "no".into() }, 422, "invalid", None),
            (AppError::CredentialsRefused("send a token".into()), 401, "unauthenticated", None),
            (AppError::Denied("no scope".into()), 403, "forbidden", None),
            (
                AppError::InvalidParameter { param: "limit".into(), message: "no".into() },
                400,
                "invalid_parameter",
                None,
            ),
            (AppError::IngestDisabled, 503, "ingest_disabled", None),
            (AppError::AlreadyStored("k".into()), 409, "already_stored", None),
            (AppError::WrongHost("h".into()), 421, "misdirected_request", None),
        ];
        for (e, status, kind, retry) in cases {
            let res = e.clone().into_response();
            assert_eq!(res.status().as_u16(), status, "{e:?}");
            assert_eq!(res.headers().get("retry-after").map(|v| v.to_str().unwrap()), retry, "{e:?}");
            assert_eq!(res.headers()["content-type"], "application/json");
            let www = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap());
            assert_eq!(www, (status == 401).then_some("Bearer"), "{e:?}");
            assert_eq!(WireError::from(e).error, kind);
        }
        let json =
            serde_json::to_value(AppError::InvalidParameter { param: "limit".into(), message: "too big".into() })
                .unwrap();
        assert_eq!(json, serde_json::json!({"error": "invalid_parameter", "message": "too big", "param": "limit"}));
    }
}
