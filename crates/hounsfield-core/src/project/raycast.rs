//! Projections along an arbitrary direction by ray casting: MIP, AIP or
//! `MinIP` of a volume seen along any unit vector, with trilinear samples in
//! physical space.
//!
//! The image is a square-pixel grid perpendicular to the viewing direction
//! ([`RayGrid`]), centred on the volume centre (or a given point): image `x`
//! runs along `u = v × direction`, image `y` along `v = −up` (made
//! perpendicular to the direction), so `up` is at the top and the viewer
//! looks into the screen along `direction`. With `direction = +y, up = +z`
//! this is the radiological coronal layout (`x` = patient right → left), with
//! `direction = −x, up = +z` the sagittal one, and it is the pixel grid of
//! frame `θ` of the rotating MIP ([`super::rotate`]) for `direction =
//! (−sin θ, cos θ, 0)`.
//!
//! Each pixel's ray crosses the volume's bounding sphere in samples
//! `step_mm` apart, symmetric about the image plane. Positions go through
//! `voxel_from_world`, so anisotropic spacing and oblique or sheared grids are
//! placed exactly; samples inside the box of voxel centres are trilinear,
//! samples outside count as `outside_hu` when given and are skipped
//! otherwise (then a ray missing the volume gives `NaN`, as in
//! [`super::project`]). Rows run in parallel (rayon); each pixel is reduced
//! in a fixed order, so the result does not depend on the thread count.

use glam::DVec3;
use rayon::prelude::*;

use super::ProjectionMode;
use super::reduce::Voxel;
use crate::mpr::Image2;
use crate::volume::{Geometry, Volume, Voxels};

/// Largest image side in pixels.
const MAX_SIDE: usize = 8192;
/// Most samples along one ray.
const MAX_SAMPLES: f64 = 1e6;
/// Tolerance (voxels) for "inside the box of voxel centres".
const INSIDE_TOL: f64 = 1e-6;

/// Parameters of [`project_direction`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RayParams {
    /// Viewing direction (LPS, any length; normalised): into the screen.
    pub direction_lps: DVec3,
    /// The direction shown at the top of the image (LPS; its component
    /// along the viewing direction is ignored).
    pub up_lps: DVec3,
    /// `[width, height]` in pixels.
    pub size_px: [usize; 2],
    /// Pixel size in mm (square pixels).
    pub mm_per_px: f64,
    /// How the samples of a ray are combined.
    pub mode: ProjectionMode,
    /// Distance between samples along a ray in mm.
    pub step_mm: f64,
    /// Value of samples outside the volume (HU), or `None` to skip them.
    pub outside_hu: Option<f32>,
    /// World point (LPS mm) at the image centre; `None`: the volume centre.
    pub centre_mm: Option<DVec3>,
}

impl Default for RayParams {
    /// Anterior view (`+y`, superior up), 512 × 512 pixels of 1 mm, MIP,
    /// 0.5 mm steps, outside samples skipped, centred on the volume.
    fn default() -> Self {
        Self {
            direction_lps: DVec3::Y,
            up_lps: DVec3::Z,
            size_px: [512, 512],
            mm_per_px: 1.0,
            mode: ProjectionMode::Max,
            step_mm: 0.5,
            outside_hu: None,
            centre_mm: None,
        }
    }
}

/// Why a ray cast was refused.
#[derive(Debug, thiserror::Error)]
pub enum RayError {
    /// A parameter is out of range.
    #[error("invalid ray-casting parameter: {0}")]
    BadParams(String),
}

/// The image grid of a ray cast in world space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RayGrid {
    /// World position (LPS mm) of the image centre.
    pub centre_mm: DVec3,
    /// Unit direction of increasing image `x`.
    pub u_dir: DVec3,
    /// Unit direction of increasing image `y` (down).
    pub v_dir: DVec3,
    /// Unit viewing direction, `u × v`.
    pub direction: DVec3,
    /// Pixel size in mm.
    pub mm_per_px: f64,
    /// `[width, height]` in pixels.
    pub size_px: [usize; 2],
}

