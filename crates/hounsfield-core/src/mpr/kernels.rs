//! The per-row sampling kernels of [`super::reslice`] and the pixel → voxel
//! [`Mapping`] they share. Kernels write HU as `f32`, `NaN` outside.
//!
//! A row's samples are `c(x) = start + x·step_x` in continuous voxel
//! coordinates `(col, row, slice)`; [`Mapping::inside_span`] bounds the
//! inside part of a row with that exact formula, so the kernels only ever
//! see inside samples (every array access is still checked, and gives `NaN`
//! if it would fail).
//!
//! Three kernels: [`strided_span`] when the voxel index advances by a fixed
//! stride along the row (every orthogonal view of an axis-aligned volume,
//! with constant interpolation weights), else [`nearest_span`] or
//! [`linear_span`] (general, oblique or sheared).

use glam::DVec3;

use crate::volume::Geometry;
use crate::volume::resample::{Interpolation, Sample};

use super::SlicePlane;

/// Tolerance in voxels: a sample this far outside the first/last voxel
/// centre still counts as inside (so a point on the last centre is inside).
const INSIDE_EPS: f64 = 1e-6;
/// Voxel coordinates (and steps) this close to an integer are snapped to it.
const SNAP_EPS: f64 = 1e-9;

/// The plane's pixel grid in continuous voxel coordinates `(col, row, slice)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mapping {
    /// Voxel coordinates of pixel `(0, 0)`.
    pub(super) c0: DVec3,
    /// Change per pixel along display x.
    pub(super) step_x: DVec3,
    /// Change per pixel along display y.
    pub(super) step_y: DVec3,
    /// Largest valid coordinate per axis (`n - 1`).
    pub(super) last: DVec3,
    /// `(nx, ny, nz)` of the array.
    pub(super) dims: [usize; 3],
}

