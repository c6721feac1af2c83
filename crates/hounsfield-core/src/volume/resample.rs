//! Resampling a volume onto a new regular grid (trilinear or nearest).
//!
//! The output grid keeps the input's in-plane directions, its slice axis is
//! the slice normal (so resampling also removes a gantry-tilt shear), and it
//! covers the input's physical extent: voxel `(0, 0, 0)` of the output sits on
//! the input's first voxel centre (for an unsheared input) and the spacing is
//! exactly the one requested — no half-voxel drift. Outside the input the
//! output holds `fill_hu`.
//!
//! An axis-aligned resampling (the common case) runs separably — along z,
//! then x, then y — which gives the same values as direct trilinear
//! interpolation at a fraction of the cost; any other runs direct.

use glam::{DAffine3, DMat3, DVec3};
use ndarray::{Array3, Axis};
use rayon::prelude::*;

use super::{Geometry, Volume, Voxels};

/// How values between voxel centres are computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interpolation {
    /// Trilinear.
    #[default]
    Linear,
    /// Nearest neighbour (for label maps).
    Nearest,
}

/// Parameters of [`resample`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResampleParams {
    /// Output spacing in mm along `(col, row, slice)`.
    pub spacing_mm: DVec3,
    /// Interpolation.
    pub interpolation: Interpolation,
    /// Value outside the input (HU).
    pub fill_hu: f32,
}

impl Default for ResampleParams {
    /// Isotropic 1 mm, trilinear, air (−1000 HU) outside.
    fn default() -> Self {
        Self {
            spacing_mm: DVec3::ONE,
            interpolation: Interpolation::Linear,
            fill_hu: -1000.0,
        }
    }
}

/// Why resampling failed.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A spacing is not a positive finite number.
    #[error("output spacing must be positive, got {0:?} mm")]
    BadSpacing(DVec3),
    /// The output would be empty or too large.
    #[error("output grid {dims:?} is empty or exceeds {limit} voxels")]
    BadSize {
        /// Requested `[z, row, col]`.
        dims: [usize; 3],
        /// The limit.
        limit: usize,
    },
}

const MAX_OUTPUT_VOXELS: usize = 1 << 31;

/// The output grid [`resample`] would produce.
pub fn output_geometry(input: &Geometry, spacing_mm: DVec3) -> Result<Geometry, ResampleError> {
    if !(spacing_mm.cmpgt(DVec3::ZERO).all() && spacing_mm.is_finite()) {
        return Err(ResampleError::BadSpacing(spacing_mm));
    }
    let col = input.direction.x_axis;
    let row = input.direction.y_axis;
    let normal = input.slice_normal();
    let direction = DMat3::from_cols(col, row, normal);
    // Input corners expressed in the output frame (relative to input origin).
    let w = input.world_from_voxel();
    let n = [input.dims[2], input.dims[1], input.dims[0]];
    let mut lo = DVec3::splat(f64::INFINITY);
    let mut hi = DVec3::splat(f64::NEG_INFINITY);
    for c in 0..8 {
        let idx = DVec3::new(
            if c & 1 == 0 { 0.0 } else { (n[0] - 1) as f64 },
            if c & 2 == 0 { 0.0 } else { (n[1] - 1) as f64 },
            if c & 4 == 0 { 0.0 } else { (n[2] - 1) as f64 },
        );
        let p = direction.transpose() * (w.transform_point3(idx) - input.origin_mm);
        lo = lo.min(p);
        hi = hi.max(p);
    }
    let ext = hi - lo;
    let count = |e: f64, s: f64| (e / s + 1e-6).floor() as usize + 1;
    let dims = [
        count(ext.z, spacing_mm.z),
        count(ext.y, spacing_mm.y),
        count(ext.x, spacing_mm.x),
    ];
    let total = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if total.is_none_or(|t| t == 0 || t > MAX_OUTPUT_VOXELS) {
        return Err(ResampleError::BadSize {
            dims,
            limit: MAX_OUTPUT_VOXELS,
        });
    }
    Ok(Geometry {
        dims,
        spacing_mm,
        origin_mm: input.origin_mm + direction * lo,
        direction,
    })
}

