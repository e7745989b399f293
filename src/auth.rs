//! Sign-in, sessions and account bootstrap.
//!
//! Passwords are hashed with argon2id on a blocking thread (never on the async executor). Session
//! tokens are 32 random bytes; the database keeps only their SHA-256. Failed sign-ins are counted
//! per account and per client address, and the error never says whether the account exists.

use crate::config::Config;
use crate::role::{Access, Role};
use crate::store::{now_ms, Db, StoreError};
use crate::user::{CurrentUser, DemoAccount, NewUser, User};
use crate::validate::{self, FieldError};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "af_session";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown or disabled account: one message for all, on purpose.
    #[error("Invalid username or password.")]
    InvalidCredentials,
    #[error("Too many failed sign-in attempts. Try again in {retry_after_secs} seconds.")]
    TooManyAttempts { retry_after_secs: u64 },
    /// Every password check slot is taken and the short queue before them is full.
    #[error("Too many sign-ins at once. Try again in {retry_after_secs} seconds.")]
    Busy { retry_after_secs: u64 },
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("Your role ({0}) may not do this.")]
    Forbidden(Role),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// Demo mode was asked for on a database that is not a demo's.
    #[error("{0}")]
    DemoRefused(String),
}

/// A fresh session token (the cookie value) and its hash (the database key).
pub struct SessionToken {
    pub token: String,
    pub hash: String,
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_token(&token);
        Self { token, hash }
    }
}

/// A Content-Security-Policy nonce: 128 random bits, base64url (one per page response).
pub fn csp_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a session or API token, hex encoded.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prefix of API tokens, so a leaked one is recognisable (secret scanners, logs).
pub const API_TOKEN_PREFIX: &str = "af_";

/// A token as asked for (from the admin form, the CLI or the token API), not yet validated.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub name: &'a str,
    /// A comma-separated list of scopes (`ingest,read`).
    pub scopes: &'a str,
    /// Days until it expires; `None` for never.
    pub expires_in_days: Option<u32>,
}

/// Creates an API token: 32 random bytes, stored as their SHA-256 only, and records it in the audit
/// trail under `created_by`. The returned secret is the one and only copy of the bearer value.
pub async fn create_api_token(
    db: &Db,
    req: TokenRequest<'_>,
    created_by: &str,
) -> Result<crate::api_token::CreatedApiToken, AuthError> {
    let name = validate::token_name(req.name)?;
    let scopes = validate::token_scopes(req.scopes)?;
    let expires_at =
        validate::token_days(req.expires_in_days)?.map(|d| crate::store::now_ms() + i64::from(d) * 86_400_000);
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{API_TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let token = db.create_api_token(&name, &hash_token(&secret), created_by, scopes, expires_at).await?;
    tracing::info!(actor = created_by, token_id = token.id, name = %token.name, scopes = %token.scopes, "API token created");
    Ok(crate::api_token::CreatedApiToken { token, secret })
}

/// Revokes a token and records who did it (revoking twice keeps the first time).
pub async fn revoke_api_token(db: &Db, id: i64, actor: &str) -> Result<crate::api_token::ApiToken, AuthError> {
    let token = db.revoke_api_token(id, actor).await?;
    tracing::info!(actor, token_id = token.id, "API token revoked");
    Ok(token)
}

/// The live (not revoked, not expired) API token a bearer value belongs to, if any.
pub async fn api_token(db: &Db, secret: &str) -> Result<Option<crate::api_token::ApiToken>, AuthError> {
    if secret.is_empty() || secret.len() > 256 {
        return Ok(None);
    }
    Ok(db.api_token_by_hash(&hash_token(secret)).await?)
}

/// Why a bearer token was refused for an endpoint.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    #[error("invalid, expired or revoked API token")]
    Invalid,
    #[error("this API token may not {} (its scopes: {has}); create one with the `{}` scope", .needs.describe(), .needs.as_str())]
    MissingScope { needs: crate::api_token::TokenScope, has: crate::api_token::TokenScopes },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// The live token of `secret` if it carries `scope`. Every endpoint that takes a bearer token asks
/// here, so the scope rule is written once.
pub async fn token_with_scope(
    db: &Db,
    secret: &str,
    scope: crate::api_token::TokenScope,
) -> Result<crate::api_token::ApiToken, TokenRefusal> {
    let token = api_token(db, secret).await?.ok_or(TokenRefusal::Invalid)?;
    if !token.allows(scope) {
        tracing::warn!(token_id = token.id, needs = scope.as_str(), has = %token.scopes, "API token refused: scope missing");
        return Err(TokenRefusal::MissingScope { needs: scope, has: token.scopes });
    }
    Ok(token)
}

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_password_blocking(&password))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?
}

