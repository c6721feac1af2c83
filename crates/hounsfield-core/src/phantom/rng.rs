//! A tiny deterministic PRNG (splitmix64) for phantom noise and anatomy.
//!
//! No dependency, no global state: every stream is seeded explicitly, so the
//! phantom is bit-identical across runs, platforms and thread counts.

/// The splitmix64 generator (Steele, Lea & Flood 2014): one `u64` of state,
/// full period 2⁶⁴, good enough statistics for synthetic noise.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose stream is fully determined by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for sub-stream `stream` of `seed` (e.g. one per slice),
    /// decorrelated from neighbouring streams by a round of mixing.
    pub(crate) fn for_stream(seed: u64, stream: u64) -> Self {
        let mixed = mix(seed ^ mix(stream.wrapping_add(0xA076_1D64_78BD_642F)));
        Self::new(mixed)
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Standard normal sample (Box–Muller, one value per call).
    pub(crate) fn gaussian(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The splitmix64 output mix (a strong 64-bit finaliser).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_has_unit_moments() {
        let mut rng = SplitMix64::new(7);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.gaussian()).collect();
        let mean = xs.iter().sum::<f64>() / f64::from(n);
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n);
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }

    #[test]
    fn streams_differ() {
        let a = SplitMix64::for_stream(1, 0).next_u64();
        let b = SplitMix64::for_stream(1, 1).next_u64();
        let c = SplitMix64::for_stream(2, 0).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
