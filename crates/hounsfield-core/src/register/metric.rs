//! Similarity metrics between fixed-image samples and the moving image seen
//! through a transform, with analytic derivatives with respect to the
//! transform parameters: mean squared difference, normalised
//! cross-correlation, and Mattes mutual information (cubic B-spline Parzen
//! window on the moving intensity, zero order on the fixed one).
//!
//! Everything is a **cost** (lower is better): `SSD`, `−NCC`, `−MI`. The
//! moving image is interpolated trilinearly, its gradient is the derivative
//! of that interpolant. Samples that map outside the moving image are left
//! out. Sums run in parallel over chunks of samples and are merged in a fixed
//! order, so results are deterministic.

use glam::{DMat3, DVec3};
use rayon::prelude::*;

use super::RegisterError;
use super::pyramid::{LevelImage, Samples};
use super::transform::{RigidTransform, ScaleModel, rotation_derivatives};

/// Which similarity a registration optimises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Mattes mutual information with this many histogram bins per image.
    MutualInformation {
        /// Bins for each image (at least 8).
        bins: usize,
    },
    /// Normalised cross-correlation (linear intensity relation).
    Ncc,
    /// Mean of squared differences (same intensities).
    Ssd,
}

impl Metric {
    /// Mattes MI with 50 bins.
    pub const MI: Self = Self::MutualInformation { bins: 50 };

    /// Short name (`mi`, `ncc`, `ssd`).
    pub fn name(self) -> &'static str {
        match self {
            Self::MutualInformation { .. } => "mi",
            Self::Ncc => "ncc",
            Self::Ssd => "ssd",
        }
    }
}

/// A cost and its gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The cost (`SSD`, `−NCC` or `−MI`).
    pub cost: f64,
    /// `∂cost/∂parameter` in the order of [`RigidTransform::parameters`]
    /// (empty when not asked for).
    pub gradient: Vec<f64>,
    /// Samples that fell inside the moving image.
    pub valid: usize,
}

/// Fewest valid samples for a meaningful value.
const MIN_VALID: usize = 16;
/// Parzen window padding (bins) on each side of the moving histogram.
const PAD: usize = 2;

/// The cost of `metric` between the fixed `samples` and `moving` seen through
/// `t`, with its gradient when `with_gradient`.
pub fn evaluate(
    samples: &Samples,
    moving: &LevelImage,
    t: &RigidTransform,
    metric: Metric,
    with_gradient: bool,
) -> Result<Evaluation, RegisterError> {
    let map = Mapping::new(
        moving,
        t,
        if with_gradient {
            t.scale_model.parameter_count()
        } else {
            0
        },
    );
    let eval = match metric {
        Metric::MutualInformation { bins } => {
            let bins = bins.max(8);
            run(samples, moving, &map, || MiAcc::new(bins, map.p)).finish()
        }
        Metric::Ncc => run(samples, moving, &map, || NccAcc::new(map.p)).finish(),
        Metric::Ssd => run(samples, moving, &map, || SsdAcc::new(map.p)).finish(),
    };
    if eval.valid < MIN_VALID {
        return Err(RegisterError::NoOverlap { valid: eval.valid });
    }
    Ok(eval)
}

/// Fixed offset `d = p − c` (mm) → moving voxel coordinates, and the voxel
/// space Jacobians of the parameters.
struct Mapping {
    /// `L_m · R · S`: offset → voxel.
    b: DMat3,
    /// Voxel coordinates of the offset 0.
    b0: DVec3,
    /// `L_m · ∂R/∂ω_k · S`.
    rot: [DMat3; 3],
    /// `L_m` (translation columns).
    lin: DMat3,
    /// Number of parameters with a gradient (0: value only).
    p: usize,
    scale: ScaleModel,
}

impl Mapping {
    fn new(moving: &LevelImage, t: &RigidTransform, p: usize) -> Self {
        let vfw = moving.geometry.voxel_from_world();
        let s = DMat3::from_diagonal(t.scale());
        let a = t.rotation() * s;
        let d = rotation_derivatives(t.rotation_rad);
        Self {
            b: vfw.matrix3 * a,
            b0: vfw.transform_point3(t.centre_mm + t.translation_mm),
            rot: [
                vfw.matrix3 * d[0] * s,
                vfw.matrix3 * d[1] * s,
                vfw.matrix3 * d[2] * s,
            ],
            lin: vfw.matrix3,
            p,
            scale: t.scale_model,
        }
    }
}

