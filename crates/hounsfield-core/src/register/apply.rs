//! Applying a registration: the moving volume resampled onto the fixed grid
//! (trilinear), label maps carried either way (nearest), and the overlap of a
//! transferred mask with a ground truth.

use glam::DAffine3;
use ndarray::{Array3, ArrayView3};

use crate::metrics::{MetricsError, Overlap, overlap};
use crate::volume::resample::{Interpolation, ResampleParams, Sample, resample_array};
use crate::volume::{Geometry, Volume, Voxels, ops};

/// `src` (on `src_grid`) sampled on `dst_grid`, where `src_from_dst` maps a
/// world point of the destination to the source world. Outside the source:
/// `fill`.
pub fn map_array<T: Sample>(
    src: &Array3<T>,
    src_grid: &Geometry,
    dst_grid: &Geometry,
    src_from_dst: &DAffine3,
    interpolation: Interpolation,
    fill: f32,
) -> Array3<T> {
    let in_from_out = src_grid.voxel_from_world() * *src_from_dst * dst_grid.world_from_voxel();
    resample_array(
        src,
        &in_from_out,
        dst_grid.dims,
        &ResampleParams {
            spacing_mm: dst_grid.spacing_mm,
            interpolation,
            fill_hu: fill,
        },
    )
}

/// The moving volume on the fixed grid through `moving_from_fixed`
/// (trilinear; outside the moving volume its minimum HU).
pub fn resample_moving(
    moving: &Volume,
    fixed_grid: &Geometry,
    moving_from_fixed: &DAffine3,
) -> Volume {
    let fill = ops::stats(moving).min_hu as f32;
    let (from, to) = (&moving.geometry, fixed_grid);
    let linear = Interpolation::Linear;
    match &moving.voxels {
        Voxels::I16(a) => {
            Volume::from_i16(map_array(a, from, to, moving_from_fixed, linear, fill), *to)
        }
        Voxels::F32(a) => {
            Volume::from_f32(map_array(a, from, to, moving_from_fixed, linear, fill), *to)
        }
    }
}

/// A label map carried from grid `from` to grid `to` (nearest neighbour,
/// 0 outside), where `from_from_to` maps a world point of `to` into the
/// world of `from`. Moving labels onto the fixed grid: `from_from_to =
/// moving_from_fixed`; fixed labels into the moving image: `fixed_from_moving`.
pub fn transfer_labels(
    labels: &Array3<u16>,
    from: &Geometry,
    to: &Geometry,
    from_from_to: &DAffine3,
) -> Array3<u16> {
    map_array(labels, from, to, from_from_to, Interpolation::Nearest, 0.0)
}

/// Dice, Jaccard, sensitivity, specificity (and surface distances) of a
/// transferred mask against the ground truth on the same grid.
#[allow(clippy::needless_pass_by_value)] // ndarray views are passed by value
pub fn evaluate_masks(
    transferred: ArrayView3<'_, bool>,
    truth: ArrayView3<'_, bool>,
    grid: &Geometry,
    name: &str,
) -> Result<Overlap, MetricsError> {
    overlap(transferred, truth, grid.spacing_zyx_mm(), name)
}

/// A synthetic moving image for known-transform tests: `fixed` carried by
/// the motion `moving_from_fixed` (a point `p` of the fixed image appears at
/// `moving_from_fixed(p)`, so `moved(y) = fixed(fixed_from_moving(y))`,
/// trilinear, the nearest edge value beyond the fixed grid — as if the
/// anatomy went on), then `gain · HU + offset_hu` plus independent Gaussian
/// noise of `noise_hu` (seeded), rounded to integer HU. Same grid as `fixed`.
pub fn moved_copy(
    fixed: &Volume,
    moving_from_fixed: &DAffine3,
    gain: f32,
    offset_hu: f32,
    noise_hu: f32,
    seed: u64,
) -> Volume {
    use glam::DVec3;
    use ndarray::Axis;
    use rayon::prelude::*;
    let src = fixed.voxels.to_f32();
    let data = src.as_slice().unwrap_or(&[]);
    let g = &fixed.geometry;
    let [nz, ny, nx] = g.dims;
    let src_from_dst = g.voxel_from_world() * moving_from_fixed.inverse() * g.world_from_voxel();
    let max = DVec3::new(nx as f64 - 1.0, ny as f64 - 1.0, nz as f64 - 1.0).max(DVec3::ZERO);
    let mut moved = Array3::<i16>::zeros((nz, ny, nx));
    moved
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(z, mut plane)| {
            let mut rng = crate::phantom::rng::SplitMix64::for_stream(seed, z as u64);
            for ((y, x), v) in plane.indexed_iter_mut() {
                let c = src_from_dst
                    .transform_point3(DVec3::new(x as f64, y as f64, z as f64))
                    .clamp(DVec3::ZERO, max);
                let hu = super::metric::trilinear(data, g.dims, c).map_or(0.0, |(value, _)| value);
                let out = gain * hu + offset_hu + noise_hu * rng.gaussian() as f32;
                *v = out.round().clamp(-32768.0, 32767.0) as i16;
            }
        });
    Volume::from_i16(moved, fixed.geometry)
}

/// The known motion of the synthetic test case (the hard case):
/// 8° about the axis (1, 2, 3) and (12, −7, 5) mm, about `centre_mm`.
pub fn example_motion(centre_mm: glam::DVec3) -> super::RigidTransform {
    use glam::DVec3;
    super::RigidTransform {
        rotation_rad: DVec3::new(1.0, 2.0, 3.0) / 14f64.sqrt() * 8f64.to_radians(),
        translation_mm: DVec3::new(12.0, -7.0, 5.0),
        ..super::RigidTransform::identity(centre_mm, super::ScaleModel::None)
    }
}

/// World positions (LPS mm) of every `step`-th voxel in each direction
/// whose HU exceeds `min_hu`: the points a target registration error is
/// averaged over (e.g. the body above −400 HU).
pub fn body_points(v: &Volume, step: usize, min_hu: f32) -> Vec<glam::DVec3> {
    use glam::DVec3;
    let step = step.max(1);
    let w = v.geometry.world_from_voxel();
    let [nz, ny, nx] = v.geometry.dims;
    let mut out = Vec::new();
    for z in (0..nz).step_by(step) {
        for y in (0..ny).step_by(step) {
            for x in (0..nx).step_by(step) {
                if v.voxels.get_hu(z, y, x).is_some_and(|hu| hu > min_hu) {
                    out.push(w.transform_point3(DVec3::new(x as f64, y as f64, z as f64)));
                }
            }
        }
    }
    out
}
