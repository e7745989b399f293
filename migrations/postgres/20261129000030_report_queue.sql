-- The SOC's queue of employee reports: one row per reported IP address or domain (an "indicator"),
-- with the status the SOC gave it, which every report of it shares, and a note to the people who
-- reported it. The queue is paged by status and last report through `report_indicators_by_status`.
-- Kept in step with migrations/sqlite/20261129000030_report_queue.sql.
CREATE TABLE report_indicators (
    indicator      TEXT    PRIMARY KEY,
    indicator_kind TEXT    NOT NULL CHECK (indicator_kind IN ('ip', 'domain')),
    status         TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'investigating', 'confirmed', 'dismissed')),
    -- What the SOC tells the reporters about it ("what became of it"), shown on /report.
    note           TEXT,
    first_reported BIGINT  NOT NULL,
    last_reported  BIGINT  NOT NULL,
    decided_by     BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    decided_at     BIGINT,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX report_indicators_by_status ON report_indicators (status, last_reported);

-- Reports filed before this migration: an indicator takes the least decided status of its reports
-- (new before investigating before confirmed before dismissed), and its reports take that status.
INSERT INTO report_indicators (indicator, indicator_kind, status, first_reported, last_reported, updated_at)
SELECT indicator, MIN(indicator_kind),
       CASE MIN(CASE status WHEN 'new' THEN 0 WHEN 'investigating' THEN 1 WHEN 'confirmed' THEN 2 ELSE 3 END)
           WHEN 0 THEN 'new' WHEN 1 THEN 'investigating' WHEN 2 THEN 'confirmed' ELSE 'dismissed' END,
       MIN(created_at), MAX(created_at), MAX(updated_at)
FROM employee_reports GROUP BY indicator;
UPDATE employee_reports SET status = (SELECT i.status FROM report_indicators i WHERE i.indicator = employee_reports.indicator);

-- Alerts that involve a reported address as their target (`alerts_by_source` covers the source).
CREATE INDEX alerts_by_destination ON alerts (dst_ip, last_seen);
