//! `hounsfield montage`: every k-th axial slice of a series tiled into one
//! PNG (radiological display, slice numbers, no patient identifiers).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;

use super::{SeriesInput, load_input, timing};
use crate::export::montage::{MAX_TILE_PX, MontageParams, axial_montage, montage_layout};
use crate::volume::window;

/// Arguments of `montage`.
#[derive(Debug, Args)]
pub struct MontageArgs {
    /// The series to tile.
    #[command(flatten)]
    pub source: SeriesInput,
    /// Output PNG file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Show every k-th axial slice (0, k, 2k...).
    #[arg(long, default_value_t = 5)]
    pub every: usize,
    /// Tiles per row (0: automatic, a near-square image).
    #[arg(long, default_value_t = 0)]
    pub columns: usize,
    /// Window `centre,width` in HU [default: 40,400].
    #[arg(long, allow_hyphen_values = true, conflicts_with = "preset")]
    pub window: Option<String>,
    /// Window preset: liver, abdomen, lung, bone, brain or mediastinum.
    #[arg(long)]
    pub preset: Option<String>,
    /// Tile width in pixels (0: the slice's native width).
    #[arg(long, default_value_t = 0)]
    pub tile: usize,
    /// Leave out slice numbers, z positions and orientation letters.
    #[arg(long)]
    pub no_labels: bool,
}

/// Parse `centre,width` (HU); the width must be positive.
pub fn parse_window(s: &str) -> anyhow::Result<(f32, f32)> {
    let v: Vec<f32> = s
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--window must be centre,width in HU, got {s:?}"))?;
    match v[..] {
        [c, w] if c.is_finite() && w.is_finite() && w > 0.0 => Ok((c, w)),
        _ => bail!("--window must be centre,width in HU with width > 0, got {s:?}"),
    }
}

/// The window of `--window centre,width` or `--preset NAME`, else `default`.
pub fn window_arg(
    window: Option<&str>,
    preset: Option<&str>,
    default: (f32, f32),
) -> anyhow::Result<(f32, f32)> {
    if let Some(w) = window {
        return parse_window(w);
    }
    let Some(name) = preset else {
        return Ok(default);
    };
    let Some(p) = window::preset(name) else {
        let names: Vec<String> = window::presets().into_iter().map(|p| p.name).collect();
        bail!(
            "unknown window preset {name:?} (known: {})",
            names.join(", ")
        );
    };
    Ok((p.centre_hu, p.width_hu))
}

/// Run `montage`: load, tile, write the PNG; a summary on stderr.
pub fn run_montage(a: &MontageArgs) -> anyhow::Result<()> {
    if a.every == 0 {
        bail!("--every must be at least 1");
    }
    if a.tile > MAX_TILE_PX {
        bail!("--tile must be at most {MAX_TILE_PX} pixels");
    }
    let (centre_hu, width_hu) = {
        let d = MontageParams::default();
        window_arg(
            a.window.as_deref(),
            a.preset.as_deref(),
            (d.centre_hu, d.width_hu),
        )?
    };
    let params = MontageParams {
        every: a.every,
        columns: a.columns,
        centre_hu,
        width_hu,
        tile_px: a.tile,
        label: !a.no_labels,
    };
    let l = load_input(&a.source)?;
    let t = Instant::now();
    let layout = montage_layout(&l.volume.geometry, &params);
    if layout.slices.is_empty() {
        bail!("the volume has no axial slices");
    }
    let img = axial_montage(&l.volume, &params);
    let op_s = t.elapsed().as_secs_f64();
    crate::export::write_png(&a.out, &img)?;
    timing(l.load_s, op_s);
    eprintln!(
        "wrote {:?}: {} of {} axial slices (every {}), {}x{} tiles of {}x{} px, {}x{} px, window {centre_hu}/{width_hu} HU",
        a.out,
        layout.slices.len(),
        layout.slice_count,
        a.every,
        layout.columns,
        layout.rows,
        layout.tile_w,
        layout.tile_h,
        img.width(),
        img.height()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_window("40,400").unwrap(), (40.0, 400.0));
        assert_eq!(parse_window(" -600 , 1500 ").unwrap(), (-600.0, 1500.0));
        for bad in ["", "40", "40,0", "40,-5", "a,b", "1,2,3", "nan,400"] {
            assert!(parse_window(bad).is_err(), "{bad:?}");
        }
    }
}
