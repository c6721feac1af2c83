//! Transfer functions of composite volume rendering: piecewise-linear colour
//! and opacity ramps over HU (presets for bone, soft tissue and lung), and the
//! CPU reference of the composite ray cast ([`composite_cpu`]), which marches
//! the same rays and samples as `shaders/mip.wgsl` does on the GPU.
//!
//! Opacities are per [`REFERENCE_STEP_MM`]; a step `s` uses
//! `1 − (1 − α)^(s / reference)`, so images barely depend on the step.
//! Compositing is front to back (from the viewer), stopping once the
//! accumulated opacity exceeds [`OPAQUE`]; the background is black.

use glam::DVec3;

use super::RenderError;
use super::camera::{OrbitCamera, bounding_radius_mm};
use crate::volume::{Volume, Voxels};

/// Step length (mm) the presets' opacities refer to.
pub const REFERENCE_STEP_MM: f64 = 1.0;
/// Accumulated opacity at which a ray stops.
pub const OPAQUE: f32 = 0.995;
/// Most points of a transfer function (the shader's array size).
pub const MAX_POINTS: usize = 8;

/// One control point: HU and linear RGBA (alpha: opacity per reference step).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TfPoint {
    /// Hounsfield units (points ascend).
    pub hu: f32,
    /// Linear RGB and opacity per [`REFERENCE_STEP_MM`].
    pub rgba: [f32; 4],
}

const fn pt(hu: f32, rgba: [f32; 4]) -> TfPoint {
    TfPoint { hu, rgba }
}

/// Transfer-function presets of composite rendering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TransferPreset {
    /// Bone: transparent below ~150 HU, ivory to white, opaque cortex.
    #[default]
    Bone,
    /// Soft tissue: fat faint yellow, muscle and organs red, bone white.
    SoftTissue,
    /// Lung: air transparent, parenchyma faint, vessels and walls pink, bone
    /// faint white.
    Lung,
}

const BONE: [TfPoint; 4] = [
    pt(150.0, [0.0, 0.0, 0.0, 0.0]),
    pt(300.0, [0.75, 0.55, 0.35, 0.08]),
    pt(700.0, [0.95, 0.88, 0.75, 0.45]),
    pt(1500.0, [1.0, 1.0, 0.95, 0.9]),
];
const SOFT_TISSUE: [TfPoint; 6] = [
    pt(-200.0, [0.0, 0.0, 0.0, 0.0]),
    pt(-80.0, [0.8, 0.7, 0.3, 0.01]),
    pt(0.0, [0.6, 0.15, 0.1, 0.01]),
    pt(60.0, [0.85, 0.3, 0.25, 0.08]),
    pt(200.0, [0.9, 0.6, 0.5, 0.1]),
    pt(600.0, [1.0, 1.0, 0.95, 0.6]),
];
const LUNG: [TfPoint; 6] = [
    pt(-950.0, [0.0, 0.0, 0.0, 0.0]),
    pt(-800.0, [0.3, 0.4, 0.6, 0.004]),
    pt(-500.0, [0.8, 0.45, 0.45, 0.03]),
    pt(-100.0, [0.9, 0.55, 0.5, 0.06]),
    pt(100.0, [0.9, 0.6, 0.55, 0.02]),
    pt(400.0, [1.0, 1.0, 0.95, 0.05]),
];

impl TransferPreset {
    /// Every preset, for selectors.
    pub const ALL: [Self; 3] = [Self::Bone, Self::SoftTissue, Self::Lung];

    /// The control points (ascending HU, at most [`MAX_POINTS`]).
    pub fn ramp(self) -> &'static [TfPoint] {
        match self {
            Self::Bone => &BONE,
            Self::SoftTissue => &SOFT_TISSUE,
            Self::Lung => &LUNG,
        }
    }

    /// A short name for the UI.
    pub fn label(self) -> &'static str {
        match self {
            Self::Bone => "bone",
            Self::SoftTissue => "soft tissue",
            Self::Lung => "lung",
        }
    }
}

/// The transfer function of `ramp` at `hu`: linear between points, constant
/// beyond the ends (as the shader evaluates it).
pub fn transfer(ramp: &[TfPoint], hu: f32) -> [f32; 4] {
    let Some(first) = ramp.first() else {
        return [0.0; 4];
    };
    if hu <= first.hu {
        return first.rgba;
    }
    for w in ramp.windows(2) {
        if hu < w[1].hu {
            let t = (hu - w[0].hu) / (w[1].hu - w[0].hu).max(1e-6);
            return std::array::from_fn(|c| w[0].rgba[c] + (w[1].rgba[c] - w[0].rgba[c]) * t);
        }
    }
    ramp[ramp.len() - 1].rgba
}

