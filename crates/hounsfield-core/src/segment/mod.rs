//! Automatic segmentation of CT volumes: the lungs.
//!
//! Two methods, both pure functions `fn(&Volume, &Params, &Control) ->
//! Result<Out, SegmentError>` returning a `u8` label volume on the CT grid:
//! - [`lungs::segment_lungs`], the classical 3-D pipeline (threshold, 3-D
//!   components, outside air removed, trachea and main bronchi removed, left
//!   and right lungs split, vessels and nodules filled): labels
//!   [`LABEL_RIGHT`] and [`LABEL_LEFT`];
//! - [`kmeans::kmeans_lungs`], the per-slice k-means method of the lung
//!   tutorial, kept as the baseline: label [`LABEL_LUNGS`].
//!
//! This module imports `volume`, `morph` and `seg` (for
//! [`to_segmentation`]); no I/O, no UI. Progress and cancellation go through
//! [`Control`] (the app wraps a `jobs::JobControl`); every step checks the
//! cancel flag. Sizes are in mm and ml, never in voxels.

// ndarray views are cheap handles, passed by value like ndarray's own API.
#![allow(clippy::needless_pass_by_value)]

pub mod airway;
pub mod kmeans;
pub mod lungs;
mod sides;

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::Array3;

use crate::morph::MorphError;
use crate::seg::{SegError, Segmentation};
use crate::volume::{Geometry, Volume, Voxels};

pub use kmeans::{KMeansMask, KMeansParams, KMeansReport, kmeans_lungs};
pub use lungs::{AirwayParams, FillParams, LungMask, LungParams, LungReport, segment_lungs};

/// Label of the patient's right lung (towards −x in LPS).
pub const LABEL_RIGHT: u8 = 1;
/// Label of the patient's left lung (towards +x in LPS).
pub const LABEL_LEFT: u8 = 2;
/// Label of both lungs in the k-means output (no sides).
pub const LABEL_LUNGS: u8 = 1;

/// Segment names of the classical output, for [`to_segmentation`].
pub const LUNG_NAMES: [(u8, &str); 2] = [(LABEL_RIGHT, "Right lung"), (LABEL_LEFT, "Left lung")];
/// Segment names of the k-means output.
pub const KMEANS_NAMES: [(u8, &str); 1] = [(LABEL_LUNGS, "Lungs")];

/// Errors of the segmentations.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Nothing that looks like a lung: no air component inside the body of
    /// at least the minimum volume (e.g. a head CT, a phantom without lungs).
    #[error("no lungs found: {reason}")]
    NoLungs {
        /// What was found instead.
        reason: String,
    },
    /// The slices are not axial enough for the per-slice steps.
    #[error("the slices are not axial (slice normal {normal_lps:?} in LPS); resample first")]
    NotAxial {
        /// Unit slice normal in LPS.
        normal_lps: [f64; 3],
    },
    /// The volume has no voxels.
    #[error("empty volume {dims:?}")]
    Empty {
        /// Its shape `[z, row, col]`.
        dims: [usize; 3],
    },
    /// The cancel flag was raised.
    #[error("cancelled")]
    Cancelled,
    /// A parameter is out of range.
    #[error("parameter {name} = {value} out of range ({expected})")]
    BadParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must be.
        expected: &'static str,
    },
    /// Morphology failed (bad spacing).
    #[error(transparent)]
    Morph(#[from] MorphError),
}

/// A progress callback: `(steps done, steps total, what comes next)`.
pub type ProgressFn<'a> = &'a (dyn Fn(usize, usize, &str) + Sync);

/// Progress reporting and cancellation of a running segmentation.
#[derive(Clone, Copy, Default)]
pub struct Control<'a> {
    /// Called with `(steps done, steps total, what comes next)`.
    pub progress: Option<ProgressFn<'a>>,
    /// Set to `true` to stop early with [`SegmentError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

impl Control<'_> {
    /// Reports a step and checks the cancel flag.
    pub(crate) fn step(&self, done: usize, total: usize, note: &str) -> Result<(), SegmentError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(SegmentError::Cancelled);
        }
        if let Some(p) = self.progress {
            p(done, total, note);
        }
        Ok(())
    }
}

