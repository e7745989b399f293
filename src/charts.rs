//! Charts rendered to standalone SVG text with plotters' SVG backend: a time-series line chart,
//! horizontal bars, stacked bars over time, a heat map (confusion matrix) and a scatter of two
//! measures. Each builder takes a typed spec and returns a [`Chart`]: the SVG and a plain-language
//! text alternative.
//!
//! Browser-safe and pure. Rules that keep the output identical on the server and in the browser:
//! - plotters is built without `ttf`/`ab_glyph`, so no system font is looked up, and nothing here
//!   calls plotters' text *measuring* (`caption`, right-hand label areas, series legends,
//!   `MultiLineText`): in WASM that measuring touches the DOM. Text is placed at computed positions
//!   and laid out by the SVG viewer; label widths are estimated from their length.
//! - Same spec → byte-identical SVG (no clock, no hash-map order, fixed number formats).
//! - Every piece of text is XML-escaped by the SVG backend, so labels from data (asset names,
//!   threat types) cannot inject markup. The snapshot tests check a `<script>` label.
//! - Empty data gives a chart that says "No data in this range", never a panic.

use crate::alert::Severity;
use crate::worldmap::{severity_colour, CHOROPLETH};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::error::Error;

/// A rendered chart. Only the builders in this module make one (the fields are private), so code
/// that inserts [`Chart::svg`] as markup knows it came from this renderer, where every text is
/// escaped. It is `Serialize`/`Deserialize` so a server function can return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    svg: String,
    alt: String,
}

impl Chart {
    /// A standalone `<svg>` document (its natural width at most, narrower in a narrow container).
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// What the chart shows, in one or two sentences, for `aria-label` and screen readers.
    pub fn alt(&self) -> &str {
        &self.alt
    }
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// Parses `#rrggbb`.
    pub fn from_hex(s: &str) -> Option<Colour> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Colour(byte(0)?, byte(2)?, byte(4)?))
    }

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// The colour of a severity band, as on the map ([`severity_colour`]).
    pub fn severity(severity: Severity) -> Colour {
        Colour::from_hex(severity_colour(severity)).unwrap_or(MUTED)
    }

    fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// Series colours: Okabe–Ito, safe with the common colour-vision deficiencies, ordered so the
/// first ones have the most contrast on the dark panel background.
pub const PALETTE: [Colour; 8] = [
    Colour(0x56, 0xb4, 0xe9), // sky blue
    Colour(0xe6, 0x9f, 0x00), // orange
    Colour(0x00, 0x9e, 0x73), // bluish green
    Colour(0xf0, 0xe4, 0x42), // yellow
    Colour(0xcc, 0x79, 0xa7), // reddish purple
    Colour(0xd5, 0x5e, 0x00), // vermillion
    Colour(0x00, 0x72, 0xb2), // blue
    Colour(0xbb, 0xbb, 0xbb), // grey
];

/// The `i`-th palette colour (wrapping).
pub fn palette(i: usize) -> Colour {
    PALETTE[i % PALETTE.len()]
}

/// An axis description: "Alerts" and "per hour" give "Alerts (per hour)".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Axis {
    pub label: String,
    /// Empty for none.
    pub unit: String,
}

impl Axis {
    pub fn new(label: impl Into<String>, unit: impl Into<String>) -> Axis {
        Axis { label: label.into(), unit: unit.into() }
    }

    fn description(&self) -> String {
        match (self.label.trim(), self.unit.trim()) {
            (label, "") => label.to_string(),
            ("", unit) => unit.to_string(),
            (label, unit) => format!("{label} ({unit})"),
        }
    }
}

/// One line of a [`LineChartSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    pub name: String,
    /// `None`: the palette colour of the series' position.
    pub colour: Option<Colour>,
    /// (bucket start in unix milliseconds, value). Any order; non-finite values are left out.
    pub points: Vec<(i64, f64)>,
}

/// A time-series line chart (x: time in UTC, labelled by hour or by date as the range needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineChartSpec {
    pub title: String,
    /// For example `Axis::new("Time", "UTC")`.
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<TimeSeries>,
}

/// One bar of a [`BarChartSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// Horizontal bars of labelled categories (asset names, threat types), drawn top to bottom in the
/// given order. At most [`MAX_BARS`] are drawn; the text alternative says how many were left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarChartSpec {
    pub title: String,
    /// The value axis (horizontal).
    pub value_axis: Axis,
    pub colour: Option<Colour>,
    pub bars: Vec<Bar>,
}

/// One layer of a [`StackedBarSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackedSeries {
    pub name: String,
    pub colour: Option<Colour>,
    /// One value per bucket of the spec; missing values count as 0, extra ones are ignored.
    pub values: Vec<f64>,
}

/// Bars over time, each split into series stacked bottom to top in the given order (for example
/// alerts by asset criticality: low, medium, high, critical).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackedBarSpec {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    /// Start of each bucket in unix milliseconds, ascending and evenly spaced.
    pub buckets: Vec<i64>,
    pub series: Vec<StackedSeries>,
}

/// A heat map of counts, such as a confusion matrix: rows are the true class, columns the
/// predicted class. Colour grows with log(1 + count); every cell shows its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatMapSpec {
    pub title: String,
    /// For example "True class".
    pub row_axis: String,
    /// For example "Predicted class".
    pub col_axis: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// `cells[row][col]`; missing cells count as 0.
    pub cells: Vec<Vec<u64>>,
}

/// One point of a [`ScatterSpec`]; `group` indexes [`ScatterSpec::groups`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    pub group: usize,
}

/// A legend entry and colour of a scatter's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterGroup {
    pub name: String,
    /// `None`: the palette colour of the group's position.
    pub colour: Option<Colour>,
}

/// Points of two measures, coloured by group (for example flows by verdict). With `log_x`/`log_y`
/// an axis is drawn on log10(1 + v) (values below 0 are clamped to 0), labelled in the original units,
/// so heavy-tailed traffic features (bytes, durations) spread out.
///
/// Groups are drawn in the given order, later ones on top (put the rare, important group last).
/// Points with a non-finite coordinate or a `group` out of range are left out. At most
/// [`MAX_POINTS`] are drawn: small groups whole, an even sample of the larger ones; the legend and
/// the text alternative count every point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterSpec {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub log_x: bool,
    pub log_y: bool,
    pub groups: Vec<ScatterGroup>,
    pub points: Vec<ScatterPoint>,
}

/// Bars beyond this many are not drawn (a longer list belongs in a table).
pub const MAX_BARS: usize = 40;
/// Heat-map rows or columns beyond this many are not drawn.
pub const MAX_CLASSES: usize = 24;
/// Buckets beyond this many (the most recent ones are kept) are not drawn in a stacked chart.
pub const MAX_BUCKETS: usize = 240;
/// Scatter points beyond this many are not drawn (see [`ScatterSpec`]).
pub const MAX_POINTS: usize = 5_000;

const NO_DATA: &str = "No data in this range";

// Colours of the app's dark panel (style/main.css).
const BG: RGBColor = RGBColor(0x11, 0x1a, 0x2e);
const TEXT: RGBColor = RGBColor(0xe6, 0xeb, 0xf5);
const MUTED: Colour = Colour(0x93, 0xa1, 0xbd);
const GRID: RGBColor = RGBColor(0x24, 0x32, 0x4f);
const EMPTY_CELL: RGBColor = RGBColor(0x1c, 0x27, 0x40);

// plotters writes `font-size` as size / 1.24: these give 10, 11, 12 and 16 px exactly.
const FONT_10: f64 = 12.4;
const FONT_11: f64 = 13.64;
const FONT_12: f64 = 14.88;
const FONT_16: f64 = 19.84;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 360;
/// Height of the title line (and of a legend line below it).
const TITLE_H: u32 = 36;
const LEGEND_H: u32 = 24;
const PAD: i32 = 16;
/// Scatter dots: plotters' SVG backend draws whole-pixel radii.
const POINT_RADIUS: u32 = 3;
const POINT_OPACITY: f64 = 0.7;

use crate::time::{DAY, HOUR, MINUTE};

type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

/// Rough width in pixels of `text` at `px` (sans-serif averages ~0.58 em a character).
fn text_width(text: &str, px: f64) -> f64 {
    text.chars().count() as f64 * px * 0.58
}

// ---------------------------------------------------------------------------------------------
// The charts

/// A series of a line chart, ready to draw: sorted, finite, coloured.
struct Line<'a> {
    name: &'a str,
    colour: Colour,
    points: Vec<(i64, f64)>,
}

