//! Axial montage ("contact sheet"): every k-th axial slice of a volume,
//! windowed to grey and tiled into one RGB image, each tile labelled with its
//! slice number and z position.
//!
//! Slices are true axial planes in world space, resliced by
//! [`crate::mpr::reslice_window_u8`] and numbered as the viewer numbers them
//! ([`crate::mpr::slice_position`]: index 0 is the most inferior, ascending
//! with LPS z). For a standard axial stack (identity direction) slice `i` is
//! array slice `i` and its pixels are copied exactly at native size; tilted,
//! oblique, coronal or sagittal acquisitions are resampled (trilinear).
//!
//! Display is radiological, as in the viewer: image left = patient right,
//! top = anterior. Tiles keep the physical aspect ratio of the slice. Labels
//! carry no patient identifiers: only slice numbers, z in mm and, on the first
//! tile, the orientation letters. The output is deterministic (bit-identical
//! whatever the thread count).

use glam::DVec3;
use image::{Rgb, RgbImage};
use rayon::prelude::*;

use crate::figure::{TextStyle, draw_text, fill_rect, text_size};
use crate::mpr::{SlicePlane, ViewAxis, point_of_slice, reslice_window_u8, slice_position};
use crate::volume::resample::Interpolation;
use crate::volume::{Geometry, Volume};

/// Pixels between tiles.
pub const GAP_PX: usize = 2;
/// Largest tile width in pixels.
pub const MAX_TILE_PX: usize = 4096;
/// Largest montage in pixels (width × height); tiles shrink to fit.
pub const MAX_MONTAGE_PIXELS: usize = 1 << 26;
/// Most sub-samples per tile pixel and axis when tiles are smaller than the
/// slice (box-filtered, against aliasing).
const MAX_SUPERSAMPLE: usize = 4;

/// Colour between tiles.
pub const GAP_COLOUR: Rgb<u8> = Rgb([24, 24, 32]);
/// Colour of label text.
pub const LABEL_COLOUR: Rgb<u8> = Rgb([255, 210, 0]);
/// Colour of the box behind label text.
pub const LABEL_BACKGROUND: Rgb<u8> = Rgb([0, 0, 0]);

/// Parameters of [`axial_montage`].
#[derive(Clone, Debug, PartialEq)]
pub struct MontageParams {
    /// Show every k-th axial slice (0, k, 2k…); 0 counts as 1.
    pub every: usize,
    /// Tiles per row; 0 = automatic (a near-square image).
    pub columns: usize,
    /// Window centre (level) in HU.
    pub centre_hu: f32,
    /// Window width in HU (at least 1).
    pub width_hu: f32,
    /// Tile width in pixels (at most [`MAX_TILE_PX`]); 0 = the slice's native
    /// width in voxels.
    pub tile_px: usize,
    /// Draw slice numbers, z positions and orientation letters.
    pub label: bool,
}

impl Default for MontageParams {
    /// Every 5th slice, automatic columns, soft-tissue window 40/400 HU,
    /// native tile size, labelled.
    fn default() -> Self {
        Self {
            every: 5,
            columns: 0,
            centre_hu: 40.0,
            width_hu: 400.0,
            tile_px: 0,
            label: true,
        }
    }
}

/// Where everything goes in a montage: computed by [`montage_layout`] without
/// touching voxels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MontageLayout {
    /// Axial slice indices shown, in tile order (row-major).
    pub slices: Vec<usize>,
    /// Number of axial slices through the volume.
    pub slice_count: usize,
    /// Tiles per row.
    pub columns: usize,
    /// Rows of tiles.
    pub rows: usize,
    /// Tile width in pixels.
    pub tile_w: usize,
    /// Tile height in pixels.
    pub tile_h: usize,
    /// Image width in pixels (`columns` tiles, [`GAP_PX`] between them).
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
}

impl MontageLayout {
    /// Top-left pixel of tile `t` (row-major).
    pub fn tile_origin(&self, t: usize) -> (usize, usize) {
        let c = self.columns.max(1);
        (
            (t % c) * (self.tile_w + GAP_PX),
            (t / c) * (self.tile_h + GAP_PX),
        )
    }
}

