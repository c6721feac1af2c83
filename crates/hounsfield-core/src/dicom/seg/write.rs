//! Writing a [`Segmentation`] on a CT grid as a BINARY DICOM-SEG.
//!
//! - Explicit VR little endian. New UIDs for the SEG series and instance
//!   (`2.25.<random 128 bits>`); the `StudyInstanceUID` and
//!   `FrameOfReferenceUID` are the CT's (new ones only when the CT has
//!   none), so viewers file the SEG with its CT.
//! - One frame per (segment, slice with voxels), segment-major, slices
//!   ascending; frames are bit-packed LSB first and the packing runs on
//!   across frames. Each frame references its CT slice
//!   (`DerivationImageSequence` → `SourceImageSequence`) and carries its
//!   `ImagePositionPatient`; orientation and spacing are shared.
//! - Segments are numbered 1, 2, … in their order (DICOM requires numbers
//!   to start at 1 and increase by 1); [`WrittenSeg::segment_numbers`] says
//!   which number each segment got. Empty segments are described but have
//!   no frames.
//! - Patient name, ID and birth date are copied only with
//!   [`SegWriteOptions::include_identifiers`]; otherwise they are empty.
//! - The file is written atomically ([`crate::io::write_atomic`]).

use std::io;
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::Axis;

use super::{ReferenceGrid, SegFileError};
use crate::dicom::encode::{
    Identity, code_item, cs, dcm_code, ds, ds_multi, identity_elements, item, lo, new_uid, seq,
    str_el,
};
use crate::dicom::meta::SeriesMetadata;
use crate::seg::colour::dicom_lab_from_rgb;
use crate::seg::{Layer, Segment, Segmentation};

/// Options of [`write_seg`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegWriteOptions {
    /// Copy `PatientName`, `PatientID` and `PatientBirthDate` from the CT's
    /// metadata (otherwise they are left empty).
    pub include_identifiers: bool,
    /// `SeriesDescription`.
    pub series_description: String,
    /// `SeriesNumber`.
    pub series_number: u32,
    /// `ContentLabel` (upper-cased, cut to 16 characters, as CS requires).
    pub content_label: String,
    /// `ContentDescription`.
    pub content_description: String,
    /// `ContentCreatorName` (PN, may be empty).
    pub content_creator: String,
    /// `SegmentAlgorithmType` of every segment: `MANUAL`, `SEMIAUTOMATIC` or
    /// `AUTOMATIC`.
    pub algorithm_type: String,
    /// `SegmentAlgorithmName` (written unless the type is `MANUAL`).
    pub algorithm_name: String,
}

impl Default for SegWriteOptions {
    /// No identifiers, "Segmentation", series 300, manual.
    fn default() -> Self {
        Self {
            include_identifiers: false,
            series_description: "Segmentation".into(),
            series_number: 300,
            content_label: "SEGMENTATION".into(),
            content_description: "Hounsfield segmentation".into(),
            content_creator: String::new(),
            algorithm_type: "MANUAL".into(),
            algorithm_name: "Hounsfield".into(),
        }
    }
}

/// What [`write_seg`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenSeg {
    /// `SOPInstanceUID` of the SEG.
    pub sop_instance_uid: String,
    /// `SeriesInstanceUID` of the SEG.
    pub series_uid: String,
    /// Number of frames.
    pub frames: usize,
    /// The `SegmentNumber` written for each segment, in segment order.
    pub segment_numbers: Vec<u16>,
}

/// CT Image Storage, used when the CT's SOP class is unknown.
const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";