/// A time-series line chart.
pub fn line_chart(spec: &LineChartSpec) -> Chart {
    let series: Vec<Line> = spec
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut points: Vec<_> = s.points.iter().copied().filter(|p| p.1.is_finite()).collect();
            points.sort_by_key(|p| p.0);
            Line { name: &s.name, colour: s.colour.unwrap_or(palette(i)), points }
        })
        .collect();
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (Some(t0), Some(t1)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max()) else {
        return empty_chart(&spec.title, WIDTH, HEIGHT);
    };
    let (t0, t1) = if t0 == t1 { (t0 - HOUR / 2, t1 + HOUR / 2) } else { (t0, t1) };
    let y = NiceScale::new(all().map(|p| p.1).fold(0.0, f64::min), all().map(|p| p.1).fold(0.0, f64::max));
    let (x_ticks, step) = time_ticks(t0, t1);

    let named = series.len() > 1;
    let header = TITLE_H + if named { LEGEND_H } else { 0 };
    let svg = render(WIDTH, HEIGHT, |root| {
        draw_title(root, &spec.title)?;
        if named {
            draw_legend(root, series.iter().map(|s| (s.name, s.colour)))?;
        }
        let (_, body) = root.split_vertically(header);
        let x_label = |t: &f64| time_label(*t as i64, step);
        let mut chart = Frame {
            x: TickAxis::new(t0 as f64, t1 as f64, x_ticks.iter().map(|t| *t as f64).collect()),
            y: y.axis(),
            x_desc: spec.x.description(),
            y_desc: spec.y.description(),
            x_label: &x_label,
            y_label: &|v| format_number(*v),
            label_areas: (44, y.label_area()),
            margin_right: 24,
            grid: Grid::Horizontal,
        }
        .draw(&body)?;
        for line in &series {
            let points = line.points.iter().map(|&(t, v)| (t as f64, v));
            chart.draw_series(LineSeries::new(points.clone(), line.colour.rgb().stroke_width(2)))?;
            if points.len() <= 60 {
                let dot = line.colour.rgb().filled();
                chart.draw_series(points.map(|p| Circle::new(p, 2, dot)))?;
            }
        }
        Ok(())
    });

    let same_day = t0.div_euclid(DAY) == t1.div_euclid(DAY);
    let at = |t: i64| {
        if step < DAY && same_day {
            clock(t)
        } else if step < DAY {
            date_clock(t)
        } else {
            date(t)
        }
    };
    let summaries: Vec<String> = series
        .iter()
        .filter(|s| !s.points.is_empty())
        .map(|Line { name, points, .. }| {
            let peak = points.iter().fold(points[0], |best, &p| if p.1 > best.1 { p } else { best });
            let total: f64 = points.iter().map(|p| p.1).sum();
            let who = if named { format!("{name}: ") } else { String::new() };
            format!("{who}peak {} at {}, total {}", format_number(peak.1), at(peak.0), format_number(total))
        })
        .collect();
    let span = if step < DAY {
        format!("{} to {} UTC", date_clock(t0), date_clock(t1))
    } else {
        format!("{} to {}", date(t0), date(t1))
    };
    let alt = format!("{}: {} ({span}).", title_or_chart(&spec.title), summaries.join("; "));
    Chart { svg, alt }
}

/// Horizontal bars, one per labelled category.
pub fn bar_chart(spec: &BarChartSpec) -> Chart {
    let bars: Vec<(&str, f64)> = spec
        .bars
        .iter()
        .take(MAX_BARS)
        .map(|b| (b.label.as_str(), if b.value.is_finite() { b.value.max(0.0) } else { 0.0 }))
        .collect();
    let rows = bars.len().max(1) as u32;
    let height = TITLE_H + 8 + rows * 26 + 48;
    if bars.is_empty() {
        return empty_chart(&spec.title, WIDTH, height.max(160));
    }
    let x = NiceScale::new(0.0, bars.iter().map(|b| b.1).fold(0.0, f64::max));
    let labels: Vec<String> = bars.iter().map(|b| truncate(b.0, 30)).collect();
    let label_area = labels.iter().map(|l| text_width(l, 11.0)).fold(40.0, f64::max).min(240.0) as u32 + 16;
    let colour = spec.colour.unwrap_or(PALETTE[0]);
    let n = bars.len() as f64;

    let svg = render(WIDTH, height, |root| {
        draw_title(root, &spec.title)?;
        let (_, body) = root.split_vertically(TITLE_H);
        let mut chart = Frame {
            x: x.axis(),
            y: TickAxis::new(0.0, n, vec![]),
            x_desc: spec.value_axis.description(),
            y_desc: String::new(),
            x_label: &|v| format_number(*v),
            y_label: &no_label,
            label_areas: (44, label_area),
            margin_right: 56,
            grid: Grid::Vertical,
        }
        .draw(&body)?;
        for (i, ((_, value), label)) in bars.iter().zip(&labels).enumerate() {
            let top = n - i as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, top - 0.8), (*value, top - 0.2)],
                colour.rgb().filled(),
            )))?;
            let (x0, y_mid) = chart.backend_coord(&(0.0, top - 0.5));
            let (x_end, _) = chart.backend_coord(&(*value, top - 0.5));
            root.draw(&Text::new(label.as_str(), (x0 - 8, y_mid), anchored(FONT_11, TEXT, HPos::Right, VPos::Center)))?;
            root.draw(&Text::new(
                format_number(*value),
                (x_end + 6, y_mid),
                anchored(FONT_11, TEXT, HPos::Left, VPos::Center),
            ))?;
        }
        Ok(())
    });

    let mut ranked: Vec<&(&str, f64)> = bars.iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = ranked.iter().take(3).map(|(l, v)| format!("{l} {}", format_number(*v))).collect();
    let total: f64 = bars.iter().map(|b| b.1).sum();
    let more = spec.bars.len().saturating_sub(MAX_BARS);
    let more = if more > 0 { format!(" ({more} more not shown)") } else { String::new() };
    let alt = format!(
        "{}: {} {}{more}; highest: {}; total {}.",
        title_or_chart(&spec.title),
        bars.len(),
        if bars.len() == 1 { "category" } else { "categories" },
        top.join(", "),
        format_number(total)
    );
    Chart { svg, alt }
}

/// Stacked bars over time.
pub fn stacked_bar_chart(spec: &StackedBarSpec) -> Chart {
    let skip = spec.buckets.len().saturating_sub(MAX_BUCKETS);
    let buckets = &spec.buckets[skip..];
    let value =
        |s: &StackedSeries, i: usize| s.values.get(skip + i).copied().filter(|v| v.is_finite()).unwrap_or(0.0).max(0.0);
    let totals: Vec<f64> = (0..buckets.len()).map(|i| spec.series.iter().map(|s| value(s, i)).sum()).collect();
    if buckets.is_empty() || spec.series.is_empty() || totals.iter().all(|t| *t == 0.0) {
        return empty_chart(&spec.title, WIDTH, HEIGHT);
    }
    let y = NiceScale::new(0.0, totals.iter().copied().fold(0.0, f64::max));
    let spacing = if buckets.len() > 1 { (buckets[1] - buckets[0]).max(1) } else { HOUR };
    let n = buckets.len();
    let every = n.div_ceil(8);
    let x_ticks: Vec<f64> = (0..n).step_by(every).map(|i| i as f64 + 0.5).collect();
    let step = spacing * every as i64;
    let colours: Vec<Colour> = spec.series.iter().enumerate().map(|(i, s)| s.colour.unwrap_or(palette(i))).collect();

    let svg = render(WIDTH, HEIGHT, |root| {
        draw_title(root, &spec.title)?;
        draw_legend(root, spec.series.iter().zip(&colours).map(|(s, c)| (s.name.as_str(), *c)))?;
        let (_, body) = root.split_vertically(TITLE_H + LEGEND_H);
        let x_label = |v: &f64| buckets.get(v.floor() as usize).map(|t| time_label(*t, step)).unwrap_or_default();
        let mut chart = Frame {
            x: TickAxis::new(0.0, n as f64, x_ticks.clone()),
            y: y.axis(),
            x_desc: spec.x.description(),
            y_desc: spec.y.description(),
            x_label: &x_label,
            y_label: &|v| format_number(*v),
            label_areas: (44, y.label_area()),
            margin_right: 24,
            grid: Grid::Horizontal,
        }
        .draw(&body)?;
        for (i, _) in buckets.iter().enumerate() {
            let mut base = 0.0;
            for (s, colour) in spec.series.iter().zip(&colours) {
                let v = value(s, i);
                if v > 0.0 {
                    let x = i as f64;
                    let rect = Rectangle::new([(x + 0.12, base), (x + 0.88, base + v)], colour.rgb().filled());
                    chart.draw_series(std::iter::once(rect))?;
                }
                base += v;
            }
        }
        Ok(())
    });

    let label = |t: i64| if spacing < DAY { date_clock(t) } else { date(t) };
    let total: f64 = totals.iter().sum();
    let parts: Vec<String> = spec
        .series
        .iter()
        .map(|s| format!("{} {}", s.name, format_number((0..n).map(|i| value(s, i)).sum::<f64>())))
        .collect();
    let peak = (0..n).fold(0, |best, i| if totals[i] > totals[best] { i } else { best });
    let alt = format!(
        "{}: total {} over {n} {} from {} to {}{}; {}; highest {} with {}.",
        title_or_chart(&spec.title),
        format_number(total),
        if n == 1 { "bar" } else { "bars" },
        label(buckets[0]),
        label(buckets[n - 1]),
        if spacing < DAY { " UTC" } else { "" },
        parts.join(", "),
        label(buckets[peak]),
        format_number(totals[peak])
    );
    Chart { svg, alt }
}

