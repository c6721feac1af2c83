//! Tests of the NIfTI-1 writer and reader: round trips over oblique, flipped
//! and sheared grids (world positions of the corner voxels), the header fields
//! as the `nifti` crate's own reader sees them, qform-only and scaled files,
//! big-endian files, every stored integer type coming back exactly, atomic
//! writes through temporary files, and hostile input.

#![allow(clippy::float_cmp, reason = "known answers are exact")]

use glam::{DMat3, DVec3};
use ndarray::{Array3, IxDyn};
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray as _, NiftiObject as _, ReaderOptions};

use super::*;
use crate::io::MAX_DATA_BYTES;

fn rot() -> DMat3 {
    DMat3::from_rotation_z(0.4) * DMat3::from_rotation_y(-0.25) * DMat3::from_rotation_x(0.15)
}

/// Oblique (rotated) grid with a flipped row axis: left-handed.
fn oblique_flipped(dims: [usize; 3]) -> Geometry {
    let r = rot();
    Geometry {
        dims,
        spacing_mm: DVec3::new(0.703_125, 0.8, 2.5),
        origin_mm: DVec3::new(-180.2, 95.7, -1203.25),
        direction: DMat3::from_cols(r * DVec3::X, r * -DVec3::Y, r * DVec3::Z),
    }
}

/// Oblique right-handed grid whose slice axis is tilted by ~14° (gantry tilt).
fn sheared(dims: [usize; 3]) -> Geometry {
    let r = rot();
    Geometry {
        dims,
        spacing_mm: DVec3::new(0.5, 0.5, 1.25),
        origin_mm: DVec3::new(12.0, -30.5, 400.0),
        direction: DMat3::from_cols(
            r * DVec3::X,
            r * DVec3::Y,
            (r * DVec3::new(0.0, 0.25, 1.0)).try_normalize().unwrap(),
        ),
    }
}

/// LPS positions of the 8 corner voxels.
fn corners(g: &Geometry) -> Vec<DVec3> {
    let [nz, ny, nx] = g.dims;
    let mut out = Vec::new();
    for k in [0, nz - 1] {
        for j in [0, ny - 1] {
            for i in [0, nx - 1] {
                out.push(g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64)));
            }
        }
    }
    out
}

fn assert_corners_close(a: &Geometry, b: &Geometry, tol_mm: f64) {
    assert_eq!(a.dims, b.dims);
    for (p, q) in corners(a).iter().zip(corners(b)) {
        assert!((*p - q).length() < tol_mm, "{p} vs {q}\n{a:?}\n{b:?}");
    }
}

fn ramp_i16(dims: [usize; 3]) -> Array3<i16> {
    Array3::from_shape_fn(dims, |(z, y, x)| (z * 1000 + y * 31 + x) as i16 - 1024)
}

/// Overwrites bytes of an uncompressed `.nii`.
fn patch(path: &Path, offset: usize, bytes: &[u8]) {
    let mut data = std::fs::read(path).unwrap();
    data[offset..offset + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).unwrap();
}

#[test]
fn round_trip_voxels_and_corners() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [4, 5, 6];
    let a = ramp_i16(dims);
    for (name, g) in [
        ("oblique", oblique_flipped(dims)),
        ("sheared", sheared(dims)),
    ] {
        for ext in ["nii", "nii.gz"] {
            let path = dir.path().join(format!("{name}.{ext}"));
            write_nifti(&path, &Volume::from_i16(a.clone(), g)).unwrap();
            let back = read_nifti(&path).unwrap();
            assert_eq!(back.data, ImageData::I16(a.clone()), "{name}.{ext}");
            assert_corners_close(&back.geometry, &g, 1e-4);
            assert!(
                (back.geometry.spacing_mm - g.spacing_mm)
                    .abs()
                    .max_element()
                    < 1e-5
            );
            assert_eq!(back.geometry.orientation_code(), g.orientation_code());

            let f = a.mapv(|v| f32::from(v) / 3.0);
            write_nifti(&path, &Volume::from_f32(f.clone(), g)).unwrap();
            assert_eq!(read_nifti(&path).unwrap().data, ImageData::F32(f));
        }
    }
}

