//! Tests of the NRRD reader and writer: round trips, hand-written headers
//! (RAS, every type spelling, skips, detached data), hostile files, and the
//! real `lung-ct-64` data when present.

#![allow(clippy::float_cmp, reason = "known answers are exact")]

use std::fmt::Write as _;
use std::io::Write as _;

use flate2::write::GzEncoder;
use glam::{DMat3, DVec3};
use ndarray::Array3;
use sha2::{Digest as _, Sha256};

use super::*;
use crate::io::{ImageData, MAX_DATA_BYTES};

/// A sheared (gantry-tilted), rotated grid with a flipped row axis.
fn oblique_geometry(dims: [usize; 3]) -> Geometry {
    let rot = DMat3::from_rotation_z(0.3) * DMat3::from_rotation_x(-0.2);
    let col = rot * DVec3::X;
    let row = rot * -DVec3::Y;
    let slice = (rot * DVec3::new(0.0, 0.25, 1.0)).try_normalize().unwrap();
    Geometry {
        dims,
        spacing_mm: DVec3::new(0.703_125, 0.8, 2.5),
        origin_mm: DVec3::new(-180.2, 95.7, -1203.25),
        direction: DMat3::from_cols(col, row, slice),
    }
}

fn assert_geometry_close(a: &Geometry, b: &Geometry) {
    assert_eq!(a.dims, b.dims);
    assert!(
        (a.spacing_mm - b.spacing_mm).abs().max_element() < 1e-12,
        "{a:?} vs {b:?}"
    );
    assert!(
        (a.origin_mm - b.origin_mm).abs().max_element() < 1e-12,
        "{a:?} vs {b:?}"
    );
    let d = a.direction - b.direction;
    let max = [d.x_axis, d.y_axis, d.z_axis]
        .iter()
        .map(|c| c.abs().max_element())
        .fold(0.0, f64::max);
    assert!(max < 1e-12, "{a:?} vs {b:?}");
}

fn ramp_i16(dims: [usize; 3]) -> Array3<i16> {
    Array3::from_shape_fn(dims, |(z, y, x)| (z * 1000 + y * 31 + x) as i16 - 1024)
}

/// A file with `header` (magic line included) followed by `data`.
fn file_with(dir: &Path, name: &str, header: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = header.as_bytes().to_vec();
    bytes.extend_from_slice(data);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn round_trip_i16_f32_raw_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [5, 4, 3];
    let g = oblique_geometry(dims);
    let a = ramp_i16(dims);
    for gzip in [false, true] {
        let path = dir.path().join(format!("ct-{gzip}.nrrd"));
        write_nrrd(&path, &Volume::from_i16(a.clone(), g), gzip).unwrap();
        let back = read_nrrd(&path).unwrap();
        assert_eq!(back.data, ImageData::I16(a.clone()));
        assert_geometry_close(&back.geometry, &g);

        let f = a.mapv(|v| f32::from(v) * 0.25);
        write_nrrd(&path, &Volume::from_f32(f.clone(), g), gzip).unwrap();
        let back = read_nrrd(&path).unwrap();
        assert_eq!(back.data, ImageData::F32(f));
        assert_geometry_close(&back.geometry, &g);
    }
    // Identity geometry reads back bit-exactly.
    let path = dir.path().join("id.nrrd");
    let g = Geometry {
        spacing_mm: DVec3::new(0.976_562_5, 0.976_562_5, 2.0),
        origin_mm: DVec3::new(-250.0, -250.0, -1.5),
        ..Geometry::identity(dims)
    };
    write_nrrd(&path, &Volume::from_i16(a, g), false).unwrap();
    assert_eq!(read_nrrd(&path).unwrap().geometry, g);
}

#[test]
fn written_header_is_standard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.nrrd");
    let g = Geometry {
        spacing_mm: DVec3::new(0.5, 0.5, 2.0),
        origin_mm: DVec3::new(-1.0, 2.0, 3.5),
        ..Geometry::identity([2, 3, 4])
    };
    write_nrrd(&path, &Volume::from_i16(ramp_i16([2, 3, 4]), g), false).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let header = text.split("\n\n").next().unwrap();
    assert_eq!(
        header,
        "NRRD0004\n\
         # Complete NRRD file format specification at:\n\
         # http://teem.sourceforge.net/nrrd/format.html\n\
         type: short\n\
         dimension: 3\n\
         space: left-posterior-superior\n\
         sizes: 4 3 2\n\
         space directions: (0.5,0,0) (0,0.5,0) (0,0,2)\n\
         kinds: domain domain domain\n\
         endian: little\n\
         encoding: raw\n\
         space origin: (-1,2,3.5)"
    );
    // Data: [z, row, col] C order = NRRD x fastest; first sample then second.
    let data = &bytes[header.len() + 2..];
    assert_eq!(data.len(), 2 * 3 * 4 * 2);
    assert_eq!(i16::from_le_bytes([data[0], data[1]]), -1024);
    assert_eq!(i16::from_le_bytes([data[2], data[3]]), -1023);
}

