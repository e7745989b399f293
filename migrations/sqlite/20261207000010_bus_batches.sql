-- Batches that came through the ingest bus (src/bus), by id, written in the batch's own transaction:
-- a batch delivered again after its commit (its acknowledgement was lost, or the instance died between
-- the commit and the acknowledgement) is recognised here and stored once. Pruned after a week, far
-- beyond the stream's redelivery horizon.
CREATE TABLE bus_batches (
    id        TEXT   NOT NULL PRIMARY KEY,
    records   BIGINT NOT NULL,
    stored_at BIGINT NOT NULL
);
CREATE INDEX bus_batches_stored ON bus_batches (stored_at);
