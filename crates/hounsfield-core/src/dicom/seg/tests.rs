//! Unit tests of DICOM-SEG reading, placing and writing on synthetic data.

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use glam::{DMat3, DVec3};
use ndarray::Array3;

use super::read::extract_bits;
use super::*;
use crate::dicom::meta::SeriesMetadata;
use crate::seg::{Mask, Segment, Segmentation};

#[test]
fn bits_are_extracted_across_byte_boundaries() {
    // Stream 0b1011_0110, 0b0000_0001: bits (LSB first) 0,1,1,0,1,1,0,1, 1,0...
    let data = [0b1011_0110u8, 0b0000_0001];
    assert_eq!(extract_bits(&data, 0, 8), vec![0b1011_0110]);
    assert_eq!(extract_bits(&data, 3, 6), vec![0b0011_0110]);
    assert_eq!(extract_bits(&data, 1, 3), vec![0b011]);
    // Past the end: zeros, no panic.
    assert_eq!(extract_bits(&data, 12, 12), vec![0, 0]);
}

/// A 4-slice grid of 5 × 7 pixels (35 bits per frame: never byte aligned).
fn grid() -> ReferenceGrid {
    let geometry = Geometry {
        dims: [4, 5, 7],
        spacing_mm: DVec3::new(0.8, 0.9, 2.5),
        origin_mm: DVec3::new(-10.0, 20.0, 30.0),
        direction: DMat3::IDENTITY,
    };
    let mut g = ReferenceGrid::bare(geometry);
    g.frame_of_reference_uid = Some("1.2.3.4".into());
    g.study_uid = Some("1.2.3.5".into());
    g.series_uid = Some("1.2.3.6".into());
    g.slice_sop_uids = (0..4).map(|z| Some(format!("1.2.3.7.{z}"))).collect();
    g
}

/// Two overlapping segments and an empty one.
fn segmentation(g: &ReferenceGrid) -> Segmentation {
    let dims = g.geometry.dims;
    let mut a = Array3::from_elem(dims, false);
    let mut b = Array3::from_elem(dims, false);
    for ((z, r, c), v) in a.indexed_iter_mut() {
        *v = (z == 1 || z == 3) && (r + c) % 3 == 0;
    }
    for ((z, r, c), v) in b.indexed_iter_mut() {
        *v = z >= 1 && r >= 2 && c <= 4;
    }
    Segmentation {
        geometry: g.geometry,
        segments: vec![
            Segment::named(1, "liver", Mask::from_full(a.view())),
            Segment::named(2, "Tumour", Mask::from_full(b.view())),
            Segment::named(7, "nothing", Mask::empty(dims)),
        ],
        source: "test".into(),
    }
}

fn write(dir: &Path, g: &ReferenceGrid) -> PathBuf {
    let path = dir.join("seg.dcm");
    let seg = segmentation(g);
    write_seg(
        &path,
        &seg,
        g,
        &SeriesMetadata::default(),
        &SegWriteOptions::default(),
    )
    .expect("write");
    path
}

#[test]
fn written_seg_reads_back_to_the_same_masks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let path = write(dir.path(), &g);
    let obj = read_seg(&path).expect("read");
    assert_eq!(obj.segmentation_type, SegmentationType::Binary);
    // Slices 1 and 3 of segment 1, slices 1..=3 of segment 2, none of 3.
    assert_eq!(obj.frames.len(), 5);
    let back = place_seg(&obj, &g, "back").expect("place");
    let seg = segmentation(&g);
    for (i, (a, b)) in seg.segments.iter().zip(&back.segments).enumerate() {
        assert_eq!(a.mask, b.mask, "segment {i}");
        assert_eq!(a.label, b.label);
        assert_eq!(a.layer, b.layer);
    }
    // Renumbered 1, 2, 3.
    let numbers: Vec<u16> = back.segments.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    // Without references, positions alone place it.
    let bare = ReferenceGrid::bare(g.geometry);
    let again = place_seg(&obj, &bare, "bare").expect("place by position");
    assert_eq!(again.segments, back.segments);
}

fn open(path: &Path) -> DefaultDicomObject {
    OpenFileOptions::new().open_file(path).expect("open")
}

fn save(obj: &DefaultDicomObject, path: &Path) {
    obj.write_to_file(path).expect("save");
}

