//! `hounsfield segment lungs`: the lung mask of a series (classical 3-D
//! pipeline or the tutorial's k-means baseline) written as a label map,
//! optionally scored against a reference label map (metrics printed, as JSON
//! and as an overlap picture).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use ndarray::Array3;

use super::{SeriesInput, has_ext, load_input, timing, write_volume};
use crate::metrics::png::{OverlapPngParams, overlap_png};
use crate::metrics::{Report, compare_labels, default_pairs, present_values};
use crate::segment::{
    Control, FillParams, KMEANS_NAMES, KMeansParams, LUNG_NAMES, LungParams, kmeans_lungs,
    segment_lungs,
};
use crate::volume::{Geometry, Volume};

/// Arguments of `segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// What to segment.
    #[command(subcommand)]
    pub what: SegmentWhat,
}

/// Structures `segment` knows.
#[derive(Debug, Subcommand)]
pub enum SegmentWhat {
    /// Both lungs: labels 1 = right lung, 2 = left lung (classical) or
    /// 1 = lungs (kmeans).
    Lungs(LungsArgs),
}

/// Segmentation method on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// 3-D threshold + components, airway removed, sides split, filled.
    Classical,
    /// The tutorial's per-slice k-means method (baseline).
    Kmeans,
    /// The 2D U-Net (the bundled model, or `--model`).
    Unet,
}

/// Arguments of `segment lungs`.
#[derive(Debug, Args)]
pub struct LungsArgs {
    /// The series to segment.
    #[command(flatten)]
    pub source: SeriesInput,
    /// Output label map: .nii, .nii.gz, .nrrd or .npy.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Method.
    #[arg(long, value_enum, default_value_t = MethodArg::Classical)]
    pub method: MethodArg,
    /// Air threshold in HU (classical).
    #[arg(long, default_value_t = -320.0, allow_hyphen_values = true)]
    pub threshold: f32,
    /// Do not fill vessels and nodules (classical).
    #[arg(long)]
    pub no_fill: bool,
    /// Radius of the fill's closing ball in mm (classical).
    #[arg(long, default_value_t = 3.0)]
    pub closing_mm: f64,
    /// Keep the trachea and main bronchi (classical).
    #[arg(long)]
    pub keep_airway: bool,
    /// U-Net model file (`hounsfield unet train`); default: the bundled one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// U-Net: the thresholded network output without post-processing
    /// (largest components, hole filling).
    #[arg(long)]
    pub raw: bool,
    /// Reference label map (.nrrd, .nii, .nii.gz) to score against; placed
    /// on the CT grid by position.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Write the metrics as JSON here.
    #[arg(long, requires = "reference")]
    pub metrics_json: Option<PathBuf>,
    /// Write the overlap on three planes as PNG here.
    #[arg(long, requires = "reference")]
    pub overlap_png: Option<PathBuf>,
    /// Plot the metrics per structure (Dice, Jaccard, sensitivity) as PNG.
    #[arg(long, requires = "reference")]
    pub metrics_png: Option<PathBuf>,
    /// The same plot as SVG.
    #[arg(long, requires = "reference")]
    pub metrics_svg: Option<PathBuf>,
}

/// Run `segment`.
pub fn run_segment(a: &SegmentArgs) -> anyhow::Result<()> {
    match &a.what {
        SegmentWhat::Lungs(l) => run_lungs(l),
    }
}

