//! The survey's histogram PNG: every series' winsorised HU histogram as one
//! coloured line on shared axes, with a legend (row index and short label;
//! shifted series marked `SHIFT`).
//!
//! x is HU over the union of the winsorising bounds, within the common
//! histogram grid (ticks labelled); y is the density (fraction of voxels per
//! HU) normalised to 1.25 × the median over series of each series' highest
//! interior bin. Taller peaks and the winsorised end bins (which hold the
//! clamped tails) are clipped at the top. Drawn with the built-in 3×5 font, no plotting library.

use image::{Rgb, RgbImage};

use super::{Survey, SurveyRow};
use crate::export::font::{fill_rect, text, text_width};
use crate::export::plot::{hline, put, vline};

/// Plot width in pixels (the legend is added to the right).
const PLOT_W: i64 = 900;
/// Minimum image height in pixels.
const MIN_H: i64 = 460;
/// Height of one legend line in pixels.
const LEGEND_LINE: i64 = 16;
/// Legend lines drawn at most (then `+N MORE`).
const MAX_LEGEND: usize = 120;
/// Legend labels are cut to this many characters.
const LABEL_CHARS: usize = 28;

const BG: Rgb<u8> = Rgb([255, 255, 255]);
const AXIS: Rgb<u8> = Rgb([40, 40, 40]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);

/// Line colours, cycled (Tableau 10).
const PALETTE: [Rgb<u8>; 10] = [
    Rgb([31, 119, 180]),
    Rgb([255, 127, 14]),
    Rgb([44, 160, 44]),
    Rgb([214, 39, 40]),
    Rgb([148, 103, 189]),
    Rgb([140, 86, 75]),
    Rgb([227, 119, 194]),
    Rgb([127, 127, 127]),
    Rgb([188, 189, 34]),
    Rgb([23, 190, 207]),
];

/// Colour of the `k`-th plotted series.
pub fn colour(k: usize) -> Rgb<u8> {
    PALETTE[k % PALETTE.len()]
}

