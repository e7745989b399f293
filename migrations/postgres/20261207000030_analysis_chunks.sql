-- An analysis's files (the upload and its scored rows, src/analysis/files.rs) in the database, so
-- that any instance serves its downloads and its import. Written on PostgreSQL, where several
-- instances share the database; each instance keeps a copy under AF_DATA_DIR/analyses/<id>/,
-- fetched when it first needs it. On SQLite there is one instance, and the files stay in its
-- AF_DATA_DIR alone: the table stays empty there.
CREATE TABLE analysis_chunks (
    analysis_id BIGINT  NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
    -- `input` or `rows.jsonl.gz`.
    file        TEXT    NOT NULL,
    -- The chunk's place in the file, from 0; every chunk but the last holds 1 MiB.
    seq         INTEGER NOT NULL,
    bytes       BYTEA   NOT NULL,
    PRIMARY KEY (analysis_id, file, seq)
);
