//! The world map: country outlines read from GeoJSON and projected once into SVG path data, plus
//! the colour and size scales the map views share.
//!
//! Browser-safe and pure (no I/O, no clock): the same [`WorldMap`] is built on the server and in the
//! browser, so server rendering and hydration agree. The projection is Natural Earth I (Šavrič et
//! al. 2011) scaled to the fixed view box [`WorldMap::VIEW_BOX`] (`0 0 1000 520`). Rings that cross
//! the antimeridian (Russia, Fiji) are cut at ±180° and rings around a pole (Antarctica) are closed
//! along the pole line, so no path draws a line across the map.
//!
//! The shipped outlines are Natural Earth 1:110m (public domain) as converted by world-atlas (ISC):
//! `public/geo/countries-110m.geojson`, see `public/geo/README.md`.

use crate::alert::Severity;
use geojson::{Feature, GeometryValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::f64::consts::PI;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

/// The shipped map, Natural Earth 1:110m countries (also served as `/geo/countries-110m.geojson`).
const COUNTRIES_110M: &str = include_str!("../public/geo/countries-110m.geojson");

/// A GeoJSON text larger than this is refused before parsing (the shipped 1:110m file is 0.45 MB,
/// Natural Earth's 1:10m one about 24 MB).
pub const MAX_GEOJSON_BYTES: usize = 32 * 1024 * 1024;

/// One country with an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Country {
    /// Upper-case ISO 3166-1 alpha-2 code (Kosovo: the user-assigned `XK`).
    pub iso_a2: String,
    /// Short English name from the file (`name`, else `name_iso`, else the code).
    pub name: String,
    /// SVG path data in [`WorldMap::VIEW_BOX`] coordinates (draw with `fill-rule="evenodd"`).
    pub path: String,
    /// (longitude, latitude) of the area centroid of the country's largest polygon: mainland France,
    /// not French Guiana; the contiguous United States, not Alaska.
    pub centroid: (f64, f64),
    /// `centroid` projected into the view box: where a marker goes.
    pub point: (f64, f64),
}

impl Country {
    /// The country of an address that is private, internal or not in the geolocation data, wherever
    /// a country code is stored or counted (traffic, rollups, KPIs). Never on the map.
    pub const UNKNOWN: &'static str = "ZZ";
}

/// Land drawn on the map that has no ISO code (Northern Cyprus, Somaliland): shown, never selected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Territory {
    pub name: String,
    pub path: String,
}

/// A feature that did not become a [`Country`], and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedFeature {
    /// Position in the file's `features` array.
    pub index: usize,
    /// The feature's name, when it had one.
    pub name: Option<String>,
    pub error: FeatureError,
}

impl std::fmt::Display for SkippedFeature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "feature {} ({name}): {}", self.index, self.error),
            None => write!(f, "feature {}: {}", self.index, self.error),
        }
    }
}

/// Why a whole map could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    #[error("map file is {bytes} bytes, more than the {limit} allowed")]
    TooLarge { bytes: usize, limit: usize },
    #[error("map file is not valid JSON: {0}")]
    Json(String),
    #[error("map file is not a GeoJSON FeatureCollection (its \"type\" is {found})")]
    NotFeatureCollection { found: String },
    #[error("map file's FeatureCollection has no \"features\" array")]
    NoFeatures,
    #[error("map file has no usable country: all {features} features were skipped (first: {first})")]
    NoCountries { features: usize, first: String },
}

/// Why one feature was skipped; the rest of the map is still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum FeatureError {
    #[error("not a GeoJSON Feature: {0}")]
    NotAFeature(String),
    #[error("feature has no geometry")]
    NoGeometry,
    #[error("geometry is a {0}, not a Polygon or MultiPolygon")]
    UnsupportedGeometry(String),
    #[error("no ISO 3166-1 code (iso_a2 and iso_a3 missing, null or \"-99\")")]
    MissingIsoCode,
    #[error("iso_a2 {0:?} is not two letters")]
    InvalidIsoCode(String),
    #[error("iso_a2 {0} appears again (the first feature with it is kept)")]
    DuplicateIsoCode(String),
    #[error("position {0:?} is not a longitude in -180..=180 and a latitude in -90..=90")]
    BadCoordinate(Vec<f64>),
    #[error("geometry has no ring of three or more positions")]
    EmptyGeometry,
}

/// A marker on the map: activity per country (for example alerts by source country).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub iso_a2: String,
    pub count: u64,
    /// Highest risk (0–100) among the marker's events; colours the marker ([`risk_colour`]).
    pub max_risk: i64,
}

/// Countries projected into a fixed view box. Build it with [`WorldMap::from_geojson`] or take the
/// shipped one from [`WorldMap::bundled`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "WorldMapParts")]
pub struct WorldMap {
    /// Sorted by `iso_a2` (binary search in [`WorldMap::country`]).
    countries: Vec<Country>,
    unassigned: Vec<Territory>,
    skipped: Vec<SkippedFeature>,
}

/// The serialized form; deserializing restores the sort order `country()` relies on.
#[derive(Deserialize)]
struct WorldMapParts {
    countries: Vec<Country>,
    unassigned: Vec<Territory>,
    skipped: Vec<SkippedFeature>,
}

