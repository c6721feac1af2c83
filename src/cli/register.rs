//! `hounsfield register FIXED MOVING`: rigid (+ scale) registration of two
//! series, the transform written as JSON, optionally the moving series
//! resampled onto the fixed grid and masks carried across and scored.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use ndarray::Array3;

use super::{SeriesInput, load_input, write_volume};
use crate::dicom::seg::ReferenceGrid;
use crate::metrics::Overlap;
use crate::register::apply::{evaluate_masks, resample_moving, transfer_labels};
use crate::register::{
    Control, Feature, Initial, Metric, Progress, RegisterParams, Registration, ScaleModel,
    TransformFile, register,
};
use crate::volume::{Geometry, Volume};

/// Metric on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// Mattes mutual information (any intensity relation; default).
    Mi,
    /// Normalised cross-correlation (linear intensity relation).
    Ncc,
    /// Mean squared difference (same intensities).
    Ssd,
}

/// Scale model on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScaleArg {
    /// One isotropic scale factor.
    Iso,
    /// A scale factor per axis.
    Aniso,
}

/// Feature on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FeatureArg {
    /// Intensities.
    Intensity,
    /// Gradient magnitude.
    Gradient,
}

/// Arguments of `register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The fixed (reference) series: DICOM folder/file/DICOMDIR or .nii/.nii.gz/.nrrd.
    pub fixed: PathBuf,
    /// The moving series, registered onto the fixed one.
    pub moving: PathBuf,
    /// Series of the fixed input when it holds several (UID, number or #index).
    #[arg(long)]
    pub fixed_series: Option<String>,
    /// Series of the moving input when it holds several.
    #[arg(long)]
    pub moving_series: Option<String>,
    /// Similarity metric.
    #[arg(long, value_enum, default_value_t = MetricArg::Mi)]
    pub metric: MetricArg,
    /// Histogram bins of mutual information.
    #[arg(long, default_value_t = 50)]
    pub bins: usize,
    /// Compare intensities or gradient magnitudes.
    #[arg(long, value_enum, default_value_t = FeatureArg::Intensity)]
    pub feature: FeatureArg,
    /// Also optimise a scale: `--scale` (isotropic) or `--scale aniso`.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "iso")]
    pub scale: Option<ScaleArg>,
    /// Isotropic working spacing in mm.
    #[arg(long, default_value_t = 1.0)]
    pub spacing: f64,
    /// Pyramid shrink factors, coarse first.
    #[arg(long, value_delimiter = ',', default_value = "4,2,1")]
    pub levels: Vec<usize>,
    /// Fixed samples per level (0: all voxels).
    #[arg(long, default_value_t = 100_000)]
    pub samples: usize,
    /// Iteration limit per level.
    #[arg(long, default_value_t = 200)]
    pub max_iterations: usize,
    /// Start from the identity instead of aligning the centres of mass.
    #[arg(long, conflicts_with = "initial")]
    pub no_centre_of_mass: bool,
    /// Start from this transform file.
    #[arg(long)]
    pub initial: Option<PathBuf>,
    /// Write the transform (JSON) here.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Write the moving series resampled onto the fixed grid here
    /// (.nii/.nii.gz/.nrrd/.npy).
    #[arg(long)]
    pub resampled: Option<PathBuf>,
    /// Plot the cost per iteration (one line per pyramid level) as PNG.
    #[arg(long)]
    pub trace_png: Option<PathBuf>,
    /// The same plot as SVG.
    #[arg(long)]
    pub trace_svg: Option<PathBuf>,
    /// The moving series' own mask (label map or DICOM-SEG, on its grid).
    #[arg(long)]
    pub moving_mask: Option<PathBuf>,
    /// The fixed series' mask: carried into the moving image with the
    /// inverse transform and scored against `--moving-mask`.
    #[arg(long)]
    pub fixed_mask: Option<PathBuf>,
    /// Use only this label value of the masks (default: every label > 0).
    #[arg(long)]
    pub label: Option<u16>,
    /// Write the fixed mask carried into the moving image here.
    #[arg(long, requires = "fixed_mask")]
    pub transferred_mask: Option<PathBuf>,
}

