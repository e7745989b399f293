-- Each report carries the note its reporter reads, set by the SOC's decisions made after it was filed.
-- A new report no longer shows the indicator's status or note (an insider could learn whether the SOC
-- investigates an address by reporting it). Existing reports keep what their reporters were shown.
ALTER TABLE employee_reports ADD COLUMN note TEXT;
UPDATE employee_reports SET note = (SELECT i.note FROM report_indicators i WHERE i.indicator = employee_reports.indicator);
