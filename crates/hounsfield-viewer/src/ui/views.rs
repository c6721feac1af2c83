//! One MPR view: reslice (cached) → texture → drawn in physical aspect with
//! crosshair, orientation letters and labels; pointer and wheel input turned
//! into [`Command`]s. Radiological convention comes from `mpr::SlicePlane`.
//! Projections of the volume and of the labels are computed in a keyed
//! background cache ([`super::background::Keyed`]), never while drawing: the
//! last finished image stays on screen until the new one is ready.

use egui::{Color32, ColorImage, Pos2, Rect, Sense, TextureHandle, TextureOptions, Vec2};
use glam::DVec3;

use super::background::Keyed;
use super::command::Command;
use super::context::ViewerContext;
use super::editing::EditCommand;
use super::state::{ViewerState, view_index};
use crate::mpr::{self, SlicePlane, ViewAxis};
use crate::study::Study;
use crate::volume::resample::Interpolation;

/// What a view's texture was made from (re-slice only when it changes).
#[derive(Clone, Copy, Debug, PartialEq)]
struct ViewKey {
    volume: u64,
    origin_bits: [u64; 3],
    window: [u32; 2],
    linear: bool,
}

/// What a projection image was computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ProjectionKey {
    volume: u64,
    mode: super::state::ViewMode,
    slab_bits: u32,
    /// The crosshair along the view axis (only matters for slabs).
    centre_bits: u64,
}

impl ProjectionKey {
    /// The slab this projection is computed over (`None`: the whole
    /// volume). Derived from the key, so that an image and its labels are
    /// always computed over the same slab, whatever the crosshair did since.
    fn slab(&self, axis: ViewAxis) -> Option<crate::project::Slab> {
        let thickness_mm = f32::from_bits(self.slab_bits);
        (thickness_mm > 0.0).then(|| crate::project::Slab {
            // Only the coordinate along the scroll direction matters.
            centre_mm: axis.scroll_dir() * f64::from_bits(self.centre_bits),
            thickness_mm: f64::from(thickness_mm),
        })
    }
}

/// Per-view cache: the resliced texture and its plane.
/// The views feature: the three MPR views' caches, where they were drawn,
/// and the HU under the pointer.
pub struct Views {
    /// Axial, coronal, sagittal.
    pub(crate) caches: [ViewCache; 3],
    /// Screen rectangle of each view in the last frame.
    pub(crate) rects: [Rect; 3],
    /// HU under the pointer.
    pub probe: Option<Probe>,
}

impl Default for Views {
    fn default() -> Self {
        Self {
            caches: Default::default(),
            rects: [Rect::NOTHING; 3],
            probe: None,
        }
    }
}

/// The central area: the three views and, in the fourth cell, the 3D panel
/// or the histogram (one view alone when maximised).
pub fn draw_views(
    views: &mut Views,
    scene: &mut super::view3d::Scene3d,
    ctx: &super::context::ViewerContext,
    ui: &mut egui::Ui,
) {
    let Some(study) = ctx.study else {
        return;
    };
    let state = ctx.state;
    let rect = ui.available_rect_before_wrap();
    let gap = 2.0;
    let half = egui::vec2((rect.width() - gap) / 2.0, (rect.height() - gap) / 2.0);
    let cells = [
        Rect::from_min_size(rect.min, half),
        Rect::from_min_size(rect.min + egui::vec2(half.x + gap, 0.0), half),
        Rect::from_min_size(rect.min + egui::vec2(0.0, half.y + gap), half),
        Rect::from_min_size(rect.min + half + egui::vec2(gap, gap), half),
    ];
    let mut probe = None;
    let mut commands = Vec::new();
    for (k, axis) in super::state::AXES.into_iter().enumerate() {
        let r = match state.maximized {
            Some(m) if m == axis => rect,
            Some(_) => continue,
            None => cells[k],
        };
        views.rects[k] = r;
        let p = show(ui, r, axis, ctx, study, &mut views.caches[k], &mut commands);
        if p.is_some() {
            probe = p;
            if state.active != axis {
                ctx.display(super::command::DisplayEdit::Active(axis));
            }
        }
    }
    if state.maximized.is_none() {
        let mut inner = ui.new_child(egui::UiBuilder::new().max_rect(cells[3].shrink(6.0)));
        if scene.shown {
            super::view3d::cell(scene, ctx, &mut inner);
        } else {
            super::panels::histogram(ctx, &mut inner);
        }
    }
    views.probe = probe;
    // A stroke ends when the button is up, wherever the pointer went.
    if ctx.edit.stroking && !ui.input(|i| i.pointer.primary_down()) {
        commands.push(Command::Edit(EditCommand::EndStroke));
    }
    for c in commands {
        ctx.send(c);
    }
}

