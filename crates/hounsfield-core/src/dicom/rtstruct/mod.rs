//! DICOM RT Structure Sets: reading planar contours onto a CT grid, and
//! writing any segmentation as contours that reference the CT.
//!
//! - [`read_rtstruct`] ([`read`]): one RTSTRUCT file → [`RtStructObject`]
//!   (Structure Set ROI, ROI Contour with display colour, RT ROI
//!   Observations with interpreted type; every contour with its points in
//!   LPS mm and its Contour Image references). Nothing is rasterised yet.
//! - [`place_rtstruct`] ([`place`]): an [`RtStructObject`] on a
//!   [`ReferenceGrid`] → [`crate::seg::Segmentation`], one segment per ROI.
//!   CLOSED_PLANAR contours go to the slice their Contour Image reference
//!   names (checked against their position), else to the slice their
//!   position along the slice normal falls on; in-plane they are mapped
//!   through the slice's own axes (oblique and tilted grids alike) and
//!   filled with the even-odd rule ([`crate::seg::contour::fill_even_odd`]).
//!   POINT and OPEN_PLANAR contours are counted and skipped. A structure
//!   set of another frame of reference, or a contour between slices or in
//!   another plane, is refused with a message naming what differs.
//! - [`write_rtstruct`] ([`write`]): a [`crate::seg::Segmentation`] on a CT
//!   grid → an RTSTRUCT (explicit VR little endian, written atomically):
//!   marching-squares contours per slice ([`crate::seg::contour`]), holes
//!   as their own contours, each referencing its CT image.
//!
//! Only this module (under `dicom/`) sees RTSTRUCT tags; the data model is
//! [`crate::seg`].

pub mod place;
pub mod read;
pub mod write;

use std::path::PathBuf;

use glam::DVec3;

pub use place::{PlacedRtStruct, place_rtstruct};
pub use read::read_rtstruct;
pub use write::{RtStructWriteOptions, WrittenRtStruct, write_rtstruct};

use super::error::DicomError;
pub use super::seg::ReferenceGrid;

/// Why an RTSTRUCT could not be read, placed or written.
#[derive(Debug, thiserror::Error)]
pub enum RtStructError {
    /// The file is not readable DICOM, or an attribute is missing (the
    /// DICOM layer's error, naming the file).
    #[error(transparent)]
    Dicom(#[from] DicomError),
    /// The file is DICOM but not a usable RT Structure Set.
    #[error("not a usable RTSTRUCT ({reason}): {path:?}")]
    Invalid {
        /// What is wrong, naming the attribute.
        reason: String,
        /// The RTSTRUCT file.
        path: PathBuf,
    },
    /// The structure set does not lie on the CT: placing it would shift it.
    #[error("the RTSTRUCT does not fit the CT ({reason}): {path:?}")]
    Mismatch {
        /// What differs (frame of reference, slice position, plane).
        reason: String,
        /// The RTSTRUCT file.
        path: PathBuf,
    },
    /// The segmentation cannot be written as an RTSTRUCT.
    #[error("cannot write the RTSTRUCT ({reason}): {path:?}")]
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

/// `ContourGeometricType` (3006,0042).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContourKind {
    /// A closed polygon in one plane: the only kind that is rasterised.
    ClosedPlanar,
    /// An open polyline in one plane.
    OpenPlanar,
    /// An open polyline not in one plane.
    OpenNonplanar,
    /// A single point (isocentre, marker).
    Point,
    /// Any other value, as written.
    Other(String),
}

impl ContourKind {
    /// From the DICOM code string.
    pub fn parse(code: &str) -> Self {
        match code {
            "CLOSED_PLANAR" => Self::ClosedPlanar,
            "OPEN_PLANAR" => Self::OpenPlanar,
            "OPEN_NONPLANAR" => Self::OpenNonplanar,
            "POINT" => Self::Point,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The DICOM code string.
    pub fn code(&self) -> &str {
        match self {
            Self::ClosedPlanar => "CLOSED_PLANAR",
            Self::OpenPlanar => "OPEN_PLANAR",
            Self::OpenNonplanar => "OPEN_NONPLANAR",
            Self::Point => "POINT",
            Self::Other(s) => s,
        }
    }
}

/// One item of a `ContourSequence`.
#[derive(Clone, Debug, PartialEq)]
pub struct Contour {
    /// `ContourGeometricType`.
    pub kind: ContourKind,
    /// `ContourData`: LPS mm.
    pub points_mm: Vec<DVec3>,
    /// `ReferencedSOPInstanceUID`s of its `ContourImageSequence`.
    pub image_sop_uids: Vec<String>,
}

/// One ROI: its Structure Set ROI item joined with its ROI Contour and RT
/// ROI Observations items (by ROI number).
#[derive(Clone, Debug, PartialEq)]
pub struct RoiInfo {
    /// `ROINumber`.
    pub number: i64,
    /// `ROIName` (may be empty).
    pub name: String,
    /// `ROIDisplayColor`, if given.
    pub colour_rgb: Option<[u8; 3]>,
    /// `RTROIInterpretedType` (`ORGAN`, `PTV`, `GTV`, `EXTERNAL`, …), if given.
    pub interpreted_type: Option<String>,
    /// `ROIGenerationAlgorithm` (`AUTOMATIC`, `SEMIAUTOMATIC`, `MANUAL`), if given.
    pub generation_algorithm: Option<String>,
    /// `ReferencedFrameOfReferenceUID` of the ROI.
    pub frame_of_reference_uid: Option<String>,
    /// Its contours, in file order.
    pub contours: Vec<Contour>,
}

impl RoiInfo {
    /// Number of contours of each kind: `(closed planar, other)`.
    pub fn contour_counts(&self) -> (usize, usize) {
        let closed = self
            .contours
            .iter()
            .filter(|c| c.kind == ContourKind::ClosedPlanar)
            .count();
        (closed, self.contours.len() - closed)
    }

    /// Number of contour points in all its contours.
    pub fn point_count(&self) -> usize {
        self.contours.iter().map(|c| c.points_mm.len()).sum()
    }
}

/// An RTSTRUCT file as read, before placing it on a CT grid.
#[derive(Clone, Debug, PartialEq)]
pub struct RtStructObject {
    /// The file.
    pub path: PathBuf,
    /// `SOPInstanceUID`.
    pub sop_instance_uid: Option<String>,
    /// `StudyInstanceUID`.
    pub study_uid: Option<String>,
    /// `SeriesInstanceUID` of the structure set itself.
    pub series_uid: Option<String>,
    /// The frame of reference of its contours: the
    /// `ReferencedFrameOfReferenceSequence`'s (else a top-level
    /// `FrameOfReferenceUID`).
    pub frame_of_reference_uid: Option<String>,
    /// `StructureSetLabel`.
    pub label: Option<String>,
    /// `StructureSetName`.
    pub name: Option<String>,
    /// `SeriesInstanceUID`s of the image series it references.
    pub referenced_series_uids: Vec<String>,
    /// The ROIs, in `StructureSetROISequence` order.
    pub rois: Vec<RoiInfo>,
}

/// The interpreted types that mark a target or lesion (drawn on top).
pub const LESION_TYPES: [&str; 5] = ["GTV", "CTV", "PTV", "ITV", "TREATED_VOLUME"];

#[cfg(test)]
mod tests;
