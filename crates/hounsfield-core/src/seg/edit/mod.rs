//! Editing segmentations with undo: brush and eraser, flood fill,
//! interpolation between edited slices, segment management and replacing a
//! whole mask ([`replace_mask`], how effects are applied), each stored
//! as the difference it made, not as a copy.
//!
//! Owns [`VoxelChange`] (the voxels of one segment set to one value, as runs
//! of linear indices), [`Change`] and [`Edit`] (one undo step), the
//! operations in [`ops`] (pure: they compute a change without applying it),
//! applying runs to a cropped mask
//! ([`Mask::set_runs`](crate::seg::Mask::set_runs)) and the undo/redo stack
//! [`EditHistory`].
//!
//! This module imports only `seg`, `volume`, `mpr::ViewAxis`, `morph`,
//! ndarray, glam, rayon and thiserror: no UI, no I/O. Everything is
//! deterministic.
//!
//! # Conventions
//! - A voxel's **linear index** is `(z · rows + row) · cols + col` on the full
//!   grid. It is a `u32`: grids of more than `u32::MAX` voxels are refused
//!   with [`EditError::GridTooLarge`] (a CT of 512 × 512 × 16 000 slices
//!   still fits).
//! - Runs `(start, len)` are sorted, disjoint and never adjacent (adjacent
//!   runs are merged); a change records only voxels whose value it changed,
//!   so undo sets the runs to `!value` and redo to `value`.
//! - Masks stay cropped to their bounding box: painting grows the crop
//!   (reallocating only when the box grows), erasing shrinks it when voxels
//!   on its border go. A mask is thus a function of its voxels, so undo
//!   restores segmentations exactly (`==`), provided the masks it started
//!   from were cropped to their bounding box (as
//!   [`Mask::from_full`](crate::seg::Mask::from_full) makes them).

mod history;
pub mod ops;
mod replace;
mod runs;
#[cfg(test)]
mod tests;

use super::{Segment, Segmentation};
use crate::morph::MorphError;
use crate::volume::Geometry;

pub use history::{DEFAULT_CAPACITY, EditHistory};
pub use ops::{
    BrushMode, BrushParams, BrushShape, FillParams, FillScope, brush, delete_segment, flood_fill,
    interpolate, new_segment, recolour, rename,
};
pub use replace::replace_mask;
use runs::{normalise_runs, push_run, union_runs, voxel_total};

/// Errors of segmentation editing (bad input; never a panic).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EditError {
    /// The grid has more voxels than a `u32` linear index can address.
    #[error("grid {dims:?} has more than {} voxels, too many to edit", u32::MAX)]
    GridTooLarge {
        /// The grid shape `[z, row, col]`.
        dims: [usize; 3],
    },
    /// No segment has this number.
    #[error("no segment number {number}")]
    NoSegment {
        /// The segment number asked for.
        number: u16,
    },
    /// A segment's mask or the volume is not on the segmentation's grid.
    #[error("{what}: shape {got:?} differs from the grid's {want:?}")]
    Shape {
        /// Which input.
        what: String,
        /// Its shape `[z, row, col]`.
        got: [usize; 3],
        /// The grid's shape.
        want: [usize; 3],
    },
    /// A brush radius is negative or not finite.
    #[error("brush radius must be finite and >= 0, got {radius_mm} mm")]
    BadRadius {
        /// The radius given, mm.
        radius_mm: f64,
    },
    /// A brush centre is not a finite point.
    #[error("brush centre must be finite, got {centre_mm:?} mm (LPS)")]
    BadCentre {
        /// The centre given, LPS mm.
        centre_mm: [f64; 3],
    },
    /// A HU range is not finite or has `lo > hi`.
    #[error("HU range must be finite with lo <= hi, got {lo_hu} ..= {hi_hu}")]
    BadRange {
        /// Lower bound, HU.
        lo_hu: f32,
        /// Upper bound, HU.
        hi_hu: f32,
    },
    /// A HU range was given without a volume to read the HU from.
    #[error("a HU range needs the CT volume")]
    NoVolume,
    /// The flood-fill seed is outside the grid.
    #[error("seed {seed_zyx:?} is outside the grid {dims:?}")]
    SeedOutside {
        /// The seed `[z, row, col]`.
        seed_zyx: [usize; 3],
        /// The grid shape `[z, row, col]`.
        dims: [usize; 3],
    },
    /// The flood-fill seed's HU is outside the fill range.
    #[error("seed {seed_zyx:?} has {hu} HU, outside the fill range {lo_hu} ..= {hi_hu}")]
    SeedOutOfRange {
        /// The seed `[z, row, col]`.
        seed_zyx: [usize; 3],
        /// The seed's HU.
        hu: f32,
        /// Lower bound, HU.
        lo_hu: f32,
        /// Upper bound, HU.
        hi_hu: f32,
    },
    /// A run reaches past the end of the grid.
    #[error("run {start} + {len} reaches past the grid's {voxels} voxels")]
    RunOutside {
        /// First linear index.
        start: u32,
        /// Length in voxels.
        len: u32,
        /// Voxels in the grid.
        voxels: u64,
    },
    /// Every segment number 1..=65535 is taken.
    #[error("no free segment number left")]
    NoFreeNumber,
    /// A segment number is already in use.
    #[error("segment number {number} is already in use")]
    NumberInUse {
        /// The number.
        number: u16,
    },
    /// The segment list does not match the edit (edited outside the history).
    #[error("expected segment {number} at index {index} of {len} segments")]
    SegmentIndex {
        /// Segment number expected.
        number: u16,
        /// Index expected.
        index: usize,
        /// Number of segments.
        len: usize,
    },
    /// A distance transform failed (bad spacing).
    #[error(transparent)]
    Morph(#[from] MorphError),
}

