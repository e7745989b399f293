//! Response actions: what responders do about a threat, recorded with who, when, why, the scope and
//! the expiry. Browser-safe; the store keeps them (`crate::store::response`) and the enforcement
//! feeds render the ones in force ([`feeds`]).
//!
//! - **Block** an address or network (for a number of hours, or until lifted). Firewalls poll the
//!   blocklist feeds: plain text, an nftables set file, Suricata drop rules.
//! - **Isolate** an internal host: a request to whoever enforces it (the nftables file carries it as a
//!   set of its own, Suricata as drop rules both ways).
//! - **Manual**: a note of something done by hand (a mailbox purged, a password reset).
//!
//! ```text
//! requested ──(needs approval)──▶ pending ──approve (another person)──▶ active ──lift──▶ lifted
//!     │                              └──reject──▶ rejected            └──expires──▶ expired
//!     └──────────────────────────────────────────────▶ active
//! ```
//! Which roles may act, and which kinds need a second person's approval, is the deployment's
//! [`ResponsePolicy`] (`[response]` in the configuration).

pub mod feeds;

use crate::intel::Cidr;
use crate::role::Role;
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub const MAX_REASON: usize = 2000;
pub const MAX_TARGET: usize = 200;
/// Longest duration of a block or an isolation: a year.
pub const MAX_HOURS: u32 = 8760;
/// The broadest network a block may cover (an IPv4 /16, an IPv6 /32): a typo must not drop the
/// internet.
pub const MIN_PREFIX_V4: u8 = 16;
pub const MIN_PREFIX_V6: u8 = 32;
/// Ended actions listed on the page (the newest).
pub const ENDED_SHOWN: i64 = 100;

/// What a response action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum ActionKind {
    Block,
    Isolate,
    Manual,
}

impl ActionKind {
    pub const ALL: [ActionKind; 3] = [ActionKind::Block, ActionKind::Isolate, ActionKind::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Block => "block",
            ActionKind::Isolate => "isolate",
            ActionKind::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionKind::Block => "Block address",
            ActionKind::Isolate => "Isolate host",
            ActionKind::Manual => "Manual action",
        }
    }
}

/// The stored status; expiry is worked out at read time ([`ResponseAction::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum ActionStatus {
    /// Waiting for a second person's approval.
    Pending,
    Active,
    Lifted,
    Rejected,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Pending => "pending",
            ActionStatus::Active => "active",
            ActionStatus::Lifted => "lifted",
            ActionStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<ActionStatus> {
        [ActionStatus::Pending, ActionStatus::Active, ActionStatus::Lifted, ActionStatus::Rejected]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Where an action stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    Pending,
    /// In force: the feeds carry it.
    Active,
    Expired,
    Lifted,
    Rejected,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "pending",
            ActionState::Active => "active",
            ActionState::Expired => "expired",
            ActionState::Lifted => "lifted",
            ActionState::Rejected => "rejected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionState::Pending => "waiting for approval",
            ActionState::Active => "in force",
            ActionState::Expired => "expired",
            ActionState::Lifted => "lifted",
            ActionState::Rejected => "rejected",
        }
    }
}

/// A recorded response action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ResponseAction {
    pub id: i64,
    pub kind: ActionKind,
    /// Canonical: `203.0.113.7`, `198.51.100.0/24`, a host's address, or free text (manual).
    pub target: String,
    pub reason: String,
    pub incident_id: Option<i64>,
    pub alert_id: Option<i64>,
    pub requested_by: String,
    /// Unix ms.
    pub requested_at: i64,
    pub status: ActionStatus,
    /// Who approved (or rejected) it, when approval was needed.
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// `None`: until lifted.
    pub expires_at: Option<i64>,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<i64>,
    /// Why it was lifted or rejected.
    pub end_note: String,
}

impl ResponseAction {
    pub fn state(&self, now: i64) -> ActionState {
        match self.status {
            ActionStatus::Pending => ActionState::Pending,
            ActionStatus::Lifted => ActionState::Lifted,
            ActionStatus::Rejected => ActionState::Rejected,
            ActionStatus::Active if self.expires_at.is_some_and(|t| t <= now) => ActionState::Expired,
            ActionStatus::Active => ActionState::Active,
        }
    }

    /// "Block 203.0.113.7", "Isolate 10.0.0.5", "Manual: reset the VPN password".
    pub fn describe(&self) -> String {
        match self.kind {
            ActionKind::Block => format!("Block {}", self.target),
            ActionKind::Isolate => format!("Isolate {}", self.target),
            ActionKind::Manual if self.target.is_empty() => "Manual action".to_string(),
            ActionKind::Manual => format!("Manual: {}", self.target),
        }
    }
}

/// A requested action, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAction {
    pub kind: ActionKind,
    pub target: String,
    pub reason: String,
    /// `None`: until lifted (always for manual actions).
    pub expires_in_hours: Option<u32>,
    pub incident_id: Option<i64>,
    pub alert_id: Option<i64>,
}

