//! Training augmentation, deterministic from the caller's [`Rng`]: flips, a small rotation with
//! zoom and shift (bilinear for the image, nearest for the target, zero outside), a mild blur,
//! and intensity jitter (gain, offset, noise) on the [0, 1] image.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::UnetError;
use crate::rng::Rng;

/// What [`augment_pair`] may do to a training slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentConfig {
    /// Off: slices are used as they are.
    pub enabled: bool,
    /// Probability of a left–right flip.
    pub flip_lr: f64,
    /// Probability of an up–down flip.
    pub flip_ud: f64,
    /// Rotation uniform in ±`rotate_deg` degrees.
    pub rotate_deg: f64,
    /// Zoom factor, log-uniform in `[zoom[0], zoom[1]]` (> 1 enlarges the anatomy).
    pub zoom: [f64; 2],
    /// Shift uniform in ±`shift_fraction` of the side, per axis.
    pub shift_fraction: f64,
    /// Probability of a 3×3 binomial blur (mimics coarser scans).
    pub blur: f64,
    /// Gain uniform in `1 ± intensity_gain`.
    pub intensity_gain: f64,
    /// Offset uniform in `± intensity_offset`.
    pub intensity_offset: f64,
    /// Standard deviation of added Gaussian noise.
    pub noise_std: f64,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            flip_lr: 0.5,
            flip_ud: 0.0,
            rotate_deg: 10.0,
            zoom: [0.8, 2.0],
            shift_fraction: 0.06,
            blur: 0.3,
            intensity_gain: 0.1,
            intensity_offset: 0.05,
            noise_std: 0.01,
        }
    }
}

impl AugmentConfig {
    /// No augmentation.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), UnetError> {
        let probability = |p: f64| (0.0..=1.0).contains(&p);
        let ok = probability(self.flip_lr)
            && probability(self.flip_ud)
            && probability(self.blur)
            && (0.0..=45.0).contains(&self.rotate_deg)
            && self.zoom[0] > 0.0
            && self.zoom[0] <= self.zoom[1]
            && self.zoom[1] <= 4.0
            && (0.0..=0.5).contains(&self.shift_fraction)
            && (0.0..1.0).contains(&self.intensity_gain)
            && (0.0..=0.5).contains(&self.intensity_offset)
            && (0.0..=0.5).contains(&self.noise_std);
        if ok {
            Ok(())
        } else {
            Err(UnetError::Config(
                "augmentation values out of range".to_owned(),
            ))
        }
    }
}

