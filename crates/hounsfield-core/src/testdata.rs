//! Where the shared real test data lives, for tests and benches (the
//! application never reads it): `HOUNSFIELD_DATA`, else `../shared/data`
//! next to the repository. Missing data skips a test, except under `CI=true`.

use std::path::PathBuf;

/// The data root (it may not exist).
pub fn root() -> PathBuf {
    std::env::var_os("HOUNSFIELD_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

/// `root()/sub` when it exists. When it does not, prints a `SKIP` line and
/// returns `None`; under `CI=true` it panics instead, so CI cannot pass
/// without the data.
pub fn dir(sub: &str) -> Option<PathBuf> {
    let p = root().join(sub);
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