/// `203.0.113.7` for a single address, `198.51.100.0/24` for a network.
pub fn canonical(c: &Cidr) -> String {
    if c.is_host() {
        c.network().to_string()
    } else {
        format!("{}/{}", c.network(), c.prefix_len())
    }
}

fn optional_id(raw: &str, field: &str) -> Result<Option<i64>, FieldError> {
    match raw.trim().trim_start_matches('#') {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| FieldError::new(field, format!("`{s}` is not a number."))),
    }
}

impl NewAction {
    /// From a form: `kind` block, isolate or manual; `target` the address or network (block), the
    /// host's address (isolate) or what was acted on (manual); `hours` empty for until lifted.
    pub fn from_form(
        kind: &str,
        target: &str,
        reason: &str,
        hours: &str,
        incident: &str,
        alert: &str,
    ) -> Result<NewAction, FieldError> {
        let kind = ActionKind::parse(kind).ok_or_else(|| {
            FieldError::new("kind", format!("`{}` is not an action: block, isolate or manual.", kind.trim()))
        })?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(FieldError::new("reason", "Say why; the audit trail and the next responder read it."));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(FieldError::new("reason", format!("Use at most {MAX_REASON} characters.")));
        }
        let target = match kind {
            ActionKind::Block => block_target(target)?,
            ActionKind::Isolate => isolate_target(target)?,
            ActionKind::Manual => {
                let t = target.trim();
                if t.chars().count() > MAX_TARGET || t.chars().any(char::is_control) {
                    return Err(FieldError::new(
                        "target",
                        format!("Describe it in one line of at most {MAX_TARGET} characters."),
                    ));
                }
                t.to_string()
            }
        };
        let expires_in_hours = match (kind, hours.trim()) {
            (ActionKind::Manual, _) | (_, "") => None,
            (_, h) => Some(h.parse::<u32>().ok().filter(|h| (1..=MAX_HOURS).contains(h)).ok_or_else(|| {
                FieldError::new("hours", format!("A duration is 1 to {MAX_HOURS} hours, or empty for until lifted."))
            })?),
        };
        Ok(NewAction {
            kind,
            target,
            reason: reason.to_string(),
            expires_in_hours,
            incident_id: optional_id(incident, "incident")?,
            alert_id: optional_id(alert, "alert")?,
        })
    }
}

fn block_target(raw: &str) -> Result<String, FieldError> {
    let err = |m: String| FieldError::new("target", m);
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(err("Enter the address or network to block.".into()));
    }
    let c = Cidr::parse(raw)
        .map_err(|m| err(format!("{m}; enter an address (203.0.113.7) or a network (198.51.100.0/24).")))?;
    let ip = c.network();
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || is_broadcast(ip) {
        return Err(err(format!("{ip} cannot be blocked: it is not a host on a network.")));
    }
    let min = if ip.is_ipv4() { MIN_PREFIX_V4 } else { MIN_PREFIX_V6 };
    if c.prefix_len() < min {
        return Err(err(format!("/{} is too broad: block at most a /{min} at a time.", c.prefix_len())));
    }
    if crate::net::is_internal_address(&ip.to_string()) {
        return Err(err(format!("{} is an internal address: isolate the host instead of blocking it.", canonical(&c))));
    }
    Ok(canonical(&c))
}

fn isolate_target(raw: &str) -> Result<String, FieldError> {
    let raw = raw.trim();
    let ip: IpAddr = raw.parse().map_err(|_| {
        FieldError::new(
            "target",
            format!(
                "`{}` is not a host's address: isolate one host at a time (10.0.0.5).",
                raw.chars().take(60).collect::<String>()
            ),
        )
    })?;
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || is_broadcast(ip) {
        return Err(FieldError::new("target", format!("{ip} is not a host.")));
    }
    Ok(ip.to_canonical().to_string())
}

fn is_broadcast(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

/// Who may act and what needs a second person (`[response]` in the configuration:
/// `AF_RESPONSE__ROLES=[responder,admin]`, `AF_RESPONSE__APPROVAL=[block,isolate]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponsePolicy {
    /// Roles that may request, approve and lift actions. Default: responders and admins.
    pub roles: Vec<Role>,
    /// Kinds that are in force only once another person of those roles approves them. Default:
    /// none.
    pub approval: Vec<ActionKind>,
}

impl Default for ResponsePolicy {
    fn default() -> Self {
        ResponsePolicy { roles: vec![Role::Responder, Role::Admin], approval: Vec::new() }
    }
}

