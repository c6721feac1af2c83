//! NIfTI-1 (`.nii`, `.nii.gz`) volumes, read and written through the `nifti`
//! crate.
//!
//! # Coordinates
//! NIfTI voxel indices `(i, j, k)` are `(col, row, slice)` with `i` fastest in
//! the file, which is exactly the C-order element stream of our `[z, row, col]`
//! arrays. The crate's writer takes arrays indexed `[i, j, k]` (it writes them
//! in Fortran order), so we hand it the reversed-axes *view* of our array (no
//! copy); its streamed reader yields the elements in file order, which fill a
//! `[z, row, col]` array directly. NIfTI world space is **RAS**; our world is
//! LPS, so both affines are converted explicitly with
//! `ras_from_lps = diag(-1, -1, 1)`.
//!
//! # Writing
//! [`write_nifti`] computes the header *fields* and lets
//! [`nifti::writer::WriterOptions`] serialise the header and the voxels
//! (little-endian, single `.nii` file with `vox_offset` 352, gzip-compressed
//! when the name ends in `.gz`). The header carries:
//! - `sform_code = 1` (scanner) with `srow = ras_from_lps · world_from_voxel`,
//!   exact (up to `f32` rounding) for any geometry, including sheared
//!   (gantry-tilted) grids;
//! - `qform_code = 1` with the quaternion of the direction matrix and
//!   `qfac = pixdim[0] = ±1` for right-/left-handed grids. A quaternion cannot
//!   express shear, so for a sheared grid the qform uses the orthonormalised
//!   direction (column and row axes kept, slice axis replaced by their normal);
//!   only the sform is exact there;
//! - `pixdim[1..=3] = spacing_mm`, `xyzt_units` = mm, `scl_slope = 1`,
//!   `scl_inter = 0`, description `Hounsfield`, and datatype `int16` or
//!   `float32` following the voxels. The crate itself sets `dim`,
//!   `datatype`, `bitpix`, `vox_offset`, the scaling pair and the magic from
//!   the data it is given.
//!
//! The write is atomic: the crate writes a temporary file in the target's
//! directory (its name ends in `.nii` or `.nii.gz`, from which the crate
//! derives the format), which is checked, synced and renamed over the target,
//! and removed on any error or panic. The crate drops its `BufWriter` for
//! uncompressed output without reporting a failed final flush, so the
//! temporary file's length is verified before the rename.
//!
//! # Reading
//! [`read_nifti`] parses the header with [`NiftiHeader::from_reader`] (either
//! byte order) and validates it *before* the crate touches the voxels:
//! dimensions, datatype, `vox_offset`, the payload against
//! [`MAX_DATA_BYTES`](super::MAX_DATA_BYTES) and, for uncompressed files,
//! against the file length. The voxels are then decoded by the crate's
//! [`StreamedNiftiVolume`] slice by slice (whole `(i, j)` planes when they are
//! small, rows otherwise), so memory grows with the data actually present,
//! never with what a header merely claims. Values come out in the stored type,
//! unscaled and therefore exact (`i16` stays `I16`, `u8` labels stay `U8`;
//! `i8` widens to `I16` and `u32` to `F64`, both losslessly); compression is
//! detected from the gzip magic, not the file name, and the whole gzip stream
//! is read so its checksum is verified. The geometry comes from the sform when
//! `sform_code > 0`, else the qform when `qform_code > 0`, else from `pixdim`
//! alone (NIfTI "method 1": axis-aligned RAS at the origin). Data with a
//! non-trivial `scl_slope`/`scl_inter` are returned scaled, as `F32` (sources
//! of up to 16 bits and `float32`) or `F64`.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use glam::{DMat3, DQuat, DVec3};
use ndarray::Array3;
use nifti::writer::WriterOptions;
use nifti::{
    DataElement, Endianness, NiftiError, NiftiHeader, NiftiType, StreamedNiftiVolume, Unit, XForm,
};

