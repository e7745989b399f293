-- Host-behaviour detectors (beaconing, scanning, brute force, volume) raise alerts with
-- `detector = 'behaviour'` and their own threat types, each with a playbook.
-- Kept in step with migrations/postgres/20261205000050_behaviour_detectors.sql.
--
-- SQLite cannot change a CHECK constraint, so the table is rebuilt (the procedure of "ALTER TABLE",
-- section 7, of the SQLite documentation) inside sqlx's migration transaction, where `foreign_keys`
-- cannot be switched off: dropping the old table cascades into `alert_events`, so its rows are kept
-- aside and put back once the new table holds the same ids. Ids are never reused: the new table
-- takes over the old one's sequence.
CREATE TABLE alerts_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    count      INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    src_ip     TEXT,
    src_port   INTEGER,
    dst_ip     TEXT,
    dst_port   INTEGER,
    protocol   INTEGER,
    -- The threat key (`port_scan`, `c2_beacon`, …); `signature` for Suricata alerts.
    threat     TEXT    NOT NULL,
    risk       INTEGER NOT NULL CHECK (risk BETWEEN 0 AND 100),
    severity   TEXT    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status     TEXT    NOT NULL DEFAULT 'new',
    detector   TEXT    NOT NULL CHECK (detector IN ('ml', 'signature', 'behaviour')),
    -- The rule message of a Suricata alert.
    signature  TEXT,
    -- JSON: model signals, class probability, profile and context (ml); sid, category, severity
    -- (signature); summary, details and figures (behaviour).
    reasons    TEXT    NOT NULL,
    -- JSON: the top contributing features with their values (ml); [] otherwise.
    features   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    dedup_key TEXT,
    src_country TEXT,
    src_lat REAL,
    src_lon REAL,
    asset_id INTEGER REFERENCES assets (id) ON DELETE SET NULL,
    report_id INTEGER REFERENCES employee_reports (id) ON DELETE SET NULL,
    base_risk INTEGER,
    assignee TEXT,
    acknowledged_at INTEGER,
    resolved_at INTEGER
);
INSERT INTO alerts_new (id, first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, severity,
                        status, detector, signature, reasons, features, created_at, dedup_key, src_country, src_lat, src_lon,
                        asset_id, report_id, base_risk, assignee, acknowledged_at, resolved_at)
SELECT id, first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, severity,
       status, detector, signature, reasons, features, created_at, dedup_key, src_country, src_lat, src_lon,
       asset_id, report_id, base_risk, assignee, acknowledged_at, resolved_at
FROM alerts;
INSERT INTO sqlite_sequence (name, seq) SELECT 'alerts_new', seq FROM sqlite_sequence WHERE name = 'alerts'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alerts_new');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'alerts'))
    WHERE name = 'alerts_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alerts');
CREATE TEMP TABLE alert_events_kept AS SELECT * FROM alert_events;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
INSERT INTO alert_events SELECT * FROM alert_events_kept;
DROP TABLE alert_events_kept;
CREATE INDEX alerts_by_time ON alerts (last_seen);
CREATE INDEX alerts_by_status ON alerts (status, last_seen);
CREATE INDEX alerts_by_threat ON alerts (threat, last_seen);
CREATE INDEX alerts_by_risk ON alerts (risk, last_seen);
CREATE INDEX alerts_by_dedup_key ON alerts (dedup_key, last_seen);
CREATE INDEX alerts_by_asset ON alerts (asset_id, last_seen);
CREATE INDEX alerts_by_source ON alerts (src_ip, last_seen);
CREATE INDEX alerts_by_assignee ON alerts (assignee, last_seen);
CREATE INDEX alerts_by_destination ON alerts (dst_ip, last_seen);
CREATE INDEX alerts_by_country ON alerts (src_country, last_seen, risk);
CREATE INDEX alerts_open_by_risk ON alerts (status, risk);