/// CPU reference of the GPU composite render of `volume` through `camera`
/// with `preset`, `step_mm` and an optional clipping box (LPS mm min/max):
/// an RGBA image (alpha 255), the same rays, samples and blending as the
/// shader, in f64.
pub fn composite_cpu(
    volume: &Volume,
    camera: &OrbitCamera,
    preset: TransferPreset,
    step_mm: f64,
    clip_box_mm: Option<([f64; 3], [f64; 3])>,
) -> Result<image::RgbaImage, RenderError> {
    camera.validate()?;
    if !(step_mm.is_finite() && step_mm > 0.0) {
        return Err(RenderError::BadParams(format!("bad step {step_mm} mm")));
    }
    let g = &volume.geometry;
    let grid = camera.ray_grid();
    let vfw = g.voxel_from_world();
    let wfv = g.world_from_voxel();
    let half = (bounding_radius_mm(g, grid.centre_mm) / step_mm).floor() as i64;
    let step_vox = vfw.matrix3 * (grid.direction * step_mm);
    let [nz, ny, nx] = g.dims;
    let hu: Vec<f32> = match &volume.voxels {
        Voxels::I16(a) => a.iter().map(|&v| f32::from(v)).collect(),
        Voxels::F32(a) => a.iter().copied().collect(),
    };
    let ramp = preset.ramp();
    let exponent = step_mm / REFERENCE_STEP_MM;
    let [w, h] = camera.size_px;
    let mut img = image::RgbaImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let start = vfw.transform_point3(grid.world_of_pixel(f64::from(x), f64::from(y)));
        let mut colour = [0.0f64; 3];
        let mut alpha = 0.0f64;
        if let Some((m0, m1)) = inside_range(start, step_vox, [nx, ny, nz], half) {
            for m in m0..=m1 {
                let p = start + step_vox * m as f64;
                if let Some((lo, hi)) = clip_box_mm {
                    let q = wfv.transform_point3(p).to_array();
                    if (0..3).any(|c| q[c] < lo[c] || q[c] > hi[c]) {
                        continue;
                    }
                }
                let s = transfer(ramp, trilinear(&hu, [nx, ny, nz], p));
                let a0 = f64::from(s[3].clamp(0.0, 1.0));
                if a0 <= 0.0 {
                    continue;
                }
                let a = 1.0 - (1.0 - a0.min(0.9999)).powf(exponent);
                for c in 0..3 {
                    colour[c] += (1.0 - alpha) * a * f64::from(s[c]);
                }
                alpha += (1.0 - alpha) * a;
                if alpha > f64::from(OPAQUE) {
                    break;
                }
            }
        }
        let u8_of = |v: f64| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        *px = image::Rgba([u8_of(colour[0]), u8_of(colour[1]), u8_of(colour[2]), 255]);
    }
    Ok(img)
}

/// Samples `m` with `start + m·step` in the box of voxel centres (the
/// shader's tolerance).
fn inside_range(start: DVec3, step: DVec3, n: [usize; 3], half: i64) -> Option<(i64, i64)> {
    let tol = 1e-3;
    let (mut lo, mut hi) = (-half as f64, half as f64);
    for c in 0..3 {
        let (a, d, top) = (start[c], step[c], (n[c] - 1) as f64);
        if d.abs() < 1e-9 {
            if a < -tol || a > top + tol {
                return None;
            }
        } else {
            let (t0, t1) = ((-tol - a) / d, (top + tol - a) / d);
            lo = lo.max(t0.min(t1));
            hi = hi.min(t0.max(t1));
        }
    }
    let (lo, hi) = (lo.ceil(), hi.floor());
    (lo <= hi).then_some((lo as i64, hi as i64))
}

/// Trilinear HU at voxel coordinates `p` (clamped), `n = [nx, ny, nz]`.
fn trilinear(hu: &[f32], n: [usize; 3], p: DVec3) -> f32 {
    let axis = |x: f64, n: usize| {
        let x = x.clamp(0.0, (n - 1) as f64);
        let i0 = (x.floor() as usize).min(n - 1);
        (i0, (i0 + 1).min(n - 1), (x - i0 as f64) as f32)
    };
    let (x0, x1, fx) = axis(p.x, n[0]);
    let (y0, y1, fy) = axis(p.y, n[1]);
    let (z0, z1, fz) = axis(p.z, n[2]);
    let at = |z: usize, y: usize, x: usize| hu[(z * n[1] + y) * n[0] + x];
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let plane = |z| {
        lerp(
            lerp(at(z, y0, x0), at(z, y0, x1), fx),
            lerp(at(z, y1, x0), at(z, y1, x1), fx),
            fy,
        )
    };
    lerp(plane(z0), plane(z1), fz)
}
