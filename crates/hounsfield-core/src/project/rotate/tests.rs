use super::*;

/// A 32 mm cube of air with a bright Gaussian blob, on voxel axes
/// `direction` (a signed permutation: the same voxels in every case,
/// though swept along other lines, so sampled at other phases).
fn ball_volume(direction: DMat3) -> Volume {
    let mut g = Geometry::identity([32, 32, 32]);
    g.direction = direction;
    let centre = g.centre_mm();
    g.origin_mm -= centre;
    let a = Array3::from_shape_fn((32, 32, 32), |(k, j, i)| {
        let q = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        let d2 = q.distance_squared(DVec3::new(6.0, -4.0, 3.0));
        (-1000.0 + 1800.0 * (-d2 / 18.0).exp()).round() as i16
    });
    Volume::from_i16(a, g)
}

fn params() -> RotatingMipParams {
    RotatingMipParams {
        step_deg: 30.0,
        size: 64,
        ..RotatingMipParams::default()
    }
}

#[test]
fn angles_pair_mirror_frames() {
    let a = Angles::new(&RotatingMipParams::default());
    assert_eq!(a.unique_rad.len(), 18);
    assert_eq!(a.frames[0], (0, false));
    assert_eq!(a.frames[18], (0, true));
    assert_eq!(a.frames[27], (9, true));
    let odd = Angles::new(&RotatingMipParams {
        step_deg: 25.0,
        ..RotatingMipParams::default()
    });
    assert_eq!(odd.frames.len(), 14);
    assert!(odd.frames.iter().all(|&(i, _)| i < odd.unique_rad.len()));
}

#[test]
fn frames_are_mirror_pairs_and_corners_are_air() {
    let v = ball_volume(DMat3::IDENTITY);
    let p = params();
    let f = rotating_mip(&v, &p, None, None).unwrap();
    assert_eq!(f.len(), 12);
    let s = p.size;
    for r in 0..s {
        for c in 0..s {
            assert_eq!(f[0][r * s + c], f[6][r * s + s - 1 - c]);
        }
    }
    for img in &f {
        for idx in [0, s - 1, s * (s - 1), s * s - 1] {
            assert_eq!(img[idx], 0);
        }
    }
}

#[test]
fn in_plane_rotated_and_resampled_volumes_agree() {
    // The same ball on a grid turned 90° in-plane (still axial: no
    // resampling) and on a coronal-like grid (resampled first).
    let plain = rotating_mip(&ball_volume(DMat3::IDENTITY), &params(), None, None).unwrap();
    let turned = DMat3::from_cols(DVec3::Y, DVec3::NEG_X, DVec3::Z);
    let t = rotating_mip(&ball_volume(turned), &params(), None, None).unwrap();
    let coronal = DMat3::from_cols(DVec3::X, DVec3::Z, DVec3::NEG_Y);
    let c = rotating_mip(&ball_volume(coronal), &params(), None, None).unwrap();
    for (name, other) in [("turned", &t), ("coronal", &c)] {
        for (a, b) in plain.iter().zip(other.iter()) {
            let worst = a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).max();
            assert!(worst <= Some(6), "{name}: worst difference {worst:?}");
            let diff: f64 = a
                .iter()
                .zip(b)
                .map(|(&x, &y)| f64::from(x.abs_diff(y)))
                .sum::<f64>()
                / a.len() as f64;
            assert!(diff < 0.3, "{name}: mean difference {diff}");
        }
    }
}

#[test]
fn cancel_stops_and_progress_counts_slices() {
    let v = ball_volume(DMat3::IDENTITY);
    let stop = AtomicBool::new(true);
    let r = rotating_mip(&v, &params(), Some(&stop), None);
    assert!(matches!(r, Err(RotateError::Cancelled)));
    let last = std::sync::Mutex::new((0, 0));
    let report = |d: usize, t: usize| {
        let mut l = last.lock().unwrap();
        *l = (l.0.max(d), t);
    };
    rotating_mip(&v, &params(), None, Some(&report)).unwrap();
    assert_eq!(*last.lock().unwrap(), (32, 32));
}

#[test]
fn a_single_voxel_is_a_dot_in_every_frame() {
    let v = Volume::from_i16(
        Array3::from_elem((1, 1, 1), 500),
        Geometry::identity([1, 1, 1]),
    );
    let p = RotatingMipParams {
        size: 9,
        ..params()
    };
    for f in rotating_mip(&v, &p, None, None).unwrap() {
        assert!(f[4 * 9 + 4] > 200, "{f:?}");
        assert_eq!(f[0], 0);
    }
}

#[test]
fn bad_parameters_are_refused() {
    let v = ball_volume(DMat3::IDENTITY);
    for p in [
        RotatingMipParams {
            step_deg: 0.0,
            ..params()
        },
        RotatingMipParams {
            size: 0,
            ..params()
        },
        RotatingMipParams {
            width_hu: 0.0,
            ..params()
        },
    ] {
        assert!(matches!(
            rotating_mip(&v, &p, None, None),
            Err(RotateError::BadParams(_))
        ));
    }
}
