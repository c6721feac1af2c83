//! Intensity projections through a volume: maximum (MIP), average (AIP) and
//! minimum (`MinIP`), over the whole volume or a thick slab; the middle slice
//! of a view; windowing of a projected image to 8 bits.
//!
//! A projection of a view ([`ViewAxis`]) runs along its scroll direction
//! (axial: along z, coronal: along y, sagittal: along x) and comes back in the
//! display layout and pixel grid of that view's [`SlicePlane`]
//! ([`projection_plane`], the same grid as `SlicePlane::through` at any
//! point), so the viewer draws it exactly like a slice (radiological, pixel
//! `(x, y)` at [`SlicePlane::world_of_pixel`]).
//!
//! - Axis-aligned volumes (direction a signed permutation, the normal case):
//!   the voxel array is reduced along the matching array axis (flips
//!   handled), contiguous rows at a time, in parallel (rayon). Pixel centres
//!   sit on voxel centres, so values are exact voxel values (mean: the
//!   average of the voxels along the ray).
//! - Oblique or sheared volumes: planes [`slice_step_mm`](crate::mpr::slice_step_mm) apart along the
//!   scroll direction are resliced (trilinear) and reduced; samples outside
//!   the volume are skipped.
//!
//! Pixels with no sample inside the volume (or outside the slab) are `NaN`.
//! Pure and deterministic: no I/O; every pixel is reduced in a fixed order,
//! whatever the thread count. Imports only `mpr`, `volume`, glam and rayon.

pub mod fuse;
pub mod raycast;
mod reduce;
pub mod rotate;

use glam::DVec3;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::mpr::{Image2, SlicePlane, ViewAxis, point_of_slice, reslice, slice_position};
use crate::volume::resample::Interpolation;
use crate::volume::{Geometry, Volume, Voxels};
use reduce::{Shape, Voxel};

/// Tolerance (voxels, and mm for slab edges) for "on the grid" and "inside".
const GRID_TOL: f64 = 1e-6;

/// How the values along a ray are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProjectionMode {
    /// Maximum intensity projection (MIP).
    #[default]
    Max,
    /// Average intensity projection (AIP).
    Mean,
    /// Minimum intensity projection (`MinIP`).
    Min,
}

impl ProjectionMode {
    /// All three.
    pub const ALL: [Self; 3] = [Self::Max, Self::Mean, Self::Min];

    /// The usual abbreviation: `"MIP"`, `"AIP"` or `"MinIP"`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Self::Max => "MIP",
            Self::Mean => "AIP",
            Self::Min => "MinIP",
        }
    }
}

/// A thick slab perpendicular to a view's scroll direction.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slab {
    /// A point on the slab's mid-plane (LPS mm); only its coordinate along
    /// the scroll direction matters.
    pub centre_mm: DVec3,
    /// Full thickness in mm: layers whose centre lies within
    /// `±thickness_mm / 2` of the mid-plane are used.
    pub thickness_mm: f64,
}

/// The pixel grid of [`project`] and [`median_slice`] images of `axis`: the
/// view's [`SlicePlane`] through the volume centre.
pub fn projection_plane(geometry: &Geometry, axis: ViewAxis) -> SlicePlane {
    SlicePlane::through(geometry, axis, geometry.centre_mm())
}

/// Project `vol` along the scroll direction of `axis` views with `mode`,
/// over the whole volume (`slab: None`) or one slab.
///
/// The image has the size and layout of [`projection_plane`]; `NaN` where no
/// layer of the (slab of the) volume is hit.
///
/// ```
/// use hounsfield_core::mpr::ViewAxis;
/// use hounsfield_core::project::{ProjectionMode, project};
/// use hounsfield_core::volume::{Geometry, Volume};
/// let a = ndarray::Array3::from_shape_fn((3, 4, 5), |(z, y, x)| (100 * z + 10 * y + x) as i16);
/// let v = Volume::from_i16(a, Geometry::identity([3, 4, 5]));
/// let mip = project(&v, ViewAxis::Axial, ProjectionMode::Max, None);
/// assert_eq!((mip.width, mip.height), (5, 4));
/// assert_eq!(mip.get(3, 1), Some(213.0));
/// let aip = project(&v, ViewAxis::Axial, ProjectionMode::Mean, None);
/// assert_eq!(aip.get(3, 1), Some(113.0));
/// ```
pub fn project(vol: &Volume, axis: ViewAxis, mode: ProjectionMode, slab: Option<&Slab>) -> Image2 {
    let plane = projection_plane(&vol.geometry, axis);
    let [width, height] = plane.size;
    let Some(len) = width.checked_mul(height) else {
        return Image2::default();
    };
    if vol.voxels.is_empty() {
        return Image2 {
            width,
            height,
            data: vec![f32::NAN; len],
        };
    }
    let data = match aligned_plan(&vol.geometry, &plane) {
        Some(plan) => match &vol.voxels {
            Voxels::I16(a) => project_aligned(&a.as_standard_layout(), &plan, &plane, mode, slab),
            Voxels::F32(a) => project_aligned(&a.as_standard_layout(), &plan, &plane, mode, slab),
        },
        None => project_resliced(vol, axis, mode, slab, len),
    };
    Image2 {
        width,
        height,
        data,
    }
}

