//! Alert triage: the actions analysts and responders take on an alert, which status each leads to,
//! and the history entry each leaves. Browser-safe; the store applies them in a transaction.
//!
//! ```text
//! new ──acknowledge/assign──▶ acknowledged ──resolve──▶ resolved
//!  │                              │        └─false_positive─▶ false_positive
//!  └──────────resolve / false_positive──────────▶ (closed) ──reopen──▶ acknowledged
//! ```
//! Comments never change the status. The first action that takes an alert out of `new` sets its
//! acknowledgement time (time to acknowledge); closing sets its resolution time (time to resolve).

use crate::alert::AlertStatus;
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_NOTE: usize = 2000;

/// The alerts a form names: `"3, 7,9"` → `[3, 7, 9]` (duplicates dropped, order kept). Anything
/// but positive numbers, none at all, or more than `max` is refused, naming the field `ids`.
pub fn parse_ids(raw: &str, max: usize) -> Result<Vec<i64>, FieldError> {
    let mut ids: Vec<i64> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id: i64 = part
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| FieldError::new("ids", format!("`{part}` is not an alert number.")))?;
        if !ids.contains(&id) {
            if ids.len() == max {
                return Err(FieldError::new("ids", format!("Select at most {max} alerts at a time.")));
            }
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(FieldError::new("ids", "Select at least one alert."));
    }
    Ok(ids)
}

/// What the suppression rule made from a false positive matches, of the alert marked: its
/// source, its type, its asset (at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SuppressFrom {
    pub source: bool,
    pub kind: bool,
    pub asset: bool,
}

impl SuppressFrom {
    /// The form's `suppress` field (comma-separated: `source`, `type`, `asset`) for `triage`:
    /// `None` when empty; refused when it names anything else, or when the action is not a false
    /// positive.
    pub fn parse(raw: &str, triage: &Triage) -> Result<Option<SuppressFrom>, FieldError> {
        let mut out = SuppressFrom::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "source" => out.source = true,
                "type" => out.kind = true,
                "asset" => out.asset = true,
                other => {
                    return Err(FieldError::new(
                        "suppress",
                        format!("`{other}` is not something a rule can match: use source, type or asset."),
                    ))
                }
            }
        }
        if out == SuppressFrom::default() {
            return Ok(None);
        }
        if !matches!(triage, Triage::FalsePositive { .. }) {
            return Err(FieldError::new("suppress", "Only a false positive can create a suppression rule."));
        }
        Ok(Some(out))
    }
}

/// One validated triage action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Triage {
    Acknowledge,
    /// To a username.
    Assign {
        to: String,
    },
    Comment {
        text: String,
    },
    Resolve {
        note: String,
    },
    /// The reason is required: it tells the next analyst (and the model's owners) why.
    FalsePositive {
        reason: String,
    },
    Reopen {
        note: String,
    },
}

impl Triage {
    /// Builds an action from a form: `action` is its name; `note` is the comment, resolution note
    /// or false-positive reason; `assignee` the username for `assign`.
    pub fn from_form(action: &str, note: &str, assignee: &str) -> Result<Triage, FieldError> {
        let note = note.trim();
        if note.chars().count() > MAX_NOTE {
            return Err(FieldError::new("note", format!("Use at most {MAX_NOTE} characters.")));
        }
        let note = note.to_string();
        Ok(match action.trim() {
            "acknowledge" => Triage::Acknowledge,
            "assign" => {
                let to = assignee.trim().to_ascii_lowercase();
                if to.is_empty() {
                    return Err(FieldError::new("assignee", "Choose who the alert is assigned to."));
                }
                Triage::Assign { to }
            }
            "comment" if note.is_empty() => return Err(FieldError::new("note", "Write the comment.")),
            "comment" => Triage::Comment { text: note },
            "resolve" => Triage::Resolve { note },
            "false_positive" if note.is_empty() => {
                return Err(FieldError::new("note", "Say why this is a false positive; the next analyst will read it."))
            }
            "false_positive" => Triage::FalsePositive { reason: note },
            "reopen" => Triage::Reopen { note },
            other => {
                return Err(FieldError::new(
                    "action",
                    format!("`{other}` is not a triage action: acknowledge, assign, comment, resolve, false_positive or reopen."),
                ))
            }
        })
    }

