//! Roles and what each may do. This is the single source of truth for authorisation: the server
//! checks it on every route and server function, the client only uses it to hide what a role
//! cannot use.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role. One role per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Analyst,
    Responder,
    Executive,
    Employee,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Analyst, Role::Responder, Role::Executive, Role::Employee];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Responder => "responder",
            Role::Executive => "executive",
            Role::Employee => "employee",
        }
    }

    /// A human label for menus and tables.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Administrator",
            Role::Analyst => "SOC analyst",
            Role::Responder => "Incident responder",
            Role::Executive => "Executive",
            Role::Employee => "Employee",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the five role names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}` (expected one of: admin, analyst, responder, executive, employee)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// A set of roles allowed to use something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access(pub &'static [Role]);

impl Access {
    /// Every signed-in user.
    pub const SIGNED_IN: Access = Access(&Role::ALL);
    pub const ADMIN: Access = Access(&[Role::Admin]);
    /// Pages with alert data: the SOC console.
    pub const SOC: Access = Access(&[Role::Admin, Role::Analyst, Role::Responder]);
    pub const PLAYBOOKS: Access = Access(&[Role::Admin, Role::Analyst, Role::Responder]);
    /// Changing playbooks: the people who run them.
    pub const PLAYBOOK_EDIT: Access = Access(&[Role::Admin, Role::Responder]);
    pub const EXEC: Access = Access(&[Role::Admin, Role::Executive]);
    pub const ASSETS: Access = Access(&[Role::Admin, Role::Analyst]);
    pub const MODELS: Access = Access(&[Role::Admin, Role::Analyst]);

    pub fn allows(self, role: Role) -> bool {
        self.0.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_role_case_insensitively() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.as_str().to_uppercase().parse::<Role>().unwrap(), r);
        }
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("root"));
    }

    #[test]
    fn employee_cannot_reach_soc_but_everyone_signed_in_is_allowed() {
        assert!(!Access::SOC.allows(Role::Employee));
        assert!(Access::SOC.allows(Role::Analyst));
        assert!(Role::ALL.iter().all(|r| Access::SIGNED_IN.allows(*r)));
        assert!(!Access::ADMIN.allows(Role::Executive));
    }
}
