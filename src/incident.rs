//! Incidents: one intrusion, many alerts. An incident groups alerts into a case with a title,
//! severity, status, owner and a timeline of what happened to it (alerts added, comments, status
//! changes, merges). Browser-safe; the store applies the commands in a transaction
//! (`crate::store::incidents`).
//!
//! ```text
//! open ──contain──▶ contained ──resolve──▶ resolved
//!  │                    │     └─false_positive─▶ false_positive
//!  └────resolve / false_positive────▶ (closed) ──reopen──▶ open
//! ```
//! Closing an incident closes its open alerts with the same words: resolving resolves them, a false
//! positive marks them false positives. Time to contain runs from the incident's creation to its
//! first containment (or its closing, when it was closed without being contained first).
//!
//! AnomalyForge **suggests** incidents ([`suggest`]): open alerts not yet in an incident that share an
//! internal host or an external address, each within [`SUGGEST_WINDOW_MS`] of the previous one. The
//! analyst accepts a suggestion (an incident is created from its alerts) or dismisses it (it comes
//! back only when a newer alert joins the group); nothing is grouped without them.

use crate::alert::Severity;
use crate::net::is_internal_address;
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const MAX_TITLE: usize = 200;
pub const MAX_NOTE: usize = 2000;
/// Alerts of one create or add request.
pub const MAX_ALERTS: usize = 500;
/// Incidents per page of the list.
pub const PER_PAGE: u32 = 50;
/// Two alerts of a suggested group are at most this far apart (by last seen).
pub const SUGGEST_WINDOW_MS: i64 = 6 * 3_600_000;
/// Open alerts the suggestions look at (the newest).
pub const SUGGEST_SCAN: i64 = 5_000;
/// Suggestions shown at most.
pub const MAX_SUGGESTIONS: usize = 20;

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum IncidentStatus {
    Open,
    Contained,
    Resolved,
    FalsePositive,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] =
        [IncidentStatus::Open, IncidentStatus::Contained, IncidentStatus::Resolved, IncidentStatus::FalsePositive];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::FalsePositive => "false_positive",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// In plain words.
    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::FalsePositive => "a false positive",
        }
    }

    /// Still being worked on (open or contained).
    pub fn is_active(self) -> bool {
        matches!(self, IncidentStatus::Open | IncidentStatus::Contained)
    }
}

/// A stored incident, with figures over its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    /// Username.
    pub owner: Option<String>,
    /// The closing words (resolution or false-positive reason).
    pub resolution: String,
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    pub updated_at: i64,
    /// First containment, or the closing when it was closed without being contained.
    pub contained_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// The incident this one was merged into; a merged incident has no alerts left.
    pub merged_into: Option<i64>,
    pub alerts: i64,
    /// Alerts still new or acknowledged.
    pub open_alerts: i64,
    pub max_risk: i64,
    /// Newest last-seen of its alerts.
    pub last_seen: Option<i64>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct IncidentEvent {
    pub id: i64,
    pub incident_id: i64,
    /// Unix ms.
    pub at: i64,
    /// Username.
    pub actor: String,
    /// `created`, `alerts_added`, `comment`, `assign`, `contain`, `resolve`, `false_positive`,
    /// `reopen`, `merged`, `severity`; response actions: `action`, `action_approved`,
    /// `action_rejected`, `action_lifted`.
    pub kind: String,
    pub detail: String,
}

impl IncidentEvent {
    /// The kind in words ("Contained", "Alerts added").
    pub fn kind_label(&self) -> &str {
        match self.kind.as_str() {
            "created" => "Created",
            "alerts_added" => "Alerts added",
            "comment" => "Comment",
            "assign" => "Owner",
            "contain" => "Contained",
            "resolve" => "Resolved",
            "false_positive" => "False positive",
            "reopen" => "Reopened",
            "merged" => "Merged",
            "severity" => "Severity",
            "action" => "Response action",
            "action_approved" => "Action approved",
            "action_rejected" => "Action rejected",
            "action_lifted" => "Action lifted",
            other => other,
        }
    }
}

