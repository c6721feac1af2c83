//! The dependency rules of ARCHITECTURE.md, checked on the source text
//! (a cheap version of rerun's `scripts/lint.py`).
#![allow(clippy::unwrap_used)] // test helpers: failing to read our own sources is a test failure

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Files under `src/` that mention `needle` in code (not in comments),
/// relative to `src/`.
fn users_of(needle: &str) -> Vec<String> {
    let root = src();
    let mut users: Vec<String> = rust_files(&root)
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::trim_start)
                .filter(|l| !l.starts_with("//"))
                .any(|l| l.contains(needle))
        })
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    users.sort();
    users
}

#[test]
fn dicom_rs_stays_inside_the_dicom_module() {
    for krate in [
        "dicom_object",
        "dicom_core",
        "dicom_pixeldata",
        "dicom_parser",
        "dicom_encoding",
        "dicom_dictionary_std",
        "dicom_transfer_syntax_registry",
    ] {
        for f in users_of(&format!("{krate}::")) {
            assert!(
                f.starts_with("dicom/"),
                "{f} imports {krate}: only src/dicom/ may"
            );
        }
    }
}

#[test]
fn anyhow_only_in_the_binary_layer() {
    for f in users_of("anyhow") {
        assert!(
            f == "main.rs" || f == "cli.rs" || f.starts_with("cli/"),
            "{f} uses anyhow"
        );
    }
}

#[test]
fn gui_and_gpu_crates_only_in_ui_and_render() {
    for needle in ["egui", "eframe", "rfd"] {
        for f in users_of(&format!("{needle}::")) {
            assert!(
                f.starts_with("ui/") || f == "render/callback.rs",
                "{f} uses {needle}"
            );
        }
    }
    for f in users_of("wgpu::") {
        assert!(f.starts_with("render/"), "{f} uses wgpu");
    }
}

#[test]
fn pure_modules_do_no_io() {
    for needle in ["std::fs", "File::", "nifti::", "image::"] {
        for f in users_of(needle) {
            assert!(
                !f.starts_with("volume/") && !f.starts_with("phantom/"),
                "{f} uses {needle}"
            );
        }
    }
}

#[test]
fn source_files_stay_small() {
    for p in rust_files(&src()) {
        let n = std::fs::read_to_string(&p).unwrap().lines().count();
        assert!(n <= 700, "{p:?} has {n} lines: split it (STYLE: ~600)");
    }
}

/// Draw code cannot change the model: no function of the viewer takes
/// `&mut App` (each feature draws from a read-only `ViewerContext` and its
/// own state, and sends commands), and the context lends nothing mutably.
#[test]
fn viewer_draw_code_gets_no_mutable_model() {
    assert_eq!(users_of("&mut App"), Vec::<String>::new());
    let context = std::fs::read_to_string(src().join("ui/context.rs")).unwrap();
    assert!(
        !context.contains("&'a mut"),
        "ViewerContext lends nothing mutably"
    );
}
