//! `survey`: a folder of phantom series with deliberate differences is
//! flagged exactly on those; the real data folder is surveyed without a
//! crash and its CSV parses; the output is deterministic.

use crate::common;

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use hounsfield::dicom;
use hounsfield::dicom::write::{SeriesWriteOptions, write_series};
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::survey::{self, SurveyParams};

/// Rewrite every file of `files`: drop the birth date, and set the
/// RescaleIntercept (stored values unchanged) when given.
fn rewrite(files: &[PathBuf], intercept: Option<&str>) {
    for f in files {
        let mut obj = dicom_object::open_file(f).expect("open");
        obj.remove_element(tags::PATIENT_BIRTH_DATE);
        if let Some(v) = intercept {
            obj.put(DataElement::new(
                tags::RESCALE_INTERCEPT,
                VR::DS,
                PrimitiveValue::from(v),
            ));
        }
        obj.write_to_file(f).expect("write");
    }
}

/// Five series under `root`: two normal ones, one with RescaleIntercept
/// −1000 over the same stored values (HU +24), one with another pixel
/// spacing, one with the patient name left in. All say
/// PatientIdentityRemoved YES; birth dates are removed from all.
fn phantom_folder(root: &Path) {
    let params = PhantomParams {
        dims: [16, 48, 48],
        ..Default::default()
    };
    let cases: [(&str, &str, Option<&str>, f64); 5] = [
        ("s0", "A normal", None, 1.0),
        ("s1", "B normal", None, 1.0),
        ("s2", "C intercept", Some("-1000"), 1.0),
        ("s3", "D spacing", None, 0.8),
        ("s4", "E name", None, 1.0),
    ];
    for (k, (dir, desc, intercept, spacing_factor)) in cases.into_iter().enumerate() {
        let ph = phantom::chest(&PhantomParams {
            seed: 100 + k as u64,
            ..params
        });
        let mut vol = ph.volume;
        vol.geometry.spacing_mm.x *= spacing_factor;
        vol.geometry.spacing_mm.y *= spacing_factor;
        let opts = SeriesWriteOptions {
            seed: 7 + k as u64,
            series_description: desc.to_owned(),
            patient_name: if desc == "E name" {
                "Doe^Jane".to_owned()
            } else {
                String::new()
            },
            patient_id: "ANON-0001".to_owned(),
            ..Default::default()
        };
        let out = root.join(dir);
        std::fs::create_dir_all(&out).expect("create dir");
        let files = write_series(&vol, &out, &opts).expect("write series");
        rewrite(&files, intercept);
    }
}

fn survey_of(root: &Path, params: &SurveyParams) -> survey::Survey {
    let report = dicom::scan(&[root.to_owned()]);
    survey::survey(&report, params)
}

