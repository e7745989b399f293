-- Demo mode's generated history (one row, once seeded). Pages that show its data say it is
-- generated; its presence also keeps a restarted demo from seeding again.
CREATE TABLE demo_history (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    seeded_at    INTEGER NOT NULL,
    history_from INTEGER NOT NULL,
    history_to   INTEGER NOT NULL,
    alerts       INTEGER NOT NULL,
    incidents    INTEGER NOT NULL,
    reports      INTEGER NOT NULL
);
