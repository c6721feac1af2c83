//! Segment effects: threshold, morphology in mm, margins and shells, islands,
//! hole filling, logical operations and smoothing, each a pure function from
//! full-grid masks to a full-grid mask.
//!
//! Owns the effects' parameters and errors ([`EffectError`]) and the volume
//! report ([`VolumeChange`]). The heavy lifting is `morph`'s (exact distance
//! transform, ball and disk elements, connected components, hole filling);
//! this module fixes the conventions 3D Slicer's and `scipy.ndimage`'s users
//! expect. To apply a result to a segment as one undoable step, pass it to
//! [`edit::replace_mask`](super::edit::replace_mask).
//!
//! This module imports only `seg`, `volume`, `morph`, ndarray, rayon and
//! thiserror: no I/O, no UI. Everything is deterministic.
//!
//! # Conventions
//! - Masks are full-grid `[z, row, col]` `bool` arrays (views in, owned
//!   arrays out); a cropped [`Mask`](super::Mask) converts with
//!   [`Mask::to_full`](super::Mask::to_full) and
//!   [`Mask::from_full`](super::Mask::from_full). Spacing is `[z, row, col]` in mm
//!   (`Geometry::spacing_zyx_mm`).
//! - A ball (disc) of radius `R` is the set of voxel offsets `d` (in-plane
//!   offsets, `d_z = 0`) whose physical length `|d ⊙ spacing|` is at most `R`
//!   (compared as `|d ⊙ spacing|² ≤ R²·(1 + 10⁻⁶) + 10⁻⁹` mm², so offsets
//!   exactly at the radius count despite rounding).
//! - **Voxels outside the volume are background** for every effect
//!   (`scipy.ndimage`'s `border_value=0`): erosion and shrinking eat into a
//!   mask that touches the volume's border, and closing does too.
//! - Islands are connected components with 26-connectivity (face, edge and
//!   corner neighbours) unless a function is given [`Neighbours::Six`].

// ndarray views are cheap handles, passed by value like ndarray's own API.
#![allow(clippy::needless_pass_by_value)]

mod islands;
mod morphology;
#[cfg(test)]
mod tests;

use ndarray::{Array3, ArrayView3, Zip};
use rayon::prelude::*;

use crate::morph::MorphError;
use crate::volume::{Volume, Voxels};

pub use islands::{fill_holes, keep_largest, remove_smaller, split};
pub use morphology::{hollow, margin, morphology, smooth};

/// Errors of the effects (bad input; never a panic).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EffectError {
    /// Two inputs are not on the same grid.
    #[error("{what}: shape {got:?} differs from the grid's {want:?}")]
    Shape {
        /// Which input.
        what: String,
        /// Its shape `[z, row, col]`.
        got: [usize; 3],
        /// The grid's shape.
        want: [usize; 3],
    },
    /// A HU range is not finite or has `lo > hi`.
    #[error("HU range must be finite with lo <= hi, got {lo_hu} ..= {hi_hu}")]
    BadRange {
        /// Lower bound, HU.
        lo_hu: f32,
        /// Upper bound, HU.
        hi_hu: f32,
    },
    /// A distance (radius, margin, thickness) is not finite, or negative
    /// where it must not be.
    #[error("{what} must be a finite number of mm{}, got {value_mm} mm", if *.signed { "" } else { " >= 0" })]
    BadDistance {
        /// Which parameter.
        what: &'static str,
        /// The value given, mm.
        value_mm: f64,
        /// Whether negative values are allowed.
        signed: bool,
    },
    /// A volume threshold is negative or not finite.
    #[error("minimum island volume must be finite and >= 0, got {min_ml} ml")]
    BadVolume {
        /// The value given, ml.
        min_ml: f64,
    },
    /// A logical operation between two segments was given only one.
    #[error("{op:?} needs a second mask")]
    MissingOperand {
        /// The operation.
        op: LogicOp,
    },
    /// Bad spacing (from the morphology).
    #[error(transparent)]
    Morph(#[from] MorphError),
}

