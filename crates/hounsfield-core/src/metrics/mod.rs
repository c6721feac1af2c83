//! Overlap metrics between a test segmentation and a reference on one grid:
//! Dice, Jaccard, sensitivity, specificity, volume difference, 95 %
//! Hausdorff and mean surface distance in mm, per label; a JSON report and
//! an overlap picture on three planes ([`png`]).
//!
//! Pure functions over `[z, row, col]` arrays. This module imports `morph`
//! (distance transform), `volume`, `mpr` and `export::font` (picture); no I/O:
//! the CLI writes the JSON and the PNG.
//!
//! # Definitions (test `T`, reference `R`, voxel counts)
//! - Dice `2|T∩R| / (|T|+|R|)`, Jaccard `|T∩R| / |T∪R|`: **1 when both are
//!   empty**, 0 when exactly one is.
//! - Sensitivity `TP / |R|` (`None` when `R` is empty), specificity
//!   `TN / (TN + FP)` (`None` when `R` covers the whole grid).
//! - Volume difference `V(T) − V(R)` in ml; relative `(V(T) − V(R)) / V(R)`
//!   (`None` when `R` is empty).
//! - Surface voxels: set voxels with a face neighbour that is not set (or
//!   outside the array). Surface distances: from every surface voxel of one
//!   mask to the nearest surface voxel of the other, both directions, by an
//!   exact Euclidean distance transform in mm (anisotropic spacing).
//!   HD95 is the 95th percentile (linear interpolation, as `numpy`) of both
//!   directions pooled, `hausdorff_mm` their maximum, and the mean surface
//!   distance the mean of the two directed means (`MedPy`'s `hd95` and
//!   `assd`). **Both empty: 0 mm; exactly one empty: `None`** (infinite).
//!   `None` is `null` in the JSON.

// ndarray views are cheap handles, passed by value like ndarray's own API.
#![allow(clippy::needless_pass_by_value)]

pub mod png;
mod surface;
#[cfg(test)]
mod tests;

use ndarray::{ArrayView3, Axis, Zip};
use rayon::prelude::*;
use serde::Serialize;

use crate::morph::MorphError;

/// Errors of the metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Test and reference are not on the same grid.
    #[error("test shape {test:?} differs from the reference shape {reference:?} (z, row, col)")]
    Shape {
        /// Test shape.
        test: [usize; 3],
        /// Reference shape.
        reference: [usize; 3],
    },
    /// Bad spacing.
    #[error(transparent)]
    Morph(#[from] MorphError),
}

/// The metrics of one test mask against one reference mask.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overlap {
    /// What is compared (e.g. "right lung").
    pub name: String,
    /// Voxels in the test mask.
    pub test_voxels: u64,
    /// Voxels in the reference mask.
    pub reference_voxels: u64,
    /// Voxels in both.
    pub true_positive: u64,
    /// Voxels in the test only.
    pub false_positive: u64,
    /// Voxels in the reference only.
    pub false_negative: u64,
    /// Voxels in neither.
    pub true_negative: u64,
    /// Dice coefficient.
    pub dice: f64,
    /// Jaccard index.
    pub jaccard: f64,
    /// True positive rate (recall).
    pub sensitivity: Option<f64>,
    /// True negative rate.
    pub specificity: Option<f64>,
    /// Test volume, ml.
    pub test_ml: f64,
    /// Reference volume, ml.
    pub reference_ml: f64,
    /// `test_ml - reference_ml`.
    pub volume_difference_ml: f64,
    /// `volume_difference_ml / reference_ml`.
    pub relative_volume_difference: Option<f64>,
    /// 95th percentile of the surface distances, mm.
    pub hausdorff95_mm: Option<f64>,
    /// Largest surface distance, mm.
    pub hausdorff_mm: Option<f64>,
    /// Mean of the two directed mean surface distances, mm.
    pub mean_surface_distance_mm: Option<f64>,
}

/// Which label values of the test and of the reference make up one compared
/// structure (the union of the values on each side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LabelPair {
    /// Display name.
    pub name: String,
    /// Test label values.
    pub test_values: Vec<u16>,
    /// Reference label values.
    pub reference_values: Vec<u16>,
}

/// Metrics of several structures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Grid shape `[z, row, col]`.
    pub dims: [usize; 3],
    /// Grid spacing `[z, row, col]`, mm.
    pub spacing_zyx_mm: [f64; 3],
    /// One entry per compared structure.
    pub labels: Vec<Overlap>,
}

impl Report {
    /// Pretty-printed JSON (`None` values as `null`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The metrics of `test` against `reference` (same shape).
///
/// ```
/// use hounsfield_core::metrics::overlap;
/// let mut t = ndarray::Array3::from_elem((1, 1, 4), false);
/// let mut r = t.clone();
/// t[[0, 0, 0]] = true;
/// t[[0, 0, 1]] = true;
/// r[[0, 0, 1]] = true;
/// let m = overlap(t.view(), r.view(), [1.0; 3], "x").unwrap();
/// assert!((m.dice - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn overlap(
    test: ArrayView3<'_, bool>,
    reference: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    name: &str,
) -> Result<Overlap, MetricsError> {
    crate::morph::check_spacing(spacing_zyx_mm)?;
    let dims = shape_of(test);
    if dims != shape_of(reference) {
        return Err(MetricsError::Shape {
            test: dims,
            reference: shape_of(reference),
        });
    }
    let counts = confusion(test, reference);
    let distances = surface::distances(test, reference, spacing_zyx_mm)?;
    Ok(from_counts(name, counts, spacing_zyx_mm, distances))
}

