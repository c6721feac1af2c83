//! Exports from the viewer: the montage, the rotating MIP and surface
//! windows' state, and the file writes (montage, label map, DICOM-SEG,
//! transform, resampled series) that run as background jobs, any number at
//! once, each reporting "… saved to …" when it ends.

use std::path::PathBuf;
use std::sync::Arc;

use super::animation::GifExport;
use super::app::App;
use super::command::{Command, FigureKind, SaveTarget};
use super::context::JobStatus;
use super::mesh_export::MeshExport;
use super::tasks::JobList;
use crate::jobs::{BoxError, JobControl, JobId};

/// The export feature's state and jobs.
pub struct Exports {
    /// Montage: every k-th axial slice.
    pub montage_every: usize,
    /// The rotating MIP window and job.
    pub gif: GifExport,
    /// The surface mesh window and job.
    pub mesh: MeshExport,
    /// File writes; each ends with its status-bar message.
    pub(super) writes: JobList<String>,
}

impl Default for Exports {
    fn default() -> Self {
        Self {
            montage_every: 5,
            gif: GifExport::default(),
            mesh: MeshExport::default(),
            writes: JobList::default(),
        }
    }
}

impl Exports {
    /// Whether any export is running.
    pub fn is_busy(&self) -> bool {
        self.writes.is_busy() || self.gif.job.is_busy() || self.mesh.job.is_busy()
    }

    /// Cancel export `id`.
    pub fn cancel(&self, id: JobId) {
        self.writes.cancel(id);
        self.gif.job.cancel(id);
        self.mesh.job.cancel(id);
    }

    /// Cancel every export.
    pub fn cancel_all(&self) {
        self.writes.cancel_all();
        self.gif.job.cancel_all();
        self.mesh.job.cancel_all();
    }

    /// The running exports for the status bar.
    pub fn statuses(&self, out: &mut Vec<JobStatus>) {
        self.gif.job.statuses(out);
        self.mesh.job.statuses(out);
        self.writes.statuses(out);
    }

    /// Every finished export's message (or error).
    pub fn poll(&mut self) -> Vec<Result<String, crate::jobs::JobError>> {
        let mut done = self.writes.poll();
        done.extend(self.gif.job.poll());
        done.extend(self.mesh.job.poll());
        done
    }
}

/// The montage row of the side panel: its step and the export button.
pub fn montage_row(exports: &mut Exports, ctx: &super::context::ViewerContext, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let label = ui.label("montage every");
        ui.add(egui::DragValue::new(&mut exports.montage_every).range(1..=50))
            .labelled_by(label.id);
        if ui.button("Export montage…").clicked() {
            ctx.send(Command::Ask(SaveTarget::Montage));
        }
    });
}

/// The study's HU histogram as shown: log or linear counts, the display
/// window shaded.
pub fn histogram_chart(
    s: &crate::study::Study,
    state: &super::state::ViewerState,
) -> crate::figure::Chart {
    let c = f64::from(state.window_centre_hu);
    let w = f64::from(state.window_width_hu);
    crate::figure::hu_histogram(
        &s.histogram,
        state.histogram_log,
        Some((c - w / 2.0, c + w / 2.0)),
        "HU histogram",
    )
}

impl App {
    /// Start a file write; its message reaches the status bar when done.
    pub(super) fn start_write(
        &mut self,
        name: String,
        work: impl FnOnce(&JobControl) -> Result<String, BoxError> + Send + 'static,
    ) {
        let r = self.exports.writes.start(name, self.waker(), work);
        self.started(r);
    }

    /// The chart of a figure shown in the viewer, `None` when there is
    /// nothing to plot.
    pub(super) fn figure_chart(&self, kind: FigureKind) -> Option<crate::figure::Chart> {
        match kind {
            FigureKind::Histogram => {
                let s = self.study.as_ref()?;
                Some(histogram_chart(s, &self.state))
            }
            FigureKind::RegistrationTrace => {
                let trace = self.registration.trace.lock().ok()?.clone();
                (!trace.is_empty()).then(|| crate::figure::registration_trace(&trace))
            }
            FigureKind::Survey => self.survey.chart.clone(),
            FigureKind::Overlap => {
                let c = self.analysis.comparison.as_ref()?;
                Some(crate::figure::overlap_bars(
                    &c.report,
                    &format!("Against {}", c.reference),
                ))
            }
        }
    }

    /// Write a figure (PNG or SVG by the extension) as a job.
    pub(super) fn save_figure(&mut self, kind: FigureKind, path: PathBuf) {
        let Some(chart) = self.figure_chart(kind) else {
            self.error("nothing to plot yet");
            return;
        };
        self.start_write(format!("Writing {}", kind.file_stem()), move |_| {
            crate::figure::write(&chart, &path, 900, 480)?;
            Ok(format!("figure saved to {}", path.display()))
        });
    }

    /// The axial montage, built and written as a job (a whole-volume pass
    /// and a PNG encode: never on the UI thread).
    pub(super) fn export_montage(&mut self, path: PathBuf) {
        let Some(s) = &self.study else { return };
        let p = crate::export::montage::MontageParams {
            every: self.exports.montage_every.max(1),
            centre_hu: self.state.window_centre_hu,
            width_hu: self.state.window_width_hu,
            ..Default::default()
        };
        let volume = Arc::clone(&s.volume);
        self.start_write("Writing the montage".to_owned(), move |_| {
            let img = crate::export::montage::axial_montage(&volume, &p);
            crate::export::write_png(&path, &img)?;
            Ok(format!("montage saved to {}", path.display()))
        });
    }
}
