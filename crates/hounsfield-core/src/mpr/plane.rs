//! [`SlicePlane`]: a display pixel grid placed in world space, and the slice
//! numbering of the three orthogonal views.

use glam::{DVec2, DVec3};
use serde::{Deserialize, Serialize};

use super::ViewAxis;
use crate::volume::Geometry;
use crate::volume::geometry::axis_letter;

/// Largest width or height (pixels) [`SlicePlane::through`] produces; beyond
/// it the pixel size grows so the plane still covers the volume.
pub const MAX_PLANE_SIDE: usize = 8192;

/// `|cos|` below which two unit directions count as perpendicular, and
/// `1 - |cos|` below which they count as parallel.
const ALIGN_TOL: f64 = 1e-6;

/// A rectangular grid of display pixels placed in world space (LPS mm).
///
/// Pixel `(x, y)` (continuous, `(0, 0)` = centre of the top-left pixel) sits
/// at `origin_mm + x * pixel_mm[0] * u_dir + y * pixel_mm[1] * v_dir`. Pixels
/// may be anisotropic: draw the image with aspect `width * du : height * dv`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlicePlane {
    /// The view this plane belongs to.
    pub axis: ViewAxis,
    /// World position (LPS mm) of the centre of display pixel `(0, 0)`, the
    /// top-left one.
    pub origin_mm: DVec3,
    /// Unit LPS direction of increasing display `x` (left → right).
    pub u_dir: DVec3,
    /// Unit LPS direction of increasing display `y` (top → bottom);
    /// perpendicular to `u_dir`.
    pub v_dir: DVec3,
    /// Pixel size `(du, dv)` in mm along `u_dir` and `v_dir`.
    pub pixel_mm: [f64; 2],
    /// `(width, height)` in pixels.
    pub size: [usize; 2],
}

impl SlicePlane {
    /// The display plane of `axis` through `point_mm` (LPS mm), covering the
    /// whole volume's bounding box (the box of its voxel centres) in-plane.
    ///
    /// The plane passes exactly through `point_mm` (it is not snapped to a
    /// voxel layer; use [`point_of_slice`] for that). Pixel size along `u`
    /// (and likewise `v`): the voxel spacing of the one voxel axis parallel to
    /// `u`, when the other two are perpendicular to it (then pixel centres fall
    /// on voxel centres); otherwise (oblique or sheared grids) the smallest
    /// voxel spacing.
    ///
    /// ```
    /// use glam::DVec3;
    /// use hounsfield_core::mpr::{SlicePlane, ViewAxis};
    /// use hounsfield_core::volume::Geometry;
    /// let mut g = Geometry::identity([141, 512, 512]);
    /// g.spacing_mm = DVec3::new(0.977, 0.977, 2.0);
    /// let p = SlicePlane::through(&g, ViewAxis::Coronal, g.centre_mm());
    /// assert_eq!(p.size, [512, 141]);
    /// assert_eq!(p.pixel_mm, [0.977, 2.0]);
    /// assert_eq!(p.edge_letters(), ['R', 'L', 'S', 'I']);
    /// ```
    pub fn through(geometry: &Geometry, axis: ViewAxis, point_mm: DVec3) -> Self {
        let u_dir = axis.u_dir();
        let v_dir = axis.v_dir();
        let normal = u_dir.cross(v_dir);
        let fallback_mm = min_spacing_mm(geometry);
        let (u_lo, u_hi) = bounds_along(geometry, u_dir);
        let (v_lo, v_hi) = bounds_along(geometry, v_dir);
        let du = grid_step_mm(geometry, u_dir).unwrap_or(fallback_mm);
        let dv = grid_step_mm(geometry, v_dir).unwrap_or(fallback_mm);
        let (du, width) = cover(u_hi - u_lo, du);
        let (dv, height) = cover(v_hi - v_lo, dv);
        let origin_mm = u_dir * u_lo + v_dir * v_lo + normal * point_mm.dot(normal);
        Self {
            axis,
            origin_mm,
            u_dir,
            v_dir,
            pixel_mm: [du, dv],
            size: [width, height],
        }
    }

