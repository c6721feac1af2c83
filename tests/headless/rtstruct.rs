//! RTSTRUCT against independent tools on the real chest CT: structure sets
//! written by rt-utils from known masks, rasterised independently by
//! plastimatch (`--xor-contours`: even-odd, as we fill), and our own files
//! read back by pydicom, rt-utils and plastimatch. The tools come from
//! `scripts/references` (installed when missing: a venv for rt-utils and
//! pydicom, Debian's plastimatch); see `bench/rtstruct_reference.py`.
//!
//! Without the data or the tools the test says so and skips; under `CI=true`
//! it fails instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hounsfield::dicom::seg::ReferenceGrid;
use hounsfield::dicom::{self, SeriesMetadata};
use hounsfield::io::ImageData;
use hounsfield::seg::Segmentation;
use hounsfield::seg::place::{label_values, resample_labels};
use hounsfield::study;
use ndarray::{Array3, Axis};

use crate::common::{ok, s, tempdir};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Runs `scripts/references ARGS` and returns its stdout; `None` (skip)
/// when the tools cannot be installed here, a failure under `CI=true`.
fn references(args: &[&str]) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/references");
    let out = Command::new("bash")
        .arg(&script)
        .args(args)
        .output()
        .expect("run scripts/references");
    if out.status.success() {
        return Some(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let why = format!(
        "scripts/references {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!in_ci(), "{why}");
    eprintln!("skipped: {why}");
    None
}

fn grid_of(dir: &Path) -> (ReferenceGrid, SeriesMetadata) {
    let report = dicom::scan(&[dir.to_path_buf()]);
    let info = dicom::select_series(&report, None, dir).expect("one series");
    let grid = ReferenceGrid::from_series(info).expect("series assembles");
    (grid, info.metadata.clone())
}

/// plastimatch's mask of one ROI (`OUT_DIR/<name>.nrrd`) on the CT grid.
fn plastimatch_mask(dir: &Path, name: &str, grid: &ReferenceGrid) -> Array3<bool> {
    let img = hounsfield::io::nrrd::read_nrrd(&dir.join(format!("{name}.nrrd"))).expect("nrrd");
    let values = label_values(&img.data).expect("label values");
    resample_labels(&values, &img.geometry, &grid.geometry)
        .expect("on the CT grid")
        .mapv(|v| v != 0)
}

/// rt-utils' mask `rtutils_<k>.npy` (slices in the order of `sop_uids`),
/// reordered onto our slices by SOPInstanceUID.
fn rtutils_mask(dir: &Path, k: usize, sop_uids: &[String], grid: &ReferenceGrid) -> Array3<bool> {
    let ImageData::U8(m) =
        hounsfield::io::npy::read_npy(&dir.join(format!("rtutils_{k}.npy"))).expect("npy")
    else {
        panic!("rt-utils mask is not uint8");
    };
    let mut out = Array3::from_elem(grid.geometry.dims, false);
    for (z, uid) in grid.slice_sop_uids.iter().enumerate() {
        let uid = uid.as_deref().expect("every slice has its instance");
        let j = sop_uids
            .iter()
            .position(|u| u == uid)
            .expect("rt-utils has the slice");
        out.index_axis_mut(Axis(0), z)
            .assign(&m.index_axis(Axis(0), j).mapv(|v| v != 0));
    }
    out
}

fn dice(a: &Array3<bool>, b: &Array3<bool>) -> f64 {
    let (mut both, mut total) = (0usize, 0usize);
    for (&x, &y) in a.iter().zip(b) {
        both += usize::from(x && y);
        total += usize::from(x) + usize::from(y);
    }
    if total == 0 {
        1.0
    } else {
        2.0 * both as f64 / total as f64
    }
}

fn place(path: &Path, grid: &ReferenceGrid) -> Segmentation {
    study::open_segmentation_detailed(path, &grid.geometry, Some(grid), None)
        .unwrap_or_else(|e| panic!("{e}"))
        .segmentation
}

/// The contour edges of one ROI per slice, in continuous voxel
/// coordinates `(col, row)` of the grid.
fn edges_per_slice(
    roi: &hounsfield::dicom::rtstruct::RoiInfo,
    grid: &ReferenceGrid,
) -> std::collections::HashMap<usize, Vec<[f64; 4]>> {
    let mut out = std::collections::HashMap::<usize, Vec<[f64; 4]>>::default();
    for c in &roi.contours {
        let v: Vec<glam::DVec3> = c
            .points_mm
            .iter()
            .map(|&p| grid.geometry.voxel_of_world(p))
            .collect();
        let Some(first) = v.first() else { continue };
        let edges = out.entry(first.z.round() as usize).or_default();
        for (k, a) in v.iter().enumerate() {
            let b = v[(k + 1) % v.len()];
            edges.push([a.x, a.y, b.x, b.y]);
        }
    }
    out
}

/// Whether the centre of voxel `(z, row, col)` lies on one of the edges.
fn on_an_edge(
    edges: &std::collections::HashMap<usize, Vec<[f64; 4]>>,
    z: usize,
    r: usize,
    c: usize,
) -> bool {
    let (px, py) = (c as f64, r as f64);
    edges.get(&z).is_some_and(|e| {
        e.iter().any(|&[ax, ay, bx, by]| {
            let (vx, vy) = (bx - ax, by - ay);
            let l = vx * vx + vy * vy;
            let t = if l == 0.0 {
                0.0
            } else {
                (((px - ax) * vx + (py - ay) * vy) / l).clamp(0.0, 1.0)
            };
            let (dx, dy) = (ax + t * vx - px, ay + t * vy - py);
            dx * dx + dy * dy < 1e-6
        })
    })
}

/// Each segment of `seg` against plastimatch's rasterisation of `rs`:
/// Dice ≥ 0.99, and every voxel on which the two disagree has its centre
/// exactly on a contour edge (a tie, which plastimatch decides by its
/// float32 arithmetic and we by a fixed rule).
fn against_plastimatch(rs: &Path, ct: &Path, seg: &Segmentation, grid: &ReferenceGrid) -> f64 {
    let dir = rs.with_extension("plastimatch");
    let secs: f64 = references(&["plastimatch", s(rs), s(ct), s(&dir)])
        .expect("plastimatch ran once already")
        .trim()
        .parse()
        .expect("seconds");
    let rt = hounsfield::dicom::rtstruct::read_rtstruct(rs).expect("read");
    for segment in &seg.segments {
        let want = plastimatch_mask(&dir, &segment.label, grid);
        let got = segment.mask.to_full();
        let d = dice(&got, &want);
        let n = want.iter().filter(|&&b| b).count();
        let roi = rt
            .rois
            .iter()
            .find(|r| r.name == segment.label)
            .expect("ROI");
        let edges = edges_per_slice(roi, grid);
        let mut differ = 0usize;
        for (((z, r, c), &a), &b) in got.indexed_iter().zip(&want) {
            if a != b {
                differ += 1;
                assert!(
                    on_an_edge(&edges, z, r, c),
                    "{}: voxel {:?} differs from plastimatch but is no tie",
                    segment.label,
                    [z, r, c]
                );
            }
        }
        eprintln!(
            "{}: {} vs plastimatch: Dice {d:.5} ({n} voxels; {differ} differ, all with their centre on a contour edge)",
            rs.file_name().unwrap_or_default().to_string_lossy(),
            segment.label
        );
        assert!(n > 0, "{}: plastimatch's mask is empty", segment.label);
        assert!(d >= 0.99, "{}: Dice {d} against plastimatch", segment.label);
    }
    secs
}

#[test]
fn rtstruct_on_chest_ct_agrees_with_rt_utils_pydicom_and_plastimatch() {
    let Some(ct) = hounsfield::testdata::dir("chest-ct") else {
        return;
    };
    if references(&["setup"]).is_none() {
        return;
    }
    let tmp = tempdir();
    let (grid, _) = grid_of(&ct);

    // 1. rt-utils writes five ROIs (a ball, a ring with a hole per slice, two
    //    islands per slice, the body outline with the lungs as holes, the
    //    air inside the body's box); we and plastimatch rasterise it.
    //    rt-utils puts its vertices on pixel centres, so many voxel centres
    //    lie exactly on contour edges: those ties are where the two differ.
    let theirs = tmp.path().join("rt_utils.dcm");
    references(&["make", s(&ct), s(&theirs)]).expect("rt-utils wrote the structure set");
    let t = Instant::now();
    let seg = place(&theirs, &grid);
    let ours_s = t.elapsed().as_secs_f64();
    let names: Vec<&str> = seg.segments.iter().map(|x| x.label.as_str()).collect();
    assert_eq!(names, ["Sphere", "Ring", "Islands", "Body", "Air"]);
    assert_eq!(seg.segments[1].colour_rgb, [60, 180, 75]);
    let pm_s = against_plastimatch(&theirs, &ct, &seg, &grid);
    eprintln!("rasterising 5 ROIs: ours {ours_s:.3} s (read + place), plastimatch {pm_s:.3} s");

    // 2. Our RTSTRUCT of the same segmentation, through the CLI: pydicom
    //    and rt-utils read it (names, contour counts, masks), plastimatch
    //    rasterises it, and it carries no patient identifiers.
    let ours = tmp.path().join("ours.dcm");
    ok(&[
        "seg",
        "convert",
        s(&ct),
        s(&theirs),
        "--format",
        "rtstruct",
        "--out",
        s(&ours),
    ]);
    let rt = hounsfield::dicom::rtstruct::read_rtstruct(&ours).expect("we read our file");
    let read_dir = tmp.path().join("read");
    let json = references(&["read", s(&ours), s(&ct), s(&read_dir)]).expect("pydicom reads it");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["patient_name"], "");
    assert_eq!(v["patient_id"], "");
    let sop_uids: Vec<String> = v["sop_uids"]
        .as_array()
        .expect("sop_uids")
        .iter()
        .map(|u| u.as_str().expect("uid").to_owned())
        .collect();
    let rois = v["rois"].as_array().expect("rois");
    assert_eq!(rois.len(), 5);
    for (k, (roi, mine)) in rois.iter().zip(&rt.rois).enumerate() {
        assert_eq!(roi["name"], mine.name.as_str());
        assert_eq!(
            roi["contours"].as_u64(),
            Some(mine.contour_counts().0 as u64)
        );
        let want = seg.segments[k].mask.to_full();
        let got = rtutils_mask(&read_dir, k, &sop_uids, &grid);
        let d = dice(&got, &want);
        eprintln!("ours.dcm: {} read by rt-utils: Dice {d:.5}", mine.name);
        // rt-utils rounds every vertex to a pixel and fills with OpenCV
        // (edges included); our vertices lie on voxel boundaries (half
        // pixels), so its reading is off by up to a pixel at the edges.
        assert!(
            d >= 0.95,
            "{}: rt-utils reads our contours with Dice {d}",
            mine.name
        );
    }
    let again = place(&ours, &grid);
    assert_eq!(again.segments.len(), 5);
    for (a, b) in again.segments.iter().zip(&seg.segments) {
        assert_eq!(
            a.mask.to_full(),
            b.mask.to_full(),
            "{}: round trip",
            a.label
        );
    }
    against_plastimatch(&ours, &ct, &again, &grid);
}

#[test]
fn seg_info_lists_the_rois_of_a_structure_set() {
    let Some(ct) = hounsfield::testdata::dir("seg-dcmqi") else {
        return;
    };
    let ct: PathBuf = ct.join("ct-3slice");
    let tmp = tempdir();
    let out = tmp.path().join("liver_rt.dcm");
    let liver = ct.with_file_name("liver.dcm");
    ok(&[
        "seg",
        "convert",
        s(&ct),
        s(&liver),
        "--format",
        "rtstruct",
        "--out",
        s(&out),
    ]);
    let info = ok(&["seg", "info", s(&out)]);
    assert!(info.starts_with("RTSTRUCT "), "{info}");
    assert!(info.contains("1 ROIs"), "{info}");
    assert!(info.to_lowercase().contains("liver"), "{info}");
    // Placed again, it is the SEG's mask exactly (the round trip is exact).
    let (grid, _) = grid_of(&ct);
    let a = place(&liver, &grid);
    let b = place(&out, &grid);
    assert_eq!(a.segments[0].mask.to_full(), b.segments[0].mask.to_full());
}

/// A phantom series in `dir` (`dims` as `z,rows,cols`) and its labels
/// written as an RTSTRUCT at `rs` through the CLI (ROIs "Label 1" … "Label
/// 10": a NIfTI label map carries no names).
fn phantom_with_rtstruct(dir: &Path, dims: &str, rs: &Path) {
    let labels = dir.with_extension("labels.nii.gz");
    ok(&[
        "phantom",
        "--out",
        s(dir),
        "--labels",
        s(&labels),
        "--dims",
        dims,
    ]);
    ok(&[
        "seg",
        "convert",
        s(dir),
        s(&labels),
        "--format",
        "rtstruct",
        "--out",
        s(rs),
    ]);
}

/// The U-Net trains from a case list whose labels are RTSTRUCTs (the ROIs
/// to use named in the `rois` column), as the coursework on `LCTSC` did.
#[cfg(feature = "unet")]
#[test]
fn unet_trains_from_an_rtstruct_labelled_case_list() {
    let tmp = tempdir();
    let root = tmp.path();
    for case in ["p1", "p2", "p3"] {
        phantom_with_rtstruct(
            &root.join(case),
            "24,64,64",
            &root.join(format!("{case}-rs.dcm")),
        );
    }
    // The structure set lists every phantom structure; the lungs are labels
    // 2 and 3 of the phantom's label map (a NIfTI carries no names).
    let info = ok(&["seg", "info", s(&root.join("p1-rs.dcm"))]);
    assert!(
        info.contains("Label 2") && info.contains("Label 3"),
        "{info}"
    );
    std::fs::write(
        root.join("cases.csv"),
        "case,series,label,rois\n\
         p1,p1,p1-rs.dcm,Label 2;Label 3\n\
         p2,p2,p2-rs.dcm,Label 2;Label 3\n\
         p3,p3,p3-rs.dcm,Label 2;Label 3\n",
    )
    .unwrap();
    let model = root.join("model.mpk");
    let out = crate::common::run(&[
        "unet",
        "train",
        "--cases",
        s(&root.join("cases.csv")),
        "--out",
        s(&model),
        "--epochs",
        "1",
        "--size",
        "32",
        "--width",
        "4",
        "--depth",
        "2",
        "--max-steps",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(model.is_file(), "{stderr}");
    // A ROI name the structure sets do not have is a clear error.
    std::fs::write(
        root.join("bad.csv"),
        "case,series,label,rois\np1,p1,p1-rs.dcm,Lung_X\n",
    )
    .unwrap();
    let out = crate::common::run(&[
        "unet",
        "train",
        "--cases",
        s(&root.join("bad.csv")),
        "--out",
        s(&root.join("bad.mpk")),
        "--epochs",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Lung_X"), "{stderr}");
}

/// The survey lists each structure set with its ROI names, next to the
/// series it references (table section, CSV column, JSON).
#[test]
fn survey_lists_the_rois_of_each_structure_set() {
    let tmp = tempdir();
    let dir = tmp.path().join("study");
    phantom_with_rtstruct(&dir, "16,48,48", &dir.join("rs.dcm"));
    let csv = tmp.path().join("survey.csv");
    let json = tmp.path().join("survey.json");
    let text = ok(&[
        "survey",
        s(&dir),
        "--no-histograms",
        "--csv",
        s(&csv),
        "--json",
        s(&json),
    ]);
    assert!(text.contains("Structure sets:"), "{text}");
    assert!(
        text.contains("Label 2") && text.contains("Label 10"),
        "{text}"
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "roi_names")
        .expect("roi_names column");
    let row = csv.lines().nth(1).unwrap();
    assert!(row.contains("Label 1;Label 2;"), "{row} (column {col})");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let sets = v["structure_sets"].as_array().expect("structure_sets");
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0]["series_row"], 0);
    assert!(
        sets[0]["roi_names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "Label 3")
    );
}
