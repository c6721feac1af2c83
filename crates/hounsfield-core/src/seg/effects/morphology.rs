//! Erosion, dilation, opening and closing with a ball or disc in mm,
//! margins, shells and smoothing, with the volume's outside as background.
//!
//! `morph::erode` counts the outside of the array as mask (what the lung
//! pipeline wants); here a voxel whose element reaches past the array's
//! border is eroded: [`erode_outside_background`] clears, after
//! `morph::erode`, the border layers within the radius (the nearest outside
//! voxel of a voxel lies straight across one face, so this is exact).

use ndarray::{Array3, ArrayView3, Axis, Zip, s};
use rayon::prelude::*;

use super::{EffectError, MorphOp, SmoothMethod, VolumeChange, check_distance};
use crate::morph::ops::{bounding_box, radius_limit};
use crate::morph::{Element, dilate, erode};

/// `op` with a ball of radius `radius_mm` (3D) or, with `in_plane`, a disc
/// in each axial slice; voxels outside the volume are background.
///
/// ```
/// use hounsfield_core::seg::effects::{morphology, MorphOp};
/// let m = ndarray::Array3::from_elem((3, 3, 5), true);
/// let e = morphology(m.view(), [1.0, 1.0, 1.0], MorphOp::Erode, 1.0, false).unwrap();
/// assert_eq!(e.iter().filter(|&&b| b).count(), 3); // the outside eats every face: 1 × 1 × 3 left
/// ```
pub fn morphology(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    op: MorphOp,
    radius_mm: f64,
    in_plane: bool,
) -> Result<Array3<bool>, EffectError> {
    check_distance("radius", radius_mm, false)?;
    let element = if in_plane {
        Element::Disk { radius_mm }
    } else {
        Element::Ball { radius_mm }
    };
    let out = match op {
        MorphOp::Dilate => dilate(mask, spacing_zyx_mm, element)?,
        MorphOp::Erode => erode_outside_background(mask, spacing_zyx_mm, element)?,
        MorphOp::Open => {
            let e = erode_outside_background(mask, spacing_zyx_mm, element)?;
            dilate(e.view(), spacing_zyx_mm, element)?
        }
        MorphOp::Close => {
            let d = dilate(mask, spacing_zyx_mm, element)?;
            erode_outside_background(d.view(), spacing_zyx_mm, element)?
        }
    };
    Ok(out)
}

/// Grows the mask by `distance_mm` (> 0: every voxel within that distance of
/// the mask) or shrinks it (< 0: the mask voxels farther than `|distance_mm|`
/// from any background voxel, the outside included); exact Euclidean
/// distances between voxel centres.
pub fn margin(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    distance_mm: f64,
) -> Result<Array3<bool>, EffectError> {
    check_distance("margin", distance_mm, true)?;
    let out = if distance_mm >= 0.0 {
        dilate(
            mask,
            spacing_zyx_mm,
            Element::Ball {
                radius_mm: distance_mm,
            },
        )?
    } else {
        erode_outside_background(
            mask,
            spacing_zyx_mm,
            Element::Ball {
                radius_mm: -distance_mm,
            },
        )?
    };
    Ok(out)
}

/// A shell inside the mask's boundary: the mask voxels within
/// `thickness_mm` of a background voxel (centre to centre; the outside of
/// the volume is background), so a shell of `t` mm is about `t / spacing`
/// voxels thick.
pub fn hollow(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    thickness_mm: f64,
) -> Result<Array3<bool>, EffectError> {
    check_distance("thickness", thickness_mm, false)?;
    let mut core = erode_outside_background(
        mask,
        spacing_zyx_mm,
        Element::Ball {
            radius_mm: thickness_mm,
        },
    )?;
    Zip::from(&mut core)
        .and(mask)
        .par_for_each(|c, &m| *c = m && !*c);
    Ok(core)
}

/// Smooths the mask with a ball of radius `radius_mm` (see
/// [`SmoothMethod`]) and reports the change of volume.
pub fn smooth(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    radius_mm: f64,
    method: SmoothMethod,
) -> Result<(Array3<bool>, VolumeChange), EffectError> {
    check_distance("radius", radius_mm, false)?;
    crate::morph::check_spacing(spacing_zyx_mm)?;
    let out = match method {
        SmoothMethod::Median => majority(mask.view(), spacing_zyx_mm, radius_mm),
        SmoothMethod::ClosingOpening => {
            let c = morphology(
                mask.view(),
                spacing_zyx_mm,
                MorphOp::Close,
                radius_mm,
                false,
            )?;
            morphology(c.view(), spacing_zyx_mm, MorphOp::Open, radius_mm, false)?
        }
    };
    let change = VolumeChange::between(mask, out.view(), spacing_zyx_mm);
    Ok((out, change))
}