/// A heat map of counts (confusion matrix).
pub fn heat_map(spec: &HeatMapSpec) -> Chart {
    let rows: Vec<String> = spec.rows.iter().take(MAX_CLASSES).map(|l| truncate(l, 18)).collect();
    let cols: Vec<String> = spec.cols.iter().take(MAX_CLASSES).map(|l| truncate(l, 18)).collect();
    let cell = |r: usize, c: usize| spec.cells.get(r).and_then(|row| row.get(c)).copied().unwrap_or(0);
    let max =
        (0..rows.len()).flat_map(|r| (0..cols.len()).map(move |c| (r, c))).map(|(r, c)| cell(r, c)).max().unwrap_or(0);
    if rows.is_empty() || cols.is_empty() || max == 0 {
        return empty_chart(&spec.title, WIDTH, HEIGHT);
    }
    let size = ((WIDTH as usize - 220) / cols.len()).clamp(24, 64) as u32;
    let vertical = cols.iter().any(|l| text_width(l, 11.0) > f64::from(size) - 6.0);
    let bottom = if vertical { cols.iter().map(|l| text_width(l, 11.0)).fold(0.0, f64::max) as u32 + 40 } else { 48 };
    let left = rows.iter().map(|l| text_width(l, 11.0)).fold(24.0, f64::max) as u32 + 44;
    let width = (left + cols.len() as u32 * size + 24).max(320);
    let height = TITLE_H + 8 + rows.len() as u32 * size + bottom;
    let (nr, nc) = (rows.len() as f64, cols.len() as f64);
    let count_px = if size >= 40 { FONT_12 } else { FONT_10 };

    let svg = render(width, height, |root| {
        draw_title(root, &spec.title)?;
        let (_, body) = root.split_vertically(TITLE_H);
        let mut chart = Frame {
            x: TickAxis::new(0.0, nc, vec![]),
            y: TickAxis::new(0.0, nr, vec![]),
            x_desc: spec.col_axis.clone(),
            y_desc: spec.row_axis.clone(),
            x_label: &no_label,
            y_label: &no_label,
            label_areas: (bottom, left),
            margin_right: 24,
            grid: Grid::None,
        }
        .draw(&body)?;
        for (r, row_label) in rows.iter().enumerate() {
            let top = nr - r as f64;
            for c in 0..cols.len() {
                let v = cell(r, c);
                let (fill, ink) = heat_colour(v, max);
                let x = c as f64;
                chart.draw_series(std::iter::once(Rectangle::new([(x, top - 1.0), (x + 1.0, top)], fill.filled())))?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, top - 1.0), (x + 1.0, top)],
                    BG.stroke_width(1),
                )))?;
                let centre = chart.backend_coord(&(x + 0.5, top - 0.5));
                root.draw(&Text::new(
                    format_number(v as f64),
                    centre,
                    anchored(count_px, ink, HPos::Center, VPos::Center),
                ))?;
            }
            let (x0, y_mid) = chart.backend_coord(&(0.0, top - 0.5));
            root.draw(&Text::new(
                row_label.as_str(),
                (x0 - 6, y_mid),
                anchored(FONT_11, TEXT, HPos::Right, VPos::Center),
            ))?;
        }
        for (c, col_label) in cols.iter().enumerate() {
            let (x_mid, y0) = chart.backend_coord(&(c as f64 + 0.5, 0.0));
            let style = if vertical {
                font(FONT_11, TEXT).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                anchored(FONT_11, TEXT, HPos::Center, VPos::Top)
            };
            root.draw(&Text::new(col_label.as_str(), (x_mid, y0 + 6), style))?;
        }
        Ok(())
    });

    let total: u64 = (0..rows.len()).flat_map(|r| (0..cols.len()).map(move |c| (r, c))).map(|(r, c)| cell(r, c)).sum();
    let name = |labels: &[String], i: usize| labels[i].clone();
    let axes = match (spec.row_axis.trim(), spec.col_axis.trim()) {
        ("", _) | (_, "") => String::new(),
        (r, c) => format!(" of {} by {}", r.to_lowercase(), c.to_lowercase()),
    };
    let mut alt = format!(
        "{}: {} × {} matrix{axes}, total {}",
        title_or_chart(&spec.title),
        rows.len(),
        cols.len(),
        format_number(total as f64)
    );
    if spec.rows == spec.cols {
        let correct: u64 = (0..rows.len()).map(|i| cell(i, i)).sum();
        alt += &format!("; on the diagonal {} ({})", format_number(correct as f64), percent(correct, total));
        let worst = (0..rows.len())
            .flat_map(|r| (0..cols.len()).map(move |c| (r, c)))
            .filter(|(r, c)| r != c)
            .max_by_key(|&(r, c)| (cell(r, c), std::cmp::Reverse((r, c))));
        if let Some((r, c)) = worst.filter(|&(r, c)| cell(r, c) > 0) {
            alt += &format!(
                "; most common confusion: {} as {} ({})",
                name(&rows, r),
                name(&cols, c),
                format_number(cell(r, c) as f64)
            );
        }
    } else {
        let (r, c) = (0..rows.len())
            .flat_map(|r| (0..cols.len()).map(move |c| (r, c)))
            .max_by_key(|&(r, c)| (cell(r, c), std::cmp::Reverse((r, c))))
            .unwrap_or((0, 0));
        alt +=
            &format!("; largest cell {} / {} ({})", name(&rows, r), name(&cols, c), format_number(cell(r, c) as f64));
    }
    alt.push('.');
    Chart { svg, alt }
}

