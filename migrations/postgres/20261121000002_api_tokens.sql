-- API tokens for integrators (machine clients of /api/v1/...). Only the SHA-256 of a token is kept.
-- Kept in step with migrations/sqlite/20261121000002_api_tokens.sql.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT   NOT NULL,
    token_hash   TEXT   NOT NULL UNIQUE,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_by_created ON api_tokens (created_at);
