//! DICOM-SEG reading, placing and writing against known answers on the real
//! data in `../shared/data` (`seg-dcmqi`, `seg-abdomen`, `seg-highdicom`,
//! `multiframe`; see its README) and round trips through the writer.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hounsfield::dicom::seg::{
    FramePixels, ReferenceGrid, SegFileError, SegObject, SegWriteOptions, SegmentationType,
    place_seg, read_seg, write_seg,
};
use hounsfield::dicom::{self, SeriesMetadata};
use hounsfield::io::ImageData;
use hounsfield::seg::Segmentation;
use hounsfield::seg::place::{label_values, resample_labels};
use ndarray::Array3;

fn data(sub: &str) -> Option<PathBuf> {
    hounsfield::testdata::dir(sub)
}

/// Scan a folder holding one series: its grid and metadata.
fn grid_of(dir: &Path) -> (ReferenceGrid, SeriesMetadata) {
    let report = dicom::scan(&[dir.to_path_buf()]);
    let info = dicom::select_series(&report, None, dir).expect("one series");
    let grid = ReferenceGrid::from_series(info).expect("series assembles");
    (grid, info.metadata.clone())
}

fn read(path: &Path) -> SegObject {
    read_seg(path).unwrap_or_else(|e| panic!("{e}"))
}

fn place(seg: &SegObject, grid: &ReferenceGrid) -> Segmentation {
    place_seg(seg, grid, "test").unwrap_or_else(|e| panic!("{e}"))
}

/// A label-map NRRD on the CT grid, as label values.
fn nrrd_on(path: &Path, grid: &ReferenceGrid) -> Array3<u16> {
    let img = hounsfield::io::nrrd::read_nrrd(path).expect("nrrd");
    let values = label_values(&img.data).expect("label values");
    resample_labels(&values, &img.geometry, &grid.geometry).expect("on the CT grid")
}

/// Asserts that segment `index`'s mask is exactly `want`.
fn assert_mask(seg: &Segmentation, index: usize, want: &Array3<bool>, what: &str) {
    let got = seg.segments[index].mask.to_full();
    let n_want = want.iter().filter(|&&b| b).count();
    let diff = got.iter().zip(want).filter(|(a, b)| a != b).count();
    assert_eq!(
        diff, 0,
        "{what}: {diff} voxels differ (expected {n_want} set)"
    );
    assert!(n_want > 0, "{what}: the reference is empty");
}

#[test]
fn dcmqi_liver_matches_its_nrrd() {
    let Some(dir) = data("seg-dcmqi") else { return };
    let (grid, _) = grid_of(&dir.join("ct-3slice"));
    let obj = read(&dir.join("liver.dcm"));
    assert_eq!(obj.segmentation_type, SegmentationType::Binary);
    assert_eq!((obj.rows, obj.cols, obj.frames.len()), (512, 512, 3));
    let seg = place(&obj, &grid);
    assert_eq!(seg.segments.len(), 1);
    let s = &seg.segments[0];
    assert_eq!(
        (s.number, s.label.as_str(), s.kind.as_str()),
        (1, "Liver", "Liver")
    );
    assert_eq!(s.category, "Tissue");
    // RecommendedDisplayCIELabValue 41661\41167\40792: a light brownish red.
    assert!(s.colour_rgb[0] > s.colour_rgb[2], "{:?}", s.colour_rgb);
    let want = nrrd_on(&dir.join("liver_seg.nrrd"), &grid).mapv(|v| v != 0);
    assert_mask(&seg, 0, &want, "liver");
}

