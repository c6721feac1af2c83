//! Placing a [`SegObject`] on the CT grid it was drawn on.
//!
//! Every frame goes to exactly one CT slice: the slice whose `SOPInstanceUID`
//! (and frame number) the frame references, checked against (or, without a
//! usable reference, found from) the frame's `ImagePositionPatient` projected
//! on the CT's slice axis. A frame must lie within a quarter of the slice
//! spacing of its slice's plane and within a quarter pixel of the CT's first
//! pixel in-plane; its orientation and pixel spacing must be the CT's. A
//! differing frame of reference, orientation, matrix or spacing, or a frame
//! that fits no slice, is refused with a message naming what differs:
//! nothing is ever shifted or resampled silently.

use glam::DVec3;
use ndarray::Array3;
use rayon::prelude::*;

use super::{FramePixels, ReferenceGrid, SegFileError, SegFrame, SegObject, SegmentationType};
use crate::seg::colour::layer_of;
use crate::seg::{Mask, Segment, Segmentation};
use crate::volume::Geometry;

/// Largest distance of a frame from its slice plane, as a fraction of the
/// slice spacing.
const SLICE_TOLERANCE: f64 = 0.25;
/// Largest in-plane offset of a frame's first pixel from the CT's, in pixels.
const IN_PLANE_TOLERANCE: f64 = 0.25;
/// Largest difference of orientation cosines.
const ORIENTATION_TOLERANCE: f64 = 1e-3;
/// Largest relative difference of pixel spacings.
const SPACING_TOLERANCE: f64 = 1e-3;

/// Inclusive bounding box `[row0, row1, col0, col1]` of set pixels.
type Box2 = [usize; 4];

/// Place `seg` on `grid` as a [`Segmentation`] (one mask per segment, in
/// `SegmentSequence` order; segments without frames get an empty mask).
/// `source` is shown as the segmentation's origin.
pub fn place_seg(
    seg: &SegObject,
    grid: &ReferenceGrid,
    source: &str,
) -> Result<Segmentation, SegFileError> {
    let mismatch = |reason: String| SegFileError::Mismatch {
        reason,
        path: seg.path.clone(),
    };
    if let (Some(a), Some(b)) = (&seg.frame_of_reference_uid, &grid.frame_of_reference_uid)
        && a != b
    {
        return Err(mismatch(format!(
            "frame of reference differs: SEG {a}, CT {b}"
        )));
    }
    let [nz, rows, cols] = grid.geometry.dims;
    if (seg.rows as usize, seg.cols as usize) != (rows, cols) {
        return Err(mismatch(format!(
            "pixel grid differs: SEG {} rows × {} columns, CT {rows} × {cols}",
            seg.rows, seg.cols
        )));
    }
    let slices = seg
        .frames
        .iter()
        .map(|f| frame_slice(f, grid).map_err(&mismatch))
        .collect::<Result<Vec<usize>, _>>()?;
    let boxes: Vec<FrameBoxes> = seg
        .frames
        .par_iter()
        .map(|f| FrameBoxes::of(&f.pixels, cols))
        .collect();

    let dims = [nz, rows, cols];
    let segments = seg
        .segments
        .par_iter()
        .map(|info| {
            let value = info.number;
            let hits: Vec<(usize, &SegFrame, Box2)> = seg
                .frames
                .iter()
                .zip(&slices)
                .zip(&boxes)
                .filter_map(|((f, &z), b)| {
                    let bb = match (seg.segmentation_type, b) {
                        (SegmentationType::Labelmap, FrameBoxes::Labels(m)) => {
                            m.iter().find(|(v, _)| *v == value).map(|(_, bb)| *bb)
                        }
                        (_, FrameBoxes::Bits(bb)) if f.segment_number == Some(value) => *bb,
                        _ => None,
                    }?;
                    Some((z, f, bb))
                })
                .collect();
            let label = if info.label.is_empty() {
                if info.kind.is_empty() {
                    format!("Segment {value}")
                } else {
                    info.kind.clone()
                }
            } else {
                info.label.clone()
            };
            Segment {
                number: value,
                layer: layer_of(&label, &format!("{} {}", info.category, info.kind)),
                label,
                category: info.category.clone(),
                kind: info.kind.clone(),
                colour_rgb: info.colour_rgb,
                mask: build_mask(dims, &hits, value),
            }
        })
        .collect();
    Ok(Segmentation {
        geometry: grid.geometry,
        segments,
        source: source.to_owned(),
    })
}

