//! Shared test helpers: where the real data is, and hashing.
#![allow(dead_code)]

use sha2::{Digest as _, Sha256};

/// The shared real-data folder (see `hounsfield::testdata`).
pub fn data_dir(sub: &str) -> Option<std::path::PathBuf> {
    hounsfield::testdata::dir(sub)
}

/// sha256 (hex) of int16 little-endian values.
pub fn sha256_i16(values: impl Iterator<Item = i16>) -> String {
    let mut h = Sha256::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for v in values {
        buf.extend_from_slice(&v.to_le_bytes());
        if buf.len() >= 1 << 16 {
            h.update(&buf);
            buf.clear();
        }
    }
    h.update(&buf);
    h.finalize().iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        write!(s, "{b:02x}").ok();
        s
    })
}

/// A fresh temporary folder.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Runs the `hounsfield` binary with `args`.
pub fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args(args)
        .output()
        .expect("run hounsfield")
}

/// Runs `hounsfield` and returns its stdout; fails the test on a non-zero exit.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path as a command-line argument.
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Compare `img` with `tests/snapshots/{name}.png` (written with
/// `UPDATE_SNAPSHOTS=1`, or when missing outside CI; under `CI=true` a
/// missing snapshot fails): at most 0.5 % of pixels may differ by more than
/// 8 levels in a channel.
pub fn check_snapshot(name: &str, img: &image::RgbaImage) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.png"));
    if !path.exists() && std::env::var("CI").is_ok_and(|v| v == "true") {
        let new = path.with_extension("new.png");
        img.save(&new).expect("write the new snapshot");
        panic!("{name}: snapshot {path:?} missing (CI=true); the picture is in {new:?}");
    }
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() || !path.exists() {
        img.save(&path).expect("write the snapshot");
        return;
    }
    let want = image::open(&path).expect("read the snapshot").to_rgba8();
    assert_eq!(want.dimensions(), img.dimensions(), "{name}: size changed");
    let differing = want
        .pixels()
        .zip(img.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).any(|(&p, q)| p.abs_diff(q) > 8))
        .count();
    let n = want.pixels().len();
    if differing * 200 > n {
        let new = path.with_extension("new.png");
        img.save(&new).expect("write the new snapshot");
        panic!("{name}: {differing} of {n} pixels differ; see {new:?}");
    }
}