#[test]
fn labels_round_trip_and_shape_check() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [3, 4, 5];
    let g = oblique_geometry(dims);
    let labels = Array3::from_shape_fn(dims, |(z, y, x)| ((z + y * x) % 7) as u8);
    let path = dir.path().join("labels.nrrd");
    write_nrrd_labels(&path, &labels, &g, true).unwrap();
    let back = read_nrrd(&path).unwrap();
    assert_eq!(back.data, ImageData::U8(labels.clone()));
    assert_geometry_close(&back.geometry, &g);

    let wrong = oblique_geometry([3, 4, 6]);
    let err = write_nrrd_labels(&path, &labels, &wrong, true).unwrap_err();
    assert!(matches!(err, IoError::ShapeMismatch { .. }), "{err}");
    // The earlier file is untouched.
    assert_eq!(read_nrrd(&path).unwrap().data, ImageData::U8(labels));
}

#[test]
fn ras_header_is_converted_to_lps() {
    let dir = tempfile::tempdir().unwrap();
    let header = "NRRD0005\n\
        type: int16\n\
        dimension: 3\n\
        space: RAS\n\
        sizes: 2 1 1\n\
        space directions: (-0.5, 0, 0) (0,-0.75,0) ( 0 , 0 , 2 )\n\
        space origin: (10,20,30)\n\
        endian: big\n\
        encoding: raw\n\n";
    let path = file_with(dir.path(), "ras.nrrd", header, &[0x01, 0x02, 0xff, 0xfe]);
    let v = read_nrrd(&path).unwrap();
    assert_eq!(
        v.data,
        ImageData::I16(Array3::from_shape_vec((1, 1, 2), vec![0x0102, -2]).unwrap())
    );
    let g = v.geometry;
    assert_eq!(g.dims, [1, 1, 2]);
    assert_eq!(g.spacing_mm, DVec3::new(0.5, 0.75, 2.0));
    assert_eq!(g.origin_mm, DVec3::new(-10.0, -20.0, 30.0));
    // RAS (-0.5,0,0) points right-to-left... in LPS that is +x (left).
    assert_eq!(g.direction, DMat3::IDENTITY);
    assert_eq!(g.orientation_code(), "LPS");
    // World position of voxel (1, 0, 0): RAS (9.5, 20, 30) = LPS (-9.5, -20, 30).
    assert_eq!(g.world_of_voxel(DVec3::X), DVec3::new(-9.5, -20.0, 30.0));

    // LAS negates y only.
    let header = header.replace("space: RAS", "space: left-anterior-superior");
    let path = file_with(dir.path(), "las.nrrd", &header, &[0x01, 0x02, 0xff, 0xfe]);
    let g = read_nrrd(&path).unwrap().geometry;
    assert_eq!(g.origin_mm, DVec3::new(10.0, -20.0, 30.0));
    assert_eq!(g.orientation_code(), "RPS");
}

