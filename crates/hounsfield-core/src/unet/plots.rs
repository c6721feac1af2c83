//! The evaluation's charts as RGB images (no plotting library): a histogram of per-slice scores
//! in [0, 1] with a linear or logarithmic count axis, and box plots (median, quartiles,
//! 1.5 IQR whiskers, outliers) of score groups, drawn with [`crate::export::plot`] and the
//! built-in font.

use image::{Rgb, RgbImage};

use crate::export::font::{fill_rect, text, text_width};
use crate::export::plot::{hline, put, vline};

const BG: Rgb<u8> = Rgb([255, 255, 255]);
const AXIS: Rgb<u8> = Rgb([40, 40, 40]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);
const BAR: Rgb<u8> = Rgb([46, 110, 180]);
const MEDIAN: Rgb<u8> = Rgb([200, 60, 40]);

/// Margins: left, right, top, bottom.
const MARGIN: (i64, i64, i64, i64) = (60, 20, 34, 40);

/// Histogram of `values` (clamped to [0, 1]) in `bins` equal bins, counts on a linear or
/// logarithmic axis, with a title.
pub fn score_histogram(values: &[f64], bins: usize, log_counts: bool, title: &str) -> RgbImage {
    let bins = bins.max(1);
    let mut counts = vec![0u64; bins];
    for v in values.iter().filter(|v| v.is_finite()) {
        let i = ((v.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let (w, h) = (800i64, 420i64);
    let mut img = RgbImage::from_pixel(w as u32, h as u32, BG);
    let (left, right, top, bottom) = MARGIN;
    let (pw, ph) = (w - left - right, h - top - bottom);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let height_of = |c: u64| -> f64 {
        if c == 0 {
            0.0
        } else if log_counts {
            (1.0 + (c as f64).log10()) / (1.0 + max.log10())
        } else {
            c as f64 / max
        }
    };
    // Count grid: powers of ten (log) or five steps (linear).
    let ticks: Vec<u64> = if log_counts {
        (0..=max.log10().ceil() as u32)
            .map(|e| 10u64.pow(e))
            .collect()
    } else {
        let step = nice_step(max / 5.0);
        (0..=5)
            .map(|k| k * step)
            .filter(|&c| c as f64 <= max)
            .collect()
    };
    for c in ticks {
        let y = top + ph - (height_of(c) * ph as f64).round() as i64;
        hline(&mut img, left, left + pw, y, GRID);
        let label = c.to_string();
        text(
            &mut img,
            &label,
            left - 8 - text_width(&label, 2),
            y - 5,
            AXIS,
        );
    }
    for (i, &c) in counts.iter().enumerate() {
        let x0 = left + (i as i64 * pw) / bins as i64 + 1;
        let x1 = left + ((i as i64 + 1) * pw) / bins as i64 - 1;
        let y = top + ph - (height_of(c) * ph as f64).round() as i64;
        fill_rect(&mut img, x0, y, (x1 - x0).max(1), top + ph - y, BAR);
    }
    for k in 0..=10 {
        let x = left + (k * pw) / 10;
        vline(&mut img, x, top + ph, top + ph + 4, AXIS);
        let label = format!("{:.1}", k as f64 / 10.0);
        text(
            &mut img,
            &label,
            x - text_width(&label, 2) / 2,
            top + ph + 8,
            AXIS,
        );
    }
    vline(&mut img, left, top, top + ph, AXIS);
    hline(&mut img, left, left + pw, top + ph, AXIS);
    let scale = if log_counts { "LOG COUNT" } else { "COUNT" };
    text(&mut img, &format!("{title} ({scale})"), left, 10, AXIS);
    img
}

fn nice_step(raw: f64) -> u64 {
    let raw = raw.max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude);
    step.round() as u64
}

/// Five-number summary of a box plot.
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

/// Box plots of named groups of scores on one axis from `low` to 1, with a title.
pub fn box_plots(groups: &[(String, Vec<f64>)], low: f64, title: &str) -> RgbImage {
    let n = groups.len().max(1) as i64;
    let (left, right, top, bottom) = MARGIN;
    let w = (left + right + n * 110).max(360);
    let h = 460i64;
    let mut img = RgbImage::from_pixel(w as u32, h as u32, BG);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let low = low.min(0.99);
    let y_of =
        |v: f64| top + ph - ((v.clamp(low, 1.0) - low) / (1.0 - low) * ph as f64).round() as i64;
    for k in 0..=5 {
        let v = low + (1.0 - low) * f64::from(k) / 5.0;
        let y = y_of(v);
        hline(&mut img, left, left + pw, y, GRID);
        let label = format!("{v:.2}");
        text(
            &mut img,
            &label,
            left - 8 - text_width(&label, 2),
            y - 5,
            AXIS,
        );
    }
    for (i, (name, values)) in groups.iter().enumerate() {
        let centre = left + (2 * i as i64 + 1) * pw / (2 * n);
        let half = (pw / n / 4).clamp(6, 40);
        if let Some(s) = box_stats(values) {
            vline(&mut img, centre, y_of(s.whisker_low), y_of(s.q1), AXIS);
            vline(&mut img, centre, y_of(s.q3), y_of(s.whisker_high), AXIS);
            hline(
                &mut img,
                centre - half / 2,
                centre + half / 2,
                y_of(s.whisker_low),
                AXIS,
            );
            hline(
                &mut img,
                centre - half / 2,
                centre + half / 2,
                y_of(s.whisker_high),
                AXIS,
            );
            let (y3, y1) = (y_of(s.q3), y_of(s.q1));
            fill_rect(
                &mut img,
                centre - half,
                y3,
                2 * half + 1,
                (y1 - y3).max(1),
                BAR,
            );
            for dy in -1..=1 {
                hline(
                    &mut img,
                    centre - half,
                    centre + half,
                    y_of(s.median) + dy,
                    MEDIAN,
                );
            }
            for &v in values
                .iter()
                .filter(|&&v| v < s.whisker_low || v > s.whisker_high)
            {
                let y = y_of(v);
                for (dx, dy) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)] {
                    put(&mut img, centre + dx, y + dy, AXIS);
                }
            }
        }
        let label = format!("{} N={}", shorten(name, 10), values.len());
        text(
            &mut img,
            &label,
            centre - text_width(&label, 2) / 2,
            top + ph + 10,
            AXIS,
        );
    }
    vline(&mut img, left, top, top + ph, AXIS);
    hline(&mut img, left, left + pw, top + ph, AXIS);
    text(&mut img, title, left, 10, AXIS);
    img
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_stats_known_answer() {
        let s = box_stats(&[1.0, 2.0, 3.0, 4.0, 5.0, 100.0]).unwrap();
        assert!((s.median - 3.5).abs() < 1e-12);
        assert!((s.q1 - 2.25).abs() < 1e-12);
        assert!((s.q3 - 4.75).abs() < 1e-12);
        assert!((s.whisker_low - 1.0).abs() < 1e-12);
        assert!((s.whisker_high - 5.0).abs() < 1e-12, "{s:?}");
        assert_eq!(box_stats(&[f64::NAN]), None);
    }

    #[test]
    fn histogram_and_boxes_draw_bars() {
        let values: Vec<f64> = (0..100).map(|i| 0.9 + f64::from(i) / 1000.0).collect();
        for log in [false, true] {
            let img = score_histogram(&values, 20, log, "DICE");
            assert!(img.pixels().filter(|p| **p == BAR).count() > 500);
        }
        let img = box_plots(
            &[("A".into(), values.clone()), ("B".into(), vec![0.5])],
            0.4,
            "T",
        );
        assert!(img.pixels().filter(|p| **p == MEDIAN).count() > 20);
    }
}
