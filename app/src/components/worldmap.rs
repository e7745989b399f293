//! The world map (`WorldMapView`).
//!
//! It renders on the server and hydrates in the browser. The geometry comes from the
//! browser-safe `anomalyforge::worldmap` module.
//!
//! The map's outlines are not compiled into the WASM (the GeoJSON text was a third of its
//! compressed size): the browser fetches the same file the server parses, [`MAP_URL`], and parses
//! it with the same `WorldMap::from_geojson`, so both draw the same paths. A page rendered with a
//! map marks the map-dependent elements `data-world-map`; `hydrate()` loads the map before it
//! hydrates such a page, so hydration sees what the server rendered. Pages reached in the browser
//! draw the map as soon as it has loaded.

use anomalyforge::charts::format_number;
use anomalyforge::worldmap::{choropleth_fill, marker_radius, risk_colour, Country, Marker, WorldMap, EMPTY_FILL};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Where the browser fetches the shipped map (`public/geo/`, the file `WorldMap::bundled` parses).
pub const MAP_URL: &str = "/geo/countries-110m.geojson";

/// The world map, once it is there; reading it inside a reactive closure tracks its arrival.
/// On the server it is always there (`WorldMap::bundled`); in the browser it is `None` until
/// [`load_world_map`] has fetched it, and asking starts that.
pub fn world_map() -> Option<Arc<WorldMap>> {
    #[cfg(not(feature = "hydrate"))]
    {
        Some(WorldMap::bundled())
    }
    #[cfg(feature = "hydrate")]
    {
        let map = browser::MAP.with(|m| m.get());
        if map.is_none() {
            leptos::task::spawn_local(load_world_map());
        }
        map
    }
}

/// The English name of a country from the map, else the code itself (also while the map loads).
pub fn country_name(iso_a2: &str) -> String {
    world_map().and_then(|m| m.country(iso_a2).map(|c| c.name.clone())).unwrap_or_else(|| iso_a2.to_string())
}

/// Fetches and parses the map in the browser, once (later calls return at once; a failed fetch
/// is logged and tried again on the next call). Does nothing on the server.
pub async fn load_world_map() {
    #[cfg(feature = "hydrate")]
    browser::load().await;
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::MAP_URL;
    use anomalyforge::worldmap::WorldMap;
    use leptos::prelude::*;
    use std::cell::Cell;
    use std::sync::Arc;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    thread_local! {
        pub(super) static MAP: ArcRwSignal<Option<Arc<WorldMap>>> = ArcRwSignal::new(None);
        static LOADING: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) async fn load() {
        if MAP.with(|m| m.with_untracked(Option::is_some)) || LOADING.replace(true) {
            return;
        }
        let result = fetch_map().await;
        LOADING.set(false);
        match result {
            Ok(map) => MAP.with(|m| m.set(Some(Arc::new(map)))),
            Err(e) => leptos::logging::error!("world map {MAP_URL} not loaded: {e}"),
        }
    }

    async fn fetch_map() -> Result<WorldMap, String> {
        let js = |e: wasm_bindgen::JsValue| format!("{e:?}");
        let response = JsFuture::from(window().fetch_with_str(MAP_URL)).await.map_err(js)?;
        let response: web_sys::Response = response.dyn_into().map_err(js)?;
        if !response.ok() {
            return Err(format!("HTTP {}", response.status()));
        }
        let text = JsFuture::from(response.text().map_err(js)?).await.map_err(js)?;
        let text = text.as_string().ok_or("the reply is not text")?;
        WorldMap::from_geojson(&text).map_err(|e| e.to_string())
    }
}

/// Hides text from sight but not from screen readers (no style sheet rule needed).
pub(crate) const VISUALLY_HIDDEN: &str =
    "position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0";

