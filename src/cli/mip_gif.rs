//! `hounsfield mip-gif`: a rotating MIP of a series (about the
//! superior–inferior axis) as a looping greyscale GIF, optionally also as
//! numbered PNG frames.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;

use super::montage::parse_window;
use super::{SeriesInput, load_input, timing};
use crate::export::gif::{encode_gif, write_png_frames};
use crate::io::write_atomic;
use crate::project::rotate::{RotatingMipParams, rotating_mip};

/// Hundredths of a second per frame.
const DELAY_CS: u16 = 10;

/// Arguments of `mip-gif`.
#[derive(Debug, Args)]
pub struct MipGifArgs {
    /// The series to project.
    #[command(flatten)]
    pub source: SeriesInput,
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
    /// Also write the frames as `frame_000.png`, … into this folder.
    #[arg(long)]
    pub frames_dir: Option<PathBuf>,
}

/// Run `mip-gif`: load, project every angle, write the GIF (and PNG frames);
/// a summary on stderr.
pub fn run_mip_gif(a: &MipGifArgs) -> anyhow::Result<()> {
    let (centre_hu, width_hu) = parse_window(&a.window)?;
    if !(a.step.is_finite() && a.step > 0.0 && a.step <= 360.0) {
        bail!("--step must be in (0, 360] degrees, got {}", a.step);
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
    let l = load_input(&a.source)?;
    let tty = std::io::stderr().is_terminal();
    let report = |done: usize, total: usize| {
        eprint!("\rprojecting {done}/{total} frames");
        if done == total {
            eprintln!();
        }
    };
    let progress: Option<&(dyn Fn(usize, usize) + Sync)> = if tty { Some(&report) } else { None };
    let t0 = Instant::now();
    let frames = rotating_mip(&l.volume, &params, None, progress)?;
    let project_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let bytes = encode_gif(&frames, side, side, DELAY_CS)?;
    write_atomic(&a.out, |w| w.write_all(&bytes))
        .with_context(|| format!("writing {:?}", a.out))?;
    if let Some(dir) = &a.frames_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {dir:?}"))?;
        write_png_frames(dir, &frames, u32::from(side), u32::from(side))?;
    }
    let write_s = t1.elapsed().as_secs_f64();
    timing(l.load_s, project_s);
    eprintln!(
        "wrote {:?}: {} frames of {side}×{side} px every {}°, window {centre_hu}/{width_hu} HU; \
         projection {project_s:.3} s, encoding and writing {write_s:.3} s",
        a.out,
        frames.len(),
        a.step,
    );
    Ok(())
}
