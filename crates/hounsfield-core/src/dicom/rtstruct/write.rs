//! Writing a [`Segmentation`] on a CT grid as an RT Structure Set.
//!
//! - Explicit VR little endian, new series and instance UIDs; the study and
//!   frame of reference are the CT's, so planning systems file it with its
//!   CT.
//! - One ROI per segment (`ROINumber` = the segment number when the numbers
//!   are distinct, else 1, 2, …), its colour as `ROIDisplayColor`, its
//!   name, and an `RTROIInterpretedType`: the segment's category when that
//!   is an RT type (a structure set read back keeps its types), else `GTV`
//!   for lesions and `ORGAN` for the rest.
//! - Contours per slice from [`trace_contours`] (marching squares at the
//!   voxel-boundary level; holes are their own contours, which the even-odd
//!   rule of every reader turns back into holes), CLOSED_PLANAR, in LPS mm,
//!   each with a Contour Image reference to its CT instance when the CT has
//!   one.
//! - Patient name, ID and birth date only with
//!   [`RtStructWriteOptions::include_identifiers`].

use std::io;
use std::path::Path;

use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use glam::DVec3;
use ndarray::Axis;
use rayon::prelude::*;

use super::read::RT_STRUCTURE_SET_STORAGE;
use super::{LESION_TYPES, ReferenceGrid, RtStructError};
use crate::dicom::encode::{
    Identity, cs, ds_multi, identity_elements, item, lo, new_uid, now_date_time, seq, str_el,
};
use crate::dicom::meta::SeriesMetadata;
use crate::seg::contour::trace_contours;
use crate::seg::{Layer, Segment, Segmentation};

/// `RTROIInterpretedType` defined terms (PS3.3 C.8.8.8).
const RT_TYPES: [&str; 21] = [
    "EXTERNAL",
    "PTV",
    "CTV",
    "GTV",
    "AVOIDANCE",
    "CAVITY",
    "ORGAN",
    "MARKER",
    "REGISTRATION",
    "ISOCENTER",
    "CONTRAST_AGENT",
    "SUPPORT",
    "FIXATION",
    "DOSE_REGION",
    "BOLUS",
    "BRACHY_CHANNEL",
    "BRACHY_ACCESSORY",
    "BRACHY_SRC_APP",
    "BRACHY_CHNL_SHLD",
    "CONTROL",
    "TREATED_VOLUME",
];

/// CT Image Storage, used when the CT's SOP class is unknown.
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

/// Options of [`write_rtstruct`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtStructWriteOptions {
    /// Copy `PatientName`, `PatientID` and `PatientBirthDate` from the CT's
    /// metadata (otherwise they are left empty).
    pub include_identifiers: bool,
    /// `SeriesDescription`.
    pub series_description: String,
    /// `SeriesNumber`.
    pub series_number: u32,
    /// `StructureSetLabel` (cut to 16 characters).
    pub label: String,
    /// `ROIGenerationAlgorithm` of every ROI: `AUTOMATIC`, `SEMIAUTOMATIC`
    /// or `MANUAL`.
    pub generation_algorithm: String,
}

impl Default for RtStructWriteOptions {
    /// No identifiers, "Structure set", series 301, manual.
    fn default() -> Self {
        Self {
            include_identifiers: false,
            series_description: "Structure set".into(),
            series_number: 301,
            label: "HOUNSFIELD".into(),
            generation_algorithm: "MANUAL".into(),
        }
    }
}

/// What [`write_rtstruct`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenRtStruct {
    /// `SOPInstanceUID` of the structure set.
    pub sop_instance_uid: String,
    /// `SeriesInstanceUID` of the structure set.
    pub series_uid: String,
    /// The `ROINumber` written for each segment, in segment order.
    pub roi_numbers: Vec<i64>,
    /// Number of contours written.
    pub contours: usize,
    /// Number of contour points written.
    pub points: usize,
}

/// The contours of one segment: per slice with voxels, its polygons in LPS mm.
type SegmentContours = Vec<(usize, Vec<Vec<DVec3>>)>;