/// The middle slice of `axis` views: slice `count / 2` as numbered by
/// [`slice_position`] (for an axial stack of `n` slices ascending in z,
/// array slice `n / 2`), in the grid of [`projection_plane`].
pub fn median_slice(vol: &Volume, axis: ViewAxis) -> Image2 {
    let g = &vol.geometry;
    let centre = g.centre_mm();
    let (_, count, _) = slice_position(g, axis, centre);
    let point = point_of_slice(g, axis, centre, count / 2);
    reslice(
        vol,
        &SlicePlane::through(g, axis, point),
        Interpolation::Linear,
    )
}

/// Window an HU image to 8-bit grey with
/// [`window_value_u8`](crate::volume::ops::window_value_u8); `NaN` → 0.
pub fn window_image_u8(img: &Image2, centre_hu: f32, width_hu: f32) -> Vec<u8> {
    img.data
        .par_iter()
        .map(|&v| {
            if v.is_nan() {
                0
            } else {
                crate::volume::ops::window_value_u8(v, centre_hu, width_hu)
            }
        })
        .collect()
}

/// How display pixels map to voxels when the view's axes follow voxel axes.
#[derive(Clone, Copy, Debug)]
struct AlignedPlan {
    /// Voxel axis (0 col, 1 row, 2 slice) along display `x`, and its step
    /// (±1 voxel per pixel).
    u_axis: usize,
    u_sign: i64,
    /// Voxel axis along display `y`, and its step.
    v_axis: usize,
    v_sign: i64,
    /// Voxel index of pixel `(0, 0)` along `u_axis` and `v_axis`.
    u0: i64,
    v0: i64,
    /// The voxel axis projected along.
    n_axis: usize,
    /// Scroll-direction coordinate (mm) of voxel layer 0 along `n_axis` and
    /// the step per layer.
    layer0_mm: f64,
    layer_step_mm: f64,
}

/// The only voxel axis `v` has a (±1) component on, if any.
fn unit_axis(v: DVec3) -> Option<(usize, i64)> {
    let c = v.to_array();
    let mut found = None;
    for (k, x) in c.iter().enumerate() {
        if (x.abs() - 1.0).abs() < GRID_TOL {
            if found.is_some() {
                return None;
            }
            found = Some((k, if *x > 0.0 { 1 } else { -1 }));
        } else if x.abs() >= GRID_TOL {
            return None;
        }
    }
    found
}

/// `x` rounded when it is within [`GRID_TOL`] of an integer.
fn near_integer(x: f64) -> Option<i64> {
    let r = x.round();
    ((x - r).abs() < GRID_TOL && r.is_finite()).then_some(r as i64)
}

/// The fast-path plan, when each display axis steps one voxel along one voxel
/// axis and the scroll direction crosses only the third.
fn aligned_plan(g: &Geometry, plane: &SlicePlane) -> Option<AlignedPlan> {
    let voxel_from_world = g.voxel_from_world();
    let m = voxel_from_world.matrix3;
    let (u_axis, u_sign) = unit_axis(m * (plane.u_dir * plane.pixel_mm[0]))?;
    let (v_axis, v_sign) = unit_axis(m * (plane.v_dir * plane.pixel_mm[1]))?;
    if u_axis == v_axis {
        return None;
    }
    let n_axis = 3 - u_axis - v_axis;
    let dir = plane.axis.scroll_dir();
    let along = (m * dir).to_array();
    let scale = along[n_axis].abs();
    if scale.is_nan()
        || scale <= 0.0
        || along[u_axis].abs() > GRID_TOL * scale
        || along[v_axis].abs() > GRID_TOL * scale
    {
        return None;
    }
    let c0 = voxel_from_world
        .transform_point3(plane.origin_mm)
        .to_array();
    let world_from_voxel = g.world_from_voxel();
    let layer_step = world_from_voxel.matrix3.col(n_axis);
    Some(AlignedPlan {
        u_axis,
        u_sign,
        v_axis,
        v_sign,
        u0: near_integer(c0[u_axis])?,
        v0: near_integer(c0[v_axis])?,
        n_axis,
        layer0_mm: g.origin_mm.dot(dir),
        layer_step_mm: layer_step.dot(dir),
    })
}

