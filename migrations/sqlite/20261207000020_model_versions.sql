-- The model registry shared by every instance (src/model_registry): a retrained or learned version's
-- files, the choice of the active version, and the claim of a version number. The database is where
-- versions live; each instance keeps a copy of their files under AF_DATA_DIR/models to load them
-- from, fetched when it first sees a version. The shipped version is in git and never stored here.

-- A version number claimed by a model job when it starts ('building'), so that two instances'
-- jobs never make the same id, and its files once it is finished ('ready'). A job that failed drops
-- its claim; one whose instance died keeps it as 'building', which nothing lists.
CREATE TABLE model_versions (
    id         TEXT   NOT NULL PRIMARY KEY,
    number     BIGINT NOT NULL UNIQUE,
    state      TEXT   NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- Every file of a ready version, by its path inside the version's directory (manifest.json,
-- conn/gbdt.safetensors, version.json, …).
CREATE TABLE model_files (
    version TEXT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    path    TEXT NOT NULL,
    bytes   BLOB NOT NULL,
    PRIMARY KEY (version, path)
);

-- The active version of the whole cluster: one row, written on every switch; `generation` counts the
-- switches, so that an instance following it notices each one.
CREATE TABLE model_active (
    slot       INTEGER NOT NULL PRIMARY KEY CHECK (slot = 1),
    version    TEXT    NOT NULL,
    changed_by TEXT    NOT NULL,
    changed_at BIGINT  NOT NULL,
    generation BIGINT  NOT NULL
);
