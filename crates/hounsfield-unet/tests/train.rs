//! A tiny training on synthetic disks-in-noise volumes: the loss falls, the validation Dice is
//! reported, a saved model predicts exactly what the trained one does, and a resumed run ends
//! where an uninterrupted one does.

use std::sync::atomic::AtomicBool;

use hounsfield_unet::augment::AugmentConfig;
use hounsfield_unet::synthetic::disks_in_noise;
use hounsfield_unet::{
    CaseSlices, CaseTag, Checkpoints, TrainConfig, TrainEvent, UnetConfig, UnetModel, cpu_device,
    predict_volume, train,
};

const SIZE: usize = 32;

fn network() -> UnetConfig {
    UnetConfig {
        depth: 2,
        base_width: 4,
        dropout: 0.1,
        input_size: SIZE,
        seed: 3,
    }
}

fn cases() -> Vec<CaseSlices> {
    (0..6)
        .map(|i| {
            let (hu, labels) = disks_in_noise(10, 40, i);
            let tag = CaseTag {
                patient: format!("p{i}"),
                stratum: Some(if i % 2 == 0 { "F" } else { "M" }.to_owned()),
            };
            CaseSlices::from_volume(tag, hu.view(), labels.view(), SIZE).expect("same shapes")
        })
        .collect()
}

fn settings(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: 4,
        lr: 1e-2,
        seed: 5,
        val_fraction: 1.0 / 3.0,
        max_steps_per_epoch: Some(8),
        augment: AugmentConfig {
            rotate_deg: 5.0,
            zoom: [0.95, 1.05],
            ..AugmentConfig::default()
        },
    }
}

#[test]
fn loss_falls_and_saved_model_predicts_the_same() {
    let cases = cases();
    let never = AtomicBool::new(false);
    let mut losses = Vec::new();
    let mut epochs = Vec::new();
    let outcome = train(
        &cases,
        &network(),
        &settings(4),
        Checkpoints::default(),
        &cpu_device(),
        &mut |event| match event {
            TrainEvent::Step { loss, .. } => losses.push(*loss),
            TrainEvent::Epoch(report) => epochs.push(report.clone()),
            TrainEvent::Started { .. } => {}
        },
        &never,
    )
    .unwrap();
    assert_eq!(losses.len(), 32);
    assert_eq!(epochs.len(), 4);
    let first = losses[..4].iter().sum::<f64>() / 4.0;
    let last = losses[losses.len() - 4..].iter().sum::<f64>() / 4.0;
    assert!(
        last < 0.8 * first,
        "loss {first:.3} → {last:.3}: {losses:?}"
    );
    // One patient of each stratum is held out.
    assert_eq!(outcome.split.val.len(), 2);
    assert!(epochs.iter().all(|e| e.val_dice.is_some()));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.mpk");
    outcome.model.save(&path).unwrap();
    let loaded = UnetModel::load(&path, &cpu_device()).unwrap();
    assert_eq!(loaded.config, network());
    assert_eq!(loaded.info.epochs, 4);
    let (hu, _) = disks_in_noise(6, 48, 99);
    let predict = |model: &UnetModel| predict_volume(model, hu.view(), &mut |_, _| {}, &never);
    let a = predict(&outcome.model).unwrap();
    let b = predict(&loaded).unwrap();
    assert_eq!(a.dim(), (6, 48, 48));
    assert_eq!(a, b);
}

#[test]
fn resume_continues_the_same_run() {
    let cases = cases();
    let never = AtomicBool::new(false);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run.ckpt");
    let run = |epochs: usize, checkpoints: Checkpoints| {
        train(
            &cases,
            &network(),
            &settings(epochs),
            checkpoints,
            &cpu_device(),
            &mut |_| {},
            &never,
        )
        .unwrap()
    };
    let straight = run(2, Checkpoints::default());
    let _ = run(
        1,
        Checkpoints {
            save_to: Some(&checkpoint),
            resume_from: None,
        },
    );
    let resumed = run(
        2,
        Checkpoints {
            save_to: None,
            resume_from: Some(&checkpoint),
        },
    );
    assert_eq!(resumed.history.len(), 2);
    assert_eq!(resumed.split, straight.split);
    let (hu, _) = disks_in_noise(4, 32, 7);
    let predict =
        |model: &UnetModel| predict_volume(model, hu.view(), &mut |_, _| {}, &never).unwrap();
    let (a, b) = (predict(&straight.model), predict(&resumed.model));
    let worst = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "resumed run differs by {worst}");
}

#[test]
fn cancel_stops_training() {
    let cases = cases();
    let cancel = AtomicBool::new(true);
    let result = train(
        &cases,
        &network(),
        &settings(1),
        Checkpoints::default(),
        &cpu_device(),
        &mut |_| {},
        &cancel,
    );
    assert!(matches!(result, Err(hounsfield_unet::UnetError::Cancelled)));
}
