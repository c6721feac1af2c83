//! The per-slice shear-warp sweeps of the rotating MIP (see the parent
//! module): grey values (linear along each voxel line, `max`) and label ranks
//! (nearest voxel, `max`), each into a per-(slice, angle) profile of output
//! columns.

use glam::{DVec2, DVec3};
use ndarray::Array3;
use rayon::prelude::*;

use super::{Framing, Job, RotateError};
use crate::volume::Geometry;

/// Largest intermediate profile (samples).
const MAX_PROFILE: usize = 1 << 24;
/// Voxel lines transposed per block.
const BLOCK: usize = 32;

/// A sample type of the grey sweep.
pub(super) trait Hu: Copy + Send + Sync {
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

/// How a slice is swept for one viewing angle.
///
/// The screen coordinate of voxel (inner `x`, outer `j`) of a slice is
/// `s = s0 + x·a + j·b` (mm). With `ρ = b / a` (|ρ| ≤ 1) and
/// `q = x + j·ρ + q_off`, line `j` lands on the integer grid `q` shifted by
/// `j·ρ + q_off`: an integer offset and one fraction for the whole line.
#[derive(Clone, Copy, Debug)]
struct Sweep {
    /// Inner lines are columns (the transposed slice) instead of rows.
    transposed: bool,
    /// Samples per line.
    n_in: usize,
    /// Shear per line (inner samples), and offset keeping `q ≥ 0`.
    rho: f64,
    q_off: f64,
    /// mm along the screen axis per inner sample (may be negative).
    a: f64,
    /// Length of the intermediate profile.
    len: usize,
    /// Unit screen axis (x, y) in the axial plane.
    u: DVec2,
}

impl Sweep {
    /// Integer offset and fraction of line `j`.
    #[inline]
    fn line(&self, j: usize) -> (usize, f32) {
        let delta = (j as f64 * self.rho + self.q_off).max(0.0);
        let n = delta.floor();
        (n as usize, (delta - n) as f32)
    }
}

/// What every slice shares: grid sizes, one sweep per angle, output framing.
pub(super) struct Setup {
    nz: usize,
    nrow: usize,
    ncol: usize,
    sweeps: Vec<Sweep>,
    /// World (x, y) of voxel `(0, 0, k)` minus the framing centre, per slice.
    origins: Vec<DVec2>,
    framing: Framing,
    need_rows: bool,
    need_cols: bool,
}

impl Setup {
    pub(super) fn new(
        g: &Geometry,
        angles_rad: &[f64],
        framing: Framing,
    ) -> Result<Self, RotateError> {
        let [nz, nrow, ncol] = g.dims;
        let w = g.world_from_voxel();
        let col = w.matrix3.x_axis.truncate();
        let row = w.matrix3.y_axis.truncate();
        let sweeps = angles_rad
            .iter()
            .map(|&theta| {
                let (sin, cos) = theta.sin_cos();
                let u = DVec2::new(cos, sin);
                let (alpha, beta) = (col.dot(u), row.dot(u));
                let (transposed, n_in, n_out, a, b) = if alpha.abs() >= beta.abs() {
                    (false, ncol, nrow, alpha, beta)
                } else {
                    (true, nrow, ncol, beta, alpha)
                };
                if !(a.abs() > 1e-9 && a.is_finite() && b.is_finite()) {
                    return Err(RotateError::BadParams(format!(
                        "degenerate in-plane voxel axes {col:?}, {row:?}"
                    )));
                }
                let rho = b / a;
                let spread = rho.abs() * n_out.saturating_sub(1) as f64;
                let len = n_in + 3 + spread.ceil() as usize;
                if len > MAX_PROFILE {
                    return Err(RotateError::BadParams(format!(
                        "slice too large to sweep ({len} samples)"
                    )));
                }
                Ok(Sweep {
                    transposed,
                    n_in,
                    rho,
                    q_off: (-rho * n_out.saturating_sub(1) as f64).max(0.0),
                    a,
                    len,
                    u,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let origins = (0..nz)
            .map(|k| {
                (w.transform_point3(DVec3::new(0.0, 0.0, k as f64)) - framing.centre_mm).truncate()
            })
            .collect();
        Ok(Self {
            nz,
            nrow,
            ncol,
            need_rows: sweeps.iter().any(|s| !s.transposed),
            need_cols: sweeps.iter().any(|s| s.transposed),
            sweeps,
            origins,
            framing,
        })
    }

    /// Continuous intermediate index of output column `c` for slice `k`.
    #[inline]
    fn q_of(&self, sw: &Sweep, k: usize, s_mm: f64) -> f64 {
        (s_mm - self.origins[k].dot(sw.u)) / sw.a + sw.q_off
    }

    /// Screen coordinate (mm from the centre) of output column `c`.
    #[inline]
    fn s_of(&self, c: usize) -> f64 {
        (c as f64 + 0.5 - self.framing.size as f64 / 2.0) * self.framing.mm_per_px
    }
}

/// The inclusive range of sweep offsets of a line that can raise the
/// profile (`None`: nothing above the floor).
type Span = Option<(usize, usize)>;

/// One slice as padded voxel lines (one pad sample at each end), rows and/or
/// columns, with the active range of each line.
struct Lines<U> {
    rows: Vec<U>,
    cols: Vec<U>,
    /// Per line, the sweep offsets `t` that can raise the profile.
    row_span: Vec<Span>,
    col_span: Vec<Span>,
}

impl<U> Default for Lines<U> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            cols: Vec::new(),
            row_span: Vec::new(),
            col_span: Vec::new(),
        }
    }
}

impl<U: Copy + PartialOrd> Lines<U> {
    /// Fill from one `[row, col]` slice; `pad` is the floor value.
    fn fill<T: Copy>(&mut self, slice: &[T], setup: &Setup, pad: U, conv: impl Fn(T) -> U) {
        let (nrow, ncol) = (setup.nrow, setup.ncol);
        if setup.need_rows {
            let stride = ncol + 2;
            self.rows.clear();
            self.rows.resize(nrow * stride, pad);
            for (dst, src) in self
                .rows
                .chunks_exact_mut(stride)
                .zip(slice.chunks_exact(ncol))
            {
                for (d, &s) in dst[1..=ncol].iter_mut().zip(src) {
                    *d = conv(s);
                }
            }
            spans(&self.rows, stride, pad, &mut self.row_span);
        }
        if setup.need_cols {
            let stride = nrow + 2;
            self.cols.clear();
            self.cols.resize(ncol * stride, pad);
            for j0 in (0..nrow).step_by(BLOCK) {
                for i0 in (0..ncol).step_by(BLOCK) {
                    for j in j0..(j0 + BLOCK).min(nrow) {
                        let src = &slice[j * ncol + i0..j * ncol + (i0 + BLOCK).min(ncol)];
                        for (i, &v) in (i0..).zip(src) {
                            self.cols[i * stride + j + 1] = conv(v);
                        }
                    }
                }
            }
            spans(&self.cols, stride, pad, &mut self.col_span);
        }
    }