/// `morph::erode`, then the voxels whose element reaches outside the array
/// cleared.
fn erode_outside_background(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    element: Element,
) -> Result<Array3<bool>, EffectError> {
    let mut out = erode(mask, spacing_zyx_mm, element)?;
    let (radius_mm, axes) = match element {
        Element::Ball { radius_mm } => (radius_mm, 0..3),
        Element::Disk { radius_mm } => (radius_mm, 1..3),
        Element::Box { .. } => return Ok(out),
    };
    let limit = radius_limit(radius_mm);
    for axis in axes {
        let step = spacing_zyx_mm[axis];
        let n = out.len_of(Axis(axis));
        // Layers `0..k` and `n-k..n` reach the outside within the radius.
        let mut k = 0;
        while k < n && ((k + 1) as f64 * step).powi(2) <= limit {
            k += 1;
        }
        let k = k.min(n);
        for range in [0..k, n - k..n] {
            out.slice_axis_mut(Axis(axis), range.into()).fill(false);
        }
    }
    Ok(out)
}

/// `(dz, dy, w)`: the ball's rows, each the columns `-w ..= w`
/// ([`crate::morph::bounded::row_offsets`] with the ball's reach).
fn ball_rows(spacing_zyx_mm: [f64; 3], limit_sq_mm2: f64) -> Vec<(isize, isize, usize)> {
    let reach = spacing_zyx_mm.map(|s| (limit_sq_mm2.sqrt() / s).floor() as usize + 1);
    crate::morph::bounded::row_offsets(spacing_zyx_mm, reach, limit_sq_mm2)
}

/// Majority vote in the ball (outside the array counts as background): a
/// voxel is set when more than half the ball's voxels are. Counts come from
/// row prefix sums, one lookup per row of the ball, on the mask's bounding
/// box grown by the ball (nothing outside it can be set).
fn majority(mask: ArrayView3<'_, bool>, spacing_zyx_mm: [f64; 3], radius_mm: f64) -> Array3<bool> {
    let rows = ball_rows(spacing_zyx_mm, radius_limit(radius_mm));
    let total: usize = rows.iter().map(|r| 2 * r.2 + 1).sum();
    let need = (total / 2 + 1) as u32;
    let mut out = Array3::from_elem(mask.raw_dim(), false);
    let Some((lo, hi)) = bounding_box(mask.view()) else {
        return out;
    };
    let dims = [mask.shape()[0], mask.shape()[1], mask.shape()[2]];
    let reach = [0, 1].map(|i| rows.iter().map(|r| [r.0, r.1][i].unsigned_abs()).max());
    let reach = [reach[0].unwrap_or(0), reach[1].unwrap_or(0)];
    let a = [
        lo[0].saturating_sub(reach[0]),
        lo[1].saturating_sub(reach[1]),
        0,
    ];
    let b = [
        (hi[0] + reach[0] + 1).min(dims[0]),
        (hi[1] + reach[1] + 1).min(dims[1]),
        dims[2],
    ];
    let crop = mask.slice(s![a[0]..b[0], a[1]..b[1], ..]);
    let (cz, cy, cx) = (b[0] - a[0], b[1] - a[1], dims[2]);
    // Row prefix sums: `prefix[(z·cy + y)·(cx+1) + x]` = set voxels before column x.
    let mut prefix = vec![0u32; cz * cy * (cx + 1)];
    prefix
        .par_chunks_mut(cy * (cx + 1))
        .zip(crop.axis_iter(Axis(0)))
        .for_each(|(plane, m)| {
            for (p, row) in plane.chunks_mut(cx + 1).zip(m.rows()) {
                for (x, &v) in row.iter().enumerate() {
                    p[x + 1] = p[x] + u32::from(v);
                }
            }
        });
    let mut result = out.slice_mut(s![a[0]..b[0], a[1]..b[1], ..]);
    result
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(z, mut plane)| {
            for (y, mut row) in plane.rows_mut().into_iter().enumerate() {
                for (x, v) in row.iter_mut().enumerate() {
                    let mut n = 0u32;
                    for &(dz, dy, w) in &rows {
                        let (Some(sz), Some(sy)) =
                            (z.checked_add_signed(dz), y.checked_add_signed(dy))
                        else {
                            continue;
                        };
                        if sz < cz && sy < cy {
                            let base = (sz * cy + sy) * (cx + 1);
                            let (x0, x1) = (x.saturating_sub(w), (x + w + 1).min(cx));
                            n += prefix[base + x1] - prefix[base + x0];
                        }
                    }
                    *v = n >= need;
                }
            }
        });
    out
}