fn hash_password_blocking(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// How long a sign-in waits for a password-check slot before it is answered 429.
const CHECK_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// Password checks that run at once: one per core. Each argon2 check holds ~19 MiB for tens of
/// milliseconds, so without a bound a burst of sign-ins grows the blocking pool and memory without
/// limit (120 parallel attempts took a server from 145 MB to 1.33 GB).
fn check_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Verifies on a blocking thread, at most one check per core at a time; a sign-in that cannot get a
/// slot within [`CHECK_QUEUE_WAIT`] is refused as [`AuthError::Busy`]. A malformed stored hash
/// counts as a mismatch.
async fn verify_password(password: String, hash: String) -> Result<bool, AuthError> {
    let _slot = match tokio::time::timeout(CHECK_QUEUE_WAIT, check_slots().acquire()).await {
        Ok(Ok(slot)) => slot,
        _ => return Err(AuthError::Busy { retry_after_secs: 1 }),
    };
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .map_err(|e| AuthError::Hash(e.to_string()))
}

/// The client's address: the peer, or — only when the peer is one of `trusted` proxies — the
/// right-most address of `X-Forwarded-For` that is not a trusted proxy itself. Without trusted
/// proxies the header is ignored: anyone can write it.
pub fn client_address(peer: std::net::IpAddr, forwarded_for: &[&str], trusted: &[ipnet::IpNet]) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> =
        forwarded_for.iter().flat_map(|h| h.split(',')).filter_map(|a| a.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

/// A hash to verify against when the account does not exist, so that both paths take as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password_blocking("decoy password that matches nothing").unwrap_or_default())
}

/// A random password for generated accounts: 20 characters from an unambiguous alphabet.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20).map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char).collect()
}

/// Who is asking: the client address and user agent, recorded with the session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

/// The sign-in policy, taken from the configuration.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    pub window_ms: i64,
    pub session_ttl_ms: i64,
}

impl From<&Config> for LoginPolicy {
    fn from(c: &Config) -> Self {
        Self {
            max_failures_per_account: i64::from(c.login_max_failures_per_account),
            max_failures_per_address: i64::from(c.login_max_failures_per_address),
            window_ms: (c.login_window_secs as i64) * 1000,
            session_ttl_ms: (c.session_ttl_secs as i64) * 1000,
        }
    }
}

