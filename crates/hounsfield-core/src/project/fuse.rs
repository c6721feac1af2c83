//! Overlay fusion: a segmentation projected along the same rays as the CT,
//! so projections (axis MIP/AIP/`MinIP`, slabs, rotating MIP frames) show the
//! label colour where a ray meets a label.
//!
//! **Which label a ray shows**: the highest-priority segment that any voxel
//! the ray passes through belongs to. Priority is the drawing order of
//! [`Segmentation::draw_order`]: lesions above organs, and within a layer the
//! later segment above the earlier one; hidden segments (`visible[i] ==
//! false`) do not count. "Passes through" means the voxel nearest to the ray
//! where it crosses a voxel line (rotating MIP) or layer (axis projections),
//! and for rotating MIP frames any ray within the output pixel's footprint,
//! so a label smaller than a pixel still shows. Labels are per voxel, so
//! there is no interpolation: a pixel shows exactly one segment or none.
//!
//! Fused colour: `(1 − opacity) · grey + opacity · colour` per channel
//! ([`blend`]), over the windowed grey value of the same pixel.
//!
//! Pure and deterministic; imports `seg`, `mpr`, `volume` and the sibling
//! projection modules.

use std::sync::atomic::AtomicBool;

use ndarray::Array3;
use rayon::prelude::*;

use super::rotate::{Progress, RotateError, RotatingMipParams, render};
use super::{ProjectionMode, Slab, project};
use crate::mpr::labels::LabelImage;
use crate::mpr::{SlicePlane, ViewAxis, point_of_slice, reslice, slice_position};
use crate::seg::Segmentation;
use crate::volume::resample::Interpolation;
use crate::volume::{Geometry, Volume};

/// Largest position difference (mm) and direction/spacing difference
/// (relative) for "the segmentation is on the volume's grid".
const GRID_TOL: f64 = 1e-3;

/// How overlays are fused.
#[derive(Clone, Debug, PartialEq)]
pub struct FuseParams {
    /// Opacity of label colours over the grey image, `0..=1`.
    pub opacity: f32,
    /// Per segment: shown at all (missing entries: shown).
    pub visible: Vec<bool>,
}

impl Default for FuseParams {
    /// Opacity 0.5, every segment shown.
    fn default() -> Self {
        Self {
            opacity: 0.5,
            visible: Vec::new(),
        }
    }
}

/// Why fusion failed.
#[derive(Debug, thiserror::Error)]
pub enum FuseError {
    /// The segmentation is not on the volume's grid.
    #[error("the segmentation grid ({seg}) differs from the volume's ({volume})")]
    GridMismatch {
        /// The segmentation's grid.
        seg: String,
        /// The volume's grid.
        volume: String,
    },
    /// The opacity is not in `0..=1`.
    #[error("opacity must be in 0..=1, got {0}")]
    BadOpacity(f32),
    /// The projection itself failed.
    #[error(transparent)]
    Rotate(#[from] RotateError),
}

/// Rotating MIP frames with their overlay.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedFrames {
    /// Side of the square frames in pixels.
    pub size: usize,
    /// Windowed grey frames, `size × size` bytes each, row-major.
    pub grey: Vec<Vec<u8>>,
    /// Per frame and pixel, `1 +` the index of the segment shown (0 =
    /// none); empty without a segmentation.
    pub labels: Vec<Vec<u16>>,
    /// Colour of each segment (by index).
    pub colours: Vec<[u8; 3]>,
    /// Opacity of the colours.
    pub opacity: f32,
}

impl FusedFrames {
    /// Whether any pixel of any frame shows a segment.
    pub fn has_overlay(&self) -> bool {
        self.labels.iter().any(|f| f.iter().any(|&l| l > 0))
    }

    /// Label every frame with its rotation angle (`0°`, `10°`, … for
    /// `step_deg` 10) in its top-left corner: light text on a dark box,
    /// sized for the frame, with no overlay colour under it.
    pub fn label_angles(&mut self, step_deg: f64) {
        let n = self.size;
        let px = (n as f32 / 24.0).max(11.0);
        let pad = (px / 4.0).ceil() as i64;
        for (k, grey) in self.grey.iter_mut().enumerate() {
            let text = format!("{:.0}°", k as f64 * step_deg);
            let (tw, th) = crate::figure::text_size(&text, px);
            let (bw, bh) = (
                (i64::from(tw) + 2 * pad).min(n as i64),
                (i64::from(th) + 2 * pad).min(n as i64),
            );
            for y in 0..bh as usize {
                for x in 0..bw as usize {
                    let i = y * n + x;
                    if let Some(p) = grey.get_mut(i) {
                        *p = 0;
                    }
                    if let Some(l) = self.labels.get_mut(k).and_then(|f| f.get_mut(i)) {
                        *l = 0;
                    }
                }
            }
            crate::figure::draw_text_grey(grey, (n, n), &text, (pad, pad), px, 235);
        }
    }

