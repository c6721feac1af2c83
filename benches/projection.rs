//! Projections (`project::project`): MIP and AIP along the axial and coronal
//! axes, whole volume, on a 141 × 512 × 512 phantom and on the real chest CT
//! when `../shared/data/chest-ct` exists (or `$HOUNSFIELD_DATA/chest-ct`).
//! Compare with `bench/projection_numpy.py` (numpy `max`/`mean` over axis 0).
//! Run: `cargo bench --bench projection -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use glam::DVec3;
use hounsfield::dicom::{self, LoadControl};
use hounsfield::mpr::ViewAxis;
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::project::{ProjectionMode, project};
use hounsfield::volume::Volume;

fn bench_volume(c: &mut Criterion, name: &str, vol: &Volume) {
    let mut g = c.benchmark_group(format!("project {name}"));
    g.sample_size(30);
    for axis in [ViewAxis::Axial, ViewAxis::Coronal] {
        for mode in [ProjectionMode::Max, ProjectionMode::Mean] {
            let id = BenchmarkId::new(axis.name(), mode.abbreviation());
            g.bench_function(id, |b| b.iter(|| project(vol, axis, mode, None)));
        }
    }
    g.finish();
}

fn bench_projection(c: &mut Criterion) {
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

criterion_group!(benches, bench_projection);
criterion_main!(benches);
