-- API tokens for integrators (machine clients of /api/v1/...). Only the SHA-256 of a token is kept.
-- Kept in step with migrations/postgres/20261121000002_api_tokens.sql.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_by_created ON api_tokens (created_at);