/// A host, address or threat involved in an incident, with how many of its alerts name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Involved {
    /// An address or a threat key.
    pub key: String,
    /// The asset's hostname, the country, or the threat's title.
    pub label: Option<String>,
    pub alerts: i64,
}

/// Who and what an incident involves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Internal hosts (assets and private addresses), most alerts first.
    pub hosts: Vec<Involved>,
    /// External addresses, most alerts first.
    pub addresses: Vec<Involved>,
    pub threats: Vec<Involved>,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// Everything the incident page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    /// Its alerts, newest last-seen first.
    pub alerts: Vec<crate::alert::Alert>,
    /// Oldest first.
    pub timeline: Vec<IncidentEvent>,
    pub summary: IncidentSummary,
    /// Usernames an incident can be assigned to (SOC roles, enabled).
    pub assignable: Vec<String>,
    /// Other active incidents it can be merged with: (id, title).
    pub mergeable: Vec<(i64, String)>,
    /// Its response actions, and what the viewer may do.
    #[serde(default)]
    pub response: crate::response::ResponseAccess,
}

/// A new incident, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIncident {
    /// Empty: named after its alerts ([`default_title`]).
    pub title: String,
    /// `None`: from the riskiest alert.
    pub severity: Option<Severity>,
    pub alert_ids: Vec<i64>,
}

impl NewIncident {
    pub fn from_form(title: &str, severity: &str, ids: &str) -> Result<NewIncident, FieldError> {
        Ok(NewIncident { title: title_of(title)?, severity: severity_of(severity)?, alert_ids: parse_ids(ids)? })
    }
}

fn title_of(raw: &str) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.chars().count() > MAX_TITLE {
        return Err(FieldError::new("title", format!("Use at most {MAX_TITLE} characters.")));
    }
    if t.chars().any(char::is_control) {
        return Err(FieldError::new("title", "A title is one line of text."));
    }
    Ok(t.to_string())
}

fn severity_of(raw: &str) -> Result<Option<Severity>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        s => Severity::parse(s).map(Some).ok_or_else(|| {
            FieldError::new("severity", format!("`{s}` is not a severity: low, medium, high or critical."))
        }),
    }
}

/// `"3, 7,9"` → `[3, 7, 9]` (duplicates dropped, order kept), 1 to [`MAX_ALERTS`].
pub fn parse_ids(raw: &str) -> Result<Vec<i64>, FieldError> {
    let mut ids: Vec<i64> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = part
            .trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| FieldError::new("ids", format!("`{part}` is not an alert number.")))?;
        if !ids.contains(&id) {
            if ids.len() == MAX_ALERTS {
                return Err(FieldError::new("ids", format!("Select at most {MAX_ALERTS} alerts at a time.")));
            }
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(FieldError::new("ids", "Select at least one alert."));
    }
    Ok(ids)
}

/// A change to an incident, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum IncidentCommand {
    Comment {
        text: String,
    },
    /// To a username.
    Assign {
        to: String,
    },
    Severity {
        to: Severity,
    },
    Contain {
        note: String,
    },
    /// Resolves its open alerts too.
    Resolve {
        resolution: String,
    },
    /// Marks its open alerts false positives too.
    FalsePositive {
        reason: String,
    },
    Reopen {
        note: String,
    },
}

