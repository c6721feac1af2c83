//! The images a registration compares: both volumes resampled to one
//! isotropic spacing, intensity-normalised to `[0, 1]`, optionally turned into
//! gradient magnitude, and shrunk by block averaging into a pyramid; plus the
//! fixed-image samples the metric is evaluated on.

use glam::DVec3;
use ndarray::{Array3, Axis, Zip};
use rayon::prelude::*;

use super::{Feature, RegisterError};
use crate::phantom::rng::mix;
use crate::volume::resample::{Interpolation, ResampleParams, resample};
use crate::volume::{Geometry, Volume, ops};

/// A normalised image on a regular grid.
#[derive(Clone, Debug)]
pub struct LevelImage {
    /// Values `[z, row, col]`, mostly in `[0, 1]`.
    pub values: Array3<f32>,
    /// Its grid.
    pub geometry: Geometry,
}

/// Percentiles mapped to 0 and 1 by [`normalise`].
pub const NORMALISE_PERCENTILES: [f64; 2] = [0.5, 99.5];

/// `vol` resampled to isotropic `spacing_mm` (unless it already has it),
/// then mapped linearly so that its 0.5th percentile is 0 and its 99.5th is
/// 1 (clamped).
pub fn normalised_isotropic(vol: &Volume, spacing_mm: f64) -> Result<LevelImage, RegisterError> {
    let target = DVec3::splat(spacing_mm);
    let already = (vol.geometry.spacing_mm - target).abs().max_element() < 1e-6
        && vol.geometry.shear_deg() < 1e-3;
    let iso;
    let src = if already {
        vol
    } else {
        iso = resample(
            vol,
            &ResampleParams {
                spacing_mm: target,
                interpolation: Interpolation::Linear,
                fill_hu: fill_of(vol),
            },
        )?;
        &iso
    };
    Ok(normalise(src))
}

/// The value outside a volume: its minimum (air or padding).
fn fill_of(vol: &Volume) -> f32 {
    ops::stats(vol).min_hu as f32
}

/// Linear map of the 0.5th/99.5th percentiles to 0/1, clamped.
pub fn normalise(vol: &Volume) -> LevelImage {
    let p = ops::percentiles(vol, &NORMALISE_PERCENTILES);
    let (lo, hi) = (p[0] as f32, p[1] as f32);
    let scale = if hi > lo { 1.0 / (hi - lo) } else { 1.0 };
    let values = ops::map_voxels(&vol.voxels, |hu| ((hu - lo) * scale).clamp(0.0, 1.0));
    LevelImage {
        values,
        geometry: vol.geometry,
    }
}

/// The image shrunk by an integer factor: each output voxel is the mean of
/// an `f×f×f` block (an anti-aliasing box filter), centred on the block.
pub fn shrink(img: &LevelImage, factor: usize) -> LevelImage {
    if factor <= 1 {
        return img.clone();
    }
    let [nz, ny, nx] = img.geometry.dims;
    let (oz, oy, ox) = (
        (nz / factor).max(1),
        (ny / factor).max(1),
        (nx / factor).max(1),
    );
    let mut out = Array3::<f32>::zeros((oz, oy, ox));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(k, mut plane)| {
            let zs = (k * factor)..((k + 1) * factor).min(nz);
            for j in 0..oy {
                let ys = (j * factor)..((j + 1) * factor).min(ny);
                for i in 0..ox {
                    let xs = (i * factor)..((i + 1) * factor).min(nx);
                    let mut sum = 0.0f32;
                    let mut n = 0u32;
                    for z in zs.clone() {
                        for y in ys.clone() {
                            for x in xs.clone() {
                                sum += img.values[[z, y, x]];
                                n += 1;
                            }
                        }
                    }
                    plane[[j, i]] = sum / n.max(1) as f32;
                }
            }
        });
    let g = &img.geometry;
    let f = factor as f64;
    let geometry = Geometry {
        dims: [oz, oy, ox],
        spacing_mm: g.spacing_mm * f,
        origin_mm: g.world_of_voxel(DVec3::splat((f - 1.0) / 2.0)),
        direction: g.direction,
    };
    LevelImage {
        values: out,
        geometry,
    }
}

/// Gradient magnitude (central differences in mm, one-sided at the
/// borders), renormalised so its 99.5th percentile is 1.
pub fn gradient_magnitude(img: &LevelImage) -> LevelImage {
    let v = &img.values;
    let (nz, ny, nx) = v.dim();
    let s = img.geometry.spacing_mm;
    let mut out = Array3::<f32>::zeros((nz, ny, nx));
    let diff = |n: usize, i: usize| -> (usize, usize, f32) {
        if n < 2 {
            (i, i, 1.0)
        } else if i == 0 {
            (0, 1, 1.0)
        } else if i == n - 1 {
            (n - 2, n - 1, 1.0)
        } else {
            (i - 1, i + 1, 2.0)
        }
    };
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(z, mut plane)| {
            let (z0, z1, dz) = diff(nz, z);
            for y in 0..ny {
                let (y0, y1, dy) = diff(ny, y);
                for x in 0..nx {
                    let (x0, x1, dx) = diff(nx, x);
                    let gx = (v[[z, y, x1]] - v[[z, y, x0]]) / (dx * s.x as f32);
                    let gy = (v[[z, y1, x]] - v[[z, y0, x]]) / (dy * s.y as f32);
                    let gz = (v[[z1, y, x]] - v[[z0, y, x]]) / (dz * s.z as f32);
                    plane[[y, x]] = (gx * gx + gy * gy + gz * gz).sqrt();
                }
            }
        });
    let mut sorted: Vec<f32> = out.iter().step_by(7).copied().collect();
    let top = if sorted.is_empty() {
        1.0
    } else {
        let k = ((sorted.len() - 1) as f64 * 0.995) as usize;
        *sorted.select_nth_unstable_by(k, f32::total_cmp).1
    };
    let scale = if top > 0.0 { 1.0 / top } else { 1.0 };
    out.par_mapv_inplace(|g| (g * scale).min(1.0));
    LevelImage {
        values: out,
        geometry: img.geometry,
    }
}

