//! `hounsfield seg threshold|morph|margin|hollow|islands|fill-holes|logic|
//! smooth`: the segment effects of `seg::effects` on a CT series.
//!
//! Each command reads the series and (except `threshold`) a segmentation of
//! any format `seg convert` reads, takes one segment (`--label N`) or all
//! non-zero voxels as one mask (the default), applies the effect and writes
//! the result on the CT grid by the output's extension: `.nii`, `.nii.gz`,
//! `.nrrd` (label map) or `.dcm` (BINARY DICOM-SEG). The voxel count and
//! volume before → after go to stderr; with `HOUNSFIELD_TIMING=1` also
//! `internal: op_s=` (the effect alone).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use ndarray::{Array3, ArrayView3};

use super::seg::{SegFormat, SeriesAndSeg, format_of, load_both};
use super::{Loaded, SeriesInput, load_input};
use crate::dicom::seg::{SegWriteOptions, write_seg};
use crate::seg::effects::{self, LogicOp, MorphOp, Neighbours, SmoothMethod, VolumeChange, ml_of};
use crate::seg::{Mask, Segment, Segmentation};
use crate::study;

/// The effect subcommands of `seg`.
#[derive(Debug, Subcommand)]
pub enum EffectCommand {
    /// Threshold a HU range into a mask, optionally inside a segment.
    Threshold(ThresholdArgs),
    /// Erode, dilate, open or close with a ball (or in-plane disc) of radius
    /// in mm; voxels outside the volume count as background.
    Morph(MorphArgs),
    /// Grow (> 0) or shrink (< 0) by a distance in mm (exact distance
    /// transform).
    Margin(MarginArgs),
    /// Keep a shell of a thickness in mm inside the boundary.
    Hollow(HollowArgs),
    /// Keep the largest islands, remove small ones, or split into one
    /// segment per island.
    Islands(IslandsArgs),
    /// Fill holes, in 3D or in each axial slice.
    FillHoles(FillHolesArgs),
    /// Union, intersection, difference or inversion of segments.
    Logic(LogicArgs),
    /// Smooth by a median (majority) or closing-then-opening with a ball.
    Smooth(SmoothArgs),
}

/// The input segment and the output, shared by the effects on one segment.
#[derive(Debug, Args)]
pub struct EffectInput {
    /// Series and segmentation.
    #[command(flatten)]
    pub input: SeriesAndSeg,
    /// Segment number to work on (default: every non-zero voxel, all
    /// segments, as one mask).
    #[arg(long)]
    pub label: Option<u16>,
    /// Output: `.nii`, `.nii.gz`, `.nrrd` (label map) or `.dcm` (DICOM-SEG).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Arguments of `seg threshold`.
#[derive(Debug, Args)]
pub struct ThresholdArgs {
    /// The CT series.
    #[command(flatten)]
    pub source: SeriesInput,
    /// HU range `LO,HI` (inclusive).
    #[arg(long, allow_hyphen_values = true)]
    pub range: String,
    /// Only inside this segmentation (any format `seg convert` reads).
    #[arg(long)]
    pub inside: Option<PathBuf>,
    /// Segment number of `--inside` (default: every non-zero voxel).
    #[arg(long, requires = "inside")]
    pub label: Option<u16>,
    /// Output: `.nii`, `.nii.gz`, `.nrrd` (label map) or `.dcm` (DICOM-SEG).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Arguments of `seg morph`.
#[derive(Debug, Args)]
pub struct MorphArgs {
    /// Input segment and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// The operation.
    #[arg(long, value_enum)]
    pub op: MorphOpArg,
    /// Radius of the ball (or disc) in mm: every voxel offset at most this
    /// long.
    #[arg(long)]
    pub radius_mm: f64,
    /// A disc in each axial slice instead of a ball.
    #[arg(long)]
    pub in_plane: bool,
}

/// `--op` of `seg morph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MorphOpArg {
    /// Erosion.
    Erode,
    /// Dilation.
    Dilate,
    /// Opening (erosion then dilation).
    Open,
    /// Closing (dilation then erosion).
    Close,
}

/// Arguments of `seg margin`.
#[derive(Debug, Args)]
pub struct MarginArgs {
    /// Input segment and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// Distance in mm: grow when > 0, shrink when < 0.
    #[arg(long, allow_hyphen_values = true)]
    pub mm: f64,
}

/// Arguments of `seg hollow`.
#[derive(Debug, Args)]
pub struct HollowArgs {
    /// Input segment and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// Shell thickness in mm (the voxels within this distance of the
    /// background, inside the segment).
    #[arg(long)]
    pub thickness_mm: f64,
}

/// Arguments of `seg islands`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["keep_largest", "min_ml", "split"])))]
pub struct IslandsArgs {
    /// Input segment and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// Keep the N largest islands.
    #[arg(long)]
    pub keep_largest: Option<usize>,
    /// Remove the islands smaller than this volume in ml.
    #[arg(long)]
    pub min_ml: Option<f64>,
    /// One segment per island (numbered 1.. from the largest).
    #[arg(long)]
    pub split: bool,
    /// Voxels touching by a face (6) or also by an edge or corner (26).
    #[arg(long, default_value = "26", value_parser = ["6", "26"])]
    pub connectivity: String,
}

/// Arguments of `seg fill-holes`.
#[derive(Debug, Args)]
pub struct FillHolesArgs {
    /// Input segment and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// Fill each axial slice alone (default: 3D holes only).
    #[arg(long)]
    pub in_plane: bool,
}

/// Arguments of `seg logic`.
#[derive(Debug, Args)]
pub struct LogicArgs {
    /// Input segment (A) and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// The operation: A ∪ B, A ∩ B, A \ B, or everything not in A.
    #[arg(long, value_enum)]
    pub op: LogicOpArg,
    /// The second segmentation (B); needed except for `invert`.
    #[arg(long)]
    pub with: Option<PathBuf>,
    /// Segment number of B (default: every non-zero voxel).
    #[arg(long, requires = "with")]
    pub with_label: Option<u16>,
}

/// `--op` of `seg logic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogicOpArg {
    /// A ∪ B.
    Union,
    /// A ∩ B.
    Intersect,
    /// A \ B.
    Subtract,
    /// Every voxel not in A.
    Invert,
}