/// What a metric sums per sample.
trait Acc: Send + Sized {
    fn add(&mut self, f: f32, m: f32, dm: &[f64]);
    fn merge(&mut self, other: Self);
    fn finish(self) -> Evaluation;
}

/// Value and voxel-space gradient of the trilinear interpolant at `v`
/// (`x, y, z` voxel coordinates); `None` outside the image.
#[inline]
pub(crate) fn trilinear(data: &[f32], dims: [usize; 3], v: DVec3) -> Option<(f32, DVec3)> {
    let [nz, ny, nx] = dims;
    if nz < 2 || ny < 2 || nx < 2 {
        return None;
    }
    let (x, y, z) = (v.x, v.y, v.z);
    if !(x >= 0.0
        && y >= 0.0
        && z >= 0.0
        && x <= (nx - 1) as f64
        && y <= (ny - 1) as f64
        && z <= (nz - 1) as f64)
    {
        return None;
    }
    let x0 = (x as usize).min(nx - 2);
    let y0 = (y as usize).min(ny - 2);
    let z0 = (z as usize).min(nz - 2);
    let (fx, fy, fz) = (
        (x - x0 as f64) as f32,
        (y - y0 as f64) as f32,
        (z - z0 as f64) as f32,
    );
    let i = (z0 * ny + y0) * nx + x0;
    let (sy, sz) = (nx, ny * nx);
    let c000 = data[i];
    let c001 = data[i + 1];
    let c010 = data[i + sy];
    let c011 = data[i + sy + 1];
    let c100 = data[i + sz];
    let c101 = data[i + sz + 1];
    let c110 = data[i + sz + sy];
    let c111 = data[i + sz + sy + 1];
    // along x
    let c00 = c000 + (c001 - c000) * fx;
    let c01 = c010 + (c011 - c010) * fx;
    let c10 = c100 + (c101 - c100) * fx;
    let c11 = c110 + (c111 - c110) * fx;
    // along y
    let c0 = c00 + (c01 - c00) * fy;
    let c1 = c10 + (c11 - c10) * fy;
    let value = c0 + (c1 - c0) * fz;
    let gz = c1 - c0;
    let gy = (c01 - c00) + ((c11 - c10) - (c01 - c00)) * fz;
    let dx00 = c001 - c000;
    let dx01 = c011 - c010;
    let dx10 = c101 - c100;
    let dx11 = c111 - c110;
    let dx0 = dx00 + (dx01 - dx00) * fy;
    let dx1 = dx10 + (dx11 - dx10) * fy;
    let gx = dx0 + (dx1 - dx0) * fz;
    Some((
        value,
        DVec3::new(f64::from(gx), f64::from(gy), f64::from(gz)),
    ))
}

fn run<A: Acc>(
    samples: &Samples,
    moving: &LevelImage,
    map: &Mapping,
    make: impl Fn() -> A + Sync,
) -> A {
    let data = moving.values.as_slice().unwrap_or(&[]);
    let dims = moving.geometry.dims;
    if dims.iter().any(|&d| d < 2) || data.len() != dims.iter().product::<usize>() {
        return make();
    }
    // A fixed chunk size: the merge order, hence the sums, do not depend on
    // the number of threads.
    let chunk = 8192;
    let parts: Vec<A> = samples
        .offsets_mm
        .par_chunks(chunk)
        .zip(samples.values.par_chunks(chunk))
        .map(|(offs, vals)| {
            let mut acc = make();
            let mut dm = [0.0f64; 9];
            for (o, &f) in offs.iter().zip(vals) {
                let d = DVec3::new(f64::from(o[0]), f64::from(o[1]), f64::from(o[2]));
                let bd = map.b * d;
                let v = bd + map.b0;
                let Some((m, g)) = trilinear(data, dims, v) else {
                    continue;
                };
                if map.p > 0 {
                    for (out, r) in dm.iter_mut().zip(&map.rot) {
                        *out = g.dot(*r * d);
                    }
                    dm[3] = g.dot(map.lin.x_axis);
                    dm[4] = g.dot(map.lin.y_axis);
                    dm[5] = g.dot(map.lin.z_axis);
                    match map.scale {
                        ScaleModel::None => {}
                        ScaleModel::Isotropic => dm[6] = g.dot(bd),
                        ScaleModel::Anisotropic => {
                            dm[6] = g.dot(map.b.x_axis) * d.x;
                            dm[7] = g.dot(map.b.y_axis) * d.y;
                            dm[8] = g.dot(map.b.z_axis) * d.z;
                        }
                    }
                }
                acc.add(f, m, &dm[..map.p]);
            }
            acc
        })
        .collect();
    let mut it = parts.into_iter();
    let mut total = it.next().unwrap_or_else(&make);
    for p in it {
        total.merge(p);
    }
    total
}

