//! MPR reslicing, the viewer's per-frame path: `mpr::reslice_window_u8` of
//! the three orthogonal views (nearest and trilinear), on a 141 × 512 × 512
//! phantom and on the real chest CT when `../shared/data/chest-ct` exists
//! (or `$HOUNSFIELD_DATA/chest-ct`).
//! Run: `cargo bench --bench reslice -- --warm-up-time 1 --measurement-time 2`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use glam::{DMat3, DVec3};
use hounsfield::dicom::{self, LoadControl};
use hounsfield::mpr::{
    SlicePlane, ViewAxis, point_of_slice, reslice, reslice_window_u8, slice_position, slice_step_mm,
};
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::volume::Volume;
use hounsfield::volume::resample::Interpolation;

/// Lung window.
const CENTRE_HU: f32 = -600.0;
const WIDTH_HU: f32 = 1500.0;

fn bench_volume(c: &mut Criterion, name: &str, vol: &Volume) {
    let mut g = c.benchmark_group(format!("reslice_window_u8 {name}"));
    g.sample_size(50);
    let geometry = &vol.geometry;
    let centre = geometry.centre_mm();
    let mut out = Vec::new();
    for axis in ViewAxis::ALL {
        // On a voxel layer (the viewer's normal case) ...
        let on_layer = point_of_slice(
            geometry,
            axis,
            centre,
            slice_position(geometry, axis, centre).0,
        );
        let plane = SlicePlane::through(geometry, axis, on_layer);
        // ... and between two layers (trilinear has real work to do).
        let half = slice_step_mm(geometry, axis) * 0.5;
        let between = SlicePlane::through(geometry, axis, on_layer + axis.scroll_dir() * half);
        let [w, h] = plane.size;
        for (interp, label) in [
            (Interpolation::Nearest, "nearest"),
            (Interpolation::Linear, "linear"),
        ] {
            let id = BenchmarkId::new(format!("{} {w}x{h}", axis.name()), label);
            g.bench_function(id, |b| {
                b.iter(|| reslice_window_u8(vol, &plane, interp, CENTRE_HU, WIDTH_HU, &mut out));
            });
        }
        let id = BenchmarkId::new(format!("{} {w}x{h}", axis.name()), "linear between layers");
        g.bench_function(id, |b| {
            b.iter(|| {
                reslice_window_u8(
                    vol,
                    &between,
                    Interpolation::Linear,
                    CENTRE_HU,
                    WIDTH_HU,
                    &mut out,
                );
            });
        });
    }
    // An oblique plane (axial rotated 30° about z): the general kernels.
    let axial = SlicePlane::through(geometry, ViewAxis::Axial, centre);
    let rot = DMat3::from_rotation_z(30f64.to_radians());
    let centre_px = DVec3::new(axial.size[0] as f64, axial.size[1] as f64, 0.0) * 0.5;
    let oblique = SlicePlane {
        u_dir: rot * axial.u_dir,
        v_dir: rot * axial.v_dir,
        origin_mm: centre
            - rot * (axial.u_dir * centre_px.x * axial.pixel_mm[0])
            - rot * (axial.v_dir * centre_px.y * axial.pixel_mm[1]),
        ..axial
    };
    let [w, h] = oblique.size;
    for (interp, label) in [
        (Interpolation::Nearest, "nearest"),
        (Interpolation::Linear, "linear"),
    ] {
        let id = BenchmarkId::new(format!("oblique 30deg {w}x{h}"), label);
        g.bench_function(id, |b| {
            b.iter(|| reslice_window_u8(vol, &oblique, interp, CENTRE_HU, WIDTH_HU, &mut out));
        });
    }
    let plane = axial;
    g.bench_function("reslice f32 axial nearest", |b| {
        b.iter(|| reslice(vol, &plane, Interpolation::Nearest));
    });
    g.finish();
}

fn bench_reslice(c: &mut Criterion) {
    let ph = phantom::chest(&PhantomParams {
        dims: [141, 512, 512],
        spacing_mm: DVec3::new(0.977, 0.977, 2.0),
        ..Default::default()
    });
    bench_volume(c, "phantom 141x512x512", &ph.volume);
    drop(ph);

    let chest = hounsfield::testdata::root().join("chest-ct");
    if chest.exists() {
        let vol = dicom::load_series(&chest, None, &LoadControl::default())
            .expect("load chest-ct")
            .volume;
        bench_volume(c, "chest-ct", &vol);
    } else {
        eprintln!("chest-ct not found at {chest:?}; skipped");
    }
}

criterion_group!(benches, bench_reslice);
criterion_main!(benches);
