//! `anomalyforge-loadgen`: load generator for the live pipeline. It replays real CIC-IDS2017 rows as
//! CICFlowMeter CSV batches to `POST /api/v1/ingest/csv` of a server on THIS machine (loopback only),
//! bounded in flows and in time, optionally at a fixed rate, and reports:
//! - flows/s accepted end to end (the reply comes after the batch is scored, enriched and committed);
//! - accepted vs scored from the server's `/metrics` (nothing lost);
//! - with `--stream-user`, the latency from a batch's arrival at the server to each of its alerts
//!   reaching a live-stream client (p50/p99/max), read from the events' `received_at`;
//! - with `--server-pid`, the server's peak resident memory;
//! - with `--report-every-secs N`, one JSON line on stderr every N seconds with that interval's
//!   acknowledged flows, 503/429 refusals and request latency (for soak runs).
//!
//! Example: `anomalyforge-loadgen --url http://127.0.0.1:3000 --token af_… --flows 500000 --rate 0`.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(name = "anomalyforge-loadgen", about = "Loopback load generator for the AnomalyForge ingest pipeline")]
struct Args {
    /// Base URL of the server (loopback addresses only); several, comma-separated, spread the
    /// requests over instances of one cluster (request k goes to instance k mod n).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The instance whose live stream `--stream-user` reads (default: the first `--url`), to measure
    /// alerts reaching a client of another instance than the one that took the batch.
    #[arg(long)]
    stream_url: Option<String>,
    /// API token for the ingest API (`anomalyforge token create --name loadgen`).
    #[arg(long, env = "AF_LOADGEN_TOKEN")]
    token: String,
    /// CICFlowMeter CSV (2021 layout, .csv or .csv.gz) whose rows are sent, cycling.
    #[arg(long, default_value = "data/cicids2017/improved_train.csv.gz")]
    data: PathBuf,
    /// Stop after this many flows (upper bound 500 million).
    #[arg(long, default_value_t = 200_000)]
    flows: u64,
    /// Stop after this many seconds (upper bound 3600).
    #[arg(long, default_value_t = 120)]
    duration_secs: u64,
    /// Flows per second to offer; 0 = as fast as the server accepts.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Rows per request.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Sign in as this user and measure alert latency on the live stream.
    #[arg(long)]
    stream_user: Option<String>,
    #[arg(long, env = "AF_LOADGEN_PASSWORD", default_value = "")]
    stream_password: String,
    /// Sample this process's resident memory (the server) every 200 ms.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Every this many seconds, print one JSON line to stderr with the interval's acknowledged flows,
    /// refusals (503, 429) and latency of acknowledged requests; 0 = never.
    #[arg(long, default_value_t = 0)]
    report_every_secs: u64,
}

/// Refuses anything but a loopback target: this tool must never load someone else's server.
fn check_loopback(url: &str) -> anyhow::Result<()> {
    let rest = url.strip_prefix("http://").context("--url must start with http:// (a loopback server)")?;
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h).trim_start_matches('[').trim_end_matches(']');
    let ok = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("--url must point at this machine (127.0.0.1, ::1 or localhost), got `{host}`");
    }
    Ok(())
}

/// Request bodies: the header plus `batch` rows each, cycling over the file's rows.
fn bodies(path: &PathBuf, batch: usize) -> anyhow::Result<Vec<(String, usize)>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)
    }
    .with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header = lines.next().context("the data file is empty")?;
    let rows: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    if rows.is_empty() {
        bail!("{} has no data rows", path.display());
    }
    Ok(rows
        .chunks(batch.max(1))
        .map(|c| {
            let mut body = String::with_capacity(header.len() + c.iter().map(|r| r.len() + 1).sum::<usize>() + 1);
            body.push_str(header);
            body.push('\n');
            for r in c {
                body.push_str(r);
                body.push('\n');
            }
            (body, c.len())
        })
        .collect())
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[i.min(sorted.len() - 1)])
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    sent: AtomicU64,
    requests: AtomicU64,
    busy_retries: AtomicU64,
    /// 429 answers (retried like 503s).
    refused_429: AtomicU64,
    errors: AtomicU64,
}

