//! A generator of large, realistic alert histories: demo mode's 30 days ([`DEMO`], seeded by
//! [`super::seed`]) and the KPI benchmark's databases ([`BENCH`], `anomalyforge kpi generate`). It
//! lives with the demo, not with the KPIs: the KPI code only reads what it writes.
//!
//! It writes synthetic alerts (never shown as real ones: every asset, address and report it makes is
//! named `bench-…` or comes from documentation-free random space) spread over a number of days
//! ending now, with the rollups the pipeline and triage would have kept for them. The rollup rows
//! come from the same functions `persist_batch` and `triage` use ([`crate::kpi::rollup`] and the
//! `alert_hourly` aggregation), so the KPI queries see exactly what they would see in production.
//!
//! What is realistic about it: a daily rhythm (more alerts in European working hours) and quieter
//! weekends, a few incident days with a burst of one threat, threat types in plausible
//! proportions, source countries and targeted assets with long tails (a few get most alerts), risk
//! by threat and asset criticality, repeated detections merged into alerts, and triage that is faster
//! for critical alerts, leaves many low ones untouched, closes some as false positives, and gets a
//! little faster over the weeks (so the previous-period comparisons move).
//!
//! Speed: one transaction per day of alerts, multi-row inserts; about a minute for 1,000,000 alerts
//! on SQLite on the project's machine (see the README).

use crate::alert::{dedup_key, AlertStatus, Severity};
use crate::asset::{AssetEdit, Criticality};
use crate::kpi::rollup::{AlertContribution, AlertRollup, ResponseDeltas, TriageStep};
use crate::kpi::{floor, DAY, HOUR};
use crate::store::alerts::HourlyRollup;
use crate::store::sql::{values_clause, ROWS_PER_INSERT};
use crate::store::{Db, Result, StoreError};
use crate::worldmap::WorldMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Who the generated data is for: its names, the analysts who triage it and the people who report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavour {
    /// Written into every generated alert's reasons as `"generated"`, and into the assets' purpose.
    pub label: &'static str,
    /// The first word of generated asset names and tags (`bench-web-0001`).
    pub prefix: &'static str,
    /// The accounts named as assignees and actors of the triage.
    pub analysts: &'static [&'static str],
    /// The accounts the employee reports come from; missing ones are created as employees that
    /// cannot sign in (random password, never shown).
    pub reporters: &'static [&'static str],
}

/// The KPI benchmark's databases (`anomalyforge kpi generate`).
pub const BENCH: Flavour = Flavour {
    label: "KPI benchmark",
    prefix: "bench",
    analysts: &["bench.ana", "bench.ben", "bench.chloe", "bench.dev"],
    reporters: &["bench.employee1", "bench.employee2", "bench.employee3", "bench.employee4", "bench.employee5"],
};

