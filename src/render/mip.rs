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
}

impl Default for MipParams {
    /// MIP, 0.5 mm steps, bone-ish window (centre 400 HU, width 1800 HU).
    fn default() -> Self {
        Self {
            mode: ProjectionMode::Max,
            step_mm: 0.5,
            window_centre_hu: 400.0,
            window_width_hu: 1800.0,
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
    /// Mode (0 max, 1 mean, 2 min), padding.
    pub mode: [u32; 4],
}

const _: () = assert!(size_of::<MipUniforms>() == 112);

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
                match params.mode {
                    ProjectionMode::Max => 0,
                    ProjectionMode::Mean => 1,
                    ProjectionMode::Min => 2,
                },
                0,
                0,
                0,
            ],
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
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("mip"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("mip"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                targets: &[Some(format.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
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