/// Write `seg` (which must lie on `grid`) as a BINARY SEG at `path`.
/// `metadata` is the CT's (study date and description, patient sex and age;
/// identifiers only with `opts.include_identifiers`).
pub fn write_seg(
    path: &Path,
    seg: &Segmentation,
    grid: &ReferenceGrid,
    metadata: &SeriesMetadata,
    opts: &SegWriteOptions,
) -> Result<WrittenSeg, SegFileError> {
    let fail = |reason: String| SegFileError::Write {
        reason,
        path: path.to_owned(),
    };
    if !crate::seg::place::same_grid(&seg.geometry, &grid.geometry) {
        return Err(fail("the segmentation's grid differs from the CT's".into()));
    }
    let [nz, rows, cols] = grid.geometry.dims;
    if nz == 0 || rows == 0 || cols == 0 {
        return Err(fail("the CT grid has no voxels".into()));
    }
    let (Ok(rows16), Ok(cols16)) = (u16::try_from(rows), u16::try_from(cols)) else {
        return Err(fail(format!("{rows} × {cols} pixels exceed DICOM's 65535")));
    };
    if seg.segments.is_empty() {
        return Err(fail("no segments".into()));
    }
    if seg.segments.len() > usize::from(u16::MAX) {
        return Err(fail(format!(
            "{} segments (at most 65535)",
            seg.segments.len()
        )));
    }
    if let Some(s) = seg
        .segments
        .iter()
        .find(|s| s.mask.dims != grid.geometry.dims)
    {
        return Err(fail(format!("segment {:?} is on another grid", s.label)));
    }
    let frames = frame_list(seg, nz);
    let bits = frames.len() as u64 * rows as u64 * cols as u64;
    if bits.div_ceil(8) >= u64::from(u32::MAX - 1) {
        return Err(fail(format!(
            "{} frames of {rows} × {cols} exceed the 4 GiB pixel data limit",
            frames.len()
        )));
    }

    let ids = Ids::new(grid);
    let numbers: Vec<u16> = (1..=seg.segments.len() as u16).collect();
    let mut obj = InMemDicomObject::from_element_iter(header_elements(
        grid, metadata, opts, &ids, rows16, cols16,
    ));
    obj.put(seq(
        tags::SEGMENT_SEQUENCE,
        seg.segments
            .iter()
            .zip(&numbers)
            .map(|(s, &n)| segment_item(s, n, opts))
            .collect(),
    ));
    obj.put(seq(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        frames
            .iter()
            .map(|&(i, z)| frame_item(numbers[i], z, grid))
            .collect(),
    ));
    obj.put(str_el(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        frames.len().max(1).to_string(),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pack_frames(seg, &frames, rows, cols)),
    ));

    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .map_err(|e| fail(e.to_string()))?;
    crate::io::write_atomic(path, |w| file.write_all(w).map_err(io::Error::other))?;
    Ok(WrittenSeg {
        sop_instance_uid: ids.instance,
        series_uid: ids.series,
        frames: frames.len().max(1),
        segment_numbers: numbers,
    })
}

/// (segment index, slice) of every frame: segment-major, slices ascending,
/// only slices with voxels. A segmentation without any voxel gets one empty
/// frame of its first segment (`NumberOfFrames` must be at least 1).
fn frame_list(seg: &Segmentation, nz: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, s) in seg.segments.iter().enumerate() {
        let m = &s.mask;
        for (dz, plane) in m.data.axis_iter(Axis(0)).enumerate() {
            if plane.iter().any(|&v| v) && m.start[0] + dz < nz {
                out.push((i, m.start[0] + dz));
            }
        }
    }
    if out.is_empty() && nz > 0 {
        out.push((0, 0));
    }
    out
}