/// A scatter of two measures, coloured by group.
pub fn scatter_chart(spec: &ScatterSpec) -> Chart {
    let mut members: Vec<Vec<&ScatterPoint>> = vec![Vec::new(); spec.groups.len()];
    for p in spec.points.iter().filter(|p| p.x.is_finite() && p.y.is_finite() && p.group < spec.groups.len()) {
        members[p.group].push(p);
    }
    let all = || members.iter().flatten();
    let total = all().count();
    if total == 0 {
        return empty_chart(&spec.title, WIDTH, HEIGHT);
    }
    let range = |v: &dyn Fn(&ScatterPoint) -> f64| {
        all().map(|p| v(p)).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let (x_lo, x_hi) = range(&|p| p.x);
    let (y_lo, y_hi) = range(&|p| p.y);
    let y = ValueScale::new(y_lo, y_hi, spec.log_y, 8);
    let y_area = y.label_width().min(200.0).ceil() as u32 + 40;
    // Log ticks are thinned so that their labels fit side by side; the last one, centred on the
    // right end, gets room in the right margin.
    let widest = ValueScale::new(x_lo, x_hi, spec.log_x, usize::MAX).label_width();
    let margin_right = ((widest / 2.0).ceil() as u32 + 4).clamp(24, 120);
    let plot_width = f64::from(WIDTH - y_area - 8 - margin_right);
    let x = ValueScale::new(x_lo, x_hi, spec.log_x, ((plot_width / (widest + 16.0)) as usize).clamp(2, 8));
    let counts: Vec<usize> = members.iter().map(Vec::len).collect();
    let shown = sample_sizes(&counts, MAX_POINTS);
    let colours: Vec<Colour> = spec.groups.iter().enumerate().map(|(i, g)| g.colour.unwrap_or(palette(i))).collect();
    let (x_desc, y_desc) = (x.description(&spec.x), y.description(&spec.y));

    let svg = render(WIDTH, HEIGHT, |root| {
        draw_title(root, &spec.title)?;
        let items = spec
            .groups
            .iter()
            .zip(&counts)
            .zip(&colours)
            .map(|((g, n), c)| (format!("{} ({})", truncate(&g.name, 24), format_number(*n as f64)), *c));
        legend(root, items, Swatch::Dot)?;
        let (_, body) = root.split_vertically(TITLE_H + LEGEND_H);
        let chart = Frame {
            x: x.axis(),
            y: y.axis(),
            x_desc: x_desc.clone(),
            y_desc: y_desc.clone(),
            x_label: &|v| x.label(*v),
            y_label: &|v| y.label(*v),
            label_areas: (44, y_area),
            margin_right,
            grid: Grid::Both,
        }
        .draw(&body)?;
        for ((points, keep), colour) in members.iter().zip(&shown).zip(&colours) {
            let style = colour.rgb().mix(POINT_OPACITY).filled();
            // Points of a group that land on the same pixel are drawn once.
            let mut seen = HashSet::new();
            for p in evenly(points, *keep) {
                let at = chart.backend_coord(&(x.pos(p.x), y.pos(p.y)));
                if seen.insert(at) {
                    root.draw(&Circle::new(at, POINT_RADIUS, style))?;
                }
            }
        }
        Ok(())
    });

    let parts: Vec<String> = spec
        .groups
        .iter()
        .zip(&counts)
        .map(|(g, n)| format!("{} {}", g.name.trim(), format_number(*n as f64)))
        .collect();
    let drawn: usize = shown.iter().sum();
    let more = if drawn < total {
        format!(" ({} drawn, {} more not shown)", format_number(drawn as f64), format_number((total - drawn) as f64))
    } else {
        String::new()
    };
    let or = |desc: String, axis: &str| if desc.trim().is_empty() { axis.to_string() } else { desc };
    let alt = format!(
        "{}: {} {} of {} against {}: {}{more}.",
        title_or_chart(&spec.title),
        format_number(total as f64),
        if total == 1 { "point" } else { "points" },
        or(y_desc, "y"),
        or(x_desc, "x"),
        parts.join(", ")
    );
    Chart { svg, alt }
}

// ---------------------------------------------------------------------------------------------
// Drawing helpers

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<TickAxis, TickAxis>>;

/// Which grid lines a frame draws: along the y ticks, along the x ticks, both or none.
enum Grid {
    Horizontal,
    Vertical,
    Both,
    None,
}

/// The plot area every chart shares: margins, label areas, axis lines, descriptions, tick labels
/// and grid lines, in the panel's colours.
struct Frame<'f> {
    x: TickAxis,
    y: TickAxis,
    /// Empty for none.
    x_desc: String,
    y_desc: String,
    x_label: &'f dyn Fn(&f64) -> String,
    y_label: &'f dyn Fn(&f64) -> String,
    /// (bottom, left) label area sizes.
    label_areas: (u32, u32),
    margin_right: u32,
    grid: Grid,
}

impl Frame<'_> {
    fn draw<'a, 'b>(self, area: &'a Root<'b>) -> Result<Plot<'a, 'b>, Box<dyn Error>> {
        let mut chart = ChartBuilder::on(area)
            .margin_left(8)
            .margin_right(self.margin_right)
            .margin_top(8)
            .x_label_area_size(self.label_areas.0)
            .y_label_area_size(self.label_areas.1)
            .build_cartesian_2d(self.x, self.y)?;
        let mut mesh = chart.configure_mesh();
        mesh.bold_line_style(GRID)
            .axis_style(MUTED.rgb())
            .label_style(font(FONT_11, MUTED.rgb()))
            .axis_desc_style(font(FONT_11, TEXT))
            .x_label_formatter(self.x_label)
            .y_label_formatter(self.y_label);
        if !self.x_desc.trim().is_empty() {
            mesh.x_desc(self.x_desc);
        }
        if !self.y_desc.trim().is_empty() {
            mesh.y_desc(self.y_desc);
        }
        match self.grid {
            Grid::Horizontal => {
                mesh.disable_x_mesh();
            }
            Grid::Vertical => {
                mesh.disable_y_mesh();
            }
            Grid::Both => {}
            Grid::None => {
                mesh.disable_mesh();
            }
        }
        mesh.draw()?;
        Ok(chart)
    }
}

fn no_label(_: &f64) -> String {
    String::new()
}

/// Text of `px` (see the `FONT_*` constants) anchored at its position by (h, v).
fn anchored(px: f64, colour: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    font(px, colour).pos(Pos::new(h, v))
}

fn font(px: f64, colour: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px).into_font().color(&colour)
}

/// Renders into an SVG string; a drawing error (none is expected with a string buffer) gives a
/// chart that says so instead of a partial document.
fn render(width: u32, height: u32, draw: impl FnOnce(&Root) -> DrawResult) -> String {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&BG).map_err(Box::<dyn Error>::from).and_then(|()| draw(&root)).and_then(|()| Ok(root.present()?))
    };
    if drawn.is_err() {
        svg = String::new();
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let _ = root.fill(&BG);
        let _ = message(&root, width, height, "This chart could not be drawn");
        let _ = root.present();
    }
    responsive(svg, width, height)
}

/// plotters writes a fixed `width` and `height`; a page wants the chart at that size at most and
/// narrower on a small screen, keeping its aspect ratio.
fn responsive(svg: String, width: u32, height: u32) -> String {
    let fixed = format!("<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">");
    let fluid = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" style=\"max-width:100%;height:auto\">"
    );
    match svg.strip_prefix(&fixed) {
        Some(rest) => fluid + rest,
        None => svg,
    }
}

fn draw_title(root: &Root, title: &str) -> DrawResult {
    root.draw(&Text::new(title, (PAD, 12), anchored(FONT_16, TEXT, HPos::Left, VPos::Top)))?;
    Ok(())
}

/// One line of swatches and names under the title (items that do not fit are left to the alt text).
fn draw_legend<'a>(root: &Root, items: impl Iterator<Item = (&'a str, Colour)>) -> DrawResult {
    legend(root, items.map(|(name, colour)| (truncate(name, 24), colour)), Swatch::Square)
}

/// The mark before a legend entry: a square for areas and lines, a dot for points.
enum Swatch {
    Square,
    Dot,
}

/// [`draw_legend`] with labels as given and a choice of swatch.
fn legend(root: &Root, items: impl Iterator<Item = (String, Colour)>, swatch: Swatch) -> DrawResult {
    let (width, _) = root.dim_in_pixel();
    let y = TITLE_H as i32 + 4;
    let mut x = PAD;
    for (name, colour) in items {
        let w = 18 + text_width(&name, 11.0).ceil() as i32 + 16;
        if x + w > width as i32 - PAD {
            break;
        }
        match swatch {
            Swatch::Square => root.draw(&Rectangle::new([(x, y + 2), (x + 12, y + 14)], colour.rgb().filled()))?,
            Swatch::Dot => root.draw(&Circle::new((x + 6, y + 8), 5, colour.rgb().filled()))?,
        }
        root.draw(&Text::new(name, (x + 18, y + 8), anchored(FONT_11, TEXT, HPos::Left, VPos::Center)))?;
        x += w;
    }
    Ok(())
}

fn message(root: &Root, width: u32, height: u32, text: &str) -> DrawResult {
    let centre = (width as i32 / 2, (height as i32 + TITLE_H as i32) / 2);
    root.draw(&Text::new(text, centre, anchored(FONT_12, MUTED.rgb(), HPos::Center, VPos::Center)))?;
    Ok(())
}

fn empty_chart(title: &str, width: u32, height: u32) -> Chart {
    let svg = render(width, height, |root| {
        draw_title(root, title)?;
        message(root, width, height, NO_DATA)
    });
    Chart { svg, alt: format!("{}: no data in this range.", title_or_chart(title)) }
}

fn title_or_chart(title: &str) -> &str {
    if title.trim().is_empty() {
        "Chart"
    } else {
        title.trim()
    }
}

/// Cell fill on a log scale (the viridis steps of the map) and a text colour readable on it.
fn heat_colour(v: u64, max: u64) -> (RGBColor, RGBColor) {
    if v == 0 {
        return (EMPTY_CELL, MUTED.rgb());
    }
    let t = ((v as f64).ln_1p() / (max as f64).ln_1p()).clamp(0.0, 1.0);
    let i = ((t * CHOROPLETH.len() as f64).ceil() as usize).clamp(1, CHOROPLETH.len()) - 1;
    let fill = Colour::from_hex(CHOROPLETH[i]).unwrap_or(MUTED).rgb();
    (fill, if i >= 4 { BG } else { TEXT })
}