    /// Unit normal `u_dir × v_dir`: points away from the viewer, into the
    /// screen (+z for axial, +y for coronal, −x for sagittal views).
    pub fn normal(&self) -> DVec3 {
        self.u_dir
            .cross(self.v_dir)
            .try_normalize()
            .unwrap_or(DVec3::Z)
    }

    /// World position (LPS mm) of continuous pixel coordinates `(x, y)`;
    /// `(0, 0)` is the centre of the top-left pixel.
    pub fn world_of_pixel(&self, x: f64, y: f64) -> DVec3 {
        self.origin_mm + self.u_dir * (x * self.pixel_mm[0]) + self.v_dir * (y * self.pixel_mm[1])
    }

    /// Continuous pixel coordinates of the projection of `p` (LPS mm) onto
    /// the plane (along the normal); the inverse of [`Self::world_of_pixel`]
    /// for points on the plane.
    pub fn pixel_of_world(&self, p: DVec3) -> DVec2 {
        let d = p - self.origin_mm;
        let (u, v) = (self.u_dir, self.v_dir);
        // Least squares in the (u, v) basis, exact for non-orthogonal axes too.
        let (uu, uv, vv) = (u.dot(u), u.dot(v), v.dot(v));
        let (du, dv) = (d.dot(u), d.dot(v));
        let det = uu * vv - uv * uv;
        let (a, b) = if det.abs() > f64::EPSILON {
            ((du * vv - dv * uv) / det, (dv * uu - du * uv) / det)
        } else {
            (du, dv)
        };
        DVec2::new(a / self.pixel_mm[0], b / self.pixel_mm[1])
    }

    /// The patient-direction letters at the image edges, `[left, right, top,
    /// bottom]`, e.g. `['R', 'L', 'A', 'P']` for axial views (the letter of
    /// the LPS direction each edge points to most).
    pub fn edge_letters(&self) -> [char; 4] {
        [
            axis_letter(-self.u_dir),
            axis_letter(self.u_dir),
            axis_letter(-self.v_dir),
            axis_letter(self.v_dir),
        ]
    }

    /// Physical size `(width * du, height * dv)` in mm of the displayed
    /// image (pixel edges to pixel edges).
    pub fn extent_mm(&self) -> [f64; 2] {
        [
            self.size[0] as f64 * self.pixel_mm[0],
            self.size[1] as f64 * self.pixel_mm[1],
        ]
    }
}

/// The natural scroll step in mm of `axis` views: the distance between voxel
/// layers along [`ViewAxis::scroll_dir`] when two voxel axes lie in the view
/// plane (also for a gantry-tilted stack seen axially), otherwise the
/// smallest voxel spacing.
pub fn slice_step_mm(geometry: &Geometry, axis: ViewAxis) -> f64 {
    layer_step_mm(geometry, axis.scroll_dir())
        .filter(|s| *s > ALIGN_TOL)
        .unwrap_or_else(|| min_spacing_mm(geometry))
}

/// Where `point_mm` lies in the stack of `axis` slices through the volume:
/// `(index, count, position_mm)`, for a label like "slice 12/141, z = −34.5
/// mm" (show `index + 1`).
///
/// `position_mm` is the LPS coordinate of `point_mm` along
/// [`ViewAxis::scroll_dir`]; slices are [`slice_step_mm`] apart starting at
/// the volume's lowest such coordinate, so `index` ascends with the position
/// (nearest slice, clamped to `0..count`).
pub fn slice_position(geometry: &Geometry, axis: ViewAxis, point_mm: DVec3) -> (usize, usize, f64) {
    let dir = axis.scroll_dir();
    let step_mm = slice_step_mm(geometry, axis);
    let (lo, hi) = bounds_along(geometry, dir);
    let (_, count) = cover(hi - lo, step_mm);
    let position_mm = point_mm.dot(dir);
    let index = ((position_mm - lo) / step_mm).round();
    let index = if index.is_finite() {
        index.clamp(0.0, (count - 1) as f64) as usize
    } else {
        0
    };
    (index, count, position_mm)
}

