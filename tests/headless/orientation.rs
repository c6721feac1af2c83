//! Orientation table (after NiiVue's `nifti_space` cases): all 48 signed axis
//! permutations, written as DICOM and read back. Whatever order the loader
//! chooses for the slices, every voxel must keep its value at its world
//! position, and the loaded slice axis must follow the slice normal.

use crate::common;

use glam::{DMat3, DVec3};
use hounsfield::dicom::write::{SeriesWriteOptions, write_series};
use hounsfield::dicom::{self, LoadControl};
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

fn signed_permutations() -> Vec<DMat3> {
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let axes = [DVec3::X, DVec3::Y, DVec3::Z];
    let mut out = Vec::new();
    for p in perms {
        for signs in 0..8 {
            let s = |k: usize| if signs & (1 << k) == 0 { 1.0 } else { -1.0 };
            out.push(DMat3::from_cols(
                axes[p[0]] * s(0),
                axes[p[1]] * s(1),
                axes[p[2]] * s(2),
            ));
        }
    }
    out
}

#[test]
fn all_48_orientations_round_trip_through_dicom() {
    let dims = [5usize, 6, 7];
    // Asymmetric content: every voxel different.
    let a = Array3::from_shape_fn((dims[0], dims[1], dims[2]), |(z, y, x)| {
        (z * 100 + y * 10 + x) as i16
    });
    let cases = signed_permutations();
    assert_eq!(cases.len(), 48);
    for (n, direction) in cases.into_iter().enumerate() {
        let g = Geometry {
            dims,
            spacing_mm: DVec3::new(0.7, 0.9, 2.0),
            origin_mm: DVec3::new(-20.0, 15.0, 33.0),
            direction,
        };
        let vol = Volume::from_i16(a.clone(), g);
        let dir = common::tempdir();
        let opts = SeriesWriteOptions {
            shuffle_names: true,
            instance_numbers_reversed_or_shuffled: true,
            seed: n as u64,
            ..Default::default()
        };
        write_series(&vol, dir.path(), &opts).unwrap();
        let s = dicom::load_series(dir.path(), None, &LoadControl::default()).unwrap();
        let lg = &s.volume.geometry;
        assert_eq!(lg.dims, dims, "case {n}");
        // The slice axis follows the normal of the slices.
        assert!(
            (lg.direction.z_axis - lg.slice_normal()).length() < 1e-9,
            "case {n}: {lg:?}"
        );
        let got = s.volume.voxels.as_i16().unwrap();
        for ((z, y, x), &v) in a.indexed_iter() {
            let world = g.world_of_voxel(DVec3::new(x as f64, y as f64, z as f64));
            let idx = lg.voxel_of_world(world).round();
            let (lx, ly, lz) = (idx.x as usize, idx.y as usize, idx.z as usize);
            assert_eq!(
                got[[lz, ly, lx]],
                v,
                "case {n}: direction {direction:?}, voxel ({x},{y},{z})"
            );
        }
    }
}

#[test]
fn orientation_codes_name_the_patient_directions() {
    let mut g = Geometry::identity([2, 2, 2]);
    assert_eq!(g.orientation_code(), "LPS");
    g.direction = DMat3::from_cols(DVec3::Y, -DVec3::Z, -DVec3::X); // sagittal
    assert_eq!(g.orientation_code(), "PIR");
    g.direction = DMat3::from_cols(-DVec3::X, -DVec3::Z, DVec3::Y); // coronal
    assert_eq!(g.orientation_code(), "RIP");
}
