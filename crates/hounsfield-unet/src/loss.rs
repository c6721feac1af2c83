//! The training loss: binary cross-entropy plus soft Dice, equally weighted.
//!
//! Empty slices (no lung: the top and bottom of a scan) must not distort it. A per-slice soft
//! Dice is undefined or maximal on an empty target — any false positive pixel makes it 1 — so a
//! batch of empty slices would dominate the gradient. Here:
//! - BCE is the mean over every pixel of the batch, empty slices included: it is what teaches the
//!   network to say "no lung" there.
//! - Soft Dice is computed over the batch as a whole (one sum of `p·y`, `p`, `y` across all its
//!   slices, smoothed by 1 pixel), so empty slices only add their false positives to the
//!   denominator; and a batch whose targets are all empty gets no Dice term at all
//!   (`has_foreground = false`), rather than a Dice loss of ~1 whatever the prediction.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid};

/// Smoothing of the soft Dice, in pixels.
pub const DICE_SMOOTH: f32 = 1.0;

/// The parts of the loss of one batch, as 1-element tensors (graph-attached on autodiff devices).
pub struct LossParts {
    /// `bce + dice` (what is minimised).
    pub total: Tensor<1>,
    /// Mean binary cross-entropy over all pixels.
    pub bce: Tensor<1>,
    /// `1 − soft Dice` over the batch, or 0 when the batch has no foreground.
    pub dice: Tensor<1>,
}

/// BCE (from logits, numerically stable) + batch soft Dice loss. `target` holds 0/1;
/// `has_foreground` says whether any target pixel is 1 (known on the host, no read-back).
pub fn bce_dice_loss(logits: Tensor<4>, target: Tensor<4>, has_foreground: bool) -> LossParts {
    // log(1 + e^x) − x·y, written as max(x, 0) − x·y + log(1 + e^−|x|).
    let bce = (relu(logits.clone()) - logits.clone() * target.clone()
        + logits.clone().abs().neg().exp().log1p())
    .mean();
    let dice = if has_foreground {
        let p = sigmoid(logits);
        let intersection = (p.clone() * target.clone()).sum();
        let total = p.sum() + target.sum();
        (intersection.mul_scalar(2.0).add_scalar(DICE_SMOOTH) / total.add_scalar(DICE_SMOOTH))
            .neg()
            .add_scalar(1.0)
    } else {
        bce.zeros_like()
    };
    LossParts {
        total: bce.clone() + dice.clone(),
        bce,
        dice,
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction (0, 1, clamped)
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn tensor(values: Vec<f32>) -> Tensor<4> {
        let n = values.len();
        Tensor::from_data(TensorData::new(values, [1, 1, 1, n]), &Device::flex())
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_scalar::<f32>()
    }

    #[test]
    fn known_values() {
        // Logit 0 → BCE ln 2 whatever the target.
        let parts = bce_dice_loss(tensor(vec![0.0; 4]), tensor(vec![1.0, 0.0, 1.0, 0.0]), true);
        assert!((scalar(parts.bce) - std::f32::consts::LN_2).abs() < 1e-6);
        // p = 0.5 everywhere: Dice = (2·1 + 1) / (2 + 2 + 1) = 0.6 → loss 0.4.
        assert!((scalar(parts.dice) - 0.4).abs() < 1e-6);
        // Confident and right: both parts near 0.
        let right = bce_dice_loss(
            tensor(vec![20.0, -20.0, 20.0, -20.0]),
            tensor(vec![1.0, 0.0, 1.0, 0.0]),
            true,
        );
        assert!(scalar(right.total) < 1e-3);
        // Very confident logits stay finite.
        let wrong = bce_dice_loss(tensor(vec![-100.0, 100.0]), tensor(vec![1.0, 0.0]), true);
        let bce = scalar(wrong.bce);
        assert!(bce.is_finite() && (bce - 100.0).abs() < 1e-3, "{bce}");
    }

    #[test]
    fn empty_batches_get_no_dice_term() {
        let parts = bce_dice_loss(tensor(vec![-3.0; 4]), tensor(vec![0.0; 4]), false);
        assert_eq!(scalar(parts.dice), 0.0);
        let bce = scalar(parts.bce);
        assert!((scalar(parts.total) - bce).abs() < 1e-7);
        assert!((bce - (1.0 + 3.0f32.exp()).ln() + 3.0).abs() < 1e-5);
    }
}