/// Arguments of `seg smooth`.
#[derive(Debug, Args)]
pub struct SmoothArgs {
    /// Input segment and output.
    #[command(flatten)]
    pub io: EffectInput,
    /// Radius of the ball in mm.
    #[arg(long)]
    pub radius_mm: f64,
    /// Median (majority in the ball) or closing then opening.
    #[arg(long, value_enum)]
    pub method: SmoothMethodArg,
}

/// `--method` of `seg smooth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SmoothMethodArg {
    /// Majority vote in the ball.
    Median,
    /// Closing then opening.
    ClosingOpening,
}

/// Run one effect.
pub fn run_effect(c: &EffectCommand) -> anyhow::Result<()> {
    match c {
        EffectCommand::Threshold(a) => run_threshold(a),
        EffectCommand::Morph(a) => {
            let op = match a.op {
                MorphOpArg::Erode => MorphOp::Erode,
                MorphOpArg::Dilate => MorphOp::Dilate,
                MorphOpArg::Open => MorphOp::Open,
                MorphOpArg::Close => MorphOp::Close,
            };
            on_segment(&a.io, "morph", |m, sp| {
                Ok(effects::morphology(m, sp, op, a.radius_mm, a.in_plane)?)
            })
        }
        EffectCommand::Margin(a) => {
            on_segment(&a.io, "margin", |m, sp| Ok(effects::margin(m, sp, a.mm)?))
        }
        EffectCommand::Hollow(a) => on_segment(&a.io, "hollow", |m, sp| {
            Ok(effects::hollow(m, sp, a.thickness_mm)?)
        }),
        EffectCommand::Islands(a) => run_islands(a),
        EffectCommand::FillHoles(a) => on_segment(&a.io, "fill holes", |m, _| {
            Ok(effects::fill_holes(m, a.in_plane))
        }),
        EffectCommand::Logic(a) => run_logic(a),
        EffectCommand::Smooth(a) => {
            let method = match a.method {
                SmoothMethodArg::Median => SmoothMethod::Median,
                SmoothMethodArg::ClosingOpening => SmoothMethod::ClosingOpening,
            };
            on_segment(&a.io, "smooth", |m, sp| {
                Ok(effects::smooth(m, sp, a.radius_mm, method)?.0)
            })
        }
    }
}

