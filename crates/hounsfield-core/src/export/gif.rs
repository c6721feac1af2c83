//! Animations: an infinitely looping GIF of greyscale frames, optionally with
//! a colour overlay (segment labels blended over the grey), and the same
//! frames as numbered PNG files (grey, or RGB with the overlay).
//!
//! # Palette
//! One global 256-entry palette. Without an overlay (or when no frame shows
//! a label) it is the plain 256-grey ramp and each frame's bytes are its
//! palette indices. With an overlay the palette holds a grey ramp of `G`
//! levels plus, for each segment that appears, `L` blend levels: entry
//! `(segment, level)` is the blend ([`blend`]) of the segment colour over the
//! grey at the centre of that level's band. `L` = 64 / segments (at most 8,
//! at least 1), `G` = 256 − segments · `L` ≥ 192 for up to 64 segments (≥ 128
//! up to 128 segments; beyond, the extra segments take the palette colour
//! nearest to their own). Grey level `i` is `round(i · 255 / (G − 1))`, so
//! black and white stay exact (frame corners of air are index and value 0).
//!
//! LZW compression runs per frame in parallel (rayon); frames are written
//! in order. Files are written atomically (`io::write_atomic`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ::gif::{Encoder, EncodingError, Frame, Repeat};
use image::RgbImage;
use rayon::prelude::*;

use super::write_png;
use crate::io::{IoError, write_atomic};
use crate::project::fuse::{blend, blend_rgb};

/// Palette entries used by overlay colours at most.
const MAX_OVERLAY_ENTRIES: usize = 128;
/// Blend levels per segment at most.
const MAX_LEVELS: usize = 8;

/// Why an animation could not be encoded or written.
#[derive(Debug, thiserror::Error)]
pub enum GifError {
    /// No frames were given.
    #[error("no frames to encode")]
    NoFrames,
    /// A frame's byte count does not match width × height.
    #[error("frame {index} has {len} bytes, expected {expected}")]
    BadFrame {
        /// Frame index.
        index: usize,
        /// Its byte count.
        len: usize,
        /// width × height.
        expected: usize,
    },
    /// The overlay does not match the frames.
    #[error("overlay: {0}")]
    BadOverlay(String),
    /// The GIF encoder failed.
    #[error("GIF encoding failed: {0}")]
    Encode(#[from] EncodingError),
    /// Writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// Segment labels to blend over greyscale frames.
#[derive(Clone, Copy, Debug)]
pub struct Overlay<'a> {
    /// Per frame and pixel, `1 +` an index into `colours` (0 = none), the
    /// same shape as the grey frames.
    pub labels: &'a [Vec<u16>],
    /// Colour per segment index.
    pub colours: &'a [[u8; 3]],
    /// Opacity of the colours, `0..=1`.
    pub opacity: f32,
}

fn check_frames(frames: &[Vec<u8>], width: usize, height: usize) -> Result<(), GifError> {
    if frames.is_empty() {
        return Err(GifError::NoFrames);
    }
    let expected = width * height;
    match frames.iter().position(|f| f.len() != expected) {
        Some(index) => Err(GifError::BadFrame {
            index,
            len: frames[index].len(),
            expected,
        }),
        None => Ok(()),
    }
}

fn check_overlay(frames: &[Vec<u8>], o: &Overlay<'_>) -> Result<(), GifError> {
    if o.labels.len() != frames.len() {
        return Err(GifError::BadOverlay(format!(
            "{} label frames for {} frames",
            o.labels.len(),
            frames.len()
        )));
    }
    if let Some(i) = (0..frames.len()).find(|&i| o.labels[i].len() != frames[i].len()) {
        return Err(GifError::BadOverlay(format!(
            "label frame {i} has {} pixels, expected {}",
            o.labels[i].len(),
            frames[i].len()
        )));
    }
    if !(0.0..=1.0).contains(&o.opacity) {
        return Err(GifError::BadOverlay(format!(
            "opacity must be in 0..=1, got {}",
            o.opacity
        )));
    }
    Ok(())
}

/// The global palette of an animation and the map from (grey, label) to
/// palette index.
#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    rgb: Vec<u8>,
    grey_levels: usize,
    levels: usize,
    /// Per label value (`1 +` segment index; entry 0 unused): its first
    /// palette entry, if it has any.
    base: Vec<Option<usize>>,
}