/// Run `register`.
pub fn run_register(a: &RegisterArgs) -> anyhow::Result<()> {
    let fixed = load_input(&SeriesInput {
        input: a.fixed.clone(),
        series: a.fixed_series.clone(),
    })
    .with_context(|| format!("loading the fixed series {:?}", a.fixed))?;
    let moving = load_input(&SeriesInput {
        input: a.moving.clone(),
        series: a.moving_series.clone(),
    })
    .with_context(|| format!("loading the moving series {:?}", a.moving))?;
    let params = params(a)?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let trace = std::sync::Mutex::new(Vec::new());
    let report = |p: &Progress| {
        if let Ok(mut t) = trace.lock() {
            t.push((p.level, p.cost));
        }
        if tty && p.iteration.is_multiple_of(10) {
            eprint!(
                "\rlevel {}/{} iteration {:3} cost {:+.6} step {:.4} mm   ",
                p.level + 1,
                p.levels,
                p.iteration,
                p.cost,
                p.step_mm
            );
        }
    };
    let t0 = Instant::now();
    let r = register(
        &fixed.volume,
        &moving.volume,
        &params,
        &Control {
            progress: Some(&report),
            cancel: None,
        },
    )?;
    if tty {
        eprintln!();
    }
    let register_s = t0.elapsed().as_secs_f64();
    print_result(&r);
    let chart =
        crate::figure::registration_trace(&trace.lock().map(|t| t.clone()).unwrap_or_default());
    for p in [&a.trace_png, &a.trace_svg].into_iter().flatten() {
        crate::figure::write(&chart, p, 800, 460).with_context(|| format!("writing {p:?}"))?;
        println!("cost trace: {}", p.display());
    }
    let file = r.to_file();
    crate::io::write_atomic(&a.out, |w| w.write_all(file.to_json().as_bytes()))
        .with_context(|| format!("writing {:?}", a.out))?;
    println!("transform: {}", a.out.display());
    if let Some(path) = &a.resampled {
        let moved = resample_moving(
            &moving.volume,
            &fixed.volume.geometry,
            &r.transform.moving_from_fixed(),
        );
        write_volume(&moved, path)?;
        println!("resampled moving series: {}", path.display());
    }
    masks(a, &fixed, &moving, &r)?;
    if super::timing_enabled() {
        eprintln!(
            "internal: load_s={:.4} op_s={register_s:.4}",
            fixed.load_s + moving.load_s
        );
    }
    Ok(())
}

fn params(a: &RegisterArgs) -> anyhow::Result<RegisterParams> {
    let scale_model = match a.scale {
        None => ScaleModel::None,
        Some(ScaleArg::Iso) => ScaleModel::Isotropic,
        Some(ScaleArg::Aniso) => ScaleModel::Anisotropic,
    };
    let initial = if let Some(path) = &a.initial {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
        let (_, t) = TransformFile::parse(&text).with_context(|| format!("reading {path:?}"))?;
        Initial::Given(t)
    } else if a.no_centre_of_mass {
        Initial::Identity
    } else {
        Initial::CentresOfMass
    };
    Ok(RegisterParams {
        metric: match a.metric {
            MetricArg::Mi => Metric::MutualInformation { bins: a.bins },
            MetricArg::Ncc => Metric::Ncc,
            MetricArg::Ssd => Metric::Ssd,
        },
        feature: match a.feature {
            FeatureArg::Intensity => Feature::Intensity,
            FeatureArg::Gradient => Feature::GradientMagnitude,
        },
        scale_model,
        spacing_mm: a.spacing,
        shrink_factors: a.levels.clone(),
        samples_per_level: a.samples,
        max_iterations: a.max_iterations,
        initial,
        ..RegisterParams::default()
    })
}

