#![cfg(feature = "server")]
//! The KPI report against hand-computed fixtures, on SQLite and on PostgreSQL (when
//! `AF_TEST_POSTGRES_URL` is set; see `tests/store.rs`): totals, trends per bucket, comparisons with
//! the previous period (cut at the same hour), MTTA and MTTR from triage (a reopened closing taken
//! back), open vs resolved, threat types, countries, top assets, employee reports; and the
//! migration's backfill rebuilding the rollups that the pipeline and triage keep.

use crate::support::TestDb;
use anomalyforge::asset::Criticality;
use anomalyforge::kpi::{KpiRange, KpiReport, Mean, ReportCounts, StatusCounts, Volume, DAY, HOUR};
use anomalyforge::report::{IndicatorKind, ReportCategory, ReportStatus};
use anomalyforge::store::alerts::{NewAlert, PersistBatch};
use anomalyforge::store::assets::AssetFields;
use anomalyforge::store::reports::NewReport;
use anomalyforge::store::Db;
use anomalyforge::triage::Triage;
use sqlx::Row;

on_both_backends!(
    an_empty_database_reports_zeros_and_nothing_to_compare,
    the_day_range_matches_the_hand_computed_fixture,
    the_week_range_cuts_the_previous_period_at_the_same_hour,
    the_migration_backfill_rebuilds_what_the_store_keeps,
);

const MIN: i64 = 60_000;
/// 2026-11-21 00:00 UTC (a Saturday).
const NOV21: i64 = 1_795_219_200_000;
/// "Now" of every report: 2026-11-21 14:37:12.5 UTC.
const NOW: i64 = NOV21 + 14 * HOUR + 37 * MIN + 12_500;

/// November `day`, 2026, `h:m` UTC.
fn nov(day: i64, h: i64, m: i64) -> i64 {
    NOV21 - (21 - day) * DAY + h * HOUR + m * MIN
}

const CRITICAL: &str = "10.0.0.1";
const LOW: &str = "10.0.0.2";

struct Fixture {
    /// Alert ids a1 … a6 (index 0 = a1).
    ids: Vec<i64>,
}

/// Detections from `src` first seen at `seen_at`: `(risk, count, risk_sum)` are the highest risk,
/// how many were merged and their summed risk.
fn det(
    seen_at: i64,
    threat: &str,
    src: &str,
    country: Option<&str>,
    asset: Option<(&str, Criticality)>,
    (risk, count, risk_sum): (i64, i64, i64),
) -> NewAlert {
    NewAlert {
        seen_at,
        last_seen: seen_at,
        count,
        src_ip: Some(src.into()),
        dst_ip: asset.map(|a| a.0.to_string()),
        threat: threat.into(),
        risk,
        risk_sum,
        base_risk: risk,
        src_country: country.map(str::to_string),
        asset_ip: asset.map(|a| a.0.to_string()),
        criticality: asset.map(|a| a.1),
        ..NewAlert::blank()
    }
}

/// Stores `a` at `stored` (its `created_at`) and returns its id.
async fn store(db: &Db, a: NewAlert, stored: i64) -> i64 {
    let assets_seen = a.asset_ip.iter().map(|ip| (ip.clone(), a.seen_at)).collect();
    let batch = PersistBatch { alerts: vec![a], assets_seen, dedup_window_ms: 600_000, ..Default::default() };
    let out = db.persist_batch_at(&batch, stored).await.unwrap();
    out[0].alert.id
}

async fn triage(db: &Db, id: i64, action: Triage, at: i64) {
    let out = db.triage_at(&[id], "alice", &action, at).await.unwrap();
    assert!(out[0].skipped.is_none(), "{out:?}");
}

