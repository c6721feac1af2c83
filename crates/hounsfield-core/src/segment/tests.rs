#![allow(clippy::unwrap_used)] // a panic is a test failure here
#![allow(clippy::float_cmp)] // known answers are exact

use std::sync::atomic::AtomicBool;

use glam::DVec3;
use ndarray::Array3;

use super::kmeans::two_means_threshold;
use super::*;
use crate::phantom::{PhantomParams, chest};

fn small_phantom() -> crate::phantom::Phantom {
    chest(&PhantomParams {
        dims: [48, 64, 64],
        spacing_mm: DVec3::new(5.5, 5.5, 5.0),
        ..Default::default()
    })
}

#[test]
fn two_means_splits_two_groups() {
    let mut v = vec![1.0, 0.0, 10.0, 11.0, 0.5, 10.5];
    // Centres 0.5 and 10.5.
    assert_eq!(two_means_threshold(&mut v), Some(5.5));
    assert_eq!(two_means_threshold(&mut [3.0, 3.0]), None);
    assert_eq!(two_means_threshold(&mut []), None);
}

#[test]
fn cancel_stops_the_pipeline() {
    let ph = small_phantom();
    let cancel = AtomicBool::new(true);
    let control = Control {
        progress: None,
        cancel: Some(&cancel),
    };
    let e = segment_lungs(&ph.volume, &LungParams::default(), &control).unwrap_err();
    assert!(matches!(e, SegmentError::Cancelled));
    let e = kmeans_lungs(&ph.volume, &KMeansParams::default(), &control).unwrap_err();
    assert!(matches!(e, SegmentError::Cancelled));
}

#[test]
fn progress_is_reported_and_segmentation_is_named() {
    let ph = small_phantom();
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |done: usize, total: usize, _note: &str| {
        seen.lock().unwrap().push((done, total));
    };
    let control = Control {
        progress: Some(&progress),
        cancel: None,
    };
    let m = segment_lungs(&ph.volume, &LungParams::default(), &control).unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.last(), Some(&(6, 6)));
    let seg = to_segmentation(&m.labels, ph.volume.geometry, &LUNG_NAMES, "classical").unwrap();
    let names: Vec<&str> = seg.segments.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(names, ["Right lung", "Left lung"]);
}

#[test]
fn bad_parameters_and_volumes_are_refused() {
    let ph = small_phantom();
    let p = LungParams {
        threshold_hu: f32::NAN,
        ..Default::default()
    };
    assert!(segment_lungs(&ph.volume, &p, &Control::default()).is_err());
    let empty = crate::volume::Volume::from_i16(
        Array3::zeros((0, 4, 4)),
        crate::volume::Geometry::identity([0, 4, 4]),
    );
    assert!(matches!(
        segment_lungs(&empty, &LungParams::default(), &Control::default()),
        Err(SegmentError::Empty { .. })
    ));
    // A coronal stack.
    let mut g = ph.volume.geometry;
    g.direction = glam::DMat3::from_cols(DVec3::X, DVec3::Z, DVec3::Y);
    let coronal = crate::volume::Volume::from_i16(Array3::zeros(g.dims), g);
    assert!(matches!(
        kmeans_lungs(&coronal, &KMeansParams::default(), &Control::default()),
        Err(SegmentError::NotAxial { .. })
    ));
}

#[test]
fn degenerate_volumes_do_not_panic() {
    use crate::volume::{Geometry, Volume};
    for (dims, hu) in [
        ([1, 1, 1], -1000i16),
        ([1, 5, 5], -1000),
        ([3, 4, 4], 40),
        ([2, 9, 9], -800),
    ] {
        let v = Volume::from_i16(Array3::from_elem(dims, hu), Geometry::identity(dims));
        let r = segment_lungs(&v, &LungParams::default(), &Control::default());
        assert!(
            matches!(r, Err(SegmentError::NoLungs { .. })),
            "{dims:?}: {r:?}"
        );
        let k = kmeans_lungs(&v, &KMeansParams::default(), &Control::default()).unwrap();
        assert!(k.report.thresholds_hu.iter().all(Option::is_none));
    }
    // Air inside a box of tissue, big enough to count as a lung but with
    // nothing to tell the sides: one label, no panic.
    let mut a = Array3::from_elem((20, 40, 40), 40i16);
    for z in 2..18 {
        for y in 5..35 {
            for x in 5..35 {
                a[[z, y, x]] = -850;
            }
        }
    }
    let mut g = Geometry::identity([20, 40, 40]);
    g.spacing_mm = DVec3::new(4.0, 4.0, 4.0);
    let m = segment_lungs(
        &Volume::from_i16(a, g),
        &LungParams::default(),
        &Control::default(),
    )
    .unwrap();
    assert!(m.report.right_ml + m.report.left_ml > 800.0);
    assert!(m.report.right_ml == 0.0 || m.report.left_ml == 0.0);
}
