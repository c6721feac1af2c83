//! Text on images (captions, scale bars, legends, frame labels) with a real
//! font: glyphs rasterised by `ab_glyph` from the bundled Hack face,
//! antialiased, blended onto the image.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _, point};
use image::{Rgb, RgbImage};

/// Size and colour of drawn text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextStyle {
    /// Height of the em square in pixels (line height is about 1.2×).
    pub px: f32,
    /// Colour.
    pub colour: Rgb<u8>,
}

impl TextStyle {
    /// `px`-high text in `colour`.
    pub fn new(px: f32, colour: Rgb<u8>) -> Self {
        Self { px, colour }
    }

    /// A size that reads well on an image `height` pixels high: 1/40 of it,
    /// at least 11 px.
    pub fn for_image(height: u32, colour: Rgb<u8>) -> Self {
        Self::new((height as f32 / 40.0).max(11.0), colour)
    }
}

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(epaint_default_fonts::HACK_REGULAR).ok())
        .as_ref()
}

/// Width and height in pixels of `text` drawn at `px` (one line).
pub fn text_size(text: &str, px: f32) -> (u32, u32) {
    let Some(f) = font() else { return (0, 0) };
    let s = f.as_scaled(PxScale::from(px));
    let mut w = 0.0f32;
    let mut prev = None;
    for ch in text.chars() {
        let id = s.glyph_id(ch);
        if let Some(p) = prev {
            w += s.kern(p, id);
        }
        w += s.h_advance(id);
        prev = Some(id);
    }
    (w.ceil() as u32, (s.ascent() - s.descent()).ceil() as u32)
}

/// Rasterise `text` at `px` with its top-left corner at `(x, y)`, calling
/// `plot(x, y, coverage)` for every covered pixel (coverage in 0..=1).
fn rasterise(text: &str, x: i64, y: i64, px: f32, mut plot: impl FnMut(i64, i64, f32)) {
    let Some(f) = font() else { return };
    let s = f.as_scaled(PxScale::from(px));
    let baseline = y as f32 + s.ascent();
    let mut caret = x as f32;
    let mut prev = None;
    for ch in text.chars() {
        let id = s.glyph_id(ch);
        if let Some(p) = prev {
            caret += s.kern(p, id);
        }
        let glyph = id.with_scale_and_position(px, point(caret, baseline));
        caret += s.h_advance(id);
        prev = Some(id);
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            plot(
                b.min.x as i64 + i64::from(gx),
                b.min.y as i64 + i64::from(gy),
                coverage.clamp(0.0, 1.0),
            );
        });
    }
}

/// Draw `text` with its top-left corner at `(x, y)`; pixels outside the
/// image are skipped.
pub fn draw_text(img: &mut RgbImage, text: &str, x: i64, y: i64, style: TextStyle) {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    rasterise(text, x, y, style.px, |px, py, a| {
        if px < 0 || py < 0 || px >= w || py >= h {
            return;
        }
        let p = img.get_pixel_mut(px as u32, py as u32);
        for k in 0..3 {
            let v = f32::from(p.0[k]) * (1.0 - a) + f32::from(style.colour.0[k]) * a;
            p.0[k] = v.round() as u8;
        }
    });
}

/// Draw `text` in grey level `value` onto a row-major `width × height`
/// grey image (animation frames).
pub fn draw_text_grey(
    grey: &mut [u8],
    (width, height): (usize, usize),
    text: &str,
    (x, y): (i64, i64),
    px: f32,
    value: u8,
) {
    rasterise(text, x, y, px, |gx, gy, a| {
        if gx < 0 || gy < 0 || gx as usize >= width || gy as usize >= height {
            return;
        }
        if let Some(p) = grey.get_mut(gy as usize * width + gx as usize) {
            *p = (f32::from(*p) * (1.0 - a) + f32::from(value) * a).round() as u8;
        }
    });
}

/// Fill a `w`×`h` rectangle with its top-left corner at `(x, y)`, clipped to
/// the image (the backing box of a caption).
pub fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, colour: Rgb<u8>) {
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    let (x0, y0) = (x.max(0), y.max(0));
    let (x1, y1) = ((x + w).min(iw), (y + h).min(ih));
    for py in y0..y1 {
        for px in x0..x1 {
            img.put_pixel(px as u32, py as u32, colour);
        }
    }
}
