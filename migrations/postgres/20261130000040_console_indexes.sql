-- Indexes the SOC console's headline figures and attack-origin map read without touching the wide
-- alert rows (reasons and features make each row ~2 KB): per country in a time range with the
-- highest risk (covering), and the open alerts by status and risk (covering).
-- Kept in step with migrations/sqlite/20261130000040_console_indexes.sql.
DROP INDEX alerts_by_country;
CREATE INDEX alerts_by_country ON alerts (src_country, last_seen, risk);
CREATE INDEX alerts_open_by_risk ON alerts (status, risk);