fn print_result(r: &Registration) {
    let t = &r.transform;
    let (axis, angle) = t.axis_angle_deg();
    let f = t.to_file();
    println!(
        "metric {} on {}, {:.2} s",
        r.metric.name(),
        r.feature.name(),
        r.seconds
    );
    for l in &r.levels {
        println!(
            "  level 1/{} ({:.1} mm, {} samples): {} iterations, {}, cost {:+.6}",
            l.shrink_factor,
            l.spacing_mm,
            l.samples,
            l.costs.len(),
            l.stop,
            l.costs.iter().copied().fold(f64::INFINITY, f64::min)
        );
    }
    let v = |v: [f64; 3]| format!("({:.3}, {:.3}, {:.3})", v[0], v[1], v[2]);
    println!("translation_mm {}", v(f.translation_mm));
    println!(
        "rotation {angle:.4} deg about axis {} (Euler ZYX {} deg)",
        v(axis.to_array()),
        v(f.euler_zyx_deg)
    );
    if t.scale_model != ScaleModel::None {
        let s = t.scale();
        println!("scale ({:.5}, {:.5}, {:.5})", s.x, s.y, s.z);
    }
    println!("centre_mm {}", v(f.centre_mm));
    println!(
        "before: SSD {:.6}  NCC {:.5}  MI {:.5}",
        r.before.ssd, r.before.ncc, r.before.mi
    );
    println!(
        "after:  SSD {:.6}  NCC {:.5}  MI {:.5}",
        r.after.ssd, r.after.ncc, r.after.mi
    );
}

fn read_mask(
    path: &Path,
    ct: &Geometry,
    grid: &ReferenceGrid,
    label: Option<u16>,
) -> anyhow::Result<Array3<u16>> {
    let labels = super::segment::read_reference(path, ct, grid)?;
    Ok(match label {
        Some(v) => labels.mapv(|l| u16::from(l == v)),
        None => labels.mapv(|l| u16::from(l > 0)),
    })
}

fn print_overlap(what: &str, o: &Overlap) {
    let opt = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.4}"));
    println!(
        "{what}: Dice {:.4}  Jaccard {:.4}  sensitivity {}  specificity {}",
        o.dice,
        o.jaccard,
        opt(o.sensitivity),
        opt(o.specificity)
    );
}

fn masks(
    a: &RegisterArgs,
    fixed: &super::Loaded,
    moving: &super::Loaded,
    r: &Registration,
) -> anyhow::Result<()> {
    let fixed_mask = a
        .fixed_mask
        .as_deref()
        .map(|p| read_mask(p, &fixed.volume.geometry, &fixed.grid, a.label))
        .transpose()?;
    let moving_mask = a
        .moving_mask
        .as_deref()
        .map(|p| read_mask(p, &moving.volume.geometry, &moving.grid, a.label))
        .transpose()?;
    let (fg, mg) = (&fixed.volume.geometry, &moving.volume.geometry);
    let bools = |m: &Array3<u16>| m.mapv(|v| v > 0);
    if let Some(f) = &fixed_mask {
        let in_moving = transfer_labels(f, fg, mg, &r.transform.fixed_from_moving());
        if let Some(path) = &a.transferred_mask {
            let vol = Volume::from_i16(in_moving.mapv(|v| v as i16), *mg);
            write_volume(&vol, path)?;
            println!("fixed mask in the moving image: {}", path.display());
        }
        if let Some(m) = &moving_mask {
            let before = transfer_labels(f, fg, mg, &glam::DAffine3::IDENTITY);
            let o = evaluate_masks(bools(&before).view(), bools(m).view(), mg, "unregistered")?;
            print_overlap("fixed mask -> moving, before", &o);
            let o = evaluate_masks(bools(&in_moving).view(), bools(m).view(), mg, "registered")?;
            print_overlap("fixed mask -> moving, after ", &o);
            let m_in_fixed = transfer_labels(m, mg, fg, &r.transform.moving_from_fixed());
            let o = evaluate_masks(bools(&m_in_fixed).view(), bools(f).view(), fg, "registered")?;
            print_overlap("moving mask -> fixed, after ", &o);
        }
    } else if moving_mask.is_some() {
        bail!("--moving-mask needs --fixed-mask to compare with");
    }
    Ok(())
}