#[test]
fn every_type_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, usize, &str)] = &[
        ("signed char", 1, "i16"),
        ("int8", 1, "i16"),
        ("int8_t", 1, "i16"),
        ("uchar", 1, "u8"),
        ("unsigned char", 1, "u8"),
        ("uint8", 1, "u8"),
        ("uint8_t", 1, "u8"),
        ("short", 2, "i16"),
        ("short int", 2, "i16"),
        ("signed short", 2, "i16"),
        ("signed short int", 2, "i16"),
        ("int16", 2, "i16"),
        ("int16_t", 2, "i16"),
        ("ushort", 2, "u16"),
        ("unsigned short", 2, "u16"),
        ("unsigned  short int", 2, "u16"),
        ("uint16", 2, "u16"),
        ("uint16_t", 2, "u16"),
        ("int", 4, "i32"),
        ("signed int", 4, "i32"),
        ("int32", 4, "i32"),
        ("int32_t", 4, "i32"),
        ("uint", 4, "f64"),
        ("unsigned int", 4, "f64"),
        ("uint32", 4, "f64"),
        ("uint32_t", 4, "f64"),
        ("float", 4, "f32"),
        ("double", 8, "f64"),
    ];
    for (i, &(type_name, size, expected)) in cases.iter().enumerate() {
        let header = format!(
            "NRRD0004\ntype: {type_name}\ndimension: 3\nsizes: 1 1 2\nendian: little\nencoding: raw\n\n"
        );
        let path = file_with(
            dir.path(),
            &format!("t{i}.nrrd"),
            &header,
            &vec![0u8; 2 * size],
        );
        let v = read_nrrd(&path).unwrap_or_else(|e| panic!("{type_name}: {e}"));
        assert_eq!(v.data.type_name(), expected, "{type_name}");
        assert_eq!(v.data.shape(), [2, 1, 1]);
        assert_eq!(v.geometry, Geometry::identity([2, 1, 1]));
    }
    // Signed char keeps its sign when widened; uint keeps values above i32::MAX.
    let header = "NRRD0004\ntype: signed char\ndimension: 3\nsizes: 2 1 1\nencoding: raw\n\n";
    let path = file_with(dir.path(), "i8.nrrd", header, &[0xff, 0x7f]);
    assert_eq!(
        read_nrrd(&path)
            .unwrap()
            .data
            .to_f64()
            .into_raw_vec_and_offset()
            .0,
        vec![-1.0, 127.0]
    );
    let header = "NRRD0004\ntype: uint\ndimension: 3\nsizes: 1 1 1\nendian: big\nencoding: raw\n\n";
    let path = file_with(dir.path(), "u32.nrrd", header, &[0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        read_nrrd(&path).unwrap().data.to_f64()[[0, 0, 0]],
        f64::from(u32::MAX)
    );

    for unsupported in ["int64", "unsigned long long", "block"] {
        let header = format!(
            "NRRD0004\ntype: {unsupported}\ndimension: 3\nsizes: 1 1 1\nendian: little\nencoding: raw\n\n"
        );
        let path = file_with(dir.path(), "u.nrrd", &header, &[0; 8]);
        assert!(matches!(
            read_nrrd(&path).unwrap_err(),
            IoError::Unsupported { .. }
        ));
    }
}

#[test]
fn spacings_skips_comments_and_key_values() {
    let dir = tempfile::tempdir().unwrap();
    let header = "NRRD0004\r\n\
        # a comment: with a colon\r\n\
        content: test\r\n\
        type: uchar\r\n\
        dimension: 3\r\n\
        sizes: 2 1 1\r\n\
        spacings: 0.5 -2 nan\r\n\
        some key:=some value\r\n\
        encoding: raw\r\n\
        line skip: 1\r\n\
        byte skip: 3\r\n\r\n";
    let path = file_with(dir.path(), "s.nrrd", header, b"skip me\nabc\x07\x09");
    let v = read_nrrd(&path).unwrap();
    assert_eq!(
        v.data,
        ImageData::U8(Array3::from_shape_vec((1, 1, 2), vec![7, 9]).unwrap())
    );
    assert_eq!(v.geometry.spacing_mm, DVec3::new(0.5, 2.0, 1.0));
    assert_eq!(
        v.geometry.direction,
        DMat3::from_diagonal(DVec3::new(1.0, -1.0, 1.0))
    );

    // byte skip -1: the data are the last bytes of the file.
    let header =
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 1 1\nencoding: raw\nbyte skip: -1\n\n";
    let path = file_with(dir.path(), "m1.nrrd", header, b"junk junk\x05\x06");
    assert_eq!(
        read_nrrd(&path)
            .unwrap()
            .data
            .to_f64()
            .into_raw_vec_and_offset()
            .0,
        vec![5.0, 6.0]
    );

    // gzip: byte skip applies to the decompressed stream.
    let header =
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 1 1\nencoding: gz\nbyte skip: 2\n\n";
    let path = file_with(dir.path(), "gz.nrrd", header, &gz(b"xx\x01\x02"));
    assert_eq!(
        read_nrrd(&path)
            .unwrap()
            .data
            .to_f64()
            .into_raw_vec_and_offset()
            .0,
        vec![1.0, 2.0]
    );
}