    /// The name written to the history.
    pub fn name(&self) -> &'static str {
        match self {
            Triage::Acknowledge => "acknowledge",
            Triage::Assign { .. } => "assign",
            Triage::Comment { .. } => "comment",
            Triage::Resolve { .. } => "resolve",
            Triage::FalsePositive { .. } => "false_positive",
            Triage::Reopen { .. } => "reopen",
        }
    }

    /// The history entry's detail text.
    pub fn detail(&self) -> String {
        match self {
            Triage::Acknowledge => String::new(),
            Triage::Assign { to } => to.clone(),
            Triage::Comment { text } => text.clone(),
            Triage::Resolve { note } | Triage::Reopen { note } => note.clone(),
            Triage::FalsePositive { reason } => reason.clone(),
        }
    }

    /// The status after this action, or why the action does not apply to an alert in `current`.
    pub fn next_status(&self, current: AlertStatus) -> Result<AlertStatus, String> {
        use AlertStatus::*;
        let closed = |what: &str| Err(format!("the alert is {}; reopen it before you {what} it", label(current)));
        match (self, current) {
            (Triage::Comment { .. }, s) => Ok(s),
            (Triage::Acknowledge, New) => Ok(Acknowledged),
            (Triage::Acknowledge, Acknowledged) => Err("the alert is already acknowledged".into()),
            (Triage::Acknowledge, _) => closed("acknowledge"),
            (Triage::Assign { .. }, New | Acknowledged) => Ok(Acknowledged),
            (Triage::Assign { .. }, _) => closed("assign"),
            (Triage::Resolve { .. }, New | Acknowledged) => Ok(Resolved),
            (Triage::Resolve { .. }, _) => Err(format!("the alert is already {}", label(current))),
            (Triage::FalsePositive { .. }, New | Acknowledged) => Ok(FalsePositive),
            (Triage::FalsePositive { .. }, _) => Err(format!("the alert is already {}", label(current))),
            (Triage::Reopen { .. }, Resolved | FalsePositive) => Ok(Acknowledged),
            (Triage::Reopen { .. }, _) => Err("the alert is still open".into()),
        }
    }
}

/// A status in plain words.
pub fn label(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::New => "new",
        AlertStatus::Acknowledged => "acknowledged",
        AlertStatus::Resolved => "resolved",
        AlertStatus::FalsePositive => "marked a false positive",
    }
}

/// One entry of an alert's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub id: i64,
    pub alert_id: i64,
    /// Unix ms.
    pub at: i64,
    /// Username.
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// What a triage action did to one alert of a (bulk) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageOutcome {
    pub alert_id: i64,
    /// The status after the action, or `None` when it did not apply.
    pub status: Option<AlertStatus>,
    /// Why it did not apply.
    pub skipped: Option<String>,
}

/// Alerts one bulk action may touch.
pub const MAX_BULK: usize = 500;

/// History actions of a playbook step ticked off, or unticked, on an alert.
pub const STEP_DONE: &str = "step_done";
pub const STEP_UNDONE: &str = "step_undone";

/// The history detail of playbook step `number` (from 1): `3. Block the source upstream`.
pub fn step_detail(number: usize, text: &str) -> String {
    format!("{number}. {text}")
}

