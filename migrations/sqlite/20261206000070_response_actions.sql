-- Response actions (src/response, src/store/response.rs): blocks, isolations and manual actions,
-- recorded with who, when, why, the scope and the expiry, and who approved or lifted them. The
-- enforcement feeds read the active, unexpired ones.
-- Kept in step with migrations/postgres/20261206000070_response_actions.sql.
CREATE TABLE response_actions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL CHECK (kind IN ('block', 'isolate', 'manual')),
    -- Canonical address or network (block), host address (isolate), free text (manual).
    target       TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL,
    incident_id  INTEGER REFERENCES incidents (id) ON DELETE SET NULL,
    alert_id     INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
    requested_by TEXT    NOT NULL,
    requested_at INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'lifted', 'rejected')),
    -- Who approved or rejected it, when it needed a second person.
    decided_by   TEXT,
    decided_at   INTEGER,
    -- How long it lasts once in force (NULL: until lifted); the expiry counts from the approval.
    duration_ms  INTEGER,
    expires_at   INTEGER,
    lifted_by    TEXT,
    lifted_at    INTEGER,
    -- Why it was lifted or rejected.
    end_note     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX response_actions_by_status ON response_actions (status, expires_at);
CREATE INDEX response_actions_by_incident ON response_actions (incident_id);
CREATE INDEX response_actions_by_alert ON response_actions (alert_id);