fn truncate(label: &str, max_chars: usize) -> String {
    let label = label.trim();
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        label.chars().take(max_chars - 1).collect::<String>() + "…"
    }
}

// ---------------------------------------------------------------------------------------------
// Scales and formats

/// A value axis from `lo` to `hi` with 4–6 round ticks (1, 2, 2.5 or 5 × 10ⁿ apart).
struct NiceScale {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl NiceScale {
    fn new(lo: f64, hi: f64) -> NiceScale {
        let (lo, hi) = if hi - lo > 0.0 { (lo, hi) } else { (lo.min(0.0), lo.min(0.0) + 1.0) };
        let raw = (hi - lo) / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step =
            [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
        let first = (lo / step).floor() as i64;
        let last = (hi / step).ceil() as i64;
        let ticks: Vec<f64> = (first..=last).map(|k| k as f64 * step).collect();
        NiceScale { lo: first as f64 * step, hi: last as f64 * step, ticks }
    }

    fn axis(&self) -> TickAxis {
        TickAxis::new(self.lo, self.hi, self.ticks.clone())
    }

    /// Width of a left label area that fits the longest tick label and the rotated description.
    fn label_area(&self) -> u32 {
        let longest = self.ticks.iter().map(|t| text_width(&format_number(*t), 11.0)).fold(0.0, f64::max);
        longest.ceil() as u32 + 40
    }
}

/// An axis of a scatter chart: linear ([`NiceScale`]) or on log10(1 + v) with ticks at 0, 1, 10,
/// 100, … in the original units. `lo`, `hi` and `ticks` are plotted positions ([`ValueScale::pos`]).
struct ValueScale {
    log: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl ValueScale {
    /// An axis over the values `lo..=hi`. A log axis runs from the tick at or below `lo` to the
    /// tick at or above `hi`, with a tick every decade, or every k-th one so that there are at
    /// most `max_ticks` (at least 2).
    fn new(lo: f64, hi: f64, log: bool, max_ticks: usize) -> ValueScale {
        if !log {
            // A single value gets an axis from 0 (NiceScale widens an empty span from 0 only).
            let (lo, hi) = if hi > lo { (lo, hi) } else { (lo.min(0.0), hi.max(0.0)) };
            let s = NiceScale::new(lo, hi);
            return ValueScale { log, lo: s.lo, hi: s.hi, ticks: s.ticks };
        }
        let first = (1..=LOG_TICKS_MAX).take_while(|&i| log_tick(i) <= lo).last().unwrap_or(0);
        let last = (first + 1..=LOG_TICKS_MAX).find(|&i| log_tick(i) >= hi).unwrap_or(LOG_TICKS_MAX);
        let every = (last - first).div_ceil(max_ticks.max(2) - 1);
        let scale = ValueScale { log, lo: 0.0, hi: 0.0, ticks: Vec::new() };
        let ticks = (first..=last).step_by(every).map(|i| scale.pos(log_tick(i))).collect();
        ValueScale { lo: scale.pos(log_tick(first)), hi: scale.pos(log_tick(last)), ticks, ..scale }
    }

    /// Where a value is plotted: itself, or log10(1 + v) with v clamped to 0 and above.
    fn pos(&self, v: f64) -> f64 {
        if self.log {
            v.max(0.0).ln_1p() / std::f64::consts::LN_10
        } else {
            v
        }
    }

    /// A tick label in the original units. Log ticks are 0 and powers of ten, so the value is
    /// snapped to the nearest one (10^pos - 1 is a little off for large values).
    fn label(&self, pos: f64) -> String {
        if self.log {
            let v = 10f64.powf(pos) - 1.0;
            format_number(if v < 0.5 { 0.0 } else { 10f64.powi(v.log10().round() as i32) })
        } else {
            format_number(pos)
        }
    }

    /// Width in pixels of the longest tick label.
    fn label_width(&self) -> f64 {
        self.ticks.iter().map(|t| text_width(&self.label(*t), 11.0)).fold(0.0, f64::max)
    }

    fn axis(&self) -> TickAxis {
        TickAxis::new(self.lo, self.hi, self.ticks.clone())
    }

    /// "Bytes (log scale)", "Duration (s, log scale)".
    fn description(&self, axis: &Axis) -> String {
        if !self.log {
            return axis.description();
        }
        match (axis.label.trim(), axis.unit.trim()) {
            ("", "") => "log scale".to_string(),
            (label, "") | ("", label) => format!("{label} (log scale)"),
            (label, unit) => format!("{label} ({unit}, log scale)"),
        }
    }
}

/// The last index of [`log_tick`]: 10³⁰⁸, about the largest f64.
const LOG_TICKS_MAX: usize = 309;

/// The ticks of a log axis: 0, then 10^(i-1) (1, 10, 100, …).
fn log_tick(i: usize) -> f64 {
    if i == 0 {
        0.0
    } else {
        10f64.powi(i as i32 - 1)
    }
}

/// How many of each group's points to draw so that at most `max` are drawn in all: the smaller
/// groups whole, the rest shared evenly among the larger ones.
fn sample_sizes(counts: &[usize], max: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| (counts[i], i));
    let mut left = max;
    let mut sizes = vec![0; counts.len()];
    for (k, &i) in order.iter().enumerate() {
        sizes[i] = counts[i].min(left / (counts.len() - k));
        left -= sizes[i];
    }
    sizes
}

/// `keep` items spread evenly over `items`, in order (all of them when `keep` is at least its length).
fn evenly<'a, T>(items: &'a [T], keep: usize) -> impl Iterator<Item = &'a T> + 'a {
    let n = items.len() as u64;
    let keep = keep.min(items.len());
    (0..keep as u64).map(move |k| &items[(k * n / keep as u64) as usize])
}

/// A linear f64 axis whose ticks (and grid lines) are exactly the given values. plotters'
/// `with_key_points` on an f64 range loses the value formatter that `configure_mesh` needs; our
/// label formatters replace the default one anyway.
struct TickAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickAxis {
    fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> TickAxis {
        TickAxis { inner: (lo..hi).into(), ticks }
    }
}

impl Ranged for TickAxis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Round ticks for a time range and their spacing: at most 8, on UTC minute/hour/day boundaries.
fn time_ticks(t0: i64, t1: i64) -> (Vec<i64>, i64) {
    const STEPS: [i64; 17] = [
        MINUTE,
        5 * MINUTE,
        10 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        HOUR,
        2 * HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        28 * DAY,
        91 * DAY,
        364 * DAY,
    ];
    let span = (t1 - t0).max(1);
    let step = STEPS.iter().copied().find(|s| span / s < 8).unwrap_or_else(|| (span / 7 / DAY + 1) * DAY);
    let first = t0.div_euclid(step) + i64::from(t0.rem_euclid(step) != 0);
    let ticks = (first..).map(|k| k * step).take_while(|t| *t <= t1).collect();
    (ticks, step)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// An axis label: `14:00` for sub-day steps (`Nov 21` at midnight), `Nov 21` for day steps.
fn time_label(t: i64, step: i64) -> String {
    if step < DAY && t.rem_euclid(DAY) != 0 {
        clock(t)
    } else {
        date(t)
    }
}

/// `14:05` (UTC).
fn clock(t: i64) -> String {
    let minutes = t.rem_euclid(DAY) / MINUTE;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `Nov 21` (UTC).
fn date(t: i64) -> String {
    let (_, m, d) = crate::time::civil_from_days(t.div_euclid(DAY));
    format!("{} {d}", MONTHS[(m - 1) as usize])
}

/// `Nov 21 14:05` (UTC).
fn date_clock(t: i64) -> String {
    format!("{} {}", date(t), clock(t))
}

/// `2,140`, `-12`, `0.25`, `12.5`, `1,234,568` (values of 100 and more are rounded to whole units).
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let rounded = v.round();
    if (v - rounded).abs() < 1e-9 || v.abs() >= 100.0 {
        let digits = format!("{}", rounded.abs() as u64);
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if rounded < 0.0 {
            out.push('-');
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        return out;
    }
    let decimals = if v.abs() < 1.0 { 2 } else { 1 };
    let s = format!("{v:.decimals$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0 %".to_string();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// 2026-11-20 15:00 UTC.
    const START: i64 = 1_795_186_800_000;

    /// Compares with `tests/snapshots/charts/NAME.svg`; `UPDATE_SNAPSHOTS=1` rewrites the file.
    pub(crate) fn snapshot(name: &str, chart: &Chart) {
        let path: PathBuf =
            [env!("CARGO_MANIFEST_DIR"), "tests", "snapshots", "charts", &format!("{name}.svg")].iter().collect();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create snapshot dir");
            std::fs::write(&path, &chart.svg).expect("write snapshot");
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)", path.display()));
        assert!(
            chart.svg == expected,
            "{} differs from the rendered chart (UPDATE_SNAPSHOTS=1 rewrites it)",
            path.display()
        );
    }

    /// plotters writes a text's content on its own line.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    pub(crate) fn well_formed(svg: &str) {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "),
            "{}",
            &svg[..80.min(svg.len())]
        );
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "no non-finite numbers");
    }

