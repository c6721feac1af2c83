//! Rotating MIP: maximum intensity projections of a volume seen from angles
//! all around the patient's superior–inferior axis (LPS +z), for an animation.
//!
//! Frame 0 is the anterior (coronal-like, radiological) view: image x runs
//! from the patient's right to left, image y from superior to inferior. Frame
//! `f` turns the viewing direction about +z by `f · step_deg`. Every frame has
//! the same fixed square size: the volume's bounding cylinder (in-plane
//! diagonal) or its z extent, whichever is larger, fits into `size` pixels,
//! with the same mm per pixel horizontally and vertically.
//!
//! For a volume whose slices are axial planes (the usual case) each slice is a
//! 2D problem: per frame and output column, a line is marched across the
//! slice in steps of the finer in-plane spacing with bilinear taps, giving one
//! projected profile per (frame, slice); output rows interpolate linearly
//! between the profiles of the two nearest slices. Other volumes are resampled
//! first to an orthogonal grid at the finest spacing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use glam::{DMat2, DVec2, DVec3};
use ndarray::Array3;
use rayon::prelude::*;

use crate::volume::resample::{Interpolation, ResampleError, ResampleParams, resample};
use crate::volume::{Geometry, Volume, Voxels};

/// Largest number of frames.
const MAX_FRAMES: usize = 3600;
/// Largest output side in pixels.
const MAX_SIZE: usize = 8192;
/// Tolerance for "the slices are axial planes".
const AXIAL_TOL: f64 = 1e-6;

/// Parameters of [`rotating_mip`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotatingMipParams {
    /// Angle between frames in degrees (`360 / step_deg` frames, rounded).
    pub step_deg: f64,
    /// Side of the square output frames in pixels.
    pub size: usize,
    /// Window centre in HU.
    pub centre_hu: f32,
    /// Window width in HU.
    pub width_hu: f32,
    /// Value outside the volume in HU (air).
    pub outside_hu: f32,
}

impl Default for RotatingMipParams {
    /// 10° steps (36 frames), 512 px, window 150/900 HU, air outside.
    fn default() -> Self {
        Self {
            step_deg: 10.0,
            size: 512,
            centre_hu: 150.0,
            width_hu: 900.0,
            outside_hu: -1000.0,
        }
    }
}

impl RotatingMipParams {
    /// Number of frames for one full turn.
    pub fn frame_count(&self) -> usize {
        (360.0 / self.step_deg).round().max(1.0) as usize
    }
}

/// Why a rotating MIP failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// A parameter is out of range.
    #[error("invalid rotating MIP parameter: {0}")]
    BadParams(String),
    /// The volume has no voxels.
    #[error("the volume is empty")]
    Empty,
    /// The slices are not axial planes even after resampling.
    #[error("the volume's slices are not axial planes (orientation {0}); reorient it first")]
    NotAxial(String),
    /// Resampling a sheared or oblique volume failed.
    #[error("resampling before projection failed: {0}")]
    Resample(#[from] ResampleError),
    /// Cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
}

/// Millimetres per output pixel for a volume of this geometry at `size`
/// pixels: the larger of the in-plane diagonal and the z extent (voxel edges
/// included) over `size`.
pub fn mm_per_px(geometry: &Geometry, size: usize) -> f64 {
    let (radius, z_extent) = bounds(geometry);
    (2.0 * radius).max(z_extent) / size.max(1) as f64
}

/// In-plane radius of the bounding cylinder about the centre and z extent
/// (both in mm, voxel edges included).
fn bounds(g: &Geometry) -> (f64, f64) {
    let w = g.world_from_voxel();
    let centre = g.centre_mm();
    let n = [g.dims[2] as f64, g.dims[1] as f64, g.dims[0] as f64];
    let mut radius: f64 = 0.0;
    let mut z_lo = f64::INFINITY;
    let mut z_hi = f64::NEG_INFINITY;
    for c in 0..8 {
        let idx = DVec3::new(
            if c & 1 == 0 { -0.5 } else { n[0] - 0.5 },
            if c & 2 == 0 { -0.5 } else { n[1] - 0.5 },
            if c & 4 == 0 { -0.5 } else { n[2] - 0.5 },
        );
        let p = w.transform_point3(idx) - centre;
        radius = radius.max(p.truncate().length());
        z_lo = z_lo.min(p.z);
        z_hi = z_hi.max(p.z);
    }
    (radius, z_hi - z_lo)
}

/// Whether the columns and rows lie in axial planes and the slice axis is
/// along ±z (so each slice is one axial plane).
fn is_axial(g: &Geometry) -> bool {
    let d = g.direction;
    d.x_axis.z.abs() < AXIAL_TOL
        && d.y_axis.z.abs() < AXIAL_TOL
        && d.z_axis.x.abs() < AXIAL_TOL
        && d.z_axis.y.abs() < AXIAL_TOL
        && d.z_axis.z.abs() > AXIAL_TOL
}