#[test]
fn detached_data_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/ct.raw.gz"), gz(&[1, 0, 2, 0, 3, 0])).unwrap();
    let header = "NRRD0004\ntype: short\ndimension: 3\nsizes: 3 1 1\nendian: little\n\
        encoding: gzip\ndata file: sub/ct.raw.gz\n";
    let path = file_with(dir.path(), "ct.nhdr", header, b"");
    let v = read_nrrd(&path).unwrap();
    assert_eq!(
        v.data,
        ImageData::I16(Array3::from_shape_vec((1, 1, 3), vec![1, 2, 3]).unwrap())
    );

    for bad in ["/etc/passwd", "../ct.raw", "slice%03d.raw 1 3 1", "LIST"] {
        let header = format!(
            "NRRD0004\ntype: short\ndimension: 3\nsizes: 3 1 1\nendian: little\nencoding: raw\ndatafile: {bad}\n"
        );
        let path = file_with(dir.path(), "bad.nhdr", &header, b"");
        let err = read_nrrd(&path).unwrap_err();
        assert!(matches!(err, IoError::Unsupported { .. }), "{bad}: {err}");
    }
    let header = "NRRD0004\ntype: short\ndimension: 3\nsizes: 3 1 1\nendian: little\nencoding: raw\ndata file: missing.raw\n";
    let path = file_with(dir.path(), "missing.nhdr", header, b"");
    let err = read_nrrd(&path).unwrap_err();
    assert!(matches!(err, IoError::Io { .. }), "{err}");
    assert!(err.to_string().contains("missing.raw"), "{err}");
}

const GOOD_HEADER: &str =
    "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\nendian: little\nencoding: raw\n";

/// Each header (followed by a blank line and 16 data bytes) must fail with
/// the named kind of error.
fn assert_header_errors(cases: &[(String, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    for (i, (header, kind)) in cases.iter().enumerate() {
        let path = file_with(
            dir.path(),
            &format!("m{i}.nrrd"),
            &format!("{header}\n"),
            &[0; 16],
        );
        let err = read_nrrd(&path).unwrap_err();
        let ok = match *kind {
            "format" => matches!(err, IoError::Format { .. }),
            "unsupported" => matches!(err, IoError::Unsupported { .. }),
            _ => matches!(
                err,
                IoError::TooLarge {
                    limit: MAX_DATA_BYTES,
                    ..
                }
            ),
        };
        assert!(ok, "case {i} ({kind}): {err}\n{header}");
    }
}

#[test]
fn malformed_headers_are_errors() {
    let good = GOOD_HEADER;
    let sizes = |s: &str| good.replace("sizes: 2 2 2", s);
    assert_header_errors(&[
        (good.replace("NRRD0004", "NRRD"), "format"),
        (good.replace("NRRD0004", "P6"), "format"),
        (good.replace("dimension: 3", "dimension: 4"), "unsupported"),
        (good.replace("dimension: 3\n", ""), "format"),
        (sizes("sizes: 2 2"), "format"),
        (sizes("sizes: 2 0 2"), "format"),
        (sizes("sizes: 2 -2 2"), "format"),
        (sizes("sizes: 99999999999999999999 2 2"), "format"),
        (sizes("sizes: 65536 65536 65536"), "too large"),
        (
            sizes("sizes: 4294967296 4294967296 4294967296"),
            "too large",
        ),
        (good.replace("endian: little\n", ""), "format"),
        (good.replace("endian: little", "endian: middle"), "format"),
        (
            good.replace("encoding: raw", "encoding: bzip2"),
            "unsupported",
        ),
        (
            good.replace("encoding: raw", "encoding: ascii"),
            "unsupported",
        ),
        (good.replace("type: short", "type: complex"), "format"),
        (format!("{good}type: float\n"), "format"),
        (format!("{good}no colon here\n"), "format"),
        (format!("{good}byte skip: -2\n"), "format"),
        (good.replace("raw", "gzip") + "byte skip: -1\n", "format"),
        (
            format!("{good}kinds: domain domain RGB-color\n"),
            "unsupported",
        ),
        (format!("{good}kinds: domain domain\n"), "format"),
        (
            format!("{good}space units: \"cm\" \"cm\" \"cm\"\n"),
            "unsupported",
        ),
    ]);
}

#[test]
fn malformed_space_fields_are_errors() {
    let good = GOOD_HEADER;
    let lps = |field: &str| format!("{good}space: LPS\n{field}\n");
    assert_header_errors(&[
        (
            format!("{good}space: right-anterior-superior-time\n"),
            "unsupported",
        ),
        (lps("space dimension: 3"), "format"),
        (format!("{good}space dimension: 2\n"), "unsupported"),
        (lps("space directions: (1,0,0) (0,1,0)"), "format"),
        (lps("space directions: (1,0,0) (0,1,0) none"), "format"),
        (lps("space directions: (1,0,0) (0,1,0) (0,0,0)"), "format"),
        (lps("space directions: (1,0,0) (0,1,0) (0,0,nan)"), "format"),
        (lps("space directions: (1,0) (0,1,0) (0,0,1)"), "format"),
        (lps("space directions: (1,0,0) (0,1,0) (0,0,1"), "format"),
        (lps("space origin: 1,2,3"), "format"),
        (lps("space origin: (1,2,inf)"), "format"),
    ]);
}

#[test]
fn garbage_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_with(dir.path(), "empty.nrrd", "", b"");
    assert!(matches!(
        read_nrrd(&path).unwrap_err(),
        IoError::Format { .. }
    ));
    let long = format!("NRRD0004\ncontent: {}", "x".repeat(2 << 20));
    let path = file_with(dir.path(), "long.nrrd", &long, b"");
    assert!(matches!(
        read_nrrd(&path).unwrap_err(),
        IoError::Format { .. }
    ));
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = file_with(dir.path(), "garbage.nrrd", "", &garbage);
    assert!(matches!(
        read_nrrd(&path).unwrap_err(),
        IoError::Format { .. }
    ));
}

#[test]
fn every_truncation_and_corruption_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [3, 2, 4];
    let v = Volume::from_i16(ramp_i16(dims), oblique_geometry(dims));
    let cut = dir.path().join("cut.nrrd");
    for gzip in [false, true] {
        let path = dir.path().join("whole.nrrd");
        write_nrrd(&path, &v, gzip).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for n in 0..bytes.len() {
            std::fs::write(&cut, &bytes[..n]).unwrap();
            assert!(
                read_nrrd(&cut).is_err(),
                "gzip={gzip}: accepted {n} of {} bytes",
                bytes.len()
            );
        }
        if gzip {
            // Flip bytes inside the compressed stream: an error or (if the
            // damage happens to decode) a result, never a panic.
            let start = bytes.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
            for i in start..bytes.len() {
                let mut damaged = bytes.clone();
                damaged[i] ^= 0x5a;
                std::fs::write(&cut, &damaged).unwrap();
                read_nrrd(&cut).ok();
            }
        }
    }
}

