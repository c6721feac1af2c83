//! A DICOM tag browser backend: every element of one file as a flat list of
//! display rows ([`TagRow`]), file meta group first, then the data set in
//! file order, with sequence items indented.
//!
//! The file is pre-flighted with [`check_structure`] (nesting depth, declared
//! lengths) before dicom-object reads it, like the loader does. Values are
//! summarised for display, never dumped whole: sequences show their item
//! count, pixel data its size, binary values their length, long texts are
//! truncated and control characters escaped (a hostile value cannot move the
//! cursor of a terminal or break a table).
//!
//! Rows that carry patient (or other person) identifiers are flagged
//! [`TagRow::identifying`]; user interfaces hide their values unless asked,
//! and `TagRow`'s `Debug` never prints them.

use std::fmt;
use std::fmt::Write as _;
use std::path::Path;

use dicom_core::dictionary::{DataDictionary as _, DataDictionaryEntry as _};
use dicom_core::header::Header as _;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;

use super::error::DicomError;
use super::open::{check_structure, open_object};

/// Deepest sequence nesting whose content is listed; deeper items are
/// replaced by one [`NOT_SHOWN`] row.
pub const MAX_DEPTH: usize = 16;

/// What a UI shows instead of an identifying value.
pub const HIDDEN: &str = "<hidden>";

/// Value of the row standing for items nested deeper than [`MAX_DEPTH`].
pub const NOT_SHOWN: &str = "<nested deeper than 16 levels: not shown>";

/// Tag text of the row that starts a sequence item.
pub const ITEM_TAG: &str = "(FFFE,E000)";

/// Binary values up to this many bytes are shown in hex; longer ones by size.
const MAX_HEX_BYTES: usize = 16;

/// One display row of a tag dump.
#[derive(Clone, PartialEq, Eq)]
pub struct TagRow {
    /// Number of enclosing sequences (0 for top-level elements; the elements
    /// of an item of a top-level sequence, and the item row itself, are 1).
    pub depth: usize,
    /// `"(gggg,eeee)"`, upper-case hex; [`ITEM_TAG`] for item rows.
    pub tag: String,
    /// Value representation as read (`"PN"`, `"SQ"`...); empty for item rows.
    pub vr: String,
    /// Keyword from the standard dictionary (`"PatientName"`); `"Item"` for
    /// item rows, `"PrivateCreator"` for private creators, empty for other
    /// private or unknown tags.
    pub keyword: String,
    /// Display text: strings as text (multiple values joined by `\`),
    /// numbers in decimal, short binary values in hex and long ones as
    /// `<N bytes>`, sequences as `<n items>`, pixel data as
    /// `<pixel data: N bytes>` or `<encapsulated: N fragments, M bytes>`;
    /// control characters escaped; at most `max_value_chars` characters, the
    /// last one `…` when cut.
    pub value: String,
    /// Patient or person identifying (names, IDs, birth date, address,
    /// other IDs, accession number...), or inside such a sequence. Hide the
    /// value unless the user asks ([`Self::shown_value`]).
    pub identifying: bool,
}

impl TagRow {
    /// The value to display: [`HIDDEN`] for a non-empty identifying value
    /// unless `show_identifiers`.
    pub fn shown_value(&self, show_identifiers: bool) -> &str {
        if self.identifying && !show_identifiers && !self.value.is_empty() {
            HIDDEN
        } else {
            &self.value
        }
    }
}

impl fmt::Debug for TagRow {
    /// Like a derived `Debug`, with identifying values redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagRow")
            .field("depth", &self.depth)
            .field("tag", &self.tag)
            .field("vr", &self.vr)
            .field("keyword", &self.keyword)
            .field("value", &self.shown_value(false))
            .field("identifying", &self.identifying)
            .finish()
    }
}

