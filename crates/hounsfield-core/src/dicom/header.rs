//! Header-only reading of one DICOM file: what the scanner and the series
//! assembler need (identity, geometry per frame, pixel format, rescale,
//! metadata), read with `read_until(PixelData)` so pixels are never touched.
//!
//! Classic single-frame images yield one [`FrameHeader`]; enhanced multi-frame
//! images yield one per frame from the shared and per-frame functional groups.

use std::path::{Path, PathBuf};

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use glam::DVec3;
use serde::Serialize;

use super::attrs::{f64_1, f64s, int, item, items, string, strings};
use super::error::DicomError;
use super::meta::SeriesMetadata;
use super::open::PixelSpan;

/// What kind of DICOM object a file holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ObjectKind {
    /// A greyscale image that can become (part of) a volume.
    Image,
    /// Segmentation (SEG).
    Segmentation,
    /// RT structure set.
    RtStruct,
    /// RT dose grid.
    RtDose,
    /// RT plan.
    RtPlan,
    /// Structured report (SR).
    StructuredReport,
    /// Presentation state.
    PresentationState,
    /// Key object selection.
    KeyObjectSelection,
    /// Spatial registration / deformable registration.
    Registration,
    /// Media storage directory (DICOMDIR).
    Directory,
    /// Anything else, with its modality or SOP class.
    Other(String),
}

impl ObjectKind {
    /// Classify from the SOP class UID and modality.
    pub fn classify(sop_class_uid: &str, modality: Option<&str>, has_image: bool) -> Self {
        let c = sop_class_uid;
        let m = modality.unwrap_or("");
        if c == "1.2.840.10008.1.3.10" {
            Self::Directory
        } else if c == "1.2.840.10008.5.1.4.1.1.66.4" || m == "SEG" {
            Self::Segmentation
        } else if c == "1.2.840.10008.5.1.4.1.1.481.3" || m == "RTSTRUCT" {
            Self::RtStruct
        } else if c == "1.2.840.10008.5.1.4.1.1.481.2" || m == "RTDOSE" {
            Self::RtDose
        } else if c.starts_with("1.2.840.10008.5.1.4.1.1.481.5")
            || c == "1.2.840.10008.5.1.4.1.1.481.8"
            || m == "RTPLAN"
        {
            Self::RtPlan
        } else if c == "1.2.840.10008.5.1.4.1.1.88.59" || m == "KO" {
            Self::KeyObjectSelection
        } else if c.starts_with("1.2.840.10008.5.1.4.1.1.88.") || m == "SR" {
            Self::StructuredReport
        } else if c.starts_with("1.2.840.10008.5.1.4.1.1.11.") || m == "PR" {
            Self::PresentationState
        } else if c.starts_with("1.2.840.10008.5.1.4.1.1.66") || m == "REG" {
            Self::Registration
        } else if has_image {
            Self::Image
        } else {
            Self::Other(if m.is_empty() {
                c.to_owned()
            } else if c.starts_with("1.2.840.10008.5.1.4.1.1.") {
                // An image storage class without Rows/Columns.
                format!("{m} without image")
            } else {
                m.to_owned()
            })
        }
    }

    /// Short label for tables.
    pub fn label(&self) -> String {
        match self {
            Self::Image => "image".into(),
            Self::Segmentation => "SEG".into(),
            Self::RtStruct => "RTSTRUCT".into(),
            Self::RtDose => "RTDOSE".into(),
            Self::RtPlan => "RTPLAN".into(),
            Self::StructuredReport => "SR".into(),
            Self::PresentationState => "PR".into(),
            Self::KeyObjectSelection => "KO".into(),
            Self::Registration => "REG".into(),
            Self::Directory => "DICOMDIR".into(),
            Self::Other(s) => format!("other ({s})"),
        }
    }
}

