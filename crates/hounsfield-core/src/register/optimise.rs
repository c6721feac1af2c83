//! Regular-step gradient descent on one pyramid level (ITK's scheme).
//!
//! Parameters are scaled so one unit moves a typical sample point by about
//! one millimetre: translations as they are, rotations and log-scales times
//! the samples' RMS distance from the centre. Each iteration steps `step_mm`
//! along the negative scaled gradient; when the gradient turns back (its dot
//! product with the previous one is negative) the step is multiplied by the
//! relaxation factor. The level ends when the step is below the minimum, the
//! gradient vanishes or the iteration limit is reached, and returns the
//! evaluated position with the lowest cost.

use std::fmt;

use super::metric::{Metric, evaluate};
use super::pyramid::{LevelImage, Samples};
use super::transform::RigidTransform;
use super::{Control, Progress, RegisterError};

/// Why a level stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The step fell below the minimum (converged).
    MinStep,
    /// The gradient vanished.
    Gradient,
    /// The iteration limit was reached.
    Iterations,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MinStep => "step below minimum",
            Self::Gradient => "gradient vanished",
            Self::Iterations => "iteration limit",
        })
    }
}

/// What one level did.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelTrace {
    /// Shrink factor of the level.
    pub shrink_factor: usize,
    /// Voxel size of the level (mm).
    pub spacing_mm: f64,
    /// Fixed samples used.
    pub samples: usize,
    /// Cost at every iteration.
    pub costs: Vec<f64>,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Settings of one level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelSettings {
    /// Level index (0 = coarsest).
    pub level: usize,
    /// Number of levels.
    pub levels: usize,
    /// First step (mm of displacement).
    pub initial_step_mm: f64,
    /// Stop below this step.
    pub min_step_mm: f64,
    /// Step factor when the direction turns back.
    pub relaxation: f64,
    /// Iteration limit.
    pub max_iterations: usize,
}

/// Optimise `start` on one level; returns the best transform and the trace
/// (its shrink factor, spacing and sample count are left for the caller).
pub fn optimise_level(
    samples: &Samples,
    moving: &LevelImage,
    start: RigidTransform,
    metric: Metric,
    settings: &LevelSettings,
    control: &Control<'_>,
) -> Result<(RigidTransform, LevelTrace), RegisterError> {
    let radius = samples.rms_radius_mm();
    let n = start.scale_model.parameter_count();
    let scales: Vec<f64> = (0..n)
        .map(|k| if (3..6).contains(&k) { 1.0 } else { radius })
        .collect();
    let mut theta = start.parameters();
    let mut step = settings.initial_step_mm;
    let mut previous: Option<Vec<f64>> = None;
    let mut costs = Vec::new();
    let mut best = (f64::INFINITY, start);
    let mut stop = StopReason::Iterations;
    for iteration in 0..settings.max_iterations {
        if control.cancelled() {
            return Err(RegisterError::Cancelled);
        }
        let t = start.with_parameters(&theta);
        let e = evaluate(samples, moving, &t, metric, true)?;
        costs.push(e.cost);
        if e.cost < best.0 {
            best = (e.cost, t);
        }
        if let Some(p) = control.progress {
            p(&Progress {
                level: settings.level,
                levels: settings.levels,
                iteration,
                cost: e.cost,
                step_mm: step,
            });
        }
        let scaled: Vec<f64> = e.gradient.iter().zip(&scales).map(|(g, s)| g / s).collect();
        let norm = scaled.iter().map(|g| g * g).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-14 {
            stop = StopReason::Gradient;
            break;
        }
        if let Some(prev) = &previous
            && prev.iter().zip(&scaled).map(|(a, b)| a * b).sum::<f64>() < 0.0
        {
            step *= settings.relaxation;
        }
        if step < settings.min_step_mm {
            stop = StopReason::MinStep;
            break;
        }
        for ((th, g), s) in theta.iter_mut().zip(&scaled).zip(&scales) {
            *th -= step * g / norm / s;
        }
        previous = Some(scaled);
    }
    Ok((
        best.1,
        LevelTrace {
            shrink_factor: 1,
            spacing_mm: 0.0,
            samples: samples.len(),
            costs,
            stop,
        },
    ))
}
