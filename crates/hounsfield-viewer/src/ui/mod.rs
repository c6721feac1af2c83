//! The desktop viewer (eframe/egui with the wgpu renderer). The only module,
//! with `render/` later, that imports egui/eframe. A thin layer: the study,
//! reslicing and jobs live in the library; this draws and turns input into
//! [`command::Command`]s.
//!
//! - [`app`]: the `eframe::App` — the model (study, scan, display state),
//!   one state per feature, the command handler.
//! - [`context`]: the read-only [`context::ViewerContext`] every feature
//!   draws from, and its command sender.
//! - [`tasks`]: job holders (one at a time, or many) each feature owns;
//!   `results` takes their typed results into the model.
//! - [`loading`]: scanning and loading in the background, the preview.
//! - [`exports`]: montage and file writes; the export windows' state.
//! - [`view3d`]: the 3D cell (GPU surfaces and ray-cast projections).
//! - [`views`]: one MPR view (texture, crosshair, letters, input).
//! - [`panels`]: menu, series browser, window/level, info, tags, histogram.
//! - [`analysis`]: lung segmentation as a task, metrics against a reference.
//! - [`animation`]: the rotating MIP export window and task.
//! - [`mesh_export`]: the surface (marching cubes) export window and task.
//! - [`seg_panel`]: segmentation section, its exports, the open job.
//! - [`state`], [`command`], [`picker`], [`recent`]: plain data around them.

pub mod analysis;
pub mod animation;
mod annotations;
pub mod app;
mod background;
mod browser;
pub mod command;
pub mod context;
pub mod editing;
pub mod exports;
pub(crate) mod loading;
pub mod mesh_export;
mod navigation;
pub mod panels;
pub mod picker;
pub mod plots;
pub mod recent;
pub mod registration;
mod results;
pub mod seg_panel;
pub mod state;
pub mod survey_panel;
pub(crate) mod tasks;
pub mod view3d;
pub mod views;

pub use app::{App, AppOptions};

/// Open the viewer window and run until it is closed.
pub fn run_app(options: AppOptions) -> Result<(), eframe::Error> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Hounsfield")
            .with_inner_size([1280.0, 860.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Hounsfield",
        native,
        Box::new(move |cc| {
            if let Some(rs) = cc.wgpu_render_state.as_ref() {
                crate::render::callback::install(rs);
            }
            Ok(Box::new(App::new(options, Box::new(picker::RfdPicker))))
        }),
    )
}
