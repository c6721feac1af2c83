//! Lung segmentation known answers: the chest phantom (two lungs, trachea,
//! a nodule, touching lungs, no lungs), the real `lung-ct-64` against its
//! reference mask, and `chest-ct` (two lungs, no trachea).
//!
//! Run with `--nocapture` to see the measured Dice values.

#![allow(clippy::unwrap_used)] // a panic is a test failure here

use crate::common;

use glam::DVec3;
use hounsfield::dicom::{self, LoadControl};
use hounsfield::metrics::overlap;
use hounsfield::morph;
use hounsfield::phantom::{self, LABEL_AIRWAY, LABEL_LEFT_LUNG, LABEL_RIGHT_LUNG, PhantomParams};
use hounsfield::segment::{
    Control, KMeansParams, LABEL_LEFT, LABEL_RIGHT, LungParams, SegmentError, kmeans_lungs,
    segment_lungs,
};
use hounsfield::volume::Volume;
use ndarray::Array3;

fn mask_of<T: Copy + PartialEq>(a: &Array3<T>, values: &[T]) -> Array3<bool> {
    a.mapv(|v| values.contains(&v))
}

fn dice(test: &Array3<bool>, reference: &Array3<bool>, spacing: [f64; 3]) -> f64 {
    overlap(test.view(), reference.view(), spacing, "x")
        .unwrap()
        .dice
}

fn no_fill() -> LungParams {
    LungParams {
        fill: None,
        ..Default::default()
    }
}

/// The phantom's lung labels with what they enclose (vessels, small
/// airways and their walls) filled, per side: the reference of a filled mask.
fn filled_truth(labels: &Array3<u8>) -> Array3<u8> {
    let mut out = Array3::<u8>::zeros(labels.raw_dim());
    for (truth, ours) in [
        (LABEL_RIGHT_LUNG, LABEL_RIGHT),
        (LABEL_LEFT_LUNG, LABEL_LEFT),
    ] {
        let m = mask_of(labels, &[truth]);
        let f = morph::fill_holes_3d(morph::fill_holes_2d(m.view()).view());
        ndarray::Zip::from(&mut out).and(&f).for_each(|o, &v| {
            if v && *o == 0 {
                *o = ours;
            }
        });
    }
    out
}

#[test]
fn phantom_lungs_have_the_known_sides() {
    let ph = phantom::chest(&PhantomParams::default());
    let sp = ph.volume.geometry.spacing_zyx_mm();
    let sides = ph.labels.mapv(|l| match l {
        LABEL_RIGHT_LUNG => LABEL_RIGHT,
        LABEL_LEFT_LUNG => LABEL_LEFT,
        _ => 0,
    });
    let filled = filled_truth(&ph.labels);
    // Without fill: against the lung labels; with fill: against the lung
    // labels with what they enclose.
    for (name, params, truth) in [
        ("no fill", no_fill(), &sides),
        ("fill", LungParams::default(), &filled),
    ] {
        let m = segment_lungs(&ph.volume, &params, &Control::default()).unwrap();
        let ours = m.labels.mapv(|v| v != 0);
        let d = dice(&ours, &truth.mapv(|v| v != 0), sp);
        let dr = dice(
            &mask_of(&m.labels, &[LABEL_RIGHT]),
            &mask_of(truth, &[LABEL_RIGHT]),
            sp,
        );
        let dl = dice(
            &mask_of(&m.labels, &[LABEL_LEFT]),
            &mask_of(truth, &[LABEL_LEFT]),
            sp,
        );
        eprintln!(
            "phantom {name}: Dice {d:.4} (right {dr:.4}, left {dl:.4}); {:?}",
            m.report
        );
        assert!(d >= 0.99, "{name}: Dice {d}");
        assert!(dr >= 0.98 && dl >= 0.98, "{name}: sides {dr} {dl}");
        assert!(m.report.airway_found);
        // The trachea (airway within 15 mm of its axis, above the carina) is
        // not in the mask, nor the main bronchi's first 10 mm.
        let g = ph.volume.geometry;
        let carina = DVec3::new(-4.0, 12.0, 40.0);
        let trachea_in = ph
            .labels
            .indexed_iter()
            .filter(|&(_, &l)| l == LABEL_AIRWAY)
            .filter(|&((k, j, i), _)| {
                let p = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
                let near_axis = (p.x + 4.0).abs() < 15.0 && (p.y - 10.0).abs() < 15.0 && p.z > 40.0;
                near_axis || (p - carina).length() < 10.0
            })
            .filter(|&(i, _)| m.labels[i] != 0)
            .count();
        assert_eq!(trachea_in, 0, "{name}: trachea voxels in the mask");
    }
}