/// Loads the series and the segment, applies `effect`, reports and writes.
fn on_segment(
    io: &EffectInput,
    name: &str,
    effect: impl FnOnce(ArrayView3<'_, bool>, [f64; 3]) -> anyhow::Result<Array3<bool>>,
) -> anyhow::Result<()> {
    let (l, seg) = load_both(&io.input)?;
    let (mask, label) = pick(&seg, io.label, &io.input.seg)?;
    let spacing = l.volume.geometry.spacing_zyx_mm();
    let t = Instant::now();
    let out = effect(mask.view(), spacing)?;
    report_timing(t);
    report(name, mask.view(), out.view(), spacing);
    let number = io.label.unwrap_or(1);
    write(
        &io.out,
        &l,
        vec![Segment::named(number, &label, Mask::from_full(out.view()))],
    )
}

fn run_threshold(a: &ThresholdArgs) -> anyhow::Result<()> {
    let (lo, hi) = a
        .range
        .split_once(',')
        .and_then(|(lo, hi)| {
            Some((
                lo.trim().parse::<f32>().ok()?,
                hi.trim().parse::<f32>().ok()?,
            ))
        })
        .context("--range must be LO,HI in HU (e.g. 300,3000)")?;
    let l = load_input(&a.source)?;
    let inside = match &a.inside {
        Some(p) => Some(pick(&open(p, &l)?, a.label, p)?.0),
        None => None,
    };
    let t = Instant::now();
    let out = effects::threshold(&l.volume, lo, hi, inside.as_ref().map(|m| m.view()))?;
    report_timing(t);
    let spacing = l.volume.geometry.spacing_zyx_mm();
    let before = inside.unwrap_or_else(|| Array3::from_elem(out.raw_dim(), false));
    report("threshold", before.view(), out.view(), spacing);
    let name = format!("threshold {lo}..{hi} HU");
    write(
        &a.out,
        &l,
        vec![Segment::named(1, &name, Mask::from_full(out.view()))],
    )
}

fn run_islands(a: &IslandsArgs) -> anyhow::Result<()> {
    let neighbours = if a.connectivity == "6" {
        Neighbours::Six
    } else {
        Neighbours::TwentySix
    };
    if !a.split {
        return on_segment(&a.io, "islands", |m, sp| match (a.keep_largest, a.min_ml) {
            (Some(n), _) => Ok(effects::keep_largest(m, n, neighbours)),
            (None, Some(v)) => Ok(effects::remove_smaller(m, sp, v, neighbours)?),
            (None, None) => bail!("give --keep-largest N, --min-ml V or --split"),
        });
    }
    let (l, seg) = load_both(&a.io.input)?;
    let (mask, label) = pick(&seg, a.io.label, &a.io.input.seg)?;
    let t = Instant::now();
    let parts = effects::split(mask.view(), neighbours);
    report_timing(t);
    let max = if format_of(&a.io.out)? == SegFormat::Seg {
        65535
    } else {
        32767
    };
    if parts.len() > max {
        bail!(
            "{} islands, more than the {max} segments {:?} can hold (remove small ones first: --min-ml)",
            parts.len(),
            a.io.out
        );
    }
    let spacing = l.volume.geometry.spacing_zyx_mm();
    let n = effects::count(mask.view());
    eprintln!(
        "islands: {n} voxels ({:.3} ml) in {} islands, largest {} voxels",
        ml_of(n, spacing),
        parts.len(),
        parts.first().map_or(0, Mask::count)
    );
    let segments = parts
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let number = u16::try_from(i + 1).unwrap_or(u16::MAX);
            Segment::named(number, &format!("{label} island {}", i + 1), m)
        })
        .collect();
    write(&a.io.out, &l, segments)
}

