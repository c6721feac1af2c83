//! A headless wgpu device (any adapter, software included) and offscreen
//! render targets read back to RGBA images.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use super::RenderError;

/// Colour format of offscreen targets (linear, so grey levels are exact).
pub const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
/// Depth format of the mesh pipeline.
pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// A device and its queue.
pub struct Gpu {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter's name, backend and driver.
    pub adapter_info: wgpu::AdapterInfo,
}

impl Gpu {
    /// A device without a window, on the adapter chosen by the environment
    /// (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`); requests the adapter's own
    /// limits, so large 3D textures fit.
    pub fn headless() -> Result<Self, RenderError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|e| RenderError::NoAdapter(format!("{e:#}")))?;
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hounsfield headless"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| RenderError::Device(format!("{e:#}")))?;
        Ok(Self {
            device,
            queue,
            adapter_info: adapter.get_info(),
        })
    }

    /// Block until all submitted work is done.
    pub fn wait(&self) -> Result<(), RenderError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| RenderError::Readback(format!("{e:#}")))
    }

    /// Render into a fresh `size` target of [`OFFSCREEN_FORMAT`] (cleared to
    /// black; with a [`DEPTH_FORMAT`] depth buffer cleared to 1 when `depth`)
    /// and read it back.
    pub fn render_offscreen(
        &self,
        size_px: [u32; 2],
        depth: bool,
        draw: impl FnOnce(&mut wgpu::RenderPass<'_>),
    ) -> Result<image::RgbaImage, RenderError> {
        let [w, h] = size_px;
        let limit = self.device.limits().max_texture_dimension_2d;
        if w == 0 || h == 0 || w > limit || h > limit {
            return Err(RenderError::BadParams(format!(
                "image size must be 1..={limit} px, got {w}×{h}"
            )));
        }
        let extent = wgpu::Extent3d {
            width: w,
            height: h,
            depth_or_array_layers: 1,
        };
        let target = self.texture(extent, OFFSCREEN_FORMAT, true);
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let depth_view = depth.then(|| {
            self.texture(extent, DEPTH_FORMAT, false)
                .create_view(&wgpu::TextureViewDescriptor::default())
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = begin_clear_pass(&mut encoder, &view, depth_view.as_ref());
            draw(&mut pass);
        }
        let row_bytes = 4 * w;
        let padded = row_bytes.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(padded) * u64::from(h),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        encoder.copy_texture_to_buffer(
            target.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buffer,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: Some(h),
                },
            },
            extent,
        );
        self.queue.submit([encoder.finish()]);
        self.read_rows(&buffer, [row_bytes, padded, h])
            .and_then(|pixels| {
                image::RgbaImage::from_raw(w, h, pixels)
                    .ok_or_else(|| RenderError::Readback("short image".into()))
            })
    }

    fn texture(
        &self,
        extent: wgpu::Extent3d,
        format: wgpu::TextureFormat,
        copy: bool,
    ) -> wgpu::Texture {
        let mut usage = wgpu::TextureUsages::RENDER_ATTACHMENT;
        if copy {
            usage |= wgpu::TextureUsages::COPY_SRC;
        }
        self.device.create_texture(&wgpu::TextureDescriptor {
            label: None,
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage,
            view_formats: &[],
        })
    }

    /// Map `buffer` and copy `rows` rows of `row_bytes` out of rows of
    /// `padded` bytes.
    fn read_rows(
        &self,
        buffer: &wgpu::Buffer,
        [row_bytes, padded, rows]: [u32; 3],
    ) -> Result<Vec<u8>, RenderError> {
        let slice = buffer.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Readback(format!("{e:#}")))?;
        rx.recv()
            .map_err(|e| RenderError::Readback(format!("{e:#}")))?
            .map_err(|e| RenderError::Readback(format!("{e:#}")))?;
        let mapped = slice
            .get_mapped_range()
            .map_err(|e| RenderError::Readback(format!("{e:#}")))?;
        let mut out = Vec::with_capacity((row_bytes * rows) as usize);
        for row in mapped.chunks(padded as usize).take(rows as usize) {
            out.extend_from_slice(&row[..row_bytes as usize]);
        }
        drop(mapped);
        buffer.unmap();
        Ok(out)
    }
}

/// A render pipeline that draws a full-screen triangle (no vertex buffers;
/// `vs_main` / `fs_main` of `module`) into one colour target, no depth.
pub fn fullscreen_pipeline(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    module: &wgpu::ShaderModule,
    format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs_main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some("fs_main"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            targets: &[Some(format.into())],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// Begin a render pass into `view` (cleared to black) with an optional depth
/// attachment (cleared to 1, discarded afterwards).
pub fn begin_clear_pass<'a>(
    encoder: &'a mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
    depth_view: Option<&wgpu::TextureView>,
) -> wgpu::RenderPass<'a> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("offscreen"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: depth_view.map(|v| wgpu::RenderPassDepthStencilAttachment {
            view: v,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                store: wgpu::StoreOp::Discard,
            }),
            stencil_ops: None,
        }),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// Begin a render pass drawing over the contents of `view` with a fresh
/// depth buffer `depth_view` (cleared to 1): overlays on a projection.
pub fn begin_overlay_pass<'a>(
    encoder: &'a mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
    depth_view: &wgpu::TextureView,
) -> wgpu::RenderPass<'a> {
    encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("overlay"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load: wgpu::LoadOp::Load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
            view: depth_view,
            depth_ops: Some(wgpu::Operations {
                load: wgpu::LoadOp::Clear(1.0),
                store: wgpu::StoreOp::Discard,
            }),
            stencil_ops: None,
        }),
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}

/// Drive a future to completion on this thread (wgpu's native futures are
/// ready at once; no executor needed).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
