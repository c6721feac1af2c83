//! NRRD (`.nrrd`, `.nhdr` + detached data) volumes: a small reader and writer.
//!
//! Reads 3-D NRRD files (format `NRRD0001`..`NRRD0005`) with `raw` or `gzip`
//! encoding, every scalar `type` spelling of the specification up to 32 bits
//! plus `double`, either byte order, `byte skip` (including `-1` for raw data),
//! `line skip`, and detached data given as one relative `data file`. Writes
//! `short`/`float` CT volumes and `uchar` label maps.
//!
//! # Axes and coordinates
//! NRRD lists axes fastest first: axis 0, 1, 2 = `(col, row, slice)` =
//! `(i, j, k)`, so the samples in file order are exactly our C-order
//! `[z, row, col]` array and `sizes: ncol nrow nslice`. Geometry maps directly:
//! `space directions` are the columns of `world_from_voxel` (direction column =
//! normalised vector, `spacing_mm` = its length), `space origin` is the centre
//! of the first sample.
//!
//! Patient spaces are converted to LPS at this boundary: `right-anterior-superior`
//! (RAS) negates x and y, `left-anterior-superior` (LAS) negates y. Spaces
//! without patient orientation (`scanner-xyz`, `3D-right-handed`,
//! `3D-left-handed`, or only `space dimension: 3`) are taken as LPS. Without
//! any space, `spacings` (default 1 mm) give an axis-aligned grid at the
//! origin.
//!
//! Sizes are checked against [`super::MAX_DATA_BYTES`] and, for raw data,
//! against the file length before allocating; compressed data is read in
//! bounded chunks, so a hostile header gives an error, never an abort.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use glam::DVec3;
use ndarray::Array3;

use self::header::{Header, HeaderError, read_header_lines};
use super::raw;
use super::{ImageVolume, IoError, check_data_size, write_atomic};
use crate::volume::{Geometry, Volume, Voxels};

/// Reads a 3-D NRRD file (attached or detached data) as `[z, row, col]`
/// values in the stored type, with geometry in LPS mm.
///
/// ```no_run
/// let ct = hounsfield_core::io::nrrd::read_nrrd("ct.nrrd".as_ref())?;
/// println!("{:?} voxels, spacing {} mm", ct.geometry.dims, ct.geometry.spacing_mm);
/// # Ok::<(), hounsfield_core::io::IoError>(())
/// ```
pub fn read_nrrd(path: &Path) -> Result<ImageVolume, IoError> {
    let file = File::open(path).map_err(|e| IoError::io("opening", path, e))?;
    let mut reader = BufReader::new(file);
    let lines = read_header_lines(&mut reader).map_err(|e| match e {
        HeaderError::Io(e) => IoError::reading(path, e),
        HeaderError::Format(reason) => IoError::format(path, reason),
    })?;
    let header = Header::parse(&lines, path)?;
    let geometry = header.geometry(path)?;

    let count = header
        .sizes
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let data_bytes = check_data_size(path, count, header.scalar.size())?;

    let dims = [header.sizes[2], header.sizes[1], header.sizes[0]];
    let data = match &header.data_file {
        None => read_payload(&mut reader, &header, data_bytes, dims, path)?,
        Some(data_file) => {
            let data_path = resolve_data_file(path, data_file)?;
            let file = File::open(&data_path).map_err(|e| IoError::io("opening", &data_path, e))?;
            read_payload(
                &mut BufReader::new(file),
                &header,
                data_bytes,
                dims,
                &data_path,
            )?
        }
    };
    Ok(ImageVolume { data, geometry })
}

/// Writes an HU volume as NRRD: `type: short` for `i16` voxels or `float` for
/// `f32`, `space: left-posterior-superior`, `space directions`,
/// `space origin`, `kinds: domain domain domain`, `endian: little`, and
/// `encoding: gzip` or `raw`. The write is atomic.
///
/// ```
/// use hounsfield_core::volume::{Geometry, Volume};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("ct.nrrd");
/// let v = Volume::from_i16(ndarray::Array3::zeros((2, 3, 4)), Geometry::identity([2, 3, 4]));
/// hounsfield_core::io::nrrd::write_nrrd(&path, &v, true).unwrap();
/// let back = hounsfield_core::io::nrrd::read_nrrd(&path).unwrap();
/// assert_eq!(back.geometry, v.geometry);
/// ```
pub fn write_nrrd(path: &Path, volume: &Volume, gzip: bool) -> Result<(), IoError> {
    check_shape(path, volume.shape(), &volume.geometry)?;
    let type_name = match volume.voxels {
        Voxels::I16(_) => "short",
        Voxels::F32(_) => "float",
    };
    let header = header_text(type_name, &volume.geometry, gzip);
    write_atomic(path, |w| {
        write_body(w, &header, gzip, |w| match &volume.voxels {
            Voxels::I16(a) => raw::write_le(w, a),
            Voxels::F32(a) => raw::write_le(w, a),
        })
    })
}

