use glam::{DAffine3, DVec3};
use ndarray::Array3;

use super::apply::{moved_copy, transfer_labels};
use super::metric::{Metric, evaluate};
use super::pyramid::{LevelImage, normalise, sample};
use super::transform::{RigidTransform, ScaleModel, TransformFile, from_row_major, row_major};
use super::*;
use crate::phantom::{LABEL_LIVER, PhantomParams, chest};
use crate::volume::Geometry;

fn phantom(dims: [usize; 3], noise_hu: f32) -> crate::phantom::Phantom {
    chest(&PhantomParams {
        noise_hu,
        ..PhantomParams::with_dims(dims)
    })
}

/// The phantom blurred like a scanner's point spread (σ = 1 voxel), so it is
/// smooth enough for linear interpolation, plus independent noise: a fixed
/// image and a moved copy then do not share their noise.
fn smooth_phantom(dims: [usize; 3]) -> (crate::phantom::Phantom, crate::volume::Volume) {
    let mut p = phantom(dims, 0.0);
    let smooth = pyramid::gaussian_smooth(&p.volume.voxels.to_f32(), [1.0, 1.0, 1.0]);
    let clean = crate::volume::Volume::from_f32(smooth, p.volume.geometry);
    p.volume = moved_copy(&clean, &DAffine3::IDENTITY, 1.0, 0.0, 10.0, 99);
    (p, clean)
}

/// A known motion about the phantom centre (the world origin).
fn motion(axis: DVec3, angle_deg: f64, t: DVec3, scale: f64) -> RigidTransform {
    RigidTransform {
        centre_mm: DVec3::ZERO,
        rotation_rad: axis.try_normalize().expect("an axis") * angle_deg.to_radians(),
        translation_mm: t,
        log_scale: DVec3::splat(scale.ln()),
        scale_model: if (scale - 1.0).abs() > 1e-12 {
            ScaleModel::Isotropic
        } else {
            ScaleModel::None
        },
    }
}

/// Body points of the fixed phantom (every 3rd voxel in each direction).
fn body_points(p: &crate::phantom::Phantom) -> Vec<DVec3> {
    let w = p.volume.geometry.world_from_voxel();
    p.labels
        .indexed_iter()
        .filter(|&((z, y, x), &l)| l != 0 && z % 3 == 0 && y % 3 == 0 && x % 3 == 0)
        .map(|((z, y, x), _)| w.transform_point3(DVec3::new(x as f64, y as f64, z as f64)))
        .collect()
}

fn quick_params(scale_model: ScaleModel) -> RegisterParams {
    RegisterParams {
        spacing_mm: 3.0,
        shrink_factors: vec![4, 2, 1],
        samples_per_level: 40_000,
        scale_model,
        ..RegisterParams::default()
    }
}

/// Registers a noisy, intensity-changed copy of the phantom moved by
/// `truth`; returns the mean and max TRE over the body (mm).
fn recover(truth: RigidTransform, params: &RegisterParams) -> (f64, f64, Registration) {
    let (fixed, clean) = smooth_phantom([64, 96, 96]);
    let moving = moved_copy(&clean, &truth.moving_from_fixed(), 0.9, 40.0, 15.0, 7);
    let r = register(&fixed.volume, &moving, params, &Control::default()).expect("registers");
    let (mean, max) = target_error_mm(
        &r.transform.moving_from_fixed(),
        &truth.moving_from_fixed(),
        &body_points(&fixed),
    );
    (mean, max, r)
}

#[test]
fn recovers_a_translation() {
    let truth = motion(DVec3::X, 0.0, DVec3::new(12.0, -7.0, 5.0), 1.0);
    let (mean, max, r) = recover(truth, &quick_params(ScaleModel::None));
    assert!(
        mean < 0.3 && max < 0.6,
        "TRE mean {mean:.3} max {max:.3} mm, {r:?}"
    );
    // the sign: the found translation is the applied one, not its inverse
    assert!((r.transform.translation_mm - truth.translation_mm).length() < 0.5);
}

#[test]
fn recovers_a_rotation() {
    let truth = motion(DVec3::new(1.0, 2.0, 3.0), 8.0, DVec3::ZERO, 1.0);
    let (mean, max, r) = recover(truth, &quick_params(ScaleModel::None));
    assert!(
        mean < 0.3 && max < 0.6,
        "TRE mean {mean:.3} max {max:.3} mm, {r:?}"
    );
    let (axis, angle) = r.transform.axis_angle_deg();
    assert!((angle - 8.0).abs() < 0.3, "angle {angle}");
    assert!(
        axis.dot(DVec3::new(1.0, 2.0, 3.0) / 14f64.sqrt()) > 0.99,
        "axis {axis}"
    );
}

