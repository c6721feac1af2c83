//! Training: Adam on BCE + soft Dice over augmented slices, a patient-level stratified
//! validation split, per-step and per-epoch progress, a cancel flag, a checkpoint after every
//! epoch and exact resume from one.
//!
//! Everything random comes from `TrainConfig::seed` (shuffling, augmentation, dropout, split)
//! and `UnetConfig::seed` (weights), so a run is reproducible; a resumed run continues the
//! same random stream as an uninterrupted one.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use ndarray::{Array2, Array3, ArrayView3, Axis, s};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::UnetError;
use crate::augment::{AugmentConfig, augment_pair};
use crate::config::{TrainConfig, UnetConfig};
use crate::infer::predict_inputs;
use crate::loss::bce_dice_loss;
use crate::model::Unet;
use crate::preprocess::{mask_to_target, preprocess_slice};
use crate::rng::Rng;
use crate::split::{CaseTag, Split, split_patients};
use crate::store::{
    ModelInfo, UnetModel, load_record, read_container, read_limited, record_bytes, write_atomic,
    write_container,
};

/// One case (a series with its label), preprocessed at the network's input size.
#[derive(Clone, Debug)]
pub struct CaseSlices {
    /// Patient and stratum, for the split.
    pub tag: CaseTag,
    /// Inputs `[z, size, size]` in [0, 1].
    pub inputs: Array3<f32>,
    /// Targets `[z, size, size]`, 0.0 or 1.0.
    pub targets: Array3<f32>,
}

impl CaseSlices {
    /// Preprocesses every slice of a HU volume and its label map (foreground = non-zero),
    /// both `[z, row, col]` on the same grid.
    pub fn from_volume(
        tag: CaseTag,
        hu: ArrayView3<f32>,
        labels: ArrayView3<u8>,
        size: usize,
    ) -> Result<Self, UnetError> {
        if hu.dim() != labels.dim() {
            return Err(UnetError::Input(format!(
                "{}: image {:?} and label {:?} differ in shape",
                tag.patient,
                hu.dim(),
                labels.dim()
            )));
        }
        let inputs: Vec<Array2<f32>> = hu
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|slice| preprocess_slice(slice, size))
            .collect();
        let targets: Vec<Array2<f32>> = labels
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|slice| mask_to_target(slice, size))
            .collect();
        Ok(Self {
            tag,
            inputs: stack(&inputs, size),
            targets: stack(&targets, size),
        })
    }

    /// Number of slices.
    pub fn len(&self) -> usize {
        self.inputs.len_of(Axis(0))
    }

    /// Whether there is no slice.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn stack(slices: &[Array2<f32>], size: usize) -> Array3<f32> {
    let mut out = Array3::zeros((slices.len(), size, size));
    for (mut dst, src) in out.axis_iter_mut(Axis(0)).zip(slices) {
        dst.assign(src);
    }
    out
}

/// What happened during training, for progress displays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TrainEvent {
    /// Before the first step.
    Started {
        /// Training cases and slices.
        train_cases: usize,
        /// Training slices.
        train_slices: usize,
        /// Validation cases.
        val_cases: usize,
        /// Validation slices.
        val_slices: usize,
        /// Optimiser steps per epoch.
        steps_per_epoch: usize,
        /// Epochs already done (resume), 0 for a fresh run.
        start_epoch: usize,
    },
    /// After each optimiser step.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// Steps in the epoch.
        steps: usize,
        /// Loss of the step's batch.
        loss: f64,
    },
    /// After each epoch (and its checkpoint).
    Epoch(EpochReport),
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss (BCE + Dice loss) over the epoch's steps.
    pub train_loss: f64,
    /// Mean training BCE.
    pub train_bce: f64,
    /// Mean training Dice loss (steps with foreground only).
    pub train_dice_loss: f64,
    /// Validation loss (BCE + batch-free soft Dice loss over all validation slices).
    pub val_loss: Option<f64>,
    /// Validation Dice at threshold ½ over all validation pixels.
    pub val_dice: Option<f64>,
    /// Mean per-slice validation Dice over slices with foreground.
    pub val_dice_slice_mean: Option<f64>,
    /// Wall time of the epoch including validation, in seconds.
    pub seconds: f64,
}

/// Where a run reads and writes its checkpoints.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checkpoints<'a> {
    /// Written (atomically, replaced) after every epoch.
    pub save_to: Option<&'a Path>,
    /// A checkpoint to continue from.
    pub resume_from: Option<&'a Path>,
}