impl IncidentCommand {
    /// From a form: `action` names it; `note` is the comment, note, resolution or reason;
    /// `value` the owner's username or the severity.
    pub fn from_form(action: &str, note: &str, value: &str) -> Result<IncidentCommand, FieldError> {
        let note = note.trim();
        if note.chars().count() > MAX_NOTE {
            return Err(FieldError::new("note", format!("Use at most {MAX_NOTE} characters.")));
        }
        let note = note.to_string();
        Ok(match action.trim() {
            "comment" if note.is_empty() => return Err(FieldError::new("note", "Write the comment.")),
            "comment" => IncidentCommand::Comment { text: note },
            "assign" => {
                let to = value.trim().to_ascii_lowercase();
                if to.is_empty() {
                    return Err(FieldError::new("value", "Choose who owns the incident."));
                }
                IncidentCommand::Assign { to }
            }
            "severity" => IncidentCommand::Severity {
                to: severity_of(value)
                    .map_err(|e| FieldError::new("value", e.message))?
                    .ok_or_else(|| FieldError::new("value", "Choose a severity."))?,
            },
            "contain" => IncidentCommand::Contain { note },
            "resolve" if note.is_empty() => {
                return Err(FieldError::new("note", "Write the resolution: what happened and what was done."))
            }
            "resolve" => IncidentCommand::Resolve { resolution: note },
            "false_positive" if note.is_empty() => {
                return Err(FieldError::new("note", "Say why this is a false positive; the next analyst will read it."))
            }
            "false_positive" => IncidentCommand::FalsePositive { reason: note },
            "reopen" => IncidentCommand::Reopen { note },
            other => {
                return Err(FieldError::new(
                    "action",
                    format!(
                        "`{other}` is not an incident action: comment, assign, severity, contain, resolve, \
                         false_positive or reopen."
                    ),
                ))
            }
        })
    }

    /// The timeline's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            IncidentCommand::Comment { .. } => "comment",
            IncidentCommand::Assign { .. } => "assign",
            IncidentCommand::Severity { .. } => "severity",
            IncidentCommand::Contain { .. } => "contain",
            IncidentCommand::Resolve { .. } => "resolve",
            IncidentCommand::FalsePositive { .. } => "false_positive",
            IncidentCommand::Reopen { .. } => "reopen",
        }
    }

    /// The timeline's detail.
    pub fn detail(&self) -> String {
        match self {
            IncidentCommand::Comment { text } => text.clone(),
            IncidentCommand::Assign { to } => to.clone(),
            IncidentCommand::Severity { to } => to.as_str().to_string(),
            IncidentCommand::Contain { note } | IncidentCommand::Reopen { note } => note.clone(),
            IncidentCommand::Resolve { resolution } => resolution.clone(),
            IncidentCommand::FalsePositive { reason } => reason.clone(),
        }
    }

    /// The status after this command, or why it does not apply to an incident in `current`.
    pub fn next_status(&self, current: IncidentStatus) -> Result<IncidentStatus, String> {
        use IncidentStatus::*;
        match (self, current) {
            (
                IncidentCommand::Comment { .. } | IncidentCommand::Assign { .. } | IncidentCommand::Severity { .. },
                s,
            ) => Ok(s),
            (IncidentCommand::Contain { .. }, Open) => Ok(Contained),
            (IncidentCommand::Contain { .. }, s) => Err(format!("the incident is already {}", s.label())),
            (IncidentCommand::Resolve { .. }, Open | Contained) => Ok(Resolved),
            (IncidentCommand::FalsePositive { .. }, Open | Contained) => Ok(FalsePositive),
            (IncidentCommand::Resolve { .. } | IncidentCommand::FalsePositive { .. }, s) => {
                Err(format!("the incident is already {}", s.label()))
            }
            (IncidentCommand::Reopen { .. }, Resolved | FalsePositive) => Ok(Open),
            (IncidentCommand::Reopen { .. }, _) => Err("the incident is still active".into()),
        }
    }

    /// What closing the incident does to its open alerts.
    pub fn alert_triage(&self, incident_id: i64) -> Option<crate::triage::Triage> {
        match self {
            IncidentCommand::Resolve { resolution } => Some(crate::triage::Triage::Resolve {
                note: format!("Resolved with incident #{incident_id}: {resolution}"),
            }),
            IncidentCommand::FalsePositive { reason } => Some(crate::triage::Triage::FalsePositive {
                reason: format!("False positive with incident #{incident_id}: {reason}"),
            }),
            _ => None,
        }
    }
}

