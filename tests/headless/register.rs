//! Registration known answers: the real `chest-ct` moved by a known rigid
//! transform (8° about an oblique axis and (12, −7, 5) mm) with independent
//! noise and an intensity change must come back within the target
//! registration error (mean ≤ 0.1 mm, max ≤ 0.25 mm over the body), in the
//! right direction; and the `register` command on phantom files, with the
//! liver mask carried back by the inverse transform.
//!
//! Run with `--nocapture` to see the measured errors.

#![allow(clippy::unwrap_used)] // a panic is a test failure here

use crate::common;

use common::{ok, s};
use glam::DVec3;
use hounsfield::dicom::{self, LoadControl};
use hounsfield::phantom::{self, LABEL_LIVER, PhantomParams};
use hounsfield::register::apply::{body_points, example_motion, moved_copy};
use hounsfield::register::{Control, RegisterParams, TransformFile, register, target_error_mm};
use hounsfield::volume::{Volume, Voxels};

#[test]
fn chest_ct_known_transform_is_recovered() {
    let Some(dir) = common::data_dir("chest-ct") else {
        return;
    };
    let fixed = dicom::load_series(&dir, None, &LoadControl::default())
        .unwrap()
        .volume;
    let truth = example_motion(fixed.geometry.centre_mm()).moving_from_fixed();
    let moving = moved_copy(&fixed, &truth, 0.9, 40.0, 25.0, 8);
    let r = register(
        &fixed,
        &moving,
        &RegisterParams::default(),
        &Control::default(),
    )
    .unwrap();
    let points = body_points(&fixed, 2, -400.0);
    let (mean, max) = target_error_mm(&r.transform.moving_from_fixed(), &truth, &points);
    let (inv_mean, _) =
        target_error_mm(&r.transform.moving_from_fixed(), &truth.inverse(), &points);
    eprintln!(
        "chest-ct: TRE mean {mean:.4} mm, max {max:.4} mm over {} points ({:.1} s); against the inverse {inv_mean:.1} mm",
        points.len(),
        r.seconds
    );
    assert!(mean <= 0.1 && max <= 0.25, "TRE mean {mean} max {max}");
    assert!(inv_mean > 10.0, "not the inverse of the applied motion");
    assert!(r.after.mi > r.before.mi && r.after.ncc > 0.95);
}

fn write_i16(path: &std::path::Path, v: &Volume) {
    hounsfield::io::write_volume_file(path, v).unwrap();
}

#[test]
fn register_command_on_phantom_files_with_masks() {
    let dir = common::tempdir();
    let p = phantom::chest(&PhantomParams::with_dims([64, 96, 96]));
    let truth = example_motion(DVec3::ZERO);
    let m = truth.moving_from_fixed();
    let moving = moved_copy(&p.volume, &m, 0.9, 40.0, 15.0, 3);
    let liver = Volume::from_i16(
        p.labels.mapv(|l| i16::from(l == LABEL_LIVER)),
        p.volume.geometry,
    );
    let moving_liver = hounsfield::register::apply::transfer_labels(
        &p.labels.mapv(|l| u16::from(l == LABEL_LIVER)),
        &p.volume.geometry,
        &p.volume.geometry,
        &m.inverse(),
    );
    let moving_liver = Volume::from_i16(moving_liver.mapv(|v| v as i16), p.volume.geometry);
    let (f, mv, fm, mm) = (
        dir.path().join("fixed.nii.gz"),
        dir.path().join("moving.nii.gz"),
        dir.path().join("fixed_liver.nii.gz"),
        dir.path().join("moving_liver.nii.gz"),
    );
    write_i16(&f, &p.volume);
    write_i16(&mv, &moving);
    write_i16(&fm, &liver);
    write_i16(&mm, &moving_liver);
    let (json, resampled, transferred) = (
        dir.path().join("t.json"),
        dir.path().join("resampled.nii.gz"),
        dir.path().join("liver_in_moving.nii.gz"),
    );
    let out = ok(&[
        "register",
        s(&f),
        s(&mv),
        "--spacing",
        "3",
        "--out",
        s(&json),
        "--resampled",
        s(&resampled),
        "--fixed-mask",
        s(&fm),
        "--moving-mask",
        s(&mm),
        "--transferred-mask",
        s(&transferred),
    ]);
    eprintln!("{out}");
    let (file, t) = TransformFile::parse(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(file.registration.as_ref().unwrap().metric, "mi");
    let (mean, max) = target_error_mm(
        &t.moving_from_fixed(),
        &m,
        &body_points(&p.volume, 2, -400.0),
    );
    assert!(mean < 0.5 && max < 1.0, "TRE mean {mean} max {max}");
    // the liver carried into the moving image overlaps its own liver
    let line = out
        .lines()
        .find(|l| l.starts_with("fixed mask -> moving, after"))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "Dice").unwrap();
    let dice: f64 = words[at + 1].parse().unwrap();
    assert!(dice >= 0.97, "{line}");
    // outputs exist, on the right grids
    let r = hounsfield::io::nifti::read_nifti(&resampled)
        .unwrap()
        .into_volume();
    assert_eq!(r.geometry.dims, p.volume.geometry.dims);
    let tm = hounsfield::io::nifti::read_nifti(&transferred)
        .unwrap()
        .into_volume();
    let Voxels::I16(a) = &tm.voxels else {
        panic!("integer mask")
    };
    assert!(a.iter().any(|&v| v == 1));
    // a bad transform file is a clear one-line error
    std::fs::write(&json, "{\"format\": 1}").unwrap();
    let bad = common::run(&[
        "register",
        s(&f),
        s(&mv),
        "--initial",
        s(&json),
        "--out",
        s(&dir.path().join("x.json")),
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("not a transform file"), "{err}");
}
