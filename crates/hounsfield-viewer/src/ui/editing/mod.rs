//! Segmentation editing in the viewer: the tool settings (navigate, brush,
//! eraser, fill; radius in mm, disc or sphere, HU limit), the active
//! segment, the undo/redo history ([`crate::seg::edit::EditHistory`], which
//! stores differences, not copies), the "unsaved edits" guard and the
//! statistics job that follows the edits.
//!
//! Views send [`EditCommand`]s (a brush stroke is `Dab`s then `EndStroke`);
//! only [`App::apply_edit`] changes the segmentation, through the pure
//! operations of [`crate::seg::edit`]. Each change bumps
//! [`Editing::revision`], which the views' overlay cache keys on.
//!
//! - `apply.rs`: the command handler's part (strokes, fill, interpolation,
//!   undo/redo, segments, the statistics job, the unsaved-edits guard).
//! - `panel.rs`: the side-panel section, the "unsaved edits" question and
//!   the views' pointer input and brush outline for the editing tools.

mod apply;
pub mod effects;
mod panel;

pub use panel::{brush_outline, confirm_window, section, view_input};

use glam::DVec3;

use super::command::Command;
use super::tasks::JobSlot;
use crate::mpr::ViewAxis;
use crate::seg::edit::EditHistory;
use crate::seg::stats::SegmentStats;

/// What a primary-button drag or click in a view does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tool {
    /// Move the crosshair.
    #[default]
    Navigate,
    /// Paint the active segment.
    Brush,
    /// Erase from the active segment.
    Eraser,
    /// Flood-fill the active segment from the clicked voxel, within the HU range.
    Fill,
}

impl Tool {
    /// Every tool, for the selector.
    pub const ALL: [Self; 4] = [Self::Navigate, Self::Brush, Self::Eraser, Self::Fill];

    /// Its name in the panel.
    pub fn name(self) -> &'static str {
        match self {
            Self::Navigate => "Navigate",
            Self::Brush => "Brush",
            Self::Eraser => "Eraser",
            Self::Fill => "Fill",
        }
    }

    /// Whether the tool edits (a drag does not move the crosshair).
    pub fn edits(self) -> bool {
        self != Self::Navigate
    }
}

/// The tool and its settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EditSettings {
    /// The tool of the primary button.
    pub tool: Tool,
    /// Brush and eraser radius (mm).
    pub radius_mm: f32,
    /// A ball instead of a disc in the view's plane.
    pub sphere: bool,
    /// Brush and eraser touch only voxels within `range_hu`.
    pub limit_hu: bool,
    /// The HU range of the limited brush and of the fill (inclusive).
    pub range_hu: (f32, f32),
    /// The fill spreads in 3D (6-connected) instead of the view's plane.
    pub fill_3d: bool,
}

impl Default for EditSettings {
    fn default() -> Self {
        Self {
            tool: Tool::Navigate,
            radius_mm: 5.0,
            sphere: false,
            limit_hu: false,
            range_hu: (-100.0, 300.0),
            fill_3d: false,
        }
    }
}

/// An editing request from a widget.
#[derive(Clone, Debug, PartialEq)]
pub enum EditCommand {
    /// New tool settings.
    Settings(EditSettings),
    /// Edit this segment (by number).
    Select(u16),
    /// One brush or eraser dab at a point of a view (a stroke goes on
    /// until [`EditCommand::EndStroke`]; dabs in between are filled in).
    Dab(ViewAxis, DVec3),
    /// The stroke is over: it becomes one undo step.
    EndStroke,
    /// Flood fill from a point of a view.
    Fill(ViewAxis, DVec3),
    /// Interpolate the active segment between its edited slices of a view.
    Interpolate(ViewAxis),
    /// Undo the last step.
    Undo,
    /// Redo the last undone step.
    Redo,
    /// A new, empty segment (made active).
    NewSegment,
    /// Rename a segment.
    Rename(u16, String),
    /// Recolour a segment.
    Recolour(u16, [u8; 3]),
    /// Delete a segment.
    Delete(u16),
    /// Choose an effect and its parameters.
    Effect(effects::EffectParams),
    /// Compute the effect and show it as a preview.
    PreviewEffect,
    /// Apply the effect (the preview when it is current) as one undo step.
    ApplyEffect,
    /// Drop the preview.
    DropPreview,
}

/// What draw code needs of the editing state (copied into the context).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EditView {
    /// The tool and its settings.
    pub settings: EditSettings,
    /// The segment edited.
    pub active: Option<u16>,
    /// Bumped by every change of the segmentation (overlay cache key).
    pub revision: u64,
    /// Steps that can be undone / redone.
    pub undo_steps: usize,
    /// Steps that can be redone.
    pub redo_steps: usize,
    /// Bytes the history holds.
    pub history_bytes: usize,
    /// Edits not written to a file since the last change.
    pub unsaved: bool,
    /// A brush or eraser stroke is in progress.
    pub stroking: bool,
}

/// The editing feature's state.
#[derive(Default)]
pub struct Editing {
    /// The tool and its settings.
    pub settings: EditSettings,
    /// The segment edited (by number).
    pub active: Option<u16>,
    /// Undo/redo.
    pub history: EditHistory,
    /// Bumped by every change of the segmentation.
    pub revision: u64,
    /// The revision last written to a file (or opened).
    saved_revision: u64,
    /// The stroke in progress: its view, its last dab, and whether it has
    /// changed anything yet (its undo step is open).
    stroke: Option<(ViewAxis, DVec3, bool)>,
    /// Statistics of the edited segmentation, computed in the background.
    pub stats_job: JobSlot<(u64, Vec<SegmentStats>)>,
    /// The statistics lag behind the segmentation.
    stats_stale: bool,
    /// A command that would drop unsaved edits, waiting for "Discard".
    pub confirm: Option<Command>,
    /// Segment effects: parameters, job, preview.
    pub effects: effects::Effects,
}

impl Editing {
    /// The part draw code reads.
    pub fn view(&self) -> EditView {
        EditView {
            settings: self.settings,
            active: self.active,
            revision: self.revision,
            undo_steps: self.history.undo_len(),
            redo_steps: self.history.redo_len(),
            history_bytes: self.history.bytes(),
            unsaved: self.revision != self.saved_revision,
            stroking: self.stroke.is_some(),
        }
    }

    /// Whether there are edits not written to a file.
    pub fn unsaved(&self) -> bool {
        self.revision != self.saved_revision
    }

    /// A new segmentation (opened, computed or none): no history, nothing unsaved.
    pub fn reset(&mut self) {
        self.history.clear();
        self.stroke = None;
        self.active = None;
        self.revision += 1;
        self.saved_revision = self.revision;
        self.stats_stale = false;
        self.stats_job.cancel_all();
        self.effects.job.cancel_all();
        self.effects.preview = None;
    }

    /// The current revision is being written to a file.
    pub fn saved(&mut self) {
        self.saved_revision = self.revision;
    }
}

/// Whether a command would replace the study or its segmentation (and so
/// drop unsaved edits).
pub fn drops_edits(c: &Command) -> bool {
    matches!(
        c,
        Command::OpenPath(_)
            | Command::PickFolder
            | Command::LoadSeries(_)
            | Command::OpenVolumeFile(_)
            | Command::OpenDemo
            | Command::PickSegmentation
            | Command::OpenSegmentation(_)
            | Command::CloseSegmentation
            | Command::SegmentLungs
            | Command::SegmentLungsUnet
            | Command::Quit
    )
}