#[derive(Default)]
pub struct ViewCache {
    projection: Keyed<ProjectionKey, crate::mpr::Image2>,
    /// The labels' projection: the overlay fingerprint and the projection
    /// it goes with.
    label_projection: Keyed<(u64, ProjectionKey), crate::mpr::labels::LabelImage>,
    /// The projection on screen (`None` in slice mode).
    shown_projection: Option<ProjectionKey>,
    key: Option<ViewKey>,
    texture: Option<TextureHandle>,
    labels_key: Option<ViewKey>,
    labels: Option<TextureHandle>,
    /// An effect's preview outline: what it was made from, and the texture.
    preview_key: Option<(usize, [u64; 3])>,
    preview: Option<TextureHandle>,
    buf: Vec<u8>,
    /// The plane last drawn.
    pub plane: Option<SlicePlane>,
    /// The windowed grey image last drawn (for "save view").
    pub last_gray: Option<(usize, usize, Vec<u8>)>,
}

/// The HU under the pointer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    /// LPS position in mm.
    pub point_mm: DVec3,
    /// Voxel index `[z, row, col]`.
    pub index: [usize; 3],
    /// HU value.
    pub hu: f32,
}

/// Colour of each view's crosshair line (drawn in the other views).
pub fn axis_colour(axis: ViewAxis) -> Color32 {
    match axis {
        ViewAxis::Axial => Color32::from_rgb(80, 160, 255),
        ViewAxis::Coronal => Color32::from_rgb(90, 220, 120),
        ViewAxis::Sagittal => Color32::from_rgb(255, 170, 60),
    }
}

/// Screen placement of a plane's image inside `rect`.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// The image's screen rectangle.
    pub image: Rect,
    /// Screen points per mm.
    pub points_per_mm: f32,
}

impl Placement {
    /// Fit `plane` into `rect` with the view's zoom and pan, physical aspect.
    pub fn new(plane: &SlicePlane, rect: Rect, zoom: f32, pan: Vec2) -> Self {
        let [w_mm, h_mm] = plane.extent_mm();
        let (w_mm, h_mm) = (w_mm.max(1e-3) as f32, h_mm.max(1e-3) as f32);
        let points_per_mm = (rect.width() / w_mm).min(rect.height() / h_mm) * zoom;
        let size = Vec2::new(w_mm * points_per_mm, h_mm * points_per_mm);
        Self {
            image: Rect::from_center_size(rect.center() + pan, size),
            points_per_mm,
        }
    }

    /// Screen position of continuous pixel coordinates (pixel centres at
    /// integer coordinates).
    pub fn screen_of_pixel(&self, plane: &SlicePlane, px: f64, py: f64) -> Pos2 {
        let sx = (px + 0.5) * plane.pixel_mm[0] * f64::from(self.points_per_mm);
        let sy = (py + 0.5) * plane.pixel_mm[1] * f64::from(self.points_per_mm);
        self.image.min + Vec2::new(sx as f32, sy as f32)
    }

    /// Continuous pixel coordinates of a screen position.
    pub fn pixel_of_screen(&self, plane: &SlicePlane, pos: Pos2) -> (f64, f64) {
        let d = pos - self.image.min;
        let ppm = f64::from(self.points_per_mm);
        (
            f64::from(d.x) / (plane.pixel_mm[0] * ppm) - 0.5,
            f64::from(d.y) / (plane.pixel_mm[1] * ppm) - 0.5,
        )
    }
}

/// Puts `image` into a view's texture slot (created on first use).
fn upload(ui: &egui::Ui, slot: &mut Option<TextureHandle>, name: &str, image: ColorImage) {
    match slot {
        Some(t) => t.set(image, TextureOptions::NEAREST),
        None => *slot = Some(ui.ctx().load_texture(name, image, TextureOptions::NEAREST)),
    }
}

