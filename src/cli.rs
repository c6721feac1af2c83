//! The `hounsfield` command line: one subcommand per library capability.
//!
//! Thin: parse arguments (clap), call the library, print. Errors become one
//! line on stderr and a non-zero exit code (in `main.rs`). Progress goes to
//! stderr; results to stdout. Patient identifiers are printed only with
//! `--show-identifiers`.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use glam::DVec3;

use crate::dicom::{self, LoadControl, SeriesMetadata, ValidationReport};
use crate::volume::Volume;
use crate::volume::ops::{self, HistogramParams};
use crate::volume::resample::{Interpolation, ResampleParams, resample};

mod info;
mod mesh;
mod mip_gif;
mod montage;
mod project;
mod register;
mod scan_table;
mod seg;
mod seg_effects;
mod segment;
mod survey;
mod tags;
#[cfg(feature = "unet")]
mod unet;

pub use mesh::MeshArgs;
pub use mip_gif::MipGifArgs;
pub use montage::MontageArgs;
pub use project::ProjectArgs;
pub use register::RegisterArgs;
pub use seg::SegArgs;
pub use segment::SegmentArgs;
pub use survey::SurveyArgs;
pub use tags::TagsArgs;
#[cfg(feature = "unet")]
pub use unet::UnetArgs;

/// Hounsfield: CT DICOM series to HU volumes, and the tools around them.
#[derive(Debug, Parser)]
#[command(name = "hounsfield", version, about, long_about = None)]
pub struct Cli {
    /// What to do (without a command the viewer opens on the demo study).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the series and objects under folders, files or DICOMDIRs, with
    /// validation reports.
    Scan(ScanArgs),
    /// Geometry, metadata and HU statistics of one series.
    Info(InfoArgs),
    /// Convert a series to NIfTI (.nii/.nii.gz), NRRD (.nrrd) or NumPy (.npy).
    Convert(ConvertArgs),
    /// Resample a series to a new spacing (trilinear) and write it.
    Resample(ResampleArgs),
    /// HU histogram of a series (text, CSV or PNG).
    Histogram(HistogramArgs),
    /// Write the synthetic chest phantom as a DICOM series (and its labels).
    Phantom(PhantomArgs),
    /// Tile every k-th axial slice of a series into one PNG.
    Montage(MontageArgs),
    /// List the DICOM elements of one file (identifiers hidden).
    Tags(TagsArgs),
    /// MIP / AIP / `MinIP` of a series along a view axis, as a PNG with a scale bar.
    Project(ProjectArgs),
    /// An isosurface (marching cubes) of a series or a segment as STL, PLY or OBJ.
    Mesh(MeshArgs),
    /// A rotating MIP animation (about the superior–inferior axis) as a GIF.
    MipGif(MipGifArgs),
    /// Segmentations (DICOM-SEG, NIfTI, NRRD label maps): info, statistics,
    /// conversion and overlay pictures.
    Seg(SegArgs),
    /// Segment structures of a series (lungs), optionally scored against a
    /// reference mask.
    Segment(SegmentArgs),
    /// A table of every series in a folder, consistency checks and
    /// intensity histograms.
    Survey(SurveyArgs),
    /// Train the 2D U-Net lung segmentation on labelled cases, or evaluate a
    /// model (per-slice Dice CSVs, histograms, box plots, montages).
    #[cfg(feature = "unet")]
    Unet(UnetArgs),
    /// Register a moving series onto a fixed one (rigid, optional scale;
    /// mutual information, NCC or SSD): transform JSON, resampled series,
    /// mask transfer and overlap.
    Register(RegisterArgs),
    /// Open the viewer on a folder, file or DICOMDIR (no path: the demo).
    View(ViewArgs),
}

/// Arguments of `view` (handled by the binary, which owns the window).
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// A DICOM folder, file or DICOMDIR; without it the demo study opens.
    pub path: Option<PathBuf>,
    /// A segmentation (DICOM-SEG, NIfTI, NRRD) to overlay once the series is loaded.
    #[arg(long, requires = "path")]
    pub seg: Option<PathBuf>,
    /// Save a screenshot of the window here after a few frames, then exit.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Frames to render before the screenshot.
    #[arg(long, default_value_t = 10)]
    pub frames: u32,
    /// Leave durations out of status messages (reproducible screenshots).
    #[arg(long)]
    pub hide_timings: bool,
}