/// The pyramid of one image: shrink factors in the order given (coarse
/// first), each with the feature applied.
pub fn pyramid(base: &LevelImage, factors: &[usize], feature: Feature) -> Vec<LevelImage> {
    factors
        .iter()
        .map(|&f| {
            let level = shrink(base, f);
            match feature {
                Feature::Intensity => level,
                Feature::GradientMagnitude => gradient_magnitude(&level),
            }
        })
        .collect()
}

/// Fixed-image samples: positions relative to the centre of rotation (mm)
/// and values.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// `p − centre` in mm.
    pub offsets_mm: Vec<[f32; 3]>,
    /// Fixed values at those points.
    pub values: Vec<f32>,
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Root mean square distance of the samples from the centre (mm).
    pub fn rms_radius_mm(&self) -> f64 {
        if self.is_empty() {
            return 1.0;
        }
        let s: f64 = self
            .offsets_mm
            .iter()
            .map(|o| f64::from(o[0] * o[0] + o[1] * o[1] + o[2] * o[2]))
            .sum();
        (s / self.len() as f64).sqrt().max(1.0)
    }
}

/// About `wanted` voxel centres of `img` (all of them when `wanted` is 0 or
/// not smaller than the voxel count), chosen by a hash of the voxel index
/// and `seed`: deterministic, spread evenly, in memory order.
pub fn sample(img: &LevelImage, centre_mm: DVec3, wanted: usize, seed: u64) -> Samples {
    let n = img.values.len();
    let all = wanted == 0 || wanted >= n;
    let threshold = if all {
        u64::MAX
    } else {
        ((wanted as f64 / n as f64) * u64::MAX as f64) as u64
    };
    let w = img.geometry.world_from_voxel();
    let [_, ny, nx] = img.geometry.dims;
    let parts: Vec<Samples> = img
        .values
        .axis_iter(Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(z, plane)| {
            let mut s = Samples::default();
            for y in 0..ny {
                for x in 0..nx {
                    let index = ((z * ny + y) * nx + x) as u64;
                    if !all
                        && mix(index.wrapping_add(0x9E37_79B9_7F4A_7C15) ^ seed.rotate_left(17))
                            > threshold
                    {
                        continue;
                    }
                    let p =
                        w.transform_point3(DVec3::new(x as f64, y as f64, z as f64)) - centre_mm;
                    s.offsets_mm.push([p.x as f32, p.y as f32, p.z as f32]);
                    s.values.push(plane[[y, x]]);
                }
            }
            s
        })
        .collect();
    let mut out = Samples::default();
    for p in parts {
        out.offsets_mm.extend(p.offsets_mm);
        out.values.extend(p.values);
    }
    out
}

/// Intensity-weighted centre of mass in LPS mm (the image centre when the
/// image is all zero).
pub fn centre_of_mass(img: &LevelImage) -> DVec3 {
    let w = img.geometry.world_from_voxel();
    let (sum, weight) = Zip::indexed(&img.values)
        .into_par_iter()
        .map(|((z, y, x), &v)| {
            let v = f64::from(v.max(0.0));
            (DVec3::new(x as f64, y as f64, z as f64) * v, v)
        })
        .reduce(|| (DVec3::ZERO, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if weight <= 0.0 {
        img.geometry.centre_mm()
    } else {
        w.transform_point3(sum / weight)
    }
}

/// Separable Gaussian smoothing with standard deviations `sigma_voxels`
/// along `[z, row, col]` (kernel cut at 3σ, edges clamped). A σ of 0 leaves
/// that axis alone.
pub fn gaussian_smooth(values: &Array3<f32>, sigma_voxels: [f64; 3]) -> Array3<f32> {
    let mut out = values.clone();
    for (axis, &sigma) in sigma_voxels.iter().enumerate() {
        if sigma <= 0.0 || out.len_of(Axis(axis)) < 2 {
            continue;
        }
        let radius = (3.0 * sigma).ceil() as isize;
        let kernel: Vec<f32> = (-radius..=radius)
            .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
            .collect();
        let total: f32 = kernel.iter().sum();
        let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();
        let src = out.clone();
        let n = src.len_of(Axis(axis)) as isize;
        // Process lanes along `axis`, parallel over the outermost other axis.
        let outer = usize::from(axis == 0);
        out.axis_iter_mut(Axis(outer))
            .into_par_iter()
            .zip(src.axis_iter(Axis(outer)).into_par_iter())
            .for_each(|(mut dst, src)| {
                let inner_axis = if axis > outer { axis - 1 } else { axis };
                for (mut d, s) in dst
                    .lanes_mut(Axis(inner_axis))
                    .into_iter()
                    .zip(src.lanes(Axis(inner_axis)))
                {
                    for i in 0..n {
                        let mut acc = 0.0f32;
                        for (k, w) in kernel.iter().enumerate() {
                            let j = (i + k as isize - radius).clamp(0, n - 1);
                            acc += w * s[j as usize];
                        }
                        d[i as usize] = acc;
                    }
                }
            });
    }
    out
}