#[test]
fn gzip_follows_the_extension_and_reading_sniffs_it() {
    let dir = tempfile::tempdir().unwrap();
    let g = oblique_flipped([2, 3, 4]);
    let v = Volume::from_i16(ramp_i16([2, 3, 4]), g);
    let gz = dir.path().join("a.nii.gz");
    let plain = dir.path().join("a.nii");
    write_nifti(&gz, &v).unwrap();
    write_nifti(&plain, &v).unwrap();
    assert_eq!(&std::fs::read(&gz).unwrap()[..2], &[0x1f, 0x8b]);
    assert_eq!(std::fs::read(&plain).unwrap().len(), 352 + 2 * 3 * 4 * 2);
    // A compressed file with the wrong name still reads.
    let renamed = dir.path().join("really-gz.nii");
    std::fs::rename(&gz, &renamed).unwrap();
    assert_eq!(read_nifti(&renamed).unwrap(), read_nifti(&plain).unwrap());
}

#[test]
fn header_fields_as_the_nifti_crate_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [3, 4, 5];
    let g = oblique_flipped(dims);
    let a = ramp_i16(dims);
    let path = dir.path().join("h.nii.gz");
    write_nifti(&path, &Volume::from_i16(a.clone(), g)).unwrap();

    let obj = ReaderOptions::new().read_file(&path).unwrap();
    let h = obj.header();
    assert_eq!(h.sizeof_hdr, 348);
    assert_eq!(&h.magic, b"n+1\0");
    assert_eq!(h.dim, [3, 5, 4, 3, 1, 1, 1, 1]);
    assert_eq!(h.datatype, 4);
    assert_eq!(h.bitpix, 16);
    assert!((h.vox_offset - 352.0).abs() < f32::EPSILON);
    assert!((h.scl_slope - 1.0).abs() < f32::EPSILON && h.scl_inter == 0.0);
    assert_eq!(h.xyzt_units, 2);
    assert_eq!((h.sform_code, h.qform_code), (1, 1));
    assert!(
        (h.pixdim[0] + 1.0).abs() < f32::EPSILON,
        "left-handed grid: qfac = -1"
    );
    for n in 0..3 {
        assert!((f64::from(h.pixdim[n + 1]) - g.spacing_mm[n]).abs() < 1e-6);
    }
    // srow = diag(-1, -1, 1) · world_from_voxel.
    let w = g.world_from_voxel();
    let ras = DMat3::from_diagonal(DVec3::new(-1.0, -1.0, 1.0));
    let m = ras * w.matrix3;
    let t = ras * w.translation;
    for (r, row) in [h.srow_x, h.srow_y, h.srow_z].iter().enumerate() {
        for (c, v) in row[..3].iter().enumerate() {
            assert!((f64::from(*v) - m.col(c)[r]).abs() < 1e-5);
        }
        assert!((f64::from(row[3]) - t[r]).abs() < 1e-4);
    }
    // The crate's array is indexed [i, j, k] = [col, row, slice].
    let arr = obj.into_volume().into_ndarray::<i16>().unwrap();
    assert_eq!(arr.shape(), &[5, 4, 3]);
    for ((z, y, x), v) in a.indexed_iter() {
        assert_eq!(arr[IxDyn(&[x, y, z])], *v);
    }
}