fn put_str(obj: &mut DefaultDicomObject, tag: dicom_core::Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn put_u16(obj: &mut DefaultDicomObject, tag: dicom_core::Tag, v: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
}

/// The written file's frames as one value per pixel (0/1).
fn unpacked(obj: &SegObject) -> Vec<u8> {
    let n = (obj.rows * obj.cols) as usize;
    obj.frames
        .iter()
        .flat_map(|f| (0..n).map(move |i| u8::from(f.pixels.is_set(i))))
        .collect()
}

#[test]
fn fractional_frames_are_thresholded_at_half() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let path = write(dir.path(), &g);
    let binary = read_seg(&path).expect("read");
    let bits = unpacked(&binary);
    // Set pixels become 128 (just above half of 255), unset ones 127.
    let values: Vec<u8> = bits
        .iter()
        .map(|&b| if b == 1 { 128 } else { 127 })
        .collect();
    let mut obj = open(&path);
    put_str(&mut obj, tags::SEGMENTATION_TYPE, VR::CS, "FRACTIONAL");
    put_str(
        &mut obj,
        tags::SEGMENTATION_FRACTIONAL_TYPE,
        VR::CS,
        "PROBABILITY",
    );
    put_u16(&mut obj, tags::MAXIMUM_FRACTIONAL_VALUE, 255);
    put_u16(&mut obj, tags::BITS_ALLOCATED, 8);
    put_u16(&mut obj, tags::BITS_STORED, 8);
    put_u16(&mut obj, tags::HIGH_BIT, 7);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(values),
    ));
    let frac_path = dir.path().join("frac.dcm");
    save(&obj, &frac_path);
    let frac = read_seg(&frac_path).expect("read fractional");
    assert_eq!(
        frac.segmentation_type,
        SegmentationType::Fractional { max_value: 255 }
    );
    assert_eq!(unpacked(&frac), bits);
    assert_eq!(
        place_seg(&frac, &g, "f").expect("place").segments,
        place_seg(&binary, &g, "b").expect("place").segments
    );
}

#[test]
fn labelmap_frames_give_one_mask_per_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let path = write(dir.path(), &g);
    let [nz, rows, cols] = g.geometry.dims;
    // A 16-bit LABELMAP of slices 0 and 2 only (sparse), with padding 9.
    let mut labels = vec![0u16; 2 * rows * cols];
    labels[3] = 2; // slice 0, row 0, col 3
    labels[rows * cols + 8] = 1; // slice 2, row 1, col 1
    labels[rows * cols + 9] = 9; // padding
    let mut obj = open(&path);
    put_str(&mut obj, tags::SEGMENTATION_TYPE, VR::CS, "LABELMAP");
    put_u16(&mut obj, tags::BITS_ALLOCATED, 16);
    put_u16(&mut obj, tags::BITS_STORED, 16);
    put_u16(&mut obj, tags::HIGH_BIT, 15);
    put_u16(&mut obj, tags::PIXEL_PADDING_VALUE, 9);
    put_str(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, "2");
    let frames: Vec<_> = [0usize, 2]
        .iter()
        .map(|&z| {
            let p = g.geometry.world_of_voxel(DVec3::new(0.0, 0.0, z as f64));
            let position = format!("{}\\{}\\{}", p.x, p.y, p.z);
            InMemDicomObject::from_element_iter([DataElement::new(
                tags::PLANE_POSITION_SEQUENCE,
                VR::SQ,
                dicom_core::value::DataSetSequence::from(vec![
                    InMemDicomObject::from_element_iter([DataElement::new(
                        tags::IMAGE_POSITION_PATIENT,
                        VR::DS,
                        PrimitiveValue::from(position),
                    )]),
                ]),
            )])
        })
        .collect();
    obj.put(DataElement::new(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(frames),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(labels.into()),
    ));
    let lm_path = dir.path().join("labelmap.dcm");
    save(&obj, &lm_path);
    let lm = read_seg(&lm_path).expect("read labelmap");
    assert_eq!(lm.segmentation_type, SegmentationType::Labelmap);
    let seg = place_seg(&lm, &g, "lm").expect("place");
    assert_eq!(seg.segments.len(), 3);
    let set = |i: usize| {
        let mut v = Vec::new();
        seg.segments[i]
            .mask
            .for_each_set(|z, r, c| v.push([z, r, c]));
        v
    };
    assert_eq!(set(0), [[2, 1, 1]]);
    assert_eq!(set(1), [[0, 0, 3]]);
    assert!(set(2).is_empty());
    assert!(nz > 2);

    // A value that is no segment number is an error, not a silent label.
    let mut obj = open(&lm_path);
    let mut bad = vec![0u16; 2 * rows * cols];
    bad[0] = 5;
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(bad.into()),
    ));
    save(&obj, &lm_path);
    let e = read_seg(&lm_path).unwrap_err().to_string();
    assert!(
        e.contains("pixel value 5") && e.contains("labelmap.dcm"),
        "{e}"
    );
}