/// The history demo mode starts with (the demo accounts triage and report).
pub const DEMO: Flavour = Flavour {
    label: "demo history",
    prefix: "demo",
    analysts: &["demo.analyst", "demo.responder"],
    reporters: &["demo.employee"],
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub alerts: u64,
    pub days: u32,
    pub assets: u32,
    pub seed: u64,
    /// The end of the generated history (unix ms), usually now.
    pub end: i64,
    pub flavour: Flavour,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    pub alerts: u64,
    pub detections: u64,
    pub acknowledged: u64,
    pub closed: u64,
    pub events: u64,
    pub assets: u64,
    pub reports: u64,
    /// The incident days (midnight UTC, unix ms) and the threat that burst on each.
    pub incident_days: Vec<(i64, &'static str)>,
}

/// Threat keys with their share of alerts, base risk and typical target port.
const THREATS: [(&str, f64, f64, i64); 15] = [
    ("port_scan", 26.0, 35.0, 0),
    ("ddos", 9.0, 72.0, 80),
    ("dos_hulk", 6.0, 60.0, 80),
    ("dos_golden_eye", 2.0, 58.0, 80),
    ("dos_slowloris", 2.0, 55.0, 80),
    ("dos_slowhttptest", 1.5, 52.0, 80),
    ("ssh_patator", 10.0, 62.0, 22),
    ("ftp_patator", 4.0, 55.0, 21),
    ("web_brute_force", 5.0, 64.0, 443),
    ("web_xss", 2.0, 70.0, 443),
    ("web_sql_injection", 2.0, 82.0, 443),
    ("botnet", 5.0, 80.0, 8080),
    ("infiltration", 0.5, 92.0, 445),
    ("signature", 17.0, 50.0, 445),
    ("unknown_anomaly", 8.0, 45.0, 0),
];

/// Source countries (ISO alpha-2) in rough order of attack volume; `ZZ` is unknown or private.
const COUNTRIES: [&str; 40] = [
    "CN",
    "US",
    "RU",
    "NL",
    "DE",
    "BR",
    "IN",
    "VN",
    "KR",
    "FR",
    "GB",
    crate::worldmap::Country::UNKNOWN,
    "UA",
    "ID",
    "TW",
    "SG",
    "HK",
    "RO",
    "IR",
    "TR",
    "JP",
    "CA",
    "PL",
    "BG",
    "TH",
    "AR",
    "MX",
    "ZA",
    "IT",
    "ES",
    "SE",
    "PK",
    "BD",
    "EG",
    "NG",
    "KZ",
    "CO",
    "CL",
    "PH",
    "MY",
];

const RISK_JITTER: f64 = 18.0;

/// A Zipf-like table: item `k` (0-based) has weight `1 / (k + 1)^s`.
struct LongTail {
    cumulative: Vec<f64>,
}

impl LongTail {
    fn new(n: usize, s: f64) -> LongTail {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect();
        LongTail { cumulative }
    }

    fn weighted(weights: impl Iterator<Item = f64>) -> LongTail {
        let mut total = 0.0;
        LongTail {
            cumulative: weights
                .map(|w| {
                    total += w;
                    total
                })
                .collect(),
        }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.gen::<f64>() * total;
        self.cumulative.partition_point(|c| *c <= x).min(self.cumulative.len().saturating_sub(1))
    }
}

/// A log-normal duration in ms with the given median (Box–Muller).
fn log_normal(rng: &mut ChaCha8Rng, median_ms: f64, sigma: f64) -> i64 {
    let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-12), rng.gen());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (median_ms * (sigma * z).exp()).round() as i64
}

/// Relative alert volume of an hour: a working-day rhythm (UTC) and quieter weekends.
fn hour_weight(hour_start: i64) -> f64 {
    let h = (hour_start.rem_euclid(DAY) / HOUR) as f64;
    let weekday = (hour_start.div_euclid(DAY) + 3).rem_euclid(7); // 0 = Monday (1970-01-01 was a Thursday)
    let daily = 1.0 + 0.6 * (std::f64::consts::PI * (h - 8.0) / 12.0).sin().max(-0.6);
    daily * if weekday >= 5 { 0.6 } else { 1.0 }
}

/// One asset of the generated inventory.
struct BenchAsset {
    id: i64,
    ip: String,
    criticality: Criticality,
}

/// Per severity: chance to be handled at all, median time to acknowledge, chance to be closed once
/// handled, median time from acknowledgement to closing, share of false positives among closings.
fn triage_profile(severity: Severity) -> (f64, f64, f64, f64, f64) {
    let min = 60_000.0;
    match severity {
        Severity::Critical => (0.98, 6.0 * min, 0.95, 2.0 * HOUR as f64, 0.05),
        Severity::High => (0.92, 25.0 * min, 0.9, 5.0 * HOUR as f64, 0.08),
        Severity::Medium => (0.6, 2.5 * HOUR as f64, 0.85, 10.0 * HOUR as f64, 0.15),
        Severity::Low => (0.25, 9.0 * HOUR as f64, 0.8, DAY as f64, 0.3),
    }
}

/// Columns of a generated alert (see `store::alerts` for their meaning).
const ALERT_COLUMNS: &str = "first_seen, last_seen, count, src_ip, src_port, dst_ip, dst_port, protocol, threat, risk, severity, \
                             detector, signature, reasons, features, created_at, dedup_key, src_country, src_lat, src_lon, asset_id, \
                             base_risk, status, assignee, acknowledged_at, resolved_at";
const ALERT_BINDS: usize = 26;

/// One generated alert, ready to insert.
struct Row {
    first_seen: i64,
    last_seen: i64,
    count: i64,
    src_ip: String,
    src_port: i64,
    dst_ip: Option<String>,
    dst_port: i64,
    threat: &'static str,
    risk: i64,
    base_risk: i64,
    risk_sum: i64,
    country: &'static str,
    centroid: Option<(f64, f64)>,
    asset: Option<(i64, Criticality)>,
    created_at: i64,
    status: AlertStatus,
    assignee: Option<&'static str>,
    acknowledged_at: Option<i64>,
    resolved_at: Option<i64>,
}