/// The phantom's volume with every lung voxel (and airway air) turned into
/// soft tissue: a water-like body without lungs.
fn without_lungs() -> Volume {
    let ph = phantom::chest(&PhantomParams::default());
    let mut v = ph.volume.voxels.as_i16().unwrap().clone();
    ndarray::Zip::from(&mut v)
        .and(&ph.labels)
        .for_each(|h, &l| {
            if l != phantom::LABEL_BACKGROUND && *h < -300 {
                *h = 40;
            }
        });
    Volume::from_i16(v, ph.volume.geometry)
}

#[test]
fn a_body_without_lungs_reports_no_lungs() {
    let vol = without_lungs();
    let e = segment_lungs(&vol, &LungParams::default(), &Control::default()).unwrap_err();
    assert!(matches!(e, SegmentError::NoLungs { .. }), "{e}");
    assert!(e.to_string().contains("no lungs found"));
    // A water cylinder in air, the simplest case.
    let g = vol.geometry;
    let a = Array3::from_shape_fn(g.dims, |(k, j, i)| {
        let p = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        if p.x.hypot(p.y) < 120.0 { 0i16 } else { -1000 }
    });
    let cyl = Volume::from_i16(a, g);
    let e = segment_lungs(&cyl, &LungParams::default(), &Control::default()).unwrap_err();
    assert!(matches!(e, SegmentError::NoLungs { .. }), "{e}");
}

/// The phantom with the anterior mediastinum turned into lung between the
/// two lungs over 30 mm of height (rows in front of the heart), so the two
/// lungs form one component, as at an anterior junction line.
fn touching_lungs() -> (Volume, Array3<u8>) {
    let ph = phantom::chest(&PhantomParams::default());
    let g = ph.volume.geometry;
    let mut v = ph.volume.voxels.as_i16().unwrap().clone();
    let mut labels = ph.labels.clone();
    let [nz, ny, nx] = g.dims;
    for k in 0..nz {
        for j in 0..ny {
            let p = g.world_of_voxel(DVec3::new(0.0, j as f64, k as f64));
            if !((20.0..50.0).contains(&p.z) && (-70.0..-40.0).contains(&p.y)) {
                continue;
            }
            let row = labels.slice(ndarray::s![k, j, ..]);
            let right = (0..nx).filter(|&i| row[i] == LABEL_RIGHT_LUNG).max();
            let left = (0..nx).filter(|&i| row[i] == LABEL_LEFT_LUNG).min();
            let (Some(r), Some(l)) = (right, left) else {
                continue;
            };
            for i in r + 1..l {
                if labels[[k, j, i]] == phantom::LABEL_BONE {
                    continue;
                }
                let x = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)).x;
                v[[k, j, i]] = -850;
                labels[[k, j, i]] = if x < 0.0 {
                    LABEL_RIGHT_LUNG
                } else {
                    LABEL_LEFT_LUNG
                };
            }
        }
    }
    (Volume::from_i16(v, g), labels)
}

#[test]
fn touching_lungs_are_split() {
    let (vol, truth) = touching_lungs();
    let sp = vol.geometry.spacing_zyx_mm();
    let m = segment_lungs(&vol, &no_fill(), &Control::default()).unwrap();
    eprintln!("touching: {:?}", m.report);
    assert!(
        m.report.split_erosion_mm.is_some(),
        "the lungs were not one component"
    );
    let dr = dice(
        &mask_of(&m.labels, &[LABEL_RIGHT]),
        &mask_of(&truth, &[LABEL_RIGHT_LUNG]),
        sp,
    );
    let dl = dice(
        &mask_of(&m.labels, &[LABEL_LEFT]),
        &mask_of(&truth, &[LABEL_LEFT_LUNG]),
        sp,
    );
    eprintln!("touching: right {dr:.4} left {dl:.4}");
    assert!(dr >= 0.97 && dl >= 0.97, "{dr} {dl}");
}