    fn alerts_per_hour() -> LineChartSpec {
        let counts = [
            40.0, 35.0, 28.0, 22.0, 19.0, 18.0, 21.0, 30.0, 55.0, 80.0, 96.0, 120.0, 150.0, 188.0, 240.0, 312.0, 290.0,
            210.0, 140.0, 90.0, 70.0, 60.0, 52.0, 44.0,
        ];
        let points: Vec<(i64, f64)> = counts.iter().enumerate().map(|(i, c)| (START + i as i64 * HOUR, *c)).collect();
        LineChartSpec {
            title: "Alerts per hour over the last 24 h".into(),
            x: Axis::new("Time", "UTC"),
            y: Axis::new("Alerts", "per hour"),
            series: vec![TimeSeries { name: "alerts".into(), colour: None, points }],
        }
    }

    #[test]
    fn line_chart_snapshot_and_alt() {
        let chart = line_chart(&alerts_per_hour());
        well_formed(&chart.svg);
        assert_eq!(
            chart.alt,
            "Alerts per hour over the last 24 h: peak 312 at Nov 21 06:00, total 2,410 (Nov 20 15:00 to Nov 21 14:00 UTC)."
        );
        assert!(has_text(&chart.svg, "Alerts (per hour)") && has_text(&chart.svg, "Time (UTC)"));
        assert!(has_text(&chart.svg, "Nov 21"), "midnight is labelled with the date");
        assert!(has_text(&chart.svg, "18:00"));
        snapshot("line", &chart);
    }

    #[test]
    fn line_chart_with_two_series_has_a_legend() {
        let mut spec = alerts_per_hour();
        let flows: Vec<(i64, f64)> =
            (0..7).map(|d| (START - START.rem_euclid(DAY) + d * DAY, 1000.0 * (d + 1) as f64)).collect();
        spec.title = "Flows and alerts per day".into();
        spec.series = vec![
            TimeSeries { name: "flows".into(), colour: None, points: flows.clone() },
            TimeSeries {
                name: "alerts".into(),
                colour: Some(Colour(0xd5, 0x5e, 0x00)),
                points: flows.iter().map(|p| (p.0, p.1 / 100.0)).collect(),
            },
        ];
        let chart = line_chart(&spec);
        well_formed(&chart.svg);
        assert!(has_text(&chart.svg, "flows") && has_text(&chart.svg, "alerts"));
        assert!(chart.svg.contains("#D55E00"), "explicit colour is used");
        assert_eq!(chart.alt, "Flows and alerts per day: flows: peak 7,000 at Nov 26, total 28,000; alerts: peak 70 at Nov 26, total 280 (Nov 20 to Nov 26).");
    }

    fn top_assets() -> BarChartSpec {
        BarChartSpec {
            title: "Assets with the most alerts".into(),
            value_axis: Axis::new("Alerts", "last 7 days"),
            colour: None,
            bars: vec![
                Bar { label: "db-prod-01.corp.example".into(), value: 1234.0 },
                Bar { label: "vpn-gw".into(), value: 856.0 },
                Bar { label: "<script>alert(1)</script>".into(), value: 120.0 },
                Bar { label: "a very long asset name that goes on and on".into(), value: 42.0 },
                Bar { label: "printer-3".into(), value: 0.0 },
            ],
        }
    }

    #[test]
    fn bar_chart_snapshot_and_alt() {
        let chart = bar_chart(&top_assets());
        well_formed(&chart.svg);
        assert_eq!(
            chart.alt,
            "Assets with the most alerts: 5 categories; highest: db-prod-01.corp.example 1,234, vpn-gw 856, <script>alert(1)</script> 120; total 2,252."
        );
        assert!(has_text(&chart.svg, "a very long asset name that g…"));
        snapshot("bars", &chart);
    }

    fn criticality() -> StackedBarSpec {
        let buckets: Vec<i64> = (0..12).map(|i| START + i * 2 * HOUR).collect();
        let values = |scale: f64| (0..12).map(|i| ((i * 7 % 5) as f64 + 1.0) * scale).collect();
        StackedBarSpec {
            title: "Alerts by asset criticality".into(),
            x: Axis::new("Time", "UTC"),
            y: Axis::new("Alerts", "per 2 h"),
            buckets,
            series: vec![
                StackedSeries {
                    name: "low".into(),
                    colour: Some(Colour::severity(Severity::Low)),
                    values: values(10.0),
                },
                StackedSeries {
                    name: "medium".into(),
                    colour: Some(Colour::severity(Severity::Medium)),
                    values: values(6.0),
                },
                StackedSeries {
                    name: "high".into(),
                    colour: Some(Colour::severity(Severity::High)),
                    values: values(3.0),
                },
                StackedSeries {
                    name: "critical".into(),
                    colour: Some(Colour::severity(Severity::Critical)),
                    values: vec![1.0, 0.0, 2.0],
                },
            ],
        }
    }

    #[test]
    fn stacked_bar_snapshot_and_alt() {
        let chart = stacked_bar_chart(&criticality());
        well_formed(&chart.svg);
        assert_eq!(
            chart.alt,
            "Alerts by asset criticality: total 649 over 12 bars from Nov 20 15:00 to Nov 21 13:00 UTC; low 340, medium 204, high 102, critical 3; highest Nov 20 19:00 with 97."
        );
        for name in ["low", "medium", "high", "critical"] {
            assert!(has_text(&chart.svg, name), "legend has {name}");
        }
        snapshot("stacked", &chart);
    }

    fn confusion() -> HeatMapSpec {
        let classes: Vec<String> = ["benign", "ddos", "portscan", "bruteforce"].iter().map(|s| s.to_string()).collect();
        HeatMapSpec {
            title: "Confusion matrix (test set)".into(),
            row_axis: "True class".into(),
            col_axis: "Predicted class".into(),
            rows: classes.clone(),
            cols: classes,
            cells: vec![vec![9120, 12, 40, 3], vec![25, 2210, 0, 0], vec![60, 1, 830, 4], vec![9, 0, 2, 118]],
        }
    }

    #[test]
    fn heat_map_snapshot_and_alt() {
        let chart = heat_map(&confusion());
        well_formed(&chart.svg);
        assert_eq!(
            chart.alt,
            "Confusion matrix (test set): 4 × 4 matrix of true class by predicted class, total 12,434; on the diagonal 12,278 (98.7 %); most common confusion: portscan as benign (60)."
        );
        assert!(has_text(&chart.svg, "9,120") && has_text(&chart.svg, "0"));
        snapshot("heatmap", &chart);
    }

    #[test]
    fn empty_data_says_so() {
        let mut line = alerts_per_hour();
        line.series[0].points.clear();
        let mut bars = top_assets();
        bars.bars.clear();
        let mut stacked = criticality();
        stacked.series.iter_mut().for_each(|s| s.values.iter_mut().for_each(|v| *v = 0.0));
        let mut heat = confusion();
        heat.cells.clear();
        let charts = [line_chart(&line), bar_chart(&bars), stacked_bar_chart(&stacked), heat_map(&heat)];
        for chart in &charts {
            well_formed(&chart.svg);
            assert!(has_text(&chart.svg, "No data in this range"), "{}", chart.svg);
            assert!(chart.alt.ends_with(": no data in this range."), "{}", chart.alt);
        }
        let no_series =
            line_chart(&LineChartSpec { title: String::new(), x: Axis::default(), y: Axis::default(), series: vec![] });
        assert_eq!(no_series.alt, "Chart: no data in this range.");
        snapshot("empty", &charts[0]);
    }