/// The CT slice of one frame, or why there is none.
fn frame_slice(f: &SegFrame, grid: &ReferenceGrid) -> Result<usize, String> {
    let g = &grid.geometry;
    let what = || match f.segment_number {
        Some(s) => format!("frame {} (segment {s})", f.index + 1),
        None => format!("frame {}", f.index + 1),
    };
    if let Some([col_dir, row_dir]) = f.orientation {
        let differs = |a: DVec3, b: DVec3| (a - b).abs().max_element() > ORIENTATION_TOLERANCE;
        if differs(col_dir, g.direction.x_axis) || differs(row_dir, g.direction.y_axis) {
            return Err(format!(
                "orientation differs: SEG {:.4?} {:.4?}, CT {:.4?} {:.4?}",
                col_dir.to_array(),
                row_dir.to_array(),
                g.direction.x_axis.to_array(),
                g.direction.y_axis.to_array()
            ));
        }
    }
    if let Some([between_rows, between_cols]) = f.pixel_spacing_mm {
        let differs = |a: f64, b: f64| (a - b).abs() > SPACING_TOLERANCE * b.abs().max(1e-6);
        if differs(between_rows, g.spacing_mm.y) || differs(between_cols, g.spacing_mm.x) {
            return Err(format!(
                "pixel spacing differs: SEG {between_rows} × {between_cols} mm, CT {} × {} mm",
                g.spacing_mm.y, g.spacing_mm.x
            ));
        }
    }
    let by_uid = referenced_slice(f, grid);
    let by_position = match f.position_mm {
        Some(p) => Some(slice_at(p, g).map_err(|e| format!("{}: {e}", what()))?),
        None => None,
    };
    match (by_uid, by_position) {
        (Some(a), Some(Some(b))) if a != b => Err(format!(
            "{} references CT slice {a} but lies on slice {b}",
            what()
        )),
        (Some(a), Some(None)) => Err(format!(
            "{} references CT slice {a} but its position lies on no CT slice",
            what()
        )),
        (Some(z), _) | (None, Some(Some(z))) => Ok(z),
        (None, Some(None)) => Err(format!(
            "{} at {:.2?} mm lies on no CT slice (CT slices are {:.3} mm apart)",
            what(),
            f.position_mm.unwrap_or_default().to_array(),
            slice_step_mm(g)
        )),
        (None, None) => Err(format!(
            "{} has no ImagePositionPatient and references no CT slice",
            what()
        )),
    }
}

/// The slice whose instance (and frame) the frame references.
fn referenced_slice(f: &SegFrame, grid: &ReferenceGrid) -> Option<usize> {
    let uid = f.source_sop_instance_uid.as_deref()?;
    let mut candidates = grid
        .slice_sop_uids
        .iter()
        .zip(&grid.slice_frame_numbers)
        .enumerate()
        .filter(|(_, (u, n))| {
            u.as_deref() == Some(uid)
                && match (f.source_frame_number, **n) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        })
        .map(|(z, _)| z);
    let first = candidates.next()?;
    // Several slices from one multi-frame instance without a frame number:
    // ambiguous, leave it to the position.
    candidates.next().is_none().then_some(first)
}

/// Distance between slice planes along the normal (mm).
fn slice_step_mm(g: &Geometry) -> f64 {
    (g.direction.z_axis * g.spacing_mm.z)
        .dot(g.slice_normal())
        .abs()
}