/// `point_mm` moved along [`ViewAxis::scroll_dir`] onto slice `index` (as
/// numbered by [`slice_position`]; not clamped), keeping its in-plane
/// position. Snapping: `point_of_slice(g, a, p, slice_position(g, a, p).0)`.
pub fn point_of_slice(geometry: &Geometry, axis: ViewAxis, point_mm: DVec3, index: usize) -> DVec3 {
    let dir = axis.scroll_dir();
    let (lo, _) = bounds_along(geometry, dir);
    let target_mm = lo + index as f64 * slice_step_mm(geometry, axis);
    point_mm + dir * (target_mm - point_mm.dot(dir))
}

/// Smallest voxel spacing in mm (1 mm if none is a positive number).
fn min_spacing_mm(geometry: &Geometry) -> f64 {
    let s = geometry.spacing_mm.abs().min_element();
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

/// World step (mm) of one voxel along each voxel axis `(col, row, slice)`.
fn voxel_steps_mm(geometry: &Geometry) -> [DVec3; 3] {
    let m = geometry.world_from_voxel().matrix3;
    [m.x_axis, m.y_axis, m.z_axis]
}

/// `|cos|` of the angle between `a` and the unit vector `dir` (0 for a zero `a`).
fn abs_cos(a: DVec3, dir: DVec3) -> f64 {
    let len = a.length();
    if len > 0.0 {
        (a.dot(dir) / len).abs()
    } else {
        0.0
    }
}

/// When exactly one voxel axis is not perpendicular to `dir`, the distance
/// in mm between the voxel layers along `dir` (and that axis's `|cos|`).
fn layer_step_and_cos(geometry: &Geometry, dir: DVec3) -> Option<(f64, f64)> {
    let steps = voxel_steps_mm(geometry);
    let mut found = None;
    for a in steps {
        let cos = abs_cos(a, dir);
        if cos >= ALIGN_TOL {
            if found.is_some() {
                return None;
            }
            found = Some((a.dot(dir).abs(), cos));
        }
    }
    found
}

/// Distance between voxel layers along `dir`, see [`layer_step_and_cos`].
fn layer_step_mm(geometry: &Geometry, dir: DVec3) -> Option<f64> {
    layer_step_and_cos(geometry, dir).map(|(s, _)| s)
}

/// The pixel size along `dir` that puts pixel centres on voxel centres: the
/// spacing of the voxel axis parallel to `dir`, if the others are
/// perpendicular to it.
fn grid_step_mm(geometry: &Geometry, dir: DVec3) -> Option<f64> {
    layer_step_and_cos(geometry, dir)
        .filter(|&(s, cos)| cos > 1.0 - ALIGN_TOL && s.is_finite() && s > 0.0)
        .map(|(s, _)| s)
}

/// Smallest and largest coordinate along `dir` (unit) of the 8 corner voxel
/// centres.
pub(super) fn bounds_along(geometry: &Geometry, dir: DVec3) -> (f64, f64) {
    let last = DVec3::new(
        geometry.dims[2].saturating_sub(1) as f64,
        geometry.dims[1].saturating_sub(1) as f64,
        geometry.dims[0].saturating_sub(1) as f64,
    );
    let w = geometry.world_from_voxel();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for c in 0..8 {
        let idx = DVec3::new(
            if c & 1 == 0 { 0.0 } else { last.x },
            if c & 2 == 0 { 0.0 } else { last.y },
            if c & 4 == 0 { 0.0 } else { last.z },
        );
        let t = w.transform_point3(idx).dot(dir);
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// Pixel count (and possibly enlarged step) covering `extent_mm` from its
/// first sample: `count` samples `step` apart reach at least `extent_mm`.
fn cover(extent_mm: f64, step_mm: f64) -> (f64, usize) {
    let step_mm = if step_mm.is_finite() && step_mm > 0.0 {
        step_mm
    } else {
        1.0
    };
    let extent_mm = if extent_mm.is_finite() {
        extent_mm.max(0.0)
    } else {
        0.0
    };
    let intervals = (extent_mm / step_mm - 1e-6).ceil().max(0.0);
    if intervals + 1.0 > MAX_PLANE_SIDE as f64 {
        (extent_mm / (MAX_PLANE_SIDE - 1) as f64, MAX_PLANE_SIDE)
    } else {
        (step_mm, intervals as usize + 1)
    }
}