    /// The padded lines and spans a sweep reads.
    fn of(&self, sw: &Sweep) -> (&[U], &[Span]) {
        if sw.transposed {
            (&self.cols, &self.col_span)
        } else {
            (&self.rows, &self.row_span)
        }
    }
}

/// Per padded line of `stride` samples: offsets `t` (0..=stride-2, reading
/// samples `t` and `t + 1`) that touch a sample above `pad`.
fn spans<U: Copy + PartialOrd>(buf: &[U], stride: usize, pad: U, out: &mut Vec<Span>) {
    out.clear();
    out.extend(buf.chunks_exact(stride).map(|line| {
        let first = line.iter().position(|&v| v > pad)?;
        let last = line.iter().rposition(|&v| v > pad)?;
        Some((first.saturating_sub(1), last.min(stride - 2)))
    }));
}

/// Per-slice scratch of the grey sweep.
#[derive(Default)]
struct GreyScratch {
    lines: Lines<f32>,
    acc: Vec<f32>,
}

/// HU profiles, `[slice][angle][column]`: the maximum along each ray of
/// values linearly interpolated along voxel lines, `outside` where the ray
/// leaves the volume.
pub(super) fn grey_profiles<T: Hu>(
    setup: &Setup,
    a: &Array3<T>,
    outside: f32,
    job: &Job<'_>,
) -> Result<Vec<f32>, RotateError> {
    let std = a.as_standard_layout();
    let Some(data) = std.as_slice() else {
        return Err(RotateError::BadParams("voxels are not contiguous".into()));
    };
    let size = setup.framing.size;
    let plane = setup.nrow * setup.ncol;
    let stride = setup.sweeps.len() * size;
    let mut out = vec![outside; setup.nz * stride];
    out.par_chunks_mut(stride)
        .zip(data.par_chunks(plane.max(1)))
        .enumerate()
        .try_for_each_init(GreyScratch::default, |scratch, (k, (chunk, slice))| {
            job.check()?;
            scratch.lines.fill(slice, setup, outside, Hu::hu);
            for (sw, prof) in setup.sweeps.iter().zip(chunk.chunks_exact_mut(size)) {
                sweep_grey(setup, sw, k, scratch, outside, prof);
            }
            job.tick();
            Ok::<(), RotateError>(())
        })?;
    Ok(out)
}

fn sweep_grey(
    setup: &Setup,
    sw: &Sweep,
    k: usize,
    scratch: &mut GreyScratch,
    outside: f32,
    prof: &mut [f32],
) {
    let (buf, spans) = scratch.lines.of(sw);
    let stride = sw.n_in + 2;
    let acc = &mut scratch.acc;
    acc.clear();
    acc.resize(sw.len, outside);
    for (j, (line, span)) in buf.chunks_exact(stride).zip(spans).enumerate() {
        let Some((t0, t1)) = *span else { continue };
        let (n, f) = sw.line(j);
        let g = 1.0 - f;
        let dst = &mut acc[n + t0..=n + t1];
        let lo = &line[t0..=t1];
        let hi = &line[t0 + 1..=t1 + 1];
        for ((d, &x0), &x1) in dst.iter_mut().zip(lo).zip(hi) {
            let v = x0 * f + x1 * g;
            *d = if v > *d { v } else { *d };
        }
    }
    let last = (sw.len - 1) as f64;
    for (c, o) in prof.iter_mut().enumerate() {
        let q = setup.q_of(sw, k, setup.s_of(c));
        *o = if (0.0..=last).contains(&q) {
            // q >= 0: truncation is floor (and needs no libm call).
            let i = (q as usize).min(sw.len - 2);
            let w = (q - i as f64) as f32;
            acc[i] + (acc[i + 1] - acc[i]) * w
        } else {
            outside
        };
    }
}

/// Per-slice scratch of the label sweep.
#[derive(Default)]
struct LabelScratch {
    lines: Lines<u16>,
    acc: Vec<u16>,
}

/// Rank profiles, `[slice][angle][column]`: the highest rank of the voxels
/// nearest to the rays within each output column's footprint (0 = none).
pub(super) fn label_profiles(
    setup: &Setup,
    ranks: &Array3<u16>,
    job: &Job<'_>,
) -> Result<Vec<u16>, RotateError> {
    let std = ranks.as_standard_layout();
    let Some(data) = std.as_slice() else {
        return Err(RotateError::BadParams("labels are not contiguous".into()));
    };
    let size = setup.framing.size;
    let plane = setup.nrow * setup.ncol;
    let stride = setup.sweeps.len() * size;
    let mut out = vec![0u16; setup.nz * stride];
    out.par_chunks_mut(stride)
        .zip(data.par_chunks(plane.max(1)))
        .enumerate()
        .try_for_each_init(LabelScratch::default, |scratch, (k, (chunk, slice))| {
            job.check()?;
            if slice.iter().any(|&v| v > 0) {
                scratch.lines.fill(slice, setup, 0, |v| v);
                for (sw, prof) in setup.sweeps.iter().zip(chunk.chunks_exact_mut(size)) {
                    sweep_labels(setup, sw, k, scratch, prof);
                }
            }
            job.tick();
            Ok::<(), RotateError>(())
        })?;
    Ok(out)
}

fn sweep_labels(setup: &Setup, sw: &Sweep, k: usize, scratch: &mut LabelScratch, prof: &mut [u16]) {
    let (buf, spans) = scratch.lines.of(sw);
    let stride = sw.n_in + 2;
    let acc = &mut scratch.acc;
    acc.clear();
    acc.resize(sw.len, 0);
    for (j, (line, span)) in buf.chunks_exact(stride).zip(spans).enumerate() {
        let Some((t0, t1)) = *span else { continue };
        let (n, f) = sw.line(j);
        // Sample t sits at inner position t - f: nearest voxel t (padded
        // t + 1) when f <= 0.5, else t - 1 (padded t).
        let shift = usize::from(f <= 0.5);
        let dst = &mut acc[n + t0..=n + t1];
        for (d, &x) in dst.iter_mut().zip(&line[t0 + shift..=t1 + shift]) {
            *d = (*d).max(x);
        }
    }
    let last = sw.len - 1;
    let half = setup.framing.mm_per_px / 2.0;
    for (c, o) in prof.iter_mut().enumerate() {
        let s = setup.s_of(c);
        let (qa, qb) = (setup.q_of(sw, k, s - half), setup.q_of(sw, k, s + half));
        let nearest = setup.q_of(sw, k, s).round();
        let lo = qa.min(qb).ceil().min(nearest).max(0.0);
        let hi = qa.max(qb).floor().max(nearest).min(last as f64);
        if hi < lo {
            continue;
        }
        *o = acc[lo as usize..=hi as usize]
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
    }
}