/// Frame `z` of the reference labels comes from this SOP instance (the
/// `.npz` stores them as `<U55`, UTF-32 little endian).
fn npz_uids(bytes: &[u8]) -> Vec<String> {
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let body = &bytes[10 + header_len..];
    body.chunks_exact(55 * 4)
        .map(|c| {
            c.chunks_exact(4)
                .map(|u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
                .filter(|&u| u != 0)
                .filter_map(char::from_u32)
                .collect()
        })
        .collect()
}

/// `labels[z, row, col]` and the SOP instance UID of each z from the `.npz`.
fn npz_labels(path: &Path) -> (Array3<u8>, Vec<String>) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("npz")).expect("zip");
    let mut member = |name: &str| {
        let mut buf = Vec::new();
        zip.by_name(name)
            .expect("member")
            .read_to_end(&mut buf)
            .expect("read");
        buf
    };
    let labels = member("labels.npy");
    let uids = npz_uids(&member("sop_instance_uids.npy"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("labels.npy");
    std::fs::write(&p, labels).expect("write");
    let ImageData::U8(a) = hounsfield::io::npy::read_npy(&p).expect("npy") else {
        panic!("labels.npy is not uint8")
    };
    (a, uids)
}

/// The `TotalSegmentator` SEG on its JPEG 2000 CT equals the reference label
/// volume for all five segments. Mapping: the `.npz`'s z runs along
/// ascending patient z and so does ours (the slice normal is +z), so its
/// z index is ours; checked through the SOP instance UIDs of every slice.
#[test]
fn abdomen_seg_matches_reference_labels() {
    let Some(dir) = data("seg-abdomen") else {
        return;
    };
    let (grid, _) = grid_of(&dir.join("ct"));
    let (labels, uids) = npz_labels(&dir.join("labels_in_dicom_grid.npz"));
    assert_eq!(labels.shape(), &grid.geometry.dims);
    for (z, uid) in uids.iter().enumerate() {
        assert_eq!(
            grid.slice_sop_uids[z].as_deref(),
            Some(uid.as_str()),
            "z {z}"
        );
    }

    let t = Instant::now();
    let obj = read(&dir.join("seg_binary.dcm"));
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let seg = place(&obj, &grid);
    let place_s = t.elapsed().as_secs_f64();
    eprintln!("seg_binary.dcm: read {read_s:.3} s, place {place_s:.3} s");
    assert_eq!(obj.frames.len(), 100);

    let expected = [
        (1, "liver", 5u8),
        (2, "spleen", 1),
        (3, "stomach", 6),
        (4, "aorta", 52),
        (5, "inferior_vena_cava", 63),
    ];
    assert_eq!(seg.segments.len(), expected.len());
    for (i, (number, label, value)) in expected.into_iter().enumerate() {
        let s = &seg.segments[i];
        assert_eq!((s.number, s.label.as_str()), (number, label));
        assert_mask(&seg, i, &labels.mapv(|v| v == value), label);
    }
}

#[test]
fn dcmqi_partial_overlaps_match_their_nrrds() {
    let Some(dir) = data("seg-dcmqi") else { return };
    let (grid, _) = grid_of(&dir.join("ct-3slice"));
    let obj = read(&dir.join("partial_overlaps.dcm"));
    let seg = place(&obj, &grid);
    let labels: Vec<&str> = seg.segments.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["GREEN", "ORANGE", "PURPLE", "LIGHT_BLUE", "DARK_BLUE"]
    );
    // dcmqi's input: `-1.nrrd` holds the non-overlapping segments 1, 4 and
    // 5 as label values 1, 4, 5; `-2` and `-3` hold segments 2 and 3.
    let nrrds: Vec<Array3<u16>> = (1..=3)
        .map(|k| nrrd_on(&dir.join(format!("partial_overlaps-{k}.nrrd")), &grid))
        .collect();
    for (i, s) in seg.segments.iter().enumerate() {
        let file = match s.number {
            1 | 4 | 5 => 0,
            n => usize::from(n) - 1,
        };
        let want = nrrds[file].mapv(|v| v == s.number);
        assert_mask(&seg, i, &want, &format!("segment {}", s.number));
    }
    // The segments overlap: some voxel is in two masks.
    let (a, b) = (
        seg.segments[0].mask.to_full(),
        seg.segments[1].mask.to_full(),
    );
    let c = seg.segments[2].mask.to_full();
    let overlap = a
        .iter()
        .zip(&b)
        .zip(&c)
        .filter(|((x, y), z)| u8::from(**x) + u8::from(**y) + u8::from(**z) > 1)
        .count();
    assert!(overlap > 0, "no overlap found");
}

#[test]
fn dcmqi_sparse_labelmaps_match_their_nrrds() {
    let Some(dir) = data("seg-dcmqi") else { return };
    // Both reference the 24-column CT (FrameOfReferenceUID ...63762603 and
    // its instances); the 23-column CT is another frame of reference.
    let (grid, _) = grid_of(&dir.join("24x38x3/image"));
    let (other, _) = grid_of(&dir.join("23x38x3/image"));
    for (seg_name, nrrd_name) in [
        (
            "sparse-labelmap-noppv.dcm",
            "sparse_labelmap_noppv_seg.nrrd",
        ),
        ("sparse-labelmap-ppv5.dcm", "sparse_labelmap_ppv5_seg.nrrd"),
    ] {
        let obj = read(&dir.join(seg_name));
        assert_eq!(obj.segmentation_type, SegmentationType::Labelmap);
        // Two frames for three slices: sparse.
        assert_eq!(obj.frames.len(), 2);
        let seg = place(&obj, &grid);
        // The background (SegmentNumber 0) is not a segment.
        assert_eq!(seg.segments.len(), 1, "{seg_name}");
        assert_eq!(seg.segments[0].label, "Liver");
        let want = nrrd_on(&dir.join(nrrd_name), &grid).mapv(|v| v == 1);
        assert_mask(&seg, 0, &want, seg_name);
        let e = place_seg(&obj, &other, "x").unwrap_err();
        assert!(e.to_string().contains("frame of reference"), "{e}");
    }
}