#[test]
fn recovers_rotation_and_translation() {
    let truth = motion(
        DVec3::new(1.0, 2.0, 3.0),
        8.0,
        DVec3::new(12.0, -7.0, 5.0),
        1.0,
    );
    let (mean, max, r) = recover(truth, &quick_params(ScaleModel::None));
    assert!(
        mean < 0.3 && max < 0.6,
        "TRE mean {mean:.3} max {max:.3} mm, {r:?}"
    );
    // the metric improved from the scanner alignment to the result
    assert!(r.after.mi > r.before.mi && r.after.ssd < r.before.ssd && r.after.ncc > r.before.ncc);
}

#[test]
fn recovers_a_scale_and_motion_with_ncc_and_ssd() {
    let truth = motion(
        DVec3::new(-2.0, 1.0, 0.5),
        5.0,
        DVec3::new(-6.0, 4.0, 8.0),
        1.06,
    );
    let (mean, max, r) = recover(truth, &quick_params(ScaleModel::Isotropic));
    assert!(
        mean < 0.4 && max < 0.8,
        "MI: TRE mean {mean:.3} max {max:.3} mm, {r:?}"
    );
    assert!((r.transform.scale().x - 1.06).abs() < 0.005);
    let ncc = RegisterParams {
        metric: Metric::Ncc,
        ..quick_params(ScaleModel::Isotropic)
    };
    let (mean, max, _) = recover(truth, &ncc);
    assert!(
        mean < 0.4 && max < 0.8,
        "NCC: TRE mean {mean:.3} max {max:.3} mm"
    );
    // SSD assumes equal intensities: a gain of 0.9 still registers, if less precisely
    let ssd = RegisterParams {
        metric: Metric::Ssd,
        ..quick_params(ScaleModel::Isotropic)
    };
    let (mean, _, _) = recover(truth, &ssd);
    assert!(mean < 1.0, "SSD: TRE mean {mean:.3} mm");
}

#[test]
fn gradient_magnitude_feature_registers() {
    let truth = motion(
        DVec3::new(0.0, 1.0, 1.0),
        6.0,
        DVec3::new(5.0, 3.0, -4.0),
        1.0,
    );
    let params = RegisterParams {
        feature: Feature::GradientMagnitude,
        ..quick_params(ScaleModel::None)
    };
    let (mean, max, r) = recover(truth, &params);
    assert!(
        mean < 0.5 && max < 1.0,
        "TRE mean {mean:.3} max {max:.3} mm, {r:?}"
    );
}

#[test]
fn liver_mask_transfers_with_the_inverse() {
    let (fixed, clean) = smooth_phantom([64, 96, 96]);
    let truth = motion(
        DVec3::new(1.0, 2.0, 3.0),
        8.0,
        DVec3::new(12.0, -7.0, 5.0),
        1.0,
    );
    let m = truth.moving_from_fixed();
    let moving = moved_copy(&clean, &m, 0.9, 40.0, 15.0, 7);
    let g = fixed.volume.geometry;
    let liver = fixed.labels.mapv(|l| u16::from(l == LABEL_LIVER));
    // the moving image's own liver: the fixed liver carried by the motion
    let moving_liver = transfer_labels(&liver, &g, &g, &m.inverse());
    let r = register(
        &fixed.volume,
        &moving,
        &quick_params(ScaleModel::None),
        &Control::default(),
    )
    .expect("registers");
    // the reference (fixed) liver brought into the moving image, as the liver pipeline does
    let transferred = transfer_labels(&liver, &g, &g, &r.transform.fixed_from_moving());
    let o = super::apply::evaluate_masks(
        transferred.mapv(|v| v > 0).view(),
        moving_liver.mapv(|v| v > 0).view(),
        &g,
        "liver",
    )
    .expect("same grid");
    assert!(o.dice >= 0.97, "{o:?}");
    assert!(o.specificity.expect("some background") > 0.999);
    // without registration the overlap is poor
    let unregistered = super::apply::evaluate_masks(
        liver.mapv(|v| v > 0).view(),
        moving_liver.mapv(|v| v > 0).view(),
        &g,
        "liver",
    )
    .expect("same grid");
    assert!(unregistered.dice < 0.8, "{unregistered:?}");
}

