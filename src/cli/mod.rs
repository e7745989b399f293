//! Command-line interface of the `anomalyforge` binary. Each group of subcommands lives in its own
//! module; this file only parses and dispatches.

mod engine;
mod hunt;
mod intel;
mod kpi;
mod token;
mod user;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "anomalyforge", version, about = "AnomalyForge operator tools")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage user accounts (uses DATABASE_URL / AF_DATA_DIR like the server).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage API tokens for the ingest API (uses DATABASE_URL / AF_DATA_DIR like the server).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The KPI benchmark: generate a large database, time the `/exec` report on it.
    #[command(subcommand)]
    Kpi(kpi::KpiCommand),
    /// The flow-history benchmark: generate stored flows, time the `/hunt` searches on them.
    #[command(subcommand)]
    Hunt(hunt::HuntCommand),
    /// Threat intel: import a list, CSV, STIX 2.1 bundle or MISP event into a source; list sources.
    #[command(subcommand)]
    Intel(intel::IntelCommand),
    /// Everything known about an address, network, domain, URL or file hash.
    Ioc(intel::IocArgs),
    #[command(flatten)]
    Engine(engine::EngineCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::User(cmd) => runtime()?.block_on(user::run(cmd)),
        Command::Token(cmd) => runtime()?.block_on(token::run(cmd)),
        Command::Kpi(cmd) => runtime()?.block_on(kpi::run(cmd)),
        Command::Hunt(cmd) => runtime()?.block_on(hunt::run(cmd)),
        Command::Intel(cmd) => runtime()?.block_on(intel::run(cmd)),
        Command::Ioc(args) => runtime()?.block_on(intel::ioc(args)),
        Command::Engine(cmd) => engine::run(cmd),
    }
}

/// The configured database (same configuration as the server), migrated.
pub(crate) async fn open_db() -> anyhow::Result<crate::store::Db> {
    let cfg = crate::config::Config::from_env()?;
    let url = cfg.database_url();
    let db = crate::store::Db::connect(&url, 2)
        .await
        .with_context(|| format!("opening {}", crate::store::redact_url(&url)))?;
    db.migrate().await?;
    Ok(db)
}

/// A small runtime for commands that talk to the database.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
