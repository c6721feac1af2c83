//! Sheets of evaluated slices: each tile the CT slice in the lung window, in physical aspect,
//! with the agreement drawn over it (green: both, red: predicted only, blue: label only) and a
//! caption with the case, slice and Dice.

use image::imageops::{FilterType, resize};
use image::{Rgb, RgbImage};

use super::eval::CaseEval;
use crate::export::overlay::{blend_over_grey, square_pixels};
use crate::figure::{TextStyle, draw_text, fill_rect, text_size};

/// Lung window: centre and width in HU.
const WINDOW_HU: (f32, f32) = (-600.0, 1500.0);
/// Tile side in pixels.
const TILE_PX: u32 = 256;
const GAP_PX: u32 = 4;
const TITLE_PX: u32 = 24;
const BACKGROUND: Rgb<u8> = Rgb([24, 24, 32]);
const CAPTION: Rgb<u8> = Rgb([255, 210, 0]);
const BOTH: [u8; 4] = [40, 200, 60, 110];
const PREDICTED_ONLY: [u8; 4] = [235, 40, 40, 170];
const LABEL_ONLY: [u8; 4] = [40, 120, 255, 170];

/// One row of tiles for `picks` (`(case index, z)`), titled.
pub fn slice_sheet(cases: &[CaseEval], picks: &[(usize, usize)], title: &str) -> RgbImage {
    let n = picks.len().max(1) as u32;
    let width = n * TILE_PX + (n + 1) * GAP_PX;
    let height = TITLE_PX + TILE_PX + 2 * GAP_PX;
    let mut sheet = RgbImage::from_pixel(width, height, BACKGROUND);
    let legend = format!("{title} (green: both, red: UNet only, blue: label only)");
    draw_text(
        &mut sheet,
        &legend,
        i64::from(GAP_PX),
        4,
        TextStyle::new(15.0, CAPTION),
    );
    for (k, &(case, z)) in picks.iter().enumerate() {
        let Some(c) = cases.get(case) else { continue };
        let tile = slice_tile(c, z);
        let x0 = GAP_PX + k as u32 * (TILE_PX + GAP_PX) + (TILE_PX - tile.width()) / 2;
        let y0 = TITLE_PX + GAP_PX + (TILE_PX - tile.height()) / 2;
        image::imageops::overlay(&mut sheet, &tile, i64::from(x0), i64::from(y0));
    }
    sheet
}

/// One slice with its overlay, fitted into a `TILE_PX` square, captioned.
fn slice_tile(case: &CaseEval, z: usize) -> RgbImage {
    let [_, rows, cols] = case.ct.shape();
    let (centre, width) = WINDOW_HU;
    let low = centre - width / 2.0;
    let mut grey = Vec::with_capacity(rows * cols);
    let mut rgba = Vec::with_capacity(rows * cols * 4);
    for r in 0..rows {
        for c in 0..cols {
            let hu = case.ct.voxels.get_hu(z, r, c).unwrap_or(-1000.0);
            grey.push((((hu - low) / width).clamp(0.0, 1.0) * 255.0).round() as u8);
            let truth = case.truth.get([z, r, c]).is_some_and(|&v| v > 0);
            let predicted = case.predicted.get([z, r, c]).is_some_and(|&v| v > 0);
            rgba.extend(match (predicted, truth) {
                (true, true) => BOTH,
                (true, false) => PREDICTED_ONLY,
                (false, true) => LABEL_ONLY,
                (false, false) => [0; 4],
            });
        }
    }
    let rgb = blend_over_grey(&grey, &rgba);
    let spacing = case.ct.geometry.spacing_mm;
    let (square, _) = square_pixels(&rgb, cols, rows, [spacing.x, spacing.y]);
    let scale = f64::from(TILE_PX) / f64::from(square.width().max(square.height()));
    let (w, h) = (
        ((f64::from(square.width()) * scale).round() as u32).clamp(1, TILE_PX),
        ((f64::from(square.height()) * scale).round() as u32).clamp(1, TILE_PX),
    );
    let mut tile = resize(&square, w, h, FilterType::Triangle);
    let dice = case.slices.get(z).map_or(f64::NAN, |s| s.confusion.dice());
    let caption = format!("{} slice {z}, Dice {dice:.3}", case.volume.case);
    let (cw, ch) = text_size(&caption, 14.0);
    fill_rect(
        &mut tile,
        0,
        0,
        i64::from(cw) + 4,
        i64::from(ch) + 4,
        BACKGROUND,
    );
    draw_text(&mut tile, &caption, 2, 2, TextStyle::new(14.0, CAPTION));
    tile
}
