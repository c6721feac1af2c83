//! `hounsfield seg`: segmentations (DICOM-SEG, RTSTRUCT, NIfTI and NRRD
//! label maps).
//!
//! - `seg info FILE`: what a SEG, structure set or label map holds
//!   (segments or ROIs, frames or contours, references, grid), without a CT.
//! - `seg stats SERIES SEG`: per-segment volume and HU statistics on the CT
//!   (table, or CSV/JSON files).
//! - `seg convert SERIES SEG --out labels.nii.gz|.nrrd|seg.dcm [--format
//!   rtstruct]`: the segmentation on the CT grid as a label map, a BINARY
//!   DICOM-SEG or an RTSTRUCT.
//! - `seg overlay SERIES SEG --out x.png`: a slice with the overlay.
//! - `seg threshold|morph|margin|hollow|islands|fill-holes|logic|smooth`:
//!   segment effects, in `seg_effects.rs`.
//!
//! Every command that places a segmentation takes `--rois A,B` to choose
//! the ROIs of an RTSTRUCT; contours it skips are listed on stderr.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::montage::window_arg;
use super::project::AxisArg;
use super::{Loaded, SeriesInput, load_input};
use crate::dicom::rtstruct::{RtStructObject, RtStructWriteOptions, read_rtstruct, write_rtstruct};
use crate::dicom::seg::{SegObject, SegWriteOptions, SegmentationType, read_seg, write_seg};
use crate::mpr::labels::OverlayStyle;
use crate::mpr::{SlicePlane, ViewAxis};
use crate::seg::Segmentation;
use crate::seg::stats::{self, SegmentStats};
use crate::study;
use crate::volume::window;

/// Arguments of `seg`.
#[derive(Debug, Args)]
pub struct SegArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SegCommand,
}

/// `seg` subcommands.
#[derive(Debug, Subcommand)]
pub enum SegCommand {
    /// Describe a DICOM-SEG or a NIfTI/NRRD label map.
    Info(SegInfoArgs),
    /// Per-segment statistics (volume, HU) on a CT series.
    Stats(SegStatsArgs),
    /// Write the segmentation on the CT grid as NIfTI/NRRD or DICOM-SEG.
    Convert(SegConvertArgs),
    /// A slice of the CT with the segmentation drawn over it, as PNG.
    Overlay(SegOverlayArgs),
    /// Segment effects (threshold, morph, margin, hollow, islands,
    /// fill-holes, logic, smooth): `seg_effects.rs`.
    #[command(flatten)]
    Effect(super::seg_effects::EffectCommand),
}

/// Arguments of `seg info`.
#[derive(Debug, Args)]
pub struct SegInfoArgs {
    /// The DICOM-SEG, NIfTI or NRRD file.
    pub file: PathBuf,
}

/// A CT series and a segmentation for it.
#[derive(Debug, Args)]
pub struct SeriesAndSeg {
    /// The CT series.
    #[command(flatten)]
    pub source: SeriesInput,
    /// The segmentation: DICOM-SEG, RTSTRUCT, NIfTI or NRRD label map.
    pub seg: PathBuf,
    /// Only these ROIs of an RTSTRUCT, comma-separated (e.g. `Lung_L,Lung_R`),
    /// in this order.
    #[arg(long, value_delimiter = ',')]
    pub rois: Option<Vec<String>>,
}

/// Arguments of `seg stats`.
#[derive(Debug, Args)]
pub struct SegStatsArgs {
    /// Series and segmentation.
    #[command(flatten)]
    pub input: SeriesAndSeg,
    /// Also write the table as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Also write the table as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Arguments of `seg convert`.
#[derive(Debug, Args)]
pub struct SegConvertArgs {
    /// Series and segmentation.
    #[command(flatten)]
    pub input: SeriesAndSeg,
    /// Output: `.nii`, `.nii.gz`, `.nrrd` (label map) or `.dcm` (DICOM-SEG,
    /// or RTSTRUCT with `--format rtstruct`).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Output format (default: from the extension; `.dcm` is a DICOM-SEG).
    #[arg(long, value_enum)]
    pub format: Option<SegFormat>,
    /// Copy patient name and ID into a DICOM-SEG or RTSTRUCT (default: left
    /// empty).
    #[arg(long)]
    pub include_identifiers: bool,
}

/// What `seg convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SegFormat {
    /// BINARY DICOM-SEG.
    Seg,
    /// RT Structure Set (planar contours).
    Rtstruct,
    /// NIfTI label map (`.nii` or `.nii.gz`).
    Nifti,
    /// NRRD label map.
    Nrrd,
}

