#![allow(clippy::unwrap_used)] // a panic is a test failure here
#![allow(clippy::float_cmp)] // known answers are exact

use ndarray::Array3;

use super::png::{OverlapPngParams, overlap_png};
use super::surface::percentile_sorted;
use super::*;
use crate::volume::{Geometry, Volume};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn hand_computed_line() {
    // test = {0, 1}, reference = {1} on a 1×1×4 grid of 1 mm voxels.
    let mut t = Array3::from_elem((1, 1, 4), false);
    let mut r = t.clone();
    t[[0, 0, 0]] = true;
    t[[0, 0, 1]] = true;
    r[[0, 0, 1]] = true;
    let m = overlap(t.view(), r.view(), [1.0; 3], "line").unwrap();
    assert_eq!(
        (
            m.true_positive,
            m.false_positive,
            m.false_negative,
            m.true_negative
        ),
        (1, 1, 0, 2)
    );
    assert!(close(m.dice, 2.0 / 3.0) && close(m.jaccard, 0.5));
    assert_eq!(m.sensitivity, Some(1.0));
    assert!(close(m.specificity.unwrap(), 2.0 / 3.0));
    assert!(close(m.volume_difference_ml, 0.001));
    assert!(close(m.relative_volume_difference.unwrap(), 1.0));
    // Distances: test→reference {1, 0}, reference→test {0}; pooled
    // [0, 0, 1]: p95 = 0.9, max 1, mean of directed means (0.5 + 0) / 2.
    assert!(close(m.hausdorff95_mm.unwrap(), 0.9));
    assert_eq!(m.hausdorff_mm, Some(1.0));
    assert!(close(m.mean_surface_distance_mm.unwrap(), 0.25));
}

#[test]
fn shifted_cubes_on_an_anisotropic_grid() {
    // 4×4×4 cubes, the test one shifted by one slice (2.5 mm).
    let mut t = Array3::from_elem((8, 6, 6), false);
    let mut r = t.clone();
    for z in 2..6 {
        for y in 1..5 {
            for x in 1..5 {
                r[[z, y, x]] = true;
                t[[z + 1, y, x]] = true;
            }
        }
    }
    let m = overlap(t.view(), r.view(), [2.5, 1.0, 1.0], "cube").unwrap();
    assert!(close(m.dice, 2.0 * 48.0 / 128.0));
    assert!(close(m.jaccard, 48.0 / 80.0));
    assert!(close(m.sensitivity.unwrap(), 0.75));
    assert_eq!(m.hausdorff_mm, Some(2.5));
    // Single voxels one slice apart: every distance is the slice spacing.
    let mut a = Array3::from_elem((3, 3, 3), false);
    let mut b = a.clone();
    a[[0, 1, 1]] = true;
    b[[1, 1, 1]] = true;
    let m = overlap(a.view(), b.view(), [2.5, 0.5, 0.5], "dots").unwrap();
    assert_eq!(m.dice, 0.0);
    assert!(close(m.hausdorff95_mm.unwrap(), 2.5));
    assert!(close(m.mean_surface_distance_mm.unwrap(), 2.5));
}

#[test]
fn empty_masks_are_defined() {
    let e = Array3::from_elem((2, 3, 4), false);
    let mut one = e.clone();
    one[[1, 1, 1]] = true;
    let both = overlap(e.view(), e.view(), [1.0; 3], "empty").unwrap();
    assert_eq!((both.dice, both.jaccard), (1.0, 1.0));
    assert_eq!(both.sensitivity, None);
    assert_eq!(both.specificity, Some(1.0));
    assert_eq!(both.relative_volume_difference, None);
    assert_eq!(both.hausdorff95_mm, Some(0.0));
    assert_eq!(both.mean_surface_distance_mm, Some(0.0));
    let missed = overlap(e.view(), one.view(), [1.0; 3], "missed").unwrap();
    assert_eq!((missed.dice, missed.jaccard), (0.0, 0.0));
    assert_eq!(missed.sensitivity, Some(0.0));
    assert_eq!(missed.hausdorff95_mm, None);
    assert_eq!(missed.mean_surface_distance_mm, None);
    let extra = overlap(one.view(), e.view(), [1.0; 3], "extra").unwrap();
    assert_eq!(extra.sensitivity, None);
    assert_eq!(extra.relative_volume_difference, None);
    let full = Array3::from_elem((2, 3, 4), true);
    let all = overlap(full.view(), full.view(), [1.0; 3], "all").unwrap();
    assert_eq!(all.specificity, None);
    assert_eq!(all.dice, 1.0);
    let report = Report {
        dims: [2, 3, 4],
        spacing_zyx_mm: [1.0; 3],
        labels: vec![missed],
    };
    assert!(report.to_json().contains("\"hausdorff95_mm\": null"));
}

