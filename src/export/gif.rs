//! Greyscale animations: an infinitely looping GIF with a 256-grey global
//! palette (each frame's bytes are its palette indices), and the same frames
//! as numbered PNG files.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ::gif::{Encoder, EncodingError, Frame, Repeat};
use image::{Rgb, RgbImage};

use super::write_png;
use crate::io::IoError;

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
    /// The GIF encoder failed.
    #[error("GIF encoding failed: {0}")]
    Encode(#[from] EncodingError),
    /// Writing a PNG frame failed.
    #[error(transparent)]
    Io(#[from] IoError),
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

/// Encode greyscale frames (row-major bytes, `width × height` each) as a GIF
/// that loops forever, `delay_cs` hundredths of a second per frame.
pub fn encode_gif(
    frames: &[Vec<u8>],
    width: u16,
    height: u16,
    delay_cs: u16,
) -> Result<Vec<u8>, GifError> {
    check_frames(frames, usize::from(width), usize::from(height))?;
    let palette: Vec<u8> = (0..=255u8).flat_map(|g| [g, g, g]).collect();
    let mut out = Vec::new();
    {
        let mut encoder = Encoder::new(&mut out, width, height, &palette)?;
        encoder.set_repeat(Repeat::Infinite)?;
        for f in frames {
            let frame = Frame {
                width,
                height,
                delay: delay_cs,
                buffer: Cow::Borrowed(f.as_slice()),
                ..Frame::default()
            };
            encoder.write_frame(&frame)?;
        }
        encoder.into_inner()?;
    }
    Ok(out)
}

/// Write greyscale frames as `frame_000.png`, `frame_001.png`, … in `dir`
/// (which must exist), each atomically; returns the paths written.
pub fn write_png_frames(
    dir: &Path,
    frames: &[Vec<u8>],
    width: u32,
    height: u32,
) -> Result<Vec<PathBuf>, GifError> {
    check_frames(frames, width as usize, height as usize)?;
    let mut paths = Vec::with_capacity(frames.len());
    for (i, f) in frames.iter().enumerate() {
        let img = RgbImage::from_fn(width, height, |x, y| {
            let g = f[y as usize * width as usize + x as usize];
            Rgb([g, g, g])
        });
        let path = dir.join(format!("frame_{i:03}.png"));
        write_png(&path, &img)?;
        paths.push(path);
    }
    Ok(paths)
}
