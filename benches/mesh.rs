//! Marching cubes on chest-ct resampled to 1 mm at 350 HU (bone), and on a
//! synthetic sphere when the data is missing.
//! Run: `cargo bench --bench mesh`. Peer: `bench/.venv/bin/python bench/mesh_reference.py`.

use criterion::{Criterion, criterion_group, criterion_main};
use hounsfield::dicom::{self, LoadControl};
use hounsfield::mesh::{McParams, marching_cubes};
use hounsfield::volume::resample::{ResampleParams, resample};
use hounsfield::volume::{Geometry, Volume};

fn bench_mesh(c: &mut Criterion) {
    let mut g = c.benchmark_group("marching cubes");
    g.sample_size(10);
    let chest = hounsfield::testdata::root().join("chest-ct");
    if chest.exists() {
        let v = dicom::load_series(&chest, None, &LoadControl::default())
            .expect("load")
            .volume;
        let v = resample(&v, &ResampleParams::default()).expect("resample");
        for step in [1, 2] {
            let params = McParams {
                level_hu: 350.0,
                step,
            };
            g.bench_function(format!("chest-ct 1 mm, 350 HU, step {step}"), |b| {
                b.iter(|| marching_cubes(&v, &params).expect("mesh"));
            });
        }
    }
    let n = 256;
    let sphere = ndarray::Array3::from_shape_fn((n, n, n), |(k, j, i)| {
        let d = [k, j, i].map(|x| x as f32 - n as f32 / 2.0);
        (500.0 + 10.0 * (100.0 - (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt())) as i16
    });
    let v = Volume::from_i16(sphere, Geometry::identity([n, n, n]));
    g.bench_function("sphere r=100 in 256^3, step 1", |b| {
        b.iter(|| {
            marching_cubes(
                &v,
                &McParams {
                    level_hu: 500.0,
                    step: 1,
                },
            )
            .expect("mesh")
        });
    });
    g.finish();
}

criterion_group!(benches, bench_mesh);
criterion_main!(benches);
