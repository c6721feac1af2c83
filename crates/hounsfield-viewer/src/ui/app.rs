//! The application: owns the model (study, scan, display state), the
//! features' states and the command queue. `logic()` applies commands and
//! takes job results; `ui()` draws every feature from a read-only
//! [`ViewerContext`] and collects new commands. The model is never mutated
//! while drawing.

use std::cell::RefCell;
use std::path::PathBuf;

use super::analysis::Analysis;
use super::command::{Command, DisplayEdit, ToolWindow};
use super::context::{JobStatus, Scan, ViewerContext};
use super::exports::Exports;
use super::loading::Loading;
use super::panels::{self, TagBrowser};
use super::picker::FilePicker;
use super::recent::Recent;
use super::seg_panel::SegPanel;
use super::state::{ViewerState, view_index};
use super::survey_panel::SurveyPanel;
use super::views::{self, Views};
use crate::mpr::{self, ViewAxis};
use crate::study::{self, Study};
use crate::volume::window;

/// A message for the status bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// The text (no patient identifiers).
    pub text: String,
    /// Shown in red.
    pub is_error: bool,
}

/// Options from the command line.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Open this path at start-up instead of the demo.
    pub open: Option<PathBuf>,
    /// Then open this segmentation on the loaded series.
    pub open_segmentation: Option<PathBuf>,
    /// Save a screenshot of the window here after `exit_after_frames`, then quit.
    pub screenshot: Option<PathBuf>,
    /// Frames to render before the screenshot (default 10).
    pub exit_after_frames: Option<u32>,
    /// Where the recent-studies list lives (default: the user's config folder).
    pub config_dir: Option<PathBuf>,
    /// Leave durations out of status messages, so screenshots and UI
    /// snapshots do not depend on the wall clock.
    pub hide_timings: bool,
}

/// How long something took, for a status message: `" in 1.2 s"`, or nothing
/// when timings are hidden ([`AppOptions::hide_timings`]).
pub(super) fn took(hide: bool, seconds: f64) -> String {
    if hide {
        String::new()
    } else {
        format!(" in {seconds:.1} s")
    }
}

/// Frame counting and the screenshot flow of `--screenshot`.
#[derive(Default)]
struct Shell {
    frames: u32,
    screenshot_requested: bool,
    repaint: Option<egui::Context>,
}

/// The viewer application: the model (study, scan, display state, status
/// message), one state per feature (each with its own jobs), the command
/// queue and the file picker.
///
/// Only the command handler ([`App::apply_commands`], and the job results
/// it takes in [`App::step_logic`]) changes the model. Draw code gets a
/// read-only [`ViewerContext`] and its feature's own state, and sends
/// commands.
pub struct App {
    /// What is shown.
    pub state: ViewerState,
    /// The loaded study.
    pub study: Option<Study>,
    /// The last scan: the opened path, what it holds, its volume files.
    pub scan: Option<Scan>,
    /// Status bar message.
    pub message: Option<Message>,
    /// Recently opened paths.
    pub recent: Recent,
    /// Opening folders and series: the scan and load jobs, the preview.
    pub(crate) loading: Loading,
    /// The three MPR views: caches, screen rectangles, the probe.
    pub(crate) views: Views,
    /// The DICOM tag table of the current slice.
    pub(super) tags: TagBrowser,
    /// Opening segmentation files.
    pub(super) seg: SegPanel,
    /// Lung segmentation and the comparison with a reference.
    pub(super) analysis: Analysis,
    /// The survey window and its job.
    pub survey: SurveyPanel,
    /// The 3D cell: camera, surfaces, the meshing job.
    pub scene3d: super::view3d::Scene3d,
    /// Exports: montage, rotating MIP, surface mesh, file writes.
    pub exports: Exports,
    /// Segmentation editing: tools, history, unsaved edits.
    pub editing: super::editing::Editing,
    /// The registration window and its job.
    pub registration: super::registration::RegistrationUi,
    /// Commands sent while drawing, applied before the next frame.
    pub(crate) commands: RefCell<Vec<Command>>,
    pub(crate) picker: Box<dyn FilePicker>,
    options: AppOptions,
    shell: Shell,
}

