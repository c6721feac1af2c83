//! DICOM Segmentation objects: reading (BINARY, FRACTIONAL, LABELMAP) onto a
//! loaded CT grid, and writing BINARY SEGs that reference the source series.
//!
//! - [`read_seg`] ([`read`]): one SEG file → [`SegObject`] (segment
//!   descriptions, one [`SegFrame`] per frame with its plane position,
//!   orientation, pixel spacing, segment number and source-image reference,
//!   pixels as bits or label values). Nothing is placed yet.
//! - [`place_seg`] ([`place`]): a [`SegObject`] on a [`ReferenceGrid`] (the
//!   loaded CT) → [`crate::seg::Segmentation`], one mask per segment. Frames
//!   are matched to CT slices by `ReferencedSOPInstanceUID` and by position;
//!   a SEG whose frame of reference, orientation or pixel grid differs from
//!   the CT's is refused with a message naming what differs, never shifted.
//! - [`write_seg`] ([`write`]): a [`crate::seg::Segmentation`] on a CT grid →
//!   a BINARY SEG (explicit VR little endian), written atomically.
//!
//! Only this module (under `dicom/`) sees DICOM tags; the data model is
//! [`crate::seg`].
//!
//! # Conventions
//! - BINARY pixel data is bit-packed, least significant bit first, and the
//!   packing runs on across frame boundaries (a frame of 23 × 38 pixels starts
//!   at bit 874 of the stream, not at a byte boundary). Frames are re-packed
//!   byte-aligned in [`FramePixels::Bits`].
//! - FRACTIONAL frames are thresholded on reading: a pixel is in the segment
//!   when its value is at least half of `MaximumFractionalValue`
//!   (`2 · value ≥ max`), i.e. a probability or occupancy of 0.5 or more.
//! - LABELMAP frames (Supplement 243) hold segment numbers per pixel; 0 and
//!   `PixelPaddingValue` are background, and a `SegmentSequence` entry numbered
//!   0 (the background) is not a segment.

pub mod place;
pub mod read;
pub mod write;

use std::path::PathBuf;

use glam::DVec3;

pub use place::place_seg;
pub use read::read_seg;
pub use write::{SegWriteOptions, WrittenSeg, write_seg};

use super::error::DicomError;
use super::scan::SeriesInfo;
use super::series::Slot;
use crate::volume::Geometry;

/// Why a SEG could not be read, placed or written.
#[derive(Debug, thiserror::Error)]
pub enum SegFileError {
    /// The file is not readable DICOM, or an attribute is missing (the
    /// DICOM layer's error, naming the file).
    #[error(transparent)]
    Dicom(#[from] DicomError),
    /// The file is DICOM but not a usable Segmentation object.
    #[error("not a usable DICOM-SEG ({reason}): {path:?}")]
    Invalid {
        /// What is wrong, naming the attribute.
        reason: String,
        /// The SEG file.
        path: PathBuf,
    },
    /// The SEG does not lie on the CT grid: placing it would shift it.
    #[error("the SEG does not fit the CT ({reason}): {path:?}")]
    Mismatch {
        /// What differs (frame of reference, orientation, pixel grid, slice).
        reason: String,
        /// The SEG file.
        path: PathBuf,
    },
    /// The segmentation cannot be written as a SEG.
    #[error("cannot write the SEG ({reason}): {path:?}")]
    Write {
        /// Why.
        reason: String,
        /// The target file.
        path: PathBuf,
    },
    /// Writing the file failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
}

/// `SegmentationType` (0062,0001).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentationType {
    /// One bit per pixel, one frame per (segment, plane).
    Binary,
    /// 8-bit probability or occupancy per pixel, thresholded at half of
    /// `max_value` on reading.
    Fractional {
        /// `MaximumFractionalValue` (0062,000E), the value meaning 1.0.
        max_value: u16,
    },
    /// Segment numbers per pixel (8 or 16 bits), one frame per plane.
    Labelmap,
}

/// One item of the `SegmentSequence`.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentInfo {
    /// `SegmentNumber`.
    pub number: u16,
    /// `SegmentLabel` (may be empty).
    pub label: String,
    /// `SegmentedPropertyCategoryCodeSequence` `CodeMeaning` (may be empty).
    pub category: String,
    /// `SegmentedPropertyTypeCodeSequence` `CodeMeaning` (may be empty).
    pub kind: String,
    /// `RecommendedDisplayCIELabValue`, if present.
    pub lab: Option<[u16; 3]>,
    /// Display colour: from `lab`, else [`crate::seg::colour::default_colour`].
    pub colour_rgb: [u8; 3],
    /// `SegmentAlgorithmType` (`MANUAL`, `SEMIAUTOMATIC`, `AUTOMATIC`), if present.
    pub algorithm_type: Option<String>,
}

/// The pixels of one frame, row-major (`row · cols + col`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FramePixels {
    /// One bit per pixel, byte-aligned per frame, least significant bit
    /// first: pixel `i` is bit `i % 8` of byte `i / 8` (BINARY, and
    /// FRACTIONAL after thresholding).
    Bits(Vec<u8>),
    /// One segment number per pixel (LABELMAP); 0 is background (padding
    /// values already replaced by 0).
    Labels(Vec<u16>),
}

impl FramePixels {
    /// Whether pixel `i` is set (bits) or non-zero (labels).
    pub fn is_set(&self, i: usize) -> bool {
        match self {
            Self::Bits(b) => b.get(i / 8).is_some_and(|v| v >> (i % 8) & 1 == 1),
            Self::Labels(l) => l.get(i).is_some_and(|&v| v != 0),
        }
    }
}

