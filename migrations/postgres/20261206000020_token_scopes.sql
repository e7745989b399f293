-- API token scopes (ingest, read, admin; comma-separated) and an optional expiry (unix ms).
-- Tokens created before scopes existed have scopes NULL: they keep working as ingest+read and are
-- shown as legacy on /admin.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
