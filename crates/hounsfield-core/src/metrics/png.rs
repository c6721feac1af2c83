//! The overlap of a test mask and a reference on three planes (axial,
//! coronal, sagittal through the centre of their union), over the CT in a
//! window, in radiological display orientation and physical aspect:
//! green = both, red = test only (false positive), blue = reference only
//! (false negative). Returns an image; the caller writes it
//! (`export::write_png`).

use glam::DVec3;
use image::{Rgb, RgbImage};
use ndarray::{Array3, ArrayView3, Zip};

use super::MetricsError;
use crate::figure::{self, TextStyle};
use crate::morph::ops::bounding_box;
use crate::mpr::{SlicePlane, ViewAxis, reslice, reslice_window_u8};
use crate::volume::Volume;
use crate::volume::resample::Interpolation;

/// Parameters of [`overlap_png`].
#[derive(Clone, Debug, PartialEq)]
pub struct OverlapPngParams {
    /// Window centre, HU.
    pub window_centre_hu: f32,
    /// Window width, HU.
    pub window_width_hu: f32,
    /// Opacity of the colours, `0..=1`.
    pub opacity: f32,
    /// Largest side of one panel in pixels (larger planes are shrunk).
    pub max_panel_px: usize,
    /// Smallest longest side of one panel in pixels (smaller planes are
    /// enlarged, nearest neighbour).
    pub min_panel_px: usize,
}

impl Default for OverlapPngParams {
    /// Lung window (−600 / 1500 HU), opacity 0.5, panels of 256 to 512 px.
    fn default() -> Self {
        Self {
            window_centre_hu: -600.0,
            window_width_hu: 1500.0,
            opacity: 0.5,
            max_panel_px: 512,
            min_panel_px: 256,
        }
    }
}

const HEADER_PX: u32 = 18;
const COLOURS: [[u8; 3]; 3] = [[0, 200, 0], [230, 40, 40], [60, 110, 255]];

/// The overlap picture: three panels side by side with their names and a
/// legend. `test` and `reference` must have the CT's shape.
pub fn overlap_png(
    ct: &Volume,
    test: ArrayView3<'_, bool>,
    reference: ArrayView3<'_, bool>,
    params: &OverlapPngParams,
) -> Result<RgbImage, MetricsError> {
    let dims = ct.shape();
    for m in [test, reference] {
        let s = [m.shape()[0], m.shape()[1], m.shape()[2]];
        if s != dims {
            return Err(MetricsError::Shape {
                test: s,
                reference: dims,
            });
        }
    }
    // 1 = both, 2 = test only, 3 = reference only.
    let mut codes = Array3::<i16>::zeros(dims);
    Zip::from(&mut codes)
        .and(test)
        .and(reference)
        .par_for_each(|c, &t, &r| {
            *c = match (t, r) {
                (true, true) => 1,
                (true, false) => 2,
                (false, true) => 3,
                (false, false) => 0,
            };
        });
    let union = codes.mapv(|c| c != 0);
    let centre = bounding_box(union.view()).map_or_else(
        || ct.geometry.centre_mm(),
        |(lo, hi)| {
            let mid = |a: usize| (lo[a] + hi[a]) as f64 / 2.0;
            ct.geometry
                .world_of_voxel(DVec3::new(mid(2), mid(1), mid(0)))
        },
    );
    let codes = Volume::from_i16(codes, ct.geometry);
    let panels: Vec<RgbImage> = ViewAxis::ALL
        .iter()
        .map(|&axis| panel(ct, &codes, axis, centre, params))
        .collect();
    Ok(compose(&panels))
}

fn panel(
    ct: &Volume,
    codes: &Volume,
    axis: ViewAxis,
    centre: DVec3,
    p: &OverlapPngParams,
) -> RgbImage {
    let plane = SlicePlane::through(&ct.geometry, axis, centre);
    let mut grey = Vec::new();
    reslice_window_u8(
        ct,
        &plane,
        Interpolation::Nearest,
        p.window_centre_hu,
        p.window_width_hu,
        &mut grey,
    );
    let code = reslice(codes, &plane, Interpolation::Nearest);
    let [w, h] = plane.size;
    let [du, dv] = plane.pixel_mm;
    // Square output pixels of the finer plane spacing, the longest side
    // within min_panel_px..=max_panel_px.
    let mut px_mm = du.min(dv);
    let (wm, hm) = (w as f64 * du, h as f64 * dv);
    let longest = wm.max(hm) / px_mm;
    let (lo, hi) = (p.min_panel_px.max(1) as f64, p.max_panel_px.max(1) as f64);
    if longest > hi {
        px_mm *= longest / hi;
    } else if longest < lo {
        px_mm *= longest / lo;
    }
    let ow = ((wm / px_mm).round() as u32).max(1);
    let oh = ((hm / px_mm).round() as u32).max(1);
    let a = p.opacity.clamp(0.0, 1.0);
    RgbImage::from_fn(ow, oh, |x, y| {
        let sx = ((f64::from(x) + 0.5) * px_mm / du).floor() as usize;
        let sy = ((f64::from(y) + 0.5) * px_mm / dv).floor() as usize;
        let (sx, sy) = (sx.min(w - 1), sy.min(h - 1));
        let g = f32::from(grey[sy * w + sx]);
        let c = code.get(sx, sy).unwrap_or(0.0);
        let colour = match c as i32 {
            1 => Some(COLOURS[0]),
            2 => Some(COLOURS[1]),
            3 => Some(COLOURS[2]),
            _ => None,
        };
        match colour {
            None => Rgb([g as u8; 3]),
            Some(k) => Rgb(k.map(|v| (g * (1.0 - a) + f32::from(v) * a).round() as u8)),
        }
    })
}

fn compose(panels: &[RgbImage]) -> RgbImage {
    let gap = 4;
    let width: u32 = panels.iter().map(RgbImage::width).sum::<u32>() + gap * 2;
    let height = panels.iter().map(RgbImage::height).max().unwrap_or(1) + 2 * HEADER_PX;
    let mut img = RgbImage::from_pixel(width.max(360), height, Rgb([0, 0, 0]));
    let mut x0 = 0u32;
    let white = Rgb([230, 230, 230]);
    for (p, axis) in panels.iter().zip(ViewAxis::ALL) {
        figure::draw_text(
            &mut img,
            axis.name(),
            i64::from(x0) + 4,
            1,
            TextStyle::new(14.0, white),
        );
        image::imageops::replace(&mut img, p, i64::from(x0), i64::from(HEADER_PX));
        x0 += p.width() + gap;
    }
    let y = i64::from(height - HEADER_PX + 4);
    let mut x = 4;
    for (label, k) in ["both", "test only", "reference only"].iter().zip(COLOURS) {
        figure::fill_rect(&mut img, x, y + 2, 10, 10, Rgb(k));
        figure::draw_text(&mut img, label, x + 14, y - 1, TextStyle::new(14.0, white));
        x += 14 + i64::from(figure::text_size(label, 14.0).0) + 16;
    }
    img
}