#[test]
fn known_answer_for_axis_aligned_grids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.nii");
    let g = Geometry {
        spacing_mm: DVec3::new(0.5, 0.75, 2.0),
        origin_mm: DVec3::new(-100.0, 50.0, -20.0),
        ..Geometry::identity([2, 2, 2])
    };
    write_nifti(&path, &Volume::from_i16(ramp_i16([2, 2, 2]), g)).unwrap();
    let h = NiftiHeader::from_file(&path).unwrap();
    assert_eq!(h.srow_x, [-0.5, 0.0, 0.0, 100.0]);
    assert_eq!(h.srow_y, [0.0, -0.75, 0.0, -50.0]);
    assert_eq!(h.srow_z, [0.0, 0.0, 2.0, -20.0]);
    // LPS axes in RAS = 180° about z: quaternion (b, c, d) = (0, 0, 1), qfac 1.
    assert_eq!((h.quatern_b, h.quatern_c, h.quatern_d), (0.0, 0.0, 1.0));
    assert_eq!(
        (h.quatern_x, h.quatern_y, h.quatern_z),
        (100.0, -50.0, -20.0)
    );
    assert_eq!(h.pixdim[..4], [1.0, 0.5, 0.75, 2.0]);

    // Slices running head to feet: left-handed, qfac -1, same quaternion.
    let flipped = Geometry {
        direction: DMat3::from_diagonal(DVec3::new(1.0, 1.0, -1.0)),
        ..g
    };
    write_nifti(&path, &Volume::from_i16(ramp_i16([2, 2, 2]), flipped)).unwrap();
    let h = NiftiHeader::from_file(&path).unwrap();
    assert_eq!(h.srow_z, [0.0, 0.0, -2.0, -20.0]);
    assert_eq!((h.quatern_b, h.quatern_c, h.quatern_d), (0.0, 0.0, 1.0));
    assert_eq!(h.pixdim[0], -1.0);
    assert_eq!(read_nifti(&path).unwrap().geometry, flipped);
}

#[test]
fn qform_only_files() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [3, 4, 5];
    let path = dir.path().join("q.nii");

    // Without shear the qform alone gives the same grid.
    let g = oblique_flipped(dims);
    write_nifti(&path, &Volume::from_i16(ramp_i16(dims), g)).unwrap();
    patch(&path, 254, &0i16.to_le_bytes()); // sform_code = 0
    let back = read_nifti(&path).unwrap();
    assert_corners_close(&back.geometry, &g, 1e-4);

    // With shear the qform keeps the slice plane (column and row axes) and
    // puts the slice axis on the normal.
    let g = sheared(dims);
    write_nifti(&path, &Volume::from_i16(ramp_i16(dims), g)).unwrap();
    patch(&path, 254, &0i16.to_le_bytes());
    let q = read_nifti(&path).unwrap().geometry;
    assert!((q.origin_mm - g.origin_mm).length() < 1e-4);
    assert!((q.direction.x_axis - g.direction.x_axis).length() < 1e-6);
    assert!((q.direction.y_axis - g.direction.y_axis).length() < 1e-6);
    assert!((q.direction.z_axis - g.slice_normal()).length() < 1e-6);
    assert!(q.shear_deg() < 1e-3);

    // Neither form: axis-aligned RAS from pixdim, at the origin.
    patch(&path, 252, &0i16.to_le_bytes());
    let m1 = read_nifti(&path).unwrap().geometry;
    assert_eq!(m1.origin_mm, DVec3::ZERO);
    assert_eq!(m1.orientation_code(), "RAS");
    assert!((m1.spacing_mm - g.spacing_mm).length() < 1e-6);
}

