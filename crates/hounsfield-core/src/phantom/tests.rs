//! Known-answer tests of the chest phantom.

use std::sync::OnceLock;

use glam::DVec3;

use super::*;

/// The default phantom, rendered once for all tests.
fn default_phantom() -> &'static Phantom {
    static PHANTOM: OnceLock<Phantom> = OnceLock::new();
    PHANTOM.get_or_init(|| chest(&PhantomParams::default()))
}

fn small_params() -> PhantomParams {
    PhantomParams {
        dims: [24, 48, 48],
        spacing_mm: DVec3::new(350.0 / 48.0, 350.0 / 48.0, 10.0),
        ..PhantomParams::default()
    }
}

fn landmark(params: &PhantomParams, name: &str) -> DVec3 {
    landmarks(params)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p)
        .unwrap()
}

/// Label at the voxel nearest to a world point.
fn label_at(p: &Phantom, point_in_world: DVec3) -> u8 {
    let v = p.volume.geometry.voxel_of_world(point_in_world).round();
    p.labels[[v.z as usize, v.y as usize, v.x as usize]]
}

/// Voxel count, mean HU, HU standard deviation and world centroid of a label.
fn stats(p: &Phantom, label: u8) -> (usize, f64, f64, DVec3) {
    let hu = p.volume.voxels.as_i16().unwrap();
    let g = &p.volume.geometry;
    let (mut n, mut sum, mut sum2, mut centroid) = (0usize, 0.0, 0.0, DVec3::ZERO);
    for ((k, j, i), &l) in p.labels.indexed_iter() {
        if l == label {
            let v = f64::from(hu[[k, j, i]]);
            n += 1;
            sum += v;
            sum2 += v * v;
            centroid += g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        }
    }
    assert!(n > 0, "label {label} is empty");
    let mean = sum / n as f64;
    let sd = (sum2 / n as f64 - mean * mean).max(0.0).sqrt();
    (n, mean, sd, centroid / n as f64)
}

#[test]
fn default_grid_is_centred_350_mm() {
    let g = geometry(&PhantomParams::default());
    assert!(g.centre_mm().length() < 1e-9);
    assert!((g.spacing_mm.x * 128.0 - 350.0).abs() < 1e-9);
    assert_eq!(g.orientation_code(), "LPS");
    assert!(g.shear_deg().abs() < 1e-9);
}

#[test]
fn mean_hu_matches_labels() {
    let p = default_phantom();
    let expect = [
        (LABEL_BACKGROUND, -1000.0, 2.0),
        (LABEL_TABLE, 200.0, 2.0),
        (LABEL_RIGHT_LUNG, -850.0, 15.0),
        (LABEL_LEFT_LUNG, -850.0, 15.0),
        (LABEL_AIRWAY, -1000.0, 2.0),
        (LABEL_HEART, 40.0, 2.0),
        (LABEL_LIVER, 60.0, 2.0),
        (LABEL_TUMOUR, 20.0, 3.0),
    ];
    for (label, mean_hu, tol) in expect {
        let (n, mean, sd, _) = stats(p, label);
        assert!(
            (mean - mean_hu).abs() < tol,
            "label {label}: mean {mean} over {n}"
        );
        if ![
            LABEL_BACKGROUND,
            LABEL_AIRWAY,
            LABEL_RIGHT_LUNG,
            LABEL_LEFT_LUNG,
        ]
        .contains(&label)
        {
            // Clean values are constant, so the spread is the noise.
            assert!(sd > 8.0 && sd < 20.0, "label {label}: sd {sd}");
        }
    }
    let (_, bone_mean, _, _) = stats(p, LABEL_BONE);
    assert!(bone_mean > 250.0, "bone mean {bone_mean}");
    let (_, vessel_mean, _, _) = stats(p, LABEL_VESSEL);
    assert!(vessel_mean > 20.0, "vessel mean {vessel_mean}");
}

#[test]
fn noise_free_values_are_exact() {
    let params = PhantomParams {
        noise_hu: 0.0,
        ..small_params()
    };
    let p = chest(&params);
    let hu = p.volume.voxels.as_i16().unwrap();
    for (&l, &v) in p.labels.iter().zip(hu.iter()) {
        let ok = match l {
            LABEL_BACKGROUND | LABEL_AIRWAY => v == -1000,
            LABEL_BODY => [-100, 40].contains(&v),
            LABEL_RIGHT_LUNG | LABEL_LEFT_LUNG => (-870..=-600).contains(&v),
            LABEL_HEART => v == 40,
            LABEL_LIVER => v == 60,
            LABEL_TUMOUR => v == 20,
            LABEL_BONE => [200, 400, 700].contains(&v),
            LABEL_TABLE => v == 200,
            LABEL_VESSEL => [40, 150].contains(&v),
            _ => false,
        };
        assert!(ok, "label {l} has HU {v}");
    }
}