/// Metrics of every pair: the test voxels whose label is one of
/// `test_values` against the reference voxels with one of
/// `reference_values`.
pub fn compare_labels<T, U>(
    test: ArrayView3<'_, T>,
    reference: ArrayView3<'_, U>,
    spacing_zyx_mm: [f64; 3],
    pairs: &[LabelPair],
) -> Result<Report, MetricsError>
where
    T: Copy + Into<u16> + Sync,
    U: Copy + Into<u16> + Sync,
{
    let dims = shape_of(test);
    if dims != shape_of(reference) {
        return Err(MetricsError::Shape {
            test: dims,
            reference: shape_of(reference),
        });
    }
    let labels = pairs
        .iter()
        .map(|p| {
            let t = select(test, &p.test_values);
            let r = select(reference, &p.reference_values);
            overlap(t.view(), r.view(), spacing_zyx_mm, &p.name)
        })
        .collect::<Result<_, _>>()?;
    Ok(Report {
        dims,
        spacing_zyx_mm,
        labels,
    })
}

/// The usual pairs: "all" (every non-zero value on both sides), then, when
/// both sides use the same several non-zero values (e.g. a reference with
/// the same label scheme), each value on its own (named by `name_of`, or
/// "label N"). A binary reference against a multi-label test gets "all"
/// only: comparing its label 1 with the test's label 1 would mean nothing.
pub fn default_pairs(
    test_values: &[u16],
    reference_values: &[u16],
    name_of: impl Fn(u16) -> Option<String>,
) -> Vec<LabelPair> {
    let nz = |v: &[u16]| v.iter().copied().filter(|&x| x != 0).collect::<Vec<_>>();
    let (t, r) = (nz(test_values), nz(reference_values));
    let mut out = vec![LabelPair {
        name: "all".into(),
        test_values: t.clone(),
        reference_values: r.clone(),
    }];
    if t == r && t.len() > 1 {
        for v in t {
            out.push(LabelPair {
                name: name_of(v).unwrap_or_else(|| format!("label {v}")),
                test_values: vec![v],
                reference_values: vec![v],
            });
        }
    }
    out
}

/// The distinct values of a label array, ascending.
pub fn present_values<T: Copy + Into<u16> + Sync>(labels: ArrayView3<'_, T>) -> Vec<u16> {
    let seen = labels
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|p| {
            let mut s = vec![false; 65536];
            for &v in p {
                s[usize::from(v.into())] = true;
            }
            s
        })
        .reduce(
            || vec![false; 65536],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x |= y;
                }
                a
            },
        );
    (0..=u16::MAX).filter(|&v| seen[usize::from(v)]).collect()
}

fn select<T: Copy + Into<u16> + Sync>(
    labels: ArrayView3<'_, T>,
    values: &[u16],
) -> ndarray::Array3<bool> {
    let mut table = vec![false; 65536];
    for &v in values {
        table[usize::from(v)] = true;
    }
    let mut out = ndarray::Array3::from_elem(labels.raw_dim(), false);
    Zip::from(&mut out)
        .and(labels)
        .par_for_each(|o, &v| *o = table[usize::from(v.into())]);
    out
}

fn shape_of<T>(a: ArrayView3<'_, T>) -> [usize; 3] {
    let s = a.shape();
    [s[0], s[1], s[2]]
}

/// `[TP, FP, FN, TN]`.
fn confusion(test: ArrayView3<'_, bool>, reference: ArrayView3<'_, bool>) -> [u64; 4] {
    test.axis_iter(Axis(0))
        .into_par_iter()
        .zip(reference.axis_iter(Axis(0)))
        .map(|(t, r)| {
            let mut c = [0u64; 4];
            for (&a, &b) in t.iter().zip(r.iter()) {
                c[match (a, b) {
                    (true, true) => 0,
                    (true, false) => 1,
                    (false, true) => 2,
                    (false, false) => 3,
                }] += 1;
            }
            c
        })
        .reduce(
            || [0; 4],
            |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]],
        )
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn from_counts(
    name: &str,
    [tp, fp, fn_, tn]: [u64; 4],
    spacing_zyx_mm: [f64; 3],
    d: surface::SurfaceDistances,
) -> Overlap {
    let voxel_ml = spacing_zyx_mm.iter().product::<f64>() / 1000.0;
    let (t, r) = (tp + fp, tp + fn_);
    let test_ml = t as f64 * voxel_ml;
    let reference_ml = r as f64 * voxel_ml;
    Overlap {
        name: name.to_owned(),
        test_voxels: t,
        reference_voxels: r,
        true_positive: tp,
        false_positive: fp,
        false_negative: fn_,
        true_negative: tn,
        dice: ratio(2 * tp, t + r).unwrap_or(1.0),
        jaccard: ratio(tp, tp + fp + fn_).unwrap_or(1.0),
        sensitivity: ratio(tp, r),
        specificity: ratio(tn, tn + fp),
        test_ml,
        reference_ml,
        volume_difference_ml: test_ml - reference_ml,
        relative_volume_difference: (r > 0).then(|| (test_ml - reference_ml) / reference_ml),
        hausdorff95_mm: d.hd95,
        hausdorff_mm: d.max,
        mean_surface_distance_mm: d.mean,
    }
}
