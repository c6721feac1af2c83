//! Sampling tests: trilinear exactness, a per-pixel reference, outside
//! samples, windowing and degenerate inputs.

#![allow(clippy::float_cmp, reason = "known answers are exact")]

use glam::{DMat3, DVec3};
use ndarray::Array3;

use super::{centred_geometry, index_volume, rotation, tilted, volume_from_fn};
use crate::mpr::{SlicePlane, ViewAxis, reslice, reslice_window_u8};
use crate::volume::ops::window_value_u8;
use crate::volume::resample::Interpolation;
use crate::volume::{Geometry, Volume};

fn ramp(p: DVec3) -> f32 {
    (3.0 * p.x - 2.0 * p.y + 0.5 * p.z + 7.0) as f32
}

fn assert_ramp(vol: &Volume, plane: &SlicePlane, what: &str) {
    let img = reslice(vol, plane, Interpolation::Linear);
    let mut inside = 0;
    for y in 0..img.height {
        for x in 0..img.width {
            let v = img.get(x, y).unwrap();
            if v.is_nan() {
                continue;
            }
            inside += 1;
            let want = ramp(plane.world_of_pixel(x as f64, y as f64));
            assert!(
                (v - want).abs() < 1e-3 * want.abs().max(10.0),
                "{what} ({x},{y}): {v} vs {want}"
            );
        }
    }
    assert!(
        inside > img.data.len() / 4,
        "{what}: only {inside} samples inside"
    );
}

#[test]
fn linear_is_exact_on_a_ramp() {
    for direction in [DMat3::IDENTITY, rotation(25.0, 10.0), tilted(15.0)] {
        let g = centred_geometry(direction, DVec3::new(1.5, 2.0, 3.0), 60.0);
        let vol = volume_from_fn(g, false, ramp);
        for axis in ViewAxis::ALL {
            // Between voxel layers.
            let plane = SlicePlane::through(&g, axis, DVec3::new(1.3, -0.7, 2.1));
            assert_ramp(&vol, &plane, &format!("{direction:?} {axis:?}"));
        }
        let u_dir = DVec3::new(1.0, 0.4, -0.3).try_normalize().unwrap();
        let v_dir = u_dir.cross(DVec3::Z).try_normalize().unwrap();
        let plane = SlicePlane {
            axis: ViewAxis::Axial,
            origin_mm: DVec3::new(-20.0, -20.0, 3.3) - u_dir * 10.0,
            u_dir,
            v_dir,
            pixel_mm: [0.37, 0.55],
            size: [90, 70],
        };
        assert_ramp(&vol, &plane, &format!("{direction:?} oblique plane"));
    }
}

/// Per-pixel reference: full matrix product and bounds check per pixel.
fn reference(vol: &Volume, plane: &SlicePlane, interp: Interpolation) -> Vec<f32> {
    let g = &vol.geometry;
    let [nz, ny, nx] = g.dims;
    let last = DVec3::new((nx - 1) as f64, (ny - 1) as f64, (nz - 1) as f64);
    let at = |x: usize, y: usize, z: usize| vol.voxels.get_hu(z, y, x).unwrap();
    let mut out = Vec::new();
    for y in 0..plane.size[1] {
        for x in 0..plane.size[0] {
            let c = g.voxel_of_world(plane.world_of_pixel(x as f64, y as f64));
            if c.cmplt(DVec3::splat(-1e-6)).any() || c.cmpgt(last + 1e-6).any() {
                out.push(f32::NAN);
                continue;
            }
            let c = c.clamp(DVec3::ZERO, last);
            out.push(match interp {
                Interpolation::Nearest => {
                    let r = (c + 0.5).floor();
                    at(r.x as usize, r.y as usize, r.z as usize)
                }
                Interpolation::Linear => {
                    let i0 = c.floor().min(last - 1.0).max(DVec3::ZERO);
                    let t = c - i0;
                    let (x0, y0, z0) = (i0.x as usize, i0.y as usize, i0.z as usize);
                    let mut sum = 0.0;
                    for corner in 0..8 {
                        let (dx, dy, dz) = (corner & 1, (corner >> 1) & 1, (corner >> 2) & 1);
                        let w = (if dx == 1 { t.x } else { 1.0 - t.x })
                            * (if dy == 1 { t.y } else { 1.0 - t.y })
                            * (if dz == 1 { t.z } else { 1.0 - t.z });
                        sum += w * f64::from(at(x0 + dx, y0 + dy, z0 + dz));
                    }
                    sum as f32
                }
            });
        }
    }
    out
}

