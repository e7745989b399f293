//! AnomalyForge's user interface: the app shell, pages, components and the thin server functions
//! they call. Compiled twice: with `ssr` into the server (rendering and server functions) and with
//! `hydrate` into the WASM client.

// The SOC console's view types nest deeply; the default limit (128) is too low for hydration.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod json;
pub mod pages;
pub mod resource;
#[cfg(feature = "ssr")]
pub mod state;

mod shell;
pub use shell::{shell, App};

/// The WASM entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub async fn hydrate() {
    console_error_panic_hook::set_once();
    // The world map is fetched, not compiled in (components::worldmap): a page the server drew
    // with one is hydrated once the browser has it too, so both see the same countries.
    let document = leptos::prelude::document();
    if document.query_selector("[data-world-map]").ok().flatten().is_some() {
        components::worldmap::load_world_map().await;
    }
    leptos::mount::hydrate_body(App);
    // A marker for browser tests and for CSS: the page is interactive from here on.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
