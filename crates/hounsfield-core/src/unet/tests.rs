//! The U-Net on the phantom: a tiny training whose loss falls, and the bundled model's Dice
//! floor on a phantom it was not trained on (another noise seed and grid).

use std::sync::atomic::AtomicBool;

use ndarray::Array3;

use super::net::augment::AugmentConfig;
use super::net::metrics::Confusion;
use super::net::{
    CaseSlices, CaseTag, Checkpoints, TrainConfig, TrainEvent, UnetConfig, UnetModel, cpu_device,
    train,
};
use super::{UnetLungParams, post_process, segment_lungs_unet};
use crate::phantom::{LABEL_LEFT_LUNG, LABEL_RIGHT_LUNG, PhantomParams, chest};
use crate::segment::Control;

fn phantom_lungs(dims: [usize; 3], seed: u64) -> (crate::volume::Volume, Array3<u8>) {
    let ph = chest(&PhantomParams {
        seed,
        ..PhantomParams::with_dims(dims)
    });
    let lungs = ph
        .labels
        .mapv(|v| u8::from(v == LABEL_LEFT_LUNG || v == LABEL_RIGHT_LUNG));
    (ph.volume, lungs)
}

#[test]
fn tiny_training_on_the_phantom_lowers_the_loss() {
    let cases: Vec<CaseSlices> = (0..3)
        .map(|seed| {
            let (volume, lungs) = phantom_lungs([24, 64, 64], seed);
            let tag = CaseTag {
                patient: format!("phantom{seed}"),
                stratum: None,
            };
            CaseSlices::from_volume(tag, volume.voxels.to_f32().view(), lungs.view(), 32).unwrap()
        })
        .collect();
    let config = UnetConfig {
        depth: 2,
        base_width: 4,
        input_size: 32,
        seed: 1,
        ..UnetConfig::default()
    };
    let settings = TrainConfig {
        epochs: 4,
        batch: 4,
        lr: 1e-2,
        seed: 2,
        val_fraction: 0.34,
        max_steps_per_epoch: Some(6),
        augment: AugmentConfig {
            zoom: [0.9, 1.1],
            ..AugmentConfig::default()
        },
    };
    let mut epochs = Vec::new();
    let outcome = train(
        &cases,
        &config,
        &settings,
        Checkpoints::default(),
        &cpu_device(),
        &mut |event| {
            if let TrainEvent::Epoch(report) = event {
                epochs.push(report.clone());
            }
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(outcome.split.val.len(), 1);
    let (first, last) = (epochs[0].train_loss, epochs[3].train_loss);
    assert!(last < 0.8 * first, "loss {first:.3} → {last:.3}");
}

/// The bundled model's Dice on a phantom of another grid and noise than its training phantoms.
#[test]
fn bundled_model_segments_the_phantom() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/unet-lungs.mpk"
    ));
    let model = UnetModel::load(path, &cpu_device()).unwrap();
    let (volume, lungs) = phantom_lungs([40, 160, 160], 77);
    let mask = segment_lungs_unet(
        &volume,
        &model,
        &UnetLungParams::default(),
        &Control::default(),
    )
    .unwrap();
    let confusion = Confusion::of(mask.labels.view(), lungs.view());
    eprintln!("bundled model on the phantom: Dice {:.4}", confusion.dice());
    assert!(confusion.dice() > 0.95, "Dice {:.4}", confusion.dice());
}

#[test]
fn post_processing_drops_specks_and_fills_holes() {
    let mut p = Array3::<f32>::zeros((3, 12, 12));
    // Two "lungs" with a hole, and a one-voxel speck.
    for z in 0..3 {
        for r in 2..9 {
            for c in 1..5 {
                p[[z, r, c]] = 0.9;
            }
            for c in 7..11 {
                p[[z, r, c]] = 0.8;
            }
        }
        p[[z, 5, 2]] = 0.1;
    }
    p[[1, 11, 11]] = 0.99;
    let raw = post_process(&p, &UnetLungParams::raw());
    assert!(raw[[1, 11, 11]]);
    assert!(!raw[[1, 5, 2]]);
    let cleaned = post_process(&p, &UnetLungParams::default());
    assert!(!cleaned[[1, 11, 11]]);
    assert!(cleaned[[1, 5, 2]]);
    assert!(cleaned[[0, 4, 8]]);
}
