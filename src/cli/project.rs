//! `hounsfield project`: a MIP, AIP or `MinIP` of a series along one view axis
//! (whole volume or a thick slab) as a greyscale PNG in physical aspect,
//! with a scale bar and no patient identifiers; optionally with a
//! segmentation fused in colour (the top segment along each ray).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use glam::DVec3;
use image::{Rgb, RgbImage};

use super::montage::window_arg;
use super::{SeriesInput, load_input, timing};
use crate::figure;
use crate::mpr::{Image2, ViewAxis};
use crate::project::fuse::{blend_rgb, project_labels};
use crate::project::{ProjectionMode, Slab, project, projection_plane, window_image_u8};
use crate::study;

/// Largest side of the written PNG in pixels.
const MAX_PNG_SIDE: usize = 8192;

/// Projection mode on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Maximum intensity projection.
    Mip,
    /// Average intensity projection.
    Aip,
    /// Minimum intensity projection.
    Minip,
}

impl From<ModeArg> for ProjectionMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Mip => Self::Max,
            ModeArg::Aip => Self::Mean,
            ModeArg::Minip => Self::Min,
        }
    }
}

/// View axis on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AxisArg {
    /// Along z (seen from the feet).
    Axial,
    /// Along y (seen from the front).
    Coronal,
    /// Along x (seen from the patient's left).
    Sagittal,
}

impl From<AxisArg> for ViewAxis {
    fn from(a: AxisArg) -> Self {
        match a {
            AxisArg::Axial => Self::Axial,
            AxisArg::Coronal => Self::Coronal,
            AxisArg::Sagittal => Self::Sagittal,
        }
    }
}

/// Arguments of `project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The series to project.
    #[command(flatten)]
    pub source: SeriesInput,
    /// Projection: maximum, average or minimum intensity.
    #[arg(long, value_enum, default_value_t = ModeArg::Mip)]
    pub mode: ModeArg,
    /// View axis to project along.
    #[arg(long, value_enum, default_value_t = AxisArg::Axial)]
    pub axis: AxisArg,
    /// Slab thickness in mm (default: the whole volume).
    #[arg(long)]
    pub slab_mm: Option<f64>,
    /// Slab centre `x,y,z` (LPS mm) [default: the volume centre].
    #[arg(long, allow_hyphen_values = true, requires = "slab_mm")]
    pub centre: Option<String>,
    /// Window `centre,width` in HU [default: 40,400].
    #[arg(long, allow_hyphen_values = true, conflicts_with = "preset")]
    pub window: Option<String>,
    /// Window preset: liver, abdomen, lung, bone, brain or mediastinum.
    #[arg(long)]
    pub preset: Option<String>,
    /// A segmentation to fuse in colour (DICOM-SEG, NIfTI or NRRD label map
    /// on the series' grid or placed onto it).
    #[arg(long)]
    pub seg: Option<PathBuf>,
    /// Opacity of the segment colours (0..=1).
    #[arg(long, default_value_t = 0.5, requires = "seg")]
    pub opacity: f32,
    /// Output PNG file.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// Parse `x,y,z` (LPS mm).
fn parse_point(s: &str) -> anyhow::Result<DVec3> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--centre must be x,y,z in mm, got {s:?}"))?;
    match v[..] {
        [x, y, z] if x.is_finite() && y.is_finite() && z.is_finite() => Ok(DVec3::new(x, y, z)),
        _ => bail!("--centre must be x,y,z in mm, got {s:?}"),
    }
}

/// Run `project`: load, project, window, write the PNG; a summary on stderr.
pub fn run_project(a: &ProjectArgs) -> anyhow::Result<()> {
    let (centre_hu, width_hu) =
        window_arg(a.window.as_deref(), a.preset.as_deref(), (40.0, 400.0))?;
    if let Some(t) = a.slab_mm
        && !(t.is_finite() && t > 0.0)
    {
        bail!("--slab-mm must be a positive thickness in mm, got {t}");
    }
    if !(0.0..=1.0).contains(&a.opacity) {
        bail!("--opacity must be in 0..=1, got {}", a.opacity);
    }
    let centre = a.centre.as_deref().map(parse_point).transpose()?;
    let l = load_input(&a.source)?;
    let vol = &l.volume;
    let seg = match &a.seg {
        Some(path) => Some(
            study::open_segmentation(path, &vol.geometry, Some(&l.grid))
                .with_context(|| format!("cannot place {path:?} on the series"))?,
        ),
        None => None,
    };
    let axis = ViewAxis::from(a.axis);
    let mode = ProjectionMode::from(a.mode);
    let slab = a.slab_mm.map(|thickness_mm| Slab {
        centre_mm: centre.unwrap_or_else(|| vol.geometry.centre_mm()),
        thickness_mm,
    });
    let t = Instant::now();
    let img = project(vol, axis, mode, slab.as_ref());
    let op_s = t.elapsed().as_secs_f64();
    if img.data.iter().all(|v| v.is_nan()) {
        bail!("the projection is empty (the slab misses the volume?)");
    }
    let plane = projection_plane(&vol.geometry, axis);
    let grey = window_image_u8(&img, centre_hu, width_hu);
    let rgb = match &seg {
        Some(s) => {
            let labels = project_labels(s, axis, slab.as_ref(), &[]);
            if (labels.width, labels.height) != (img.width, img.height) {
                bail!("the segmentation's projection grid differs from the series'");
            }
            let colours: Vec<[u8; 3]> = s.segments.iter().map(|x| x.colour_rgb).collect();
            blend_rgb(&grey, &labels.data, &colours, a.opacity)
        }
        None => blend_rgb(&grey, &[], &[], 0.0),
    };
    let (mut png, mm_per_px) = physical_aspect(&img, &rgb, plane.pixel_mm);
    draw_scale_bar(&mut png, mm_per_px);
    crate::export::write_png(&a.out, &png)?;
    timing(l.load_s, op_s);
    let slab_note = slab.map_or_else(String::new, |s| {
        format!(
            ", slab {} mm at {} = {:.1} mm",
            s.thickness_mm,
            axis.coordinate_name(),
            s.centre_mm.dot(axis.scroll_dir())
        )
    });
    let seg_note = seg.map_or_else(String::new, |s| {
        format!(", {} segments fused", s.segments.len())
    });
    eprintln!(
        "wrote {:?}: {} {}{slab_note}, {}x{} px ({:.3} mm/px), window {centre_hu}/{width_hu} HU{seg_note}",
        a.out,
        axis.name(),
        mode.abbreviation(),
        png.width(),
        png.height(),
        mm_per_px
    );
    Ok(())
}