/// Arguments of `seg overlay`.
#[derive(Debug, Args)]
pub struct SegOverlayArgs {
    /// Series and segmentation.
    #[command(flatten)]
    pub input: SeriesAndSeg,
    /// View of the slice.
    #[arg(long, value_enum, default_value_t = AxisArg::Axial)]
    pub axis: AxisArg,
    /// Slice through the centre of this segment (number or label); default:
    /// the first non-empty segment.
    #[arg(long)]
    pub segment: Option<String>,
    /// Window `centre,width` in HU.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "preset")]
    pub window: Option<String>,
    /// Window preset (default: abdomen).
    #[arg(long)]
    pub preset: Option<String>,
    /// Draw outlines instead of filled areas.
    #[arg(long)]
    pub outline: bool,
    /// Fill opacity 0..1.
    #[arg(long, default_value_t = 0.45)]
    pub opacity: f32,
    /// Output PNG.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Run `seg`.
pub fn run_seg(a: &SegArgs) -> anyhow::Result<()> {
    match &a.command {
        SegCommand::Info(a) => run_info(a),
        SegCommand::Stats(a) => run_stats(a),
        SegCommand::Convert(a) => run_convert(a),
        SegCommand::Overlay(a) => run_overlay(a),
        SegCommand::Effect(c) => super::seg_effects::run_effect(c),
    }
}

/// Load the CT and place the segmentation on it.
pub(super) fn load_both(input: &SeriesAndSeg) -> anyhow::Result<(Loaded, Segmentation)> {
    let l = load_input(&input.source)?;
    let t = Instant::now();
    let opened = study::open_segmentation_detailed(
        &input.seg,
        &l.volume.geometry,
        Some(&l.grid),
        input.rois.as_deref(),
    )
    .with_context(|| format!("cannot place {:?} on the series", input.seg))?;
    for note in &opened.notes {
        eprintln!("note: {note}");
    }
    let seg = opened.segmentation;
    if super::timing_enabled() {
        eprintln!("internal: seg_s={:.4}", t.elapsed().as_secs_f64());
    }
    Ok((l, seg))
}

fn run_info(a: &SegInfoArgs) -> anyhow::Result<()> {
    if study::is_label_map_file(&a.file) {
        let img = study::read_label_map_file(&a.file)?;
        let values = crate::seg::place::label_values(&img.data)?;
        let g = &img.geometry;
        println!("label map {}", a.file.display());
        println!(
            "grid {}×{}×{} (cols×rows×slices), spacing {:.3}×{:.3}×{:.3} mm, origin {:.2?} mm (LPS), orientation {}",
            g.dims[2],
            g.dims[1],
            g.dims[0],
            g.spacing_mm.x,
            g.spacing_mm.y,
            g.spacing_mm.z,
            g.origin_mm.to_array(),
            g.orientation_code()
        );
        let mut counts = std::collections::BTreeMap::<u16, usize>::new();
        for &v in &values {
            if v != 0 {
                *counts.entry(v).or_default() += 1;
            }
        }
        println!("{:>6}  {:>10}", "label", "voxels");
        for (v, n) in counts {
            println!("{v:>6}  {n:>10}");
        }
        return Ok(());
    }
    let header = crate::dicom::header::read_header(&a.file)?;
    if header.kind == crate::dicom::header::ObjectKind::RtStruct {
        let rt = read_rtstruct(&a.file)?;
        print!("{}", describe_rtstruct(&rt));
        return Ok(());
    }
    let obj = read_seg(&a.file)?;
    print!("{}", describe(&obj));
    Ok(())
}

/// A text description of a structure set (no patient identifiers).
fn describe_rtstruct(rt: &RtStructObject) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "RTSTRUCT {}", rt.path.display());
    let _ = writeln!(
        s,
        "structure set {:?}, {} ROIs",
        rt.label.as_deref().or(rt.name.as_deref()).unwrap_or(""),
        rt.rois.len()
    );
    let _ = writeln!(
        s,
        "frame of reference {}",
        rt.frame_of_reference_uid.as_deref().unwrap_or("(none)")
    );
    for uid in &rt.referenced_series_uids {
        let _ = writeln!(s, "references series {uid}");
    }
    let _ = writeln!(
        s,
        "{:>4}  {:<28} {:<14} {:>8} {:>6} {:>9} colour",
        "no", "name", "type", "contours", "other", "points"
    );
    for r in &rt.rois {
        let (closed, other) = r.contour_counts();
        let colour = r.colour_rgb.map_or_else(
            || "-".to_owned(),
            |[red, g, b]| format!("#{red:02x}{g:02x}{b:02x}"),
        );
        let _ = writeln!(
            s,
            "{:>4}  {:<28} {:<14} {:>8} {:>6} {:>9} {colour}",
            r.number,
            truncate(&r.name, 28),
            truncate(r.interpreted_type.as_deref().unwrap_or(""), 14),
            closed,
            other,
            r.point_count()
        );
    }
    s
}