/// Writes a `[z, row, col]` label map on `geometry`'s grid as NRRD
/// (`type: uchar`, otherwise as [`write_nrrd`]). The write is atomic.
pub fn write_nrrd_labels(
    path: &Path,
    labels: &Array3<u8>,
    geometry: &Geometry,
    gzip: bool,
) -> Result<(), IoError> {
    let s = labels.shape();
    check_shape(path, [s[0], s[1], s[2]], geometry)?;
    let header = header_text("uchar", geometry, gzip);
    write_atomic(path, |w| {
        write_body(w, &header, gzip, |w| raw::write_le(w, labels))
    })
}

fn check_shape(path: &Path, shape: [usize; 3], geometry: &Geometry) -> Result<(), IoError> {
    if shape == geometry.dims {
        Ok(())
    } else {
        Err(IoError::ShapeMismatch {
            path: path.to_owned(),
            data: shape,
            geometry: geometry.dims,
        })
    }
}

/// The header text, ending with the blank line that separates it from the
/// data. Numbers use Rust's shortest round-trip formatting, so geometry reads
/// back exactly (up to the normalisation of direction vectors). `type_name` is
/// `short`, `float` or `uchar`; `endian` is written for multi-byte types.
fn header_text(type_name: &str, g: &Geometry, gzip: bool) -> String {
    let [nz, ny, nx] = g.dims;
    let m = g.world_from_voxel().matrix3;
    let v = |a: DVec3| format!("({},{},{})", a.x, a.y, a.z);
    let endian = if type_name == "uchar" {
        ""
    } else {
        "endian: little\n"
    };
    let encoding = if gzip { "gzip" } else { "raw" };
    format!(
        "NRRD0004\n\
         # Complete NRRD file format specification at:\n\
         # http://teem.sourceforge.net/nrrd/format.html\n\
         type: {type_name}\n\
         dimension: 3\n\
         space: left-posterior-superior\n\
         sizes: {nx} {ny} {nz}\n\
         space directions: {} {} {}\n\
         kinds: domain domain domain\n\
         {endian}\
         encoding: {encoding}\n\
         space origin: {}\n\n",
        v(m.x_axis),
        v(m.y_axis),
        v(m.z_axis),
        v(g.origin_mm),
    )
}

fn write_body(
    w: &mut dyn Write,
    header: &str,
    gzip: bool,
    data: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    w.write_all(header.as_bytes())?;
    if gzip {
        let mut gz = GzEncoder::new(w, Compression::fast());
        data(&mut gz)?;
        gz.finish()?;
        Ok(())
    } else {
        data(w)
    }
}

/// A detached data file's path, relative to the header's directory.
fn resolve_data_file(header_path: &Path, data_file: &str) -> Result<PathBuf, IoError> {
    let rel = Path::new(data_file);
    let simple = !data_file.is_empty()
        && !data_file.contains('%')
        && data_file != "LIST"
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !simple {
        return Err(IoError::unsupported(
            header_path,
            format!("NRRD data file {data_file:?} (only one relative file is supported)"),
        ));
    }
    let dir = header_path.parent().unwrap_or(Path::new("."));
    Ok(dir.join(rel))
}

/// Reads the samples from `reader`, positioned where the data (or the lines to
/// skip) begin.
fn read_payload<R: BufRead + Seek>(
    reader: &mut R,
    header: &Header,
    data_bytes: u64,
    dims: [usize; 3],
    path: &Path,
) -> Result<super::ImageData, IoError> {
    let err = |e: io::Error| IoError::reading(path, e);
    let mut line = Vec::new();
    for _ in 0..header.line_skip {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(err)? == 0 {
            return Err(IoError::format(path, "data ends within the skipped lines"));
        }
    }

    if header.gzip {
        let mut decoder = MultiGzDecoder::new(reader);
        let skip = header.byte_skip.unwrap_or(0);
        let skipped = io::copy(&mut (&mut decoder).take(skip), &mut io::sink()).map_err(err)?;
        if skipped < skip {
            return Err(IoError::format(path, "data ends within the skipped bytes"));
        }
        let data =
            raw::read_image_data(&mut decoder, header.scalar, dims, header.order).map_err(err)?;
        // Reach the end of the gzip member so its CRC and length are checked
        // (a stream truncated in its trailer is an error). Further data, if
        // any, is ignored.
        io::copy(&mut decoder.take(1), &mut io::sink()).map_err(err)?;
        return Ok(data);
    }

    let pos = reader.stream_position().map_err(err)?;
    let end = reader.seek(SeekFrom::End(0)).map_err(err)?;
    let start = match header.byte_skip {
        Some(skip) => pos.saturating_add(skip),
        None => end.saturating_sub(data_bytes).max(pos),
    };
    let available = end.saturating_sub(start);
    if available < data_bytes {
        return Err(IoError::format(
            path,
            format!("header declares {data_bytes} bytes of data but the file holds {available}"),
        ));
    }
    reader.seek(SeekFrom::Start(start)).map_err(err)?;
    raw::read_image_data(reader, header.scalar, dims, header.order).map_err(err)
}

mod header;
#[cfg(test)]
mod tests;
