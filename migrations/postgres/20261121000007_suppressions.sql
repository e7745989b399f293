-- Suppression rules: detections matching every set criterion are counted here instead of alerting.
-- Kept in step with migrations/sqlite/20261121000007_suppressions.sql.
CREATE TABLE suppressions (
    id         BIGSERIAL PRIMARY KEY,
    src_ip     TEXT,
    threat     TEXT,
    asset_ip   TEXT,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    hits       BIGINT  NOT NULL DEFAULT 0,
    last_hit   BIGINT,
    CHECK (src_ip IS NOT NULL OR threat IS NOT NULL OR asset_ip IS NOT NULL)
);
CREATE INDEX suppressions_by_expiry ON suppressions (expires_at);