/// Which incidents the list shows: `status` is a status, `active` (open or contained, the default)
/// or `all`. Kept in the URL as text, like the console's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncidentQuery {
    pub status: String,
    pub severity: String,
    pub owner: String,
    /// Part of the title, or `#id`.
    pub q: String,
    pub page: String,
    /// The incident whose detail is open.
    pub incident: String,
}

/// The list's parameters, in URL order.
pub const INCIDENT_PARAMS: [&str; 6] = ["status", "severity", "owner", "q", "page", "incident"];

/// [`IncidentQuery`], checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFilter {
    /// Empty: every status.
    pub statuses: Vec<IncidentStatus>,
    pub severity: Option<Severity>,
    pub owner: Option<String>,
    pub text: String,
    /// 1-based.
    pub page: u32,
}

impl IncidentQuery {
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> IncidentQuery {
        let mut q = IncidentQuery::default();
        for name in INCIDENT_PARAMS {
            if let Some(v) = get(name) {
                *q.field_mut(name) = v;
            }
        }
        q
    }

    fn field_mut(&mut self, name: &str) -> &mut String {
        match name {
            "status" => &mut self.status,
            "severity" => &mut self.severity,
            "owner" => &mut self.owner,
            "q" => &mut self.q,
            "incident" => &mut self.incident,
            _ => &mut self.page,
        }
    }

    fn field(&self, name: &str) -> &str {
        match name {
            "status" => &self.status,
            "severity" => &self.severity,
            "owner" => &self.owner,
            "q" => &self.q,
            "incident" => &self.incident,
            _ => &self.page,
        }
    }

    /// A copy with `name` set; any change but the page's goes back to page 1.
    pub fn with(&self, name: &str, value: &str) -> IncidentQuery {
        let mut q = self.clone();
        *q.field_mut(name) = value.to_string();
        if name != "page" && name != "incident" {
            q.page.clear();
        }
        q
    }

    /// `/soc/incidents?status=all&incident=3` (only the parameters that are set).
    pub fn href(&self) -> String {
        let parts: Vec<String> = INCIDENT_PARAMS
            .iter()
            .filter(|n| !self.field(n).is_empty())
            .map(|n| format!("{n}={}", crate::url_query::encode_component(self.field(n))))
            .collect();
        if parts.is_empty() {
            "/soc/incidents".to_string()
        } else {
            format!("/soc/incidents?{}", parts.join("&"))
        }
    }

    /// The open incident, when the parameter is a number.
    pub fn open_id(&self) -> Option<i64> {
        self.incident.trim().trim_start_matches('#').parse().ok().filter(|id| *id > 0)
    }

    pub fn validate(&self) -> Result<IncidentFilter, FieldError> {
        let statuses = match self.status.trim() {
            "" | "active" => vec![IncidentStatus::Open, IncidentStatus::Contained],
            "all" => Vec::new(),
            s => vec![IncidentStatus::parse(s).ok_or_else(|| {
                FieldError::new("status", "Choose active, all, open, contained, resolved or false_positive.")
            })?],
        };
        let owner = match self.owner.trim() {
            "" => None,
            o => Some(o.to_ascii_lowercase()),
        };
        let text = self.q.trim();
        if text.chars().count() > MAX_TITLE {
            return Err(FieldError::new("q", format!("Search with at most {MAX_TITLE} characters.")));
        }
        let page = match self.page.trim() {
            "" => 1,
            p => p
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=100_000).contains(p))
                .ok_or_else(|| FieldError::new("page", "A page is a number from 1."))?,
        };
        Ok(IncidentFilter { statuses, severity: severity_of(&self.severity)?, owner, text: text.to_string(), page })
    }
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentPage {
    pub filter: IncidentFilter,
    pub total: i64,
    pub rows: Vec<Incident>,
    /// Active incidents by status, whatever the filter: (open, contained).
    pub active: (i64, i64),
}

impl IncidentPage {
    pub fn pages(&self) -> i64 {
        ((self.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE)).max(1)
    }
}