/// `label.seg` of the 23 × 38 CT: 874 pixels per frame, so frames 2 and 3
/// start inside a byte of the bit stream. Placed on the classic series and
/// on the enhanced multi-frame version of the same CT (matched by position,
/// as it references the classic instances).
#[test]
fn unaligned_binary_frames_match_their_nrrd() {
    let Some(dir) = data("seg-dcmqi") else { return };
    for cols in [23, 24] {
        let base = dir.join(format!("{cols}x38x3"));
        let obj = read(&base.join("seg/label.seg"));
        assert_eq!((obj.rows, obj.cols), (38, cols));
        for ct in ["image", "multiframe"] {
            let (grid, _) = grid_of(&base.join(ct));
            let seg = place(&obj, &grid);
            let want = nrrd_on(&base.join("nrrd/label.nrrd"), &grid);
            for (i, s) in seg.segments.iter().enumerate() {
                let w = want.mapv(|v| v == s.number);
                if w.iter().any(|&b| b) {
                    assert_mask(&seg, i, &w, &format!("{cols} {ct} segment {}", s.number));
                }
            }
            let all = seg.to_label_map();
            assert_eq!(all, want, "{cols} {ct}");
        }
    }
}

#[test]
fn highdicom_segs_read_and_place_or_refuse_clearly() {
    let Some(dir) = data("seg-highdicom") else {
        return;
    };
    let (grid, _) = grid_of(&dir.join("ct_image.dcm"));
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seg_"))
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 8);
    for p in &names {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let obj = read(p);
        let placed = place_seg(&obj, &grid, &name);
        if name.contains("single_frame") {
            // The only one drawn on ct_image.dcm.
            let seg = placed.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(seg.segments.len(), 1);
            assert!(seg.segments[0].mask.count() > 0);
        } else {
            // Drawn on other images (another CT series, a CR, a slide).
            let e = placed.expect_err(&name).to_string();
            eprintln!("{e}");
            assert!(
                e.contains("frame of reference") || e.contains("pixel grid"),
                "{name}: {e}"
            );
            assert!(e.contains(&name), "{e}");
        }
    }
    // The binary mask stored as FRACTIONAL thresholds back to itself.
    let bin = read(&dir.join("seg_image_ct_binary.dcm"));
    let frac = read(&dir.join("seg_image_ct_binary_fractional.dcm"));
    assert_eq!(
        frac.segmentation_type,
        SegmentationType::Fractional { max_value: 255 }
    );
    let bits = |o: &SegObject| {
        o.frames
            .iter()
            .map(|f| f.pixels.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&bin), bits(&frac));
    assert!(
        bits(&bin)
            .iter()
            .any(|p| matches!(p, FramePixels::Bits(b) if b.iter().any(|&x| x != 0)))
    );
    // A true fraction: something set, something not.
    let t = read(&dir.join("seg_image_ct_true_fractional.dcm"));
    let n_set: usize = t
        .frames
        .iter()
        .map(|f| (0..256).filter(|&i| f.pixels.is_set(i)).count())
        .sum();
    assert!(n_set > 0 && n_set < 3 * 256, "{n_set}");
    // The slide-microscopy LABELMAP: 20 frames with segments 1..=20.
    let sm = read(&dir.join("seg_image_sm_control_labelmap.dcm"));
    assert_eq!(sm.segments.len(), 20);
}

