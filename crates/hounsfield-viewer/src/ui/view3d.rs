//! The 3D cell (in place of the histogram): the bone surface (marching
//! cubes at a HU level, meshed in a background task) and the visible
//! segments' surfaces, or a ray-cast MIP / AIP / MinIP, drawn on the GPU by
//! `render::callback` (orbit: drag; zoom: wheel; reset: double click).

use std::sync::Arc;

use super::app::App;
use super::command::Command;
use super::context::ViewerContext;
use super::tasks::JobSlot;
use crate::mesh::{self, McControl, McParams, Mesh};
use crate::project::ProjectionMode;
use crate::render::callback::{BONE_RGBA, Render3dMode, View3d, show_3d};
use crate::render::transfer::TransferPreset;

/// Surfaces meshed for the 3D cell from the volume with this id.
pub struct Surfaces {
    /// `VolumeId` of the study they belong to.
    pub volume_id: u64,
    /// Meshes with linear RGBA colours.
    pub meshes: Vec<(Arc<Mesh>, [f32; 4])>,
}

/// The 3D feature: whether the cell is shown, its camera and surfaces, and
/// the meshing job.
pub struct Scene3d {
    /// The fourth cell shows the 3D panel (else the histogram).
    pub shown: bool,
    /// The meshing job.
    pub job: JobSlot<Surfaces>,
    /// Camera, mode, window (set on first show).
    pub view: Option<View3d>,
    /// Surfaces with their linear RGBA colours.
    pub meshes: Vec<(Arc<Mesh>, [f32; 4])>,
    /// Identity of the volume the meshes belong to.
    pub volume_id: Option<u64>,
    /// Level of the bone surface in HU.
    pub level_hu: f32,
    /// Cut away everything anterior to the crosshair.
    pub cut_at_crosshair: bool,
    /// A clipping box (LPS min, max in mm) edited in the cell.
    pub clip_box_mm: Option<([f64; 3], [f64; 3])>,
    /// Show the crosshair point.
    pub show_crosshair: bool,
}

impl Default for Scene3d {
    fn default() -> Self {
        Self {
            shown: false,
            job: JobSlot::default(),
            view: None,
            meshes: Vec::new(),
            volume_id: None,
            level_hu: 350.0,
            cut_at_crosshair: false,
            clip_box_mm: None,
            show_crosshair: true,
        }
    }
}

fn linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.040_45 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

impl App {
    /// Mesh the bone surface and the visible segments of the study (task).
    pub fn start_surfaces(&mut self) {
        let Some(s) = &self.study else { return };
        let volume = Arc::clone(&s.volume);
        let level = self.scene3d.level_hu;
        let segments: Vec<_> = s
            .segmentation
            .as_ref()
            .filter(|_| self.state.show_labels)
            .map(|seg| {
                seg.segments
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.state.overlay.is_visible(*i))
                    .map(|(_, x)| x.clone())
                    .collect()
            })
            .unwrap_or_default();
        let waker = self.waker();
        let r = self
            .scene3d
            .job
            .start("Meshing surfaces", waker, move |control| {
                let progress = |done: usize, total: usize| control.set_progress(done, total);
                let c = McControl {
                    progress: Some(&progress),
                    cancel: Some(control.cancel_flag()),
                };
                let bone = mesh::marching_cubes_with(
                    &volume,
                    &McParams {
                        level_hu: level,
                        step: 1,
                    },
                    &c,
                )?;
                let mut meshes = vec![(Arc::new(bone), BONE_RGBA)];
                for seg in &segments {
                    control.set_note(&seg.label);
                    let lm = mesh::LabelMesh::of_segment(seg, &volume.geometry, 1, true)?;
                    let [r, g, b] = lm.colour_rgb;
                    meshes.push((Arc::new(lm.mesh), [linear(r), linear(g), linear(b), 1.0]));
                }
                Ok(Surfaces {
                    volume_id: volume.id.0,
                    meshes,
                })
            });
        self.started(r);
    }
}

/// LPS box (min, max) of the voxel centres of a grid.
fn world_bounds(g: &crate::volume::Geometry) -> ([f64; 3], [f64; 3]) {
    let [nz, nr, nc] = g.dims;
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for corner in 0..8u8 {
        let pick = |bit: u8, n: usize| {
            if corner & bit == 0 {
                0.0
            } else {
                n.saturating_sub(1) as f64
            }
        };
        let w = g.world_of_voxel(glam::DVec3::new(pick(1, nc), pick(2, nr), pick(4, nz)));
        for (k, v) in w.to_array().into_iter().enumerate() {
            lo[k] = lo[k].min(v);
            hi[k] = hi[k].max(v);
        }
    }
    (lo, hi)
}

/// The clipping box: on/off and its six faces in LPS mm.
fn clip_box_row(scene: &mut Scene3d, ui: &mut egui::Ui, g: &crate::volume::Geometry) {
    ui.horizontal_wrapped(|ui| {
        let mut on = scene.clip_box_mm.is_some();
        if ui.checkbox(&mut on, "clip box (mm)").changed() {
            scene.clip_box_mm = on.then(|| world_bounds(g));
        }
        let Some((lo, hi)) = scene.clip_box_mm.as_mut() else {
            return;
        };
        for (k, axis) in ["x", "y", "z"].into_iter().enumerate() {
            let l = ui.label(axis);
            ui.add(egui::DragValue::new(&mut lo[k]).speed(1.0).max_decimals(0))
                .labelled_by(l.id)
                .on_hover_text(format!("{axis} from (LPS mm)"));
            ui.add(egui::DragValue::new(&mut hi[k]).speed(1.0).max_decimals(0))
                .labelled_by(l.id)
                .on_hover_text(format!("{axis} to (LPS mm)"));
            if lo[k] > hi[k] {
                std::mem::swap(&mut lo[k], &mut hi[k]);
            }
        }
    });
}

