//! Known answers on the real DICOM data in `../shared/data` (its README has
//! the reference values, computed with `pydicom`, `SimpleITK`, `dcm2niix`).

use crate::common;

use common::{data_dir, sha256_i16};
use hounsfield::dicom::{self, IssueKind, LoadControl};
use hounsfield::volume::Voxels;

fn load(path: &std::path::Path) -> dicom::LoadedSeries {
    dicom::load_series(path, None, &LoadControl::default()).expect("series loads")
}

fn i16s(v: &Voxels) -> &ndarray::Array3<i16> {
    v.as_i16().expect("int16 voxels")
}

#[test]
fn chest_ct_matches_reference_hash_shape_spacing_and_direction() {
    let Some(dir) = data_dir("chest-ct") else {
        return;
    };
    let s = load(&dir);
    let v = &s.volume;
    assert_eq!(v.shape(), [141, 512, 512]);
    let sp = v.geometry.spacing_zyx_mm();
    assert!((sp[0] - 2.0).abs() < 1e-6, "{sp:?}");
    assert!(
        (sp[1] - 0.976_56).abs() < 1e-5 && (sp[2] - 0.976_56).abs() < 1e-5,
        "{sp:?}"
    );
    // Axial, standard orientation: exact identity direction.
    let d = v.geometry.direction;
    assert_eq!(d, glam::DMat3::IDENTITY);
    let a = i16s(&v.voxels);
    assert_eq!(
        sha256_i16(a.iter().copied()),
        "ab678be473541e2d67ffcd9f2f12ffc7c5ca5c4326b0a226938539ef7646a386"
    );
    let st = hounsfield::volume::ops::stats(v);
    assert_eq!((st.min_hu, st.max_hu), (-1024.0, 2976.0));
    assert!((st.mean_hu - -667.6728).abs() < 1e-3);
    assert!(s.report.issues.is_empty(), "{:?}", s.report);
}

#[test]
fn chest_ct_is_not_flipped_although_instance_numbers_run_against_z() {
    let Some(dir) = data_dir("chest-ct") else {
        return;
    };
    let s = load(&dir);
    // z ascends along the normal: each slice's origin is above the previous one.
    let g = &s.volume.geometry;
    let z0 = g.world_of_voxel(glam::DVec3::ZERO).z;
    let z1 = g.world_of_voxel(glam::DVec3::new(0.0, 0.0, 1.0)).z;
    assert!(
        z1 > z0,
        "slice 1 at {z1} mm must be above slice 0 at {z0} mm"
    );
    // And the headers really do run InstanceNumber the other way.
    let report = dicom::scan(&[dir]);
    let mut by_z: Vec<(f64, i64)> = report.series[0]
        .instances
        .iter()
        .map(|h| {
            (
                h.frames[0].position_mm.unwrap().z,
                h.instance_number.unwrap(),
            )
        })
        .collect();
    by_z.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(by_z.first().unwrap().1 > by_z.last().unwrap().1);
}

#[test]
fn lung_ct_64_matches_reference_hash_and_its_nrrd() {
    let Some(dir) = data_dir("lung-ct-64") else {
        return;
    };
    let s = load(&dir.join("dicom"));
    let a = i16s(&s.volume.voxels);
    assert_eq!(s.volume.shape(), [79, 64, 64]);
    assert_eq!(
        sha256_i16(a.iter().copied()),
        "1e35a7789ff1e391014af836f6a6792305c7eafd9ca5c338d51d1d4704fa630f"
    );
    let nrrd = hounsfield::io::nrrd::read_nrrd(&dir.join("ct-64.nrrd")).unwrap();
    let n = nrrd.data.to_i16_lossless().unwrap();
    assert_eq!(&n, a, "DICOM voxels differ from ct-64.nrrd");
    // Same grid in world space.
    let (g, h) = (&s.volume.geometry, &nrrd.geometry);
    for corner in [glam::DVec3::ZERO, glam::DVec3::new(63.0, 63.0, 78.0)] {
        let d = g.world_of_voxel(corner) - h.world_of_voxel(corner);
        assert!(d.length() < 1e-3, "corner {corner} differs by {d} mm");
    }
}