/// A text description of a SEG object (no patient identifiers).
fn describe(o: &SegObject) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let kind = match o.segmentation_type {
        SegmentationType::Binary => "BINARY".to_owned(),
        SegmentationType::Fractional { max_value } => format!("FRACTIONAL (max {max_value})"),
        SegmentationType::Labelmap => "LABELMAP".to_owned(),
    };
    let _ = writeln!(s, "DICOM-SEG {}", o.path.display());
    let _ = writeln!(
        s,
        "type {kind}, {} frames of {}×{}, {} segments",
        o.frames.len(),
        o.cols,
        o.rows,
        o.segments.len()
    );
    if let Some(d) = o
        .series_description
        .as_deref()
        .or(o.content_label.as_deref())
    {
        let _ = writeln!(s, "description {d}");
    }
    let _ = writeln!(
        s,
        "frame of reference {}",
        o.frame_of_reference_uid.as_deref().unwrap_or("(none)")
    );
    for r in &o.referenced_series {
        let _ = writeln!(
            s,
            "references series {} ({} instances)",
            r.series_uid,
            r.instance_uids.len()
        );
    }
    let with_ref = o
        .frames
        .iter()
        .filter(|f| f.source_sop_instance_uid.is_some())
        .count();
    let _ = writeln!(
        s,
        "{with_ref} of {} frames name their source image",
        o.frames.len()
    );
    let _ = writeln!(
        s,
        "{:>4}  {:<28} {:<26} {:<22} {:>7} colour",
        "no", "label", "category", "type", "frames"
    );
    for g in &o.segments {
        let frames = o
            .frames
            .iter()
            .filter(|f| f.segment_number.is_none_or(|n| n == g.number))
            .count();
        let [r, gg, b] = g.colour_rgb;
        let _ = writeln!(
            s,
            "{:>4}  {:<28} {:<26} {:<22} {:>7} #{r:02x}{gg:02x}{b:02x}",
            g.number,
            truncate(&g.label, 28),
            truncate(&g.category, 26),
            truncate(&g.kind, 22),
            frames
        );
    }
    s
}