/// The 3D cell: mode selector, level, and the GPU panel.
pub fn cell(scene: &mut Scene3d, ctx: &ViewerContext, ui: &mut egui::Ui) {
    let Some(study) = ctx.study else {
        return;
    };
    let volume = Arc::clone(&study.volume);
    let side = ui.available_width().min(ui.available_height());
    let mut view = scene
        .view
        .clone()
        .unwrap_or_else(|| View3d::framing(&volume, side));
    let mut surfaces = false;
    ui.horizontal(|ui| {
        ui.label("3D");
        ui.selectable_value(&mut view.mode, Render3dMode::Surface, "surface");
        ui.selectable_value(
            &mut view.mode,
            Render3dMode::Projection(ProjectionMode::Max),
            "MIP",
        );
        ui.selectable_value(
            &mut view.mode,
            Render3dMode::Projection(ProjectionMode::Mean),
            "AIP",
        );
        for p in TransferPreset::ALL {
            ui.selectable_value(
                &mut view.mode,
                Render3dMode::Composite(p),
                format!("VR {}", p.label()),
            );
        }
    });
    let busy = scene.job.is_busy();
    ui.horizontal(|ui| {
        let l = ui.label("level");
        ui.add(
            egui::DragValue::new(&mut scene.level_hu)
                .range(-1000.0..=3000.0)
                .speed(5.0),
        )
        .labelled_by(l.id);
        surfaces = ui
            .add_enabled(!busy, egui::Button::new("Mesh"))
            .on_hover_text("bone at the level, plus the visible segments")
            .clicked();
        ui.checkbox(&mut scene.cut_at_crosshair, "cut at crosshair")
            .on_hover_text("remove everything anterior to the crosshair");
        ui.checkbox(&mut scene.show_crosshair, "crosshair");
        if ui.button("histogram").clicked() {
            ctx.send(Command::Toggle3d);
        }
    });
    clip_box_row(scene, ui, &volume.geometry);
    let c = ctx.state.crosshair_mm;
    view.crosshair_mm = scene.show_crosshair.then(|| c.to_array());
    view.clip_box_mm = if scene.cut_at_crosshair {
        let (lo, hi) = world_bounds(&volume.geometry);
        Some(([lo[0], c.y, lo[2]], hi))
    } else {
        scene.clip_box_mm
    };
    view.window_hu = [ctx.state.window_centre_hu, ctx.state.window_width_hu];
    let stale = scene.volume_id != Some(volume.id.0);
    if surfaces || (view.mode == Render3dMode::Surface && stale && !busy) {
        scene.meshes.clear();
        scene.volume_id = Some(volume.id.0);
        ctx.send(Command::MeshSurfaces);
    }
    let meshes = if stale {
        Vec::new()
    } else {
        scene.meshes.clone()
    };
    let response = show_3d(ui, &view, &volume, &meshes);
    if let Some(next) = orbit_input(ui, &response, &view, &volume) {
        view = next;
    }
    scene.view = Some(view);
}

/// Degrees of orbit per point dragged.
const ORBIT_DEG_PER_POINT: f64 = 0.5;
/// Zoom: the scale changes by `exp(-scroll × this)` per point scrolled.
const ZOOM_PER_SCROLL_POINT: f64 = 0.002;
/// The elevation stops short of the poles, where the orbit's up vector
/// degenerates.
const MAX_ELEVATION_DEG: f64 = 89.0;

/// What the pointer did to the 3D panel: a drag orbits, a right or middle
/// drag pans (the picture follows the pointer), the wheel zooms, a double
/// click frames the volume again. `None` when the view is unchanged.
fn orbit_input(
    ui: &egui::Ui,
    response: &egui::Response,
    view: &View3d,
    volume: &Arc<crate::volume::Volume>,
) -> Option<View3d> {
    let mut next = view.clone();
    let drag = response.drag_delta();
    let panning = response.dragged_by(egui::PointerButton::Secondary)
        || response.dragged_by(egui::PointerButton::Middle);
    if drag != egui::Vec2::ZERO && panning {
        // The picture follows the pointer: move the target the other way.
        let grid = view.camera.ray_grid();
        let (dx, dy) = (f64::from(drag.x), f64::from(drag.y));
        next.camera.target_mm =
            view.camera.target_mm - (grid.u_dir * dx + grid.v_dir * dy) * view.mm_per_point;
    } else if drag != egui::Vec2::ZERO {
        next.camera.azimuth_deg =
            (view.camera.azimuth_deg - f64::from(drag.x) * ORBIT_DEG_PER_POINT) % 360.0;
        next.camera.elevation_deg = (view.camera.elevation_deg
            + f64::from(drag.y) * ORBIT_DEG_PER_POINT)
            .clamp(-MAX_ELEVATION_DEG, MAX_ELEVATION_DEG);
    }
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            next.mm_per_point =
                view.mm_per_point * (-f64::from(scroll) * ZOOM_PER_SCROLL_POINT).exp();
        }
    }
    if response.double_clicked() {
        next = View3d {
            mode: view.mode,
            window_hu: view.window_hu,
            step_mm: view.step_mm,
            clip_box_mm: view.clip_box_mm,
            crosshair_mm: view.crosshair_mm,
            ..View3d::framing(volume, response.rect.width().min(response.rect.height()))
        };
    }
    (next != *view).then_some(next)
}
