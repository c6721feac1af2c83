//! `NumPy` `.npy` arrays (format versions 1.0, 2.0 and 3.0).
//!
//! [`write_npy`] writes a [`Volume`]'s HU voxels as a C-order array of shape
//! `(z, row, col)` with the header `NumPy` itself writes (`<i2` or `<f4`, data
//! aligned to 64 bytes), so `numpy.load` gives back the `[z, row, col]` array.
//! No geometry is stored: `.npy` holds values only.
//!
//! [`read_npy`] reads 3-D arrays of `<i2 <u2 <i4 <f4 <f8 |u1 |b1` (also
//! `|i1`, and the big-endian `>` spellings), C or Fortran order, into an
//! [`ImageData`] `[z, row, col]`. The declared size is checked against
//! [`super::MAX_DATA_BYTES`] and the file length before any allocation.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::raw::{self, ByteOrder, ScalarType};
use super::{ImageData, IoError, check_data_size, write_atomic};
use crate::volume::{Volume, Voxels};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Data starts at a multiple of this (`NumPy`'s `ARRAY_ALIGN`).
const ALIGN: usize = 64;
/// Spare header room `NumPy` leaves so the first axis can grow in place
/// (`GROWTH_AXIS_MAX_DIGITS`).
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Largest header accepted when reading (`NumPy` itself refuses > 10 000 bytes
/// by default).
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Writes the volume's voxels as a `NumPy` `.npy` file (format 1.0), shape
/// `(z, row, col)`, C order, dtype `<i2` for `i16` voxels and `<f4` for `f32`
/// voxels. The write is atomic (see [`write_atomic`]).
///
/// ```
/// use hounsfield_core::volume::{Geometry, Volume};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("ct.npy");
/// let v = Volume::from_i16(ndarray::Array3::zeros((2, 3, 4)), Geometry::identity([2, 3, 4]));
/// hounsfield_core::io::npy::write_npy(&path, &v).unwrap();
/// let back = hounsfield_core::io::npy::read_npy(&path).unwrap();
/// assert_eq!(back.shape(), [2, 3, 4]);
/// ```
pub fn write_npy(path: &Path, volume: &Volume) -> Result<(), IoError> {
    let descr = match &volume.voxels {
        Voxels::I16(_) => "<i2",
        Voxels::F32(_) => "<f4",
    };
    let header = header_bytes(descr, volume.shape());
    write_atomic(path, |w| {
        w.write_all(&header)?;
        match &volume.voxels {
            Voxels::I16(a) => raw::write_le(w, a),
            Voxels::F32(a) => raw::write_le(w, a),
        }
    })
}

/// The complete `NumPy` 1.0 preamble (magic, version, length, padded header
/// dictionary) for a C-order array, byte for byte as `numpy.save` writes it.
fn header_bytes(descr: &str, shape: [usize; 3]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}, {}), }}",
        shape[0], shape[1], shape[2]
    );
    let first_axis_digits = shape[0].to_string().len();
    dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first_axis_digits)));
    // magic (6) + version (2) + length (2) + dict + '\n', padded to ALIGN.
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let pad = (ALIGN - unpadded % ALIGN) % ALIGN;
    dict.push_str(&" ".repeat(pad));
    dict.push('\n');

    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // The dictionary of a 3-D shape is far below 64 KiB.
    let len = u16::try_from(dict.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Element type of a `descr` string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    Scalar(ScalarType, ByteOrder),
    Bool,
}

