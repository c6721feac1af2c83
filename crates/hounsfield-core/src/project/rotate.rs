//! Rotating MIP: maximum intensity projections of a volume seen from angles
//! all around the patient's superior–inferior axis (LPS +z), for an animation.
//!
//! Frame 0 is the anterior (coronal-like, radiological) view: image x runs
//! from the patient's right to left, image y from superior to inferior. Frame
//! `f` turns the viewing direction about +z by `f · step_deg` (90°: seen from
//! the patient's left, like a sagittal view). Every frame has the same fixed
//! square size: the volume's bounding cylinder (in-plane diagonal) or its z
//! extent, whichever is larger, fits into `size` pixels, with the same mm per
//! pixel horizontally and vertically ([`mm_per_px`]). Everything outside the
//! volume counts as `outside_hu` (air, −1000 HU), so the MIP of every ray is
//! at least that: frame corners are black with the default window.
//!
//! # Method (shear-warp, one axial slice at a time)
//!
//! When every slice is an axial plane (the usual case, also for a
//! gantry-tilted stack whose slices stay axial), each slice is a 2D problem.
//! The screen coordinate `s` of a voxel is affine in its (col, row) index, so
//! for a given angle each voxel line (a row, or a column of the transposed
//! slice: whichever runs more across the rays) lands on a regular grid of
//! rays, only shifted by a fraction per line. The projection of the slice is
//! the running maximum over its lines, each linearly interpolated at that
//! constant fraction — a contiguous, vectorised loop — into an intermediate
//! profile at the line's own pitch, warped once (linear) to the output pixels.
//! A ray thus samples every voxel line it crosses, at full resolution. Rays at
//! `θ` and `θ + 180°` are the same lines, so those frames are mirror images
//! and computed once. Output rows interpolate linearly between the profiles
//! of the two nearest slices, then the window maps HU to bytes.
//!
//! Work runs in parallel over slices (rayon), every value is reduced in a
//! fixed order (deterministic whatever the thread count), and a cancel flag
//! and progress callback (done, total slices) make it a background job.
//!
//! Other volumes (non-axial slices: coronal or oblique acquisitions) are
//! first resampled (trilinear, `outside_hu` outside) onto a world-aligned grid
//! at their finest spacing; the frame size and scale still come from the
//! original geometry.
//!
//! Label fusion ([`super::fuse`]) runs the same sweep with nearest-neighbour
//! samples and `max` over per-voxel priority ranks.

mod shear;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use glam::{DAffine3, DMat3, DVec3};
use ndarray::Array3;
use rayon::prelude::*;

use crate::volume::resample::{Interpolation, ResampleError, ResampleParams, resample_array};
use crate::volume::{Geometry, Volume, Voxels};

/// Largest number of frames.
const MAX_FRAMES: usize = 3600;
/// Largest output side in pixels.
const MAX_SIZE: usize = 8192;
/// Tolerance for "the slices are axial planes".
const AXIAL_TOL: f64 = 1e-6;
/// Largest grid a non-axial volume is resampled to (voxels); the spacing
/// grows beyond it.
const MAX_RESAMPLED_VOXELS: usize = 1 << 27;
/// Largest total size of the output frames in bytes.
const MAX_OUTPUT_BYTES: usize = 1 << 32;

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

    /// Viewing angle of frame `f` in degrees (0 = anterior view).
    pub fn angle_deg(&self, f: usize) -> f64 {
        f as f64 * self.step_deg
    }
}

/// A progress callback: `(done, total)` work steps (slices swept).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Why a rotating MIP failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// A parameter is out of range.
    #[error("invalid rotating MIP parameter: {0}")]
    BadParams(String),
    /// The volume has no voxels.
    #[error("the volume is empty")]
    Empty,
    /// Resampling a non-axial volume failed.
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

/// Whether every slice is an axial plane: columns and rows have no z
/// component and the slice axis has one (it may be sheared in-plane).
fn is_axial(g: &Geometry) -> bool {
    let d = g.direction;
    d.x_axis.z.abs() < AXIAL_TOL && d.y_axis.z.abs() < AXIAL_TOL && d.z_axis.z.abs() > AXIAL_TOL
}

/// Rotating MIP frames (`size × size` grey bytes, row-major, windowed with
/// `centre_hu`/`width_hu`), one per `step_deg` about +z starting from the
/// anterior view.
///
/// `cancel` stops the work soon after it is set ([`RotateError::Cancelled`]);
/// `progress` receives `(done, total)` swept slices, from worker threads.
pub fn rotating_mip(
    vol: &Volume,
    p: &RotatingMipParams,
    cancel: Option<&AtomicBool>,
    progress: Option<Progress<'_>>,
) -> Result<Vec<Vec<u8>>, RotateError> {
    render(vol, None, p, cancel, progress).map(|r| r.grey)
}