/// The axial plane covering the volume through the centre (its size and
/// pixel spacing define the native tile).
fn reference_plane(g: &Geometry) -> SlicePlane {
    SlicePlane::through(g, ViewAxis::Axial, g.centre_mm())
}

/// The layout of [`axial_montage`] for a volume of this geometry.
pub fn montage_layout(geometry: &Geometry, p: &MontageParams) -> MontageLayout {
    let every = p.every.max(1);
    let empty = geometry.dims.contains(&0);
    let slice_count = if empty {
        0
    } else {
        slice_position(geometry, ViewAxis::Axial, geometry.centre_mm()).1
    };
    let slices: Vec<usize> = (0..slice_count).step_by(every).collect();
    let n = slices.len();
    if n == 0 {
        return MontageLayout {
            slices,
            slice_count,
            columns: 0,
            rows: 0,
            tile_w: 0,
            tile_h: 0,
            width: 1,
            height: 1,
        };
    }
    let plane = reference_plane(geometry);
    let [ext_u, ext_v] = plane.extent_mm();
    let aspect = if ext_u > 0.0 && ext_v.is_finite() {
        ext_v / ext_u
    } else {
        1.0
    };
    let mut tile_w = if p.tile_px == 0 {
        plane.size[0]
    } else {
        p.tile_px
    }
    .clamp(1, MAX_TILE_PX);
    loop {
        let tile_h = ((tile_w as f64 * aspect).round() as usize).clamp(1, 4 * MAX_TILE_PX);
        let columns = if p.columns == 0 {
            let ratio = (tile_h + GAP_PX) as f64 / (tile_w + GAP_PX) as f64;
            ((n as f64 * ratio).sqrt().round() as usize).clamp(1, n)
        } else {
            p.columns.min(n)
        };
        let rows = n.div_ceil(columns);
        let width = columns * tile_w + (columns - 1) * GAP_PX;
        let height = rows * tile_h + (rows - 1) * GAP_PX;
        let pixels = width.saturating_mul(height);
        if pixels <= MAX_MONTAGE_PIXELS || tile_w == 1 {
            return MontageLayout {
                slices,
                slice_count,
                columns,
                rows,
                tile_w,
                tile_h,
                width,
                height,
            };
        }
        let shrink = (MAX_MONTAGE_PIXELS as f64 / pixels as f64).sqrt();
        tile_w = ((tile_w as f64 * shrink).floor() as usize).clamp(1, tile_w - 1);
    }
}

/// Tile every `p.every`-th axial slice of `vol`, windowed to grey, into one
/// image (see the module docs for orientation and numbering). An empty
/// volume gives a 1×1 image.
///
/// ```
/// use hounsfield_core::export::montage::{axial_montage, montage_layout, MontageParams};
/// use hounsfield_core::volume::{Geometry, Volume};
/// let v = Volume::from_i16(ndarray::Array3::zeros((20, 32, 32)), Geometry::identity([20, 32, 32]));
/// let p = MontageParams::default();
/// let img = axial_montage(&v, &p);
/// let l = montage_layout(&v.geometry, &p);
/// assert_eq!(l.slices, [0, 5, 10, 15]);
/// assert_eq!((l.columns, l.rows), (2, 2));
/// assert_eq!((img.width() as usize, img.height() as usize), (l.width, l.height));
/// ```
pub fn axial_montage(vol: &Volume, p: &MontageParams) -> RgbImage {
    let layout = montage_layout(&vol.geometry, p);
    let mut img = RgbImage::from_pixel(layout.width as u32, layout.height as u32, GAP_COLOUR);
    if layout.slices.is_empty() {
        return img;
    }
    let g = &vol.geometry;
    let reference = reference_plane(g);
    let tiles: Vec<RgbImage> = layout
        .slices
        .par_iter()
        .enumerate()
        .map(|(t, &index)| {
            let point = point_of_slice(g, ViewAxis::Axial, g.centre_mm(), index);
            let mut tile = render_tile(vol, &reference, point, &layout, p);
            if p.label {
                label_tile(&mut tile, index, point.z, t == 0, &reference);
            }
            tile
        })
        .collect();
    for (t, tile) in tiles.iter().enumerate() {
        let (x0, y0) = layout.tile_origin(t);
        image::imageops::replace(&mut img, tile, x0 as i64, y0 as i64);
    }
    img
}

