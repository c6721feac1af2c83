//! Small encoders of DICOM values for the SEG writer: elements, sequences,
//! items, LO/CS/DS text, codes (SNOMED CT where known), new UIDs and the
//! current date and time.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
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
pub(super) fn code_item(meaning: &str) -> InMemDicomObject {
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
pub(super) fn dcm_code(value: &str, meaning: &str) -> InMemDicomObject {
    item(vec![
        str_el(tags::CODE_VALUE, VR::SH, value),
        str_el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM"),
        str_el(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

pub(super) fn str_el(tag: Tag, vr: VR, v: impl Into<String>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v.into()))
}

pub(super) fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, dicom_core::value::DataSetSequence::from(items))
}

pub(super) fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// A LO value: no backslash, at most 64 characters.
pub(super) fn lo(s: &str) -> String {
    s.chars().filter(|&c| c != '\\').take(64).collect()
}

/// A CS value: upper case letters, digits, space and underscore, at most 16.
pub(super) fn cs(s: &str) -> String {
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

pub(super) use crate::dicom::write::{ds, ds_multi};

/// A new `2.25.<decimal>` UID from 128 random bits (std's randomly keyed
/// hasher over the time, the process id and a counter).
pub(super) fn new_uid() -> String {
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
pub(super) fn now_date_time() -> (String, String) {
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