impl From<WorldMapParts> for WorldMap {
    fn from(mut p: WorldMapParts) -> Self {
        p.countries.sort_by(|a, b| a.iso_a2.cmp(&b.iso_a2));
        p.countries.dedup_by(|a, b| a.iso_a2 == b.iso_a2);
        WorldMap { countries: p.countries, unassigned: p.unassigned, skipped: p.skipped }
    }
}

/// Natural Earth I: x = λ·A(φ) reaches 0.8707·π at the equator; this scale maps it to ±500.
const SCALE: f64 = 500.0 / (0.8707 * PI);

impl WorldMap {
    pub const WIDTH: f64 = 1000.0;
    /// 2 · 1.4224 (the projection's y at the poles) · [`SCALE`] = 519.997, rounded up.
    pub const HEIGHT: f64 = 520.0;
    /// The SVG `viewBox` every path and point is in.
    pub const VIEW_BOX: &'static str = "0 0 1000 520";

    /// Reads countries from a GeoJSON FeatureCollection of Polygon / MultiPolygon features with the
    /// properties `iso_a2` (or `iso_a3` where Natural Earth writes `-99`) and `name`.
    ///
    /// A single bad feature is skipped and listed in [`WorldMap::skipped`]; only a file that is not
    /// a FeatureCollection, or one without any usable country, is an error. Features without an ISO
    /// code are listed there too but kept as [`WorldMap::unassigned`] land so the map has no holes.
    pub fn from_geojson(text: &str) -> Result<WorldMap, MapError> {
        if text.len() > MAX_GEOJSON_BYTES {
            return Err(MapError::TooLarge { bytes: text.len(), limit: MAX_GEOJSON_BYTES });
        }
        let mut doc: Value = serde_json::from_str(text).map_err(|e| MapError::Json(e.to_string()))?;
        match doc.get("type") {
            Some(Value::String(t)) if t == "FeatureCollection" => {}
            Some(other) => return Err(MapError::NotFeatureCollection { found: other.to_string() }),
            None => return Err(MapError::NotFeatureCollection { found: "missing".into() }),
        }
        let Some(Value::Array(features)) = doc.get_mut("features").map(Value::take) else {
            return Err(MapError::NoFeatures);
        };

        let total = features.len();
        let mut countries = Vec::new();
        let mut unassigned = Vec::new();
        let mut skipped = Vec::new();
        let mut seen = HashSet::new();
        for (index, value) in features.into_iter().enumerate() {
            let mut skip = |name: Option<String>, error| skipped.push(SkippedFeature { index, name, error });
            let feature: Feature = match serde_json::from_value(value) {
                Ok(f) => f,
                Err(e) => {
                    skip(None, FeatureError::NotAFeature(e.to_string()));
                    continue;
                }
            };
            let name = feature_name(&feature);
            let shape = match feature_polygons(&feature) {
                Ok(polygons) => Shape::new(&polygons),
                Err(e) => {
                    skip(name, e);
                    continue;
                }
            };
            match feature_iso_a2(&feature) {
                Ok(iso) if !seen.insert(iso.clone()) => skip(name, FeatureError::DuplicateIsoCode(iso)),
                Ok(iso_a2) => countries.push(Country {
                    name: name.unwrap_or_else(|| iso_a2.clone()),
                    iso_a2,
                    path: shape.path,
                    centroid: shape.centroid,
                    point: Self::project(shape.centroid.0, shape.centroid.1),
                }),
                Err(e) => {
                    unassigned.push(Territory { name: name.clone().unwrap_or_default(), path: shape.path });
                    skip(name, e);
                }
            }
        }
        if countries.is_empty() {
            let first = skipped.first().map_or_else(|| "the array is empty".to_string(), |s| s.to_string());
            return Err(MapError::NoCountries { features: total, first });
        }
        countries.sort_by(|a, b| a.iso_a2.cmp(&b.iso_a2));
        Ok(WorldMap { countries, unassigned, skipped })
    }

    /// The shipped Natural Earth 1:110m map, parsed once per process. Calling it from browser code
    /// also puts the 0.45 MB GeoJSON text into the WASM binary: the web client fetches the same
    /// file (`/geo/countries-110m.geojson`) and parses it with [`WorldMap::from_geojson`] instead.
    pub fn bundled() -> Arc<WorldMap> {
        static MAP: OnceLock<Arc<WorldMap>> = OnceLock::new();
        MAP.get_or_init(|| {
            // The shipped file is parsed by the unit tests, so this cannot fail at run time.
            Arc::new(WorldMap::from_geojson(COUNTRIES_110M).expect("public/geo/countries-110m.geojson parses"))
        })
        .clone()
    }

    /// Projects (longitude, latitude) in degrees into the view box. Out-of-range values are clamped
    /// and non-finite ones read as 0, so the result is always inside `0..=WIDTH × 0..=HEIGHT`.
    pub fn project(lon: f64, lat: f64) -> (f64, f64) {
        let lon = if lon.is_finite() { lon.clamp(-180.0, 180.0) } else { 0.0 };
        let lat = if lat.is_finite() { lat.clamp(-90.0, 90.0) } else { 0.0 };
        let (lambda, phi) = (lon.to_radians(), lat.to_radians());
        let p2 = phi * phi;
        let p4 = p2 * p2;
        let x = lambda * (0.8707 - 0.131979 * p2 + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4)));
        let y = phi * (1.007226 + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4)));
        (Self::WIDTH / 2.0 + SCALE * x, Self::HEIGHT / 2.0 - SCALE * y)
    }

    /// The country with this ISO 3166-1 alpha-2 code (either case).
    pub fn country(&self, iso_a2: &str) -> Option<&Country> {
        let key = iso_a2.to_ascii_uppercase();
        self.countries.binary_search_by(|c| c.iso_a2.as_str().cmp(&key)).ok().map(|i| &self.countries[i])
    }

    /// All countries, sorted by ISO code.
    pub fn countries(&self) -> &[Country] {
        &self.countries
    }

    /// Land without an ISO code, to draw beneath the countries.
    pub fn unassigned(&self) -> &[Territory] {
        &self.unassigned
    }

    /// Features that did not become a country (including the `unassigned` ones), with the reason.
    pub fn skipped(&self) -> &[SkippedFeature] {
        &self.skipped
    }
}

