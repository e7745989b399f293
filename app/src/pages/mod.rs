//! One module per page.

pub mod account;
pub mod admin;
pub mod analyze;
pub mod assets;
pub mod exec;
pub mod home;
pub mod hunt;
pub mod intel;
pub mod ioc;
pub mod login;
pub mod models;
pub mod not_found;
pub mod notifications;
pub mod playbooks;
pub mod report;
pub mod soc;
