//! Audit-trail entries as shown to administrators.

use serde::{Deserialize, Serialize};

/// One recorded action: who did what, to what, when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}