// ---------------------------------------------------------------------------------------------
// Reading features

fn string_property<'a>(f: &'a Feature, key: &str) -> Option<&'a str> {
    f.property(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn feature_name(f: &Feature) -> Option<String> {
    string_property(f, "name").or_else(|| string_property(f, "name_iso")).map(str::to_string)
}

/// Natural Earth writes `-99` as `iso_a2` for a few countries whose `iso_a3` (or `adm0_a3`) is
/// still set; these are the ones it has done so for.
const ISO_A3_FALLBACK: &[(&str, &str)] = &[("FRA", "FR"), ("NOR", "NO"), ("KOS", "XK"), ("XKX", "XK")];

fn feature_iso_a2(f: &Feature) -> Result<String, FeatureError> {
    match string_property(f, "iso_a2") {
        Some(code) if code != "-99" => {
            if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
                Ok(code.to_ascii_uppercase())
            } else {
                Err(FeatureError::InvalidIsoCode(code.to_string()))
            }
        }
        _ => {
            let a3 = ["iso_a3", "adm0_a3"].into_iter().filter_map(|k| string_property(f, k)).find(|c| *c != "-99");
            a3.and_then(|a3| ISO_A3_FALLBACK.iter().find(|(k, _)| k.eq_ignore_ascii_case(a3)))
                .map(|(_, a2)| a2.to_string())
                .ok_or(FeatureError::MissingIsoCode)
        }
    }
}

/// A ring of (lon, lat) without the repeated closing position.
type Ring = Vec<(f64, f64)>;
/// An outer ring followed by its holes.
type Polygon = Vec<Ring>;

fn feature_polygons(f: &Feature) -> Result<Vec<Polygon>, FeatureError> {
    let geometry = f.geometry.as_ref().ok_or(FeatureError::NoGeometry)?;
    let raw: Vec<&Vec<Vec<geojson::Position>>> = match &geometry.value {
        GeometryValue::Polygon { coordinates } => vec![coordinates],
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => return Err(FeatureError::UnsupportedGeometry(other.type_name().to_string())),
    };
    let mut polygons = Vec::with_capacity(raw.len());
    for rings in raw {
        let mut polygon = Vec::with_capacity(rings.len());
        for (i, positions) in rings.iter().enumerate() {
            let mut ring = Vec::with_capacity(positions.len());
            for p in positions {
                let s = p.as_slice();
                match s {
                    [lon, lat, ..]
                        if lon.is_finite()
                            && lat.is_finite()
                            && lon.abs() <= 180.0 + 1e-6
                            && lat.abs() <= 90.0 + 1e-6 =>
                    {
                        let point = (lon.clamp(-180.0, 180.0), lat.clamp(-90.0, 90.0));
                        if ring.last() != Some(&point) {
                            ring.push(point);
                        }
                    }
                    _ => return Err(FeatureError::BadCoordinate(s.to_vec())),
                }
            }
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            if ring.len() >= 3 {
                polygon.push(ring);
            } else if i == 0 {
                break; // a degenerate outer ring: its holes mean nothing
            }
        }
        if !polygon.is_empty() {
            polygons.push(polygon);
        }
    }
    if polygons.is_empty() {
        return Err(FeatureError::EmptyGeometry);
    }
    Ok(polygons)
}

// ---------------------------------------------------------------------------------------------
// Geometry: antimeridian, centroids, path data

/// What a feature's polygons become: path data and the centroid of the largest polygon.
struct Shape {
    path: String,
    centroid: (f64, f64),
}

impl Shape {
    fn new(polygons: &[Polygon]) -> Shape {
        let mut path = String::new();
        let mut best: Option<(f64, (f64, f64))> = None;
        for polygon in polygons {
            let anchor = polygon[0][0].0;
            let mut area = 0.0;
            let (mut mx, mut my) = (0.0, 0.0);
            for (i, ring) in polygon.iter().enumerate() {
                let mut unwrapped = unwrap_ring(ring);
                // Holes are unwrapped next to their outer ring, even across the antimeridian.
                let shift = 360.0 * ((anchor - unwrapped[0].0) / 360.0).round();
                unwrapped.iter_mut().for_each(|p| p.0 += shift);
                if let Some((a, (cx, cy))) = ring_area_centroid(&unwrapped) {
                    let a = if i == 0 { a.abs() } else { -a.abs() };
                    area += a;
                    mx += a * cx;
                    my += a * cy;
                }
                for piece in split_at_antimeridian(&unwrapped) {
                    push_ring_path(&mut path, &piece);
                }
            }
            if area > 1e-12 {
                let (cx, cy) = (mx / area, my / area);
                // Degrees² shrink towards the poles: weigh by cos(latitude) to compare real sizes.
                let weight = area * cy.to_radians().cos().max(0.01);
                if best.is_none_or(|(w, _)| weight > w) {
                    best = Some((weight, (normalise_lon(cx), cy)));
                }
            }
        }
        let centroid = best.map_or_else(|| mean_position(&polygons[0][0]), |(_, c)| c);
        Shape { path, centroid }
    }
}

