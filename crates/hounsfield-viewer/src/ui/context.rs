//! What every feature draws from: a read-only view of the study, the scan
//! and the display state, the running jobs, and a sender for commands.
//!
//! A draw function gets `&ViewerContext` and its own feature's state; it
//! cannot change the study or the display state (it holds no `&mut` to
//! them), it can only [`ViewerContext::send`] a [`Command`], which the
//! handler (`App::apply`) carries out before the next frame.

use std::cell::RefCell;
use std::path::PathBuf;

use super::command::Command;
use super::state::ViewerState;
use crate::dicom::ScanReport;
use crate::jobs::JobId;
use crate::study::{self, Study};

/// The last scan: the opened path and what it holds.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// The opened folder, file or DICOMDIR.
    pub path: PathBuf,
    /// Its series, objects and unreadable files (empty while scanning).
    pub report: ScanReport,
    /// Its NIfTI/NRRD/NumPy files with their grids (or why not).
    pub volumes: Vec<(PathBuf, Result<study::VolumeFileSummary, String>)>,
    /// Segmentation files offered next to its series: SEG objects of the
    /// scan and label maps in its folders (listed by the scan job).
    pub seg_candidates: Vec<PathBuf>,
}

/// One running job as the status bar shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobStatus {
    /// Its identity (for "Cancel").
    pub id: JobId,
    /// "Loading chest-ct", "Rotating MIP to mip.gif", …
    pub name: String,
    /// Fraction done, when known.
    pub fraction: Option<f32>,
    /// The current step.
    pub note: String,
}

/// Read-only state for drawing, plus the command sender.
pub struct ViewerContext<'a> {
    /// The study shown.
    pub study: Option<&'a Study>,
    /// The display state.
    pub state: &'a ViewerState,
    /// The last scan.
    pub scan: Option<&'a Scan>,
    /// Every running job.
    pub jobs: &'a [JobStatus],
    /// The editing tool, active segment and history sizes.
    pub edit: super::editing::EditView,
    /// An effect's result waiting to be applied, drawn as an outline.
    pub preview: Option<&'a std::sync::Arc<crate::seg::Segmentation>>,
    commands: &'a RefCell<Vec<Command>>,
}

impl<'a> ViewerContext<'a> {
    /// A context over the app's model, collecting commands into `commands`.
    pub(super) fn new(
        study: Option<&'a Study>,
        state: &'a ViewerState,
        scan: Option<&'a Scan>,
        jobs: &'a [JobStatus],
        edit: (
            super::editing::EditView,
            Option<&'a std::sync::Arc<crate::seg::Segmentation>>,
        ),
        commands: &'a RefCell<Vec<Command>>,
    ) -> Self {
        Self {
            study,
            state,
            scan,
            jobs,
            edit: edit.0,
            preview: edit.1,
            commands,
        }
    }

    /// Ask the handler to do something (applied before the next frame).
    pub fn send(&self, c: Command) {
        self.commands.borrow_mut().push(c);
    }

    /// Change one display setting.
    pub fn display(&self, edit: super::command::DisplayEdit) {
        self.send(Command::Display(edit));
    }

    /// The study's segmentation, if any.
    pub fn segmentation(&self) -> Option<&'a crate::seg::Segmentation> {
        self.study.and_then(|s| s.segmentation.as_deref())
    }
}

/// A checkbox over a display flag: shows `value`, sends `edit(new)` when
/// clicked.
pub(super) fn display_checkbox(
    ui: &mut egui::Ui,
    ctx: &ViewerContext,
    value: bool,
    text: &str,
    edit: fn(bool) -> super::command::DisplayEdit,
) -> egui::Response {
    let mut v = value;
    let r = ui.checkbox(&mut v, text);
    if r.changed() {
        ctx.display(edit(v));
    }
    r
}