fn transfer_syntax_volume(
    name: &str,
) -> Option<Result<hounsfield::volume::Volume, dicom::DicomError>> {
    let dir = data_dir("transfer-syntaxes")?;
    Some(dicom::load_series(&dir.join(name), None, &LoadControl::default()).map(|s| s.volume))
}

#[test]
fn every_lossless_transfer_syntax_decodes_to_the_reference_pixels() {
    let Some(Ok(reference)) = transfer_syntax_volume("CTImage.dcm") else {
        return;
    };
    let reference = i16s(&reference.voxels).clone();
    let lossless = [
        "CTImage.dcm_LittleEndianImplicitTransferSyntax_1.2.840.10008.1.2.dcm",
        "CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm",
        "CTImage.dcm_BigEndianExplicitTransferSyntax_1.2.840.10008.1.2.2.dcm",
        "CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm",
        "CTImage.dcm_JPEGProcess14TransferSyntax_1.2.840.10008.1.2.4.57.dcm",
        "CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm",
        "CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm",
        "CTImage.dcm_JPEG2000LosslessOnlyTransferSyntax_1.2.840.10008.1.2.4.90.dcm",
        "CTImage.dcm_RLELosslessTransferSyntax_1.2.840.10008.1.2.5.dcm",
    ];
    for name in lossless {
        let v = transfer_syntax_volume(name)
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            i16s(&v.voxels),
            &reference,
            "{name} differs from CTImage.dcm"
        );
    }
}

/// Lossy syntaxes: mean absolute error against the lossless pixels, in HU.
/// Tolerances: JPEG 2000 / JPEG-LS near-lossless ≤ 2 HU; 8-bit JPEG baseline
/// (whose encoder rescaled the 16-bit CT into 8 bits) ≤ 40 HU.
#[test]
fn lossy_transfer_syntaxes_are_within_tolerance_or_a_clear_error() {
    let Some(Ok(reference)) = transfer_syntax_volume("CTImage.dcm") else {
        return;
    };
    let reference = reference.voxels.to_f32();
    let cases = [
        (
            "CTImage.dcm_JPEG2000TransferSyntax_1.2.840.10008.1.2.4.91.dcm",
            2.0,
        ),
        (
            "CTImage.dcm_JPEGLSLossyTransferSyntax_1.2.840.10008.1.2.4.81.dcm",
            2.0,
        ),
        (
            "CTImage.dcm_JPEGProcess1TransferSyntax_1.2.840.10008.1.2.4.50.dcm",
            40.0,
        ),
    ];
    for (name, tol) in cases {
        let v = transfer_syntax_volume(name)
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = v.voxels.to_f32();
        let mae = (&got - &reference).mapv(f32::abs).mean().unwrap();
        assert!(mae <= tol, "{name}: mean abs error {mae} HU > {tol}");
        println!("{name}: mean abs error {mae:.2} HU");
    }
    // 12-bit JPEG extended: jpeg-decoder rejects it; it must be an error
    // naming the file and the decoder's reason, or pixels within tolerance.
    let name = "CTImage.dcm_JPEGProcess2_4TransferSyntax_1.2.840.10008.1.2.4.51.dcm";
    match transfer_syntax_volume(name).unwrap() {
        Ok(v) => {
            let mae = (&v.voxels.to_f32() - &reference)
                .mapv(f32::abs)
                .mean()
                .unwrap();
            assert!(mae <= 40.0, "{name}: mean abs error {mae}");
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("decode") && msg.contains(".4.51"), "{msg}");
        }
    }
}

#[test]
fn unsupported_transfer_syntaxes_are_named_in_the_error() {
    for (file, expected) in [
        (
            "CTImage.dcm_JPEGProcess10_12TransferSyntax_1.2.840.10008.1.2.4.55.dcm",
            "Process 10 & 12",
        ),
        (
            "CTImage.dcm_JPEGProcess6_8TransferSyntax_1.2.840.10008.1.2.4.53.dcm",
            "Process 6 & 8",
        ),
    ] {
        let Some(r) = transfer_syntax_volume(file) else {
            return;
        };
        let msg = r.expect_err(file).to_string();
        assert!(
            msg.contains(expected) && msg.contains("not supported"),
            "{msg}"
        );
    }
}