struct SsdAcc {
    n: usize,
    sum: f64,
    d: Vec<f64>,
}

impl SsdAcc {
    fn new(p: usize) -> Self {
        Self {
            n: 0,
            sum: 0.0,
            d: vec![0.0; p],
        }
    }
}

impl Acc for SsdAcc {
    #[inline]
    fn add(&mut self, f: f32, m: f32, dm: &[f64]) {
        let e = f64::from(m - f);
        self.n += 1;
        self.sum += e * e;
        for (a, &g) in self.d.iter_mut().zip(dm) {
            *a += e * g;
        }
    }
    fn merge(&mut self, o: Self) {
        self.n += o.n;
        self.sum += o.sum;
        for (a, b) in self.d.iter_mut().zip(o.d) {
            *a += b;
        }
    }
    fn finish(self) -> Evaluation {
        let n = self.n.max(1) as f64;
        Evaluation {
            cost: self.sum / n,
            gradient: self.d.iter().map(|g| 2.0 * g / n).collect(),
            valid: self.n,
        }
    }
}

struct NccAcc {
    n: usize,
    sf: f64,
    sm: f64,
    sff: f64,
    smm: f64,
    sfm: f64,
    /// Per parameter: Σ dm, Σ m·dm, Σ f·dm.
    d: Vec<[f64; 3]>,
}

impl NccAcc {
    fn new(p: usize) -> Self {
        Self {
            n: 0,
            sf: 0.0,
            sm: 0.0,
            sff: 0.0,
            smm: 0.0,
            sfm: 0.0,
            d: vec![[0.0; 3]; p],
        }
    }
}