/// A finished run.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained model, on a plain (non-autodiff) device, ready for inference or saving.
    pub model: UnetModel,
    /// One report per epoch, including those before a resume.
    pub history: Vec<EpochReport>,
    /// Case indices on each side.
    pub split: Split,
}

#[derive(Serialize, Deserialize)]
struct CheckpointHeader {
    kind: String,
    config: UnetConfig,
    info: ModelInfo,
    train: TrainConfig,
    epochs_done: usize,
    rng: Rng,
    split: Split,
    history: Vec<EpochReport>,
}

struct RunState {
    config: UnetConfig,
    info: ModelInfo,
    /// On the autodiff device.
    net: Unet,
    optimizer: ModuleOptimizer,
    rng: Rng,
    split: Split,
    history: Vec<EpochReport>,
}

/// Trains a model on `cases` (`device` is the plain device, such as `Device::flex()`; the run
/// uses its autodiff form). Returns [`UnetError::Cancelled`] when `cancel` is set; the last
/// checkpoint then holds the last finished epoch.
pub fn train(
    cases: &[CaseSlices],
    config: &UnetConfig,
    train_config: &TrainConfig,
    checkpoints: Checkpoints,
    device: &Device,
    on_event: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> Result<TrainOutcome, UnetError> {
    let ad_device = device.clone().autodiff();
    let mut state = start(cases, config, train_config, checkpoints, &ad_device)?;
    let train_slices: Vec<(usize, usize)> = slices_of(cases, &state.split.train);
    let val_slices: Vec<(usize, usize)> = slices_of(cases, &state.split.val);
    if train_slices.is_empty() {
        return Err(UnetError::Input("no training slices".to_owned()));
    }
    let full_steps = train_slices.len().div_ceil(train_config.batch);
    let steps = train_config
        .max_steps_per_epoch
        .map_or(full_steps, |m| m.clamp(1, full_steps));
    let start_epoch = state.history.len();
    on_event(&TrainEvent::Started {
        train_cases: state.split.train.len(),
        train_slices: train_slices.len(),
        val_cases: state.split.val.len(),
        val_slices: val_slices.len(),
        steps_per_epoch: steps,
        start_epoch,
    });

    for epoch in start_epoch + 1..=train_config.epochs {
        let started = Instant::now();
        let sums = run_epoch(
            cases,
            &train_slices,
            Schedule {
                config: train_config,
                steps,
                epoch,
            },
            &mut state,
            &ad_device,
            on_event,
            cancel,
        )?;
        let validation = validate(cases, &val_slices, &state.net, &ad_device)?;
        let report = EpochReport {
            epoch,
            train_loss: sums[0] / steps as f64,
            train_bce: sums[1] / steps as f64,
            train_dice_loss: if sums[3] > 0.0 {
                sums[2] / sums[3]
            } else {
                0.0
            },
            val_loss: validation.map(|v| v.loss),
            val_dice: validation.map(|v| v.dice),
            val_dice_slice_mean: validation.and_then(|v| v.dice_slice_mean),
            seconds: started.elapsed().as_secs_f64(),
        };
        state.history.push(report.clone());
        state.info.epochs = epoch;
        state.info.train_slices = train_slices.len();
        state.info.val_dice = report.val_dice;
        if let Some(path) = checkpoints.save_to {
            save_checkpoint(path, &state, train_config)?;
        }
        on_event(&TrainEvent::Epoch(report));
    }

    let plain = device.clone().inner();
    let model = UnetModel {
        config: state.config,
        info: state.info,
        net: state.net.valid().to_device(&plain),
        device: plain,
    };
    Ok(TrainOutcome {
        model,
        history: state.history,
        split: state.split,
    })
}

/// Checks the inputs and sets up a fresh run or one resumed from a checkpoint.
fn start(
    cases: &[CaseSlices],
    config: &UnetConfig,
    train_config: &TrainConfig,
    checkpoints: Checkpoints,
    ad_device: &Device,
) -> Result<RunState, UnetError> {
    config.validate()?;
    train_config.validate()?;
    let size = config.input_size;
    if let Some(case) = cases
        .iter()
        .find(|c| c.inputs.dim().1 != size || c.inputs.dim().2 != size)
    {
        return Err(UnetError::Input(format!(
            "{}: slices of {:?}, the network takes {size}²",
            case.tag.patient,
            case.inputs.dim(),
        )));
    }
    let state = if let Some(path) = checkpoints.resume_from {
        resume(path, config, ad_device)?
    } else {
        let tags: Vec<CaseTag> = cases.iter().map(|c| c.tag.clone()).collect();
        RunState {
            config: config.clone(),
            info: ModelInfo::default(),
            net: Unet::new(config, ad_device),
            optimizer: AdamConfig::new().init(),
            rng: Rng::new(train_config.seed),
            split: split_patients(&tags, train_config.val_fraction, train_config.seed),
            history: Vec::new(),
        }
    };
    let split = &state.split;
    if split
        .train
        .iter()
        .chain(&split.val)
        .any(|&i| i >= cases.len())
    {
        return Err(UnetError::Input(
            "the checkpoint's split names more cases than given".to_owned(),
        ));
    }
    Ok(state)
}

fn slices_of(cases: &[CaseSlices], chosen: &[usize]) -> Vec<(usize, usize)> {
    chosen
        .iter()
        .flat_map(|&c| (0..cases[c].len()).map(move |z| (c, z)))
        .collect()
}

/// Which epoch, how many steps, with what settings.
struct Schedule<'a> {
    config: &'a TrainConfig,
    steps: usize,
    epoch: usize,
}