/// Arguments of `scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Folders, files or DICOMDIR files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// List every unreadable file (default: a count and the first few).
    #[arg(long)]
    pub all_failures: bool,
}

/// Which series to read.
#[derive(Debug, Args, Clone)]
pub struct SeriesInput {
    /// A DICOM folder, file or DICOMDIR; or a .nii/.nii.gz/.nrrd volume.
    pub input: PathBuf,
    /// Choose a series when the input holds several: SeriesInstanceUID (or
    /// prefix), SeriesNumber, or #index as listed by `scan`.
    #[arg(long)]
    pub series: Option<String>,
}

/// Arguments of `info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub source: SeriesInput,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Also print patient name, ID and birth date.
    #[arg(long)]
    pub show_identifiers: bool,
}

/// Arguments of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub source: SeriesInput,
    /// Output file: .nii, .nii.gz, .nrrd or .npy (int16 `[z,row,col]`).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Arguments of `resample`.
#[derive(Debug, Args)]
pub struct ResampleArgs {
    #[command(flatten)]
    pub source: SeriesInput,
    /// Output spacing in mm: one value (isotropic) or `x,y,z` (col,row,slice).
    #[arg(long, default_value = "1")]
    pub spacing: String,
    /// Nearest-neighbour instead of trilinear.
    #[arg(long)]
    pub nearest: bool,
    /// HU outside the input.
    #[arg(long, default_value_t = -1000.0, allow_hyphen_values = true)]
    pub fill: f32,
    /// Output file: .nii, .nii.gz, .nrrd or .npy.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Arguments of `histogram`.
#[derive(Debug, Args)]
pub struct HistogramArgs {
    #[command(flatten)]
    pub source: SeriesInput,
    /// Lower edge (HU).
    #[arg(long, default_value_t = -1024.0, allow_hyphen_values = true)]
    pub min: f64,
    /// Upper edge (HU).
    #[arg(long, default_value_t = 3072.0, allow_hyphen_values = true)]
    pub max: f64,
    /// Number of bins.
    #[arg(long, default_value_t = 256)]
    pub bins: usize,
    /// Write the plot as PNG here.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Write the plot as SVG here.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Linear count axis in the plot (default logarithmic).
    #[arg(long)]
    pub linear: bool,
    /// Write the bins as CSV here (`-` for stdout).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// Arguments of `phantom`.
#[derive(Debug, Args)]
pub struct PhantomArgs {
    /// Output folder for the DICOM series (created).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Random seed (noise, UIDs, file names).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Grid size `slices,rows,cols`.
    #[arg(long, default_value = "96,128,128")]
    pub dims: String,
    /// Leave these slice indices out (comma separated), to test gap detection.
    #[arg(long, value_delimiter = ',')]
    pub drop_slices: Vec<usize>,
    /// Gantry tilt in degrees (sheared stack).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub tilt: f64,
    /// Keep file names and InstanceNumbers in z order (default: shuffled).
    #[arg(long)]
    pub ordered: bool,
    /// Also write the label volume here (.nii.gz, .nrrd or .npy).
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

/// Run a parsed command.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Scan(a) => scan_table::run_scan(&a),
        Command::Info(a) => info::run_info(&a),
        Command::Convert(a) => run_convert(&a),
        Command::Resample(a) => run_resample(&a),
        Command::Histogram(a) => run_histogram(&a),
        Command::Phantom(a) => run_phantom(&a),
        Command::Montage(a) => montage::run_montage(&a),
        Command::Tags(a) => tags::run_tags(&a),
        Command::Project(a) => project::run_project(&a),
        Command::Mesh(a) => mesh::run_mesh(&a),
        Command::MipGif(a) => mip_gif::run_mip_gif(&a),
        Command::Seg(a) => seg::run_seg(&a),
        Command::Segment(a) => segment::run_segment(&a),
        Command::Survey(a) => survey::run_survey(&a),
        #[cfg(feature = "unet")]
        Command::Unet(a) => unet::run_unet(&a),
        Command::Register(a) => register::run_register(&a),
        Command::View(_) => bail!("`view` opens a window: run it through the hounsfield binary"),
    }
}

/// A volume with what is known about it.
pub struct Loaded {
    /// The voxels.
    pub volume: Volume,
    /// DICOM metadata (absent for NIfTI/NRRD input).
    pub metadata: Option<SeriesMetadata>,
    /// Validation report (DICOM input only).
    pub report: Option<ValidationReport>,
    /// Transfer syntax (DICOM input only).
    pub transfer_syntax_uid: Option<String>,
    /// The grid with its DICOM identities (bare for NIfTI/NRRD input), for
    /// placing and writing DICOM-SEGs.
    pub grid: crate::dicom::seg::ReferenceGrid,
    /// Seconds spent loading.
    pub load_s: f64,
}

fn has_ext(p: &Path, ext: &str) -> bool {
    p.to_string_lossy().to_ascii_lowercase().ends_with(ext)
}

/// Load a DICOM series (or a NIfTI/NRRD/npy volume) with progress on stderr.
pub fn load_input(src: &SeriesInput) -> anyhow::Result<Loaded> {
    let t0 = Instant::now();
    let p = &src.input;
    if p.is_file() && (has_ext(p, ".nii") || has_ext(p, ".nii.gz") || has_ext(p, ".nrrd")) {
        let img = if has_ext(p, ".nrrd") {
            crate::io::nrrd::read_nrrd(p)?
        } else {
            crate::io::nifti::read_nifti(p)?
        };
        let volume = img.into_volume();
        return Ok(Loaded {
            grid: crate::dicom::seg::ReferenceGrid::bare(volume.geometry),
            volume,
            metadata: None,
            report: None,
            transfer_syntax_uid: None,
            load_s: t0.elapsed().as_secs_f64(),
        });
    }
    // Progress only on a terminal: logs and pipes get the result alone.
    let tty = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        if tty && total >= 50 && (done * 10 / total) != ((done.saturating_sub(1)) * 10 / total) {
            eprint!("\rloading {done}/{total} slices");
            if done == total {
                eprintln!();
            }
        }
    };
    let control = LoadControl {
        progress: Some(&progress),
        cancel: None,
    };
    let report = dicom::scan(std::slice::from_ref(p));
    let scan_s = t0.elapsed().as_secs_f64();
    let info = dicom::select_series(&report, src.series.as_deref(), p)?;
    let s = dicom::load_info(info, &dicom::Limits::default(), &control)?;
    if timing_enabled() {
        eprintln!(
            "internal: scan_s={scan_s:.4} decode_s={:.4}",
            t0.elapsed().as_secs_f64() - scan_s
        );
    }
    for issue in &s.report.issues {
        if issue.severity >= dicom::Severity::Warning {
            eprintln!("warning: {}", issue.message);
        }
    }
    Ok(Loaded {
        grid: crate::dicom::seg::ReferenceGrid::from_series(info)
            .unwrap_or_else(|| crate::dicom::seg::ReferenceGrid::bare(s.volume.geometry)),
        volume: s.volume,
        metadata: Some(s.metadata),
        report: Some(s.report),
        transfer_syntax_uid: Some(s.transfer_syntax_uid),
        load_s: t0.elapsed().as_secs_f64(),
    })
}

