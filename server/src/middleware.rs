//! Request middleware: resolves the session once per request, refuses cross-site state changes,
//! gives protected pages their HTTP status (401/403) and adds security headers.

use anomalyforge::auth::{self, ClientInfo, SESSION_COOKIE};
use anomalyforge::pages::{landing_for, open_before_password_change, page_for_path, ACCOUNT};
use app::error::AppError;
use app::state::{AppState, CspNonce, RequestAuth};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;

/// The session cookie's value, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// A state-changing request whose `Origin` (or `Sec-Fetch-Site`) shows it came from another site.
fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) else {
        // Non-browser clients send no Origin; browsers always do on cross-site POSTs.
        return false;
    };
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// The policy of every response: scripts only from this site or inline with this response's nonce
/// (the hydration and streaming scripts), WebAssembly compiled from this site, inline styles
/// allowed (chart and layout attributes), nothing framed, posted or based elsewhere.
fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// HSTS, sent when cookies are marked `Secure` (the site is served over HTTPS).
const HSTS: &str = "max-age=31536000";

pub async fn session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // A Host this server does not serve is refused before anything else (DNS rebinding).
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(host) = host.filter(|h| !state.config.allows_host(h)) {
        tracing::warn!(%path, host = %host.chars().take(100).collect::<String>(), "refused a request for a host not in allowed_hosts");
        return AppError::WrongHost(
            "this server does not answer to that Host name; an administrator can add it to allowed_hosts (AF_ALLOWED_HOSTS)"
                .into(),
        )
        .into_response();
    }
    if is_cross_site(&method, req.headers()) {
        tracing::warn!(%path, "refused a cross-site state-changing request");
        return AppError::Denied("cross-site request refused (Origin does not match Host)".into()).into_response();
    }

    let token = session_token(req.headers());
    let user = match &token {
        Some(t) => match auth::session_user(&state.db, t).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the session store");
                return AppError::Unavailable("the session store is unavailable".into()).into_response();
            }
        },
        None => None,
    };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let forwarded: Vec<&str> =
        req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let client = ClientInfo {
        ip: peer
            .map(|p| auth::client_address(p, &forwarded, &state.config.trusted_proxies).to_string())
            .unwrap_or_else(|| "unknown".into()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect())
            .unwrap_or_default(),
    };

    let is_page_read = matches!(method, Method::GET | Method::HEAD);
    if is_page_read && path == "/" {
        let to = user.as_ref().map(landing_for).unwrap_or("/login");
        return Redirect::to(to).into_response();
    }
    // Someone else chose this user's password: nothing but choosing their own until they do.
    if user.as_ref().is_some_and(|u| u.must_change_password) && !open_before_password_change(&path) {
        if is_page_read && page_for_path(&path).is_some() {
            return Redirect::to(ACCOUNT.path).into_response();
        }
        return AppError::Denied("choose your own password first, on /account".into()).into_response();
    }
    // The status a protected page must carry: the page itself shows the matching message.
    let page_status = if is_page_read {
        page_for_path(&path).and_then(|page| match &user {
            None => Some(StatusCode::UNAUTHORIZED),
            Some(u) if !page.access.allows(u.role) => Some(StatusCode::FORBIDDEN),
            Some(_) => None,
        })
    } else {
        None
    };

    // An invalid or expired cookie is removed so the browser stops sending it.
    let clear_stale_cookie = token.is_some() && user.is_none();
    let nonce = auth::csp_nonce();
    req.extensions_mut().insert(RequestAuth { user, token, client });
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;

    if let Some(status) = page_status {
        if res.status().is_success() {
            *res.status_mut() = status;
        }
    }
    if res.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        res = with_error_status(res).await;
    }
    let h = res.headers_mut();
    if clear_stale_cookie && !h.contains_key(header::SET_COOKIE) {
        let secure = if state.config.secure_cookies { "; Secure" } else { "" };
        if let Ok(v) =
            HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        {
            h.append(header::SET_COOKIE, v);
        }
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if state.config.secure_cookies {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    // The built site (/pkg/) and the world map the browser fetches for every map (/geo/, 0.45 MB)
    // are public files the browser may keep; everything else may carry someone's data.
    if !path.starts_with("/pkg/") && !path.starts_with("/geo/") && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Header that server_fn puts on error responses.
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";

/// server_fn answers every error with 500 and the error's JSON body. The body names the kind of
/// error (`AppError`), so this is the one place that turns it into its HTTP status (and
/// `Retry-After` for rate limits): server functions only return typed errors.
async fn with_error_status(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    match serde_json::from_slice::<app::error::AppError>(&bytes) {
        Ok(err) => {
            parts.status = StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if let app::error::AppError::RateLimited { retry_after_secs }
            | app::error::AppError::TooMany { retry_after_secs, .. } = err
            {
                parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
        }
        Err(e) => tracing::error!(error = %e, "a server function error is not an AppError"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A response being produced.
type ResponseFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>>;

/// Static files from the site root; anything else renders the app's 404 page.
pub fn fallback(
    state: AppState,
) -> impl Fn(axum::http::Uri, State<AppState>, Request<Body>) -> ResponseFuture + Clone + Send + 'static {
    let options = state.leptos_options.clone();
    leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        move || leptos::prelude::provide_context(state.clone()),
        move |_| app::shell(options.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        let h = headers(&[("cookie", "a=1; af_session=tok123; b=2")]);
        assert_eq!(session_token(&h).as_deref(), Some("tok123"));
        assert_eq!(session_token(&headers(&[("cookie", "af_session=")])), None);
        assert_eq!(session_token(&headers(&[])), None);
    }

    #[test]
    fn cross_site_posts_are_detected() {
        let same = headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]);
        let other = headers(&[("origin", "http://evil.example"), ("host", "127.0.0.1:3000")]);
        let fetch_meta = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(!is_cross_site(&Method::POST, &same));
        assert!(is_cross_site(&Method::POST, &other));
        assert!(is_cross_site(&Method::POST, &fetch_meta));
        assert!(!is_cross_site(&Method::GET, &other));
        assert!(!is_cross_site(&Method::POST, &headers(&[("host", "x")])));
    }
}
