-- Notifications (src/notify, src/store/notify.rs): channels (a signed webhook, a Slack-compatible
-- webhook, email), rules that say which events go to which channel, and the durable queue of
-- deliveries with their outcome. Deliveries are written in the transaction of the event they
-- announce (a stored alert, an incident opened or escalated), so none is lost or invented.
-- Kept in step with migrations/sqlite/20261206000080_notifications.sql.
CREATE TABLE notify_channels (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
    -- The URL (webhook, slack) or the comma-separated addresses (email).
    target         TEXT    NOT NULL,
    -- The HMAC-SHA256 key of a webhook's signature; '' for the others.
    secret         TEXT    NOT NULL DEFAULT '',
    -- Deliveries a minute; beyond it they are held and summed up in one digest.
    max_per_minute BIGINT NOT NULL DEFAULT 10 CHECK (max_per_minute BETWEEN 1 AND 1000),
    enabled        BIGINT NOT NULL DEFAULT 1,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE notify_rules (
    id              BIGSERIAL PRIMARY KEY,
    channel_id      BIGINT NOT NULL REFERENCES notify_channels (id) ON DELETE CASCADE,
    event           TEXT    NOT NULL CHECK (event IN ('alert', 'incident_opened', 'incident_escalated')),
    min_severity    TEXT    NOT NULL CHECK (min_severity IN ('low', 'medium', 'high', 'critical')),
    -- Comma-separated threat keys an alert must have one of; '' for any.
    threats         TEXT    NOT NULL DEFAULT '',
    -- The asset an alert concerns must be at least this critical; NULL for any alert.
    min_criticality TEXT    CHECK (min_criticality IS NULL OR min_criticality IN ('low', 'medium', 'high', 'critical')),
    -- The asset (by address) an alert must concern; NULL for any.
    asset_ip        TEXT,
    enabled         BIGINT NOT NULL DEFAULT 1,
    created_by      TEXT    NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX notify_rules_by_event ON notify_rules (event, enabled);

CREATE TABLE notify_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    channel_id      BIGINT NOT NULL REFERENCES notify_channels (id) ON DELETE CASCADE,
    rule_id         BIGINT REFERENCES notify_rules (id) ON DELETE SET NULL,
    -- alert, incident_opened, incident_escalated, digest, test
    event           TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    -- The JSON a webhook receives (subject and url included).
    payload         TEXT    NOT NULL,
    -- queued → sent | failed (after the last attempt); held → digested (summed up in a digest).
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'held', 'sent', 'failed', 'digested')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    -- The digest that summed up a held delivery.
    digest_id       BIGINT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (status, next_attempt_at);
CREATE INDEX notify_deliveries_by_channel ON notify_deliveries (channel_id, created_at);
