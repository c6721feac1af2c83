//! The per-slice k-means lung mask of the lung tutorial (`make_lungmask`),
//! kept as the baseline, with structuring sizes in mm.
//!
//! # Method (per axial slice, as the tutorial)
//! 1. Standardise the slice: `(HU − mean) / std`.
//! 2. Take the central region (rows and columns from 1/5 to 4/5) and its
//!    mean; replace the slice's maximum and minimum values by that mean.
//! 3. Two k-means clusters of the central region's values; the threshold is
//!    the mean of the two centres. In 1-D two-means has an exact solution:
//!    the split of the sorted values with the least within-cluster sum of
//!    squares, used here instead of Lloyd iterations from random starts
//!    (same optimum, deterministic).
//! 4. Lung and air = below the threshold; erosion with a box of
//!    `erosion_mm` (tutorial 3 × 3 pixels), dilation with `dilation_mm`
//!    (8 × 8), 8-connected 2-D components.
//! 5. Keep the components whose bounding box is less than 9/10 of the slice
//!    high and wide, starts below the first fifth of the rows and ends
//!    above the last fifth (the tutorial compares the end row with the
//!    column count; equal for square slices), then dilate with
//!    `final_dilation_mm` (10 × 10).
//!
//! Box sides in mm become `n = max(1, round(side / pixel))` pixels; even
//! sizes are centred as the odd size above (`2·⌊n/2⌋ + 1`), where
//! scikit-image shifts them by half a pixel. Every step except the
//! threshold runs on the whole stack at once with in-plane elements.

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Axis, Zip};
use rayon::prelude::*;
use serde::Serialize;

use super::{Control, LABEL_LUNGS, SegmentError, check_axial, voxel_ml};
use crate::morph::{Connectivity, Element, dilate, erode, label};
use crate::volume::Volume;

/// Parameters of [`kmeans_lungs`]: box sides in mm. The defaults are the
/// tutorial's 3, 8 and 10 pixels at 0.75 mm (a typical chest CT pixel).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KMeansParams {
    /// Side of the erosion box, mm.
    pub erosion_mm: f64,
    /// Side of the dilation box, mm.
    pub dilation_mm: f64,
    /// Side of the final dilation box, mm.
    pub final_dilation_mm: f64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self {
            erosion_mm: 2.25,
            dilation_mm: 6.0,
            final_dilation_mm: 7.5,
        }
    }
}

/// What [`kmeans_lungs`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KMeansReport {
    /// Threshold per slice in HU (`None` for a constant slice).
    pub thresholds_hu: Vec<Option<f64>>,
    /// Volume of the mask, ml.
    pub lung_ml: f64,
    /// Wall-clock time, s.
    pub seconds: f64,
}

/// The mask and the report.
#[derive(Clone, Debug)]
pub struct KMeansMask {
    /// `[z, row, col]`: 0 background, [`LABEL_LUNGS`].
    pub labels: ndarray::Array3<u8>,
    /// Thresholds and volume.
    pub report: KMeansReport,
}

/// The tutorial's k-means lung mask of `vol` (see the module documentation).
pub fn kmeans_lungs(
    vol: &Volume,
    params: &KMeansParams,
    control: &Control<'_>,
) -> Result<KMeansMask, SegmentError> {
    let t0 = Instant::now();
    check_axial(vol)?;
    for (name, v) in [
        ("erosion_mm", params.erosion_mm),
        ("dilation_mm", params.dilation_mm),
        ("final_dilation_mm", params.final_dilation_mm),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(SegmentError::BadParameter {
                name,
                value: v,
                expected: "finite and >= 0",
            });
        }
    }
    let g = &vol.geometry;
    let spacing = g.spacing_zyx_mm();
    control.step(0, 4, "thresholds")?;
    let hu = vol.voxels.to_f32();
    let [nz, ny, nx] = vol.shape();
    let mut mask = ndarray::Array3::from_elem((nz, ny, nx), false);
    let thresholds_hu: Vec<Option<f64>> = mask
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(hu.axis_iter(Axis(0)))
        .map(|(mut m, h)| {
            let (t, below) = threshold_slice(h);
            m.assign(&below);
            t
        })
        .collect();
    drop(hu);
    control.step(1, 4, "erosion and dilation")?;
    let boxed = |side_mm: f64| Element::Box {
        half_zyx_mm: [
            0.0,
            half_mm(side_mm, spacing[1]),
            half_mm(side_mm, spacing[2]),
        ],
    };
    let eroded = erode(mask.view(), spacing, boxed(params.erosion_mm))?;
    let dilated = dilate(eroded.view(), spacing, boxed(params.dilation_mm))?;
    drop(eroded);
    control.step(2, 4, "regions")?;
    let comps = label(dilated.view(), Connectivity::SliceFull);
    let (rows, cols) = (ny as f64, nx as f64);
    let good = comps.mask_where(|l| {
        comps.get(l).is_some_and(|s| {
            let (r0, c0) = (s.lo[1] as f64, s.lo[2] as f64);
            let (r1, c1) = ((s.hi[1] + 1) as f64, (s.hi[2] + 1) as f64);
            r1 - r0 < rows / 10.0 * 9.0
                && c1 - c0 < cols / 10.0 * 9.0
                && r0 > rows / 5.0
                && r1 < cols / 5.0 * 4.0
        })
    });
    control.step(3, 4, "final dilation")?;
    let fin = dilate(good.view(), spacing, boxed(params.final_dilation_mm))?;
    let labels = fin.mapv(|b| if b { LABEL_LUNGS } else { 0 });
    let n = fin.iter().filter(|&&b| b).count();
    control.step(4, 4, "done")?;
    Ok(KMeansMask {
        labels,
        report: KMeansReport {
            thresholds_hu,
            lung_ml: n as f64 * voxel_ml(g),
            seconds: t0.elapsed().as_secs_f64(),
        },
    })
}