    /// Frame `f` as RGB bytes (3 per pixel), colours blended; `None` past
    /// the last frame.
    pub fn rgb(&self, f: usize) -> Option<Vec<u8>> {
        let grey = self.grey.get(f)?;
        let labels = self.labels.get(f).map_or(&[][..], Vec::as_slice);
        Some(blend_rgb(grey, labels, &self.colours, self.opacity))
    }
}

/// The fused colour of one pixel: `(1 − opacity) · grey + opacity · colour`.
#[inline]
pub fn blend(grey: u8, colour: [u8; 3], opacity: f32) -> [u8; 3] {
    let g = f32::from(grey) * (1.0 - opacity);
    colour.map(|c| (g + f32::from(c) * opacity).round().clamp(0.0, 255.0) as u8)
}

/// RGB bytes of a grey image with labels (`1 +` index into `colours`, 0 =
/// none; an empty `labels` means none) blended in.
pub fn blend_rgb(grey: &[u8], labels: &[u16], colours: &[[u8; 3]], opacity: f32) -> Vec<u8> {
    let mut out = vec![0u8; grey.len() * 3];
    out.par_chunks_mut(3 * 4096)
        .zip(grey.par_chunks(4096))
        .enumerate()
        .for_each(|(chunk, (dst, g))| {
            for (i, (px, &g)) in dst.chunks_exact_mut(3).zip(g).enumerate() {
                let label = labels.get(chunk * 4096 + i).copied().unwrap_or(0);
                let colour = usize::from(label)
                    .checked_sub(1)
                    .and_then(|s| colours.get(s));
                px.copy_from_slice(&match colour {
                    Some(&c) => blend(g, c, opacity),
                    None => [g; 3],
                });
            }
        });
    out
}

/// Per-voxel priority ranks of the visible segments (0 = none, higher is
/// drawn on top) and the segment index of each rank (`order[rank - 1]`).
pub fn priority_ranks(seg: &Segmentation, visible: &[bool]) -> (Array3<u16>, Vec<usize>) {
    let order: Vec<usize> = seg
        .draw_order()
        .into_iter()
        .filter(|&i| visible.get(i).copied().unwrap_or(true))
        .collect();
    let mut rank_of = vec![0u16; seg.segments.len() + 1];
    for (r, &i) in order.iter().enumerate() {
        rank_of[i + 1] = u16::try_from(r + 1).unwrap_or(u16::MAX);
    }
    let ranks = seg
        .composite(visible)
        .mapv(|v| rank_of.get(usize::from(v)).copied().unwrap_or(0));
    (ranks, order)
}

/// Rank images back to `1 +` segment index.
fn labels_of_ranks(ranks: &mut [u16], order: &[usize]) {
    ranks.par_iter_mut().for_each(|r| {
        *r = usize::from(*r)
            .checked_sub(1)
            .and_then(|k| order.get(k))
            .map_or(0, |&i| u16::try_from(i + 1).unwrap_or(u16::MAX));
    });
}

/// Whether two grids coincide (same dims, positions within [`GRID_TOL`]).
fn same_grid(a: &Geometry, b: &Geometry) -> bool {
    let close = |x: glam::DVec3, y: glam::DVec3, tol: f64| (x - y).abs().max_element() <= tol;
    a.dims == b.dims
        && close(a.origin_mm, b.origin_mm, GRID_TOL)
        && close(
            a.spacing_mm,
            b.spacing_mm,
            GRID_TOL * a.spacing_mm.abs().max_element(),
        )
        && (0..3).all(|c| close(a.direction.col(c), b.direction.col(c), GRID_TOL))
}

fn check_grid(seg: &Segmentation, vol: &Volume) -> Result<(), FuseError> {
    if same_grid(&seg.geometry, &vol.geometry) {
        return Ok(());
    }
    let show = |g: &Geometry| {
        format!(
            "{:?} voxels, spacing {:.3?} mm, origin {:.2?} mm, {}",
            g.dims,
            g.spacing_mm.to_array(),
            g.origin_mm.to_array(),
            g.orientation_code()
        )
    };
    Err(FuseError::GridMismatch {
        seg: show(&seg.geometry),
        volume: show(&vol.geometry),
    })
}