#[test]
fn inverse_round_trip_is_identity() {
    let t = RigidTransform {
        centre_mm: DVec3::new(10.0, -20.0, 300.0),
        rotation_rad: DVec3::new(0.1, -0.2, 0.05),
        translation_mm: DVec3::new(12.0, -7.0, 5.0),
        log_scale: DVec3::new(0.05, -0.02, 0.01),
        scale_model: ScaleModel::Anisotropic,
    };
    let round = t.fixed_from_moving() * t.moving_from_fixed();
    for p in [
        DVec3::ZERO,
        DVec3::new(250.0, -180.0, 420.0),
        DVec3::splat(-300.0),
    ] {
        assert!((round.transform_point3(p) - p).length() < 1e-6);
    }
    // the centre moves by the translation only
    assert!(
        (t.moving_from_fixed().transform_point3(t.centre_mm) - t.centre_mm - t.translation_mm)
            .length()
            < 1e-9
    );
    // the file: matrices row-major, parsed back to the same transform
    let file = t.to_file();
    assert!((file.moving_from_fixed[3] - t.moving_from_fixed().translation.x).abs() < 1e-12);
    assert!(
        file.moving_from_fixed[12..]
            .iter()
            .zip([0.0, 0.0, 0.0, 1.0])
            .all(|(a, b)| (a - b).abs() < 1e-15)
    );
    let (_, back) = TransformFile::parse(&file.to_json()).expect("parses");
    let d = back.moving_from_fixed();
    assert!(
        (d.transform_point3(DVec3::splat(100.0))
            - t.moving_from_fixed().transform_point3(DVec3::splat(100.0)))
        .length()
            < 1e-9
    );
    assert_eq!(from_row_major(&row_major(&d)), Some(d));
    // broken files are refused with a reason
    let mut bad = file.clone();
    bad.fixed_from_moving = row_major(&DAffine3::IDENTITY);
    assert!(TransformFile::parse(&bad.to_json()).is_err());
    assert!(TransformFile::parse("{}").is_err());
}

#[test]
fn resampling_then_inverse_returns_the_labels() {
    // whole-voxel translation: nearest-neighbour transfer is exactly invertible
    let g = Geometry::identity([10, 12, 14]);
    let labels = Array3::from_shape_fn((10, 12, 14), |(z, y, x)| {
        u16::from((3..7).contains(&z) && (2..9).contains(&y) && (4..8).contains(&x)) * 5
    });
    let t = DAffine3::from_translation(DVec3::new(2.0, -1.0, 1.0));
    let there = transfer_labels(&labels, &g, &g, &t.inverse());
    assert_eq!(there[[4, 3, 6]], 5); // (x 4, y 2, z 3) moved by (2, -1, 1)
    let back = transfer_labels(&there, &g, &g, &t);
    assert_eq!(back, labels);
}

fn image(values: Array3<f32>) -> LevelImage {
    let mut g = Geometry::identity([values.dim().0, values.dim().1, values.dim().2]);
    g.spacing_mm = DVec3::new(2.0, 2.0, 3.0);
    LevelImage {
        values,
        geometry: g,
    }
}

fn blob() -> LevelImage {
    image(Array3::from_shape_fn((20, 24, 28), |(z, y, x)| {
        let (dx, dy, dz) = (x as f32 - 13.0, y as f32 - 11.0, (z as f32 - 9.0) * 1.5);
        let r = (dx * dx * 0.8 + dy * dy + dz * dz).sqrt();
        (0.9 / (1.0 + (0.6 * (r - 7.0)).exp()) + 0.02 * x as f32 / 28.0).clamp(0.0, 1.0)
    }))
}