#[test]
fn a_nodule_inside_is_filled() {
    let ph = phantom::chest(&PhantomParams::default());
    let g = ph.volume.geometry;
    let mut v = ph.volume.voxels.as_i16().unwrap().clone();
    // A 7 mm nodule deep in the right lower lobe.
    let centre = DVec3::new(-85.0, 25.0, -20.0);
    let mut inside = Vec::new();
    for ((k, j, i), h) in v.indexed_iter_mut() {
        let p = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        if (p - centre).length() <= 7.0 {
            assert_eq!(
                ph.labels[[k, j, i]],
                LABEL_RIGHT_LUNG,
                "the nodule is in the lung"
            );
            *h = 30;
            inside.push((k, j, i));
        }
    }
    assert!(inside.len() > 10);
    let vol = Volume::from_i16(v, g);
    let filled = segment_lungs(&vol, &LungParams::default(), &Control::default()).unwrap();
    assert!(inside.iter().all(|&i| filled.labels[i] == LABEL_RIGHT));
    let bare = segment_lungs(&vol, &no_fill(), &Control::default()).unwrap();
    assert!(inside.iter().all(|&i| bare.labels[i] == 0));
}

fn load(dir: &std::path::Path) -> Volume {
    dicom::load_series(dir, None, &LoadControl::default())
        .unwrap()
        .volume
}

/// A label map of `lung-ct-64` placed on the CT grid.
fn reference(root: &std::path::Path, name: &str, ct: &Volume) -> Array3<u16> {
    let r = hounsfield::io::nrrd::read_nrrd(&root.join(name)).unwrap();
    let values = hounsfield::seg::place::label_values(&r.data).unwrap();
    assert_eq!(r.geometry.dims, ct.geometry.dims);
    hounsfield::seg::place::resample_labels(&values, &r.geometry, &ct.geometry).unwrap()
}

#[test]
fn lung_ct_64_against_its_reference() {
    let Some(root) = common::data_dir("lung-ct-64") else {
        return;
    };
    let ct = load(&root.join("dicom"));
    let truth = reference(&root, "wholeLung-64.nrrd", &ct).mapv(|v| v != 0);
    let sp = ct.geometry.spacing_zyx_mm();
    let m = segment_lungs(&ct, &LungParams::default(), &Control::default()).unwrap();
    let d = dice(&m.labels.mapv(|v| v != 0), &truth, sp);
    let bare = segment_lungs(&ct, &no_fill(), &Control::default()).unwrap();
    let d_bare = dice(&bare.labels.mapv(|v| v != 0), &truth, sp);
    let k = kmeans_lungs(&ct, &KMeansParams::default(), &Control::default()).unwrap();
    let dk = dice(&k.labels.mapv(|v| v != 0), &truth, sp);
    // The tutorial's sizes in pixels of this grid (3, 8, 10 pixels).
    let px = sp[2];
    let pixels = KMeansParams {
        erosion_mm: 3.0 * px,
        dilation_mm: 8.0 * px,
        final_dilation_mm: 10.0 * px,
    };
    let kp = kmeans_lungs(&ct, &pixels, &Control::default()).unwrap();
    let dkp = dice(&kp.labels.mapv(|v| v != 0), &truth, sp);
    // Sides: the region codes of lm-64 (CIP: 9-11 left thirds, 12-14 right).
    let lm = reference(&root, "lm-64.nrrd", &ct).mapv(|v| v & 0xff);
    let side = |lo: u16, hi: u16| lm.mapv(|v| (lo..=hi).contains(&v));
    let dl = dice(&mask_of(&m.labels, &[LABEL_LEFT]), &side(9, 11), sp);
    let dr = dice(&mask_of(&m.labels, &[LABEL_RIGHT]), &side(12, 14), sp);
    eprintln!(
        "lung-ct-64: classical Dice {d:.4} (no fill {d_bare:.4}; right {dr:.4}, left {dl:.4}), \
         KMeans Dice {dk:.4} (sizes in pixels: {dkp:.4}); {:?}",
        m.report
    );
    assert!(d >= 0.98, "classical Dice {d}");
    assert!(dr >= 0.97 && dl >= 0.97, "sides: right {dr}, left {dl}");
    assert!(m.report.airway_found);
    // The baseline stays the baseline.
    assert!(dk < d && dkp < d);
}

