//! The survey as CSV: a header row, then one row per series (RFC 4180:
//! comma separated, CRLF-free `\n` line ends, fields quoted when they hold a
//! comma, quote or line break, quotes doubled). Empty fields are absent
//! values. Patient names and IDs appear only as presence flags.

use std::fmt::Write as _;

use super::{Survey, SurveyRow};

/// The CSV header, in column order.
pub const COLUMNS: [&str; 44] = [
    "index",
    "folder",
    "series_uid",
    "study_description",
    "series_description",
    "patient_identity_removed",
    "has_patient_name",
    "has_patient_id",
    "sex",
    "birth_date",
    "age",
    "kvp",
    "manufacturer",
    "model",
    "modality",
    "body_part",
    "slices",
    "rows",
    "cols",
    "pixel_spacing_row_mm",
    "pixel_spacing_col_mm",
    "slice_spacing_mm",
    "slice_thickness_mm",
    "orientation",
    "rescale_slope",
    "rescale_intercept",
    "rescale_varies",
    "patient_position",
    "transfer_syntax",
    "badge",
    "p1_hu",
    "p25_hu",
    "p50_hu",
    "p75_hu",
    "p99_hu",
    "winsor_lo_hu",
    "winsor_hi_hu",
    "histogram_note",
    "identifying",
    "shifted",
    "shift_hu",
    "roi_names",
    "inconsistent_fields",
    "flagged",
];

/// Quote `s` for CSV when needed (RFC 4180).
pub fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn opt(v: Option<&String>) -> String {
    v.cloned().unwrap_or_default()
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

fn num1(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_default()
}

/// The fields of one row, in [`COLUMNS`] order.
fn fields(r: &SurveyRow, inconsistent: &str) -> Vec<String> {
    let p = |k: usize| num1(r.percentiles_hu.map(|p| p[k]));
    let w = |k: usize| num1(r.winsor_hu.map(|w| w[k]));
    vec![
        r.index.to_string(),
        r.folder.clone(),
        r.series_uid.clone(),
        opt(r.study_description.as_ref()),
        opt(r.series_description.as_ref()),
        opt(r.patient_identity_removed.as_ref()),
        r.has_patient_name.to_string(),
        r.has_patient_id.to_string(),
        opt(r.sex.as_ref()),
        opt(r.birth_date.as_ref()),
        opt(r.age.as_ref()),
        num(r.kvp),
        opt(r.manufacturer.as_ref()),
        opt(r.model.as_ref()),
        opt(r.modality.as_ref()),
        opt(r.body_part.as_ref()),
        r.slices.to_string(),
        r.matrix[0].to_string(),
        r.matrix[1].to_string(),
        num(r.pixel_spacing_mm.map(|s| s[0])),
        num(r.pixel_spacing_mm.map(|s| s[1])),
        num(r.slice_spacing_mm.map(|s| (s * 1e6).round() / 1e6)),
        num(r.slice_thickness_mm),
        opt(r.orientation.as_ref()),
        num(r.rescale_slope),
        num(r.rescale_intercept),
        r.rescale_varies.to_string(),
        opt(r.patient_position.as_ref()),
        r.transfer_syntax.clone(),
        r.badge.clone(),
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        w(0),
        w(1),
        opt(r.histogram_note.as_ref()),
        r.identifying.to_string(),
        r.shifted.to_string(),
        num1(r.shift_hu),
        r.roi_names.join(";"),
        inconsistent.to_owned(),
        (r.flagged() || !inconsistent.is_empty()).to_string(),
    ]
}

/// Names of the fields in which row `index` is an odd one out, `;`-joined.
pub fn odd_fields(s: &Survey, index: usize) -> String {
    s.inconsistencies
        .iter()
        .filter(|i| i.odd_rows.contains(&index))
        .map(|i| i.field.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// The survey table as CSV text (header + one line per row).
pub fn to_csv(s: &Survey) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for r in &s.rows {
        let line: Vec<String> = fields(r, &odd_fields(s, r.index))
            .iter()
            .map(|f| quote(f))
            .collect();
        writeln!(out, "{}", line.join(",")).ok();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_rfc_4180() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
    }
}
