//! Forward time per slice, whole-volume inference time and training step time on the CPU
//! (`flex`) device. Run in release: `cargo run --release -p hounsfield-unet --example bench`.
//! Optional arguments: `quick` (fewer repetitions).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use hounsfield_unet::augment::AugmentConfig;
use hounsfield_unet::rng::Rng;
use hounsfield_unet::synthetic::disks_in_noise;
use hounsfield_unet::{
    CaseSlices, CaseTag, Checkpoints, TrainConfig, TrainEvent, UnetConfig, UnetModel, burn,
    cpu_device, predict_volume, train,
};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn forward_ms_per_slice(size: usize, width: usize, batch: usize, reps: usize) -> f64 {
    let device = cpu_device();
    let config = UnetConfig {
        input_size: size,
        base_width: width,
        ..UnetConfig::default()
    };
    let model = UnetModel::new(config, &device).expect("valid config");
    let mut rng = Rng::new(1);
    let data: Vec<f32> = (0..batch * size * size).map(|_| rng.next_f32()).collect();
    let run = || {
        let x = Tensor::<4>::from_data(
            TensorData::new(data.clone(), [batch, 1, size, size]),
            &device,
        );
        let start = Instant::now();
        let y = model.net.forward(x).into_data();
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(y.num_elements(), batch * size * size);
        elapsed
    };
    run(); // warm-up
    let times: Vec<f64> = (0..reps).map(|_| run()).collect();
    median(times) * 1000.0 / batch as f64
}

fn step_ms(size: usize, width: usize, batch: usize, steps: usize) -> f64 {
    let cases: Vec<CaseSlices> = (0..2)
        .map(|i| {
            let (hu, labels) = disks_in_noise(24, 2 * size, i);
            let tag = CaseTag {
                patient: format!("p{i}"),
                stratum: None,
            };
            CaseSlices::from_volume(tag, hu.view(), labels.view(), size).expect("same shapes")
        })
        .collect();
    let config = UnetConfig {
        input_size: size,
        base_width: width,
        ..UnetConfig::default()
    };
    let settings = TrainConfig {
        epochs: 1,
        batch,
        val_fraction: 0.0,
        max_steps_per_epoch: Some(steps + 1),
        augment: AugmentConfig::default(),
        ..TrainConfig::default()
    };
    let mut stamps = Vec::new();
    train(
        &cases,
        &config,
        &settings,
        Checkpoints::default(),
        &cpu_device(),
        &mut |event| {
            if matches!(event, TrainEvent::Step { .. }) {
                stamps.push(Instant::now());
            }
        },
        &AtomicBool::new(false),
    )
    .expect("training runs");
    // Steps after the first (warm-up).
    let times: Vec<f64> = stamps
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0)
        .collect();
    median(times)
}

fn volume_seconds(size: usize, width: usize) -> f64 {
    let (hu, _) = disks_in_noise(141, 512, 7);
    let config = UnetConfig {
        input_size: size,
        base_width: width,
        ..UnetConfig::default()
    };
    let model = UnetModel::new(config, &cpu_device()).expect("valid config");
    let start = Instant::now();
    let p = predict_volume(&model, hu.view(), &mut |_, _| {}, &AtomicBool::new(false))
        .expect("inference runs");
    assert_eq!(p.dim(), (141, 512, 512));
    start.elapsed().as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = if quick { 2 } else { 5 };
    println!("threads: {}", rayon::current_num_threads());
    println!("| input | width | depth | forward ms/slice (batch 8) |");
    println!("|---|---|---|---|");
    for (size, width) in [(128, 8), (128, 16), (256, 8), (256, 16)] {
        let ms = forward_ms_per_slice(size, width, 8, reps);
        println!("| {size}² | {width} | 4 | {ms:.1} |");
    }
    println!();
    println!("| input | width | 141 × 512² volume, predict_volume s |");
    println!("|---|---|---|");
    for (size, width) in [(128, 8), (128, 16), (256, 8)] {
        println!("| {size}² | {width} | {:.2} |", volume_seconds(size, width));
    }
    println!();
    println!("| input | width | batch | train step ms (median) |");
    println!("|---|---|---|---|");
    for (size, width, batch) in [(128, 8, 4), (128, 16, 4), (256, 8, 4)] {
        let ms = step_ms(size, width, batch, if quick { 3 } else { 6 });
        println!("| {size}² | {width} | {batch} | {ms:.0} |");
    }
}
