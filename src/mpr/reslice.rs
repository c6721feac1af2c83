//! Resampling a volume onto a [`SlicePlane`]: HU ([`reslice`]) or windowed
//! 8-bit ([`reslice_window_u8`]).
//!
//! The plane's pixel grid is mapped once to continuous voxel coordinates
//! `c(x, y) = c0 + x·step_x + y·step_y` (one affine, no per-pixel matrix
//! product). Each row first finds, analytically, the span of `x` whose sample
//! lies inside the volume, fills the rest with the outside value, then walks
//! the span. Rows run in parallel (rayon); every pixel is computed from
//! `(x, y)` alone, so the output does not depend on the thread count.
//!
//! Voxel coordinates within `1e-9` of an integer are snapped to it, so a
//! plane whose pixels sit on voxel centres samples them exactly; there
//! trilinear interpolation equals nearest, and runs as nearest.

use glam::DVec3;
use ndarray::{Array3, CowArray, Ix3};
use rayon::prelude::*;

use super::{Image2, SlicePlane};
use crate::volume::resample::{Interpolation, Sample};
use crate::volume::{Geometry, Volume, Voxels};

/// Tolerance in voxels: a sample this far outside the first/last voxel
/// centre still counts as inside (so a point on the last centre is inside).
const INSIDE_EPS: f64 = 1e-6;
/// Voxel coordinates (and steps) this close to an integer are snapped to it.
const SNAP_EPS: f64 = 1e-9;

/// Resample `vol` onto `plane` (HU, row-major, `NaN` outside the volume).
///
/// `interp` chooses nearest-neighbour or trilinear sampling. An image whose
/// `width * height` overflows `usize` comes back empty.
///
/// ```
/// use hounsfield::mpr::{reslice, SlicePlane, ViewAxis};
/// use hounsfield::volume::{resample::Interpolation, Geometry, Volume};
/// let a = ndarray::Array3::from_shape_fn((3, 4, 5), |(z, y, x)| (100 * z + 10 * y + x) as i16);
/// let v = Volume::from_i16(a, Geometry::identity([3, 4, 5]));
/// let plane = SlicePlane::through(&v.geometry, ViewAxis::Axial, glam::DVec3::new(0.0, 0.0, 2.0));
/// let img = reslice(&v, &plane, Interpolation::Nearest);
/// assert_eq!((img.width, img.height), (5, 4));
/// assert_eq!(img.get(3, 1), Some(213.0));
/// ```
pub fn reslice(vol: &Volume, plane: &SlicePlane, interp: Interpolation) -> Image2 {
    let [width, height] = plane.size;
    let Some(len) = width.checked_mul(height) else {
        return Image2::default();
    };
    let mut data = vec![f32::NAN; len];
    let g = &vol.geometry;
    let nan = f32::NAN;
    match &vol.voxels {
        Voxels::I16(a) => resample_plane(a, g, plane, interp, &mut data, nan, |hu| hu),
        Voxels::F32(a) => resample_plane(a, g, plane, interp, &mut data, nan, |hu| hu),
    }
    Image2 {
        width,
        height,
        data,
    }
}