/// Geometry and rescale of one frame (one slice).
#[derive(Clone, Debug, PartialEq)]
pub struct FrameHeader {
    /// Frame index inside its file (0 for single-frame files).
    pub frame: u32,
    /// ImagePositionPatient: LPS mm of the centre of the first pixel.
    pub position_mm: Option<DVec3>,
    /// ImageOrientationPatient: direction of increasing column index, then of
    /// increasing row index (unit LPS vectors).
    pub orientation: Option<[DVec3; 2]>,
    /// PixelSpacing as (between rows, between columns) in mm.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// SliceThickness tag (mm); informative only, never used as spacing.
    pub slice_thickness_mm: Option<f64>,
    /// RescaleSlope (1 when absent).
    pub rescale_slope: f64,
    /// RescaleIntercept (0 when absent).
    pub rescale_intercept: f64,
}

/// Everything read from one file's header.
#[derive(Clone, Debug)]
pub struct InstanceHeader {
    /// The file.
    pub path: PathBuf,
    /// What the object is.
    pub kind: ObjectKind,
    /// SOPClassUID.
    pub sop_class_uid: String,
    /// SOPInstanceUID.
    pub sop_instance_uid: Option<String>,
    /// Transfer syntax UID from the file meta group.
    pub transfer_syntax_uid: String,
    /// StudyInstanceUID.
    pub study_uid: Option<String>,
    /// SeriesInstanceUID.
    pub series_uid: Option<String>,
    /// FrameOfReferenceUID.
    pub frame_of_reference_uid: Option<String>,
    /// SeriesNumber.
    pub series_number: Option<i64>,
    /// InstanceNumber.
    pub instance_number: Option<i64>,
    /// ImageType values (e.g. `ORIGINAL`, `PRIMARY`, `AXIAL` / `LOCALIZER`).
    pub image_type: Vec<String>,
    /// Rows (0 when absent).
    pub rows: u32,
    /// Columns (0 when absent).
    pub cols: u32,
    /// BitsAllocated.
    pub bits_allocated: u16,
    /// BitsStored.
    pub bits_stored: u16,
    /// PixelRepresentation: 0 unsigned, 1 two's complement.
    pub pixel_representation: u16,
    /// SamplesPerPixel.
    pub samples_per_pixel: u16,
    /// PhotometricInterpretation.
    pub photometric: Option<String>,
    /// NumberOfFrames (1 when absent).
    pub number_of_frames: u32,
    /// One entry per frame.
    pub frames: Vec<FrameHeader>,
    /// Stored padding range `(lo, hi)` from PixelPaddingValue and
    /// PixelPaddingRangeLimit, as stored values.
    pub padding_stored: Option<(f64, f64)>,
    /// SpacingBetweenSlices tag (mm), informative.
    pub spacing_between_slices_mm: Option<f64>,
    /// Patient, study and equipment metadata.
    pub meta: SeriesMetadata,
    /// Byte range of native pixel data, when the token reader located it.
    pub pixel_span: Option<PixelSpan>,
}

impl InstanceHeader {
    /// True when the frames carry positions and orientations.
    pub fn has_geometry(&self) -> bool {
        self.frames
            .iter()
            .all(|f| f.position_mm.is_some() && f.orientation.is_some())
    }

    /// True when ImageType marks a localizer/scout.
    pub fn is_localizer(&self) -> bool {
        self.image_type
            .iter()
            .any(|t| t.eq_ignore_ascii_case("LOCALIZER"))
    }
}

/// Read the header of one file (everything before PixelData).
pub fn read_header(path: &Path) -> Result<InstanceHeader, DicomError> {
    let pixel_span = match super::open::check_structure(path, super::open::Extent::Header) {
        Ok(span) => span,
        // Headers are fine; the loader reports the short pixel data.
        Err(DicomError::TruncatedPixelData { .. }) => None,
        Err(e) => return Err(e),
    };
    let obj = super::open::open_object(path, true)?;
    let transfer_syntax_uid = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .trim()
        .to_owned();
    let mut sop_class_uid = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .trim()
        .to_owned();
    if let Some(c) = string(&obj, tags::SOP_CLASS_UID) {
        sop_class_uid = c;
    }
    let mut header = header_from_object(&obj, path, sop_class_uid, transfer_syntax_uid);
    header.pixel_span = pixel_span;
    Ok(header)
}