/// One frame of a SEG: where it lies and what it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SegFrame {
    /// 0-based index of the frame in the file.
    pub index: usize,
    /// `ReferencedSegmentNumber` (BINARY, FRACTIONAL); `None` for LABELMAP.
    pub segment_number: Option<u16>,
    /// `ImagePositionPatient`: LPS mm of the centre of the first pixel.
    pub position_mm: Option<DVec3>,
    /// `ImageOrientationPatient`: unit LPS directions of increasing column,
    /// then of increasing row.
    pub orientation: Option<[DVec3; 2]>,
    /// `PixelSpacing` as (between rows, between columns) in mm.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// `ReferencedSOPInstanceUID` of its source image, if given.
    pub source_sop_instance_uid: Option<String>,
    /// `ReferencedFrameNumber` (1-based) in a multi-frame source image.
    pub source_frame_number: Option<u32>,
    /// The pixels.
    pub pixels: FramePixels,
}

/// A series referenced by the SEG (`ReferencedSeriesSequence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferencedSeries {
    /// `SeriesInstanceUID`.
    pub series_uid: String,
    /// `ReferencedSOPInstanceUIDs` of its `ReferencedInstanceSequence`.
    pub instance_uids: Vec<String>,
}

/// A SEG file as read, before placing it on a CT grid.
#[derive(Clone, Debug, PartialEq)]
pub struct SegObject {
    /// The file.
    pub path: PathBuf,
    /// `SOPInstanceUID`.
    pub sop_instance_uid: Option<String>,
    /// `StudyInstanceUID`.
    pub study_uid: Option<String>,
    /// `SeriesInstanceUID` of the SEG itself.
    pub series_uid: Option<String>,
    /// `FrameOfReferenceUID`.
    pub frame_of_reference_uid: Option<String>,
    /// `SeriesDescription`.
    pub series_description: Option<String>,
    /// `ContentLabel`.
    pub content_label: Option<String>,
    /// BINARY, FRACTIONAL or LABELMAP.
    pub segmentation_type: SegmentationType,
    /// Rows of every frame.
    pub rows: u32,
    /// Columns of every frame.
    pub cols: u32,
    /// The segments (`SegmentSequence` order; LABELMAP background excluded).
    pub segments: Vec<SegmentInfo>,
    /// Every frame, in file order.
    pub frames: Vec<SegFrame>,
    /// The source series (`ReferencedSeriesSequence`).
    pub referenced_series: Vec<ReferencedSeries>,
}

/// The CT grid a SEG is placed on or written for: geometry plus the UIDs
/// needed to match and to reference its slices.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceGrid {
    /// The CT grid.
    pub geometry: Geometry,
    /// `FrameOfReferenceUID` of the CT.
    pub frame_of_reference_uid: Option<String>,
    /// `StudyInstanceUID` of the CT.
    pub study_uid: Option<String>,
    /// `SeriesInstanceUID` of the CT.
    pub series_uid: Option<String>,
    /// `SOPClassUID` of the CT instances (for references), if known.
    pub sop_class_uid: Option<String>,
    /// `SOPInstanceUID` of the instance each slice `z` comes from (`None` for
    /// interpolated gaps or unknown).
    pub slice_sop_uids: Vec<Option<String>>,
    /// 1-based frame number of slice `z` inside a multi-frame instance
    /// (`None` for single-frame instances).
    pub slice_frame_numbers: Vec<Option<u32>>,
}

impl ReferenceGrid {
    /// A grid without any DICOM identity (e.g. a CT read from NIfTI): SEG
    /// frames are matched by position only.
    pub fn bare(geometry: Geometry) -> Self {
        let nz = geometry.dims[0];
        Self {
            geometry,
            frame_of_reference_uid: None,
            study_uid: None,
            series_uid: None,
            sop_class_uid: None,
            slice_sop_uids: vec![None; nz],
            slice_frame_numbers: vec![None; nz],
        }
    }

    /// The grid of a scanned series (`None` when it could not be assembled).
    pub fn from_series(info: &SeriesInfo) -> Option<Self> {
        let layout = info.layout.as_ref().ok()?;
        let mut grid = Self::bare(layout.geometry);
        let first = info.instances.first();
        grid.frame_of_reference_uid = first.and_then(|i| i.frame_of_reference_uid.clone());
        grid.study_uid = first.and_then(|i| i.study_uid.clone());
        grid.series_uid = if info.has_uid {
            Some(info.key.clone())
        } else {
            first.and_then(|i| i.series_uid.clone())
        };
        grid.sop_class_uid = first
            .map(|i| i.sop_class_uid.clone())
            .filter(|c| !c.is_empty());
        for (z, slot) in layout
            .slots
            .iter()
            .enumerate()
            .take(grid.slice_sop_uids.len())
        {
            let Slot::Frame(f) = slot else { continue };
            let Some(inst) = info.instances.iter().find(|i| i.path == f.path) else {
                continue;
            };
            grid.slice_sop_uids[z].clone_from(&inst.sop_instance_uid);
            if f.frames_in_file > 1 {
                grid.slice_frame_numbers[z] = Some(f.frame + 1);
            }
            if grid.frame_of_reference_uid.is_none() {
                grid.frame_of_reference_uid
                    .clone_from(&inst.frame_of_reference_uid);
            }
        }
        Some(grid)
    }
}

#[cfg(test)]
mod tests;
