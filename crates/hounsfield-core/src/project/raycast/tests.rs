use glam::{DMat3, DVec3};
use ndarray::Array3;

use super::*;
use crate::mpr::{SlicePlane, ViewAxis};
use crate::project::{project, projection_plane};

/// Bright blob on the patient's left (+x), slightly anterior (−y) and
/// superior; a weaker one on the right, posterior.
fn field(p: DVec3) -> f32 {
    let blob = |c: DVec3, s: f64, a: f64| a * (-(p - c).length_squared() / (2.0 * s * s)).exp();
    (blob(DVec3::new(7.0, -4.0, 5.0), 6.0, 1000.0) + blob(DVec3::new(-8.0, 6.0, -4.0), 5.0, 600.0)
        - 400.0) as f32
}

/// `dims` `[z, row, col]` on `direction` with `spacing`, centred on the
/// world origin, sampled from [`field`].
fn volume(dims: [usize; 3], spacing: DVec3, direction: DMat3) -> Volume {
    let mut g = Geometry::identity(dims);
    g.spacing_mm = spacing;
    g.direction = direction;
    let c = g.centre_mm();
    g.origin_mm -= c;
    let a = Array3::from_shape_fn(dims, |(k, j, i)| {
        field(g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)))
    });
    Volume::from_f32(a, g)
}

fn anisotropic() -> Volume {
    volume([20, 36, 40], DVec3::new(1.0, 1.0, 2.5), DMat3::IDENTITY)
}

/// Bilinear value of `img` (on `plane`) at the projection of `p`.
fn sample(img: &Image2, plane: &SlicePlane, p: DVec3) -> Option<f32> {
    let q = plane.pixel_of_world(p);
    let (w, h) = (img.width as f64, img.height as f64);
    if !(q.x >= 0.0 && q.y >= 0.0 && q.x <= w - 1.0 && q.y <= h - 1.0) {
        return None;
    }
    let (x0, y0) = (q.x.floor() as usize, q.y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(img.width - 1), (y0 + 1).min(img.height - 1));
    let (fx, fy) = ((q.x - x0 as f64) as f32, (q.y - y0 as f64) as f32);
    let at = |x: usize, y: usize| img.get(x, y).unwrap_or(f32::NAN);
    let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
    let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
    Some(top + (bottom - top) * fy)
}

fn params(axis: ViewAxis, mode: ProjectionMode) -> RayParams {
    // The view's normal u × v points into the screen.
    RayParams {
        direction_lps: axis.u_dir().cross(axis.v_dir()),
        up_lps: -axis.v_dir(),
        size_px: [48, 56],
        mm_per_px: 1.0,
        mode,
        step_mm: 0.25,
        ..RayParams::default()
    }
}

#[test]
fn along_each_axis_it_matches_the_axis_projection() {
    let v = anisotropic();
    for axis in ViewAxis::ALL {
        for mode in [ProjectionMode::Max, ProjectionMode::Min] {
            let p = params(axis, mode);
            let img = project_direction(&v, &p).unwrap();
            let grid = RayGrid::new(&v.geometry, &p).unwrap();
            let reference = project(&v, axis, mode, None);
            let plane = projection_plane(&v.geometry, axis);
            let (mut n, mut worst, mut sum) = (0, 0.0f32, 0.0);
            for y in 0..img.height {
                for x in 0..img.width {
                    let world = grid.world_of_pixel(x as f64, y as f64);
                    let (Some(r), Some(got)) = (sample(&reference, &plane, world), img.get(x, y))
                    else {
                        continue;
                    };
                    if got.is_nan() {
                        continue;
                    }
                    worst = worst.max((got - r).abs());
                    sum += f64::from((got - r).abs());
                    n += 1;
                }
            }
            assert!(n > 500, "{axis:?} {mode:?}: only {n} pixels compared");
            // Max-then-interpolate (axis) against interpolate-then-max (rays)
            // differs most where the two blobs take turns across 2.5 mm layers.
            let mean = sum / f64::from(n);
            assert!(worst < 60.0, "{axis:?} {mode:?}: worst {worst} HU");
            assert!(mean < 4.0, "{axis:?} {mode:?}: mean difference {mean} HU");
        }
    }
}

#[test]
fn axial_mip_on_voxel_centres_is_exact() {
    // Pixels on voxel centres and rays along voxel columns: trilinear never
    // exceeds its endpoints, so the MIP is the voxel maximum.
    let v = anisotropic();
    let p = RayParams {
        size_px: [40, 36],
        ..params(ViewAxis::Axial, ProjectionMode::Max)
    };
    let img = project_direction(&v, &p).unwrap();
    let reference = project(&v, ViewAxis::Axial, ProjectionMode::Max, None);
    assert_eq!((reference.width, reference.height), (40, 36));
    for (a, b) in img.data.iter().zip(&reference.data) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
}