/// What adding alerts to an incident did to each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddOutcome {
    pub incident_id: i64,
    pub added: Vec<i64>,
    /// (alert id, why not).
    pub skipped: Vec<(i64, String)>,
}

impl AddOutcome {
    /// "Incident #4: 3 alerts added. #9 skipped: it is already in incident #2."
    pub fn describe(&self) -> String {
        let n = self.added.len();
        let mut s = format!("Incident #{}: {n} alert{} added.", self.incident_id, if n == 1 { "" } else { "s" });
        for (id, why) in &self.skipped {
            s.push_str(&format!(" #{id} skipped: {why}."));
        }
        s
    }
}

/// Which kind of address ties a suggested group together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shared {
    /// An internal host (an asset, or a private address).
    Host,
    /// An external (public) address.
    Address,
}

/// What [`suggest`] needs of an open alert not in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: i64,
    pub last_seen: i64,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    /// The asset's address, when the alert concerns one.
    pub asset_ip: Option<String>,
    pub threat: String,
    pub risk: i64,
}

/// A proposed incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// `host:10.0.0.5` or `address:203.0.113.7`: what a dismissal remembers.
    pub key: String,
    pub shared: Shared,
    pub address: String,
    /// Oldest first.
    pub alert_ids: Vec<i64>,
    /// Distinct threat keys, most alerts first.
    pub threats: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub max_risk: i64,
}

impl Suggestion {
    /// The highest alert id: a dismissal holds until a newer alert joins the group.
    pub fn newest_alert(&self) -> i64 {
        self.alert_ids.iter().copied().max().unwrap_or(0)
    }

    /// A title for the incident, in words.
    pub fn title(&self, threat_title: impl Fn(&str) -> String) -> String {
        let threats: Vec<String> = self.threats.iter().take(3).map(|t| threat_title(t)).collect();
        let what = match threats.len() {
            0 => "Alerts".to_string(),
            1 => threats[0].clone(),
            _ => format!("{} and {}", threats[..threats.len() - 1].join(", "), threats[threats.len() - 1]),
        };
        let more = if self.threats.len() > 3 { " and more" } else { "" };
        match self.shared {
            Shared::Host => format!("{what}{more} on host {}", self.address),
            Shared::Address => format!("{what}{more} involving {}", self.address),
        }
    }
}

/// The keys an alert can be grouped by.
fn keys_of(c: &Candidate) -> Vec<(Shared, String)> {
    let mut keys: Vec<(Shared, String)> = Vec::new();
    let mut push = |k: (Shared, String)| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    if let Some(ip) = &c.asset_ip {
        push((Shared::Host, ip.clone()));
    }
    for ip in [&c.src_ip, &c.dst_ip].into_iter().flatten() {
        if c.asset_ip.as_deref() == Some(ip.as_str()) {
            continue;
        }
        push(if is_internal_address(ip) { (Shared::Host, ip.clone()) } else { (Shared::Address, ip.clone()) });
    }
    keys
}