/// Resample `vol` to the spacing in `params` (see the module docs for the
/// grid). `i16` input gives `i16` output (rounded), `f32` gives `f32`.
///
/// ```
/// use hounsfield_core::volume::{Geometry, Volume, resample::{resample, ResampleParams}};
/// let mut g = Geometry::identity([3, 4, 5]);
/// g.spacing_mm = glam::DVec3::new(1.0, 1.0, 2.0);
/// let v = Volume::from_i16(ndarray::Array3::zeros((3, 4, 5)), g);
/// let r = resample(&v, &ResampleParams::default())?;
/// assert_eq!(r.shape(), [5, 4, 5]);
/// # Ok::<(), hounsfield_core::volume::resample::ResampleError>(())
/// ```
pub fn resample(vol: &Volume, params: &ResampleParams) -> Result<Volume, ResampleError> {
    let out_geom = output_geometry(&vol.geometry, params.spacing_mm)?;
    // in-voxel coordinates of out-voxel indices
    let in_from_out: DAffine3 = vol.geometry.voxel_from_world() * out_geom.world_from_voxel();
    let voxels = match &vol.voxels {
        Voxels::I16(a) => Voxels::I16(resample_array(a, &in_from_out, out_geom.dims, params)),
        Voxels::F32(a) => Voxels::F32(resample_array(a, &in_from_out, out_geom.dims, params)),
    };
    let nz = out_geom.dims[0];
    Ok(Volume {
        id: super::VolumeId::fresh(),
        voxels,
        geometry: out_geom,
        padding_per_slice: vec![None; nz],
    })
}

/// A voxel type that can be resampled.
pub trait Sample: Copy + Send + Sync + Default + 'static {
    /// As float.
    fn to_f32(self) -> f32;
    /// From float (rounded/saturated for integers).
    fn from_f32(v: f32) -> Self;
}

impl Sample for i16 {
    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        // Round half away from zero without a libm call (vectorises);
        // `as` saturates.
        (v + 0.5f32.copysign(v)) as i16
    }
}

impl Sample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v
    }
}

impl Sample for u16 {
    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v.round().clamp(0.0, 65535.0) as u16
    }
}

impl Sample for u8 {
    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v.round().clamp(0.0, 255.0) as u8
    }
}

/// Resample an array `[z, row, col]` given the map from output voxel index
/// `(i, j, k)` to input voxel coordinates.
pub fn resample_array<T: Sample>(
    input: &Array3<T>,
    in_from_out: &DAffine3,
    out_dims: [usize; 3],
    params: &ResampleParams,
) -> Array3<T> {
    let m = in_from_out.matrix3;
    let off_diagonal = [
        m.x_axis.y, m.x_axis.z, m.y_axis.x, m.y_axis.z, m.z_axis.x, m.z_axis.y,
    ];
    let axis_aligned = off_diagonal.iter().all(|v| v.abs() < 1e-9);
    if axis_aligned && params.interpolation == Interpolation::Linear {
        separable_linear(input, in_from_out, out_dims, params.fill_hu)
    } else {
        direct(input, in_from_out, out_dims, params)
    }
}

/// One output sample along an axis: `(1 - t)·a[i0] + t·a[i1]`.
#[derive(Clone, Copy, Debug)]
struct Tap {
    i0: usize,
    i1: usize,
    t: f32,
}

/// Linear taps along one axis for output indices `0..n_out`, where output
/// `o` samples input coordinate `offset + scale·o`; `None` outside the input.
fn axis_taps(n_in: usize, n_out: usize, scale: f64, offset: f64) -> Vec<Option<Tap>> {
    (0..n_out)
        .map(|o| {
            let c = offset + scale * o as f64;
            let eps = 1e-6;
            if c < -eps || c > (n_in - 1) as f64 + eps {
                return None;
            }
            let c = c.clamp(0.0, (n_in - 1) as f64);
            let i0 = (c.floor() as usize).min(n_in.saturating_sub(2));
            let i1 = (i0 + 1).min(n_in - 1);
            let t = if i1 == i0 {
                0.0
            } else {
                (c - i0 as f64) as f32
            };
            Some(Tap { i0, i1, t })
        })
        .collect()
}

/// Per-thread scratch of [`separable_linear`].
#[derive(Default)]
struct Scratch {
    /// One input slice interpolated along z (`ny × nx`).
    plane: Vec<f32>,
    /// That plane interpolated along x (`ny × out_nx`).
    rows: Vec<f32>,
}