/// Morphological operation of [`morphology`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MorphOp {
    /// Keeps the voxels whose ball lies inside the mask.
    Erode,
    /// Adds the voxels whose ball meets the mask.
    Dilate,
    /// Erosion then dilation: removes what the ball does not fit in.
    Open,
    /// Dilation then erosion: fills gaps and dents narrower than the ball.
    Close,
}

/// Which voxels touch, for islands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Neighbours {
    /// The 6 face neighbours.
    Six,
    /// The 26 face, edge and corner neighbours (the default).
    #[default]
    TwentySix,
}

impl Neighbours {
    /// `morph`'s connectivity.
    pub(crate) fn connectivity(self) -> crate::morph::Connectivity {
        match self {
            Self::Six => crate::morph::Connectivity::Face,
            Self::TwentySix => crate::morph::Connectivity::Full,
        }
    }
}

/// Logical operation of [`logic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicOp {
    /// `a ∪ b`.
    Union,
    /// `a ∩ b`.
    Intersect,
    /// `a \ b`.
    Subtract,
    /// Every voxel of the grid not in `a` (`b` unused).
    Invert,
}

/// Smoothing method of [`smooth`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmoothMethod {
    /// Majority vote in the ball: a voxel is set when more than half of the
    /// ball's voxels (outside the volume counting as background) are set.
    Median,
    /// Closing then opening with the ball: fills dents and gaps, then
    /// removes bumps and threads narrower than the ball.
    ClosingOpening,
}

/// A mask's size before and after an effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VolumeChange {
    /// Set voxels before.
    pub voxels_before: usize,
    /// Set voxels after.
    pub voxels_after: usize,
    /// Volume before, ml.
    pub ml_before: f64,
    /// Volume after, ml.
    pub ml_after: f64,
}

impl VolumeChange {
    /// The change from `before` to `after` on a grid of spacing
    /// `spacing_zyx_mm`.
    pub fn between(
        before: ArrayView3<'_, bool>,
        after: ArrayView3<'_, bool>,
        spacing_zyx_mm: [f64; 3],
    ) -> Self {
        let (voxels_before, voxels_after) = (count(before), count(after));
        Self {
            voxels_before,
            voxels_after,
            ml_before: ml_of(voxels_before, spacing_zyx_mm),
            ml_after: ml_of(voxels_after, spacing_zyx_mm),
        }
    }

    /// Relative change of volume, percent (0 when both are empty, infinite
    /// when the mask was empty before).
    pub fn percent(&self) -> f64 {
        match (self.voxels_before, self.voxels_after) {
            (0, 0) => 0.0,
            (0, _) => f64::INFINITY,
            (b, a) => (a as f64 - b as f64) / b as f64 * 100.0,
        }
    }
}

/// Volume of `voxels` voxels in ml (1 ml = 1000 mm³).
pub fn ml_of(voxels: usize, spacing_zyx_mm: [f64; 3]) -> f64 {
    voxels as f64 * spacing_zyx_mm.iter().product::<f64>() / 1000.0
}

/// Number of set voxels.
pub fn count(mask: ArrayView3<'_, bool>) -> usize {
    mask.axis_iter(ndarray::Axis(0))
        .into_par_iter()
        .map(|p| p.iter().filter(|&&b| b).count())
        .sum()
}

