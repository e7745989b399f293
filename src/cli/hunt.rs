//! `anomalyforge hunt generate|bench`: the flow-history benchmark. `generate` fills a new database
//! with a realistic week of stored flows (most of them outbound web traffic of a few thousand hosts,
//! a long tail of outside addresses, a few risky flows); `bench` times the searches an analyst makes
//! on `/hunt` (a page of flows, the count and the time histogram) and reports the bytes a stored flow
//! takes.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::Row;

use crate::flow_history::FlowSort;
use crate::store::flows::{day_of, FlowBatch, FlowFilter, FlowTerm, NewFlow, SearchBudget, Side, DAY_MS};
use crate::store::{redact_url, Backend, Db};

#[derive(Debug, Subcommand)]
pub enum HuntCommand {
    /// Fill a NEW database with synthetic stored flows ending now (refuses one that holds flows).
    Generate {
        /// The database to create, e.g. `sqlite://var/hunt-bench.db?mode=rwc` (name it: never the
        /// configured one by default).
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 10_000_000)]
        flows: u64,
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Time the `/hunt` searches (page, count, histogram) on that database: p50 / p95 / max.
    Bench {
        #[arg(long)]
        database: String,
        /// Timed runs per search (after one untimed run).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

/// Internal hosts (10.0.0.0/16) and outside addresses of the synthetic network.
const HOSTS: u32 = 2_000;
const OUTSIDE: u32 = 200_000;

fn host(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, (i / 250) as u8, (i % 250 + 1) as u8))
}

/// Outside addresses spread over a few public /8s; low indexes are the popular ones.
fn outside(i: u32) -> IpAddr {
    let first = [23u8, 52, 104, 142, 151, 185, 203][(i % 7) as usize];
    let rest = i / 7;
    IpAddr::V4(Ipv4Addr::new(first, (rest >> 16) as u8, (rest >> 8) as u8, rest as u8))
}

const COUNTRIES: [(&[u8; 2], f64); 10] = [
    (b"US", 0.45),
    (b"DE", 0.12),
    (b"NL", 0.1),
    (b"GB", 0.08),
    (b"FR", 0.06),
    (b"JP", 0.05),
    (b"CN", 0.04),
    (b"RU", 0.04),
    (b"BR", 0.03),
    (b"IN", 0.03),
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, f64)]) -> T {
    let mut u: f64 = rng.gen();
    for &(item, w) in items {
        if u < w {
            return item;
        }
        u -= w;
    }
    items[items.len() - 1].0
}

fn synthetic_flow(rng: &mut ChaCha8Rng, at: i64) -> NewFlow {
    let h = host(rng.gen_range(0..HOSTS));
    // A long tail: the square of a uniform number favours the first outside addresses.
    let o_index = (rng.gen::<f64>().powi(3) * f64::from(OUTSIDE)) as u32;
    let o = outside(o_index);
    let country = Some(*pick(rng, &COUNTRIES));
    let dport: u16 =
        pick(rng, &[(443, 0.55), (80, 0.15), (53, 0.1), (123, 0.03), (22, 0.03), (3389, 0.02), (25, 0.02), (0, 0.1)]);
    let dport = if dport == 0 { rng.gen_range(1024..=65_535) } else { dport };
    let (src, dst, cc) = match rng.gen_range(0..100) {
        0..=79 => (h, o, country),
        80..=94 => (o, h, country),
        _ => (h, host(rng.gen_range(0..HOSTS)), None),
    };
    let risky = rng.gen_bool(0.005);
    let risk = if risky { rng.gen_range(70..=100) } else { rng.gen_range(0..=45) };
    let bytes = |rng: &mut ChaCha8Rng| 10f64.powf(rng.gen_range(1.5..6.5)) as u64;
    NewFlow {
        at,
        src,
        dst,
        sport: rng.gen_range(32_768..=60_999),
        dport,
        proto: if matches!(dport, 53 | 123) { 17 } else { 6 },
        bytes_out: bytes(rng),
        bytes_in: bytes(rng),
        pkts_out: rng.gen_range(1..200),
        pkts_in: rng.gen_range(0..300),
        duration_ms: rng.gen_range(0..120_000),
        risk,
        threat: if risky {
            ["port_scan", "brute_force", "ddos", "botnet", "web_attack"][rng.gen_range(0..5)]
        } else {
            "benign"
        },
        alerted: risky,
        profile: 1,
        cc,
    }
}