fn normalise_lon(lon: f64) -> f64 {
    let l = (lon + 180.0).rem_euclid(360.0) - 180.0;
    if l == -180.0 && lon > 0.0 {
        180.0
    } else {
        l
    }
}

fn mean_position(ring: &[(f64, f64)]) -> (f64, f64) {
    let n = ring.len().max(1) as f64;
    let (sx, sy) = ring.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| (sx + x, sy + y));
    (normalise_lon(sx / n), sy / n)
}

/// Shoelace area (signed) and centroid of a closed ring, computed relative to its first point.
fn ring_area_centroid(ring: &[(f64, f64)]) -> Option<(f64, (f64, f64))> {
    let (ox, oy) = ring[0];
    let (mut a2, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for (i, &(x0, y0)) in ring.iter().enumerate() {
        let (x1, y1) = ring[(i + 1) % ring.len()];
        let (x0, y0, x1, y1) = (x0 - ox, y0 - oy, x1 - ox, y1 - oy);
        let cross = x0 * y1 - x1 * y0;
        a2 += cross;
        cx += (x0 + x1) * cross;
        cy += (y0 + y1) * cross;
    }
    if a2.abs() < 1e-12 {
        return None;
    }
    Some((a2 / 2.0, (ox + cx / (3.0 * a2), oy + cy / (3.0 * a2))))
}

/// Makes longitudes continuous (no step over 180°), so a ring that crosses the antimeridian runs
/// past ±180. A ring that winds around a pole (Antarctica) is closed along that pole's line.
fn unwrap_ring(ring: &[(f64, f64)]) -> Ring {
    let mut out: Ring = Vec::with_capacity(ring.len() + 40);
    let mut prev = ring[0].0;
    for &(lon, lat) in ring {
        let lon = lon + 360.0 * ((prev - lon) / 360.0).round();
        out.push((lon, lat));
        prev = lon;
    }
    let (first, last) = (out[0], out[out.len() - 1]);
    let closing = first.0 + 360.0 * ((last.0 - first.0) / 360.0).round();
    if (closing - first.0).abs() > 180.0 {
        let mean_lat = ring.iter().map(|p| p.1).sum::<f64>() / ring.len() as f64;
        let pole = if mean_lat < 0.0 { -90.0 } else { 90.0 };
        if (closing, first.1) != last {
            out.push((closing, first.1));
        }
        // Along the pole line in steps of at most 10° (it is a line in this projection, but the
        // steps keep every segment short, whatever the projection).
        let steps = ((closing - first.0).abs() / 10.0).ceil() as usize;
        for s in 0..=steps {
            out.push((closing + (first.0 - closing) * s as f64 / steps as f64, pole));
        }
    }
    out
}

/// Cuts an unwrapped ring into pieces inside -180..=180 (a ring inside already is one piece).
fn split_at_antimeridian(ring: &[(f64, f64)]) -> Vec<Ring> {
    let (min, max) = ring.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    if min >= -180.0 - 1e-9 && max <= 180.0 + 1e-9 {
        return vec![ring.to_vec()];
    }
    let mut pieces = Vec::new();
    for k in -2..=2 {
        let offset = 360.0 * k as f64;
        if max + offset <= -180.0 || min + offset >= 180.0 {
            continue;
        }
        let shifted: Ring = ring.iter().map(|&(x, y)| (x + offset, y)).collect();
        let piece = clip_x(&clip_x(&shifted, -180.0, true), 180.0, false);
        if piece.len() >= 3 {
            pieces.push(piece);
        }
    }
    pieces
}

/// Sutherland–Hodgman against one vertical line: keeps x ≥ edge (`keep_right`) or x ≤ edge.
fn clip_x(ring: &[(f64, f64)], edge: f64, keep_right: bool) -> Ring {
    let inside = |p: (f64, f64)| if keep_right { p.0 >= edge } else { p.0 <= edge };
    let cross = |a: (f64, f64), b: (f64, f64)| (edge, a.1 + (edge - a.0) / (b.0 - a.0) * (b.1 - a.1));
    let mut out = Vec::with_capacity(ring.len() + 4);
    for (i, &cur) in ring.iter().enumerate() {
        let prev = ring[(i + ring.len() - 1) % ring.len()];
        match (inside(prev), inside(cur)) {
            (true, true) => out.push(cur),
            (false, true) => {
                out.push(cross(prev, cur));
                out.push(cur);
            }
            (true, false) => out.push(cross(prev, cur)),
            (false, false) => {}
        }
    }
    out
}

/// Appends one ring as `M x,y l dx,dy … z` in tenths of a view-box unit. The relative steps are
/// differences of rounded absolute positions, so rounding does not accumulate.
fn push_ring_path(path: &mut String, ring: &[(f64, f64)]) {
    let mut points: Vec<(i32, i32)> = Vec::with_capacity(ring.len());
    for &(lon, lat) in ring {
        let (x, y) = WorldMap::project(lon, lat);
        let p = ((x * 10.0).round() as i32, (y * 10.0).round() as i32);
        if points.last() != Some(&p) {
            points.push(p);
        }
    }
    while points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 3 {
        return;
    }
    path.push('M');
    push_tenths(path, points[0].0);
    path.push(',');
    push_tenths(path, points[0].1);
    path.push('l');
    for (i, w) in points.windows(2).enumerate() {
        if i > 0 {
            path.push(' ');
        }
        push_tenths(path, w[1].0 - w[0].0);
        path.push(',');
        push_tenths(path, w[1].1 - w[0].1);
    }
    path.push('z');
}

/// `123` → "12.3", `-5` → "-0.5", `40` → "4".
fn push_tenths(out: &mut String, v: i32) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let _ = write!(out, "{}", a / 10);
    if !a.is_multiple_of(10) {
        let _ = write!(out, ".{}", a % 10);
    }
}

