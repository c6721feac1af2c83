//! Segmentations on a CT grid: named, coloured segments with binary masks.
//!
//! Owns the data model every overlay, statistic and export works on
//! ([`Segmentation`], [`Segment`], [`Mask`]), the default colours
//! ([`colour`]), placing label maps from other grids onto the CT grid
//! ([`place`]) and per-segment statistics ([`stats`]). Readers and writers of
//! files live elsewhere (`dicom` for DICOM-SEG, `io` for NIfTI/NRRD); this
//! module imports only `volume`, `io` types, ndarray, glam and rayon.
//! Editing with undo is [`edit`] (which also imports `mpr::ViewAxis`, `morph`);
//! segment effects (threshold, morphology in mm, margins, islands, logic,
//! smoothing) are [`effects`] (which also imports `morph`).
//!
//! # Conventions
//! - A [`Segmentation`] lives on one [`Geometry`], normally the loaded CT's:
//!   every mask has the CT's `[z, row, col]` shape (stored cropped to its
//!   bounding box, see [`Mask`]).
//! - Segments may overlap. Where they do, the display and label-map export
//!   pick the **top** segment: lesions ([`Layer::Lesion`]) above organs, and
//!   within a layer the later segment above the earlier one.

pub mod colour;
pub mod contour;
pub mod edit;
pub mod effects;
pub mod place;
pub mod stats;

use ndarray::{Array3, ArrayView3, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::volume::{Geometry, Volume};

/// Errors of segmentation handling.
#[derive(Debug, thiserror::Error)]
pub enum SegError {
    /// A mask or label map does not have the grid's shape.
    #[error("{what}: shape {got:?} differs from the grid's {want:?}")]
    Shape {
        /// Which input.
        what: String,
        /// Its shape `[z, row, col]`.
        got: [usize; 3],
        /// The grid's shape.
        want: [usize; 3],
    },
    /// The label map and the CT do not overlap in space.
    #[error("the label map does not overlap the CT ({reason})")]
    NoOverlap {
        /// Details (extents in mm).
        reason: String,
    },
    /// A label map value cannot be a segment number (negative, fractional, too large).
    #[error("label value {value} is not a label (expected integers 0..=65535)")]
    BadLabel {
        /// The offending value.
        value: f64,
    },
}

/// Drawing order class: lesions are drawn above organs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Layer {
    /// Organs and other anatomy.
    Organ,
    /// Tumours, lesions, nodules: drawn on top.
    Lesion,
}

/// A binary mask on a grid, stored cropped to its bounding box.
#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    /// Grid shape `[z, row, col]` the mask belongs to.
    pub dims: [usize; 3],
    /// Index of the crop's first voxel `[z, row, col]`.
    pub start: [usize; 3],
    /// The crop (all `false` voxels outside it).
    pub data: Array3<bool>,
}

impl Mask {
    /// An empty mask on a grid.
    pub fn empty(dims: [usize; 3]) -> Self {
        Self {
            dims,
            start: [0; 3],
            data: Array3::from_elem((0, 0, 0), false),
        }
    }

    /// Crops a full-grid mask to its bounding box.
    #[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
    pub fn from_full(full: ArrayView3<'_, bool>) -> Self {
        let dims = [full.shape()[0], full.shape()[1], full.shape()[2]];
        match bounding_box(full) {
            None => Self::empty(dims),
            Some((lo, hi)) => Self {
                dims,
                start: lo,
                data: full
                    .slice(s![lo[0]..=hi[0], lo[1]..=hi[1], lo[2]..=hi[2]])
                    .to_owned(),
            },
        }
    }

    /// The mask of voxels of `labels` equal to `value`.
    #[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
    pub fn from_labels<T: Copy + PartialEq + Sync>(labels: ArrayView3<'_, T>, value: T) -> Self {
        let full = labels.map(|&v| v == value);
        Self::from_full(full.view())
    }

    /// Whether voxel `[z, row, col]` is set (false outside the grid).
    pub fn get(&self, z: usize, row: usize, col: usize) -> bool {
        let (Some(a), Some(b), Some(c)) = (
            z.checked_sub(self.start[0]),
            row.checked_sub(self.start[1]),
            col.checked_sub(self.start[2]),
        ) else {
            return false;
        };
        self.data.get([a, b, c]).copied().unwrap_or(false)
    }

    /// Number of set voxels.
    pub fn count(&self) -> usize {
        self.data
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|p| p.iter().filter(|&&b| b).count())
            .sum()
    }

    /// Whether no voxel is set.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() || !self.data.iter().any(|&b| b)
    }

    /// Inclusive bounding box `(first, last)` as `[z, row, col]`, if not empty.
    pub fn bbox(&self) -> Option<([usize; 3], [usize; 3])> {
        bounding_box(self.data.view()).map(|(lo, hi)| {
            (
                [
                    lo[0] + self.start[0],
                    lo[1] + self.start[1],
                    lo[2] + self.start[2],
                ],
                [
                    hi[0] + self.start[0],
                    hi[1] + self.start[1],
                    hi[2] + self.start[2],
                ],
            )
        })
    }

    /// The mask on the whole grid.
    pub fn to_full(&self) -> Array3<bool> {
        let mut full = Array3::from_elem(self.dims, false);
        if !self.data.is_empty() {
            let [a, b, c] = self.start;
            let sh = self.data.shape();
            full.slice_mut(s![a..a + sh[0], b..b + sh[1], c..c + sh[2]])
                .assign(&self.data);
        }
        full
    }

    /// Calls `f(z, row, col)` for every set voxel, slice by slice.
    pub fn for_each_set(&self, mut f: impl FnMut(usize, usize, usize)) {
        for ((a, b, c), &v) in self.data.indexed_iter() {
            if v {
                f(a + self.start[0], b + self.start[1], c + self.start[2]);
            }
        }
    }
}

