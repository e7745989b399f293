//! What people change, as operations of the domain (server only).
//!
//! A command validates its input, writes the change and its audit row in one transaction (the
//! store functions it calls take the actor and record an [`AuditAction`](crate::audit::AuditAction)),
//! and refreshes the caches the change affects through [`Caches`]. Server functions, the HTTP APIs
//! and the CLI only authorize and call these, so a rule (who may be assigned an alert, what a
//! false positive's suppression matches, that nobody disables their own account) holds whichever
//! door the change comes through.

pub mod assets;
pub mod playbooks;
pub mod replay;
pub mod reports;
pub mod suppressions;
pub mod triage;
pub mod users;

use crate::auth::AuthError;
use crate::enrich::Enricher;
use crate::store::{Db, StoreError};
use crate::user::CurrentUser;
use crate::validate::FieldError;

/// The caches a change can make stale. Every command (and the intel changes) refreshes them
/// through this one type, never by reaching for the enricher itself.
#[derive(Clone, Copy, Default)]
pub struct Caches<'a> {
    enricher: Option<&'a Enricher>,
}

impl<'a> Caches<'a> {
    /// `None` where nothing caches enrichment (ingest off, the CLI).
    pub fn new(enricher: Option<&'a Enricher>) -> Self {
        Caches { enricher }
    }

    /// Assets, suppression rules, reports or intel changed: the next batch's enrichment reloads
    /// them, so a change applies from the next alert on.
    pub fn enrichment_changed(&self) {
        if let Some(e) = self.enricher {
            e.invalidate();
        }
    }
}

/// Who runs a command, on which database, and what it must refresh.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub caches: Caches<'a>,
    /// The name the audit trail records.
    pub actor: &'a str,
    /// The acting account; `None` for the CLI, which runs as the machine's operator.
    pub actor_id: Option<i64>,
}

impl<'a> Ctx<'a> {
    /// A signed-in person.
    pub fn user(db: &'a Db, enricher: Option<&'a Enricher>, user: &'a CurrentUser) -> Self {
        Ctx { db, caches: Caches::new(enricher), actor: &user.username, actor_id: Some(user.id) }
    }

    /// The command line (`anomalyforge user …`), audited as `cli`.
    pub fn cli(db: &'a Db) -> Self {
        Ctx { db, caches: Caches::default(), actor: "cli", actor_id: None }
    }
}

/// Why a command was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Input that names its field.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The change conflicts with the state it would change (a replay already running).
    #[error("{0}")]
    Conflict(String),
    /// A per-person limit was reached; it frees after `retry_after_secs`.
    #[error("{message}")]
    TooMany { message: String, retry_after_secs: u64 },
}

pub type Result<T, E = CommandError> = std::result::Result<T, E>;
