//! The orbit camera of the 3D panel and the offscreen renders: orthographic,
//! orbiting a target point (normally the volume centre) by azimuth and
//! elevation.
//!
//! Azimuth 0°, elevation 0° is the anterior view (looking along LPS `+y`,
//! superior up), the radiological coronal layout of
//! [`crate::project::raycast`]; positive azimuth turns the viewer towards the
//! patient's left like the rotating MIP (direction `(−sin θ, cos θ, 0)`),
//! positive elevation looks down from above. The image grid is exactly the
//! [`RayGrid`] of the CPU ray caster, so GPU and CPU images line up pixel for
//! pixel.

use glam::{DMat4, DVec3, DVec4, Mat4};

use super::RenderError;
use crate::project::ProjectionMode;
use crate::project::raycast::{RayGrid, RayParams};
use crate::volume::Geometry;

/// An orthographic orbit camera.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrbitCamera {
    /// The point at the image centre (LPS mm).
    pub target_mm: DVec3,
    /// Rotation about the patient's superior axis, degrees.
    pub azimuth_deg: f64,
    /// Rotation above the axial plane, degrees (within ±89.9).
    pub elevation_deg: f64,
    /// Pixel size in mm (the orthographic scale; smaller zooms in).
    pub mm_per_px: f64,
    /// `[width, height]` of the image in pixels.
    pub size_px: [u32; 2],
    /// Half the depth range kept by the mesh pipeline's depth buffer, mm
    /// (from the target).
    pub depth_radius_mm: f64,
}

impl Default for OrbitCamera {
    /// Anterior view of the origin, 512 × 512 px of 1 mm.
    fn default() -> Self {
        Self {
            target_mm: DVec3::ZERO,
            azimuth_deg: 0.0,
            elevation_deg: 0.0,
            mm_per_px: 1.0,
            size_px: [512, 512],
            depth_radius_mm: 1000.0,
        }
    }
}

impl OrbitCamera {
    /// A camera centred on the volume of `geometry` whose bounding sphere
    /// just fits the smaller image side.
    pub fn framing(geometry: &Geometry, size_px: [u32; 2]) -> Self {
        let centre = geometry.centre_mm();
        let radius = bounding_radius_mm(geometry, centre).max(1e-3);
        let side = f64::from(size_px[0].min(size_px[1]).max(1));
        Self {
            target_mm: centre,
            mm_per_px: 2.0 * radius / side,
            size_px,
            depth_radius_mm: radius * 1.01,
            ..Self::default()
        }
    }

    /// Unit viewing direction (into the screen, LPS).
    pub fn direction(&self) -> DVec3 {
        let (sa, ca) = self.azimuth_deg.to_radians().sin_cos();
        let (se, ce) = self.elevation_deg().to_radians().sin_cos();
        DVec3::new(-sa * ce, ca * ce, -se)
    }

    /// Unit screen-up direction (LPS), perpendicular to [`Self::direction`].
    pub fn up(&self) -> DVec3 {
        let (sa, ca) = self.azimuth_deg.to_radians().sin_cos();
        let (se, ce) = self.elevation_deg().to_radians().sin_cos();
        DVec3::new(-sa * se, ca * se, ce)
    }

    fn elevation_deg(&self) -> f64 {
        self.elevation_deg.clamp(-89.9, 89.9)
    }

    /// Check sizes and scales.
    pub fn validate(&self) -> Result<(), RenderError> {
        let [w, h] = self.size_px;
        let ok = w > 0
            && h > 0
            && self.mm_per_px.is_finite()
            && self.mm_per_px > 0.0
            && self.depth_radius_mm.is_finite()
            && self.depth_radius_mm > 0.0
            && self.target_mm.is_finite()
            && self.azimuth_deg.is_finite()
            && self.elevation_deg.is_finite();
        if ok {
            Ok(())
        } else {
            Err(RenderError::BadParams(format!("bad camera {self:?}")))
        }
    }

    /// The image grid in world space (the same as the CPU ray caster's).
    pub fn ray_grid(&self) -> RayGrid {
        let direction = self.direction();
        let v_dir = -self.up();
        RayGrid {
            centre_mm: self.target_mm,
            u_dir: v_dir.cross(direction),
            v_dir,
            direction,
            mm_per_px: self.mm_per_px,
            size_px: self.size_px.map(|s| s as usize),
        }
    }

    /// Parameters of the CPU reference
    /// ([`crate::project::raycast::project_direction`]) for this view.
    pub fn ray_params(&self, mode: ProjectionMode, step_mm: f64) -> RayParams {
        RayParams {
            direction_lps: self.direction(),
            up_lps: self.up(),
            size_px: self.size_px.map(|s| s as usize),
            mm_per_px: self.mm_per_px,
            mode,
            step_mm,
            outside_hu: None,
            centre_mm: Some(self.target_mm),
        }
    }

    /// Clip space from LPS mm: image `x` → NDC `x`, image `y` (down) → −NDC
    /// `y`, depth along the viewing direction → `[0, 1]` over
    /// `±depth_radius_mm` about the target.
    pub fn clip_from_world(&self) -> Mat4 {
        let g = self.ray_grid();
        let half_w = self.mm_per_px * f64::from(self.size_px[0]) / 2.0;
        let half_h = self.mm_per_px * f64::from(self.size_px[1]) / 2.0;
        let depth = 2.0 * self.depth_radius_mm;
        let row = |axis: DVec3, scale: f64, offset: f64| {
            let a = axis / scale;
            DVec4::new(a.x, a.y, a.z, -a.dot(self.target_mm) + offset)
        };
        let rows = [
            row(g.u_dir, half_w, 0.0),
            row(-g.v_dir, half_h, 0.0),
            row(g.direction, depth, 0.5),
            DVec4::W,
        ];
        DMat4::from_cols(rows[0], rows[1], rows[2], rows[3])
            .transpose()
            .as_mat4()
    }
}

/// Largest distance (mm) from `centre` to a corner of the volume (voxel
/// edges included).
pub fn bounding_radius_mm(g: &Geometry, centre: DVec3) -> f64 {
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
