//! `anomalyforge intel import|sources` and `anomalyforge ioc`: threat intel from the command line,
//! through the same operations as `/intel` and the API (`crate::intel::import`, `crate::intel::ioc`).

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::enrich::Enricher;
use crate::intel::import::{import, ImportRequest, IntelContext};
use crate::intel::IntelFormat;

#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Import a plain list, CSV, STIX 2.1 bundle or MISP event into a source (created if new), then
    /// retro-hunt its addresses and networks over the stored flows.
    Import {
        /// The source's name: lower-case letters, digits, `.`, `_`, `-` (e.g. `abuse-ch-feodo`).
        #[arg(long)]
        source: String,
        /// The document; `-` reads standard input.
        file: std::path::PathBuf,
        /// plain, csv, stix or misp; without it the format is told from the content.
        #[arg(long)]
        format: Option<String>,
        /// The source's confidence, 0–100 (50 for a new source).
        #[arg(long)]
        confidence: Option<u8>,
        /// Days an indicator stays active when its entry names no end (1–3660), or `never`
        /// (30 for a new source).
        #[arg(long)]
        expiry_days: Option<String>,
        /// What the source is.
        #[arg(long)]
        description: Option<String>,
    },
    /// List the sources with their indicators and hits.
    Sources,
}

/// `anomalyforge ioc <value>`.
#[derive(Debug, Args)]
pub struct IocArgs {
    /// An address, network, domain, URL or file hash.
    pub value: String,
    /// Print the whole result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The pipeline's enrichment, for retro-hunt alerts and countries (without it they carry none).
fn enricher(cfg: &crate::config::Config) -> Option<Arc<Enricher>> {
    match crate::geoip::GeoIp::load_shared(&cfg.geoip_path) {
        Ok(geo) => {
            let centroids = crate::worldmap::WorldMap::bundled()
                .countries()
                .iter()
                .map(|c| (c.iso_a2.clone(), (c.centroid.1, c.centroid.0)))
                .collect();
            Some(Arc::new(Enricher::new(geo, centroids, cfg.internal_networks.clone())))
        }
        Err(e) => {
            eprintln!("warning: {e}; alerts are stored without country");
            None
        }
    }
}

fn date(ms: Option<i64>) -> String {
    ms.map(crate::intel::time::format_rfc3339_ms).unwrap_or_else(|| "-".into())
}

pub async fn run(cmd: IntelCommand) -> anyhow::Result<()> {
    let cfg = crate::config::Config::from_env()?;
    let db = super::open_db().await?;
    match cmd {
        IntelCommand::Import { source, file, format, confidence, expiry_days, description } => {
            let format = format
                .map(|f| {
                    IntelFormat::from_name(&f).with_context(|| format!("`{f}` is not one of plain, csv, stix, misp"))
                })
                .transpose()?;
            let expiry_days = match expiry_days.as_deref() {
                None => None,
                Some("never") => Some(None),
                Some(d) => Some(Some(
                    d.parse::<u32>()
                        .ok()
                        .filter(|d| (1..=3660).contains(d))
                        .with_context(|| format!("--expiry-days: `{d}` is not 1–3660 or `never`"))?,
                )),
            };
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
            };
            if let Some(c) = confidence.filter(|c| *c > 100) {
                anyhow::bail!("--confidence: {c} is not 0–100");
            }
            let ctx = IntelContext {
                enricher: enricher(&cfg),
                hub: None,
                dedup_window_ms: i64::try_from(cfg.dedup_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            };
            let req = ImportRequest { source, format, text, confidence, expiry_days, description, content_type: None };
            let r = import(&db, &ctx, req, "cli").await?;
            println!(
                "{}: {} format, {} new, {} updated, {} rejected, {} ignored",
                r.source,
                r.format,
                r.imported,
                r.updated,
                r.rejected.len(),
                r.ignored
            );
            for rej in &r.rejected {
                println!(
                    "  rejected {}: {}{}",
                    rej.at,
                    rej.reason,
                    rej.value.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
                );
            }
            let searched = match r.retro.since {
                Some(since) => format!(
                    "{} address indicators searched since {}, {} flows matched, {} alerts",
                    r.retro.indicators,
                    date(Some(since)),
                    r.retro.flows,
                    r.retro.alerts
                ),
                None => format!("{} address indicators; no flows are stored to search", r.retro.indicators),
            };
            println!(
                "retro-hunt: {searched}{}{}",
                if r.retro.not_searchable > 0 {
                    format!("; {} domains, URLs or hashes not searchable in flows", r.retro.not_searchable)
                } else {
                    String::new()
                },
                if r.retro.skipped > 0 { format!("; {} skipped over the cap", r.retro.skipped) } else { String::new() }
            );
        }
        IntelCommand::Sources => {
            println!(
                "{:<24} {:<8} {:>5} {:>8} {:>10} {:>10} {:>8}  last import",
                "name", "kind", "conf", "expiry", "indicators", "active", "hits"
            );
            for s in db.intel_sources(crate::store::now_ms()).await? {
                println!(
                    "{:<24} {:<8} {:>5} {:>8} {:>10} {:>10} {:>8}  {}{}",
                    s.name,
                    s.kind.as_str(),
                    s.confidence,
                    s.expiry_days.map_or_else(|| "never".to_string(), |d| format!("{d} d")),
                    s.indicators,
                    s.active,
                    s.hits,
                    date(s.last_import_at),
                    if s.enabled { "" } else { "  (disabled)" }
                );
            }
        }
    }
    Ok(())
}

/// Prints everything known about one value.
pub async fn ioc(args: IocArgs) -> anyhow::Result<()> {
    let cfg = crate::config::Config::from_env()?;
    let db = super::open_db().await?;
    let e = enricher(&cfg);
    let found = crate::intel::ioc::check(&db, e.as_deref(), &args.value, crate::store::now_ms())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.value))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    println!(
        "{} ({}){}",
        found.value,
        found.kind,
        found.country.as_deref().map(|c| format!(", {c}")).unwrap_or_default()
    );
    println!("intel: {}", found.intel.len());
    for i in &found.intel {
        println!(
            "  {} {} in {} ({} %, {}, {} hits) {}",
            i.value,
            i.kind,
            i.source,
            i.confidence,
            i.state.as_str(),
            i.hits,
            i.description
        );
    }
    println!("alerts: {}", found.alerts_total);
    for a in &found.alerts {
        println!(
            "  #{} {} risk {} {} {} → {}",
            a.id,
            date(Some(a.last_seen)),
            a.risk,
            a.threat,
            a.src_ip.as_deref().unwrap_or("-"),
            a.dst_ip.as_deref().unwrap_or("-")
        );
    }
    match &found.flows {
        Some(f) => println!(
            "stored flows: {}{}",
            f.matched,
            if f.complete { "" } else { " (search stopped at its time budget)" }
        ),
        None => println!("stored flows: not searchable (flows carry addresses only)"),
    }
    println!("employee reports: {}", found.reports.len());
    for r in &found.reports {
        println!("  #{} {} {} ({})", r.id, date(Some(r.created_at)), r.category, r.status);
    }
    match &found.asset {
        Some(a) => println!(
            "asset: #{} {} {} owner {}",
            a.id,
            a.hostname.as_deref().unwrap_or("-"),
            a.criticality.as_str(),
            a.owner.as_deref().unwrap_or("-")
        ),
        None => println!("asset: none"),
    }
    Ok(())
}
