//! Tests of the DICOM series writer.
use dicom_object::open_file;
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder as _};
use glam::DMat3;
use ndarray::Array3;

use super::*;
use crate::volume::Geometry;

fn tiny_volume(tilt_deg: f64) -> Volume {
    let (nz, ny, nx) = (4, 3, 5);
    let hu = Array3::from_shape_fn((nz, ny, nx), |(k, j, i)| {
        -1000 + (k * 100 + j * 10 + i) as i16 * 7
    });
    let t = tilt_deg.to_radians();
    let geometry = Geometry {
        dims: [nz, ny, nx],
        spacing_mm: DVec3::new(0.75, 0.8, 2.5 / t.cos()),
        origin_mm: DVec3::new(-10.0, 20.5, -300.0),
        direction: DMat3::from_cols(DVec3::X, DVec3::Y, DVec3::new(0.0, t.sin(), t.cos())),
    };
    Volume::from_i16(hu, geometry)
}

fn str_of(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim()
        .to_owned()
}

fn floats(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag).unwrap().to_multi_float64().unwrap()
}

#[test]
fn writes_readable_ct_slices() {
    let volume = tiny_volume(0.0);
    let dir = tempfile::tempdir().unwrap();
    let opts = SeriesWriteOptions::default();
    let paths = write_series(&volume, dir.path(), &opts).unwrap();
    assert_eq!(paths.len(), 4);
    assert!(paths[2].ends_with("IM_00002.dcm"));
    // No temporary files left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 4);

    let obj = open_file(&paths[2]).unwrap();
    assert_eq!(
        obj.meta().transfer_syntax().trim_end_matches('\0'),
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    );
    assert_eq!(str_of(&obj, tags::SOP_CLASS_UID), uids::CT_IMAGE_STORAGE);
    assert_eq!(str_of(&obj, tags::MODALITY), "CT");
    assert_eq!(str_of(&obj, tags::MANUFACTURER), "Hounsfield");
    assert_eq!(str_of(&obj, tags::PATIENT_ID), opts.patient_id);
    assert_eq!(str_of(&obj, tags::INSTANCE_NUMBER), "3");
    assert_eq!(
        str_of(&obj, tags::PHOTOMETRIC_INTERPRETATION),
        "MONOCHROME2"
    );
    assert!(str_of(&obj, tags::STUDY_INSTANCE_UID).starts_with("2.25."));
    assert_eq!(obj.element(tags::ROWS).unwrap().to_int::<u16>().unwrap(), 3);
    assert_eq!(
        obj.element(tags::COLUMNS).unwrap().to_int::<u16>().unwrap(),
        5
    );
    assert_eq!(
        obj.element(tags::BITS_STORED)
            .unwrap()
            .to_int::<u16>()
            .unwrap(),
        12
    );
    assert_eq!(
        obj.element(tags::HIGH_BIT)
            .unwrap()
            .to_int::<u16>()
            .unwrap(),
        11
    );
    assert_eq!(
        obj.element(tags::PIXEL_REPRESENTATION)
            .unwrap()
            .to_int::<u16>()
            .unwrap(),
        0
    );
    assert_eq!(floats(&obj, tags::PIXEL_SPACING), vec![0.8, 0.75]);
    assert_eq!(
        floats(&obj, tags::IMAGE_ORIENTATION_PATIENT),
        vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
    assert_eq!(
        floats(&obj, tags::IMAGE_POSITION_PATIENT),
        vec![-10.0, 20.5, -295.0]
    );
    assert_eq!(floats(&obj, tags::SLICE_THICKNESS), vec![2.5]);
    assert_eq!(floats(&obj, tags::RESCALE_INTERCEPT), vec![-1024.0]);

    let decoded = obj.decode_pixel_data().unwrap();
    let stored: Vec<u16> = decoded
        .to_vec_with_options(&ConvertOptions::new().with_modality_lut(ModalityLutOption::None))
        .unwrap();
    let hu = volume.voxels.as_i16().unwrap();
    let expected: Vec<u16> = hu
        .index_axis(ndarray::Axis(0), 2)
        .iter()
        .map(|&v| (i32::from(v) + 1024) as u16)
        .collect();
    assert_eq!(stored, expected);
    let rescaled: Vec<f32> = decoded.to_vec().unwrap();
    let hu_slice: Vec<f32> = hu
        .index_axis(ndarray::Axis(0), 2)
        .iter()
        .map(|&v| f32::from(v))
        .collect();
    assert_eq!(rescaled, hu_slice);
}

#[test]
fn tilted_shuffled_implicit_signed() {
    let volume = tiny_volume(20.0);
    let dir = tempfile::tempdir().unwrap();
    let opts = SeriesWriteOptions {
        shuffle_names: true,
        instance_numbers_reversed_or_shuffled: true,
        drop_slices: vec![1],
        rescale_intercept: 0.0,
        explicit_vr: false,
        ..SeriesWriteOptions::default()
    };
    let paths = write_series(&volume, dir.path(), &opts).unwrap();
    assert_eq!(paths.len(), 3);
    let mut numbers = Vec::new();
    for (path, k) in paths.iter().zip([0usize, 2, 3]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("IM_") && name.len() == 3 + 16 + 4,
            "{name}"
        );
        let obj = open_file(path).unwrap();
        assert_eq!(
            obj.meta().transfer_syntax().trim_end_matches('\0'),
            uids::IMPLICIT_VR_LITTLE_ENDIAN
        );
        let ipp = floats(&obj, tags::IMAGE_POSITION_PATIENT);
        let want = volume
            .geometry
            .world_of_voxel(DVec3::new(0.0, 0.0, k as f64));
        assert!(
            (DVec3::from_slice(&ipp) - want).length() < 1e-6,
            "{ipp:?} vs {want}"
        );
        assert_eq!(
            obj.element(tags::PIXEL_REPRESENTATION)
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            1
        );
        assert!((floats(&obj, tags::SLICE_THICKNESS)[0] - 2.5).abs() < 1e-9);
        numbers.push(str_of(&obj, tags::INSTANCE_NUMBER).parse::<i32>().unwrap());
        let stored: Vec<i16> = obj
            .decode_pixel_data()
            .unwrap()
            .to_vec_with_options(&ConvertOptions::new().with_modality_lut(ModalityLutOption::None))
            .unwrap();
        let expected: Vec<i16> = volume
            .voxels
            .as_i16()
            .unwrap()
            .index_axis(ndarray::Axis(0), k)
            .iter()
            .copied()
            .collect();
        assert_eq!(stored, expected);
    }
    assert!(!numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    // Same options, same bytes.
    let dir2 = tempfile::tempdir().unwrap();
    let paths2 = write_series(&volume, dir2.path(), &opts).unwrap();
    for (a, b) in paths.iter().zip(&paths2) {
        assert_eq!(a.file_name(), b.file_name());
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
    }
}

#[test]
fn rejects_bad_input() {
    let volume = tiny_volume(0.0);
    let dir = tempfile::tempdir().unwrap();
    let bad_slope = SeriesWriteOptions {
        rescale_slope: 0.0,
        ..SeriesWriteOptions::default()
    };
    assert!(matches!(
        write_series(&volume, dir.path(), &bad_slope),
        Err(WriteError::InvalidRescale { .. })
    ));
    let bad_drop = SeriesWriteOptions {
        drop_slices: vec![4],
        ..SeriesWriteOptions::default()
    };
    assert!(matches!(
        write_series(&volume, dir.path(), &bad_drop),
        Err(WriteError::DropOutOfRange {
            index: 4,
            slices: 4
        })
    ));
    let overflow = SeriesWriteOptions {
        rescale_slope: 0.001,
        ..SeriesWriteOptions::default()
    };
    assert!(matches!(
        write_series(&volume, dir.path(), &overflow),
        Err(WriteError::ValueOutOfRange { .. })
    ));
}

#[test]
fn ds_fits_sixteen_chars() {
    for v in [
        0.0,
        -0.0,
        1.0,
        -174.804_687_5,
        0.342_020_143_325_668_7,
        -1e-20,
        123_456_789.123_456_7,
        1e300,
    ] {
        let s = ds(v);
        assert!(s.len() <= 16, "{s}");
        let back: f64 = s.parse().unwrap();
        assert!((back - v).abs() <= 1e-9 * v.abs().max(1.0), "{v} → {s}");
    }
    assert_eq!(ds(-0.0), "0");
    assert!(uid(0, 0).len() <= 64);
}
