//! `hounsfield mip-gif`: a rotating MIP of a series (about the
//! superior–inferior axis) as a looping GIF, optionally with a segmentation
//! fused in colour, and optionally also as numbered PNG frames.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;

use super::montage::parse_window;
use super::{SeriesInput, load_input, timing};
use crate::export::gif::{Overlay, write_gif, write_png_frames_overlay};
use crate::project::fuse::{FuseParams, rotating_mip_fused};
use crate::project::rotate::RotatingMipParams;
use crate::study;

/// Arguments of `mip-gif`.
#[derive(Debug, Args)]
pub struct MipGifArgs {
    /// The series to project.
    #[command(flatten)]
    pub source: SeriesInput,
    /// A segmentation to fuse in colour (DICOM-SEG, NIfTI or NRRD label map
    /// on the series' grid or placed onto it).
    #[arg(long)]
    pub seg: Option<PathBuf>,
    /// Output GIF file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Degrees between frames (360 / step frames).
    #[arg(long, default_value_t = 10.0)]
    pub step: f64,
    /// Side of the square frames in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Window `centre,width` in HU.
    #[arg(long, allow_hyphen_values = true, default_value = "150,900")]
    pub window: String,
    /// Opacity of the segment colours (0..=1).
    #[arg(long, default_value_t = 0.5)]
    pub opacity: f32,
    /// Hundredths of a second per frame.
    #[arg(long, default_value_t = 10)]
    pub delay_cs: u16,
    /// Also write the frames as `frame_000.png`, … into this folder (RGB
    /// when a segmentation is fused).
    #[arg(long)]
    pub frames_dir: Option<PathBuf>,
    /// Render the frames on the GPU (wgpu) instead of the CPU; same frames.
    /// Pays off on real GPUs only (on a software adapter it is slower), and
    /// fuses no segmentation.
    #[arg(long, conflicts_with = "seg")]
    pub gpu: bool,
    /// Label every frame with its rotation angle (top-left corner).
    #[arg(long)]
    pub labels: bool,
}

/// The projection parameters and the GIF side from the arguments, checked.
fn checked_params(a: &MipGifArgs) -> anyhow::Result<(RotatingMipParams, u16)> {
    let (centre_hu, width_hu) = parse_window(&a.window)?;
    if !(a.step.is_finite() && a.step > 0.0 && a.step <= 360.0) {
        bail!("--step must be in (0, 360] degrees, got {}", a.step);
    }
    if !(0.0..=1.0).contains(&a.opacity) {
        bail!("--opacity must be in 0..=1, got {}", a.opacity);
    }
    let side = u16::try_from(a.size)
        .ok()
        .filter(|&s| s > 0)
        .with_context(|| format!("--size must be 1..=65535 px, got {}", a.size))?;
    let params = RotatingMipParams {
        step_deg: a.step,
        size: a.size,
        centre_hu,
        width_hu,
        ..RotatingMipParams::default()
    };
    Ok((params, side))
}

/// Run `mip-gif`: load, project every angle, write the GIF (and PNG frames);
/// a summary on stderr.
pub fn run_mip_gif(a: &MipGifArgs) -> anyhow::Result<()> {
    let (params, side) = checked_params(a)?;
    let l = load_input(&a.source)?;
    let seg = match &a.seg {
        Some(path) => Some(
            study::open_segmentation(path, &l.volume.geometry, Some(&l.grid))
                .with_context(|| format!("cannot place {path:?} on the series"))?,
        ),
        None => None,
    };
    let tty = std::io::stderr().is_terminal();
    let report = |done: usize, total: usize| {
        eprint!("\rprojecting {:3}%", done * 100 / total.max(1));
        if done == total {
            eprintln!();
        }
    };
    let progress: Option<&(dyn Fn(usize, usize) + Sync)> = if tty { Some(&report) } else { None };
    let fuse = FuseParams {
        opacity: a.opacity,
        ..FuseParams::default()
    };
    let t0 = Instant::now();
    #[cfg(not(feature = "viewer"))]
    if a.gpu {
        anyhow::bail!("--gpu needs the `viewer` feature (this build has no GPU render layer)");
    }
    #[cfg(feature = "viewer")]
    let frames = if a.gpu {
        let gpu = crate::render::gpu::Gpu::headless()?;
        crate::project::fuse::FusedFrames {
            size: params.size,
            grey: crate::render::rotating_mip_gpu(&gpu, &l.volume, &params)?,
            labels: Vec::new(),
            colours: Vec::new(),
            opacity: fuse.opacity,
        }
    } else {
        rotating_mip_fused(&l.volume, seg.as_ref(), &params, &fuse, None, progress)?
    };
    #[cfg(not(feature = "viewer"))]
    let frames = rotating_mip_fused(&l.volume, seg.as_ref(), &params, &fuse, None, progress)?;
    let mut frames = frames;
    if a.labels {
        frames.label_angles(a.step);
    }
    let project_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let overlay = frames.has_overlay().then_some(Overlay {
        labels: &frames.labels,
        colours: &frames.colours,
        opacity: frames.opacity,
    });
    write_gif(
        &a.out,
        &frames.grey,
        overlay.as_ref(),
        side,
        side,
        a.delay_cs,
    )
    .with_context(|| format!("writing {:?}", a.out))?;
    if let Some(dir) = &a.frames_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {dir:?}"))?;
        write_png_frames_overlay(
            dir,
            &frames.grey,
            overlay.as_ref(),
            u32::from(side),
            u32::from(side),
        )?;
    }
    let write_s = t1.elapsed().as_secs_f64();
    timing(l.load_s, project_s);
    let fused = match (&seg, overlay.is_some()) {
        (Some(s), true) => format!(", {} segments fused", s.segments.len()),
        (Some(_), false) => ", segmentation empty (nothing fused)".to_owned(),
        (None, _) => String::new(),
    };
    eprintln!(
        "wrote {:?}: {} frames of {side}×{side} px every {}°, window {}/{} HU{fused}; \
         projection {project_s:.3} s, encoding and writing {write_s:.3} s",
        a.out,
        frames.grey.len(),
        a.step,
        params.centre_hu,
        params.width_hu,
    );
    Ok(())
}