fn run_lungs(a: &LungsArgs) -> anyhow::Result<()> {
    let known = [".nii", ".nii.gz", ".nrrd", ".npy"];
    if !known.iter().any(|e| has_ext(&a.out, e)) {
        bail!(
            "unknown output format (use .nii, .nii.gz, .nrrd or .npy): {:?}",
            a.out
        );
    }
    let l = load_input(&a.source)?;
    let vol = &l.volume;
    let t = Instant::now();
    let control = Control::default();
    let (labels, names): (Array3<u8>, &[(u8, &str)]) = match a.method {
        MethodArg::Classical => {
            let params = LungParams {
                threshold_hu: a.threshold,
                fill: (!a.no_fill).then_some(FillParams {
                    closing_mm: a.closing_mm,
                }),
                airway: if a.keep_airway {
                    None
                } else {
                    LungParams::default().airway
                },
                ..Default::default()
            };
            let m = segment_lungs(vol, &params, &control)?;
            let r = &m.report;
            eprintln!(
                "lungs: right {:.0} ml, left {:.0} ml; airway removed {:.1} ml{}{}; {:.3} s",
                r.right_ml,
                r.left_ml,
                r.airway_removed_ml,
                if r.airway_found {
                    ""
                } else {
                    " (trachea not found)"
                },
                r.split_erosion_mm
                    .map(|e| format!("; touching lungs cut at {e:.1} mm erosion"))
                    .unwrap_or_default(),
                r.seconds
            );
            (m.labels, &LUNG_NAMES)
        }
        MethodArg::Kmeans => {
            let m = kmeans_lungs(vol, &KMeansParams::default(), &control)?;
            eprintln!(
                "lungs (kmeans): {:.0} ml; {:.3} s",
                m.report.lung_ml, m.report.seconds
            );
            (m.labels, &KMEANS_NAMES)
        }
        #[cfg(not(feature = "unet"))]
        MethodArg::Unet => anyhow::bail!(
            "the UNet needs the `unet` feature (this build has none: rebuild with default features)"
        ),
        #[cfg(feature = "unet")]
        MethodArg::Unet => {
            let model = crate::unet::bundled::model_or_bundled(a.model.as_deref())?;
            let params = if a.raw {
                crate::unet::UnetLungParams::raw()
            } else {
                crate::unet::UnetLungParams::default()
            };
            let m = crate::unet::segment_lungs_unet(vol, &model, &params, &control)?;
            eprintln!("lungs (unet): {:.0} ml; {:.3} s", m.lung_ml, m.seconds);
            (m.labels, &crate::unet::UNET_NAMES)
        }
    };
    let op_s = t.elapsed().as_secs_f64();
    write_labels(&labels, &vol.geometry, &a.out)?;
    timing(l.load_s, op_s);
    eprintln!("wrote {:?}", a.out);
    if let Some(reference) = &a.reference {
        score(a, vol, &labels, names, reference, &l.grid)?;
    }
    Ok(())
}

fn write_labels(labels: &Array3<u8>, g: &Geometry, out: &Path) -> anyhow::Result<()> {
    if has_ext(out, ".nrrd") {
        crate::io::nrrd::write_nrrd_labels(out, labels, g, true)?;
        Ok(())
    } else {
        write_volume(&Volume::from_i16(labels.mapv(i16::from), *g), out)
    }
}

/// A reference segmentation (DICOM-SEG, NIfTI or NRRD label map) on the CT
/// grid, as a label map of segment numbers.
pub(super) fn read_reference(
    path: &Path,
    ct: &Geometry,
    grid: &crate::dicom::seg::ReferenceGrid,
) -> anyhow::Result<Array3<u16>> {
    let seg = crate::study::open_segmentation(path, ct, Some(grid))
        .with_context(|| format!("placing the reference {path:?} on the CT grid"))?;
    Ok(seg.to_label_map())
}

fn score(
    a: &LungsArgs,
    vol: &Volume,
    labels: &Array3<u8>,
    names: &[(u8, &str)],
    reference: &Path,
    grid: &crate::dicom::seg::ReferenceGrid,
) -> anyhow::Result<()> {
    let r = read_reference(reference, &vol.geometry, grid)?;
    let pairs = default_pairs(
        &present_values(labels.view()),
        &present_values(r.view()),
        |v| {
            names
                .iter()
                .find(|(n, _)| u16::from(*n) == v)
                .map(|(_, s)| (*s).to_owned())
        },
    );
    let report = compare_labels(
        labels.view(),
        r.view(),
        vol.geometry.spacing_zyx_mm(),
        &pairs,
    )?;
    print_report(&report);
    if let Some(p) = &a.metrics_json {
        let text = report.to_json();
        crate::io::write_atomic(p, |w| w.write_all(text.as_bytes()))?;
        eprintln!("wrote {p:?}");
    }
    let chart = crate::figure::overlap_bars(&report, "Lungs against the reference");
    for p in [&a.metrics_png, &a.metrics_svg].into_iter().flatten() {
        crate::figure::write(&chart, p, 800, 460)?;
        eprintln!("wrote {p:?}");
    }
    if let Some(p) = &a.overlap_png {
        let test = labels.mapv(|v| v != 0);
        let truth = r.mapv(|v| v != 0);
        let img = overlap_png(vol, test.view(), truth.view(), &OverlapPngParams::default())?;
        crate::export::write_png(p, &img)?;
        eprintln!("wrote {p:?}");
    }
    Ok(())
}

fn print_report(r: &Report) {
    let opt = |v: Option<f64>, d: usize| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.d$}"));
    println!(
        "{:<12} {:>7} {:>7} {:>7} {:>7} {:>9} {:>8} {:>8}",
        "structure", "dice", "jaccard", "sens", "spec", "dvol_ml", "hd95_mm", "msd_mm"
    );
    for m in &r.labels {
        println!(
            "{:<12} {:>7.4} {:>7.4} {:>7} {:>7} {:>9.1} {:>8} {:>8}",
            m.name,
            m.dice,
            m.jaccard,
            opt(m.sensitivity, 4),
            opt(m.specificity, 4),
            m.volume_difference_ml,
            opt(m.hausdorff95_mm, 2),
            opt(m.mean_surface_distance_mm, 2)
        );
    }
}
