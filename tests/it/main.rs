//! Every integration test of this crate in one binary (as crates.io does): the whole stack is
//! linked once instead of once per file, which was most of `cargo test`'s time. Each module is one
//! former test file; `support` holds what they share.

#[macro_use]
mod support;

mod architecture;
mod bus_ownership;
mod cli_token;
mod cli_user;
mod engine_csv;
mod engine_model;
mod incidents;
mod ingest_logs;
mod model_registry;
mod notify;
mod response;
mod site_samples;
mod store;
mod store_kpi;
