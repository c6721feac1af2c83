//! Known-answer tests of `project`: MIP, AIP and `MinIP` of ball phantoms on
//! anisotropic grids, thick slabs, flipped, permuted and oblique grids, the
//! `project` subcommand, and the chest CT when present.

#![allow(clippy::unwrap_used)] // a panic is a test failure here
#![allow(clippy::float_cmp)] // known answers are exact voxel values

use glam::{DMat3, DVec3};
use hounsfield::mpr::{Image2, SlicePlane, ViewAxis};
use hounsfield::project::{
    ProjectionMode, Slab, median_slice, project, projection_plane, window_image_u8,
};
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

const BALL_HU: i16 = 300;
const AIR_HU: i16 = -1000;
const RADIUS_MM: f64 = 12.345;

/// A ball of `hu` centred at `centre_mm`.
#[derive(Clone, Copy)]
struct Ball {
    centre_mm: DVec3,
    hu: i16,
}

/// Anisotropic standard grid: 64 columns of 0.8 mm (x), 48 rows of 0.9 mm
/// (y), 40 slices of 2 mm (z).
fn standard_geometry() -> Geometry {
    let mut g = Geometry::identity([40, 48, 64]);
    g.spacing_mm = DVec3::new(0.8, 0.9, 2.0);
    g.origin_mm = DVec3::new(-20.0, 10.0, -30.0);
    g
}

/// A voxel-centre position near the middle of the standard grid.
fn ball_centre() -> DVec3 {
    standard_geometry().world_of_voxel(DVec3::new(32.0, 24.0, 20.0))
}

/// Sample the balls (on `background`) at every voxel centre of `g`.
fn ball_volume(g: Geometry, balls: &[Ball], background: i16) -> Volume {
    let [nz, ny, nx] = g.dims;
    let a = Array3::from_shape_fn((nz, ny, nx), |(k, j, i)| {
        let p = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        balls
            .iter()
            .find(|b| (p - b.centre_mm).length() <= RADIUS_MM)
            .map_or(background, |b| b.hu)
    });
    Volume::from_i16(a, g)
}

fn one_ball(g: Geometry) -> Volume {
    let ball = Ball {
        centre_mm: ball_centre(),
        hu: BALL_HU,
    };
    ball_volume(g, &[ball], AIR_HU)
}

/// Distance (mm) from `p` to `c` perpendicular to `dir`.
fn off_axis_mm(p: DVec3, c: DVec3, dir: DVec3) -> f64 {
    let d = p - c;
    (d - dir * d.dot(dir)).length()
}

/// Checks every pixel: `inside` well inside the ball's disc, `outside` well
/// outside it (within the volume's footprint).
fn check_disc(img: &Image2, plane: &SlicePlane, inside: f32, outside: f32) {
    let dir = plane.axis.scroll_dir();
    let (mut n_in, mut n_out) = (0, 0);
    for y in 0..img.height {
        for x in 0..img.width {
            let r = off_axis_mm(plane.world_of_pixel(x as f64, y as f64), ball_centre(), dir);
            let v = img.get(x, y).unwrap();
            if r < RADIUS_MM - 3.0 {
                assert_eq!(v, inside, "pixel ({x}, {y}) at {r:.2} mm");
                n_in += 1;
            } else if r > RADIUS_MM + 0.01 {
                assert_eq!(v, outside, "pixel ({x}, {y}) at {r:.2} mm");
                n_out += 1;
            }
        }
    }
    assert!(n_in > 20 && n_out > 20, "{n_in} inside, {n_out} outside");
}

#[test]
fn image_size_is_the_slice_plane_size() {
    let oblique = oblique_geometry();
    for g in [standard_geometry(), oblique] {
        let v = one_ball(g);
        for axis in ViewAxis::ALL {
            let img = project(&v, axis, ProjectionMode::Max, None);
            let plane = SlicePlane::through(&g, axis, g.world_of_voxel(DVec3::new(3.0, 5.0, 7.0)));
            assert_eq!([img.width, img.height], plane.size, "{axis:?}");
            assert_eq!(img.data.len(), img.width * img.height);
            assert_eq!(projection_plane(&g, axis).size, plane.size);
        }
    }
}

