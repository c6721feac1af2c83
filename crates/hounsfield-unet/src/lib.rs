//! 2D UNet lung segmentation for hounsfield, on plain `ndarray` arrays, with burn 0.22.
//!
//! The coursework's model and recipe in Rust: per-slice winsorising and [0, 1] scaling, a UNet
//! of double convolutions with batch norm, max-pool + dropout down and transposed convolutions
//! with skip concatenation up, BCE + soft Dice, Adam, a patient-level stratified split,
//! flips/rotation/intensity augmentation, checkpoints and resume, batched inference.
//!
//! This crate knows nothing of DICOM, volumes or files other than its own model files: the
//! viewer crate turns series and label maps into `[z, row, col]` arrays and calls
//! [`CaseSlices::from_volume`], [`train::train`] and [`infer::predict_volume`].
//!
//! Computation runs on burn's pure-Rust `flex` CPU backend ([`cpu_device`]); the `gpu` feature
//! adds burn's wgpu backend (`gpu_device`). All randomness comes from the crate's own seeded
//! [`rng::Rng`].

pub mod augment;
pub mod config;
pub mod infer;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod preprocess;
pub mod rng;
pub mod split;
pub mod store;
pub mod synthetic;
pub mod train;

pub use burn;
pub use burn::tensor::Device;
pub use config::{TrainConfig, UnetConfig};
pub use infer::{predict_volume, threshold};
pub use split::{CaseTag, Split, split_patients};
pub use store::{ModelInfo, UnetModel};
pub use train::{CaseSlices, Checkpoints, EpochReport, TrainEvent, TrainOutcome, train};

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum UnetError {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Input arrays have the wrong shape or no data.
    #[error("invalid input: {0}")]
    Input(String),
    /// A model or checkpoint file is malformed.
    #[error("not a valid UNet file: {0}")]
    Format(String),
    /// burn refused a record (wrong architecture, corrupt burnpack).
    #[error("model weights: {0}")]
    Record(String),
    /// Reading tensor data back from the device failed.
    #[error("tensor read-back: {0}")]
    Tensor(String),
    /// The cancel flag was set.
    #[error("cancelled")]
    Cancelled,
    /// File I/O.
    #[error("cannot {op} {path:?}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
        /// The file.
        path: PathBuf,
    },
}

/// The pure-Rust CPU device (burn `flex`, multi-threaded through rayon).
pub fn cpu_device() -> Device {
    Device::flex()
}

/// The default wgpu device (Vulkan, Metal, DX12 or GL, whichever the platform has).
#[cfg(feature = "gpu")]
pub fn gpu_device() -> Device {
    Device::wgpu(Default::default())
}
