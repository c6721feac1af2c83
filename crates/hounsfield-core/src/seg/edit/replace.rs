//! Replacing a segment's whole mask as one undoable step (how an effect's
//! result is applied).

use ndarray::{ArrayView3, Axis};
use rayon::prelude::*;

use super::{Edit, EditError, Run, VoxelChange, check_grid, check_mask, push_run, segment_index};
use crate::seg::Segmentation;

/// The edit that makes segment `number`'s mask equal to `new` (a full-grid
/// mask): one [`VoxelChange`] setting the voxels `new` adds, one clearing
/// the voxels it drops (either left out when empty), so undo restores the
/// old mask exactly.
///
/// ```
/// use hounsfield_core::seg::{Mask, Segment, Segmentation, edit::replace_mask};
/// use hounsfield_core::volume::Geometry;
/// let g = Geometry::identity([1, 2, 3]);
/// let mut full = ndarray::Array3::from_elem((1, 2, 3), false);
/// full[[0, 0, 0]] = true;
/// let mut seg = Segmentation { geometry: g, segments: vec![Segment::named(1, "a", Mask::from_full(full.view()))], source: String::new() };
/// let before = seg.clone();
/// let edit = replace_mask(&seg, 1, ndarray::Array3::from_elem((1, 2, 3), true).view(), "dilate").unwrap();
/// edit.apply(&mut seg).unwrap();
/// assert_eq!(seg.segments[0].mask.count(), 6);
/// edit.revert(&mut seg).unwrap();
/// assert_eq!(seg, before);
/// ```
#[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
pub fn replace_mask(
    seg: &Segmentation,
    number: u16,
    new: ArrayView3<'_, bool>,
    description: &str,
) -> Result<Edit, EditError> {
    check_grid(&seg.geometry)?;
    let dims = seg.geometry.dims;
    let segment = &seg.segments[segment_index(seg, number)?];
    check_mask(segment, dims)?;
    let got = [new.shape()[0], new.shape()[1], new.shape()[2]];
    if got != dims {
        return Err(EditError::Shape {
            what: "new mask".into(),
            got,
            want: dims,
        });
    }
    let old = segment.mask.to_full();
    let plane = dims[1] * dims[2];
    // Per slice: (runs set, runs cleared), linear indices.
    let per_slice: Vec<(Vec<Run>, Vec<Run>)> = new
        .axis_iter(Axis(0))
        .into_par_iter()
        .zip(old.axis_iter(Axis(0)))
        .enumerate()
        .map(|(z, (n, o))| {
            let (mut set, mut cleared) = (Vec::new(), Vec::new());
            // Logical (row-major) order whatever the layouts.
            for (i, (&n, &o)) in (z * plane..).zip(n.iter().zip(o.iter())) {
                // The grid fits a u32 index (checked above).
                if n && !o {
                    push_run(&mut set, i as u32, 1);
                } else if o && !n {
                    push_run(&mut cleared, i as u32, 1);
                }
            }
            (set, cleared)
        })
        .collect();
    let mut edit = Edit::new(description);
    for value in [true, false] {
        let mut runs = Vec::new();
        for (set, cleared) in &per_slice {
            for &(s, l) in if value { set } else { cleared } {
                push_run(&mut runs, s, l);
            }
        }
        edit.add(VoxelChange {
            segment: number,
            value,
            runs,
        });
    }
    Ok(edit)
}
