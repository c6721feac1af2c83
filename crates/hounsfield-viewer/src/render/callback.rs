//! The 3D panel: an `egui_wgpu` paint callback that renders the ray-cast
//! projection or composite volume rendering ([`super::mip`],
//! [`super::transfer`]) or the isosurface meshes ([`super::mesh_pipeline`])
//! of the study into an egui rect, clipped to an optional box, with the
//! crosshair point as a small marker ([`super::marker`]). The only file
//! that imports `egui_wgpu` (and, besides `ui/`, egui).
//!
//! `prepare` uploads what changed (the volume once per volume, meshes once
//! per `Arc`), renders offscreen at the rect's pixel size into egui's
//! encoder (own depth buffer: egui's pass has none), and `paint` copies the
//! result onto the rect (`shaders/blit.wgsl`).
//!
//! Wiring: call [`install`] once with eframe's `RenderState`; draw with
//! [`show_3d`], which returns the changed [`View3d`] (orbit by dragging,
//! zoom with the wheel, double-click to reset) for the caller to apply.

use std::sync::Arc;

use eframe::egui_wgpu::{self, CallbackResources, CallbackTrait, ScreenDescriptor};

use super::RenderError;
use super::camera::OrbitCamera;
use super::gpu::{DEPTH_FORMAT, OFFSCREEN_FORMAT, begin_clear_pass, begin_overlay_pass};
use super::marker::crosshair_meshes;
use super::mesh_pipeline::{ClipBox, GpuMesh, MeshRenderer, MeshUniforms};
use super::mip::{MipParams, MipRenderer, VolumeTexture};
use super::transfer::TransferPreset;
use crate::mesh::Mesh;
use crate::project::ProjectionMode;
use crate::volume::Volume;

/// WGSL source of the copy onto the panel.
pub const SHADER: &str = include_str!("../../shaders/blit.wgsl");

/// Default surface colour (linear RGBA, bone).
pub const BONE_RGBA: [f32; 4] = [0.92, 0.86, 0.74, 1.0];

/// What the 3D panel shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Render3dMode {
    /// Ray-cast projection (MIP, AIP or `MinIP`).
    Projection(ProjectionMode),
    /// Composite volume rendering with a transfer-function preset.
    Composite(TransferPreset),
    /// The isosurface meshes.
    #[default]
    Surface,
}

/// State of the 3D panel (camera and rendering choices), owned by the UI.
#[derive(Clone, Debug, PartialEq)]
pub struct View3d {
    /// Orbit target (LPS mm), azimuth and elevation; `mm_per_px` and
    /// `size_px` are set per frame from [`Self::mm_per_point`] and the rect.
    pub camera: OrbitCamera,
    /// Zoom: mm per egui point.
    pub mm_per_point: f64,
    /// Projection or surface.
    pub mode: Render3dMode,
    /// Window centre and width (HU) of projections.
    pub window_hu: [f32; 2],
    /// Ray step (mm) of projections.
    pub step_mm: f64,
    /// Clipping box (LPS mm, min and max) applied to projections, composite
    /// renders and surfaces; `None`: no clipping.
    pub clip_box_mm: Option<ClipBox>,
    /// The crosshair point (LPS mm) shown as a small three-axis marker
    /// (depth-tested against surfaces, on top of projections); `None`: hidden.
    pub crosshair_mm: Option<[f64; 3]>,
}

impl View3d {
    /// The whole volume in a panel of `side_points` (the smaller side).
    pub fn framing(volume: &Volume, side_points: f32) -> Self {
        let camera = OrbitCamera::framing(&volume.geometry, [512, 512]);
        Self {
            mm_per_point: camera.mm_per_px * 512.0 / f64::from(side_points.max(16.0)),
            camera,
            mode: Render3dMode::Surface,
            window_hu: [400.0, 1800.0],
            step_mm: 1.0,
            clip_box_mm: None,
            crosshair_mm: None,
        }
    }
}

/// What one frame of the panel draws (the callback's data).
struct Scene3dCallback {
    /// Where `prepare` reports how the frame went, for the panel to show.
    status: PanelStatus,
    camera: OrbitCamera,
    mode: Render3dMode,
    params: MipParams,
    volume: Arc<Volume>,
    meshes: Vec<(Arc<Mesh>, [f32; 4])>,
    crosshair_mm: Option<[f64; 3]>,
}

/// GPU state of the panel, kept in `egui_wgpu`'s callback resources.
struct Scene3dResources {
    mip: MipRenderer,
    mesh: MeshRenderer,
    blit_pipeline: wgpu::RenderPipeline,
    blit_layout: wgpu::BindGroupLayout,
    blit_params: wgpu::Buffer,
    volume: Option<(crate::volume::VolumeId, VolumeTexture, wgpu::BindGroup)>,
    meshes: Vec<(Arc<Mesh>, GpuMesh)>,
    /// The crosshair marker of the current frame.
    marker: Vec<GpuMesh>,
    /// Offscreen colour (and its blit bind group) and depth, at one size.
    target: Option<(
        [u32; 2],
        wgpu::BindGroup,
        wgpu::TextureView,
        wgpu::TextureView,
    )>,
    /// Why the last frame could not be drawn.
    error: Option<RenderError>,
}

