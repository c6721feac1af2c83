//! 3-D rigid registration (optionally with scale) of a moving CT onto a
//! fixed CT: transform and its file ([`transform`]), image pyramid and
//! samples ([`pyramid`]), metrics with analytic gradients ([`metric`]), the
//! multi-resolution optimiser ([`optimise`]), and applying / evaluating a
//! result ([`apply`]).
//!
//! Pure functions over [`Volume`]s: no I/O, no UI. The CLI (`register`) and
//! the app's registration job call [`register`].
//!
//! # Method
//! 1. Both volumes are resampled to one isotropic spacing (1 mm by default)
//!    and mapped to `[0, 1]` between their 0.5th and 99.5th percentiles.
//! 2. A pyramid shrinks them by block averaging (4-2-1 by default); the
//!    metric may compare intensities or gradient magnitudes.
//! 3. The transform starts at the identity about the fixed image centre,
//!    translated so the intensity centres of mass coincide.
//! 4. On each level, fixed samples (a deterministic subset or all voxels)
//!    are compared with the trilinearly interpolated moving image, and a
//!    regular-step gradient descent (ITK's scheme: unit steps along the
//!    scaled gradient, halved whenever the direction turns back) follows the
//!    analytic gradient of the cost until the step is smaller than the
//!    minimum, the gradient vanishes or the iteration limit is reached.

pub mod apply;
pub mod metric;
pub mod optimise;
pub mod pyramid;
#[cfg(test)]
mod tests;
pub mod transform;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use glam::DVec3;

pub use metric::{Metric, Similarity};
pub use optimise::{LevelTrace, StopReason};
pub use transform::{RegistrationSummary, RigidTransform, ScaleModel, TransformFile};

use crate::volume::Volume;
use crate::volume::resample::ResampleError;

/// Errors of a registration.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Bad parameters.
    #[error("invalid registration parameters: {0}")]
    Params(String),
    /// The images do not overlap under the transform.
    #[error(
        "the images do not overlap under the current transform ({valid} samples inside the moving image)"
    )]
    NoOverlap {
        /// Samples inside.
        valid: usize,
    },
    /// Resampling to the working spacing failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// Stopped by the user.
    #[error("registration cancelled")]
    Cancelled,
}

/// What the metric compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Feature {
    /// Normalised intensities.
    #[default]
    Intensity,
    /// Gradient magnitude of the normalised intensities.
    GradientMagnitude,
}

impl Feature {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Intensity => "intensity",
            Self::GradientMagnitude => "gradient_magnitude",
        }
    }
}

/// How the transform starts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Initial {
    /// Identity rotation, translation aligning the intensity centres of mass.
    #[default]
    CentresOfMass,
    /// The identity (the scanners' world coordinates are trusted).
    Identity,
    /// A given transform (its centre is kept).
    Given(RigidTransform),
}

/// Parameters of [`register`].
#[derive(Clone, Debug, PartialEq)]
pub struct RegisterParams {
    /// Similarity.
    pub metric: Metric,
    /// Intensities or gradient magnitudes.
    pub feature: Feature,
    /// Free scale parameters.
    pub scale_model: ScaleModel,
    /// Isotropic working spacing in mm.
    pub spacing_mm: f64,
    /// Shrink factors of the pyramid levels, coarse first (e.g. 4, 2, 1).
    pub shrink_factors: Vec<usize>,
    /// Fixed samples per level (0: every voxel).
    pub samples_per_level: usize,
    /// Iteration limit per level.
    pub max_iterations: usize,
    /// First step on each level, in units of that level's voxel size (mm
    /// of displacement for a typical point).
    pub initial_step_voxels: f64,
    /// The level stops when the step falls below this many voxels of the
    /// level.
    pub min_step_voxels: f64,
    /// Step factor after the direction turns back.
    pub relaxation: f64,
    /// Start.
    pub initial: Initial,
    /// Seed of the sample choice.
    pub seed: u64,
}

