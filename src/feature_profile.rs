//! The feature sets the engine's models are trained on (browser-safe). Its own module so the model
//! manifest, the site baseline and the drift monitor can all name a profile without importing each
//! other.

use serde::{Deserialize, Serialize};

/// Which feature set a model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureProfile {
    /// The full CICFlowMeter vector.
    Cicflowmeter,
    /// Only what Zeek conn.log, Suricata flow events and NetFlow also give.
    Conn,
}

impl FeatureProfile {
    pub const ALL: [FeatureProfile; 2] = [FeatureProfile::Cicflowmeter, FeatureProfile::Conn];

    pub fn name(self) -> &'static str {
        match self {
            FeatureProfile::Cicflowmeter => "cicflowmeter",
            FeatureProfile::Conn => "conn",
        }
    }

    pub fn parse(s: &str) -> Option<FeatureProfile> {
        FeatureProfile::ALL.into_iter().find(|p| p.name() == s)
    }
}
