//! # Hounsfield
//!
//! A native CT viewer and workbench. The library holds every capability as a
//! pure function; the binary (`hounsfield`) exposes them as a command line (and,
//! later, a GUI). See `ARCHITECTURE.md` for the module map.
//!
//! - [`dicom`]: files → series → HU [`volume::Volume`] (the only module that
//!   imports dicom-rs).
//! - [`volume`]: the voxel data model, geometry (LPS mm) and pure volume
//!   operations.
//! - [`io`]: NIfTI, NRRD and NumPy readers/writers (atomic writes).
//! - [`phantom`]: a deterministic synthetic chest CT with known labels.
//! - [`seg`]: segmentations on the CT grid (masks, colours, placement,
//!   statistics).
//! - [`mpr`]: multiplanar reslicing in radiological display orientation.
//! - [`study`], [`jobs`]: what the viewer holds, and background work.
//! - [`ui`]: the eframe/egui viewer (the only module importing egui).
//! - [`cli`]: the `hounsfield` subcommands.

pub mod cli;
pub mod dicom;
pub mod export;
pub mod io;
pub mod jobs;
pub mod mesh;
pub mod metrics;
pub mod morph;
pub mod mpr;
pub mod phantom;
pub mod project;
pub mod register;
#[cfg(feature = "viewer")]
pub mod render;
pub mod seg;
pub mod segment;
pub mod study;
pub mod survey;
#[doc(hidden)]
pub mod testdata;
#[cfg(feature = "viewer")]
pub mod ui;
#[cfg(feature = "unet")]
pub mod unet;
pub mod volume;