/// The searches timed, as an analyst types them, and the same resolved.
fn searches(now: i64) -> Vec<(&'static str, FlowFilter)> {
    let since = |ms: i64| Some(now - ms);
    let net = |ip: IpAddr, p: u8| vec![(ip, p)];
    let f = |from, terms: Vec<FlowTerm>| FlowFilter {
        from,
        until: None,
        terms: terms.into_iter().map(|t| (t, false)).collect(),
    };
    vec![
        (
            "ip:23.0.0.0 since:7d (the busiest outside address)",
            f(since(7 * DAY_MS), vec![FlowTerm::Addr(Side::Any, net(outside(0), 32))]),
        ),
        (
            "ip:203.0.120.163 since:7d (a rare one)",
            f(since(7 * DAY_MS), vec![FlowTerm::Addr(Side::Any, net(outside(150_000), 32))]),
        ),
        (
            "src:10.0.3.8 since:24h (one host's day)",
            f(since(DAY_MS), vec![FlowTerm::Addr(Side::Src, net(host(757), 32))]),
        ),
        (
            "dst:10.0.0.0/16 dport:3389 since:24h",
            f(
                since(DAY_MS),
                vec![FlowTerm::Addr(Side::Dst, net(host(0), 16)), FlowTerm::Port(Side::Dst, vec![(3389, 3389)])],
            ),
        ),
        ("dport:22 since:7d", f(since(7 * DAY_MS), vec![FlowTerm::Port(Side::Dst, vec![(22, 22)])])),
        ("country:RU since:24h (no index: time slices)", f(since(DAY_MS), vec![FlowTerm::Country(vec!["RU".into()])])),
        ("risk>=70 since:7d", f(since(7 * DAY_MS), vec![FlowTerm::Risk(70, 100)])),
        (
            "src:10.0.0.0/8 dport:443 country:RU risk>=70 since:24h",
            f(
                since(DAY_MS),
                vec![
                    FlowTerm::Addr(Side::Src, net(host(0), 8)),
                    FlowTerm::Port(Side::Dst, vec![(443, 443)]),
                    FlowTerm::Country(vec!["RU".into()]),
                    FlowTerm::Risk(70, 100),
                ],
            ),
        ),
        ("since:1h (everything of the last hour)", f(since(3_600_000), vec![])),
        (
            "threat:ddos since:7d (no index: time slices)",
            f(since(7 * DAY_MS), vec![FlowTerm::Threat(vec!["ddos".into()])]),
        ),
        ("proto:udp since:24h (no index: time slices)", f(since(DAY_MS), vec![FlowTerm::Proto(vec![17])])),
    ]
}

