//! Ray-cast MIP / AIP / `MinIP` on the GPU: the HU volume as an `R32Float`
//! 3D texture, one full-screen triangle, and a fragment shader
//! (`shaders/mip.wgsl`) that marches each pixel's ray exactly as the CPU
//! reference [`crate::project::raycast::project_direction`] does (same
//! pixel grid, sample positions, trilinear samples and skipped outside
//! samples), then windows the result to grey.

use wgpu::util::DeviceExt;

use super::RenderError;
use super::camera::{OrbitCamera, bounding_radius_mm};
use super::gpu::{Gpu, OFFSCREEN_FORMAT};
use super::transfer::{MAX_POINTS, REFERENCE_STEP_MM, TransferPreset};
use crate::project::ProjectionMode;
use crate::volume::{Geometry, Volume, Voxels};

/// WGSL source of the pipeline.
pub const SHADER: &str = include_str!("../../shaders/mip.wgsl");
/// Most samples along one ray.
const MAX_HALF_COUNT: f64 = 1e5;

/// Parameters of a projection render.
#[derive(Clone, Debug, PartialEq)]
pub struct MipParams {
    /// How the samples of a ray are combined.
    pub mode: ProjectionMode,
    /// Distance between samples along a ray, mm.
    pub step_mm: f64,
    /// Window centre, HU.
    pub window_centre_hu: f32,
    /// Window width, HU (> 0).
    pub window_width_hu: f32,
    /// Composite volume rendering with this transfer function instead of
    /// the projection `mode` (the window is then unused).
    pub composite: Option<TransferPreset>,
    /// Clipping box (LPS mm, min and max): samples outside are skipped.
    pub clip_box_mm: Option<([f64; 3], [f64; 3])>,
    /// Value of samples outside the volume for MIP / `MinIP` (HU), or `None`
    /// to skip them (a ray missing the volume is black).
    pub outside_hu: Option<f32>,
}

impl Default for MipParams {
    /// MIP, 0.5 mm steps, bone-ish window (centre 400 HU, width 1800 HU).
    fn default() -> Self {
        Self {
            mode: ProjectionMode::Max,
            step_mm: 0.5,
            window_centre_hu: 400.0,
            window_width_hu: 1800.0,
            composite: None,
            clip_box_mm: None,
            outside_hu: None,
        }
    }
}

/// The uniform block `MipParams` of `mip.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MipUniforms {
    /// Voxel position of the centre of pixel (0, 0).
    pub origin_vox: [f32; 4],
    /// Voxel step per pixel along image x.
    pub du_vox: [f32; 4],
    /// Voxel step per pixel along image y.
    pub dv_vox: [f32; 4],
    /// Voxel step between samples.
    pub step_vox: [f32; 4],
    /// Columns, rows, slices, half the sample count.
    pub dims: [u32; 4],
    /// Window low HU, window width HU, image width and height px.
    pub window: [f32; 4],
    /// Mode (0 max, 1 mean, 2 min, 3 composite), transfer point count,
    /// padding.
    pub mode: [u32; 4],
    /// Rows of the LPS-mm-from-voxel affine (w: translation).
    pub world_rows: [[f32; 4]; 3],
    /// Clipping box minimum (LPS mm).
    pub clip_min: [f32; 4],
    /// Clipping box maximum (LPS mm); w > 0 enables the box.
    pub clip_max: [f32; 4],
    /// Step / reference step, outside HU, outside enabled (1), padding.
    pub misc: [f32; 4],
    /// HU of the transfer function's points.
    pub tf_hu: [[f32; 4]; 2],
    /// Linear RGBA of the transfer function's points.
    pub tf_rgba: [[f32; 4]; MAX_POINTS],
}

const _: () = assert!(size_of::<MipUniforms>() == 368);

