//! Every integration test of this crate in one binary (as crates.io does): the whole stack is
//! linked once instead of once per file, which was most of `cargo test`'s time. Each module is one
//! former test file; `support` holds what they share.

#[macro_use]
mod support;

mod analyze;
mod assets;
mod bus;
mod bus_faults;
mod cluster;
mod crash;
mod demo;
mod exec;
mod http;
mod incidents;
mod ingest;
mod instances;
mod live;
mod models;
mod notify;
mod playbooks;
mod reports;
mod response;
mod score;
mod soc;
mod suppressions;
mod triage;