impl RayGrid {
    /// The grid of `p` for a volume of geometry `g`.
    pub fn new(g: &Geometry, p: &RayParams) -> Result<Self, RayError> {
        let bad = |m: String| Err(RayError::BadParams(m));
        let Some(direction) = p.direction_lps.try_normalize() else {
            return bad(format!("direction {:?} has no length", p.direction_lps));
        };
        let up = p.up_lps - direction * p.up_lps.dot(direction);
        let Some(up) = up.try_normalize().filter(|_| up.length() > 1e-6) else {
            return bad(format!(
                "up {:?} is parallel to the direction {:?}",
                p.up_lps, p.direction_lps
            ));
        };
        let [w, h] = p.size_px;
        if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
            return bad(format!("size must be 1..={MAX_SIDE} px, got {w}×{h}"));
        }
        if !(p.mm_per_px.is_finite() && p.mm_per_px > 0.0) {
            return bad(format!("pixel size must be positive, got {}", p.mm_per_px));
        }
        let centre_mm = p.centre_mm.unwrap_or_else(|| g.centre_mm());
        if !centre_mm.is_finite() {
            return bad(format!("centre {centre_mm:?} is not finite"));
        }
        let v_dir = -up;
        Ok(Self {
            centre_mm,
            u_dir: v_dir.cross(direction),
            v_dir,
            direction,
            mm_per_px: p.mm_per_px,
            size_px: p.size_px,
        })
    }

    /// World position (LPS mm, on the plane through the centre) of
    /// continuous pixel coordinates `(x, y)`; `(0, 0)` is the centre of the
    /// top-left pixel.
    pub fn world_of_pixel(&self, x: f64, y: f64) -> DVec3 {
        let [w, h] = self.size_px;
        self.centre_mm
            + self.u_dir * ((x + 0.5 - w as f64 / 2.0) * self.mm_per_px)
            + self.v_dir * ((y + 0.5 - h as f64 / 2.0) * self.mm_per_px)
    }
}

/// Project `vol` along `p.direction_lps` by ray casting (see the module
/// docs); the image is `size_px` on the grid of [`RayGrid::new`].
///
/// ```
/// use glam::DVec3;
/// use hounsfield_core::project::raycast::{RayParams, project_direction};
/// use hounsfield_core::volume::{Geometry, Volume};
/// let a = ndarray::Array3::from_shape_fn((4, 4, 4), |(z, y, x)| (100 * z + 10 * y + x) as i16);
/// let v = Volume::from_i16(a, Geometry::identity([4, 4, 4]));
/// // Seen from the feet (+z into the screen, anterior up): the top slice wins.
/// let p = RayParams { direction_lps: DVec3::Z, up_lps: DVec3::NEG_Y, size_px: [4, 4], ..Default::default() };
/// let img = project_direction(&v, &p)?;
/// assert_eq!(img.get(3, 1), Some(313.0));
/// # Ok::<(), hounsfield_core::project::raycast::RayError>(())
/// ```
pub fn project_direction(vol: &Volume, p: &RayParams) -> Result<Image2, RayError> {
    let g = &vol.geometry;
    let grid = RayGrid::new(g, p)?;
    if !(p.step_mm.is_finite() && p.step_mm > 0.0) {
        return Err(RayError::BadParams(format!(
            "step must be positive, got {} mm",
            p.step_mm
        )));
    }
    let radius = bounding_radius(g, grid.centre_mm);
    if radius / p.step_mm > MAX_SAMPLES {
        return Err(RayError::BadParams(format!(
            "step {} mm gives more than {MAX_SAMPLES} samples per ray",
            p.step_mm
        )));
    }
    let [w, h] = grid.size_px;
    let mut data = vec![f32::NAN; w * h];
    if vol.voxels.is_empty() {
        return Ok(Image2 {
            width: w,
            height: h,
            data,
        });
    }
    let caster = Caster {
        grid,
        voxel_from_world: g.voxel_from_world(),
        dims: g.dims,
        half_count: (radius / p.step_mm).floor() as i64,
        step_in_voxel: g.voxel_from_world().matrix3 * (grid.direction * p.step_mm),
        mode: p.mode,
        outside_hu: p.outside_hu,
    };
    match &vol.voxels {
        Voxels::I16(a) => caster.run(&a.as_standard_layout(), &mut data),
        Voxels::F32(a) => caster.run(&a.as_standard_layout(), &mut data),
    }
    Ok(Image2 {
        width: w,
        height: h,
        data,
    })
}

/// Largest distance (mm) from `centre` to a corner of the volume (voxel
/// edges included).
fn bounding_radius(g: &Geometry, centre: DVec3) -> f64 {
    let w = g.world_from_voxel();
    let n = [g.dims[2], g.dims[1], g.dims[0]].map(|d| d as f64 - 0.5);
    (0..8)
        .map(|c| {
            let idx = DVec3::new(
                if c & 1 == 0 { -0.5 } else { n[0] },
                if c & 2 == 0 { -0.5 } else { n[1] },
                if c & 4 == 0 { -0.5 } else { n[2] },
            );
            w.transform_point3(idx).distance(centre)
        })
        .fold(0.0, f64::max)
}

