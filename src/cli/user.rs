//! `anomalyforge user add|list|set-role|reset-password|disable|enable`.

use crate::auth;
use crate::commands::{users, Ctx};
use crate::role::Role;
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

pub async fn run(cmd: UserCommand) -> anyhow::Result<()> {
    let db = super::open_db().await?;
    let ctx = Ctx::cli(&db);
    match cmd {
        UserCommand::Add { username, role, display_name, password_stdin } => {
            let (password, generated) = new_password(password_stdin)?;
            let new = NewUser { username, display_name, role, password: password.clone(), must_change_password: false };
            let user = users::create(ctx, new).await?;
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
            let user = users::by_name(ctx, &username).await?;
            let user = users::set_role(ctx, user.id, role).await?;
            println!("`{}` is now {}", user.username, user.role);
        }
        UserCommand::ResetPassword { username, password_stdin } => {
            let (password, generated) = new_password(password_stdin)?;
            let user = users::reset_password(ctx, &username, password.clone()).await?;
            println!("password of `{}` reset; their sessions were ended", user.username);
            if generated {
                print_generated(&password);
            }
        }
        UserCommand::Disable { username } => {
            let user = users::by_name(ctx, &username).await?;
            users::set_disabled(ctx, user.id, true).await?;
            println!("`{}` disabled", user.username);
        }
        UserCommand::Enable { username } => {
            let user = users::by_name(ctx, &username).await?;
            users::set_disabled(ctx, user.id, false).await?;
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
