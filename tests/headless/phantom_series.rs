//! The synthetic phantom written as DICOM and read back: sorting, gap and
//! tilt reports, and resampling that keeps world positions.

use crate::common;

use glam::DVec3;
use hounsfield::dicom::write::{SeriesWriteOptions, write_series};
use hounsfield::dicom::{self, IssueKind, LoadControl};
use hounsfield::phantom::{self, LABEL_TUMOUR, PhantomParams};
use hounsfield::volume::resample::{Interpolation, ResampleParams, resample, resample_array};
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

fn small() -> PhantomParams {
    PhantomParams {
        dims: [40, 64, 64],
        spacing_mm: DVec3::new(5.5, 5.5, 5.0),
        ..Default::default()
    }
}

fn shuffled() -> SeriesWriteOptions {
    SeriesWriteOptions {
        shuffle_names: true,
        instance_numbers_reversed_or_shuffled: true,
        seed: 7,
        ..Default::default()
    }
}

fn write_and_load(
    vol: &Volume,
    opts: &SeriesWriteOptions,
) -> (tempfile::TempDir, dicom::LoadedSeries) {
    let dir = common::tempdir();
    write_series(vol, dir.path(), opts).expect("write series");
    let s = dicom::load_series(dir.path(), None, &LoadControl::default()).expect("load series");
    (dir, s)
}

fn assert_same_geometry(a: &Geometry, b: &Geometry) {
    assert_eq!(a.dims, b.dims);
    assert!(
        (a.spacing_mm - b.spacing_mm).abs().max_element() < 1e-6,
        "{a:?} vs {b:?}"
    );
    assert!(
        (a.origin_mm - b.origin_mm).abs().max_element() < 1e-4,
        "{a:?} vs {b:?}"
    );
    assert!(a.direction.abs_diff_eq(b.direction, 1e-6), "{a:?} vs {b:?}");
}

#[test]
fn shuffled_names_and_instance_numbers_are_sorted_by_position() {
    let ph = phantom::chest(&small());
    let (dir, s) = write_and_load(&ph.volume, &shuffled());
    // File names and InstanceNumbers really are out of z order.
    let report = dicom::scan(&[dir.path().to_path_buf()]);
    let mut by_name: Vec<_> = report.series[0].instances.iter().collect();
    by_name.sort_by(|a, b| a.path.cmp(&b.path));
    let z: Vec<f64> = by_name
        .iter()
        .map(|h| h.frames[0].position_mm.unwrap().z)
        .collect();
    assert!(z.windows(2).any(|w| w[1] < w[0]), "names must not follow z");
    let inst: Vec<i64> = by_name.iter().map(|h| h.instance_number.unwrap()).collect();
    assert!(inst.windows(2).any(|w| w[1] < w[0]));

    assert_eq!(
        s.volume.voxels, ph.volume.voxels,
        "voxels must come back in z order"
    );
    assert_same_geometry(&s.volume.geometry, &ph.volume.geometry);
    assert!(s.report.issues.is_empty(), "{:?}", s.report);
}

#[test]
fn a_missing_slice_is_reported_and_interpolated() {
    let ph = phantom::chest(&small());
    let opts = SeriesWriteOptions {
        drop_slices: vec![17],
        ..shuffled()
    };
    let (_dir, s) = write_and_load(&ph.volume, &opts);
    assert!(s.report.has(IssueKind::MissingSlices), "{:?}", s.report);
    assert_eq!(
        s.volume.shape(),
        ph.volume.shape(),
        "the gap keeps its place in the grid"
    );
    assert_same_geometry(&s.volume.geometry, &ph.volume.geometry);
    let (got, want) = (
        s.volume.voxels.as_i16().unwrap(),
        ph.volume.voxels.as_i16().unwrap(),
    );
    for z in [0, 16, 18, 39] {
        assert_eq!(
            got.index_axis(ndarray::Axis(0), z),
            want.index_axis(ndarray::Axis(0), z)
        );
    }
    // Slice 17 is the mean of 16 and 18.
    for (y, x) in [(10, 10), (32, 32), (40, 20)] {
        let expect = f64::midpoint(f64::from(want[[16, y, x]]), f64::from(want[[18, y, x]]));
        assert!((f64::from(got[[17, y, x]]) - expect).abs() <= 0.5);
    }
}

#[test]
fn a_tilted_stack_is_reported_and_keeps_its_shear() {
    let params = PhantomParams {
        tilt_deg: 12.0,
        ..small()
    };
    let ph = phantom::chest(&params);
    let (_dir, s) = write_and_load(&ph.volume, &shuffled());
    assert!(s.report.has(IssueKind::GantryTilt), "{:?}", s.report);
    assert!((s.volume.geometry.shear_deg() - 12.0).abs() < 1e-3);
    assert_eq!(s.volume.voxels, ph.volume.voxels);
    assert_same_geometry(&s.volume.geometry, &ph.volume.geometry);
}

fn centroid_world(labels: &Array3<u8>, label: u8, g: &Geometry) -> DVec3 {
    let mut sum = DVec3::ZERO;
    let mut n = 0.0;
    for ((z, y, x), &l) in labels.indexed_iter() {
        if l == label {
            sum += g.world_of_voxel(DVec3::new(x as f64, y as f64, z as f64));
            n += 1.0;
        }
    }
    sum / n
}

