-- Suppression rules: detections matching every set criterion are counted here instead of alerting.
-- Kept in step with migrations/postgres/20261121000007_suppressions.sql.
CREATE TABLE suppressions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    src_ip     TEXT,
    threat     TEXT,
    asset_ip   TEXT,
    reason     TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    hits       INTEGER NOT NULL DEFAULT 0,
    last_hit   INTEGER,
    CHECK (src_ip IS NOT NULL OR threat IS NOT NULL OR asset_ip IS NOT NULL)
);
CREATE INDEX suppressions_by_expiry ON suppressions (expires_at);