#[test]
fn real_lung_ct_64() {
    let Some(dir) = crate::testdata::dir("lung-ct-64") else {
        return;
    };
    let ct = read_nrrd(&dir.join("ct-64.nrrd")).unwrap();
    let g = ct.geometry;
    assert_eq!(g.dims, [79, 64, 64]);
    assert_eq!(ct.data.shape(), [79, 64, 64]);
    assert!(
        (g.spacing_mm - DVec3::new(4.171_872, 4.171_872, 3.987_341_772_151_898_7)).length() < 1e-9
    );
    assert!(
        (g.origin_mm - DVec3::new(-128.413_806, -264.413_806, -360.256_329_113_924_04)).length()
            < 1e-9
    );
    assert_eq!(g.direction, DMat3::IDENTITY);
    let ImageData::I16(hu) = &ct.data else {
        panic!("expected short data, got {}", ct.data.type_name())
    };
    assert_eq!(hu.iter().min(), Some(&-1007));
    assert_eq!(hu.iter().max(), Some(&1095));
    // Same voxels, in the same [z, row, col] order, as the reference HU volume
    // of the DICOM series (shared/data/README.md).
    let bytes: Vec<u8> = hu.iter().flat_map(|v| v.to_le_bytes()).collect();
    let sha = Sha256::digest(&bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            write!(s, "{b:02x}").ok();
            s
        });
    assert_eq!(
        sha,
        "1e35a7789ff1e391014af836f6a6792305c7eafd9ca5c338d51d1d4704fa630f"
    );

    let lung = read_nrrd(&dir.join("wholeLung-64.nrrd")).unwrap();
    assert_eq!(lung.geometry, g);
    assert_eq!(lung.data.type_name(), "u16");

    // Writing and reading back keeps voxels and geometry.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("ct.nrrd");
    let volume = ct.clone().into_volume();
    write_nrrd(&path, &volume, true).unwrap();
    let back = read_nrrd(&path).unwrap();
    assert_eq!(back.data, ct.data);
    assert_geometry_close(&back.geometry, &g);
}
