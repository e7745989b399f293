//! The signed-in user and the sign-in/out actions, provided to every component.

use crate::api::auth::{Login, Logout};
use crate::error::AppError;
use anomalyforge::user::CurrentUser;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Session {
    /// Refetched whenever sign-in or sign-out completes.
    pub user: Resource<Result<Option<CurrentUser>, AppError>>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}