use super::raw::ScalarType;
use super::{ImageData, ImageVolume, IoError, check_data_size, has_gz_extension};
use crate::volume::{Geometry, Volume, Voxels};

/// Size of the NIfTI-1 header.
const HEADER_BYTES: u64 = 348;
/// Header plus the 4-byte extension flag: where the crate's writer puts the
/// voxels, and the smallest valid `vox_offset` of a single-file image.
const VOX_OFFSET: u64 = 352;
/// Largest `(i, j)` plane read as one slice; larger planes are read by rows.
const MAX_PLANE_BYTES: u64 = 16 << 20;

/// `diag(-1, -1, 1)`: flips LPS to RAS and back.
fn ras_from_lps() -> DMat3 {
    DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0))
}

/// Writes an HU volume as NIfTI-1: `.nii`, or gzip-compressed `.nii` when
/// the file name ends in `.gz`. Both sform and qform are set (see the module
/// docs). The write is atomic.
///
/// ```
/// use hounsfield_core::volume::{Geometry, Volume};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("ct.nii.gz");
/// let v = Volume::from_i16(ndarray::Array3::zeros((2, 3, 4)), Geometry::identity([2, 3, 4]));
/// hounsfield_core::io::nifti::write_nifti(&path, &v).unwrap();
/// let back = hounsfield_core::io::nifti::read_nifti(&path).unwrap();
/// assert_eq!(back.geometry.dims, [2, 3, 4]);
/// ```
pub fn write_nifti(path: &Path, volume: &Volume) -> Result<(), IoError> {
    let [nz, ny, nx] = volume.shape();
    if volume.geometry.dims != [nz, ny, nx] {
        return Err(IoError::ShapeMismatch {
            path: path.to_owned(),
            data: [nz, ny, nx],
            geometry: volume.geometry.dims,
        });
    }
    for n in [nx, ny, nz] {
        if i16::try_from(n).is_err() {
            return Err(IoError::unsupported(
                path,
                format!("axis of {n} voxels (NIfTI-1 allows 32767)"),
            ));
        }
    }
    let datatype = match volume.voxels {
        Voxels::I16(_) => NiftiType::Int16,
        Voxels::F32(_) => NiftiType::Float32,
    };
    let header = nifti_header(&volume.geometry, datatype);
    let gzip = has_gz_extension(path);
    // No overflow: every axis is below 2^15.
    let data_bytes = [nx, ny, nz, datatype.size_of()]
        .iter()
        .map(|&n| n as u64)
        .product::<u64>();
    let expected_len = (!gzip).then_some(VOX_OFFSET + data_bytes);
    write_via_temp(path, gzip, expected_len, |tmp| {
        // The crate writes `[i, j, k]` arrays in Fortran order: the reversed
        // view of our `[z, row, col]` array is that, without a copy.
        let options = WriterOptions::new(tmp)
            .reference_header(&header)
            .compress(gzip);
        match &volume.voxels {
            Voxels::I16(a) => options.write_nifti(&a.view().reversed_axes()),
            Voxels::F32(a) => options.write_nifti(&a.view().reversed_axes()),
        }
    })
}

