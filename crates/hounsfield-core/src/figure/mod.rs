//! Figures: what a plot shows, as plain data ([`Chart`]: a title, labelled
//! axes with units, layers of bars, lines, boxes and shaded bands, a
//! legend), built from Hounsfield's results by the functions here, and
//! drawn by [`render`] through plotters (PNG with a bundled font, SVG with
//! real `<text>`) or by the viewer through `egui_plot`. One description, two
//! renderers: the picture saved from the viewer is the one the CLI writes.
//!
//! A log count axis is drawn as `log10(count)` with ticks labelled in
//! counts (so both renderers share it); empty bins are left out there.

pub mod render;
mod text;

pub use render::{FigureError, png, svg, write};
pub use text::{TextStyle, draw_text, draw_text_grey, fill_rect, text_size};

use crate::volume::ops::Histogram;

/// An sRGB colour.
pub type Rgb = [u8; 3];

/// Line and bar colours, cycled (Tableau 10).
pub const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// Colour of the `k`-th series.
pub fn colour(k: usize) -> Rgb {
    PALETTE[k % PALETTE.len()]
}

/// Quartiles and whiskers of one group of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxStats {
    /// Lowest value within 1.5 IQR below the first quartile.
    pub whisker_low: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Highest value within 1.5 IQR above the third quartile.
    pub whisker_high: f64,
}

/// Quartiles (linear interpolation) and Tukey whiskers of the finite values; `None` if none.
pub fn box_stats(values: &[f64]) -> Option<BoxStats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (v.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        v[i] + f * (v[(i + 1).min(v.len() - 1)] - v[i])
    };
    let (q1, median, q3) = (q(0.25), q(0.5), q(0.75));
    let reach = 1.5 * (q3 - q1);
    let whisker_low = v.iter().copied().find(|&x| x >= q1 - reach).unwrap_or(q1);
    let whisker_high = v
        .iter()
        .rev()
        .copied()
        .find(|&x| x <= q3 + reach)
        .unwrap_or(q3);
    Some(BoxStats {
        whisker_low,
        q1,
        median,
        q3,
        whisker_high,
    })
}

/// One thing drawn in a chart.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// Bars from `lo` to `hi` along x with height `value` (histogram bins;
    /// on a categorical axis, `lo..hi` around the category's index).
    Bars {
        /// Legend entry (empty: none).
        name: String,
        /// Fill colour.
        colour: Rgb,
        /// `(lo, hi, value)`.
        bars: Vec<(f64, f64, f64)>,
    },
    /// A polyline.
    Line {
        /// Legend entry (empty: none).
        name: String,
        /// Colour.
        colour: Rgb,
        /// Points in data coordinates.
        points: Vec<(f64, f64)>,
    },
    /// Box plots at the categories `0, 1, …` of the x axis.
    Boxes {
        /// Colour.
        colour: Rgb,
        /// One box per category (`None`: no values).
        boxes: Vec<Option<BoxStats>>,
    },
    /// A shaded band across the whole height, from `lo` to `hi` along x
    /// (the display window on a HU histogram).
    Band {
        /// Legend entry (empty: none).
        name: String,
        /// Colour (drawn translucent).
        colour: Rgb,
        /// Left edge.
        lo: f64,
        /// Right edge.
        hi: f64,
    },
}

/// A plot: title, axes with units, layers (drawn in order), legend.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Title above the plot.
    pub title: String,
    /// x axis label with its unit, e.g. "HU".
    pub x_label: String,
    /// y axis label with its unit, e.g. "voxels" or "log voxels".
    pub y_label: String,
    /// x range shown.
    pub x_range: (f64, f64),
    /// y range shown (in `log10` units when `y_log`).
    pub y_range: (f64, f64),
    /// The y values are `log10` of counts; ticks are labelled in counts.
    pub y_log: bool,
    /// Category names of a categorical x axis (box plots, bars per
    /// structure): category `i` sits at x = `i`.
    pub categories: Option<Vec<String>>,
    /// What is drawn.
    pub layers: Vec<Layer>,
}

impl Chart {
    /// Label of a y tick at `v` (data units): counts as written on a log
    /// axis (`1`, `10`, `100`, `1k`, `10k`, `1M`, …).
    pub fn y_tick(&self, v: f64) -> String {
        if self.y_log {
            count_label(10f64.powf(v))
        } else {
            plain_label(v)
        }
    }