/// Inclusive bounding box of the set voxels of a mask.
#[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
fn bounding_box(m: ArrayView3<'_, bool>) -> Option<([usize; 3], [usize; 3])> {
    crate::morph::ops::bounding_box(m)
}

/// One segment: what it is, how to draw it, and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// SegmentNumber (DICOM-SEG) or label value (label maps); 1..=65535.
    pub number: u16,
    /// Display name (SegmentLabel).
    pub label: String,
    /// Category meaning (e.g. "Tissue", "Morphologically Altered Structure"), may be empty.
    pub category: String,
    /// Type meaning (e.g. "Liver"), may be empty.
    pub kind: String,
    /// Display colour.
    pub colour_rgb: [u8; 3],
    /// Drawing class.
    pub layer: Layer,
    /// The voxels.
    pub mask: Mask,
}

impl Segment {
    /// A segment with colour and layer chosen from its name
    /// ([`colour::default_colour`], [`colour::layer_of`]).
    pub fn named(number: u16, label: &str, mask: Mask) -> Self {
        Self {
            number,
            label: label.to_owned(),
            category: String::new(),
            kind: String::new(),
            colour_rgb: colour::default_colour(label, number),
            layer: colour::layer_of(label, ""),
            mask,
        }
    }
}

/// A set of segments on one grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Segmentation {
    /// The grid every mask lives on.
    pub geometry: Geometry,
    /// The segments, in file order.
    pub segments: Vec<Segment>,
    /// Where it came from (file name or method), for display.
    pub source: String,
}

impl Segmentation {
    /// One segment per distinct non-zero value of a label map on `geometry`;
    /// names from `names` (value → name), else "Label N".
    #[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
    pub fn from_label_map(
        labels: ArrayView3<'_, u16>,
        geometry: Geometry,
        names: &[(u16, String)],
        source: &str,
    ) -> Result<Self, SegError> {
        let got = [labels.shape()[0], labels.shape()[1], labels.shape()[2]];
        if got != geometry.dims {
            return Err(SegError::Shape {
                what: "label map".into(),
                got,
                want: geometry.dims,
            });
        }
        let mut present = vec![false; 65536];
        for &v in labels {
            present[usize::from(v)] = true;
        }
        let values: Vec<u16> = (1..=u16::MAX)
            .filter(|&v| present[usize::from(v)])
            .collect();
        let segments = values
            .par_iter()
            .map(|&v| {
                let name = names
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map_or_else(|| format!("Label {v}"), |(_, s)| s.clone());
                Segment::named(v, &name, Mask::from_labels(labels, v))
            })
            .collect();
        Ok(Self {
            geometry,
            segments,
            source: source.to_owned(),
        })
    }

    /// Indices of the segments from bottom to top of the drawing order.
    pub fn draw_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.segments.len()).collect();
        order.sort_by_key(|&i| (self.segments[i].layer, i));
        order
    }

    /// Per voxel, `1 +` the index of the top visible segment (0 = none).
    /// `visible[i]` hides segment `i` when false (missing entries are visible).
    pub fn composite(&self, visible: &[bool]) -> Array3<u16> {
        let mut out = Array3::<u16>::zeros(self.geometry.dims);
        for i in self.draw_order() {
            if !visible.get(i).copied().unwrap_or(true) {
                continue;
            }
            let seg = &self.segments[i];
            let value = u16::try_from(i + 1).unwrap_or(u16::MAX);
            paint(&mut out, &seg.mask, value);
        }
        out
    }

    /// The composite as an `i16` [`Volume`] (for reslicing), values as in
    /// [`Self::composite`].
    pub fn composite_volume(&self, visible: &[bool]) -> Volume {
        let c = self.composite(visible);
        Volume::from_i16(
            c.mapv(|v| i16::try_from(v).unwrap_or(i16::MAX)),
            self.geometry,
        )
    }

    /// A label map: the top segment's number at each voxel (0 = none).
    pub fn to_label_map(&self) -> Array3<u16> {
        let mut out = Array3::<u16>::zeros(self.geometry.dims);
        for i in self.draw_order() {
            let seg = &self.segments[i];
            paint(&mut out, &seg.mask, seg.number);
        }
        out
    }

    /// The label map as an `i16` [`Volume`] on the segmentation's grid (for
    /// NIfTI/NRRD export); segment numbers above 32767 are refused.
    pub fn label_volume(&self) -> Result<Volume, SegError> {
        if let Some(s) = self.segments.iter().find(|s| s.number > 32767) {
            return Err(SegError::BadLabel {
                value: f64::from(s.number),
            });
        }
        let l = self.to_label_map();
        Ok(Volume::from_i16(
            l.mapv(|v| i16::try_from(v).unwrap_or(i16::MAX)),
            self.geometry,
        ))
    }

    /// Index of the segment with this number.
    pub fn index_of(&self, number: u16) -> Option<usize> {
        self.segments.iter().position(|s| s.number == number)
    }
}

/// Sets `value` in `out` wherever `mask` is set.
fn paint(out: &mut Array3<u16>, mask: &Mask, value: u16) {
    if mask.data.is_empty() {
        return;
    }
    let [a, b, c] = mask.start;
    let sh = mask.data.shape();
    let mut dst = out.slice_mut(s![a..a + sh[0], b..b + sh[1], c..c + sh[2]]);
    dst.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(mask.data.axis_iter(Axis(0)))
        .for_each(|(mut d, m)| {
            ndarray::Zip::from(&mut d).and(&m).for_each(|d, &m| {
                if m {
                    *d = value;
                }
            });
        });
}

#[cfg(test)]
mod tests;
