//! Known-answer tests of the display planes and the reslicers, on synthetic
//! volumes only: orientation, exact copies, grid sizes, pixel ↔ world and
//! slice numbering here; interpolation, outside samples and windowing in
//! [`sampling`].

#![allow(
    clippy::float_cmp,
    reason = "exact copies and grid sizes are exact known answers"
)]

use glam::{DMat3, DVec2, DVec3};
use ndarray::Array3;

use super::*;
use crate::volume::resample::Interpolation;
use crate::volume::{Geometry, Volume};

mod sampling;

const LEFT_HU: f32 = 1000.0;
const SUPERIOR_HU: f32 = 2000.0;
const ANTERIOR_HU: f32 = 3000.0;
const MARKER_RADIUS_MM: f64 = 9.0;
/// Marker centres: patient left (+x), superior (+z), anterior (−y).
const LEFT_MM: DVec3 = DVec3::new(40.0, 0.0, 0.0);
const SUPERIOR_MM: DVec3 = DVec3::new(0.0, 0.0, 40.0);
const ANTERIOR_MM: DVec3 = DVec3::new(0.0, -40.0, 0.0);

/// A grid centred on the world origin with voxel spacing `spacing_mm` along
/// `(col, row, slice)` and about `extent_mm` of coverage along each axis.
fn centred_geometry(direction: DMat3, spacing_mm: DVec3, extent_mm: f64) -> Geometry {
    let n = |s: f64| (extent_mm / s).floor() as usize + 1;
    let dims = [n(spacing_mm.z), n(spacing_mm.y), n(spacing_mm.x)];
    let half = DVec3::new(
        (dims[2] - 1) as f64,
        (dims[1] - 1) as f64,
        (dims[0] - 1) as f64,
    ) * 0.5;
    Geometry {
        dims,
        spacing_mm,
        origin_mm: -(direction * (spacing_mm * half)),
        direction,
    }
}

/// A volume whose voxel values are `f(world position of the voxel centre)`.
fn volume_from_fn(geometry: Geometry, as_i16: bool, f: impl Fn(DVec3) -> f32) -> Volume {
    let [nz, ny, nx] = geometry.dims;
    let a = Array3::from_shape_fn((nz, ny, nx), |(k, j, i)| {
        f(geometry.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)))
    });
    if as_i16 {
        Volume::from_i16(a.mapv(|v| v as i16), geometry)
    } else {
        Volume::from_f32(a, geometry)
    }
}

fn marker_volume(geometry: Geometry, as_i16: bool) -> Volume {
    volume_from_fn(geometry, as_i16, |p| {
        let r = MARKER_RADIUS_MM;
        if p.distance(LEFT_MM) <= r {
            LEFT_HU
        } else if p.distance(SUPERIOR_MM) <= r {
            SUPERIOR_HU
        } else if p.distance(ANTERIOR_MM) <= r {
            ANTERIOR_HU
        } else {
            0.0
        }
    })
}

/// Centroid (pixels) of the pixels equal to `hu`, and their count.
fn centroid(img: &Image2, hu: f32) -> (DVec2, usize) {
    let mut sum = DVec2::ZERO;
    let mut n = 0;
    for y in 0..img.height {
        for x in 0..img.width {
            if img.get(x, y).is_some_and(|v| (v - hu).abs() < 0.5) {
                sum += DVec2::new(x as f64, y as f64);
                n += 1;
            }
        }
    }
    (sum / n.max(1) as f64, n)
}

fn rotation(deg_z: f64, deg_x: f64) -> DMat3 {
    DMat3::from_rotation_z(deg_z.to_radians()) * DMat3::from_rotation_x(deg_x.to_radians())
}

fn tilted(deg: f64) -> DMat3 {
    let (s, c) = deg.to_radians().sin_cos();
    DMat3::from_cols(DVec3::X, DVec3::Y, DVec3::new(0.0, s, c))
}

/// Direction matrices of the orientation table: name and columns (col, row,
/// slice) in LPS.
fn orientation_cases() -> Vec<(&'static str, DMat3)> {
    let m = DMat3::from_cols;
    let (x, y, z) = (DVec3::X, DVec3::Y, DVec3::Z);
    vec![
        ("axial LPS", DMat3::IDENTITY),
        ("axial, col -x, slice -z", m(-x, y, -z)),
        ("axial, row -y (feet first prone)", m(-x, -y, z)),
        ("permuted col +y row +z slice +x", m(y, z, x)),
        ("permuted col +z row -x slice -y", m(z, -x, -y)),
        ("sagittal acquired", m(y, -z, -x)),
        ("coronal acquired", m(x, -z, y)),
        ("gantry tilt 20 deg", tilted(20.0)),
        ("oblique 25/10 deg", rotation(25.0, 10.0)),
    ]
}