impl App {
    /// Whether status messages leave durations out.
    pub(super) fn hide_timings(&self) -> bool {
        self.options.hide_timings
    }

    /// A viewer showing the demo study (or about to open `options.open`).
    pub fn new(options: AppOptions, picker: Box<dyn FilePicker>) -> Self {
        let mut app = Self {
            state: ViewerState::default(),
            study: None,
            scan: None,
            message: None,
            recent: Recent::load(options.config_dir.clone()),
            loading: Loading::default(),
            views: Views::default(),
            tags: TagBrowser::default(),
            seg: SegPanel::default(),
            analysis: Analysis::default(),
            survey: SurveyPanel::default(),
            scene3d: super::view3d::Scene3d::default(),
            exports: Exports::default(),
            editing: super::editing::Editing::default(),
            registration: super::registration::RegistrationUi::default(),
            commands: RefCell::new(Vec::new()),
            picker,
            options: options.clone(),
            shell: Shell::default(),
        };
        app.set_study(study::demo());
        if let Some(p) = options.open {
            app.push(Command::OpenPath(p));
        }
        app
    }

    /// Push a command (as a widget would).
    pub fn push(&mut self, c: Command) {
        self.commands.get_mut().push(c);
    }

    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            is_error: false,
        });
    }

    pub(crate) fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            is_error: true,
        });
    }

    /// Show a failure to start a job (or do nothing on success).
    pub(super) fn started(&mut self, r: Result<(), String>) {
        if let Err(e) = r {
            self.error(e);
        }
    }

    /// Replace the study: crosshair to its centre, a sensible window.
    pub fn set_study(&mut self, s: Study) {
        self.analysis.comparison = None;
        self.scene3d.view = None;
        self.state.overlay = crate::mpr::labels::OverlayStyle::default();
        self.state.crosshair_mm = s.volume.geometry.centre_mm();
        self.state.views = Default::default();
        self.state.maximized = None;
        if s.segmentation.is_none() {
            self.apply_preset("abdomen");
        } else {
            self.apply_preset("liver");
        }
        self.views.caches = Default::default();
        self.tags = TagBrowser::default();
        self.editing.reset();
        self.study = Some(s);
    }

    fn apply_preset(&mut self, name: &str) {
        if let Some(p) = window::preset(name) {
            self.state.window_centre_hu = p.centre_hu;
            self.state.window_width_hu = p.width_hu;
            self.state.preset = Some(p.name);
        }
    }

    /// The context the app repaints (once the first frame ran).
    pub(super) fn repaint_context(&self) -> Option<&egui::Context> {
        self.shell.repaint.as_ref()
    }

    pub(super) fn waker(&self) -> impl Fn() + Send + 'static {
        let ctx = self.shell.repaint.clone();
        move || {
            if let Some(c) = &ctx {
                c.request_repaint();
            }
        }
    }

    /// The segmentation given on the command line, once.
    pub(super) fn take_startup_segmentation(&mut self) -> Option<PathBuf> {
        self.options.open_segmentation.take()
    }

    /// Apply all pending commands (and start jobs). Called from `logic()`;
    /// tests call it directly.
    pub fn apply_commands(&mut self) {
        loop {
            let commands = std::mem::take(self.commands.get_mut());
            if commands.is_empty() {
                return;
            }
            for c in commands {
                self.apply(c);
            }
        }
    }

    /// The command handler: the one place that changes the study, the scan
    /// and the display state.
    pub(super) fn apply(&mut self, c: Command) {
        let Some(c) = self.guard_edits(c) else {
            return;
        };
        match c {
            Command::Edit(_) | Command::ConfirmEdits(_) | Command::Quit => {
                self.apply_editing_command(c);
            }
            Command::OpenPath(p) => self.start_scan(p),
            Command::PickFolder => {
                if let Some(p) = self.picker.pick_folder() {
                    self.start_scan(p);
                }
            }
            Command::LoadSeries(i) => self.start_load(i),
            Command::OpenVolumeFile(p) => self.start_volume_load(p),
            Command::OpenDemo => {
                self.set_study(study::demo());
                self.info("Demo phantom");
            }
            Command::CancelJob => self.cancel(None),
            Command::Cancel(id) => self.cancel(Some(id)),
            Command::SetCrosshair(p) => self.state.crosshair_mm = self.clamp_to_volume(p),
            Command::ScrollSlice(axis, n) => self.scroll(axis, n),
            Command::SetWindow(c, w) => {
                self.state.window_centre_hu = c;
                self.state.window_width_hu = w.max(1.0);
                self.state.preset = None;
            }
            Command::Preset(name) => self.apply_preset(&name),
            Command::AutoWindow => {
                if let Some(s) = &self.study {
                    let w = window::auto_window(&s.volume, 1.0, 99.0);
                    self.state.window_centre_hu = w.centre_hu;
                    self.state.window_width_hu = w.width_hu;
                    self.state.preset = None;
                }
            }
            Command::Zoom(axis, f) => {
                let v = &mut self.state.views[view_index(axis)];
                v.zoom = (v.zoom * f).clamp(0.2, 40.0);
            }
            Command::Pan(axis, d) => self.state.views[view_index(axis)].pan += d,
            Command::ToggleMaximize(axis) => {
                self.state.maximized = if self.state.maximized == Some(axis) {
                    None
                } else {
                    Some(axis)
                };
            }
            Command::Reset => {
                if let Some(s) = self.study.take() {
                    let labels = s.segmentation.is_some();
                    self.state.crosshair_mm = s.volume.geometry.centre_mm();
                    self.study = Some(s);
                    self.state.views = Default::default();
                    self.state.maximized = None;
                    self.apply_preset(if labels { "liver" } else { "abdomen" });
                }
            }
            Command::Display(edit) => self.edit_display(edit),
            Command::Ask(target) => {
                let (name, ext) = target.default_file();
                if let Some(p) = self.picker.save_file(&name, ext) {
                    self.push(target.command(p));
                }
            }
            Command::ShowWindow(w) => match w {
                ToolWindow::Survey => self.survey.open = true,
                ToolWindow::Registration => self.registration.open = true,
                ToolWindow::RotatingMip => self.exports.gif.open = true,
                ToolWindow::Mesh => self.exports.mesh.open = true,
            },
            Command::Survey { rerun } => {
                self.survey.open = true;
                if rerun || self.survey.result.is_none() {
                    self.start_survey();
                }
            }
            Command::ExportMontage(path) => self.export_montage(path),
            Command::SaveFigure(kind, path) => self.save_figure(kind, path),
            Command::PickSegmentation
            | Command::OpenSegmentation(_)
            | Command::CloseSegmentation
            | Command::ExportSegStats(_)
            | Command::ExportLabels(_)
            | Command::ExportDicomSeg(_)
            | Command::ExportRtStruct(_) => self.apply_seg_command(c),
            Command::PickMovingSeries
            | Command::Register
            | Command::SaveTransform(_)
            | Command::SaveResampled(_)
            | Command::RemoveRegistration => self.apply_registration_command(c),
            Command::ExportRotatingMip(p) => self.export_rotating_mip(p),
            Command::ExportMesh(p) => self.export_mesh(p),
            Command::SegmentLungs => self.start_lung_segmentation(),
            Command::SegmentLungsUnet => self.start_lung_segmentation_unet(),
            Command::Toggle3d => self.scene3d.shown = !self.scene3d.shown,
            Command::MeshSurfaces => self.start_surfaces(),
            Command::SaveView(axis, path) => self.save_view(axis, &path),
        }
    }

    fn edit_display(&mut self, edit: DisplayEdit) {
        let s = &mut self.state;
        match edit {
            DisplayEdit::ShowCrosshair(v) => s.show_crosshair = v,
            DisplayEdit::ShowInfoOverlay(v) => s.show_info_overlay = v,
            DisplayEdit::ShowLabels(v) => s.show_labels = v,
            DisplayEdit::ViewMode(axis, mode) => s.views[view_index(axis)].mode = mode,
            DisplayEdit::SlabMm(mm) => s.slab_mm = mm.max(0.0),
            DisplayEdit::Interpolation(i) => s.interpolation = i,
            DisplayEdit::HistogramLog(v) => s.histogram_log = v,
            DisplayEdit::Overlay(o) => s.overlay = o,
            DisplayEdit::Fusion(f) => s.fusion = f,
            DisplayEdit::Active(axis) => s.active = axis,
        }
    }

    /// Cancel job `id`, or every job.
    fn cancel(&self, id: Option<crate::jobs::JobId>) {
        let Some(id) = id else {
            self.loading.scan_job.cancel_all();
            self.loading.load_job.cancel_all();
            self.seg.job.cancel_all();
            self.analysis.job.cancel_all();
            self.survey.job.cancel_all();
            self.scene3d.job.cancel_all();
            self.registration.job.cancel_all();
            self.exports.cancel_all();
            self.editing.stats_job.cancel_all();
            self.editing.effects.job.cancel_all();
            return;
        };
        self.loading.scan_job.cancel(id);
        self.loading.load_job.cancel(id);
        self.seg.job.cancel(id);
        self.analysis.job.cancel(id);
        self.survey.job.cancel(id);
        self.scene3d.job.cancel(id);
        self.registration.job.cancel(id);
        self.exports.cancel(id);
        self.editing.stats_job.cancel(id);
        self.editing.effects.job.cancel(id);
    }

    /// Every running job, loading first.
    pub fn running_jobs(&self) -> Vec<JobStatus> {
        let mut out = Vec::new();
        self.loading.load_job.statuses(&mut out);
        self.loading.scan_job.statuses(&mut out);
        self.seg.job.statuses(&mut out);
        self.analysis.job.statuses(&mut out);
        self.registration.job.statuses(&mut out);
        self.scene3d.job.statuses(&mut out);
        self.survey.job.statuses(&mut out);
        self.exports.statuses(&mut out);
        self.editing.stats_job.statuses(&mut out);
        self.editing.effects.job.statuses(&mut out);
        out
    }

    /// Whether a segmentation, analysis, registration, 3D or export job is
    /// running (not counting scans, loads and the survey).
    pub fn task_running(&self) -> bool {
        self.seg.job.is_busy()
            || self.analysis.job.is_busy()
            || self.registration.job.is_busy()
            || self.scene3d.job.is_busy()
            || self.exports.is_busy()
            || self.editing.stats_job.is_busy()
            || self.editing.effects.job.is_busy()
    }

    /// Whether a series is still being scanned or loaded (the study shown
    /// may be its first-slice preview).
    pub fn is_loading(&self) -> bool {
        self.loading.is_busy()
    }

    fn save_view(&mut self, axis: ViewAxis, path: &std::path::Path) {
        let Some((w, h, gray)) = self.views.caches[view_index(axis)].last_gray.clone() else {
            return;
        };
        let rgb: Vec<u8> = gray.iter().flat_map(|&g| [g, g, g]).collect();
        let Some(img) = image::RgbImage::from_raw(w as u32, h as u32, rgb) else {
            return;
        };
        match crate::export::write_png(path, &img) {
            Ok(()) => self.info(format!("view saved to {}", path.display())),
            Err(e) => self.error(crate::jobs::error_chain(&e)),
        }
    }

    /// True when no view waits for a projection computed in the background
    /// (tests step the UI until then before a snapshot).
    pub fn views_settled(&self) -> bool {
        self.views.caches.iter().all(|c| !c.is_pending())
    }

    /// The plane each view drew last (axial, coronal, sagittal).
    pub fn view_planes(&self) -> [Option<mpr::SlicePlane>; 3] {
        [
            self.views.caches[0].plane,
            self.views.caches[1].plane,
            self.views.caches[2].plane,
        ]
    }

    /// The tag table on screen: its file and rows (or why they could not
    /// be read); `None` before the first one is read or without a file.
    pub fn tags(&self) -> Option<(&PathBuf, &Result<Vec<crate::dicom::tags::TagRow>, String>)> {
        self.tags.shown()
    }

    /// The last analysis compared with the segmentation shown before it.
    pub fn comparison(&self) -> Option<&super::analysis::Comparison> {
        self.analysis.comparison.as_ref()
    }

    /// The file behind the current axial slice, if any.
    pub fn current_slice_file(&self) -> Option<PathBuf> {
        panels::current_slice_file(self.study.as_ref()?, &self.state)
    }

    /// Screen rectangle of each view in the last frame (axial, coronal,
    /// sagittal).
    pub fn view_rects(&self) -> [egui::Rect; 3] {
        self.views.rects
    }

    fn screenshot_flow(&mut self, ctx: &egui::Context) {
        let Some(path) = self.options.screenshot.clone() else {
            return;
        };
        self.shell.frames += 1;
        let busy = !self.running_jobs().is_empty()
            || self.options.open_segmentation.is_some()
            || !self.commands.get_mut().is_empty();
        let wanted = self.options.exit_after_frames.unwrap_or(10);
        if busy || self.shell.frames < wanted {
            ctx.request_repaint();
            return;
        }
        if !self.shell.screenshot_requested {
            self.shell.screenshot_requested = true;
            let c = ctx.clone();
            ctx.request_screenshot(move |image| {
                let [w, h] = image.size;
                let rgba: Vec<u8> = image
                    .pixels
                    .iter()
                    .flat_map(egui::Color32::to_array)
                    .collect();
                if let Some(img) = image::RgbaImage::from_raw(w as u32, h as u32, rgba) {
                    let rgb = image::DynamicImage::ImageRgba8(img).to_rgb8();
                    if let Err(e) = crate::export::write_png(&path, &rgb) {
                        tracing::error!("screenshot not written: {}", crate::jobs::error_chain(&e));
                    }
                }
                c.send_viewport_cmd(egui::ViewportCommand::Close);
            });
        }
        ctx.request_repaint();
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.step_logic(ctx);
        self.screenshot_flow(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }
}

