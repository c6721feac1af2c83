//! Load a DICOM series to a HU volume: the real chest CT (when
//! `../shared/data` is present) and a synthetic phantom series.
//! Run: `cargo bench --bench load`. Peers: `bench/compare.sh load`.

use criterion::{Criterion, criterion_group, criterion_main};
use hounsfield::dicom::write::{SeriesWriteOptions, write_series};
use hounsfield::dicom::{self, LoadControl};
use hounsfield::phantom::{self, PhantomParams};

fn bench_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.sample_size(20);
    let chest = hounsfield::testdata::root().join("chest-ct");
    if chest.exists() {
        g.bench_function("chest-ct 141x512x512", |b| {
            b.iter(|| dicom::load_series(&chest, None, &LoadControl::default()).expect("load"));
        });
        g.bench_function("chest-ct scan only", |b| {
            b.iter(|| dicom::scan(std::slice::from_ref(&chest)));
        });
    } else {
        eprintln!("chest-ct missing at {chest:?}: only the phantom is benchmarked");
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let ph = phantom::chest(&PhantomParams {
        dims: [128, 256, 256],
        ..Default::default()
    });
    write_series(&ph.volume, tmp.path(), &SeriesWriteOptions::default()).expect("write phantom");
    g.bench_function("phantom 128x256x256", |b| {
        b.iter(|| dicom::load_series(tmp.path(), None, &LoadControl::default()).expect("load"));
    });
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