/// Update the view's texture(s) if what they show changed.
fn refresh(
    ui: &egui::Ui,
    axis: ViewAxis,
    study: &Study,
    ctx: &ViewerContext,
    plane: &SlicePlane,
    cache: &mut ViewCache,
) {
    let state = ctx.state;
    let linear = state.interpolation == Interpolation::Linear;
    let mode = state.views[view_index(axis)].mode;
    // The projection on screen: the wanted one once ready, the last one
    // until then (computed in the background).
    let available = mode.projection().and_then(|projection| {
        ensure_projection(ui.ctx(), study, state, axis, projection, mode, cache)
    });
    let origin_bits = match &available {
        None => plane.origin_mm.to_array().map(f64::to_bits),
        // A projection depends on the crosshair only through its slab.
        Some((k, _)) => [k.centre_bits, u64::from(k.slab_bits), k.mode as u64 + 1],
    };
    let fused = study
        .registered
        .as_deref()
        .filter(|_| state.fusion.visible && mode.projection().is_none());
    let key = ViewKey {
        volume: fusion_fingerprint(study, fused, state),
        origin_bits,
        window: [
            state.window_centre_hu.to_bits(),
            state.window_width_hu.to_bits(),
        ],
        linear,
    };
    if cache.key != Some(key) || cache.texture.is_none() {
        let [w, h] = if let Some((_, img)) = &available {
            cache.buf =
                crate::project::window_image_u8(img, state.window_centre_hu, state.window_width_hu);
            [img.width, img.height]
        } else if mode.projection().is_some() {
            // The first projection is on its way: an empty (black) view.
            let [w, h] = plane.size;
            cache.buf.clear();
            cache.buf.resize(w * h, 0);
            [w, h]
        } else {
            mpr::reslice_window_u8(
                &study.volume,
                plane,
                state.interpolation,
                state.window_centre_hu,
                state.window_width_hu,
                &mut cache.buf,
            );
            plane.size
        };
        let image = match fused {
            Some(r) => fused_image(r, plane, state, &cache.buf),
            None => ColorImage::from_gray([w, h], &cache.buf),
        };
        upload(ui, &mut cache.texture, &format!("view-{axis:?}"), image);
        cache.last_gray = Some((w, h, cache.buf.clone()));
        cache.key = Some(key);
    }
    cache.shown_projection = available.map(|(k, _)| k);
    refresh_labels(ui, axis, study, ctx, plane, cache, key);
}

/// The texture key's volume part: the study's volume, and with a fusion
/// the moving volume and the fusion style.
fn fusion_fingerprint(
    study: &Study,
    fused: Option<&crate::study::Registered>,
    state: &ViewerState,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(r) = fused else {
        return study.volume.id.0;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    study.volume.id.0.hash(&mut h);
    r.moved.id.0.hash(&mut h);
    state.fusion.mode.hash(&mut h);
    state.fusion.blend.to_bits().hash(&mut h);
    state.fusion.checker_px.hash(&mut h);
    h.finish()
}

/// The fixed slice (`fixed_grey`) fused with the same slice of the
/// registered moving series, both in the viewer's window.
fn fused_image(
    r: &crate::study::Registered,
    plane: &SlicePlane,
    state: &ViewerState,
    fixed_grey: &[u8],
) -> ColorImage {
    let [w, h] = plane.size;
    let mut moving = Vec::new();
    mpr::reslice_window_u8(
        &r.moved,
        plane,
        state.interpolation,
        state.window_centre_hu,
        state.window_width_hu,
        &mut moving,
    );
    match mpr::fusion::fuse_rgba(fixed_grey, &moving, w, h, &state.fusion) {
        Some(rgba) => ColorImage::from_rgba_unmultiplied([w, h], &rgba),
        None => ColorImage::from_gray([w, h], fixed_grey),
    }
}

/// A cheap fingerprint of the overlay inputs (segmentation identity, its
/// edit revision, and style).
fn overlay_fingerprint(
    seg: &std::sync::Arc<crate::seg::Segmentation>,
    revision: u64,
    state: &ViewerState,
) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (std::sync::Arc::as_ptr(seg) as usize).hash(&mut h);
    revision.hash(&mut h);
    state.overlay.visible.hash(&mut h);
    for o in &state.overlay.opacity {
        o.to_bits().hash(&mut h);
    }
    state.overlay.default_opacity.to_bits().hash(&mut h);
    state.overlay.outline.hash(&mut h);
    h.finish()
}

