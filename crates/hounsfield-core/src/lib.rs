//! # hounsfield-core
//!
//! Every capability of Hounsfield as a pure library function, with no
//! windowing, GPU or command-line crates: DICOM in, HU volumes, geometry,
//! segmentations, file formats, algorithms, exports. The viewer
//! (`hounsfield-viewer`) and the `hounsfield` binary build on it; Cargo
//! keeps the arrows pointing one way. See `ARCHITECTURE.md` for the module
//! map.
//!
//! - [`dicom`]: files → series → HU [`volume::Volume`] (the only module that
//!   imports dicom-rs).
//! - [`volume`]: the voxel data model, geometry (LPS mm) and pure volume
//!   operations.
//! - [`io`]: NIfTI, NRRD and NumPy readers/writers (atomic writes).
//! - [`phantom`]: a deterministic synthetic chest CT with known labels.
//! - [`seg`]: segmentations on the CT grid (masks, colours, placement,
//!   statistics).
//! - [`mpr`], [`project`], [`mesh`], [`morph`], [`metrics`], [`segment`],
//!   [`register`], [`survey`]: the algorithms.
//! - [`export`]: PNG and GIF encodings of images; [`figure`]: plots
//!   (plotters, PNG and SVG) and text on images.
//! - [`study`], [`jobs`]: what a viewer holds, and background work.
//! - `unet` (feature `unet`): the `UNet` lung segmentation on these volumes.

pub mod dicom;
pub mod export;
pub mod figure;
pub mod io;
pub mod jobs;
pub mod mesh;
pub mod metrics;
pub mod morph;
pub mod mpr;
pub mod phantom;
pub mod project;
pub mod register;
pub mod seg;
pub mod segment;
pub mod study;
pub mod survey;
#[doc(hidden)]
pub mod testdata;
#[cfg(feature = "unet")]
pub mod unet;
pub mod volume;
