//! Pure encoders over image buffers: montages, slices with overlays, GIF
//! animations and PNG files (plots are [`crate::figure`]'s). Writing to
//! disk goes through `io::write_atomic`.

pub mod gif;
pub mod montage;
pub mod overlay;

use std::path::Path;

use crate::io::{IoError, write_atomic};

/// Encode an RGB image as PNG and write it atomically.
pub fn write_png(path: &Path, img: &image::RgbImage) -> Result<(), IoError> {
    write_atomic(path, |w| {
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png)
            .map_err(std::io::Error::other)?;
        w.write_all(buf.get_ref())
    })
}