/// Frames of [`render`]: windowed grey bytes and, when ranks were given, the
/// highest rank met by each pixel's rays (0 = none).
pub(crate) struct Rendered {
    /// One `size × size` grey frame per angle.
    pub grey: Vec<Vec<u8>>,
    /// One `size × size` rank frame per angle (empty without ranks).
    pub ranks: Vec<Vec<u16>>,
}

/// The output frame: centre and scale, from the original geometry.
#[derive(Clone, Copy, Debug)]
struct Framing {
    centre_mm: DVec3,
    mm_per_px: f64,
    size: usize,
}

fn validate(vol: &Volume, p: &RotatingMipParams) -> Result<(), RotateError> {
    let bad = |m: String| Err(RotateError::BadParams(m));
    if !(p.step_deg.is_finite() && p.step_deg > 0.0 && p.step_deg <= 360.0) {
        return bad(format!(
            "step must be in (0, 360] degrees, got {}",
            p.step_deg
        ));
    }
    if p.frame_count() > MAX_FRAMES {
        return bad(format!(
            "step {}° gives more than {MAX_FRAMES} frames",
            p.step_deg
        ));
    }
    if p.size == 0 || p.size > MAX_SIZE {
        return bad(format!("size must be 1..={MAX_SIZE} px, got {}", p.size));
    }
    if p.frame_count() * p.size * p.size > MAX_OUTPUT_BYTES {
        return bad(format!(
            "{} frames of {} px exceed {MAX_OUTPUT_BYTES} bytes",
            p.frame_count(),
            p.size
        ));
    }
    if !(p.width_hu.is_finite() && p.width_hu > 0.0 && p.centre_hu.is_finite()) {
        return bad(format!(
            "window must be finite with width > 0, got {}/{}",
            p.centre_hu, p.width_hu
        ));
    }
    if !p.outside_hu.is_finite() {
        return bad(format!(
            "outside value must be finite, got {}",
            p.outside_hu
        ));
    }
    if vol.voxels.is_empty() {
        return Err(RotateError::Empty);
    }
    Ok(())
}

/// The rotating MIP of `vol` and, optionally, of per-voxel priority `ranks`
/// on the same grid (`[z, row, col]`, 0 = no label, higher wins).
pub(crate) fn render(
    vol: &Volume,
    ranks: Option<&Array3<u16>>,
    p: &RotatingMipParams,
    cancel: Option<&AtomicBool>,
    progress: Option<Progress<'_>>,
) -> Result<Rendered, RotateError> {
    validate(vol, p)?;
    if let Some(r) = ranks
        && r.shape() != vol.shape()
    {
        return Err(RotateError::BadParams(format!(
            "label grid {:?} differs from the volume's {:?}",
            r.shape(),
            vol.shape()
        )));
    }
    let framing = Framing {
        centre_mm: vol.geometry.centre_mm(),
        mm_per_px: mm_per_px(&vol.geometry, p.size),
        size: p.size,
    };
    let job = Job {
        cancel,
        progress,
        done: AtomicUsize::new(0),
        total: vol.shape()[0] * (1 + usize::from(ranks.is_some())),
    };
    if is_axial(&vol.geometry) {
        return render_axial(&vol.geometry, &vol.voxels, ranks, p, framing, &job);
    }
    let (geometry, in_from_out) = axial_grid(&vol.geometry)?;
    let params = |interpolation, fill_hu| ResampleParams {
        spacing_mm: geometry.spacing_mm,
        interpolation,
        fill_hu,
    };
    let linear = params(Interpolation::Linear, p.outside_hu);
    let voxels = match &vol.voxels {
        Voxels::I16(a) => Voxels::I16(resample_array(a, &in_from_out, geometry.dims, &linear)),
        Voxels::F32(a) => Voxels::F32(resample_array(a, &in_from_out, geometry.dims, &linear)),
    };
    job.check()?;
    let ranks = ranks.map(|r| {
        let r16 = r.mapv(|v| i16::try_from(v).unwrap_or(i16::MAX));
        let nearest = params(Interpolation::Nearest, 0.0);
        resample_array(&r16, &in_from_out, geometry.dims, &nearest)
            .mapv(|v| u16::try_from(v).unwrap_or(0))
    });
    let job = Job {
        total: geometry.dims[0] * (1 + usize::from(ranks.is_some())),
        ..job
    };
    render_axial(&geometry, &voxels, ranks.as_ref(), p, framing, &job)
}

