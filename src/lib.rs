//! AnomalyForge domain crate.
//!
//! Without features this crate holds only the types shared with the browser (it is compiled to WASM
//! for the hydrated client). Everything that must stay on the server — configuration, storage, auth,
//! the detection engine and the CLI helpers — sits behind the `server` feature. Nothing here knows
//! about Leptos or axum: the `app` and `server` crates adapt these types to the web.

pub mod alert;
pub mod analysis;
pub mod api_token;
pub mod asset;
pub mod audit;
pub mod baseline;
#[cfg(feature = "server")]
pub mod binary;
pub mod charts;
pub mod console;
pub mod csv_cell;
pub mod demo;
pub mod detection;
pub mod drift;
pub mod explain;
pub mod feature_profile;
pub mod flow;
pub mod flow_history;
pub mod html_text;
pub mod hunt;
pub mod incident;
pub mod intel;
pub mod kpi;
pub mod live;
pub mod model_version;
pub mod net;
pub mod notify;
pub mod pages;
pub mod playbook;
pub mod report;
pub mod response;
pub mod role;
pub mod secret;
pub mod suppression;
pub mod threat;
pub mod time;
pub mod traffic;
pub mod triage;
pub mod url_query;
pub mod user;
pub mod validate;
pub mod worldmap;

#[cfg(feature = "server")]
pub mod asset_csv;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod behaviour;
#[cfg(feature = "server")]
pub mod bus;
#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod cluster;
#[cfg(feature = "server")]
pub mod commands;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod engine;
#[cfg(feature = "server")]
pub mod enrich;
#[cfg(feature = "server")]
pub mod geoip;
#[cfg(feature = "server")]
pub mod hub;
#[cfg(feature = "server")]
pub mod ingest;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod model_registry;
#[cfg(feature = "server")]
pub mod pipeline;
#[cfg(feature = "server")]
pub mod replay;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod telemetry;

/// The crate version, shown by `/healthz` and the UI footer.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