impl ResponsePolicy {
    pub fn may_act(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn needs_approval(&self, kind: ActionKind) -> bool {
        self.approval.contains(&kind)
    }

    /// Roles outside the SOC never act, whatever the configuration says.
    pub fn validate(&self) -> Result<(), String> {
        match self.roles.iter().find(|r| !crate::role::Access::SOC.allows(**r)) {
            Some(r) => Err(format!(
                "response.roles: {} cannot act on threats; use analyst, responder or admin",
                r.label().to_lowercase()
            )),
            None => Ok(()),
        }
    }
}

/// The response actions of an alert or incident, and what the viewer may do about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseAccess {
    /// Oldest first.
    pub actions: Vec<ResponseAction>,
    /// Whether the viewer may request, approve and lift ([`ResponsePolicy::roles`]).
    pub may_act: bool,
    /// Kinds that need a second person's approval.
    pub approval: Vec<ActionKind>,
    /// The server's clock (for expiry).
    pub now: i64,
}

/// The actions page: what waits for approval, what is in force, what ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionList {
    pub pending: Vec<ResponseAction>,
    pub active: Vec<ResponseAction>,
    /// Expired, lifted or rejected, newest first ([`ENDED_SHOWN`] at most).
    pub ended: Vec<ResponseAction>,
    /// The server's clock when listed.
    pub now: i64,
    /// Whether the viewer may request, approve and lift.
    pub may_act: bool,
    /// Kinds that need approval.
    pub approval: Vec<ActionKind>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, target: &str, hours: &str) -> Result<NewAction, FieldError> {
        NewAction::from_form(kind, target, "C2 server of the beacon", hours, "", "")
    }

    #[test]
    fn blocks_take_public_addresses_and_narrow_networks() {
        assert_eq!(form("block", " 203.0.113.7 ", "24").unwrap().target, "203.0.113.7");
        assert_eq!(form("block", "198.51.100.9/24", "").unwrap().target, "198.51.100.0/24");
        assert_eq!(form("block", "203.0.113.7/32", "").unwrap().target, "203.0.113.7");
        assert_eq!(form("block", "2001:db8::1", "").unwrap().target, "2001:db8::1");
        assert_eq!(form("block", "203.0.113.7", "24").unwrap().expires_in_hours, Some(24));
        for (bad, why) in [
            ("", "Enter the address"),
            ("evil.example", "not an IP address"),
            ("203.0.0.0/8", "too broad"),
            ("0.0.0.0/0", "cannot be blocked"),
            ("10.0.0.5", "isolate the host"),
            ("127.0.0.1", "cannot be blocked"),
            ("2001:db8::/16", "too broad"),
        ] {
            let e = form("block", bad, "").unwrap_err();
            assert_eq!(e.field, "target", "{bad}");
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
        assert_eq!(form("block", "203.0.113.7", "0").unwrap_err().field, "hours");
        assert_eq!(form("block", "203.0.113.7", "9000").unwrap_err().field, "hours");
    }

    #[test]
    fn isolation_is_one_host_and_manual_actions_never_expire() {
        assert_eq!(form("isolate", "10.0.0.5", "").unwrap().target, "10.0.0.5");
        assert_eq!(form("isolate", "10.0.0.0/24", "").unwrap_err().field, "target");
        let m = form("manual", "Reset the VPN password", "48").unwrap();
        assert_eq!((m.target.as_str(), m.expires_in_hours), ("Reset the VPN password", None));
        assert_eq!(form("wipe", "x", "").unwrap_err().field, "kind");
        assert_eq!(NewAction::from_form("manual", "", " ", "", "", "").unwrap_err().field, "reason");
        assert_eq!(NewAction::from_form("manual", "", "why", "", "abc", "").unwrap_err().field, "incident");
        assert_eq!(NewAction::from_form("manual", "", "why", "", "#4", "9").unwrap().incident_id, Some(4));
    }

    #[test]
    fn the_state_follows_the_status_and_the_clock() {
        let a = ResponseAction {
            id: 1,
            kind: ActionKind::Block,
            target: "203.0.113.7".into(),
            reason: "x".into(),
            incident_id: None,
            alert_id: None,
            requested_by: "r".into(),
            requested_at: 0,
            status: ActionStatus::Active,
            decided_by: None,
            decided_at: None,
            expires_at: Some(100),
            lifted_by: None,
            lifted_at: None,
            end_note: String::new(),
        };
        assert_eq!(a.state(99), ActionState::Active);
        assert_eq!(a.state(100), ActionState::Expired);
        assert_eq!(ResponseAction { status: ActionStatus::Pending, ..a.clone() }.state(0), ActionState::Pending);
        assert_eq!(ResponseAction { expires_at: None, ..a }.state(i64::MAX), ActionState::Active);
    }

    #[test]
    fn the_policy_keeps_acting_inside_the_soc() {
        let p = ResponsePolicy::default();
        assert!(p.may_act(Role::Responder) && p.may_act(Role::Admin) && !p.may_act(Role::Analyst));
        assert!(!p.needs_approval(ActionKind::Block));
        let bad = ResponsePolicy { roles: vec![Role::Employee], approval: vec![] };
        assert!(bad.validate().unwrap_err().contains("employee cannot act"));
    }
}