fn refusal(g: &ReferenceGrid, path: &Path) -> String {
    let obj = read_seg(path).expect("read");
    match place_seg(&obj, g, "x") {
        Ok(_) => panic!("placed on a different grid"),
        Err(e @ SegFileError::Mismatch { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn differing_grids_are_refused_with_what_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let path = write(dir.path(), &g);

    let mut other = g.clone();
    other.frame_of_reference_uid = Some("9.9".into());
    assert!(refusal(&other, &path).contains("frame of reference differs"));

    let mut shifted = ReferenceGrid::bare(g.geometry);
    shifted.geometry.origin_mm.x += 0.8;
    assert!(refusal(&shifted, &path).contains("off the CT's pixel grid in-plane"));

    // Half a slice off: between slices, never rounded onto one.
    let mut half = ReferenceGrid::bare(g.geometry);
    half.geometry.origin_mm.z += 1.25;
    assert!(refusal(&half, &path).contains("lies on no CT slice"));

    // The references say slice z, the position says z + 1.
    let mut moved = g.clone();
    moved.geometry.origin_mm.z -= 2.5;
    assert!(refusal(&moved, &path).contains("references CT slice"));

    let mut rotated = g.clone();
    rotated.geometry.direction = DMat3::from_cols(DVec3::X, DVec3::Z, -DVec3::Y);
    assert!(refusal(&rotated, &path).contains("orientation differs"));

    let mut finer = g.clone();
    finer.geometry.spacing_mm.x = 0.7;
    assert!(refusal(&finer, &path).contains("pixel spacing differs"));

    let mut bigger = g.clone();
    bigger.geometry.dims = [4, 6, 7];
    assert!(refusal(&bigger, &path).contains("pixel grid differs"));
}

#[test]
fn broken_files_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let path = write(dir.path(), &g);

    // Pixel data shorter than declared.
    let mut obj = open(&path);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(vec![0u8; 2]),
    ));
    let p = dir.path().join("short.dcm");
    save(&obj, &p);
    let e = read_seg(&p).unwrap_err().to_string();
    assert!(
        e.contains("pixel data holds 2 bytes") && e.contains("short.dcm"),
        "{e}"
    );

    // No SegmentSequence.
    let mut obj = open(&path);
    obj.remove_element(tags::SEGMENT_SEQUENCE);
    let p = dir.path().join("nosegments.dcm");
    save(&obj, &p);
    let e = read_seg(&p).unwrap_err().to_string();
    assert!(
        e.contains("SegmentSequence") && e.contains("nosegments.dcm"),
        "{e}"
    );

    // Not a SEG at all.
    let mut obj = open(&path);
    put_str(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.5.1.4.1.1.2",
    );
    put_str(&mut obj, tags::MODALITY, VR::CS, "CT");
    let p = dir.path().join("ct.dcm");
    save(&obj, &p);
    let e = read_seg(&p).unwrap_err().to_string();
    assert!(
        e.contains("neither a Segmentation nor an RT Structure Set") && e.contains("ct.dcm"),
        "{e}"
    );

    // A wrong BitsAllocated for BINARY.
    let mut obj = open(&path);
    put_u16(&mut obj, tags::BITS_ALLOCATED, 8);
    let p = dir.path().join("bits.dcm");
    save(&obj, &p);
    let e = read_seg(&p).unwrap_err().to_string();
    assert!(
        e.contains("BitsAllocated 8") && e.contains("bits.dcm"),
        "{e}"
    );

    // Not DICOM.
    let p = dir.path().join("text.dcm");
    std::fs::write(&p, b"hello").expect("write");
    let e = read_seg(&p).unwrap_err().to_string();
    assert!(e.contains("text.dcm"), "{e}");
}

#[test]
fn writer_refuses_a_segmentation_on_another_grid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let mut seg = segmentation(&g);
    seg.geometry.origin_mm.x += 1.0;
    let e = write_seg(
        &dir.path().join("x.dcm"),
        &seg,
        &g,
        &SeriesMetadata::default(),
        &SegWriteOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("grid differs"), "{e}");
    assert!(!dir.path().join("x.dcm").exists());
}

#[test]
fn identifiers_are_copied_only_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = grid();
    let seg = segmentation(&g);
    let meta = SeriesMetadata {
        patient_name: Some("Doe^Jane".into()),
        patient_id: Some("ID-1".into()),
        patient_birth_date: Some("19600101".into()),
        patient_sex: Some("F".into()),
        ..SeriesMetadata::default()
    };
    for include in [false, true] {
        let path = dir.path().join(format!("ids-{include}.dcm"));
        let opts = SegWriteOptions {
            include_identifiers: include,
            ..SegWriteOptions::default()
        };
        write_seg(&path, &seg, &g, &meta, &opts).expect("write");
        let h = crate::dicom::header::read_header(&path).expect("header");
        assert_eq!(h.meta.patient_sex.as_deref(), Some("F"));
        if include {
            assert_eq!(h.meta.patient_name, meta.patient_name);
            assert_eq!(h.meta.patient_id, meta.patient_id);
            assert_eq!(h.meta.patient_birth_date, meta.patient_birth_date);
        } else {
            assert!(!h.meta.has_identifiers(), "{:?}", h.meta);
        }
    }
}
