//! The `hounsfield` binary end to end: phantom → scan → info → convert →
//! resample → histogram, and one-line errors with a non-zero exit code.

use crate::common;

use common::{ok, run, s};

#[test]
#[allow(clippy::too_many_lines)] // one end-to-end walk through the commands
fn phantom_scan_info_convert_resample_histogram() {
    let tmp = common::tempdir();
    let series = tmp.path().join("series");
    let labels = tmp.path().join("labels.nii.gz");
    let names = ok(&[
        "phantom",
        "--out",
        s(&series),
        "--dims",
        "24,48,48",
        "--drop-slices",
        "7",
        "--labels",
        s(&labels),
    ]);
    assert!(
        names.contains("liver") && names.contains("tumour"),
        "{names}"
    );
    assert!(labels.exists());

    let table = ok(&["scan", s(&series)]);
    assert!(
        table.contains("24") && table.contains("missing slice"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["scan", "--json", s(&series)])).unwrap();
    assert_eq!(json["series"][0]["shape_zyx"][0], 24);
    assert_eq!(json["series"][0]["validation"], "warn");

    let info = ok(&["info", s(&series)]);
    assert!(info.contains("shape (z,row,col):   24 x 48 x 48"), "{info}");
    assert!(
        info.contains("hidden"),
        "identifiers hidden by default: {info}"
    );
    assert!(!info.contains("Phantom^Chest"));
    let with_ids = ok(&["info", "--show-identifiers", s(&series)]);
    assert!(with_ids.contains("Phantom^Chest"));
    let info_json: serde_json::Value =
        serde_json::from_str(&ok(&["info", "--json", s(&series)])).unwrap();
    assert_eq!(info_json["shape_zyx"][1], 48);
    assert!(info_json["metadata"]["patient_name"].is_null());

    for ext in ["npy", "nii", "nii.gz", "nrrd"] {
        let out = tmp.path().join(format!("vol.{ext}"));
        ok(&["convert", s(&series), "--out", s(&out)]);
        assert!(out.metadata().unwrap().len() > 1000, "{ext}");
    }
    // Scan lists NIfTI/NRRD/NPY files as volumes and label maps with their
    // grids, never as unreadable DICOM.
    let all: serde_json::Value =
        serde_json::from_str(&ok(&["scan", "--json", s(tmp.path())])).unwrap();
    let vols = all["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 5, "{all}");
    let by_name = |n: &str| {
        vols.iter()
            .find(|v| v["path"].as_str().unwrap().ends_with(n))
            .unwrap_or_else(|| panic!("{n} listed: {all}"))
    };
    assert_eq!(by_name("labels.nii.gz")["kind"], "label map");
    assert_eq!(by_name("vol.nrrd")["kind"], "volume");
    assert_eq!(by_name("vol.nii")["shape_zyx"][0], 24);
    assert!(
        all["failures"].as_array().unwrap().is_empty(),
        "no failures: {all}"
    );
    let table = ok(&["scan", s(tmp.path())]);
    assert!(table.contains("volumes and label maps"), "{table}");
    // npy: int16 [z,row,col]
    let npy = hounsfield::io::npy::read_npy(&tmp.path().join("vol.npy")).unwrap();
    assert_eq!(npy.shape(), [24, 48, 48]);
    // NIfTI and NRRD read back to the same voxels as the DICOM series.
    let dicom =
        hounsfield::dicom::load_series(&series, None, &hounsfield::dicom::LoadControl::default())
            .unwrap();
    for ext in ["nii.gz", "nrrd"] {
        let back = ok(&["info", "--json", s(&tmp.path().join(format!("vol.{ext}")))]);
        let back: serde_json::Value = serde_json::from_str(&back).unwrap();
        assert_eq!(back["shape_zyx"], serde_json::json!([24, 48, 48]), "{ext}");
        let o = &back["origin_lps_mm"];
        let d = dicom.volume.geometry.origin_mm;
        assert!(
            (o[0].as_f64().unwrap() - d.x).abs() < 1e-3
                && (o[2].as_f64().unwrap() - d.z).abs() < 1e-3,
            "{ext}: {o}"
        );
    }

    let iso = tmp.path().join("iso.npy");
    ok(&["resample", s(&series), "--spacing", "4", "--out", s(&iso)]);
    let iso = hounsfield::io::npy::read_npy(&iso).unwrap();
    let ext = dicom.volume.geometry.extent_mm();
    assert_eq!(iso.shape()[2], (ext.x / 4.0 + 1e-6).floor() as usize + 1);

    let png = tmp.path().join("hist.png");
    let csv = tmp.path().join("hist.csv");
    let h = ok(&[
        "histogram",
        s(&series),
        "--png",
        s(&png),
        "--csv",
        s(&csv),
        "--bins",
        "64",
    ]);
    assert!(h.contains("percentiles"), "{h}");
    let img = image::open(&png).unwrap();
    assert!(img.width() > 100);
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 65);
}

#[test]
fn bad_input_gives_one_line_errors_and_nonzero_exit() {
    let tmp = common::tempdir();
    let junk = tmp.path().join("junk.dcm");
    std::fs::write(&junk, b"not dicom at all").unwrap();
    for args in [
        vec!["info", s(&junk)],
        vec!["info", "/nonexistent/folder"],
        vec!["convert", s(tmp.path()), "--out", "/tmp/x.npy"],
        vec![
            "resample",
            s(&junk),
            "--spacing",
            "abc",
            "--out",
            "/tmp/x.npy",
        ],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line expected, got {err}");
        assert!(lines[0].starts_with("error: "), "{err}");
    }
    // Unknown output format: refused before anything is written.
    let series = tmp.path().join("s");
    ok(&["phantom", "--out", s(&series), "--dims", "8,16,16"]);
    let out = run(&["convert", s(&series), "--out", s(&tmp.path().join("x.bmp"))]);
    assert!(!out.status.success());
    assert!(!tmp.path().join("x.bmp").exists());
}

#[test]
fn help_is_available_on_every_command() {
    for cmd in [
        "scan",
        "info",
        "convert",
        "resample",
        "histogram",
        "phantom",
    ] {
        let h = ok(&[cmd, "--help"]);
        assert!(h.contains("Usage"), "{cmd}: {h}");
    }
    let top = ok(&["--help"]);
    assert!(top.contains("scan") && top.contains("phantom") && top.contains("view"));
}

/// A hostile JPEG 2000 file (a real one whose SIZ marker's vertical image
/// offset exceeds the image height): the decoder complains through the
/// `log` crate, but the error stays one line on stderr, exit 1
/// (dependencies' logs only when `RUST_LOG` asks; found by
/// `bench/mutate.py` once logging went through `tracing`).
#[test]
fn a_decoder_error_is_one_line_whatever_the_decoder_logs() {
    let Some(dir) = common::data_dir("edge-cases/pylibjpeg/JPEG2000") else {
        return;
    };
    let mut bytes = std::fs::read(dir.join("693_J2KI.dcm")).unwrap();
    let siz = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0x51])
        .expect("the codestream's SIZ marker");
    // YOsiz (big endian) past Ysiz: "negative or zero image size".
    bytes[siz + 18..siz + 22].copy_from_slice(&0x0040_0000u32.to_be_bytes());
    let tmp = common::tempdir();
    let path = tmp.path().join("j2k.dcm");
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args(["info", s(&path)])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("JPEG 2000"),
        "{err}"
    );
}