#[test]
fn mip_is_the_ball_inside_the_disc_and_air_outside() {
    let v = one_ball(standard_geometry());
    for axis in ViewAxis::ALL {
        let img = project(&v, axis, ProjectionMode::Max, None);
        let plane = projection_plane(&v.geometry, axis);
        check_disc(&img, &plane, f32::from(BALL_HU), f32::from(AIR_HU));
        assert!(img.data.iter().all(|x| x.is_finite()), "{axis:?}");
    }
}

#[test]
fn minip_of_a_dark_ball_is_air_inside_the_disc() {
    let ball = Ball {
        centre_mm: ball_centre(),
        hu: AIR_HU,
    };
    let v = ball_volume(standard_geometry(), &[ball], 40);
    for axis in ViewAxis::ALL {
        let img = project(&v, axis, ProjectionMode::Min, None);
        check_disc(
            &img,
            &projection_plane(&v.geometry, axis),
            f32::from(AIR_HU),
            40.0,
        );
    }
    // And the MinIP of a bright ball on air is air everywhere.
    let v = one_ball(standard_geometry());
    let img = project(&v, ViewAxis::Axial, ProjectionMode::Min, None);
    assert!(img.data.iter().all(|&x| x == f32::from(AIR_HU)));
}

#[test]
fn aip_through_the_centre_is_the_chord_average() {
    let v = one_ball(standard_geometry());
    let spacing = v.geometry.spacing_mm;
    for (axis, step_mm) in [
        (ViewAxis::Axial, spacing.z),
        (ViewAxis::Coronal, spacing.y),
        (ViewAxis::Sagittal, spacing.x),
    ] {
        let img = project(&v, axis, ProjectionMode::Mean, None);
        let plane = projection_plane(&v.geometry, axis);
        let px = plane.pixel_of_world(ball_centre());
        let (x, y) = (px.x.round() as usize, px.y.round() as usize);
        assert!((px.x - x as f64).abs() < 1e-6 && (px.y - y as f64).abs() < 1e-6);
        let got = f64::from(img.get(x, y).unwrap());
        // Layers along the ray, and the analytic chord length in layers.
        let (_, n, _) = hounsfield::mpr::slice_position(&v.geometry, axis, ball_centre());
        let n = n as f64;
        let chord = 2.0 * RADIUS_MM / step_mm;
        let (b, a) = (f64::from(BALL_HU), f64::from(AIR_HU));
        let analytic = (b * chord + a * (n - chord)) / n;
        let tol = (b - a) / n;
        assert!(
            (got - analytic).abs() <= tol,
            "{axis:?}: {got} vs {analytic} ± {tol}"
        );
    }
}

#[test]
fn a_thick_slab_leaves_out_a_ball_outside_it() {
    let g = standard_geometry();
    let first = ball_centre() - DVec3::new(12.0, 0.0, 16.0);
    let second = ball_centre() + DVec3::new(12.0, 0.0, 16.0);
    let v = ball_volume(
        g,
        &[
            Ball {
                centre_mm: first,
                hu: 200,
            },
            Ball {
                centre_mm: second,
                hu: 500,
            },
        ],
        AIR_HU,
    );
    let plane = projection_plane(&g, ViewAxis::Axial);
    let at = |img: &Image2, p: DVec3| {
        let px = plane.pixel_of_world(p);
        img.get(px.x.round() as usize, px.y.round() as usize)
            .unwrap()
    };
    let whole = project(&v, ViewAxis::Axial, ProjectionMode::Max, None);
    assert_eq!(at(&whole, first), 200.0);
    assert_eq!(at(&whole, second), 500.0);
    let slab = Slab {
        centre_mm: first,
        thickness_mm: 10.0,
    };
    let thick = project(&v, ViewAxis::Axial, ProjectionMode::Max, Some(&slab));
    assert_eq!(at(&thick, first), 200.0);
    assert_eq!(at(&thick, second), f32::from(AIR_HU));
    // The slab's mean: 5 layers (±5 mm at 2 mm), all inside the first ball.
    let mean = project(&v, ViewAxis::Axial, ProjectionMode::Mean, Some(&slab));
    assert_eq!(at(&mean, first), 200.0);
    // A slab beside the volume is empty.
    let away = Slab {
        centre_mm: DVec3::new(0.0, 0.0, 1000.0),
        thickness_mm: 10.0,
    };
    let none = project(&v, ViewAxis::Axial, ProjectionMode::Max, Some(&away));
    assert!(none.data.iter().all(|x| x.is_nan()));
}