impl Default for RegisterParams {
    /// Mattes MI (50 bins) on intensities, rigid, 1 mm, levels 4-2-1,
    /// 100 000 samples per level, at most 200 iterations per level.
    fn default() -> Self {
        Self {
            metric: Metric::MI,
            feature: Feature::Intensity,
            scale_model: ScaleModel::None,
            spacing_mm: 1.0,
            shrink_factors: vec![4, 2, 1],
            samples_per_level: 100_000,
            max_iterations: 200,
            initial_step_voxels: 1.0,
            min_step_voxels: 0.005,
            relaxation: 0.5,
            initial: Initial::CentresOfMass,
            seed: 0x5EED,
        }
    }
}

impl RegisterParams {
    fn check(&self) -> Result<(), RegisterError> {
        let bad = |m: &str| Err(RegisterError::Params(m.to_owned()));
        if !(self.spacing_mm.is_finite() && self.spacing_mm > 0.0) {
            return bad("spacing must be positive");
        }
        if self.shrink_factors.is_empty() || self.shrink_factors.iter().any(|&f| f == 0 || f > 64) {
            return bad("shrink factors must be 1..=64, at least one level");
        }
        if !(self.relaxation > 0.0 && self.relaxation < 1.0) {
            return bad("relaxation must be in (0, 1)");
        }
        if !(self.initial_step_voxels > 0.0 && self.min_step_voxels > 0.0) {
            return bad("steps must be positive");
        }
        if let Metric::MutualInformation { bins } = self.metric
            && !(8..=512).contains(&bins)
        {
            return bad("MI bins must be 8..=512");
        }
        Ok(())
    }
}

/// One progress report: level, iteration, cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Level index (0 = coarsest).
    pub level: usize,
    /// Number of levels.
    pub levels: usize,
    /// Iteration within the level.
    pub iteration: usize,
    /// Cost at this iteration.
    pub cost: f64,
    /// Current step in mm.
    pub step_mm: f64,
}

/// Progress callback and cancel flag of [`register`].
#[derive(Clone, Copy, Default)]
pub struct Control<'a> {
    /// Called after every iteration.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Set to stop with [`RegisterError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

impl Control<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// The result of [`register`].
#[derive(Clone, Debug, PartialEq)]
pub struct Registration {
    /// The transform found (`moving_from_fixed`).
    pub transform: RigidTransform,
    /// The start (after centre-of-mass initialisation).
    pub initial: RigidTransform,
    /// What each level did.
    pub levels: Vec<LevelTrace>,
    /// Metric name.
    pub metric: Metric,
    /// Feature compared.
    pub feature: Feature,
    /// SSD, NCC and MI on the finest level at the identity (the scanners'
    /// alignment).
    pub before: Similarity,
    /// The same at the result.
    pub after: Similarity,
    /// Seconds (preprocessing included).
    pub seconds: f64,
}

impl Registration {
    /// The transform file with this registration's summary.
    pub fn to_file(&self) -> TransformFile {
        let mut f = self.transform.to_file();
        f.registration = Some(RegistrationSummary {
            metric: self.metric.name().to_owned(),
            feature: self.feature.name().to_owned(),
            before: self.before,
            after: self.after,
            iterations_per_level: self.levels.iter().map(|l| l.costs.len()).collect(),
            stop_reasons: self.levels.iter().map(|l| l.stop.to_string()).collect(),
            seconds: self.seconds,
        });
        f
    }
}