#[test]
fn left_and_right_are_not_swapped() {
    let v = anisotropic();
    let brightest = |p: &RayParams| {
        let img = project_direction(&v, p).unwrap();
        let (i, _) = img
            .data
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .fold(
                (0, f32::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            );
        let grid = RayGrid::new(&v.geometry, p).unwrap();
        (
            (i % img.width) as f64,
            (i / img.width) as f64,
            grid.world_of_pixel((i % img.width) as f64, (i / img.width) as f64),
        )
    };
    // Coronal (seen from the front): the patient's left (+x) is on the right.
    let (x, y, _) = brightest(&params(ViewAxis::Coronal, ProjectionMode::Max));
    assert!(x > 24.0 + 4.0, "coronal x {x}");
    assert!(y < 28.0 - 3.0, "superior blob shown low: y {y}");
    // Sagittal (seen from the left): anterior (−y) is on the left.
    let (x, _, _) = brightest(&params(ViewAxis::Sagittal, ProjectionMode::Max));
    assert!(x < 24.0 - 2.0, "sagittal x {x}");
    // From behind (−y into the screen): the patient's left is on the left.
    let back = RayParams {
        direction_lps: DVec3::NEG_Y,
        ..params(ViewAxis::Coronal, ProjectionMode::Max)
    };
    let (x, _, _) = brightest(&back);
    assert!(x < 24.0 - 4.0, "posterior view x {x}");
    // An oblique view: the brightest ray passes by the blob centre.
    let oblique = RayParams {
        direction_lps: DVec3::new(1.0, 1.0, 0.3),
        ..params(ViewAxis::Coronal, ProjectionMode::Max)
    };
    let (_, _, world) = brightest(&oblique);
    let d = oblique.direction_lps.try_normalize().unwrap();
    let blob = DVec3::new(7.0, -4.0, 5.0);
    let off = (blob - world) - d * (blob - world).dot(d);
    assert!(off.length() < 1.5, "ray misses the blob by {off:?}");
}

#[test]
fn oblique_and_sheared_grids_are_placed_in_world_space() {
    let straight = volume([40, 40, 40], DVec3::ONE, DMat3::IDENTITY);
    let turned = DMat3::from_rotation_z(0.35) * DMat3::from_rotation_x(0.2);
    let oblique = volume([44, 44, 44], DVec3::ONE, turned);
    // A gantry-tilt-like shear: slice axis leaning towards +y.
    let shear = DMat3::from_cols(
        DVec3::X,
        DVec3::Y,
        DVec3::new(0.0, 0.3, 0.95).try_normalize().unwrap(),
    );
    let sheared = volume([40, 40, 40], DVec3::ONE, shear);
    for dir in [DVec3::Y, DVec3::new(-1.0, 0.5, 0.2)] {
        let p = RayParams {
            direction_lps: dir,
            size_px: [30, 30],
            step_mm: 0.25,
            ..RayParams::default()
        };
        let a = project_direction(&straight, &p).unwrap();
        for other in [&oblique, &sheared] {
            let b = project_direction(other, &p).unwrap();
            for (x, y) in a.data.iter().zip(&b.data) {
                assert!((x - y).abs() < 15.0, "{dir:?}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn outside_samples_mean_and_misses() {
    let g = Geometry::identity([4, 4, 4]);
    let v = Volume::from_i16(Array3::from_elem((4, 4, 4), -2000), g);
    let p = RayParams {
        size_px: [12, 12],
        ..RayParams::default()
    };
    let skip = project_direction(&v, &p).unwrap();
    assert!(skip.data[0].is_nan(), "a ray missing the volume is NaN");
    assert_eq!(skip.get(6, 6), Some(-2000.0));
    let air = project_direction(
        &v,
        &RayParams {
            outside_hu: Some(-1000.0),
            ..p
        },
    )
    .unwrap();
    assert!(air.data.iter().all(|&x| (x + 1000.0).abs() < 1e-6));
    let flat = Volume::from_i16(Array3::from_elem((4, 4, 4), 40), g);
    let mean = project_direction(
        &flat,
        &RayParams {
            mode: ProjectionMode::Mean,
            ..p
        },
    )
    .unwrap();
    assert_eq!(mean.get(6, 6), Some(40.0));
}

#[test]
fn bad_parameters_are_refused() {
    let v = anisotropic();
    for p in [
        RayParams {
            direction_lps: DVec3::ZERO,
            ..RayParams::default()
        },
        RayParams {
            up_lps: DVec3::Y,
            ..RayParams::default()
        },
        RayParams {
            step_mm: 0.0,
            ..RayParams::default()
        },
        RayParams {
            size_px: [0, 4],
            ..RayParams::default()
        },
    ] {
        assert!(project_direction(&v, &p).is_err(), "{p:?}");
    }
}