impl Mapping {
    pub(super) fn new(geometry: &Geometry, dims: [usize; 3], plane: &SlicePlane) -> Option<Self> {
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
    pub(super) fn is_integral(&self) -> bool {
        [self.c0, self.step_x, self.step_y]
            .iter()
            .all(|v| *v == v.round())
    }

    /// Voxel coordinates of pixel `x` of the row starting at `start`. The one
    /// formula used both to bound the row and to sample it.
    #[inline]
    pub(super) fn at(&self, start: DVec3, x: usize) -> DVec3 {
        start + self.step_x * x as f64
    }

    #[inline]
    fn inside(&self, c: DVec3) -> bool {
        c.cmpge(DVec3::splat(-INSIDE_EPS)).all() && c.cmple(self.last + INSIDE_EPS).all()
    }

    /// The inclusive span of `x` in `0..width` whose samples are inside the
    /// volume, for the row starting at `start`; `None` if there are none.
    pub(super) fn inside_span(&self, start: DVec3, width: usize) -> Option<(usize, usize)> {
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

/// Samples row `y` of the plane into `row` (`plane.size[0]` values): HU
/// inside the volume, `NaN` outside.
pub(super) fn sample_row<T: Sample>(
    src: &[T],
    map: &Mapping,
    interp: Interpolation,
    y: usize,
    row: &mut [f32],
) {
    let start = map.c0 + map.step_y * y as f64;
    let Some((x0, x1)) = map.inside_span(start, row.len()) else {
        row.fill(f32::NAN);
        return;
    };
    let (head, rest) = row.split_at_mut(x0);
    let (span, tail) = rest.split_at_mut(x1 - x0 + 1);
    head.fill(f32::NAN);
    tail.fill(f32::NAN);
    if strided_span(src, map, start, x0, span, interp) {
        return;
    }
    match interp {
        Interpolation::Nearest => nearest_span(src, map, start, x0, span),
        Interpolation::Linear => linear_span(src, map, start, x0, span),
    }
}

/// The voxel value at flat index `i` as HU, `NaN` past the end.
#[inline]
fn at<T: Sample>(src: &[T], i: usize) -> f32 {
    src.get(i).map_or(f32::NAN, |v| v.to_f32())
}

#[inline]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Nearest-neighbour samples of pixels `x0..x0 + span.len()` of one row, all
/// inside the volume.
fn nearest_span<T: Sample>(src: &[T], map: &Mapping, start: DVec3, x0: usize, span: &mut [f32]) {
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
        *o = at(src, iz * plane_len + iy * nx + ix);
    }
}

/// Trilinear samples of pixels `x0..x0 + span.len()` of one row, all inside
/// the volume.
fn linear_span<T: Sample>(src: &[T], map: &Mapping, start: DVec3, x0: usize, span: &mut [f32]) {
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
        let c00 = lerp(at(src, b), at(src, b + ox), tx);
        let c10 = lerp(at(src, b + oy), at(src, b + oy + ox), tx);
        let c01 = lerp(at(src, b + oz), at(src, b + oz + ox), tx);
        let c11 = lerp(at(src, b + oz + oy), at(src, b + oz + oy + ox), tx);
        *o = lerp(lerp(c00, c10, ty), lerp(c01, c11, ty), tz);
    }
}

/// The fast path for rows along which the voxel index advances by a fixed
/// stride: `step_x` is integral and so are the row's coordinates along the
/// axes it moves on. The coordinates along the other axes are constant over
/// the row, so the interpolation weights are too: 1 tap (nearest, or on
/// voxel layers), 2 (between layers) or 4. Gives the same values as
/// [`nearest_span`] and [`linear_span`]. Returns `false`, writing nothing,
/// when the row does not qualify.
fn strided_span<T: Sample>(
    src: &[T],
    map: &Mapping,
    start: DVec3,
    x0: usize,
    span: &mut [f32],
    interp: Interpolation,
) -> bool {
    let step = map.step_x;
    if step != step.round() {
        return false;
    }
    let c = map.at(start, x0);
    let [nx, ny, nz] = map.dims;
    let n = [nx, ny, nz];
    let strides = [1, nx, nx * ny];
    let mut base = 0_usize;
    let mut stride = 0_isize;
    // Up to two (offset, weight) pairs, lower axis first.
    let mut taps: [(usize, f32); 2] = [(0, 0.0); 2];
    let mut n_taps = 0;
    for d in 0..3 {
        if step[d] != 0.0 {
            if c[d].fract() != 0.0 {
                return false;
            }
            base += c[d] as usize * strides[d];
            stride += step[d] as isize * strides[d] as isize;
            continue;
        }
        let cd = c[d].clamp(0.0, map.last[d]);
        let i0 = match interp {
            Interpolation::Nearest => (cd + 0.5) as usize,
            Interpolation::Linear => (cd as usize).min(n[d].saturating_sub(2)),
        };
        base += i0 * strides[d];
        let t = (cd - i0 as f64) as f32;
        if interp == Interpolation::Linear && t != 0.0 {
            if n_taps == taps.len() {
                return false;
            }
            taps[n_taps] = (strides[d], t);
            n_taps += 1;
        }
    }
    let index = |i: usize| (base as isize + i as isize * stride) as usize;
    match n_taps {
        0 => {
            // Contiguous rows (axial views) as a plain slice walk, which
            // vectorises; any other stride by index.
            let len = span.len();
            let contiguous = match stride {
                1 => src.get(base..base + len),
                -1 => src.get((base + 1).wrapping_sub(len)..base + 1),
                _ => None,
            };
            match contiguous {
                Some(row) if stride == 1 => {
                    for (o, v) in span.iter_mut().zip(row) {
                        *o = v.to_f32();
                    }
                }
                Some(row) => {
                    for (o, v) in span.iter_mut().zip(row.iter().rev()) {
                        *o = v.to_f32();
                    }
                }
                None => {
                    for (i, o) in span.iter_mut().enumerate() {
                        *o = at(src, index(i));
                    }
                }
            }
        }
        1 => {
            let (o1, t1) = taps[0];
            for (i, o) in span.iter_mut().enumerate() {
                let b = index(i);
                *o = lerp(at(src, b), at(src, b + o1), t1);
            }
        }
        _ => {
            let ((o1, t1), (o2, t2)) = (taps[0], taps[1]);
            for (i, o) in span.iter_mut().enumerate() {
                let b = index(i);
                let lo = lerp(at(src, b), at(src, b + o1), t1);
                let hi = lerp(at(src, b + o2), at(src, b + o2 + o1), t1);
                *o = lerp(lo, hi, t2);
            }
        }
    }
    true
}