/// Write a volume by extension: .nii/.nii.gz, .nrrd (gzip) or .npy.
pub fn write_volume(vol: &Volume, out: &Path) -> anyhow::Result<()> {
    Ok(crate::io::write_volume_file(out, vol)?)
}

pub(crate) fn timing_enabled() -> bool {
    std::env::var_os("HOUNSFIELD_TIMING").is_some_and(|v| v == "1")
}

fn timing(load_s: f64, op_s: f64) {
    if timing_enabled() {
        eprintln!("internal: load_s={load_s:.4} op_s={op_s:.4}");
    }
}

fn run_convert(a: &ConvertArgs) -> anyhow::Result<()> {
    let l = load_input(&a.source)?;
    let t = Instant::now();
    write_volume(&l.volume, &a.out)?;
    timing(l.load_s, t.elapsed().as_secs_f64());
    eprintln!("wrote {:?}", a.out);
    Ok(())
}

/// Parse `1` or `x,y,z` into a spacing vector (mm).
pub fn parse_spacing(s: &str) -> anyhow::Result<DVec3> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("spacing must be a number or x,y,z in mm, got {s:?}"))?;
    match v.as_slice() {
        [s] => Ok(DVec3::splat(*s)),
        [x, y, z] => Ok(DVec3::new(*x, *y, *z)),
        _ => bail!("spacing must be one value or three (x,y,z), got {s:?}"),
    }
}

