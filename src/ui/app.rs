//! The application: owns the study (`Arc<Volume>`), the display state, the
//! view caches and the background jobs. `logic()` applies commands and
//! polls jobs; `ui()` draws and collects new commands. Data is never
//! mutated while drawing.

use std::path::PathBuf;

use glam::DVec3;

use super::background::Keyed;
use super::command::Command;
use super::panels;
use super::picker::FilePicker;
use super::recent::Recent;
use super::state::{AXES, ViewerState, view_index};
use super::views::{self, Probe, ViewCache};
use crate::dicom::{self, ScanReport};
use crate::jobs::Job;
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

/// The viewer application.
#[allow(clippy::struct_excessive_bools)] // independent window toggles
pub struct App {
    /// What is shown.
    pub state: ViewerState,
    /// The loaded study.
    pub study: Option<Study>,
    /// The last scan: the opened path and what it holds.
    pub scan: Option<(PathBuf, ScanReport)>,
    /// The scan's NIfTI/NRRD/NumPy files with their grids (or why not).
    pub scan_volumes: Vec<(PathBuf, Result<study::VolumeFileSummary, String>)>,
    /// Status bar message.
    pub message: Option<Message>,
    /// Recently opened paths.
    pub recent: Recent,
    /// HU under the pointer.
    pub probe: Option<Probe>,
    /// Tag table of the current slice's file, read in the background
    /// (see [`App::tags`]).
    pub(super) tags: Keyed<PathBuf, Result<Vec<dicom::tags::TagRow>, String>>,
    /// Montage export: every k-th slice.
    pub montage_every: usize,
    /// The survey of the opened folder, when run.
    pub survey: Option<crate::survey::Survey>,
    /// The survey window is open.
    pub show_survey: bool,
    /// Sorting of the survey table.
    pub survey_sort: super::survey_panel::SurveySort,
    /// The survey's histogram plot as a texture.
    pub survey_plot: Option<egui::TextureHandle>,
    pub(crate) survey_job: Option<Job<crate::survey::Survey>>,
    /// Screen rectangle of each view in the last frame (axial, coronal, sagittal).
    pub view_rects: [egui::Rect; 3],
    pub(crate) scan_job: Option<Job<super::loading::Opened>>,
    pub(crate) load_job: Option<Job<Study>>,
    /// The last analysis compared with the segmentation shown before it.
    pub comparison: Option<super::analysis::Comparison>,
    /// The fourth cell shows the 3D panel (else the histogram).
    pub show_3d: bool,
    /// The 3D panel's camera and surfaces.
    pub scene3d: super::view3d::Scene3d,
    /// The surface export window is open.
    pub show_mesh_window: bool,
    /// Its settings.
    pub mesh_settings: super::mesh_export::MeshSettings,
    /// The rotating MIP export window is open.
    pub show_gif_window: bool,
    /// Its settings.
    pub gif_settings: super::animation::GifSettings,
    /// The registration window.
    pub registration: super::registration::RegistrationUi,
    /// Segmentation files offered for the scan (cached per scanned path).
    pub(crate) seg_candidates: Option<(Option<PathBuf>, Vec<PathBuf>)>,
    /// Segmentation, export and analysis work on the loaded study.
    pub(crate) task_job: Option<Job<super::seg_panel::TaskDone>>,
    pub(crate) caches: [ViewCache; 3],
    pub(crate) commands: Vec<Command>,
    pub(crate) picker: Box<dyn FilePicker>,
    options: AppOptions,
    frames: u32,
    screenshot_requested: bool,
    /// When the user asked to open the path being scanned/loaded.
    pub(super) open_started: Option<std::time::Instant>,
    /// The study shown is a first-slice preview of a load in progress.
    pub(super) previewing: bool,
    /// The study to return to if that load fails.
    pub(super) before_preview: Option<Study>,
    /// Seconds from opening to the first-slice preview of the load in progress.
    pub(super) first_slice_s: Option<f64>,
    repaint: Option<egui::Context>,
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
            scan_volumes: Vec::new(),
            message: None,
            recent: Recent::load(options.config_dir.clone()),
            probe: None,
            tags: Keyed::default(),
            montage_every: 5,
            view_rects: [egui::Rect::NOTHING; 3],
            survey: None,
            show_survey: false,
            survey_sort: super::survey_panel::SurveySort::default(),
            survey_plot: None,
            survey_job: None,
            scan_job: None,
            load_job: None,
            task_job: None,
            seg_candidates: None,
            show_gif_window: false,
            show_mesh_window: false,
            comparison: None,
            show_3d: false,
            scene3d: super::view3d::Scene3d::default(),
            mesh_settings: super::mesh_export::MeshSettings::default(),
            gif_settings: super::animation::GifSettings::default(),
            registration: super::registration::RegistrationUi::default(),
            caches: Default::default(),
            commands: Vec::new(),
            picker,
            options: options.clone(),
            frames: 0,
            screenshot_requested: false,
            open_started: None,
            previewing: false,
            before_preview: None,
            first_slice_s: None,
            repaint: None,
        };
        app.set_study(study::demo());
        if let Some(p) = options.open {
            app.commands.push(Command::OpenPath(p));
        }
        app
    }

    /// Push a command (as a widget would).
    pub fn push(&mut self, c: Command) {
        self.commands.push(c);
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

    /// Replace the study: crosshair to its centre, a sensible window.
    pub fn set_study(&mut self, s: Study) {
        self.comparison = None;
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
        self.caches = Default::default();
        self.tags = Keyed::default();
        self.study = Some(s);
    }

    fn apply_preset(&mut self, name: &str) {
        if let Some(p) = window::preset(name) {
            self.state.window_centre_hu = p.centre_hu;
            self.state.window_width_hu = p.width_hu;
            self.state.preset = Some(p.name);
        }
    }

    pub(super) fn waker(&self) -> impl Fn() + Send + 'static {
        let ctx = self.repaint.clone();
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
        let commands = std::mem::take(&mut self.commands);
        for c in commands {
            self.apply(c);
        }
    }

    fn apply(&mut self, c: Command) {
        match c {
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
            Command::CancelJob => {
                if let Some(j) = &self.scan_job {
                    j.cancel();
                }
                if let Some(j) = &self.load_job {
                    j.cancel();
                }
                if let Some(j) = &self.task_job {
                    j.cancel();
                }
            }
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
            Command::ExportMontage(path) => self.export_montage(path),
            Command::PickSegmentation
            | Command::OpenSegmentation(_)
            | Command::CloseSegmentation
            | Command::ExportSegStats(_)
            | Command::ExportLabels(_)
            | Command::ExportDicomSeg(_) => self.apply_seg_command(c),
            Command::ExportRotatingMip(p) => self.export_rotating_mip(p),
            Command::ExportMesh(p) => self.export_mesh(p),
            Command::SegmentLungs => self.start_lung_segmentation(),
            Command::SegmentLungsUnet => self.start_lung_segmentation_unet(),
            Command::Toggle3d => self.show_3d = !self.show_3d,
            Command::MeshSurfaces => self.start_surfaces(),
            Command::SaveView(axis, path) => self.save_view(axis, &path),
        }
    }

    fn clamp_to_volume(&self, p: DVec3) -> DVec3 {
        let Some(s) = &self.study else { return p };
        let g = &s.volume.geometry;
        let v = g.voxel_of_world(p);
        let max = DVec3::new(
            (g.dims[2] - 1) as f64,
            (g.dims[1] - 1) as f64,
            (g.dims[0] - 1) as f64,
        );
        g.world_of_voxel(v.clamp(DVec3::ZERO, max))
    }

    fn scroll(&mut self, axis: ViewAxis, n: i32) {
        let Some(s) = &self.study else { return };
        let step = mpr::slice_step_mm(&s.volume.geometry, axis);
        let p = self.state.crosshair_mm + axis.scroll_dir() * step * f64::from(n);
        self.state.crosshair_mm = self.clamp_to_volume(p);
        self.state.active = axis;
    }

    /// The axial montage, built and written as a task (a whole-volume
    /// pass and a PNG encode: never on the UI thread).
    fn export_montage(&mut self, path: PathBuf) {
        let Some(s) = &self.study else { return };
        let p = crate::export::montage::MontageParams {
            every: self.montage_every.max(1),
            centre_hu: self.state.window_centre_hu,
            width_hu: self.state.window_width_hu,
            ..Default::default()
        };
        let volume = std::sync::Arc::clone(&s.volume);
        self.start_task("Writing the montage".to_owned(), move |_| {
            let img = crate::export::montage::axial_montage(&volume, &p);
            crate::export::write_png(&path, &img)?;
            Ok(super::seg_panel::TaskDone::Written(format!(
                "montage saved to {}",
                path.display()
            )))
        });
    }

    fn save_view(&mut self, axis: ViewAxis, path: &std::path::Path) {
        let Some((w, h, gray)) = self.caches[view_index(axis)].last_gray.clone() else {
            return;
        };
        let rgb: Vec<u8> = gray.iter().flat_map(|&g| [g, g, g]).collect();
        let Some(img) = image::RgbImage::from_raw(w as u32, h as u32, rgb) else {
            return;
        };
        match crate::export::write_png(path, &img) {
            Ok(()) => self.info(format!("view saved to {}", path.display())),
            Err(e) => self.error(e.to_string()),
        }
    }

    /// True when no view waits for a projection computed in the background
    /// (tests step the UI until then before a snapshot).
    pub fn views_settled(&self) -> bool {
        self.caches.iter().all(|c| !c.is_pending())
    }

    /// The plane each view drew last (axial, coronal, sagittal).
    pub fn view_planes(&self) -> [Option<mpr::SlicePlane>; 3] {
        [
            self.caches[0].plane,
            self.caches[1].plane,
            self.caches[2].plane,
        ]
    }

    /// Ask for a save path and push the command built from it.
    pub(crate) fn ask_save(&mut self, default_name: &str, make: impl FnOnce(PathBuf) -> Command) {
        if let Some(p) = self.picker.save_file(default_name, "png") {
            self.commands.push(make(p));
        }
    }

    fn keyboard(&mut self, ctx: &egui::Context) {
        let axis = self.state.active;
        let (up, down, pgup, pgdn, esc, reset) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowUp) || i.key_pressed(egui::Key::ArrowRight),
                i.key_pressed(egui::Key::ArrowDown) || i.key_pressed(egui::Key::ArrowLeft),
                i.key_pressed(egui::Key::PageUp),
                i.key_pressed(egui::Key::PageDown),
                i.key_pressed(egui::Key::Escape),
                i.key_pressed(egui::Key::Home),
            )
        });
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        for (pressed, n) in [(up, 1), (down, -1), (pgup, 10), (pgdn, -10)] {
            if pressed {
                self.commands.push(Command::ScrollSlice(axis, n));
            }
        }
        if esc {
            self.state.maximized = None;
        }
        if reset {
            self.commands.push(Command::Reset);
        }
    }

    fn screenshot_flow(&mut self, ctx: &egui::Context) {
        let Some(path) = self.options.screenshot.clone() else {
            return;
        };
        self.frames += 1;
        let busy = self.scan_job.is_some()
            || self.load_job.is_some()
            || self.task_job.is_some()
            || self.options.open_segmentation.is_some()
            || !self.commands.is_empty();
        let wanted = self.options.exit_after_frames.unwrap_or(10);
        if busy || self.frames < wanted {
            ctx.request_repaint();
            return;
        }
        if !self.screenshot_requested {
            self.screenshot_requested = true;
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
    /// One frame of logic: drops, keyboard, commands, jobs, tag table.
    /// eframe calls it before drawing; tests call it directly.
    pub fn step_logic(&mut self, ctx: &egui::Context) {
        if self.repaint.is_none() {
            self.repaint = Some(ctx.clone());
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.commands.push(Command::OpenPath(p));
        }
        self.keyboard(ctx);
        self.apply_commands();
        self.poll_jobs();
        self.poll_task();
        self.poll_survey(ctx);
        if self.scan_job.is_some()
            || self.load_job.is_some()
            || self.survey_job.is_some()
            || self.task_job.is_some()
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    /// Draw the whole window (also used by tests through `egui_kittest`).
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        super::survey_panel::window(self, &ctx);
        super::animation::window(self, &ctx);
        super::registration::window(self, &ctx);
        super::mesh_export::window(self, &ctx);
        panels::menu_bar(self, ui);
        panels::status_bar(self, ui);
        panels::side_panel(self, ui);
        egui::CentralPanel::no_frame().show(ui, |ui| self.draw_views(ui));
    }

    fn draw_views(&mut self, ui: &mut egui::Ui) {
        let Some(study) = self.study.as_ref() else {
            return;
        };
        let study: &Study = study;
        let rect = ui.available_rect_before_wrap();
        let gap = 2.0;
        let half = egui::vec2((rect.width() - gap) / 2.0, (rect.height() - gap) / 2.0);
        let cells = [
            egui::Rect::from_min_size(rect.min, half),
            egui::Rect::from_min_size(rect.min + egui::vec2(half.x + gap, 0.0), half),
            egui::Rect::from_min_size(rect.min + egui::vec2(0.0, half.y + gap), half),
            egui::Rect::from_min_size(rect.min + half + egui::vec2(gap, gap), half),
        ];
        let mut probe = None;
        let mut commands = Vec::new();
        let state = self.state.clone();
        for (k, axis) in AXES.into_iter().enumerate() {
            let r = match state.maximized {
                Some(m) if m == axis => rect,
                Some(_) => continue,
                None => cells[k],
            };
            self.view_rects[k] = r;
            let p = views::show(
                ui,
                r,
                axis,
                study,
                &state,
                &mut self.caches[k],
                &mut commands,
            );
            if p.is_some() {
                probe = p;
                self.state.active = axis;
            }
        }
        if state.maximized.is_none() {
            let mut inner = ui.new_child(egui::UiBuilder::new().max_rect(cells[3].shrink(6.0)));
            if self.show_3d {
                super::view3d::cell(self, &mut inner);
            } else {
                panels::histogram(self, &mut inner);
            }
        }
        self.probe = probe;
        self.commands.extend(commands);
    }
}
