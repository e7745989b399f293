-- Enrichment (assets, employee reports, playbooks), deduplication and traffic/KPI aggregates.
-- Kept in step with migrations/sqlite/20261121000004_enrichment.sql.
-- Assets: internal hosts, from the inventory (people) or discovered in traffic (`discovered` = 1 until
-- someone reviews them; the console shows them as "unassigned").
CREATE TABLE assets (
    id          BIGSERIAL PRIMARY KEY,
    ip          TEXT    NOT NULL UNIQUE,
    hostname    TEXT,
    owner       TEXT,
    purpose     TEXT,
    criticality TEXT    NOT NULL DEFAULT 'medium' CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    -- Comma-separated tags.
    tags        TEXT    NOT NULL DEFAULT '',
    discovered  BIGINT  NOT NULL DEFAULT 0 CHECK (discovered IN (0, 1)),
    first_seen  BIGINT,
    last_seen   BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX assets_by_criticality ON assets (criticality);

-- Employee reports of a suspicious IP or domain. Reports that are not dismissed act as threat intel:
-- a flow from a reported IP raises its alert's risk and names the report.
CREATE TABLE employee_reports (
    id             BIGSERIAL PRIMARY KEY,
    reporter_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    indicator      TEXT    NOT NULL,
    indicator_kind TEXT    NOT NULL CHECK (indicator_kind IN ('ip', 'domain')),
    category       TEXT    NOT NULL CHECK (category IN ('phishing', 'ddos', 'spam', 'malware', 'scanning', 'other')),
    description    TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'investigating', 'confirmed', 'dismissed')),
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    handled_by     BIGINT  REFERENCES users (id) ON DELETE SET NULL
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
    updated_at BIGINT  NOT NULL,
    updated_by BIGINT  REFERENCES users (id) ON DELETE SET NULL
);

-- Enrichment and deduplication of alerts.
-- `dedup_key` = source|target|threat: a detection with the same key within the window updates the
-- newest open alert (count, last_seen, max risk) instead of adding one.
ALTER TABLE alerts ADD COLUMN dedup_key TEXT;
-- ISO 3166 alpha-2 of the source (DB-IP), and the country's centroid.
ALTER TABLE alerts ADD COLUMN src_country TEXT;
ALTER TABLE alerts ADD COLUMN src_lat DOUBLE PRECISION;
ALTER TABLE alerts ADD COLUMN src_lon DOUBLE PRECISION;
ALTER TABLE alerts ADD COLUMN asset_id BIGINT  REFERENCES assets (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN report_id BIGINT  REFERENCES employee_reports (id) ON DELETE SET NULL;
-- The detector's risk before asset criticality and intel were applied.
ALTER TABLE alerts ADD COLUMN base_risk BIGINT;
CREATE INDEX alerts_by_dedup_key ON alerts (dedup_key, last_seen);
CREATE INDEX alerts_by_country ON alerts (src_country, last_seen);
CREATE INDEX alerts_by_asset ON alerts (asset_id, last_seen);
CREATE INDEX alerts_by_source ON alerts (src_ip, last_seen);

-- Traffic per minute by source country ('ZZ' = unknown or private), protocol and verdict, for the maps
-- and KPIs. Kept up to date by the pipeline in each batch's transaction.
CREATE TABLE traffic_minute (
    minute   BIGINT  NOT NULL,
    country  TEXT    NOT NULL,
    protocol BIGINT  NOT NULL,
    verdict  TEXT    NOT NULL CHECK (verdict IN ('benign', 'alert')),
    flows    BIGINT  NOT NULL,
    bytes    BIGINT  NOT NULL,
    PRIMARY KEY (minute, country, protocol, verdict)
);

-- Detections per hour by threat, asset criticality ('none' when no asset) and source country, for the
-- KPI dashboard. `alerts` counts alerts created, `detections` every detection (dedup included).
CREATE TABLE alert_hourly (
    hour        BIGINT  NOT NULL,
    threat      TEXT    NOT NULL,
    criticality TEXT    NOT NULL,
    country     TEXT    NOT NULL,
    alerts      BIGINT  NOT NULL,
    detections  BIGINT  NOT NULL,
    risk_sum    BIGINT  NOT NULL,
    max_risk    BIGINT  NOT NULL,
    PRIMARY KEY (hour, threat, criticality, country)
);