fn run_resample(a: &ResampleArgs) -> anyhow::Result<()> {
    let l = load_input(&a.source)?;
    let params = ResampleParams {
        spacing_mm: parse_spacing(&a.spacing)?,
        interpolation: if a.nearest {
            Interpolation::Nearest
        } else {
            Interpolation::Linear
        },
        fill_hu: a.fill,
    };
    let t = Instant::now();
    let out = resample(&l.volume, &params)?;
    let op_s = t.elapsed().as_secs_f64();
    write_volume(&out, &a.out)?;
    timing(l.load_s, op_s);
    let [nz, ny, nx] = out.shape();
    let sp = out.geometry.spacing_zyx_mm();
    eprintln!(
        "resampled to {nz} x {ny} x {nx} at {}, {}, {} mm (z,row,col); wrote {:?}",
        sp[0], sp[1], sp[2], a.out
    );
    Ok(())
}

fn run_histogram(a: &HistogramArgs) -> anyhow::Result<()> {
    if a.max.partial_cmp(&a.min) != Some(std::cmp::Ordering::Greater) || a.bins == 0 {
        bail!("need --max > --min and --bins > 0");
    }
    let l = load_input(&a.source)?;
    let h = ops::histogram(
        &l.volume,
        &HistogramParams {
            min_hu: a.min,
            max_hu: a.max,
            bins: a.bins,
        },
    );
    let p = ops::percentiles(&l.volume, &[1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0]);
    println!(
        "percentiles (HU): p1 {:.0}  p5 {:.0}  p25 {:.0}  p50 {:.0}  p75 {:.0}  p95 {:.0}  p99 {:.0}",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6]
    );
    println!(
        "below {}: {}   at/above {}: {}",
        a.min, h.below, a.max, h.above
    );
    if let Some(csv) = &a.csv {
        let mut text = String::from("bin_start_hu,bin_end_hu,count\n");
        for (i, c) in h.counts.iter().enumerate() {
            let lo = h.min_hu + i as f64 * h.bin_width_hu;
            writeln!(text, "{lo},{},{c}", lo + h.bin_width_hu).ok();
        }
        if csv.as_os_str() == "-" {
            print!("{text}");
        } else {
            crate::io::write_atomic(csv, |w| w.write_all(text.as_bytes()))?;
        }
    }
    let title = format!(
        "HU histogram ({} bins of {} HU)",
        h.counts.len(),
        h.bin_width_hu
    );
    let chart = crate::figure::hu_histogram(&h, !a.linear, None, &title);
    for p in [&a.png, &a.svg].into_iter().flatten() {
        crate::figure::write(&chart, p, 900, 460).with_context(|| format!("writing {p:?}"))?;
        eprintln!("wrote {p:?}");
    }
    Ok(())
}

fn run_phantom(a: &PhantomArgs) -> anyhow::Result<()> {
    let dims: Vec<usize> = a
        .dims
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .context("--dims must be slices,rows,cols")?;
    let [nz, ny, nx] = dims[..] else {
        bail!("--dims must be slices,rows,cols");
    };
    if nz == 0 || ny == 0 || nx == 0 || nz * ny * nx > 1 << 28 {
        bail!("--dims out of range: {nz}x{ny}x{nx}");
    }
    let params = crate::phantom::PhantomParams {
        seed: a.seed,
        tilt_deg: a.tilt,
        ..crate::phantom::PhantomParams::with_dims([nz, ny, nx])
    };
    let ph = crate::phantom::chest(&params);
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {:?}", a.out))?;
    let opts = dicom::write::SeriesWriteOptions {
        shuffle_names: !a.ordered,
        instance_numbers_reversed_or_shuffled: !a.ordered,
        drop_slices: a.drop_slices.clone(),
        seed: a.seed,
        ..Default::default()
    };
    let files = dicom::write::write_series(&ph.volume, &a.out, &opts)?;
    eprintln!("wrote {} slices to {:?}", files.len(), a.out);
    if let Some(lp) = &a.labels {
        if has_ext(lp, ".nrrd") {
            crate::io::nrrd::write_nrrd_labels(lp, &ph.labels, &ph.volume.geometry, true)?;
        } else {
            let labels = Volume::from_i16(ph.labels.mapv(i16::from), ph.volume.geometry);
            write_volume(&labels, lp)?;
        }
        eprintln!("wrote labels to {lp:?}");
        for (value, name) in &ph.label_names {
            println!("{value}\t{name}");
        }
    }
    Ok(())
}
