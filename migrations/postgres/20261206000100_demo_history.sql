-- Demo mode's generated history (one row, once seeded). Pages that show its data say it is
-- generated; its presence also keeps a restarted demo from seeding again.
CREATE TABLE demo_history (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    seeded_at    BIGINT NOT NULL,
    history_from BIGINT NOT NULL,
    history_to   BIGINT NOT NULL,
    alerts       BIGINT NOT NULL,
    incidents    BIGINT NOT NULL,
    reports      BIGINT NOT NULL
);
