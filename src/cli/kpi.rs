//! `anomalyforge kpi generate|bench`: the KPI benchmark. `generate` fills a new database with a
//! realistic history (see `demo::generate`); `bench` times the KPI report the `/exec` page asks for,
//! per range, on that database.

use crate::demo::generate::{generate, GenerateOptions};
use crate::kpi::charts::exec_charts;
use crate::kpi::KpiRange;
use crate::store::{redact_url, Db};
use anyhow::Context;
use clap::Subcommand;
use sqlx::Row;
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum KpiCommand {
    /// Fill a NEW database with synthetic alerts, triage, assets and reports for the benchmark
    /// (refuses a database that already holds alerts).
    Generate {
        /// The database to create, e.g. `sqlite://var/kpi-bench.db?mode=rwc` (never the configured one
        /// by default: name it).
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 1_000_000)]
        alerts: u64,
        /// Days of history, ending now.
        #[arg(long, default_value_t = 60)]
        days: u32,
        #[arg(long, default_value_t = 1500)]
        assets: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Time the KPI report of each range (the work of the `kpi/report` server function) and print
    /// p50 / p95 / max.
    Bench {
        #[arg(long)]
        database: String,
        /// Timed runs per range (after two untimed ones).
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Connections in the pool (the server's default is 8).
        #[arg(long, default_value_t = 8)]
        connections: u32,
    },
}

pub async fn run(cmd: KpiCommand) -> anyhow::Result<()> {
    match cmd {
        KpiCommand::Generate { database, alerts, days, assets, seed } => {
            let db = open(&database, 1).await?;
            if db.backend() == crate::store::Backend::Sqlite {
                // One connection writes everything: give it a large page cache (256 MiB), and do not
                // wait for the disk (a benchmark database that a crash spoils is simply made again).
                sqlx::query("PRAGMA cache_size = -262144").execute(db.pool()).await?;
                sqlx::query("PRAGMA synchronous = OFF").execute(db.pool()).await?;
            }
            let started = Instant::now();
            let opts = GenerateOptions {
                alerts,
                days,
                assets,
                seed,
                end: crate::store::now_ms(),
                flavour: crate::demo::generate::BENCH,
            };
            let mut last = Instant::now();
            let done = generate(&db, &opts, |n| {
                if last.elapsed() > Duration::from_secs(5) {
                    eprintln!("  {n} alerts written ({:.0} s)", started.elapsed().as_secs_f64());
                    last = Instant::now();
                }
            })
            .await?;
            println!(
                "generated {} alerts ({} detections; {} acknowledged, {} closed, {} history events), {} assets, {} employee reports over {days} days in {:.1} s",
                done.alerts,
                done.detections,
                done.acknowledged,
                done.closed,
                done.events,
                done.assets,
                done.reports,
                started.elapsed().as_secs_f64()
            );
            db.close().await;
        }
        KpiCommand::Bench { database, runs, connections } => {
            let db = open(&database, connections).await?;
            let alerts = db.count_alerts().await?;
            // The history ends when it was generated: measure "now" as then, so every range has data.
            let newest: Option<i64> =
                sqlx::query("SELECT MAX(created_at) AS t FROM alerts").fetch_one(db.pool()).await?.try_get("t")?;
            let now = newest.context("the database holds no alerts: run `anomalyforge kpi generate` first")?;
            println!(
                "{alerts} alerts; KPI report at {} UTC; {runs} runs per range after 2 warm-up runs",
                crate::time::utc_minute_plain(now)
            );
            println!(
                "{:<6} {:>9} {:>9} {:>9} {:>10} {:>11} {:>10}",
                "range", "p50 ms", "p95 ms", "max ms", "charts ms", "JSON bytes", "alerts"
            );
            for range in KpiRange::ALL {
                for _ in 0..2 {
                    db.kpi_report(range, now).await?;
                }
                let mut times = Vec::with_capacity(runs);
                let mut report = None;
                for _ in 0..runs.max(1) {
                    let t = Instant::now();
                    report = Some(db.kpi_report(range, now).await?);
                    times.push(t.elapsed());
                }
                let report = report.context("no run")?;
                let t = Instant::now();
                let charts = exec_charts(&report);
                let chart_ms = t.elapsed().as_secs_f64() * 1000.0;
                std::hint::black_box(charts);
                let json = serde_json::to_vec(&report)?.len();
                times.sort();
                let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
                println!(
                    "{:<6} {:>9.2} {:>9.2} {:>9.2} {:>10.2} {:>11} {:>10}",
                    range.as_str(),
                    at(0.5),
                    at(0.95),
                    at(1.0),
                    chart_ms,
                    json,
                    report.totals.current.alerts
                );
            }
            db.close().await;
        }
    }
    Ok(())
}

async fn open(url: &str, connections: u32) -> anyhow::Result<Db> {
    let db = Db::connect(url, connections).await.with_context(|| format!("opening {}", redact_url(url)))?;
    db.migrate().await?;
    Ok(db)
}