/// One epoch of steps; returns sums of [loss, bce, dice loss, steps with foreground].
fn run_epoch(
    cases: &[CaseSlices],
    train_slices: &[(usize, usize)],
    schedule: Schedule,
    state: &mut RunState,
    device: &Device,
    on_event: &mut dyn FnMut(&TrainEvent),
    cancel: &AtomicBool,
) -> Result<[f64; 4], UnetError> {
    let mut order = train_slices.to_vec();
    state.rng.shuffle(&mut order);
    let size = state.config.input_size;
    let mut sums = [0.0f64; 4];
    let batches = order.chunks(schedule.config.batch).take(schedule.steps);
    for (step, batch) in batches.enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(UnetError::Cancelled);
        }
        let (x, y, has_foreground) =
            augmented_batch(cases, batch, &schedule.config.augment, &mut state.rng, size);
        let x = Tensor::<4>::from_data(x, device);
        let y = Tensor::<4>::from_data(y, device);
        let mut dropout_rng = state.rng.fork();
        let logits = state.net.forward_logits(x, Some(&mut dropout_rng));
        let parts = bce_dice_loss(logits, y, has_foreground);
        let grads = GradientsParams::from_grads(parts.total.backward(), &state.net);
        // The optimiser takes the network by value; a clone shares the parameters' storage.
        state.net = state
            .optimizer
            .step(schedule.config.lr, state.net.clone(), grads);
        let loss = f64::from(parts.total.into_scalar::<f32>());
        sums[0] += loss;
        sums[1] += f64::from(parts.bce.into_scalar::<f32>());
        if has_foreground {
            sums[2] += f64::from(parts.dice.into_scalar::<f32>());
            sums[3] += 1.0;
        }
        on_event(&TrainEvent::Step {
            epoch: schedule.epoch,
            step: step + 1,
            steps: schedule.steps,
            loss,
        });
    }
    Ok(sums)
}

/// Augments a batch (in parallel, one forked generator per slice) into `[n, 1, size, size]`
/// inputs and targets, and says whether any target pixel is foreground.
fn augmented_batch(
    cases: &[CaseSlices],
    batch: &[(usize, usize)],
    augment: &AugmentConfig,
    rng: &mut Rng,
    size: usize,
) -> (TensorData, TensorData, bool) {
    let rngs: Vec<Rng> = batch.iter().map(|_| rng.fork()).collect();
    let augmented: Vec<(Array2<f32>, Array2<f32>)> = batch
        .par_iter()
        .zip(rngs)
        .map(|(&(c, z), mut rng)| {
            augment_pair(
                cases[c].inputs.slice(s![z, .., ..]),
                cases[c].targets.slice(s![z, .., ..]),
                augment,
                &mut rng,
            )
        })
        .collect();
    let n = augmented.len();
    let mut x = Vec::with_capacity(n * size * size);
    let mut y = Vec::with_capacity(n * size * size);
    for (image, target) in &augmented {
        x.extend(image.iter().copied());
        y.extend(target.iter().copied());
    }
    let has_foreground = y.iter().any(|&v| v > 0.5);
    (
        TensorData::new(x, [n, 1, size, size]),
        TensorData::new(y, [n, 1, size, size]),
        has_foreground,
    )
}