/// The header fields we own for a geometry (little-endian). `dim`, `bitpix`,
/// `vox_offset` and `magic` are (re)set by the crate's writer from the data.
fn nifti_header(g: &Geometry, datatype: NiftiType) -> NiftiHeader {
    let qform = qform_params(g);
    let (qform_code, bcd, qfac, offset) = match qform {
        Some((bcd, qfac, offset)) => (XForm::ScannerAnat as i16, bcd, qfac, offset),
        None => (XForm::Unknown as i16, DVec3::ZERO, 1.0, DVec3::ZERO),
    };
    let [srow_x, srow_y, srow_z] = sform_rows(g).map(|row| row.map(|v| v as f32));
    let s = g.spacing_mm.as_vec3();
    let mut descrip = b"Hounsfield".to_vec();
    descrip.resize(80, 0);
    NiftiHeader {
        regular: b'r',
        dim: [3, 1, 1, 1, 1, 1, 1, 1],
        datatype: datatype as i16,
        bitpix: (datatype.size_of() * 8) as i16,
        pixdim: [qfac as f32, s.x, s.y, s.z, 1.0, 1.0, 1.0, 1.0],
        vox_offset: VOX_OFFSET as f32,
        scl_slope: 1.0,
        scl_inter: 0.0,
        xyzt_units: Unit::Mm as u8,
        descrip,
        qform_code,
        sform_code: XForm::ScannerAnat as i16,
        quatern_b: bcd.x as f32,
        quatern_c: bcd.y as f32,
        quatern_d: bcd.z as f32,
        quatern_x: offset.x as f32,
        quatern_y: offset.y as f32,
        quatern_z: offset.z as f32,
        srow_x,
        srow_y,
        srow_z,
        magic: *b"n+1\0",
        endianness: Endianness::Little,
        ..NiftiHeader::default()
    }
}

/// Writes through the crate into a temporary `.nii[.gz]` next to `path`,
/// checks what reached the file (the crate drops its `BufWriter`, so a failed
/// final flush would go unreported), then renames it over `path`.
fn write_via_temp(
    path: &Path,
    gzip: bool,
    expected_len: Option<u64>,
    write: impl FnOnce(&Path) -> Result<(), NiftiError>,
) -> Result<(), IoError> {
    let suffix = if gzip { ".nii.gz" } else { ".nii" };
    super::replace_atomically(path, suffix, |tmp| {
        write(tmp).map_err(|e| match e {
            NiftiError::Io(e) => e,
            other => io::Error::other(other),
        })?;
        let len = fs::metadata(tmp)?.len();
        let complete = expected_len.map_or(len > 0, |expected| len == expected);
        if complete {
            Ok(())
        } else {
            let expected = expected_len.map_or_else(|| "data".to_owned(), |n| format!("{n} bytes"));
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("incomplete write: {len} bytes written, expected {expected}"),
            ))
        }
    })
}

/// The sform rows (RAS) of a geometry: `[srow_x, srow_y, srow_z]`.
fn sform_rows(g: &Geometry) -> [[f64; 4]; 3] {
    let affine = g.world_from_voxel();
    let m = ras_from_lps() * affine.matrix3;
    let t = ras_from_lps() * affine.translation;
    [0, 1, 2].map(|r| {
        let row = m.row(r);
        [row.x, row.y, row.z, t[r]]
    })
}

/// The qform of a geometry: quaternion `(b, c, d)`, `qfac`, offset (RAS).
/// Shear is removed by keeping the column and row axes and replacing the
/// slice axis by their normal.
fn qform_params(g: &Geometry) -> Option<(DVec3, f64, DVec3)> {
    let r = ras_from_lps() * g.direction;
    let c0 = r.x_axis.try_normalize()?;
    let c1 = (r.y_axis - c0 * c0.dot(r.y_axis)).try_normalize()?;
    let c2 = c0.cross(c1);
    let qfac = if r.z_axis.dot(c2) < 0.0 { -1.0 } else { 1.0 };
    let mut q = DQuat::from_mat3(&DMat3::from_cols(c0, c1, c2));
    if q.w < 0.0 {
        q = -q;
    }
    let offset = ras_from_lps() * g.origin_mm;
    Some((DVec3::new(q.x, q.y, q.z), qfac, offset))
}

