-- Threat intel (src/intel, src/store/intel.rs): named sources, each with a confidence and a default
-- expiry, and their indicators in canonical form (`Indicator`'s text). Live flows and the stored flow
-- history are matched against the addresses and networks; an indicator match raises an alert with
-- `detector = 'intel'` and threat `intel_match`. Employee reports the SOC confirmed are the built-in
-- source `employee-reports`, kept in step by the report queue.
-- Kept in step with migrations/postgres/20261206000050_threat_intel.sql.
--
-- The alerts table is rebuilt to widen its detector CHECK, as in 20261205000050_behaviour_detectors.sql
-- (the procedure of "ALTER TABLE", section 7, of the SQLite documentation).
CREATE TABLE alerts_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    src_ip     TEXT,
    src_port   INTEGER,
    dst_ip     TEXT,
    dst_port   INTEGER,
    protocol   INTEGER,
    -- The threat key (`port_scan`, `c2_beacon`, …); `signature` for Suricata alerts.
    threat     TEXT    NOT NULL,
    risk       INTEGER NOT NULL CHECK (risk BETWEEN 0 AND 100),
    severity   TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status     TEXT    NOT NULL DEFAULT 'new',
    detector   TEXT    NOT NULL CHECK (detector IN ('ml', 'signature', 'behaviour', 'intel')),
    -- The rule message of a Suricata alert.
    signature  TEXT,
    -- JSON: model signals, class probability, profile and context (ml); sid, category, severity
    -- (signature); summary, details and figures (behaviour); source and indicator (intel).
    reasons    TEXT    NOT NULL,
    -- JSON: the top contributing features with their values (ml); [] otherwise.
    features   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    dedup_key TEXT,
    src_country TEXT,
    src_lat REAL,
    src_lon REAL,
    asset_id INTEGER REFERENCES assets (id) ON DELETE SET NULL,
    report_id INTEGER REFERENCES employee_reports (id) ON DELETE SET NULL,
    base_risk INTEGER,
    assignee TEXT,
    acknowledged_at INTEGER,
    resolved_at INTEGER
);
INSERT INTO alerts_new (id, first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, severity,
                        status, detector, signature, reasons, features, created_at, dedup_key, src_country, src_lat, src_lon,
                        asset_id, report_id, base_risk, assignee, acknowledged_at, resolved_at)
SELECT id, first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, severity,
       status, detector, signature, reasons, features, created_at, dedup_key, src_country, src_lat, src_lon,
       asset_id, report_id, base_risk, assignee, acknowledged_at, resolved_at
FROM alerts;
INSERT INTO sqlite_sequence (name, seq) SELECT 'alerts_new', seq FROM sqlite_sequence WHERE name = 'alerts'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alerts_new');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'alerts'))
    WHERE name = 'alerts_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alerts');
CREATE TEMP TABLE alert_events_kept AS SELECT * FROM alert_events;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
INSERT INTO alert_events SELECT * FROM alert_events_kept;
DROP TABLE alert_events_kept;
CREATE INDEX alerts_by_time ON alerts (last_seen);
CREATE INDEX alerts_by_status ON alerts (status, last_seen);
CREATE INDEX alerts_by_threat ON alerts (threat, last_seen);
CREATE INDEX alerts_by_risk ON alerts (risk, last_seen);
CREATE INDEX alerts_by_dedup_key ON alerts (dedup_key, last_seen);
CREATE INDEX alerts_by_asset ON alerts (asset_id, last_seen);
CREATE INDEX alerts_by_source ON alerts (src_ip, last_seen);
CREATE INDEX alerts_by_assignee ON alerts (assignee, last_seen);
CREATE INDEX alerts_by_destination ON alerts (dst_ip, last_seen);
CREATE INDEX alerts_by_country ON alerts (src_country, last_seen, risk);
CREATE INDEX alerts_open_by_risk ON alerts (status, risk);

CREATE TABLE intel_sources (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Lower-case letters, digits, `.`, `_` and `-` (it is part of the import URL).
    name           TEXT    NOT NULL UNIQUE,
    -- `feed`: imported by people or tools; `reports`: the SOC-confirmed employee reports.
    kind           TEXT    NOT NULL DEFAULT 'feed' CHECK (kind IN ('feed', 'reports')),
    confidence     INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    -- Days an imported indicator stays active when its entry names no end; NULL: until removed.
    expiry_days    INTEGER CHECK (expiry_days IS NULL OR expiry_days >= 1),
    enabled        INTEGER NOT NULL DEFAULT 1,
    description    TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_import_at INTEGER,
    last_format    TEXT
);

CREATE TABLE intel_indicators (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id   INTEGER NOT NULL REFERENCES intel_sources (id) ON DELETE CASCADE,
    -- Canonical text: `203.0.113.7`, `198.51.100.0/24`, `evil.example`, `*.evil.example`, a URL, a hash.
    value       TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('ip', 'cidr', 'domain', 'url', 'hash')),
    -- The entry's own confidence; NULL: the source's.
    confidence  INTEGER CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 100),
    description TEXT    NOT NULL DEFAULT '',
    -- Where it came from: `line 12`, a STIX indicator id, a MISP attribute uuid, a report id.
    reference   TEXT    NOT NULL DEFAULT '',
    valid_from  INTEGER,
    expires_at  INTEGER,
    enabled     INTEGER NOT NULL DEFAULT 1,
    hits        INTEGER NOT NULL DEFAULT 0,
    last_hit_at INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (source_id, value)
);
CREATE INDEX intel_indicators_by_value ON intel_indicators (value);
CREATE INDEX intel_indicators_by_kind ON intel_indicators (kind, enabled);

INSERT INTO intel_sources (name, kind, confidence, expiry_days, description, created_at, updated_at)
VALUES ('employee-reports', 'reports', 80, NULL,
        'Addresses and domains reported by employees that the SOC confirmed malicious.', 0, 0);
INSERT INTO intel_indicators (source_id, value, kind, reference, created_at, updated_at)
SELECT s.id, i.indicator, i.indicator_kind, 'reported by employees', i.updated_at, i.updated_at
FROM report_indicators i, intel_sources s
WHERE s.name = 'employee-reports' AND i.status = 'confirmed';

INSERT INTO playbooks (threat, title, summary, steps, updated_at) VALUES
('intel_match',
 'Threat-intel match',
 'Traffic to or from an address that a threat-intel source lists as malicious.',
 '["Read which source listed the indicator, its confidence and its description in the alert.", "Identify the internal host and its owner from the asset inventory, and how long it has talked to the address (hunt for the address over the flow history).", "If the source is trusted and the host initiated the traffic, treat the host as compromised: isolate it and follow the command-and-control beacon playbook.", "Block the address at the firewall and proxy for the indicator''s lifetime.", "If the indicator is wrong (a shared CDN or cloud address), mark the alert as a false positive and disable the indicator on /intel so it stops matching."]',
 0);