/// List every element of the DICOM file at `path` as display rows: the file
/// meta group (group 0002) first, then the data set in file order, each
/// sequence followed by its items (an item row, then the item's elements,
/// one level deeper). Content nested deeper than [`MAX_DEPTH`] sequences is
/// summarised by one row. Values are cut to `max_value_chars` characters
/// (0: no limit).
///
/// The whole file is read (pixel data included, to count fragments), after
/// [`check_structure`] has vetted it.
///
/// ```no_run
/// let rows = hounsfield::dicom::tags::dump_tags(std::path::Path::new("slice.dcm"), 80)?;
/// for r in &rows {
///     println!("{}{} {} {} {}", "  ".repeat(r.depth), r.tag, r.vr, r.keyword, r.shown_value(false));
/// }
/// # Ok::<(), hounsfield::dicom::DicomError>(())
/// ```
pub fn dump_tags(path: &Path, max_value_chars: usize) -> Result<Vec<TagRow>, DicomError> {
    check_structure(path)?;
    let obj = open_object(path, false)?;
    let mut rows = Vec::new();
    for e in obj.meta().to_element_iter() {
        let (tag, vr) = (e.tag(), e.vr());
        let text = e
            .value()
            .primitive()
            .map(|v| primitive_text(tag, vr, v, max_value_chars))
            .unwrap_or_default();
        rows.push(row(0, tag, vr, text, false, max_value_chars));
    }
    dataset_rows(&obj, 0, false, max_value_chars, &mut rows);
    Ok(rows)
}

fn row(depth: usize, tag: Tag, vr: VR, text: String, inherited: bool, max: usize) -> TagRow {
    let keyword = keyword(tag);
    TagRow {
        depth,
        tag: tag_text(tag),
        vr: vr.to_string().to_owned(),
        identifying: inherited || is_identifying(&keyword, vr),
        keyword,
        value: truncate(text, max),
    }
}

/// Rows of one data set (top level or an item) at `depth`.
fn dataset_rows(
    obj: &InMemDicomObject,
    depth: usize,
    inherited: bool,
    max: usize,
    rows: &mut Vec<TagRow>,
) {
    for e in obj {
        let (tag, vr) = (e.tag(), e.vr());
        let text = match e.value() {
            Value::Primitive(v) => primitive_text(tag, vr, v, max),
            Value::Sequence(s) => format!("<{}>", count(s.items().len(), "item")),
            Value::PixelSequence(p) => {
                let bytes: usize = p.fragments().iter().map(Vec::len).sum();
                format!(
                    "<encapsulated: {}, {bytes} bytes>",
                    count(p.fragments().len(), "fragment")
                )
            }
        };
        let r = row(depth, tag, vr, text, inherited, max);
        let identifying = r.identifying;
        rows.push(r);
        let Value::Sequence(s) = e.value() else {
            continue;
        };
        let item_row = |value: String| TagRow {
            depth: depth + 1,
            tag: ITEM_TAG.to_owned(),
            vr: String::new(),
            keyword: "Item".to_owned(),
            value: truncate(value, max),
            identifying,
        };
        if depth + 1 > MAX_DEPTH && !s.items().is_empty() {
            rows.push(item_row(NOT_SHOWN.to_owned()));
            continue;
        }
        let n = s.items().len();
        for (i, item) in s.items().iter().enumerate() {
            rows.push(item_row(format!("{} of {n}", i + 1)));
            dataset_rows(item, depth + 1, identifying, max, rows);
        }
    }
}

/// `1 item`, `3 items`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `(gggg,eeee)`, upper-case hex.
fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

/// The standard keyword; empty for private (except private creators) and
/// unknown tags.
fn keyword(tag: Tag) -> String {
    let private = tag.group() % 2 == 1;
    let creator = private && (0x0010..=0x00FF).contains(&tag.element());
    if private && !creator {
        return String::new();
    }
    StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias().to_owned())
        .unwrap_or_default()
}

/// Keywords of the attributes that identify the patient (or another person,
/// or the visit) beyond what `hounsfield info` prints by default, retired
/// ones included. Every PN value is identifying too.
const IDENTIFYING: &str = "
    PatientID IssuerOfPatientID IssuerOfPatientIDQualifiersSequence PatientBirthDate
    PatientBirthTime PatientBirthDateInAlternativeCalendar PatientDeathDateInAlternativeCalendar
    OtherPatientIDs OtherPatientIDsSequence OtherPatientNames PatientBirthName
    PatientMotherBirthName PersonNamesToUseSequence PatientAddress PatientTelephoneNumbers
    PatientTelecomInformation CountryOfResidence RegionOfResidence PatientInstitutionResidence
    MilitaryRank MedicalRecordLocator InsurancePlanIdentification PatientInsurancePlanCodeSequence
    PatientComments AdditionalPatientHistory MedicalAlerts Allergies Occupation
    PatientReligiousPreference EthnicGroup EthnicGroups EthnicGroupCodeSequence ResponsiblePerson
    ResponsibleOrganization ReferencedPatientAliasSequence ReferencedPatientPhotoSequence
    AccessionNumber AdmissionID PlacerOrderNumberImagingServiceRequest
    FillerOrderNumberImagingServiceRequest PlacerOrderNumberProcedure FillerOrderNumberProcedure
    InstitutionAddress ReferringPhysicianAddress ReferringPhysicianTelephoneNumbers
    ReferringPhysicianIdentificationSequence PersonAddress PersonTelephoneNumbers
    PersonTelecomInformation PersonIdentificationCodeSequence";

