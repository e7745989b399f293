-- Every instance's sample of the flows it scored (src/baseline/shared.rs), written every five
-- minutes on PostgreSQL so that learning the network's normal on one instance uses the flows every
-- instance scored. `id` names the sample (random per process); `sample` is its gzip'd binary form.
CREATE TABLE site_samples (
    id         TEXT   NOT NULL PRIMARY KEY,
    updated_at BIGINT NOT NULL,
    sample     BLOB   NOT NULL
);
