//! Segmentation overlays on a display plane: which segment is on top at
//! each pixel (nearest voxel), and the RGBA overlay image drawn from it
//! (filled with per-segment opacity, or outlines only).

use glam::DVec3;
use rayon::prelude::*;

use super::SlicePlane;
use crate::seg::Segmentation;

/// Per pixel, `1 +` the index of the top visible segment (0 = none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major values.
    pub data: Vec<u16>,
}

/// How segments are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct OverlayStyle {
    /// Per segment: drawn at all (missing: shown).
    pub visible: Vec<bool>,
    /// Per segment opacity 0..=1 (missing: `default_opacity`).
    pub opacity: Vec<f32>,
    /// Opacity of segments without an entry.
    pub default_opacity: f32,
    /// Draw only the boundary pixels (opaque) instead of filled areas.
    pub outline: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            visible: Vec::new(),
            opacity: Vec::new(),
            default_opacity: 0.45,
            outline: false,
        }
    }
}

impl OverlayStyle {
    /// Whether segment `i` is drawn.
    pub fn is_visible(&self, i: usize) -> bool {
        self.visible.get(i).copied().unwrap_or(true)
    }

    /// Opacity of segment `i`.
    pub fn opacity_of(&self, i: usize) -> f32 {
        self.opacity
            .get(i)
            .copied()
            .unwrap_or(self.default_opacity)
            .clamp(0.0, 1.0)
    }
}

/// The top visible segment at every pixel of `plane` (nearest voxel; lesions
/// above organs, see [`Segmentation::draw_order`]).
pub fn reslice_segments(
    seg: &Segmentation,
    plane: &SlicePlane,
    style: &OverlayStyle,
) -> LabelImage {
    let [width, height] = plane.size;
    let mut data = vec![0u16; width * height];
    let order: Vec<usize> = seg
        .draw_order()
        .into_iter()
        .rev()
        .filter(|&i| style.is_visible(i) && !seg.segments[i].mask.data.is_empty())
        .collect();
    if order.is_empty() || width == 0 {
        return LabelImage {
            width,
            height,
            data,
        };
    }
    let voxel_from_world = seg.geometry.voxel_from_world();
    let [nz, nr, nc] = seg.geometry.dims;
    let to_voxel = |x: f64, y: f64| voxel_from_world.transform_point3(plane.world_of_pixel(x, y));
    data.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let start = to_voxel(0.0, y as f64);
        let step: DVec3 = to_voxel(1.0, y as f64) - start;
        for (x, out) in row.iter_mut().enumerate() {
            let v = (start + step * x as f64).round();
            if v.min_element() < 0.0 {
                continue;
            }
            let (i, j, k) = (v.x as usize, v.y as usize, v.z as usize);
            if i >= nc || j >= nr || k >= nz {
                continue;
            }
            if let Some(&s) = order.iter().find(|&&s| seg.segments[s].mask.get(k, j, i)) {
                *out = u16::try_from(s + 1).unwrap_or(u16::MAX);
            }
        }
    });
    LabelImage {
        width,
        height,
        data,
    }
}