fn separable_linear<T: Sample>(
    input: &Array3<T>,
    f: &DAffine3,
    out_dims: [usize; 3],
    fill: f32,
) -> Array3<T> {
    let (nz, ny, nx) = input.dim();
    let input = input.as_standard_layout();
    let src = input.as_slice().unwrap_or(&[]);
    let [onz, ony, onx] = out_dims;
    let wx = axis_taps(nx, onx, f.matrix3.x_axis.x, f.translation.x);
    let wy = axis_taps(ny, ony, f.matrix3.y_axis.y, f.translation.y);
    let wz = axis_taps(nz, onz, f.matrix3.z_axis.z, f.translation.z);
    let plane_len = ny * nx;
    let mut out = Array3::<T>::default((onz, ony, onx));
    let Some(out_all) = out.as_slice_mut() else {
        return out;
    };
    out_all
        .par_chunks_mut((ony * onx).max(1))
        .zip(wz.par_iter())
        .for_each_init(Scratch::default, |scratch, (slice, wz)| {
            let Some(Tap {
                i0: z0,
                i1: z1,
                t: tz,
            }) = *wz
            else {
                slice.fill(T::from_f32(fill));
                return;
            };
            // 1. along z: one input-sized plane in f32
            let a = &src[z0 * plane_len..(z0 + 1) * plane_len];
            let b = &src[z1 * plane_len..(z1 + 1) * plane_len];
            scratch.plane.resize(plane_len, 0.0);
            for ((p, &a), &b) in scratch.plane.iter_mut().zip(a).zip(b) {
                let a = a.to_f32();
                *p = a + (b.to_f32() - a) * tz;
            }
            // 2. along x, every input row
            scratch.rows.resize(ny * onx, 0.0);
            for (row, dst) in scratch
                .plane
                .chunks_exact(nx)
                .zip(scratch.rows.chunks_exact_mut(onx))
            {
                for (o, w) in dst.iter_mut().zip(&wx) {
                    *o = match *w {
                        None => fill,
                        Some(Tap { i0, i1, t }) => row[i0] + (row[i1] - row[i0]) * t,
                    };
                }
            }
            // 3. along y, into the output
            for (out_row, w) in slice.chunks_exact_mut(onx).zip(&wy) {
                let Some(Tap { i0, i1, t }) = *w else {
                    out_row.fill(T::from_f32(fill));
                    continue;
                };
                let r0 = &scratch.rows[i0 * onx..(i0 + 1) * onx];
                let r1 = &scratch.rows[i1 * onx..(i1 + 1) * onx];
                for ((o, &a), &b) in out_row.iter_mut().zip(r0).zip(r1) {
                    *o = T::from_f32(a + (b - a) * t);
                }
            }
        });
    out
}

fn direct<T: Sample>(
    input: &Array3<T>,
    f: &DAffine3,
    out_dims: [usize; 3],
    params: &ResampleParams,
) -> Array3<T> {
    let (nz, ny, nx) = input.dim();
    let fill = T::from_f32(params.fill_hu);
    let eps = 1e-6;
    let max = DVec3::new((nx - 1) as f64, (ny - 1) as f64, (nz - 1) as f64);
    let mut out = Array3::<T>::default((out_dims[0], out_dims[1], out_dims[2]));
    let at = |x: usize, y: usize, z: usize| input[[z, y, x]].to_f32();
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(k, mut slice)| {
            for j in 0..out_dims[1] {
                for i in 0..out_dims[2] {
                    let c = f.transform_point3(DVec3::new(i as f64, j as f64, k as f64));
                    if c.cmplt(DVec3::splat(-eps)).any() || c.cmpgt(max + eps).any() {
                        slice[[j, i]] = fill;
                        continue;
                    }
                    let c = c.clamp(DVec3::ZERO, max);
                    slice[[j, i]] = match params.interpolation {
                        Interpolation::Nearest => {
                            let r = c.round();
                            input[[r.z as usize, r.y as usize, r.x as usize]]
                        }
                        Interpolation::Linear => {
                            let x0 = (c.x.floor() as usize).min(nx.saturating_sub(2));
                            let y0 = (c.y.floor() as usize).min(ny.saturating_sub(2));
                            let z0 = (c.z.floor() as usize).min(nz.saturating_sub(2));
                            let (x1, y1, z1) = (
                                (x0 + 1).min(nx - 1),
                                (y0 + 1).min(ny - 1),
                                (z0 + 1).min(nz - 1),
                            );
                            let (tx, ty, tz) = (
                                (c.x - x0 as f64) as f32,
                                (c.y - y0 as f64) as f32,
                                (c.z - z0 as f64) as f32,
                            );
                            let l = |a: f32, b: f32, t: f32| a + (b - a) * t;
                            let c00 = l(at(x0, y0, z0), at(x1, y0, z0), tx);
                            let c10 = l(at(x0, y1, z0), at(x1, y1, z0), tx);
                            let c01 = l(at(x0, y0, z1), at(x1, y0, z1), tx);
                            let c11 = l(at(x0, y1, z1), at(x1, y1, z1), tx);
                            T::from_f32(l(l(c00, c10, ty), l(c01, c11, ty), tz))
                        }
                    };
                }
            }
        });
    out
}