    #[test]
    fn odd_data_does_not_panic() {
        let mut line = alerts_per_hour();
        line.series[0].points = vec![(START, f64::NAN), (START, 5.0), (START + HOUR, f64::INFINITY), (START - 1, -3.0)];
        well_formed(&line_chart(&line).svg);
        line.series[0].points = vec![(START, 0.0)];
        well_formed(&line_chart(&line).svg);
        line.series[0].points = vec![(i64::MIN / 4, 1.0), (i64::MAX / 4, 2.0)];
        well_formed(&line_chart(&line).svg);
        let mut bars = top_assets();
        bars.bars = (0..100).map(|i| Bar { label: format!("asset-{i}"), value: f64::from(i) }).collect();
        bars.bars.push(Bar { label: "nan".into(), value: f64::NAN });
        let chart = bar_chart(&bars);
        well_formed(&chart.svg);
        assert!(chart.alt.contains("40 categories (61 more not shown)"), "{}", chart.alt);
        let mut stacked = criticality();
        stacked.buckets.truncate(1);
        well_formed(&stacked_bar_chart(&stacked).svg);
        let mut heat = confusion();
        heat.cols.push("extra".into());
        heat.cells[0].truncate(1);
        let chart = heat_map(&heat);
        well_formed(&chart.svg);
        assert!(chart.alt.contains("largest cell benign / benign (9,120)"), "{}", chart.alt);
    }