/// A label volume of this module as a [`Segmentation`] on `geometry`, one
/// segment per name present (e.g. [`LUNG_NAMES`]).
pub fn to_segmentation(
    labels: &Array3<u8>,
    geometry: Geometry,
    names: &[(u8, &str)],
    source: &str,
) -> Result<Segmentation, SegError> {
    let wide = labels.mapv(u16::from);
    let names: Vec<(u16, String)> = names
        .iter()
        .map(|&(v, n)| (u16::from(v), n.to_owned()))
        .collect();
    Segmentation::from_label_map(wide.view(), geometry, &names, source)
}

/// Checks the volume is non-empty and its slices axial; returns whether the
/// slice index grows towards superior.
pub(crate) fn check_axial(vol: &Volume) -> Result<bool, SegmentError> {
    let dims = vol.shape();
    if dims.contains(&0) {
        return Err(SegmentError::Empty { dims });
    }
    let n = vol.geometry.slice_normal();
    if n.z.abs() < 0.7 {
        return Err(SegmentError::NotAxial {
            normal_lps: n.to_array(),
        });
    }
    Ok(vol.geometry.direction.z_axis.z > 0.0)
}

/// Volume of one voxel in ml (sheared grids included).
pub(crate) fn voxel_ml(g: &Geometry) -> f64 {
    g.world_from_voxel().matrix3.determinant().abs() / 1000.0
}

/// 6-connected components of the voxels at or below `threshold_hu` or
/// declared padding, thresholded row by row (no mask is built).
pub(crate) fn label_air(vol: &Volume, threshold_hu: f32) -> crate::morph::Components {
    fn fill<T: Copy>(buf: &mut [bool], row: ndarray::ArrayView1<'_, T>, air: impl Fn(T) -> bool) {
        match row.as_slice() {
            Some(r) => buf.iter_mut().zip(r).for_each(|(b, &v)| *b = air(v)),
            None => buf.iter_mut().zip(row).for_each(|(b, &v)| *b = air(v)),
        }
    }
    let pad = vol.has_padding().then(|| vol.padding_mask());
    // Integer HU compare exactly against the threshold's floor.
    let t16 = threshold_hu.floor().clamp(-32768.0, 32767.0) as i16;
    crate::morph::label_rows(
        vol.shape(),
        crate::morph::Connectivity::Face,
        |z, y, buf| {
            let s = ndarray::s![z, y, ..];
            match &vol.voxels {
                Voxels::I16(a) => fill(buf, a.slice(s), |v| v <= t16),
                Voxels::F32(a) => fill(buf, a.slice(s), |v| v <= threshold_hu),
            }
            if let Some(p) = &pad {
                for (b, &v) in buf.iter_mut().zip(p.slice(s)) {
                    *b = *b || v;
                }
            }
        },
    )
}

/// Median HU (to the nearest integer, within −1024..=3071) of the voxels
/// where `pred(mask value)` holds; `None` when there is none.
pub(crate) fn median_hu<T: Copy + Sync>(
    vol: &Volume,
    mask: &Array3<T>,
    pred: impl Fn(T) -> bool + Sync,
) -> Option<f32> {
    use ndarray::{Axis, Zip};
    use rayon::prelude::*;
    const LO: i32 = -1024;
    const BINS: usize = 4096;
    let bin = |h: f32| (h.round().clamp(-1024.0, 3071.0) as i32 - LO) as usize;
    let plane_hist = |z: usize| {
        let mut hist = vec![0u64; BINS];
        let m = mask.index_axis(Axis(0), z);
        match &vol.voxels {
            Voxels::I16(a) => Zip::from(&m)
                .and(a.index_axis(Axis(0), z))
                .for_each(|&m, &h| {
                    if pred(m) {
                        hist[(i32::from(h).clamp(-1024, 3071) - LO) as usize] += 1;
                    }
                }),
            Voxels::F32(a) => Zip::from(&m)
                .and(a.index_axis(Axis(0), z))
                .for_each(|&m, &h| {
                    if pred(m) {
                        hist[bin(h)] += 1;
                    }
                }),
        }
        hist
    };
    let hist = (0..mask.shape()[0]).into_par_iter().map(plane_hist).reduce(
        || vec![0u64; BINS],
        |mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            a
        },
    );
    let total: u64 = hist.iter().sum();
    let mut seen = 0;
    for (i, &n) in hist.iter().enumerate() {
        seen += n;
        if total > 0 && 2 * seen >= total {
            return Some((i as i32 + LO) as f32);
        }
    }
    None
}

#[cfg(test)]
mod tests;
