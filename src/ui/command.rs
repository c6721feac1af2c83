//! What widgets ask the app to do. Widgets push commands; `App::logic`
//! applies them (and starts jobs), so drawing never mutates data.

use std::path::PathBuf;

use glam::DVec3;

use crate::mpr::ViewAxis;

/// A request from the UI.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Scan a folder, file or DICOMDIR and list its series.
    OpenPath(PathBuf),
    /// Ask the file picker for a folder, then open it.
    PickFolder,
    /// Load series `index` of the current scan.
    LoadSeries(usize),
    /// Open a NIfTI/NRRD volume file as the study.
    OpenVolumeFile(PathBuf),
    /// Show the built-in demo study.
    OpenDemo,
    /// Cancel the running job.
    CancelJob,
    /// Move the linked point.
    SetCrosshair(DVec3),
    /// Step the view's slice by `n` (positive: along the view normal).
    ScrollSlice(ViewAxis, i32),
    /// Set window centre and width (HU).
    SetWindow(f32, f32),
    /// Apply a named window preset.
    Preset(String),
    /// Window from the 1st–99th percentiles.
    AutoWindow,
    /// Multiply a view's zoom.
    Zoom(ViewAxis, f32),
    /// Pan a view by screen points.
    Pan(ViewAxis, egui::Vec2),
    /// Maximise a view, or go back to three.
    ToggleMaximize(ViewAxis),
    /// Crosshair to the centre, default window, zoom and pan.
    Reset,
    /// Export an axial montage PNG.
    ExportMontage(PathBuf),
    /// Save a view as PNG.
    SaveView(ViewAxis, PathBuf),
    /// Ask for a segmentation file (DICOM-SEG, NIfTI, NRRD), then open it.
    PickSegmentation,
    /// Open a segmentation for the current study (background job).
    OpenSegmentation(PathBuf),
    /// Drop the current segmentation.
    CloseSegmentation,
    /// Write the segment statistics (CSV, or JSON by extension).
    ExportSegStats(PathBuf),
    /// Write the label map (NIfTI / NRRD by extension).
    ExportLabels(PathBuf),
    /// Write the segmentation as a BINARY DICOM-SEG referencing the series.
    ExportDicomSeg(PathBuf),
    /// Write the rotating MIP GIF (background task).
    ExportRotatingMip(PathBuf),
    /// Mesh and write a surface (background task).
    ExportMesh(PathBuf),
    /// Segment the lungs of the study (background task).
    SegmentLungs,
    /// Segment the lungs of the study with the bundled U-Net (background task).
    SegmentLungsUnet,
    /// Show the 3D cell instead of the histogram, or back.
    Toggle3d,
    /// Mesh the bone surface and visible segments for the 3D cell (task).
    MeshSurfaces,
}
