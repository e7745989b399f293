//! Users as the browser sees them. The password hash never leaves the server: it lives only in
//! `store::users` and has no `Serialize`.

use crate::role::Role;
use serde::{Deserialize, Serialize};

/// A user account, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds of the last successful sign-in, if any.
    pub last_login_at: Option<i64>,
    /// Someone else chose the password (first admin, created on `/admin`): the user must choose their
    /// own before anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

/// The signed-in user of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Until set false, only `/account` (to choose a password) and signing out are open.
    #[serde(default)]
    pub must_change_password: bool,
}

/// A new account, as typed into the admin form or the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    /// Ask for a new password at the first sign-in (the password was chosen for them).
    #[serde(default)]
    pub must_change_password: bool,
}

/// A demo account shown on the login page in demo mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
}
