//! Marching cubes: analytic sphere on an anisotropic oblique grid, placement
//! in LPS, winding, watertightness on noise, step 2, masks, file round trips,
//! determinism across thread counts, real data.

use std::f64::consts::PI;

use glam::{DMat3, DQuat, DVec3};
use hounsfield::mesh::write::{read_mesh, write_mesh};
use hounsfield::mesh::{
    self, LabelMesh, McParams, Mesh, enclosed_volume_mm3, is_closed, is_consistently_oriented,
    marching_cubes, marching_cubes_mask, surface_area_mm2,
};
use hounsfield::seg::{Mask, Segment};
use hounsfield::volume::resample::ResampleParams;
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

const R_MM: f64 = 20.0;

fn oblique(dims: [usize; 3], spacing_mm: DVec3, flip: bool) -> Geometry {
    let rot = DMat3::from_quat(DQuat::from_euler(glam::EulerRot::XYZ, 0.3, -0.2, 0.5));
    let direction = if flip {
        rot * DMat3::from_diagonal(DVec3::new(1.0, -1.0, 1.0))
    } else {
        rot
    };
    Geometry {
        dims,
        spacing_mm,
        origin_mm: DVec3::new(-120.0, 35.0, 410.0),
        direction,
    }
}

/// HU = 500 + 100 · (r − distance to the centre): the 500 HU surface is the sphere.
fn sphere(geometry: &Geometry, centre_mm: DVec3) -> Volume {
    let a = Array3::from_shape_fn(geometry.dims, |(k, j, i)| {
        let p = geometry.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        (500.0 + 100.0 * (R_MM - p.distance(centre_mm))) as f32
    });
    Volume::from_f32(a, *geometry)
}

fn sphere_case(flip: bool) -> (Volume, DVec3) {
    let g = oblique([40, 52, 64], DVec3::new(0.8, 1.0, 1.3), flip);
    let centre = g.world_of_voxel(DVec3::new(30.5, 25.2, 19.7));
    (sphere(&g, centre), centre)
}

fn level(hu: f32, step: usize) -> McParams {
    McParams { level_hu: hu, step }
}

fn assert_watertight(m: &Mesh) {
    assert!(!m.is_empty());
    assert!(is_closed(m), "not closed");
    assert!(is_consistently_oriented(m), "not consistently oriented");
}

#[test]
fn sphere_area_volume_closed_outward() {
    for flip in [false, true] {
        let (v, centre) = sphere_case(flip);
        let m = marching_cubes(&v, &level(500.0, 1)).unwrap();
        assert_watertight(&m);
        let area = surface_area_mm2(&m);
        let vol = enclosed_volume_mm3(&m);
        let (a0, v0) = (4.0 * PI * R_MM * R_MM, 4.0 / 3.0 * PI * R_MM.powi(3));
        eprintln!(
            "sphere r={R_MM} mm (flip {flip}): {} triangles, area error {:+.3} %, volume error {:+.3} %",
            m.triangles.len(),
            100.0 * (area / a0 - 1.0),
            100.0 * (vol / v0 - 1.0)
        );
        assert!((area / a0 - 1.0).abs() < 0.01, "area {area} vs {a0}");
        assert!((vol / v0 - 1.0).abs() < 0.01, "volume {vol} vs {v0}");
        for (p, n) in m.vertices_mm.iter().zip(&m.normals) {
            let radial = (DVec3::from(p.map(f64::from)) - centre).normalize_or_zero();
            let n = DVec3::from(n.map(f64::from));
            assert!(n.dot(radial) > 0.95, "normal {n} at {p:?}");
            let dist = DVec3::from(p.map(f64::from)).distance(centre);
            assert!((dist - R_MM).abs() < 0.05, "vertex at {dist} mm");
        }
        // Facet winding agrees with the vertex normals.
        for t in &m.triangles {
            let [a, b, c] = t.map(|i| glam::Vec3::from(m.vertices_mm[i as usize]));
            let n = glam::Vec3::from(m.normals[t[0] as usize]);
            assert!((b - a).cross(c - a).dot(n) > 0.0);
        }
    }
}