#[test]
fn mutual_information_of_an_image_with_itself_is_maximal() {
    let p = phantom([48, 64, 64], 10.0);
    let img = normalise(&p.volume);
    let samples = sample(&img, DVec3::ZERO, 0, 1);
    let id = RigidTransform::identity(DVec3::ZERO, ScaleModel::None);
    let mi_self = -evaluate(&samples, &img, &id, Metric::MI, false)
        .expect("overlap")
        .cost;
    for t in [
        RigidTransform {
            translation_mm: DVec3::new(0.5, 0.0, 0.0),
            ..id
        },
        RigidTransform {
            translation_mm: DVec3::new(0.0, -2.5, 1.0),
            ..id
        },
        RigidTransform {
            rotation_rad: DVec3::new(0.0, 0.0, 0.02),
            ..id
        },
        RigidTransform {
            log_scale: DVec3::splat(0.01),
            ..id
        },
    ] {
        let mi = -evaluate(&samples, &img, &t, Metric::MI, false)
            .expect("overlap")
            .cost;
        assert!(mi < mi_self, "{mi} >= {mi_self}");
    }
    // NCC of an image with itself is 1, SSD 0
    assert!(
        (evaluate(&samples, &img, &id, Metric::Ncc, false)
            .expect("overlap")
            .cost
            + 1.0)
            .abs()
            < 1e-9
    );
    assert!(
        evaluate(&samples, &img, &id, Metric::Ssd, false)
            .expect("overlap")
            .cost
            .abs()
            < 1e-12
    );
}

#[test]
fn analytic_gradients_match_finite_differences() {
    let fixed = blob();
    // the moving image: the blob shifted and with another contrast
    let moving = image(fixed.values.mapv(|v| 1.0 - 0.8 * v));
    let centre = fixed.geometry.centre_mm();
    let samples = sample(&fixed, centre, 0, 1);
    let t = RigidTransform {
        centre_mm: centre,
        rotation_rad: DVec3::new(0.03, -0.02, 0.04),
        translation_mm: DVec3::new(1.3, -0.7, 0.9),
        log_scale: DVec3::new(0.02, -0.01, 0.015),
        scale_model: ScaleModel::Anisotropic,
    };
    for metric in [Metric::MI, Metric::Ncc, Metric::Ssd] {
        let e = evaluate(&samples, &moving, &t, metric, true).expect("overlap");
        let p = t.parameters();
        for k in 0..p.len() {
            let h = if (3..6).contains(&k) { 1e-3 } else { 1e-5 };
            let at = |d: f64| {
                let mut q = p.clone();
                q[k] += d;
                evaluate(&samples, &moving, &t.with_parameters(&q), metric, false)
                    .expect("overlap")
                    .cost
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            let scale = e.gradient.iter().map(|g| g.abs()).fold(0.0, f64::max);
            assert!(
                (fd - e.gradient[k]).abs() < 0.03 * scale + 1e-9,
                "{metric:?} parameter {k}: analytic {} vs {fd}",
                e.gradient[k]
            );
        }
    }
}

#[test]
fn normalise_maps_percentiles_to_unit_range() {
    // values 0..=999: the 0.5th percentile is 4.995, the 99.5th 994.005 (numpy)
    let ramp = Array3::from_shape_fn((10, 10, 10), |(z, y, x)| (z * 100 + y * 10 + x) as i16);
    let n = normalise(&crate::volume::Volume::from_i16(
        ramp,
        Geometry::identity([10, 10, 10]),
    ));
    let expect = |hu: f64| ((hu - 4.995) / (994.005 - 4.995)).clamp(0.0, 1.0);
    for (z, y, x) in [(0, 0, 0), (0, 0, 7), (5, 0, 0), (9, 9, 9), (9, 9, 2)] {
        let hu = (z * 100 + y * 10 + x) as f64;
        assert!(
            (f64::from(n.values[[z, y, x]]) - expect(hu)).abs() < 1e-5,
            "{hu}"
        );
    }
}

#[test]
fn bad_parameters_and_no_overlap_are_errors() {
    let p = phantom([16, 32, 32], 0.0);
    let bad = RegisterParams {
        shrink_factors: vec![],
        ..RegisterParams::default()
    };
    assert!(matches!(
        register(&p.volume, &p.volume, &bad, &Control::default()),
        Err(RegisterError::Params(_))
    ));
    let far = RigidTransform {
        translation_mm: DVec3::new(5000.0, 0.0, 0.0),
        ..RigidTransform::identity(DVec3::ZERO, ScaleModel::None)
    };
    let params = RegisterParams {
        initial: Initial::Given(far),
        spacing_mm: 8.0,
        shrink_factors: vec![1],
        ..RegisterParams::default()
    };
    assert!(matches!(
        register(&p.volume, &p.volume, &params, &Control::default()),
        Err(RegisterError::NoOverlap { .. })
    ));
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let control = Control {
        progress: None,
        cancel: Some(&cancel),
    };
    assert!(matches!(
        register(
            &p.volume,
            &p.volume,
            &RegisterParams {
                spacing_mm: 8.0,
                ..RegisterParams::default()
            },
            &control
        ),
        Err(RegisterError::Cancelled)
    ));
}
