//! Per-series HU histograms for the survey: decode one series, take its
//! percentiles and a winsorised histogram on the common grid, drop the
//! volume; and the robust shifted-distribution test across series.
//!
//! Winsorising is done on the histogram, not on a copy of the volume: every
//! bin below the bin of the low percentile is added to that bin (and the
//! same above the high one), which is the histogram of the winsorised volume
//! at bin resolution.

use crate::dicom::{self, Limits, LoadControl, SeriesInfo};
use crate::volume::ops::{self, Histogram, HistogramParams};

use super::{REPORTED_PERCENTILES, SurveyParams};

/// What one decoded series contributes to the survey.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesHistogram {
    /// Winsorised histogram on the common grid of [`SurveyParams`].
    pub histogram: Histogram,
    /// HU at [`REPORTED_PERCENTILES`].
    pub percentiles_hu: [f64; 5],
    /// The winsorising bounds (HU).
    pub winsor_hu: [f64; 2],
}

/// Decode `s` and compute its [`SeriesHistogram`]; `Err` says why not (the
/// layout failed, the series is too large, decoding failed).
pub fn series_histogram(s: &SeriesInfo, params: &SurveyParams) -> Result<SeriesHistogram, String> {
    let layout = s
        .layout
        .as_ref()
        .map_err(|e| format!("not assembled: {e}"))?;
    let voxels: u64 = layout.geometry.dims.iter().map(|&d| d as u64).product();
    if voxels > params.max_voxels {
        return Err(format!(
            "{voxels} voxels exceed the limit of {}",
            params.max_voxels
        ));
    }
    let limits = Limits {
        max_voxels: params.max_voxels,
    };
    let loaded = dicom::load_info(s, &limits, &LoadControl::default())
        .map_err(|e| format!("decode failed: {e}"))?;
    let (p_lo, p_hi) = params.winsor_percentiles;
    let mut ps = vec![p_lo, p_hi];
    ps.extend_from_slice(&REPORTED_PERCENTILES);
    let v = ops::percentiles(&loaded.volume, &ps);
    if v.iter().any(|x| !x.is_finite()) {
        return Err("no finite voxels".to_owned());
    }
    let bins = ((params.hist_max_hu - params.hist_min_hu) / params.hist_bin_hu)
        .round()
        .max(1.0) as usize;
    let raw = ops::histogram(
        &loaded.volume,
        &HistogramParams {
            min_hu: params.hist_min_hu,
            max_hu: params.hist_min_hu + bins as f64 * params.hist_bin_hu,
            bins,
        },
    );
    Ok(SeriesHistogram {
        histogram: winsorise_histogram(&raw, v[0], v[1]),
        percentiles_hu: [v[2], v[3], v[4], v[5], v[6]],
        winsor_hu: [v[0], v[1]],
    })
}

/// The histogram of the values clamped to `lo_hu..=hi_hu`, at bin
/// resolution: counts outside the bins of `lo_hu`/`hi_hu` (including the
/// under- and overflow) move into those bins.
pub fn winsorise_histogram(h: &Histogram, lo_hu: f64, hi_hu: f64) -> Histogram {
    let n = h.counts.len();
    if n == 0 {
        return h.clone();
    }
    let bin_of = |v: f64| -> usize {
        let b = ((v - h.min_hu) / h.bin_width_hu).floor();
        if b.is_nan() || b < 0.0 {
            0
        } else {
            (b as usize).min(n - 1)
        }
    };
    let (lo, hi) = (bin_of(lo_hu), bin_of(hi_hu.max(lo_hu)));
    let mut counts = vec![0u64; n];
    for (i, &c) in h.counts.iter().enumerate() {
        counts[i.clamp(lo, hi)] += c;
    }
    counts[lo] += h.below;
    counts[hi] += h.above;
    Histogram {
        min_hu: h.min_hu,
        bin_width_hu: h.bin_width_hu,
        counts,
        below: 0,
        above: 0,
    }
}

/// Result of [`detect_shifts`] for one series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shift {
    /// Median of the quartile offsets from the across-series medians (HU);
    /// `None` without quartiles or with fewer than 3 series having them.
    pub offset_hu: Option<f64>,
    /// The distribution is shifted.
    pub shifted: bool,
}

/// Flag series whose HU distribution is shifted from the others'.
///
/// `quartiles_hu[i]` holds (p25, p50, p75) of series `i`. For each quartile
/// the reference is the median over all series that have quartiles (robust
/// to a minority of odd series). A series' offsets are its quartiles minus
/// the references; its shift is the median offset. It is flagged when
/// `|shift| > threshold_hu`, all three offsets have the sign of the shift
/// and each exceeds half the threshold (the whole distribution moved, not
/// just its shape). Needs at least 3 series with quartiles, otherwise
/// nothing is computed.
pub fn detect_shifts(quartiles_hu: &[Option<[f64; 3]>], threshold_hu: f64) -> Vec<Shift> {
    let none = Shift {
        offset_hu: None,
        shifted: false,
    };
    let present: Vec<[f64; 3]> = quartiles_hu.iter().flatten().copied().collect();
    if present.len() < 3 {
        return vec![none; quartiles_hu.len()];
    }
    let reference: [f64; 3] =
        std::array::from_fn(|q| median(present.iter().map(|p| p[q]).collect()));
    quartiles_hu
        .iter()
        .map(|q| {
            let Some(q) = q else { return none };
            let d: [f64; 3] = std::array::from_fn(|k| q[k] - reference[k]);
            let shift = median(d.to_vec());
            let agree = d
                .iter()
                .all(|&x| x.signum() == shift.signum() && x.abs() > threshold_hu / 2.0);
            Shift {
                offset_hu: Some(shift),
                shifted: shift.abs() > threshold_hu && agree,
            }
        })
        .collect()
}

/// Median (mean of the two middle values for even counts); NaN when empty.
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winsorising_moves_tails_into_the_bound_bins() {
        let h = Histogram {
            min_hu: 0.0,
            bin_width_hu: 10.0,
            counts: vec![1, 2, 3, 4, 5],
            below: 7,
            above: 9,
        };
        let w = winsorise_histogram(&h, 15.0, 31.0);
        assert_eq!(w.counts, vec![0, 1 + 2 + 7, 3, 4 + 5 + 9, 0]);
        assert_eq!(w.counts.iter().sum::<u64>(), 31);
    }

    #[test]
    fn a_shifted_series_is_flagged_and_only_it() {
        let q = |o: f64| Some([-500.0 + o, 20.0 + o, 60.0 + o]);
        let s = detect_shifts(&[q(0.0), q(1.0), q(24.0), None, q(-2.0)], 12.0);
        let flagged: Vec<bool> = s.iter().map(|x| x.shifted).collect();
        assert_eq!(flagged, vec![false, false, true, false, false]);
        assert!((s[2].offset_hu.unwrap() - 23.5).abs() < 1e-9);
        assert_eq!(s[3].offset_hu, None);
        // fewer than three series: nothing computed
        assert!(
            detect_shifts(&[q(0.0), q(30.0)], 12.0)
                .iter()
                .all(|x| x.offset_hu.is_none())
        );
    }
}
