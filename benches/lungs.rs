//! Lung segmentation: the classical pipeline (`segment::segment_lungs`) and
//! the k-means baseline on the chest phantom and on the real chest CT when
//! `../shared/data/chest-ct` exists (or `$HOUNSFIELD_DATA/chest-ct`), plus the
//! morphology and metrics it is built on (closing with a 3 mm ball, 3-D
//! labelling, overlap metrics of the chest-ct mask).
//! Compare with the tutorial's code: `bench/lungs_reference.py bench`.
//! Run: `cargo bench --bench lungs -- --warm-up-time 1 --measurement-time 5`.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use hounsfield::dicom::{self, LoadControl};
use hounsfield::metrics::overlap;
use hounsfield::morph::{Connectivity, Element, close, label};
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::segment::{Control, KMeansParams, LungParams, kmeans_lungs, segment_lungs};
use hounsfield::volume::Volume;

fn bench_volume(c: &mut Criterion, name: &str, vol: &Volume) {
    let mut g = c.benchmark_group(format!("lungs {name}"));
    g.sample_size(10);
    let control = Control::default();
    g.bench_function("classical", |b| {
        b.iter(|| segment_lungs(vol, &LungParams::default(), &control).expect("lungs"));
    });
    g.bench_function("kmeans", |b| {
        b.iter(|| kmeans_lungs(vol, &KMeansParams::default(), &control).expect("kmeans"));
    });
    let mask = segment_lungs(vol, &LungParams::default(), &control)
        .expect("lungs")
        .labels
        .mapv(|v| v != 0);
    let sp = vol.geometry.spacing_zyx_mm();
    g.bench_function("close ball 3 mm", |b| {
        b.iter(|| close(mask.view(), sp, Element::Ball { radius_mm: 3.0 }).expect("close"));
    });
    g.bench_function("label 6-connected", |b| {
        b.iter(|| label(mask.view(), Connectivity::Face));
    });
    let shifted = close(mask.view(), sp, Element::Ball { radius_mm: 2.0 }).expect("close");
    g.bench_function("overlap metrics", |b| {
        b.iter(|| overlap(shifted.view(), mask.view(), sp, "lungs").expect("metrics"));
    });
    g.finish();
}

fn bench_lungs(c: &mut Criterion) {
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

criterion_group!(benches, bench_lungs);
criterion_main!(benches);