/// Unpremultiplied RGBA (4 bytes per pixel) of a label image: each segment
/// in its colour with its opacity, or (outline mode) only pixels whose
/// 4-neighbourhood holds another value, opaque.
pub fn overlay_rgba(seg: &Segmentation, labels: &LabelImage, style: &OverlayStyle) -> Vec<u8> {
    let (w, h) = (labels.width, labels.height);
    let mut out = vec![0u8; w * h * 4];
    let colour = |v: u16| -> Option<([u8; 3], f32)> {
        let i = usize::from(v).checked_sub(1)?;
        let s = seg.segments.get(i)?;
        Some((s.colour_rgb, style.opacity_of(i)))
    };
    out.par_chunks_mut(w.max(1) * 4)
        .enumerate()
        .for_each(|(y, row)| {
            for x in 0..w {
                let v = labels.data[y * w + x];
                let Some((rgb, opacity)) = colour(v) else {
                    continue;
                };
                let alpha = if style.outline {
                    let differs = |xx: usize, yy: usize| labels.data[yy * w + xx] != v;
                    let edge = x == 0
                        || y == 0
                        || x + 1 == w
                        || y + 1 == h
                        || differs(x - 1, y)
                        || differs(x + 1, y)
                        || differs(x, y - 1)
                        || differs(x, y + 1);
                    if !edge {
                        continue;
                    }
                    1.0f32.max(opacity)
                } else {
                    opacity
                };
                let px = &mut row[x * 4..x * 4 + 4];
                px[..3].copy_from_slice(&rgb);
                px[3] = (alpha * 255.0).round() as u8;
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;
    use crate::mpr::ViewAxis;
    use crate::seg::Segmentation;
    use crate::volume::Geometry;

    fn seg() -> Segmentation {
        let g = Geometry::identity([4, 6, 8]);
        let mut l = Array3::<u16>::zeros(g.dims);
        for r in 1..5 {
            for c in 1..7 {
                l[[2, r, c]] = 6;
            }
        }
        l[[2, 3, 4]] = 7;
        Segmentation::from_label_map(
            l.view(),
            g,
            &[(6, "liver".into()), (7, "tumour".into())],
            "t",
        )
        .unwrap()
    }

    /// The axial slice `z = 2` with default style.
    fn slice_two(s: &Segmentation) -> LabelImage {
        let plane = SlicePlane::through(
            &s.geometry,
            ViewAxis::Axial,
            s.geometry.world_of_voxel(DVec3::new(0.0, 0.0, 2.0)),
        );
        reslice_segments(s, &plane, &OverlayStyle::default())
    }

    #[test]
    fn axial_plane_shows_segments_with_tumour_on_top() {
        let s = seg();
        let img = slice_two(&s);
        assert_eq!((img.width, img.height), (8, 6));
        // Axial display: x = patient right→left = +i, y = anterior→posterior = +j.
        assert_eq!(img.data[3 * 8 + 4], 2); // tumour (index 1)
        assert_eq!(img.data[8 + 1], 1); // liver
        assert_eq!(img.data[0], 0);
        let plane = SlicePlane::through(
            &s.geometry,
            ViewAxis::Axial,
            s.geometry.world_of_voxel(DVec3::new(0.0, 0.0, 2.0)),
        );
        let hidden = OverlayStyle {
            visible: vec![true, false],
            ..OverlayStyle::default()
        };
        // The label map gave the tumour voxel to the tumour only.
        assert_eq!(reslice_segments(&s, &plane, &hidden).data[3 * 8 + 4], 0);
        let rgba = overlay_rgba(&s, &img, &OverlayStyle::default());
        assert_eq!(
            &rgba[(3 * 8 + 4) * 4..(3 * 8 + 4) * 4 + 3],
            &crate::seg::colour::LESION_RED
        );
        assert_eq!(rgba[3], 0); // background transparent
        assert_eq!(rgba[(8 + 1) * 4 + 3], 115); // 0.45 opacity
    }

    #[test]
    fn outline_draws_only_boundaries() {
        let s = seg();
        let img = slice_two(&s);
        let style = OverlayStyle {
            outline: true,
            ..OverlayStyle::default()
        };
        let rgba = overlay_rgba(&s, &img, &style);
        let alpha = |x: usize, y: usize| rgba[(y * 8 + x) * 4 + 3];
        assert_eq!(alpha(1, 1), 255); // liver corner: boundary
        assert_eq!(alpha(2, 2), 0); // liver interior
        assert_eq!(alpha(4, 3), 255); // tumour: differs from its neighbours
        assert_eq!(alpha(3, 3), 255); // liver next to the tumour
    }

    #[test]
    fn other_slices_are_empty() {
        let s = seg();
        let plane = SlicePlane::through(&s.geometry, ViewAxis::Axial, DVec3::ZERO);
        assert!(
            reslice_segments(&s, &plane, &OverlayStyle::default())
                .data
                .iter()
                .all(|&v| v == 0)
        );
    }
}