/// `g` with the voxel axes whose `flip` is set reversed (same voxel centres
/// in the world).
fn flipped(g: Geometry, flip: [bool; 3]) -> Geometry {
    let mut out = g;
    let last = DVec3::new(
        (g.dims[2] - 1) as f64,
        (g.dims[1] - 1) as f64,
        (g.dims[0] - 1) as f64,
    );
    let mut idx0 = DVec3::ZERO;
    let mut cols = [g.direction.x_axis, g.direction.y_axis, g.direction.z_axis];
    for k in 0..3 {
        if flip[k] {
            idx0[k] = last[k];
            cols[k] = -cols[k];
        }
    }
    out.origin_mm = g.world_of_voxel(idx0);
    out.direction = DMat3::from_cols(cols[0], cols[1], cols[2]);
    out
}

/// A sagittal acquisition covering the standard grid's box: columns along
/// +y, rows along −z, slices along +x.
fn permuted_geometry() -> Geometry {
    let s = standard_geometry();
    let mut g = Geometry::identity([s.dims[2], s.dims[0], s.dims[1]]);
    g.spacing_mm = DVec3::new(s.spacing_mm.y, s.spacing_mm.z, s.spacing_mm.x);
    g.direction = DMat3::from_cols(DVec3::Y, DVec3::NEG_Z, DVec3::X);
    g.origin_mm = s.world_of_voxel(DVec3::new(0.0, 0.0, (s.dims[0] - 1) as f64));
    g
}

#[test]
fn flipped_and_permuted_grids_give_the_same_world_placed_image() {
    let reference = one_ball(standard_geometry());
    let others = [
        flipped(standard_geometry(), [true, false, true]),
        flipped(standard_geometry(), [false, true, false]),
        permuted_geometry(),
        flipped(permuted_geometry(), [true, true, true]),
    ];
    for g in others {
        let v = one_ball(g);
        for axis in ViewAxis::ALL {
            let p_ref = projection_plane(&reference.geometry, axis);
            let p = projection_plane(&g, axis);
            assert_eq!(p.size, p_ref.size);
            for mode in ProjectionMode::ALL {
                let a = project(&reference, axis, mode, None);
                let b = project(&v, axis, mode, None);
                for y in 0..b.height {
                    for x in 0..b.width {
                        // The reference pixel at the same world position.
                        let w = p.world_of_pixel(x as f64, y as f64);
                        let q = p_ref.pixel_of_world(w);
                        assert!((q.x - x as f64).abs() < 1e-6 && (q.y - y as f64).abs() < 1e-6);
                        let (va, vb) = (a.get(x, y).unwrap(), b.get(x, y).unwrap());
                        assert!(
                            (va - vb).abs() < 1e-3,
                            "{axis:?} {mode:?} ({x}, {y}): {va} {vb}"
                        );
                    }
                }
            }
        }
    }
}