#[derive(Clone, Copy)]
struct Validation {
    loss: f64,
    dice: f64,
    dice_slice_mean: Option<f64>,
}

fn validate(
    cases: &[CaseSlices],
    val_slices: &[(usize, usize)],
    net: &Unet,
    device: &Device,
) -> Result<Option<Validation>, UnetError> {
    if val_slices.is_empty() {
        return Ok(None);
    }
    let size = cases[val_slices[0].0].inputs.dim().1;
    let mut inputs = Array3::<f32>::zeros((val_slices.len(), size, size));
    for (mut dst, &(c, z)) in inputs.axis_iter_mut(Axis(0)).zip(val_slices) {
        dst.assign(&cases[c].inputs.slice(s![z, .., ..]));
    }
    let probabilities = predict_inputs(net, inputs.view(), 8, device)?;
    let (mut bce, mut soft_tp, mut soft_sum) = (0.0f64, 0.0f64, 0.0f64);
    let (mut tp, mut fp_fn) = (0u64, 0u64);
    let mut slice_dice = Vec::new();
    for (prob, &(c, z)) in probabilities.axis_iter(Axis(0)).zip(val_slices) {
        let target = cases[c].targets.slice(s![z, .., ..]);
        let (mut s_tp, mut s_fp_fn, mut s_truth) = (0u64, 0u64, 0u64);
        for (&p, &t) in prob.iter().zip(target.iter()) {
            let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
            let t = f64::from(t);
            bce -= t * p.ln() + (1.0 - t) * (1.0 - p).ln();
            soft_tp += p * t;
            soft_sum += p + t;
            let (predicted, truth) = (p >= 0.5, t > 0.5);
            s_tp += u64::from(predicted && truth);
            s_fp_fn += u64::from(predicted != truth);
            s_truth += u64::from(truth);
        }
        tp += s_tp;
        fp_fn += s_fp_fn;
        if s_truth > 0 {
            slice_dice.push(2.0 * s_tp as f64 / (2 * s_tp + s_fp_fn) as f64);
        }
    }
    let pixels = probabilities.len() as f64;
    let soft_dice = (2.0 * soft_tp + 1.0) / (soft_sum + 1.0);
    Ok(Some(Validation {
        loss: bce / pixels + 1.0 - soft_dice,
        dice: if tp + fp_fn == 0 {
            1.0
        } else {
            2.0 * tp as f64 / (2 * tp + fp_fn) as f64
        },
        dice_slice_mean: (!slice_dice.is_empty())
            .then(|| slice_dice.iter().sum::<f64>() / slice_dice.len() as f64),
    }))
}

fn save_checkpoint(
    path: &Path,
    state: &RunState,
    train_config: &TrainConfig,
) -> Result<(), UnetError> {
    let header = CheckpointHeader {
        kind: "checkpoint".to_owned(),
        config: state.config.clone(),
        info: state.info.clone(),
        train: train_config.clone(),
        epochs_done: state.history.len(),
        rng: state.rng.clone(),
        split: state.split.clone(),
        history: state.history.clone(),
    };
    let weights = record_bytes(&state.net)?;
    let optimizer = state
        .optimizer
        .into_bytes()
        .map_err(|err| UnetError::Record(err.to_string()))?;
    write_atomic(path, &write_container(&header, &[&weights, &optimizer])?)
}

fn resume(path: &Path, config: &UnetConfig, ad_device: &Device) -> Result<RunState, UnetError> {
    let bytes = read_limited(path)?;
    let (header, sections): (CheckpointHeader, _) = read_container(&bytes)?;
    if header.kind != "checkpoint" || sections.len() != 2 {
        return Err(UnetError::Format(format!(
            "{path:?} is not a training checkpoint"
        )));
    }
    if header.config != *config {
        return Err(UnetError::Config(format!(
            "the checkpoint's network {:?} differs from the requested {config:?}",
            header.config
        )));
    }
    header.config.validate()?;
    let net = load_record(Unet::new(&header.config, ad_device), sections[0])?;
    let optimizer = AdamConfig::new()
        .init()
        .from_bytes(Bytes::from_bytes_vec(sections[1].to_vec()))
        .map_err(|err| UnetError::Record(err.to_string()))?;
    if header.history.len() != header.epochs_done {
        return Err(UnetError::Format(
            "checkpoint history is inconsistent".to_owned(),
        ));
    }
    Ok(RunState {
        config: header.config,
        info: header.info,
        net,
        optimizer,
        rng: header.rng,
        split: header.split,
        history: header.history,
    })
}
