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

use ndarray::{Array3, CowArray, Ix3};
use rayon::prelude::*;

use super::kernels::{Mapping, linear_span, nearest_span, strided_span};
use super::{Image2, SlicePlane};
use crate::volume::resample::{Interpolation, Sample};
use crate::volume::{Geometry, Volume, Voxels};

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
            if strided_span(src, &map, start, x0, span, interp, &emit) {
                return;
            }
            match interp {
                Interpolation::Nearest => nearest_span(src, &map, start, x0, span, fill, &emit),
                Interpolation::Linear => linear_span(src, &map, start, x0, span, &emit),
            }
        });
}