#[test]
fn scaled_and_big_endian_files() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [2, 2, 3];
    let g = oblique_flipped(dims);
    let path = dir.path().join("s.nii");
    let stored = Array3::from_shape_fn(dims, |(z, y, x)| (z * 6 + y * 3 + x) as i16);
    write_nifti(&path, &Volume::from_i16(stored.clone(), g)).unwrap();
    patch(&path, 112, &2.0f32.to_le_bytes());
    patch(&path, 116, &(-1024.0f32).to_le_bytes());
    let v = read_nifti(&path).unwrap();
    assert_eq!(
        v.data,
        ImageData::F32(stored.mapv(|s| f32::from(s) * 2.0 - 1024.0))
    );
    // A zero slope means "no scaling".
    patch(&path, 112, &0.0f32.to_le_bytes());
    assert_eq!(
        read_nifti(&path).unwrap().data,
        ImageData::I16(stored.clone())
    );

    // The same image written big-endian (by the crate, from our header).
    let header = NiftiHeader {
        endianness: Endianness::Big,
        ..nifti_header(&g, NiftiType::Int16)
    };
    let be = dir.path().join("be.nii");
    WriterOptions::new(&be)
        .reference_header(&header)
        .write_nifti(&stored.view().reversed_axes())
        .unwrap();
    let bytes = std::fs::read(&be).unwrap();
    assert_eq!(&bytes[..4], &348i32.to_be_bytes());
    assert_eq!(&bytes[354..356], &stored[[0, 0, 1]].to_be_bytes());
    let v = read_nifti(&be).unwrap();
    assert_eq!(v.data, ImageData::I16(stored));
    assert_corners_close(&v.geometry, &g, 1e-4);
}

#[test]
fn hostile_headers_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.nii");
    let g = Geometry::identity([2, 2, 2]);
    let good = {
        let p = dir.path().join("good.nii");
        write_nifti(&p, &Volume::from_i16(ramp_i16([2, 2, 2]), g)).unwrap();
        std::fs::read(p).unwrap()
    };
    let with = |offset: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[offset..offset + bytes.len()].copy_from_slice(bytes);
        b
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with(344, b"ni1\0"), "unsupported"),
        (with(344, b"xyz\0"), "format"),
        (with(0, &540i32.to_le_bytes()), "unsupported"),
        (with(0, &100i32.to_le_bytes()), "format"),
        (with(70, &128i16.to_le_bytes()), "unsupported"), // RGB24
        (with(70, &1024i16.to_le_bytes()), "unsupported"), // int64
        (with(40, &1i16.to_le_bytes()), "unsupported"),
        (with(40, &4i16.to_le_bytes()), "ok-if-t-is-1"),
        (with(46, &0i16.to_le_bytes()), "format"),
        (with(42, &[0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f]), "too large"),
        (with(108, &f32::NAN.to_le_bytes()), "format"),
        (with(108, &348.0f32.to_le_bytes()), "format"),
        (with(108, &352.5f32.to_le_bytes()), "format"),
        (with(108, &1e9f32.to_le_bytes()), "format"),
        (b"garbage".repeat(100), "format"),
        (Vec::new(), "format"),
    ];
    for (i, (bytes, kind)) in cases.iter().enumerate() {
        std::fs::write(&path, bytes).unwrap();
        let result = read_nifti(&path);
        let ok = matches!(
            (*kind, &result),
            ("ok-if-t-is-1", Ok(_))
                | ("format", Err(IoError::Format { .. }))
                | ("unsupported", Err(IoError::Unsupported { .. }))
                | (
                    "too large",
                    Err(IoError::TooLarge {
                        limit: MAX_DATA_BYTES,
                        ..
                    })
                )
        );
        assert!(ok, "case {i} ({kind}): {result:?}");
    }
    // A 4-D time series with two volumes is refused.
    let mut b = with(40, &4i16.to_le_bytes());
    b[48..50].copy_from_slice(&2i16.to_le_bytes());
    std::fs::write(&path, b).unwrap();
    assert!(matches!(
        read_nifti(&path),
        Err(IoError::Unsupported { .. })
    ));
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [2, 3, 2];
    let v = Volume::from_i16(ramp_i16(dims), oblique_flipped(dims));
    let cut = dir.path().join("cut.nii");
    for name in ["w.nii", "w.nii.gz"] {
        let path = dir.path().join(name);
        write_nifti(&path, &v).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for n in 0..bytes.len() {
            std::fs::write(&cut, &bytes[..n]).unwrap();
            assert!(
                read_nifti(&cut).is_err(),
                "{name}: accepted {n} of {} bytes",
                bytes.len()
            );
        }
    }
}