/// The last frame's render error of one panel, shared between the paint
/// callback (which writes it while preparing) and the panel's next frame
/// (which shows it), kept in egui's memory under the panel's id.
#[derive(Clone, Default)]
struct PanelStatus(Arc<std::sync::Mutex<Option<RenderError>>>);

/// Create the panel's pipelines in eframe's render state (once, at start).
pub fn install(render_state: &egui_wgpu::RenderState) {
    let device = &render_state.device;
    let blit_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("blit"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Texture {
                    sample_type: wgpu::TextureSampleType::Float { filterable: false },
                    view_dimension: wgpu::TextureViewDimension::D2,
                    multisampled: false,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
        ],
    });
    let blit_pipeline = blit_pipeline(device, &blit_layout, render_state.target_format);
    let srgb = u32::from(render_state.target_format.is_srgb());
    let blit_params = wgpu::util::DeviceExt::create_buffer_init(
        device,
        &wgpu::util::BufferInitDescriptor {
            label: Some("blit params"),
            contents: bytemuck::cast_slice(&[srgb, 0, 0, 0]),
            usage: wgpu::BufferUsages::UNIFORM,
        },
    );
    let resources = Scene3dResources {
        mip: MipRenderer::new(device, OFFSCREEN_FORMAT),
        mesh: MeshRenderer::new(device, OFFSCREEN_FORMAT),
        blit_pipeline,
        blit_layout,
        blit_params,
        volume: None,
        meshes: Vec::new(),
        marker: Vec::new(),
        target: None,
        error: None,
    };
    render_state
        .renderer
        .write()
        .callback_resources
        .insert(resources);
}

fn blit_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("blit.wgsl"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    super::gpu::fullscreen_pipeline(device, "blit", layout, &module, format)
}

/// The last error of the panel (e.g. a volume too large for the device's
/// 3D textures), if the last frame failed.
pub fn last_error(render_state: &egui_wgpu::RenderState) -> Option<RenderError> {
    let renderer = render_state.renderer.read();
    let res: &Scene3dResources = renderer.callback_resources.get()?;
    res.error.clone()
}

/// Draw the 3D panel of `volume` (projection) or `meshes` (surface, each
/// with a linear RGBA colour) into the available space, with the last
/// frame's render error if it failed. Returns the panel's response: what
/// the pointer does with it (orbit, pan, zoom) is the viewer's business
/// (`ui::view3d`).
pub fn show_3d(
    ui: &mut egui::Ui,
    view: &View3d,
    volume: &Arc<Volume>,
    meshes: &[(Arc<Mesh>, [f32; 4])],
) -> egui::Response {
    let (rect, response) =
        ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
    let ppp = f64::from(ui.ctx().pixels_per_point());
    let size_px = [
        (f64::from(rect.width()) * ppp).round().max(1.0) as u32,
        (f64::from(rect.height()) * ppp).round().max(1.0) as u32,
    ];
    let mut camera = view.camera;
    camera.size_px = size_px;
    camera.mm_per_px = view.mm_per_point / ppp;
    let status: PanelStatus = ui.data_mut(|d| {
        d.get_temp_mut_or_default::<PanelStatus>(response.id)
            .clone()
    });
    let last_error = status.0.lock().ok().and_then(|e| e.clone());
    let callback = Scene3dCallback {
        status,
        camera,
        mode: view.mode,
        params: MipParams {
            mode: match view.mode {
                Render3dMode::Projection(m) => m,
                Render3dMode::Surface | Render3dMode::Composite(_) => ProjectionMode::Max,
            },
            step_mm: view.step_mm,
            window_centre_hu: view.window_hu[0],
            window_width_hu: view.window_hu[1],
            composite: match view.mode {
                Render3dMode::Composite(p) => Some(p),
                _ => None,
            },
            clip_box_mm: view.clip_box_mm,
            outside_hu: None,
        },
        volume: Arc::clone(volume),
        meshes: meshes.to_vec(),
        crosshair_mm: view.crosshair_mm,
    };
    ui.painter()
        .add(egui_wgpu::Callback::new_paint_callback(rect, callback));
    // Every render failure appears in the panel (the last frame's: the
    // callback runs after this frame's layout).
    if let Some(e) = last_error {
        let colour = egui::Color32::from_rgb(255, 110, 110);
        let galley = ui.painter().layout(
            format!("3D view failed: {}", crate::jobs::error_chain(&e)),
            egui::FontId::proportional(14.0),
            colour,
            (rect.width() - 16.0).max(32.0),
        );
        let at = rect.center() - galley.size() / 2.0;
        ui.painter().galley(at, galley, colour);
    }
    response
}

