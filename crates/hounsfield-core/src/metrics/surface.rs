//! Surface distances between two masks (see the module definitions).

use ndarray::{Array3, ArrayView3, Axis, s};
use rayon::prelude::*;

use crate::morph::ops::bounding_box;
use crate::morph::{MorphError, distance_sq_mm};

/// Surface-distance summary in mm; `None` when exactly one mask is empty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct SurfaceDistances {
    /// 95th percentile of both directions pooled.
    pub hd95: Option<f64>,
    /// Largest distance.
    pub max: Option<f64>,
    /// Mean of the two directed means.
    pub mean: Option<f64>,
}

pub(super) fn distances(
    a: ArrayView3<'_, bool>,
    b: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
) -> Result<SurfaceDistances, MorphError> {
    let (ba, bb) = (bounding_box(a), bounding_box(b));
    let (lo, hi) = match (ba, bb) {
        (None, None) => {
            return Ok(SurfaceDistances {
                hd95: Some(0.0),
                max: Some(0.0),
                mean: Some(0.0),
            });
        }
        (Some((la, ha)), Some((lb, hb))) => (
            [0, 1, 2].map(|i| la[i].min(lb[i])),
            [0, 1, 2].map(|i| ha[i].max(hb[i])),
        ),
        _ => {
            return Ok(SurfaceDistances {
                hd95: None,
                max: None,
                mean: None,
            });
        }
    };
    // Nothing is set outside the union box, so surfaces and distances
    // computed on the crop are those of the whole grid.
    let crop = s![lo[0]..=hi[0], lo[1]..=hi[1], lo[2]..=hi[2]];
    let sa = surface(a.slice(crop));
    let sb = surface(b.slice(crop));
    let da = distance_sq_mm(sa.view(), spacing_zyx_mm)?;
    let db = distance_sq_mm(sb.view(), spacing_zyx_mm)?;
    let a_to_b = sampled(&sa, &db);
    let b_to_a = sampled(&sb, &da);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mean_mm = 0.5 * (mean(&a_to_b) + mean(&b_to_a));
    let mut all = a_to_b;
    all.extend(b_to_a);
    all.par_sort_unstable_by(f64::total_cmp);
    Ok(SurfaceDistances {
        hd95: Some(percentile_sorted(&all, 95.0)),
        max: all.last().copied(),
        mean: Some(mean_mm),
    })
}

/// The set voxels with a face neighbour unset or outside the array.
pub(super) fn surface(m: ArrayView3<'_, bool>) -> Array3<bool> {
    let sh = [m.shape()[0], m.shape()[1], m.shape()[2]];
    let mut out = Array3::from_elem(sh, false);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(z, mut plane)| {
            for ((y, x), o) in plane.indexed_iter_mut() {
                if !m[[z, y, x]] {
                    continue;
                }
                let unset = |dz: i64, dy: i64, dx: i64| {
                    let p = [z as i64 + dz, y as i64 + dy, x as i64 + dx];
                    if (0..3).any(|i| p[i] < 0 || p[i] as usize >= sh[i]) {
                        return true;
                    }
                    !m[[p[0] as usize, p[1] as usize, p[2] as usize]]
                };
                *o = unset(-1, 0, 0)
                    || unset(1, 0, 0)
                    || unset(0, -1, 0)
                    || unset(0, 1, 0)
                    || unset(0, 0, -1)
                    || unset(0, 0, 1);
            }
        });
    out
}

/// Distances (mm) read from `d_sq` at the set voxels of `at`, in scan order.
fn sampled(at: &Array3<bool>, d_sq: &Array3<f32>) -> Vec<f64> {
    at.axis_iter(Axis(0))
        .into_par_iter()
        .zip(d_sq.axis_iter(Axis(0)))
        .map(|(m, d)| {
            m.iter()
                .zip(d.iter())
                .filter(|(b, _)| **b)
                .map(|(_, &v)| f64::from(v).sqrt())
                .collect::<Vec<f64>>()
        })
        .flatten()
        .collect()
}

/// `numpy.percentile` (linear) of ascending values; 0 for none.
pub(super) fn percentile_sorted(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (i, f) = (rank.floor() as usize, rank.fract());
    let j = (i + 1).min(v.len() - 1);
    v[i] + (v[j] - v[i]) * f
}
