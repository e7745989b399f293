//! The `[analysis]` settings.

use serde::{Deserialize, Serialize};

/// File analysis limits (`[analysis]` in the config file, `AF_ANALYSIS__…`). Missing keys take the
/// defaults; unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Offer `/analyze` (`AF_ANALYSIS__ENABLED`).
    pub enabled: bool,
    /// Largest upload, as sent (compressed when gzip): 512 MiB.
    pub max_upload_bytes: u64,
    /// Most bytes a gzip upload may expand to: 4 GiB.
    pub max_expanded_bytes: u64,
    /// Analyses read at once on this server; beyond it an upload is answered 503 with `Retry-After`.
    pub max_running: usize,
    /// Analyses one person keeps at once; beyond it they are asked to delete one.
    pub max_per_user: usize,
    /// Days an analysis and its files are kept.
    pub retention_days: u32,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            enabled: true,
            max_upload_bytes: 512 * 1024 * 1024,
            max_expanded_bytes: 4 * 1024 * 1024 * 1024,
            max_running: 2,
            max_per_user: 20,
            retention_days: 7,
        }
    }
}

impl AnalysisConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_upload_bytes < 1024 {
            return Err("max_upload_bytes must be at least 1024".into());
        }
        if self.max_expanded_bytes < self.max_upload_bytes {
            return Err("max_expanded_bytes must be at least max_upload_bytes".into());
        }
        if self.max_running == 0 || self.max_per_user == 0 {
            return Err("max_running and max_per_user must be at least 1".into());
        }
        if !(1..=366).contains(&self.retention_days) {
            return Err("retention_days must be between 1 and 366".into());
        }
        Ok(())
    }

    /// How long an analysis is kept, ms.
    pub fn retention_ms(&self) -> i64 {
        i64::from(self.retention_days) * crate::time::DAY
    }
}