#[test]
fn phantom_folder_is_flagged_exactly_on_the_planted_differences() {
    let tmp = common::tempdir();
    phantom_folder(tmp.path());
    let s = survey_of(tmp.path(), &SurveyParams::default());
    let labels: Vec<String> = s.rows.iter().map(survey::SurveyRow::short_label).collect();
    assert_eq!(
        labels,
        ["A normal", "B normal", "C intercept", "D spacing", "E name"]
    );

    let shifted: Vec<usize> = s
        .rows
        .iter()
        .filter(|r| r.shifted)
        .map(|r| r.index)
        .collect();
    assert_eq!(
        shifted,
        [2],
        "shift offsets: {:?}",
        s.rows.iter().map(|r| r.shift_hu).collect::<Vec<_>>()
    );
    let shift = s.rows[2].shift_hu.unwrap();
    assert!((shift - 24.0).abs() <= 2.0, "shift {shift}");

    let identifying: Vec<usize> = s
        .rows
        .iter()
        .filter(|r| r.identifying)
        .map(|r| r.index)
        .collect();
    assert_eq!(identifying, [4]);

    let fields: Vec<(&str, &[usize])> = s
        .inconsistencies
        .iter()
        .map(|i| (i.field.as_str(), i.odd_rows.as_slice()))
        .collect();
    assert_eq!(
        fields,
        [
            ("pixel_spacing_mm", &[3][..]),
            ("rescale_intercept", &[2][..]),
        ]
    );
    let spacing = &s.inconsistencies[0];
    assert_eq!(spacing.majority, "2.734\\2.734");

    // every row has percentiles and a histogram on the common grid
    assert_eq!(s.histograms.len(), 5);
    assert!(s.rows.iter().all(|r| r.percentiles_hu.is_some()));

    // CSV: header + 5 rows, all with the header's field count
    let csv = survey::csv::to_csv(&s);
    let records = parse_csv(&csv);
    assert_eq!(records.len(), 6);
    assert!(
        records
            .iter()
            .all(|r| r.len() == survey::csv::COLUMNS.len())
    );
    // no identifier values anywhere in the outputs
    let json = survey::to_json(&s);
    for text in [&csv, &json] {
        assert!(!text.contains("Doe^Jane") && !text.contains("ANON-0001"));
    }

    // the PNG draws
    let img = survey::plot::histograms_png(&s).unwrap();
    assert!(img.width() > 900 && img.height() >= 460);
}

#[test]
fn survey_is_deterministic() {
    let tmp = common::tempdir();
    phantom_folder(tmp.path());
    let a = survey_of(tmp.path(), &SurveyParams::default());
    let b = survey_of(tmp.path(), &SurveyParams::default());
    assert_eq!(survey::to_json(&a), survey::to_json(&b));
    assert_eq!(survey::csv::to_csv(&a), survey::csv::to_csv(&b));
    assert_eq!(
        survey::plot::histograms_png(&a).unwrap().as_raw(),
        survey::plot::histograms_png(&b).unwrap().as_raw()
    );
}

#[test]
fn headers_only_survey_has_no_histograms_and_no_shift_flags() {
    let tmp = common::tempdir();
    phantom_folder(tmp.path());
    let s = survey_of(
        tmp.path(),
        &SurveyParams {
            with_histograms: false,
            ..Default::default()
        },
    );
    assert!(s.histograms.is_empty());
    assert!(
        s.rows
            .iter()
            .all(|r| !r.shifted && r.percentiles_hu.is_none())
    );
    assert_eq!(s.inconsistencies.len(), 2);
}

#[test]
fn real_data_survey_completes_and_its_csv_parses() {
    let Some(root) = common::data_dir("") else {
        eprintln!("skipped: no shared data");
        return;
    };
    let tmp = common::tempdir();
    let csv_path = tmp.path().join("survey.csv");
    let json_path = tmp.path().join("survey.json");
    let png_path = tmp.path().join("survey.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .arg("survey")
        .arg(&root)
        .arg("--csv")
        .arg(&csv_path)
        .arg("--json")
        .arg(&json_path)
        .arg("--histograms")
        .arg(&png_path)
        .output()
        .expect("run hounsfield");
    assert!(
        out.status.success(),
        "survey failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Inconsistent fields"));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let records = parse_csv(&csv);
    assert!(records.len() > 1, "no rows");
    for (k, r) in records.iter().enumerate() {
        assert_eq!(r.len(), survey::csv::COLUMNS.len(), "record {k}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), records.len() - 1);
    assert!(image::open(&png_path).is_ok());

    // the library, headers only, agrees on the row count
    let s = survey_of(
        &root,
        &SurveyParams {
            with_histograms: false,
            ..Default::default()
        },
    );
    assert_eq!(s.rows.len(), records.len() - 1);
}

/// A small RFC 4180 parser: records of fields (quoted fields may hold
/// commas, doubled quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(field.is_empty(), "quote inside an unquoted field");
                quoted = true;
            }
            ',' => record.push(std::mem::take(&mut field)),
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            '\r' => {}
            _ => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}
