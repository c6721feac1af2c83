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
use super::open::{Extent, check_structure, open_object};

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
/// let rows = hounsfield_core::dicom::tags::dump_tags(std::path::Path::new("slice.dcm"), 80)?;
/// for r in &rows {
///     println!("{}{} {} {} {}", "  ".repeat(r.depth), r.tag, r.vr, r.keyword, r.shown_value(false));
/// }
/// # Ok::<(), hounsfield_core::dicom::DicomError>(())
/// ```
pub fn dump_tags(path: &Path, max_value_chars: usize) -> Result<Vec<TagRow>, DicomError> {
    check_structure(path, Extent::Whole)?;
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
mod tests;