/// Write `seg` (which must lie on `grid`) as an RTSTRUCT at `path`.
/// `metadata` is the CT's (study date and description, patient sex and age;
/// identifiers only with `opts.include_identifiers`).
pub fn write_rtstruct(
    path: &Path,
    seg: &Segmentation,
    grid: &ReferenceGrid,
    metadata: &SeriesMetadata,
    opts: &RtStructWriteOptions,
) -> Result<WrittenRtStruct, RtStructError> {
    let fail = |reason: String| RtStructError::Write {
        reason,
        path: path.to_owned(),
    };
    if !crate::seg::place::same_grid(&seg.geometry, &grid.geometry) {
        return Err(fail("the segmentation's grid differs from the CT's".into()));
    }
    if seg.segments.is_empty() {
        return Err(fail("no segments".into()));
    }
    if let Some(s) = seg
        .segments
        .iter()
        .find(|s| s.mask.dims != grid.geometry.dims)
    {
        return Err(fail(format!("segment {:?} is on another grid", s.label)));
    }
    let contours: Vec<SegmentContours> = seg
        .segments
        .par_iter()
        .map(|s| segment_contours(s, grid))
        .collect();
    let numbers = roi_numbers(seg);
    let frame_of_reference = grid.frame_of_reference_uid.clone().unwrap_or_else(new_uid);
    let study = grid.study_uid.clone().unwrap_or_else(new_uid);
    let (series, instance) = (new_uid(), new_uid());
    let mut obj = InMemDicomObject::from_element_iter(identity_elements(
        metadata,
        &Identity {
            sop_class: RT_STRUCTURE_SET_STORAGE,
            modality: "RTSTRUCT",
            series_description: &opts.series_description,
            series_number: opts.series_number,
            include_identifiers: opts.include_identifiers,
            study: &study,
            series: &series,
            instance: &instance,
            frame_of_reference: &frame_of_reference,
        },
    ));
    let (date, time) = now_date_time();
    obj.put(str_el(tags::STRUCTURE_SET_LABEL, VR::SH, sh(&opts.label)));
    obj.put(str_el(tags::STRUCTURE_SET_NAME, VR::LO, lo(&opts.label)));
    obj.put(str_el(tags::STRUCTURE_SET_DATE, VR::DA, date));
    obj.put(str_el(tags::STRUCTURE_SET_TIME, VR::TM, time));
    obj.put(str_el(tags::OPERATORS_NAME, VR::PN, ""));
    obj.put(seq(
        tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
        vec![referenced_frame(grid, &frame_of_reference, &study)],
    ));
    obj.put(structure_set_rois(seg, &numbers, &frame_of_reference, opts));
    obj.put(seq(
        tags::ROI_CONTOUR_SEQUENCE,
        seg.segments
            .iter()
            .zip(&numbers)
            .zip(&contours)
            .map(|((s, &n), c)| roi_contour_item(s, n, c, grid))
            .collect(),
    ));
    obj.put(observations(seg, &numbers));
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|e| fail(e.to_string()))?;
    crate::io::write_atomic(path, |w| file.write_all(w).map_err(io::Error::other))?;
    let flat = contours.iter().flat_map(|c| c.iter().flat_map(|(_, p)| p));
    Ok(WrittenRtStruct {
        sop_instance_uid: instance,
        series_uid: series,
        roi_numbers: numbers,
        contours: flat.clone().count(),
        points: flat.map(Vec::len).sum(),
    })
}

/// `StructureSetROISequence`: number, frame of reference, name and
/// generation algorithm of every segment.
fn structure_set_rois(
    seg: &Segmentation,
    numbers: &[i64],
    frame_of_reference: &str,
    opts: &RtStructWriteOptions,
) -> DataElement<InMemDicomObject> {
    seq(
        tags::STRUCTURE_SET_ROI_SEQUENCE,
        seg.segments
            .iter()
            .zip(numbers)
            .map(|(s, &n)| {
                item(vec![
                    str_el(tags::ROI_NUMBER, VR::IS, n.to_string()),
                    str_el(
                        tags::REFERENCED_FRAME_OF_REFERENCE_UID,
                        VR::UI,
                        frame_of_reference,
                    ),
                    str_el(tags::ROI_NAME, VR::LO, lo(&s.label)),
                    str_el(
                        tags::ROI_GENERATION_ALGORITHM,
                        VR::CS,
                        cs(&opts.generation_algorithm),
                    ),
                ])
            })
            .collect(),
    )
}

/// `RTROIObservationsSequence`: the interpreted type of every segment.
fn observations(seg: &Segmentation, numbers: &[i64]) -> DataElement<InMemDicomObject> {
    seq(
        tags::RTROI_OBSERVATIONS_SEQUENCE,
        seg.segments
            .iter()
            .zip(numbers)
            .enumerate()
            .map(|(k, (s, &n))| {
                item(vec![
                    str_el(tags::OBSERVATION_NUMBER, VR::IS, (k + 1).to_string()),
                    str_el(tags::REFERENCED_ROI_NUMBER, VR::IS, n.to_string()),
                    str_el(tags::RTROI_INTERPRETED_TYPE, VR::CS, interpreted_type(s)),
                    str_el(tags::ROI_INTERPRETER, VR::PN, ""),
                ])
            })
            .collect(),
    )
}

/// The contours of a segment, slice by slice, in LPS mm.
fn segment_contours(s: &Segment, grid: &ReferenceGrid) -> SegmentContours {
    let m = &s.mask;
    let g = grid.geometry;
    m.data
        .axis_iter(Axis(0))
        .into_par_iter()
        .enumerate()
        .filter(|(_, plane)| plane.iter().any(|&v| v))
        .map(|(dz, plane)| {
            let z = m.start[0] + dz;
            let polys = trace_contours(plane)
                .into_iter()
                .map(|poly| {
                    poly.iter()
                        .map(|&[c, r]| {
                            g.world_of_voxel(DVec3::new(
                                c + m.start[2] as f64,
                                r + m.start[1] as f64,
                                z as f64,
                            ))
                        })
                        .collect()
                })
                .collect();
            (z, polys)
        })
        .collect()
}