impl MipUniforms {
    /// The uniforms of a view of `geometry` through `camera`.
    pub fn new(
        geometry: &Geometry,
        camera: &OrbitCamera,
        params: &MipParams,
    ) -> Result<Self, RenderError> {
        camera.validate()?;
        if !(params.step_mm.is_finite() && params.step_mm > 0.0) {
            return Err(RenderError::BadParams(format!(
                "step must be positive, got {} mm",
                params.step_mm
            )));
        }
        if !(params.window_width_hu.is_finite() && params.window_width_hu > 0.0) {
            return Err(RenderError::BadParams(format!(
                "window width must be positive, got {} HU",
                params.window_width_hu
            )));
        }
        let grid = camera.ray_grid();
        let voxel_from_world = geometry.voxel_from_world();
        let m = voxel_from_world.matrix3;
        let half = bounding_radius_mm(geometry, grid.centre_mm) / params.step_mm;
        if half > MAX_HALF_COUNT {
            return Err(RenderError::BadParams(format!(
                "step {} mm gives more than {MAX_HALF_COUNT} samples per ray",
                params.step_mm
            )));
        }
        let v4 = |v: glam::DVec3| [v.x as f32, v.y as f32, v.z as f32, 0.0];
        let [w, h] = camera.size_px;
        let [nz, ny, nx] = geometry.dims;
        let world = geometry.world_from_voxel();
        let row = |r: usize| {
            let m = world.matrix3.transpose();
            let c = [m.x_axis, m.y_axis, m.z_axis][r];
            [
                c.x as f32,
                c.y as f32,
                c.z as f32,
                world.translation[r] as f32,
            ]
        };
        let (clip_min, clip_max) = match params.clip_box_mm {
            Some((lo, hi)) => {
                let ok = (0..3).all(|c| lo[c].is_finite() && hi[c].is_finite() && lo[c] <= hi[c]);
                if !ok {
                    return Err(RenderError::BadParams(format!(
                        "bad clipping box {lo:?} .. {hi:?}"
                    )));
                }
                let f = |v: [f64; 3], w: f32| [v[0] as f32, v[1] as f32, v[2] as f32, w];
                (f(lo, 0.0), f(hi, 1.0))
            }
            None => ([0.0; 4], [0.0; 4]),
        };
        let ramp = params.composite.unwrap_or_default().ramp();
        let mut tf_hu = [[0.0; 4]; 2];
        let mut tf_rgba = [[0.0; 4]; MAX_POINTS];
        for (i, p) in ramp.iter().take(MAX_POINTS).enumerate() {
            tf_hu[i / 4][i % 4] = p.hu;
            tf_rgba[i] = p.rgba;
        }
        let outside = params.outside_hu.filter(|o| o.is_finite());
        Ok(Self {
            origin_vox: v4(voxel_from_world.transform_point3(grid.world_of_pixel(0.0, 0.0))),
            du_vox: v4(m * (grid.u_dir * grid.mm_per_px)),
            dv_vox: v4(m * (grid.v_dir * grid.mm_per_px)),
            step_vox: v4(m * (grid.direction * params.step_mm)),
            dims: [nx as u32, ny as u32, nz as u32, half.floor() as u32],
            window: [
                params.window_centre_hu - params.window_width_hu / 2.0,
                params.window_width_hu,
                w as f32,
                h as f32,
            ],
            mode: [
                match (params.composite, params.mode) {
                    (Some(_), _) => 3,
                    (None, ProjectionMode::Max) => 0,
                    (None, ProjectionMode::Mean) => 1,
                    (None, ProjectionMode::Min) => 2,
                },
                ramp.len().min(MAX_POINTS) as u32,
                0,
                0,
            ],
            world_rows: [row(0), row(1), row(2)],
            clip_min,
            clip_max,
            misc: [
                (params.step_mm / REFERENCE_STEP_MM) as f32,
                outside.unwrap_or(0.0),
                if outside.is_some() { 1.0 } else { 0.0 },
                0.0,
            ],
            tf_hu,
            tf_rgba,
        })
    }
}

/// A HU volume on the GPU.
pub struct VolumeTexture {
    /// The `R32Float` 3D texture (x = column, y = row, z = slice).
    pub texture: wgpu::Texture,
    /// A view of it.
    pub view: wgpu::TextureView,
    /// The volume's geometry.
    pub geometry: Geometry,
}

impl VolumeTexture {
    /// Upload `volume` as HU floats.
    pub fn upload(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        volume: &Volume,
    ) -> Result<Self, RenderError> {
        let dims = volume.geometry.dims;
        let limit = device.limits().max_texture_dimension_3d;
        if dims.contains(&0) {
            return Err(RenderError::BadParams("the volume is empty".into()));
        }
        if dims.iter().any(|&d| d > limit as usize) {
            return Err(RenderError::TooLarge { dims, limit });
        }
        let hu: Vec<f32> = match &volume.voxels {
            Voxels::I16(a) => a.iter().map(|&v| f32::from(v)).collect(),
            Voxels::F32(a) => a.iter().copied().collect(),
        };
        let [nz, ny, nx] = dims;
        let texture = device.create_texture_with_data(
            queue,
            &wgpu::TextureDescriptor {
                label: Some("hu volume"),
                size: wgpu::Extent3d {
                    width: nx as u32,
                    height: ny as u32,
                    depth_or_array_layers: nz as u32,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D3,
                format: wgpu::TextureFormat::R32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            },
            wgpu::util::TextureDataOrder::LayerMajor,
            bytemuck::cast_slice(&hu),
        );
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Ok(Self {
            texture,
            view,
            geometry: volume.geometry,
        })
    }
}

/// The projection pipeline for one colour format.
pub struct MipRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniforms: wgpu::Buffer,
}

impl MipRenderer {
    /// Build the pipeline drawing into `format` targets (no depth).
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mip.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mip"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D3,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline = super::gpu::fullscreen_pipeline(device, "mip", &layout, &module, format);
        let uniforms = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mip uniforms"),
            contents: bytemuck::bytes_of(&MipUniforms::default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        Self {
            pipeline,
            layout,
            uniforms,
        }
    }