impl Acc for NccAcc {
    #[inline]
    fn add(&mut self, f: f32, m: f32, dm: &[f64]) {
        let (f, m) = (f64::from(f), f64::from(m));
        self.n += 1;
        self.sf += f;
        self.sm += m;
        self.sff += f * f;
        self.smm += m * m;
        self.sfm += f * m;
        for (a, &g) in self.d.iter_mut().zip(dm) {
            a[0] += g;
            a[1] += m * g;
            a[2] += f * g;
        }
    }
    fn merge(&mut self, o: Self) {
        self.n += o.n;
        self.sf += o.sf;
        self.sm += o.sm;
        self.sff += o.sff;
        self.smm += o.smm;
        self.sfm += o.sfm;
        for (a, b) in self.d.iter_mut().zip(o.d) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
    fn finish(self) -> Evaluation {
        let n = self.n.max(1) as f64;
        let ff = self.sff - self.sf * self.sf / n;
        let mm = self.smm - self.sm * self.sm / n;
        let fm = self.sfm - self.sf * self.sm / n;
        let denom = (ff * mm).sqrt();
        if denom <= 1e-12 {
            return Evaluation {
                cost: 0.0,
                gradient: vec![0.0; self.d.len()],
                valid: self.n,
            };
        }
        let ncc = fm / denom;
        let gradient = self
            .d
            .iter()
            .map(|&[dsm, dsmm, dsfm]| {
                let dfm = dsfm - self.sf * dsm / n;
                let dmm = 2.0 * dsmm - 2.0 * self.sm * dsm / n;
                -(dfm / denom - 0.5 * ncc * dmm / mm)
            })
            .collect();
        Evaluation {
            cost: -ncc,
            gradient,
            valid: self.n,
        }
    }
}

struct MiAcc {
    bins: usize,
    p: usize,
    n: usize,
    hist: Vec<f64>,
    dhist: Vec<f64>,
}

impl MiAcc {
    fn new(bins: usize, p: usize) -> Self {
        Self {
            bins,
            p,
            n: 0,
            hist: vec![0.0; bins * bins],
            dhist: vec![0.0; bins * bins * p],
        }
    }
}

/// Cubic B-spline and its derivative.
#[inline]
fn bspline3(u: f32) -> (f32, f32) {
    let a = u.abs();
    if a < 1.0 {
        (2.0 / 3.0 - a * a + 0.5 * a * a * a, u * (1.5 * a - 2.0))
    } else if a < 2.0 {
        let t = 2.0 - a;
        (t * t * t / 6.0, -0.5 * t * t * u.signum())
    } else {
        (0.0, 0.0)
    }
}

impl Acc for MiAcc {
    #[inline]
    fn add(&mut self, f: f32, m: f32, dm: &[f64]) {
        let b = self.bins;
        let i = ((f.clamp(0.0, 1.0) * b as f32) as usize).min(b - 1);
        let slope = (b - 1 - 2 * PAD) as f32;
        let xi = PAD as f32 + m.clamp(0.0, 1.0) * slope;
        let j0 = xi as usize - 1;
        self.n += 1;
        for j in j0..j0 + 4 {
            let (w, dw) = bspline3(j as f32 - xi);
            let cell = i * b + j;
            self.hist[cell] += f64::from(w);
            if self.p > 0 {
                let c = f64::from(-dw * slope);
                let dst = &mut self.dhist[cell * self.p..(cell + 1) * self.p];
                for (a, &g) in dst.iter_mut().zip(dm) {
                    *a += c * g;
                }
            }
        }
    }
    fn merge(&mut self, o: Self) {
        self.n += o.n;
        for (a, b) in self.hist.iter_mut().zip(o.hist) {
            *a += b;
        }
        for (a, b) in self.dhist.iter_mut().zip(o.dhist) {
            *a += b;
        }
    }
    fn finish(self) -> Evaluation {
        let b = self.bins;
        let total: f64 = self.hist.iter().sum();
        if total <= 0.0 {
            return Evaluation {
                cost: 0.0,
                gradient: vec![0.0; self.p],
                valid: self.n,
            };
        }
        let inv = 1.0 / total;
        let mut pf = vec![0.0; b];
        let mut pm = vec![0.0; b];
        for (row, f) in self.hist.chunks_exact(b).zip(pf.iter_mut()) {
            for (&h, m) in row.iter().zip(pm.iter_mut()) {
                *f += h * inv;
                *m += h * inv;
            }
        }
        let mut mi = 0.0;
        let mut gradient = vec![0.0; self.p];
        for (i, &f) in pf.iter().enumerate() {
            for (j, &m) in pm.iter().enumerate() {
                let cell = i * b + j;
                let p = self.hist[cell] * inv;
                if p <= 1e-16 {
                    continue;
                }
                mi += p * (p / (f * m)).ln();
                let w = (p / m).ln() * inv;
                for (g, &d) in gradient
                    .iter_mut()
                    .zip(&self.dhist[cell * self.p..(cell + 1) * self.p])
                {
                    *g += d * w;
                }
            }
        }
        Evaluation {
            cost: -mi,
            gradient: gradient.into_iter().map(|g| -g).collect(),
            valid: self.n,
        }
    }
}

/// SSD, NCC and MI (positive, as similarities go) of the samples against the
/// moving image through `t`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Similarity {
    /// Mean squared difference of the normalised intensities.
    pub ssd: f64,
    /// Normalised cross-correlation.
    pub ncc: f64,
    /// Mattes mutual information (nats).
    pub mi: f64,
}

/// All three similarities at `t` (MI with `bins` bins).
pub fn similarity(
    samples: &Samples,
    moving: &LevelImage,
    t: &RigidTransform,
    bins: usize,
) -> Result<Similarity, RegisterError> {
    Ok(Similarity {
        ssd: evaluate(samples, moving, t, Metric::Ssd, false)?.cost,
        ncc: -evaluate(samples, moving, t, Metric::Ncc, false)?.cost,
        mi: -evaluate(
            samples,
            moving,
            t,
            Metric::MutualInformation { bins },
            false,
        )?
        .cost,
    })
}