INSERT INTO playbooks (threat, title, summary, steps, updated_at) VALUES
('c2_beacon',
 'Command-and-control beacon',
 'An internal host calls one outside endpoint again and again, at regular intervals or persistently although refused: malware checking in with its controller.',
 '["Identify the internal host and its owner from the asset inventory; note the remote address and port from the alert.", "Look the remote address up in your threat intelligence and proxy or DNS logs: which domain resolved to it, and since when does the host call it?", "Isolate the host from the network (EDR isolation or switch port) without powering it off, so memory evidence survives.", "Block the remote address and its domain at the firewall, proxy and DNS resolver.", "Find the process making the connections (EDR, netstat -b / ss -p on the host), collect it and its persistence (services, scheduled tasks, run keys).", "Search the alerts and flows for other internal hosts calling the same endpoint.", "Re-image or clean the host, reset the credentials used on it, and watch for the beacon to return."]',
 0),
('scan_inbound',
 'Inbound scan or probe',
 'An outside address probes your hosts for open services; a host with a public address receives this all day.',
 '["Check which ports were probed and whether any of them answered (the alert says how many sources probe the host).", "Make sure only the services that must be public answer from the Internet; close or firewall the rest.", "Block sources that keep coming back or that go on to log in (look for brute-force alerts from the same source).", "If a probed service is vulnerable, patch it first: scanners look for known flaws.", "Suppress the low-risk probe alerts for a host you know is exposed, once its exposure has been reviewed."]',
 0),
('scan_lateral',
 'Internal (lateral) scan',
 'An internal host probes other internal hosts: an attacker or worm mapping the network, or an unannounced scanner.',
 '["Find the scanning host and its owner in the asset inventory; ask whether a scan was authorised (inventory or vulnerability scanners).", "If it was not: isolate the host and treat it as compromised.", "List the hosts and ports it reached that answered; check those hosts for logins or new sessions from the scanner.", "Look for the process that scanned (EDR, process list) and how it arrived (recent downloads, logins, e-mail).", "If the scan was authorised, record the scanner and create a suppression rule for it."]',
 0),
('scan_outbound',
 'Outbound scan from an internal host',
 'An internal host probes many outside hosts or ports: typical of a bot spreading (Mirai scans Telnet) or of a compromised host.',
 '["Identify the host and its owner; IoT devices and cameras are the usual culprits.", "Isolate the host or block its outbound traffic except what it needs.", "Reset the device to factory settings, change default passwords and update its firmware before reconnecting it.", "Check for other alerts from the host (floods, beacons) and for other devices of the same model.", "Block outbound Telnet and other management ports at the firewall for devices that do not need them."]',
 0),
('brute_force',
 'Password guessing',
 'Many short connections from one source to a login service: someone is trying passwords.',
 '["Check the service''s authentication log for a successful login from the source address.", "Block the source at the firewall and turn on rate limiting or lockout for the service (fail2ban, account lockout policy).", "If a login succeeded: disable the account, reset its password, end its sessions and review what it did.", "Prefer keys or multi-factor authentication for the service, and remove it from the Internet if it need not be there.", "If the source is one of your hosts, treat it as compromised: it is attacking others."]',
 0),
('dos_inbound',
 'Denial of service against an asset',
 'One source floods one of your hosts with connections or packets.',
 '["Check the targeted service''s availability and load.", "Block or rate-limit the source address at the edge firewall.", "Ask the upstream provider for filtering if the flood saturates the link.", "Watch whether other sources join (a DDoS) and follow the DDoS playbook if they do.", "Record the peak rate and duration and close the alert when the flood stops."]',
 0),
('flood_outbound',
 'Flood sent by an internal host',
 'One of your hosts sends a one-sided flood to an outside address: it is likely infected and taking part in a DDoS.',
 '["Identify the host and its owner; isolate it or block its outbound traffic at once (your network is attacking someone).", "Find the malware: IoT devices often run Mirai-like bots; computers a bot process.", "Clean or re-image the host, change its passwords and update its firmware or software.", "Check for a command-and-control beacon or scan alerts from the same host to find how it was controlled.", "Tell your provider if they contact you about abuse from your address."]',
 0),
('exfiltration',
 'Large upload to a rare destination',
 'An internal host sent far more than it received to an address it rarely talks to: possibly data leaving the organisation.',
 '["Identify the host, its owner and what runs on it.", "Ask the owner what was uploaded (backups, cloud sync and large e-mails are common legitimate causes).", "Look up the destination: which domain, which service, whose is it?", "If unexplained: block the destination, isolate the host and preserve its logs and disk.", "Follow the data-breach procedure if sensitive data may have left."]',
 0);