/// A run of linear indices: `(start, len)`.
pub type Run = (u32, u32);

/// The voxels of one segment set to one value: the difference an edit made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VoxelChange {
    /// The segment's number ([`Segment::number`]).
    pub segment: u16,
    /// What the voxels were set to (`true` painted, `false` erased).
    pub value: bool,
    /// The voxels that changed, as sorted, disjoint, non-adjacent runs of
    /// linear indices (see the module conventions).
    pub runs: Vec<Run>,
}

impl VoxelChange {
    /// Whether no voxel changed.
    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(|r| r.1 == 0)
    }

    /// Number of voxels that changed.
    pub fn voxel_count(&self) -> u64 {
        self.runs.iter().map(|r| u64::from(r.1)).sum()
    }

    /// Bytes held by the runs (8 per run).
    pub fn bytes(&self) -> usize {
        self.runs.len() * std::mem::size_of::<Run>()
    }

    /// Adds the voxels of `other` (same segment and value, applied after
    /// `self`): the runs become the union (sorted and merged), so undoing the
    /// merged change undoes both. Returns `other` back when segment or value
    /// differ.
    pub fn merge(&mut self, mut other: Self) -> Result<(), Self> {
        if other.segment != self.segment || other.value != self.value {
            return Err(other);
        }
        for runs in [&mut self.runs, &mut other.runs] {
            if !runs.is_sorted_by_key(|r| r.0) {
                normalise_runs(runs);
            }
        }
        self.runs = union_runs(&self.runs, &other.runs);
        Ok(())
    }

    /// Sets the runs of the segment to `value` (`self.value` applies the
    /// change, `!self.value` undoes it).
    pub fn set(&self, seg: &mut Segmentation, value: bool) -> Result<(), EditError> {
        let dims = seg.geometry.dims;
        let segment = segment_mut(seg, self.segment)?;
        check_mask(segment, dims)?;
        segment.mask.set_runs(&self.runs, value)
    }
}

/// One reversible change of a segmentation.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Voxels of one segment set to one value.
    Voxels(VoxelChange),
    /// A segment inserted at `index` (undo removes it).
    Insert {
        /// Its index in [`Segmentation::segments`].
        index: usize,
        /// The segment as inserted.
        segment: Box<Segment>,
    },
    /// The segment at `index` removed (undo puts it back, exactly).
    Remove {
        /// Its index in [`Segmentation::segments`].
        index: usize,
        /// The segment as it was.
        segment: Box<Segment>,
    },
    /// A segment renamed.
    Rename {
        /// The segment's number.
        number: u16,
        /// The label before.
        before: String,
        /// The label after.
        after: String,
    },
    /// A segment's colour changed.
    Recolour {
        /// The segment's number.
        number: u16,
        /// The colour before.
        before_rgb: [u8; 3],
        /// The colour after.
        after_rgb: [u8; 3],
    },
}

impl From<VoxelChange> for Change {
    fn from(c: VoxelChange) -> Self {
        Self::Voxels(c)
    }
}

impl Change {
    /// Whether applying it changes nothing (an empty voxel change).
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Voxels(c) if c.is_empty())
    }

    /// Bytes of payload held: 8 per run, the mask voxels and labels of a
    /// stored segment, the labels of a rename.
    pub fn bytes(&self) -> usize {
        match self {
            Self::Voxels(c) => c.bytes(),
            Self::Insert { segment, .. } | Self::Remove { segment, .. } => {
                segment.mask.data.len()
                    + segment.label.len()
                    + segment.category.len()
                    + segment.kind.len()
            }
            Self::Rename { before, after, .. } => before.len() + after.len(),
            Self::Recolour { .. } => 0,
        }
    }

    /// Applies the change (`forward`) or undoes it. Either does all of it or,
    /// on error, nothing.
    fn run(&self, seg: &mut Segmentation, forward: bool) -> Result<(), EditError> {
        match self {
            Self::Voxels(c) => c.set(seg, c.value == forward),
            Self::Insert { index, segment } if forward => insert_segment(seg, *index, segment),
            Self::Remove { index, segment } if !forward => insert_segment(seg, *index, segment),
            Self::Insert { index, segment } | Self::Remove { index, segment } => {
                remove_segment(seg, *index, segment.number)
            }
            Self::Rename {
                number,
                before,
                after,
            } => {
                segment_mut(seg, *number)?
                    .label
                    .clone_from(if forward { after } else { before });
                Ok(())
            }
            Self::Recolour {
                number,
                before_rgb,
                after_rgb,
            } => {
                segment_mut(seg, *number)?.colour_rgb =
                    if forward { *after_rgb } else { *before_rgb };
                Ok(())
            }
        }
    }
}