/// Checks the password and opens a new session (always a new token: no session fixation).
pub async fn login(
    db: &Db,
    policy: &LoginPolicy,
    username: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<(CurrentUser, SessionToken), AuthError> {
    // Fold and bound the name without revealing anything: an invalid name is just a wrong one.
    let username = username.trim().to_ascii_lowercase();
    if username.is_empty() {
        return Err(FieldError::new("username", "Enter your username.").into());
    }
    if password.is_empty() {
        return Err(FieldError::new("password", "Enter your password.").into());
    }
    // Overlong input cannot belong to any account, so naming the limit reveals nothing.
    if username.chars().count() > validate::USERNAME_MAX {
        return Err(FieldError::new(
            "username",
            format!("A username is at most {} characters.", validate::USERNAME_MAX),
        )
        .into());
    }
    if password.chars().count() > validate::PASSWORD_MAX {
        return Err(FieldError::new(
            "password",
            format!("A password is at most {} characters.", validate::PASSWORD_MAX),
        )
        .into());
    }

    let now = now_ms();
    let since = now - policy.window_ms;
    // The attempt is recorded as a failure BEFORE the password is checked and counted with the
    // others: concurrent attempts each see at least their own rank, so no more than the limit ever
    // reach the check (counting first and recording after let 62 of 120 parallel guesses through).
    // A success clears the account's failures; a refused attempt takes its own row back.
    let attempt = db.record_login_failure(&username, &client.ip).await?;
    let by_account = db.login_failures_for_account(&username, since).await?;
    let by_address = db.login_failures_for_address(&client.ip, since).await?;
    // An account over its limit still lets its owner in from the address of their last successful
    // sign-in: a stranger's guesses slow others down without locking the owner out.
    let account_over =
        by_account.count > policy.max_failures_per_account && !db.is_last_login_address(&username, &client.ip).await?;
    let address_over = by_address.count > policy.max_failures_per_address;
    for (over, count) in [(account_over, by_account), (address_over, by_address)] {
        if over {
            db.forget_login_failure(attempt).await?;
            let frees_at = count.oldest_at.unwrap_or(now) + policy.window_ms;
            let retry_after_secs = ((frees_at - now).max(1000) / 1000) as u64;
            tracing::warn!(username = %username, ip = %client.ip, "sign-in rate limit reached");
            return Err(AuthError::TooManyAttempts { retry_after_secs });
        }
    }

    let creds = db.credentials(&username).await?;
    let hash = creds.as_ref().map(|c| c.password_hash.clone()).unwrap_or_else(|| decoy_hash().to_string());
    let matches = match verify_password(password.to_string(), hash).await {
        Ok(m) => m,
        Err(e) => {
            // Not checked (busy or failed): not a failed guess either.
            db.forget_login_failure(attempt).await?;
            return Err(e);
        }
    };
    let user = match creds {
        Some(c) if matches && !c.user.disabled => c.user,
        _ => {
            tracing::info!(username = %username, ip = %client.ip, "sign-in failed");
            return Err(AuthError::InvalidCredentials);
        }
    };

    db.clear_login_failures(&username).await?;
    db.set_last_login_address(user.id, &client.ip).await?;
    let token = SessionToken::generate();
    db.create_session(&token.hash, user.id, policy.session_ttl_ms, &client.ip, &client.user_agent).await?;
    db.record_login(user.id).await?;
    tracing::info!(user_id = user.id, username = %user.username, role = %user.role, ip = %client.ip, "signed in");
    Ok((current(&user), token))
}

pub async fn logout(db: &Db, token: &str) -> Result<(), AuthError> {
    db.delete_session(&hash_token(token)).await?;
    Ok(())
}

/// The user behind a session cookie value, if the session is live.
pub async fn session_user(db: &Db, token: &str) -> Result<Option<CurrentUser>, AuthError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    Ok(db.session_user(&hash_token(token)).await?)
}

/// 401 without a user, 403 with one whose role is not allowed.
pub fn authorize(user: Option<&CurrentUser>, access: Access) -> Result<CurrentUser, AuthError> {
    match user {
        None => Err(AuthError::Unauthenticated),
        Some(u) if access.allows(u.role) => Ok(u.clone()),
        Some(u) => Err(AuthError::Forbidden(u.role)),
    }
}

fn current(u: &User) -> CurrentUser {
    CurrentUser {
        id: u.id,
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: u.role,
        must_change_password: u.must_change_password,
    }
}

/// Validates and creates an account, audited as `user.create` by `by` (`None`: start-up and
/// seeding, not audited).
pub async fn create_user(db: &Db, new: NewUser, by: Option<&str>) -> Result<User, AuthError> {
    let username = validate::username(&new.username)?;
    let display_name = validate::display_name(&new.display_name, &username)?;
    validate::new_password(&new.password)?;
    let hash = hash_password(new.password).await?;
    Ok(db.create_user(&username, &display_name, new.role, &hash, new.must_change_password, by).await?)
}