    /// Label of an x tick at `v`: a category's name on a categorical axis
    /// (empty between categories), else the number.
    pub fn x_tick(&self, v: f64) -> String {
        match &self.categories {
            Some(c) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                    c[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None => plain_label(v),
        }
    }

    /// Whether any layer has a legend entry.
    pub fn has_legend(&self) -> bool {
        self.layers.iter().any(|l| match l {
            Layer::Bars { name, .. } | Layer::Line { name, .. } | Layer::Band { name, .. } => {
                !name.is_empty()
            }
            Layer::Boxes { .. } => false,
        })
    }
}

/// A count for a tick: `1`, `20`, `300`, `4k`, `50k`, `6M`.
fn count_label(c: f64) -> String {
    let c = c.round();
    if c >= 1e6 {
        format!("{}M", plain_label(c / 1e6))
    } else if c >= 1e3 {
        format!("{}k", plain_label(c / 1e3))
    } else {
        format!("{c:.0}")
    }
}

/// A number with no more digits than it needs (`0.25`, `1000`, `-500`).
fn plain_label(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// `log10(c)`, or `None` for an empty bin (left out of a log plot).
fn log_count(c: u64) -> Option<f64> {
    (c > 0).then(|| (c as f64).log10())
}

/// The y range `0..max·1.05` of bar heights (linear) or `0..log10(max)·1.05`.
fn count_range(max: u64, log: bool) -> (f64, f64) {
    let max = max.max(1) as f64;
    if log {
        (0.0, (max.log10() * 1.05).max(1.0))
    } else {
        (0.0, max * 1.05)
    }
}

/// A HU histogram: bars per bin over its HU range (x "HU"), counts on a
/// linear or log axis (y "voxels" / "log voxels"), the display window
/// shaded when given.
pub fn hu_histogram(h: &Histogram, log: bool, window_hu: Option<(f64, f64)>, title: &str) -> Chart {
    let n = h.counts.len();
    let lo = h.min_hu;
    let hi = h.min_hu + h.bin_width_hu * n.max(1) as f64;
    let bars = h
        .counts
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| {
            let v = if log { log_count(c)? } else { c as f64 };
            let a = lo + i as f64 * h.bin_width_hu;
            Some((a, a + h.bin_width_hu, v))
        })
        .collect();
    let mut layers = Vec::new();
    if let Some((wl, wh)) = window_hu {
        layers.push(Layer::Band {
            name: "window".into(),
            colour: [255, 196, 0],
            lo: wl.max(lo),
            hi: wh.min(hi),
        });
    }
    layers.push(Layer::Bars {
        name: String::new(),
        colour: [46, 110, 180],
        bars,
    });
    Chart {
        title: title.to_owned(),
        x_label: "HU".into(),
        y_label: if log { "log voxels" } else { "voxels" }.into(),
        x_range: (lo, hi),
        y_range: count_range(h.counts.iter().copied().max().unwrap_or(0), log),
        y_log: log,
        categories: None,
        layers,
    }
}

/// A histogram of scores in `[0, 1]` (per-slice Dice, …): `bins` bars, x
/// `x_label`, y `unit` ("slices") or "log `unit`".
pub fn score_histogram(
    values: &[f64],
    bins: usize,
    log: bool,
    title: &str,
    x_label: &str,
    unit: &str,
) -> Chart {
    let bins = bins.max(1);
    let mut counts = vec![0u64; bins];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let k = ((v.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let w = 1.0 / bins as f64;
    let bars = counts
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| {
            let v = if log { log_count(c)? } else { c as f64 };
            Some((i as f64 * w, (i + 1) as f64 * w, v))
        })
        .collect();
    Chart {
        title: title.to_owned(),
        x_label: x_label.to_owned(),
        y_label: if log {
            format!("log {unit}")
        } else {
            unit.to_owned()
        },
        x_range: (0.0, 1.0),
        y_range: count_range(counts.iter().copied().max().unwrap_or(0), log),
        y_log: log,
        categories: None,
        layers: vec![Layer::Bars {
            name: String::new(),
            colour: [46, 110, 180],
            bars,
        }],
    }
}

/// Box plots of named groups of scores, y from `low` to 1 (`y_label`, e.g.
/// "Dice").
pub fn box_plots(groups: &[(String, Vec<f64>)], low: f64, title: &str, y_label: &str) -> Chart {
    Chart {
        title: title.to_owned(),
        x_label: String::new(),
        y_label: y_label.to_owned(),
        x_range: (-0.5, groups.len().max(1) as f64 - 0.5),
        y_range: (low.min(0.99), 1.0),
        y_log: false,
        categories: Some(groups.iter().map(|(n, _)| n.clone()).collect()),
        layers: vec![Layer::Boxes {
            colour: [46, 110, 180],
            boxes: groups.iter().map(|(_, v)| box_stats(v)).collect(),
        }],
    }
}

/// Values per iteration (a registration's cost per pyramid level, a
/// training loss per epoch): one line per named series.
pub fn trace(
    series: &[(String, Vec<(f64, f64)>)],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Chart {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in all().filter(|(x, y)| x.is_finite() && y.is_finite()) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |a: f64, b: f64| {
        let m = ((b - a) * 0.05).max(1e-9);
        (a - m, b + m)
    };
    Chart {
        title: title.to_owned(),
        x_label: x_label.to_owned(),
        y_label: y_label.to_owned(),
        x_range: if x1 > x0 { (x0, x1) } else { pad(x0, x1) },
        y_range: pad(y0, y1),
        y_log: false,
        categories: None,
        layers: series
            .iter()
            .enumerate()
            .map(|(k, (name, points))| Layer::Line {
                name: name.clone(),
                colour: colour(k),
                points: points.clone(),
            })
            .collect(),
    }
}

/// Bars per named category (overlap metrics per structure): one bar group
/// per metric, side by side, y from 0 (with room above 1 for the legend).
pub fn metric_bars(categories: &[String], metrics: &[(String, Vec<f64>)], title: &str) -> Chart {
    let k = metrics.len().max(1) as f64;
    let width = 0.8 / k;
    let layers = metrics
        .iter()
        .enumerate()
        .map(|(m, (name, values))| Layer::Bars {
            name: name.clone(),
            colour: colour(m),
            bars: values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| {
                    let a = i as f64 - 0.4 + m as f64 * width;
                    (a, a + width, v)
                })
                .collect(),
        })
        .collect();
    Chart {
        title: title.to_owned(),
        x_label: String::new(),
        y_label: "overlap (0–1)".into(),
        x_range: (-0.5, categories.len().max(1) as f64 - 0.5),
        // Headroom above 1 for the legend, clear of bars near 1.
        y_range: (0.0, 1.3),
        y_log: false,
        categories: Some(categories.to_vec()),
        layers,
    }
}

/// A registration's cost at every iteration, one line per pyramid level,
/// x counting iterations across the levels: `points` are `(level, cost)`
/// in the order they were reported.
pub fn registration_trace(points: &[(usize, f64)]) -> Chart {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (i, &(level, cost)) in points.iter().enumerate() {
        let name = format!("level {}", level + 1);
        if series.last().is_none_or(|(n, _)| *n != name) {
            series.push((name, Vec::new()));
        }
        if let Some((_, p)) = series.last_mut() {
            p.push((i as f64, cost));
        }
    }
    trace(
        &series,
        "Registration cost per iteration",
        "iteration",
        "cost (lower is better)",
    )
}

/// Overlap metrics per structure of a comparison (Dice, Jaccard,
/// sensitivity) as bars.
pub fn overlap_bars(report: &crate::metrics::Report, title: &str) -> Chart {
    let names: Vec<String> = report.labels.iter().map(|l| l.name.clone()).collect();
    let metric = |f: fn(&crate::metrics::Overlap) -> f64| -> Vec<f64> {
        report.labels.iter().map(f).collect()
    };
    metric_bars(
        &names,
        &[
            ("Dice".into(), metric(|l| l.dice)),
            ("Jaccard".into(), metric(|l| l.jaccard)),
            (
                "sensitivity".into(),
                metric(|l| l.sensitivity.unwrap_or(f64::NAN)),
            ),
        ],
        title,
    )
}

#[cfg(test)]
mod tests;
