//! Integration tests without a GPU or a window, in one test binary (each
//! binary links the whole stack; one link instead of thirteen): the library
//! through its public API, the `hounsfield` binary through its CLI, real data
//! from `../shared/data` when present, and the architecture rules.
//!
//! Run one group with `cargo test --test headless -- mesh::`.

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod cli;
mod figures;
mod lungs;
mod mesh;
mod mip_gif;
mod orientation;
mod phantom_series;
mod projection;
mod real_data;
mod register;
mod rtstruct;
mod seg_dicom;
mod seg_effects;
mod seg_overlay;
mod survey;
#[cfg(feature = "viewer")]
mod viewer_jobs;