impl Scene3dResources {
    /// Upload what changed and record the offscreen render into `encoder`.
    fn render(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        frame: &Scene3dCallback,
    ) -> Result<(), RenderError> {
        self.ensure_target(device, frame.camera.size_px);
        let Some((_, _, colour, depth)) = &self.target else {
            return Err(RenderError::NoTarget);
        };
        self.marker.clear();
        if let Some(p) = frame.crosshair_mm {
            for (m, c) in crosshair_meshes(glam::DVec3::from_array(p), &frame.camera) {
                let g = self.mesh.upload(device, &m, c);
                let u = MeshUniforms::new(&frame.camera, c).unlit();
                self.mesh.prepare_with(queue, &g, &u);
                self.marker.push(g);
            }
        }
        match frame.mode {
            Render3dMode::Projection(_) | Render3dMode::Composite(_) => {
                // Keyed by the volume's id: the texture is uploaded once per
                // volume, and holds no reference to the voxels on the CPU.
                let stale = self
                    .volume
                    .as_ref()
                    .is_none_or(|(id, _, _)| *id != frame.volume.id);
                if stale {
                    self.volume = None;
                    let tex = VolumeTexture::upload(device, queue, &frame.volume)?;
                    let bind_group = self.mip.bind_group(device, &tex);
                    self.volume = Some((frame.volume.id, tex, bind_group));
                }
                let Some((_, tex, bind_group)) = &self.volume else {
                    return Err(RenderError::NoVolume);
                };
                self.mip.prepare(queue, tex, &frame.camera, &frame.params)?;
                {
                    let mut pass = begin_clear_pass(encoder, colour, None);
                    self.mip.draw(&mut pass, bind_group);
                }
                if !self.marker.is_empty() {
                    let mut pass = begin_overlay_pass(encoder, colour, depth);
                    for m in &self.marker {
                        self.mesh.draw(&mut pass, m);
                    }
                }
            }
            Render3dMode::Surface => {
                frame.camera.validate()?;
                let same = self.meshes.len() == frame.meshes.len()
                    && self
                        .meshes
                        .iter()
                        .zip(&frame.meshes)
                        .all(|((a, g), (b, c))| {
                            Arc::ptr_eq(a, b) && g.colour.map(f32::to_bits) == c.map(f32::to_bits)
                        });
                if !same {
                    self.meshes = frame
                        .meshes
                        .iter()
                        .map(|(m, c)| (Arc::clone(m), self.mesh.upload(device, m, *c)))
                        .collect();
                }
                for (_, m) in &self.meshes {
                    let u = MeshUniforms::new(&frame.camera, m.colour)
                        .clipped(frame.params.clip_box_mm);
                    self.mesh.prepare_with(queue, m, &u);
                }
                let mut pass = begin_clear_pass(encoder, colour, Some(depth));
                for (_, m) in &self.meshes {
                    self.mesh.draw(&mut pass, m);
                }
                for m in &self.marker {
                    self.mesh.draw(&mut pass, m);
                }
            }
        }
        Ok(())
    }

    /// (Re)create the offscreen colour and depth textures at `size_px`.
    fn ensure_target(&mut self, device: &wgpu::Device, size_px: [u32; 2]) {
        if self.target.as_ref().is_some_and(|t| t.0 == size_px) {
            return;
        }
        let limit = device.limits().max_texture_dimension_2d;
        let [w, h] = size_px.map(|s| s.clamp(1, limit));
        let texture = |format, usage| {
            device
                .create_texture(&wgpu::TextureDescriptor {
                    label: Some("3d panel"),
                    size: wgpu::Extent3d {
                        width: w,
                        height: h,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format,
                    usage,
                    view_formats: &[],
                })
                .create_view(&wgpu::TextureViewDescriptor::default())
        };
        let colour = texture(
            OFFSCREEN_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
        );
        let depth = texture(DEPTH_FORMAT, wgpu::TextureUsages::RENDER_ATTACHMENT);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("blit"),
            layout: &self.blit_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&colour),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: self.blit_params.as_entire_binding(),
                },
            ],
        });
        self.target = Some((size_px, bind_group, colour, depth));
    }
}

impl CallbackTrait for Scene3dCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen_descriptor: &ScreenDescriptor,
        egui_encoder: &mut wgpu::CommandEncoder,
        callback_resources: &mut CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(res) = callback_resources.get_mut::<Scene3dResources>() {
            let before = res.error.as_ref().map(ToString::to_string);
            res.error = res.render(device, queue, egui_encoder, self).err();
            if let Some(e) = &res.error
                && before != Some(e.to_string())
            {
                tracing::warn!("3D panel: {e}");
            }
            if let Ok(mut s) = self.status.0.lock() {
                s.clone_from(&res.error);
            }
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        callback_resources: &CallbackResources,
    ) {
        let Some(res) = callback_resources.get::<Scene3dResources>() else {
            return;
        };
        if res.error.is_some() {
            return;
        }
        if let Some((_, bind_group, _, _)) = &res.target {
            render_pass.set_pipeline(&res.blit_pipeline);
            render_pass.set_bind_group(0, bind_group, &[]);
            render_pass.draw(0..3, 0..1);
        }
    }
}
