//! Erosion, dilation, opening and closing of binary masks with ball, disk or
//! box elements in mm.
//!
//! Balls and disks go through the exact distance transform ([`super::edt`]):
//! dilation keeps the voxels within `r` of the mask, erosion the mask voxels
//! farther than `r` from any background voxel of the array. Boxes are
//! separable: one running window per axis. Every operation works on the
//! mask's bounding box grown by the element (exact: nothing outside it can
//! change), so small masks in large volumes are cheap.

use ndarray::{Array3, ArrayView3, Axis, s};
use rayon::prelude::*;

use super::{
    MorphError, bounded, check_size, check_spacing, distance_sq_mm, distance_sq_mm_in_plane,
    par_lanes,
};

/// A structuring element, sizes in mm (see the module conventions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Element {
    /// Every offset within `radius_mm` (3-D, Euclidean in mm).
    Ball {
        /// Radius, mm.
        radius_mm: f64,
    },
    /// Every in-plane offset within `radius_mm` (each axial slice alone).
    Disk {
        /// Radius, mm.
        radius_mm: f64,
    },
    /// Every offset with `|d_a| · spacing_a ≤ half_zyx_mm[a]` on each axis
    /// (a zero half-size leaves that axis alone: `[0, h, h]` is per slice).
    Box {
        /// Half-sizes `[z, row, col]`, mm.
        half_zyx_mm: [f64; 3],
    },
}

impl Element {
    fn check(self) -> Result<(), MorphError> {
        match self {
            Self::Ball { radius_mm } | Self::Disk { radius_mm } => check_size(radius_mm),
            Self::Box { half_zyx_mm } => half_zyx_mm.iter().try_for_each(|&h| check_size(h)),
        }
    }

    /// Reach of the element in voxels per axis `[z, row, col]`.
    fn reach(self, spacing_zyx_mm: [f64; 3]) -> [usize; 3] {
        let steps = |size: f64, s: f64| (size / s + 1e-9).floor() as usize;
        match self {
            Self::Ball { radius_mm } => spacing_zyx_mm.map(|s| steps(radius_mm, s)),
            Self::Disk { radius_mm } => [
                0,
                steps(radius_mm, spacing_zyx_mm[1]),
                steps(radius_mm, spacing_zyx_mm[2]),
            ],
            Self::Box { half_zyx_mm } => {
                [0, 1, 2].map(|a| steps(half_zyx_mm[a], spacing_zyx_mm[a]))
            }
        }
    }
}

/// Dilation: the voxels whose element (centred on them) meets the mask.
///
/// ```
/// use hounsfield_core::morph::{dilate, Element};
/// let mut m = ndarray::Array3::from_elem((1, 1, 7), false);
/// m[[0, 0, 3]] = true;
/// let d = dilate(m.view(), [1.0, 1.0, 1.0], Element::Ball { radius_mm: 2.0 }).unwrap();
/// assert_eq!(d.iter().filter(|&&b| b).count(), 5);
/// ```
pub fn dilate(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    element: Element,
) -> Result<Array3<bool>, MorphError> {
    check_spacing(spacing_zyx_mm)?;
    element.check()?;
    let Some((lo, hi)) = bounding_box(mask) else {
        return Ok(mask.to_owned());
    };
    let reach = element.reach(spacing_zyx_mm);
    Ok(on_crop(mask, lo, hi, reach, |crop| match element {
        Element::Ball { radius_mm } | Element::Disk { radius_mm } if small(reach) => {
            bounded::near(crop, true, spacing_zyx_mm, reach, radius_limit(radius_mm))
        }
        Element::Ball { radius_mm } | Element::Disk { radius_mm } => {
            let d = if matches!(element, Element::Ball { .. }) {
                distance_sq_mm(crop, spacing_zyx_mm)
            } else {
                distance_sq_mm_in_plane(crop, spacing_zyx_mm)
            };
            let limit = radius_limit(radius_mm);
            d.map_or_else(|_| crop.to_owned(), |d| d.mapv(|v| f64::from(v) <= limit))
        }
        Element::Box { .. } => boxed(crop, reach, true),
    }))
}

/// Erosion: the mask voxels whose element (centred on them) lies inside the
/// mask; voxels outside the array count as mask.
pub fn erode(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    element: Element,
) -> Result<Array3<bool>, MorphError> {
    check_spacing(spacing_zyx_mm)?;
    element.check()?;
    let Some((lo, hi)) = bounding_box(mask) else {
        return Ok(mask.to_owned());
    };
    let reach = element.reach(spacing_zyx_mm);
    Ok(on_crop(mask, lo, hi, [1, 1, 1], |crop| match element {
        Element::Ball { radius_mm } | Element::Disk { radius_mm } if small(reach) => {
            let mut out =
                bounded::near(crop, false, spacing_zyx_mm, reach, radius_limit(radius_mm));
            ndarray::Zip::from(&mut out)
                .and(crop)
                .par_for_each(|o, &m| *o = m && !*o);
            out
        }
        Element::Ball { radius_mm } | Element::Disk { radius_mm } => {
            let background = crop.mapv(|b| !b);
            let d = if matches!(element, Element::Ball { .. }) {
                distance_sq_mm(background.view(), spacing_zyx_mm)
            } else {
                distance_sq_mm_in_plane(background.view(), spacing_zyx_mm)
            };
            let limit = radius_limit(radius_mm);
            d.map_or_else(|_| crop.to_owned(), |d| d.mapv(|v| f64::from(v) > limit))
        }
        Element::Box { .. } => boxed(crop, reach, false),
    }))
}