    #[test]
    fn text_from_data_is_escaped() {
        let evil = "<script>alert(\"x\")</script> & 'co'";
        let mut line = alerts_per_hour();
        line.title = evil.into();
        line.y = Axis::new(evil, evil);
        line.series.push(TimeSeries { name: evil.into(), colour: None, points: vec![(START, 1.0)] });
        let mut bars = top_assets();
        bars.title = evil.into();
        let mut stacked = criticality();
        stacked.series[0].name = evil.into();
        let mut heat = confusion();
        heat.rows[0] = evil.into();
        heat.cols[1] = evil.into();
        heat.row_axis = evil.into();
        for chart in [line_chart(&line), bar_chart(&bars), stacked_bar_chart(&stacked), heat_map(&heat)] {
            well_formed(&chart.svg);
            assert!(!chart.svg.contains("<script"), "{}", chart.svg);
            assert!(chart.svg.contains("&lt;script&gt;"));
            assert!(!chart.svg.contains("\"x\"") && !chart.svg.contains("'co'"));
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(line_chart(&alerts_per_hour()), line_chart(&alerts_per_hour()));
        assert_eq!(bar_chart(&top_assets()), bar_chart(&top_assets()));
        assert_eq!(stacked_bar_chart(&criticality()), stacked_bar_chart(&criticality()));
        assert_eq!(heat_map(&confusion()), heat_map(&confusion()));
    }

    #[test]
    fn snapshots_stay_small() {
        for chart in [
            line_chart(&alerts_per_hour()),
            bar_chart(&top_assets()),
            stacked_bar_chart(&criticality()),
            heat_map(&confusion()),
        ] {
            assert!(chart.svg.len() < 24_000, "{} bytes", chart.svg.len());
        }
    }

    /// A fixed pseudo-random sequence in [0, 1) (xorshift), so test data needs no `rand`.
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn verdicts() -> Vec<ScatterGroup> {
        vec![
            ScatterGroup { name: "benign".into(), colour: None },
            ScatterGroup { name: "suspicious".into(), colour: None },
            ScatterGroup { name: "alert".into(), colour: Some(ALERT) },
        ]
    }

    /// Flows per hour and mean anomaly score of assets, by verdict (linear axes).
    fn score_by_load() -> ScatterSpec {
        let mut next = uniform(0x2545_f491_4f6c_dd1d);
        let mut points = Vec::new();
        for (group, n, score) in [(0, 80, 0.1), (1, 25, 0.45), (2, 12, 0.8)] {
            for _ in 0..n {
                let flows = (next() * 1800.0 + 40.0).round();
                let score = (score + next() * 0.2).min(1.0);
                points.push(ScatterPoint { x: flows, y: score, group });
            }
        }
        ScatterSpec {
            title: "Anomaly score against load".into(),
            x: Axis::new("Flows", "per hour"),
            y: Axis::new("Mean anomaly score", ""),
            log_x: false,
            log_y: false,
            groups: verdicts(),
            points,
        }
    }

    /// Duration and bytes of flows by verdict: heavy-tailed, on log axes.
    fn flows_by_verdict() -> ScatterSpec {
        let mut next = uniform(0x9e37_79b9_7f4a_7c15);
        let mut points = Vec::new();
        // (group, points, log10 of the smallest duration and its spread, the same for bytes)
        for (group, n, secs, bytes) in
            [(0, 100, (-1.0, 3.0), (2.0, 3.0)), (1, 30, (0.0, 2.5), (4.0, 2.0)), (2, 15, (-2.0, 1.0), (5.0, 2.0))]
        {
            for _ in 0..n {
                let x = (10f64.powf(secs.0 + next() * secs.1) * 100.0).round() / 100.0;
                let y = 10f64.powf(bytes.0 + next() * bytes.1).round();
                points.push(ScatterPoint { x, y, group });
            }
        }
        // Zero-length flows sit on the 0 tick.
        points.extend((0..5).map(|i| ScatterPoint { x: 0.0, y: 60.0 + f64::from(i) * 20.0, group: 0 }));
        ScatterSpec {
            title: "Flow size against duration".into(),
            x: Axis::new("Duration", "s"),
            y: Axis::new("Bytes", ""),
            log_x: true,
            log_y: true,
            groups: verdicts(),
            points,
        }
    }

    /// Circles drawn for points of a colour (the legend's dots are opaque).
    fn plotted(svg: &str, colour: Colour) -> usize {
        svg.matches(&point_fill(colour)).count()
    }

    fn point_fill(colour: Colour) -> String {
        format!("opacity=\"{POINT_OPACITY}\" fill=\"{}\"", colour.hex().to_uppercase())
    }

    const ALERT: Colour = Colour(0xd5, 0x5e, 0x00);

    #[test]
    fn scatter_chart_snapshot_and_alt() {
        let chart = scatter_chart(&score_by_load());
        well_formed(&chart.svg);
        assert_eq!(
            chart.alt,
            "Anomaly score against load: 117 points of Mean anomaly score against Flows (per hour): benign 80, suspicious 25, alert 12."
        );
        for text in
            ["benign (80)", "suspicious (25)", "alert (12)", "Flows (per hour)", "Mean anomaly score", "1,000", "0.4"]
        {
            assert!(has_text(&chart.svg, text), "has {text}");
        }
        assert_eq!(plotted(&chart.svg, ALERT), 12);
        assert!(chart.svg.len() < 24_000, "{} bytes", chart.svg.len());
        snapshot("scatter", &chart);
    }

    #[test]
    fn scatter_chart_log_axes_snapshot_and_alt() {
        let chart = scatter_chart(&flows_by_verdict());
        well_formed(&chart.svg);
        assert_eq!(
            chart.alt,
            "Flow size against duration: 150 points of Bytes (log scale) against Duration (s, log scale): benign 105, suspicious 30, alert 15."
        );
        for text in [
            "benign (105)",
            "Bytes (log scale)",
            "Duration (s, log scale)",
            "0",
            "1",
            "10",
            "100",
            "1,000",
            "10,000,000",
        ] {
            assert!(has_text(&chart.svg, text), "has {text}");
        }
        assert!(chart.svg.len() < 24_000, "{} bytes", chart.svg.len());
        snapshot("scatter_log", &chart);
    }

    #[test]
    fn scatter_log_axis_ticks() {
        let labels = |s: &ValueScale| s.ticks.iter().map(|t| s.label(*t)).collect::<Vec<_>>();
        let s = ValueScale::new(0.0, 312.0, true, 8);
        assert_eq!(labels(&s), ["0", "1", "10", "100", "1,000"]);
        assert_eq!((s.lo, s.pos(1000.0)), (0.0, s.hi));
        assert!((s.pos(999.0) - 3.0).abs() < 1e-12, "log10(1 + v)");
        assert_eq!(s.pos(-50.0), 0.0, "values below 0 are clamped to 0");
        let s = ValueScale::new(5.0, 5e6, true, 8);
        assert_eq!(labels(&s), ["1", "10", "100", "1,000", "10,000", "100,000", "1,000,000", "10,000,000"]);
        let s = ValueScale::new(0.0, 2e9, true, 4);
        assert_eq!(labels(&s), ["0", "1,000", "10,000,000"], "every 4th decade, the axis ends at 10 billion");
        assert_eq!(s.hi, s.pos(1e10));
        let s = ValueScale::new(1e15, 2e15, true, 8);
        assert_eq!(labels(&s), ["1,000,000,000,000,000", "10,000,000,000,000,000"], "exact labels");
        let s = ValueScale::new(100.0, 100.0, true, 8);
        assert_eq!(labels(&s), ["100", "1,000"]);
        let s = ValueScale::new(-3.0, 0.0, true, 8);
        assert_eq!(labels(&s), ["0", "1"]);
        let s = ValueScale::new(500.0, 500.0, false, 8);
        assert_eq!((s.lo, s.hi), (0.0, 500.0), "a single value gets an axis from 0");
        assert_eq!(ValueScale::new(0.0, 1.0, false, 8).label(0.25), "0.25");
    }

    #[test]
    fn scatter_groups_are_drawn_in_order() {
        let mut spec = flows_by_verdict();
        spec.groups[0].colour = Some(Colour(0x01, 0x02, 0x03));
        let chart = scatter_chart(&spec);
        let last_benign = chart.svg.rfind("fill=\"#010203\"").expect("benign points");
        let first_alert = chart.svg.find(&point_fill(ALERT)).expect("alert points");
        assert!(last_benign < first_alert, "alerts are drawn last, on top");
    }

    #[test]
    fn scatter_empty_data_says_so() {
        let mut specs = vec![];
        let mut spec = flows_by_verdict();
        spec.points.clear();
        specs.push(spec);
        let mut spec = score_by_load();
        spec.points = vec![
            ScatterPoint { x: f64::NAN, y: 1.0, group: 0 },
            ScatterPoint { x: 1.0, y: f64::INFINITY, group: 1 },
            ScatterPoint { x: 1.0, y: 1.0, group: 3 },
        ];
        specs.push(spec);
        let mut spec = score_by_load();
        spec.groups.clear();
        specs.push(spec);
        for spec in &specs {
            let chart = scatter_chart(spec);
            well_formed(&chart.svg);
            assert!(has_text(&chart.svg, "No data in this range"), "{}", chart.svg);
            assert_eq!(chart.alt, format!("{}: no data in this range.", spec.title));
        }
    }

    #[test]
    fn scatter_odd_data_does_not_panic() {
        let mut spec = flows_by_verdict();
        spec.points = vec![ScatterPoint { x: 0.0, y: 0.0, group: 2 }];
        let chart = scatter_chart(&spec);
        well_formed(&chart.svg);
        assert_eq!(plotted(&chart.svg, ALERT), 1);
        assert!(
            chart.alt.ends_with(
                "1 point of Bytes (log scale) against Duration (s, log scale): benign 0, suspicious 0, alert 1."
            ),
            "{}",
            chart.alt
        );
        spec.points = vec![
            ScatterPoint { x: -5.0, y: -1e9, group: 0 },
            ScatterPoint { x: f64::MAX, y: 1e300, group: 1 },
            ScatterPoint { x: f64::NEG_INFINITY, y: 1.0, group: 1 },
        ];
        well_formed(&scatter_chart(&spec).svg);
        spec.log_x = false;
        spec.log_y = false;
        well_formed(&scatter_chart(&spec).svg);
        spec.points =
            vec![ScatterPoint { x: -1e308, y: 1e308, group: 0 }, ScatterPoint { x: 1e308, y: -1e308, group: 0 }];
        well_formed(&scatter_chart(&spec).svg);
        spec.points = vec![ScatterPoint { x: 7.5, y: -2.0, group: 0 }];
        well_formed(&scatter_chart(&spec).svg);
        spec.title = String::new();
        spec.x = Axis::default();
        spec.y = Axis::default();
        assert_eq!(scatter_chart(&spec).alt, "Chart: 1 point of y against x: benign 1, suspicious 0, alert 0.");
    }

    #[test]
    fn scatter_draws_at_most_max_points() {
        assert_eq!(sample_sizes(&[6_000, 50], MAX_POINTS), [4_950, 50], "small groups are kept whole");
        assert_eq!(sample_sizes(&[3_000, 3_000, 3_000], MAX_POINTS), [1_666, 1_667, 1_667]);
        assert_eq!(sample_sizes(&[10, 0, 20], MAX_POINTS), [10, 0, 20]);
        let items: Vec<usize> = (0..10).collect();
        assert_eq!(evenly(&items, 4).copied().collect::<Vec<_>>(), [0, 2, 5, 7]);
        assert_eq!(evenly(&items, 20).count(), 10);
        let mut spec = score_by_load();
        let mut next = uniform(7);
        spec.points = (0..6_000).map(|_| ScatterPoint { x: next(), y: next(), group: 0 }).collect();
        spec.points.extend((0..50).map(|i| ScatterPoint { x: f64::from(i) / 50.0, y: 0.5, group: 2 }));
        let chart = scatter_chart(&spec);
        well_formed(&chart.svg);
        assert!(
            chart.alt.ends_with(": benign 6,000, suspicious 0, alert 50 (5,000 drawn, 1,050 more not shown)."),
            "{}",
            chart.alt
        );
        assert!(plotted(&chart.svg, palette(0)) <= 4_950);
        assert_eq!(plotted(&chart.svg, ALERT), 50, "every alert is drawn");
        assert!(has_text(&chart.svg, "benign (6,000)"));
    }

    #[test]
    fn scatter_text_from_data_is_escaped() {
        let evil = "<script>alert(\"x\")</script> & 'co'";
        for log in [false, true] {
            let mut spec = flows_by_verdict();
            spec.log_x = log;
            spec.title = evil.into();
            spec.x = Axis::new(evil, evil);
            spec.y = Axis::new(evil, "");
            spec.groups[2].name = evil.into();
            let chart = scatter_chart(&spec);
            well_formed(&chart.svg);
            assert!(!chart.svg.contains("<script"), "{}", chart.svg);
            assert!(chart.svg.contains("&lt;script&gt;"));
            assert!(!chart.svg.contains("\"x\"") && !chart.svg.contains("'co'"));
        }
    }

    #[test]
    fn scatter_rendering_is_deterministic() {
        assert_eq!(scatter_chart(&score_by_load()), scatter_chart(&score_by_load()));
        assert_eq!(scatter_chart(&flows_by_verdict()), scatter_chart(&flows_by_verdict()));
        let spec = flows_by_verdict();
        let json = serde_json::to_string(&spec).expect("serialize");
        let back: ScatterSpec = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(scatter_chart(&back), scatter_chart(&spec), "a spec sent to the browser draws the same");
    }

    #[test]
    fn formats() {
        assert_eq!(format_number(2140.0), "2,140");
        assert_eq!(format_number(1_234_567.6), "1,234,568");
        assert_eq!(format_number(-1200.0), "-1,200");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(12.5), "12.5");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(2.0000000001), "2");
        assert_eq!(format_number(f64::NAN), "–");
        assert_eq!(date_clock(START), "Nov 20 15:00");
        assert_eq!(date(0), "Jan 1");
        assert_eq!(date(951_782_400_000), "Feb 29");
        assert_eq!(time_label(START + 9 * HOUR, HOUR), "Nov 21");
        assert_eq!(Colour::from_hex("#D55E00"), Some(Colour(0xd5, 0x5e, 0x00)));
        assert_eq!(Colour::from_hex("D55E00"), None);
        assert_eq!(Colour::from_hex("#D55E0"), None);
        assert_eq!(Colour(1, 2, 255).hex(), "#0102ff");
        assert_eq!(Axis::new("Alerts", "").description(), "Alerts");
    }

    #[test]
    fn scales() {
        let s = NiceScale::new(0.0, 312.0);
        assert_eq!((s.lo, s.hi), (0.0, 400.0));
        assert_eq!(s.ticks, [0.0, 100.0, 200.0, 300.0, 400.0]);
        let s = NiceScale::new(0.0, 0.0);
        assert_eq!((s.lo, s.hi), (0.0, 1.0));
        let s = NiceScale::new(-3.0, 7.0);
        assert_eq!((s.lo, s.hi), (-4.0, 8.0));
        let (ticks, step) = time_ticks(START, START + 23 * HOUR);
        assert_eq!(step, 3 * HOUR);
        assert_eq!(ticks.first(), Some(&START), "START is on a 3 h boundary");
        assert!(ticks.iter().all(|t| t % (3 * HOUR) == 0) && ticks.len() <= 8);
        let (ticks, step) = time_ticks(START, START + 30 * DAY);
        assert_eq!(step, 7 * DAY);
        assert!(ticks.len() <= 8);
    }
}
