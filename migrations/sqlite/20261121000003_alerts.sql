-- Alerts (from the ML ensemble and from Suricata signatures) and per-batch ingest statistics.
-- Kept in step with migrations/postgres/20261121000003_alerts.sql.
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    src_ip     TEXT,
    src_port   INTEGER,
    dst_ip     TEXT,
    dst_port   INTEGER,
    protocol   INTEGER,
    -- The engine's threat key (`port_scan`, `ddos`, …); `signature` for Suricata alerts.
    threat     TEXT    NOT NULL,
    risk       INTEGER NOT NULL CHECK (risk BETWEEN 0 AND 100),
    severity   TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status     TEXT    NOT NULL DEFAULT 'new',
    detector   TEXT    NOT NULL CHECK (detector IN ('ml', 'signature')),
    -- The rule message of a Suricata alert.
    signature  TEXT,
    -- JSON: model signals, class probability, profile and context (ml); sid, category, severity (signature).
    reasons    TEXT    NOT NULL,
    -- JSON: the top contributing features with their values (ml); [] for signatures.
    features   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX alerts_by_time ON alerts (last_seen);
CREATE INDEX alerts_by_status ON alerts (status, last_seen);
CREATE INDEX alerts_by_threat ON alerts (threat, last_seen);
CREATE INDEX alerts_by_risk ON alerts (risk, last_seen);

-- One row per ingested batch, written in the same transaction as the batch's alerts.
CREATE TABLE ingest_stats (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    source    TEXT    NOT NULL,
    token_id  INTEGER,
    accepted  INTEGER NOT NULL,
    rejected  INTEGER NOT NULL,
    skipped   INTEGER NOT NULL,
    scored    INTEGER NOT NULL,
    alerts    INTEGER NOT NULL,
    score_ms  INTEGER NOT NULL
);
CREATE INDEX ingest_stats_by_time ON ingest_stats (at);