/// Reads a NIfTI-1 single-file image (`.nii`, gzip-compressed or not) as
/// `[z, row, col]` = `[k, j, i]` values with LPS geometry. 2-D images read as
/// one slice; 4-D and higher images are accepted only when every extra axis
/// has size 1.
pub fn read_nifti(path: &Path) -> Result<ImageVolume, IoError> {
    let file = File::open(path).map_err(|e| IoError::io("opening", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| IoError::io("reading", path, e))?
        .len();
    let mut file = BufReader::new(file);
    let gzip = file
        .fill_buf()
        .map_err(|e| IoError::io("reading", path, e))?
        .starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    };

    // The crate reads only NIfTI-1; name NIfTI-2 (sizeof_hdr 540) as such.
    let head = reader.fill_buf().map_err(|e| IoError::reading(path, e))?;
    if head.len() >= 4 {
        let n = [head[0], head[1], head[2], head[3]];
        if i32::from_le_bytes(n) == 540 || i32::from_be_bytes(n) == 540 {
            return Err(IoError::unsupported(path, "NIfTI-2"));
        }
    }
    let header = NiftiHeader::from_reader(&mut reader).map_err(|e| crate_error(path, e))?;
    let layout = Layout::of(&header, path)?;

    let data_bytes = check_data_size(path, Some(layout.count()), layout.scalar.size())?;
    if !gzip && file_len.saturating_sub(layout.vox_offset) < data_bytes {
        return Err(IoError::format(
            path,
            format!(
                "header declares {data_bytes} bytes of voxels but the file holds {}",
                file_len.saturating_sub(layout.vox_offset)
            ),
        ));
    }
    // Extensions are not used: skip them (and the extension flag).
    let skip = layout.vox_offset - HEADER_BYTES;
    let skipped = io::copy(&mut (&mut reader).take(skip), &mut io::sink())
        .map_err(|e| IoError::reading(path, e))?;
    if skipped < skip {
        return Err(IoError::format(path, "data ends before vox_offset"));
    }

    let data = read_data(&mut reader, &header, &layout).map_err(|e| crate_error(path, e))?;
    if gzip {
        // Reach the end of the gzip member so its CRC and length are checked.
        io::copy(&mut reader.take(1), &mut io::sink()).map_err(|e| IoError::reading(path, e))?;
    }
    let data = apply_scaling(data, layout.scalar, header.scl_slope, header.scl_inter);
    let geometry = geometry_of(&header, layout.dims);
    Ok(ImageVolume { data, geometry })
}

/// Our error for one of the crate's, with the path.
fn crate_error(path: &Path, e: NiftiError) -> IoError {
    match e {
        NiftiError::Io(e) => IoError::reading(path, e),
        NiftiError::InvalidFormat => IoError::format(path, "not a NIfTI-1 file (bad magic)"),
        NiftiError::UnsupportedDataType(t) | NiftiError::InvalidTypeConversion(t, _) => {
            IoError::unsupported(path, format!("NIfTI datatype {t:?}"))
        }
        NiftiError::ReserveVolume(_, e) => IoError::io(
            "reading",
            path,
            io::Error::new(io::ErrorKind::OutOfMemory, e),
        ),
        other => IoError::format(path, other.to_string()),
    }
}

/// Decodes the voxels (the reader is at `vox_offset`) in their stored type,
/// unscaled. `i8` widens to `I16` and `u32` to `F64`.
fn read_data(
    reader: &mut dyn Read,
    header: &NiftiHeader,
    layout: &Layout,
) -> Result<ImageData, NiftiError> {
    let r = reader;
    let (h, l) = (header, layout);
    Ok(match layout.scalar {
        ScalarType::U8 => ImageData::U8(read_grid(r, h, l)?),
        ScalarType::I8 => ImageData::I16(read_grid::<i8>(r, h, l)?.mapv(i16::from)),
        ScalarType::I16 => ImageData::I16(read_grid(r, h, l)?),
        ScalarType::U16 => ImageData::U16(read_grid(r, h, l)?),
        ScalarType::I32 => ImageData::I32(read_grid(r, h, l)?),
        ScalarType::U32 => ImageData::F64(read_grid::<u32>(r, h, l)?.mapv(f64::from)),
        ScalarType::F32 => ImageData::F32(read_grid(r, h, l)?),
        ScalarType::F64 => ImageData::F64(read_grid(r, h, l)?),
    })
}

