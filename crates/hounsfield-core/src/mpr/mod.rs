//! Multiplanar reslicing (MPR) on the CPU: the display planes of the viewer
//! and the resampling of a [`Volume`] onto them.
//!
//! Owns [`ViewAxis`], [`SlicePlane`] (a rectangular pixel grid placed in world
//! space), [`Image2`] and the reslicers [`reslice`] (HU, `f32`) and
//! [`reslice_window_u8`] (fused reslice + window, the viewer's hot path). It is
//! also the CPU reference for a future GPU slice renderer.
//!
//! This module imports only `volume`, glam and rayon: no UI, no GPU, no I/O.
//! Every function is pure and deterministic (bit-identical output whatever the
//! thread count).
//!
//! # Conventions
//! - World space is DICOM patient space, **LPS millimetres** (+x patient
//!   left, +y posterior, +z superior).
//! - Display pixel `(x, y)` has `x` growing to the right and `y` growing
//!   downwards; `(0, 0)` is the **centre** of the top-left pixel. Row-major
//!   images: `data[y * width + x]`.
//! - Radiological display (the patient faces the viewer, seen from the feet
//!   in axial views):
//!
//!   | view | `u_dir` (→) | `v_dir` (↓) | edges (left, right, top, bottom) | normal `u × v` |
//!   |---|---|---|---|---|
//!   | axial | +x | +y | R, L, A, P | +z (S) |
//!   | coronal | +x | −z | R, L, S, I | +y (P) |
//!   | sagittal | +y | −z | A, P, S, I | −x (R) |
//!
//!   The normal `u × v` points away from the viewer, into the screen.
//! - Scrolling ([`slice_position`], [`slice_step_mm`], [`point_of_slice`]) is
//!   along [`ViewAxis::scroll_dir`] (+z, +y, +x), so positions read as the
//!   LPS coordinate `z = …`, `y = …`, `x = …`, and slice indices ascend with it.
//! - For a volume whose voxel axes are parallel to the world axes (a signed
//!   permutation direction matrix), [`SlicePlane::through`] puts pixel centres
//!   exactly on voxel centres, so [`Interpolation::Nearest`] is an exact copy
//!   and [`Interpolation::Linear`] gives the same values.
//! - Samples outside the volume (the box spanned by the first and last voxel
//!   centres, inclusive) are `NaN` in [`reslice`] and `0` in
//!   [`reslice_window_u8`].
//!
//! [`Interpolation::Nearest`]: crate::volume::resample::Interpolation::Nearest
//! [`Interpolation::Linear`]: crate::volume::resample::Interpolation::Linear
//! [`Volume`]: crate::volume::Volume

pub mod fusion;
mod kernels;
pub mod labels;
mod plane;
mod reslice;
#[cfg(test)]
mod tests;

use glam::DVec3;
use serde::{Deserialize, Serialize};

pub use plane::{MAX_PLANE_SIDE, SlicePlane, point_of_slice, slice_position, slice_step_mm};
pub use reslice::{reslice, reslice_window_u8};

/// The three orthogonal viewing directions of the viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ViewAxis {
    /// Transverse plane, seen from the feet (left of image = patient right,
    /// top = anterior).
    Axial,
    /// Frontal plane, seen from the front (left = patient right, top =
    /// superior).
    Coronal,
    /// Median plane, seen from the patient's left (left = anterior, top =
    /// superior).
    Sagittal,
}

impl ViewAxis {
    /// All three, in the usual display order.
    pub const ALL: [Self; 3] = [Self::Axial, Self::Coronal, Self::Sagittal];

    /// Lower-case name (`"axial"`, `"coronal"`, `"sagittal"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Axial => "axial",
            Self::Coronal => "coronal",
            Self::Sagittal => "sagittal",
        }
    }

    /// Unit LPS direction of increasing display `x` (left → right).
    pub fn u_dir(self) -> DVec3 {
        match self {
            Self::Axial | Self::Coronal => DVec3::X,
            Self::Sagittal => DVec3::Y,
        }
    }

    /// Unit LPS direction of increasing display `y` (top → bottom).
    pub fn v_dir(self) -> DVec3 {
        match self {
            Self::Axial => DVec3::Y,
            Self::Coronal | Self::Sagittal => DVec3::NEG_Z,
        }
    }

    /// Unit LPS direction along which slices are scrolled and numbered: the
    /// world axis perpendicular to the view (+z, +y, +x). Parallel to the
    /// plane normal `u × v`, with the opposite sign for sagittal views.
    pub fn scroll_dir(self) -> DVec3 {
        match self {
            Self::Axial => DVec3::Z,
            Self::Coronal => DVec3::Y,
            Self::Sagittal => DVec3::X,
        }
    }

    /// The LPS coordinate [`Self::scroll_dir`] measures: `'z'`, `'y'` or `'x'`.
    pub fn coordinate_name(self) -> char {
        match self {
            Self::Axial => 'z',
            Self::Coronal => 'y',
            Self::Sagittal => 'x',
        }
    }
}

/// A row-major single-channel image of HU values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Image2 {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` values in HU, `data[y * width + x]`; `NaN` where the
    /// pixel centre lies outside the volume.
    pub data: Vec<f32>,
}

impl Image2 {
    /// The value at pixel `(x, y)`, or `None` outside the image.
    pub fn get(&self, x: usize, y: usize) -> Option<f32> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.data.get(y * self.width + x).copied()
    }
}
