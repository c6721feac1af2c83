//! A tiny built-in bitmap font: 3×5 pixel glyphs for digits, the capital
//! letters A–Z and a little punctuation, drawn at an integer scale.
//!
//! Used for plot tick labels and montage slice numbers, where pulling in a
//! font rasteriser would be out of proportion. Lower-case letters are drawn
//! as capitals; characters without a glyph are drawn as blanks (they still
//! advance). Pixels outside the image are clipped, never a panic.

use image::{Rgb, RgbImage};

/// Glyph width in font pixels.
pub const GLYPH_W: i64 = 3;
/// Glyph height in font pixels.
pub const GLYPH_H: i64 = 5;
/// Horizontal advance per character in font pixels (glyph + 1 px spacing).
pub const ADVANCE: i64 = GLYPH_W + 1;

/// The 3×5 bitmap of `ch`: one row per `u8`, the 3 low bits with the most
/// significant one on the left. `None` when the font has no glyph (space
/// included).
pub fn glyph(ch: char) -> Option<[u8; 5]> {
    let g = match ch.to_ascii_uppercase() {
        '0' | 'O' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [7, 4, 5, 5, 7],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 7],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [5, 7, 7, 7, 5],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '-' => [0, 0, 7, 0, 0],
        '+' => [0, 2, 7, 2, 0],
        '=' => [0, 7, 0, 7, 0],
        '.' => [0, 0, 0, 0, 2],
        ',' => [0, 0, 0, 2, 4],
        ':' => [0, 2, 0, 2, 0],
        '/' => [1, 1, 2, 4, 4],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        '%' => [5, 1, 2, 4, 5],
        '#' => [5, 7, 5, 7, 5],
        '_' => [0, 0, 0, 0, 7],
        _ => return None,
    };
    Some(g)
}

/// Width in image pixels of `s` drawn at `scale` (no trailing spacing).
pub fn text_width(s: &str, scale: u32) -> i64 {
    let n = s.chars().count() as i64;
    (n * ADVANCE - 1).max(0) * i64::from(scale.max(1))
}

/// Height in image pixels of one line of text at `scale`.
pub fn text_height(scale: u32) -> i64 {
    GLYPH_H * i64::from(scale.max(1))
}

/// Draw `s` with its top-left corner at `(x, y)`, each font pixel a
/// `scale`×`scale` block (`scale` 0 is treated as 1). Clipped to the image.
pub fn draw_text(img: &mut RgbImage, s: &str, x: i64, y: i64, scale: u32, colour: Rgb<u8>) {
    let sc = i64::from(scale.max(1));
    for (k, ch) in s.chars().enumerate() {
        let Some(g) = glyph(ch) else { continue };
        let ox = x + k as i64 * ADVANCE * sc;
        for (row, bits) in g.iter().enumerate() {
            for col in 0..GLYPH_W {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                let (px, py) = (ox + col * sc, y + row as i64 * sc);
                fill_rect(img, px, py, sc, sc, colour);
            }
        }
    }
}

/// Draw `s` at 2× scale (8 px advance, 10 px tall), the plot label size.
pub fn text(img: &mut RgbImage, s: &str, x: i64, y: i64, colour: Rgb<u8>) {
    draw_text(img, s, x, y, 2, colour);
}

/// Fill a `w`×`h` rectangle with its top-left corner at `(x, y)`, clipped to
/// the image.
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

#[cfg(test)]
mod tests {
    use super::*;

    const INK: Rgb<u8> = Rgb([255, 0, 0]);

    #[test]
    fn every_capital_and_digit_has_a_glyph() {
        for ch in ('A'..='Z').chain('0'..='9').chain("-./:".chars()) {
            let g = glyph(ch).unwrap_or_else(|| panic!("no glyph for {ch:?}"));
            assert!(g.iter().any(|&r| r != 0), "{ch:?} is blank");
            assert!(g.iter().all(|&r| r < 8), "{ch:?} wider than 3 px");
        }
        assert_eq!(glyph('a'), glyph('A'));
        assert_eq!(glyph(' '), None);
    }

    #[test]
    fn text_is_drawn_at_scale_and_clipped() {
        let mut img = RgbImage::new(20, 12);
        text(&mut img, "1", 0, 0, INK);
        // '1' = [2, 6, 2, 2, 7]: the middle column is set in every row.
        for y in 0..10 {
            assert_eq!(*img.get_pixel(2, y), INK, "row {y}");
            assert_eq!(*img.get_pixel(3, y), INK, "row {y}");
        }
        // Top-left font pixel of '1' is off, the bottom row is full.
        assert_eq!(*img.get_pixel(0, 0), Rgb([0, 0, 0]));
        assert_eq!(*img.get_pixel(0, 9), INK);
        // Drawing far outside, or half outside, does not panic.
        draw_text(&mut img, "88", -5, -3, 3, INK);
        draw_text(&mut img, "88", 1000, 1000, 1, INK);
        assert_eq!(text_width("12", 2), 14);
        assert_eq!(text_width("", 2), 0);
        assert_eq!(text_height(2), 10);
    }

    #[test]
    fn unknown_characters_advance_without_ink() {
        let mut a = RgbImage::new(30, 6);
        let mut b = RgbImage::new(30, 6);
        draw_text(&mut a, "1~1", 0, 0, 1, INK);
        draw_text(&mut b, "1 1", 0, 0, 1, INK);
        assert_eq!(a, b);
    }
}
