//! # hounsfield-viewer
//!
//! The desktop viewer of Hounsfield: the eframe/egui app ([`ui`]) and the
//! wgpu render layer of its 3D cell and GPU exports ([`render`]). A thin
//! layer over `hounsfield-core`: the study, reslicing, algorithms and jobs
//! live there; this crate draws and turns input into commands. The only
//! crate that depends on egui, eframe, wgpu and rfd.

// The core's modules, under the names the viewer's code uses (`crate::mpr`…).
use hounsfield_core::{
    dicom, export, figure, io, jobs, mesh, metrics, mpr, project, register, seg, segment, study,
    survey, unet, volume,
};

pub mod render;
pub mod ui;