/// The frames' bits, LSB first, contiguous across frames, padded to an even
/// length.
fn pack_frames(seg: &Segmentation, frames: &[(usize, usize)], rows: usize, cols: usize) -> Vec<u8> {
    let n = rows * cols;
    let len = (frames.len() * n).div_ceil(8);
    let mut bytes = vec![0u8; len + len % 2];
    for (f, &(i, z)) in frames.iter().enumerate() {
        let m = &seg.segments[i].mask;
        let Some(dz) = z.checked_sub(m.start[0]).filter(|&d| d < m.data.shape()[0]) else {
            continue;
        };
        for ((r, c), &v) in m.data.index_axis(Axis(0), dz).indexed_iter() {
            if v {
                let bit = f * n + (r + m.start[1]) * cols + (c + m.start[2]);
                bytes[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    bytes
}

/// The UIDs of the written SEG.
struct Ids {
    study: String,
    series: String,
    instance: String,
    frame_of_reference: String,
    dimension_organization: String,
}

impl Ids {
    fn new(grid: &ReferenceGrid) -> Self {
        Self {
            study: grid.study_uid.clone().unwrap_or_else(new_uid),
            series: new_uid(),
            instance: new_uid(),
            frame_of_reference: grid.frame_of_reference_uid.clone().unwrap_or_else(new_uid),
            dimension_organization: new_uid(),
        }
    }
}

/// Every top-level attribute but the segments, frames and pixels.
fn header_elements(
    grid: &ReferenceGrid,
    metadata: &SeriesMetadata,
    opts: &SegWriteOptions,
    ids: &Ids,
    rows: u16,
    cols: u16,
) -> Vec<DataElement<InMemDicomObject>> {
    let mut out = identity_elements(
        metadata,
        &Identity {
            sop_class: uids::SEGMENTATION_STORAGE,
            modality: "SEG",
            series_description: &opts.series_description,
            series_number: opts.series_number,
            include_identifiers: opts.include_identifiers,
            study: &ids.study,
            series: &ids.series,
            instance: &ids.instance,
            frame_of_reference: &ids.frame_of_reference,
        },
    );
    out.push(str_el(tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY"));
    out.extend(image_elements(opts, rows, cols));
    out.extend(geometry_elements(grid, ids));
    if let Some(series) = &grid.series_uid {
        out.push(referenced_series(grid, series));
    }
    out
}

/// Image pixel and Segmentation image attributes (BINARY, 1 bit).
fn image_elements(
    opts: &SegWriteOptions,
    rows: u16,
    cols: u16,
) -> Vec<DataElement<InMemDicomObject>> {
    let u16_el = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    vec![
        u16_el(tags::SAMPLES_PER_PIXEL, 1),
        str_el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        u16_el(tags::ROWS, rows),
        u16_el(tags::COLUMNS, cols),
        u16_el(tags::BITS_ALLOCATED, 1),
        u16_el(tags::BITS_STORED, 1),
        u16_el(tags::HIGH_BIT, 0),
        u16_el(tags::PIXEL_REPRESENTATION, 0),
        str_el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        str_el(tags::SEGMENTATION_TYPE, VR::CS, "BINARY"),
        str_el(tags::SEGMENTS_OVERLAP, VR::CS, "UNDEFINED"),
        str_el(tags::CONTENT_LABEL, VR::CS, cs(&opts.content_label)),
        str_el(
            tags::CONTENT_DESCRIPTION,
            VR::LO,
            lo(&opts.content_description),
        ),
        str_el(
            tags::CONTENT_CREATOR_NAME,
            VR::PN,
            lo(&opts.content_creator),
        ),
    ]
}

/// Dimension organisation and the shared functional groups (orientation,
/// pixel spacing, slice spacing).
fn geometry_elements(grid: &ReferenceGrid, ids: &Ids) -> Vec<DataElement<InMemDicomObject>> {
    let g = &grid.geometry;
    let orientation = [g.direction.x_axis.to_array(), g.direction.y_axis.to_array()].concat();
    let step = (g.direction.z_axis * g.spacing_mm.z)
        .dot(g.slice_normal())
        .abs();
    vec![
        seq(
            tags::DIMENSION_ORGANIZATION_SEQUENCE,
            vec![item(vec![str_el(
                tags::DIMENSION_ORGANIZATION_UID,
                VR::UI,
                ids.dimension_organization.as_str(),
            )])],
        ),
        seq(
            tags::DIMENSION_INDEX_SEQUENCE,
            vec![
                dimension(
                    ids,
                    tags::REFERENCED_SEGMENT_NUMBER,
                    tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                    "ReferencedSegmentNumber",
                ),
                dimension(
                    ids,
                    tags::IMAGE_POSITION_PATIENT,
                    tags::PLANE_POSITION_SEQUENCE,
                    "ImagePositionPatient",
                ),
            ],
        ),
        seq(
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            vec![item(vec![
                seq(
                    tags::PLANE_ORIENTATION_SEQUENCE,
                    vec![item(vec![str_el(
                        tags::IMAGE_ORIENTATION_PATIENT,
                        VR::DS,
                        ds_multi(&orientation),
                    )])],
                ),
                seq(
                    tags::PIXEL_MEASURES_SEQUENCE,
                    vec![item(vec![
                        str_el(
                            tags::PIXEL_SPACING,
                            VR::DS,
                            ds_multi(&[g.spacing_mm.y, g.spacing_mm.x]),
                        ),
                        str_el(tags::SLICE_THICKNESS, VR::DS, ds(step)),
                        str_el(tags::SPACING_BETWEEN_SLICES, VR::DS, ds(step)),
                    ])],
                ),
            ])],
        ),
    ]
}

/// One `DimensionIndexSequence` item.
fn dimension(ids: &Ids, pointer: Tag, group: Tag, label: &str) -> InMemDicomObject {
    item(vec![
        str_el(
            tags::DIMENSION_ORGANIZATION_UID,
            VR::UI,
            ids.dimension_organization.as_str(),
        ),
        DataElement::new(
            tags::DIMENSION_INDEX_POINTER,
            VR::AT,
            PrimitiveValue::from(pointer),
        ),
        DataElement::new(
            tags::FUNCTIONAL_GROUP_POINTER,
            VR::AT,
            PrimitiveValue::from(group),
        ),
        str_el(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label),
    ])
}

/// `ReferencedSeriesSequence`: the CT series and its distinct instances.
fn referenced_series(grid: &ReferenceGrid, series: &str) -> DataElement<InMemDicomObject> {
    let mut seen: Vec<&str> = Vec::new();
    let instances = grid
        .slice_sop_uids
        .iter()
        .flatten()
        .filter(|u| {
            let new = !seen.contains(&u.as_str());
            if new {
                seen.push(u.as_str());
            }
            new
        })
        .map(|u| {
            item(vec![
                str_el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class(grid)),
                str_el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, u.as_str()),
            ])
        })
        .collect();
    seq(
        tags::REFERENCED_SERIES_SEQUENCE,
        vec![item(vec![
            seq(tags::REFERENCED_INSTANCE_SEQUENCE, instances),
            str_el(tags::SERIES_INSTANCE_UID, VR::UI, series),
        ])],
    )
}

fn sop_class(grid: &ReferenceGrid) -> &str {
    grid.sop_class_uid.as_deref().unwrap_or(CT_IMAGE_STORAGE)
}

/// One `SegmentSequence` item.
fn segment_item(s: &Segment, number: u16, opts: &SegWriteOptions) -> InMemDicomObject {
    let lesion = s.layer == Layer::Lesion;
    let category_meaning = if !s.category.is_empty() {
        s.category.clone()
    } else if lesion {
        "Morphologically Altered Structure".into()
    } else {
        "Anatomical Structure".into()
    };
    let type_meaning = if s.kind.is_empty() { &s.label } else { &s.kind };
    let label = if s.label.is_empty() {
        type_meaning
    } else {
        &s.label
    };
    let algorithm = cs(&opts.algorithm_type);
    let mut elements = vec![
        DataElement::new(tags::SEGMENT_NUMBER, VR::US, PrimitiveValue::from(number)),
        str_el(tags::SEGMENT_LABEL, VR::LO, lo(label)),
        seq(
            tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
            vec![code_item(&category_meaning)],
        ),
        seq(
            tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
            vec![code_item(type_meaning)],
        ),
        DataElement::new(
            tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE,
            VR::US,
            PrimitiveValue::from(dicom_lab_from_rgb(s.colour_rgb)),
        ),
    ];
    if algorithm != "MANUAL" {
        elements.push(str_el(
            tags::SEGMENT_ALGORITHM_NAME,
            VR::LO,
            lo(&opts.algorithm_name),
        ));
    }
    elements.push(str_el(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, algorithm));
    item(elements)
}

/// One `PerFrameFunctionalGroupsSequence` item: source slice, dimension
/// index, position, segment.
fn frame_item(number: u16, z: usize, grid: &ReferenceGrid) -> InMemDicomObject {
    let g = &grid.geometry;
    let position = g.world_of_voxel(glam::DVec3::new(0.0, 0.0, z as f64));
    let z_index = u32::try_from(z + 1).unwrap_or(u32::MAX);
    let mut elements = vec![
        seq(
            tags::FRAME_CONTENT_SEQUENCE,
            vec![item(vec![DataElement::new(
                tags::DIMENSION_INDEX_VALUES,
                VR::UL,
                PrimitiveValue::from([u32::from(number), z_index]),
            )])],
        ),
        seq(
            tags::PLANE_POSITION_SEQUENCE,
            vec![item(vec![str_el(
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                ds_multi(&position.to_array()),
            )])],
        ),
        seq(
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            vec![item(vec![DataElement::new(
                tags::REFERENCED_SEGMENT_NUMBER,
                VR::US,
                PrimitiveValue::from(number),
            )])],
        ),
    ];
    if let Some(Some(uid)) = grid.slice_sop_uids.get(z) {
        let mut source = vec![
            str_el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class(grid)),
            str_el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid.as_str()),
            seq(
                tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                vec![dcm_code(
                    "121322",
                    "Source image for image processing operation",
                )],
            ),
        ];
        if let Some(Some(n)) = grid.slice_frame_numbers.get(z) {
            source.push(str_el(tags::REFERENCED_FRAME_NUMBER, VR::IS, n.to_string()));
        }
        elements.push(seq(
            tags::DERIVATION_IMAGE_SEQUENCE,
            vec![item(vec![
                seq(tags::SOURCE_IMAGE_SEQUENCE, vec![item(source)]),
                seq(
                    tags::DERIVATION_CODE_SEQUENCE,
                    vec![dcm_code("113076", "Segmentation")],
                ),
            ])],
        ));
    }
    item(elements)
}