/// The world map as inline SVG: a choropleth from `values`, markers from `markers`, or both.
/// Drawn from [`world_map`]: nothing until the browser has loaded it.
///
/// - `values`: a value per ISO 3166-1 alpha-2 code; a country without one is drawn empty, a zero
///   in its own colour. Without `values` every country is drawn empty.
/// - `markers`: circles at country centroids, area ∝ count, colour by the highest risk.
/// - `unit`: the word after numbers in hover text ("Germany — 1,234 flows").
/// - `on_select`: called with the ISO code when a country or marker is clicked, or activated with
///   Enter or Space. Only then are they focusable; with `values`, only countries that have a value
///   take part in the tab order (a keyboard user does not tab through 175 empty countries).
/// - `selected`: the ISO code to outline.
#[component]
pub fn WorldMapView(
    #[prop(into, optional)] values: Option<Signal<HashMap<String, f64>>>,
    #[prop(into, optional)] markers: Option<Signal<Vec<Marker>>>,
    #[prop(into, optional)] unit: String,
    #[prop(optional)] on_select: Option<Callback<String>>,
    #[prop(into, optional)] selected: Option<Signal<Option<String>>>,
    /// The accessible name of the whole map.
    #[prop(into, default = "World map".to_string())]
    label: String,
) -> impl IntoView {
    let unit = Arc::new(unit);
    let max_value = Memo::new(move |_| {
        values.map_or(0.0, |v| v.with(|m| m.values().copied().filter(|x| x.is_finite()).fold(0.0, f64::max)))
    });
    move || {
        world_map()
            .map(|map| map_svg(map, values, markers, unit.clone(), on_select, selected, label.clone(), max_value))
    }
}

#[allow(clippy::too_many_arguments)]
fn map_svg(
    map: Arc<WorldMap>,
    values: Option<Signal<HashMap<String, f64>>>,
    markers: Option<Signal<Vec<Marker>>>,
    unit: Arc<String>,
    on_select: Option<Callback<String>>,
    selected: Option<Signal<Option<String>>>,
    label: String,
    max_value: Memo<f64>,
) -> impl IntoView {
    let land = map.unassigned().iter().map(|t| view! { <path d=t.path.clone()></path> }).collect_view();

    let countries = map
        .countries()
        .iter()
        .map(|c| country_path(c, values, max_value, unit.clone(), on_select, selected))
        .collect_view();

    let marker_map = map.clone();
    let marker_unit = unit.clone();
    let marker_views = move || {
        let Some(markers) = markers else { return Vec::new() };
        let mut list = markers.get();
        let max_count = list.iter().map(|m| m.count).max().unwrap_or(0);
        // Big circles first, so small ones stay on top and clickable; ties by code keep the order stable.
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.iso_a2.cmp(&b.iso_a2)));
        list.into_iter()
            .filter(|m| m.count > 0)
            .filter_map(|m| {
                let country = marker_map.country(&m.iso_a2)?;
                Some(marker_circle(country, &m, max_count, &marker_unit, on_select))
            })
            .collect::<Vec<_>>()
    };

    view! {
        <svg
            class="world-map"
            xmlns="http://www.w3.org/2000/svg"
            viewBox=WorldMap::VIEW_BOX
            width="100%"
            role="group"
            aria-label=label
            data-world-map=""
        >
            <g class="world-map-land" fill=EMPTY_FILL aria-hidden="true">
                {land}
            </g>
            <g class="world-map-countries" stroke="#0b1220" stroke-width="0.5" fill-rule="evenodd">
                {countries}
            </g>
            <g class="world-map-markers" stroke="#0b1220" stroke-width="1" fill-opacity="0.8">
                {marker_views}
            </g>
        </svg>
    }
}

fn country_path(
    c: &Country,
    values: Option<Signal<HashMap<String, f64>>>,
    max_value: Memo<f64>,
    unit: Arc<String>,
    on_select: Option<Callback<String>>,
    selected: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let iso = c.iso_a2.clone();
    let name = c.name.clone();
    let value = {
        let iso = iso.clone();
        move || values.and_then(|v| v.with(|m| m.get(&iso).copied()))
    };
    let fill = {
        let value = value.clone();
        move || value().map_or(EMPTY_FILL, |v| choropleth_fill(v, max_value.get()))
    };
    let text = {
        let value = value.clone();
        move || match value() {
            Some(v) => with_unit(&name, v, &unit),
            None if values.is_some() => format!("{name} — no data"),
            None => name.clone(),
        }
    };
    let focusable = {
        let value = value.clone();
        move || (on_select.is_some() && (values.is_none() || value().is_some())).then_some("0")
    };
    let is_selected = {
        let iso = iso.clone();
        move || selected.is_some_and(|s| s.with(|s| s.as_deref() == Some(iso.as_str())))
    };
    let text_for_label = text.clone();
    let is_selected_width = is_selected.clone();
    let (click_iso, key_iso) = (iso.clone(), iso.clone());
    view! {
        <path
            d=c.path.clone()
            data-iso=iso
            fill=fill
            stroke=move || is_selected().then_some("#e6ebf5")
            stroke-width=move || is_selected_width().then_some("1.5")
            tabindex=focusable
            role=on_select.map(|_| "button")
            aria-label=move || on_select.map(|_| text_for_label())
            on:click=move |_| select(on_select, &click_iso)
            on:keydown=move |ev| activate(&ev, on_select, &key_iso)
        >
            <title>{text}</title>
        </path>
    }
}

