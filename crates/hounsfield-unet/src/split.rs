//! The patient-level train/validation split, stratified by a metadata string (such as sex).
//!
//! Rows are cases (a series with its label); rows with the same patient id always land on the
//! same side, so no patient's slices are in both sets. Within each stratum the patients are
//! shuffled from the seed and `round(n · val_fraction)` of them are held out, but never all: a
//! stratum of one patient keeps it for training. A patient whose rows disagree on the stratum
//! takes the stratum of its first row; a missing stratum is a stratum of its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// One row to split: the patient it belongs to and its stratum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTag {
    /// Patient (or case) identifier; rows sharing it stay together.
    pub patient: String,
    /// Stratum such as the patient's sex; `None` when unknown.
    pub stratum: Option<String>,
}

/// Row indices on each side, ascending.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Rows used for training.
    pub train: Vec<usize>,
    /// Rows held out for validation.
    pub val: Vec<usize>,
}

/// Splits rows by patient, stratified, deterministic from `seed`.
pub fn split_patients(rows: &[CaseTag], val_fraction: f64, seed: u64) -> Split {
    let mut stratum_of: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for row in rows {
        stratum_of
            .entry(row.patient.as_str())
            .or_insert(row.stratum.as_deref());
    }
    let mut strata: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
    for (patient, stratum) in &stratum_of {
        strata.entry(*stratum).or_default().push(patient);
    }
    let mut rng = Rng::new(seed ^ 0x5EED_5EED);
    let mut held_out: Vec<&str> = Vec::new();
    for patients in strata.values_mut() {
        // `patients` is sorted (from the BTreeMap), so the shuffle depends on the seed only.
        rng.shuffle(patients);
        let n = patients.len();
        let n_val = ((n as f64 * val_fraction.clamp(0.0, 1.0)).round() as usize).min(n - 1);
        held_out.extend(&patients[..n_val]);
    }
    let mut split = Split::default();
    for (index, row) in rows.iter().enumerate() {
        if held_out.contains(&row.patient.as_str()) {
            split.val.push(index);
        } else {
            split.train.push(index);
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn tag(patient: &str, stratum: Option<&str>) -> CaseTag {
        CaseTag {
            patient: patient.to_owned(),
            stratum: stratum.map(str::to_owned),
        }
    }

    #[test]
    fn patients_never_straddle_and_strata_are_balanced() {
        // 6 women and 3 men, some with two series each.
        let mut rows = Vec::new();
        for i in 0..6 {
            rows.push(tag(&format!("F{i}"), Some("F")));
            if i % 2 == 0 {
                rows.push(tag(&format!("F{i}"), Some("F")));
            }
        }
        for i in 0..3 {
            rows.push(tag(&format!("M{i}"), Some("M")));
            rows.push(tag(&format!("M{i}"), Some("M")));
        }
        for seed in 0..20 {
            let split = split_patients(&rows, 1.0 / 3.0, seed);
            assert_eq!(split.train.len() + split.val.len(), rows.len());
            let side = |indices: &[usize]| -> BTreeSet<&str> {
                indices.iter().map(|&i| rows[i].patient.as_str()).collect()
            };
            let (train, val) = (side(&split.train), side(&split.val));
            assert!(train.is_disjoint(&val), "seed {seed}: {train:?} / {val:?}");
            // 2 of 6 women and 1 of 3 men are held out.
            assert_eq!(val.iter().filter(|p| p.starts_with('F')).count(), 2);
            assert_eq!(val.iter().filter(|p| p.starts_with('M')).count(), 1);
            assert_eq!(split, split_patients(&rows, 1.0 / 3.0, seed));
        }
        let a = split_patients(&rows, 1.0 / 3.0, 1);
        assert!((2..40).any(|s| split_patients(&rows, 1.0 / 3.0, s) != a));
    }

    #[test]
    fn small_strata_keep_their_patient_for_training() {
        let rows = vec![
            tag("real", Some("chest")),
            tag("p1", Some("phantom")),
            tag("p2", Some("phantom")),
            tag("p3", Some("phantom")),
            tag("x", None),
        ];
        let split = split_patients(&rows, 1.0 / 3.0, 0);
        assert!(split.train.contains(&0));
        assert!(split.train.contains(&4));
        assert_eq!(split.val.len(), 1);
        assert!(split_patients(&rows, 0.0, 0).val.is_empty());
    }
}
