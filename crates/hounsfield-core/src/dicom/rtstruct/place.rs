//! Placing an [`RtStructObject`] on the CT grid it was drawn on: each
//! CLOSED_PLANAR contour goes to one slice and is filled there with the
//! even-odd rule, together with the ROI's other contours on that slice (so
//! holes and islands come out right).
//!
//! A contour's slice is the one its Contour Image reference names, when the
//! CT has that instance; its points must then lie within a quarter of the
//! slice spacing of that slice's plane. Without a usable reference the slice
//! is found from the points' position along the slice normal, with the same
//! tolerance. In-plane, points are mapped through the slice's own column and
//! row axes (so oblique and gantry-tilted grids need nothing special).
//! Contours beyond the first or last slice are counted and skipped (a CT
//! that covers part of the structure set still shows its part); a contour
//! between two slices or across several, or a structure set of another frame
//! of reference, is refused.

use std::collections::BTreeMap;

use glam::DVec3;
use ndarray::{Array3, s};
use rayon::prelude::*;

use super::{ContourKind, LESION_TYPES, ReferenceGrid, RoiInfo, RtStructError, RtStructObject};
use crate::seg::colour::{default_colour, is_lesion};
use crate::seg::contour::{Polygon, fill_even_odd};
use crate::seg::{Layer, Mask, Segment, Segmentation};

/// Largest distance of a contour point from its slice plane, as a fraction
/// of the slice spacing.
const SLICE_TOLERANCE: f64 = 0.25;

/// A placed structure set and what was left out.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedRtStruct {
    /// One segment per (selected) ROI.
    pub segmentation: Segmentation,
    /// One line per ROI with skipped contours (POINT, OPEN_PLANAR, beyond
    /// the CT's slices), e.g. `ROI 2 "Isocenter": 1 POINT contour skipped`.
    pub notes: Vec<String>,
}

/// Place `rt` on `grid`: one segment per ROI in structure-set order, or,
/// with `select`, per ROI named there (case-insensitive, in that order; a
/// name the structure set lacks is an error listing the names it has).
/// `source` is shown as the segmentation's origin.
pub fn place_rtstruct(
    rt: &RtStructObject,
    grid: &ReferenceGrid,
    select: Option<&[String]>,
    source: &str,
) -> Result<PlacedRtStruct, RtStructError> {
    let mismatch = |reason: String| RtStructError::Mismatch {
        reason,
        path: rt.path.clone(),
    };
    let rois = selected(rt, select)?;
    if let Some(ct) = &grid.frame_of_reference_uid {
        let theirs = std::iter::once(rt.frame_of_reference_uid.as_ref())
            .chain(rois.iter().map(|r| r.frame_of_reference_uid.as_ref()))
            .flatten()
            .find(|f| *f != ct);
        if let Some(f) = theirs {
            return Err(mismatch(format!(
                "frame of reference differs: RTSTRUCT {f}, CT {ct}"
            )));
        }
    }
    let planes = Planes::new(grid);
    let numbers = segment_numbers(&rois);
    let mut notes = Vec::new();
    let mut any_closed = 0usize;
    let mut any_placed = 0usize;
    let mut segments = Vec::with_capacity(rois.len());
    for (roi, &number) in rois.iter().zip(&numbers) {
        let mut per_slice: BTreeMap<usize, Vec<Polygon>> = BTreeMap::new();
        let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
        for (k, c) in roi.contours.iter().enumerate() {
            if c.kind != ContourKind::ClosedPlanar {
                let kind = match c.kind.code() {
                    "" => "untyped (no ContourGeometricType)",
                    code => code,
                };
                *skipped.entry(kind.to_owned()).or_default() += 1;
                continue;
            }
            any_closed += 1;
            let what = || format!("contour {} of ROI {} {:?}", k + 1, roi.number, roi.name);
            match planes
                .slice_of(&c.points_mm, &c.image_sop_uids)
                .map_err(|e| mismatch(format!("{} {e}", what())))?
            {
                Some(z) => {
                    any_placed += 1;
                    per_slice
                        .entry(z)
                        .or_default()
                        .push(planes.in_plane(z, &c.points_mm));
                }
                None => {
                    *skipped
                        .entry("beyond the CT's slices".to_owned())
                        .or_default() += 1;
                }
            }
        }
        if !skipped.is_empty() {
            let parts: Vec<String> = skipped
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            notes.push(format!(
                "ROI {} {:?}: {} contour(s) skipped",
                roi.number,
                roi.name,
                parts.join(", ")
            ));
        }
        segments.push(segment(roi, number, &planes, &per_slice));
    }
    if any_closed > 0 && any_placed == 0 {
        return Err(mismatch(format!(
            "none of its {any_closed} closed contours lies on the CT's {} slices",
            grid.geometry.dims[0]
        )));
    }
    Ok(PlacedRtStruct {
        segmentation: Segmentation {
            geometry: grid.geometry,
            segments,
            source: source.to_owned(),
        },
        notes,
    })
}

