//! Rotating MIP (`project::rotate::rotating_mip`, 36 frames of 512 px),
//! with fused labels (`project::fuse::rotating_mip_fused`), the GIF encoding
//! of the frames, and one ray-cast frame (`project::raycast`), on the
//! 141 × 512 × 512 chest phantom and on the real chest CT when
//! `../shared/data/chest-ct` exists (or `$HOUNSFIELD_DATA/chest-ct`).
//! Compare with `bench/mip_gif_reference.py` (scipy `rotate` + `max` +
//! imageio, whole process): `bench/compare.sh mip-gif`.
//! Run: `cargo bench --bench rotate -- --warm-up-time 1 --measurement-time 5`.

use criterion::{Criterion, criterion_group, criterion_main};
use glam::DVec3;
use hounsfield::dicom::{self, LoadControl};
use hounsfield::export::gif::{Overlay, encode_gif, encode_gif_overlay};
use hounsfield::phantom::{self, PhantomParams};
use hounsfield::project::fuse::{FuseParams, rotating_mip_fused};
use hounsfield::project::raycast::{RayParams, project_direction};
use hounsfield::project::rotate::{RotatingMipParams, mm_per_px, rotating_mip};
use hounsfield::seg::Segmentation;
use hounsfield::volume::Volume;

fn bench_volume(c: &mut Criterion, name: &str, vol: &Volume, seg: Option<&Segmentation>) {
    let mut g = c.benchmark_group(format!("rotating MIP {name}"));
    g.sample_size(10);
    let p = RotatingMipParams::default();
    g.bench_function("36 frames 512 px", |b| {
        b.iter(|| rotating_mip(vol, &p, None, None).expect("rotating MIP"));
    });
    let frames = rotating_mip(vol, &p, None, None).expect("rotating MIP");
    g.bench_function("GIF encoding", |b| {
        b.iter(|| encode_gif(&frames, 512, 512, 10).expect("GIF"));
    });
    if let Some(seg) = seg {
        let fuse = FuseParams::default();
        g.bench_function("36 frames 512 px fused", |b| {
            b.iter(|| rotating_mip_fused(vol, Some(seg), &p, &fuse, None, None).expect("fused"));
        });
        let fused = rotating_mip_fused(vol, Some(seg), &p, &fuse, None, None).expect("fused");
        let overlay = Overlay {
            labels: &fused.labels,
            colours: &fused.colours,
            opacity: fused.opacity,
        };
        g.bench_function("GIF encoding with overlay", |b| {
            b.iter(|| encode_gif_overlay(&fused.grey, Some(&overlay), 512, 512, 10).expect("GIF"));
        });
    }
    let rp = RayParams {
        direction_lps: DVec3::new(-0.5, 0.866, 0.0),
        size_px: [512, 512],
        mm_per_px: mm_per_px(&vol.geometry, 512),
        step_mm: 1.0,
        outside_hu: Some(-1000.0),
        ..RayParams::default()
    };
    g.bench_function("ray cast 1 frame 512 px, 1 mm steps", |b| {
        b.iter(|| project_direction(vol, &rp).expect("ray cast"));
    });
    g.finish();
}

fn bench_rotate(c: &mut Criterion) {
    let ph = phantom::chest(&PhantomParams {
        dims: [141, 512, 512],
        spacing_mm: DVec3::new(0.977, 0.977, 2.0),
        ..Default::default()
    });
    let names: Vec<(u16, String)> = ph
        .label_names
        .iter()
        .map(|&(v, n)| (u16::from(v), n.to_owned()))
        .collect();
    let seg = Segmentation::from_label_map(
        ph.labels.mapv(u16::from).view(),
        ph.volume.geometry,
        &names,
        "phantom",
    )
    .expect("phantom labels");
    bench_volume(c, "phantom 141x512x512", &ph.volume, Some(&seg));
    drop((ph, seg));

    let chest = hounsfield::testdata::root().join("chest-ct");
    if chest.exists() {
        let vol = dicom::load_series(&chest, None, &LoadControl::default())
            .expect("load chest-ct")
            .volume;
        bench_volume(c, "chest-ct", &vol, None);
    } else {
        eprintln!("chest-ct not found at {chest:?}; skipped");
    }
}

criterion_group!(benches, bench_rotate);
criterion_main!(benches);