/// One tile: the axial plane through `point` resampled onto the tile grid
/// (pixel centres spread from the first to the last voxel centre), with
/// `k`×`k` box-filtered sub-samples when the tile is smaller than the slice.
fn render_tile(
    vol: &Volume,
    reference: &SlicePlane,
    point: DVec3,
    layout: &MontageLayout,
    p: &MontageParams,
) -> RgbImage {
    let (w, h) = (layout.tile_w, layout.tile_h);
    let k = reference.size[0]
        .div_ceil(w)
        .max(reference.size[1].div_ceil(h))
        .clamp(1, MAX_SUPERSAMPLE);
    let (sw, sh) = (w * k, h * k);
    let step = |n_ref: usize, d_ref: f64, n: usize| {
        let extent = (n_ref.saturating_sub(1)) as f64 * d_ref;
        if n > 1 && extent > 0.0 {
            extent / (n - 1) as f64
        } else {
            d_ref
        }
    };
    let mut plane = SlicePlane::through(&vol.geometry, ViewAxis::Axial, point);
    plane.pixel_mm = [
        step(reference.size[0], reference.pixel_mm[0], sw),
        step(reference.size[1], reference.pixel_mm[1], sh),
    ];
    plane.size = [sw, sh];
    let mut grey = Vec::new();
    reslice_window_u8(
        vol,
        &plane,
        Interpolation::Linear,
        p.centre_hu,
        p.width_hu,
        &mut grey,
    );
    let mut tile = RgbImage::new(w as u32, h as u32);
    if grey.len() != sw * sh {
        return tile;
    }
    let area = (k * k) as u32;
    for (y, row) in tile.rows_mut().enumerate() {
        for (x, px) in row.enumerate() {
            let mut sum = 0u32;
            for sy in 0..k {
                let base = (y * k + sy) * sw + x * k;
                sum += grey[base..base + k]
                    .iter()
                    .map(|&v| u32::from(v))
                    .sum::<u32>();
            }
            let v = ((sum + area / 2) / area) as u8;
            *px = Rgb([v, v, v]);
        }
    }
    tile
}

/// Text size of label `scale` 1 or 2, in pixels.
fn label_px(scale: u32) -> f32 {
    7.0 * scale as f32
}

/// Text drawn on a dark box, if it fits inside the tile.
fn boxed_text(tile: &mut RgbImage, s: &str, x: i64, y: i64, scale: u32) {
    let (w, h) = text_size(s, label_px(scale));
    let (w, h) = (i64::from(w), i64::from(h));
    let pad = i64::from(scale);
    if x < 0
        || y < 0
        || x + w + 2 * pad > i64::from(tile.width())
        || y + h + 2 * pad > i64::from(tile.height())
    {
        return;
    }
    fill_rect(tile, x, y, w + 2 * pad, h + 2 * pad, LABEL_BACKGROUND);
    draw_text(
        tile,
        s,
        x + pad,
        y + pad,
        TextStyle::new(label_px(scale), LABEL_COLOUR),
    );
}

