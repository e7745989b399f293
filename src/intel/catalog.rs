//! What the threat-intel store holds, as pages, the API and the CLI see it: sources with their
//! figures, indicators with their hits, what an import did, and what an IOC check found.
//! Browser-safe (serde only); the store is `crate::store::intel`.

use serde::{Deserialize, Serialize};

use super::{IndicatorKind, Rejection};

/// The built-in source holding the indicators of employee reports the SOC confirmed.
pub const REPORTS_SOURCE: &str = "employee-reports";
/// Confidence of a source created by its first import when none is given.
pub const DEFAULT_CONFIDENCE: u8 = 50;
/// Days an imported indicator stays active when neither its entry nor its source says otherwise.
pub const DEFAULT_EXPIRY_DAYS: u32 = 30;
/// Longest source name.
pub const MAX_SOURCE_NAME: usize = 64;

/// Checks a source name: 1–64 lower-case letters, digits, `.`, `_` or `-`, starting with a letter
/// or digit (it is part of the import URL `POST /api/v1/intel/{source}`).
pub fn check_source_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > MAX_SOURCE_NAME {
        return Err(format!("a source name has 1 to {MAX_SOURCE_NAME} characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) || !name.chars().all(ok_char) {
        return Err(format!(
            "`{}` is not a source name: use lower-case letters, digits, `.`, `_` and `-`, starting with a letter or digit",
            super::clip(name)
        ));
    }
    Ok(())
}

/// Who fills a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Imported by people (upload, CLI) or tools (API).
    Feed,
    /// Employee reports confirmed by the SOC ([`REPORTS_SOURCE`]), kept in step by the report queue.
    Reports,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Reports => "reports",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        [SourceKind::Feed, SourceKind::Reports].into_iter().find(|k| k.as_str() == s)
    }
}

/// A named intel source and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelSource {
    pub id: i64,
    pub name: String,
    pub kind: SourceKind,
    /// 0–100: how far its indicators are trusted when an entry names no confidence of its own.
    pub confidence: u8,
    /// Days an imported indicator stays active when its entry names no end; `None`: until removed.
    pub expiry_days: Option<u32>,
    pub enabled: bool,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_import_at: Option<i64>,
    pub last_format: Option<String>,
    /// Indicators stored, and of them those that match now (enabled, started, not expired).
    pub indicators: i64,
    pub active: i64,
    /// Matches of its indicators in live and retro-hunted traffic.
    pub hits: i64,
}

/// The state of an indicator at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorState {
    Active,
    /// Its source or itself was disabled by an admin.
    Disabled,
    Expired,
    /// Its validity starts later.
    Pending,
}

impl IndicatorState {
    pub const ALL: [IndicatorState; 4] =
        [IndicatorState::Active, IndicatorState::Disabled, IndicatorState::Expired, IndicatorState::Pending];

    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorState::Active => "active",
            IndicatorState::Disabled => "disabled",
            IndicatorState::Expired => "expired",
            IndicatorState::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<IndicatorState> {
        IndicatorState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The state of an indicator with these fields at `now` (Unix ms).
    pub fn at(now: i64, enabled: bool, valid_from: Option<i64>, expires_at: Option<i64>) -> IndicatorState {
        if !enabled {
            IndicatorState::Disabled
        } else if expires_at.is_some_and(|e| e <= now) {
            IndicatorState::Expired
        } else if valid_from.is_some_and(|v| v > now) {
            IndicatorState::Pending
        } else {
            IndicatorState::Active
        }
    }
}

/// One stored indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorRow {
    pub id: i64,
    pub source_id: i64,
    pub source: String,
    /// Canonical text (`Indicator`'s Display).
    pub value: String,
    pub kind: IndicatorKind,
    /// The entry's own confidence, or its source's.
    pub confidence: u8,
    pub description: String,
    /// Where it came from: `line 12`, a STIX id, a MISP uuid.
    pub reference: String,
    pub valid_from: Option<i64>,
    pub expires_at: Option<i64>,
    /// Its own switch and its source's, together.
    pub enabled: bool,
    pub state: IndicatorState,
    pub hits: i64,
    pub last_hit_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page of indicators.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndicatorPage {
    pub rows: Vec<IndicatorRow>,
    /// Matching the filter, on every page.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// What a retro-hunt of newly imported indicators over the stored flows found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetroHunt {
    /// Address and network indicators searched for.
    pub indicators: u64,
    /// Indicators of other kinds (domains, URLs, hashes): stored flows carry no names to match them.
    pub not_searchable: u64,
    /// Stored flows that matched.
    pub flows: u64,
    /// Alerts raised or merged from them, dated when the traffic happened.
    pub alerts: u64,
    /// Indicators not searched because the import had more than the retro-hunt's cap.
    pub skipped: u64,
    /// Unix ms from which flows were searched (the retention window's start), when any are stored.
    pub since: Option<i64>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub source: String,
    pub format: super::IntelFormat,
    /// Indicators new to the source.
    pub imported: u64,
    /// Indicators the source already had, refreshed (description, confidence, expiry).
    pub updated: u64,
    /// Entries not imported, each naming its line or object and why.
    pub rejected: Vec<Rejection>,
    /// Valid records that are not indicators for detection, and repeats.
    pub ignored: u64,
    pub retro: RetroHunt,
}

/// A stored alert as an IOC check lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IocAlert {
    pub id: i64,
    pub last_seen: i64,
    pub threat: String,
    pub risk: i64,
    pub status: String,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
}

