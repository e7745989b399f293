//! The `api_tokens` table. Only the SHA-256 of a token is stored (see [`crate::auth::create_api_token`]);
//! a lookup ignores revoked and expired tokens. `scopes` NULL marks a token created before scopes
//! existed (ingest and read, shown as legacy).

use super::{audit, now_ms, Db, Result, StoreError};
use crate::api_token::{ApiToken, TokenScopes};
use crate::audit::AuditAction;
use sqlx::any::AnyRow;
use sqlx::Row;

const COLUMNS: &str = "id, name, created_by, created_at, last_used_at, revoked_at, expires_at, scopes";

/// `last_used_at` is written at most this often per token, so busy integrators do not cost a write per
/// request.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

fn token_from_row(row: &AnyRow) -> Result<ApiToken> {
    let scopes: Option<String> = row.try_get("scopes")?;
    let (scopes, legacy) = match scopes {
        None => (TokenScopes::LEGACY, true),
        Some(list) => (
            TokenScopes::parse(&list).map_err(|_| StoreError::Corrupt { column: "api_tokens.scopes", detail: list })?,
            false,
        ),
    };
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        expires_at: row.try_get("expires_at")?,
        scopes,
        legacy,
    })
}

impl Db {
    /// Stores a new token by its hash. `name` and `scopes` are already validated.
    pub async fn create_api_token(
        &self,
        name: &str,
        token_hash: &str,
        created_by: &str,
        scopes: TokenScopes,
        expires_at: Option<i64>,
    ) -> Result<ApiToken> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (name, token_hash, created_by, created_at, scopes, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(name)
        .bind(token_hash)
        .bind(created_by)
        .bind(now)
        .bind(scopes.to_string())
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let token = token_from_row(&row)?;
        let expiry = token.expires_at.map_or("never".to_string(), crate::time::utc_minute);
        let detail = format!("id={} scopes={} expires={expiry}", token.id, token.scopes);
        audit::audit_in(&mut tx, now, created_by, AuditAction::TokenCreate, &token.name, &detail).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Every token, newest first (revoked ones too, so administrators see the history).
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn api_token_by_id(&self, id: i64) -> Result<ApiToken> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("API token #{id}")))?;
        token_from_row(&row)
    }

    /// Revokes a token (idempotent: revoking twice keeps the first time).
    pub async fn revoke_api_token(&self, id: i64, actor: &str) -> Result<ApiToken> {
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let token = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("API token #{id}")))?;
        let token = token_from_row(&token)?;
        audit::audit_in(&mut tx, now, actor, AuditAction::TokenRevoke, &token.name, &format!("id={id}")).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The live (not revoked, not expired) token with this hash, and records its use.
    pub async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let now = now_ms();
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(mut token) = row.as_ref().map(token_from_row).transpose()? else { return Ok(None) };
        if token.last_used_at.is_none_or(|t| now - t >= LAST_USED_RESOLUTION_MS) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id)
                .execute(self.pool())
                .await?;
            token.last_used_at = Some(now);
        }
        Ok(Some(token))
    }
}