/// The standard grid rotated 20° about z around the ball centre.
fn oblique_geometry() -> Geometry {
    let mut g = standard_geometry();
    let rot = DMat3::from_rotation_z(20f64.to_radians());
    let c = ball_centre();
    g.direction = rot;
    g.origin_mm = c + rot * (g.origin_mm - c);
    g
}

#[test]
fn oblique_grids_project_by_reslicing() {
    let v = one_ball(oblique_geometry());
    for axis in ViewAxis::ALL {
        let img = project(&v, axis, ProjectionMode::Max, None);
        let plane = projection_plane(&v.geometry, axis);
        let dir = axis.scroll_dir();
        let mut n_in = 0;
        for y in 0..img.height {
            for x in 0..img.width {
                let r = off_axis_mm(plane.world_of_pixel(x as f64, y as f64), ball_centre(), dir);
                if r < RADIUS_MM - 4.0 {
                    assert_eq!(img.get(x, y), Some(f32::from(BALL_HU)), "{axis:?}");
                    n_in += 1;
                }
            }
        }
        assert!(n_in > 20);
        // Corners of the rotated box's footprint are outside: NaN.
        if axis == ViewAxis::Axial {
            assert!(img.get(0, 0).unwrap().is_nan());
        }
    }
}

#[test]
fn median_slice_and_windowing() {
    let a = Array3::from_shape_fn((4, 3, 2), |(z, y, x)| (100 * z + 10 * y + x) as i16);
    let v = Volume::from_i16(a, Geometry::identity([4, 3, 2]));
    let axial = median_slice(&v, ViewAxis::Axial);
    assert_eq!((axial.width, axial.height), (2, 3));
    assert_eq!(axial.get(1, 2), Some(221.0));
    let coronal = median_slice(&v, ViewAxis::Coronal);
    // Coronal: top row is the highest z; row index 1 is the middle.
    assert_eq!(coronal.get(1, 0), Some(311.0));
    let img = Image2 {
        width: 3,
        height: 1,
        data: vec![f32::NAN, -1000.0, 240.0],
    };
    assert_eq!(window_image_u8(&img, 40.0, 400.0), vec![0, 0, 255]);
}

#[test]
fn f32_volumes_project_like_i16_ones() {
    let v = one_ball(standard_geometry());
    let f = Volume::from_f32(v.voxels.to_f32(), v.geometry);
    for axis in ViewAxis::ALL {
        for mode in ProjectionMode::ALL {
            assert_eq!(project(&v, axis, mode, None), project(&f, axis, mode, None));
        }
    }
}

#[test]
fn cli_writes_a_png_in_physical_aspect() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ball.nrrd");
    hounsfield::io::nrrd::write_nrrd(&input, &one_ball(standard_geometry()), true).unwrap();
    let out = dir.path().join("mip.png");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args([
            "project",
            input.to_str().unwrap(),
            "--mode",
            "mip",
            "--axis",
        ])
        .args(["coronal", "--slab-mm", "20", "--window", "40,400", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let png = image::open(&out).unwrap().to_rgb8();
    // 64 × 0.8 mm wide, 40 × 2 mm high, at 0.8 mm per pixel.
    assert_eq!((png.width(), png.height()), (64, 100));
    // The ball's centre is bright (300 HU at 40/400 → 223).
    let c = png.get_pixel(32, 100 - 1 - 50).0[0];
    assert!(c > 200, "{c}");
}

#[test]
fn chest_ct_axial_mip_reaches_the_volume_max() {
    let Some(dir) = hounsfield::testdata::dir("chest-ct") else {
        return;
    };
    let vol =
        hounsfield::dicom::load_series(&dir, None, &hounsfield::dicom::LoadControl::default())
            .unwrap()
            .volume;
    let vol_max = vol.voxels.to_f32().iter().copied().fold(f32::MIN, f32::max);
    let mip = project(&vol, ViewAxis::Axial, ProjectionMode::Max, None);
    let mip_max = mip.data.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(mip_max, vol_max);
    assert_eq!(mip_max, 2976.0);
}