fn run_logic(a: &LogicArgs) -> anyhow::Result<()> {
    let op = match a.op {
        LogicOpArg::Union => LogicOp::Union,
        LogicOpArg::Intersect => LogicOp::Intersect,
        LogicOpArg::Subtract => LogicOp::Subtract,
        LogicOpArg::Invert => LogicOp::Invert,
    };
    if op != LogicOp::Invert && a.with.is_none() {
        let name = format!("{:?}", a.op).to_lowercase();
        bail!("--op {name} needs --with B");
    }
    let (l, seg) = load_both(&a.io.input)?;
    let (mask, label) = pick(&seg, a.io.label, &a.io.input.seg)?;
    let other = match (&a.with, op) {
        (Some(p), o) if o != LogicOp::Invert => Some(pick(&open(p, &l)?, a.with_label, p)?.0),
        _ => None,
    };
    let t = Instant::now();
    let out = effects::logic(op, mask.view(), other.as_ref().map(|m| m.view()))?;
    report_timing(t);
    let spacing = l.volume.geometry.spacing_zyx_mm();
    report("logic", mask.view(), out.view(), spacing);
    let number = a.io.label.unwrap_or(1);
    let name = format!("{label} {:?}", a.op).to_lowercase();
    write(
        &a.io.out,
        &l,
        vec![Segment::named(number, &name, Mask::from_full(out.view()))],
    )
}

/// Opens a segmentation on the loaded series' grid.
fn open(path: &std::path::Path, l: &Loaded) -> anyhow::Result<Segmentation> {
    let opened = study::open_segmentation_detailed(path, &l.volume.geometry, Some(&l.grid), None)
        .with_context(|| format!("cannot place {path:?} on the series"))?;
    for note in &opened.notes {
        eprintln!("note: {note}");
    }
    Ok(opened.segmentation)
}

/// The full-grid mask of segment `label` (default: all segments) and its
/// name.
fn pick(
    seg: &Segmentation,
    label: Option<u16>,
    path: &std::path::Path,
) -> anyhow::Result<(Array3<bool>, String)> {
    if let Some(n) = label {
        let i = seg.index_of(n).with_context(|| {
            let have: Vec<u16> = seg.segments.iter().map(|s| s.number).collect();
            format!("no segment {n} in {path:?} (it has {have:?})")
        })?;
        return Ok((
            seg.segments[i].mask.to_full(),
            seg.segments[i].label.clone(),
        ));
    }
    let mut full = Array3::from_elem(seg.geometry.dims, false);
    for s in &seg.segments {
        s.mask.for_each_set(|z, r, c| full[[z, r, c]] = true);
    }
    let name = match seg.segments.as_slice() {
        [one] => one.label.clone(),
        _ => "segment".to_owned(),
    };
    Ok((full, name))
}

fn report_timing(t: Instant) {
    if super::timing_enabled() {
        eprintln!("internal: op_s={:.4}", t.elapsed().as_secs_f64());
    }
}

/// `NAME: A voxels (x ml) -> B voxels (y ml), ±p%` on stderr.
#[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
fn report(
    name: &str,
    before: ArrayView3<'_, bool>,
    after: ArrayView3<'_, bool>,
    spacing: [f64; 3],
) {
    let c = VolumeChange::between(before, after, spacing);
    let pct = if c.percent().is_finite() {
        format!(", {:+.1}%", c.percent())
    } else {
        String::new()
    };
    eprintln!(
        "{name}: {} voxels ({:.3} ml) -> {} voxels ({:.3} ml){pct}",
        c.voxels_before, c.ml_before, c.voxels_after, c.ml_after
    );
}

/// Writes the segments on the series' grid, format by extension.
fn write(out: &std::path::Path, l: &Loaded, segments: Vec<Segment>) -> anyhow::Result<()> {
    let format = format_of(out)?;
    let seg = Segmentation {
        geometry: l.volume.geometry,
        segments,
        source: "hounsfield seg effect".to_owned(),
    };
    match format {
        SegFormat::Seg => {
            let metadata = l.metadata.clone().unwrap_or_default();
            let written = write_seg(out, &seg, &l.grid, &metadata, &SegWriteOptions::default())?;
            eprintln!(
                "wrote {}: DICOM-SEG, {} segments, {} frames",
                out.display(),
                seg.segments.len(),
                written.frames
            );
        }
        SegFormat::Nifti | SegFormat::Nrrd => {
            let vol = seg.label_volume()?;
            if format == SegFormat::Nrrd {
                crate::io::nrrd::write_nrrd(out, &vol, true)?;
            } else {
                crate::io::nifti::write_nifti(out, &vol)?;
            }
            eprintln!(
                "wrote {}: label map, {} segments",
                out.display(),
                seg.segments.len()
            );
        }
        SegFormat::Rtstruct => bail!("effects write label maps or DICOM-SEG, not RTSTRUCT"),
    }
    Ok(())
}