#[test]
fn orientation_of_asymmetric_markers() {
    for (name, direction) in orientation_cases() {
        for as_i16 in [true, false] {
            let g = centred_geometry(direction, DVec3::new(2.0, 2.5, 3.0), 130.0);
            let vol = marker_volume(g, as_i16);
            let view = |axis| {
                let plane = SlicePlane::through(&g, axis, DVec3::ZERO);
                (plane, reslice(&vol, &plane, Interpolation::Nearest))
            };
            let half = |img: &Image2| DVec2::new(img.width as f64, img.height as f64) / 2.0;

            let (plane, img) = view(ViewAxis::Axial);
            assert_eq!(plane.edge_letters(), ['R', 'L', 'A', 'P']);
            let (left, n_left) = centroid(&img, LEFT_HU);
            let (ant, n_ant) = centroid(&img, ANTERIOR_HU);
            assert!(n_left > 3 && n_ant > 3, "{name}: markers missing in axial");
            assert!(
                left.x > half(&img).x,
                "{name}: axial left marker {left} not on the right"
            );
            assert!(
                ant.y < half(&img).y,
                "{name}: axial anterior marker {ant} not at the top"
            );
            assert_eq!(centroid(&img, SUPERIOR_HU).1, 0, "{name}");

            let (plane, img) = view(ViewAxis::Coronal);
            assert_eq!(plane.edge_letters(), ['R', 'L', 'S', 'I']);
            let (left, n_left) = centroid(&img, LEFT_HU);
            let (sup, n_sup) = centroid(&img, SUPERIOR_HU);
            assert!(
                n_left > 3 && n_sup > 3,
                "{name}: markers missing in coronal"
            );
            assert!(
                left.x > half(&img).x,
                "{name}: coronal left marker {left} not on the right"
            );
            assert!(
                sup.y < half(&img).y,
                "{name}: coronal superior marker {sup} not at the top"
            );

            let (plane, img) = view(ViewAxis::Sagittal);
            assert_eq!(plane.edge_letters(), ['A', 'P', 'S', 'I']);
            let (sup, n_sup) = centroid(&img, SUPERIOR_HU);
            let (ant, n_ant) = centroid(&img, ANTERIOR_HU);
            assert!(
                n_sup > 3 && n_ant > 3,
                "{name}: markers missing in sagittal"
            );
            assert!(
                sup.y < half(&img).y,
                "{name}: sagittal superior marker {sup} not at the top"
            );
            assert!(
                ant.x < half(&img).x,
                "{name}: sagittal anterior marker {ant} not on the left"
            );
        }
    }
}

#[test]
fn normals_point_into_the_screen() {
    let g = Geometry::identity([4, 5, 6]);
    let n = |axis| SlicePlane::through(&g, axis, DVec3::ZERO).normal();
    assert_eq!(n(ViewAxis::Axial), DVec3::Z);
    assert_eq!(n(ViewAxis::Coronal), DVec3::Y);
    assert_eq!(n(ViewAxis::Sagittal), DVec3::NEG_X);
    for axis in ViewAxis::ALL {
        assert_eq!(n(axis).dot(axis.scroll_dir()).abs(), 1.0);
    }
}

/// `[z, row, col]` → `100 z + 10 row + col`, distinct for small grids.
fn index_volume(direction: DMat3) -> Volume {
    let g = Geometry {
        dims: [7, 9, 11],
        spacing_mm: DVec3::new(0.7, 0.9, 2.5),
        origin_mm: DVec3::new(-10.0, 20.0, -30.0),
        direction,
    };
    let a = Array3::from_shape_fn((7, 9, 11), |(z, y, x)| (100 * z + 10 * y + x) as i16);
    Volume::from_i16(a, g)
}