#[test]
fn seg_abdomen_spacing_comes_from_positions_not_slice_thickness() {
    let Some(dir) = data_dir("seg-abdomen/ct") else {
        return;
    };
    let s = load(&dir);
    assert_eq!(s.volume.shape()[0], 20);
    assert!((s.volume.geometry.spacing_zyx_mm()[0] - 2.0).abs() < 1e-4);
    assert!(s.report.has(IssueKind::ThicknessMismatch));
    assert!(s.transfer_syntax_uid.starts_with("1.2.840.10008.1.2.4.9"));
}

#[test]
fn enhanced_multiframe_ct_loads_as_two_slices() {
    let Some(dir) = data_dir("multiframe") else {
        return;
    };
    let s = load(&dir.join("eCT_Supplemental.dcm"));
    assert_eq!(s.volume.shape(), [2, 512, 512]);
    let g = &s.volume.geometry;
    assert!(g.spacing_zyx_mm()[0] > 0.0);
    let st = hounsfield::volume::ops::stats(&s.volume);
    assert!(st.min_hu >= -3100.0 && st.max_hu < 5000.0, "{st:?}");
    assert!(st.std_hu > 10.0, "an image, not a constant: {st:?}");
}

#[test]
fn seg_and_other_objects_are_listed_as_objects_not_series() {
    let Some(dir) = data_dir("seg-dcmqi") else {
        return;
    };
    let r = dicom::scan(&[dir]);
    assert!(
        r.objects
            .iter()
            .any(|o| o.kind == dicom::ObjectKind::Segmentation)
    );
    assert!(r.series.iter().all(|s| {
        s.instances
            .iter()
            .all(|i| i.kind == dicom::ObjectKind::Image)
    }));
}

/// Every file under `edge-cases/` (and the rest of the data): scanning and
/// loading give a result or an error, never a panic or an abort; oversized
/// declared images are refused before allocating.
#[test]
fn hostile_files_never_panic() {
    let Some(dir) = data_dir("edge-cases") else {
        return;
    };
    let report = dicom::scan(&[dir]);
    assert!(
        report.failures.len() > 10,
        "hostile files must be reported, not dropped"
    );
    assert!(report.failures.iter().all(|f| !f.reason.is_empty()));
    let limits = dicom::Limits::default();
    let mut loaded = 0;
    let mut refused_large = 0;
    for s in &report.series {
        match dicom::load_info(s, &limits, &LoadControl::default()) {
            Ok(l) => {
                loaded += 1;
                assert_eq!(l.volume.voxels.len(), l.volume.geometry.voxel_count());
            }
            Err(dicom::DicomError::TooLarge { .. }) => refused_large += 1,
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    assert!(loaded > 20, "only {loaded} edge-case series loaded");
    assert!(
        refused_large >= 2,
        "the 65535x65535 and 46341x46341 files must be refused"
    );
}

#[test]
fn declared_padding_stays_as_stored_and_is_exposed_as_a_mask() {
    let Some(dir) = data_dir("seg-dcmqi/ct-3slice") else {
        return;
    };
    let s = load(&dir);
    let v = &s.volume;
    // PixelPaddingValue −2000 stored, intercept −1024: −3024 HU, kept as is.
    assert!(v.has_padding());
    let pad = v.padding_per_slice[0].expect("padding declared");
    assert!(
        (pad.lo_hu - -3024.0).abs() < 1e-3 && (pad.hi_hu - -3024.0).abs() < 1e-3,
        "{pad:?}"
    );
    let mask = v.padding_mask();
    let a = i16s(&v.voxels);
    let at_pad = a.iter().filter(|&&x| x == -3024).count();
    assert_eq!(mask.iter().filter(|&&m| m).count(), at_pad);
    // pydicom counts 55772 padding pixels in the first file.
    let first_slice_pad = mask
        .index_axis(ndarray::Axis(0), 0)
        .iter()
        .filter(|&&m| m)
        .count()
        + mask
            .index_axis(ndarray::Axis(0), 2)
            .iter()
            .filter(|&&m| m)
            .count();
    assert!(first_slice_pad >= 55772, "{first_slice_pad}");
}