/// Per-interval report (`--report-every-secs`): latencies (µs) of the interval's acknowledged batches,
/// per request (the 2xx attempt alone) and per batch (first attempt to acknowledgement, retries included).
#[derive(Default)]
struct IntervalLatency {
    request_us: Vec<i64>,
    ack_us: Vec<i64>,
}

struct Reporter {
    counters: Arc<Counters>,
    latency: Arc<Mutex<IntervalLatency>>,
    started: Instant,
    /// Interval number and the cumulative counters at the previous report.
    last: Mutex<(u64, [u64; 4])>,
}

impl Reporter {
    /// The figures since the previous call, as one JSON object.
    fn line(&self, last_interval: bool) -> Value {
        let c = &self.counters;
        let now = [
            c.accepted.load(Relaxed),
            c.busy_retries.load(Relaxed),
            c.refused_429.load(Relaxed),
            c.errors.load(Relaxed),
        ];
        let (mut req, mut ack) = {
            let mut l = self.latency.lock().unwrap();
            (std::mem::take(&mut l.request_us), std::mem::take(&mut l.ack_us))
        };
        req.sort_unstable();
        ack.sort_unstable();
        let ms = |v: Option<i64>| v.map(|us| (us as f64 / 100.0).round() / 10.0);
        let mut last = self.last.lock().unwrap();
        last.0 += 1;
        let prev = std::mem::replace(&mut last.1, now);
        json!({
            "interval": last.0,
            "final": last_interval,
            "t_secs": (self.started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "acked_flows_total": now[0],
            "acked_flows": now[0] - prev[0],
            "acked_batches": ack.len(),
            "refused_503_total": now[1],
            "refused_503": now[1] - prev[1],
            "refused_429_total": now[2],
            "refused_429": now[2] - prev[2],
            "errors_total": now[3],
            "request_ms_p50": ms(percentile(&req, 0.50)),
            "request_ms_p99": ms(percentile(&req, 0.99)),
            "request_ms_max": ms(req.last().copied()),
            "ack_ms_p50": ms(percentile(&ack, 0.50)),
            "ack_ms_p99": ms(percentile(&ack, 0.99)),
            "ack_ms_max": ms(ack.last().copied()),
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bases: Vec<String> = args.url.split(',').map(|u| u.trim().trim_end_matches('/').to_string()).collect();
    for b in &bases {
        check_loopback(b)?;
    }
    let stream_base = args.stream_url.clone().unwrap_or_else(|| bases[0].clone()).trim_end_matches('/').to_string();
    check_loopback(&stream_base)?;
    // Every instance that may store flows: the ones sent to, and the one streamed from (with the
    // ingest bus it scores too).
    let mut instances = bases.clone();
    if !instances.contains(&stream_base) {
        instances.push(stream_base.clone());
    }
    let flows_cap = args.flows.min(500_000_000);
    let duration = Duration::from_secs(args.duration_secs.clamp(1, 3600));
    let bodies = Arc::new(bodies(&args.data, args.batch)?);
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;

    // The live-stream client.
    let latencies: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut stream_task = None;
    if let Some(user) = &args.stream_user {
        let session = reqwest::Client::builder().cookie_store(true).build()?;
        let res = session
            .post(format!("{stream_base}/api/auth/login"))
            .form(&[("username", user.as_str()), ("password", args.stream_password.as_str())])
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("signing in as {user} failed: {} {}", res.status(), res.text().await.unwrap_or_default());
        }
        let mut res = session.get(format!("{stream_base}/api/v1/stream")).send().await?;
        if !res.status().is_success() {
            bail!("opening the live stream failed: {}", res.status());
        }
        let (latencies, stop) = (latencies.clone(), stop.clone());
        stream_task = Some(tokio::spawn(async move {
            let mut buf = String::new();
            while !stop.load(Relaxed) {
                let chunk = match tokio::time::timeout(Duration::from_millis(500), res.chunk()).await {
                    Ok(Ok(Some(c))) => c,
                    Ok(_) => break,
                    Err(_) => continue,
                };
                let now = now_ms();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if !block.lines().any(|l| l == "event: alert" || l == "event:alert") {
                        continue;
                    }
                    let data: String =
                        block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                    if let Some(at) = serde_json::from_str::<Value>(&data).ok().and_then(|v| v["received_at"].as_i64())
                    {
                        latencies.lock().unwrap().push(now - at);
                    }
                }
            }
        }));
    }

    // Memory sampling.
    let peak_rss = Arc::new(AtomicU64::new(0));
    let rss_task = args.server_pid.map(|pid| {
        let (peak, stop) = (peak_rss.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });

    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let deadline = started + duration;
    let interval_latency: Arc<Mutex<IntervalLatency>> = Arc::default();
    let report = args.report_every_secs > 0;
    let reporter = Arc::new(Reporter {
        counters: counters.clone(),
        latency: interval_latency.clone(),
        started,
        last: Mutex::default(),
    });
    let report_task = report.then(|| {
        let (reporter, every) = (reporter.clone(), Duration::from_secs(args.report_every_secs));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at((started + every).into(), every);
            loop {
                tick.tick().await;
                eprintln!("{}", reporter.line(false));
            }
        })
    });
    // Batches are handed out in order; with a rate, each is sent when the rate has covered the flows before it.
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..args.concurrency.max(1) {
        let (client, bodies, counters, next) = (client.clone(), bodies.clone(), counters.clone(), next.clone());
        let interval_latency = interval_latency.clone();
        let base = &bases[w % bases.len()];
        let (url, token, rate) = (format!("{base}/api/v1/ingest/csv"), args.token.clone(), args.rate);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Relaxed);
                let (body, rows) = &bodies[i % bodies.len()];
                let offered = counters.sent.fetch_add(*rows as u64, Relaxed);
                if offered >= flows_cap || Instant::now() >= deadline {
                    break;
                }
                if rate > 0 {
                    // Offer flows on schedule: this batch is due when the rate has covered the flows before it.
                    let due = started + Duration::from_secs_f64(offered as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let first_try = Instant::now();
                loop {
                    let sent_at = Instant::now();
                    let res = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "text/csv")
                        .body(body.clone())
                        .send()
                        .await;
                    counters.requests.fetch_add(1, Relaxed);
                    match res {
                        Ok(r) if r.status().is_success() => {
                            let v: Value = r.json().await.unwrap_or_default();
                            counters.accepted.fetch_add(v["accepted"].as_u64().unwrap_or(0), Relaxed);
                            if report {
                                let mut l = interval_latency.lock().unwrap();
                                l.request_us.push(sent_at.elapsed().as_micros() as i64);
                                l.ack_us.push(first_try.elapsed().as_micros() as i64);
                            }
                            break;
                        }
                        Ok(r) if matches!(r.status().as_u16(), 503 | 429) => {
                            // Backpressure: wait as told and send the same batch again.
                            if r.status().as_u16() == 503 {
                                counters.busy_retries.fetch_add(1, Relaxed);
                            } else {
                                counters.refused_429.fetch_add(1, Relaxed);
                            }
                            let wait = r
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(1u64);
                            tokio::time::sleep(Duration::from_millis(wait.min(5) * 200)).await;
                        }
                        Ok(r) => {
                            counters.errors.fetch_add(1, Relaxed);
                            eprintln!("ingest failed: {} {}", r.status(), r.text().await.unwrap_or_default());
                            break;
                        }
                        Err(e) => {
                            counters.errors.fetch_add(1, Relaxed);
                            // With the causes (reset, closed connection…), not only reqwest's summary.
                            let mut msg = e.to_string();
                            let mut cause = std::error::Error::source(&e);
                            while let Some(c) = cause {
                                msg = format!("{msg}: {c}");
                                cause = c.source();
                            }
                            eprintln!("ingest request failed: {msg}");
                            break;
                        }
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let acked_secs = started.elapsed().as_secs_f64();
    // With the ingest bus an acknowledgement (202) means "held by JetStream", not "stored": wait until
    // the instances have scored every acknowledged flow, so throughput counts stored flows either way.
    let accepted = counters.accepted.load(Relaxed);
    let scored_everywhere = || async {
        let mut total = 0.0;
        for b in &instances {
            let text = client.get(format!("{b}/metrics")).bearer_auth(&args.token).send().await?.text().await?;
            total += text
                .lines()
                .find_map(|l| l.strip_prefix("anomalyforge_flows_scored_total "))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
        anyhow::Ok(total)
    };
    let store_deadline = Instant::now() + Duration::from_secs(300);
    let mut next_note = Instant::now() + Duration::from_secs(10);
    loop {
        let scored = scored_everywhere().await?;
        if scored >= accepted as f64 {
            break;
        }
        if Instant::now() > store_deadline {
            bail!("the servers stored {scored} of the {accepted} acknowledged flows within 300 s");
        }
        if Instant::now() > next_note {
            eprintln!("waiting for the servers to store what they acknowledged: {scored} of {accepted} flows scored");
            next_note += Duration::from_secs(10);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(t) = report_task {
        t.abort();
        eprintln!("{}", reporter.line(true));
    }
    // Let the stream deliver the last batches' alerts.
    tokio::time::sleep(Duration::from_millis(if stream_task.is_some() { 1000 } else { 0 })).await;
    stop.store(true, Relaxed);
    if let Some(t) = stream_task {
        let _ = t.await;
    }
    if let Some(t) = rss_task {
        let _ = t.await;
    }

    let mut metrics = String::new();
    for b in &instances {
        metrics += &client.get(format!("{b}/metrics")).bearer_auth(&args.token).send().await?.text().await?;
    }
    // Summed over the instances.
    let metric = |name: &str| -> Option<f64> {
        let values: Vec<f64> = metrics
            .lines()
            .filter_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
            .filter_map(|v| v.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    };
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let report = json!({
        "instances": instances.len(),
        "flows_accepted": accepted,
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "seconds_to_acknowledge": (acked_secs * 1000.0).round() / 1000.0,
        "flows_per_second": (accepted as f64 / elapsed).round(),
        "offered_rate": args.rate,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "requests": counters.requests.load(Relaxed),
        "busy_retries": counters.busy_retries.load(Relaxed),
        "refused_429": counters.refused_429.load(Relaxed),
        "errors": counters.errors.load(Relaxed),
        "server_accepted_total": metric("anomalyforge_ingest_accepted_total"),
        "server_scored_total": metric("anomalyforge_flows_scored_total"),
        "server_alerts_created_total": metric("anomalyforge_alerts_created_total"),
        "server_alerts_updated_total": metric("anomalyforge_alerts_updated_total"),
        "server_bus_redelivered_total": metric("anomalyforge_bus_redelivered_total"),
        "stream_alert_events": lat.len(),
        "stream_latency_ms_p50": percentile(&lat, 0.50),
        "stream_latency_ms_p99": percentile(&lat, 0.99),
        "stream_latency_ms_max": lat.last(),
        "server_peak_rss_mib": args.server_pid.map(|_| (peak_rss.load(Relaxed) as f64 / 1024.0).round()),
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if counters.errors.load(Relaxed) > 0 {
        bail!("{} requests failed", counters.errors.load(Relaxed));
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_allowed() {
        for ok in ["http://127.0.0.1:3000", "http://localhost:8080/", "http://[::1]:3000", "http://127.0.0.2"] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1:3000", "https://127.0.0.1", "http://example.com", "http://8.8.8.8:80"] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(51));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