#[test]
fn matches_a_per_pixel_reference_on_oblique_planes() {
    for direction in [rotation(25.0, 10.0), tilted(20.0), DMat3::IDENTITY] {
        let g = centred_geometry(direction, DVec3::new(1.5, 2.0, 3.0), 60.0);
        let vol = volume_from_fn(g, true, |p| {
            ((p.x * 0.37).sin() * 300.0 + (p.y * 0.21).cos() * 200.0 + p.z * 4.0) as f32
        });
        let u_dir = DVec3::new(1.0, 0.4, -0.3).try_normalize().unwrap();
        let mut planes = vec![SlicePlane {
            axis: ViewAxis::Axial,
            origin_mm: DVec3::new(-45.0, -40.0, 3.3),
            u_dir,
            v_dir: u_dir
                .cross(DVec3::new(0.2, 0.1, 1.0))
                .try_normalize()
                .unwrap(),
            pixel_mm: [0.77, 0.95],
            size: [130, 110],
        }];
        for axis in ViewAxis::ALL {
            planes.push(SlicePlane::through(&g, axis, DVec3::new(1.3, -0.7, 2.1)));
        }
        for plane in planes {
            for interp in [Interpolation::Nearest, Interpolation::Linear] {
                let got = reslice(&vol, &plane, interp);
                let want = reference(&vol, &plane, interp);
                for (i, (a, b)) in got.data.iter().zip(&want).enumerate() {
                    assert!(
                        a.is_nan() && b.is_nan() || (a - b).abs() < 0.05,
                        "{interp:?} pixel {i}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn outside_is_nan_and_zero() {
    let vol = index_volume(DMat3::IDENTITY);
    let g = vol.geometry;
    let mut out = Vec::new();
    for interp in [Interpolation::Nearest, Interpolation::Linear] {
        // Far away: all outside.
        let plane = SlicePlane::through(&g, ViewAxis::Axial, DVec3::new(0.0, 0.0, 1000.0));
        assert!(
            reslice(&vol, &plane, interp)
                .data
                .iter()
                .all(|v| v.is_nan())
        );
        reslice_window_u8(&vol, &plane, interp, 300.0, 600.0, &mut out);
        assert_eq!(out.len(), plane.size[0] * plane.size[1]);
        assert!(out.iter().all(|&v| v == 0));
        // Exactly on the last slice: inside; a hair beyond: outside.
        for axis in ViewAxis::ALL {
            let last = g.world_of_voxel(DVec3::new(10.0, 8.0, 6.0));
            let plane = SlicePlane::through(&g, axis, last);
            assert!(
                reslice(&vol, &plane, interp)
                    .data
                    .iter()
                    .all(|v| !v.is_nan()),
                "{axis:?}"
            );
            let beyond = SlicePlane::through(&g, axis, last + DVec3::splat(0.01));
            assert!(
                reslice(&vol, &beyond, interp)
                    .data
                    .iter()
                    .all(|v| v.is_nan()),
                "{axis:?}"
            );
        }
        // A plane larger than the volume: a border of NaN around the copy.
        let mut plane = SlicePlane::through(&g, ViewAxis::Axial, g.world_of_voxel(DVec3::Z * 3.0));
        plane.origin_mm -=
            plane.u_dir * 2.0 * plane.pixel_mm[0] + plane.v_dir * 3.0 * plane.pixel_mm[1];
        plane.size = [11 + 5, 9 + 4];
        let img = reslice(&vol, &plane, interp);
        reslice_window_u8(&vol, &plane, interp, 300.0, 600.0, &mut out);
        for y in 0..plane.size[1] {
            for x in 0..plane.size[0] {
                let inside = (2..13).contains(&x) && (3..12).contains(&y);
                let v = img.get(x, y).unwrap();
                assert_eq!(!v.is_nan(), inside, "({x}, {y})");
                if inside {
                    assert_eq!(v, (300 + 10 * (y - 3) + (x - 2)) as f32);
                    assert_eq!(out[y * plane.size[0] + x], window_value_u8(v, 300.0, 600.0));
                } else {
                    assert_eq!(out[y * plane.size[0] + x], 0);
                }
            }
        }
    }
}

#[test]
fn window_u8_matches_windowed_reslice() {
    let g = centred_geometry(rotation(25.0, 10.0), DVec3::new(1.5, 2.0, 3.0), 60.0);
    for as_i16 in [true, false] {
        let vol = volume_from_fn(g, as_i16, |p| (p.x * 20.0 - p.y * 7.0) as f32);
        for axis in ViewAxis::ALL {
            let plane = SlicePlane::through(&g, axis, DVec3::new(0.4, 0.0, -1.0));
            for interp in [Interpolation::Nearest, Interpolation::Linear] {
                let hu = reslice(&vol, &plane, interp);
                let mut out = vec![7; 3];
                reslice_window_u8(&vol, &plane, interp, 40.0, 400.0, &mut out);
                assert_eq!(out.len(), hu.data.len());
                for (&v, &u) in hu.data.iter().zip(&out) {
                    let want = if v.is_nan() {
                        0
                    } else {
                        window_value_u8(v, 40.0, 400.0)
                    };
                    assert!(want.abs_diff(u) <= 1, "{v} HU → {u}, want {want}");
                }
            }
        }
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let vol = Volume::from_i16(Array3::zeros((0, 3, 3)), Geometry::identity([0, 3, 3]));
    let plane = SlicePlane::through(&vol.geometry, ViewAxis::Coronal, DVec3::ZERO);
    assert!(
        reslice(&vol, &plane, Interpolation::Linear)
            .data
            .iter()
            .all(|v| v.is_nan())
    );
    let one = Volume::from_f32(
        Array3::from_elem((1, 1, 1), 5.0),
        Geometry::identity([1, 1, 1]),
    );
    for axis in ViewAxis::ALL {
        let plane = SlicePlane::through(&one.geometry, axis, DVec3::ZERO);
        assert_eq!(plane.size, [1, 1]);
        for interp in [Interpolation::Nearest, Interpolation::Linear] {
            assert_eq!(reslice(&one, &plane, interp).data, vec![5.0]);
        }
    }
    let mut empty = plane;
    empty.size = [0, 4];
    assert!(
        reslice(&one, &empty, Interpolation::Nearest)
            .data
            .is_empty()
    );
    let mut bad = one.geometry;
    bad.spacing_mm = DVec3::ZERO;
    let plane = SlicePlane::through(&bad, ViewAxis::Axial, DVec3::ZERO);
    let img = reslice(
        &Volume::from_f32(Array3::zeros((1, 1, 1)), bad),
        &plane,
        Interpolation::Linear,
    );
    assert!(img.data.iter().all(|v| v.is_nan()));
}

#[test]
fn window_row_equals_window_value_u8_for_every_i16() {
    let hu: Vec<f32> = (i16::MIN..=i16::MAX).map(f32::from).collect();
    let mut windows: Vec<(f32, f32)> = crate::volume::window::presets()
        .iter()
        .map(|p| (p.centre_hu, p.width_hu))
        .collect();
    windows.extend([
        (40.0, 80.0),
        (300.0, 600.0),
        (0.5, 1.0),
        (-1.5, 0.2),
        (123.4, 567.8),
    ]);
    let mut out = vec![0; hu.len()];
    for (centre, width) in windows {
        let w = width.max(1.0);
        super::reslice::window_row(&hu, centre - w / 2.0, w, &mut out);
        for (&v, &u) in hu.iter().zip(&out) {
            assert_eq!(
                u,
                window_value_u8(v, centre, width),
                "{v} HU, window {centre}/{width}"
            );
        }
    }
    let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.25, -0.75];
    super::reslice::window_row(&special, -1.0, 2.0, &mut out[..5]);
    assert_eq!(&out[..5], &[0, 255, 0, 159, 32]);
}