/// Proposes incidents from open alerts not in one: alerts that share an internal host or an
/// external address, each within `window_ms` of the previous (by last seen), at least two per
/// group. The largest groups are proposed first and an alert is proposed once; a group whose key
/// was dismissed (`dismissed`: key → the newest alert id then) is left out unless it holds a newer
/// alert.
pub fn suggest(alerts: &[Candidate], dismissed: &HashMap<String, i64>, window_ms: i64) -> Vec<Suggestion> {
    let mut by_key: BTreeMap<(Shared, String), Vec<&Candidate>> = BTreeMap::new();
    for c in alerts {
        for k in keys_of(c) {
            by_key.entry(k).or_default().push(c);
        }
    }
    // Split each key's alerts into runs without a gap longer than the window.
    let mut groups: Vec<((Shared, String), Vec<&Candidate>)> = Vec::new();
    for (key, mut list) in by_key {
        list.sort_by_key(|c| (c.last_seen, c.id));
        let mut run: Vec<&Candidate> = Vec::new();
        for c in list {
            if run.last().is_some_and(|p| c.last_seen - p.last_seen > window_ms) {
                groups.push((key.clone(), std::mem::take(&mut run)));
            }
            run.push(c);
        }
        groups.push((key, run));
    }
    // Largest first; hosts before addresses on a tie (a host is what a responder acts on).
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut taken: BTreeSet<i64> = BTreeSet::new();
    let mut out = Vec::new();
    for ((shared, address), run) in groups {
        // Alerts proposed with a larger group leave gaps: split again where one exceeds the window.
        let mut runs: Vec<Vec<&Candidate>> = vec![Vec::new()];
        for c in run.into_iter().filter(|c| !taken.contains(&c.id)) {
            if runs.last().and_then(|r| r.last()).is_some_and(|p| c.last_seen - p.last_seen > window_ms) {
                runs.push(Vec::new());
            }
            runs.last_mut().expect("one run at least").push(c);
        }
        for free in runs.into_iter().filter(|r| r.len() >= 2) {
            let key = format!("{}:{address}", if shared == Shared::Host { "host" } else { "address" });
            let newest = free.iter().map(|c| c.id).max().unwrap_or(0);
            if dismissed.get(&key).is_some_and(|&upto| newest <= upto) {
                continue;
            }
            let mut threat_counts: Vec<(String, usize)> = Vec::new();
            for c in &free {
                match threat_counts.iter_mut().find(|(t, _)| *t == c.threat) {
                    Some((_, n)) => *n += 1,
                    None => threat_counts.push((c.threat.clone(), 1)),
                }
            }
            // Most alerts first; ties in the order they happened (stable sort), so the title tells the story.
            threat_counts.sort_by_key(|t| std::cmp::Reverse(t.1));
            taken.extend(free.iter().map(|c| c.id));
            out.push(Suggestion {
                key,
                shared,
                address: address.clone(),
                alert_ids: free.iter().map(|c| c.id).collect(),
                threats: threat_counts.into_iter().map(|(t, _)| t).collect(),
                first_seen: free.iter().map(|c| c.last_seen).min().unwrap_or(0),
                last_seen: free.iter().map(|c| c.last_seen).max().unwrap_or(0),
                max_risk: free.iter().map(|c| c.risk).max().unwrap_or(0),
            });
        }
    }
    out.sort_by(|a, b| b.max_risk.cmp(&a.max_risk).then(b.alert_ids.len().cmp(&a.alert_ids.len())));
    out.truncate(MAX_SUGGESTIONS);
    out
}

/// The title of an incident made from alerts when none is given: "Port scan and SSH brute force
/// from 203.0.113.7" (the most frequent threats, and the source they share when they share one).
pub fn default_title(alerts: &[crate::alert::Alert], threat_title: impl Fn(&str) -> String) -> String {
    let mut threats: Vec<(String, usize)> = Vec::new();
    for a in alerts {
        match threats.iter_mut().find(|(t, _)| *t == a.threat) {
            Some((_, n)) => *n += 1,
            None => threats.push((a.threat.clone(), 1)),
        }
    }
    threats.sort_by_key(|t| std::cmp::Reverse(t.1));
    let names: Vec<String> = threats.iter().take(2).map(|(t, _)| threat_title(t)).collect();
    let what = match names.len() {
        0 => "Incident".to_string(),
        1 => names[0].clone(),
        _ => format!("{} and {}", names[0], names[1]),
    };
    let sources: BTreeSet<&str> = alerts.iter().filter_map(|a| a.src_ip.as_deref()).collect();
    let targets: BTreeSet<&str> = alerts.iter().filter_map(|a| a.dst_ip.as_deref()).collect();
    let mut t = match (sources.len(), targets.len()) {
        (1, _) => format!("{what} from {}", sources.iter().next().unwrap_or(&"")),
        (_, 1) => format!("{what} against {}", targets.iter().next().unwrap_or(&"")),
        _ => what,
    };
    if t.chars().count() > MAX_TITLE {
        t = t.chars().take(MAX_TITLE).collect();
    }
    t
}

