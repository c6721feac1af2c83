//! The rotating MIP export from the viewer: a small window with the
//! parameters (angle step, size, window, overlays, PNG frames) that starts
//! the export as a background task with progress and cancel.

use std::path::PathBuf;
use std::sync::Arc;

use super::app::App;
use super::command::{Command, SaveTarget};
use super::context::ViewerContext;
use super::tasks::JobSlot;
use crate::project::fuse::{FuseParams, rotating_mip_fused};
use crate::project::rotate::RotatingMipParams;

/// Parameters of the rotating MIP export window.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // independent checkboxes of the window
pub struct GifSettings {
    /// Degrees between frames.
    pub step_deg: f64,
    /// Side of the square frames in pixels.
    pub size: usize,
    /// Use the viewer's window (else 150/900 HU).
    pub view_window: bool,
    /// Fuse the visible segments.
    pub overlays: bool,
    /// Also write the frames as PNG files (in `<name>_frames/`).
    pub png_frames: bool,
    /// Hundredths of a second per frame.
    pub delay_cs: u16,
    /// Label every frame with its rotation angle.
    pub labels: bool,
}

impl Default for GifSettings {
    fn default() -> Self {
        Self {
            step_deg: 10.0,
            size: 512,
            view_window: false,
            overlays: true,
            png_frames: false,
            delay_cs: 8,
            labels: false,
        }
    }
}

/// The rotating MIP export: its window, settings and job.
#[derive(Default)]
pub struct GifExport {
    /// The window is open.
    pub open: bool,
    /// Its settings.
    pub settings: GifSettings,
    /// The export running.
    pub job: JobSlot<String>,
}

impl App {
    /// Start writing the rotating MIP GIF of the current study to `path`.
    pub fn export_rotating_mip(&mut self, path: PathBuf) {
        let Some(s) = &self.study else { return };
        let g = self.exports.gif.settings.clone();
        let (centre_hu, width_hu) = if g.view_window {
            (self.state.window_centre_hu, self.state.window_width_hu)
        } else {
            (150.0, 900.0)
        };
        let params = RotatingMipParams {
            step_deg: g.step_deg,
            size: g.size,
            centre_hu,
            width_hu,
            ..RotatingMipParams::default()
        };
        let volume = Arc::clone(&s.volume);
        let seg = s
            .segmentation
            .clone()
            .filter(|_| g.overlays && self.state.show_labels);
        let fuse = FuseParams {
            opacity: self.state.overlay.default_opacity.clamp(0.0, 1.0),
            visible: self.state.overlay.visible.clone(),
        };
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let hide = self.hide_timings();
        let waker = self.waker();
        let r =
            self.exports
                .gif
                .job
                .start(format!("Rotating MIP to {name}"), waker, move |control| {
                    let t = std::time::Instant::now();
                    let progress = |done: usize, total: usize| control.set_progress(done, total);
                    let mut frames = rotating_mip_fused(
                        &volume,
                        seg.as_deref(),
                        &params,
                        &fuse,
                        Some(control.cancel_flag()),
                        Some(&progress),
                    )?;
                    if g.labels {
                        frames.label_angles(g.step_deg);
                    }
                    control.set_note("encoding");
                    let side = u16::try_from(frames.size)
                        .map_err(|_| "frames too large for a GIF".to_owned())?;
                    let overlay = frames.has_overlay().then(|| crate::export::gif::Overlay {
                        labels: &frames.labels,
                        colours: &frames.colours,
                        opacity: frames.opacity,
                    });
                    crate::export::gif::write_gif(
                        &path,
                        &frames.grey,
                        overlay.as_ref(),
                        side,
                        side,
                        g.delay_cs,
                    )?;
                    let mut note = String::new();
                    if g.png_frames {
                        let stem = path
                            .file_stem()
                            .map_or_else(|| "frames".into(), |s| s.to_string_lossy().into_owned());
                        let dir = path.with_file_name(format!("{stem}_frames"));
                        std::fs::create_dir_all(&dir)
                            .map_err(|e| format!("{}: {e}", dir.display()))?;
                        let n = crate::export::gif::write_png_frames_overlay(
                            &dir,
                            &frames.grey,
                            overlay.as_ref(),
                            u32::from(side),
                            u32::from(side),
                        )?
                        .len();
                        note = format!(" and {n} PNG frames in {}", dir.display());
                    }
                    Ok(format!(
                        "rotating MIP ({} frames{}) saved to {}{note}",
                        frames.grey.len(),
                        super::app::took(hide, t.elapsed().as_secs_f64()),
                        path.display()
                    ))
                });
        self.started(r);
    }
}

/// The export window (File ▸ Export rotating MIP GIF…).
pub fn window(gif: &mut GifExport, ctx: &ViewerContext, egui_ctx: &egui::Context) {
    let mut open = gif.open;
    egui::Window::new("Rotating MIP")
        .open(&mut open)
        .resizable(false)
        .show(egui_ctx, |ui| {
            let g = &mut gif.settings;
            let l = ui.label("degrees per frame");
            ui.add(egui::Slider::new(&mut g.step_deg, 1.0..=45.0).step_by(1.0))
                .labelled_by(l.id);
            let l = ui.label("size (px)");
            ui.add(egui::Slider::new(&mut g.size, 128..=1024).step_by(32.0))
                .labelled_by(l.id);
            let l = ui.label("frame time (1/100 s)");
            ui.add(egui::Slider::new(&mut g.delay_cs, 2..=50))
                .labelled_by(l.id);
            ui.checkbox(
                &mut g.view_window,
                "use the viewer's window (else 150/900 HU)",
            );
            ui.checkbox(&mut g.overlays, "fuse the visible segments");
            ui.checkbox(&mut g.png_frames, "also write PNG frames");
            ui.checkbox(&mut g.labels, "label frames with the angle");
            let frames = (360.0 / g.step_deg).round();
            ui.label(format!("{frames} frames about the superior–inferior axis"));
            if ui
                .add_enabled(
                    !gif.job.is_busy() && ctx.study.is_some(),
                    egui::Button::new("Export GIF…"),
                )
                .clicked()
            {
                ctx.send(Command::Ask(SaveTarget::RotatingMip));
            }
        });
    gif.open = open;
}
