//! Shared test helpers: where the real data is, and hashing.
#![allow(dead_code)]

use std::path::PathBuf;

use sha2::{Digest as _, Sha256};

/// The shared real-data folder (`HOUNSFIELD_DATA`, else `../shared/data`).
/// Returns `None` (and says so) when it is missing; under `CI=true` a
/// missing folder fails the test instead.
pub fn data_dir(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("HOUNSFIELD_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
        PathBuf::from,
    );
    let p = root.join(sub);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "real test data missing at {p:?} (CI=true: failing instead of skipping)"
    );
    eprintln!("SKIP: real test data missing at {p:?}; set HOUNSFIELD_DATA");
    None
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
