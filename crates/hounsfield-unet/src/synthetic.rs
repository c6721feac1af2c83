//! Synthetic "chests" for tests and benchmarks: a soft-tissue ellipse in air with two dark
//! "lungs" (discs whose size varies along z and vanishes at the ends), Gaussian noise, in HU,
//! with the lung label. Deterministic from a seed.

use ndarray::{Array3, Zip};

use crate::rng::Rng;

/// A HU volume `[z, row, col]` and its lung labels (1 inside a lung).
pub fn disks_in_noise(depth: usize, side: usize, seed: u64) -> (Array3<f32>, Array3<u8>) {
    let mut rng = Rng::new(seed);
    let n = side as f64;
    let wobble = [rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)];
    let mut hu = Array3::<f32>::zeros((depth, side, side));
    let mut labels = Array3::<u8>::zeros((depth, side, side));
    Zip::indexed(&mut hu)
        .and(&mut labels)
        .for_each(|(z, r, c), value, label| {
            // Lungs grow from nothing at the ends to their largest in the middle third.
            let t = (z as f64 + 0.5) / depth as f64;
            let lung_radius = 0.17 * n * (1.0 - (2.0 * t - 1.0).abs() * 1.25).clamp(0.0, 0.6) / 0.6;
            let (y, x) = (r as f64 + 0.5, c as f64 + 0.5);
            let body = ((y - 0.5 * n) / (0.36 * n)).powi(2) + ((x - 0.5 * n) / (0.45 * n)).powi(2);
            let in_lung = [0.3, 0.7].iter().any(|&cx| {
                let (ly, lx) = ((0.48 + wobble[0]) * n, (cx + wobble[1]) * n);
                (y - ly).powi(2) + (x - lx).powi(2) < lung_radius.powi(2)
            });
            let base = if in_lung {
                -850.0
            } else if body < 1.0 {
                40.0
            } else {
                -1000.0
            };
            *value = base;
            *label = u8::from(in_lung);
        });
    hu.mapv_inplace(|v| v + (40.0 * rng.normal()) as f32);
    (hu, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_empty_and_middle_has_lungs() {
        let (hu, labels) = disks_in_noise(12, 32, 1);
        assert_eq!(hu.dim(), (12, 32, 32));
        let per_slice: Vec<usize> = labels
            .outer_iter()
            .map(|s| s.iter().filter(|&&v| v > 0).count())
            .collect();
        assert_eq!(per_slice[0], 0);
        assert_eq!(per_slice[11], 0);
        assert!(per_slice[6] > 50, "{per_slice:?}");
    }
}
