//! `anomalyforge user add|list|set-role|reset-password|disable|enable`.

use crate::auth;
use crate::role::Role;
use crate::store::Db;
use crate::user::NewUser;
use anyhow::{bail, Context};
use clap::Subcommand;
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from AF_NEW_PASSWORD, from stdin, or generated and printed once.
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long, default_value = "")]
        display_name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Change an account's role.
    SetRole {
        username: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Set a new password (read from AF_NEW_PASSWORD, stdin, or generated and printed once); ends the account's sessions.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Re-enable a disabled account.
    Enable { username: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: crate::role::UnknownRole| e.to_string())
}

/// The new password and whether it was generated (and so must be printed).
fn new_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if let Ok(p) = std::env::var("AF_NEW_PASSWORD") {
        return Ok((p, false));
    }
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        let p = line.trim_end_matches(['\r', '\n']).to_string();
        if p.is_empty() {
            bail!("no password on standard input");
        }
        return Ok((p, false));
    }
    Ok((auth::random_password(), true))
}

async fn find(db: &Db, username: &str) -> anyhow::Result<crate::user::User> {
    db.user_by_username(&username.trim().to_ascii_lowercase())
        .await?
        .with_context(|| format!("no user named `{username}`"))
}

pub async fn run(cmd: UserCommand) -> anyhow::Result<()> {
    let db = super::open_db().await?;
    match cmd {
        UserCommand::Add { username, role, display_name, password_stdin } => {
            let (password, generated) = new_password(password_stdin)?;
            let user = auth::create_user(
                &db,
                NewUser { username, display_name, role, password: password.clone(), must_change_password: false },
            )
            .await?;
            db.audit("cli", "user.create", &user.username, &format!("role={}", user.role)).await?;
            println!("created user `{}` ({})", user.username, user.role);
            if generated {
                print_generated(&password);
            }
        }
        UserCommand::List => {
            println!("{:<24} {:<10} {:<9} DISPLAY NAME", "USERNAME", "ROLE", "STATUS");
            for u in db.list_users().await? {
                println!(
                    "{:<24} {:<10} {:<9} {}",
                    u.username,
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "active" },
                    u.display_name
                );
            }
        }
        UserCommand::SetRole { username, role } => {
            let user = find(&db, &username).await?;
            let user = db.set_role(user.id, role).await?;
            db.audit("cli", "user.set_role", &user.username, &format!("role={role}")).await?;
            println!("`{}` is now {}", user.username, user.role);
        }
        UserCommand::ResetPassword { username, password_stdin } => {
            let (password, generated) = new_password(password_stdin)?;
            let user = auth::reset_password(&db, &username, password.clone()).await?;
            db.audit("cli", "user.reset_password", &user.username, "").await?;
            println!("password of `{}` reset; their sessions were ended", user.username);
            if generated {
                print_generated(&password);
            }
        }
        UserCommand::Disable { username } => {
            let user = find(&db, &username).await?;
            db.set_disabled(user.id, true).await?;
            db.audit("cli", "user.disable", &user.username, "").await?;
            println!("`{}` disabled", user.username);
        }
        UserCommand::Enable { username } => {
            let user = find(&db, &username).await?;
            db.set_disabled(user.id, false).await?;
            db.audit("cli", "user.enable", &user.username, "").await?;
            println!("`{}` enabled", user.username);
        }
    }
    db.close().await;
    Ok(())
}

fn print_generated(password: &str) {
    if std::io::stdout().is_terminal() {
        println!("generated password (shown once): {password}");
    } else {
        println!("{password}");
    }
}