/// Slice number (top left), z in mm (bottom left) and, on the first tile,
/// the orientation letters at the left, right and top edges.
fn label_tile(tile: &mut RgbImage, index: usize, z_mm: f64, first: bool, plane: &SlicePlane) {
    let (w, h) = (i64::from(tile.width()), i64::from(tile.height()));
    let scale = if w >= 160 && h >= 80 { 2 } else { 1 };
    let margin = i64::from(scale);
    boxed_text(tile, &index.to_string(), margin, margin, scale);
    let z = format!("z = {z_mm:.1} mm");
    let zh = i64::from(text_size(&z, label_px(scale)).1) + 2 * i64::from(scale);
    boxed_text(tile, &z, margin, h - zh - margin, scale);
    if first {
        let [left, right, top, _] = plane.edge_letters();
        let (cw, ch) = (
            i64::from(text_size("R", label_px(scale)).0) + 2 * margin,
            zh,
        );
        boxed_text(tile, &left.to_string(), margin, (h - ch) / 2, scale);
        boxed_text(
            tile,
            &right.to_string(),
            w - cw - margin,
            (h - ch) / 2,
            scale,
        );
        boxed_text(tile, &top.to_string(), (w - cw) / 2, margin, scale);
    }
}

#[cfg(test)]
mod tests {
    use glam::DMat3;
    use ndarray::Array3;

    use super::*;

    fn phantom(nz: usize, ny: usize, nx: usize) -> Volume {
        Volume::from_i16(
            Array3::from_elem((nz, ny, nx), -1000),
            Geometry::identity([nz, ny, nx]),
        )
    }

    fn is_grey(p: Rgb<u8>) -> bool {
        p[0] == p[1] && p[1] == p[2]
    }

    #[test]
    fn layout_counts_tiles_and_keeps_physical_aspect() {
        let mut g = Geometry::identity([23, 40, 60]);
        g.spacing_mm = DVec3::new(0.5, 1.0, 2.0);
        let p = MontageParams {
            every: 5,
            ..Default::default()
        };
        let l = montage_layout(&g, &p);
        assert_eq!(l.slices, [0, 5, 10, 15, 20]);
        assert_eq!(l.slice_count, 23);
        // 60 cols × 0.5 mm = 30 mm wide, 40 rows × 1 mm = 40 mm tall.
        assert_eq!((l.tile_w, l.tile_h), (60, 80));
        assert!(l.columns * l.rows >= 5);
        assert_eq!(l.width, l.columns * 60 + (l.columns - 1) * GAP_PX);
        assert_eq!(l.height, l.rows * 80 + (l.rows - 1) * GAP_PX);
        let fixed = montage_layout(
            &g,
            &MontageParams {
                columns: 5,
                tile_px: 30,
                ..p.clone()
            },
        );
        assert_eq!(
            (fixed.columns, fixed.rows, fixed.tile_w, fixed.tile_h),
            (5, 1, 30, 40)
        );
        // More columns than tiles: one row, no empty columns.
        let wide = montage_layout(&g, &MontageParams { columns: 99, ..p });
        assert_eq!((wide.columns, wide.rows), (5, 1));
    }

    #[test]
    fn auto_columns_make_a_near_square_image() {
        let g = Geometry::identity([100, 64, 64]);
        let l = montage_layout(
            &g,
            &MontageParams {
                every: 1,
                ..Default::default()
            },
        );
        assert_eq!((l.columns, l.rows), (10, 10));
        let img = axial_montage(
            &phantom(100, 64, 64),
            &MontageParams {
                every: 1,
                ..Default::default()
            },
        );
        assert_eq!(
            (img.width() as usize, img.height() as usize),
            (l.width, l.height)
        );
    }

    #[test]
    fn bright_marker_slice_lands_in_its_tile() {
        let mut a = Array3::from_elem((30, 16, 24), -1000i16);
        a.slice_mut(ndarray::s![10, .., ..]).fill(1000);
        let v = Volume::from_i16(a, Geometry::identity([30, 16, 24]));
        let p = MontageParams {
            every: 5,
            columns: 3,
            label: false,
            ..Default::default()
        };
        let l = montage_layout(&v.geometry, &p);
        let img = axial_montage(&v, &p);
        assert_eq!(l.slices, [0, 5, 10, 15, 20, 25]);
        for (t, &s) in l.slices.iter().enumerate() {
            let (x0, y0) = l.tile_origin(t);
            let c = *img.get_pixel((x0 + l.tile_w / 2) as u32, (y0 + l.tile_h / 2) as u32);
            let expected = if s == 10 { 255 } else { 0 };
            assert_eq!(c, Rgb([expected; 3]), "tile {t} (slice {s})");
        }
        // Gaps keep their colour.
        assert_eq!(*img.get_pixel(l.tile_w as u32, 0), GAP_COLOUR);
    }