    /// A bind group of this renderer's uniforms and `volume`.
    pub fn bind_group(&self, device: &wgpu::Device, volume: &VolumeTexture) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mip"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.uniforms.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&volume.view),
                },
            ],
        })
    }

    /// Write the uniforms of a view (before the pass that draws it).
    pub fn prepare(
        &self,
        queue: &wgpu::Queue,
        volume: &VolumeTexture,
        camera: &OrbitCamera,
        params: &MipParams,
    ) -> Result<(), RenderError> {
        let u = MipUniforms::new(&volume.geometry, camera, params)?;
        queue.write_buffer(&self.uniforms, 0, bytemuck::bytes_of(&u));
        Ok(())
    }

    /// Draw the projection over the pass's viewport.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, bind_group: &wgpu::BindGroup) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
}

/// Render a projection of `volume` through `camera` offscreen: an RGBA image
/// of `camera.size_px` with equal grey channels (rays missing the volume are
/// black).
pub fn render_mip(
    gpu: &Gpu,
    volume: &VolumeTexture,
    camera: &OrbitCamera,
    params: &MipParams,
) -> Result<image::RgbaImage, RenderError> {
    let renderer = MipRenderer::new(&gpu.device, OFFSCREEN_FORMAT);
    renderer.prepare(&gpu.queue, volume, camera, params)?;
    let bind_group = renderer.bind_group(&gpu.device, volume);
    gpu.render_offscreen(camera.size_px, false, |pass| {
        renderer.draw(pass, &bind_group);
    })
}

/// The GPU path of [`crate::project::rotate::rotating_mip`]: the same frames
/// (`size × size` grey bytes, frame 0 anterior, one per `step_deg` turning
/// towards the patient's left, air outside the volume, windowed with
/// `centre_hu`/`width_hu`), ray cast with the orbit camera at elevation 0 and
/// azimuth = the frame angle, samples every half of the finest voxel spacing.
/// For axial slices (the usual case) each ray's MIP is taken within the two
/// slices nearest to its height and interpolated between them, as the CPU
/// shear-warp does; other volumes get a plain 3D trilinear MIP.
pub fn rotating_mip_gpu(
    gpu: &Gpu,
    volume: &Volume,
    p: &crate::project::rotate::RotatingMipParams,
) -> Result<Vec<Vec<u8>>, RenderError> {
    let bad = |m: String| Err(RenderError::BadParams(m));
    if !(p.step_deg.is_finite() && p.step_deg > 0.0 && p.step_deg <= 360.0) {
        return bad(format!(
            "step must be in (0, 360] degrees, got {}",
            p.step_deg
        ));
    }
    if p.size == 0 || p.size > 8192 || p.frame_count() > 3600 {
        return bad(format!(
            "size {} px or {} frames out of range",
            p.size,
            p.frame_count()
        ));
    }
    if !p.outside_hu.is_finite() {
        return bad(format!(
            "outside value must be finite, got {}",
            p.outside_hu
        ));
    }
    let spacing = volume.geometry.spacing_mm.abs().min_element();
    if !(spacing.is_finite() && spacing > 0.0) {
        return bad(format!(
            "bad voxel spacing {:?}",
            volume.geometry.spacing_mm
        ));
    }
    let tex = VolumeTexture::upload(&gpu.device, &gpu.queue, volume)?;
    let renderer = MipRenderer::new(&gpu.device, OFFSCREEN_FORMAT);
    let bind_group = renderer.bind_group(&gpu.device, &tex);
    let side = p.size as u32;
    // Axial slices: sample as the CPU does (the MIP within each slice,
    // interpolated between the two nearest slices); otherwise a 3D MIP.
    let d = volume.geometry.direction;
    let axial = d.x_axis.z.abs() < 1e-6 && d.y_axis.z.abs() < 1e-6 && d.z_axis.z.abs() > 1e-6;
    let params = MipParams {
        mode: ProjectionMode::Max,
        step_mm: spacing / 2.0,
        window_centre_hu: p.centre_hu,
        window_width_hu: p.width_hu,
        composite: None,
        clip_box_mm: None,
        outside_hu: Some(p.outside_hu),
    };
    (0..p.frame_count())
        .map(|f| {
            let camera = OrbitCamera {
                target_mm: volume.geometry.centre_mm(),
                azimuth_deg: p.angle_deg(f),
                elevation_deg: 0.0,
                mm_per_px: crate::project::rotate::mm_per_px(&volume.geometry, p.size),
                size_px: [side, side],
                depth_radius_mm: 1.0,
            };
            let mut u = MipUniforms::new(&tex.geometry, &camera, &params)?;
            if axial {
                u.mode[0] = 4;
            }
            gpu.queue
                .write_buffer(&renderer.uniforms, 0, bytemuck::bytes_of(&u));
            let img = gpu.render_offscreen(camera.size_px, false, |pass| {
                renderer.draw(pass, &bind_group);
            })?;
            Ok(img.pixels().map(|px| px[0]).collect())
        })
        .collect()
}
