//! Placing a label map from its own grid onto the CT grid (nearest
//! neighbour in LPS millimetres), so rotated, flipped or differently sampled
//! NIfTI/NRRD label maps land on the right voxels.

use glam::DVec3;
use ndarray::{Array3, Axis};
use rayon::prelude::*;

use super::{SegError, Segmentation};
use crate::io::{ImageData, ImageVolume};
use crate::volume::Geometry;

/// Integer label values of a label-map file as `u16` (refuses negative,
/// fractional and too large values).
pub fn label_values(data: &ImageData) -> Result<Array3<u16>, SegError> {
    fn conv<T: Copy + Into<f64>>(a: &Array3<T>) -> Result<Array3<u16>, SegError> {
        let mut bad = None;
        let out = a.mapv(|v| {
            let f: f64 = v.into();
            if (0.0..=65535.0).contains(&f) && f.fract() == 0.0 {
                f as u16
            } else {
                bad.get_or_insert(f);
                0
            }
        });
        match bad {
            Some(value) => Err(SegError::BadLabel { value }),
            None => Ok(out),
        }
    }
    match data {
        ImageData::U8(a) => Ok(a.mapv(u16::from)),
        ImageData::U16(a) => Ok(a.clone()),
        ImageData::I16(a) => conv(a),
        ImageData::I32(a) => conv(a),
        ImageData::F32(a) => conv(a),
        ImageData::F64(a) => conv(a),
    }
}

/// Whether two grids are the same within 1e-3 mm / 1e-5 direction.
pub fn same_grid(a: &Geometry, b: &Geometry) -> bool {
    a.dims == b.dims
        && (a.spacing_mm - b.spacing_mm).abs().max_element() < 1e-3
        && (a.origin_mm - b.origin_mm).abs().max_element() < 1e-3
        && (a.direction - b.direction)
            .to_cols_array()
            .iter()
            .all(|v| v.abs() < 1e-5)
}

/// Nearest-neighbour resampling of `labels` (on `from`) onto the grid `to`.
/// Voxels of `to` whose centre falls outside `from` get 0.
///
/// Returns the placed labels and the fraction of `from`'s non-zero voxels
/// that were hit by no target voxel centre is *not* computed; instead the
/// caller learns about a total miss through [`SegError::NoOverlap`].
pub fn resample_labels(
    labels: &Array3<u16>,
    from: &Geometry,
    to: &Geometry,
) -> Result<Array3<u16>, SegError> {
    if same_grid(from, to) {
        return Ok(labels.clone());
    }
    let src_from_dst = from.voxel_from_world() * to.world_from_voxel();
    let [nz, nr, nc] = from.dims;
    let mut out = Array3::<u16>::zeros(to.dims);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(k, mut plane)| {
            for ((j, i), v) in plane.indexed_iter_mut() {
                let p = src_from_dst.transform_point3(DVec3::new(i as f64, j as f64, k as f64));
                let (ci, cj, ck) = (p.x.round(), p.y.round(), p.z.round());
                if ci < 0.0 || cj < 0.0 || ck < 0.0 {
                    continue;
                }
                let (ci, cj, ck) = (ci as usize, cj as usize, ck as usize);
                if ci < nc && cj < nr && ck < nz {
                    *v = labels[[ck, cj, ci]];
                }
            }
        });
    let any_src = labels.iter().any(|&v| v != 0);
    let any_dst = out.iter().any(|&v| v != 0);
    if any_src && !any_dst {
        let (a0, a1) = world_box(from);
        let (b0, b1) = world_box(to);
        return Err(SegError::NoOverlap {
            reason: format!(
                "labels span {a0:.1?}..{a1:.1?} mm, the CT {b0:.1?}..{b1:.1?} mm (LPS)"
            ),
        });
    }
    Ok(out)
}

/// Axis-aligned LPS box of a grid's voxel centres.
fn world_box(g: &Geometry) -> (DVec3, DVec3) {
    let [nz, nr, nc] = g.dims;
    let mut lo = DVec3::splat(f64::INFINITY);
    let mut hi = DVec3::splat(f64::NEG_INFINITY);
    for corner in 0..8 {
        let v = DVec3::new(
            if corner & 1 == 0 {
                0.0
            } else {
                nc.saturating_sub(1) as f64
            },
            if corner & 2 == 0 {
                0.0
            } else {
                nr.saturating_sub(1) as f64
            },
            if corner & 4 == 0 {
                0.0
            } else {
                nz.saturating_sub(1) as f64
            },
        );
        let w = g.world_of_voxel(v);
        lo = lo.min(w);
        hi = hi.max(w);
    }
    (lo, hi)
}

/// A label-map file (NIfTI, NRRD) placed on the CT grid `ct` as a
/// [`Segmentation`], one segment per label value.
pub fn place_label_map(
    image: &ImageVolume,
    ct: &Geometry,
    names: &[(u16, String)],
    source: &str,
) -> Result<Segmentation, SegError> {
    let values = label_values(&image.data)?;
    let placed = resample_labels(&values, &image.geometry, ct)?;
    Segmentation::from_label_map(placed.view(), *ct, names, source)
}

#[cfg(test)]
mod tests {
    use glam::DMat3;

    use super::*;

    fn ct() -> Geometry {
        Geometry {
            dims: [10, 20, 30],
            spacing_mm: DVec3::new(1.0, 1.5, 2.0),
            origin_mm: DVec3::new(-15.0, -10.0, 5.0),
            direction: DMat3::IDENTITY,
        }
    }

    #[test]
    fn same_grid_is_identity() {
        let mut l = Array3::<u16>::zeros([10, 20, 30]);
        l[[3, 4, 5]] = 7;
        assert_eq!(resample_labels(&l, &ct(), &ct()).unwrap(), l);
    }

    /// A label map stored with flipped rows and columns and a different
    /// origin (a RAS-style grid) lands on the same world voxels.
    #[test]
    fn flipped_grid_lands_in_place() {
        let g = ct();
        let mut l = Array3::<u16>::zeros(g.dims);
        l[[2, 3, 4]] = 5;
        l[[7, 15, 25]] = 9;
        // Build the flipped grid: i → nc-1-i, j → nr-1-j.
        let [nz, nr, nc] = g.dims;
        let far = g.world_of_voxel(DVec3::new((nc - 1) as f64, (nr - 1) as f64, 0.0));
        let flipped = Geometry {
            origin_mm: DVec3::new(far.x, far.y, g.origin_mm.z),
            direction: DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0)),
            ..g
        };
        let mut lf = Array3::<u16>::zeros(g.dims);
        for ((z, r, c), &v) in l.indexed_iter() {
            lf[[z, nr - 1 - r, nc - 1 - c]] = v;
        }
        let _ = nz;
        let back = resample_labels(&lf, &flipped, &g).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn disjoint_grids_are_refused() {
        let g = ct();
        let mut l = Array3::<u16>::zeros(g.dims);
        l[[1, 1, 1]] = 1;
        let far = Geometry {
            origin_mm: DVec3::new(500.0, 0.0, 0.0),
            ..g
        };
        let e = resample_labels(&l, &far, &g).unwrap_err();
        assert!(e.to_string().contains("does not overlap"), "{e}");
    }

    #[test]
    fn fractional_values_are_refused() {
        let a = Array3::from_elem([1, 1, 2], 0.5f32);
        assert!(label_values(&ImageData::F32(a)).is_err());
    }
}
