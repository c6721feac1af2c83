//! Small encoders of DICOM values for the SEG and RTSTRUCT writers: elements, sequences,
//! items, LO/CS/DS text, codes (SNOMED CT where known), new UIDs and the
//! current date and time.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;

use crate::dicom::meta::SeriesMetadata;
use dicom_object::InMemDicomObject;

/// SNOMED CT codes of common meanings (lower-case substring, code,
/// canonical meaning), most specific first: categories, lesions (so
/// "liver tumour" is a neoplasm), then organs.
const SCT_CODES: [(&str, &str, &str); 22] = [
    (
        "morphologically altered",
        "49755003",
        "Morphologically Altered Structure",
    ),
    ("anatomical structure", "91723000", "Anatomical Structure"),
    ("tissue", "85756007", "Tissue"),
    ("organ", "91772007", "Organ"),
    ("nodule", "27925004", "Nodule"),
    ("tumo", "108369006", "Neoplasm"),
    ("neoplasm", "108369006", "Neoplasm"),
    ("lesion", "52988006", "Lesion"),
    ("vena cava", "64131007", "Inferior vena cava"),
    ("vena_cava", "64131007", "Inferior vena cava"),
    ("right lung", "3341006", "Right lung"),
    ("left lung", "44029006", "Left lung"),
    ("lung", "39607008", "Lung"),
    ("liver", "10200004", "Liver"),
    ("spleen", "78961009", "Spleen"),
    ("stomach", "69695003", "Stomach"),
    ("aorta", "15825003", "Aorta"),
    ("kidney", "64033007", "Kidney"),
    ("heart", "80891009", "Heart"),
    ("trachea", "44567001", "Trachea"),
    ("airway", "89187006", "Airway structure"),
    ("bone", "272673000", "Bone structure"),
];

