//! Patient, study and equipment metadata of a series, kept apart from pixels.
//!
//! `Debug` redacts patient identifiers so they never reach logs by accident;
//! read the fields explicitly where showing them is intended.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::Serialize;

use super::attrs::{f64_1, string};

/// Descriptive metadata of a series (from its first instance).
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct SeriesMetadata {
    /// PatientName (identifying).
    pub patient_name: Option<String>,
    /// PatientID (identifying).
    pub patient_id: Option<String>,
    /// PatientSex.
    pub patient_sex: Option<String>,
    /// PatientBirthDate, `YYYYMMDD` (identifying).
    pub patient_birth_date: Option<String>,
    /// PatientAge, e.g. `057Y`.
    pub patient_age: Option<String>,
    /// PatientIdentityRemoved (`YES` / `NO`).
    pub patient_identity_removed: Option<String>,
    /// StudyDate, `YYYYMMDD`.
    pub study_date: Option<String>,
    /// StudyDescription.
    pub study_description: Option<String>,
    /// SeriesDescription.
    pub series_description: Option<String>,
    /// Modality, e.g. `CT`.
    pub modality: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// ManufacturerModelName.
    pub model: Option<String>,
    /// KVP (kV).
    pub kvp: Option<f64>,
    /// BodyPartExamined.
    pub body_part: Option<String>,
    /// PatientPosition, e.g. `HFS`.
    pub patient_position: Option<String>,
}

impl SeriesMetadata {
    /// Read the metadata attributes of a data set.
    pub(crate) fn from_object(obj: &InMemDicomObject, modality: Option<String>) -> Self {
        Self {
            patient_name: string(obj, tags::PATIENT_NAME),
            patient_id: string(obj, tags::PATIENT_ID),
            patient_sex: string(obj, tags::PATIENT_SEX),
            patient_birth_date: string(obj, tags::PATIENT_BIRTH_DATE),
            patient_age: string(obj, tags::PATIENT_AGE),
            patient_identity_removed: string(obj, tags::PATIENT_IDENTITY_REMOVED),
            study_date: string(obj, tags::STUDY_DATE),
            study_description: string(obj, tags::STUDY_DESCRIPTION),
            series_description: string(obj, tags::SERIES_DESCRIPTION),
            modality,
            manufacturer: string(obj, tags::MANUFACTURER),
            model: string(obj, tags::MANUFACTURER_MODEL_NAME),
            kvp: f64_1(obj, tags::KVP),
            body_part: string(obj, tags::BODY_PART_EXAMINED),
            patient_position: string(obj, tags::PATIENT_POSITION),
        }
    }

    /// True when the series still carries a patient name, ID or birth date.
    pub fn has_identifiers(&self) -> bool {
        self.patient_name.is_some()
            || self.patient_id.is_some()
            || self.patient_birth_date.is_some()
    }

    /// A copy without patient name, ID and birth date.
    #[must_use]
    pub fn redacted(&self) -> Self {
        Self {
            patient_name: None,
            patient_id: None,
            patient_birth_date: None,
            ..self.clone()
        }
    }
}

impl std::fmt::Debug for SeriesMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("SeriesMetadata")
            .field("patient_name", &hidden(&self.patient_name))
            .field("patient_id", &hidden(&self.patient_id))
            .field("patient_sex", &self.patient_sex)
            .field("patient_birth_date", &hidden(&self.patient_birth_date))
            .field("patient_age", &self.patient_age)
            .field("patient_identity_removed", &self.patient_identity_removed)
            .field("study_date", &self.study_date)
            .field("study_description", &self.study_description)
            .field("series_description", &self.series_description)
            .field("modality", &self.modality)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("kvp", &self.kvp)
            .field("body_part", &self.body_part)
            .field("patient_position", &self.patient_position)
            .finish()
    }
}
