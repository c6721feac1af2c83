//! What widgets ask the app to do. Widgets push commands; `App::logic`
//! applies them (and starts jobs), so drawing never mutates data.

use std::path::PathBuf;

use glam::DVec3;

use super::state::ViewMode;
use crate::mpr::ViewAxis;
use crate::mpr::fusion::FusionStyle;
use crate::mpr::labels::OverlayStyle;
use crate::volume::resample::Interpolation;

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
    /// Cancel every running job.
    CancelJob,
    /// Cancel one job (the others go on).
    Cancel(crate::jobs::JobId),
    /// Change one display setting.
    Display(DisplayEdit),
    /// Ask for a file to save to, then do the export.
    Ask(SaveTarget),
    /// Open one of the tool windows.
    ShowWindow(ToolWindow),
    /// Show the survey window and survey the scanned folder (background
    /// job): again, or only when it has not been surveyed yet.
    Survey {
        /// Survey even when a survey is shown.
        rerun: bool,
    },
    /// Ask for a moving series (file, else folder) for the registration.
    PickMovingSeries,
    /// Register the chosen moving series onto the study (background job).
    Register,
    /// Write the registration's transform as JSON.
    SaveTransform(PathBuf),
    /// Write the moving series resampled onto the study's grid.
    SaveResampled(PathBuf),
    /// Drop the registration result.
    RemoveRegistration,
    /// Write a figure shown in the viewer (PNG or SVG by extension).
    SaveFigure(FigureKind, PathBuf),
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
    /// Ask for a segmentation file (DICOM-SEG, RTSTRUCT, NIfTI, NRRD), then open it.
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
    /// Write the segmentation as an RTSTRUCT (contours) referencing the series.
    ExportRtStruct(PathBuf),
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
    /// Edit the segmentation (tools, strokes, undo/redo, segments).
    Edit(super::editing::EditCommand),
    /// Answer to "unsaved edits": discard them and go on (true), or keep
    /// them and drop the waiting command (false).
    ConfirmEdits(bool),
    /// Close the window (asks first when edits are unsaved).
    Quit,
}

/// One display setting changed by a widget.
#[derive(Clone, Debug, PartialEq)]
pub enum DisplayEdit {
    /// Crosshair lines.
    ShowCrosshair(bool),
    /// Patient/study text in the views and the tag table.
    ShowInfoOverlay(bool),
    /// The segmentation overlay.
    ShowLabels(bool),
    /// A view's mode (slice or projection).
    ViewMode(ViewAxis, ViewMode),
    /// Projection slab thickness (mm, 0: whole volume).
    SlabMm(f32),
    /// Sampling of the views.
    Interpolation(Interpolation),
    /// Log counts in the histogram.
    HistogramLog(bool),
    /// How segments are drawn.
    Overlay(OverlayStyle),
    /// How the registered series is fused.
    Fusion(FusionStyle),
    /// The view the keyboard scrolls (the one under the pointer).
    Active(ViewAxis),
}

/// What a save dialog is for: its default file name and extension, and
/// the export it leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveTarget {
    /// A view as PNG.
    View(ViewAxis),
    /// The axial montage PNG.
    Montage,
    /// Segment statistics, CSV or (true) JSON.
    SegStats {
        /// JSON instead of CSV.
        json: bool,
    },
    /// The label map (NIfTI).
    Labels,
    /// The label map (NRRD).
    LabelsNrrd,
    /// The segmentation as DICOM-SEG.
    DicomSeg,
    /// The segmentation as RTSTRUCT.
    RtStruct,
    /// The rotating MIP GIF.
    RotatingMip,
    /// The surface mesh in this format ("stl", "ply", "obj").
    Mesh(&'static str),
    /// The registration's transform (JSON).
    Transform,
    /// The resampled moving series (NIfTI).
    Resampled,
    /// A figure of the viewer, as SVG (true) or PNG.
    Figure(FigureKind, bool),
}

impl SaveTarget {
    /// Default file name and extension of the dialog.
    pub fn default_file(self) -> (String, &'static str) {
        match self {
            Self::View(axis) => (format!("{}.png", axis.name()), "png"),
            Self::Montage => ("montage.png".into(), "png"),
            Self::SegStats { json: false } => ("segments.csv".into(), "csv"),
            Self::SegStats { json: true } => ("segments.json".into(), "json"),
            Self::Labels => ("labels.nii.gz".into(), "gz"),
            Self::LabelsNrrd => ("labels.nrrd".into(), "nrrd"),
            Self::DicomSeg => ("segmentation.dcm".into(), "dcm"),
            Self::RtStruct => ("rtstruct.dcm".into(), "dcm"),
            Self::RotatingMip => ("rotating_mip.gif".into(), "gif"),
            Self::Mesh(format) => (format!("surface.{format}"), format),
            Self::Transform => ("transform.json".into(), "json"),
            Self::Resampled => ("resampled.nii.gz".into(), "nii.gz"),
            Self::Figure(kind, svg) => {
                let ext = if svg { "svg" } else { "png" };
                (format!("{}.{ext}", kind.file_stem()), ext)
            }
        }
    }

    /// The export command for the chosen path.
    pub fn command(self, path: PathBuf) -> Command {
        match self {
            Self::View(axis) => Command::SaveView(axis, path),
            Self::Montage => Command::ExportMontage(path),
            Self::SegStats { .. } => Command::ExportSegStats(path),
            Self::Labels | Self::LabelsNrrd => Command::ExportLabels(path),
            Self::DicomSeg => Command::ExportDicomSeg(path),
            Self::RtStruct => Command::ExportRtStruct(path),
            Self::RotatingMip => Command::ExportRotatingMip(path),
            Self::Mesh(_) => Command::ExportMesh(path),
            Self::Transform => Command::SaveTransform(path),
            Self::Resampled => Command::SaveResampled(path),
            Self::Figure(kind, _) => Command::SaveFigure(kind, path),
        }
    }
}

/// The figures the viewer shows and saves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FigureKind {
    /// The study's HU histogram with the display window.
    Histogram,
    /// The registration's cost per iteration.
    RegistrationTrace,
    /// The survey's histograms of every series.
    Survey,
    /// The last analysis' overlap metrics per structure.
    Overlap,
}

impl FigureKind {
    /// Default file name (without extension).
    pub fn file_stem(self) -> &'static str {
        match self {
            Self::Histogram => "histogram",
            Self::RegistrationTrace => "registration_trace",
            Self::Survey => "survey_histograms",
            Self::Overlap => "overlap_metrics",
        }
    }
}

/// The tool windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolWindow {
    /// The folder survey.
    Survey,
    /// Registration.
    Registration,
    /// The rotating MIP export.
    RotatingMip,
    /// The surface mesh export.
    Mesh,
}
