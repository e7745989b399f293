//! Input validation shared by the browser (for instant feedback) and the server (which decides).
//! Messages are plain language and name the field.

use serde::{Deserialize, Serialize};

pub const USERNAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 128;
pub const PASSWORD_MIN: usize = 12;
/// Longer passwords are refused before hashing so that sign-in cannot be used to burn CPU.
pub const PASSWORD_MAX: usize = 256;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), message: message.into() }
    }
}

/// Usernames: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit. Case is folded to lower.
pub fn username(raw: &str) -> Result<String, FieldError> {
    let u = raw.trim().to_ascii_lowercase();
    if u.is_empty() {
        return Err(FieldError::new("username", "Enter a username."));
    }
    if u.chars().count() > USERNAME_MAX {
        return Err(FieldError::new("username", format!("A username can be at most {USERNAME_MAX} characters.")));
    }
    if !u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new("username", "A username must start with a letter or a digit."));
    }
    if let Some(bad) = u.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(FieldError::new(
            "username",
            format!("A username may contain letters, digits, '.', '_' and '-' only (not {bad:?})."),
        ));
    }
    Ok(u)
}

pub fn display_name(raw: &str, fallback: &str) -> Result<String, FieldError> {
    let d = raw.trim();
    if d.chars().count() > DISPLAY_NAME_MAX {
        return Err(FieldError::new(
            "display_name",
            format!("A display name can be at most {DISPLAY_NAME_MAX} characters."),
        ));
    }
    if d.chars().any(char::is_control) {
        return Err(FieldError::new("display_name", "A display name cannot contain control characters."));
    }
    Ok(if d.is_empty() { fallback.to_string() } else { d.to_string() })
}

/// An API token name: 1–64 characters, no control characters.
pub fn token_name(raw: &str) -> Result<String, FieldError> {
    let n = raw.trim();
    if n.is_empty() {
        return Err(FieldError::new("name", "Enter a name for the token (who or what will use it)."));
    }
    if n.chars().count() > crate::api_token::TOKEN_NAME_MAX {
        return Err(FieldError::new(
            "name",
            format!("A token name can be at most {} characters.", crate::api_token::TOKEN_NAME_MAX),
        ));
    }
    if n.chars().any(char::is_control) {
        return Err(FieldError::new("name", "A token name cannot contain control characters."));
    }
    Ok(n.to_string())
}

/// The scopes of a new API token: at least one, each known.
pub fn token_scopes(raw: &str) -> Result<crate::api_token::TokenScopes, FieldError> {
    let scopes = crate::api_token::TokenScopes::parse(raw).map_err(|m| FieldError::new("scopes", m))?;
    if scopes.is_empty() {
        return Err(FieldError::new("scopes", "Choose what the token may do: ingest, read, admin or intel."));
    }
    Ok(scopes)
}

/// A token's lifetime in days: none (never expires) or 1 to `TOKEN_MAX_DAYS`.
pub fn token_days(days: Option<u32>) -> Result<Option<u32>, FieldError> {
    match days {
        Some(d) if d == 0 || d > crate::api_token::TOKEN_MAX_DAYS => Err(FieldError::new(
            "expires_in_days",
            format!("A token can last from 1 to {} days, or never expire.", crate::api_token::TOKEN_MAX_DAYS),
        )),
        d => Ok(d),
    }
}

/// A new password: 12–256 characters.
pub fn new_password(p: &str) -> Result<(), FieldError> {
    let n = p.chars().count();
    if n < PASSWORD_MIN {
        return Err(FieldError::new("password", format!("A password needs at least {PASSWORD_MIN} characters.")));
    }
    if n > PASSWORD_MAX {
        return Err(FieldError::new("password", format!("A password can be at most {PASSWORD_MAX} characters.")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(username("  Alice.B ").unwrap(), "alice.b");
        assert_eq!(username("").unwrap_err().field, "username");
        assert!(username("_x").is_err());
        assert!(username("a b").unwrap_err().message.contains("' '"));
        assert!(username(&"a".repeat(65)).is_err());
        assert!(username(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(new_password("short").is_err());
        assert!(new_password("long enough pw").is_ok());
        assert!(new_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn display_name_falls_back_and_rejects_control_chars() {
        assert_eq!(display_name("  ", "bob").unwrap(), "bob");
        assert!(display_name("a\u{7}b", "bob").is_err());
    }
}