/// Rotating MIP frames of `vol` (see [`super::rotate`]) with `seg` (on the
/// volume's grid) projected along the same rays; without a segmentation the
/// frames of [`super::rotate::rotating_mip`] and no labels.
///
/// `cancel` and `progress` as in [`super::rotate::rotating_mip`] (the label
/// sweep adds one step per slice to the total).
pub fn rotating_mip_fused(
    vol: &Volume,
    seg: Option<&Segmentation>,
    p: &RotatingMipParams,
    fuse: &FuseParams,
    cancel: Option<&AtomicBool>,
    progress: Option<Progress<'_>>,
) -> Result<FusedFrames, FuseError> {
    if !(0.0..=1.0).contains(&fuse.opacity) {
        return Err(FuseError::BadOpacity(fuse.opacity));
    }
    let colours = seg.map_or_else(Vec::new, |s| {
        s.segments.iter().map(|x| x.colour_rgb).collect()
    });
    let ranks = match seg {
        Some(s) => {
            check_grid(s, vol)?;
            let (ranks, order) = priority_ranks(s, &fuse.visible);
            (!order.is_empty()).then_some((ranks, order))
        }
        None => None,
    };
    let r = render(vol, ranks.as_ref().map(|(r, _)| r), p, cancel, progress)?;
    let mut labels = r.ranks;
    if let Some((_, order)) = &ranks {
        for f in &mut labels {
            labels_of_ranks(f, order);
        }
    }
    Ok(FusedFrames {
        size: p.size,
        grey: r.grey,
        labels,
        colours,
        opacity: fuse.opacity,
    })
}

/// Whether the grid's voxel axes run along world axes (no shear): then
/// [`project`] places pixel centres on voxel centres and returns exact
/// voxel values.
fn axis_aligned(g: &Geometry) -> bool {
    (0..3).all(|c| {
        let d = g.direction.col(c).abs();
        let big = d.max_element();
        (big - 1.0).abs() < 1e-9 && d.element_sum() - big < 1e-9
    })
}

/// The top segment along each ray of an axis projection of `seg` (along
/// `axis`, whole volume or one slab), on the grid of
/// [`projection_plane`](super::projection_plane) of the segmentation's
/// geometry: `1 +` the index of the highest-priority visible segment among
/// the voxels the ray passes (0 = none).
pub fn project_labels(
    seg: &Segmentation,
    axis: ViewAxis,
    slab: Option<&Slab>,
    visible: &[bool],
) -> LabelImage {
    let g = &seg.geometry;
    let plane = super::projection_plane(g, axis);
    let [width, height] = plane.size;
    let (ranks, order) = priority_ranks(seg, visible);
    let rank_vol = Volume::from_i16(ranks.mapv(|r| i16::try_from(r).unwrap_or(i16::MAX)), *g);
    let best: Vec<f32> = if axis_aligned(g) {
        project(&rank_vol, axis, ProjectionMode::Max, slab).data
    } else {
        nearest_layers_max(&rank_vol, axis, slab, width * height)
    };
    let mut data: Vec<u16> = best
        .iter()
        .map(|&v| if v.is_nan() { 0 } else { v.round() as u16 })
        .collect();
    labels_of_ranks(&mut data, &order);
    LabelImage {
        width,
        height,
        data,
    }
}

/// Maximum of nearest-neighbour reslices one scroll step apart (oblique and
/// sheared grids); `NaN` where no layer has a sample.
fn nearest_layers_max(vol: &Volume, axis: ViewAxis, slab: Option<&Slab>, len: usize) -> Vec<f32> {
    let g = &vol.geometry;
    let centre = g.centre_mm();
    let dir = axis.scroll_dir();
    let (_, count, _) = slice_position(g, axis, centre);
    let mut best = vec![f32::NAN; len];
    for k in 0..count {
        let point = point_of_slice(g, axis, centre, k);
        if let Some(s) = slab
            && (point - s.centre_mm).dot(dir).abs() > s.thickness_mm.max(0.0) / 2.0 + 1e-6
        {
            continue;
        }
        let img = reslice(
            vol,
            &SlicePlane::through(g, axis, point),
            Interpolation::Nearest,
        );
        best.par_iter_mut()
            .zip(img.data.par_iter())
            .for_each(|(b, &v)| {
                if !v.is_nan() && (b.is_nan() || v > *b) {
                    *b = v;
                }
            });
    }
    best
}

#[cfg(test)]
mod tests;
