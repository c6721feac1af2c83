//! A slice with its segmentation overlay as an RGB picture in physical
//! aspect (square pixels), for `hounsfield seg overlay` and reports.

use image::{Rgb, RgbImage};

use crate::mpr::labels::{OverlayStyle, overlay_rgba, reslice_segments};
use crate::mpr::{SlicePlane, reslice_window_u8};
use crate::seg::Segmentation;
use crate::volume::Volume;
use crate::volume::resample::Interpolation;

/// Largest side of a written picture in pixels.
pub const MAX_SIDE_PX: usize = 8192;

/// Resamples a `width × height` RGB image with pixels of `pixel_mm`
/// (`[du, dv]`) to square pixels of the smaller side (nearest: each output
/// pixel takes the source pixel its centre falls in), enlarged if a side
/// would exceed [`MAX_SIDE_PX`]. Returns the image and its pixel size in mm.
pub fn square_pixels(
    rgb: &[u8],
    width: usize,
    height: usize,
    pixel_mm: [f64; 2],
) -> (RgbImage, f64) {
    let [du, dv] = pixel_mm;
    let (w_mm, h_mm) = (width as f64 * du, height as f64 * dv);
    let mut s = du.min(dv);
    if !(s.is_finite() && s > 0.0) {
        s = 1.0;
    }
    s = s.max(w_mm.max(h_mm) / MAX_SIDE_PX as f64);
    let out_w = ((w_mm / s).round() as usize).clamp(1, MAX_SIDE_PX);
    let out_h = ((h_mm / s).round() as usize).clamp(1, MAX_SIDE_PX);
    let src = |o: usize, step: f64, n: usize| {
        (((o as f64 + 0.5) * s / step) as usize).min(n.saturating_sub(1))
    };
    let cols: Vec<usize> = (0..out_w).map(|x| src(x, du, width)).collect();
    let mut png = RgbImage::new(out_w as u32, out_h as u32);
    if width == 0 || height == 0 {
        return (png, s);
    }
    for oy in 0..out_h {
        let y = src(oy, dv, height);
        for (ox, &x) in cols.iter().enumerate() {
            let i = (y * width + x) * 3;
            png.put_pixel(ox as u32, oy as u32, Rgb([rgb[i], rgb[i + 1], rgb[i + 2]]));
        }
    }
    (png, s)
}

/// Alpha-blends an unpremultiplied RGBA overlay onto grey pixels → RGB.
pub fn blend_over_grey(grey: &[u8], rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(grey.len() * 3);
    for (i, &g) in grey.iter().enumerate() {
        let o = &rgba[i * 4..i * 4 + 4];
        let a = f32::from(o[3]) / 255.0;
        for &c in &o[..3] {
            let v = f32::from(g) * (1.0 - a) + f32::from(c) * a;
            out.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// The plane of `volume` windowed to grey with `seg` drawn over it, in
/// physical aspect; returns the picture and its pixel size in mm.
pub fn slice_with_overlay(
    volume: &Volume,
    seg: Option<&Segmentation>,
    plane: &SlicePlane,
    centre_hu: f32,
    width_hu: f32,
    style: &OverlayStyle,
) -> (RgbImage, f64) {
    let mut grey = Vec::new();
    reslice_window_u8(
        volume,
        plane,
        Interpolation::Nearest,
        centre_hu,
        width_hu,
        &mut grey,
    );
    let [w, h] = plane.size;
    let rgb = match seg {
        Some(seg) => {
            let labels = reslice_segments(seg, plane, style);
            blend_over_grey(&grey, &overlay_rgba(seg, &labels, style))
        }
        None => grey.iter().flat_map(|&g| [g, g, g]).collect(),
    };
    square_pixels(&rgb, w, h, plane.pixel_mm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anisotropic_pixels_become_square() {
        let rgb = vec![10u8, 20, 30, 40, 50, 60];
        let (img, s) = square_pixels(&rgb, 2, 1, [1.0, 3.0]);
        assert_eq!((img.width(), img.height(), s), (2, 3, 1.0));
        assert_eq!(img.get_pixel(1, 2).0, [40, 50, 60]);
    }

    #[test]
    fn blending_mixes_by_alpha() {
        let out = blend_over_grey(&[100, 100], &[255, 0, 0, 0, 255, 0, 0, 255]);
        assert_eq!(out, vec![100, 100, 100, 255, 0, 0]);
    }
}
