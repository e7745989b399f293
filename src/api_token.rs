//! API tokens as administrators see them. The token itself is shown once, at creation
//! ([`CreatedApiToken`]); the database keeps only its SHA-256, which has no `Serialize` anywhere.

use serde::{Deserialize, Serialize};

/// Longest token name.
pub const TOKEN_NAME_MAX: usize = 64;

/// An integrator's API token, without the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// Who created it (`cli` for the command line).
    pub created_by: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last authenticated request (updated at most once a minute).
    pub last_used_at: Option<i64>,
    /// Unix milliseconds; a revoked token authenticates nothing.
    pub revoked_at: Option<i64>,
}

/// A token just created: the only time its secret value exists outside the client.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiToken {
    pub token: ApiToken,
    /// The bearer value (`af_…`), shown once.
    pub secret: String,
}

impl std::fmt::Debug for CreatedApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiToken").field("token", &self.token).finish_non_exhaustive()
    }
}
