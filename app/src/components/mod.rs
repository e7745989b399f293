//! Building blocks shared by pages.

pub mod chart;
pub mod demo;
pub mod drift;
pub mod errors;
pub mod format;
pub mod guard;
pub mod respond;
pub mod session;
pub mod soc_tabs;
pub mod topbar;
pub mod worldmap;