/// The voxels whose HU lies in `lo_hu ..= hi_hu` (NaN never does), only
/// within `inside` when given.
///
/// ```
/// use hounsfield_core::seg::effects::threshold;
/// use hounsfield_core::volume::{Geometry, Volume};
/// let v = Volume::from_i16(ndarray::Array3::from_shape_vec((1, 1, 3), vec![-5, 0, 5]).unwrap(), Geometry::identity([1, 1, 3]));
/// let m = threshold(&v, 0.0, 10.0, None).unwrap();
/// assert_eq!(m.iter().copied().collect::<Vec<_>>(), [false, true, true]);
/// ```
pub fn threshold(
    volume: &Volume,
    lo_hu: f32,
    hi_hu: f32,
    inside: Option<ArrayView3<'_, bool>>,
) -> Result<Array3<bool>, EffectError> {
    if !(lo_hu.is_finite() && hi_hu.is_finite() && lo_hu <= hi_hu) {
        return Err(EffectError::BadRange { lo_hu, hi_hu });
    }
    let dims = volume.shape();
    if let Some(m) = &inside {
        check_shape("inside mask", m, dims)?;
    }
    let mut out = Array3::from_elem(dims, false);
    match &volume.voxels {
        Voxels::I16(a) => Zip::from(&mut out)
            .and(a)
            .par_for_each(|o, &v| *o = (lo_hu..=hi_hu).contains(&f32::from(v))),
        Voxels::F32(a) => Zip::from(&mut out)
            .and(a)
            .par_for_each(|o, &v| *o = (lo_hu..=hi_hu).contains(&v)),
    }
    if let Some(m) = inside {
        Zip::from(&mut out).and(m).par_for_each(|o, &i| *o &= i);
    }
    Ok(out)
}

/// `op` of `a` and `b` voxel by voxel (`b` is needed except for
/// [`LogicOp::Invert`], and must be on `a`'s grid).
pub fn logic(
    op: LogicOp,
    a: ArrayView3<'_, bool>,
    b: Option<ArrayView3<'_, bool>>,
) -> Result<Array3<bool>, EffectError> {
    let f: fn(bool, bool) -> bool = match op {
        LogicOp::Union => |x, y| x || y,
        LogicOp::Intersect => |x, y| x && y,
        LogicOp::Subtract => |x, y| x && !y,
        LogicOp::Invert => return Ok(invert(a)),
    };
    let b = b.ok_or(EffectError::MissingOperand { op })?;
    check_shape("second mask", &b, shape_of(&a))?;
    let mut out = a.to_owned();
    Zip::from(&mut out)
        .and(b)
        .par_for_each(|o, &y| *o = f(*o, y));
    Ok(out)
}

/// `a ∪ b` (same grid).
pub fn union(
    a: ArrayView3<'_, bool>,
    b: ArrayView3<'_, bool>,
) -> Result<Array3<bool>, EffectError> {
    logic(LogicOp::Union, a, Some(b))
}

/// `a ∩ b` (same grid).
pub fn intersect(
    a: ArrayView3<'_, bool>,
    b: ArrayView3<'_, bool>,
) -> Result<Array3<bool>, EffectError> {
    logic(LogicOp::Intersect, a, Some(b))
}

/// `a \ b`: the voxels of `a` not in `b` (same grid).
pub fn subtract(
    a: ArrayView3<'_, bool>,
    b: ArrayView3<'_, bool>,
) -> Result<Array3<bool>, EffectError> {
    logic(LogicOp::Subtract, a, Some(b))
}

/// Every voxel of the grid not in `a`.
pub fn invert(a: ArrayView3<'_, bool>) -> Array3<bool> {
    let mut out = Array3::from_elem(a.raw_dim(), false);
    Zip::from(&mut out).and(a).par_for_each(|o, &x| *o = !x);
    out
}

fn shape_of(a: &ArrayView3<'_, bool>) -> [usize; 3] {
    let s = a.shape();
    [s[0], s[1], s[2]]
}

fn check_shape(what: &str, a: &ArrayView3<'_, bool>, want: [usize; 3]) -> Result<(), EffectError> {
    let got = shape_of(a);
    if got == want {
        Ok(())
    } else {
        Err(EffectError::Shape {
            what: what.to_owned(),
            got,
            want,
        })
    }
}

/// Checks a distance parameter (`signed`: negative values allowed).
fn check_distance(what: &'static str, value_mm: f64, signed: bool) -> Result<(), EffectError> {
    if value_mm.is_finite() && (signed || value_mm >= 0.0) {
        Ok(())
    } else {
        Err(EffectError::BadDistance {
            what,
            value_mm,
            signed,
        })
    }
}