/// Half-size in mm of a box of `side_mm` on pixels of `pixel_mm`: `⌊n/2⌋`
/// pixels with `n = max(1, round(side / pixel))`.
fn half_mm(side_mm: f64, pixel_mm: f64) -> f64 {
    let n = ((side_mm / pixel_mm).round() as usize).max(1);
    (n / 2) as f64 * pixel_mm
}

/// Steps 1–4 of one slice: the threshold (HU) and the thresholded slice.
fn threshold_slice(h: ArrayView2<'_, f32>) -> (Option<f64>, Array2<bool>) {
    let (ny, nx) = h.dim();
    let n = (ny * nx) as f64;
    let mean = h.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = h
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt();
    if !(std > 0.0 && std.is_finite()) {
        return (None, Array2::from_elem((ny, nx), false));
    }
    let mut img = h.mapv(|v| (f64::from(v) - mean) / std);
    let (r0, r1) = ((ny as f64 / 5.0) as usize, (ny as f64 / 5.0 * 4.0) as usize);
    let (c0, c1) = ((nx as f64 / 5.0) as usize, (nx as f64 / 5.0 * 4.0) as usize);
    let middle_mean = {
        let mid = img.slice(ndarray::s![r0..r1, c0..c1]);
        mid.iter().sum::<f64>() / mid.len().max(1) as f64
    };
    let max = img.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = img.iter().copied().fold(f64::INFINITY, f64::min);
    // Exact matches, as numpy's `img[img == max] = mean`.
    img.mapv_inplace(|v| {
        if v.total_cmp(&max).is_eq() || v.total_cmp(&min).is_eq() {
            middle_mean
        } else {
            v
        }
    });
    let mut mid: Vec<f64> = img
        .slice(ndarray::s![r0..r1, c0..c1])
        .iter()
        .copied()
        .collect();
    let Some(t) = two_means_threshold(&mut mid) else {
        return (None, Array2::from_elem((ny, nx), false));
    };
    let mut out = Array2::from_elem((ny, nx), false);
    Zip::from(&mut out).and(&img).for_each(|o, &v| *o = v < t);
    (Some(t * std + mean), out)
}

/// The mean of the two centres of the optimal 1-D two-means clustering of
/// `v` (sorted in place); `None` with fewer than two distinct values.
pub(crate) fn two_means_threshold(v: &mut [f64]) -> Option<f64> {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    let total: f64 = v.iter().sum();
    let (mut left, mut best): (f64, Option<(f64, f64)>) = (0.0, None);
    for i in 1..n {
        left += v[i - 1];
        if v[i - 1].total_cmp(&v[i]).is_eq() {
            continue;
        }
        let (ml, mr) = (left / i as f64, (total - left) / (n - i) as f64);
        // Minimising the within-cluster sum of squares is maximising
        // i·ml² + (n−i)·mr².
        let score = i as f64 * ml * ml + (n - i) as f64 * mr * mr;
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, 0.5 * (ml + mr)));
        }
    }
    best.map(|(_, t)| t)
}
