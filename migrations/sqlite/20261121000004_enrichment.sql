-- Enrichment (assets, employee reports, playbooks), deduplication and traffic/KPI aggregates.
-- Kept in step with migrations/postgres/20261121000004_enrichment.sql.
-- Assets: internal hosts, from the inventory (people) or discovered in traffic (`discovered` = 1 until
-- someone reviews them; the console shows them as "unassigned").
CREATE TABLE assets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ip          TEXT    NOT NULL UNIQUE,
    hostname    TEXT,
    owner       TEXT,
    purpose     TEXT,
    criticality TEXT    NOT NULL DEFAULT 'medium' CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    -- Comma-separated tags.
    tags        TEXT    NOT NULL DEFAULT '',
    discovered  INTEGER NOT NULL DEFAULT 0 CHECK (discovered IN (0, 1)),
    first_seen  INTEGER,
    last_seen   INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX assets_by_criticality ON assets (criticality);

-- Employee reports of a suspicious IP or domain. Reports that are not dismissed act as threat intel:
-- a flow from a reported IP raises its alert's risk and names the report.
CREATE TABLE employee_reports (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    indicator      TEXT    NOT NULL,
    indicator_kind TEXT    NOT NULL CHECK (indicator_kind IN ('ip', 'domain')),
    category       TEXT    NOT NULL CHECK (category IN ('phishing', 'ddos', 'spam', 'malware', 'scanning', 'other')),
    description    TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'investigating', 'confirmed', 'dismissed')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    handled_by     INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX employee_reports_by_indicator ON employee_reports (indicator, status);
CREATE INDEX employee_reports_by_reporter ON employee_reports (reporter_id, created_at);
CREATE INDEX employee_reports_by_status ON employee_reports (status, created_at);

-- One playbook per threat key (seeded by the next migration).
CREATE TABLE playbooks (
    threat     TEXT    PRIMARY KEY,
    title      TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    -- JSON array of step texts, in order.
    steps      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);

-- Enrichment and deduplication of alerts.
-- `dedup_key` = source|target|threat: a detection with the same key within the window updates the
-- newest open alert (count, last_seen, max risk) instead of adding one.
ALTER TABLE alerts ADD COLUMN dedup_key TEXT;
-- ISO 3166 alpha-2 of the source (DB-IP), and the country's centroid.
ALTER TABLE alerts ADD COLUMN src_country TEXT;
ALTER TABLE alerts ADD COLUMN src_lat REAL;
ALTER TABLE alerts ADD COLUMN src_lon REAL;
ALTER TABLE alerts ADD COLUMN asset_id INTEGER REFERENCES assets (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN report_id INTEGER REFERENCES employee_reports (id) ON DELETE SET NULL;
-- The detector's risk before asset criticality and intel were applied.
ALTER TABLE alerts ADD COLUMN base_risk INTEGER;
CREATE INDEX alerts_by_dedup_key ON alerts (dedup_key, last_seen);
CREATE INDEX alerts_by_country ON alerts (src_country, last_seen);
CREATE INDEX alerts_by_asset ON alerts (asset_id, last_seen);
CREATE INDEX alerts_by_source ON alerts (src_ip, last_seen);

-- Traffic per minute by source country ('ZZ' = unknown or private), protocol and verdict, for the maps
-- and KPIs. Kept up to date by the pipeline in each batch's transaction.
CREATE TABLE traffic_minute (
    minute   INTEGER NOT NULL,
    country  TEXT    NOT NULL,
    protocol INTEGER NOT NULL,
    verdict  TEXT    NOT NULL CHECK (verdict IN ('benign', 'alert')),
    flows    INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    PRIMARY KEY (minute, country, protocol, verdict)
);

-- Detections per hour by threat, asset criticality ('none' when no asset) and source country, for the
-- KPI dashboard. `alerts` counts alerts created, `detections` every detection (dedup included).
CREATE TABLE alert_hourly (
    hour        INTEGER NOT NULL,
    threat      TEXT    NOT NULL,
    criticality TEXT    NOT NULL,
    country     TEXT    NOT NULL,
    alerts      INTEGER NOT NULL,
    detections  INTEGER NOT NULL,
    risk_sum    INTEGER NOT NULL,
    max_risk    INTEGER NOT NULL,
    PRIMARY KEY (hour, threat, criticality, country)
);