fn is_identifying(keyword: &str, vr: VR) -> bool {
    vr == VR::PN
        || (!keyword.is_empty() && IDENTIFYING.split_ascii_whitespace().any(|k| k == keyword))
}

fn is_pixel_data(tag: Tag) -> bool {
    tag == tags::PIXEL_DATA || tag == tags::FLOAT_PIXEL_DATA || tag == tags::DOUBLE_FLOAT_PIXEL_DATA
}

fn is_binary(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
    )
}

/// Display text of a primitive value. Multi-values stop being formatted
/// once the text exceeds `max` characters (0: no limit), so a huge array
/// costs little.
fn primitive_text(tag: Tag, vr: VR, v: &PrimitiveValue, max: usize) -> String {
    if is_pixel_data(tag) {
        format!("<pixel data: {} bytes>", v.calculate_byte_len())
    } else if is_binary(vr) {
        binary_text(vr, v, max)
    } else {
        values_text(v, max)
    }
}

fn values_text(v: &PrimitiveValue, max: usize) -> String {
    match v {
        PrimitiveValue::Empty => String::new(),
        PrimitiveValue::Str(s) => clean(s),
        PrimitiveValue::Strs(c) => join(c.iter().map(|s| clean(s)), max),
        PrimitiveValue::Tags(c) => join(c.iter().map(|t| tag_text(*t)), max),
        PrimitiveValue::U8(c) => join(c.iter().map(u8::to_string), max),
        PrimitiveValue::I16(c) => join(c.iter().map(i16::to_string), max),
        PrimitiveValue::U16(c) => join(c.iter().map(u16::to_string), max),
        PrimitiveValue::I32(c) => join(c.iter().map(i32::to_string), max),
        PrimitiveValue::U32(c) => join(c.iter().map(u32::to_string), max),
        PrimitiveValue::I64(c) => join(c.iter().map(i64::to_string), max),
        PrimitiveValue::U64(c) => join(c.iter().map(u64::to_string), max),
        PrimitiveValue::F32(c) => join(c.iter().map(f32::to_string), max),
        PrimitiveValue::F64(c) => join(c.iter().map(f64::to_string), max),
        PrimitiveValue::Date(_) | PrimitiveValue::Time(_) | PrimitiveValue::DateTime(_) => {
            clean(&v.to_str())
        }
    }
}

/// Short binary values in hex (bytes) or decimal (words), long ones by
/// size; an `UN` value that is printable text is shown as text.
fn binary_text(vr: VR, v: &PrimitiveValue, max: usize) -> String {
    let n = v.calculate_byte_len();
    match v {
        PrimitiveValue::U8(b) if vr == VR::UN && is_text(b) => {
            join(String::from_utf8_lossy(b).split('\\').map(clean), max)
        }
        PrimitiveValue::U8(b) if n <= MAX_HEX_BYTES => {
            join(b.iter().map(|x| format!("{x:02X}")), max)
        }
        _ if n <= MAX_HEX_BYTES => values_text(v, max),
        _ => format!("<{n} bytes>"),
    }
}

/// Printable ASCII, possibly NUL-padded, and long enough (8 bytes) not to
/// be a number that happens to look like text.
fn is_text(b: &[u8]) -> bool {
    b.len() >= 8
        && b.iter().any(u8::is_ascii_graphic)
        && b.iter()
            .all(|&c| c == 0 || c == b' ' || c.is_ascii_graphic())
}

/// Values joined by `\`, formatting stopped once past `max` characters.
fn join(values: impl Iterator<Item = String>, max: usize) -> String {
    let mut out = String::new();
    let mut chars = 0usize;
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('\\');
            chars += 1;
        }
        chars += v.chars().count();
        out.push_str(&v);
        if max > 0 && chars > max {
            break;
        }
    }
    out
}