// ---------------------------------------------------------------------------------------------
// Scales

/// Fill of a country with no value at all (not in the data).
pub const EMPTY_FILL: &str = "#1c2740";
/// Fill of a country whose value is zero: seen, nothing happened.
pub const ZERO_FILL: &str = "#3a4868";
/// Sequential choropleth colours, low to high (viridis steps: perceptually even and readable with
/// the common colour-vision deficiencies; every step is lighter than the dark page background).
pub const CHOROPLETH: [&str; 7] = ["#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725"];

/// The choropleth colour of `value` on a 0..=`max` scale. Bins are even in √(value/max), so
/// heavy-tailed counts (one country with most of the traffic) still spread over the colours.
/// Zero (or less) is [`ZERO_FILL`]; a non-finite value is [`EMPTY_FILL`]; a value above `max` or an
/// unusable `max` gives the top colour.
pub fn choropleth_fill(value: f64, max: f64) -> &'static str {
    if value.is_nan() {
        return EMPTY_FILL;
    }
    if value <= 0.0 {
        return ZERO_FILL;
    }
    let t = if max.is_finite() && max > 0.0 { (value / max).min(1.0).sqrt() } else { 1.0 };
    let bin = ((t * CHOROPLETH.len() as f64).ceil() as usize).clamp(1, CHOROPLETH.len());
    CHOROPLETH[bin - 1]
}

/// The legend of [`choropleth_fill`]: each colour with the highest value it stands for.
pub fn choropleth_legend(max: f64) -> [(f64, &'static str); 7] {
    let n = CHOROPLETH.len() as f64;
    std::array::from_fn(|i| (max * ((i + 1) as f64 / n).powi(2), CHOROPLETH[i]))
}

/// The legend of [`choropleth_fill`] for whole counts up to `max`: each colour that some count from 1
/// to `max` gets, with the lowest and highest such count. Colours no count gets are left out, so a map
/// whose largest value is 1 has one entry ("1"), not seven.
pub fn choropleth_count_legend(max: u64) -> Vec<(u64, u64, &'static str)> {
    let mut lowest = 1u64;
    choropleth_legend(max as f64)
        .into_iter()
        .filter_map(|(upper, colour)| {
            // Whole counts of this bin: above the previous bin's bound, up to this one's (a hair of
            // slack for the bound's rounding).
            let highest = (upper + 1e-9).floor().min(max as f64) as u64;
            (highest >= lowest).then(|| {
                let entry = (lowest, highest, colour);
                lowest = highest + 1;
                entry
            })
        })
        .collect()
}

/// Smallest and largest marker radius, in view-box units (the map is 1000 wide).
pub const MARKER_MIN_RADIUS: f64 = 3.0;
pub const MARKER_MAX_RADIUS: f64 = 20.0;

/// Radius of a marker whose area is proportional to `count` (the largest count gets
/// [`MARKER_MAX_RADIUS`]), clamped so small counts stay visible. Zero gives 0: draw nothing.
pub fn marker_radius(count: u64, max_count: u64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let max = max_count.max(count) as f64;
    (MARKER_MAX_RADIUS * (count as f64 / max).sqrt()).clamp(MARKER_MIN_RADIUS, MARKER_MAX_RADIUS)
}

/// The colour of a severity band (Okabe–Ito colours, distinguishable with colour-vision
/// deficiencies; pair them with text or size, never colour alone).
pub fn severity_colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "#D55E00",
        Severity::High => "#E69F00",
        Severity::Medium => "#F0E442",
        Severity::Low => "#56B4E9",
    }
}

