-- File analyses (/analyze): an uploaded file's report, kept until expires_at with its files under
-- <data_dir>/analyses/<id>/. Nothing here is an alert; "import as alerts" runs the file through the
-- pipeline and records its progress in the import_* columns.
CREATE TABLE analyses (
    id                 BIGSERIAL PRIMARY KEY,
    owner_id           BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name          TEXT    NOT NULL,
    format             TEXT    NOT NULL CHECK (format IN ('csv', 'zeek', 'eve')),
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    bytes              BIGINT NOT NULL,
    records            BIGINT NOT NULL,
    rejected           BIGINT NOT NULL,
    alerts             BIGINT NOT NULL,
    model_version      TEXT    NOT NULL,
    -- The AnalysisReport as JSON.
    report             TEXT    NOT NULL,
    import_status      TEXT    CHECK (import_status IN ('running', 'done', 'failed')),
    import_by          TEXT,
    import_started_at  BIGINT,
    import_finished_at BIGINT,
    import_records     BIGINT NOT NULL DEFAULT 0,
    import_created     BIGINT NOT NULL DEFAULT 0,
    import_updated     BIGINT NOT NULL DEFAULT 0,
    import_error       TEXT
);
CREATE INDEX analyses_owner ON analyses (owner_id, created_at);
CREATE INDEX analyses_expiry ON analyses (expires_at);

-- Where an alert came from when it was not live traffic: the analysed file it was imported from.
ALTER TABLE alerts ADD COLUMN origin TEXT;
