//! The consistency section of the survey: every compared field whose value
//! differs across series, with the rows holding each value and the rows
//! outside the majority.
//!
//! Compared ([`COMPARED_FIELDS`]): modality, manufacturer, model, KVP, body
//! part, matrix, pixel spacing, slice spacing (from positions), slice
//! thickness, orientation, rescale slope and intercept, patient position,
//! transfer syntax and PatientIdentityRemoved. Numbers are compared after
//! rounding (spacing and thickness to 1e-3 mm, KVP to 0.1 kV, slope to 1e-4,
//! intercept to 1e-3 HU). Not compared, because they legitimately differ
//! per series or per patient: UIDs, folders, descriptions, slice counts,
//! patient sex, birth date and age, validation badges.
//! An absent value counts as its own value (`(absent)`).

use serde::Serialize;

use super::SurveyRow;

/// A field that differs across series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inconsistency {
    /// Field name (one of [`COMPARED_FIELDS`]).
    pub field: String,
    /// Each distinct value with the row indices holding it, in order of
    /// first appearance.
    pub values: Vec<(String, Vec<usize>)>,
    /// The majority value (most rows; ties go to the first seen).
    pub majority: String,
    /// Rows not holding the majority value, ascending.
    pub odd_rows: Vec<usize>,
}

/// The text shown for an absent value.
pub const ABSENT: &str = "(absent)";

type Key = fn(&SurveyRow) -> Option<String>;

fn fmt_num(v: Option<f64>, decimals: usize) -> Option<String> {
    // `+ 0.0` turns -0.0 into 0.0 so that both compare equal.
    v.map(|x| format!("{:.*}", decimals, x + 0.0))
}

/// The compared fields and how each is turned into a comparable string.
const FIELDS: [(&str, Key); 15] = [
    ("modality", |r| r.modality.clone()),
    ("manufacturer", |r| r.manufacturer.clone()),
    ("model", |r| r.model.clone()),
    ("kvp", |r| fmt_num(r.kvp, 1)),
    ("body_part", |r| r.body_part.clone()),
    ("matrix", |r| {
        Some(format!("{}x{}", r.matrix[0], r.matrix[1]))
    }),
    ("pixel_spacing_mm", |r| {
        r.pixel_spacing_mm
            .map(|[a, b]| format!("{:.3}\\{:.3}", a + 0.0, b + 0.0))
    }),
    ("slice_spacing_mm", |r| fmt_num(r.slice_spacing_mm, 3)),
    ("slice_thickness_mm", |r| fmt_num(r.slice_thickness_mm, 3)),
    ("orientation", |r| r.orientation.clone()),
    ("rescale_slope", |r| fmt_num(r.rescale_slope, 4)),
    ("rescale_intercept", |r| fmt_num(r.rescale_intercept, 3)),
    ("patient_position", |r| r.patient_position.clone()),
    ("transfer_syntax", |r| Some(r.transfer_syntax.clone())),
    ("patient_identity_removed", |r| {
        r.patient_identity_removed.clone()
    }),
];

/// Names of the fields [`inconsistencies`] compares, in report order.
pub const COMPARED_FIELDS: [&str; 15] = {
    let mut names = [""; 15];
    let mut i = 0;
    while i < FIELDS.len() {
        names[i] = FIELDS[i].0;
        i += 1;
    }
    names
};

/// Every compared field with more than one distinct value across `rows`, in
/// [`COMPARED_FIELDS`] order. Row indices are [`SurveyRow::index`].
pub fn inconsistencies(rows: &[SurveyRow]) -> Vec<Inconsistency> {
    FIELDS
        .iter()
        .filter_map(|(name, key)| {
            let mut values: Vec<(String, Vec<usize>)> = Vec::new();
            for r in rows {
                let v = key(r).unwrap_or_else(|| ABSENT.to_owned());
                match values.iter_mut().find(|(x, _)| *x == v) {
                    Some((_, idx)) => idx.push(r.index),
                    None => values.push((v, vec![r.index])),
                }
            }
            if values.len() < 2 {
                return None;
            }
            // The first group with the most rows.
            let best = values.iter().enumerate().fold(0, |b, (i, v)| {
                if v.1.len() > values[b].1.len() { i } else { b }
            });
            let mut odd_rows: Vec<usize> = values
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != best)
                .flat_map(|(_, v)| v.1.iter().copied())
                .collect();
            odd_rows.sort_unstable();
            Some(Inconsistency {
                field: (*name).to_owned(),
                majority: values[best].0.clone(),
                values,
                odd_rows,
            })
        })
        .collect()
}