/// One undo step: changes applied in order, undone in reverse order.
///
/// Also the builder of a brush stroke: [`Edit::add`] merges each dab into the
/// previous change when segment and value agree, so a stroke of many dabs is
/// one step holding one set of runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edit {
    /// What it did, for the undo menu ("brush", "erase", "fill", …).
    pub description: String,
    /// The changes, in the order they were applied.
    pub changes: Vec<Change>,
}

impl Edit {
    /// An edit with no change yet.
    pub fn new(description: &str) -> Self {
        Self {
            description: description.to_owned(),
            changes: Vec::new(),
        }
    }

    /// An edit of one change.
    pub fn of(description: &str, change: impl Into<Change>) -> Self {
        let mut e = Self::new(description);
        e.add(change);
        e
    }

    /// Appends a change made after the ones already held. A voxel change of
    /// the same segment and value as the last change is merged into it; an
    /// empty voxel change is dropped.
    pub fn add(&mut self, change: impl Into<Change>) {
        let change = change.into();
        if change.is_empty() {
            return;
        }
        let change = match (self.changes.last_mut(), change) {
            (Some(Change::Voxels(last)), Change::Voxels(c)) => match last.merge(c) {
                Ok(()) => return,
                Err(c) => Change::Voxels(c),
            },
            (_, c) => c,
        };
        self.changes.push(change);
    }

    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(Change::is_empty)
    }

    /// Bytes of payload held (see [`Change::bytes`]), plus the description.
    pub fn bytes(&self) -> usize {
        self.description.len() + self.changes.iter().map(Change::bytes).sum::<usize>()
    }

    /// Applies the changes in order. On error the changes already applied
    /// are undone and the segmentation is as before.
    pub fn apply(&self, seg: &mut Segmentation) -> Result<(), EditError> {
        for (i, c) in self.changes.iter().enumerate() {
            if let Err(e) = c.run(seg, true) {
                for done in self.changes[..i].iter().rev() {
                    // Undoing what was just applied cannot fail.
                    let _ = done.run(seg, false);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Undoes the changes in reverse order. On error the changes already
    /// undone are reapplied and the segmentation is as before.
    pub fn revert(&self, seg: &mut Segmentation) -> Result<(), EditError> {
        for (i, c) in self.changes.iter().enumerate().rev() {
            if let Err(e) = c.run(seg, false) {
                for done in &self.changes[i + 1..] {
                    // Reapplying what was just undone cannot fail.
                    let _ = done.run(seg, true);
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Number of voxels of a grid, refusing grids a `u32` index cannot address.
pub(crate) fn check_grid(geometry: &Geometry) -> Result<u32, EditError> {
    let n = voxel_total(geometry.dims)?;
    u32::try_from(n).map_err(|_| EditError::GridTooLarge {
        dims: geometry.dims,
    })
}

/// The index of the segment with this number.
pub(crate) fn segment_index(seg: &Segmentation, number: u16) -> Result<usize, EditError> {
    seg.index_of(number).ok_or(EditError::NoSegment { number })
}

fn segment_mut(seg: &mut Segmentation, number: u16) -> Result<&mut Segment, EditError> {
    let i = segment_index(seg, number)?;
    Ok(&mut seg.segments[i])
}

/// Checks that a segment's mask lives on a grid of shape `dims`.
pub(crate) fn check_mask(segment: &Segment, dims: [usize; 3]) -> Result<(), EditError> {
    if segment.mask.dims == dims {
        Ok(())
    } else {
        Err(EditError::Shape {
            what: format!("mask of segment {}", segment.number),
            got: segment.mask.dims,
            want: dims,
        })
    }
}

fn insert_segment(
    seg: &mut Segmentation,
    index: usize,
    segment: &Segment,
) -> Result<(), EditError> {
    if seg.index_of(segment.number).is_some() {
        return Err(EditError::NumberInUse {
            number: segment.number,
        });
    }
    if index > seg.segments.len() {
        return Err(EditError::SegmentIndex {
            number: segment.number,
            index,
            len: seg.segments.len(),
        });
    }
    check_mask(segment, seg.geometry.dims)?;
    seg.segments.insert(index, segment.clone());
    Ok(())
}

fn remove_segment(seg: &mut Segmentation, index: usize, number: u16) -> Result<(), EditError> {
    if seg.segments.get(index).map(|s| s.number) != Some(number) {
        return Err(EditError::SegmentIndex {
            number,
            index,
            len: seg.segments.len(),
        });
    }
    seg.segments.remove(index);
    Ok(())
}