#[test]
fn step_two_is_closed_and_close() {
    let (v, _) = sphere_case(false);
    let m1 = marching_cubes(&v, &level(500.0, 1)).unwrap();
    let m2 = marching_cubes(&v, &level(500.0, 2)).unwrap();
    assert_watertight(&m2);
    assert!(m2.triangles.len() * 3 < m1.triangles.len());
    let v0 = 4.0 / 3.0 * PI * R_MM.powi(3);
    assert!((enclosed_volume_mm3(&m2) / v0 - 1.0).abs() < 0.03);
    assert!(matches!(
        marching_cubes(&v, &level(500.0, 0)),
        Err(mesh::MeshError::BadStep(0))
    ));
}

/// A box of voxels `[k0..=k1, j0..=j1, i0..=i1]` at 1000 HU in 0 HU.
fn box_volume(g: &Geometry, lo: [usize; 3], hi: [usize; 3]) -> Volume {
    let a = Array3::from_shape_fn(g.dims, |(k, j, i)| {
        let inside = (lo[0]..=hi[0]).contains(&k)
            && (lo[1]..=hi[1]).contains(&j)
            && (lo[2]..=hi[2]).contains(&i);
        if inside { 1000i16 } else { 0 }
    });
    Volume::from_i16(a, *g)
}

#[test]
fn asymmetric_box_lands_in_lps_and_border_closes() {
    for flip in [false, true] {
        let g = oblique([20, 24, 30], DVec3::new(0.7, 0.9, 2.5), flip);
        // Touches the first slice and the last column: the border closes it.
        let (lo, hi) = ([0, 5, 8], [6, 9, 29]);
        let m = marching_cubes(&box_volume(&g, lo, hi), &level(500.0, 1)).unwrap();
        assert_watertight(&m);
        let mut min = DVec3::splat(f64::INFINITY);
        let mut max = DVec3::splat(f64::NEG_INFINITY);
        for p in &m.vertices_mm {
            let q = g.voxel_of_world(DVec3::from(p.map(f64::from)));
            min = min.min(q);
            max = max.max(q);
        }
        // The surface lies half a voxel outside the box voxels (col, row, slice),
        // except against the volume border.
        let mut want_lo = DVec3::new(lo[2] as f64, lo[1] as f64, lo[0] as f64) - 0.5;
        // At the first slice the surface is between 1000 HU and the −1024 HU border.
        want_lo.z = -500.0 / 2024.0;
        let mut want_hi = DVec3::new(hi[2] as f64, hi[1] as f64, hi[0] as f64) + 0.5;
        want_hi.x = 29.0 + 500.0 / 2024.0;
        assert!(
            (min - want_lo).abs().max_element() < 1e-3,
            "{min} vs {want_lo}"
        );
        assert!(
            (max - want_hi).abs().max_element() < 1e-3,
            "{max} vs {want_hi}"
        );
        // Volume of the box in mm³ (less the chamfered edges), positive for either handedness.
        let ext = want_hi - want_lo;
        let want = ext.x * ext.y * ext.z * g.spacing_mm.x * g.spacing_mm.y * g.spacing_mm.z;
        let vol = enclosed_volume_mm3(&m);
        assert!(vol > 0.95 * want && vol < want, "{vol} vs {want}");
    }
}

#[test]
fn noise_is_watertight_and_consistently_oriented() {
    // Every ambiguous face configuration occurs in noise: the face decider
    // must keep neighbouring cubes consistent.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let a = Array3::from_shape_fn((23, 17, 29), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 2001) as f32 - 1000.0
    });
    let v = Volume::from_f32(a, oblique([23, 17, 29], DVec3::new(1.0, 0.6, 1.4), false));
    for (hu, step) in [(0.0, 1), (400.0, 1), (-300.0, 2), (0.0, 3)] {
        let m = marching_cubes(&v, &level(hu, step)).unwrap();
        assert_watertight(&m);
        assert!(enclosed_volume_mm3(&m) > 0.0);
    }
}

#[test]
fn empty_volume_gives_an_empty_mesh() {
    let g = Geometry::identity([8, 8, 8]);
    let v = Volume::from_i16(Array3::from_elem((8, 8, 8), -1000), g);
    let m = marching_cubes(&v, &level(350.0, 1)).unwrap();
    assert!(m.is_empty() && m.vertices_mm.is_empty());
    let none = Volume::from_i16(Array3::zeros((0, 4, 4)), Geometry::identity([0, 4, 4]));
    assert!(marching_cubes(&none, &level(350.0, 1)).unwrap().is_empty());
}

#[test]
fn output_is_independent_of_thread_count() {
    let (v, _) = sphere_case(false);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| marching_cubes(&v, &level(500.0, 1)).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(5));
}

