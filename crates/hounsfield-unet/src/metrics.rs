//! Overlap of binary masks by pixel counts: Dice, Jaccard, accuracy, for a slice or a volume.
//!
//! Convention: when prediction and truth are both empty, Dice and Jaccard are 1 (perfect
//! agreement), so empty slices can be reported alongside the others; callers that want to leave
//! them out check [`Confusion::truth_empty`].

use ndarray::{ArrayView, Dimension, Zip};
use serde::{Deserialize, Serialize};

/// Pixel counts of a binary prediction against a binary truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Predicted and true.
    pub true_positive: u64,
    /// Predicted, not true.
    pub false_positive: u64,
    /// Not predicted, true.
    pub false_negative: u64,
    /// Neither.
    pub true_negative: u64,
}

impl Confusion {
    /// Counts over two masks of one shape (non-zero = foreground).
    pub fn of<D: Dimension>(prediction: ArrayView<u8, D>, truth: ArrayView<u8, D>) -> Self {
        let mut counts = Self::default();
        Zip::from(&prediction)
            .and(&truth)
            .for_each(|&p, &t| match (p > 0, t > 0) {
                (true, true) => counts.true_positive += 1,
                (true, false) => counts.false_positive += 1,
                (false, true) => counts.false_negative += 1,
                (false, false) => counts.true_negative += 1,
            });
        counts
    }

    /// Whether the truth has no foreground.
    pub fn truth_empty(&self) -> bool {
        self.true_positive + self.false_negative == 0
    }

    /// Pixels in the truth.
    pub fn truth_count(&self) -> u64 {
        self.true_positive + self.false_negative
    }

    /// Pixels in the prediction.
    pub fn predicted_count(&self) -> u64 {
        self.true_positive + self.false_positive
    }

    /// 2·TP / (2·TP + FP + FN); 1 when both masks are empty.
    pub fn dice(&self) -> f64 {
        let denominator = 2 * self.true_positive + self.false_positive + self.false_negative;
        if denominator == 0 {
            1.0
        } else {
            (2 * self.true_positive) as f64 / denominator as f64
        }
    }

    /// TP / (TP + FP + FN); 1 when both masks are empty.
    pub fn jaccard(&self) -> f64 {
        let denominator = self.true_positive + self.false_positive + self.false_negative;
        if denominator == 0 {
            1.0
        } else {
            self.true_positive as f64 / denominator as f64
        }
    }

    /// (TP + TN) / all pixels; 1 for no pixels.
    pub fn accuracy(&self) -> f64 {
        let all =
            self.true_positive + self.false_positive + self.false_negative + self.true_negative;
        if all == 0 {
            1.0
        } else {
            (self.true_positive + self.true_negative) as f64 / all as f64
        }
    }
}

/// Sum of two counts (a volume from its slices).
impl std::ops::Add for Confusion {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            true_positive: self.true_positive + other.true_positive,
            false_positive: self.false_positive + other.false_positive,
            false_negative: self.false_negative + other.false_negative,
            true_negative: self.true_negative + other.true_negative,
        }
    }
}

impl std::iter::Sum for Confusion {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn known_counts_and_scores() {
        let prediction = array![[1u8, 1, 0], [0, 0, 0]];
        let truth = array![[1u8, 0, 1], [0, 0, 0]];
        let c = Confusion::of(prediction.view(), truth.view());
        assert_eq!(
            c,
            Confusion {
                true_positive: 1,
                false_positive: 1,
                false_negative: 1,
                true_negative: 3
            }
        );
        assert!((c.dice() - 0.5).abs() < 1e-12);
        assert!((c.jaccard() - 1.0 / 3.0).abs() < 1e-12);
        assert!((c.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let empty = Confusion::of(array![[0u8]].view(), array![[0u8]].view());
        assert!(empty.truth_empty());
        assert_eq!((empty.dice(), empty.jaccard()), (1.0, 1.0));
        assert_eq!((c + empty).true_negative, 4);
    }
}