/// The colour of a 0–100 risk, by the alert severity bands (critical ≥ 90, high ≥ 70,
/// medium ≥ 40, else low).
pub fn risk_colour(risk: i64) -> &'static str {
    severity_colour(Severity::from_risk(risk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map() -> Arc<WorldMap> {
        WorldMap::bundled()
    }

    /// Absolute points of each subpath of our own `M x,y l dx,dy … z` path data.
    fn subpaths(path: &str) -> Vec<Vec<(f64, f64)>> {
        let mut out = Vec::new();
        for sub in path.split('M').filter(|s| !s.is_empty()) {
            let sub = sub.strip_suffix('z').expect("subpath ends with z");
            let (start, steps) = sub.split_once('l').expect("subpath has an l");
            let xy = |s: &str| {
                let (x, y) = s.split_once(',').expect("x,y");
                (x.parse::<f64>().expect("x"), y.parse::<f64>().expect("y"))
            };
            let mut p = xy(start);
            let mut points = vec![p];
            for step in steps.split(' ') {
                let (dx, dy) = xy(step);
                p = ((p.0 * 10.0 + dx * 10.0).round() / 10.0, (p.1 * 10.0 + dy * 10.0).round() / 10.0);
                points.push(p);
            }
            out.push(points);
        }
        out
    }

    fn near(actual: (f64, f64), expected: (f64, f64), tolerance: f64) -> bool {
        (actual.0 - expected.0).abs() <= tolerance && (actual.1 - expected.1).abs() <= tolerance
    }

    #[test]
    fn parses_the_shipped_map() {
        let map = WorldMap::from_geojson(COUNTRIES_110M).expect("shipped map parses");
        // 177 features: 175 with an ISO code, and Northern Cyprus and Somaliland without one.
        assert_eq!(map.countries().len(), 175);
        assert_eq!(map.unassigned().len(), 2);
        assert_eq!(map.countries().len() + map.unassigned().len(), 177);
        let skipped: Vec<_> = map.skipped().iter().map(|s| (s.name.as_deref(), s.error.clone())).collect();
        assert_eq!(
            skipped,
            [(Some("N. Cyprus"), FeatureError::MissingIsoCode), (Some("Somaliland"), FeatureError::MissingIsoCode)]
        );
        assert!(map.countries().iter().all(|c| c.iso_a2.len() == 2 && !c.path.is_empty()));
        assert_eq!(map.country("de").map(|c| c.name.as_str()), Some("Germany"));
        assert_eq!(map.country("XK").map(|c| c.name.as_str()), Some("Kosovo"));
        assert!(map.country("ZZ").is_none());
        assert_eq!(map, WorldMap::from_geojson(COUNTRIES_110M).expect("parses again"), "deterministic");
    }

    #[test]
    fn centroids_are_on_the_main_landmass() {
        let map = map();
        let centroid = |iso: &str| map.country(iso).expect(iso).centroid;
        // Mainland France, not French Guiana or Corsica.
        assert!(near(centroid("FR"), (2.5, 46.6), 1.5), "FR {:?}", centroid("FR"));
        // The contiguous United States, not Alaska.
        assert!(near(centroid("US"), (-98.5, 39.5), 3.0), "US {:?}", centroid("US"));
        assert!(near(centroid("BR"), (-53.0, -10.5), 3.0), "BR {:?}", centroid("BR"));
        // Russia's main polygon crosses the antimeridian at Chukotka; its centroid is in Siberia.
        let ru = centroid("RU");
        assert!((85.0..=110.0).contains(&ru.0) && (55.0..=68.0).contains(&ru.1), "RU {ru:?}");
        // Fiji's largest island, Viti Levu, lies at 178° E.
        assert!(near(centroid("FJ"), (178.0, -17.8), 1.0), "FJ {:?}", centroid("FJ"));
        assert!(near(centroid("NO"), (13.0, 64.5), 4.0), "NO {:?}", centroid("NO"));
        for c in map.countries() {
            assert_eq!(c.point, WorldMap::project(c.centroid.0, c.centroid.1), "{}", c.iso_a2);
        }
        // Europe is right of Brazil and above it; Australia is below and right of everything here.
        let (fr, br, au) =
            (map.country("FR").unwrap().point, map.country("BR").unwrap().point, map.country("AU").unwrap().point);
        assert!(fr.0 > br.0 && fr.1 < br.1 && au.0 > fr.0 && au.1 > fr.1);
    }

    #[test]
    fn no_segment_crosses_the_map() {
        let map = map();
        let paths = map.countries().iter().map(|c| (c.name.as_str(), c.path.as_str()));
        let paths = paths.chain(map.unassigned().iter().map(|t| (t.name.as_str(), t.path.as_str())));
        let mut points = 0;
        for (name, path) in paths {
            for sub in subpaths(path) {
                points += sub.len();
                for (i, &(x, y)) in sub.iter().enumerate() {
                    assert!(
                        (0.0..=WorldMap::WIDTH).contains(&x) && (0.0..=WorldMap::HEIGHT).contains(&y),
                        "{name}: ({x}, {y})"
                    );
                    let next = sub[(i + 1) % sub.len()];
                    assert!((next.0 - x).abs() < WorldMap::WIDTH / 2.0, "{name}: ({x}, {y}) → {next:?}");
                }
            }
        }
        assert!(points > 9_000, "{points} points");
        // Russia and Fiji are cut at the antimeridian: parts on both edges of the map.
        for iso in ["RU", "FJ"] {
            let subs = subpaths(&map.country(iso).unwrap().path);
            let half = WorldMap::WIDTH / 2.0;
            assert!(subs.iter().any(|s| s.iter().all(|p| p.0 < half)), "{iso} has a western part");
            assert!(subs.iter().any(|s| s.iter().all(|p| p.0 > half)), "{iso} has an eastern part");
        }
        // Antarctica is closed along the south pole's line, the bottom of the view box.
        let aq = subpaths(&map.country("AQ").unwrap().path);
        assert!(aq.iter().flatten().any(|p| p.1 >= WorldMap::HEIGHT - 0.1));
    }

    #[test]
    fn map_size_stays_small() {
        let map = map();
        let bytes: usize = map.countries().iter().map(|c| c.path.len()).sum::<usize>()
            + map.unassigned().iter().map(|t| t.path.len()).sum::<usize>();
        assert!(bytes < 120_000, "all path data is {bytes} bytes");
    }

    fn feature(props: &str, geometry: &str) -> String {
        format!(r#"{{"type":"Feature","properties":{props},"geometry":{geometry}}}"#)
    }

    const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}"#;

    fn collection(features: &[String]) -> String {
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","))
    }

    #[test]
    fn natural_earth_minus_99_falls_back_to_iso_a3() {
        let text = collection(&[
            feature(r#"{"name":"France","iso_a2":"-99","iso_a3":"FRA"}"#, SQUARE),
            feature(r#"{"name":"Norway","iso_a2":"-99","iso_a3":"NOR"}"#, SQUARE),
            feature(r#"{"name":"Kosovo","iso_a2":"-99","iso_a3":"-99","adm0_a3":"KOS"}"#, SQUARE),
            feature(r#"{"name":"Nowhere","iso_a2":"-99","iso_a3":"-99"}"#, SQUARE),
            feature(r#"{"name":"lower case","iso_a2":"de"}"#, SQUARE),
        ]);
        let map = WorldMap::from_geojson(&text).expect("parses");
        let codes: Vec<_> = map.countries().iter().map(|c| (c.iso_a2.as_str(), c.name.as_str())).collect();
        assert_eq!(codes, [("DE", "lower case"), ("FR", "France"), ("NO", "Norway"), ("XK", "Kosovo")]);
        assert_eq!(map.skipped().len(), 1);
        assert_eq!(map.skipped()[0].error, FeatureError::MissingIsoCode);
        assert_eq!(
            map.skipped()[0].to_string(),
            "feature 3 (Nowhere): no ISO 3166-1 code (iso_a2 and iso_a3 missing, null or \"-99\")"
        );
        assert_eq!(map.unassigned()[0].name, "Nowhere");
        let fr = map.country("FR").unwrap();
        assert!(near(fr.centroid, (5.0, 5.0), 1e-9), "{:?}", fr.centroid);
    }

    #[test]
    fn bad_features_are_skipped_and_named() {
        let text = collection(&[
            feature(r#"{"name":"Good","iso_a2":"GD"}"#, SQUARE),
            r#"{"type":"Feature","properties":{"name":"No geometry","iso_a2":"NG"},"geometry":null}"#.to_string(),
            feature(r#"{"name":"A point","iso_a2":"PT"}"#, r#"{"type":"Point","coordinates":[1,2]}"#),
            feature(
                r#"{"name":"Off the globe","iso_a2":"OG"}"#,
                r#"{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,200],[0,0]]]}"#,
            ),
            feature(
                r#"{"name":"Too few","iso_a2":"TF"}"#,
                r#"{"type":"Polygon","coordinates":[[[0,0],[10,0],[0,0]]]}"#,
            ),
            feature(r#"{"name":"Bad code","iso_a2":"G1"}"#, SQUARE),
            feature(r#"{"name":"Again","iso_a2":"GD"}"#, SQUARE),
            r#"{"type":"Nonsense"}"#.to_string(),
        ]);
        let map = WorldMap::from_geojson(&text).expect("one good feature is enough");
        assert_eq!(map.countries().len(), 1);
        let errors: Vec<_> = map.skipped().iter().map(|s| (s.index, s.error.clone())).collect();
        assert_eq!(errors.len(), 7);
        assert_eq!(errors[0], (1, FeatureError::NoGeometry));
        assert_eq!(errors[1], (2, FeatureError::UnsupportedGeometry("Point".into())));
        assert_eq!(errors[2], (3, FeatureError::BadCoordinate(vec![10.0, 200.0])));
        assert_eq!(errors[3], (4, FeatureError::EmptyGeometry));
        assert_eq!(errors[4], (5, FeatureError::InvalidIsoCode("G1".into())));
        assert_eq!(errors[5], (6, FeatureError::DuplicateIsoCode("GD".into())));
        assert!(matches!(errors[6], (7, FeatureError::NotAFeature(_))));
        assert_eq!(map.skipped()[1].name.as_deref(), Some("A point"));
    }

    #[test]
    fn bad_files_give_named_errors() {
        assert!(matches!(WorldMap::from_geojson("{not json"), Err(MapError::Json(_))));
        assert_eq!(
            WorldMap::from_geojson(r#"{"type":"Feature"}"#),
            Err(MapError::NotFeatureCollection { found: "\"Feature\"".into() })
        );
        assert_eq!(WorldMap::from_geojson("[]"), Err(MapError::NotFeatureCollection { found: "missing".into() }));
        assert_eq!(WorldMap::from_geojson(r#"{"type":"FeatureCollection"}"#), Err(MapError::NoFeatures));
        assert_eq!(
            WorldMap::from_geojson(&collection(&[])),
            Err(MapError::NoCountries { features: 0, first: "the array is empty".into() })
        );
        let err = WorldMap::from_geojson(&collection(&[feature(r#"{"name":"X"}"#, SQUARE)])).unwrap_err();
        assert_eq!(err.to_string(), "map file has no usable country: all 1 features were skipped (first: feature 0 (X): no ISO 3166-1 code (iso_a2 and iso_a3 missing, null or \"-99\"))");
        let huge = " ".repeat(MAX_GEOJSON_BYTES + 1);
        assert!(matches!(WorldMap::from_geojson(&huge), Err(MapError::TooLarge { .. })));
    }

    #[test]
    fn serde_round_trip_keeps_lookups() {
        let text = collection(&[
            feature(r#"{"name":"B","iso_a2":"BB"}"#, SQUARE),
            feature(r#"{"name":"A","iso_a2":"AA"}"#, SQUARE),
        ]);
        let map = WorldMap::from_geojson(&text).unwrap();
        let mut json: Value = serde_json::to_value(&map).unwrap();
        json["countries"].as_array_mut().unwrap().reverse();
        let back: WorldMap = serde_json::from_value(json).unwrap();
        assert_eq!(back, map);
        assert_eq!(back.country("aa").unwrap().name, "A");
    }

    #[test]
    fn projection_corners() {
        assert_eq!(WorldMap::project(0.0, 0.0), (500.0, 260.0));
        let (x, _) = WorldMap::project(180.0, 0.0);
        assert!((x - 1000.0).abs() < 1e-9);
        let (_, y) = WorldMap::project(0.0, -90.0);
        assert!(y <= WorldMap::HEIGHT && y > WorldMap::HEIGHT - 0.01);
        assert_eq!(WorldMap::project(f64::NAN, f64::INFINITY), (500.0, 260.0));
        assert_eq!(WorldMap::project(-500.0, 100.0), WorldMap::project(-180.0, 90.0));
    }

    proptest! {
        #[test]
        fn project_stays_in_the_view_box(lon in -180.0f64..=180.0, lat in -90.0f64..=90.0) {
            let (x, y) = WorldMap::project(lon, lat);
            prop_assert!((0.0..=WorldMap::WIDTH).contains(&x), "x {}", x);
            prop_assert!((0.0..=WorldMap::HEIGHT).contains(&y), "y {}", y);
        }

        #[test]
        fn project_keeps_order(lon in -179.0f64..=179.0, lat in -89.0f64..=89.0) {
            let (x, y) = WorldMap::project(lon, lat);
            let (xe, yn) = (WorldMap::project(lon + 1.0, lat).0, WorldMap::project(lon, lat + 1.0).1);
            prop_assert!(xe > x && yn < y);
        }
    }

    #[test]
    fn choropleth_scale() {
        assert_ne!(choropleth_fill(0.0, 100.0), EMPTY_FILL);
        assert_eq!(choropleth_fill(0.0, 100.0), ZERO_FILL);
        assert_eq!(choropleth_fill(f64::NAN, 100.0), EMPTY_FILL);
        assert_eq!(choropleth_fill(0.001, 100.0), CHOROPLETH[0]);
        assert_eq!(choropleth_fill(100.0, 100.0), CHOROPLETH[6]);
        assert_eq!(choropleth_fill(1e9, 100.0), CHOROPLETH[6]);
        assert_eq!(choropleth_fill(5.0, 0.0), CHOROPLETH[6]);
        let steps: Vec<usize> = (0..=100)
            .map(|v| CHOROPLETH.iter().position(|c| *c == choropleth_fill(v as f64, 100.0)).map_or(0, |i| i + 1))
            .collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "monotonic");
        assert_eq!(steps.iter().max(), Some(&7));
        let legend = choropleth_legend(49.0);
        assert!((legend[0].0 - 1.0).abs() < 1e-9 && legend[0].1 == CHOROPLETH[0]);
        assert!((legend[6].0 - 49.0).abs() < 1e-9 && legend[6].1 == CHOROPLETH[6]);
        for (upper, colour) in legend {
            assert_eq!(choropleth_fill(upper, 49.0), colour);
        }
    }

    #[test]
    fn the_count_legend_lists_only_colours_some_count_gets() {
        assert_eq!(choropleth_count_legend(1), vec![(1, 1, CHOROPLETH[6])]);
        assert!(choropleth_count_legend(0).is_empty());
        for max in [1u64, 2, 3, 7, 49, 50, 1000] {
            let legend = choropleth_count_legend(max);
            assert_eq!(legend.first().map(|e| e.0), Some(1), "max {max}");
            assert_eq!(legend.last().map(|e| (e.1, e.2)), Some((max, CHOROPLETH[6])), "max {max}");
            assert!(legend.windows(2).all(|w| w[1].0 == w[0].1 + 1), "contiguous: {legend:?}");
            for (lo, hi, colour) in legend {
                assert!(lo <= hi);
                for v in lo..=hi {
                    assert_eq!(choropleth_fill(v as f64, max as f64), colour, "{v} of {max}");
                }
            }
        }
        assert_eq!(choropleth_count_legend(49).len(), 7);
    }

    #[test]
    fn marker_area_is_proportional_and_clamped() {
        assert_eq!(marker_radius(0, 10), 0.0);
        assert_eq!(marker_radius(100, 100), MARKER_MAX_RADIUS);
        assert!((marker_radius(25, 100) - MARKER_MAX_RADIUS / 2.0).abs() < 1e-9, "a quarter of the area");
        assert_eq!(marker_radius(1, 1_000_000), MARKER_MIN_RADIUS);
        assert_eq!(marker_radius(500, 100), MARKER_MAX_RADIUS, "a count above max is the max");
    }

    #[test]
    fn risk_colours_follow_the_severity_bands() {
        let band = |r| risk_colour(r);
        assert_eq!(band(100), band(90));
        assert_ne!(band(90), band(89));
        assert_eq!(band(89), band(70));
        assert_ne!(band(70), band(69));
        assert_eq!(band(69), band(40));
        assert_ne!(band(40), band(39));
        assert_eq!(band(39), band(0));
        assert_eq!(band(95), severity_colour(Severity::Critical));
    }
}
