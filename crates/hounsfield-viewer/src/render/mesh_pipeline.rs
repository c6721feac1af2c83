//! Isosurface rendering: [`crate::mesh::Mesh`]es (LPS mm vertices with
//! outward normals) drawn with the orthographic [`OrbitCamera`], a depth
//! buffer, and two-sided Lambert + ambient lighting from a head light, one
//! colour per mesh (`shaders/mesh.wgsl`); fragments outside an optional
//! clipping box (LPS mm) are discarded.

use wgpu::util::DeviceExt;

use super::RenderError;
use super::camera::OrbitCamera;
use super::gpu::{DEPTH_FORMAT, Gpu, OFFSCREEN_FORMAT};
use crate::mesh::Mesh;

/// WGSL source of the pipeline.
pub const SHADER: &str = include_str!("../../shaders/mesh.wgsl");

/// Ambient light fraction.
const AMBIENT: f32 = 0.25;
/// Diffuse light fraction.
const DIFFUSE: f32 = 0.75;

/// The uniform block `MeshParams` of `mesh.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MeshUniforms {
    /// Clip space from LPS mm, column-major.
    pub clip_from_world: [[f32; 4]; 4],
    /// Unit direction towards the light (LPS).
    pub light_dir: [f32; 4],
    /// Linear RGBA colour.
    pub colour: [f32; 4],
    /// Ambient, diffuse, padding.
    pub shading: [f32; 4],
    /// Clipping box minimum (LPS mm).
    pub clip_min: [f32; 4],
    /// Clipping box maximum (LPS mm); w > 0 enables the box.
    pub clip_max: [f32; 4],
}

const _: () = assert!(size_of::<MeshUniforms>() == 144);

/// A clipping box, LPS mm `(min, max)`.
pub type ClipBox = ([f64; 3], [f64; 3]);

impl MeshUniforms {
    /// The uniforms of a mesh of `colour` seen through `camera`.
    pub fn new(camera: &OrbitCamera, colour: [f32; 4]) -> Self {
        // A head light, slightly from the upper left of the viewer.
        let grid = camera.ray_grid();
        let light = (-grid.direction - 0.3 * grid.u_dir - 0.3 * grid.v_dir)
            .try_normalize()
            .unwrap_or(glam::DVec3::Z);
        Self {
            clip_from_world: camera.clip_from_world().to_cols_array_2d(),
            light_dir: [light.x as f32, light.y as f32, light.z as f32, 0.0],
            colour,
            shading: [AMBIENT, DIFFUSE, 0.0, 0.0],
            clip_min: [0.0; 4],
            clip_max: [0.0; 4],
        }
    }

    /// These uniforms discarding fragments outside `clip` (when given).
    #[must_use]
    pub fn clipped(mut self, clip: Option<ClipBox>) -> Self {
        if let Some((lo, hi)) = clip {
            let f = |v: [f64; 3], w: f32| [v[0] as f32, v[1] as f32, v[2] as f32, w];
            self.clip_min = f(lo, 0.0);
            self.clip_max = f(hi, 1.0);
        }
        self
    }

    /// Unlit: the full colour everywhere (ambient 1, diffuse 0).
    #[must_use]
    pub fn unlit(mut self) -> Self {
        self.shading = [1.0, 0.0, 0.0, 0.0];
        self
    }
}

/// One vertex: position (LPS mm) and normal.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct Vertex {
    position_mm: [f32; 3],
    normal: [f32; 3],
}

const _: () = assert!(size_of::<Vertex>() == 24);

/// A mesh on the GPU with its colour and uniforms.
pub struct GpuMesh {
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
    uniforms: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    /// Linear RGBA colour.
    pub colour: [f32; 4],
}

/// The mesh pipeline for one colour format (with a [`DEPTH_FORMAT`] depth
/// buffer).
pub struct MeshRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
}