fn marker_circle(
    country: &Country,
    m: &Marker,
    max_count: u64,
    unit: &str,
    on_select: Option<Callback<String>>,
) -> impl IntoView {
    let (x, y) = country.point;
    let text = format!("{}, highest risk {}", with_unit(&country.name, m.count as f64, unit), m.max_risk);
    let label = on_select.map(|_| text.clone());
    let (click_iso, key_iso) = (m.iso_a2.clone(), m.iso_a2.clone());
    view! {
        <circle
            cx=format!("{x:.1}")
            cy=format!("{y:.1}")
            r=format!("{:.1}", marker_radius(m.count, max_count))
            fill=risk_colour(m.max_risk)
            data-iso=m.iso_a2.clone()
            tabindex=on_select.map(|_| "0")
            role=on_select.map(|_| "button")
            aria-label=label
            on:click=move |_| select(on_select, &click_iso)
            on:keydown=move |ev| activate(&ev, on_select, &key_iso)
        >
            <title>{text}</title>
        </circle>
    }
}

/// "Germany — 1,234 flows" (or without a unit, "Germany — 1,234").
fn with_unit(name: &str, value: f64, unit: &str) -> String {
    let unit = unit.trim();
    if unit.is_empty() {
        format!("{name} — {}", format_number(value))
    } else {
        format!("{name} — {} {unit}", format_number(value))
    }
}

fn select(on_select: Option<Callback<String>>, iso: &str) {
    if let Some(cb) = on_select {
        cb.run(iso.to_string());
    }
}

fn activate(ev: &KeyboardEvent, on_select: Option<Callback<String>>, iso: &str) {
    if on_select.is_some() && (ev.key() == "Enter" || ev.key() == " ") {
        ev.prevent_default();
        select(on_select, iso);
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// The server's HTML without the `<!>` hydration markers that type-erased views put after
    /// dynamic text (`<title>Germany<!></title>`): the assertions are about what people read.
    fn render(view: impl FnOnce() -> AnyView) -> String {
        Owner::new().with(|| view().to_html()).replace("<!>", "")
    }

    #[test]
    fn map_renders_fills_markers_and_hover_text() {
        let map = WorldMap::bundled();
        let values = HashMap::from([("DE".to_string(), 1234.0), ("FR".to_string(), 0.0)]);
        let markers = vec![
            Marker { iso_a2: "US".into(), count: 50, max_risk: 95 },
            Marker { iso_a2: "ZZ".into(), count: 7, max_risk: 10 },
            Marker { iso_a2: "BR".into(), count: 0, max_risk: 99 },
        ];
        let html = render(|| {
            view! {
                <WorldMapView
                    values=Signal::stored(values)
                    markers=Signal::stored(markers)
                    unit="flows"
                    on_select=Callback::new(|_: String| {})
                />
            }
            .into_any()
        });
        assert_eq!(html.matches("<path").count(), map.countries().len() + map.unassigned().len());
        assert!(html.contains("<title>Germany — 1,234 flows</title>"), "hover text");
        assert!(html.contains("<title>France — 0 flows</title>"));
        assert!(html.contains("<title>Spain — no data</title>"));
        assert!(html.contains(r#"aria-label="Germany — 1,234 flows""#), "selectable countries are named");
        // Only countries with a value are in the tab order (and the one marker).
        assert_eq!(html.matches(r#"tabindex="0""#).count(), 2 + 1);
        assert!(html.contains(&format!(r#"fill="{}""#, anomalyforge::worldmap::ZERO_FILL)));
        // One marker: unknown codes and zero counts are not drawn.
        assert_eq!(html.matches("<circle").count(), 1);
        assert!(html.contains("United States of America — 50 flows, highest risk 95"));
        assert!(html.contains(&format!(r#"fill="{}""#, risk_colour(95))));
    }

    #[test]
    fn map_without_selection_is_not_focusable() {
        let html = render(|| view! { <WorldMapView/> }.into_any());
        assert!(!html.contains("tabindex") && !html.contains("role=\"button\""));
        assert!(html.contains("<title>Germany</title>"));
        assert!(html.contains(r#"aria-label="World map""#));
    }
}