/// An employee report of the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IocReport {
    pub id: i64,
    pub created_at: i64,
    pub category: String,
    pub status: String,
}

/// Everything known about one value: the IOC check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IocCheck {
    /// The value in canonical form.
    pub value: String,
    pub kind: IndicatorKind,
    /// Intel entries naming it, or (for an address) a network holding it, or (for a domain) a
    /// wildcard over it; every state, active first.
    pub intel: Vec<IndicatorRow>,
    /// Newest alerts from or to it (an address or a network), at most 20, and how many there are.
    pub alerts: Vec<IocAlert>,
    pub alerts_total: i64,
    /// Stored flows from or to it within the history (an address or a network): a count of at most
    /// the search's cap, whether the count is complete, and the newest ones.
    pub flows: Option<crate::flow_history::FlowSearch>,
    /// Employee reports of it (an address or a domain).
    pub reports: Vec<IocReport>,
    /// The inventory's record of the address.
    pub asset: Option<crate::asset::Asset>,
    /// ISO alpha-2 of a public address.
    pub country: Option<String>,
    /// For one address (the host page): its busiest peers and ports in the last day of stored flows.
    pub peers: Option<HostPeers>,
}

/// A value of stored flows and how much traffic it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Talker {
    pub value: String,
    pub flows: i64,
    pub bytes: i64,
}

/// Whom an address talked to, who talked to it, and on which ports, over `[from, until)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPeers {
    pub from: i64,
    pub until: i64,
    /// Destinations of its flows, most flows first.
    pub contacted: Vec<Talker>,
    /// Sources of flows to it.
    pub contacted_by: Vec<Talker>,
    /// Destination ports of flows from or to it.
    pub ports: Vec<Talker>,
}

/// What an admin does to a whole source on `/intel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceAction {
    Enable,
    Disable,
    /// Expire every indicator of it now (they stay listed, as expired).
    Expire,
    /// Remove it and its indicators (imported sources only).
    Delete,
}

/// What an admin does to one indicator on `/intel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorAction {
    Enable,
    Disable,
    Expire,
}

impl SourceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceAction::Enable => "enable",
            SourceAction::Disable => "disable",
            SourceAction::Expire => "expire",
            SourceAction::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<SourceAction> {
        [SourceAction::Enable, SourceAction::Disable, SourceAction::Expire, SourceAction::Delete]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

impl IndicatorAction {
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorAction::Enable => "enable",
            IndicatorAction::Disable => "disable",
            IndicatorAction::Expire => "expire",
        }
    }

    pub fn parse(s: &str) -> Option<IndicatorAction> {
        [IndicatorAction::Enable, IndicatorAction::Disable, IndicatorAction::Expire]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}
