//! Small typed accessors over dicom-rs objects: absent or malformed values
//! become `None`, never a panic. Used only inside `dicom/`.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

/// Trimmed string value, `None` when absent, malformed or empty.
pub(crate) fn string(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let elem = obj.element_opt(tag).ok().flatten()?;
    let s = elem.to_str().ok()?;
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_owned())
}

/// All values of a multi-valued string attribute (split on `\`), trimmed.
pub(crate) fn strings(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    string(obj, tag)
        .map(|s| {
            s.split('\\')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Numeric values as `f64` (DS, IS, FD, FL, US...), `None` when absent or
/// malformed, or when any value is not finite.
pub(crate) fn f64s(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let elem = obj.element_opt(tag).ok().flatten()?;
    let v = elem.to_multi_float64().ok()?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

/// First numeric value as `f64`.
pub(crate) fn f64_1(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    f64s(obj, tag).and_then(|v| v.first().copied())
}

/// Integer value (first of a multi-value).
pub(crate) fn int<T>(obj: &InMemDicomObject, tag: Tag) -> Option<T>
where
    T: TryFrom<i64>,
{
    let elem = obj.element_opt(tag).ok().flatten()?;
    let v: i64 = elem
        .to_int::<i64>()
        .ok()
        .or_else(|| elem.to_float64().ok().map(|f| f as i64))?;
    T::try_from(v).ok()
}

/// Items of a sequence attribute (empty when absent or not a sequence).
pub(crate) fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.items())
        .unwrap_or(&[])
}

/// The first item of a sequence attribute.
pub(crate) fn item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    items(obj, tag).first()
}

/// `(gggg,eeee)` text of a tag, for error messages.
pub(crate) fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}