struct Caster {
    grid: RayGrid,
    voxel_from_world: glam::DAffine3,
    dims: [usize; 3],
    /// Samples `-half_count..=half_count` along each ray.
    half_count: i64,
    step_in_voxel: DVec3,
    mode: ProjectionMode,
    outside_hu: Option<f32>,
}

impl Caster {
    fn run<T: Voxel>(&self, a: &ndarray::CowArray<'_, T, ndarray::Ix3>, out: &mut [f32]) {
        let Some(data) = a.as_slice() else { return };
        let w = self.grid.size_px[0];
        out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            for (x, px) in row.iter_mut().enumerate() {
                let start = self
                    .voxel_from_world
                    .transform_point3(self.grid.world_of_pixel(x as f64, y as f64));
                *px = self.ray(data, start);
            }
        });
    }

    /// The inclusive sample range `m` whose positions `start + m·step` lie in
    /// the box of voxel centres.
    fn inside_range(&self, start: DVec3) -> Option<(i64, i64)> {
        let n = [self.dims[2], self.dims[1], self.dims[0]];
        let mut lo = -self.half_count as f64;
        let mut hi = self.half_count as f64;
        for (c, &len) in n.iter().enumerate() {
            let (a, d) = (start[c], self.step_in_voxel[c]);
            let top = (len - 1) as f64;
            if d.abs() < 1e-12 {
                if a < -INSIDE_TOL || a > top + INSIDE_TOL {
                    return None;
                }
            } else {
                let t0 = (-INSIDE_TOL - a) / d;
                let t1 = (top + INSIDE_TOL - a) / d;
                lo = lo.max(t0.min(t1));
                hi = hi.min(t0.max(t1));
            }
        }
        let (lo, hi) = (lo.ceil(), hi.floor());
        (lo <= hi).then_some((lo as i64, hi as i64))
    }

    fn ray<T: Voxel>(&self, data: &[T], start: DVec3) -> f32 {
        let total = 2 * self.half_count + 1;
        let (mut inside, mut acc) = (0i64, self.init());
        if let Some((m0, m1)) = self.inside_range(start) {
            for m in m0..=m1 {
                let v = trilinear(data, self.dims, start + self.step_in_voxel * m as f64);
                acc = self.combine(acc, f64::from(v), 1);
            }
            inside = m1 - m0 + 1;
        }
        let mut count = inside;
        if let Some(o) = self.outside_hu
            && inside < total
        {
            acc = self.combine(acc, f64::from(o), total - inside);
            count = total;
        }
        match (count, self.mode) {
            (0, _) => f32::NAN,
            (_, ProjectionMode::Mean) => (acc / count as f64) as f32,
            _ => acc as f32,
        }
    }

    fn init(&self) -> f64 {
        match self.mode {
            ProjectionMode::Max => f64::NEG_INFINITY,
            ProjectionMode::Min => f64::INFINITY,
            ProjectionMode::Mean => 0.0,
        }
    }

    /// `acc` combined with `times` samples of value `v`.
    fn combine(&self, acc: f64, v: f64, times: i64) -> f64 {
        match self.mode {
            ProjectionMode::Max => acc.max(v),
            ProjectionMode::Min => acc.min(v),
            ProjectionMode::Mean => acc + v * times as f64,
        }
    }
}

/// Trilinear value at voxel coordinates `p = (col, row, slice)`, clamped to
/// the box of voxel centres; `data` is `[z, row, col]` of `dims`.
#[inline]
fn trilinear<T: Voxel>(data: &[T], dims: [usize; 3], p: DVec3) -> f32 {
    let [nz, ny, nx] = dims;
    let axis = |x: f64, n: usize| {
        let x = x.clamp(0.0, (n - 1) as f64);
        let i0 = (x.floor() as usize).min(n - 1);
        let i1 = (i0 + 1).min(n - 1);
        (i0, i1, (x - i0 as f64) as f32)
    };
    let (x0, x1, fx) = axis(p.x, nx);
    let (y0, y1, fy) = axis(p.y, ny);
    let (z0, z1, fz) = axis(p.z, nz);
    let at = |z: usize, y: usize, x: usize| data[(z * ny + y) * nx + x].hu();
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let plane = |z: usize| {
        lerp(
            lerp(at(z, y0, x0), at(z, y0, x1), fx),
            lerp(at(z, y1, x0), at(z, y1, x1), fx),
            fy,
        )
    };
    lerp(plane(z0), plane(z1), fz)
}

#[cfg(test)]
mod tests;