/// The segmentation overlay texture of a slice view.
fn refresh_labels(
    ui: &egui::Ui,
    axis: ViewAxis,
    study: &Study,
    ctx: &ViewerContext,
    plane: &SlicePlane,
    cache: &mut ViewCache,
    key: ViewKey,
) {
    let state = ctx.state;
    let projected = cache.shown_projection;
    let Some(seg) = study.segmentation.as_ref().filter(|_| state.show_labels) else {
        return;
    };
    let fingerprint = overlay_fingerprint(seg, ctx.edit.revision, state);
    // Fused with the projection: the top segment along each ray, for the
    // projection on screen, computed in the background.
    let label_projection = projected.and_then(|pkey| {
        let seg = std::sync::Arc::clone(seg);
        let visible = state.overlay.visible.clone();
        let slab = pkey.slab(axis);
        let ctx = ui.ctx().clone();
        cache
            .label_projection
            .get(
                &(fingerprint, pkey),
                move || ctx.request_repaint(),
                move || crate::project::fuse::project_labels(&seg, axis, slab.as_ref(), &visible),
            )
            .map(|(k, img)| (*k, std::sync::Arc::clone(img)))
    });
    if projected.is_some() && label_projection.is_none() {
        return; // the first label projection is on its way
    }
    let lkey = ViewKey {
        volume: label_projection
            .as_ref()
            .map_or(fingerprint, |((f, _), _)| *f),
        window: [0, 0],
        linear: false,
        ..key
    };
    if cache.labels_key != Some(lkey) || cache.labels.is_none() {
        let img = match &label_projection {
            Some((_, img)) => std::sync::Arc::clone(img),
            None => std::sync::Arc::new(mpr::labels::reslice_segments(seg, plane, &state.overlay)),
        };
        let rgba = mpr::labels::overlay_rgba(seg, &img, &state.overlay);
        let image = ColorImage::from_rgba_unmultiplied([img.width, img.height], &rgba);
        upload(ui, &mut cache.labels, &format!("labels-{axis:?}"), image);
        cache.labels_key = Some(lkey);
    }
}

/// The outline of an effect's preview on this view's slice (re-sliced
/// when the preview or the plane changes).
fn preview_texture<'c>(
    ui: &egui::Ui,
    axis: ViewAxis,
    ctx: &ViewerContext,
    plane: &SlicePlane,
    cache: &'c mut ViewCache,
) -> Option<&'c TextureHandle> {
    let Some(seg) = ctx.preview else {
        cache.preview_key = None;
        return None;
    };
    let key = (
        std::sync::Arc::as_ptr(seg) as usize,
        plane.origin_mm.to_array().map(f64::to_bits),
    );
    if cache.preview_key != Some(key) || cache.preview.is_none() {
        let style = mpr::labels::OverlayStyle {
            outline: true,
            ..Default::default()
        };
        let img = mpr::labels::reslice_segments(seg, plane, &style);
        let rgba = mpr::labels::overlay_rgba(seg, &img, &style);
        let image = ColorImage::from_rgba_unmultiplied([img.width, img.height], &rgba);
        upload(ui, &mut cache.preview, &format!("preview-{axis:?}"), image);
        cache.preview_key = Some(key);
    }
    cache.preview.as_ref()
}

/// The view's projection on screen (see [`Keyed::get`]); a new one is
/// computed in the background when volume, mode or slab changed.
fn ensure_projection(
    ctx: &egui::Context,
    study: &Study,
    state: &ViewerState,
    axis: ViewAxis,
    projection: crate::project::ProjectionMode,
    mode: super::state::ViewMode,
    cache: &mut ViewCache,
) -> Option<(ProjectionKey, std::sync::Arc<crate::mpr::Image2>)> {
    let centre = if state.slab_mm > 0.0 {
        state.crosshair_mm.dot(axis.scroll_dir())
    } else {
        0.0
    };
    let pkey = ProjectionKey {
        volume: study.volume.id.0,
        mode,
        slab_bits: state.slab_mm.to_bits(),
        centre_bits: centre.to_bits(),
    };
    let slab = pkey.slab(axis);
    let volume = std::sync::Arc::clone(&study.volume);
    let ctx = ctx.clone();
    cache
        .projection
        .get(
            &pkey,
            move || ctx.request_repaint(),
            move || crate::project::project(&volume, axis, projection, slab.as_ref()),
        )
        .map(|(k, img)| (*k, std::sync::Arc::clone(img)))
}

impl ViewCache {
    /// True while a projection for this view is being computed.
    pub fn is_pending(&self) -> bool {
        self.projection.is_pending() || self.label_projection.is_pending()
    }
}

