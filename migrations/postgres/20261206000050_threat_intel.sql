-- Threat intel (src/intel, src/store/intel.rs): named sources, each with a confidence and a default
-- expiry, and their indicators in canonical form. An indicator match raises an alert with
-- `detector = 'intel'` and threat `intel_match`. Employee reports the SOC confirmed are the built-in
-- source `employee-reports`, kept in step by the report queue.
-- Kept in step with migrations/sqlite/20261206000050_threat_intel.sql.
ALTER TABLE alerts DROP CONSTRAINT alerts_detector_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_detector_check CHECK (detector IN ('ml', 'signature', 'behaviour', 'intel'));

CREATE TABLE intel_sources (
    id             BIGSERIAL PRIMARY KEY,
    -- Lower-case letters, digits, `.`, `_` and `-` (it is part of the import URL).
    name           TEXT    NOT NULL UNIQUE,
    -- `feed`: imported by people or tools; `reports`: the SOC-confirmed employee reports.
    kind           TEXT    NOT NULL DEFAULT 'feed' CHECK (kind IN ('feed', 'reports')),
    confidence     BIGINT  NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    -- Days an imported indicator stays active when its entry names no end; NULL: until removed.
    expiry_days    BIGINT  CHECK (expiry_days IS NULL OR expiry_days >= 1),
    enabled        BIGINT  NOT NULL DEFAULT 1,
    description    TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    last_import_at BIGINT,
    last_format    TEXT
);

CREATE TABLE intel_indicators (
    id          BIGSERIAL PRIMARY KEY,
    source_id   BIGINT  NOT NULL REFERENCES intel_sources (id) ON DELETE CASCADE,
    -- Canonical text: `203.0.113.7`, `198.51.100.0/24`, `evil.example`, `*.evil.example`, a URL, a hash.
    value       TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('ip', 'cidr', 'domain', 'url', 'hash')),
    -- The entry's own confidence; NULL: the source's.
    confidence  BIGINT  CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 100),
    description TEXT    NOT NULL DEFAULT '',
    -- Where it came from: `line 12`, a STIX indicator id, a MISP attribute uuid, a report id.
    reference   TEXT    NOT NULL DEFAULT '',
    valid_from  BIGINT,
    expires_at  BIGINT,
    enabled     BIGINT  NOT NULL DEFAULT 1,
    hits        BIGINT  NOT NULL DEFAULT 0,
    last_hit_at BIGINT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
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