/// Build an [`InstanceHeader`] from an already parsed data set.
pub(crate) fn header_from_object(
    obj: &InMemDicomObject,
    path: &Path,
    sop_class_uid: String,
    transfer_syntax_uid: String,
) -> InstanceHeader {
    let modality = string(obj, tags::MODALITY);
    let rows: u32 = int(obj, tags::ROWS).unwrap_or(0);
    let cols: u32 = int(obj, tags::COLUMNS).unwrap_or(0);
    let kind = ObjectKind::classify(&sop_class_uid, modality.as_deref(), rows > 0 && cols > 0);
    let pixel_representation: u16 = int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0);
    let number_of_frames: u32 = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);

    let frames = frame_headers(obj, number_of_frames);
    let padding_stored = padding(obj, pixel_representation);

    InstanceHeader {
        path: path.to_owned(),
        kind,
        sop_instance_uid: string(obj, tags::SOP_INSTANCE_UID),
        sop_class_uid,
        transfer_syntax_uid,
        study_uid: string(obj, tags::STUDY_INSTANCE_UID),
        series_uid: string(obj, tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: string(obj, tags::FRAME_OF_REFERENCE_UID),
        series_number: int(obj, tags::SERIES_NUMBER),
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        image_type: strings(obj, tags::IMAGE_TYPE),
        rows,
        cols,
        bits_allocated: int(obj, tags::BITS_ALLOCATED).unwrap_or(0),
        bits_stored: int(obj, tags::BITS_STORED).unwrap_or(0),
        pixel_representation,
        samples_per_pixel: int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1),
        photometric: string(obj, tags::PHOTOMETRIC_INTERPRETATION),
        number_of_frames,
        frames,
        padding_stored,
        spacing_between_slices_mm: f64_1(obj, tags::SPACING_BETWEEN_SLICES),
        meta: SeriesMetadata::from_object(obj, modality),
        pixel_span: None,
    }
}

fn padding(obj: &InMemDicomObject, pixel_representation: u16) -> Option<(f64, f64)> {
    let fix = |v: f64| {
        if pixel_representation == 1 && v > 32767.0 {
            v - 65536.0
        } else {
            v
        }
    };
    let value = fix(f64_1(obj, tags::PIXEL_PADDING_VALUE)?);
    let limit = f64_1(obj, tags::PIXEL_PADDING_RANGE_LIMIT).map(fix);
    Some(match limit {
        Some(l) => (value.min(l), value.max(l)),
        None => (value, value),
    })
}

/// Frame geometry from the classic attributes of a data set (or of a
/// functional-group item, whose macros use the same tags).
#[derive(Default, Clone)]
struct Partial {
    position_mm: Option<DVec3>,
    orientation: Option<[DVec3; 2]>,
    pixel_spacing_mm: Option<[f64; 2]>,
    slice_thickness_mm: Option<f64>,
    rescale_slope: Option<f64>,
    rescale_intercept: Option<f64>,
}

impl Partial {
    fn from_flat(obj: &InMemDicomObject) -> Self {
        Self {
            position_mm: position(obj),
            orientation: orientation(obj),
            pixel_spacing_mm: pixel_spacing(obj),
            slice_thickness_mm: f64_1(obj, tags::SLICE_THICKNESS),
            rescale_slope: f64_1(obj, tags::RESCALE_SLOPE),
            rescale_intercept: f64_1(obj, tags::RESCALE_INTERCEPT),
        }
    }

