//! Reading one RTSTRUCT file into an [`RtStructObject`]: the ROIs (Structure
//! Set ROI joined with ROI Contour and RT ROI Observations by ROI number)
//! and every contour with its points and image references.
//!
//! The file is checked by [`crate::dicom::open::check_structure`] before it
//! is parsed, so every value read here is bounded by the bytes present.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use glam::DVec3;

use super::{Contour, ContourKind, RoiInfo, RtStructError, RtStructObject};
use crate::dicom::attrs::{f64s, int, item, items, string};

/// RT Structure Set Storage.
pub const RT_STRUCTURE_SET_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.3";

fn invalid(path: &Path, reason: impl Into<String>) -> RtStructError {
    RtStructError::Invalid {
        reason: reason.into(),
        path: path.to_owned(),
    }
}

/// Read an RTSTRUCT file.
///
/// ```no_run
/// let rt = hounsfield_core::dicom::rtstruct::read_rtstruct(std::path::Path::new("rs.dcm"))?;
/// for roi in &rt.rois {
///     println!("{} {:?}: {} contours", roi.number, roi.name, roi.contours.len());
/// }
/// # Ok::<(), hounsfield_core::dicom::rtstruct::RtStructError>(())
/// ```
pub fn read_rtstruct(path: &Path) -> Result<RtStructObject, RtStructError> {
    crate::dicom::open::check_structure(path, crate::dicom::open::Extent::Whole)?;
    let obj = crate::dicom::open::open_object(path, false)?;
    let sop_class = string(&obj, tags::SOP_CLASS_UID).unwrap_or_else(|| {
        obj.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .trim()
            .to_owned()
    });
    let modality = string(&obj, tags::MODALITY);
    if sop_class != RT_STRUCTURE_SET_STORAGE && modality.as_deref() != Some("RTSTRUCT") {
        return Err(invalid(
            path,
            format!(
                "SOP class {sop_class:?}, modality {:?}: not an RT Structure Set",
                modality.unwrap_or_default()
            ),
        ));
    }
    let roi_items = items(&obj, tags::STRUCTURE_SET_ROI_SEQUENCE);
    if roi_items.is_empty() && items(&obj, tags::ROI_CONTOUR_SEQUENCE).is_empty() {
        return Err(invalid(
            path,
            "StructureSetROISequence (3006,0020) and ROIContourSequence (3006,0039) are empty",
        ));
    }
    let mut rois = Vec::with_capacity(roi_items.len());
    for (k, roi) in roi_items.iter().enumerate() {
        let Some(number) = int::<i64>(roi, tags::ROI_NUMBER) else {
            return Err(invalid(
                path,
                format!("StructureSetROISequence item {} has no ROINumber", k + 1),
            ));
        };
        if rois.iter().any(|r: &RoiInfo| r.number == number) {
            return Err(invalid(path, format!("ROINumber {number} appears twice")));
        }
        rois.push(RoiInfo {
            number,
            name: string(roi, tags::ROI_NAME).unwrap_or_default(),
            colour_rgb: None,
            interpreted_type: None,
            generation_algorithm: string(roi, tags::ROI_GENERATION_ALGORITHM),
            frame_of_reference_uid: string(roi, tags::REFERENCED_FRAME_OF_REFERENCE_UID),
            contours: Vec::new(),
        });
    }
    for (k, rc) in items(&obj, tags::ROI_CONTOUR_SEQUENCE).iter().enumerate() {
        let Some(number) = int::<i64>(rc, tags::REFERENCED_ROI_NUMBER) else {
            return Err(invalid(
                path,
                format!(
                    "ROIContourSequence item {} has no ReferencedROINumber",
                    k + 1
                ),
            ));
        };
        let Some(roi) = rois.iter_mut().find(|r| r.number == number) else {
            return Err(invalid(
                path,
                format!(
                    "ROIContourSequence item {} refers to ROI {number}, which the StructureSetROISequence does not list",
                    k + 1
                ),
            ));
        };
        roi.colour_rgb = colour(rc);
        for (j, c) in items(rc, tags::CONTOUR_SEQUENCE).iter().enumerate() {
            roi.contours.push(contour(c, path, number, j)?);
        }
    }
    interpreted_types(&obj, &mut rois);
    let frame_of_reference = item(&obj, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE);
    let referenced_series_uids = items(&obj, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE)
        .iter()
        .flat_map(|f| items(f, tags::RT_REFERENCED_STUDY_SEQUENCE))
        .flat_map(|s| items(s, tags::RT_REFERENCED_SERIES_SEQUENCE))
        .filter_map(|s| string(s, tags::SERIES_INSTANCE_UID))
        .collect();
    Ok(RtStructObject {
        path: path.to_owned(),
        sop_instance_uid: string(&obj, tags::SOP_INSTANCE_UID),
        study_uid: string(&obj, tags::STUDY_INSTANCE_UID),
        series_uid: string(&obj, tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: frame_of_reference
            .and_then(|f| string(f, tags::FRAME_OF_REFERENCE_UID))
            .or_else(|| string(&obj, tags::FRAME_OF_REFERENCE_UID)),
        label: string(&obj, tags::STRUCTURE_SET_LABEL),
        name: string(&obj, tags::STRUCTURE_SET_NAME),
        referenced_series_uids,
        rois,
    })
}

/// Fills each ROI's interpreted type from the RT ROI Observations (the
/// first observation of an ROI wins).
fn interpreted_types(obj: &InMemDicomObject, rois: &mut [RoiInfo]) {
    for obs in items(obj, tags::RTROI_OBSERVATIONS_SEQUENCE) {
        let Some(number) = int::<i64>(obs, tags::REFERENCED_ROI_NUMBER) else {
            continue;
        };
        if let Some(roi) = rois.iter_mut().find(|r| r.number == number)
            && roi.interpreted_type.is_none()
        {
            roi.interpreted_type = string(obs, tags::RTROI_INTERPRETED_TYPE);
        }
    }
}

/// `ROIDisplayColor` as RGB (values above 255 clamp).
fn colour(rc: &InMemDicomObject) -> Option<[u8; 3]> {
    let v = f64s(rc, tags::ROI_DISPLAY_COLOR)?;
    (v.len() >= 3).then(|| [0, 1, 2].map(|i| v[i].round().clamp(0.0, 255.0) as u8))
}

/// One contour item.
fn contour(
    c: &InMemDicomObject,
    path: &Path,
    roi: i64,
    index: usize,
) -> Result<Contour, RtStructError> {
    let kind = ContourKind::parse(&string(c, tags::CONTOUR_GEOMETRIC_TYPE).unwrap_or_default());
    let data = f64s(c, tags::CONTOUR_DATA).ok_or_else(|| {
        invalid(
            path,
            format!(
                "contour {} of ROI {roi}: ContourData (3006,0050) is missing or not numbers",
                index + 1
            ),
        )
    })?;
    if data.len() % 3 != 0 {
        return Err(invalid(
            path,
            format!(
                "contour {} of ROI {roi}: ContourData has {} values, not a multiple of 3",
                index + 1,
                data.len()
            ),
        ));
    }
    let points_mm = data
        .chunks_exact(3)
        .map(|p| DVec3::new(p[0], p[1], p[2]))
        .collect();
    let image_sop_uids = items(c, tags::CONTOUR_IMAGE_SEQUENCE)
        .iter()
        .filter_map(|i| string(i, tags::REFERENCED_SOP_INSTANCE_UID))
        .collect();
    Ok(Contour {
        kind,
        points_mm,
        image_sop_uids,
    })
}