/// A world-aligned grid (identity direction) over the voxel centres of `g`
/// at its finest spacing (coarser if it would be too large), and the map from
/// its voxel indices to those of `g`.
fn axial_grid(g: &Geometry) -> Result<(Geometry, DAffine3), RotateError> {
    let w = g.world_from_voxel();
    let n = [g.dims[2], g.dims[1], g.dims[0]].map(|d| d.saturating_sub(1) as f64);
    let mut lo = DVec3::splat(f64::INFINITY);
    let mut hi = DVec3::splat(f64::NEG_INFINITY);
    for c in 0..8 {
        let idx = DVec3::new(
            if c & 1 == 0 { 0.0 } else { n[0] },
            if c & 2 == 0 { 0.0 } else { n[1] },
            if c & 4 == 0 { 0.0 } else { n[2] },
        );
        let q = w.transform_point3(idx);
        lo = lo.min(q);
        hi = hi.max(q);
    }
    let mut spacing = g.spacing_mm.abs().min_element();
    if !(spacing.is_finite() && spacing > 0.0) {
        return Err(RotateError::BadParams(format!(
            "voxel spacing must be positive, got {:?}",
            g.spacing_mm
        )));
    }
    let ext = hi - lo;
    let dims = loop {
        let count = |e: f64| (e / spacing + 1e-6).floor() as usize + 1;
        let dims = [count(ext.z), count(ext.y), count(ext.x)];
        let total = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if total.is_some_and(|t| t <= MAX_RESAMPLED_VOXELS) {
            break dims;
        }
        spacing *= 1.25;
    };
    let out = Geometry {
        dims,
        spacing_mm: DVec3::splat(spacing),
        origin_mm: lo,
        direction: DMat3::IDENTITY,
    };
    let in_from_out = g.voxel_from_world() * out.world_from_voxel();
    Ok((out, in_from_out))
}

/// Cancel flag and progress of one render.
struct Job<'a> {
    cancel: Option<&'a AtomicBool>,
    progress: Option<Progress<'a>>,
    done: AtomicUsize,
    total: usize,
}

impl Job<'_> {
    fn check(&self) -> Result<(), RotateError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            Err(RotateError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(f) = self.progress {
            f(done.min(self.total), self.total);
        }
    }
}

/// The distinct viewing directions: angles in `[0°, 180°)` (radians), and per
/// frame its direction and whether the frame is the mirror image (`θ + 180°`).
struct Angles {
    unique_rad: Vec<f64>,
    frames: Vec<(usize, bool)>,
}

impl Angles {
    fn new(p: &RotatingMipParams) -> Self {
        let mut unique_deg: Vec<f64> = Vec::new();
        let frames = (0..p.frame_count())
            .map(|f| {
                let a = p.angle_deg(f).rem_euclid(360.0);
                let (a, mirror) = if a >= 180.0 - 1e-9 {
                    ((a - 180.0).max(0.0), true)
                } else {
                    (a, false)
                };
                let i = unique_deg
                    .iter()
                    .position(|u| (u - a).abs() < 1e-9)
                    .unwrap_or_else(|| {
                        unique_deg.push(a);
                        unique_deg.len() - 1
                    });
                (i, mirror)
            })
            .collect();
        Self {
            unique_rad: unique_deg.iter().map(|d| d.to_radians()).collect(),
            frames,
        }
    }
}

fn render_axial(
    g: &Geometry,
    voxels: &Voxels,
    ranks: Option<&Array3<u16>>,
    p: &RotatingMipParams,
    framing: Framing,
    job: &Job<'_>,
) -> Result<Rendered, RotateError> {
    let angles = Angles::new(p);
    let setup = shear::Setup::new(g, &angles.unique_rad, framing)?;
    let profiles = match voxels {
        Voxels::I16(a) => shear::grey_profiles(&setup, a, p.outside_hu, job)?,
        Voxels::F32(a) => shear::grey_profiles(&setup, a, p.outside_hu, job)?,
    };
    let rows = RowMap::new(g, framing);
    let grey = assemble_grey(&profiles, &angles, &rows, p, framing.size);
    let ranks = match ranks {
        Some(r) => {
            let lp = shear::label_profiles(&setup, r, job)?;
            assemble_ranks(&lp, &angles, &rows, framing.size)
        }
        None => Vec::new(),
    };
    Ok(Rendered { grey, ranks })
}

