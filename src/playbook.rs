//! Playbooks: the ordered response steps for one threat type. Browser-safe.

use serde::{Deserialize, Serialize};

/// Threat key of ML alerts whose classifier said benign but whose anomaly models fired.
pub const UNKNOWN_ANOMALY: &str = "unknown_anomaly";

/// A playbook as stored (seeded by a migration, edited by responders and admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playbook {
    /// The threat key it answers (`ddos`, `port_scan`, …, `signature`, `unknown_anomaly`).
    pub threat: String,
    pub title: String,
    pub summary: String,
    pub steps: Vec<String>,
    pub updated_at: i64,
    pub updated_by: Option<String>,
}

/// Where the console shows the playbook of a threat key.
pub fn playbook_href(threat: &str) -> String {
    format!("/playbooks#{threat}")
}