#[test]
fn anatomy_is_where_it_belongs() {
    let p = default_phantom();
    let (_, _, _, liver) = stats(p, LABEL_LIVER);
    assert!(liver.x < -20.0, "liver centroid {liver}");
    assert!(liver.z < -50.0, "liver centroid {liver}");
    let (_, _, _, heart) = stats(p, LABEL_HEART);
    assert!(heart.x > 10.0 && heart.y < -10.0, "heart centroid {heart}");
    let (n_right, _, _, right) = stats(p, LABEL_RIGHT_LUNG);
    let (n_left, _, _, left) = stats(p, LABEL_LEFT_LUNG);
    assert!(right.x < -40.0 && left.x > 40.0, "lungs {right} {left}");
    assert!(n_right > n_left, "right {n_right} ≤ left {n_left}");
    let (_, _, _, table) = stats(p, LABEL_TABLE);
    assert!(table.y > 110.0, "table centroid {table}");
    // Spine: bone near the midline is posterior.
    let g = &p.volume.geometry;
    let midline_bone_y: Vec<f64> = p
        .labels
        .indexed_iter()
        .filter(|&(_, &l)| l == LABEL_BONE)
        .map(|((k, j, i), _)| g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)))
        .filter(|w| w.x.abs() < 20.0)
        .map(|w| w.y)
        .collect();
    let mean_y = midline_bone_y.iter().sum::<f64>() / midline_bone_y.len() as f64;
    assert!(mean_y > 30.0, "midline bone mean y {mean_y}");
}

#[test]
fn trachea_enters_from_the_top() {
    let p = default_phantom();
    let g = &p.volume.geometry;
    let [nz, ny, nx] = p.volume.shape();
    let airway_in = |k: usize| -> Vec<DVec3> {
        let mut out = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                if p.labels[[k, j, i]] == LABEL_AIRWAY {
                    out.push(g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)));
                }
            }
        }
        out
    };
    let top = airway_in(nz - 1);
    assert!(top.len() > 20, "top slice airway voxels {}", top.len());
    let centre = top.iter().copied().sum::<DVec3>() / top.len() as f64;
    assert!(centre.x.abs() < 10.0 && centre.y.abs() < 25.0, "{centre}");
    assert!(airway_in(0).is_empty());
    let carina = landmark(&PhantomParams::default(), LANDMARK_CARINA);
    assert!(carina.z > 0.0);
    assert_eq!(
        label_at(p, carina + DVec3::new(0.0, 0.0, 10.0)),
        LABEL_AIRWAY
    );
}

#[test]
fn tumour_sits_inside_the_liver() {
    let p = default_phantom();
    let c = landmark(&PhantomParams::default(), LANDMARK_TUMOUR);
    assert_eq!(label_at(p, c), LABEL_TUMOUR);
    let r = TUMOUR_RADIUS_MM + 6.0;
    for d in [DVec3::X, DVec3::Y, DVec3::Z] {
        for s in [-r, r] {
            assert_eq!(label_at(p, c + d * s), LABEL_LIVER, "at {}", c + d * s);
        }
    }
    let (n, _, _, centroid) = stats(p, LABEL_TUMOUR);
    assert!((centroid - c).length() < 2.0, "centroid {centroid}");
    // Volume of a 16 mm sphere ≈ 17 157 mm³.
    let voxel_mm3 = p.volume.geometry.spacing_mm.element_product();
    let volume_mm3 = n as f64 * voxel_mm3;
    assert!(
        (volume_mm3 / 17_157.0 - 1.0).abs() < 0.15,
        "{volume_mm3} mm³"
    );
}

#[test]
fn same_seed_same_phantom_whatever_the_threads() {
    let params = small_params();
    let a = chest(&params);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| chest(&params));
    assert_eq!(a.volume.voxels, b.volume.voxels);
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.volume.geometry, b.volume.geometry);

    let c = chest(&PhantomParams {
        seed: 43,
        ..params.clone()
    });
    assert_ne!(a.volume.voxels, c.volume.voxels);
    assert_eq!(
        a.labels, c.labels,
        "the anatomy must not depend on the seed"
    );
}

#[test]
fn tilt_shears_the_grid_not_the_patient() {
    let params = PhantomParams {
        tilt_deg: 15.0,
        ..small_params()
    };
    let g = geometry(&params);
    assert!((g.shear_deg() - 15.0).abs() < 1e-9, "{}", g.shear_deg());
    assert!((g.slice_normal() - DVec3::Z).length() < 1e-12);
    // Slice planes stay 10 mm apart.
    let step = g.world_of_voxel(DVec3::Z) - g.world_of_voxel(DVec3::ZERO);
    assert!((step.z - 10.0).abs() < 1e-9 && step.y > 0.0, "{step}");

    let tilted = chest(&params);
    let straight = chest(&small_params());
    let c = landmark(&params, LANDMARK_TUMOUR);
    assert_eq!(label_at(&tilted, c), LABEL_TUMOUR);
    let (_, _, _, a) = stats(&tilted, LABEL_LIVER);
    let (_, _, _, b) = stats(&straight, LABEL_LIVER);
    assert!((a - b).length() < 5.0, "liver centroid {a} vs {b}");
    assert_ne!(tilted.labels, straight.labels);
}

#[test]
fn landmarks_and_label_names() {
    let all = landmarks(&PhantomParams::default());
    assert_eq!(all.len(), 6, "{all:?}");
    let tiny = PhantomParams {
        dims: [4, 8, 8],
        spacing_mm: DVec3::ONE,
        ..PhantomParams::default()
    };
    assert!(
        landmarks(&tiny)
            .iter()
            .all(|(n, _)| *n == LANDMARK_VERTEBRA)
    );

    let names = label_names();
    for (i, (label, name)) in names.iter().enumerate() {
        assert_eq!(usize::from(*label), i);
        assert!(!name.is_empty());
    }
    assert_eq!(names.len(), usize::from(LABEL_VESSEL) + 1);
}