#[test]
fn axis_aligned_views_are_exact_voxel_copies() {
    let vol = index_volume(DMat3::IDENTITY);
    let g = vol.geometry;
    let a = vol.voxels.as_i16().unwrap();
    let [nz, ny, nx] = g.dims;
    for interp in [Interpolation::Nearest, Interpolation::Linear] {
        for k in 0..nz {
            let p = g.world_of_voxel(DVec3::new(3.0, 4.0, k as f64));
            let plane = SlicePlane::through(&g, ViewAxis::Axial, p);
            assert_eq!(plane.size, [nx, ny]);
            assert_eq!(plane.pixel_mm, [0.7, 0.9]);
            let img = reslice(&vol, &plane, interp);
            let expected: Vec<f32> = a
                .index_axis(ndarray::Axis(0), k)
                .iter()
                .map(|&v| f32::from(v))
                .collect();
            assert_eq!(img.data, expected, "axial slice {k} {interp:?}");
        }
        let p = g.world_of_voxel(DVec3::new(5.0, 4.0, 3.0));
        let cor = reslice(&vol, &SlicePlane::through(&g, ViewAxis::Coronal, p), interp);
        assert_eq!((cor.width, cor.height), (nx, nz));
        let sag = reslice(
            &vol,
            &SlicePlane::through(&g, ViewAxis::Sagittal, p),
            interp,
        );
        assert_eq!((sag.width, sag.height), (ny, nz));
        for y in 0..nz {
            for x in 0..nx {
                assert_eq!(cor.get(x, y), Some(f32::from(a[[nz - 1 - y, 4, x]])));
            }
            for x in 0..ny {
                assert_eq!(sag.get(x, y), Some(f32::from(a[[nz - 1 - y, x, 5]])));
            }
        }
    }
    // A flipped column axis mirrors the copy.
    let vol = index_volume(DMat3::from_cols(DVec3::NEG_X, DVec3::Y, DVec3::NEG_Z));
    let a = vol.voxels.as_i16().unwrap();
    let p = vol.geometry.world_of_voxel(DVec3::new(0.0, 0.0, 2.0));
    let img = reslice(
        &vol,
        &SlicePlane::through(&vol.geometry, ViewAxis::Axial, p),
        Interpolation::Linear,
    );
    for y in 0..ny {
        for x in 0..nx {
            assert_eq!(img.get(x, y), Some(f32::from(a[[2, y, nx - 1 - x]])));
        }
    }
}

#[test]
fn chest_ct_grid_sizes() {
    let mut g = Geometry::identity([141, 512, 512]);
    g.spacing_mm = DVec3::new(0.976_562_5, 0.976_562_5, 2.0);
    g.origin_mm = DVec3::new(-250.0, -230.0, -300.0);
    let c = g.centre_mm();
    let ax = SlicePlane::through(&g, ViewAxis::Axial, c);
    assert_eq!((ax.size, ax.pixel_mm), ([512, 512], [0.976_562_5; 2]));
    let cor = SlicePlane::through(&g, ViewAxis::Coronal, c);
    assert_eq!((cor.size, cor.pixel_mm), ([512, 141], [0.976_562_5, 2.0]));
    let sag = SlicePlane::through(&g, ViewAxis::Sagittal, c);
    assert_eq!((sag.size, sag.pixel_mm), ([512, 141], [0.976_562_5, 2.0]));
    assert_eq!(cor.extent_mm(), [500.0, 282.0]);
    assert_eq!(ax.origin_mm, DVec3::new(-250.0, -230.0, c.z));
    // top-left of the coronal view: patient right, superior
    assert_eq!(cor.origin_mm, DVec3::new(-250.0, c.y, -300.0 + 280.0));
    assert_eq!(slice_position(&g, ViewAxis::Axial, c), (70, 141, c.z));
    assert_eq!(slice_step_mm(&g, ViewAxis::Axial), 2.0);
    // Oblique: smallest spacing on both axes, covering the bounding box.
    g.direction = rotation(30.0, 0.0);
    let ob = SlicePlane::through(&g, ViewAxis::Axial, g.centre_mm());
    assert_eq!(ob.pixel_mm, [0.976_562_5; 2]);
    for corner in [
        DVec3::ZERO,
        DVec3::new(511.0, 511.0, 0.0),
        DVec3::new(0.0, 511.0, 0.0),
    ] {
        let px = ob.pixel_of_world(g.world_of_voxel(corner));
        assert!(px.cmpge(DVec2::splat(-1e-9)).all(), "{px}");
        assert!(px.x <= (ob.size[0] - 1) as f64 && px.y <= (ob.size[1] - 1) as f64);
    }
}