#[test]
fn resampling_keeps_world_positions() {
    // An impulse: after trilinear resampling its weighted centre stays on
    // the same millimetre (no half-voxel drift). Output spacings divide the
    // input ones, so the samples of the tent are symmetric about its peak.
    let mut g = Geometry::identity([9, 11, 13]);
    g.spacing_mm = DVec3::new(0.8, 0.7, 2.5);
    g.origin_mm = DVec3::new(-12.3, 40.1, 7.7);
    let mut a = Array3::<f32>::zeros((9, 11, 13));
    a[[4, 6, 5]] = 1000.0;
    let spot = g.world_of_voxel(DVec3::new(5.0, 6.0, 4.0));
    let v = Volume::from_f32(a, g);
    let r = resample(
        &v,
        &ResampleParams {
            spacing_mm: DVec3::new(0.4, 0.35, 1.25),
            fill_hu: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        r.geometry.spacing_mm,
        DVec3::new(0.4, 0.35, 1.25),
        "spacing reported exactly"
    );
    assert_eq!(r.geometry.origin_mm, g.origin_mm, "first voxel centre kept");
    let (mut sum, mut w) = (DVec3::ZERO, 0.0);
    for ((z, y, x), &val) in r.voxels.to_f32().indexed_iter() {
        sum += r
            .geometry
            .world_of_voxel(DVec3::new(x as f64, y as f64, z as f64))
            * f64::from(val);
        w += f64::from(val);
    }
    assert!(
        (sum / w - spot).length() < 1e-3,
        "impulse moved to {} from {spot}",
        sum / w
    );

    // The phantom's tumour: its centroid stays on the landmark, also when a
    // tilted stack is resampled onto an orthogonal grid.
    for tilt in [0.0, 10.0] {
        let params = PhantomParams {
            tilt_deg: tilt,
            ..small()
        };
        let ph = phantom::chest(&params);
        let landmark = phantom::landmarks(&params)
            .into_iter()
            .find(|(n, _)| *n == phantom::LANDMARK_TUMOUR)
            .unwrap()
            .1;
        let out =
            hounsfield::volume::resample::output_geometry(&ph.volume.geometry, DVec3::splat(2.0))
                .unwrap();
        let in_from_out = ph.volume.geometry.voxel_from_world() * out.world_from_voxel();
        let labels = resample_array(
            &ph.labels,
            &in_from_out,
            out.dims,
            &ResampleParams {
                interpolation: Interpolation::Nearest,
                fill_hu: 0.0,
                ..Default::default()
            },
        );
        assert!(out.shear_deg() < 1e-9);
        let before = centroid_world(&ph.labels, LABEL_TUMOUR, &ph.volume.geometry);
        let after = centroid_world(&labels, LABEL_TUMOUR, &out);
        assert!(
            (before - landmark).length() < 3.0,
            "tilt {tilt}: {before} vs {landmark}"
        );
        // Nearest-neighbour resampling onto a 2 mm grid moves the centroid
        // by well under a voxel.
        assert!(
            (after - before).length() < 1.0,
            "tilt {tilt}: {after} vs {before}"
        );
    }
}

#[test]
fn resampling_to_the_same_spacing_is_the_identity() {
    let ph = phantom::chest(&small());
    let r = resample(
        &ph.volume,
        &ResampleParams {
            spacing_mm: ph.volume.geometry.spacing_mm,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(r.voxels, ph.volume.voxels);
    assert_same_geometry(&r.geometry, &ph.volume.geometry);
}

#[test]
fn separable_and_direct_trilinear_agree() {
    // An axis-aligned map runs separably; a tiny rotation forces the direct
    // path. Compare both on the same (unrotated) sample points.
    let ph = phantom::chest(&small());
    let a = ph.volume.voxels.to_f32();
    let f = glam::DAffine3::from_scale_rotation_translation(
        DVec3::new(0.37, 0.61, 0.45),
        glam::DQuat::IDENTITY,
        DVec3::new(0.3, 0.2, 0.7),
    );
    let dims = [60, 80, 90];
    let p = ResampleParams::default();
    let sep = resample_array(&a, &f, dims, &p);
    let mut g = f;
    g.matrix3.x_axis.y = 1e-12; // not axis-aligned any more: direct path
    let dir = resample_array(&a, &g, dims, &p);
    let max = (&sep - &dir).mapv(f32::abs).fold(0.0f32, |m, &v| m.max(v));
    assert!(max < 0.05, "separable and direct differ by {max} HU");
}

#[test]
fn a_stray_frame_with_another_orientation_is_excluded_and_reported() {
    let ph = phantom::chest(&small());
    let dir = common::tempdir();
    let opts = shuffled();
    write_series(&ph.volume, dir.path(), &opts).expect("write series");
    // A one-slice "scout" in the same series (same options give the same
    // series UID), coronal, written into a subfolder.
    let mut g = ph.volume.geometry;
    g.dims = [1, 64, 64];
    g.direction = glam::DMat3::from_cols(DVec3::X, -DVec3::Z, DVec3::Y);
    let scout = Volume::from_i16(Array3::zeros((1, 64, 64)), g);
    let sub = dir.path().join("scout");
    write_series(&scout, &sub, &opts).expect("write scout");
    let s = dicom::load_series(dir.path(), None, &LoadControl::default()).expect("load");
    assert!(s.report.has(IssueKind::MixedOrientation), "{:?}", s.report);
    assert_eq!(s.volume.voxels, ph.volume.voxels);
}