/// Streams the volume through the crate, slice by slice, into a
/// `[z, row, col]` array. `T` must match the header's datatype (the crate
/// checks). No scaling is applied, so integers come back exactly.
fn read_grid<T: DataElement>(
    reader: &mut dyn Read,
    header: &NiftiHeader,
    layout: &Layout,
) -> Result<Array3<T>, NiftiError> {
    let [_, ny, nx] = layout.dims;
    let plane_bytes = (nx * ny * layout.scalar.size()) as u64;
    let rank = header.dim[0];
    // Planes bound the memory a lying (compressed) header can make the crate
    // zero-fill ahead of the data; rows for huge planes and 2-D images.
    let slice_rank = if rank >= 3 && plane_bytes <= MAX_PLANE_BYTES {
        2
    } else {
        1
    };
    let count = layout.count() as usize;
    let mut values: Vec<T> = Vec::new();
    for slice in StreamedNiftiVolume::from_reader_rank(reader, header, slice_rank)? {
        let slice = slice?.into_nifti_typed_data::<T>()?;
        if values.is_empty() {
            values = slice;
        } else {
            values
                .try_reserve(slice.len())
                .map_err(|e| NiftiError::ReserveVolume(count * size_of::<T>(), e))?;
            values.extend(slice);
        }
    }
    if values.len() != count {
        return Err(NiftiError::IncompatibleLength(values.len(), count));
    }
    Array3::from_shape_vec(layout.dims, values).map_err(|_| NiftiError::BadVolumeSize)
}

/// Where and how the voxels are stored, validated.
struct Layout {
    /// `[z, row, col]` = `[dim[3], dim[2], dim[1]]`.
    dims: [usize; 3],
    scalar: ScalarType,
    vox_offset: u64,
}

impl Layout {
    /// Validates everything the crate's volume reader relies on (rank and
    /// sizes, a supported datatype) and the data offset. `bitpix` is not
    /// used: the element size follows the datatype, as in other readers.
    fn of(h: &NiftiHeader, path: &Path) -> Result<Self, IoError> {
        let fmt = |reason: String| IoError::format(path, reason);
        if &h.magic == b"ni1\0" {
            return Err(IoError::unsupported(
                path,
                "NIfTI header/image pair (.hdr/.img)",
            ));
        }
        if i64::from(h.sizeof_hdr) != HEADER_BYTES as i64 {
            return Err(fmt(format!("sizeof_hdr is {}", h.sizeof_hdr)));
        }
        let rank = usize::from(h.dim[0]);
        if !(2..=7).contains(&rank) {
            return Err(IoError::unsupported(path, format!("{rank}-D image")));
        }
        let mut sizes = [1usize; 7];
        for (n, size) in sizes.iter_mut().enumerate().take(rank) {
            *size = usize::from(h.dim[n + 1]);
            if *size == 0 {
                return Err(fmt(format!("dim[{}] is 0", n + 1)));
            }
        }
        if sizes[3..].iter().any(|&s| s > 1) {
            return Err(IoError::unsupported(
                path,
                format!("image with more than 3 axes (dims {:?})", &sizes[..rank]),
            ));
        }
        let scalar = match h.data_type() {
            Ok(NiftiType::Uint8) => ScalarType::U8,
            Ok(NiftiType::Int8) => ScalarType::I8,
            Ok(NiftiType::Int16) => ScalarType::I16,
            Ok(NiftiType::Uint16) => ScalarType::U16,
            Ok(NiftiType::Int32) => ScalarType::I32,
            Ok(NiftiType::Uint32) => ScalarType::U32,
            Ok(NiftiType::Float32) => ScalarType::F32,
            Ok(NiftiType::Float64) => ScalarType::F64,
            _ => {
                return Err(IoError::unsupported(
                    path,
                    format!("NIfTI datatype {}", h.datatype),
                ));
            }
        };
        let vox_offset = f64::from(h.vox_offset);
        if !(vox_offset.is_finite() && vox_offset.fract() == 0.0 && vox_offset >= VOX_OFFSET as f64)
        {
            return Err(fmt(format!("bad vox_offset {}", h.vox_offset)));
        }
        Ok(Self {
            dims: [sizes[2], sizes[1], sizes[0]],
            scalar,
            vox_offset: vox_offset as u64,
        })
    }

