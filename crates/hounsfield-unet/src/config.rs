//! Configuration of the network and of a training run (serde, stored with every model file).

use serde::{Deserialize, Serialize};

use crate::UnetError;
use crate::augment::AugmentConfig;

/// The network: a 2D UNet on one-channel slices resized to `input_size`².
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnetConfig {
    /// Number of 2× down-samplings (max-pool steps); the bottleneck runs at
    /// `input_size / 2^depth`.
    pub depth: usize,
    /// Channels of the first double convolution; each level down doubles them.
    pub base_width: usize,
    /// Dropout probability after each max-pool (training only).
    pub dropout: f64,
    /// Side of the square the slices are resized to, in pixels (a multiple of `2^depth`).
    pub input_size: usize,
    /// Seed of the weight initialisation.
    pub seed: u64,
}

impl Default for UnetConfig {
    fn default() -> Self {
        Self {
            depth: 4,
            base_width: 16,
            dropout: 0.1,
            input_size: 128,
            seed: 0,
        }
    }
}

impl UnetConfig {
    /// Channels at level `level` (0 = full resolution).
    pub fn width(&self, level: usize) -> usize {
        self.base_width << level
    }

    /// Checks the sizes before anything is allocated.
    pub fn validate(&self) -> Result<(), UnetError> {
        let bad = |what: &str| Err(UnetError::Config(what.to_owned()));
        if !(1..=6).contains(&self.depth) {
            return bad("depth must be 1..=6");
        }
        if !(1..=128).contains(&self.base_width) {
            return bad("base_width must be 1..=128");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout must be in [0, 1)");
        }
        let step = 1usize << self.depth;
        if self.input_size < step || !self.input_size.is_multiple_of(step) || self.input_size > 1024
        {
            return bad("input_size must be a multiple of 2^depth and at most 1024");
        }
        Ok(())
    }
}

/// A training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Passes over the training slices.
    pub epochs: usize,
    /// Slices per optimiser step.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of shuffling, dropout, augmentation and the patient split.
    pub seed: u64,
    /// Fraction of the patients of each stratum held out for validation (rounded per stratum,
    /// so a stratum with one patient keeps it for training).
    pub val_fraction: f64,
    /// At most this many steps per epoch (all slices when `None`); for quick runs and tests.
    pub max_steps_per_epoch: Option<usize>,
    /// Random transformations applied to each training slice.
    pub augment: AugmentConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch: 4,
            lr: 1e-3,
            seed: 0,
            val_fraction: 1.0 / 3.0,
            max_steps_per_epoch: None,
            augment: AugmentConfig::default(),
        }
    }
}

impl TrainConfig {
    /// Checks the values before training starts.
    pub fn validate(&self) -> Result<(), UnetError> {
        let bad = |what: &str| Err(UnetError::Config(what.to_owned()));
        if self.epochs == 0 || self.batch == 0 {
            return bad("epochs and batch must be at least 1");
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return bad("lr must be in (0, 1)");
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return bad("val_fraction must be in [0, 1)");
        }
        self.augment.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip_through_json() {
        let config = UnetConfig::default();
        config.validate().unwrap();
        TrainConfig::default().validate().unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<UnetConfig>(&json).unwrap(), config);
        // Missing fields take their defaults.
        let partial: UnetConfig = serde_json::from_str(r#"{"base_width": 8}"#).unwrap();
        assert_eq!(partial.base_width, 8);
        assert_eq!(partial.depth, 4);
    }

    #[test]
    fn bad_sizes_are_refused() {
        let config = UnetConfig {
            input_size: 100,
            ..UnetConfig::default()
        };
        assert!(config.validate().is_err());
        let config = UnetConfig {
            depth: 0,
            ..UnetConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