/// Opening: erosion then dilation (removes what the element does not fit in).
pub fn open(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    element: Element,
) -> Result<Array3<bool>, MorphError> {
    let e = erode(mask, spacing_zyx_mm, element)?;
    dilate(e.view(), spacing_zyx_mm, element)
}

/// Closing: dilation then erosion (fills gaps and dents narrower than the
/// element).
pub fn close(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    element: Element,
) -> Result<Array3<bool>, MorphError> {
    let d = dilate(mask, spacing_zyx_mm, element)?;
    erode(d.view(), spacing_zyx_mm, element)
}

/// Whether the brute-force path is cheaper than the distance transform.
fn small(reach: [usize; 3]) -> bool {
    reach.iter().all(|&h| h <= bounded::MAX_REACH)
}

/// `r²` with a relative tolerance, so offsets exactly at the radius count
/// despite `f32` storage.
pub(crate) fn radius_limit(radius_mm: f64) -> f64 {
    radius_mm * radius_mm * (1.0 + 1e-6) + 1e-9
}

/// Applies `op` to the crop `lo - margin ..= hi + margin` (clamped) and
/// returns a full-size mask that is `false` outside the crop.
fn on_crop(
    mask: ArrayView3<'_, bool>,
    lo: [usize; 3],
    hi: [usize; 3],
    margin: [usize; 3],
    op: impl FnOnce(ArrayView3<'_, bool>) -> Array3<bool>,
) -> Array3<bool> {
    let sh = mask.shape();
    let a = [0, 1, 2].map(|i| lo[i].saturating_sub(margin[i]));
    let b = [0, 1, 2].map(|i| (hi[i] + margin[i] + 1).min(sh[i]));
    let crop = mask.slice(s![a[0]..b[0], a[1]..b[1], a[2]..b[2]]);
    let result = op(crop);
    let mut out = Array3::from_elem(mask.raw_dim(), false);
    out.slice_mut(s![a[0]..b[0], a[1]..b[1], a[2]..b[2]])
        .assign(&result);
    out
}

/// Separable box: along each axis with a non-zero reach, a voxel becomes
/// `value` when a voxel within its reach is `value` (dilation: `true`,
/// erosion: `false`).
fn boxed(crop: ArrayView3<'_, bool>, reach: [usize; 3], value: bool) -> Array3<bool> {
    let mut out = crop.to_owned();
    for (axis, &h) in reach.iter().enumerate() {
        if h > 0 {
            par_lanes(&mut out, axis, Vec::new, |lane, buf| {
                spread(lane, h, value, buf);
            });
        }
    }
    out
}

/// Sets `lane[i] = value` wherever some `lane[j] == value` with `|i-j| ≤ h`.
fn spread(lane: &mut [bool], h: usize, value: bool, buf: &mut Vec<bool>) {
    buf.clear();
    buf.extend_from_slice(lane);
    let mut last: Option<usize> = None;
    for (i, v) in lane.iter_mut().enumerate() {
        if buf[i] == value {
            last = Some(i);
        }
        if last.is_some_and(|l| i - l <= h) {
            *v = value;
        }
    }
    let mut next: Option<usize> = None;
    for (i, v) in lane.iter_mut().enumerate().rev() {
        if buf[i] == value {
            next = Some(i);
        }
        if next.is_some_and(|l| l - i <= h) {
            *v = value;
        }
    }
}

/// Inclusive bounding box `[z, row, col]` of the set voxels, if any.
pub(crate) fn bounding_box(m: ArrayView3<'_, bool>) -> Option<([usize; 3], [usize; 3])> {
    let per_z: Vec<Option<[usize; 4]>> = m
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|plane| {
            let mut bb: Option<[usize; 4]> = None;
            for (r, row) in plane.rows().into_iter().enumerate() {
                let first = row.iter().position(|&v| v);
                let Some(c0) = first else { continue };
                let c1 = row.len() - 1 - row.iter().rev().position(|&v| v).unwrap_or(0);
                let b = bb.get_or_insert([r, r, c0, c1]);
                b[1] = r;
                b[2] = b[2].min(c0);
                b[3] = b[3].max(c1);
            }
            bb
        })
        .collect();
    let mut out: Option<([usize; 3], [usize; 3])> = None;
    for (z, bb) in per_z.iter().enumerate() {
        if let Some([r0, r1, c0, c1]) = *bb {
            let o = out.get_or_insert(([z, r0, c0], [z, r1, c1]));
            o.0 = [o.0[0].min(z), o.0[1].min(r0), o.0[2].min(c0)];
            o.1 = [o.1[0].max(z), o.1[1].max(r1), o.1[2].max(c1)];
        }
    }
    out
}
