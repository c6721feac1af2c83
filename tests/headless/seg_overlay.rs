//! Segmentation overlays end to end: label maps on other grids (a rotated
//! NIfTI affine, a real NRRD) land on the right CT voxels; `hounsfield seg`
//! info / stats / convert / overlay on the phantom; the exported label map
//! and DICOM-SEG read back to the same voxels.

#![allow(clippy::unwrap_used)] // a failed unwrap is a test failure

use crate::common;

use glam::{DMat3, DVec3};
use hounsfield::phantom::{self, LABEL_LIVER, LABEL_TUMOUR, PhantomParams};
use hounsfield::seg::Segmentation;
use hounsfield::study;
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

fn small_phantom() -> phantom::Phantom {
    phantom::chest(&PhantomParams::with_dims([24, 48, 48]))
}

/// The phantom's labels stored on a grid rotated by 90° about z (columns
/// run along −y, rows along +x) and with a different origin: the same
/// world voxels, so placing them back gives the original labels exactly.
#[test]
fn rotated_nifti_label_map_lands_on_the_right_voxels() {
    let ph = small_phantom();
    let g = ph.volume.geometry;
    let [nz, nr, nc] = g.dims;
    // Rotated grid: i' (col) along −y, j' (row) along +x.
    // World of original voxel (i, j, k) = origin + i·sx·x̂ + j·sy·ŷ + k·sz·ẑ.
    // Choose i' = (nr-1) − j, j' = i; then world = origin' + i'·sy·(−ŷ) + j'·sx·x̂.
    let origin = g.world_of_voxel(DVec3::new(0.0, (nr - 1) as f64, 0.0));
    let rotated = Geometry {
        dims: [nz, nc, nr],
        spacing_mm: DVec3::new(g.spacing_mm.y, g.spacing_mm.x, g.spacing_mm.z),
        origin_mm: origin,
        direction: DMat3::from_cols(
            DVec3::new(0.0, -1.0, 0.0),
            DVec3::new(1.0, 0.0, 0.0),
            DVec3::new(0.0, 0.0, 1.0),
        ),
    };
    let mut data = Array3::<i16>::zeros(rotated.dims);
    for ((k, j, i), &v) in ph.labels.indexed_iter() {
        data[[k, i, nr - 1 - j]] = i16::from(v);
    }
    // Sanity: the rotated grid puts that voxel at the same world point.
    let w0 = g.world_of_voxel(DVec3::new(5.0, 7.0, 3.0));
    let w1 = rotated.world_of_voxel(DVec3::new((nr - 1 - 7) as f64, 5.0, 3.0));
    assert!((w0 - w1).length() < 1e-9);

    let tmp = common::tempdir();
    let path = tmp.path().join("rotated.nii.gz");
    hounsfield::io::nifti::write_nifti(&path, &Volume::from_i16(data, rotated)).unwrap();
    let seg = study::open_label_map(&path, &g).unwrap();
    assert_eq!(seg.geometry, g);
    let back = seg.to_label_map();
    assert_eq!(back, ph.labels.mapv(u16::from));
    let liver = seg.index_of(u16::from(LABEL_LIVER)).unwrap();
    assert!(seg.segments[liver].mask.count() > 100);
}

/// A label map that does not overlap the CT is refused, not shifted.
#[test]
fn a_label_map_elsewhere_is_refused() {
    let ph = small_phantom();
    let mut far = ph.volume.geometry;
    far.origin_mm += DVec3::new(0.0, 0.0, 5000.0);
    let tmp = common::tempdir();
    let path = tmp.path().join("far.nrrd");
    let labels = Volume::from_i16(ph.labels.mapv(i16::from), far);
    hounsfield::io::nrrd::write_nrrd(&path, &labels, true).unwrap();
    let e = study::open_label_map(&path, &ph.volume.geometry).unwrap_err();
    assert!(e.to_string().contains("does not overlap"), "{e}");
}