#[test]
fn chest_ct_has_two_lungs_and_no_trachea() {
    let Some(root) = common::data_dir("chest-ct") else {
        return;
    };
    let ct = load(&root);
    let m = segment_lungs(&ct, &LungParams::default(), &Control::default()).unwrap();
    eprintln!("chest-ct: {:?}", m.report);
    let r = &m.report;
    assert!(r.right_ml > 1500.0 && r.left_ml > 1500.0, "{r:?}");
    assert!(r.right_ml > r.left_ml, "the right lung is the larger one");
    assert!(r.airway_found && r.airway_removed_ml > 20.0, "{r:?}");
    // Slices ascend towards the head: the top slice is the last one. Its
    // air inside the body near the midline is the trachea; none of it may be
    // in the mask, and the right lung lies at lower x than the left.
    let [nz, ny, nx] = ct.shape();
    let top = nz - 1;
    assert_eq!(r.trachea_slice, Some(top));
    assert!(
        r.carina_slice
            .is_some_and(|c| (top - c) as f64 * 2.0 > 60.0),
        "{r:?}"
    );
    let hu = ct.voxels.as_i16().unwrap();
    let air = Array3::from_shape_fn((1, ny, nx), |(_, y, x)| hu[[top, y, x]] <= -320);
    let comps = morph::label(air.view(), morph::Connectivity::SliceFace);
    let centre_col = nx as f64 / 2.0;
    let trachea: Vec<u32> = (1..=comps.len() as u32)
        .filter(|&l| {
            let s = comps.get(l).unwrap();
            !s.touches_side([1, ny, nx]) && (s.centroid_zyx()[2] - centre_col).abs() * 0.977 < 40.0
        })
        .collect();
    assert!(!trachea.is_empty(), "no trachea in the top slice");
    let in_mask = comps.mask_where(|l| trachea.contains(&l));
    let leaked = in_mask
        .indexed_iter()
        .filter(|&((_, y, x), &t)| t && m.labels[[top, y, x]] != 0)
        .count();
    assert_eq!(leaked, 0, "trachea voxels of the top slice in the mask");
    let mean_col = |v: u8| {
        let (n, sum) = m
            .labels
            .indexed_iter()
            .filter(|&(_, &l)| l == v)
            .fold((0usize, 0usize), |(n, s), ((_, _, x), _)| (n + 1, s + x));
        sum as f64 / n as f64
    };
    assert!(mean_col(LABEL_RIGHT) < mean_col(LABEL_LEFT));
}

#[test]
fn cli_segments_scores_and_writes_the_report() {
    let dir = common::tempdir();
    let ph = phantom::chest(&PhantomParams::default());
    let ct = dir.path().join("ct.nrrd");
    hounsfield::io::nrrd::write_nrrd(&ct, &ph.volume, true).unwrap();
    // The reference: the phantom's lungs as 1 = right, 2 = left.
    let sides = ph.labels.mapv(|l| match l {
        LABEL_RIGHT_LUNG => LABEL_RIGHT,
        LABEL_LEFT_LUNG => LABEL_LEFT,
        _ => 0,
    });
    let reference = dir.path().join("ref.nrrd");
    hounsfield::io::nrrd::write_nrrd_labels(&reference, &sides, &ph.volume.geometry, true).unwrap();
    let (out, json, png) = (
        dir.path().join("mask.nii.gz"),
        dir.path().join("m.json"),
        dir.path().join("o.png"),
    );
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args(["segment", "lungs"])
        .arg(&ct)
        .arg("--out")
        .arg(&out)
        .arg("--no-fill")
        .arg("--reference")
        .arg(&reference)
        .arg("--metrics-json")
        .arg(&json)
        .arg("--overlap-png")
        .arg(&png)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("Right lung") && stdout.contains("dice"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let labels = report["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 3, "all, right, left");
    for l in labels {
        assert!(l["dice"].as_f64().unwrap() >= 0.99, "{l}");
    }
    let written = hounsfield::io::nifti::read_nifti(&out).unwrap();
    assert_eq!(written.geometry.dims, ph.volume.geometry.dims);
    assert!(image::open(&png).unwrap().width() > 100);
    // A volume without lungs fails with the message.
    let empty = dir.path().join("water.nrrd");
    hounsfield::io::nrrd::write_nrrd(&empty, &without_lungs(), true).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args(["segment", "lungs"])
        .arg(&empty)
        .arg("--out")
        .arg(dir.path().join("none.nrrd"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("no lungs found"));
}