/// Draw every histogram of `s` in one image (an empty frame with a note
/// when there are none).
pub fn histograms_png(s: &Survey) -> RgbImage {
    let n = s.histograms.len();
    let legend_lines = n.min(MAX_LEGEND) as i64 + i64::from(n > MAX_LEGEND);
    let legend_w = 16 + 8 * (LABEL_CHARS as i64 + 12);
    let h = MIN_H.max(30 + legend_lines * LEGEND_LINE);
    let mut img = RgbImage::from_pixel((PLOT_W + legend_w) as u32, h as u32, BG);
    let (left, right, top, bottom) = (60i64, 20i64, 20i64, 40i64);
    let pw = PLOT_W - left - right;
    let ph = h.min(MIN_H) - top - bottom;

    // x range: union of the winsorising bounds, one bin of margin.
    let bounds = s.rows.iter().filter_map(|r| r.winsor_hu).fold(
        None,
        |acc: Option<(f64, f64)>, [lo, hi]| {
            Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
        },
    );
    let Some((lo_hu, hi_hu)) = bounds else {
        text(&mut img, "NO HISTOGRAMS", left + 10, top + 10, AXIS);
        return img;
    };
    let (grid_lo, grid_hi) = (s.params.hist_min_hu, s.params.hist_max_hu);
    let bin = s.params.hist_bin_hu;
    let lo = (lo_hu - bin).clamp(grid_lo, grid_hi - 2.0 * bin);
    let hi = (hi_hu + bin).clamp(lo + 2.0 * bin, grid_hi);
    let x_of = |hu: f64| left + ((hu - lo) / (hi - lo) * pw as f64).round() as i64;

    // densities and their common scale (interior bins only).
    let densities: Vec<Vec<f64>> = s
        .histograms
        .iter()
        .map(|(_, h)| {
            let total = h.counts.iter().sum::<u64>().max(1) as f64;
            h.counts
                .iter()
                .map(|&c| c as f64 / (total * h.bin_width_hu))
                .collect()
        })
        .collect();
    let mut peaks: Vec<f64> = densities
        .iter()
        .map(|d| {
            let nz: Vec<usize> = (0..d.len()).filter(|&i| d[i] > 0.0).collect();
            match (nz.first(), nz.last()) {
                (Some(&a), Some(&b)) if b > a + 1 => {
                    d[a + 1..b].iter().copied().fold(0.0, f64::max)
                }
                _ => d.iter().copied().fold(0.0, f64::max),
            }
        })
        .collect();
    peaks.sort_by(f64::total_cmp);
    // The scale is set by the median series' peak (× 1.25), so that one very
    // peaked series does not flatten all others; taller peaks are clipped.
    let y_max = peaks.get(peaks.len() / 2).map_or(1.0, |p| p * 1.25);
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let y_of = |d: f64| top + ph - ((d / y_max).min(1.0) * ph as f64).round() as i64;

    draw_axes(&mut img, (left, top, pw, ph), lo, hi, &x_of);

    for (k, ((_, hist), d)) in s.histograms.iter().zip(&densities).enumerate() {
        let c = colour(k);
        let mut prev: Option<(i64, i64)> = None;
        for (i, &v) in d.iter().enumerate() {
            let hu = hist.bin_centre_hu(i);
            if hu < lo || hu > hi {
                continue;
            }
            let p = (x_of(hu), y_of(v));
            if let Some(q) = prev {
                line(&mut img, q, p, c);
            }
            prev = Some(p);
        }
    }

    // legend
    let lx = PLOT_W + 8;
    for (k, (row, _)) in s.histograms.iter().take(MAX_LEGEND).enumerate() {
        let y = 20 + k as i64 * LEGEND_LINE;
        fill_rect(&mut img, lx, y + 3, 14, 4, colour(k));
        let r = s.rows.iter().find(|r| r.index == *row);
        let label: String = r
            .map(SurveyRow::short_label)
            .unwrap_or_default()
            .chars()
            .take(LABEL_CHARS)
            .collect();
        let mark = if r.is_some_and(|r| r.shifted) {
            " SHIFT"
        } else {
            ""
        };
        text(&mut img, &format!("#{row} {label}{mark}"), lx + 20, y, AXIS);
    }
    if n > MAX_LEGEND {
        let y = 20 + MAX_LEGEND as i64 * LEGEND_LINE;
        text(
            &mut img,
            &format!("+{} MORE", n - MAX_LEGEND),
            lx + 20,
            y,
            AXIS,
        );
    }
    img
}

/// The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw` (10 for a
/// degenerate input).
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 10.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * p)
}

/// Grid, HU ticks and the axes of the plot area `(left, top, w, h)`.
fn draw_axes(
    img: &mut RgbImage,
    (left, top, pw, ph): (i64, i64, i64, i64),
    lo: f64,
    hi: f64,
    x_of: &impl Fn(f64) -> i64,
) {
    let step = nice_step((hi - lo) / 8.0);
    let mut t = (lo / step).ceil() * step;
    while t <= hi {
        let x = x_of(t);
        vline(img, x, top, top + ph, GRID);
        vline(img, x, top + ph, top + ph + 4, AXIS);
        let label = format!("{t:.0}");
        text(
            img,
            &label,
            x - text_width(&label, 2) / 2,
            top + ph + 8,
            AXIS,
        );
        t += step;
    }
    for f in [0.25, 0.5, 0.75, 1.0] {
        let y = top + ph - (f * ph as f64).round() as i64;
        hline(img, left, left + pw, y, GRID);
        text(img, &format!("{f:.2}"), 8, y - 5, AXIS);
    }
    vline(img, left, top, top + ph, AXIS);
    hline(img, left, left + pw, top + ph, AXIS);
    text(img, "HU", left + pw - 16, top + ph + 24, AXIS);
    text(img, "DENSITY", 8, top + ph + 24, AXIS);
}

/// A 2-pixel-thick line from `a` to `b` (Bresenham).
fn line(img: &mut RgbImage, a: (i64, i64), b: (i64, i64), c: Rgb<u8>) {
    let (mut x, mut y) = a;
    let (dx, dy) = ((b.0 - x).abs(), -(b.1 - y).abs());
    let (sx, sy) = (if x < b.0 { 1 } else { -1 }, if y < b.1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        put(img, x, y, c);
        put(img, x, y + 1, c);
        if (x, y) == b {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}