/// Register `moving` onto `fixed`: the transform `moving_from_fixed` that
/// makes `moving(T(p))` look like `fixed(p)`.
pub fn register(
    fixed: &Volume,
    moving: &Volume,
    params: &RegisterParams,
    control: &Control<'_>,
) -> Result<Registration, RegisterError> {
    params.check()?;
    let t0 = Instant::now();
    let fixed_base = pyramid::normalised_isotropic(fixed, params.spacing_mm)?;
    if control.cancelled() {
        return Err(RegisterError::Cancelled);
    }
    let moving_base = pyramid::normalised_isotropic(moving, params.spacing_mm)?;
    let fixed_levels = pyramid::pyramid(&fixed_base, &params.shrink_factors, params.feature);
    let moving_levels = pyramid::pyramid(&moving_base, &params.shrink_factors, params.feature);
    for l in fixed_levels.iter().chain(&moving_levels) {
        if l.geometry.dims.iter().any(|&d| d < 2) {
            return Err(RegisterError::Params(format!(
                "a pyramid level of {:?} voxels is too small: use fewer or smaller shrink factors",
                l.geometry.dims
            )));
        }
    }
    let centre_mm = fixed.geometry.centre_mm();
    let identity = RigidTransform::identity(centre_mm, params.scale_model);
    let initial = match params.initial {
        Initial::Identity => identity,
        Initial::Given(t) => RigidTransform {
            scale_model: params.scale_model,
            ..t
        },
        Initial::CentresOfMass => {
            let com_f = pyramid::centre_of_mass(&shrink_base(&fixed_base, &params.shrink_factors));
            let com_m = pyramid::centre_of_mass(&shrink_base(&moving_base, &params.shrink_factors));
            RigidTransform {
                translation_mm: com_m - com_f,
                ..identity
            }
        }
    };
    drop((fixed_base, moving_base));
    let mut current = initial;
    let mut traces = Vec::new();
    let mut finest_samples = pyramid::Samples::default();
    let n_levels = fixed_levels.len();
    for (level, (f, m)) in fixed_levels.iter().zip(&moving_levels).enumerate() {
        let samples = pyramid::sample(
            f,
            centre_mm,
            params.samples_per_level,
            params.seed.wrapping_add(level as u64),
        );
        let voxel_mm = f.geometry.spacing_mm.min_element();
        let settings = optimise::LevelSettings {
            level,
            levels: n_levels,
            initial_step_mm: params.initial_step_voxels * voxel_mm,
            min_step_mm: params.min_step_voxels * voxel_mm,
            relaxation: params.relaxation,
            max_iterations: params.max_iterations,
        };
        let (t, trace) =
            optimise::optimise_level(&samples, m, current, params.metric, &settings, control)?;
        current = t;
        traces.push(LevelTrace {
            shrink_factor: params.shrink_factors[level],
            spacing_mm: voxel_mm,
            samples: samples.len(),
            ..trace
        });
        if level + 1 == n_levels {
            finest_samples = samples;
        }
    }
    let moving_finest = &moving_levels[n_levels - 1];
    let bins = match params.metric {
        Metric::MutualInformation { bins } => bins,
        _ => 50,
    };
    let nan = Similarity {
        ssd: f64::NAN,
        ncc: f64::NAN,
        mi: f64::NAN,
    };
    let before = metric::similarity(&finest_samples, moving_finest, &identity, bins).unwrap_or(nan);
    let after = metric::similarity(&finest_samples, moving_finest, &current, bins)?;
    Ok(Registration {
        transform: current,
        initial,
        levels: traces,
        metric: params.metric,
        feature: params.feature,
        before,
        after,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The coarsest level of a base image (for the centres of mass).
fn shrink_base(base: &pyramid::LevelImage, factors: &[usize]) -> pyramid::LevelImage {
    pyramid::shrink(base, factors.iter().copied().max().unwrap_or(1))
}

/// Mean and maximum distance (mm) between where two transforms send the
/// given fixed points: the target registration error of `estimate` against
/// `truth`.
pub fn target_error_mm(
    estimate: &glam::DAffine3,
    truth: &glam::DAffine3,
    points_mm: &[DVec3],
) -> (f64, f64) {
    let (sum, max) = points_mm.iter().fold((0.0, 0.0f64), |(s, m), &p| {
        let e = (estimate.transform_point3(p) - truth.transform_point3(p)).length();
        (s + e, m.max(e))
    });
    (sum / points_mm.len().max(1) as f64, max)
}