/// Which of `steps` playbook steps are ticked off, from an alert's history (oldest first; the
/// latest entry of each step wins).
pub fn steps_done(history: &[AlertEvent], steps: usize) -> Vec<bool> {
    let mut done = vec![false; steps];
    for e in history {
        let ticked = match e.action.as_str() {
            STEP_DONE => true,
            STEP_UNDONE => false,
            _ => continue,
        };
        let number = e.detail.split_once(". ").and_then(|(n, _)| n.parse::<usize>().ok());
        if let Some(slot) = number.and_then(|n| n.checked_sub(1)).and_then(|i| done.get_mut(i)) {
            *slot = ticked;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertStatus::*;

    #[test]
    fn forms_become_actions_or_name_the_field() {
        assert_eq!(Triage::from_form("acknowledge", "", ""), Ok(Triage::Acknowledge));
        assert_eq!(Triage::from_form("assign", "", " Alice "), Ok(Triage::Assign { to: "alice".into() }));
        assert_eq!(Triage::from_form("assign", "", " ").unwrap_err().field, "assignee");
        assert_eq!(Triage::from_form("comment", "  ", "").unwrap_err().field, "note");
        assert_eq!(Triage::from_form("false_positive", "", "").unwrap_err().field, "note");
        assert_eq!(Triage::from_form("resolve", &"x".repeat(MAX_NOTE + 1), "").unwrap_err().field, "note");
        let err = Triage::from_form("delete", "", "").unwrap_err();
        assert_eq!(err.field, "action");
        assert!(err.message.contains("`delete`"));
        let fp = Triage::from_form("false_positive", " backup job ", "").unwrap();
        assert_eq!((fp.name(), fp.detail()), ("false_positive", "backup job".to_string()));
    }

    #[test]
    fn alert_ids_from_a_form() {
        assert_eq!(parse_ids(" 3, 7,9 ,3,, ", 10).unwrap(), vec![3, 7, 9]);
        for bad in ["", " , ", "3,x", "0", "-4", "1.5"] {
            assert_eq!(parse_ids(bad, 10).unwrap_err().field, "ids", "{bad:?}");
        }
        assert!(parse_ids("1,2,3", 3).is_ok());
        assert!(parse_ids("1,2,3,4", 3).unwrap_err().message.contains("at most 3"));
        assert!(parse_ids("1,2,3,3,2", 3).is_ok(), "duplicates do not count against the limit");
    }

    #[test]
    fn what_a_false_positive_suppresses() {
        let fp = Triage::FalsePositive { reason: "backup".into() };
        assert_eq!(SuppressFrom::parse("", &fp).unwrap(), None);
        assert_eq!(
            SuppressFrom::parse("type, source", &fp).unwrap(),
            Some(SuppressFrom { source: true, kind: true, asset: false })
        );
        let err = SuppressFrom::parse("port", &fp).unwrap_err();
        assert!(err.field == "suppress" && err.message.contains("`port`"));
        let err = SuppressFrom::parse("asset", &Triage::Acknowledge).unwrap_err();
        assert!(err.message.contains("Only a false positive"));
        assert_eq!(SuppressFrom::parse(" , ", &Triage::Acknowledge).unwrap(), None);
    }

    #[test]
    fn playbook_steps_follow_the_latest_history_entry() {
        let ev = |action: &str, detail: &str| AlertEvent {
            id: 0,
            alert_id: 1,
            at: 0,
            actor: "a".into(),
            action: action.into(),
            detail: detail.into(),
        };
        let history = vec![
            ev(STEP_DONE, &step_detail(1, "Block the source")),
            ev("comment", "1. not a step"),
            ev(STEP_DONE, &step_detail(3, "Check logs")),
            ev(STEP_UNDONE, &step_detail(1, "Block the source")),
            ev(STEP_DONE, "9. beyond the playbook"),
            ev(STEP_DONE, "garbage"),
        ];
        assert_eq!(steps_done(&history, 3), vec![false, false, true]);
        assert_eq!(steps_done(&[], 2), vec![false, false]);
    }

    #[test]
    fn statuses_follow_the_triage_flow() {
        let ack = Triage::Acknowledge;
        let resolve = Triage::Resolve { note: String::new() };
        let fp = Triage::FalsePositive { reason: "x".into() };
        let reopen = Triage::Reopen { note: String::new() };
        let assign = Triage::Assign { to: "bob".into() };
        let comment = Triage::Comment { text: "x".into() };
        assert_eq!(ack.next_status(New), Ok(Acknowledged));
        assert!(ack.next_status(Acknowledged).unwrap_err().contains("already acknowledged"));
        assert!(ack.next_status(Resolved).unwrap_err().contains("reopen it"));
        assert_eq!(assign.next_status(New), Ok(Acknowledged));
        assert_eq!(assign.next_status(Acknowledged), Ok(Acknowledged));
        assert!(assign.next_status(FalsePositive).is_err());
        assert_eq!(resolve.next_status(New), Ok(Resolved));
        assert_eq!(resolve.next_status(Acknowledged), Ok(Resolved));
        assert!(resolve.next_status(Resolved).unwrap_err().contains("already resolved"));
        assert_eq!(fp.next_status(Acknowledged), Ok(FalsePositive));
        assert!(fp.next_status(Resolved).is_err());
        assert_eq!(reopen.next_status(Resolved), Ok(Acknowledged));
        assert_eq!(reopen.next_status(FalsePositive), Ok(Acknowledged));
        assert!(reopen.next_status(New).is_err());
        for s in AlertStatus::ALL {
            assert_eq!(comment.next_status(s), Ok(s));
        }
    }
}
