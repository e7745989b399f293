-- Flow history for hunting: every scored flow, compactly (addresses as 4- or 16-byte bytea, so that
-- a CIDR is one index range; times in Unix ms; `cc` is the outside end's country). `day` is the UTC day the flow was stored (Unix days):
-- the table is partitioned by it, one partition a day (created when its first flow is stored), and
-- retention drops whole partitions.
-- Kept in step with migrations/sqlite_flows/20261206000040_flow_history.sql.
CREATE SEQUENCE flows_id_seq;
CREATE TABLE flows (
    id BIGINT NOT NULL DEFAULT nextval('flows_id_seq'),
    day BIGINT NOT NULL,
    at BIGINT NOT NULL,
    src BYTEA NOT NULL,
    dst BYTEA NOT NULL,
    sport BIGINT NOT NULL,
    dport BIGINT NOT NULL,
    proto BIGINT NOT NULL,
    bytes_out BIGINT NOT NULL,
    bytes_in BIGINT NOT NULL,
    pkts_out BIGINT NOT NULL,
    pkts_in BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    risk BIGINT NOT NULL,
    threat TEXT NOT NULL,
    alerted BIGINT NOT NULL,
    profile BIGINT NOT NULL,
    source TEXT NOT NULL,
    token_id BIGINT,
    cc TEXT
) PARTITION BY RANGE (day);
CREATE INDEX flows_by_time ON flows (at);
CREATE INDEX flows_by_src ON flows (src, at);
CREATE INDEX flows_by_dst ON flows (dst, at);
CREATE INDEX flows_by_dport ON flows (dport, at);
CREATE INDEX flows_by_risk ON flows (risk, at) WHERE risk >= 50;
CREATE INDEX flows_by_country ON flows (cc, at);

CREATE TABLE flow_days (
    day BIGINT PRIMARY KEY,
    first_id BIGINT,
    flows BIGINT NOT NULL
);