/// The parsed header dictionary.
#[derive(Debug, PartialEq)]
struct Header {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Reads a 3-D `.npy` array as `[z, row, col]` (the array's own axis order;
/// Fortran-order files are transposed into C order). Booleans become `U8`
/// 0/1, `|i1` widens to `I16`.
pub fn read_npy(path: &Path) -> Result<ImageData, IoError> {
    let file = File::open(path).map_err(|e| IoError::io("opening", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| IoError::io("reading", path, e))?
        .len();
    let mut reader = BufReader::new(file);

    let mut preamble = [0u8; 8];
    reader
        .read_exact(&mut preamble)
        .map_err(|e| IoError::reading(path, e))?;
    if &preamble[..6] != MAGIC {
        return Err(IoError::format(path, "not a NumPy .npy file (bad magic)"));
    }
    let major = preamble[6];
    let (len_bytes, header_len) = match major {
        1 => {
            let mut b = [0u8; 2];
            reader
                .read_exact(&mut b)
                .map_err(|e| IoError::reading(path, e))?;
            (2, usize::from(u16::from_le_bytes(b)))
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            reader
                .read_exact(&mut b)
                .map_err(|e| IoError::reading(path, e))?;
            (4, u32::from_le_bytes(b) as usize)
        }
        v => {
            return Err(IoError::unsupported(
                path,
                format!("NumPy format version {v}"),
            ));
        }
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(IoError::format(
            path,
            format!("header of {header_len} bytes"),
        ));
    }
    let mut header = vec![0u8; header_len];
    reader
        .read_exact(&mut header)
        .map_err(|e| IoError::reading(path, e))?;
    let header = std::str::from_utf8(&header)
        .map_err(|_| IoError::format(path, "header is not UTF-8 text"))?;
    let header = parse_header(header).map_err(|reason| IoError::format(path, reason))?;

    let (scalar, order) = match header.dtype {
        Dtype::Scalar(t, o) => (t, o),
        Dtype::Bool => (ScalarType::U8, ByteOrder::Little),
    };
    let &[d0, d1, d2] = header.shape.as_slice() else {
        return Err(IoError::unsupported(
            path,
            format!("{}-D array (need 3-D)", header.shape.len()),
        ));
    };
    let count = [d0, d1, d2]
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let data_bytes = check_data_size(path, count, scalar.size())?;
    let data_start = (6 + 2 + len_bytes + header_len) as u64;
    if file_len.saturating_sub(data_start) < data_bytes {
        return Err(IoError::format(
            path,
            format!(
                "header declares {data_bytes} bytes of data but the file holds {}",
                file_len.saturating_sub(data_start)
            ),
        ));
    }

    // A Fortran-order (d0, d1, d2) array is the C-order (d2, d1, d0) array
    // transposed.
    let file_dims = if header.fortran_order {
        [d2, d1, d0]
    } else {
        [d0, d1, d2]
    };
    let data = raw::read_image_data(&mut reader, scalar, file_dims, order)
        .map_err(|e| IoError::reading(path, e))?;
    let data = if header.fortran_order {
        to_c_order_transposed(data)
    } else {
        data
    };
    Ok(match (header.dtype, data) {
        (Dtype::Bool, ImageData::U8(a)) => ImageData::U8(a.mapv(|v| u8::from(v != 0))),
        (_, data) => data,
    })
}

/// Reverses the axes and makes the layout standard (C order).
fn to_c_order_transposed(data: ImageData) -> ImageData {
    macro_rules! t {
        ($a:expr) => {
            $a.reversed_axes().as_standard_layout().into_owned()
        };
    }
    match data {
        ImageData::U8(a) => ImageData::U8(t!(a)),
        ImageData::I16(a) => ImageData::I16(t!(a)),
        ImageData::U16(a) => ImageData::U16(t!(a)),
        ImageData::I32(a) => ImageData::I32(t!(a)),
        ImageData::F32(a) => ImageData::F32(t!(a)),
        ImageData::F64(a) => ImageData::F64(t!(a)),
    }
}

/// Parses the header dictionary, e.g.
/// `{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3, 4), }`.
fn parse_header(text: &str) -> Result<Header, String> {
    let body = text.trim();
    let body = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or("header is not a dictionary")?;

    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, after) = parse_quoted(rest).ok_or("bad key in header")?;
        let after = after
            .trim_start()
            .strip_prefix(':')
            .ok_or("missing ':' in header")?
            .trim_start();
        let after = match key {
            "descr" => {
                let (v, a) = parse_quoted(after).ok_or("bad 'descr' value")?;
                descr = Some(v);
                a
            }
            "fortran_order" => {
                if let Some(a) = after.strip_prefix("True") {
                    fortran_order = Some(true);
                    a
                } else if let Some(a) = after.strip_prefix("False") {
                    fortran_order = Some(false);
                    a
                } else {
                    return Err("bad 'fortran_order' value".into());
                }
            }
            "shape" => {
                let inner = after.strip_prefix('(').ok_or("bad 'shape' value")?;
                let close = inner.find(')').ok_or("bad 'shape' value")?;
                let dims = inner[..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse::<usize>()
                            .map_err(|_| format!("bad dimension {s:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                shape = Some(dims);
                &inner[close + 1..]
            }
            other => return Err(format!("unexpected header key {other:?}")),
        };
        let after = after.trim_start();
        rest = after.strip_prefix(',').unwrap_or(after).trim_start();
        if !rest.is_empty() && !after.starts_with(',') {
            return Err("missing ',' in header".into());
        }
    }

    let descr = descr.ok_or("header has no 'descr'")?;
    let dtype = parse_descr(descr).ok_or_else(|| format!("unsupported dtype {descr:?}"))?;
    Ok(Header {
        dtype,
        fortran_order: fortran_order.ok_or("header has no 'fortran_order'")?,
        shape: shape.ok_or("header has no 'shape'")?,
    })
}

/// A `'...'` or `"..."` string at the start of `s`: (content, rest).
fn parse_quoted(s: &str) -> Option<(&str, &str)> {
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &s[1..];
    let end = inner.find(quote)?;
    Some((&inner[..end], &inner[end + 1..]))
}

/// The element type of a `NumPy` `descr` such as `<i2`.
fn parse_descr(descr: &str) -> Option<Dtype> {
    let mut chars = descr.chars();
    let order = match chars.next()? {
        '<' | '|' => ByteOrder::Little,
        '>' => ByteOrder::Big,
        _ => return None,
    };
    let t = match chars.as_str() {
        "b1" => return Some(Dtype::Bool),
        "u1" => ScalarType::U8,
        "i1" => ScalarType::I8,
        "i2" => ScalarType::I16,
        "u2" => ScalarType::U16,
        "i4" => ScalarType::I32,
        "f4" => ScalarType::F32,
        "f8" => ScalarType::F64,
        _ => return None,
    };
    Some(Dtype::Scalar(t, order))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use ndarray::Array3;

    use super::*;
    use crate::io::MAX_DATA_BYTES;
    use crate::volume::Geometry;

    /// Bytes `numpy.save` (`NumPy` 2.4) writes for `np.zeros((2, 3, 4), '<i2')`.
    const NUMPY_HEADER_2X3X4_I2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3, 4), }                                                       \n";
    /// Bytes `numpy.save` writes for `np.zeros((79, 64, 64), '<f4')`.
    const NUMPY_HEADER_79X64X64_F4: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (79, 64, 64), }                                                    \n";

    fn npy_file(header: &str, data: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(MAGIC).unwrap();
        f.write_all(&[1, 0]).unwrap();
        f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
        f.write_all(header.as_bytes()).unwrap();
        f.write_all(data).unwrap();
        f
    }

    #[test]
    fn header_matches_numpy_byte_for_byte() {
        assert_eq!(header_bytes("<i2", [2, 3, 4]), NUMPY_HEADER_2X3X4_I2);
        assert_eq!(header_bytes("<f4", [79, 64, 64]), NUMPY_HEADER_79X64X64_F4);
        for shape in [[1, 1, 1], [123_456_789, 2, 3], [5, 1000, 1]] {
            assert_eq!(header_bytes("<f4", shape).len() % ALIGN, 0);
        }
    }

    #[test]
    fn round_trip_i16_and_f32() {
        let dir = tempfile::tempdir().unwrap();
        let a = Array3::from_shape_fn((3, 4, 5), |(z, y, x)| {
            (z as i16 * 1000) - (y as i16 * 10) + x as i16 - 1024
        });
        let path = dir.path().join("a.npy");
        write_npy(
            &path,
            &Volume::from_i16(a.clone(), Geometry::identity([3, 4, 5])),
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 128 + 3 * 4 * 5 * 2);
        assert_eq!(read_npy(&path).unwrap(), ImageData::I16(a));

        let f = Array3::from_shape_fn((2, 3, 4), |(z, y, x)| {
            z as f32 * 0.5 - y as f32 + x as f32 * 1e-3
        });
        let path = dir.path().join("f.npy");
        write_npy(
            &path,
            &Volume::from_f32(f.clone(), Geometry::identity([2, 3, 4])),
        )
        .unwrap();
        assert_eq!(read_npy(&path).unwrap(), ImageData::F32(f));
    }

    #[test]
    fn reads_other_dtypes_and_fortran_order() {
        // Booleans become 0/1.
        let f = npy_file(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 1, 3), }\n",
            &[0, 1, 7],
        );
        assert_eq!(
            read_npy(f.path()).unwrap(),
            ImageData::U8(Array3::from_shape_vec((1, 1, 3), vec![0, 1, 1]).unwrap())
        );
        // Big-endian u2, double quotes, no trailing comma.
        let f = npy_file(
            "{\"descr\": \">u2\", \"fortran_order\": False, \"shape\": (1, 1, 2)}\n",
            &[0x01, 0x02, 0xff, 0x00],
        );
        assert_eq!(
            read_npy(f.path()).unwrap(),
            ImageData::U16(Array3::from_shape_vec((1, 1, 2), vec![0x0102, 0xff00]).unwrap())
        );
        // Fortran order: element (i, j, k) is at i + 2 * (j + 1 * k).
        let data: Vec<u8> = (0u8..6).collect();
        let f = npy_file(
            "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 1, 3), }\n",
            &data,
        );
        let ImageData::U8(a) = read_npy(f.path()).unwrap() else {
            panic!("wrong type")
        };
        assert_eq!(a.shape(), &[2, 1, 3]);
        for i in 0..2 {
            for k in 0..3 {
                assert_eq!(a[[i, 0, k]] as usize, i + 2 * k);
            }
        }
        assert!(a.is_standard_layout());
    }

    #[test]
    fn rejects_bad_files() {
        let cases: &[(&str, &[u8])] = &[
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }\n",
                &[0; 8],
            ),
            (
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 1, 1), }\n",
                &[0; 8],
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2, 2), }\n",
                &[0; 15],
            ),
            ("{'descr': '<i2', 'shape': (1, 1, 1), }\n", &[0; 2]),
            (
                "{'descr': '<i2', 'fortran_order': Maybe, 'shape': (1, 1, 1), }\n",
                &[0; 2],
            ),
            (
                "{'descr': '<i2' 'fortran_order': False, 'shape': (1, 1, 1), }\n",
                &[0; 2],
            ),
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (-1, 1, 1), }\n",
                &[0; 2],
            ),
            ("not a dict", &[]),
            ("{'descr", &[]),
        ];
        for (header, data) in cases {
            let f = npy_file(header, data);
            let err = read_npy(f.path()).unwrap_err();
            assert!(
                matches!(err, IoError::Format { .. } | IoError::Unsupported { .. }),
                "{header}: {err}"
            );
        }

        // Huge declared size: rejected before allocating.
        let f = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (65536, 65536, 65536), }\n",
            &[0; 8],
        );
        let err = read_npy(f.path()).unwrap_err();
        assert!(
            matches!(
                err,
                IoError::TooLarge {
                    limit: MAX_DATA_BYTES,
                    ..
                }
            ),
            "{err}"
        );
        let f = npy_file(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 2, 2), }\n",
            &[0; 8],
        );
        assert!(matches!(
            read_npy(f.path()).unwrap_err(),
            IoError::TooLarge { .. }
        ));

        // Truncated preamble and garbage.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("short.npy");
        std::fs::write(&p, b"\x93NUM").unwrap();
        assert!(matches!(read_npy(&p).unwrap_err(), IoError::Format { .. }));
        std::fs::write(&p, b"\x93NUMPY\x01\x00\xff\xff{").unwrap();
        assert!(matches!(read_npy(&p).unwrap_err(), IoError::Format { .. }));
        std::fs::write(&p, [0u8; 300]).unwrap();
        assert!(matches!(read_npy(&p).unwrap_err(), IoError::Format { .. }));
        assert!(matches!(
            read_npy(&dir.path().join("missing.npy")).unwrap_err(),
            IoError::Io { .. }
        ));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let a = Array3::from_shape_fn((2, 2, 3), |(z, y, x)| (z + y + x) as i16);
        write_npy(&path, &Volume::from_i16(a, Geometry::identity([2, 2, 3]))).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.npy");
        for n in 0..bytes.len() {
            std::fs::write(&cut, &bytes[..n]).unwrap();
            assert!(read_npy(&cut).is_err(), "accepted {n} bytes");
        }
    }
}
