//! `hounsfield unet`: train the 2D U-Net lung segmentation on the cases of a `cases.csv`
//! (`unet train`), and evaluate a model on labelled cases (`unet eval`: per-slice and
//! per-volume CSVs, histograms, box plots, best/typical/worst montages).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use crate::figure::box_stats;
use crate::unet::UnetLungParams;
use crate::unet::cases::read_cases;
use crate::unet::eval::{
    CaseEval, EvalFigure, evaluate_case, figures, lung_slice_values, mean, slices_csv, volumes_csv,
};
use crate::unet::net::augment::AugmentConfig;
use crate::unet::net::metrics::Confusion;
use crate::unet::net::{
    Checkpoints, Device, TrainConfig, TrainEvent, UnetConfig, UnetModel, cpu_device, train,
};
use crate::unet::training::load_training_cases;

/// Arguments of `unet`.
#[derive(Debug, Args)]
pub struct UnetArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: UnetCommand,
}

/// `unet` subcommands.
#[derive(Debug, Subcommand)]
pub enum UnetCommand {
    /// Train a model on the cases of a `cases.csv` (columns `case,series,label[,sex,lung_labels]`).
    Train(UnetTrainArgs),
    /// Score a model on labelled cases: CSVs, histograms, box plots and montages in a folder.
    Eval(UnetEvalArgs),
}

/// Arguments of `unet train`.
#[derive(Debug, Args)]
pub struct UnetTrainArgs {
    /// The cases: CSV with case,series,label[,sex][,lung_labels] (paths relative to it).
    #[arg(long)]
    pub cases: PathBuf,
    /// Output model file (the weights with their configuration).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Passes over the training slices.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Slices per optimiser step.
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Side of the square the slices are resized to (a multiple of 2^depth).
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Channels of the first level (doubled at each level down).
    #[arg(long, default_value_t = 16)]
    pub width: usize,
    /// Levels of max-pooling.
    #[arg(long, default_value_t = 4)]
    pub depth: usize,
    /// Seed of weights, shuffling, augmentation and the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of patients (per stratum) held out for validation.
    #[arg(long, default_value_t = 1.0 / 3.0)]
    pub val_fraction: f64,
    /// At most this many steps per epoch.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Train on the slices as they are (no flips, rotations, zoom or intensity jitter).
    #[arg(long)]
    pub no_augment: bool,
    /// Checkpoint written after every epoch (default: the output path + `.ckpt`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from this checkpoint (its network; `--epochs` is the total, the cases the same).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Also write the per-epoch history as JSON here.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Run on the GPU (wgpu) instead of the CPU.
    #[cfg(feature = "gpu")]
    #[arg(long)]
    pub gpu: bool,
}

/// Arguments of `unet eval`.
#[derive(Debug, Args)]
pub struct UnetEvalArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The cases: CSV with case,series,label[,sex][,lung_labels] (paths relative to it).
    #[arg(long)]
    pub cases: PathBuf,
    /// Output folder (created): slices.csv, volumes.csv, figures (PNG and SVG), montages.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Probability threshold.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Score the network's mask as it is (no largest components, no hole filling).
    #[arg(long)]
    pub raw: bool,
    /// Slices per montage (best, typical, worst).
    #[arg(long, default_value_t = 6)]
    pub montage: usize,
    /// Run on the GPU (wgpu) instead of the CPU.
    #[cfg(feature = "gpu")]
    #[arg(long)]
    pub gpu: bool,
}

/// Run `unet`.
pub fn run_unet(a: &UnetArgs) -> anyhow::Result<()> {
    match &a.command {
        UnetCommand::Train(t) => run_train(t),
        UnetCommand::Eval(e) => run_eval(e),
    }
}

/// The CPU device, or the GPU one when asked for (and built with the `gpu` feature).
fn device(gpu: bool) -> Device {
    #[cfg(feature = "gpu")]
    {
        if gpu {
            return crate::unet::net::gpu_device();
        }
    }
    #[cfg(not(feature = "gpu"))]
    let _ = gpu;
    cpu_device()
}

