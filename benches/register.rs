//! Rigid registration (`register::register`, Mattes MI, 4-2-1 pyramid at
//! 1 mm, 100 000 samples per level) of a moved, noisy, contrast-changed copy
//! (8° about (1, 2, 3), (12, −7, 5) mm) onto the chest phantom, and onto the
//! real chest CT when `../shared/data/chest-ct` exists (or
//! `$HOUNSFIELD_DATA/chest-ct`); and one MI cost + gradient evaluation.
//! Compare with SimpleITK (whole process, interleaved):
//! `bench/registration_reference.py bench`.
//! Run: `cargo bench --bench register -- --warm-up-time 1 --measurement-time 10`.

use criterion::{Criterion, criterion_group, criterion_main};
use hounsfield::dicom::{self, LoadControl};
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::register::apply::{example_motion, moved_copy};
use hounsfield::register::metric::{Metric, evaluate};
use hounsfield::register::pyramid::{normalised_isotropic, sample};
use hounsfield::register::{Control, RegisterParams, register};
use hounsfield::volume::Volume;

fn bench_volume(c: &mut Criterion, name: &str, fixed: &Volume) {
    let truth = example_motion(fixed.geometry.centre_mm()).moving_from_fixed();
    let moving = moved_copy(fixed, &truth, 0.9, 40.0, 25.0, 8);
    let mut g = c.benchmark_group(format!("register {name}"));
    g.sample_size(10);
    let params = RegisterParams::default();
    g.bench_function("MI 4-2-1 at 1 mm", |b| {
        b.iter(|| register(fixed, &moving, &params, &Control::default()).expect("registers"));
    });
    let f = normalised_isotropic(fixed, 1.0).expect("resamples");
    let m = normalised_isotropic(&moving, 1.0).expect("resamples");
    let samples = sample(&f, fixed.geometry.centre_mm(), 100_000, 1);
    let t = example_motion(fixed.geometry.centre_mm());
    g.bench_function("MI cost and gradient, 100k samples", |b| {
        b.iter(|| evaluate(&samples, &m, &t, Metric::MI, true).expect("overlap"));
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let p = phantom::chest(&PhantomParams::default());
    bench_volume(c, "phantom", &p.volume);
    if let Some(dir) = hounsfield::testdata::dir("chest-ct") {
        let v = dicom::load_series(&dir, None, &LoadControl::default())
            .expect("chest-ct loads")
            .volume;
        bench_volume(c, "chest-ct", &v);
    }
}

criterion_group!(group, benches);
criterion_main!(group);