#[test]
fn oversized_axes_and_shape_mismatch_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.nii");
    let v = Volume::from_i16(
        Array3::zeros((1, 1, 40_000)),
        Geometry::identity([1, 1, 40_000]),
    );
    assert!(matches!(
        write_nifti(&path, &v),
        Err(IoError::Unsupported { .. })
    ));
    let v = Volume::from_i16(Array3::zeros((1, 2, 3)), Geometry::identity([1, 2, 4]));
    assert!(matches!(
        write_nifti(&path, &v),
        Err(IoError::ShapeMismatch { .. })
    ));
    assert!(!path.exists());
}

/// Writes `$a` (`[z, row, col]`, any element type the crate writes) with the
/// crate's writer and our header for an identity grid. (A macro: the writer's
/// `Pod` bound names a crate this one does not depend on.)
macro_rules! write_with_crate {
    ($path:expr, $a:expr, $ty:expr) => {{
        let a = &$a;
        let g = Geometry::identity([a.shape()[0], a.shape()[1], a.shape()[2]]);
        WriterOptions::new($path)
            .reference_header(&nifti_header(&g, $ty))
            .write_nifti(&a.view().reversed_axes())
            .unwrap();
    }};
}

#[test]
fn stored_integer_types_come_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let dims = (3, 4, 5);
    let idx = |z: usize, y: usize, x: usize| z * 20 + y * 5 + x;
    for ext in ["nii", "nii.gz"] {
        let path = dir.path().join(format!("t.{ext}"));

        let labels = Array3::from_shape_fn(dims, |(z, y, x)| (idx(z, y, x) * 4) as u8);
        write_with_crate!(&path, labels, NiftiType::Uint8);
        assert_eq!(read_nifti(&path).unwrap().data, ImageData::U8(labels));

        let hu = Array3::from_shape_fn(dims, |(z, y, x)| {
            let n = idx(z, y, x) as i16;
            [i16::MIN + n, i16::MAX - n, -1024 + n, 3071 - n][n as usize % 4]
        });
        write_with_crate!(&path, hu, NiftiType::Int16);
        assert_eq!(read_nifti(&path).unwrap().data, ImageData::I16(hu));

        let raw = Array3::from_shape_fn(dims, |(z, y, x)| 65_535 - idx(z, y, x) as u16);
        write_with_crate!(&path, raw, NiftiType::Uint16);
        assert_eq!(read_nifti(&path).unwrap().data, ImageData::U16(raw));

        // Beyond f32 precision: only an unscaled, uncast read keeps these.
        let wide = Array3::from_shape_fn(dims, |(z, y, x)| (1 << 30) + 1 + idx(z, y, x) as i32);
        write_with_crate!(&path, wide, NiftiType::Int32);
        assert_eq!(read_nifti(&path).unwrap().data, ImageData::I32(wide));

        let small = Array3::from_shape_fn(dims, |(z, y, x)| idx(z, y, x) as i8 - 30);
        write_with_crate!(&path, small, NiftiType::Int8);
        assert_eq!(
            read_nifti(&path).unwrap().data,
            ImageData::I16(small.mapv(i16::from))
        );

        let big = Array3::from_shape_fn(dims, |(z, y, x)| u32::MAX - idx(z, y, x) as u32);
        write_with_crate!(&path, big, NiftiType::Uint32);
        assert_eq!(
            read_nifti(&path).unwrap().data,
            ImageData::F64(big.mapv(f64::from))
        );

        let f = Array3::from_shape_fn(dims, |(z, y, x)| idx(z, y, x) as f64 / 7.0 - 1e300);
        write_with_crate!(&path, f, NiftiType::Float64);
        assert_eq!(read_nifti(&path).unwrap().data, ImageData::F64(f));
    }
}

