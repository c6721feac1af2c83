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

use super::kernels::{Mapping, sample_row};
use super::{Image2, SlicePlane};
use crate::volume::resample::{Interpolation, Sample};
use crate::volume::{Geometry, Volume, Voxels};

/// Resample `vol` onto `plane` (HU, row-major, `NaN` outside the volume).
///
/// `interp` chooses nearest-neighbour or trilinear sampling. An image whose
/// `width * height` overflows `usize` comes back empty.
///
/// ```
/// use hounsfield_core::mpr::{reslice, SlicePlane, ViewAxis};
/// use hounsfield_core::volume::{resample::Interpolation, Geometry, Volume};
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
    match &vol.voxels {
        Voxels::I16(a) => reslice_into(a, &vol.geometry, plane, interp, &mut data),
        Voxels::F32(a) => reslice_into(a, &vol.geometry, plane, interp, &mut data),
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
/// linearly to `0..=255`, clamped outside, with the same values as
/// [`window_value_u8`](crate::volume::ops::window_value_u8) (tested for every
/// `i16` HU value with the window presets); `width_hu` is at least 1 HU.
/// This is the viewer's per-frame path. An image whose `width * height`
/// overflows `usize` leaves `out` empty.
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
    match &vol.voxels {
        Voxels::I16(a) => reslice_window_into(a, &vol.geometry, plane, interp, (lo, w), out),
        Voxels::F32(a) => reslice_window_into(a, &vol.geometry, plane, interp, (lo, w), out),
    }
}

/// The array as one `[z, row, col]` slice (borrowed when it already is
/// one), and the plane's mapping with the interpolation to use; `None` when
/// nothing is inside (empty volume, degenerate geometry).
fn prepare<'a, T: Sample>(
    array: &'a Array3<T>,
    geometry: &Geometry,
    plane: &SlicePlane,
    interp: Interpolation,
) -> (CowArray<'a, T, Ix3>, Option<(Mapping, Interpolation)>) {
    let (nz, ny, nx) = array.dim();
    let standard = array.as_standard_layout();
    let map = Mapping::new(geometry, [nx, ny, nz], plane).map(|map| {
        // On voxel centres everywhere, trilinear is nearest.
        let interp = if map.is_integral() {
            Interpolation::Nearest
        } else {
            interp
        };
        (map, interp)
    });
    (standard, map)
}

/// [`reslice`] of one array into `out` (row-major, `plane.size`).
fn reslice_into<T: Sample>(
    array: &Array3<T>,
    geometry: &Geometry,
    plane: &SlicePlane,
    interp: Interpolation,
    out: &mut [f32],
) {
    let width = plane.size[0];
    let (standard, map) = prepare(array, geometry, plane, interp);
    let (Some(src), Some((map, interp)), true) = (standard.as_slice(), map, width > 0) else {
        out.fill(f32::NAN);
        return;
    };
    out.par_chunks_mut(width)
        .enumerate()
        .with_min_len(4)
        .for_each(|(y, row)| sample_row(src, &map, interp, y, row));
}

/// [`reslice_window_u8`] of one array: each row is sampled into a scratch
/// row of HU, then windowed in a separate loop that vectorises.
fn reslice_window_into<T: Sample>(
    array: &Array3<T>,
    geometry: &Geometry,
    plane: &SlicePlane,
    interp: Interpolation,
    (lo_hu, width_hu): (f32, f32),
    out: &mut [u8],
) {
    let width = plane.size[0];
    let (standard, map) = prepare(array, geometry, plane, interp);
    let (Some(src), Some((map, interp)), true) = (standard.as_slice(), map, width > 0) else {
        out.fill(0);
        return;
    };
    out.par_chunks_mut(width)
        .enumerate()
        .with_min_len(4)
        .for_each_init(Vec::new, |hu, (y, row)| {
            hu.resize(row.len(), f32::NAN);
            sample_row(src, &map, interp, y, hu);
            window_row(hu, lo_hu, width_hu, row);
        });
}

/// 2^23: adding it to a float in `[0, 2^22]` leaves the value rounded to an
/// integer in the low mantissa bits.
const MAGIC: f32 = 8_388_608.0;

/// Window a row of HU to 8 bits: `(hu - lo_hu) / width_hu`, clamped to
/// `[0, 1]`, times 255, rounded half up (as `f32::round` for these
/// non-negative values); `NaN` → 0. Integer conversion through the float
/// mantissa (no saturating casts), so the loop vectorises.
pub(super) fn window_row(hu: &[f32], lo_hu: f32, width_hu: f32, out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(hu) {
        // `max` returns the non-NaN operand: NaN → 0.
        #[allow(clippy::manual_clamp, reason = "clamp would keep NaN")]
        let x = ((v - lo_hu) / width_hu).max(0.0).min(1.0) * 255.0;
        let y = x + 0.5;
        let m = y + MAGIC;
        // m's low bits hold y rounded to nearest even; step down if that
        // rounded up, giving floor(y).
        let rounded_up = (m - MAGIC) > y;
        *o = m.to_bits().wrapping_sub(u32::from(rounded_up)) as u8;
    }
}