/// A signed-in user changes their own password: the current one must be right (a wrong one counts
/// as a failed sign-in of the account, under the same limit, so a borrowed session cannot guess it),
/// the new one valid, typed twice alike and different. Every other session of the user ends, the
/// must-change flag clears, and the change is audited.
pub async fn change_own_password(
    db: &Db,
    policy: &LoginPolicy,
    user: &CurrentUser,
    session_token: &str,
    client: &ClientInfo,
    change: &PasswordChange,
) -> Result<(), AuthError> {
    if change.current.is_empty() {
        return Err(FieldError::new("current", "Enter your current password.").into());
    }
    validate::new_password(&change.new).map_err(|e| FieldError::new("new", e.message))?;
    if change.confirm != change.new {
        return Err(FieldError::new("confirm", "The two new passwords are not the same.").into());
    }
    if change.new == change.current {
        return Err(FieldError::new("new", "Choose a password different from the current one.").into());
    }
    let since = now_ms() - policy.window_ms;
    let attempt = db.record_login_failure(&user.username, &client.ip).await?;
    let failures = db.login_failures_for_account(&user.username, since).await?;
    if failures.count > policy.max_failures_per_account {
        db.forget_login_failure(attempt).await?;
        let frees_at = failures.oldest_at.unwrap_or(since) + policy.window_ms;
        return Err(AuthError::TooManyAttempts { retry_after_secs: ((frees_at - now_ms()).max(1000) / 1000) as u64 });
    }
    let hash = db.password_hash(user.id).await?;
    let matches = match verify_password(change.current.clone(), hash).await {
        Ok(m) => m,
        Err(e) => {
            db.forget_login_failure(attempt).await?;
            return Err(e);
        }
    };
    if !matches {
        tracing::info!(user_id = user.id, ip = %client.ip, "password change refused: wrong current password");
        return Err(FieldError::new("current", "That is not your current password.").into());
    }
    db.forget_login_failure(attempt).await?;
    let new_hash = hash_password(change.new.clone()).await?;
    db.change_own_password(user.id, &new_hash, &hash_token(session_token), &user.username).await?;
    tracing::info!(user_id = user.id, username = %user.username, "password changed by its owner");
    Ok(())
}

/// The password change form: the current password, the new one, and the new one again.
#[derive(Clone)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// Sets a new password for `username` and ends their sessions, audited as `user.reset_password` by
/// `by` in the same transaction (`None`: start-up, not audited).
pub async fn reset_password(db: &Db, username: &str, password: String, by: Option<&str>) -> Result<User, AuthError> {
    validate::new_password(&password)?;
    let user = db
        .user_by_username(&username.trim().to_ascii_lowercase())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user `{username}`")))?;
    let hash = hash_password(password).await?;
    db.set_password_hash(user.id, &hash, by).await?;
    Ok(user)
}

/// What start-up did about accounts.
#[derive(Debug, Default)]
pub struct Bootstrap {
    /// Set when the first admin was created with a generated password (to be shown once).
    pub generated_admin_password: Option<String>,
    pub admin_created: bool,
    pub demo_accounts: Vec<DemoAccount>,
    /// Demo accounts disabled (or, for a last active admin, given a random password) because demo
    /// mode is off.
    pub demo_accounts_retired: Vec<String>,
}

/// Whether a username is one of the demo accounts (`demo.<role>`).
pub fn is_demo_account(username: &str) -> bool {
    Role::ALL.iter().any(|r| username == format!("demo.{r}"))
}

