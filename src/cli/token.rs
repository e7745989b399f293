//! `anomalyforge token create|list|revoke`: API tokens for integrators.

use crate::auth;
use clap::Subcommand;
use std::io::IsTerminal;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for the ingest API. The token is printed once and stored only as its SHA-256.
    Create {
        /// Who or what will use it (e.g. `zeek-sensor-1`).
        #[arg(long)]
        name: String,
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
        TokenCommand::Create { name } => {
            let created = auth::create_api_token(&db, &name, "cli").await?;
            db.audit("cli", "token.create", &created.token.name, &format!("id={}", created.token.id)).await?;
            if std::io::stdout().is_terminal() {
                println!("created API token #{} `{}`", created.token.id, created.token.name);
                println!("token (shown once, send it as `Authorization: Bearer <token>`): {}", created.secret);
            } else {
                eprintln!("created API token #{} `{}`", created.token.id, created.token.name);
                println!("{}", created.secret);
            }
        }
        TokenCommand::List => {
            println!("{:<6} {:<32} {:<8} {:<14} {:<14} CREATED BY", "ID", "NAME", "STATUS", "CREATED_MS", "LAST_USED_MS");
            for t in db.list_api_tokens().await? {
                let status = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{:<6} {:<32} {:<8} {:<14} {:<14} {}", t.id, t.name, status, t.created_at, when(t.last_used_at), t.created_by);
            }
        }
        TokenCommand::Revoke { id } => {
            let t = db.revoke_api_token(id).await?;
            db.audit("cli", "token.revoke", &t.name, &format!("id={}", t.id)).await?;
            println!("API token #{} `{}` revoked", t.id, t.name);
        }
    }
    db.close().await;
    Ok(())
}
