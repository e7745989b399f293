-- Triage: who did what to an alert, and when (the alert's history, and the source of MTTA/MTTR).
-- Kept in step with migrations/sqlite/20261121000006_triage.sql.
CREATE TABLE alert_events (
    id       BIGSERIAL PRIMARY KEY,
    alert_id BIGINT  NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at       BIGINT  NOT NULL,
    actor    TEXT    NOT NULL,
    -- acknowledge, assign, comment, resolve, false_positive, reopen
    action   TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, at);
CREATE INDEX alert_events_by_time ON alert_events (at);

-- The username an alert is assigned to, and when it was first handled and when it was closed
-- (resolved or marked a false positive; cleared when reopened).
ALTER TABLE alerts ADD COLUMN assignee TEXT;
ALTER TABLE alerts ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE alerts ADD COLUMN resolved_at BIGINT;
CREATE INDEX alerts_by_assignee ON alerts (assignee, last_seen);