/// On first start (no users at all) creates `admin`, with `admin_password` or a random one. In
/// demo mode also makes sure one account per role exists with a known password.
pub async fn bootstrap(db: &Db, admin_password: Option<&str>, demo: bool) -> Result<Bootstrap, AuthError> {
    let mut out = Bootstrap::default();
    if db.count_users().await? == 0 {
        let (password, generated) = match admin_password {
            Some(p) => (p.to_string(), false),
            None => (random_password(), true),
        };
        // A generated password was printed to a terminal: the admin chooses their own at first sign-in.
        // One the operator set (AF_ADMIN_PASSWORD, from their secrets store) is already theirs.
        create_user(
            db,
            NewUser {
                username: "admin".into(),
                display_name: "Administrator".into(),
                role: Role::Admin,
                password: password.clone(),
                must_change_password: generated,
            },
            None,
        )
        .await?;
        out.admin_created = true;
        if generated {
            out.generated_admin_password = Some(password);
        }
    }
    if !demo {
        // Demo accounts have public passwords: they never outlive demo mode.
        for role in Role::ALL {
            let name = format!("demo.{role}");
            let Some(user) = db.user_by_username(&name).await? else { continue };
            if user.disabled {
                continue;
            }
            match db.set_disabled(user.id, true, None).await {
                Ok(_) => {}
                // The last active admin cannot be disabled: its public password goes instead.
                Err(StoreError::Invalid(_)) => {
                    reset_password(db, &name, random_password(), None).await?;
                }
                Err(e) => return Err(e.into()),
            }
            out.demo_accounts_retired.push(name);
        }
        return Ok(out);
    }
    // Demo mode replays recorded attacks into the alert tables and publishes passwords: it runs only
    // on a database of its own. The first `admin` counts as the demo's own until someone signs in as it.
    let real: Vec<String> = db
        .list_users()
        .await?
        .into_iter()
        .filter(|u| {
            let demo_owned = is_demo_account(&u.username) || (u.username == "admin" && u.last_login_at.is_none());
            !demo_owned
        })
        .map(|u| u.username)
        .collect();
    if !real.is_empty() {
        return Err(AuthError::DemoRefused(format!(
            "demo mode (AF_DEMO) runs only on a database of its own, and this one has real accounts ({}); use another AF_DATA_DIR or DATABASE_URL",
            real.join(", ")
        )));
    }
    {
        for role in Role::ALL {
            let account = DemoAccount { username: format!("demo.{role}"), password: format!("{role}-demo-pass"), role };
            match db.user_by_username(&account.username).await? {
                None => {
                    create_user(
                        db,
                        NewUser {
                            username: account.username.clone(),
                            display_name: format!("Demo {}", role.as_str()),
                            role,
                            password: account.password.clone(),
                            must_change_password: false,
                        },
                        None,
                    )
                    .await?;
                }
                Some(existing) => {
                    // Keep the banner truthful: demo accounts always have the shown password and role.
                    reset_password(db, &account.username, account.password.clone(), None).await?;
                    if existing.role != role {
                        db.set_role(existing.id, role, None).await?;
                    }
                    if existing.disabled {
                        db.set_disabled(existing.id, false, None).await?;
                    }
                }
            }
            out.demo_accounts.push(account);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, hash_token(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
    }

    #[test]
    fn passwords_hash_and_verify_on_blocking_threads() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = hash_password("correct horse battery".into()).await.unwrap();
            assert!(h.starts_with("$argon2id$"));
            assert!(verify_password("correct horse battery".into(), h.clone()).await.unwrap());
            assert!(!verify_password("wrong".into(), h).await.unwrap());
            assert!(!verify_password("x".into(), "not a hash".into()).await.unwrap());
        });
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxies: Vec<ipnet::IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        // No trusted proxy: the header is anyone's to write.
        assert_eq!(client_address(ip("10.0.0.2"), &["203.0.113.9"], &[]), ip("10.0.0.2"));
        // A direct client cannot claim another address.
        assert_eq!(client_address(ip("198.51.100.1"), &["203.0.113.9"], &proxies), ip("198.51.100.1"));
        // Behind a trusted proxy: the right-most untrusted hop, whatever the client put in front.
        assert_eq!(client_address(ip("10.0.0.2"), &["1.1.1.1, 203.0.113.9"], &proxies), ip("203.0.113.9"));
        assert_eq!(client_address(ip("10.0.0.2"), &["1.1.1.1", "203.0.113.9, 10.0.0.7"], &proxies), ip("203.0.113.9"));
        assert_eq!(client_address(ip("10.0.0.2"), &["junk"], &proxies), ip("10.0.0.2"));
    }

    #[test]
    fn authorize_distinguishes_missing_and_wrong_role() {
        let u = CurrentUser {
            id: 1,
            username: "e".into(),
            display_name: "E".into(),
            role: Role::Employee,
            must_change_password: false,
        };
        assert!(matches!(authorize(None, Access::SOC), Err(AuthError::Unauthenticated)));
        assert!(matches!(authorize(Some(&u), Access::SOC), Err(AuthError::Forbidden(Role::Employee))));
        assert!(authorize(Some(&u), Access::SIGNED_IN).is_ok());
    }

    #[test]
    fn random_passwords_are_long_enough() {
        let p = random_password();
        assert_eq!(p.len(), 20);
        assert!(validate::new_password(&p).is_ok());
    }
}
