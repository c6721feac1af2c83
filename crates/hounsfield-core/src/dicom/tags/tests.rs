//! Tests of the tag browser backend.
use std::path::PathBuf;

use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
use dicom_core::{DataElement, Length};
use dicom_dictionary_std::uids;
use dicom_object::FileMetaTableBuilder;
use ndarray::Array3;

use super::*;
use crate::dicom::write::{SeriesWriteOptions, write_series};
use crate::volume::{Geometry, Volume};

fn find<'a>(rows: &'a [TagRow], tag: &str) -> &'a TagRow {
    rows.iter()
        .find(|r| r.tag == tag)
        .unwrap_or_else(|| panic!("no row {tag}"))
}

fn write(obj: InMemDicomObject, ts: &str, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .unwrap()
        .write_to_file(&path)
        .unwrap();
    path
}

/// `(vr, keyword, value)` of the row of `tag`.
fn cells<'a>(rows: &'a [TagRow], tag: &str) -> (&'a str, &'a str, &'a str) {
    let r = find(rows, tag);
    (&r.vr, &r.keyword, &r.value)
}

/// Two 3×4 slices written by the project's series writer.
fn tiny_series(dir: &Path, opts: &SeriesWriteOptions) -> Vec<PathBuf> {
    let vol = Volume::from_i16(
        Array3::from_elem((2, 3, 4), 40),
        Geometry::identity([2, 3, 4]),
    );
    write_series(&vol, dir, opts).unwrap()
}

fn base_object() -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    put(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.5.1.4.1.1.2",
    );
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "2.25.1234");
    obj
}

#[test]
fn written_slice_lists_meta_then_data_set_and_flags_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SeriesWriteOptions {
        patient_name: "Doe^Jane".into(),
        patient_id: "ID-0042".into(),
        ..Default::default()
    };
    let paths = tiny_series(dir.path(), &opts);
    let rows = dump_tags(&paths[0], 80).unwrap();

    // Meta group first, then the data set, all in ascending tag order.
    assert!(rows[..4].iter().all(|r| r.tag.starts_with("(0002,")));
    assert!(
        rows.windows(2)
            .all(|w| w[0].tag < w[1].tag && w[1].depth == 0)
    );
    let (ts, name) = (cells(&rows, "(0002,0010)"), cells(&rows, "(0010,0010)"));
    assert_eq!(ts, ("UI", "TransferSyntaxUID", "1.2.840.10008.1.2.1"));
    assert_eq!(name, ("PN", "PatientName", "Doe^Jane"));
    let name = find(&rows, "(0010,0010)");
    assert!(name.identifying);
    assert_eq!(name.shown_value(false), HIDDEN);
    assert_eq!(name.shown_value(true), "Doe^Jane");
    assert!(find(&rows, "(0010,0020)").identifying);
    let modality = find(&rows, "(0008,0060)");
    assert_eq!(modality.value, "CT");
    assert!(!modality.identifying);
    assert_eq!(find(&rows, "(0028,0010)").value, "3");
    assert_eq!(find(&rows, "(7FE0,0010)").value, "<pixel data: 24 bytes>");
    // Debug never shows identifiers.
    let debug = format!("{rows:?}");
    assert!(!debug.contains("Doe^Jane") && !debug.contains("ID-0042"));
    assert!(debug.contains("Modality"));
    for k in IDENTIFYING.split_ascii_whitespace() {
        assert!(StandardDataDictionary.by_name(k).is_some(), "{k}");
    }
    assert!(is_identifying("PatientID", VR::LO));
    assert!(is_identifying("", VR::PN));
    assert!(!is_identifying("PatientSex", VR::CS));
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, v.into()));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    let s = DataSetSequence::new(items, Length::UNDEFINED);
    obj.put(DataElement::new(tag, VR::SQ, s));
}

fn dump(obj: InMemDicomObject, max: usize) -> Vec<TagRow> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(obj, uids::EXPLICIT_VR_LITTLE_ENDIAN, dir.path(), "a.dcm");
    dump_tags(&path, max).unwrap()
}