#[test]
fn seg_on_the_wrong_ct_is_refused() {
    let (Some(dcmqi), Some(abdomen)) = (data("seg-dcmqi"), data("seg-abdomen")) else {
        return;
    };
    let (grid, _) = grid_of(&abdomen.join("ct"));
    let obj = read(&dcmqi.join("liver.dcm"));
    let e = place_seg(&obj, &grid, "x").unwrap_err();
    assert!(matches!(e, SegFileError::Mismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("frame of reference differs"), "{msg}");
    assert!(msg.contains("liver.dcm"), "{msg}");
    // Without frames of reference the geometry still refuses it.
    let mut bare = grid.clone();
    bare.frame_of_reference_uid = None;
    bare.slice_sop_uids.iter_mut().for_each(|u| *u = None);
    let msg = place_seg(&obj, &bare, "x").unwrap_err().to_string();
    assert!(msg.contains("pixel spacing differs"), "{msg}");
}

#[test]
fn multiframe_segs_read_in_little_and_big_endian() {
    let Some(dir) = data("multiframe") else {
        return;
    };
    let le = read(&dir.join("liver.dcm"));
    let be = read(&dir.join("liver_expb.dcm"));
    assert_eq!(le.frames.len(), 3);
    assert_eq!(le.frames, be.frames);
    assert_eq!(le.segments, be.segments);
    if let Some(ct) = data("seg-dcmqi/ct-3slice") {
        let (grid, _) = grid_of(&ct);
        assert_eq!(place(&le, &grid).segments, place(&be, &grid).segments);
    }
}

/// Write `seg` as a SEG for `grid`, read it back and place it: the same
/// masks, labels and (within the Lab round trip) colours.
fn round_trip(seg: &Segmentation, grid: &ReferenceGrid, meta: &SeriesMetadata) -> SegObject {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("seg.dcm");
    let written = write_seg(&path, seg, grid, meta, &SegWriteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let obj = read(&path);
    assert_eq!(obj.frames.len(), written.frames);
    assert_eq!(obj.frame_of_reference_uid, grid.frame_of_reference_uid);
    assert_eq!(
        obj.referenced_series
            .first()
            .map(|r| Some(r.series_uid.clone())),
        Some(grid.series_uid.clone())
    );
    for f in &obj.frames {
        assert!(
            f.source_sop_instance_uid.is_some()
                && grid.slice_sop_uids.contains(&f.source_sop_instance_uid),
            "frame {} has no source reference",
            f.index
        );
    }
    let back = place(&obj, grid);
    assert_eq!(back.segments.len(), seg.segments.len());
    for (i, (a, b)) in seg.segments.iter().zip(&back.segments).enumerate() {
        assert_eq!(b.number, written.segment_numbers[i]);
        assert_eq!(a.label, b.label);
        assert_eq!(a.mask, b.mask, "segment {i} ({})", a.label);
        for k in 0..3 {
            assert!(
                a.colour_rgb[k].abs_diff(b.colour_rgb[k]) <= 1,
                "{:?} {:?}",
                a.colour_rgb,
                b.colour_rgb
            );
        }
    }
    // No identifiers without the flag.
    let h = dicom::header::read_header(&path).expect("header");
    assert!(h.meta.patient_name.is_none() && h.meta.patient_id.is_none());
    obj
}

#[test]
fn phantom_round_trips_through_a_seg() {
    use hounsfield::phantom::{PhantomParams, chest};
    // 39 × 37 pixels per frame: frames do not start on byte boundaries. A
    // straight and a gantry-tilted (sheared) stack.
    for tilt_deg in [0.0, 12.0] {
        let params = PhantomParams {
            dims: [9, 39, 37],
            spacing_mm: glam::DVec3::new(350.0 / 37.0, 350.0 / 39.0, 6.0),
            noise_hu: 0.0,
            tilt_deg,
            ..PhantomParams::default()
        };
        let ph = chest(&params);
        let tmp = tempfile::tempdir().expect("tempdir");
        let ct = tmp.path().join("ct");
        dicom::write::write_series(
            &ph.volume,
            &ct,
            &dicom::write::SeriesWriteOptions::default(),
        )
        .expect("series");
        let (grid, meta) = grid_of(&ct);
        assert!(hounsfield::seg::place::same_grid(
            &grid.geometry,
            &ph.volume.geometry
        ));
        let names: Vec<(u16, String)> = ph
            .label_names
            .iter()
            .map(|&(v, n)| (u16::from(v), n.to_owned()))
            .collect();
        let seg = Segmentation::from_label_map(
            ph.labels.mapv(u16::from).view(),
            grid.geometry,
            &names,
            "phantom",
        )
        .expect("labels");
        assert!(seg.segments.len() >= 5);
        round_trip(&seg, &grid, &meta);

        // With the flag, the patient ID is copied.
        let path = tmp.path().join("ids.dcm");
        let opts = SegWriteOptions {
            include_identifiers: true,
            ..SegWriteOptions::default()
        };
        write_seg(&path, &seg, &grid, &meta, &opts).expect("write");
        let h = dicom::header::read_header(&path).expect("header");
        assert_eq!(h.meta.patient_id, meta.patient_id);
        assert!(h.meta.patient_id.is_some());
    }
}

#[test]
fn abdomen_seg_round_trips_through_the_writer() {
    let Some(dir) = data("seg-abdomen") else {
        return;
    };
    let (grid, meta) = grid_of(&dir.join("ct"));
    let seg = place(&read(&dir.join("seg_binary.dcm")), &grid);
    let back = round_trip(&seg, &grid, &meta);
    assert_eq!(back.frames.len(), 100);
}
