//! # Hounsfield
//!
//! A native CT viewer and workbench. This crate is the `hounsfield` binary's
//! library: its command line ([`cli`]), and under one name the crates it is
//! built from — `hounsfield-core` (every capability as a pure function:
//! [`dicom`], [`volume`], [`io`], [`seg`], [`mpr`], the algorithms,
//! [`study`], [`jobs`]) and, with the `viewer` feature, `hounsfield-viewer`
//! (`ui`, the eframe/egui viewer, and `render`, its wgpu layer). See
//! `ARCHITECTURE.md` for the crates and the module map.

pub use hounsfield_core::*;
#[cfg(feature = "viewer")]
pub use hounsfield_viewer::{render, ui};

pub mod cli;