/// Severity of an incident made from alerts: the severity of the riskiest.
pub fn severity_of_alerts(alerts: &[crate::alert::Alert]) -> Severity {
    Severity::from_risk(alerts.iter().map(|a| a.risk).max().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cand(id: i64, at: i64, src: &str, dst: &str, threat: &str) -> Candidate {
        Candidate {
            id,
            last_seen: at,
            src_ip: Some(src.into()),
            dst_ip: Some(dst.into()),
            asset_ip: None,
            threat: threat.into(),
            risk: 50 + id,
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn alerts_sharing_a_host_within_the_window_are_proposed_together() {
        let alerts = vec![
            cand(1, 0, "203.0.113.7", "10.0.0.5", "port_scan"),
            cand(2, H, "198.51.100.9", "10.0.0.5", "ssh_brute_force"),
            cand(3, 2 * H, "10.0.0.5", "192.0.2.44", "c2_beacon"),
            // Same host, but a day later: a separate run, alone, so not proposed.
            cand(4, 30 * H, "192.0.2.1", "10.0.0.5", "ddos"),
            // Unrelated.
            cand(5, H, "192.0.2.200", "10.0.0.99", "ddos"),
        ];
        let s = suggest(&alerts, &HashMap::new(), SUGGEST_WINDOW_MS);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].key, "host:10.0.0.5");
        assert_eq!(s[0].alert_ids, vec![1, 2, 3]);
        assert_eq!(s[0].shared, Shared::Host);
        assert_eq!(s[0].title(|t| t.to_string()), "port_scan, ssh_brute_force and c2_beacon on host 10.0.0.5");
    }

    #[test]
    fn an_external_address_groups_alerts_on_several_hosts() {
        let alerts = vec![
            cand(1, 0, "203.0.113.7", "10.0.0.5", "port_scan"),
            cand(2, H, "203.0.113.7", "10.0.0.6", "port_scan"),
            cand(3, 2 * H, "203.0.113.7", "10.0.0.7", "port_scan"),
        ];
        let s = suggest(&alerts, &HashMap::new(), SUGGEST_WINDOW_MS);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].key, "address:203.0.113.7");
        assert_eq!(s[0].alert_ids, vec![1, 2, 3]);
    }

    #[test]
    fn a_dismissal_holds_until_a_newer_alert_joins() {
        let mut alerts =
            vec![cand(1, 0, "203.0.113.7", "10.0.0.5", "port_scan"), cand(2, H, "203.0.113.8", "10.0.0.5", "ddos")];
        let dismissed = HashMap::from([("host:10.0.0.5".to_string(), 2)]);
        assert!(suggest(&alerts, &dismissed, SUGGEST_WINDOW_MS).is_empty());
        alerts.push(cand(7, 2 * H, "203.0.113.9", "10.0.0.5", "ddos"));
        let s = suggest(&alerts, &dismissed, SUGGEST_WINDOW_MS);
        assert_eq!(s[0].alert_ids, vec![1, 2, 7]);
    }

    #[test]
    fn an_asset_counts_as_a_host_whatever_its_address() {
        let mut a = cand(1, 0, "203.0.113.7", "198.51.100.80", "port_scan");
        a.asset_ip = Some("198.51.100.80".into());
        let mut b = cand(2, H, "192.0.2.9", "198.51.100.80", "ddos");
        b.asset_ip = Some("198.51.100.80".into());
        let s = suggest(&[a, b], &HashMap::new(), SUGGEST_WINDOW_MS);
        assert_eq!(s[0].key, "host:198.51.100.80");
    }

    #[test]
    fn commands_follow_the_lifecycle() {
        let c = IncidentCommand::from_form("contain", "blocked at the edge", "").unwrap();
        assert_eq!(c.next_status(IncidentStatus::Open), Ok(IncidentStatus::Contained));
        assert!(c.next_status(IncidentStatus::Contained).is_err());
        let r = IncidentCommand::from_form("resolve", "host rebuilt", "").unwrap();
        assert_eq!(r.next_status(IncidentStatus::Contained), Ok(IncidentStatus::Resolved));
        assert_eq!(r.next_status(IncidentStatus::Resolved).unwrap_err(), "the incident is already resolved");
        let o = IncidentCommand::from_form("reopen", "", "").unwrap();
        assert_eq!(o.next_status(IncidentStatus::Resolved), Ok(IncidentStatus::Open));
        assert!(o.next_status(IncidentStatus::Open).is_err());
        assert_eq!(IncidentCommand::from_form("resolve", " ", "").unwrap_err().field, "note");
        assert_eq!(IncidentCommand::from_form("false_positive", "", "").unwrap_err().field, "note");
        assert_eq!(IncidentCommand::from_form("assign", "", "").unwrap_err().field, "value");
        assert_eq!(IncidentCommand::from_form("severity", "", "urgent").unwrap_err().field, "value");
        assert_eq!(IncidentCommand::from_form("delete", "", "").unwrap_err().field, "action");
    }

    #[test]
    fn forms_name_the_bad_field() {
        assert_eq!(NewIncident::from_form("x", "", "").unwrap_err().field, "ids");
        assert_eq!(NewIncident::from_form("x", "", "3,abc").unwrap_err().message, "`abc` is not an alert number.");
        assert_eq!(NewIncident::from_form("x", "huge", "3").unwrap_err().field, "severity");
        assert_eq!(NewIncident::from_form(&"t".repeat(201), "", "3").unwrap_err().field, "title");
        let n = NewIncident::from_form(" Beacon ", "high", "#3, 4,3").unwrap();
        assert_eq!((n.title.as_str(), n.severity, n.alert_ids), ("Beacon", Some(Severity::High), vec![3, 4]));
    }

    #[test]
    fn the_query_round_trips_through_the_url() {
        let q = IncidentQuery { status: "all".into(), q: "beacon & scan".into(), ..Default::default() };
        assert_eq!(q.href(), "/soc/incidents?status=all&q=beacon%20%26%20scan");
        assert_eq!(
            q.with("page", "2").with("incident", "4").href(),
            "/soc/incidents?status=all&q=beacon%20%26%20scan&page=2&incident=4"
        );
        assert_eq!(q.with("page", "2").with("severity", "high").page, "");
        assert_eq!(IncidentQuery::default().validate().unwrap().statuses.len(), 2);
        assert_eq!(
            IncidentQuery { status: "closed".into(), ..Default::default() }.validate().unwrap_err().field,
            "status"
        );
    }

    proptest! {
        /// Every proposed group has at least two alerts, no alert is proposed twice, every alert
        /// of a group names its key, and consecutive alerts are within the window.
        #[test]
        fn suggestions_are_well_formed(raw in proptest::collection::vec((0i64..48, 0u8..6, 0u8..6, 0u8..3), 0..60)) {
            let alerts: Vec<Candidate> = raw.iter().enumerate().map(|(i, (h, s, d, t))| {
                cand(i as i64 + 1, h * H / 2, &format!("203.0.113.{s}"), &format!("10.0.0.{d}"), ["ddos", "port_scan", "c2_beacon"][*t as usize])
            }).collect();
            let out = suggest(&alerts, &HashMap::new(), SUGGEST_WINDOW_MS);
            let mut seen = BTreeSet::new();
            for s in &out {
                prop_assert!(s.alert_ids.len() >= 2);
                let mut times = Vec::new();
                for id in &s.alert_ids {
                    prop_assert!(seen.insert(*id), "alert {} proposed twice", id);
                    let a = &alerts[(*id - 1) as usize];
                    prop_assert!(a.src_ip.as_deref() == Some(s.address.as_str()) || a.dst_ip.as_deref() == Some(s.address.as_str()));
                    times.push(a.last_seen);
                }
                prop_assert!(times.windows(2).all(|w| w[1] >= w[0] && w[1] - w[0] <= SUGGEST_WINDOW_MS));
            }
        }
    }
}