fn print_table(stats: &[SegmentStats]) {
    println!(
        "{:>4}  {:<28} {:>10} {:>10} {:>8} {:>7} {:>7} {:>7}",
        "no", "label", "voxels", "ml", "mean HU", "sd", "min", "max"
    );
    for s in stats {
        println!(
            "{:>4}  {:<28} {:>10} {:>10.2} {:>8.1} {:>7.1} {:>7} {:>7}",
            s.number,
            truncate(&s.label, 28),
            s.voxels,
            s.volume_ml,
            s.mean_hu,
            s.std_hu,
            s.min_hu,
            s.max_hu
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn run_stats(a: &SegStatsArgs) -> anyhow::Result<()> {
    let (l, seg) = load_both(&a.input)?;
    let st = stats::statistics(&l.volume, &seg);
    print_table(&st);
    if let Some(p) = &a.csv {
        write_text(p, &stats::to_csv(&st))?;
    }
    if let Some(p) = &a.json {
        write_text(p, &stats::to_json(&st))?;
    }
    Ok(())
}

fn write_text(p: &Path, text: &str) -> anyhow::Result<()> {
    crate::io::write_atomic(p, |w| w.write_all(text.as_bytes()))?;
    eprintln!("wrote {}", p.display());
    Ok(())
}

/// The output format from the file name: `.dcm` DICOM-SEG, `.nrrd`/`.nhdr`
/// NRRD, `.nii`/`.nii.gz` NIfTI.
pub(super) fn format_of(out: &Path) -> anyhow::Result<SegFormat> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let ext = Path::new(&name)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    match ext.as_str() {
        "dcm" => Ok(SegFormat::Seg),
        "nrrd" | "nhdr" => Ok(SegFormat::Nrrd),
        "nii" => Ok(SegFormat::Nifti),
        "gz" if name.ends_with(".nii.gz") => Ok(SegFormat::Nifti),
        _ => bail!(
            "cannot tell the format of {out:?}: use .dcm, .nii, .nii.gz or .nrrd, or --format"
        ),
    }
}

fn run_convert(a: &SegConvertArgs) -> anyhow::Result<()> {
    let format = if let Some(f) = a.format {
        f
    } else {
        format_of(&a.out)?
    };
    let (l, seg) = load_both(&a.input)?;
    let metadata = l.metadata.clone().unwrap_or_default();
    match format {
        SegFormat::Seg => {
            let options = SegWriteOptions {
                include_identifiers: a.include_identifiers,
                ..SegWriteOptions::default()
            };
            let written = write_seg(&a.out, &seg, &l.grid, &metadata, &options)?;
            eprintln!(
                "wrote {}: DICOM-SEG, {} segments, {} frames",
                a.out.display(),
                seg.segments.len(),
                written.frames
            );
        }
        SegFormat::Rtstruct => {
            let options = RtStructWriteOptions {
                include_identifiers: a.include_identifiers,
                ..RtStructWriteOptions::default()
            };
            let t = Instant::now();
            let written = write_rtstruct(&a.out, &seg, &l.grid, &metadata, &options)?;
            if super::timing_enabled() {
                eprintln!("internal: write_s={:.4}", t.elapsed().as_secs_f64());
            }
            eprintln!(
                "wrote {}: RTSTRUCT, {} ROIs, {} contours, {} points",
                a.out.display(),
                seg.segments.len(),
                written.contours,
                written.points
            );
        }
        SegFormat::Nifti | SegFormat::Nrrd => {
            let vol = seg.label_volume()?;
            if format == SegFormat::Nrrd {
                crate::io::nrrd::write_nrrd(&a.out, &vol, true)?;
            } else {
                crate::io::nifti::write_nifti(&a.out, &vol)?;
            }
            eprintln!(
                "wrote {}: label map {}×{}×{}, {} segments",
                a.out.display(),
                vol.geometry.dims[2],
                vol.geometry.dims[1],
                vol.geometry.dims[0],
                seg.segments.len()
            );
        }
    }
    Ok(())
}

fn run_overlay(a: &SegOverlayArgs) -> anyhow::Result<()> {
    let abdomen = window::preset("abdomen").map_or((40.0, 400.0), |p| (p.centre_hu, p.width_hu));
    let (centre_hu, width_hu) = window_arg(a.window.as_deref(), a.preset.as_deref(), abdomen)?;
    if !(0.0..=1.0).contains(&a.opacity) {
        bail!("--opacity must be between 0 and 1");
    }
    let (l, seg) = load_both(&a.input)?;
    let index = match &a.segment {
        Some(s) => seg
            .segments
            .iter()
            .position(|x| x.number.to_string() == *s || x.label.eq_ignore_ascii_case(s))
            .with_context(|| format!("no segment {s:?} in {:?}", a.input.seg))?,
        None => seg
            .segments
            .iter()
            .position(|x| !x.mask.is_empty())
            .context("every segment is empty")?,
    };
    let Some((lo, hi)) = seg.segments[index].mask.bbox() else {
        bail!("segment {:?} is empty", seg.segments[index].label);
    };
    let centre = l.volume.geometry.world_of_voxel(glam::DVec3::new(
        (lo[2] + hi[2]) as f64 / 2.0,
        (lo[1] + hi[1]) as f64 / 2.0,
        (lo[0] + hi[0]) as f64 / 2.0,
    ));
    let axis = ViewAxis::from(a.axis);
    let g = &l.volume.geometry;
    let point = crate::mpr::point_of_slice(
        g,
        axis,
        centre,
        crate::mpr::slice_position(g, axis, centre).0,
    );
    let plane = SlicePlane::through(&l.volume.geometry, axis, point);
    let style = OverlayStyle {
        default_opacity: a.opacity,
        outline: a.outline,
        ..OverlayStyle::default()
    };
    let (img, mm) = crate::export::overlay::slice_with_overlay(
        &l.volume,
        Some(&seg),
        &plane,
        centre_hu,
        width_hu,
        &style,
    );
    crate::export::write_png(&a.out, &img)?;
    eprintln!(
        "wrote {}: {} slice through {:?}, {}×{} px ({mm:.3} mm/px)",
        a.out.display(),
        axis.name(),
        seg.segments[index].label,
        img.width(),
        img.height()
    );
    Ok(())
}
