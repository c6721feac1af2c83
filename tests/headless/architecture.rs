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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The source folders of the workspace's crates, each with the prefix its
/// files get in the rules below.
fn crates() -> [(&'static str, PathBuf); 4] {
    let r = root();
    [
        ("core/", r.join("crates/hounsfield-core/src")),
        ("viewer/", r.join("crates/hounsfield-viewer/src")),
        ("unet/", r.join("crates/hounsfield-unet/src")),
        ("bin/", r.join("src")),
    ]
}

/// Source files that mention `needle` in code (not in comments), as
/// `core/dicom/open.rs`, `viewer/ui/app.rs`, `bin/cli.rs`, ….
fn users_of(needle: &str) -> Vec<String> {
    let mut users = Vec::new();
    for (prefix, dir) in crates() {
        for p in rust_files(&dir) {
            let uses = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .map(str::trim_start)
                .filter(|l| !l.starts_with("//"))
                .any(|l| l.contains(needle));
            if uses {
                let rel = p
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                users.push(format!("{prefix}{rel}"));
            }
        }
    }
    users.sort();
    users
}

/// The names in a manifest's `[dependencies]` table.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(manifest)).unwrap();
    text.lines()
        .skip_while(|l| l.trim() != "[dependencies]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap().trim().to_owned())
        .collect()
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
                f.starts_with("core/dicom/"),
                "{f} imports {krate}: only hounsfield-core's dicom/ may"
            );
        }
    }
}

#[test]
fn anyhow_only_in_the_binary_layer() {
    for f in users_of("anyhow") {
        assert!(
            f.starts_with("bin/"),
            "{f} uses anyhow: only the binary may"
        );
    }
}

#[test]
fn gui_and_gpu_crates_only_in_ui_and_render() {
    for needle in ["egui", "eframe", "rfd"] {
        for f in users_of(&format!("{needle}::")) {
            assert!(
                f.starts_with("viewer/ui/") || f == "viewer/render/callback.rs",
                "{f} uses {needle}"
            );
        }
    }
    for f in users_of("wgpu::") {
        assert!(f.starts_with("viewer/render/"), "{f} uses wgpu");
    }
}

#[test]
fn pure_modules_do_no_io() {
    for needle in ["std::fs", "File::", "nifti::", "image::"] {
        for f in users_of(needle) {
            assert!(
                !f.starts_with("core/volume/") && !f.starts_with("core/phantom/"),
                "{f} uses {needle}"
            );
        }
    }
}

#[test]
fn source_files_stay_small() {
    for (_, dir) in crates() {
        for p in rust_files(&dir) {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            assert!(n <= 700, "{p:?} has {n} lines: split it (STYLE: ~600)");
        }
    }
}

/// Draw code cannot change the model: no function of the viewer takes
/// `&mut App` (each feature draws from a read-only `ViewerContext` and its
/// own state, and sends commands), and the context lends nothing mutably.
#[test]
fn viewer_draw_code_gets_no_mutable_model() {
    assert_eq!(users_of("&mut App"), Vec::<String>::new());
    let context =
        std::fs::read_to_string(root().join("crates/hounsfield-viewer/src/ui/context.rs")).unwrap();
    assert!(
        !context.contains("&'a mut"),
        "ViewerContext lends nothing mutably"
    );
}

/// The floors as crates: the core has no windowing, GPU, CLI or ML crate
/// of its own (burn only through the optional `hounsfield-unet`); the
/// viewer no CLI; the network crate nothing of Hounsfield or DICOM; the
/// binary's own code is the command line and nothing else.
#[test]
fn crates_follow_the_floors() {
    let core = dependencies("crates/hounsfield-core/Cargo.toml");
    for banned in [
        "egui",
        "eframe",
        "wgpu",
        "rfd",
        "burn",
        "clap",
        "anyhow",
        "tracing-subscriber",
        "hounsfield-viewer",
    ] {
        assert!(
            !core.iter().any(|d| d == banned),
            "the core depends on {banned}"
        );
    }
    let viewer = dependencies("crates/hounsfield-viewer/Cargo.toml");
    for banned in [
        "clap",
        "anyhow",
        "tracing-subscriber",
        "burn",
        "dicom-object",
    ] {
        assert!(
            !viewer.iter().any(|d| d == banned),
            "the viewer depends on {banned}"
        );
    }
    assert!(viewer.iter().any(|d| d == "hounsfield-core"));
    let unet = dependencies("crates/hounsfield-unet/Cargo.toml");
    assert!(
        !unet
            .iter()
            .any(|d| d.starts_with("hounsfield") || d.starts_with("dicom")),
        "the network crate works on plain arrays: {unet:?}"
    );
    let mut own: Vec<String> = rust_files(&root().join("src"))
        .iter()
        .map(|p| {
            p.strip_prefix(root().join("src"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .filter(|p| !p.starts_with("cli/"))
        .collect();
    own.sort();
    assert_eq!(
        own,
        ["cli.rs", "lib.rs", "main.rs"],
        "the binary crate holds the CLI only"
    );
}