    #[test]
    fn radiological_orientation_and_flipped_directions() {
        // A marker at patient right (low x), anterior (low y): top-left.
        let (nz, ny, nx) = (3, 10, 12);
        let mut a = Array3::from_elem((nz, ny, nx), -1000i16);
        a[[1, 1, 1]] = 1000;
        let p = MontageParams {
            every: 1,
            columns: 3,
            label: false,
            ..Default::default()
        };
        let v = Volume::from_i16(a.clone(), Geometry::identity([nz, ny, nx]));
        let img = axial_montage(&v, &p);
        let l = montage_layout(&v.geometry, &p);
        let (x0, y0) = l.tile_origin(1);
        assert_eq!(img.get_pixel(x0 as u32 + 1, y0 as u32 + 1)[0], 255);
        // The same anatomy stored with columns running right-to-left and rows
        // posterior-to-anterior: display must be identical.
        let flipped = a.slice(ndarray::s![.., ..;-1, ..;-1]).to_owned();
        let mut g = Geometry::identity([nz, ny, nx]);
        g.direction = DMat3::from_cols(DVec3::NEG_X, DVec3::NEG_Y, DVec3::Z);
        g.origin_mm = DVec3::new((nx - 1) as f64, (ny - 1) as f64, 0.0);
        let vf = Volume::from_i16(flipped, g);
        assert_eq!(axial_montage(&vf, &p), img);
    }

    #[test]
    fn labels_are_drawn_and_optional() {
        let v = phantom(12, 100, 200);
        let p = MontageParams {
            every: 4,
            ..Default::default()
        };
        let with = axial_montage(&v, &p);
        let without = axial_montage(
            &v,
            &MontageParams {
                label: false,
                ..p.clone()
            },
        );
        assert!(without.pixels().all(|px| is_grey(*px) || *px == GAP_COLOUR));
        let l = montage_layout(&v.geometry, &p);
        for t in 0..l.slices.len() {
            let (x0, y0) = l.tile_origin(t);
            // Antialiased text: yellow blended onto the black box.
            let yellow = (0..24)
                .flat_map(|y| (0..40).map(move |x| (x, y)))
                .filter(|&(x, y)| {
                    let px = with.get_pixel((x0 + x) as u32, (y0 + y) as u32).0;
                    px[0] > 60 && px[0] >= px[1] && px[2] == 0
                })
                .count();
            assert!(yellow > 10, "tile {t} has no label");
        }
        // Slice "8" differs from "4" in its label only.
        let (x1, y1) = l.tile_origin(1);
        let (x2, y2) = l.tile_origin(2);
        let crop = |x: usize, y: usize| {
            image::imageops::crop_imm(&with, x as u32, y as u32, 40, 24).to_image()
        };
        assert_ne!(crop(x1, y1), crop(x2, y2));
    }

    #[test]
    fn deterministic_and_safe_on_degenerate_input() {
        let v = phantom(7, 9, 11);
        let p = MontageParams {
            every: 0,
            tile_px: 33,
            ..Default::default()
        };
        assert_eq!(axial_montage(&v, &p), axial_montage(&v, &p));
        let empty = Volume::from_i16(Array3::zeros((0, 4, 4)), Geometry::identity([0, 4, 4]));
        assert_eq!(axial_montage(&empty, &p).dimensions(), (1, 1));
        let one = phantom(1, 1, 1);
        assert_eq!(
            axial_montage(&one, &MontageParams::default())
                .dimensions()
                .0,
            1
        );
        let huge = montage_layout(
            &Geometry::identity([2000, 512, 512]),
            &MontageParams {
                every: 1,
                tile_px: MAX_TILE_PX,
                ..Default::default()
            },
        );
        assert!(huge.width * huge.height <= MAX_MONTAGE_PIXELS);
    }
}