/// Resample the windowed RGB image (3 bytes per pixel of `img`) to square
/// pixels (nearest: each output pixel takes the source pixel its centre
/// falls in): the RGB image and its pixel size in mm (the smaller source
/// pixel side, enlarged if a side would exceed [`MAX_PNG_SIDE`]).
fn physical_aspect(img: &Image2, rgb: &[u8], pixel_mm: [f64; 2]) -> (RgbImage, f64) {
    let [du, dv] = pixel_mm;
    let (w_mm, h_mm) = (img.width as f64 * du, img.height as f64 * dv);
    let mut s = du.min(dv);
    if !(s.is_finite() && s > 0.0) {
        s = 1.0;
    }
    s = s.max(w_mm.max(h_mm) / MAX_PNG_SIDE as f64);
    let out_w = ((w_mm / s).round() as usize).clamp(1, MAX_PNG_SIDE);
    let out_h = ((h_mm / s).round() as usize).clamp(1, MAX_PNG_SIDE);
    let src = |o: usize, step: f64, n: usize| (((o as f64 + 0.5) * s / step) as usize).min(n - 1);
    let cols: Vec<usize> = (0..out_w).map(|x| src(x, du, img.width)).collect();
    let mut png = RgbImage::new(out_w as u32, out_h as u32);
    for oy in 0..out_h {
        let y = src(oy, dv, img.height);
        for (ox, &x) in cols.iter().enumerate() {
            let i = 3 * (y * img.width + x);
            png.put_pixel(ox as u32, oy as u32, Rgb([rgb[i], rgb[i + 1], rgb[i + 2]]));
        }
    }
    (png, s)
}

/// Bar length in mm: the longest of 100, 50, 20, 10, 5, 2 and 1 mm that takes
/// at most a third of `width_px`.
fn bar_length_mm(width_px: u32, mm_per_px: f64) -> Option<f64> {
    [100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0]
        .into_iter()
        .find(|mm| mm / mm_per_px <= f64::from(width_px) / 3.0 && mm / mm_per_px >= 8.0)
}

/// A white scale bar with its length (`"50 MM"`) in the bottom-left corner,
/// on a black backing so it reads on any background.
fn draw_scale_bar(png: &mut RgbImage, mm_per_px: f64) {
    let Some(bar_mm) = bar_length_mm(png.width(), mm_per_px) else {
        return;
    };
    let scale: u32 = if png.height() >= 300 { 2 } else { 1 };
    let s = i64::from(scale);
    let bar_px = (bar_mm / mm_per_px).round() as i64;
    let label = format!("{bar_mm} mm");
    let margin = 4 * s;
    let bar_h = 2 * s;
    let px = 7.0 * scale as f32;
    let (text_w, text_h) = figure::text_size(&label, px);
    let (text_w, text_h) = (i64::from(text_w), i64::from(text_h));
    let box_w = bar_px.max(text_w) + 2 * s;
    let box_h = text_h + bar_h + 4 * s;
    let x0 = margin;
    let y0 = i64::from(png.height()) - margin - box_h;
    let black = Rgb([0, 0, 0]);
    let white = Rgb([255, 255, 255]);
    figure::fill_rect(png, x0, y0, box_w, box_h, black);
    figure::draw_text(
        png,
        &label,
        x0 + s,
        y0 + s,
        figure::TextStyle::new(px, white),
    );
    figure::fill_rect(png, x0 + s, y0 + 3 * s + text_h, bar_px, bar_h, white);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_point("1, -2.5,3").unwrap(),
            DVec3::new(1.0, -2.5, 3.0)
        );
        for bad in ["", "1,2", "1,2,3,4", "a,b,c", "nan,0,0"] {
            assert!(parse_point(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn non_square_pixels_become_square() {
        let img = Image2 {
            width: 4,
            height: 2,
            data: vec![0.0; 8],
        };
        let rgb: Vec<u8> = (0..8).flat_map(|g| [g, g, g]).collect();
        let (png, s) = physical_aspect(&img, &rgb, [1.0, 2.0]);
        assert!((s - 1.0).abs() < 1e-12);
        assert_eq!((png.width(), png.height()), (4, 4));
        assert_eq!(png.get_pixel(1, 1).0[0], 1);
        assert_eq!(png.get_pixel(1, 2).0[0], 5);
    }

    #[test]
    fn scale_bars_fit() {
        assert_eq!(bar_length_mm(512, 0.7), Some(100.0));
        assert_eq!(bar_length_mm(200, 0.7), Some(20.0));
        assert_eq!(bar_length_mm(10, 0.7), None);
    }
}