/// Rotating MIP frames (`size × size` grey bytes, row-major, windowed with
/// `centre_hu`/`width_hu`), one per `step_deg` about +z starting from the
/// anterior view. `progress` receives (finished frames, frames).
pub fn rotating_mip(
    vol: &Volume,
    p: &RotatingMipParams,
    cancel: Option<&AtomicBool>,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<Vec<Vec<u8>>, RotateError> {
    if !(p.step_deg.is_finite() && p.step_deg > 0.0 && p.step_deg <= 360.0) {
        return Err(RotateError::BadParams(format!(
            "step must be in (0, 360] degrees, got {}",
            p.step_deg
        )));
    }
    if p.frame_count() > MAX_FRAMES {
        return Err(RotateError::BadParams(format!(
            "step {}° gives more than {MAX_FRAMES} frames",
            p.step_deg
        )));
    }
    if p.size == 0 || p.size > MAX_SIZE {
        return Err(RotateError::BadParams(format!(
            "size must be 1..={MAX_SIZE} px, got {}",
            p.size
        )));
    }
    if !(p.width_hu.is_finite() && p.width_hu > 0.0 && p.centre_hu.is_finite()) {
        return Err(RotateError::BadParams(format!(
            "window must be finite with width > 0, got {}/{}",
            p.centre_hu, p.width_hu
        )));
    }
    if vol.voxels.is_empty() {
        return Err(RotateError::Empty);
    }
    let [_, nrow, ncol] = vol.geometry.dims;
    if nrow < 2 || ncol < 2 {
        return Err(RotateError::BadParams(format!(
            "slices must be at least 2×2 voxels, got {nrow}×{ncol}"
        )));
    }
    if is_axial(&vol.geometry) {
        return project_axial(vol, p, cancel, progress);
    }
    let s = vol.geometry.spacing_mm;
    let fine = s.x.min(s.y).min(s.z);
    let resampled = resample(
        vol,
        &ResampleParams {
            spacing_mm: DVec3::splat(fine),
            interpolation: Interpolation::Linear,
            fill_hu: p.outside_hu,
        },
    )?;
    if !is_axial(&resampled.geometry) {
        return Err(RotateError::NotAxial(vol.geometry.orientation_code()));
    }
    project_axial(&resampled, p, cancel, progress)
}

/// A sample type the marcher reads.
trait Hu: Copy + Send + Sync {
    fn hu(self) -> f32;
}

impl Hu for i16 {
    #[inline]
    fn hu(self) -> f32 {
        f32::from(self)
    }
}

impl Hu for f32 {
    #[inline]
    fn hu(self) -> f32 {
        self
    }
}

fn project_axial(
    vol: &Volume,
    p: &RotatingMipParams,
    cancel: Option<&AtomicBool>,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<Vec<Vec<u8>>, RotateError> {
    let profiles = match &vol.voxels {
        Voxels::I16(a) => profiles(a, &vol.geometry, p, cancel, progress)?,
        Voxels::F32(a) => profiles(a, &vol.geometry, p, cancel, progress)?,
    };
    Ok(assemble(&profiles, &vol.geometry, p))
}

/// Per (frame, slice) projected profiles: `frames · nz · size` HU values.
fn profiles<T: Hu>(
    a: &Array3<T>,
    g: &Geometry,
    p: &RotatingMipParams,
    cancel: Option<&AtomicBool>,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<Vec<f32>, RotateError> {
    let std_layout = a.as_standard_layout();
    let data = std_layout
        .as_slice()
        .expect("standard layout arrays are contiguous");
    let [nz, nrow, ncol] = g.dims;
    let frames = p.frame_count();
    let size = p.size;
    let mmpx = mm_per_px(g, size);
    let (radius, _) = bounds(g);
    let centre = g.centre_mm().truncate();
    let origin = g.origin_mm.truncate();
    // In-plane voxel (col, row) from world (x, y).
    let plane = DMat2::from_cols(
        g.direction.x_axis.truncate() * g.spacing_mm.x,
        g.direction.y_axis.truncate() * g.spacing_mm.y,
    );
    let voxel_from_xy = plane.inverse();
    let step = g.spacing_mm.x.min(g.spacing_mm.y);
    let plane_len = nrow * ncol;
    let done = AtomicUsize::new(0);
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));

    let mut out = vec![p.outside_hu; frames * nz * size];
    out.par_chunks_mut(size)
        .enumerate()
        .try_for_each(|(task, row)| {
            if cancelled() {
                return Err(RotateError::Cancelled);
            }
            let (frame, k) = (task / nz, task % nz);
            let theta = (frame as f64 * p.step_deg).to_radians();
            let (sin, cos) = theta.sin_cos();
            let u = DVec2::new(cos, sin);
            let d = DVec2::new(-sin, cos);
            let slice = &data[k * plane_len..(k + 1) * plane_len];
            let dv = voxel_from_xy * (d * step);
            for (c, v) in row.iter_mut().enumerate() {
                let s = (c as f64 + 0.5 - size as f64 / 2.0) * mmpx;
                let start = voxel_from_xy * (centre + u * s - d * radius - origin);
                let n_steps = (2.0 * radius / step).ceil() as usize + 1;
                *v = march(slice, ncol, nrow, start, dv, n_steps, p.outside_hu);
            }
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            if finished.is_multiple_of(nz)
                && let Some(f) = progress
            {
                f(finished / nz, frames);
            }
            Ok(())
        })?;
    Ok(out)
}

/// Clip `t ∈ [0, n)` of `start + t·dv` to `lo ≤ x ≤ hi`; returns the
/// inclusive-exclusive step range as floats.
fn clip(x0: f64, dx: f64, lo: f64, hi: f64, range: (f64, f64)) -> (f64, f64) {
    if dx.abs() < 1e-12 {
        if x0 < lo || x0 > hi {
            (0.0, 0.0)
        } else {
            range
        }
    } else {
        let a = (lo - x0) / dx;
        let b = (hi - x0) / dx;
        (range.0.max(a.min(b)), range.1.min(a.max(b)))
    }
}

/// Maximum of bilinear taps along a line of `n_steps` samples in one slice;
/// `outside` when part of the line leaves the slice.
#[inline]
fn march<T: Hu>(
    slice: &[T],
    ncol: usize,
    nrow: usize,
    start: DVec2,
    dv: DVec2,
    n_steps: usize,
    outside: f32,
) -> f32 {
    let full = (0.0, (n_steps - 1) as f64);
    let r = clip(start.x, dv.x, 0.0, (ncol - 1) as f64, full);
    let r = clip(start.y, dv.y, 0.0, (nrow - 1) as f64, r);
    let first = r.0.ceil().max(0.0);
    let last = r.1.floor();
    if last < first {
        return outside;
    }
    let mut m = if first > 0.0 || last < full.1 {
        outside
    } else {
        f32::NEG_INFINITY
    };
    let (first, last) = (first as usize, last as usize);
    let max_i = ncol - 2;
    let max_j = nrow - 2;
    let (wi, hj) = ((ncol - 1) as f32, (nrow - 1) as f32);
    let (sx, sy) = (start.x as f32, start.y as f32);
    let (dx, dy) = (dv.x as f32, dv.y as f32);
    for t in first..=last {
        let x = (sx + dx * t as f32).clamp(0.0, wi);
        let y = (sy + dy * t as f32).clamp(0.0, hj);
        let i0 = (x as usize).min(max_i);
        let j0 = (y as usize).min(max_j);
        let fx = x - i0 as f32;
        let fy = y - j0 as f32;
        let r0 = j0 * ncol + i0;
        let r1 = r0 + ncol;
        let a = slice[r0].hu();
        let b = slice[r0 + 1].hu();
        let c = slice[r1].hu();
        let e = slice[r1 + 1].hu();
        let top = a + (b - a) * fx;
        let bottom = c + (e - c) * fx;
        m = m.max(top + (bottom - top) * fy);
    }
    m
}

/// Output frames from the profiles: rows interpolate between slices, then the
/// window maps HU to bytes.
fn assemble(profiles: &[f32], g: &Geometry, p: &RotatingMipParams) -> Vec<Vec<u8>> {
    let nz = g.dims[0];
    let size = p.size;
    let frames = p.frame_count();
    let mmpx = mm_per_px(g, size);
    let centre_z = g.centre_mm().z;
    let slice_dz = g.direction.z_axis.z * g.spacing_mm.z;
    let lo = p.centre_hu - p.width_hu / 2.0;
    let scale = 255.0 / p.width_hu;
    let to_u8 = |hu: f32| ((hu - lo) * scale).round().clamp(0.0, 255.0) as u8;
    let outside = to_u8(p.outside_hu);
    // Per output row: slice pair and weight, or None outside the volume.
    let rows: Vec<Option<(usize, usize, f32)>> = (0..size)
        .map(|r| {
            let z = centre_z + (size as f64 / 2.0 - r as f64 - 0.5) * mmpx;
            let kf = (z - g.origin_mm.z) / slice_dz;
            if !(-0.5..=nz as f64 - 0.5).contains(&kf) {
                return None;
            }
            let kf = kf.clamp(0.0, (nz - 1) as f64);
            let k0 = (kf.floor() as usize).min(nz - 1);
            let k1 = (k0 + 1).min(nz - 1);
            Some((k0, k1, (kf - k0 as f64) as f32))
        })
        .collect();
    (0..frames)
        .into_par_iter()
        .map(|f| {
            let base = &profiles[f * nz * size..(f + 1) * nz * size];
            let mut img = vec![outside; size * size];
            for (out_row, spec) in img.chunks_exact_mut(size).zip(&rows) {
                let Some((k0, k1, w)) = *spec else { continue };
                let a = &base[k0 * size..(k0 + 1) * size];
                let b = &base[k1 * size..(k1 + 1) * size];
                for ((o, &x), &y) in out_row.iter_mut().zip(a).zip(b) {
                    *o = to_u8(x + (y - x) * w);
                }
            }
            img
        })
        .collect()
}
