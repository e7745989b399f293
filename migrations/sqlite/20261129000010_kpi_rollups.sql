-- Rollups for the executive KPI dashboard (/exec), kept by the pipeline (`persist_batch`) and by
-- triage in the same transactions as the alerts they count, so that a KPI request reads a few
-- thousand rows whatever the number of alerts (see src/store/kpi.rs).
-- Kept in step with migrations/postgres/20261129000010_kpi_rollups.sql.
--
-- Every rollup but the asset one is kept per hour AND per UTC day (`grain`, in ms): a 30-day range
-- reads 60 daily rows per key and the hourly rows of at most two partial days, instead of 1,440
-- hourly rows per key. On SQLite they are WITHOUT ROWID tables: rows are stored in primary-key
-- order, so one period of one dimension is one contiguous range (PostgreSQL reads the same range
-- through the primary-key index).

-- Alerts by one dimension, counted like `alert_hourly` (in the hour of the first detection):
-- `alerts` = alerts created, `detections` = every detection (dedup included), `risk_sum` = the
-- detections' risks. dim 'threat': key = the threat key; 'criticality': the asset's criticality at
-- the time, or 'none'; 'country': ISO alpha-2 of the source, or 'ZZ'.
CREATE TABLE kpi_alert_rollup (
    grain      INTEGER NOT NULL CHECK (grain IN (3600000, 86400000)),
    bucket     INTEGER NOT NULL,
    dim        TEXT    NOT NULL CHECK (dim IN ('threat', 'criticality', 'country')),
    key        TEXT    NOT NULL,
    alerts     INTEGER NOT NULL,
    detections INTEGER NOT NULL,
    risk_sum   INTEGER NOT NULL,
    PRIMARY KEY (grain, dim, bucket, key)
) WITHOUT ROWID;

-- Alerts created per asset, as running totals: `alerts` = every alert on the asset first detected
-- before the end of `hour`. A row exists for each hour with new alerts on the asset; the alerts
-- of a period [a, b) are the total before b minus the total before a, so the most targeted assets
-- of any range cost four index look-ups per asset (a daily rollup of assets holds more than a
-- thousand rows a day at a million alerts a month).
CREATE TABLE kpi_asset_cumulative (
    asset_id INTEGER NOT NULL,
    hour     INTEGER NOT NULL,
    alerts   INTEGER NOT NULL,
    PRIMARY KEY (asset_id, hour)
) WITHOUT ROWID;

-- Response. `raised_<status>`: alerts by the bucket they were stored in (`created_at`) and the
-- status they have now (moved by triage). `acknowledged`: alerts first handled in the bucket, with
-- the summed time from `created_at` (MTTA). `closed`: alerts resolved or marked a false positive in
-- the bucket and not reopened since, with the summed time from `created_at` (MTTR).
CREATE TABLE kpi_response (
    grain  INTEGER NOT NULL CHECK (grain IN (3600000, 86400000)),
    bucket INTEGER NOT NULL,
    metric TEXT    NOT NULL CHECK (metric IN ('raised_new', 'raised_acknowledged', 'raised_resolved',
                                              'raised_false_positive', 'acknowledged', 'closed')),
    n      INTEGER NOT NULL,
    ms_sum INTEGER NOT NULL,
    PRIMARY KEY (grain, bucket, metric)
) WITHOUT ROWID;

-- Employee reports received per period.
CREATE INDEX employee_reports_by_time ON employee_reports (created_at);

-- Backfill from what is already stored: threat, criticality and country from `alert_hourly`; the
-- rest from the alerts themselves.
INSERT INTO kpi_alert_rollup (grain, bucket, dim, key, alerts, detections, risk_sum)
SELECT 3600000, hour, 'threat', threat, SUM(alerts), SUM(detections), SUM(risk_sum) FROM alert_hourly GROUP BY hour, threat;
INSERT INTO kpi_alert_rollup (grain, bucket, dim, key, alerts, detections, risk_sum)
SELECT 3600000, hour, 'criticality', criticality, SUM(alerts), SUM(detections), SUM(risk_sum) FROM alert_hourly GROUP BY hour, criticality;
INSERT INTO kpi_alert_rollup (grain, bucket, dim, key, alerts, detections, risk_sum)
SELECT 3600000, hour, 'country', country, SUM(alerts), SUM(detections), SUM(risk_sum) FROM alert_hourly GROUP BY hour, country;
INSERT INTO kpi_alert_rollup (grain, bucket, dim, key, alerts, detections, risk_sum)
SELECT 86400000, (bucket / 86400000) * 86400000, dim, key, SUM(alerts), SUM(detections), SUM(risk_sum)
FROM kpi_alert_rollup WHERE grain = 3600000 GROUP BY (bucket / 86400000) * 86400000, dim, key;

INSERT INTO kpi_asset_cumulative (asset_id, hour, alerts)
SELECT asset_id, hour, SUM(n) OVER (PARTITION BY asset_id ORDER BY hour) FROM (
    SELECT asset_id, (first_seen / 3600000) * 3600000 AS hour, COUNT(*) AS n FROM alerts
    WHERE asset_id IS NOT NULL GROUP BY asset_id, (first_seen / 3600000) * 3600000
) AS per_hour;

INSERT INTO kpi_response (grain, bucket, metric, n, ms_sum)
SELECT 3600000, (created_at / 3600000) * 3600000, 'raised_' || status, COUNT(*), 0 FROM alerts
WHERE status IN ('new', 'acknowledged', 'resolved', 'false_positive') GROUP BY (created_at / 3600000) * 3600000, status;
INSERT INTO kpi_response (grain, bucket, metric, n, ms_sum)
SELECT 3600000, (acknowledged_at / 3600000) * 3600000, 'acknowledged', COUNT(*), SUM(acknowledged_at - created_at) FROM alerts
WHERE acknowledged_at IS NOT NULL GROUP BY (acknowledged_at / 3600000) * 3600000;
INSERT INTO kpi_response (grain, bucket, metric, n, ms_sum)
SELECT 3600000, (resolved_at / 3600000) * 3600000, 'closed', COUNT(*), SUM(resolved_at - created_at) FROM alerts
WHERE resolved_at IS NOT NULL GROUP BY (resolved_at / 3600000) * 3600000;
INSERT INTO kpi_response (grain, bucket, metric, n, ms_sum)
SELECT 86400000, (bucket / 86400000) * 86400000, metric, SUM(n), SUM(ms_sum)
FROM kpi_response WHERE grain = 3600000 GROUP BY (bucket / 86400000) * 86400000, metric;