/// The real dcmqi liver NRRD on its 3-slice CT: the NRRD is on the CT grid,
/// so every liver voxel lands on a CT voxel and none is lost.
#[test]
fn real_liver_nrrd_on_its_ct() {
    let Some(dir) = hounsfield::testdata::dir("seg-dcmqi") else {
        return;
    };
    let ct = hounsfield::dicom::load_series(
        &dir.join("ct-3slice"),
        None,
        &hounsfield::dicom::LoadControl::default(),
    )
    .unwrap();
    let nrrd = hounsfield::io::nrrd::read_nrrd(&dir.join("liver_seg.nrrd")).unwrap();
    let want: usize = hounsfield::seg::place::label_values(&nrrd.data)
        .unwrap()
        .iter()
        .filter(|&&v| v != 0)
        .count();
    let seg = study::open_label_map(&dir.join("liver_seg.nrrd"), &ct.volume.geometry).unwrap();
    assert_eq!(seg.segments.len(), 1);
    assert_eq!(seg.segments[0].mask.count(), want);
    let st = hounsfield::seg::stats::statistics(&ct.volume, &seg);
    // Liver on a contrast CT: soft tissue, roughly 0..200 HU on average.
    assert!(st[0].mean_hu > 0.0 && st[0].mean_hu < 200.0, "{:?}", st[0]);
}

use common::{ok, run, s};

/// Writes the 24×48×48 phantom as a DICOM series and its labels as NIfTI
/// under `dir` (through the CLI); returns both paths.
fn phantom_series_and_labels(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let series = dir.join("series");
    let labels = dir.join("labels.nii.gz");
    ok(&[
        "phantom",
        "--out",
        s(&series),
        "--dims",
        "24,48,48",
        "--labels",
        s(&labels),
    ]);
    (series, labels)
}