#[test]
fn pixel_world_round_trip() {
    let g = centred_geometry(rotation(25.0, 10.0), DVec3::new(0.8, 0.9, 2.0), 100.0);
    let mut planes: Vec<SlicePlane> = ViewAxis::ALL
        .iter()
        .map(|&axis| SlicePlane::through(&g, axis, DVec3::new(3.0, -7.0, 11.0)))
        .collect();
    let u_dir = DVec3::new(1.0, 0.3, 0.2).try_normalize().unwrap();
    planes.push(SlicePlane {
        axis: ViewAxis::Axial,
        origin_mm: DVec3::new(-50.0, 20.0, 5.0),
        u_dir,
        v_dir: u_dir.any_orthonormal_vector(),
        pixel_mm: [0.6, 1.7],
        size: [100, 80],
    });
    for plane in planes {
        let n = plane.normal();
        assert!((n.length() - 1.0).abs() < 1e-12 && n.dot(plane.u_dir).abs() < 1e-12);
        for (x, y) in [(0.0, 0.0), (10.5, 3.25), (-4.0, 99.0), (511.0, 140.0)] {
            let w = plane.world_of_pixel(x, y);
            let back = plane.pixel_of_world(w);
            assert!(
                (back - DVec2::new(x, y)).length() < 1e-9,
                "{plane:?} {x} {y} → {back}"
            );
            // Off-plane points project along the normal.
            let off = plane.pixel_of_world(w + n * 12.5);
            assert!((off - back).length() < 1e-9);
        }
        let [w, h] = plane.size;
        assert_eq!(
            plane.extent_mm(),
            [w as f64 * plane.pixel_mm[0], h as f64 * plane.pixel_mm[1]]
        );
    }
}

#[test]
fn slice_position_and_step() {
    for (direction, flipped) in [
        (DMat3::IDENTITY, false),
        (
            DMat3::from_cols(DVec3::NEG_X, DVec3::NEG_Y, DVec3::NEG_Z),
            true,
        ),
    ] {
        let g = index_volume(direction).geometry;
        let [nz, ny, nx] = g.dims;
        assert_eq!(slice_step_mm(&g, ViewAxis::Axial), 2.5);
        assert_eq!(slice_step_mm(&g, ViewAxis::Coronal), 0.9);
        assert_eq!(slice_step_mm(&g, ViewAxis::Sagittal), 0.7);
        for k in 0..nz {
            let p = g.world_of_voxel(DVec3::new(1.0, 2.0, k as f64));
            let (index, count, pos) = slice_position(&g, ViewAxis::Axial, p);
            assert_eq!((index, count), (if flipped { nz - 1 - k } else { k }, nz));
            assert_eq!(pos, p.z);
            // Off-slice points go to the nearest slice.
            let q = p + DVec3::Z * 1.2;
            assert_eq!(slice_position(&g, ViewAxis::Axial, q).0, index);
            let snapped = point_of_slice(&g, ViewAxis::Axial, q, index);
            assert!((snapped - p).length() < 1e-9);
        }
        let p = g.world_of_voxel(DVec3::new(4.0, 6.0, 1.0));
        let (j, ny_count, y) = slice_position(&g, ViewAxis::Coronal, p);
        assert_eq!(
            (j, ny_count, y),
            (if flipped { ny - 1 - 6 } else { 6 }, ny, p.y)
        );
        let (i, nx_count, x) = slice_position(&g, ViewAxis::Sagittal, p);
        assert_eq!(
            (i, nx_count, x),
            (if flipped { nx - 1 - 4 } else { 4 }, nx, p.x)
        );
        // Far outside: clamped.
        assert_eq!(
            slice_position(&g, ViewAxis::Axial, DVec3::splat(1e6)).0,
            nz - 1
        );
        assert_eq!(slice_position(&g, ViewAxis::Axial, DVec3::splat(-1e6)).0, 0);
    }
    // Gantry tilt: slices stay axial planes 2 mm apart.
    let mut g = centred_geometry(
        tilted(20.0),
        DVec3::new(0.8, 0.8, 2.0 / 20f64.to_radians().cos()),
        80.0,
    );
    g.dims[0] = 30;
    assert!((slice_step_mm(&g, ViewAxis::Axial) - 2.0).abs() < 1e-12);
    let p = g.world_of_voxel(DVec3::new(0.0, 0.0, 17.0));
    assert_eq!(slice_position(&g, ViewAxis::Axial, p).0, 17);
    assert_eq!(slice_position(&g, ViewAxis::Axial, p).1, 30);
    // Oblique: the smallest spacing.
    let g = centred_geometry(rotation(25.0, 10.0), DVec3::new(0.8, 0.9, 2.0), 60.0);
    for axis in ViewAxis::ALL {
        assert_eq!(slice_step_mm(&g, axis), 0.8);
    }
}
