//! Charts rendered to standalone SVG text with plotters' SVG backend: a time-series line chart,
//! horizontal bars, stacked bars over time and a heat map (confusion matrix). Each builder takes a
//! typed spec and returns a [`Chart`]: the SVG and a plain-language text alternative.
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

/// Bars beyond this many are not drawn (a longer list belongs in a table).
pub const MAX_BARS: usize = 40;
/// Heat-map rows or columns beyond this many are not drawn.
pub const MAX_CLASSES: usize = 24;
/// Buckets beyond this many (the most recent ones are kept) are not drawn in a stacked chart.
pub const MAX_BUCKETS: usize = 240;

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

use crate::time::{DAY, HOUR, MINUTE};

type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

/// Rough width in pixels of `text` at `px` (sans-serif averages ~0.58 em a character).
fn text_width(text: &str, px: f64) -> f64 {
    text.chars().count() as f64 * px * 0.58
}

// ---------------------------------------------------------------------------------------------
// The four charts

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

// ---------------------------------------------------------------------------------------------
// Drawing helpers

type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<TickAxis, TickAxis>>;

/// Which grid lines a frame draws: along the y ticks, along the x ticks, or none.
enum Grid {
    Horizontal,
    Vertical,
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
            Grid::Horizontal => mesh.disable_x_mesh(),
            Grid::Vertical => mesh.disable_y_mesh(),
            Grid::None => mesh.disable_mesh(),
        };
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
    let (width, _) = root.dim_in_pixel();
    let y = TITLE_H as i32 + 4;
    let mut x = PAD;
    for (name, colour) in items {
        let name = truncate(name, 24);
        let w = 18 + text_width(&name, 11.0).ceil() as i32 + 16;
        if x + w > width as i32 - PAD {
            break;
        }
        root.draw(&Rectangle::new([(x, y + 2), (x + 12, y + 14)], colour.rgb().filled()))?;
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