    fn count(&self) -> u64 {
        self.dims.iter().map(|&d| d as u64).product()
    }
}

#[allow(clippy::float_cmp, reason = "exactly (1, 0) is the identity scaling")]
/// Applies `scl_slope`/`scl_inter` (ignored when the slope is 0 or not finite,
/// or the pair is the identity). A non-finite intercept counts as 0.
fn apply_scaling(data: ImageData, scalar: ScalarType, slope: f32, inter: f32) -> ImageData {
    let slope = f64::from(slope);
    let inter = if inter.is_finite() {
        f64::from(inter)
    } else {
        0.0
    };
    if !slope.is_finite() || slope == 0.0 || (slope == 1.0 && inter == 0.0) {
        return data;
    }
    let scaled = data.to_f64().mapv_into(|v| v * slope + inter);
    if scalar.size() <= 2 || scalar == ScalarType::F32 {
        ImageData::F32(scaled.mapv(|v| v as f32))
    } else {
        ImageData::F64(scaled)
    }
}

/// LPS geometry from the sform, else the qform, else `pixdim` (method 1).
fn geometry_of(h: &NiftiHeader, dims: [usize; 3]) -> Geometry {
    let lps_from_ras = ras_from_lps(); // its own inverse
    let from_columns = |cols: [DVec3; 3], origin_ras: DVec3| -> Option<Geometry> {
        let mut dir = [DVec3::ZERO; 3];
        let mut spacing = [0.0; 3];
        for n in 0..3 {
            let v = lps_from_ras * cols[n];
            spacing[n] = v.length();
            dir[n] = v.try_normalize()?;
        }
        let origin_mm = lps_from_ras * origin_ras;
        origin_mm.is_finite().then_some(Geometry {
            dims,
            spacing_mm: DVec3::from_array(spacing),
            origin_mm,
            direction: DMat3::from_cols(dir[0], dir[1], dir[2]),
        })
    };

    if h.sform_code > 0 {
        let rows = [h.srow_x, h.srow_y, h.srow_z].map(|r| r.map(f64::from));
        let col = |c: usize| DVec3::new(rows[0][c], rows[1][c], rows[2][c]);
        if let Some(g) = from_columns([col(0), col(1), col(2)], col(3)) {
            return g;
        }
    }
    let pixdim = |n: usize| {
        let d = f64::from(h.pixdim[n]);
        if d.is_finite() && d > 0.0 { d } else { 1.0 }
    };
    let spacing = DVec3::new(pixdim(1), pixdim(2), pixdim(3));
    if h.qform_code > 0 {
        let bcd = DVec3::new(
            f64::from(h.quatern_b),
            f64::from(h.quatern_c),
            f64::from(h.quatern_d),
        );
        let a2 = 1.0 - bcd.length_squared();
        let q = if a2 > 1e-7 {
            DQuat::from_xyzw(bcd.x, bcd.y, bcd.z, a2.sqrt())
        } else {
            // a is (numerically) 0: a 180° rotation about the normalised axis.
            let axis = bcd.try_normalize().unwrap_or(DVec3::X);
            DQuat::from_xyzw(axis.x, axis.y, axis.z, 0.0)
        };
        if q.is_finite() {
            let r = DMat3::from_quat(q);
            let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
            let offset = DVec3::new(
                f64::from(h.quatern_x),
                f64::from(h.quatern_y),
                f64::from(h.quatern_z),
            );
            let cols = [
                r.x_axis * spacing.x,
                r.y_axis * spacing.y,
                r.z_axis * (qfac * spacing.z),
            ];
            if let Some(g) = from_columns(cols, offset) {
                return g;
            }
        }
    }
    Geometry {
        dims,
        spacing_mm: spacing,
        origin_mm: DVec3::ZERO,
        direction: lps_from_ras,
    }
}

#[cfg(test)]
mod tests;