/// Fills `db` (which must hold no alerts yet) with a history of `opts.days` days ending at
/// `opts.end`. `progress` is called after each day with the alerts written so far.
pub async fn generate(db: &Db, opts: &GenerateOptions, mut progress: impl FnMut(u64)) -> Result<Generated> {
    if db.count_alerts().await? > 0 {
        return Err(StoreError::Invalid(
            "the database already holds alerts; generate into a new, empty database".into(),
        ));
    }
    if opts.days == 0 || opts.alerts == 0 || opts.assets == 0 {
        return Err(StoreError::Invalid("alerts, days and assets must be at least 1".into()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut out = Generated::default();
    let start = floor(opts.end, HOUR) - i64::from(opts.days) * DAY;

    let flavour = opts.flavour;
    let assets = make_assets(db, opts.assets, flavour, &mut rng).await?;
    out.assets = assets.len() as u64;
    out.reports = make_reports(db, start, opts.end, flavour, &mut rng).await?;

    // Alerts per hour: the rhythm, plus three incident days with four times the volume.
    let hours: Vec<i64> = (0..).map(|h| start + h * HOUR).take_while(|h| *h < opts.end).collect();
    let first_day = floor(start, DAY) + DAY;
    let incidents: Vec<i64> = (0..3).map(|_| first_day + rng.gen_range(0..i64::from(opts.days)) * DAY).collect();
    const BURSTS: [&str; 3] = ["ddos", "ssh_patator", "web_sql_injection"];
    out.incident_days = incidents.iter().zip(BURSTS).filter(|(d, _)| **d < opts.end).map(|(d, t)| (*d, t)).collect();
    let weights: Vec<f64> = hours
        .iter()
        .map(|&h| {
            let span = (opts.end - h).min(HOUR) as f64 / HOUR as f64;
            hour_weight(h) * span * if incidents.contains(&floor(h, DAY)) { 4.0 } else { 1.0 }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut per_hour: Vec<u64> = weights.iter().map(|w| (opts.alerts as f64 * w / total).floor() as u64).collect();
    let short = opts.alerts - per_hour.iter().sum::<u64>();
    let by_weight = LongTail::weighted(weights.iter().copied());
    for _ in 0..short {
        per_hour[by_weight.pick(&mut rng)] += 1;
    }

    let threat_table = LongTail::weighted(THREATS.iter().map(|t| t.1));
    let country_table = LongTail::new(COUNTRIES.len(), 1.1);
    let asset_table = LongTail::new(assets.len(), 1.05);
    let map = WorldMap::bundled();
    let span = (opts.end - start) as f64;

    let mut day_start = start;
    let mut i = 0;
    while i < hours.len() {
        let mut rows: Vec<Row> = Vec::new();
        while i < hours.len() && hours[i] < day_start + DAY {
            let h = hours[i];
            let incident_threat = incidents.iter().position(|d| *d == floor(h, DAY)).map(|k| BURSTS[k]);
            for _ in 0..per_hour[i] {
                let first_seen = h + rng.gen_range(0..(opts.end - h).min(HOUR));
                let threat_i = threat_table.pick(&mut rng);
                let threat = match incident_threat {
                    Some(t) if rng.gen_bool(0.7) => t,
                    _ => THREATS[threat_i].0,
                };
                let (_, _, base, port) = THREATS.iter().find(|t| t.0 == threat).copied().unwrap_or(THREATS[0]);
                let country = COUNTRIES[country_table.pick(&mut rng)];
                let asset = rng.gen_bool(0.9).then(|| &assets[asset_table.pick(&mut rng)]);
                let base_risk = (base + rng.gen_range(-RISK_JITTER..RISK_JITTER)).clamp(5.0, 100.0);
                let risk = asset.map_or(base_risk, |a| f64::from(a.criticality.weigh(base_risk as f32))).round() as i64;
                let count = 1 + (-(rng.gen::<f64>().max(1e-9)).ln() * 2.5) as i64;
                // Learning curve: towards the end, analysts take 70 % of the time they took at first.
                let pace = 1.0 - 0.3 * (first_seen - start) as f64 / span;
                rows.push(triaged(
                    Row {
                        first_seen,
                        last_seen: first_seen + (count - 1) * rng.gen_range(1_000..30_000),
                        count,
                        src_ip: format!(
                            "{}.{}.{}.{}",
                            rng.gen_range(1..224),
                            rng.gen_range(0..256),
                            rng.gen_range(0..256),
                            rng.gen_range(1..255)
                        ),
                        src_port: rng.gen_range(1024..65535),
                        dst_ip: asset.map(|a| a.ip.clone()),
                        dst_port: if port == 0 { rng.gen_range(1..1024) } else { port },
                        threat,
                        risk: risk.clamp(0, 100),
                        base_risk: base_risk.round() as i64,
                        risk_sum: (0..count)
                            .map(|_| (risk as f64 - rng.gen_range(0.0..8.0)).max(1.0).round() as i64)
                            .sum::<i64>()
                            .max(count),
                        country,
                        centroid: map.country(country).map(|c| (c.centroid.1, c.centroid.0)),
                        asset: asset.map(|a| (a.id, a.criticality)),
                        created_at: first_seen + rng.gen_range(300..5_000),
                        status: AlertStatus::New,
                        assignee: None,
                        acknowledged_at: None,
                        resolved_at: None,
                    },
                    pace,
                    opts.end,
                    flavour.analysts,
                    &mut rng,
                ));
            }
            i += 1;
        }
        rows.sort_by_key(|r| r.first_seen);
        write_day(db, &rows, flavour, &mut out).await?;
        progress(out.alerts);
        day_start += DAY;
    }
    Ok(out)
}

/// Decides what triage did to an alert by `end`.
fn triaged(mut r: Row, pace: f64, end: i64, analysts: &'static [&'static str], rng: &mut ChaCha8Rng) -> Row {
    let (p_handle, ack_median, p_close, close_median, p_fp) = triage_profile(Severity::from_risk(r.risk));
    if !rng.gen_bool(p_handle) {
        return r;
    }
    let ack = r.created_at + log_normal(rng, ack_median * pace, 1.0).max(5_000);
    if ack >= end {
        return r;
    }
    r.status = AlertStatus::Acknowledged;
    r.acknowledged_at = Some(ack);
    r.assignee = Some(analysts[rng.gen_range(0..analysts.len())]);
    if rng.gen_bool(p_close) {
        let closed = ack + log_normal(rng, close_median * pace, 0.9).max(60_000);
        if closed < end {
            r.status = if rng.gen_bool(p_fp) { AlertStatus::FalsePositive } else { AlertStatus::Resolved };
            r.resolved_at = Some(closed);
        }
    }
    r
}

/// Inserts one day of alerts with their triage history and rollups, in one transaction.
async fn write_day(db: &Db, rows: &[Row], flavour: Flavour, out: &mut Generated) -> Result<()> {
    let mut tx = db.pool().begin().await?;
    let mut hourly = HourlyRollup::default();
    let mut kpi = AlertRollup::default();
    let mut response = ResponseDeltas::default();
    // Triage events: (index in `rows`, at, actor, action).
    let mut events: Vec<(usize, i64, &'static str, &'static str)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let asset_id = r.asset.map(|a| a.0);
        let contribution = AlertContribution {
            seen_at: r.first_seen,
            threat: r.threat,
            criticality: r.asset.map(|a| a.1.as_str()),
            country: Some(r.country),
            asset_id,
            created: 1,
            detections: r.count,
            risk_sum: r.risk_sum,
        };
        hourly.add(&contribution, r.risk);
        kpi.add(&contribution);
        response.raised(r.created_at, 1);
        if let Some(ack) = r.acknowledged_at {
            let step = TriageStep {
                created_at: r.created_at,
                acknowledged_at: None,
                resolved_at: None,
                from: AlertStatus::New,
                to: AlertStatus::Acknowledged,
                at: ack,
            };
            response.step(&step);
            events.push((i, ack, r.assignee.unwrap_or(flavour.analysts[0]), "assign"));
            if let Some(closed) = r.resolved_at {
                response.step(&TriageStep {
                    created_at: r.created_at,
                    acknowledged_at: Some(ack),
                    resolved_at: None,
                    from: AlertStatus::Acknowledged,
                    to: r.status,
                    at: closed,
                });
                let action = if r.status == AlertStatus::FalsePositive { "false_positive" } else { "resolve" };
                events.push((i, closed, r.assignee.unwrap_or(flavour.analysts[0]), action));
                out.closed += 1;
            }
            out.acknowledged += 1;
        }
        out.detections += r.count as u64;
    }

    let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES {} RETURNING id",
            values_clause(chunk.len(), ALERT_BINDS, "")
        );
        // Unnamed, as in `persist_batch`: sqlx's `Any` driver binds a NULL f64 (an alert without
        // coordinates) as a float4 NULL, and PostgreSQL would refuse the next chunk's coordinates
        // in a statement prepared with it.
        let mut q = sqlx::query(&sql).persistent(false);
        for r in chunk {
            let signature =
                (r.threat == crate::alert::SIGNATURE_THREAT).then_some("ET SCAN Suspicious inbound to mySQL port 3306");
            let detector = if signature.is_some() { "signature" } else { "ml" };
            let reasons = format!(
                "{{\"generated\":\"{}\",\"models\":{{\"classifier\":{:.2},\"isolation_forest\":{:.2}}},\"context\":[\"asset criticality\"]}}",
                flavour.label,
                r.base_risk as f64 / 100.0,
                r.risk as f64 / 110.0
            );
            q = q
                .bind(r.first_seen)
                .bind(r.last_seen)
                .bind(r.count)
                .bind(r.src_ip.clone())
                .bind(r.src_port)
                .bind(r.dst_ip.clone())
                .bind(r.dst_port)
                .bind(6_i64)
                .bind(r.threat)
                .bind(r.risk)
                .bind(Severity::from_risk(r.risk).as_str())
                .bind(detector)
                .bind(signature)
                .bind(reasons)
                .bind("[]")
                .bind(r.created_at)
                .bind(dedup_key(Some(&r.src_ip), r.dst_ip.as_deref(), r.threat))
                .bind((r.country != crate::worldmap::Country::UNKNOWN).then_some(r.country))
                .bind(r.centroid.map(|c| c.0))
                .bind(r.centroid.map(|c| c.1))
                .bind(r.asset.map(|a| a.0))
                .bind(r.base_risk)
                .bind(r.status.as_str())
                .bind(r.assignee)
                .bind(r.acknowledged_at)
                .bind(r.resolved_at);
        }
        for row in q.fetch_all(&mut *tx).await? {
            ids.push(sqlx::Row::try_get(&row, "id")?);
        }
    }
    for chunk in events.chunks(ROWS_PER_INSERT * 4) {
        let sql = format!(
            "INSERT INTO alert_events (alert_id, at, actor, action, detail) VALUES {}",
            values_clause(chunk.len(), 5, "")
        );
        let mut q = sqlx::query(&sql);
        for (i, at, actor, action) in chunk {
            let detail = if *action == "assign" { *actor } else { "" };
            q = q.bind(ids[*i]).bind(*at).bind(*actor).bind(*action).bind(detail);
        }
        q.execute(&mut *tx).await?;
    }
    hourly.write(&mut tx).await?;
    crate::store::kpi::add_alert_rollup(&mut tx, kpi).await?;
    crate::store::kpi::add_response(&mut tx, response).await?;
    tx.commit().await?;
    out.alerts += rows.len() as u64;
    out.events += events.len() as u64;
    Ok(())
}

/// `n` assets of every criticality (5 % critical, 15 % high, 50 % medium, 30 % low), in an order
/// unrelated to criticality so the most targeted ones are of mixed criticality.
async fn make_assets(db: &Db, n: u32, flavour: Flavour, rng: &mut ChaCha8Rng) -> Result<Vec<BenchAsset>> {
    let prefix = flavour.prefix;
    let (label, team) = (flavour.label, if prefix == "bench" { "Bench" } else { "Demo" });
    let roles = ["web", "db", "mail", "vpn", "files", "build", "hr-app", "erp", "dc", "print", "laptop", "cam"];
    let edits: Vec<AssetEdit> = (0..n)
        .map(|k| {
            let x: f64 = rng.gen();
            let criticality = match x {
                x if x < 0.05 => Criticality::Critical,
                x if x < 0.20 => Criticality::High,
                x if x < 0.70 => Criticality::Medium,
                _ => Criticality::Low,
            };
            let role = roles[rng.gen_range(0..roles.len())];
            AssetEdit {
                ip: format!("10.{}.{}.{}", 20 + k / 62_000, (k / 250) % 248, k % 250 + 1),
                hostname: Some(format!("{prefix}-{role}-{k:04}")),
                owner: Some(format!("{team} team {}", k % 9 + 1)),
                purpose: Some(format!("Generated {role} host for the {label}")),
                criticality,
                tags: vec![prefix.into()],
            }
        })
        .collect();
    db.import_assets(&edits, None, 0).await?;
    let index = db.asset_index().await?;
    Ok(edits
        .iter()
        .filter_map(|e| {
            index.iter().find(|a| a.ip == e.ip).map(|a| BenchAsset {
                id: a.id,
                ip: a.ip.clone(),
                criticality: a.criticality,
            })
        })
        .collect())
}

/// A few employee reports a day from five generated employees (who cannot sign in: their password
/// is random and never shown), older ones triaged.
async fn make_reports(db: &Db, start: i64, end: i64, flavour: Flavour, rng: &mut ChaCha8Rng) -> Result<u64> {
    let mut reporters = Vec::new();
    for &name in flavour.reporters {
        let user = match db.user_by_username(name).await? {
            Some(u) => u,
            None => {
                let password = crate::auth::random_password();
                let hash =
                    crate::auth::hash_password(password).await.map_err(|e| StoreError::Invalid(e.to_string()))?;
                db.create_user(name, name, crate::role::Role::Employee, &hash, false, None).await?
            }
        };
        reporters.push(user.id);
    }
    let categories = ["phishing", "ddos", "spam", "malware", "scanning", "other"];
    let mut tx = db.pool().begin().await?;
    let mut n = 0;
    let mut t = start;
    loop {
        t += log_normal(rng, 7.0 * HOUR as f64, 0.8).max(60_000);
        if t >= end {
            break;
        }
        let age = end - t;
        let status = match rng.gen::<f64>() {
            _ if age < 6 * HOUR => "new",
            x if x < 0.35 => "confirmed",
            x if x < 0.75 => "dismissed",
            x if x < 0.9 => "investigating",
            _ => "new",
        };
        sqlx::query(
            "INSERT INTO employee_reports (reporter_id, indicator, indicator_kind, category, description, status, created_at, updated_at) \
             VALUES ($1, $2, 'ip', $3, $4, $5, $6, $7)",
        )
        .bind(reporters[rng.gen_range(0..reporters.len())])
        .bind(format!("{}.{}.{}.{}", rng.gen_range(1..224), rng.gen_range(0..256), rng.gen_range(0..256), rng.gen_range(1..255)))
        .bind(categories[rng.gen_range(0..categories.len())])
        .bind(format!("Generated report for the {}", flavour.label))
        .bind(status)
        .bind(t)
        .bind(if status == "new" { t } else { (t + 2 * HOUR).min(end) })
        .execute(&mut *tx)
        .await?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_tails_favour_the_first_items() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let t = LongTail::new(100, 1.1);
        let mut counts = [0u32; 100];
        for _ in 0..20_000 {
            counts[t.pick(&mut rng)] += 1;
        }
        assert!(counts[0] > counts[9] * 5 && counts[99] > 0, "{counts:?}");
        let w = LongTail::weighted([0.0, 1.0, 0.0].into_iter());
        assert!((0..100).all(|_| w.pick(&mut rng) == 1), "zero weights are never picked");
    }

    #[test]
    fn the_rhythm_peaks_in_working_hours_and_dips_at_weekends() {
        // 2026-11-16 was a Monday.
        let monday = 1_795_219_200_000 - 5 * DAY;
        assert_eq!(crate::time::utc_minute_plain(monday), "2026-11-16 00:00");
        assert!(hour_weight(monday + 14 * HOUR) > hour_weight(monday + 3 * HOUR));
        assert!(hour_weight(monday + 5 * DAY + 14 * HOUR) < hour_weight(monday + 14 * HOUR), "Saturday");
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut v: Vec<i64> = (0..1001).map(|_| log_normal(&mut rng, 600_000.0, 1.0)).collect();
        v.sort_unstable();
        assert!((400_000..900_000).contains(&v[500]), "median near 10 min: {}", v[500]);
    }
}