#[test]
fn errors_on_shape_and_spacing() {
    let a = Array3::from_elem((2, 3, 4), false);
    let b = Array3::from_elem((2, 3, 5), false);
    assert!(matches!(
        overlap(a.view(), b.view(), [1.0; 3], "x"),
        Err(MetricsError::Shape { .. })
    ));
    assert!(overlap(a.view(), a.view(), [1.0, -1.0, 1.0], "x").is_err());
}

#[test]
fn label_pairs_and_report() {
    let mut t = Array3::<u8>::zeros((1, 2, 4));
    let mut r = Array3::<u16>::zeros((1, 2, 4));
    t[[0, 0, 0]] = 1;
    t[[0, 0, 1]] = 2;
    r[[0, 0, 0]] = 1;
    r[[0, 0, 1]] = 1;
    let tv = present_values(t.view());
    let rv = present_values(r.view());
    assert_eq!((tv.clone(), rv.clone()), (vec![0, 1, 2], vec![0, 1]));
    let name = |v: u16| (v == 1).then(|| "one".to_owned());
    // A binary reference against two test labels: only "all".
    let pairs = default_pairs(&tv, &rv, name);
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].test_values, vec![1, 2]);
    let rep = compare_labels(t.view(), r.view(), [1.0; 3], &pairs).unwrap();
    assert_eq!(rep.labels[0].dice, 1.0);
    // The same labels on both sides: "all" and one pair per label.
    r[[0, 0, 1]] = 2;
    r[[0, 1, 3]] = 1;
    let pairs = default_pairs(&tv, &present_values(r.view()), name);
    assert_eq!(pairs.len(), 3);
    assert_eq!(pairs[1].name, "one");
    let rep = compare_labels(t.view(), r.view(), [1.0; 3], &pairs).unwrap();
    assert!(close(rep.labels[0].dice, 0.8));
    assert!(close(rep.labels[1].dice, 2.0 / 3.0));
    assert_eq!(rep.labels[2].dice, 1.0);
    let json: serde_json::Value = serde_json::from_str(&rep.to_json()).unwrap();
    assert_eq!(json["labels"][1]["name"], "one");
}

#[test]
fn percentile_is_numpy_linear() {
    assert_eq!(percentile_sorted(&[], 95.0), 0.0);
    assert_eq!(percentile_sorted(&[3.0], 95.0), 3.0);
    assert!(close(
        percentile_sorted(&[0.0, 1.0, 2.0, 3.0, 4.0], 95.0),
        3.8
    ));
}

#[test]
fn overlap_picture_has_three_panels_and_colours() {
    let mut g = Geometry::identity([10, 20, 30]);
    g.spacing_mm = glam::DVec3::new(1.0, 1.0, 2.0);
    let ct = Volume::from_i16(Array3::from_elem((10, 20, 30), -800), g);
    let mut t = Array3::from_elem((10, 20, 30), false);
    let mut r = t.clone();
    for z in 3..7 {
        for y in 5..15 {
            for x in 5..20 {
                r[[z, y, x]] = true;
                t[[z, y, x + 3]] = true;
            }
        }
    }
    let img = overlap_png(&ct, t.view(), r.view(), &OverlapPngParams::default()).unwrap();
    assert!(img.width() >= 30 + 30 + 20);
    // Each colour shows: a pixel where its channel clearly dominates.
    let has = |ch: usize| {
        img.pixels()
            .any(|p| (0..3).all(|o| o == ch || i32::from(p.0[ch]) > i32::from(p.0[o]) + 40))
    };
    assert!(has(0) && has(1) && has(2));
    let bad = Array3::from_elem((1, 1, 1), false);
    assert!(overlap_png(&ct, bad.view(), r.view(), &OverlapPngParams::default()).is_err());
}