    /// Read the functional-group macros of one group item.
    fn from_group(group: &InMemDicomObject) -> Self {
        let sub = |tag: Tag| item(group, tag);
        let measures = sub(tags::PIXEL_MEASURES_SEQUENCE);
        let transform = sub(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE);
        Self {
            position_mm: sub(tags::PLANE_POSITION_SEQUENCE).and_then(position),
            orientation: sub(tags::PLANE_ORIENTATION_SEQUENCE).and_then(orientation),
            pixel_spacing_mm: measures.and_then(pixel_spacing),
            slice_thickness_mm: measures.and_then(|m| f64_1(m, tags::SLICE_THICKNESS)),
            rescale_slope: transform.and_then(|t| f64_1(t, tags::RESCALE_SLOPE)),
            rescale_intercept: transform.and_then(|t| f64_1(t, tags::RESCALE_INTERCEPT)),
        }
    }

    /// Fill what `self` lacks from `fallback`.
    fn or(self, fallback: &Self) -> Self {
        Self {
            position_mm: self.position_mm.or(fallback.position_mm),
            orientation: self.orientation.or(fallback.orientation),
            pixel_spacing_mm: self.pixel_spacing_mm.or(fallback.pixel_spacing_mm),
            slice_thickness_mm: self.slice_thickness_mm.or(fallback.slice_thickness_mm),
            rescale_slope: self.rescale_slope.or(fallback.rescale_slope),
            rescale_intercept: self.rescale_intercept.or(fallback.rescale_intercept),
        }
    }

    fn finish(self, frame: u32) -> FrameHeader {
        FrameHeader {
            frame,
            position_mm: self.position_mm,
            orientation: self.orientation,
            pixel_spacing_mm: self.pixel_spacing_mm,
            slice_thickness_mm: self.slice_thickness_mm,
            rescale_slope: self.rescale_slope.filter(|s| *s != 0.0).unwrap_or(1.0),
            rescale_intercept: self.rescale_intercept.unwrap_or(0.0),
        }
    }
}

fn frame_headers(obj: &InMemDicomObject, number_of_frames: u32) -> Vec<FrameHeader> {
    let flat = Partial::from_flat(obj);
    let shared = item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).map(Partial::from_group);
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    if shared.is_none() && per_frame.is_empty() {
        // Classic image: every frame shares the one geometry (a true
        // multi-frame classic image has no per-frame positions).
        return (0..number_of_frames)
            .map(|f| flat.clone().finish(f))
            .collect();
    }
    let base = shared.unwrap_or_default().or(&flat);
    (0..number_of_frames)
        .map(|f| {
            per_frame
                .get(f as usize)
                .map(Partial::from_group)
                .unwrap_or_default()
                .or(&base)
                .finish(f)
        })
        .collect()
}

fn position(obj: &InMemDicomObject) -> Option<DVec3> {
    let v = f64s(obj, tags::IMAGE_POSITION_PATIENT)?;
    (v.len() >= 3).then(|| DVec3::new(v[0], v[1], v[2]))
}

fn orientation(obj: &InMemDicomObject) -> Option<[DVec3; 2]> {
    let v = f64s(obj, tags::IMAGE_ORIENTATION_PATIENT)?;
    if v.len() < 6 {
        return None;
    }
    let a = DVec3::new(v[0], v[1], v[2]).try_normalize()?;
    let b = DVec3::new(v[3], v[4], v[5]).try_normalize()?;
    // Reject degenerate (parallel) direction cosines.
    a.cross(b).try_normalize()?;
    Some([a, b])
}

fn pixel_spacing(obj: &InMemDicomObject) -> Option<[f64; 2]> {
    let v = f64s(obj, tags::PIXEL_SPACING)?;
    let (r, c) = match v.as_slice() {
        [r, c, ..] => (*r, *c),
        [s] => (*s, *s),
        [] => return None,
    };
    (r > 0.0 && c > 0.0).then_some([r, c])
}