/// A code sequence item for a meaning: SNOMED CT when known, else a local
/// code (scheme `99HOUNSFIELD`, value from the meaning).
pub(crate) fn code_item(meaning: &str) -> InMemDicomObject {
    let lower = meaning.to_lowercase();
    let known = SCT_CODES.iter().find(|(k, _, _)| lower.contains(k));
    let (scheme, value, meaning) = if let Some(&(_, code, canonical)) = known {
        ("SCT", code.to_owned(), canonical.to_owned())
    } else {
        let value: String = meaning
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect::<String>()
            .to_uppercase();
        let value = if value.is_empty() {
            "SEGMENT".into()
        } else {
            value
        };
        let meaning = if meaning.is_empty() {
            "Segment"
        } else {
            meaning
        };
        ("99HOUNSFIELD", value, lo(meaning))
    };
    item(vec![
        str_el(tags::CODE_VALUE, VR::SH, value),
        str_el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        str_el(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// A code item of the DCM scheme.
pub(crate) fn dcm_code(value: &str, meaning: &str) -> InMemDicomObject {
    item(vec![
        str_el(tags::CODE_VALUE, VR::SH, value),
        str_el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM"),
        str_el(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

pub(crate) fn str_el(tag: Tag, vr: VR, v: impl Into<String>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v.into()))
}

pub(crate) fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, dicom_core::value::DataSetSequence::from(items))
}

pub(crate) fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// A LO value: no backslash, at most 64 characters.
pub(crate) fn lo(s: &str) -> String {
    s.chars().filter(|&c| c != '\\').take(64).collect()
}

/// A CS value: upper case letters, digits, space and underscore, at most 16.
pub(crate) fn cs(s: &str) -> String {
    s.to_uppercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(16)
        .collect()
}

pub(crate) use crate::dicom::write::{ds, ds_multi};

/// A new `2.25.<decimal>` UID from 128 random bits (std's randomly keyed
/// hasher over the time, the process id and a counter).
pub(crate) fn new_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u64(count);
        h.write_u32(std::process::id());
        h.write_u64(salt);
        h.finish()
    };
    let n = (u128::from(half(1)) << 64 | u128::from(half(2))).max(1);
    format!("2.25.{n}")
}

/// Today's date (`YYYYMMDD`) and time (`HHMMSS`), UTC.
pub(crate) fn now_date_time() -> (String, String) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!("{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Who and what a derived object (SEG, RTSTRUCT) is: the attributes
/// [`identity_elements`] writes besides the CT's metadata.
pub(crate) struct Identity<'a> {
    /// `SOPClassUID`.
    pub sop_class: &'a str,
    /// `Modality`.
    pub modality: &'a str,
    /// `SeriesDescription`.
    pub series_description: &'a str,
    /// `SeriesNumber`.
    pub series_number: u32,
    /// Copy `PatientName`, `PatientID` and `PatientBirthDate` (else empty).
    pub include_identifiers: bool,
    /// `StudyInstanceUID`.
    pub study: &'a str,
    /// `SeriesInstanceUID`.
    pub series: &'a str,
    /// `SOPInstanceUID`.
    pub instance: &'a str,
    /// `FrameOfReferenceUID`.
    pub frame_of_reference: &'a str,
}

/// Patient, study, series, equipment and instance identity.
pub(crate) fn identity_elements(
    metadata: &SeriesMetadata,
    ids: &Identity<'_>,
) -> Vec<DataElement<InMemDicomObject>> {
    let (date, time) = now_date_time();
    let identifier = |v: &Option<String>| {
        if ids.include_identifiers {
            v.clone().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut out = vec![
        str_el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        str_el(tags::SOP_CLASS_UID, VR::UI, ids.sop_class),
        str_el(tags::SOP_INSTANCE_UID, VR::UI, ids.instance),
        str_el(tags::STUDY_DATE, VR::DA, text(&metadata.study_date)),
        str_el(tags::SERIES_DATE, VR::DA, date.as_str()),
        str_el(tags::CONTENT_DATE, VR::DA, date.as_str()),
        str_el(tags::STUDY_TIME, VR::TM, ""),
        str_el(tags::SERIES_TIME, VR::TM, time.as_str()),
        str_el(tags::CONTENT_TIME, VR::TM, time.as_str()),
        str_el(tags::ACCESSION_NUMBER, VR::SH, ""),
        str_el(tags::MODALITY, VR::CS, ids.modality),
        str_el(tags::MANUFACTURER, VR::LO, "Hounsfield"),
        str_el(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
        str_el(
            tags::STUDY_DESCRIPTION,
            VR::LO,
            lo(&text(&metadata.study_description)),
        ),
        str_el(tags::SERIES_DESCRIPTION, VR::LO, lo(ids.series_description)),
        str_el(tags::MANUFACTURER_MODEL_NAME, VR::LO, "hounsfield"),
        str_el(
            tags::PATIENT_NAME,
            VR::PN,
            identifier(&metadata.patient_name),
        ),
        str_el(tags::PATIENT_ID, VR::LO, identifier(&metadata.patient_id)),
        str_el(
            tags::PATIENT_BIRTH_DATE,
            VR::DA,
            identifier(&metadata.patient_birth_date),
        ),
        str_el(tags::PATIENT_SEX, VR::CS, text(&metadata.patient_sex)),
        str_el(tags::DEVICE_SERIAL_NUMBER, VR::LO, "0"),
        str_el(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        str_el(tags::STUDY_INSTANCE_UID, VR::UI, ids.study),
        str_el(tags::SERIES_INSTANCE_UID, VR::UI, ids.series),
        str_el(tags::STUDY_ID, VR::SH, ""),
        str_el(tags::SERIES_NUMBER, VR::IS, ids.series_number.to_string()),
        str_el(tags::INSTANCE_NUMBER, VR::IS, "1"),
        str_el(tags::FRAME_OF_REFERENCE_UID, VR::UI, ids.frame_of_reference),
        str_el(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
    ];
    if let Some(age) = &metadata.patient_age {
        out.push(str_el(tags::PATIENT_AGE, VR::AS, age.as_str()));
    }
    out
}