#[test]
fn values_are_summarised_truncated_and_escaped() {
    let mut obj = base_object();
    let ipp: Vec<String> = vec!["-1.5".into(), "2".into(), "3.25".into()];
    let many: Vec<f64> = (0..1000).map(f64::from).collect();
    for (tag, vr, v) in [
        (tags::STUDY_DESCRIPTION, VR::LO, "x".repeat(200).into()),
        (tags::SERIES_DESCRIPTION, VR::LO, "a\u{1b}[2Jb\nc".into()),
        (
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            PrimitiveValue::Strs(ipp.into()),
        ),
        (
            tags::FRAME_INCREMENT_POINTER,
            VR::AT,
            tags::FRAME_TIME.into(),
        ),
        (Tag(0x0009, 0x0010), VR::LO, "ACME".into()),
        (
            Tag(0x0009, 0x1001),
            VR::OB,
            PrimitiveValue::U8(vec![7; 100].into()),
        ),
        (
            Tag(0x0009, 0x1002),
            VR::OB,
            PrimitiveValue::U8(vec![0, 1].into()),
        ),
        (
            Tag(0x0009, 0x1003),
            VR::FD,
            PrimitiveValue::F64(many.into()),
        ),
    ] {
        put(&mut obj, tag, vr, v);
    }
    let rows = dump(obj, 40);

    let long = find(&rows, "(0008,1030)");
    assert_eq!(long.value.chars().count(), 40);
    assert!(long.value.ends_with('…'));
    assert_eq!(find(&rows, "(0008,103E)").value, "a\\u{1b}[2Jb\\nc");
    assert!(rows.iter().all(|r| !r.value.chars().any(char::is_control)));
    assert_eq!(find(&rows, "(0020,0032)").value, "-1.5\\2\\3.25");
    assert_eq!(find(&rows, "(0028,0009)").value, "(0018,1063)");
    assert_eq!(
        cells(&rows, "(0009,0010)"),
        ("LO", "PrivateCreator", "ACME")
    );
    assert_eq!(cells(&rows, "(0009,1001)"), ("OB", "", "<100 bytes>"));
    assert_eq!(find(&rows, "(0009,1002)").value, "00\\01");
    let many = find(&rows, "(0009,1003)");
    assert!(many.value.starts_with("0\\1\\2\\") && many.value.ends_with('…'));
}