impl MeshRenderer {
    /// Build the pipeline drawing into `format` targets.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mesh.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mesh"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("mesh"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let attributes = wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3];
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("mesh"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: size_of::<Vertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &attributes,
                })],
            },
            primitive: wgpu::PrimitiveState {
                cull_mode: None,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: wgpu::StencilState::default(),
                bias: wgpu::DepthBiasState::default(),
            }),
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
        Self { pipeline, layout }
    }

    /// Upload `mesh` with a linear RGBA `colour`.
    pub fn upload(&self, device: &wgpu::Device, mesh: &Mesh, colour: [f32; 4]) -> GpuMesh {
        let vertices: Vec<Vertex> = mesh
            .vertices_mm
            .iter()
            .zip(mesh.normals.iter().chain(std::iter::repeat(&[0.0; 3])))
            .map(|(&position_mm, &normal)| Vertex {
                position_mm,
                normal,
            })
            .collect();
        let vertices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mesh vertices"),
            contents: bytemuck::cast_slice(&vertices),
            usage: wgpu::BufferUsages::VERTEX,
        });
        let indices = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mesh indices"),
            contents: bytemuck::cast_slice(&mesh.triangles),
            usage: wgpu::BufferUsages::INDEX,
        });
        let uniforms = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mesh uniforms"),
            contents: bytemuck::bytes_of(&MeshUniforms::default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mesh"),
            layout: &self.layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: uniforms.as_entire_binding(),
            }],
        });
        GpuMesh {
            vertices,
            indices,
            index_count: (mesh.triangles.len() * 3) as u32,
            uniforms,
            bind_group,
            colour,
        }
    }

    /// Write the uniforms of `mesh` for `camera` (before the pass).
    pub fn prepare(&self, queue: &wgpu::Queue, mesh: &GpuMesh, camera: &OrbitCamera) {
        self.prepare_with(queue, mesh, &MeshUniforms::new(camera, mesh.colour));
    }

    /// Write explicit uniforms of `mesh` (e.g. [`MeshUniforms::clipped`]).
    pub fn prepare_with(&self, queue: &wgpu::Queue, mesh: &GpuMesh, uniforms: &MeshUniforms) {
        queue.write_buffer(&mesh.uniforms, 0, bytemuck::bytes_of(uniforms));
    }

    /// Draw `mesh` (the pass needs a [`DEPTH_FORMAT`] depth attachment).
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, mesh: &GpuMesh) {
        if mesh.index_count == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &mesh.bind_group, &[]);
        pass.set_vertex_buffer(0, mesh.vertices.slice(..));
        pass.set_index_buffer(mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
        pass.draw_indexed(0..mesh.index_count, 0, 0..1);
    }
}

/// Render `meshes` (each with its linear RGBA colour) through `camera`
/// offscreen on a black background.
pub fn render_meshes(
    gpu: &Gpu,
    meshes: &[(&Mesh, [f32; 4])],
    camera: &OrbitCamera,
) -> Result<image::RgbaImage, RenderError> {
    render_meshes_clipped(gpu, meshes, camera, None)
}

/// [`render_meshes`] discarding everything outside `clip` (LPS mm).
pub fn render_meshes_clipped(
    gpu: &Gpu,
    meshes: &[(&Mesh, [f32; 4])],
    camera: &OrbitCamera,
    clip: Option<ClipBox>,
) -> Result<image::RgbaImage, RenderError> {
    render_surface_scene(gpu, meshes, camera, clip, None)
}

/// [`render_meshes_clipped`] with the crosshair marker
/// ([`super::marker`], never clipped) at `crosshair_mm` (LPS).
pub fn render_surface_scene(
    gpu: &Gpu,
    meshes: &[(&Mesh, [f32; 4])],
    camera: &OrbitCamera,
    clip: Option<ClipBox>,
    crosshair_mm: Option<[f64; 3]>,
) -> Result<image::RgbaImage, RenderError> {
    camera.validate()?;
    let renderer = MeshRenderer::new(&gpu.device, OFFSCREEN_FORMAT);
    let mut uploaded: Vec<GpuMesh> = meshes
        .iter()
        .map(|(m, c)| renderer.upload(&gpu.device, m, *c))
        .collect();
    for m in &uploaded {
        let u = MeshUniforms::new(camera, m.colour).clipped(clip);
        renderer.prepare_with(&gpu.queue, m, &u);
    }
    if let Some(p) = crosshair_mm {
        let p = glam::DVec3::from_array(p);
        for (m, c) in super::marker::crosshair_meshes(p, camera) {
            let g = renderer.upload(&gpu.device, &m, c);
            renderer.prepare_with(&gpu.queue, &g, &MeshUniforms::new(camera, c).unlit());
            uploaded.push(g);
        }
    }
    gpu.render_offscreen(camera.size_px, true, |pass| {
        for m in &uploaded {
            renderer.draw(pass, m);
        }
    })
}