/// One random transformation of an image in [0, 1] and its target (0/1), both square or not.
/// The draws happen in a fixed order whatever the configuration, so a seed fixes them.
pub fn augment_pair(
    image: ArrayView2<f32>,
    target: ArrayView2<f32>,
    config: &AugmentConfig,
    rng: &mut Rng,
) -> (Array2<f32>, Array2<f32>) {
    let flip_lr = rng.chance(config.flip_lr);
    let flip_ud = rng.chance(config.flip_ud);
    let angle_rad = rng
        .uniform(-config.rotate_deg, config.rotate_deg)
        .to_radians();
    let zoom = rng.uniform(config.zoom[0].ln(), config.zoom[1].ln()).exp();
    let shift = [
        rng.uniform(-config.shift_fraction, config.shift_fraction),
        rng.uniform(-config.shift_fraction, config.shift_fraction),
    ];
    let blur = rng.chance(config.blur);
    let gain = rng.uniform(1.0 - config.intensity_gain, 1.0 + config.intensity_gain) as f32;
    let offset = rng.uniform(-config.intensity_offset, config.intensity_offset) as f32;
    let mut noise = rng.fork();
    if !config.enabled {
        return (image.to_owned(), target.to_owned());
    }

    let (rows, cols) = image.dim();
    let transform = Affine {
        flip_lr,
        flip_ud,
        cos: angle_rad.cos() / zoom,
        sin: angle_rad.sin() / zoom,
        center: [(rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0],
        shift_px: [shift[0] * rows as f64, shift[1] * cols as f64],
    };
    let mut out_image = Array2::<f32>::zeros((rows, cols));
    let mut out_target = Array2::<f32>::zeros((rows, cols));
    for r in 0..rows {
        for c in 0..cols {
            let [y, x] = transform.source(r, c);
            out_image[[r, c]] = sample_bilinear(image, y, x);
            out_target[[r, c]] = sample_nearest(target, y, x);
        }
    }
    if blur {
        out_image = blur_binomial(out_image.view());
    }
    let noise_std = config.noise_std as f32;
    out_image.mapv_inplace(|v| {
        let jitter = if noise_std > 0.0 {
            noise_std * noise.normal() as f32
        } else {
            0.0
        };
        (v * gain + offset + jitter).clamp(0.0, 1.0)
    });
    (out_image, out_target)
}

/// Output pixel → source position: flip, then rotate and zoom about the centre, then shift.
struct Affine {
    flip_lr: bool,
    flip_ud: bool,
    cos: f64,
    sin: f64,
    center: [f64; 2],
    shift_px: [f64; 2],
}

impl Affine {
    fn source(&self, r: usize, c: usize) -> [f64; 2] {
        let dy = r as f64 - self.center[0] - self.shift_px[0];
        let dx = c as f64 - self.center[1] - self.shift_px[1];
        let y = self.cos * dy - self.sin * dx;
        let x = self.sin * dy + self.cos * dx;
        let y = if self.flip_ud { -y } else { y };
        let x = if self.flip_lr { -x } else { x };
        [y + self.center[0], x + self.center[1]]
    }
}

fn sample_bilinear(src: ArrayView2<f32>, y: f64, x: f64) -> f32 {
    let (rows, cols) = src.dim();
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = ((y - y0) as f32, (x - x0) as f32);
    let at = |r: f64, c: f64| -> f32 {
        if r < 0.0 || c < 0.0 || r >= rows as f64 || c >= cols as f64 {
            0.0
        } else {
            src[[r as usize, c as usize]]
        }
    };
    let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1.0) * fx;
    let bottom = at(y0 + 1.0, x0) * (1.0 - fx) + at(y0 + 1.0, x0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

fn sample_nearest(src: ArrayView2<f32>, y: f64, x: f64) -> f32 {
    let (rows, cols) = src.dim();
    let (r, c) = (y.round(), x.round());
    if r < 0.0 || c < 0.0 || r >= rows as f64 || c >= cols as f64 {
        0.0
    } else {
        src[[r as usize, c as usize]]
    }
}

/// Separable [1, 2, 1]/4 blur with replicated edges.
fn blur_binomial(src: ArrayView2<f32>) -> Array2<f32> {
    let (rows, cols) = src.dim();
    let pass = |a: ArrayView2<f32>, along_rows: bool| {
        Array2::from_shape_fn((rows, cols), |(r, c)| {
            let (prev, next) = if along_rows {
                (a[[r.saturating_sub(1), c]], a[[(r + 1).min(rows - 1), c]])
            } else {
                (a[[r, c.saturating_sub(1)]], a[[r, (c + 1).min(cols - 1)]])
            };
            0.25 * prev + 0.5 * a[[r, c]] + 0.25 * next
        })
    };
    let across = pass(src, false);
    pass(across.view(), true)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction (0, 1, clamped)
mod tests {
    use super::*;

    fn square(size: usize) -> (Array2<f32>, Array2<f32>) {
        let image = Array2::from_shape_fn((size, size), |(r, c)| {
            if (8..20).contains(&r) && (4..14).contains(&c) {
                0.8
            } else {
                0.1
            }
        });
        let target = image.mapv(|v| f32::from(v > 0.5));
        (image, target)
    }

    #[test]
    fn off_is_identity_and_seed_is_deterministic() {
        let (image, target) = square(32);
        let (i, t) = augment_pair(
            image.view(),
            target.view(),
            &AugmentConfig::off(),
            &mut Rng::new(1),
        );
        assert_eq!((i, t), (image.clone(), target.clone()));
        let config = AugmentConfig::default();
        let a = augment_pair(image.view(), target.view(), &config, &mut Rng::new(5));
        let b = augment_pair(image.view(), target.view(), &config, &mut Rng::new(5));
        assert_eq!(a, b);
        let c = augment_pair(image.view(), target.view(), &config, &mut Rng::new(6));
        assert_ne!(a, c);
    }

    #[test]
    fn flip_alone_mirrors_image_and_target() {
        let (image, target) = square(32);
        let config = AugmentConfig {
            flip_lr: 1.0,
            rotate_deg: 0.0,
            zoom: [1.0, 1.0],
            shift_fraction: 0.0,
            blur: 0.0,
            intensity_gain: 0.0,
            intensity_offset: 0.0,
            noise_std: 0.0,
            ..AugmentConfig::default()
        };
        let (i, t) = augment_pair(image.view(), target.view(), &config, &mut Rng::new(0));
        for r in 0..32 {
            for c in 0..32 {
                assert!((i[[r, c]] - image[[r, 31 - c]]).abs() < 1e-6);
                assert_eq!(t[[r, c]], target[[r, 31 - c]]);
            }
        }
    }

    #[test]
    fn rotation_keeps_target_binary_and_area_close() {
        let (image, target) = square(48);
        let config = AugmentConfig {
            zoom: [1.0, 1.0],
            shift_fraction: 0.0,
            ..AugmentConfig::default()
        };
        for seed in 0..5 {
            let (i, t) = augment_pair(image.view(), target.view(), &config, &mut Rng::new(seed));
            assert!(t.iter().all(|&v| v == 0.0 || v == 1.0));
            assert!(i.iter().all(|v| (0.0..=1.0).contains(v)));
            let area = t.sum();
            assert!((area - target.sum()).abs() <= 0.15 * target.sum(), "{area}");
        }
    }
}
