-- The busiest sources, destinations and services per minute, for the console's traffic analytics.
-- Each batch contributes its TOP_PER_BATCH busiest keys of each dimension (by flows); the rest of
-- the batch is summed under the key '' ("everything else"), so a dimension's flows in a minute always
-- add up to that minute's flows in traffic_minute. Pruned with the flow history's retention.
CREATE TABLE traffic_top_minute (
    minute   BIGINT NOT NULL,
    -- 'src' and 'dst': an address; 'service': '<protocol>/<destination port>', e.g. 'tcp/443'.
    dim      TEXT    NOT NULL CHECK (dim IN ('src', 'dst', 'service')),
    key      TEXT    NOT NULL,
    flows    BIGINT NOT NULL,
    bytes    BIGINT NOT NULL,
    alerting BIGINT NOT NULL,
    PRIMARY KEY (minute, dim, key)
);