/// Layers `first..first + count` along the projected axis inside the slab
/// (all when `slab` is `None`); `None` when none is.
fn layer_range(
    n: usize,
    layer_mm: impl Fn(usize) -> f64,
    slab: Option<&Slab>,
    dir: DVec3,
) -> Option<(usize, usize)> {
    let Some(s) = slab else {
        return (n > 0).then_some((0, n));
    };
    let centre = s.centre_mm.dot(dir);
    let half = s.thickness_mm.max(0.0) / 2.0 + GRID_TOL;
    let inside = |r: usize| (layer_mm(r) - centre).abs() <= half;
    let first = (0..n).find(|&r| inside(r))?;
    let last = (first..n).take_while(|&r| inside(r)).last()?;
    Some((first, last - first + 1))
}

/// Fast path: reduce the array along `plan.n_axis`, then place the reduced
/// values on the display grid.
fn project_aligned<T: Voxel>(
    a: &ndarray::CowArray<'_, T, ndarray::Ix3>,
    plan: &AlignedPlan,
    plane: &SlicePlane,
    mode: ProjectionMode,
    slab: Option<&Slab>,
) -> Vec<f32> {
    let [width, height] = plane.size;
    let mut out = vec![f32::NAN; width * height];
    let Some(data) = a.as_slice() else {
        return out;
    };
    let dims = a.shape();
    // Array axes are [z, row, col] = voxel axes 2, 1, 0.
    let red = 2 - plan.n_axis;
    let n = dims[red];
    let dir = plane.axis.scroll_dir();
    let layer_mm = |r: usize| plan.layer0_mm + r as f64 * plan.layer_step_mm;
    let Some((first, count)) = layer_range(n, layer_mm, slab, dir) else {
        return out;
    };
    let shape = Shape {
        outer: dims[..red].iter().product(),
        reduced: n,
        inner: dims[red + 1..].iter().product(),
        first,
        count,
    };
    let reduced = reduce::reduce(data, shape, mode);
    // The two kept array axes, in array order: index = i_lo * len_hi + i_hi.
    let kept: Vec<usize> = (0..3).filter(|&k| k != red).collect();
    let (lo_axis, hi_axis) = (kept[0], kept[1]);
    let len = |k: usize| dims[k] as i64;
    let ua = 2 - plan.u_axis;
    let va = 2 - plan.v_axis;
    out.par_chunks_mut(width.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            let iv = plan.v0 + y as i64 * plan.v_sign;
            if iv < 0 || iv >= len(va) {
                return;
            }
            for (x, px) in row.iter_mut().enumerate() {
                let iu = plan.u0 + x as i64 * plan.u_sign;
                if iu < 0 || iu >= len(ua) {
                    continue;
                }
                let at = |k: usize| if k == ua { iu } else { iv };
                let idx = at(lo_axis) * len(hi_axis) + at(hi_axis);
                *px = reduced[idx as usize];
            }
        });
    out
}

/// General path: reslice planes one scroll step apart and reduce them,
/// skipping samples outside the volume.
fn project_resliced(
    vol: &Volume,
    axis: ViewAxis,
    mode: ProjectionMode,
    slab: Option<&Slab>,
    len: usize,
) -> Vec<f32> {
    let g = &vol.geometry;
    let centre = g.centre_mm();
    let dir = axis.scroll_dir();
    let (_, count, _) = slice_position(g, axis, centre);
    let points: Vec<DVec3> = (0..count)
        .map(|k| point_of_slice(g, axis, centre, k))
        .collect();
    let mut acc = vec![
        match mode {
            ProjectionMode::Max => f64::NEG_INFINITY,
            ProjectionMode::Min => f64::INFINITY,
            ProjectionMode::Mean => 0.0,
        };
        len
    ];
    let mut hits = vec![0u32; len];
    let Some((first, kept)) = layer_range(count, |k| points[k].dot(dir), slab, dir) else {
        return vec![f32::NAN; len];
    };
    for point in &points[first..first + kept] {
        let img = reslice(
            vol,
            &SlicePlane::through(g, axis, *point),
            Interpolation::Linear,
        );
        acc.par_iter_mut()
            .zip(hits.par_iter_mut())
            .zip(img.data.par_iter())
            .for_each(|((a, h), &v)| {
                if v.is_nan() {
                    return;
                }
                let v = f64::from(v);
                *a = match mode {
                    ProjectionMode::Max => a.max(v),
                    ProjectionMode::Min => a.min(v),
                    ProjectionMode::Mean => *a + v,
                };
                *h += 1;
            });
    }
    acc.par_iter()
        .zip(hits.par_iter())
        .map(|(&a, &h)| match (h, mode) {
            (0, _) => f32::NAN,
            (_, ProjectionMode::Mean) => (a / f64::from(h)) as f32,
            _ => a as f32,
        })
        .collect()
}
