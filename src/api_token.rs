//! API tokens as administrators see them. The token itself is shown once, at creation
//! ([`CreatedApiToken`]); the database keeps only its SHA-256, which has no `Serialize` anywhere.
//!
//! A token carries scopes ([`TokenScope`]): a sensor's `ingest` token cannot read alerts, a dashboard's
//! `read` token cannot send flows, and only an `admin` token manages other tokens. It may expire.
//! Tokens created before scopes existed keep working as `ingest`+`read` and are flagged as legacy, so
//! administrators replace them with narrower ones.

use serde::{Deserialize, Serialize};

/// Longest token name.
pub const TOKEN_NAME_MAX: usize = 64;
/// Longest lifetime a token can be given, in days.
pub const TOKEN_MAX_DAYS: u32 = 3650;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    /// Send flows and logs (`POST /api/v1/ingest/…`).
    Ingest,
    /// Read alerts, flows and metrics (`GET /api/v1/alerts`, `GET /api/v1/flows`, `GET /metrics`).
    Read,
    /// Manage API tokens (`/api/v1/tokens`).
    Admin,
    /// Import threat intel (`POST /api/v1/intel/{source}`).
    Intel,
    /// Read the response feeds a firewall or IPS enforces (`GET /api/v1/blocklist…`), nothing else.
    Blocklist,
    /// Score flows and read the verdicts back (`POST /api/v1/score`); nothing is stored. An `ingest`
    /// token may score as well.
    Score,
}

impl TokenScope {
    pub const ALL: [TokenScope; 6] = [
        TokenScope::Ingest,
        TokenScope::Read,
        TokenScope::Admin,
        TokenScope::Intel,
        TokenScope::Blocklist,
        TokenScope::Score,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Ingest => "ingest",
            TokenScope::Read => "read",
            TokenScope::Admin => "admin",
            TokenScope::Intel => "intel",
            TokenScope::Blocklist => "blocklist",
            TokenScope::Score => "score",
        }
    }

    pub fn parse(s: &str) -> Option<TokenScope> {
        TokenScope::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// What it allows, for the form.
    pub fn describe(self) -> &'static str {
        match self {
            TokenScope::Ingest => "send flows and logs",
            TokenScope::Read => "read alerts, flows and metrics",
            TokenScope::Admin => "create and revoke API tokens",
            TokenScope::Intel => "import threat intel",
            TokenScope::Blocklist => "read the blocklist feeds (firewalls, IPS)",
            TokenScope::Score => "score flows without storing them",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes, written `ingest,read` in the database, the CLI and the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokenScopes(u8);

impl TokenScopes {
    /// What tokens created before scopes existed may do.
    pub const LEGACY: TokenScopes = TokenScopes(1 | 2);

    pub fn of(scopes: &[TokenScope]) -> TokenScopes {
        TokenScopes(scopes.iter().fold(0, |b, s| b | s.bit()))
    }

    pub fn contains(self, s: TokenScope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = TokenScope> {
        TokenScope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// A comma- or space-separated list; an unknown name is an error naming it.
    pub fn parse(list: &str) -> Result<TokenScopes, String> {
        let mut out = TokenScopes::default();
        for name in list.split([',', ' ']).map(str::trim).filter(|n| !n.is_empty()) {
            let s = TokenScope::parse(name).ok_or_else(|| {
                let names: Vec<&str> = TokenScope::ALL.iter().map(|s| s.as_str()).collect();
                let (last, rest) = names.split_last().expect("scopes exist");
                format!("Unknown token scope `{name}`: use {} or {last}.", rest.join(", "))
            })?;
            out.0 |= s.bit();
        }
        Ok(out)
    }
}

impl std::fmt::Display for TokenScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(TokenScope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl Serialize for TokenScopes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for TokenScopes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(TokenScopes::of(&Vec::<TokenScope>::deserialize(d)?))
    }
}

/// An integrator's API token, without the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
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
    /// Unix milliseconds; from then on the token authenticates nothing.
    pub expires_at: Option<i64>,
    /// `["ingest", "read"]`.
    #[cfg_attr(feature = "server", schema(value_type = Vec<String>))]
    pub scopes: TokenScopes,
    /// Created before tokens had scopes: it may ingest and read, and should be replaced.
    pub legacy: bool,
}

/// Where a token stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

impl ApiToken {
    pub fn state(&self, now_ms: i64) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|t| t <= now_ms) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }

    /// Whether the token may do `scope`'s work. Scoring is part of ingest (an ingest token's flows are
    /// scored anyway), so an `ingest` token may also score without storing.
    pub fn allows(&self, scope: TokenScope) -> bool {
        self.scopes.contains(scope) || (scope == TokenScope::Score && self.scopes.contains(TokenScope::Ingest))
    }
}

/// Every token as `/admin` lists it, with the server's time of the listing (to tell expired ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    pub now: i64,
    pub tokens: Vec<ApiToken>,
}

impl TokenList {
    /// Active tokens created before scopes existed (they may ingest and read; replace them).
    pub fn active_legacy(&self) -> usize {
        self.tokens.iter().filter(|t| t.legacy && t.state(self.now) == TokenState::Active).count()
    }
}

/// A token just created: the only time its secret value exists outside the client.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_print_and_refuse_unknown_names() {
        let s = TokenScopes::parse("read, ingest").unwrap();
        assert_eq!(s.to_string(), "ingest,read");
        assert!(s.contains(TokenScope::Read) && !s.contains(TokenScope::Admin));
        assert_eq!(s, TokenScopes::LEGACY);
        assert!(TokenScopes::parse("").unwrap().is_empty());
        assert_eq!(
            TokenScopes::parse("ingest,write").unwrap_err(),
            "Unknown token scope `write`: use ingest, read, admin, intel, blocklist or score."
        );
        let json = serde_json::to_string(&TokenScopes::of(&[TokenScope::Admin, TokenScope::Ingest])).unwrap();
        assert_eq!(json, r#"["ingest","admin"]"#);
        assert_eq!(serde_json::from_str::<TokenScopes>(&json).unwrap().to_string(), "ingest,admin");
    }

    #[test]
    fn a_token_expires_at_its_time_and_revocation_wins() {
        let t = ApiToken {
            id: 1,
            name: "n".into(),
            created_by: "cli".into(),
            created_at: 0,
            last_used_at: None,
            revoked_at: None,
            expires_at: Some(1000),
            scopes: TokenScopes::LEGACY,
            legacy: false,
        };
        assert_eq!(t.state(999), TokenState::Active);
        assert_eq!(t.state(1000), TokenState::Expired);
        assert_eq!(ApiToken { revoked_at: Some(5), ..t }.state(10), TokenState::Revoked);
    }
}
