-- Flow history for hunting: every scored flow, compactly (addresses as 4- or 16-byte blobs, so that a
-- CIDR is one index range; times in Unix ms; `cc` is the outside end's country). `day` is the UTC day the flow was stored (Unix days):
-- retention drops whole days. On SQLite the ids grow with storage time, so a day's flows are one id
-- range (`flow_days.first_id`) and dropping a day is a range delete on the primary key.
-- On SQLite the flow history is its own database file beside the main one (`<name>-flows.db`, see
-- src/store/flows.rs), with its own migrations (this folder): its writes never hold up the alerts'.
-- Kept in step with migrations/postgres/20261206000040_flow_history.sql (which partitions by day).
CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    day INTEGER NOT NULL,
    at INTEGER NOT NULL,
    src BLOB NOT NULL,
    dst BLOB NOT NULL,
    sport INTEGER NOT NULL,
    dport INTEGER NOT NULL,
    proto INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    bytes_in INTEGER NOT NULL,
    pkts_out INTEGER NOT NULL,
    pkts_in INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    risk INTEGER NOT NULL,
    threat TEXT NOT NULL,
    alerted INTEGER NOT NULL,
    profile INTEGER NOT NULL,
    source TEXT NOT NULL,
    token_id INTEGER,
    cc TEXT
);
CREATE INDEX flows_by_time ON flows (at);
CREATE INDEX flows_by_src ON flows (src, at);
CREATE INDEX flows_by_dst ON flows (dst, at);
CREATE INDEX flows_by_dport ON flows (dport, at);
-- Only risky flows: a hunt for them names `risk >= 50` (see where_clause), and the benign majority costs
-- no insert here.
CREATE INDEX flows_by_risk ON flows (risk, at) WHERE risk >= 50;

CREATE TABLE flow_days (
    day INTEGER PRIMARY KEY,
    first_id INTEGER,
    flows INTEGER NOT NULL
);
