-- Incidents (src/incident.rs, src/store/incidents.rs): alerts grouped into a case with a title,
-- severity, status, owner and a timeline. An alert belongs to at most one incident
-- (`alerts.incident_id`). A merged incident keeps its row (`merged_into`) so links to it still
-- lead somewhere; its alerts and timeline move to the incident it was merged into.
-- Kept in step with migrations/postgres/20261206000060_incidents.sql.
CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    severity     TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status       TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'contained', 'resolved', 'false_positive')),
    owner        TEXT,
    -- The closing words: the resolution or the false-positive reason.
    resolution   TEXT    NOT NULL DEFAULT '',
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- First containment, or the closing when it was closed without being contained (time to contain).
    contained_at INTEGER,
    closed_at    INTEGER,
    merged_into  INTEGER REFERENCES incidents (id)
);
CREATE INDEX incidents_by_status ON incidents (status, updated_at);
CREATE INDEX incidents_by_created ON incidents (created_at);
CREATE INDEX incidents_by_contained ON incidents (contained_at);

CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    -- created, alerts_added, comment, assign, severity, contain, resolve, false_positive, reopen, merged
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, at);

-- Suggestions the SOC dismissed: `host:10.0.0.5` or `address:203.0.113.7`, and the newest alert
-- of the group then. The suggestion comes back when a newer alert joins it.
CREATE TABLE incident_dismissals (
    key          TEXT    PRIMARY KEY,
    newest_alert INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    at           INTEGER NOT NULL
);

ALTER TABLE alerts ADD COLUMN incident_id INTEGER REFERENCES incidents (id) ON DELETE SET NULL;
CREATE INDEX alerts_by_incident ON alerts (incident_id);
