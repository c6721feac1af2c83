//! The survey's histogram figure: every series' winsorised HU histogram as
//! one coloured line on shared axes (a [`Chart`], drawn by
//! [`crate::figure`] as PNG or SVG, or by the viewer), the legend naming
//! each series by row and short label (shifted series marked).
//!
//! x is HU over the union of the winsorising bounds, within the common
//! histogram grid; y is the density (fraction of voxels per HU), shown up
//! to 1.25 × the median over series of each series' highest interior bin,
//! so that one very peaked series does not flatten the others (taller
//! peaks and the winsorised end bins, which hold the clamped tails, are
//! clipped at the top).

use image::RgbImage;

use super::{Survey, SurveyRow};
use crate::figure::{Chart, FigureError, Layer, colour};

/// Series named in the legend at most (the rest are drawn, unnamed).
const MAX_LEGEND: usize = 12;
/// Legend labels are cut to this many characters.
const LABEL_CHARS: usize = 28;

/// Every histogram of `s` on one chart (no layers when there are none).
pub fn histograms_chart(s: &Survey) -> Chart {
    let mut chart = Chart {
        title: format!(
            "HU histograms of {} series (winsorised)",
            s.histograms.len()
        ),
        x_label: "HU".into(),
        y_label: "fraction of voxels per HU".into(),
        x_range: (s.params.hist_min_hu, s.params.hist_max_hu),
        y_range: (0.0, 1.0),
        y_log: false,
        categories: None,
        layers: Vec::new(),
    };
    // x range: union of the winsorising bounds, one bin of margin.
    let bounds = s.rows.iter().filter_map(|r| r.winsor_hu).fold(
        None,
        |acc: Option<(f64, f64)>, [lo, hi]| {
            Some(acc.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
        },
    );
    let Some((lo_hu, hi_hu)) = bounds else {
        return chart;
    };
    let (grid_lo, grid_hi) = (s.params.hist_min_hu, s.params.hist_max_hu);
    let bin = s.params.hist_bin_hu;
    let lo = (lo_hu - bin).clamp(grid_lo, grid_hi - 2.0 * bin);
    let hi = (hi_hu + bin).clamp(lo + 2.0 * bin, grid_hi);
    chart.x_range = (lo, hi);

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
    let y_max = peaks.get(peaks.len() / 2).map_or(1.0, |p| p * 1.25);
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    chart.y_range = (0.0, y_max);

    for (k, ((row, hist), d)) in s.histograms.iter().zip(&densities).enumerate() {
        let points = d
            .iter()
            .enumerate()
            .map(|(i, &v)| (hist.bin_centre_hu(i), v.min(y_max)))
            .filter(|&(hu, _)| hu >= lo && hu <= hi)
            .collect();
        let name = match k.cmp(&MAX_LEGEND) {
            std::cmp::Ordering::Less => {
                let r = s.rows.iter().find(|r| r.index == *row);
                let label: String = r
                    .map(SurveyRow::short_label)
                    .unwrap_or_default()
                    .chars()
                    .take(LABEL_CHARS)
                    .collect();
                let mark = if r.is_some_and(|r| r.shifted) {
                    " (shifted)"
                } else {
                    ""
                };
                format!("#{row} {label}{mark}")
            }
            std::cmp::Ordering::Equal => format!("+{} more", s.histograms.len() - MAX_LEGEND),
            std::cmp::Ordering::Greater => String::new(),
        };
        chart.layers.push(Layer::Line {
            name,
            colour: colour(k),
            points,
        });
    }
    chart
}

/// The histogram figure as a PNG-ready image.
pub fn histograms_png(s: &Survey) -> Result<RgbImage, FigureError> {
    crate::figure::png(&histograms_chart(s), 1100, 540)
}