#[test]
fn two_d_images_and_large_planes_read_by_rows() {
    let dir = tempfile::tempdir().unwrap();
    // A single slice, then the same as a 2-D image (rank 2, read by rows).
    let path = dir.path().join("2d.nii.gz");
    let a = Array3::from_shape_fn((1, 7, 9), |(_, y, x)| (y * 9 + x) as i16);
    write_with_crate!(&path, a, NiftiType::Int16);
    let h = NiftiHeader::from_file(&path).unwrap();
    assert_eq!(h.dim[..3], [3, 9, 7]);
    assert_eq!(read_nifti(&path).unwrap().data, ImageData::I16(a.clone()));
    let plain = dir.path().join("2d.nii");
    write_with_crate!(&plain, a, NiftiType::Int16);
    patch(&plain, 40, &2i16.to_le_bytes());
    let v = read_nifti(&plain).unwrap();
    assert_eq!(v.data, ImageData::I16(a));
    assert_eq!(v.geometry.dims, [1, 7, 9]);

    // Planes above MAX_PLANE_BYTES are streamed row by row.
    let (ny, nx) = (2100, 2100); // 2100² × 4 bytes > 16 MiB
    assert!((ny * nx * 4) as u64 > MAX_PLANE_BYTES);
    let f = Array3::from_shape_fn((2, ny, nx), |(z, y, x)| (z * 7 + y * 3 + x) as f32 * 0.5);
    let path = dir.path().join("wide.nii");
    write_nifti(
        &path,
        &Volume::from_f32(f.clone(), Geometry::identity([2, ny, nx])),
    )
    .unwrap();
    assert_eq!(read_nifti(&path).unwrap().data, ImageData::F32(f));
}

#[test]
fn writes_go_through_a_temporary_file_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let g = oblique_flipped([2, 3, 4]);
    let v = Volume::from_i16(ramp_i16([2, 3, 4]), g);
    // Names with several dots, none, or a bare `.gz` all land on the target.
    let names = ["ct.v2.nii", "ct.v2.nii.gz", "plain", "scan.gz", "x.nii"];
    for name in names {
        let path = dir.path().join(name);
        std::fs::write(&path, b"old").unwrap();
        write_nifti(&path, &v).unwrap();
        let back = read_nifti(&path).unwrap();
        assert_eq!(back.data, ImageData::I16(ramp_i16([2, 3, 4])), "{name}");
        let gz = std::fs::read(&path).unwrap().starts_with(&[0x1f, 0x8b]);
        assert_eq!(gz, has_gz_extension(Path::new(name)), "{name}");
    }
    let mut listed: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort_unstable();
    let mut expected = names.map(str::to_owned).to_vec();
    expected.sort_unstable();
    assert_eq!(listed, expected);

    // A failing writer leaves the old file and no temporary file.
    let path = dir.path().join("keep.nii");
    std::fs::write(&path, b"old").unwrap();
    let err = write_via_temp(&path, false, None, |tmp| {
        std::fs::write(tmp, b"partial")?;
        Err(NiftiError::BadVolumeSize)
    })
    .unwrap_err();
    assert!(matches!(err, IoError::Io { .. }), "{err}");
    // A short file (an unreported failed flush) is refused the same way.
    let err = write_via_temp(&path, false, Some(100), |tmp| {
        std::fs::write(tmp, b"short")?;
        Ok(())
    })
    .unwrap_err();
    assert!(err.to_string().contains("keep.nii"), "{err}");
    // And a panic inside the writer.
    let panicked = std::panic::catch_unwind(|| {
        write_via_temp(&path, true, None, |_| panic!("inside writer")).ok();
    });
    assert!(panicked.is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        names.len() + 1
    );

    // A missing directory is an error naming the target.
    let err = write_nifti(&dir.path().join("no/such/out.nii"), &v).unwrap_err();
    assert!(err.to_string().contains("out.nii"), "{err}");
}
