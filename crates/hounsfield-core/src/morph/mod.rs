//! Binary morphology on `[z, row, col]` masks, with sizes in millimetres.
//!
//! Owns the exact Euclidean distance transform ([`edt`]), erosion, dilation,
//! opening and closing with ball, disk or box elements ([`ops`]), hole filling
//! ([`fill`]) and connected-component labelling with per-component statistics
//! ([`label`]). Everything is a pure function over `ndarray` arrays, parallel
//! with rayon and deterministic (bit-identical whatever the thread count).
//!
//! This module imports only ndarray, rayon and thiserror: no `volume`, no I/O,
//! no UI. Callers pass the grid spacing as `[z, row, col]` in mm
//! (`Geometry::spacing_zyx_mm`); a sheared (gantry-tilted) grid is treated as
//! orthogonal with that spacing.
//!
//! # Conventions
//! - A structuring element is a set of voxel offsets `d` given in mm: a ball
//!   of radius `r` holds every offset with `|d ⊙ spacing| ≤ r`, so an
//!   anisotropic grid gets an ellipsoid of voxels; a box holds every offset
//!   with `|d_a| · spacing_a ≤ half_a` per axis.
//! - Outside the array is background for dilation and foreground for erosion
//!   (as scikit-image), so closing never erodes at the array border and
//!   opening never grows there.

// ndarray views are cheap handles, passed by value like ndarray's own API.
#![allow(clippy::needless_pass_by_value)]

pub(crate) mod bounded;
pub mod edt;
pub mod fill;
pub mod label;
pub mod ops;

use ndarray::{Array3, ArrayViewMut2, Axis};
use rayon::prelude::*;

pub use edt::{distance_sq_mm, distance_sq_mm_in_plane};
pub use fill::{fill_holes_2d, fill_holes_3d};
pub use label::{
    ComponentStats, Components, Connectivity, label, label_rows, label_value, largest_component,
};
pub use ops::{Element, close, dilate, erode, open};

/// Errors of the morphology functions (bad sizes; never a panic).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MorphError {
    /// A spacing is not a positive finite number of mm.
    #[error("spacing must be positive and finite, got {spacing_zyx_mm:?} mm (z, row, col)")]
    BadSpacing {
        /// The spacing given, `[z, row, col]` mm.
        spacing_zyx_mm: [f64; 3],
    },
    /// A structuring element size is negative or not finite.
    #[error("structuring element size must be finite and >= 0, got {size_mm} mm")]
    BadElement {
        /// The size given, mm.
        size_mm: f64,
    },
}

/// Checks that every spacing is positive and finite.
pub(crate) fn check_spacing(spacing_zyx_mm: [f64; 3]) -> Result<(), MorphError> {
    if spacing_zyx_mm.iter().all(|s| s.is_finite() && *s > 0.0) {
        Ok(())
    } else {
        Err(MorphError::BadSpacing { spacing_zyx_mm })
    }
}

/// Checks that an element size is finite and non-negative.
pub(crate) fn check_size(size_mm: f64) -> Result<(), MorphError> {
    if size_mm.is_finite() && size_mm >= 0.0 {
        Ok(())
    } else {
        Err(MorphError::BadElement { size_mm })
    }
}

/// Runs `f` on every 1-D lane of `a` along `axis` (0 = z, 1 = row, 2 = col),
/// in parallel. Each lane is copied into a contiguous buffer, passed to `f`
/// with a per-thread scratch value made by `init`, and copied back.
pub(crate) fn par_lanes<T, S, I, F>(a: &mut Array3<T>, axis: usize, init: I, f: F)
where
    T: Copy + Send + Sync + Default,
    I: Fn() -> S + Sync + Send,
    F: Fn(&mut [T], &mut S) + Sync + Send,
{
    // The outer axis to parallelise over; the lanes run inside each 2-D view.
    let outer = usize::from(axis == 0);
    // Axis of the lanes inside the 2-D view left after removing `outer`.
    let inner_axis = usize::from(axis == 2);
    a.axis_iter_mut(Axis(outer)).into_par_iter().for_each_init(
        || (init(), Vec::<T>::new()),
        |(scratch, buf), plane| lanes_of_plane(plane, inner_axis, buf, scratch, &f),
    );
}

fn lanes_of_plane<T: Copy + Default, S>(
    mut plane: ArrayViewMut2<'_, T>,
    lane_axis: usize,
    buf: &mut Vec<T>,
    scratch: &mut S,
    f: &impl Fn(&mut [T], &mut S),
) {
    let n = plane.len_of(Axis(lane_axis));
    let m = plane.len_of(Axis(1 - lane_axis));
    buf.resize(n, T::default());
    for l in 0..m {
        let mut lane = plane.index_axis_mut(Axis(1 - lane_axis), l);
        if let Some(s) = lane.as_slice_mut() {
            f(s, scratch);
            continue;
        }
        for (b, v) in buf.iter_mut().zip(lane.iter()) {
            *b = *v;
        }
        f(buf, scratch);
        for (v, b) in lane.iter_mut().zip(buf.iter()) {
            *v = *b;
        }
    }
}

#[cfg(test)]
mod tests;