pub async fn run(cmd: HuntCommand) -> anyhow::Result<()> {
    match cmd {
        HuntCommand::Generate { database, flows, days, seed } => {
            let db = open(&database, 1).await?;
            if db.flow_time_range().await?.is_some() {
                anyhow::bail!("{} already holds flows: generate into a new database", redact_url(&database));
            }
            if db.backend() == Backend::Sqlite {
                // A benchmark database a crash spoils is simply made again.
                sqlx::query("PRAGMA synchronous = OFF").execute(db.flow_pool()).await?;
            }
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let end = crate::store::now_ms();
            let start = end - i64::from(days.max(1)) * DAY_MS;
            let step = (end - start) as f64 / flows.max(1) as f64;
            let started = Instant::now();
            let mut last = Instant::now();
            let mut batch = FlowBatch { day: day_of(start), source: "zeek".into(), token_id: None, flows: Vec::new() };
            for i in 0..flows {
                let at = start + (i as f64 * step) as i64;
                if day_of(at) != batch.day || batch.flows.len() == 50_000 {
                    let next = FlowBatch { day: day_of(at), ..batch.clone() };
                    let full = std::mem::replace(&mut batch, FlowBatch { flows: Vec::with_capacity(50_000), ..next });
                    db.persist_flows(&[full]).await?;
                    if last.elapsed() > Duration::from_secs(10) {
                        eprintln!("  {i} flows written ({:.0} s)", started.elapsed().as_secs_f64());
                        last = Instant::now();
                    }
                }
                batch.flows.push(synthetic_flow(&mut rng, at));
            }
            db.persist_flows(&[batch]).await?;
            // The planner's statistics, as the server's housekeeping keeps them.
            sqlx::query(if db.backend() == Backend::Sqlite { "ANALYZE" } else { "ANALYZE flows" })
                .execute(db.flow_pool())
                .await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "generated {flows} flows over {days} days in {secs:.1} s ({:.0} flows/s stored, one connection)",
                flows as f64 / secs
            );
            db.close().await;
        }
        HuntCommand::Bench { database, runs } => {
            let db = open(&database, 4).await?;
            let stored: i64 = db.flow_days().await?.iter().map(|d| d.1).sum();
            let newest: Option<i64> =
                sqlx::query("SELECT MAX(at) AS t FROM flows").fetch_one(db.flow_pool()).await?.try_get("t")?;
            let now = newest.context("the database holds no flows: run `anomalyforge hunt generate` first")?;
            println!(
                "{stored} stored flows; searches as of {}; {runs} runs each after 1 warm-up",
                crate::time::utc_minute(now)
            );
            if let Some(bytes) = stored_bytes(&db).await? {
                println!(
                    "storage: {bytes} bytes for flows and their indexes = {:.1} bytes per stored flow",
                    bytes as f64 / stored.max(1) as f64
                );
            }
            println!(
                "{:<58} {:>8} {:>8} {:>8} {:>9} {:>9}",
                "search (page of 50, count, histogram)", "p50 ms", "p95 ms", "max ms", "matches", "searched"
            );
            let mut p50s = Vec::new();
            for (name, filter) in searches(now) {
                let budget = SearchBudget::default();
                db.hunt_flows(&filter, FlowSort::Newest, None, 50, budget).await?;
                let mut times = Vec::with_capacity(runs);
                let mut last = None;
                for _ in 0..runs.max(1) {
                    let t = Instant::now();
                    last = Some(db.hunt_flows(&filter, FlowSort::Newest, None, 50, budget).await?);
                    times.push(t.elapsed());
                }
                let last = last.context("no run")?;
                times.sort();
                let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
                let searched = if last.complete {
                    "all".to_string()
                } else {
                    let share = (last.until - last.searched_from) as f64 / (last.until - last.from).max(1) as f64;
                    format!("{:.0} %", 100.0 * share)
                };
                println!(
                    "{name:<58} {:>8.1} {:>8.1} {:>8.1} {:>9} {searched:>9}",
                    at(0.5),
                    at(0.95),
                    at(1.0),
                    last.matched
                );
                p50s.push(at(0.5));
            }
            p50s.sort_by(f64::total_cmp);
            println!(
                "slowest p50: {:.1} ms; median p50 over the searches: {:.1} ms",
                p50s[p50s.len() - 1],
                p50s[p50s.len() / 2]
            );
            db.close().await;
        }
    }
    Ok(())
}

/// Bytes the flow table and its indexes take (SQLite's `dbstat`), when it can tell.
async fn stored_bytes(db: &Db) -> anyhow::Result<Option<i64>> {
    if db.backend() != Backend::Sqlite {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'flows'")
            .fetch_one(db.flow_pool())
            .await?;
        return Ok(Some(row.try_get("n")?));
    }
    match sqlx::query("SELECT SUM(pgsize) AS n FROM dbstat WHERE name = 'flows' OR name LIKE 'flows_by_%'")
        .fetch_one(db.flow_pool())
        .await
    {
        Ok(row) => Ok(row.try_get("n").ok()),
        Err(_) => Ok(None),
    }
}

async fn open(url: &str, connections: u32) -> anyhow::Result<Db> {
    let db = Db::connect(url, connections).await.with_context(|| format!("opening {}", redact_url(url)))?;
    db.migrate().await?;
    Ok(db)
}