/// Draw one view into `rect` and turn input into commands; returns the HU
/// probe when the pointer is over the image.
pub fn show(
    ui: &mut egui::Ui,
    rect: Rect,
    axis: ViewAxis,
    ctx: &ViewerContext,
    study: &Study,
    cache: &mut ViewCache,
    commands: &mut Vec<Command>,
) -> Option<Probe> {
    let state = ctx.state;
    let plane = SlicePlane::through(&study.volume.geometry, axis, state.crosshair_mm);
    refresh(ui, axis, study, ctx, &plane, cache);
    let vs = state.views[view_index(axis)];
    let place = Placement::new(&plane, rect, vs.zoom, vs.pan);
    let response = ui.interact(
        rect,
        ui.scope_id().with(("mpr-view", axis.name())),
        Sense::click_and_drag(),
    );
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::BLACK);
    let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    if let Some(t) = &cache.texture {
        painter.image(t.id(), place.image, uv, Color32::WHITE);
    }
    if state.show_labels
        && study.segmentation.is_some()
        && let Some(t) = &cache.labels
    {
        painter.image(t.id(), place.image, uv, Color32::WHITE);
    }
    if let Some(t) = preview_texture(ui, axis, ctx, &plane, cache) {
        painter.image(t.id(), place.image, uv, Color32::WHITE);
    }
    super::annotations::draw_annotations(&painter, rect, axis, study, state, &plane, &place);
    let tool = ctx.edit.settings.tool;
    if response.hovered() || response.dragged() {
        handle_input(ui, &response, axis, ctx, &plane, &place, commands);
        if tool.edits() {
            super::editing::view_input(ui, &response, axis, ctx, &plane, &place, commands);
        }
    }
    super::editing::brush_outline(&painter, &response, ctx, &place);
    cache.plane = Some(plane);
    let pos = response.hover_pos()?;
    if !place.image.contains(pos) {
        return None;
    }
    let (px, py) = place.pixel_of_screen(&plane, pos);
    probe_at(study, plane.world_of_pixel(px, py))
}

/// The HU value at a world point (nearest voxel), if inside the volume.
pub fn probe_at(study: &Study, point_mm: DVec3) -> Option<Probe> {
    let g = &study.volume.geometry;
    let v = g.voxel_of_world(point_mm).round();
    if v.min_element() < 0.0 {
        return None;
    }
    let (x, y, z) = (v.x as usize, v.y as usize, v.z as usize);
    let hu = study.volume.voxels.get_hu(z, y, x)?;
    Some(Probe {
        point_mm,
        index: [z, y, x],
        hu,
    })
}

fn handle_input(
    ui: &egui::Ui,
    response: &egui::Response,
    axis: ViewAxis,
    ctx: &ViewerContext,
    plane: &SlicePlane,
    place: &Placement,
    commands: &mut Vec<Command>,
) {
    let state = ctx.state;
    let navigate = !ctx.edit.settings.tool.edits();
    if navigate && response.double_clicked() {
        commands.push(Command::ToggleMaximize(axis));
    } else if navigate
        && (response.clicked() || response.dragged_by(egui::PointerButton::Primary))
        && let Some(pos) = response.interact_pointer_pos()
    {
        let (px, py) = place.pixel_of_screen(plane, pos);
        commands.push(Command::SetCrosshair(plane.world_of_pixel(px, py)));
    }
    if response.dragged_by(egui::PointerButton::Secondary) {
        let d = response.drag_delta();
        let w = (state.window_width_hu + d.x * 4.0).max(1.0);
        let c = state.window_centre_hu + d.y * 2.0;
        commands.push(Command::SetWindow(c, w));
    }
    if response.dragged_by(egui::PointerButton::Middle) {
        commands.push(Command::Pan(axis, response.drag_delta()));
    }
    if !response.hovered() {
        return;
    }
    let zoom = ui.input(egui::InputState::zoom_delta);
    if (zoom - 1.0).abs() > 1e-4 {
        commands.push(Command::Zoom(axis, zoom));
    }
    let steps: f32 = ui.input(|i| {
        i.events
            .iter()
            .filter_map(|e| match e {
                egui::Event::MouseWheel {
                    unit,
                    delta,
                    modifiers,
                    ..
                } if !modifiers.command && !modifiers.ctrl => Some(match unit {
                    egui::MouseWheelUnit::Line | egui::MouseWheelUnit::Page => delta.y.signum(),
                    egui::MouseWheelUnit::Point => delta.y / 40.0,
                }),
                _ => None,
            })
            .sum()
    });
    if steps.abs() >= 0.5 {
        commands.push(Command::ScrollSlice(axis, steps.round() as i32));
    }
}