#[test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, step by step
fn seg_cli_info_stats_convert_overlay() {
    let tmp = common::tempdir();
    let (series, labels) = phantom_series_and_labels(tmp.path());
    let info = ok(&["seg", "info", s(&labels)]);
    assert!(
        info.contains("label map") && info.contains("voxels"),
        "{info}"
    );

    let csv = tmp.path().join("stats.csv");
    let json = tmp.path().join("stats.json");
    let table = ok(&[
        "seg",
        "stats",
        s(&series),
        s(&labels),
        "--csv",
        s(&csv),
        "--json",
        s(&json),
    ]);
    assert!(table.contains("ml") && table.contains("mean HU"), "{table}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let liver = j
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["number"] == u64::from(LABEL_LIVER))
        .unwrap();
    // The phantom liver is 60 HU plus noise.
    assert!(
        (liver["mean_hu"].as_f64().unwrap() - 60.0).abs() < 10.0,
        "{liver}"
    );
    assert!(
        std::fs::read_to_string(&csv)
            .unwrap()
            .starts_with("number,label,voxels")
    );

    // Convert to NRRD and to DICOM-SEG; both read back to the same voxels.
    let nrrd = tmp.path().join("labels.nrrd");
    ok(&["seg", "convert", s(&series), s(&labels), "--out", s(&nrrd)]);
    let dcm = tmp.path().join("labels-seg.dcm");
    ok(&["seg", "convert", s(&series), s(&labels), "--out", s(&dcm)]);
    let ct =
        hounsfield::dicom::load_series(&series, None, &hounsfield::dicom::LoadControl::default())
            .unwrap();
    let from_nifti = study::open_label_map(&labels, &ct.volume.geometry).unwrap();
    let from_nrrd = study::open_label_map(&nrrd, &ct.volume.geometry).unwrap();
    assert_eq!(from_nifti.to_label_map(), from_nrrd.to_label_map());
    let grid = hounsfield::dicom::seg::ReferenceGrid::from_series(
        &hounsfield::dicom::scan(std::slice::from_ref(&series)).series[0],
    )
    .unwrap();
    let from_seg: Segmentation =
        study::open_segmentation(&dcm, &ct.volume.geometry, Some(&grid)).unwrap();
    assert_eq!(from_seg.to_label_map(), from_nifti.to_label_map());
    let info = ok(&["seg", "info", s(&dcm)]);
    assert!(
        info.contains("BINARY") && info.contains("Label 6"),
        "{info}"
    );

    // Overlay PNG through the tumour: coloured pixels present (the label
    // map carries no names, so colours come from the palette).
    let png = tmp.path().join("overlay.png");
    ok(&[
        "seg",
        "overlay",
        s(&series),
        s(&labels),
        "--segment",
        &LABEL_TUMOUR.to_string(),
        "--out",
        s(&png),
    ]);
    let img = image::open(&png).unwrap().to_rgb8();
    let coloured = img
        .pixels()
        .filter(|p| p.0[0] != p.0[1] || p.0[1] != p.0[2])
        .count();
    assert!(
        coloured > 30,
        "no overlay colours in the picture ({coloured})"
    );

    // A bad segment name: a one-line error, non-zero exit.
    let out = run(&[
        "seg",
        "overlay",
        s(&series),
        s(&labels),
        "--segment",
        "spleen",
        "--out",
        s(&png),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no segment"));
}

/// `hounsfield mesh` on the phantom: the bone surface at 350 HU and the
/// liver label's surface as PLY; both read back as closed meshes.
#[test]
fn mesh_cli_level_and_segment() {
    let tmp = common::tempdir();
    let (series, labels) = phantom_series_and_labels(tmp.path());
    let bone = tmp.path().join("bone.ply");
    ok(&["mesh", s(&series), "--level", "350", "--out", s(&bone)]);
    let m = hounsfield::mesh::write::read_mesh(&bone).unwrap();
    assert!(m.triangles.len() > 100 && hounsfield::mesh::is_closed(&m));
    let liver = tmp.path().join("liver.obj");
    ok(&[
        "mesh",
        s(&series),
        "--seg",
        s(&labels),
        "--label",
        &LABEL_LIVER.to_string(),
        "--out",
        s(&liver),
    ]);
    let m = hounsfield::mesh::write::read_mesh(&liver).unwrap();
    assert!(hounsfield::mesh::is_closed(&m));
    let out = run(&[
        "mesh",
        s(&series),
        "--seg",
        s(&labels),
        "--label",
        "99",
        "--out",
        s(&liver),
    ]);
    assert!(!out.status.success());
}

/// `mip-gif --gpu` renders the same frames as the CPU path (within one grey
/// level), and refuses `--seg` (no fusion on the GPU path).
#[test]
fn mip_gif_gpu_path_matches_the_cpu_path() {
    let tmp = common::tempdir();
    let (series, labels) = phantom_series_and_labels(tmp.path());
    let decode = |p: &std::path::Path| -> Vec<Vec<u8>> {
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let mut d = opts.read_info(std::fs::File::open(p).unwrap()).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = d.read_next_frame().unwrap() {
            frames.push(f.buffer.chunks(4).map(|c| c[0]).collect());
        }
        frames
    };
    let cpu = tmp.path().join("cpu.gif");
    let gpu = tmp.path().join("gpu.gif");
    let args = ["--step", "30", "--size", "96"];
    ok(&[&["mip-gif", s(&series), "--out", s(&cpu)][..], &args].concat());
    ok(&[
        &["mip-gif", s(&series), "--gpu", "--out", s(&gpu)][..],
        &args,
    ]
    .concat());
    let (a, b) = (decode(&cpu), decode(&gpu));
    assert_eq!(a.len(), 12);
    assert_eq!(a.len(), b.len());
    for (fa, fb) in a.iter().zip(&b) {
        let worst = fa
            .iter()
            .zip(fb)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap();
        assert!(worst <= 2, "GPU frame differs by {worst} grey levels");
    }
    let out = run(&[
        "mip-gif",
        s(&series),
        "--gpu",
        "--seg",
        s(&labels),
        "--out",
        s(&gpu),
    ]);
    assert!(!out.status.success());
}