impl Palette {
    /// The plain 256-grey ramp (index = grey value).
    pub fn greyscale() -> Self {
        Self {
            rgb: (0..=255u8).flat_map(|g| [g, g, g]).collect(),
            grey_levels: 256,
            levels: 0,
            base: Vec::new(),
        }
    }

    /// A grey ramp plus blend levels for the segments that appear in
    /// `labels` (see the module docs).
    pub fn for_overlay(o: &Overlay<'_>) -> Self {
        let mut used = vec![false; o.colours.len() + 1];
        for f in o.labels {
            for &l in f {
                if let Some(u) = used.get_mut(usize::from(l)) {
                    *u = true;
                }
            }
        }
        let present: Vec<usize> = (1..used.len()).filter(|&l| used[l]).collect();
        if present.is_empty() {
            return Self::greyscale();
        }
        let with_slot = present.len().min(MAX_OVERLAY_ENTRIES);
        let levels = (64 / with_slot).clamp(1, MAX_LEVELS);
        let grey_levels = 256 - with_slot * levels;
        let mut rgb: Vec<u8> = (0..grey_levels)
            .flat_map(|i| {
                let g = ((i * 255) as f64 / (grey_levels - 1) as f64).round() as u8;
                [g, g, g]
            })
            .collect();
        let mut base = vec![None; used.len()];
        for (slot, &l) in present[..with_slot].iter().enumerate() {
            base[l] = Some(grey_levels + slot * levels);
            for level in 0..levels {
                let centre = ((level as f64 + 0.5) * 256.0 / levels as f64 - 0.5).round() as u8;
                rgb.extend(blend(centre, o.colours[l - 1], o.opacity));
            }
        }
        // Segments beyond the palette share the slot of the nearest colour.
        for &l in &present[with_slot..] {
            let distance = |k: usize| {
                let (a, b) = (o.colours[l - 1], o.colours[k - 1]);
                (0..3)
                    .map(|c| (i32::from(a[c]) - i32::from(b[c])).pow(2))
                    .sum::<i32>()
            };
            base[l] = present[..with_slot]
                .iter()
                .min_by_key(|&&k| distance(k))
                .and_then(|&k| base[k]);
        }
        Self {
            rgb,
            grey_levels,
            levels,
            base,
        }
    }

    /// The palette as `r, g, b` bytes (256 entries).
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// The palette index of a pixel of grey value `grey` showing label
    /// `label` (`1 +` segment index, 0 = none).
    #[inline]
    pub fn index(&self, grey: u8, label: u16) -> u8 {
        if let Some(&Some(b)) = self.base.get(usize::from(label)) {
            return (b + usize::from(grey) * self.levels / 256) as u8;
        }
        if self.grey_levels == 256 {
            grey
        } else {
            ((usize::from(grey) * (self.grey_levels - 1) + 127) / 255) as u8
        }
    }

    /// The colour of palette entry `index`.
    pub fn colour(&self, index: u8) -> [u8; 3] {
        let i = usize::from(index) * 3;
        self.rgb
            .get(i..i + 3)
            .map_or([0; 3], |c| [c[0], c[1], c[2]])
    }
}

/// Encode greyscale frames (row-major bytes, `width × height` each) as a GIF
/// that loops forever, `delay_cs` hundredths of a second per frame, with the
/// 256-grey palette.
pub fn encode_gif(
    frames: &[Vec<u8>],
    width: u16,
    height: u16,
    delay_cs: u16,
) -> Result<Vec<u8>, GifError> {
    encode_gif_overlay(frames, None, width, height, delay_cs)
}

