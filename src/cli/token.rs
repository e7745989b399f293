//! `anomalyforge token create|list|revoke`: API tokens for integrators.

use crate::api_token::TokenState;
use crate::auth;
use clap::Subcommand;
use std::io::IsTerminal;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token. The token is printed once and stored only as its SHA-256.
    Create {
        /// Who or what will use it (e.g. `zeek-sensor-1`).
        #[arg(long)]
        name: String,
        /// What it may do: `ingest` (send flows), `read` (alerts, flows and metrics), `admin` (manage tokens), `intel` (import threat intel);
        /// comma-separated or repeated.
        #[arg(long = "scope", value_delimiter = ',', default_value = "ingest")]
        scopes: Vec<String>,
        /// Days until it expires (1–3650); without it the token lasts until revoked.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens (never their values).
    List,
    /// Revoke a token by its id; requests with it are refused from now on.
    Revoke { id: i64 },
}

fn when(ms: Option<i64>) -> String {
    ms.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
}

pub async fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    let db = super::open_db().await?;
    match cmd {
        TokenCommand::Create { name, scopes, expires_in_days } => {
            let scopes = scopes.join(",");
            let req = auth::TokenRequest { name: &name, scopes: &scopes, expires_in_days };
            let created = auth::create_api_token(&db, req, "cli").await?;
            if std::io::stdout().is_terminal() {
                println!("created API token #{} `{}`", created.token.id, created.token.name);
                println!("token (shown once, send it as `Authorization: Bearer <token>`): {}", created.secret);
            } else {
                eprintln!("created API token #{} `{}`", created.token.id, created.token.name);
                println!("{}", created.secret);
            }
        }
        TokenCommand::List => {
            println!(
                "{:<6} {:<32} {:<8} {:<18} {:<14} {:<14} {:<14} CREATED BY",
                "ID", "NAME", "STATUS", "SCOPES", "CREATED_MS", "LAST_USED_MS", "EXPIRES_MS"
            );
            let now = crate::store::now_ms();
            for t in db.list_api_tokens().await? {
                let status = match t.state(now) {
                    TokenState::Active => "active",
                    TokenState::Expired => "expired",
                    TokenState::Revoked => "revoked",
                };
                let scopes = if t.legacy { format!("{} (legacy)", t.scopes) } else { t.scopes.to_string() };
                println!(
                    "{:<6} {:<32} {:<8} {:<18} {:<14} {:<14} {:<14} {}",
                    t.id,
                    t.name,
                    status,
                    scopes,
                    t.created_at,
                    when(t.last_used_at),
                    when(t.expires_at),
                    t.created_by
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let t = auth::revoke_api_token(&db, id, "cli").await?;
            println!("API token #{} `{}` revoked", t.id, t.name);
        }
    }
    db.close().await;
    Ok(())
}