/// Trailing padding (spaces, NULs) removed; control characters escaped as
/// `\n`, `\t`, `\u{1b}`...
fn clean(s: &str) -> String {
    let s = s.trim_end_matches([' ', '\0']);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            write!(out, "{}", c.escape_default()).ok();
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters, the last one `…` when cut (0: no limit).
fn truncate(s: String, max: usize) -> String {
    if max == 0 || s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
    use dicom_core::{DataElement, Length};
    use dicom_dictionary_std::uids;
    use dicom_object::FileMetaTableBuilder;
    use ndarray::Array3;

    use super::*;
    use crate::dicom::write::{SeriesWriteOptions, write_series};
    use crate::volume::{Geometry, Volume};

    fn find<'a>(rows: &'a [TagRow], tag: &str) -> &'a TagRow {
        rows.iter()
            .find(|r| r.tag == tag)
            .unwrap_or_else(|| panic!("no row {tag}"))
    }

    fn write(obj: InMemDicomObject, ts: &str, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
            .unwrap()
            .write_to_file(&path)
            .unwrap();
        path
    }

    /// `(vr, keyword, value)` of the row of `tag`.
    fn cells<'a>(rows: &'a [TagRow], tag: &str) -> (&'a str, &'a str, &'a str) {
        let r = find(rows, tag);
        (&r.vr, &r.keyword, &r.value)
    }

    /// Two 3×4 slices written by the project's series writer.
    fn tiny_series(dir: &Path, opts: &SeriesWriteOptions) -> Vec<PathBuf> {
        let vol = Volume::from_i16(
            Array3::from_elem((2, 3, 4), 40),
            Geometry::identity([2, 3, 4]),
        );
        write_series(&vol, dir, opts).unwrap()
    }

    fn base_object() -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        put(
            &mut obj,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.2",
        );
        put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "2.25.1234");
        obj
    }

    #[test]
    fn written_slice_lists_meta_then_data_set_and_flags_identifiers() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SeriesWriteOptions {
            patient_name: "Doe^Jane".into(),
            patient_id: "ID-0042".into(),
            ..Default::default()
        };
        let paths = tiny_series(dir.path(), &opts);
        let rows = dump_tags(&paths[0], 80).unwrap();

        // Meta group first, then the data set, all in ascending tag order.
        assert!(rows[..4].iter().all(|r| r.tag.starts_with("(0002,")));
        assert!(
            rows.windows(2)
                .all(|w| w[0].tag < w[1].tag && w[1].depth == 0)
        );
        let (ts, name) = (cells(&rows, "(0002,0010)"), cells(&rows, "(0010,0010)"));
        assert_eq!(ts, ("UI", "TransferSyntaxUID", "1.2.840.10008.1.2.1"));
        assert_eq!(name, ("PN", "PatientName", "Doe^Jane"));
        let name = find(&rows, "(0010,0010)");
        assert!(name.identifying);
        assert_eq!(name.shown_value(false), HIDDEN);
        assert_eq!(name.shown_value(true), "Doe^Jane");
        assert!(find(&rows, "(0010,0020)").identifying);
        let modality = find(&rows, "(0008,0060)");
        assert_eq!(modality.value, "CT");
        assert!(!modality.identifying);
        assert_eq!(find(&rows, "(0028,0010)").value, "3");
        assert_eq!(find(&rows, "(7FE0,0010)").value, "<pixel data: 24 bytes>");
        // Debug never shows identifiers.
        let debug = format!("{rows:?}");
        assert!(!debug.contains("Doe^Jane") && !debug.contains("ID-0042"));
        assert!(debug.contains("Modality"));
        for k in IDENTIFYING.split_ascii_whitespace() {
            assert!(StandardDataDictionary.by_name(k).is_some(), "{k}");
        }
        assert!(is_identifying("PatientID", VR::LO));
        assert!(is_identifying("", VR::PN));
        assert!(!is_identifying("PatientSex", VR::CS));
    }

    fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) {
        obj.put(DataElement::new(tag, vr, v.into()));
    }

    fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
        let s = DataSetSequence::new(items, Length::UNDEFINED);
        obj.put(DataElement::new(tag, VR::SQ, s));
    }

    fn dump(obj: InMemDicomObject, max: usize) -> Vec<TagRow> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(obj, uids::EXPLICIT_VR_LITTLE_ENDIAN, dir.path(), "a.dcm");
        dump_tags(&path, max).unwrap()
    }

    #[test]
    fn values_are_summarised_truncated_and_escaped() {
        let mut obj = base_object();
        let ipp: Vec<String> = vec!["-1.5".into(), "2".into(), "3.25".into()];
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        for (tag, vr, v) in [
            (tags::STUDY_DESCRIPTION, VR::LO, "x".repeat(200).into()),
            (tags::SERIES_DESCRIPTION, VR::LO, "a\u{1b}[2Jb\nc".into()),
            (
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                PrimitiveValue::Strs(ipp.into()),
            ),
            (
                tags::FRAME_INCREMENT_POINTER,
                VR::AT,
                tags::FRAME_TIME.into(),
            ),
            (Tag(0x0009, 0x0010), VR::LO, "ACME".into()),
            (
                Tag(0x0009, 0x1001),
                VR::OB,
                PrimitiveValue::U8(vec![7; 100].into()),
            ),
            (
                Tag(0x0009, 0x1002),
                VR::OB,
                PrimitiveValue::U8(vec![0, 1].into()),
            ),
            (
                Tag(0x0009, 0x1003),
                VR::FD,
                PrimitiveValue::F64(many.into()),
            ),
        ] {
            put(&mut obj, tag, vr, v);
        }
        let rows = dump(obj, 40);

        let long = find(&rows, "(0008,1030)");
        assert_eq!(long.value.chars().count(), 40);
        assert!(long.value.ends_with('…'));
        assert_eq!(find(&rows, "(0008,103E)").value, "a\\u{1b}[2Jb\\nc");
        assert!(rows.iter().all(|r| !r.value.chars().any(char::is_control)));
        assert_eq!(find(&rows, "(0020,0032)").value, "-1.5\\2\\3.25");
        assert_eq!(find(&rows, "(0028,0009)").value, "(0018,1063)");
        assert_eq!(
            cells(&rows, "(0009,0010)"),
            ("LO", "PrivateCreator", "ACME")
        );
        assert_eq!(cells(&rows, "(0009,1001)"), ("OB", "", "<100 bytes>"));
        assert_eq!(find(&rows, "(0009,1002)").value, "00\\01");
        let many = find(&rows, "(0009,1003)");
        assert!(many.value.starts_with("0\\1\\2\\") && many.value.ends_with('…'));
    }

    #[test]
    fn sequences_are_indented_inherit_identifying_and_stop_at_max_depth() {
        let mut obj = base_object();
        // A person sequence: everything inside is identifying.
        let mut other_id = InMemDicomObject::new_empty();
        put(&mut other_id, tags::PATIENT_ID, VR::LO, "OTHER-7");
        put(&mut other_id, tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT");
        put_seq(&mut obj, tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![other_id]);
        let items = ["1.2.3", "1.2.4"].map(|uid| {
            let mut it = InMemDicomObject::new_empty();
            put(&mut it, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid);
            it
        });
        put_seq(&mut obj, tags::REFERENCED_IMAGE_SEQUENCE, items.to_vec());
        let mut nested = InMemDicomObject::new_empty();
        put(&mut nested, tags::CODE_VALUE, VR::SH, "leaf");
        for _ in 0..=20 {
            let mut outer = InMemDicomObject::new_empty();
            put_seq(&mut outer, tags::CONTENT_SEQUENCE, vec![nested]);
            nested = outer;
        }
        obj.put(nested.take(tags::CONTENT_SEQUENCE).unwrap());
        let rows = dump(obj, 40);

        // The SQ row, then per item an item row and its elements.
        let i = rows.iter().position(|r| r.tag == "(0008,1140)").unwrap();
        assert_eq!(rows[i].value, "<2 items>");
        let seq: Vec<(usize, &str, &str)> = rows[i + 1..i + 5]
            .iter()
            .map(|r| (r.depth, r.tag.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            seq,
            [
                (1, ITEM_TAG, "1 of 2"),
                (1, "(0008,1155)", "1.2.3"),
                (1, ITEM_TAG, "2 of 2"),
                (1, "(0008,1155)", "1.2.4"),
            ]
        );
        assert_eq!(rows[i + 5].depth, 0);
        // Identifying sequences flag their whole content.
        let j = rows.iter().position(|r| r.tag == "(0010,1002)").unwrap();
        assert!(rows[j..j + 4].iter().all(|r| r.identifying));
        assert_eq!(rows[j + 2].value, "OTHER-7");
        assert!(!find(&rows, "(0008,1155)").identifying);
        // Depth is capped; the cut is marked.
        assert_eq!(rows.iter().map(|r| r.depth).max(), Some(MAX_DEPTH + 1));
        let cut: Vec<&TagRow> = rows.iter().filter(|r| r.depth == MAX_DEPTH + 1).collect();
        assert_eq!(cut.len(), 1);
        assert!(cut[0].value.starts_with("<nested deeper"));
        assert!(!rows.iter().any(|r| r.value == "leaf"));
    }

    #[test]
    fn encapsulated_pixel_data_counts_fragments() {
        let mut obj = base_object();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new(vec![], vec![vec![1u8; 10], vec![2u8; 6]]),
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = write(obj, uids::RLE_LOSSLESS, dir.path(), "rle.dcm");
        let rows = dump_tags(&path, 0).unwrap();
        assert_eq!(
            find(&rows, "(7FE0,0010)").value,
            "<encapsulated: 2 fragments, 16 bytes>"
        );
    }

    #[test]
    fn garbage_and_truncated_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.dcm");
        std::fs::write(&junk, b"this is not DICOM at all, just text").unwrap();
        assert!(matches!(dump_tags(&junk, 80), Err(DicomError::Read { .. })));
        assert!(dump_tags(&dir.path().join("missing.dcm"), 80).is_err());

        let paths = tiny_series(dir.path(), &SeriesWriteOptions::default());
        let bytes = std::fs::read(&paths[0]).unwrap();
        for cut in [133, 200, 300, bytes.len() / 2, bytes.len() - 1] {
            let p = dir.path().join(format!("cut{cut}.dcm"));
            std::fs::write(&p, &bytes[..cut]).unwrap();
            // Either a clean error or whatever could be read; never a panic.
            if let Ok(rows) = dump_tags(&p, 80) {
                assert!(rows.iter().all(|r| r.depth <= MAX_DEPTH + 1));
            }
        }
    }

    /// The shared real data (`HOUNSFIELD_DATA`, else `../shared/data`);
    /// `None` (skip) when missing, a failure under `CI=true`.
    fn data_dir(sub: &str) -> Option<PathBuf> {
        let root = std::env::var_os("HOUNSFIELD_DATA").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
            PathBuf::from,
        );
        let p = root.join(sub);
        if p.exists() {
            return Some(p);
        }
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "real test data missing at {p:?} (CI=true: failing instead of skipping)"
        );
        eprintln!("SKIP: real test data missing at {p:?}; set HOUNSFIELD_DATA");
        None
    }

    #[test]
    fn real_files_dump_with_keywords_pixel_sizes_and_fragments() {
        let Some(dir) = data_dir("chest-ct") else {
            return;
        };
        let rows = dump_tags(&dir.join("00-slice000.dcm"), 80).unwrap();
        assert_eq!(find(&rows, "(0028,0010)").keyword, "Rows");
        assert_eq!(find(&rows, "(0028,0010)").value, "512");
        assert_eq!(find(&rows, "(0008,0060)").value, "CT");
        assert_eq!(
            find(&rows, "(7FE0,0010)").value,
            format!("<pixel data: {} bytes>", 512 * 512 * 2)
        );
        assert!(find(&rows, "(0010,0010)").identifying);
        let Some(dir) = data_dir("transfer-syntaxes") else {
            return;
        };
        let jpeg = "CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm";
        let rows = dump_tags(&dir.join(jpeg), 80).unwrap();
        let px = find(&rows, "(7FE0,0010)");
        assert!(px.value.starts_with("<encapsulated: 1 fragment,"), "{px:?}");
    }

    #[test]
    fn hostile_and_odd_real_files_never_panic() {
        let Some(root) = data_dir("edge-cases") else {
            return;
        };
        let dirs = [
            Some(root.clone()),
            data_dir("transfer-syntaxes"),
            data_dir("multiframe"),
        ];
        let files: Vec<PathBuf> = dirs
            .iter()
            .flatten()
            .flat_map(|d| walkdir::WalkDir::new(d).sort_by_file_name())
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .collect();
        let (mut ok, mut failed) = (0, 0);
        for f in &files {
            match dump_tags(f, 80) {
                Ok(rows) => {
                    ok += 1;
                    for r in &rows {
                        assert!(r.depth <= MAX_DEPTH + 1, "{f:?}");
                        assert!(r.value.chars().count() <= 80, "{f:?}: {r:?}");
                        assert!(!r.value.chars().any(char::is_control), "{f:?}: {r:?}");
                    }
                }
                Err(_) => failed += 1,
            }
        }
        eprintln!("{ok} files dumped, {failed} refused");
        assert!(ok > 100, "{ok} dumped, {failed} refused");
        // The pre-flight refuses the deeply nested file before any recursion.
        let deep = root.join("orthanc/2026-05-06-Deeply-Nested-Sequence.dcm");
        assert!(dump_tags(&deep, 80).is_err());
    }
}
