//! Resampling to 1 mm isotropic (trilinear) and the voxel-wise operations.
//! Run: `cargo bench --bench resample`. Peers: `bench/compare.sh resample`.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use hounsfield::dicom::{self, LoadControl};
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::volume::ops::{self, HistogramParams};
use hounsfield::volume::resample::{ResampleParams, resample};

fn bench_resample(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample");
    g.sample_size(10);
    let chest = hounsfield::testdata::root().join("chest-ct");
    if chest.exists() {
        let v = dicom::load_series(&chest, None, &LoadControl::default())
            .expect("load")
            .volume;
        g.bench_function("chest-ct to 1 mm", |b| {
            b.iter(|| resample(&v, &ResampleParams::default()).expect("resample"));
        });
    }
    let ph = phantom::chest(&PhantomParams {
        dims: [256, 256, 256],
        spacing_mm: DVec3::new(1.37, 1.37, 1.25),
        ..Default::default()
    });
    g.bench_function("phantom 256^3 to 1 mm", |b| {
        b.iter(|| resample(&ph.volume, &ResampleParams::default()).expect("resample"));
    });
    g.finish();

    let mut g = c.benchmark_group("voxelwise 256^3");
    g.sample_size(10);
    g.bench_function("stats", |b| b.iter(|| ops::stats(&ph.volume)));
    g.bench_function("histogram", |b| {
        b.iter(|| ops::histogram(&ph.volume, &HistogramParams::default()));
    });
    g.bench_function("percentiles", |b| {
        b.iter(|| ops::percentiles(&ph.volume, &[1.0, 99.0]));
    });
    g.bench_function("window_u8", |b| {
        b.iter(|| ops::window_u8(&ph.volume, 40.0, 400.0));
    });
    g.finish();
}

criterion_group!(benches, bench_resample);
criterion_main!(benches);