/// ROI numbers: the segment numbers when distinct, else 1, 2, ….
fn roi_numbers(seg: &Segmentation) -> Vec<i64> {
    let own: Vec<u16> = seg.segments.iter().map(|s| s.number).collect();
    let distinct = own
        .iter()
        .enumerate()
        .all(|(i, &n)| n > 0 && !own[..i].contains(&n));
    if distinct {
        own.into_iter().map(i64::from).collect()
    } else {
        (1..=seg.segments.len() as i64).collect()
    }
}

/// The segment's `RTROIInterpretedType`.
fn interpreted_type(s: &Segment) -> &str {
    let own = s.category.trim();
    if let Some(t) = RT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(own)) {
        return t;
    }
    if s.layer == Layer::Lesion {
        LESION_TYPES[0]
    } else {
        "ORGAN"
    }
}

/// `ReferencedFrameOfReferenceSequence` item: the frame of reference, and
/// (when the CT has DICOM identity) its study, series and every image.
fn referenced_frame(grid: &ReferenceGrid, frame: &str, study: &str) -> InMemDicomObject {
    let mut elements = vec![str_el(tags::FRAME_OF_REFERENCE_UID, VR::UI, frame)];
    if let Some(series) = &grid.series_uid {
        let images: Vec<InMemDicomObject> = distinct_instances(grid)
            .into_iter()
            .map(|u| image_item(grid, u))
            .collect();
        let mut series_elements = vec![str_el(tags::SERIES_INSTANCE_UID, VR::UI, series.as_str())];
        if !images.is_empty() {
            series_elements.push(seq(tags::CONTOUR_IMAGE_SEQUENCE, images));
        }
        elements.push(seq(
            tags::RT_REFERENCED_STUDY_SEQUENCE,
            vec![item(vec![
                // Detached Study Management SOP Class, as PS3.3 C.8.8.5 asks.
                str_el(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    "1.2.840.10008.3.1.2.3.1",
                ),
                str_el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, study),
                seq(
                    tags::RT_REFERENCED_SERIES_SEQUENCE,
                    vec![item(series_elements)],
                ),
            ])],
        ));
    }
    item(elements)
}

/// The CT's distinct instance UIDs, in slice order.
fn distinct_instances(grid: &ReferenceGrid) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for u in grid.slice_sop_uids.iter().flatten() {
        if !out.contains(&u.as_str()) {
            out.push(u);
        }
    }
    out
}

/// A Contour Image Sequence item referencing one CT instance.
fn image_item(grid: &ReferenceGrid, uid: &str) -> InMemDicomObject {
    item(vec![
        str_el(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            grid.sop_class_uid.as_deref().unwrap_or(CT_IMAGE_STORAGE),
        ),
        str_el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid),
    ])
}

/// One `ROIContourSequence` item.
fn roi_contour_item(
    s: &Segment,
    number: i64,
    contours: &SegmentContours,
    grid: &ReferenceGrid,
) -> InMemDicomObject {
    let items: Vec<InMemDicomObject> = contours
        .iter()
        .flat_map(|(z, polys)| polys.iter().map(move |p| (*z, p)))
        .enumerate()
        .map(|(k, (z, points))| {
            let mut elements = Vec::with_capacity(5);
            if let Some(Some(uid)) = grid.slice_sop_uids.get(z) {
                elements.push(seq(
                    tags::CONTOUR_IMAGE_SEQUENCE,
                    vec![image_item(grid, uid)],
                ));
            }
            let coords: Vec<f64> = points.iter().flat_map(DVec3::to_array).collect();
            elements.extend([
                str_el(tags::CONTOUR_NUMBER, VR::IS, (k + 1).to_string()),
                str_el(tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, "CLOSED_PLANAR"),
                str_el(
                    tags::NUMBER_OF_CONTOUR_POINTS,
                    VR::IS,
                    points.len().to_string(),
                ),
                str_el(tags::CONTOUR_DATA, VR::DS, ds_multi(&coords)),
            ]);
            item(elements)
        })
        .collect();
    let [r, g, b] = s.colour_rgb;
    let mut elements = vec![
        str_el(tags::ROI_DISPLAY_COLOR, VR::IS, format!("{r}\\{g}\\{b}")),
        str_el(tags::REFERENCED_ROI_NUMBER, VR::IS, number.to_string()),
    ];
    if !items.is_empty() {
        elements.push(seq(tags::CONTOUR_SEQUENCE, items));
    }
    item(elements)
}

/// An SH value: no backslash, at most 16 characters.
fn sh(s: &str) -> String {
    s.chars().filter(|&c| c != '\\').take(16).collect()
}