/// The network to train: the checkpoint's when resuming, else from the options.
fn network_config(a: &UnetTrainArgs) -> anyhow::Result<UnetConfig> {
    let config = if let Some(resume) = &a.resume {
        // The network is the checkpoint's; --size, --width and --depth are not used.
        let config = UnetModel::load(resume, &cpu_device())
            .with_context(|| format!("reading the checkpoint {resume:?}"))?
            .config;
        eprintln!(
            "resuming {resume:?}: {}² input, width {}, depth {}",
            config.input_size, config.base_width, config.depth
        );
        config
    } else {
        UnetConfig {
            depth: a.depth,
            base_width: a.width,
            input_size: a.size,
            seed: a.seed,
            ..UnetConfig::default()
        }
    };
    Ok(config)
}

fn run_train(a: &UnetTrainArgs) -> anyhow::Result<()> {
    #[cfg(feature = "gpu")]
    let gpu = a.gpu;
    #[cfg(not(feature = "gpu"))]
    let gpu = false;
    let config = network_config(a)?;
    config.validate()?;
    let settings = TrainConfig {
        epochs: a.epochs,
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        val_fraction: a.val_fraction,
        max_steps_per_epoch: a.max_steps,
        augment: if a.no_augment {
            AugmentConfig::off()
        } else {
            AugmentConfig::default()
        },
    };
    settings.validate()?;
    let rows = read_cases(&a.cases)?;
    let never = AtomicBool::new(false);
    let t = Instant::now();
    let (cases, summary) = load_training_cases(
        &rows,
        config.input_size,
        &mut |i, n, case| eprintln!("loading case {}/{n}: {case}", i + 1),
        &never,
    )?;
    for s in &summary {
        eprintln!(
            "  {}: {} slices, {} with lung, stratum {}",
            s.case,
            s.slices,
            s.lung_slices,
            s.stratum.as_deref().unwrap_or("-")
        );
    }
    eprintln!(
        "loaded {} cases in {:.1} s",
        cases.len(),
        t.elapsed().as_secs_f64()
    );
    let checkpoint = a
        .checkpoint
        .clone()
        .unwrap_or_else(|| with_suffix(&a.out, ".ckpt"));
    let tty = std::io::stderr().is_terminal();
    let mut history = Vec::new();
    let outcome = train(
        &cases,
        &config,
        &settings,
        Checkpoints {
            save_to: Some(&checkpoint),
            resume_from: a.resume.as_deref(),
        },
        &device(gpu),
        &mut |event| print_event(event, tty, &mut history),
        &never,
    )?;
    let mut model = outcome.model;
    model.info.notes = format!(
        "trained by `{}` on {} cases ({}); validation cases {:?}",
        std::env::args().collect::<Vec<_>>().join(" "),
        rows.len(),
        rows.iter()
            .map(|r| r.case.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        outcome
            .split
            .val
            .iter()
            .map(|&i| rows[i].case.as_str())
            .collect::<Vec<_>>()
    );
    let bytes = model.to_bytes()?;
    crate::io::write_atomic(&a.out, |w| w.write_all(&bytes))?;
    eprintln!(
        "wrote {:?} ({:.1} MB); checkpoint {:?}; {:.0} s in all",
        a.out,
        bytes.len() as f64 / 1e6,
        checkpoint,
        t.elapsed().as_secs_f64()
    );
    if let Some(p) = &a.history {
        let text = serde_json::to_string_pretty(&history)?;
        crate::io::write_atomic(p, |w| w.write_all(text.as_bytes()))?;
        eprintln!("wrote {p:?}");
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn print_event(event: &TrainEvent, tty: bool, history: &mut Vec<crate::unet::net::EpochReport>) {
    match event {
        TrainEvent::Started {
            train_cases,
            train_slices,
            val_cases,
            val_slices,
            steps_per_epoch,
            start_epoch,
        } => eprintln!(
            "training on {train_cases} cases ({train_slices} slices), validating on \
             {val_cases} ({val_slices} slices); {steps_per_epoch} steps per epoch{}",
            if *start_epoch > 0 {
                format!(", resuming after epoch {start_epoch}")
            } else {
                String::new()
            }
        ),
        TrainEvent::Step {
            epoch,
            step,
            steps,
            loss,
        } => {
            if tty {
                eprint!("\repoch {epoch} step {step}/{steps} loss {loss:.4}   ");
            }
        }
        TrainEvent::Epoch(r) => {
            if tty {
                eprintln!();
            }
            let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"));
            println!(
                "epoch {}: loss {:.4} (bce {:.4}, dice loss {:.4}); validation loss {}, \
                 Dice {} (mean per lung slice {}); {:.0} s",
                r.epoch,
                r.train_loss,
                r.train_bce,
                r.train_dice_loss,
                opt(r.val_loss),
                opt(r.val_dice),
                opt(r.val_dice_slice_mean),
                r.seconds
            );
            history.push(r.clone());
        }
    }
}

fn run_eval(a: &UnetEvalArgs) -> anyhow::Result<()> {
    #[cfg(feature = "gpu")]
    let gpu = a.gpu;
    #[cfg(not(feature = "gpu"))]
    let gpu = false;
    let model = UnetModel::load(&a.model, &device(gpu))
        .with_context(|| format!("loading the model {:?}", a.model))?;
    eprintln!(
        "model: {}² input, width {}, depth {}, {} epochs{}",
        model.config.input_size,
        model.config.base_width,
        model.config.depth,
        model.info.epochs,
        model
            .info
            .val_dice
            .map(|d| format!(", validation Dice {d:.4}"))
            .unwrap_or_default()
    );
    let rows = read_cases(&a.cases)?;
    let params = UnetLungParams {
        threshold: a.threshold,
        ..if a.raw {
            UnetLungParams::raw()
        } else {
            UnetLungParams::default()
        }
    };
    let never = AtomicBool::new(false);
    let mut cases: Vec<CaseEval> = Vec::with_capacity(rows.len());
    for row in &rows {
        let case = evaluate_case(row, &model, &params, &never)
            .with_context(|| format!("case {}", row.case))?;
        let v = &case.volume;
        println!(
            "{}: Dice {:.4}, Jaccard {:.4}, accuracy {:.5}; {} lung slices, mean slice Dice {:.4}; \
             inference {:.2} s",
            v.case,
            v.confusion.dice(),
            v.confusion.jaccard(),
            v.confusion.accuracy(),
            v.lung_slices,
            mean(&lung_slice_values(
                std::slice::from_ref(&case),
                Confusion::dice
            )),
            v.seconds
        );
        cases.push(case);
    }
    if cases.is_empty() {
        bail!("no cases");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {:?}", a.out))?;
    let write_text = |name: &str, text: &str| -> anyhow::Result<()> {
        let p = a.out.join(name);
        crate::io::write_atomic(&p, |w| w.write_all(text.as_bytes()))?;
        eprintln!("wrote {p:?}");
        Ok(())
    };
    write_text("slices.csv", &slices_csv(&cases))?;
    write_text("volumes.csv", &volumes_csv(&cases))?;
    for (name, figure) in figures(&cases, a.montage) {
        match figure {
            EvalFigure::Chart(chart) => {
                for ext in ["png", "svg"] {
                    let p = a.out.join(format!("{name}.{ext}"));
                    crate::figure::write(&chart, &p, 900, 480)?;
                    eprintln!("wrote {p:?}");
                }
            }
            EvalFigure::Image(img) => {
                let p = a.out.join(format!("{name}.png"));
                crate::export::write_png(&p, &img)?;
                eprintln!("wrote {p:?}");
            }
        }
    }
    let dice = lung_slice_values(&cases, Confusion::dice);
    let total: Confusion = cases.iter().map(|c| c.volume.confusion).sum();
    if let Some(s) = box_stats(&dice) {
        println!(
            "all: volume Dice {:.4}; per lung slice ({}): mean {:.4}, median {:.4}, \
             quartiles {:.4}–{:.4}, min {:.4}",
            total.dice(),
            dice.len(),
            mean(&dice),
            s.median,
            s.q1,
            s.q3,
            dice.iter().copied().fold(1.0f64, f64::min)
        );
    }
    Ok(())
}