#[test]
fn sequences_are_indented_inherit_identifying_and_stop_at_max_depth() {
    let mut obj = base_object();
    // A person sequence: everything inside is identifying.
    let mut other_id = InMemDicomObject::new_empty();
    put(&mut other_id, tags::PATIENT_ID, VR::LO, "OTHER-7");
    put(&mut other_id, tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT");
    put_seq(&mut obj, tags::OTHER_PATIENT_I_DS_SEQUENCE, vec![other_id]);
    let items = ["1.2.3", "1.2.4"].map(|uid| {
        let mut it = InMemDicomObject::new_empty();
        put(&mut it, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid);
        it
    });
    put_seq(&mut obj, tags::REFERENCED_IMAGE_SEQUENCE, items.to_vec());
    let mut nested = InMemDicomObject::new_empty();
    put(&mut nested, tags::CODE_VALUE, VR::SH, "leaf");
    for _ in 0..=20 {
        let mut outer = InMemDicomObject::new_empty();
        put_seq(&mut outer, tags::CONTENT_SEQUENCE, vec![nested]);
        nested = outer;
    }
    obj.put(nested.take(tags::CONTENT_SEQUENCE).unwrap());
    let rows = dump(obj, 40);

    // The SQ row, then per item an item row and its elements.
    let i = rows.iter().position(|r| r.tag == "(0008,1140)").unwrap();
    assert_eq!(rows[i].value, "<2 items>");
    let seq: Vec<(usize, &str, &str)> = rows[i + 1..i + 5]
        .iter()
        .map(|r| (r.depth, r.tag.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(
        seq,
        [
            (1, ITEM_TAG, "1 of 2"),
            (1, "(0008,1155)", "1.2.3"),
            (1, ITEM_TAG, "2 of 2"),
            (1, "(0008,1155)", "1.2.4"),
        ]
    );
    assert_eq!(rows[i + 5].depth, 0);
    // Identifying sequences flag their whole content.
    let j = rows.iter().position(|r| r.tag == "(0010,1002)").unwrap();
    assert!(rows[j..j + 4].iter().all(|r| r.identifying));
    assert_eq!(rows[j + 2].value, "OTHER-7");
    assert!(!find(&rows, "(0008,1155)").identifying);
    // Depth is capped; the cut is marked.
    assert_eq!(rows.iter().map(|r| r.depth).max(), Some(MAX_DEPTH + 1));
    let cut: Vec<&TagRow> = rows.iter().filter(|r| r.depth == MAX_DEPTH + 1).collect();
    assert_eq!(cut.len(), 1);
    assert!(cut[0].value.starts_with("<nested deeper"));
    assert!(!rows.iter().any(|r| r.value == "leaf"));
}

#[test]
fn encapsulated_pixel_data_counts_fragments() {
    let mut obj = base_object();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new(vec![], vec![vec![1u8; 10], vec![2u8; 6]]),
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = write(obj, uids::RLE_LOSSLESS, dir.path(), "rle.dcm");
    let rows = dump_tags(&path, 0).unwrap();
    assert_eq!(
        find(&rows, "(7FE0,0010)").value,
        "<encapsulated: 2 fragments, 16 bytes>"
    );
}

#[test]
fn garbage_and_truncated_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.dcm");
    std::fs::write(&junk, b"this is not DICOM at all, just text").unwrap();
    assert!(matches!(dump_tags(&junk, 80), Err(DicomError::Read { .. })));
    assert!(dump_tags(&dir.path().join("missing.dcm"), 80).is_err());

    let paths = tiny_series(dir.path(), &SeriesWriteOptions::default());
    let bytes = std::fs::read(&paths[0]).unwrap();
    for cut in [133, 200, 300, bytes.len() / 2, bytes.len() - 1] {
        let p = dir.path().join(format!("cut{cut}.dcm"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        // Either a clean error or whatever could be read; never a panic.
        if let Ok(rows) = dump_tags(&p, 80) {
            assert!(rows.iter().all(|r| r.depth <= MAX_DEPTH + 1));
        }
    }
}

fn data_dir(sub: &str) -> Option<PathBuf> {
    crate::testdata::dir(sub)
}

#[test]
fn real_files_dump_with_keywords_pixel_sizes_and_fragments() {
    let Some(dir) = data_dir("chest-ct") else {
        return;
    };
    let rows = dump_tags(&dir.join("00-slice000.dcm"), 80).unwrap();
    assert_eq!(find(&rows, "(0028,0010)").keyword, "Rows");
    assert_eq!(find(&rows, "(0028,0010)").value, "512");
    assert_eq!(find(&rows, "(0008,0060)").value, "CT");
    assert_eq!(
        find(&rows, "(7FE0,0010)").value,
        format!("<pixel data: {} bytes>", 512 * 512 * 2)
    );
    assert!(find(&rows, "(0010,0010)").identifying);
    let Some(dir) = data_dir("transfer-syntaxes") else {
        return;
    };
    let jpeg = "CTImage.dcm_JPEGProcess14SV1TransferSyntax_1.2.840.10008.1.2.4.70.dcm";
    let rows = dump_tags(&dir.join(jpeg), 80).unwrap();
    let px = find(&rows, "(7FE0,0010)");
    assert!(px.value.starts_with("<encapsulated: 1 fragment,"), "{px:?}");
}

#[test]
fn hostile_and_odd_real_files_never_panic() {
    let Some(root) = data_dir("edge-cases") else {
        return;
    };
    let dirs = [
        Some(root.clone()),
        data_dir("transfer-syntaxes"),
        data_dir("multiframe"),
    ];
    let files: Vec<PathBuf> = dirs
        .iter()
        .flatten()
        .flat_map(|d| walkdir::WalkDir::new(d).sort_by_file_name())
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for f in &files {
        match dump_tags(f, 80) {
            Ok(rows) => {
                ok += 1;
                for r in &rows {
                    assert!(r.depth <= MAX_DEPTH + 1, "{f:?}");
                    assert!(r.value.chars().count() <= 80, "{f:?}: {r:?}");
                    assert!(!r.value.chars().any(char::is_control), "{f:?}: {r:?}");
                }
            }
            Err(_) => failed += 1,
        }
    }
    eprintln!("{ok} files dumped, {failed} refused");
    assert!(ok > 100, "{ok} dumped, {failed} refused");
    // The pre-flight refuses the deeply nested file before any recursion.
    let deep = root.join("orthanc/2026-05-06-Deeply-Nested-Sequence.dcm");
    assert!(dump_tags(&deep, 80).is_err());
}