/// Where each output row falls in the stack of slices.
struct RowMap {
    /// Per row: the two nearest slices and the weight of the second, or
    /// `None` above or below the volume.
    linear: Vec<Option<(usize, usize, f32)>>,
    /// Per row: the slices within the row's footprint (at least the nearest),
    /// as an inclusive range, or `None`.
    footprint: Vec<Option<(usize, usize)>>,
}

impl RowMap {
    fn new(g: &Geometry, framing: Framing) -> Self {
        let nz = g.dims[0];
        let size = framing.size;
        let z0 = g.origin_mm.z;
        let dz = g.world_from_voxel().matrix3.z_axis.z;
        let slice_of = |z: f64| (z - z0) / dz;
        let z_of_row = |r: usize| {
            framing.centre_mm.z + (size as f64 / 2.0 - r as f64 - 0.5) * framing.mm_per_px
        };
        let top = (nz - 1) as f64;
        let inside = |kf: f64| (-0.5..=nz as f64 - 0.5).contains(&kf);
        let linear = (0..size)
            .map(|r| {
                let kf = slice_of(z_of_row(r));
                if !inside(kf) {
                    return None;
                }
                let kf = kf.clamp(0.0, top);
                let k0 = (kf.floor() as usize).min(nz - 1);
                let k1 = (k0 + 1).min(nz - 1);
                Some((k0, k1, (kf - k0 as f64) as f32))
            })
            .collect();
        let footprint = (0..size)
            .map(|r| {
                let z = z_of_row(r);
                let kf = slice_of(z);
                if !inside(kf) {
                    return None;
                }
                let half = framing.mm_per_px / 2.0;
                let (a, b) = (slice_of(z - half), slice_of(z + half));
                let nearest = kf.round().clamp(0.0, top);
                let lo = a.min(b).ceil().clamp(0.0, top).min(nearest);
                let hi = a.max(b).floor().clamp(0.0, top).max(nearest);
                Some((lo as usize, hi as usize))
            })
            .collect();
        Self { linear, footprint }
    }
}

/// Grey frames from per-(slice, angle) HU profiles.
fn assemble_grey(
    profiles: &[f32],
    angles: &Angles,
    rows: &RowMap,
    p: &RotatingMipParams,
    size: usize,
) -> Vec<Vec<u8>> {
    let n_angles = angles.unique_rad.len();
    let lo = p.centre_hu - p.width_hu / 2.0;
    let scale = 255.0 / p.width_hu;
    // Rounds half up after the clamp (non-negative): no libm call per pixel.
    let to_u8 = |hu: f32| (((hu - lo) * scale).clamp(0.0, 255.0) + 0.5) as u8;
    let outside = to_u8(p.outside_hu);
    let profile = |k: usize, a: usize| &profiles[(k * n_angles + a) * size..][..size];
    angles
        .frames
        .par_iter()
        .map(|&(a, mirror)| {
            let mut img = vec![outside; size * size];
            for (out_row, spec) in img.chunks_exact_mut(size).zip(&rows.linear) {
                let Some((k0, k1, w)) = *spec else { continue };
                let (x, y) = (profile(k0, a), profile(k1, a));
                let mut put = |c: usize, v: f32| out_row[c] = to_u8(v);
                for (c, (&x, &y)) in x.iter().zip(y).enumerate() {
                    put(if mirror { size - 1 - c } else { c }, x + (y - x) * w);
                }
            }
            img
        })
        .collect()
}

/// Rank frames from per-(slice, angle) rank profiles: the highest rank over
/// the slices in each row's footprint.
fn assemble_ranks(profiles: &[u16], angles: &Angles, rows: &RowMap, size: usize) -> Vec<Vec<u16>> {
    let n_angles = angles.unique_rad.len();
    let profile = |k: usize, a: usize| &profiles[(k * n_angles + a) * size..][..size];
    angles
        .frames
        .par_iter()
        .map(|&(a, mirror)| {
            let mut img = vec![0u16; size * size];
            for (out_row, spec) in img.chunks_exact_mut(size).zip(&rows.footprint) {
                let Some((k0, k1)) = *spec else { continue };
                for k in k0..=k1 {
                    for (c, &v) in profile(k, a).iter().enumerate() {
                        let o = &mut out_row[if mirror { size - 1 - c } else { c }];
                        *o = (*o).max(v);
                    }
                }
            }
            img
        })
        .collect()
}

#[cfg(test)]
mod tests;