/// Resample `vol` onto `plane` and window it in one pass: fills `out`
/// (resized to `width * height`, allocation reused) with 8-bit grey values,
/// `0` outside the volume.
///
/// The window maps `centre_hu - width_hu / 2 ..= centre_hu + width_hu / 2`
/// linearly to `0..=255`, clamped outside (as
/// [`window_value_u8`](crate::volume::ops::window_value_u8), up to rounding
/// of exact ties); `width_hu` is at least 1 HU. This is the viewer's per-frame
/// path. An image whose `width * height` overflows `usize` leaves `out` empty.
pub fn reslice_window_u8(
    vol: &Volume,
    plane: &SlicePlane,
    interp: Interpolation,
    centre_hu: f32,
    width_hu: f32,
    out: &mut Vec<u8>,
) {
    out.clear();
    let Some(len) = plane.size[0].checked_mul(plane.size[1]) else {
        return;
    };
    out.resize(len, 0);
    let w = if width_hu >= 1.0 { width_hu } else { 1.0 };
    let lo = centre_hu - w / 2.0;
    // (hu - lo) / w in [0, 1] → 0..=255, rounded half up; NaN → 0.
    let window = move |hu: f32| (((hu - lo) / w).clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
    match &vol.voxels {
        Voxels::I16(a) => resample_plane(a, &vol.geometry, plane, interp, out, 0, window),
        Voxels::F32(a) => resample_plane(a, &vol.geometry, plane, interp, out, 0, window),
    }
}

/// The plane's pixel grid in continuous voxel coordinates `(col, row, slice)`.
#[derive(Clone, Copy, Debug)]
struct Mapping {
    /// Voxel coordinates of pixel `(0, 0)`.
    c0: DVec3,
    /// Change per pixel along display x.
    step_x: DVec3,
    /// Change per pixel along display y.
    step_y: DVec3,
    /// Largest valid coordinate per axis (`n - 1`).
    last: DVec3,
    /// `(nx, ny, nz)` of the array.
    dims: [usize; 3],
}

impl Mapping {
    fn new(geometry: &Geometry, dims: [usize; 3], plane: &SlicePlane) -> Option<Self> {
        if dims.contains(&0) {
            return None;
        }
        let voxel_from_world = geometry.voxel_from_world();
        let c0 = snap(voxel_from_world.transform_point3(plane.origin_mm));
        let step_x = snap(voxel_from_world.transform_vector3(plane.u_dir * plane.pixel_mm[0]));
        let step_y = snap(voxel_from_world.transform_vector3(plane.v_dir * plane.pixel_mm[1]));
        if !(c0.is_finite() && step_x.is_finite() && step_y.is_finite()) {
            return None;
        }
        let last = DVec3::new(
            (dims[0] - 1) as f64,
            (dims[1] - 1) as f64,
            (dims[2] - 1) as f64,
        );
        Some(Self {
            c0,
            step_x,
            step_y,
            last,
            dims,
        })
    }

    /// True when every pixel samples a voxel centre exactly (trilinear
    /// equals nearest).
    fn is_integral(&self) -> bool {
        [self.c0, self.step_x, self.step_y]
            .iter()
            .all(|v| *v == v.round())
    }

    /// Voxel coordinates of pixel `x` of the row starting at `start`. The one
    /// formula used both to bound the row and to sample it.
    #[inline]
    fn at(&self, start: DVec3, x: usize) -> DVec3 {
        start + self.step_x * x as f64
    }

    #[inline]
    fn inside(&self, c: DVec3) -> bool {
        c.cmpge(DVec3::splat(-INSIDE_EPS)).all() && c.cmple(self.last + INSIDE_EPS).all()
    }

    /// The inclusive span of `x` in `0..width` whose samples are inside the
    /// volume, for the row starting at `start`; `None` if there are none.
    fn inside_span(&self, start: DVec3, width: usize) -> Option<(usize, usize)> {
        if width == 0 {
            return None;
        }
        // Analytic estimate: intersect the per-axis intervals of x.
        let mut x_lo = 0.0_f64;
        let mut x_hi = (width - 1) as f64;
        for d in 0..3 {
            let (s, t) = (start[d], self.step_x[d]);
            let (lo, hi) = (-INSIDE_EPS, self.last[d] + INSIDE_EPS);
            if t == 0.0 {
                if s < lo || s > hi {
                    return None;
                }
            } else {
                let (a, b) = ((lo - s) / t, (hi - s) / t);
                x_lo = x_lo.max(a.min(b));
                x_hi = x_hi.min(a.max(b));
            }
        }
        if x_lo > x_hi {
            return None;
        }
        let mut x0 = (x_lo.ceil() as usize).min(width - 1);
        let mut x1 = (x_hi.floor() as usize).clamp(x0, width - 1);
        // Exact fix-up with the sampling formula itself (float rounding is
        // monotone, so the inside set along the row stays one interval).
        while x0 > 0 && self.inside(self.at(start, x0 - 1)) {
            x0 -= 1;
        }
        while x0 <= x1 && !self.inside(self.at(start, x0)) {
            x0 += 1;
        }
        if x0 > x1 {
            return None;
        }
        while x1 + 1 < width && self.inside(self.at(start, x1 + 1)) {
            x1 += 1;
        }
        while x1 > x0 && !self.inside(self.at(start, x1)) {
            x1 -= 1;
        }
        Some((x0, x1))
    }
}

/// Snap components within [`SNAP_EPS`] of an integer to it.
fn snap(v: DVec3) -> DVec3 {
    let r = v.round();
    DVec3::select((v - r).abs().cmple(DVec3::splat(SNAP_EPS)), r, v)
}

/// Resample `array` (`[z, row, col]`) onto `plane` into `out` (row-major,
/// `plane.size`), writing `emit(hu)` inside the volume and `fill` outside.
fn resample_plane<T, O, F>(
    array: &Array3<T>,
    geometry: &Geometry,
    plane: &SlicePlane,
    interp: Interpolation,
    out: &mut [O],
    fill: O,
    emit: F,
) where
    T: Sample,
    O: Copy + Send + Sync,
    F: Fn(f32) -> O + Sync,
{
    let width = plane.size[0];
    if width == 0 || out.is_empty() {
        return;
    }
    let (nz, ny, nx) = array.dim();
    let standard: CowArray<'_, T, Ix3> = array.as_standard_layout();
    let (Some(src), Some(map)) = (
        standard.as_slice(),
        Mapping::new(geometry, [nx, ny, nz], plane),
    ) else {
        out.fill(fill);
        return;
    };
    let interp = if map.is_integral() {
        Interpolation::Nearest
    } else {
        interp
    };
    out.par_chunks_mut(width)
        .enumerate()
        .with_min_len(4)
        .for_each(|(y, row)| {
            let start = map.c0 + map.step_y * y as f64;
            let Some((x0, x1)) = map.inside_span(start, row.len()) else {
                row.fill(fill);
                return;
            };
            let (head, rest) = row.split_at_mut(x0);
            let (span, tail) = rest.split_at_mut(x1 - x0 + 1);
            head.fill(fill);
            tail.fill(fill);
            match interp {
                Interpolation::Nearest => nearest_span(src, &map, start, x0, span, fill, &emit),
                Interpolation::Linear => linear_span(src, &map, start, x0, span, &emit),
            }
        });
}

/// Nearest-neighbour samples of pixels `x0..x0 + span.len()` of one row, all
/// inside the volume.
#[inline]
fn nearest_span<T: Sample, O: Copy>(
    src: &[T],
    map: &Mapping,
    start: DVec3,
    x0: usize,
    span: &mut [O],
    fill: O,
    emit: &impl Fn(f32) -> O,
) {
    let [nx, ny, _] = map.dims;
    let plane_len = nx * ny;
    for (i, o) in span.iter_mut().enumerate() {
        let c = map.at(start, x0 + i);
        // c ≥ -INSIDE_EPS, so truncating c + 0.5 rounds half up, without a
        // libm call.
        let (ix, iy, iz) = (
            (c.x + 0.5) as usize,
            (c.y + 0.5) as usize,
            (c.z + 0.5) as usize,
        );
        *o = src
            .get(iz * plane_len + iy * nx + ix)
            .map_or(fill, |v| emit(v.to_f32()));
    }
}

/// Trilinear samples of pixels `x0..x0 + span.len()` of one row, all inside
/// the volume.
#[inline]
fn linear_span<T: Sample, O: Copy>(
    src: &[T],
    map: &Mapping,
    start: DVec3,
    x0: usize,
    span: &mut [O],
    emit: &impl Fn(f32) -> O,
) {
    let [nx, ny, nz] = map.dims;
    let plane_len = nx * ny;
    // Lower corner index limit per axis, and the offset to the upper corner
    // (0 along an axis of one voxel).
    let (mx, my, mz) = (
        nx.saturating_sub(2),
        ny.saturating_sub(2),
        nz.saturating_sub(2),
    );
    let (ox, oy, oz) = (
        usize::from(nx > 1),
        usize::from(ny > 1) * nx,
        usize::from(nz > 1) * plane_len,
    );
    let at = |i: usize| src.get(i).map_or(f32::NAN, |v| v.to_f32());
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    for (i, o) in span.iter_mut().enumerate() {
        let c = map.at(start, x0 + i).clamp(DVec3::ZERO, map.last);
        let (ix, iy, iz) = (
            (c.x as usize).min(mx),
            (c.y as usize).min(my),
            (c.z as usize).min(mz),
        );
        let (tx, ty, tz) = (
            (c.x - ix as f64) as f32,
            (c.y - iy as f64) as f32,
            (c.z - iz as f64) as f32,
        );
        let b = iz * plane_len + iy * nx + ix;
        let c00 = lerp(at(b), at(b + ox), tx);
        let c10 = lerp(at(b + oy), at(b + oy + ox), tx);
        let c01 = lerp(at(b + oz), at(b + oz + ox), tx);
        let c11 = lerp(at(b + oz + oy), at(b + oz + oy + ox), tx);
        *o = emit(lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz));
    }
}
