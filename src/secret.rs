//! A secret value of the configuration (a password, a webhook key): never printed by `Debug`. Its own
//! module so what reads a secret (the notification senders) need not import the whole `Config`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret value: never printed by `Debug`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
