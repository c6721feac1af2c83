//! What the viewer shows — crosshair, window, per-view zoom and pan,
//! layout, toggles. Small, plain data; no voxels, no textures.

use glam::DVec3;

use crate::mpr::ViewAxis;
use crate::mpr::labels::OverlayStyle;
use crate::volume::resample::Interpolation;

/// What a view shows: the slice through the crosshair or a projection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ViewMode {
    /// The slice through the crosshair.
    #[default]
    Slice,
    /// Maximum intensity projection.
    Mip,
    /// Average intensity projection.
    Aip,
    /// Minimum intensity projection.
    MinIp,
}

impl ViewMode {
    /// All modes, for selectors.
    pub const ALL: [Self; 4] = [Self::Slice, Self::Mip, Self::Aip, Self::MinIp];

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Slice => "slice",
            Self::Mip => "MIP",
            Self::Aip => "AIP",
            Self::MinIp => "MinIP",
        }
    }

    /// The projection, or `None` for a slice.
    pub fn projection(self) -> Option<crate::project::ProjectionMode> {
        match self {
            Self::Slice => None,
            Self::Mip => Some(crate::project::ProjectionMode::Max),
            Self::Aip => Some(crate::project::ProjectionMode::Mean),
            Self::MinIp => Some(crate::project::ProjectionMode::Min),
        }
    }
}

/// Zoom, pan and mode of one view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewState {
    /// Magnification over "fit to view" (1 = fit).
    pub zoom: f32,
    /// Pan in screen points.
    pub pan: egui::Vec2,
    /// Slice or projection.
    pub mode: ViewMode,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            pan: egui::Vec2::ZERO,
            mode: ViewMode::Slice,
        }
    }
}

/// The whole display state of the viewer.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // independent display toggles, each a checkbox
pub struct ViewerState {
    /// The linked point (LPS mm) all three views pass through.
    pub crosshair_mm: DVec3,
    /// Window centre (level) in HU.
    pub window_centre_hu: f32,
    /// Window width in HU.
    pub window_width_hu: f32,
    /// Name of the active preset, if the window equals one.
    pub preset: Option<String>,
    /// Axial, coronal, sagittal.
    pub views: [ViewState; 3],
    /// A view shown alone (double-click), or all three.
    pub maximized: Option<ViewAxis>,
    /// Patient/study text overlay in the views.
    pub show_info_overlay: bool,
    /// Segmentation overlay (when the study has one).
    pub show_labels: bool,
    /// How segments are drawn: visibility, opacity, outline.
    pub overlay: OverlayStyle,
    /// Crosshair lines.
    pub show_crosshair: bool,
    /// Log scale in the histogram panel.
    pub histogram_log: bool,
    /// Sampling of the views.
    pub interpolation: Interpolation,
    /// Thickness of projection slabs around the crosshair in mm (0: the whole volume).
    pub slab_mm: f32,
    /// The view the keyboard scrolls (last hovered).
    pub active: ViewAxis,
    /// How a registered moving series is fused into the slice views.
    pub fusion: crate::mpr::fusion::FusionStyle,
}

impl Default for ViewerState {
    fn default() -> Self {
        Self {
            crosshair_mm: DVec3::ZERO,
            window_centre_hu: 40.0,
            window_width_hu: 400.0,
            preset: None,
            views: [ViewState::default(); 3],
            maximized: None,
            show_info_overlay: true,
            show_labels: true,
            overlay: OverlayStyle::default(),
            show_crosshair: true,
            histogram_log: true,
            interpolation: Interpolation::Nearest,
            slab_mm: 0.0,
            active: ViewAxis::Axial,
            fusion: crate::mpr::fusion::FusionStyle::default(),
        }
    }
}

/// Index of a view in [`ViewerState::views`].
pub fn view_index(axis: ViewAxis) -> usize {
    match axis {
        ViewAxis::Axial => 0,
        ViewAxis::Coronal => 1,
        ViewAxis::Sagittal => 2,
    }
}

/// The three views in display order.
pub const AXES: [ViewAxis; 3] = [ViewAxis::Axial, ViewAxis::Coronal, ViewAxis::Sagittal];
