//! The audit trail: entries as shown to administrators, and the typed actions they record.
//!
//! Every change a person makes through the UI, the API or the CLI is recorded under one
//! [`AuditAction`]. A change that is a database write records its row in the same transaction
//! (`store::audit::audit_in`), so the change and its record commit together or not at all.

use crate::incident::IncidentCommand;
use crate::intel::catalog::{IndicatorAction, SourceAction};
use serde::{Deserialize, Serialize};

/// One recorded action: who did what, to what, when (Unix milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    /// The stored name of an [`AuditAction`] (older rows keep whatever name they were written with).
    pub action: String,
    pub target: String,
    pub detail: String,
}

macro_rules! audit_actions {
    ($($variant:ident => $name:literal,)*) => {
        /// What an audit row records. The names are what the trail stores and shows; they never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($variant,)*
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stored name, `area.verb`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }
        }
    };
}

audit_actions! {
    AnalysisCreate => "analysis.create",
    AnalysisDelete => "analysis.delete",
    AnalysisImport => "analysis.import",
    AssetImport => "asset.import",
    AssetSave => "asset.save",
    IncidentAddAlerts => "incident.add_alerts",
    IncidentAssign => "incident.assign",
    IncidentComment => "incident.comment",
    IncidentContain => "incident.contain",
    IncidentCreate => "incident.create",
    IncidentDismissSuggestion => "incident.dismiss_suggestion",
    IncidentFalsePositive => "incident.false_positive",
    IncidentMerge => "incident.merge",
    IncidentReopen => "incident.reopen",
    IncidentResolve => "incident.resolve",
    IncidentSeverity => "incident.severity",
    IntelImport => "intel.import",
    IntelIndicatorDisable => "intel.indicator.disable",
    IntelIndicatorEnable => "intel.indicator.enable",
    IntelIndicatorExpire => "intel.indicator.expire",
    IntelSourceDelete => "intel.source.delete",
    IntelSourceDisable => "intel.source.disable",
    IntelSourceEnable => "intel.source.enable",
    IntelSourceExpire => "intel.source.expire",
    ModelActivate => "model.activate",
    ModelLearnNormal => "model.learn_normal",
    ModelRetrain => "model.retrain",
    NotifyChannelCreate => "notify.channel_create",
    NotifyChannelDelete => "notify.channel_delete",
    NotifyRuleCreate => "notify.rule_create",
    NotifyRuleDelete => "notify.rule_delete",
    PlaybookUpdate => "playbook.update",
    ReplaySpeed => "replay.speed",
    ReplayStart => "replay.start",
    ReplayStop => "replay.stop",
    ReportSetStatus => "report.set_status",
    ResponseAction => "response.action",
    ResponseActionApproved => "response.action_approved",
    ResponseActionLifted => "response.action_lifted",
    ResponseActionRejected => "response.action_rejected",
    SuppressionCreate => "suppression.create",
    SuppressionDelete => "suppression.delete",
    SuppressionExpire => "suppression.expire",
    TokenCreate => "token.create",
    TokenRevoke => "token.revoke",
    UserCreate => "user.create",
    UserDisable => "user.disable",
    UserEnable => "user.enable",
    UserPasswordChange => "user.password_change",
    UserResetPassword => "user.reset_password",
    UserSetRole => "user.set_role",
}

impl AuditAction {
    /// The action a stored name stands for; `None` for a name no action has.
    pub fn parse(name: &str) -> Option<AuditAction> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<SourceAction> for AuditAction {
    fn from(a: SourceAction) -> Self {
        match a {
            SourceAction::Enable => AuditAction::IntelSourceEnable,
            SourceAction::Disable => AuditAction::IntelSourceDisable,
            SourceAction::Expire => AuditAction::IntelSourceExpire,
            SourceAction::Delete => AuditAction::IntelSourceDelete,
        }
    }
}

impl From<IndicatorAction> for AuditAction {
    fn from(a: IndicatorAction) -> Self {
        match a {
            IndicatorAction::Enable => AuditAction::IntelIndicatorEnable,
            IndicatorAction::Disable => AuditAction::IntelIndicatorDisable,
            IndicatorAction::Expire => AuditAction::IntelIndicatorExpire,
        }
    }
}

impl From<&IncidentCommand> for AuditAction {
    fn from(c: &IncidentCommand) -> Self {
        match c {
            IncidentCommand::Comment { .. } => AuditAction::IncidentComment,
            IncidentCommand::Assign { .. } => AuditAction::IncidentAssign,
            IncidentCommand::Severity { .. } => AuditAction::IncidentSeverity,
            IncidentCommand::Contain { .. } => AuditAction::IncidentContain,
            IncidentCommand::Resolve { .. } => AuditAction::IncidentResolve,
            IncidentCommand::FalsePositive { .. } => AuditAction::IncidentFalsePositive,
            IncidentCommand::Reopen { .. } => AuditAction::IncidentReopen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert!(seen.insert(a.as_str()), "{a} named twice");
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            let (area, verb) = a.as_str().split_once('.').expect("area.verb");
            assert!(
                !area.is_empty()
                    && !verb.is_empty()
                    && a.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
            );
        }
        assert_eq!(AuditAction::parse("user.delete"), None);
    }

    #[test]
    fn actions_from_other_commands_keep_their_verbs() {
        for a in [SourceAction::Enable, SourceAction::Disable, SourceAction::Expire, SourceAction::Delete] {
            assert_eq!(AuditAction::from(a).as_str(), format!("intel.source.{}", a.as_str()));
        }
        for a in [IndicatorAction::Enable, IndicatorAction::Disable, IndicatorAction::Expire] {
            assert_eq!(AuditAction::from(a).as_str(), format!("intel.indicator.{}", a.as_str()));
        }
        let commands = [
            IncidentCommand::Comment { text: "x".into() },
            IncidentCommand::Assign { to: "ana".into() },
            IncidentCommand::Reopen { note: String::new() },
        ];
        for c in &commands {
            assert_eq!(AuditAction::from(c).as_str(), format!("incident.{}", c.kind()));
        }
    }
}