/// The ROIs to place, in order.
fn selected<'a>(
    rt: &'a RtStructObject,
    select: Option<&[String]>,
) -> Result<Vec<&'a RoiInfo>, RtStructError> {
    let Some(names) = select else {
        return Ok(rt.rois.iter().collect());
    };
    names
        .iter()
        .map(|want| {
            rt.rois
                .iter()
                .find(|r| r.name.trim().eq_ignore_ascii_case(want.trim()))
                .ok_or_else(|| RtStructError::Invalid {
                    reason: format!(
                        "no ROI named {want:?} (it has {})",
                        rt.rois
                            .iter()
                            .map(|r| format!("{:?}", r.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    path: rt.path.clone(),
                })
        })
        .collect()
}

/// Segment numbers: the ROI numbers when they are distinct and in
/// 1..=65535, else 1, 2, … in order.
fn segment_numbers(rois: &[&RoiInfo]) -> Vec<u16> {
    let own: Vec<Option<u16>> = rois
        .iter()
        .map(|r| u16::try_from(r.number).ok().filter(|&n| n > 0))
        .collect();
    let distinct = own
        .iter()
        .enumerate()
        .all(|(i, n)| n.is_some_and(|n| own[..i].iter().all(|m| *m != Some(n))));
    if distinct {
        own.into_iter().flatten().collect()
    } else {
        (1..=rois.len())
            .map(|n| u16::try_from(n).unwrap_or(u16::MAX))
            .collect()
    }
}

/// The segment of one ROI from its polygons per slice.
fn segment(
    roi: &RoiInfo,
    number: u16,
    planes: &Planes<'_>,
    per_slice: &BTreeMap<usize, Vec<Polygon>>,
) -> Segment {
    let [_, rows, cols] = planes.grid.geometry.dims;
    let filled: Vec<(usize, Vec<bool>)> = per_slice
        .par_iter()
        .map(|(&z, polys)| (z, fill_even_odd(polys, rows, cols)))
        .collect();
    let kind = roi.interpreted_type.clone().unwrap_or_default();
    let lesion = LESION_TYPES.contains(&kind.as_str()) || is_lesion(&roi.name);
    Segment {
        number,
        label: roi.name.clone(),
        category: kind,
        kind: String::new(),
        colour_rgb: roi
            .colour_rgb
            .unwrap_or_else(|| default_colour(&roi.name, number)),
        layer: if lesion { Layer::Lesion } else { Layer::Organ },
        mask: crop(&filled, planes.grid.geometry.dims),
    }
}

/// A cropped [`Mask`] from full planes.
fn crop(planes: &[(usize, Vec<bool>)], dims: [usize; 3]) -> Mask {
    let cols = dims[2];
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (z, p) in planes {
        for (i, _) in p.iter().enumerate().filter(|(_, v)| **v) {
            let (r, c) = (i / cols, i % cols);
            lo = [lo[0].min(*z), lo[1].min(r), lo[2].min(c)];
            hi = [hi[0].max(*z), hi[1].max(r), hi[2].max(c)];
        }
    }
    if lo[0] == usize::MAX {
        return Mask::empty(dims);
    }
    let mut data = Array3::from_elem(
        (hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1),
        false,
    );
    // Slices whose contours filled nothing (a point, a sliver, a contour
    // outside the field of view) can lie beyond the box: they add nothing.
    for (z, p) in planes.iter().filter(|(z, _)| (lo[0]..=hi[0]).contains(z)) {
        let mut dst = data.slice_mut(s![z - lo[0], .., ..]);
        for ((r, c), d) in dst.indexed_iter_mut() {
            *d = p[(r + lo[1]) * cols + c + lo[2]];
        }
    }
    Mask {
        dims,
        start: lo,
        data,
    }
}

/// The slice planes of a grid: where each lies along the normal and how a
/// point maps into it.
struct Planes<'a> {
    grid: &'a ReferenceGrid,
    normal: DVec3,
    /// Signed distance between successive planes along the normal (mm).
    step_mm: f64,
    /// One slice step (mm, LPS).
    slice_vec: DVec3,
}

impl<'a> Planes<'a> {
    fn new(grid: &'a ReferenceGrid) -> Self {
        let g = &grid.geometry;
        let normal = g.slice_normal();
        let slice_vec = g.direction.z_axis * g.spacing_mm.z;
        let step = slice_vec.dot(normal);
        Self {
            grid,
            normal,
            step_mm: if step.abs() > 1e-9 { step } else { 1.0 },
            slice_vec,
        }
    }

    /// LPS mm of the first pixel of slice `z`.
    fn origin(&self, z: usize) -> DVec3 {
        self.grid.geometry.origin_mm + self.slice_vec * z as f64
    }

    /// The slice a contour lies on: `Ok(None)` beyond the first or last
    /// slice; an error when it lies between slices, across several, or off
    /// the slice its image reference names.
    fn slice_of(&self, points: &[DVec3], images: &[String]) -> Result<Option<usize>, String> {
        let Some(first) = points.first() else {
            return Err("has no points".into());
        };
        let nz = self.grid.geometry.dims[0];
        let tol = SLICE_TOLERANCE * self.step_mm.abs();
        let along = |p: DVec3| (p - self.grid.geometry.origin_mm).dot(self.normal) / self.step_mm;
        let referenced = images.iter().find_map(|uid| {
            self.grid
                .slice_sop_uids
                .iter()
                .position(|u| u.as_deref() == Some(uid.as_str()))
        });
        let z_pos = along(*first).round();
        let z = match referenced {
            Some(z) => z,
            None if z_pos < 0.0 || z_pos > nz as f64 - 1.0 => return Ok(None),
            None => z_pos as usize,
        };
        let origin = self.origin(z);
        let worst = points
            .iter()
            .map(|p| (*p - origin).dot(self.normal).abs())
            .fold(0.0_f64, f64::max);
        if worst > tol {
            return Err(match referenced {
                Some(_) => format!(
                    "references slice {} but lies {worst:.2} mm from its plane",
                    z + 1
                ),
                None => format!(
                    "lies {worst:.2} mm from the plane of slice {} (slices are {:.2} mm apart; tolerance {tol:.2} mm)",
                    z + 1,
                    self.step_mm.abs()
                ),
            });
        }
        Ok(Some(z))
    }

    /// The contour in pixel coordinates `[col, row]` of slice `z`.
    fn in_plane(&self, z: usize, points: &[DVec3]) -> Polygon {
        let g = &self.grid.geometry;
        let origin = self.origin(z);
        let (x, y) = (g.direction.x_axis, g.direction.y_axis);
        points
            .iter()
            .map(|p| {
                let d = *p - origin;
                [d.dot(x) / g.spacing_mm.x, d.dot(y) / g.spacing_mm.y]
            })
            .collect()
    }
}