/// Encode greyscale frames with an optional colour overlay (see the module
/// docs for the palette) as a GIF that loops forever.
pub fn encode_gif_overlay(
    frames: &[Vec<u8>],
    overlay: Option<&Overlay<'_>>,
    width: u16,
    height: u16,
    delay_cs: u16,
) -> Result<Vec<u8>, GifError> {
    check_frames(frames, usize::from(width), usize::from(height))?;
    if let Some(o) = overlay {
        check_overlay(frames, o)?;
    }
    let palette = overlay.map_or_else(Palette::greyscale, Palette::for_overlay);
    let encoded: Vec<Frame<'_>> = frames
        .par_iter()
        .enumerate()
        .map(|(i, grey)| {
            let buffer = match overlay {
                Some(o) if palette.levels > 0 => Cow::Owned(
                    grey.iter()
                        .zip(&o.labels[i])
                        .map(|(&g, &l)| palette.index(g, l))
                        .collect(),
                ),
                _ => Cow::Borrowed(grey.as_slice()),
            };
            let mut frame = Frame {
                width,
                height,
                delay: delay_cs,
                buffer,
                ..Frame::default()
            };
            frame.make_lzw_pre_encoded();
            frame
        })
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = Encoder::new(&mut out, width, height, palette.rgb())?;
        encoder.set_repeat(Repeat::Infinite)?;
        for frame in &encoded {
            encoder.write_lzw_pre_encoded_frame(frame)?;
        }
        encoder.into_inner()?;
    }
    Ok(out)
}

/// [`encode_gif_overlay`] written atomically to `path`.
pub fn write_gif(
    path: &Path,
    frames: &[Vec<u8>],
    overlay: Option<&Overlay<'_>>,
    width: u16,
    height: u16,
    delay_cs: u16,
) -> Result<(), GifError> {
    let bytes = encode_gif_overlay(frames, overlay, width, height, delay_cs)?;
    write_atomic(path, |w| w.write_all(&bytes))?;
    Ok(())
}

/// Write greyscale frames as `frame_000.png`, `frame_001.png`, … in `dir`
/// (which must exist), each atomically; returns the paths written.
pub fn write_png_frames(
    dir: &Path,
    frames: &[Vec<u8>],
    width: u32,
    height: u32,
) -> Result<Vec<PathBuf>, GifError> {
    write_png_frames_overlay(dir, frames, None, width, height)
}

