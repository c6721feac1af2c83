//! The 2D U-Net lung segmentation on hounsfield volumes (the `hounsfield-unet` crate does the
//! network, preprocessing, training and inference on plain arrays).
//!
//! - [`cases`]: `cases.csv` (series + label per case) and loading a case onto the CT grid.
//! - [`training`]: cases → the network's preprocessed slices, ready for
//!   [`hounsfield_unet::train`].
//! - [`eval`]: per-slice and per-volume Dice, Jaccard and accuracy, and the figures (histograms,
//!   box plots as [`crate::figure::Chart`]s, best/typical/worst montages as images); the CLI
//!   writes them.
//! - [`segment_lungs_unet`]: a lung mask like [`crate::segment::segment_lungs`]'s, with optional
//!   post-processing (largest components, hole filling).
//!
//! This module reads series and labels (through `dicom`, `io`, `study`) but writes no file.

// ndarray views are cheap handles, passed by value like ndarray's own API.
#![allow(clippy::needless_pass_by_value)]

pub mod bundled;
pub mod cases;
pub mod eval;
mod montage;
#[cfg(test)]
mod tests;
pub mod training;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use ndarray::{Array3, Zip};

pub use hounsfield_unet as net;
pub use hounsfield_unet::{UnetConfig, UnetModel};

use crate::morph::{Connectivity, fill_holes_2d, label};
use crate::segment::Control;
use crate::volume::Volume;

/// Label of both lungs in the U-Net output (no sides, like the k-means baseline).
pub const LABEL_LUNGS: u8 = 1;
/// Segment names of the U-Net output.
pub const UNET_NAMES: [(u8, &str); 1] = [(LABEL_LUNGS, "Lungs")];

/// Errors of the U-Net drivers.
#[derive(Debug, thiserror::Error)]
pub enum UnetRunError {
    /// A malformed `cases.csv`.
    #[error("cases.csv line {line}: {message}")]
    Cases {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {path:?}: {source}")]
    Read {
        /// The OS error.
        source: std::io::Error,
        /// The file.
        path: std::path::PathBuf,
    },
    /// Loading a DICOM series failed.
    #[error(transparent)]
    Dicom(#[from] crate::dicom::DicomError),
    /// Reading a NIfTI/NRRD file failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// Opening or placing a label failed.
    #[error(transparent)]
    Label(#[from] crate::study::OpenSegError),
    /// The network, its file or its training failed.
    #[error(transparent)]
    Net(#[from] hounsfield_unet::UnetError),
    /// Morphology failed.
    #[error(transparent)]
    Morph(#[from] crate::morph::MorphError),
    /// A case is unusable (named).
    #[error("case {case}: {message}")]
    Case {
        /// The case id.
        case: String,
        /// What is wrong.
        message: String,
    },
    /// The cancel flag was raised.
    #[error("cancelled")]
    Cancelled,
}

/// What to do with the network's probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct UnetLungParams {
    /// Probability at or above which a voxel is lung.
    pub threshold: f32,
    /// Keep only the 3D components (6-connected) of at least this fraction of the largest
    /// one's voxels, at most two of them (the lungs, joined or not); `None` keeps everything.
    pub keep_components: Option<f64>,
    /// Fill holes per axial slice (vessels, nodules).
    pub fill_holes: bool,
}

impl Default for UnetLungParams {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            keep_components: Some(0.1),
            fill_holes: true,
        }
    }
}

impl UnetLungParams {
    /// The network's mask as it is: threshold ½, no post-processing.
    pub fn raw() -> Self {
        Self {
            keep_components: None,
            fill_holes: false,
            ..Self::default()
        }
    }
}

/// The U-Net's lung mask and what it cost.
#[derive(Clone, Debug)]
pub struct UnetLungMask {
    /// `[z, row, col]`: 0 background, [`LABEL_LUNGS`].
    pub labels: Array3<u8>,
    /// Lung volume in ml.
    pub lung_ml: f64,
    /// Wall time of inference and post-processing, in seconds.
    pub seconds: f64,
}

/// Lung mask of `volume` by the U-Net `model`, post-processed per `params`. Progress goes
/// through `control` as slices done / total; its cancel flag stops between batches.
pub fn segment_lungs_unet(
    volume: &Volume,
    model: &UnetModel,
    params: &UnetLungParams,
    control: &Control,
) -> Result<UnetLungMask, UnetRunError> {
    let started = Instant::now();
    let hu = volume.voxels.to_f32();
    let never = AtomicBool::new(false);
    let cancel = control.cancel.unwrap_or(&never);
    let mut progress = |done: usize, total: usize| {
        if let Some(p) = control.progress {
            p(done, total, "UNet inference");
        }
    };
    let probabilities = hounsfield_unet::predict_volume(model, hu.view(), &mut progress, cancel)
        .map_err(|err| match err {
            hounsfield_unet::UnetError::Cancelled => UnetRunError::Cancelled,
            other => UnetRunError::Net(other),
        })?;
    let mask = post_process(&probabilities, params);
    let labels = mask.mapv(|m| if m { LABEL_LUNGS } else { 0 });
    let lung_ml = labels.iter().filter(|&&v| v > 0).count() as f64
        * crate::seg::stats::voxel_volume_ml(volume);
    Ok(UnetLungMask {
        labels,
        lung_ml,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Threshold, then optionally the largest components and per-slice hole filling.
pub fn post_process(probabilities: &Array3<f32>, params: &UnetLungParams) -> Array3<bool> {
    let mut mask = probabilities.mapv(|p| p >= params.threshold);
    if let Some(fraction) = params.keep_components {
        let components = label(mask.view(), Connectivity::Face);
        let by_size = components.by_size();
        if let Some(&largest) = by_size.first() {
            let largest_voxels = components.get(largest).map_or(0, |s| s.voxels) as f64;
            let keep: Vec<u32> = by_size
                .into_iter()
                .take(2)
                .filter(|&l| {
                    components
                        .get(l)
                        .is_some_and(|s| s.voxels as f64 >= fraction * largest_voxels)
                })
                .collect();
            mask = components.mask_where(|l| keep.contains(&l));
        }
    }
    if params.fill_holes {
        let filled = fill_holes_2d(mask.view());
        Zip::from(&mut mask).and(&filled).for_each(|m, &f| *m |= f);
    }
    mask
}
