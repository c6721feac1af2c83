//! GPU rendering (wgpu): offscreen ray-cast projections and isosurfaces, and
//! the 3D panel's paint callback. The only module that imports wgpu.
//!
//! Owns the headless device ([`gpu`]), the orbit camera ([`camera`]), the
//! ray-cast MIP/AIP/MinIP and composite pipeline ([`mip`], transfer functions
//! and the composite CPU reference in [`transfer`]) and the mesh pipeline
//! ([`mesh_pipeline`]), and the egui paint callback of the 3D panel
//! ([`callback`], the only file importing `egui_wgpu`). Shaders live in `shaders/*.wgsl` (embedded with
//! `include_str!`, listed in [`SHADERS`]) and are validated by naga in
//! `tests/gpu/render.rs`. Uniform structs are `#[repr(C)]` + bytemuck with size
//! assertions matching the WGSL layout.
//!
//! Imports wgpu, `volume`, `mesh`, `project` (the CPU reference) and glam;
//! egui and `egui_wgpu` only in `render/callback.rs`.

pub mod callback;
pub mod camera;
pub mod gpu;
pub mod marker;
pub mod mesh_pipeline;
pub mod mip;
pub mod transfer;

pub use camera::OrbitCamera;
pub use gpu::Gpu;
pub use mesh_pipeline::{
    ClipBox, GpuMesh, MeshRenderer, render_meshes, render_meshes_clipped, render_surface_scene,
};
pub use mip::{MipParams, MipRenderer, VolumeTexture, render_mip, rotating_mip_gpu};
pub use transfer::{TransferPreset, composite_cpu};

/// The WGSL shaders, as `(file name, source)`.
pub const SHADERS: [(&str, &str); 3] = [
    ("blit.wgsl", callback::SHADER),
    ("mesh.wgsl", mesh_pipeline::SHADER),
    ("mip.wgsl", mip::SHADER),
];

/// Why GPU rendering failed.
#[derive(Debug, thiserror::Error, Clone)]
pub enum RenderError {
    /// No adapter (not even a software one) was found.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("cannot create a GPU device: {0}")]
    Device(String),
    /// A parameter is out of range.
    #[error("invalid rendering parameter: {0}")]
    BadParams(String),
    /// The volume does not fit the device's texture limits.
    #[error("volume of {dims:?} voxels exceeds the 3D texture limit of {limit} per side")]
    TooLarge {
        /// `[z, row, col]`.
        dims: [usize; 3],
        /// The device's `max_texture_dimension_3d`.
        limit: u32,
    },
    /// Reading the image back failed.
    #[error("reading the image back from the GPU failed: {0}")]
    Readback(String),
    /// The offscreen target of the 3D panel could not be made.
    #[error("no offscreen render target")]
    NoTarget,
    /// A volume rendering was asked for before its volume was uploaded.
    #[error("no volume on the GPU")]
    NoVolume,
    /// A shader failed to parse or validate.
    #[error("shader {name}: {message}")]
    Shader {
        /// File name.
        name: String,
        /// naga's message.
        message: String,
    },
}

/// Parse and validate one WGSL source with naga (the same front end wgpu
/// uses), returning the module.
pub fn validate_wgsl(name: &str, source: &str) -> Result<wgpu::naga::Module, RenderError> {
    use wgpu::naga::valid::{Capabilities, ValidationFlags, Validator};
    let shader_err = |message: String| RenderError::Shader {
        name: name.to_owned(),
        message,
    };
    let module = wgpu::naga::front::wgsl::parse_str(source)
        .map_err(|e| shader_err(e.emit_to_string(source)))?;
    Validator::new(ValidationFlags::all(), Capabilities::default())
        .validate(&module)
        .map_err(|e| shader_err(format!("{e:?}")))?;
    Ok(module)
}

/// Size in bytes of the WGSL struct `struct_name` in `source` (as laid out
/// by naga), or `None` when there is no such struct or the shader is invalid.
pub fn wgsl_struct_size(source: &str, struct_name: &str) -> Option<usize> {
    let module = validate_wgsl("", source).ok()?;
    module.types.iter().find_map(|(_, ty)| match ty.inner {
        wgpu::naga::TypeInner::Struct { span, .. } if ty.name.as_deref() == Some(struct_name) => {
            Some(span as usize)
        }
        _ => None,
    })
}