/// The slice whose plane holds `p` (`Ok(None)` when it lies between or
/// beyond the slices), or an error when `p` is off the CT's first pixel
/// in-plane.
fn slice_at(p: DVec3, g: &Geometry) -> Result<Option<usize>, String> {
    let v = g.voxel_of_world(p);
    if !v.is_finite() {
        return Ok(None);
    }
    if v.x.abs() > IN_PLANE_TOLERANCE || v.y.abs() > IN_PLANE_TOLERANCE {
        let off = DVec3::new(v.x * g.spacing_mm.x, v.y * g.spacing_mm.y, 0.0);
        return Err(format!(
            "position {:.3?} mm is {:.2} mm off the CT's pixel grid in-plane ({:.2} columns, {:.2} rows)",
            p.to_array(),
            off.length(),
            v.x,
            v.y
        ));
    }
    let k = v.z.round();
    let on_plane = (v.z - k).abs() <= SLICE_TOLERANCE;
    let in_range = k >= 0.0 && k < g.dims[0] as f64;
    Ok((on_plane && in_range).then_some(k as usize))
}

/// Bounding boxes of what a frame holds.
enum FrameBoxes {
    /// Of the set bits.
    Bits(Option<Box2>),
    /// Per label value (ascending).
    Labels(Vec<(u16, Box2)>),
}

impl FrameBoxes {
    fn of(pixels: &FramePixels, cols: usize) -> Self {
        let grow = |b: &mut Box2, r: usize, c: usize| {
            b[0] = b[0].min(r);
            b[1] = b[1].max(r);
            b[2] = b[2].min(c);
            b[3] = b[3].max(c);
        };
        match pixels {
            FramePixels::Bits(bytes) => {
                let mut bb: Option<Box2> = None;
                for (j, &byte) in bytes.iter().enumerate() {
                    if byte == 0 {
                        continue;
                    }
                    for bit in 0..8 {
                        if byte >> bit & 1 == 1 {
                            let i = j * 8 + bit;
                            let (r, c) = (i / cols, i % cols);
                            grow(bb.get_or_insert([r, r, c, c]), r, c);
                        }
                    }
                }
                Self::Bits(bb)
            }
            FramePixels::Labels(values) => {
                let mut map = std::collections::BTreeMap::<u16, Box2>::new();
                for (i, &v) in values.iter().enumerate() {
                    if v != 0 {
                        let (r, c) = (i / cols, i % cols);
                        grow(map.entry(v).or_insert([r, r, c, c]), r, c);
                    }
                }
                Self::Labels(map.into_iter().collect())
            }
        }
    }
}

/// The mask of segment `value` from its frames (z, frame, box), allocated
/// only over the union of the boxes.
fn build_mask(dims: [usize; 3], hits: &[(usize, &SegFrame, Box2)], value: u16) -> Mask {
    let Some(&(z0, _, b0)) = hits.first() else {
        return Mask::empty(dims);
    };
    let (mut lo, mut hi) = ([z0, b0[0], b0[2]], [z0, b0[1], b0[3]]);
    for &(z, _, b) in hits {
        lo = [lo[0].min(z), lo[1].min(b[0]), lo[2].min(b[2])];
        hi = [hi[0].max(z), hi[1].max(b[1]), hi[2].max(b[3])];
    }
    let shape = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    let mut data = Array3::from_elem(shape, false);
    let cols = dims[2];
    for &(z, f, b) in hits {
        for r in b[0]..=b[1] {
            for c in b[2]..=b[3] {
                let i = r * cols + c;
                let set = match &f.pixels {
                    FramePixels::Bits(_) => f.pixels.is_set(i),
                    FramePixels::Labels(l) => l.get(i) == Some(&value),
                };
                if set {
                    data[[z - lo[0], r - lo[1], c - lo[2]]] = true;
                }
            }
        }
    }
    Mask {
        dims,
        start: lo,
        data,
    }
}
