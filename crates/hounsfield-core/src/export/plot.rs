//! Small PNG plots drawn without a plotting library: a HU histogram with
//! axes, tick labels (the built-in 3×5 font of [`super::font`]) and a log or
//! linear scale.

use image::{Rgb, RgbImage};

use super::font::text;
use crate::volume::ops::Histogram;

/// Options of [`histogram_png`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotOptions {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Logarithmic count axis.
    pub log_counts: bool,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            width: 900,
            height: 420,
            log_counts: true,
        }
    }
}

const BG: Rgb<u8> = Rgb([255, 255, 255]);
const AXIS: Rgb<u8> = Rgb([40, 40, 40]);
const GRID: Rgb<u8> = Rgb([225, 225, 225]);
const BAR: Rgb<u8> = Rgb([46, 110, 180]);

/// Draw a histogram: x = HU, y = count (log or linear), ticks every
/// 250/500/1000 HU labelled.
pub fn histogram_png(h: &Histogram, opts: &PlotOptions) -> RgbImage {
    let (w, ht) = (opts.width.max(200), opts.height.max(120));
    let mut img = RgbImage::from_pixel(w, ht, BG);
    let (left, right, top, bottom) = (50i64, 15i64, 15i64, 30i64);
    let pw = i64::from(w) - left - right;
    let ph = i64::from(ht) - top - bottom;
    let n = h.counts.len().max(1);
    let max = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let scale = |c: u64| -> f64 {
        if opts.log_counts {
            if c == 0 {
                0.0
            } else {
                (1.0 + (c as f64).ln()) / (1.0 + max.ln())
            }
        } else {
            c as f64 / max
        }
    };
    let lo = h.min_hu;
    let hi = h.min_hu + h.bin_width_hu * n as f64;
    let x_of = |hu: f64| left + ((hu - lo) / (hi - lo) * pw as f64).round() as i64;

    // grid + ticks
    let span = hi - lo;
    let step = if span > 3000.0 {
        1000.0
    } else if span > 1200.0 {
        500.0
    } else if span > 400.0 {
        250.0
    } else {
        50.0
    };
    let mut t = (lo / step).ceil() * step;
    while t <= hi {
        let x = x_of(t);
        vline(&mut img, x, top, top + ph, GRID);
        vline(&mut img, x, top + ph, top + ph + 4, AXIS);
        text(&mut img, &format!("{t:.0}"), x - 6, top + ph + 8, AXIS);
        t += step;
    }
    // bars
    for (i, &c) in h.counts.iter().enumerate() {
        let x0 = left + (i as i64 * pw) / n as i64;
        let x1 = (left + ((i as i64 + 1) * pw) / n as i64).max(x0 + 1);
        let y = top + ph - (scale(c) * ph as f64).round() as i64;
        for x in x0..x1 {
            vline(&mut img, x, y, top + ph, BAR);
        }
    }
    // axes
    vline(&mut img, left, top, top + ph, AXIS);
    hline(&mut img, left, left + pw, top + ph, AXIS);
    text(
        &mut img,
        if opts.log_counts { "LOG" } else { "LIN" },
        6,
        top,
        AXIS,
    );
    text(&mut img, "HU", left + pw - 12, top + ph + 20, AXIS);
    img
}

/// Set one pixel; coordinates outside the image are ignored.
pub fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && x < i64::from(img.width()) && y < i64::from(img.height()) {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// A vertical line from `y0` to `y1` (inclusive), clipped.
pub fn vline(img: &mut RgbImage, x: i64, y0: i64, y1: i64, c: Rgb<u8>) {
    for y in y0.min(y1)..=y0.max(y1) {
        put(img, x, y, c);
    }
}

/// A horizontal line from `x0` to `x1` (inclusive), clipped.
pub fn hline(img: &mut RgbImage, x0: i64, x1: i64, y: i64, c: Rgb<u8>) {
    for x in x0.min(x1)..=x0.max(x1) {
        put(img, x, y, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_drawn_where_counts_are() {
        let h = Histogram {
            min_hu: -1000.0,
            bin_width_hu: 100.0,
            counts: vec![0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5],
            below: 0,
            above: 0,
        };
        let img = histogram_png(
            &h,
            &PlotOptions {
                width: 450,
                height: 200,
                log_counts: false,
            },
        );
        let bar_pixels = img.pixels().filter(|p| **p == BAR).count();
        assert!(bar_pixels > 100);
        // no bar in the first (empty) bin column
        let x_first = 50 + 2;
        assert!((0..img.height()).all(|y| *img.get_pixel(x_first, y) != BAR));
    }
}