impl App {
    /// One frame of logic: the last frame's commands, drops, keyboard, job
    /// results. eframe calls it before drawing; tests call it directly.
    pub fn step_logic(&mut self, ctx: &egui::Context) {
        if self.shell.repaint.is_none() {
            self.shell.repaint = Some(ctx.clone());
        }
        // What the last frame's widgets sent (e.g. the view under the
        // pointer), before the keyboard acts on it.
        self.apply_commands();
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.push(Command::OpenPath(p));
        }
        self.keyboard(ctx);
        if ctx.input(|i| i.viewport().close_requested()) && self.editing.unsaved() {
            // Closing the window would drop the edits: ask first.
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.editing.confirm = Some(Command::Quit);
        }
        self.apply_commands();
        self.poll_edit_stats();
        self.poll_jobs();
        self.poll_tasks();
        self.poll_survey();
        self.apply_commands();
        if !self.running_jobs().is_empty() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// Draw the whole window (also used by tests through `egui_kittest`).
    /// Each feature draws from the same read-only context and its own
    /// state; what they send is applied by the next [`App::step_logic`].
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let egui_ctx = ui.ctx().clone();
        let jobs = self.running_jobs();
        let ctx = ViewerContext::new(
            self.study.as_ref(),
            &self.state,
            self.scan.as_ref(),
            &jobs,
            (
                self.editing.view(),
                self.editing.effects.preview(self.editing.revision),
            ),
            &self.commands,
        );
        super::editing::confirm_window(&ctx, self.editing.confirm.as_ref(), &egui_ctx);
        super::survey_panel::window(&mut self.survey, &ctx, &egui_ctx);
        super::animation::window(&mut self.exports.gif, &ctx, &egui_ctx);
        super::registration::window(&mut self.registration, &ctx, &egui_ctx);
        super::mesh_export::window(&mut self.exports.mesh, &ctx, &egui_ctx);
        panels::menu_bar(&ctx, &self.recent, ui);
        panels::status_bar(&ctx, self.views.probe.as_ref(), self.message.as_ref(), ui);
        egui::Panel::left("side")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    super::browser::series_browser(&ctx, ui);
                    ui.separator();
                    panels::window_controls(&ctx, ui);
                    ui.separator();
                    panels::view_options(&ctx, ui);
                    super::exports::montage_row(&mut self.exports, &ctx, ui);
                    ui.separator();
                    super::seg_panel::section(&ctx, &self.analysis, ui);
                    super::editing::section(&ctx, &self.editing, ui);
                    ui.separator();
                    panels::study_info(&ctx, ui);
                    self.tags.show(&ctx, ui);
                });
            });
        egui::CentralPanel::no_frame().show(ui, |ui| {
            views::draw_views(&mut self.views, &mut self.scene3d, &ctx, ui);
        });
    }
}
