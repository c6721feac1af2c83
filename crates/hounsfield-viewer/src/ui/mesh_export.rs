//! Surface export from the viewer: an isosurface at a HU level (bone at
//! 350 HU by default) or the surface of one segment, meshed by marching
//! cubes in a background task and written as STL, PLY (with the segment's
//! colour) or OBJ.

use std::path::PathBuf;
use std::sync::Arc;

use super::app::App;
use super::command::{Command, SaveTarget};
use super::context::ViewerContext;
use super::tasks::JobSlot;
use crate::mesh::{self, McControl, McParams};

/// Parameters of the surface export window.
#[derive(Clone, Debug, PartialEq)]
pub struct MeshSettings {
    /// Isosurface level in HU.
    pub level_hu: f32,
    /// Voxel stride.
    pub step: usize,
    /// Mesh this segment (index into the segmentation) instead of a HU level.
    pub segment: Option<usize>,
    /// Smooth a segment's mask before meshing.
    pub smooth: bool,
    /// File format: "stl", "ply" or "obj".
    pub format: &'static str,
}

impl Default for MeshSettings {
    fn default() -> Self {
        Self {
            level_hu: 350.0,
            step: 1,
            segment: None,
            smooth: true,
            format: "stl",
        }
    }
}

/// The surface export: its window, settings and job.
#[derive(Default)]
pub struct MeshExport {
    /// The window is open.
    pub open: bool,
    /// Its settings.
    pub settings: MeshSettings,
    /// The export running.
    pub job: JobSlot<String>,
}

impl App {
    /// Start meshing and writing the surface to `path` (background task).
    pub fn export_mesh(&mut self, path: PathBuf) {
        let Some(s) = &self.study else { return };
        let m = self.exports.mesh.settings.clone();
        let volume = Arc::clone(&s.volume);
        let segment = m.segment.and_then(|i| {
            s.segmentation
                .as_ref()
                .and_then(|seg| seg.segments.get(i).cloned())
        });
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let hide = self.hide_timings();
        let waker = self.waker();
        let r = self
            .exports
            .mesh
            .job
            .start(format!("Surface to {name}"), waker, move |control| {
                let t = std::time::Instant::now();
                let (surface, colour, what) = if let Some(seg) = &segment {
                    let lm = mesh::LabelMesh::of_segment(seg, &volume.geometry, m.step, m.smooth)?;
                    (
                        lm.mesh,
                        Some(lm.colour_rgb),
                        format!("segment {}", lm.label),
                    )
                } else {
                    let progress = |done: usize, total: usize| control.set_progress(done, total);
                    let c = McControl {
                        progress: Some(&progress),
                        cancel: Some(control.cancel_flag()),
                    };
                    let p = McParams {
                        level_hu: m.level_hu,
                        step: m.step,
                    };
                    let surface = mesh::marching_cubes_with(&volume, &p, &c)?;
                    (surface, None, format!("{} HU", m.level_hu))
                };
                if surface.is_empty() {
                    return Err(format!("the surface at {what} is empty").into());
                }
                control.set_note("writing");
                mesh::write::write_mesh(&path, &surface, colour)?;
                Ok(format!(
                    "surface at {what}: {} triangles, {:.0} ml{}, saved to {}",
                    surface.triangles.len(),
                    mesh::enclosed_volume_mm3(&surface) / 1000.0,
                    super::app::took(hide, t.elapsed().as_secs_f64()),
                    path.display()
                ))
            });
        self.started(r);
    }
}

/// The surface export window (File ▸ Export surface mesh…).
pub fn window(mesh: &mut MeshExport, ctx: &ViewerContext, egui_ctx: &egui::Context) {
    let mut open = mesh.open;
    let segments: Vec<String> = ctx
        .segmentation()
        .map(|seg| seg.segments.iter().map(|x| x.label.clone()).collect())
        .unwrap_or_default();
    egui::Window::new("Surface mesh")
        .open(&mut open)
        .resizable(false)
        .show(egui_ctx, |ui| {
            let m = &mut mesh.settings;
            if m.segment.is_some_and(|i| i >= segments.len()) {
                m.segment = None;
            }
            ui.radio_value(&mut m.segment, None, "isosurface at a HU level");
            let l = ui.label("level (HU)");
            ui.add_enabled(
                m.segment.is_none(),
                egui::Slider::new(&mut m.level_hu, -1000.0..=2000.0).step_by(10.0),
            )
            .labelled_by(l.id);
            for (i, name) in segments.iter().enumerate() {
                ui.radio_value(&mut m.segment, Some(i), format!("segment: {name}"));
            }
            ui.add_enabled(
                m.segment.is_some(),
                egui::Checkbox::new(&mut m.smooth, "smooth the mask"),
            );
            let l = ui.label("step (voxels)");
            ui.add(egui::Slider::new(&mut m.step, 1..=4))
                .labelled_by(l.id);
            ui.horizontal(|ui| {
                for f in ["stl", "ply", "obj"] {
                    ui.radio_value(&mut m.format, f, f.to_uppercase());
                }
            });
            if ui
                .add_enabled(
                    !mesh.job.is_busy() && ctx.study.is_some(),
                    egui::Button::new("Export surface…"),
                )
                .clicked()
            {
                ctx.send(Command::Ask(SaveTarget::Mesh(m.format)));
            }
        });
    mesh.open = open;
}