#[test]
fn segment_mask_surface_with_colour() {
    let g = oblique([30, 30, 30], DVec3::new(1.0, 1.0, 2.0), false);
    let centre = g.world_of_voxel(DVec3::new(15.0, 14.0, 15.0));
    let full = Array3::from_shape_fn(g.dims, |(k, j, i)| {
        g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64))
            .distance(centre)
            <= 10.0
    });
    let mask = Mask::from_full(full.view());
    let voxel_mm3 = g.spacing_mm.x * g.spacing_mm.y * g.spacing_mm.z;
    let counted = mask.count() as f64 * voxel_mm3;
    for smooth in [false, true] {
        let m = marching_cubes_mask(&mask, &g, 1, smooth).unwrap();
        assert_watertight(&m);
        let vol = enclosed_volume_mm3(&m);
        assert!((vol / counted - 1.0).abs() < 0.05, "{vol} vs {counted}");
    }
    let seg = Segment::named(3, "Liver", mask);
    let lm = LabelMesh::of_segment(&seg, &g, 1, true).unwrap();
    assert_eq!((lm.number, lm.colour_rgb), (3, seg.colour_rgb));
    assert!(
        marching_cubes_mask(&Mask::empty(g.dims), &g, 1, false)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn files_read_back() {
    let (v, _) = sphere_case(false);
    let m = marching_cubes(&v, &level(500.0, 2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["ply", "obj"] {
        let path = dir.path().join(format!("sphere.{ext}"));
        write_mesh(&path, &m, Some([200, 100, 50])).unwrap();
        let back = read_mesh(&path).unwrap();
        assert_eq!(back.triangles, m.triangles, "{ext}");
        assert_eq!(back.vertices_mm, m.vertices_mm, "{ext}");
        assert_eq!(back.normals, m.normals, "{ext}");
    }
    let path = dir.path().join("sphere.stl");
    write_mesh(&path, &m, None).unwrap();
    let back = read_mesh(&path).unwrap();
    assert_eq!(back.triangles.len(), m.triangles.len());
    for (t, bt) in m.triangles.iter().zip(&back.triangles) {
        for k in 0..3 {
            let bits = |p: [f32; 3]| p.map(f32::to_bits);
            assert_eq!(
                bits(m.vertices_mm[t[k] as usize]),
                bits(back.vertices_mm[bt[k] as usize])
            );
        }
        let n = glam::Vec3::from(back.normals[bt[0] as usize]);
        assert!((n.length() - 1.0).abs() < 1e-4);
    }
    assert!((surface_area_mm2(&back) - surface_area_mm2(&m)).abs() < 1e-3);
    assert!(write_mesh(&dir.path().join("x.vtk"), &m, None).is_err());
}

#[test]
fn chest_ct_bone_is_closed() {
    let Some(dir) = hounsfield::testdata::dir("chest-ct") else {
        return;
    };
    let v = hounsfield::dicom::load_series(&dir, None, &hounsfield::dicom::LoadControl::default())
        .unwrap()
        .volume;
    let v = hounsfield::volume::resample::resample(&v, &ResampleParams::default()).unwrap();
    let m = marching_cubes(&v, &McParams::default()).unwrap();
    eprintln!(
        "chest-ct 1 mm at 350 HU: {} vertices, {} triangles",
        m.vertices_mm.len(),
        m.triangles.len()
    );
    assert!(m.triangles.len() > 100_000);
    assert_watertight(&m);
    assert!(enclosed_volume_mm3(&m) > 0.0);
}

#[test]
fn progress_and_cancel() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (v, _) = sphere_case(false);
    let calls = AtomicUsize::new(0);
    let progress = |_: usize, _: usize| {
        calls.fetch_add(1, Ordering::Relaxed);
    };
    let control = mesh::McControl {
        progress: Some(&progress),
        cancel: None,
    };
    let m = mesh::marching_cubes_with(&v, &level(500.0, 1), &control).unwrap();
    assert!(!m.is_empty() && calls.load(Ordering::Relaxed) > 0);
    let cancel = AtomicBool::new(true);
    let control = mesh::McControl {
        progress: None,
        cancel: Some(&cancel),
    };
    assert!(matches!(
        mesh::marching_cubes_with(&v, &level(500.0, 1), &control),
        Err(mesh::MeshError::Cancelled)
    ));
}