/// Write frames as numbered PNG files (see [`write_png_frames`]): RGB with
/// the overlay blended exactly (no palette) when one is given.
pub fn write_png_frames_overlay(
    dir: &Path,
    frames: &[Vec<u8>],
    overlay: Option<&Overlay<'_>>,
    width: u32,
    height: u32,
) -> Result<Vec<PathBuf>, GifError> {
    check_frames(frames, width as usize, height as usize)?;
    if let Some(o) = overlay {
        check_overlay(frames, o)?;
    }
    frames
        .par_iter()
        .enumerate()
        .map(|(i, grey)| {
            let rgb = match overlay {
                Some(o) => blend_rgb(grey, &o.labels[i], o.colours, o.opacity),
                None => blend_rgb(grey, &[], &[], 0.0),
            };
            let img = RgbImage::from_raw(width, height, rgb).ok_or(GifError::BadFrame {
                index: i,
                len: grey.len(),
                expected: width as usize * height as usize,
            })?;
            let path = dir.join(format!("frame_{i:03}.png"));
            write_png(&path, &img)?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grey frames, label frames, colours.
    type Case = (Vec<Vec<u8>>, Vec<Vec<u16>>, Vec<[u8; 3]>);

    fn overlay_case() -> Case {
        let grey = vec![(0..=255u8).collect::<Vec<u8>>(); 2];
        let labels = vec![
            (0..256).map(|i| u16::from(i >= 128)).collect(),
            (0..256).map(|i| if i % 2 == 0 { 3 } else { 0 }).collect(),
        ];
        (grey, labels, vec![[40, 200, 60], [1, 2, 3], [235, 30, 30]])
    }

    #[test]
    fn greyscale_palette_is_the_identity() {
        let p = Palette::greyscale();
        for g in 0..=255u8 {
            assert_eq!(p.index(g, 0), g);
            assert_eq!(p.colour(g), [g; 3]);
        }
    }

    #[test]
    fn overlay_palette_keeps_black_white_and_blends_used_segments() {
        let (_, labels, colours) = overlay_case();
        let o = Overlay {
            labels: &labels,
            colours: &colours,
            opacity: 0.5,
        };
        let p = Palette::for_overlay(&o);
        assert_eq!(p.rgb().len(), 768);
        // Two segments used (1 and 3): 32 levels is capped at 8 → 240 greys.
        assert_eq!((p.grey_levels, p.levels), (240, 8));
        assert_eq!(p.colour(p.index(0, 0)), [0, 0, 0]);
        assert_eq!(p.colour(p.index(255, 0)), [255, 255, 255]);
        for g in [0u8, 77, 128, 255] {
            let c = p.colour(p.index(g, 3));
            let exact = blend(g, [235, 30, 30], 0.5);
            for k in 0..3 {
                assert!(c[k].abs_diff(exact[k]) <= 9, "{g}: {c:?} vs {exact:?}");
            }
            let grey = p.colour(p.index(g, 0))[0];
            assert!(grey.abs_diff(g) <= 1);
        }
        // Segment 2 never appears: no entries, drawn grey.
        assert_eq!(p.index(100, 2), p.index(100, 0));
    }

    #[test]
    fn many_segments_share_the_palette() {
        let n = 200;
        let colours: Vec<[u8; 3]> = (0..n).map(|i| [i as u8, 255 - i as u8, 7]).collect();
        let labels = vec![(1..=n as u16).collect::<Vec<u16>>()];
        let o = Overlay {
            labels: &labels,
            colours: &colours,
            opacity: 1.0,
        };
        let p = Palette::for_overlay(&o);
        assert_eq!((p.grey_levels, p.levels), (128, 1));
        let c = p.colour(p.index(50, 199));
        assert!(c[0] >= 120, "{c:?}");
    }

    #[test]
    fn overlay_gif_decodes_with_colours() {
        let (grey, labels, colours) = overlay_case();
        let o = Overlay {
            labels: &labels,
            colours: &colours,
            opacity: 0.5,
        };
        let bytes = encode_gif_overlay(&grey, Some(&o), 16, 16, 7).unwrap();
        let mut opts = ::gif::DecodeOptions::new();
        opts.set_color_output(::gif::ColorOutput::RGBA);
        let mut dec = opts.read_info(bytes.as_slice()).unwrap();
        assert_eq!(dec.repeat(), Repeat::Infinite);
        let f = dec.read_next_frame().unwrap().unwrap();
        assert_eq!(f.delay, 7);
        let px = |i: usize| [f.buffer[4 * i], f.buffer[4 * i + 1], f.buffer[4 * i + 2]];
        assert_eq!(px(0), [0, 0, 0]);
        let green = px(200);
        assert!(
            green[1] > green[0] + 40 && green[1] > green[2] + 40,
            "{green:?}"
        );
        let f = dec.read_next_frame().unwrap().unwrap();
        let red = f.buffer[4 * 200..4 * 200 + 3].to_vec();
        assert!(red[0] > red[1] + 40, "{red:?}");
        assert!(dec.read_next_frame().unwrap().is_none());
    }

    #[test]
    fn mismatched_overlays_are_refused() {
        let (grey, labels, colours) = overlay_case();
        let o = Overlay {
            labels: &labels[..1],
            colours: &colours,
            opacity: 0.5,
        };
        assert!(matches!(
            encode_gif_overlay(&grey, Some(&o), 16, 16, 10),
            Err(GifError::BadOverlay(_))
        ));
        assert!(matches!(
            encode_gif(&grey, 16, 15, 10),
            Err(GifError::BadFrame { .. })
        ));
        assert!(matches!(encode_gif(&[], 1, 1, 10), Err(GifError::NoFrames)));
    }

    #[test]
    fn png_frames_are_rgb_with_the_overlay() {
        let (grey, labels, colours) = overlay_case();
        let o = Overlay {
            labels: &labels,
            colours: &colours,
            opacity: 0.5,
        };
        let dir = tempfile::tempdir().unwrap();
        let paths = write_png_frames_overlay(dir.path(), &grey, Some(&o), 16, 16).unwrap();
        assert_eq!(paths.len(), 2);
        let img = image::open(&paths[1]).unwrap().to_rgb8();
        assert_eq!(img.get_pixel(0, 0).0, blend(0, [235, 30, 30], 0.5));
        assert_eq!(img.get_pixel(1, 0).0, [1, 1, 1]);
    }
}