/// The alerts of the fixture (times in UTC, "stored" = `created_at`):
///
/// | alert | first detection | stored | threat      | source  | asset         | risk | detections (risk sum) | triage |
/// |-------|-----------------|--------|-------------|---------|---------------|------|-----------------------|--------|
/// | a1    | Nov 21 10:15    | 10:16  | ddos        | CN      | critical      | 90   | 3 (240)               | ack 10:26 (10 min), resolved 12:16 (2 h) |
/// | a2    | Nov 21 13:50    | 13:51  | port_scan   | US      | low           | 30   | 1 (30) + 1 (35) at 13:55 | resolved 14:01 (10 min), reopened 14:10 |
/// | a3    | Nov 20 16:20    | 16:21  | port_scan   | CN      | –             | 40   | 2 (70)                | resolved 18:21 (2 h, also acknowledges) |
/// | a4    | Nov 20 09:00    | 09:01  | ssh_patator | unknown | critical      | 80   | 1 (80)                | ack 09:31 (30 min) |
/// | a5    | Nov 14 16:00    | 16:01  | ddos        | CN      | critical      | 95   | 1 (95)                | – |
/// | a6    | Nov 14 10:00    | 10:02  | web_xss     | DE      | low           | 70   | 1 (70)                | false positive 11:02 (1 h) |
async fn fixture(db: &Db) -> Fixture {
    db.upsert_asset(
        &AssetFields {
            ip: CRITICAL.into(),
            hostname: Some("db-prod".into()),
            criticality: Some(Criticality::Critical),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    db.upsert_asset(
        &AssetFields { ip: LOW.into(), hostname: None, criticality: Some(Criticality::Low), ..Default::default() },
        None,
    )
    .await
    .unwrap();
    let crit = Some((CRITICAL, Criticality::Critical));
    let low = Some((LOW, Criticality::Low));
    let a1 =
        store(db, det(nov(21, 10, 15), "ddos", "198.51.100.1", Some("CN"), crit, (90, 3, 240)), nov(21, 10, 16)).await;
    let a2 =
        store(db, det(nov(21, 13, 50), "port_scan", "198.51.100.2", Some("US"), low, (30, 1, 30)), nov(21, 13, 51))
            .await;
    // A repeat five minutes later grows a2 (a detection, not an alert).
    let grown =
        store(db, det(nov(21, 13, 55), "port_scan", "198.51.100.2", Some("US"), low, (35, 1, 35)), nov(21, 13, 56))
            .await;
    assert_eq!(grown, a2);
    let a3 =
        store(db, det(nov(20, 16, 20), "port_scan", "198.51.100.3", Some("CN"), None, (40, 2, 70)), nov(20, 16, 21))
            .await;
    let a4 = store(db, det(nov(20, 9, 0), "ssh_patator", "198.51.100.4", None, crit, (80, 1, 80)), nov(20, 9, 1)).await;
    let a5 =
        store(db, det(nov(14, 16, 0), "ddos", "198.51.100.5", Some("CN"), crit, (95, 1, 95)), nov(14, 16, 1)).await;
    let a6 =
        store(db, det(nov(14, 10, 0), "web_xss", "198.51.100.6", Some("DE"), low, (70, 1, 70)), nov(14, 10, 2)).await;

    triage(db, a1, Triage::Acknowledge, nov(21, 10, 26)).await;
    triage(db, a1, Triage::Resolve { note: String::new() }, nov(21, 12, 16)).await;
    triage(db, a2, Triage::Resolve { note: String::new() }, nov(21, 14, 1)).await;
    triage(db, a2, Triage::Reopen { note: "still scanning".into() }, nov(21, 14, 10)).await;
    triage(db, a3, Triage::Resolve { note: String::new() }, nov(20, 18, 21)).await;
    triage(db, a4, Triage::Assign { to: "bob".into() }, nov(20, 9, 31)).await;
    triage(db, a4, Triage::Comment { text: "looking".into() }, nov(20, 9, 40)).await;
    triage(db, a6, Triage::FalsePositive { reason: "pen test".into() }, nov(14, 11, 2)).await;

    // Employee reports: received (created) at the given times, each about its own address (the SOC's
    // decision is per address and shared by every report of it).
    let reporter =
        db.create_user("erin", "Erin", anomalyforge::role::Role::Employee, "x", false, None).await.unwrap().id;
    for (i, (at, status)) in [
        (nov(21, 9, 0), ReportStatus::Confirmed),
        (nov(20, 20, 0), ReportStatus::New),
        (nov(20, 12, 0), ReportStatus::Confirmed),
        (nov(14, 16, 0), ReportStatus::Confirmed),
        (nov(10, 8, 0), ReportStatus::Dismissed),
    ]
    .into_iter()
    .enumerate()
    {
        let r = db
            .create_report(&NewReport {
                reporter_id: reporter,
                indicator: format!("203.0.113.{}", i + 1),
                kind: IndicatorKind::Ip,
                category: ReportCategory::Scanning,
                description: "x".into(),
            })
            .await
            .unwrap();
        db.set_report_status(r.id, status, reporter).await.unwrap();
        sqlx::query("UPDATE employee_reports SET created_at = $1 WHERE id = $2")
            .bind(at)
            .bind(r.id)
            .execute(db.pool())
            .await
            .unwrap();
    }
    Fixture { ids: vec![a1, a2, a3, a4, a5, a6] }
}

fn threat_counts(r: &KpiReport) -> Vec<(&str, i64, i64)> {
    r.by_threat.iter().map(|b| (b.key.as_str(), b.alerts.current, b.alerts.previous)).collect()
}

fn country_counts(r: &KpiReport) -> Vec<(&str, i64, i64)> {
    r.countries.iter().map(|b| (b.key.as_str(), b.alerts.current, b.alerts.previous)).collect()
}

fn criticality_counts(r: &KpiReport) -> Vec<(&str, i64, i64)> {
    r.by_criticality.iter().map(|c| (c.key.as_str(), c.alerts.current, c.alerts.previous)).collect()
}

async fn an_empty_database_reports_zeros_and_nothing_to_compare(db: &Db) {
    for range in KpiRange::ALL {
        let r = db.kpi_report(range, NOW).await.unwrap();
        assert!(r.is_empty(), "{range:?}");
        assert_eq!(r.series.len(), range.buckets());
        assert!(r.series.iter().all(|v| *v == Volume::default()));
        assert_eq!((r.response.acknowledge.current.ms(), r.response.close.previous.ms()), (None, None));
        assert!(r.by_threat.is_empty() && r.countries.is_empty() && r.top_assets.is_empty());
        assert_eq!(r.by_criticality.len(), 5);
        assert_eq!(r.response.series.len(), range.buckets());
    }
}

async fn the_day_range_matches_the_hand_computed_fixture(db: &Db) {
    let f = fixture(db).await;
    let r = db.kpi_report(KpiRange::Day, NOW).await.unwrap();
    // current = [Nov 20 15:00, Nov 21 15:00), previous = [Nov 19 15:00, Nov 20 15:00)
    assert_eq!((r.periods.current.from, r.periods.current.to), (nov(20, 15, 0), nov(21, 15, 0)));
    assert_eq!(r.totals.current, Volume { alerts: 3, detections: 7, risk_sum: 240 + 30 + 35 + 70 });
    assert_eq!(r.totals.previous, Volume { alerts: 1, detections: 1, risk_sum: 80 });
    assert_eq!(format!("{:.2}", r.totals.current.average_risk().unwrap()), "53.57");
    // Hourly trend: a3 at Nov 20 16:00 (bucket 1), a1 at Nov 21 10:00 (19), a2 and its repeat at 13:00 (22).
    let nonzero: Vec<(usize, Volume)> =
        r.series.iter().copied().enumerate().filter(|(_, v)| v.detections > 0).collect();
    assert_eq!(
        nonzero,
        vec![
            (1, Volume { alerts: 1, detections: 2, risk_sum: 70 }),
            (19, Volume { alerts: 1, detections: 3, risk_sum: 240 }),
            (22, Volume { alerts: 1, detections: 2, risk_sum: 65 }),
        ]
    );
    // MTTA: a1 10 min, a2 10 min (resolving a new alert acknowledges it), a3 2 h: 140 min / 3.
    assert_eq!(r.response.acknowledge.current, Mean { n: 3, total_ms: 140 * MIN });
    assert_eq!(r.response.acknowledge.previous, Mean { n: 1, total_ms: 30 * MIN }, "a4");
    // MTTR: a1 and a3 took 2 h each; a2's closing was taken back when it was reopened.
    assert_eq!(r.response.close.current, Mean { n: 2, total_ms: 240 * MIN });
    assert_eq!(r.response.close.previous.ms(), None, "nothing was closed in the previous 24 hours");
    assert_eq!(r.response.raised.current, StatusCounts { new: 0, acknowledged: 1, resolved: 2, false_positive: 0 });
    assert_eq!(r.response.raised.previous, StatusCounts { acknowledged: 1, ..StatusCounts::default() });
    let acks: Vec<(usize, i64)> = r
        .response
        .series
        .iter()
        .enumerate()
        .filter(|(_, b)| b.acknowledge.n > 0)
        .map(|(i, b)| (i, b.acknowledge.total_ms / MIN))
        .collect();
    assert_eq!(acks, vec![(3, 120), (19, 10), (23, 10)], "acknowledgements by the hour they happened");
    assert_eq!(threat_counts(&r), vec![("port_scan", 2, 0), ("ddos", 1, 0), ("ssh_patator", 0, 1)]);
    assert_eq!(r.by_threat[0].label, "Port scan");
    assert_eq!(country_counts(&r), vec![("CN", 2, 0), ("US", 1, 0), ("ZZ", 0, 1)]);
    assert_eq!(r.countries[0].label, "China");
    assert_eq!(
        criticality_counts(&r),
        vec![("none", 1, 0), ("low", 1, 0), ("medium", 0, 0), ("high", 0, 0), ("critical", 1, 1)]
    );
    let top: Vec<(&str, Option<&str>, &str, i64, i64)> = r
        .top_assets
        .iter()
        .map(|a| (a.ip.as_str(), a.hostname.as_deref(), a.criticality.as_str(), a.alerts.current, a.alerts.previous))
        .collect();
    assert_eq!(top, vec![(CRITICAL, Some("db-prod"), "critical", 1, 1), (LOW, None, "low", 1, 0)]);
    assert_eq!(r.reports.current, ReportCounts { received: 2, confirmed: 1 });
    assert_eq!(r.reports.previous, ReportCounts { received: 1, confirmed: 1 });
    assert!(!r.is_empty());
    assert_eq!(f.ids.len(), 6);
}

async fn the_week_range_cuts_the_previous_period_at_the_same_hour(db: &Db) {
    fixture(db).await;
    let r = db.kpi_report(KpiRange::Week, NOW).await.unwrap();
    // current = [Nov 15 00:00, Nov 21 15:00), previous = [Nov 8 00:00, Nov 14 15:00): a5 (Nov 14
    // 16:00) is after the cut and counts in neither.
    assert_eq!((r.periods.previous.from, r.periods.previous.to), (nov(8, 0, 0), nov(14, 15, 0)));
    assert_eq!(r.totals.current, Volume { alerts: 4, detections: 8, risk_sum: 455 });
    assert_eq!(r.totals.previous, Volume { alerts: 1, detections: 1, risk_sum: 70 });
    let per_day: Vec<i64> = r.series.iter().map(|v| v.alerts).collect();
    assert_eq!(per_day, vec![0, 0, 0, 0, 0, 2, 2], "Nov 15 … Nov 21");
    assert_eq!(r.response.acknowledge.current, Mean { n: 4, total_ms: (10 + 10 + 120 + 30) * MIN });
    assert_eq!(format!("{:.1}", r.response.acknowledge.current.ms().unwrap() / MIN as f64), "42.5");
    assert_eq!(
        r.response.acknowledge.previous,
        Mean { n: 1, total_ms: 60 * MIN },
        "a6: marking a new alert a false positive acknowledges it"
    );
    assert_eq!(r.response.close.current, Mean { n: 2, total_ms: 240 * MIN });
    assert_eq!(r.response.close.previous, Mean { n: 1, total_ms: 60 * MIN });
    assert_eq!(r.response.raised.current, StatusCounts { new: 0, acknowledged: 2, resolved: 2, false_positive: 0 });
    assert_eq!(
        r.response.raised.previous,
        StatusCounts { false_positive: 1, ..StatusCounts::default() },
        "a5 was stored after the cut"
    );
    assert_eq!(threat_counts(&r), vec![("port_scan", 2, 0), ("ddos", 1, 0), ("ssh_patator", 1, 0), ("web_xss", 0, 1)]);
    assert_eq!(country_counts(&r), vec![("CN", 2, 0), ("US", 1, 0), ("ZZ", 1, 0), ("DE", 0, 1)]);
    let top: Vec<(&str, i64, i64)> =
        r.top_assets.iter().map(|a| (a.ip.as_str(), a.alerts.current, a.alerts.previous)).collect();
    assert_eq!(top, vec![(CRITICAL, 2, 0), (LOW, 1, 1)]);
    assert_eq!(r.reports.current, ReportCounts { received: 3, confirmed: 2 });
    assert_eq!(
        r.reports.previous,
        ReportCounts { received: 1, confirmed: 0 },
        "the Nov 14 16:00 report is after the cut"
    );
    // Thirty days hold everything; the previous thirty days nothing.
    let m = db.kpi_report(KpiRange::Month, NOW).await.unwrap();
    assert_eq!((m.totals.current.alerts, m.totals.previous.alerts), (6, 0));
    assert_eq!(m.response.close.current, Mean { n: 3, total_ms: 300 * MIN });
}

/// Rows of the rollup tables, without rows that net to zero, in a fixed order.
async fn rollups(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for (table, sql) in [
        ("alert", "SELECT grain, bucket, dim, key, alerts, detections, risk_sum FROM kpi_alert_rollup WHERE alerts <> 0 OR detections <> 0 ORDER BY grain, dim, bucket, key"),
        ("asset", "SELECT asset_id, hour, alerts FROM kpi_asset_cumulative ORDER BY asset_id, hour"),
        ("response", "SELECT grain, bucket, metric, n, ms_sum FROM kpi_response WHERE n <> 0 OR ms_sum <> 0 ORDER BY grain, bucket, metric"),
    ] {
        for r in sqlx::query(sql).fetch_all(db.pool()).await.unwrap() {
            let cells: Vec<String> = (0..r.len())
                .map(|i| r.try_get::<i64, _>(i).map(|v| v.to_string()).or_else(|_| r.try_get::<String, _>(i)).unwrap())
                .collect();
            out.push(format!("{table}: {}", cells.join(" ")));
        }
    }
    out
}

async fn the_migration_backfill_rebuilds_what_the_store_keeps(db: &Db) {
    fixture(db).await;
    let kept = rollups(db).await;
    let mut reports = Vec::new();
    for range in KpiRange::ALL {
        reports.push((range, db.kpi_report(range, NOW).await.unwrap()));
    }
    for table in ["alert:", "asset:", "response:"] {
        assert!(kept.iter().any(|r| r.starts_with(table)), "{table} rows kept");
    }
    let backend = match db.backend() {
        anomalyforge::store::Backend::Sqlite => "sqlite",
        anomalyforge::store::Backend::Postgres => "postgres",
    };
    let path = format!("{}/migrations/{backend}/20261129000010_kpi_rollups.sql", env!("CARGO_MANIFEST_DIR"));
    let migration = std::fs::read_to_string(&path).unwrap();
    let backfill = &migration[migration.find("INSERT INTO kpi_alert_rollup").expect("the migration backfills")..];
    for table in ["kpi_alert_rollup", "kpi_asset_cumulative", "kpi_response"] {
        sqlx::query(&format!("DELETE FROM {table}")).execute(db.pool()).await.unwrap();
    }
    for statement in backfill.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(statement).execute(db.pool()).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    assert_eq!(rollups(db).await, kept);
    // And the reports read the same from them.
    for (range, before) in reports {
        assert_eq!(db.kpi_report(range, NOW).await.unwrap(), before, "{range:?}");
    }
}
