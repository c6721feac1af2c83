//! The rigid (+ optional scale) transform of a registration and its JSON
//! file.
//!
//! `moving_from_fixed(p) = R(ω) · S · (p − c) + c + t` for a point `p` of
//! the fixed image's LPS world (mm): `c` is the centre of rotation (the fixed
//! image centre), `ω` the rotation vector (axis × angle, radians), `S =
//! diag(exp(log_scale))` and `t` the translation in mm. This is the direction
//! used to resample the moving image onto the fixed grid; its inverse
//! `fixed_from_moving` brings masks drawn on the fixed image into the moving
//! image.

use glam::{DAffine3, DMat3, DQuat, DVec3, EulerRot};
use serde::{Deserialize, Serialize};

/// Which scale the transform may have besides the rigid motion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleModel {
    /// Rigid: three rotations and three translations.
    #[default]
    None,
    /// One isotropic scale factor (7 parameters).
    Isotropic,
    /// A scale factor per axis of the fixed image's world (9 parameters).
    Anisotropic,
}

impl ScaleModel {
    /// Number of optimised parameters.
    pub fn parameter_count(self) -> usize {
        6 + match self {
            Self::None => 0,
            Self::Isotropic => 1,
            Self::Anisotropic => 3,
        }
    }
}

/// A rigid transform with an optional scale about a centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RigidTransform {
    /// Centre of rotation and scaling (LPS mm of the fixed world).
    pub centre_mm: DVec3,
    /// Rotation vector: unit axis × angle in radians.
    pub rotation_rad: DVec3,
    /// Translation in mm.
    pub translation_mm: DVec3,
    /// Natural log of the scale along x, y, z (all 0 for a rigid transform;
    /// all equal for an isotropic scale).
    pub log_scale: DVec3,
    /// Which parameters are free.
    pub scale_model: ScaleModel,
}

impl RigidTransform {
    /// The identity about `centre_mm`.
    pub fn identity(centre_mm: DVec3, scale_model: ScaleModel) -> Self {
        Self {
            centre_mm,
            rotation_rad: DVec3::ZERO,
            translation_mm: DVec3::ZERO,
            log_scale: DVec3::ZERO,
            scale_model,
        }
    }

    /// The rotation matrix `R(ω)`.
    pub fn rotation(&self) -> DMat3 {
        rotation_of(self.rotation_rad)
    }

    /// The per-axis scale factors.
    pub fn scale(&self) -> DVec3 {
        DVec3::new(
            self.log_scale.x.exp(),
            self.log_scale.y.exp(),
            self.log_scale.z.exp(),
        )
    }

    /// `R · S`, the linear part.
    pub fn linear(&self) -> DMat3 {
        self.rotation() * DMat3::from_diagonal(self.scale())
    }

    /// Fixed world (mm) → moving world (mm).
    pub fn moving_from_fixed(&self) -> DAffine3 {
        let a = self.linear();
        DAffine3 {
            matrix3: a,
            translation: self.centre_mm + self.translation_mm - a * self.centre_mm,
        }
    }

    /// Moving world (mm) → fixed world (mm): the inverse.
    pub fn fixed_from_moving(&self) -> DAffine3 {
        self.moving_from_fixed().inverse()
    }

    /// Rotation axis (unit; +x for no rotation) and angle in degrees.
    pub fn axis_angle_deg(&self) -> (DVec3, f64) {
        let angle = self.rotation_rad.length();
        if angle < 1e-15 {
            (DVec3::X, 0.0)
        } else {
            (self.rotation_rad / angle, angle.to_degrees())
        }
    }

    /// The optimised parameters: rotation vector (rad), translation (mm),
    /// then the log scale(s).
    pub fn parameters(&self) -> Vec<f64> {
        let mut p = vec![
            self.rotation_rad.x,
            self.rotation_rad.y,
            self.rotation_rad.z,
            self.translation_mm.x,
            self.translation_mm.y,
            self.translation_mm.z,
        ];
        match self.scale_model {
            ScaleModel::None => {}
            ScaleModel::Isotropic => p.push(self.log_scale.x),
            ScaleModel::Anisotropic => p.extend(self.log_scale.to_array()),
        }
        p
    }

    /// The same transform with parameters `p` (as [`Self::parameters`]).
    #[must_use]
    pub fn with_parameters(&self, p: &[f64]) -> Self {
        let mut t = *self;
        t.rotation_rad = DVec3::new(p[0], p[1], p[2]);
        t.translation_mm = DVec3::new(p[3], p[4], p[5]);
        t.log_scale = match self.scale_model {
            ScaleModel::None => DVec3::ZERO,
            ScaleModel::Isotropic => DVec3::splat(p[6]),
            ScaleModel::Anisotropic => DVec3::new(p[6], p[7], p[8]),
        };
        t
    }

    /// The file form, with the matrices in both directions.
    pub fn to_file(&self) -> TransformFile {
        let (axis, angle_deg) = self.axis_angle_deg();
        let (ez, ey, ex) = DQuat::from_scaled_axis(self.rotation_rad).to_euler(EulerRot::ZYX);
        TransformFile {
            format: FORMAT.to_owned(),
            convention: CONVENTION.to_owned(),
            scale_model: self.scale_model,
            centre_mm: self.centre_mm.to_array(),
            translation_mm: self.translation_mm.to_array(),
            rotation_vector_rad: self.rotation_rad.to_array(),
            rotation_axis: axis.to_array(),
            rotation_angle_deg: angle_deg,
            euler_zyx_deg: [ez.to_degrees(), ey.to_degrees(), ex.to_degrees()],
            scale: self.scale().to_array(),
            moving_from_fixed: row_major(&self.moving_from_fixed()),
            fixed_from_moving: row_major(&self.fixed_from_moving()),
            registration: None,
        }
    }
}

/// The rotation matrix of a rotation vector (axis × angle in radians).
pub fn rotation_of(rotation_rad: DVec3) -> DMat3 {
    DMat3::from_quat(DQuat::from_scaled_axis(rotation_rad))
}

/// `∂R/∂ω_k` for `k = 0, 1, 2` at `ω` (central differences; the rotation is
/// smooth, the error is ~1e-10).
pub fn rotation_derivatives(rotation_rad: DVec3) -> [DMat3; 3] {
    let h = 1e-6;
    let d = |e: DVec3| {
        (rotation_of(rotation_rad + e * h) - rotation_of(rotation_rad - e * h)) * (0.5 / h)
    };
    [d(DVec3::X), d(DVec3::Y), d(DVec3::Z)]
}

/// The 4×4 row-major matrix of an affine map (last row 0 0 0 1).
pub fn row_major(a: &DAffine3) -> [f64; 16] {
    let m = a.matrix3;
    let t = a.translation;
    [
        m.x_axis.x, m.y_axis.x, m.z_axis.x, t.x, //
        m.x_axis.y, m.y_axis.y, m.z_axis.y, t.y, //
        m.x_axis.z, m.y_axis.z, m.z_axis.z, t.z, //
        0.0, 0.0, 0.0, 1.0,
    ]
}

/// The affine map of a 4×4 row-major matrix; `None` if the last row is not
/// `0 0 0 1` or a value is not finite.
pub fn from_row_major(m: &[f64; 16]) -> Option<DAffine3> {
    if m.iter().any(|v| !v.is_finite())
        || m[12].abs() > 1e-9
        || m[13].abs() > 1e-9
        || m[14].abs() > 1e-9
        || (m[15] - 1.0).abs() > 1e-9
    {
        return None;
    }
    Some(DAffine3 {
        matrix3: DMat3::from_cols(
            DVec3::new(m[0], m[4], m[8]),
            DVec3::new(m[1], m[5], m[9]),
            DVec3::new(m[2], m[6], m[10]),
        ),
        translation: DVec3::new(m[3], m[7], m[11]),
    })
}

/// Value of [`TransformFile::format`].
pub const FORMAT: &str = "hounsfield-rigid-transform/1";
const CONVENTION: &str = "LPS mm. moving_from_fixed(p) = R*S*(p - centre) + centre + translation maps a point of \
     the fixed image to the same anatomy in the moving image (use it to resample the moving image onto the fixed \
     grid); fixed_from_moving is its inverse (use it to bring fixed-space masks into the moving image). \
     Matrices are 4x4, row-major.";

/// A summary of the registration that produced a transform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistrationSummary {
    /// Metric that was optimised (`mi`, `ncc`, `ssd`).
    pub metric: String,
    /// Image feature the metric compared (`intensity`, `gradient_magnitude`).
    pub feature: String,
    /// SSD, NCC and MI on the finest level at the identity.
    pub before: super::metric::Similarity,
    /// The same at the result.
    pub after: super::metric::Similarity,
    /// Iterations per pyramid level.
    pub iterations_per_level: Vec<usize>,
    /// Why each level stopped.
    pub stop_reasons: Vec<String>,
    /// Wall-clock seconds of the registration (without loading).
    pub seconds: f64,
}

/// The JSON form of a transform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformFile {
    /// [`FORMAT`].
    pub format: String,
    /// What the matrices mean.
    pub convention: String,
    /// Free scale parameters.
    pub scale_model: ScaleModel,
    /// Centre of rotation (LPS mm).
    pub centre_mm: [f64; 3],
    /// Translation (mm).
    pub translation_mm: [f64; 3],
    /// Rotation vector (axis × angle, rad).
    pub rotation_vector_rad: [f64; 3],
    /// Unit rotation axis.
    pub rotation_axis: [f64; 3],
    /// Rotation angle in degrees.
    pub rotation_angle_deg: f64,
    /// The rotation as intrinsic Z-Y-X Euler angles (`R = Rz·Ry·Rx`), deg.
    pub euler_zyx_deg: [f64; 3],
    /// Scale factors along x, y, z.
    pub scale: [f64; 3],
    /// Fixed → moving, 4×4 row-major.
    pub moving_from_fixed: [f64; 16],
    /// Moving → fixed, 4×4 row-major.
    pub fixed_from_moving: [f64; 16],
    /// How the transform was found (absent for hand-made files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationSummary>,
}

/// Why a transform file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum TransformFileError {
    /// Not JSON of this shape.
    #[error("not a transform file: {0}")]
    Json(#[from] serde_json::Error),
    /// The matrices are not affine or not finite.
    #[error("{0} is not a finite affine 4x4 matrix (last row must be 0 0 0 1)")]
    NotAffine(&'static str),
    /// The two matrices are not inverse to each other.
    #[error(
        "moving_from_fixed and fixed_from_moving are not inverse to each other (error {0:.2e})"
    )]
    NotInverse(f64),
    /// Parameters and matrix disagree.
    #[error("the parameters do not reproduce moving_from_fixed (error {0:.2e} mm)")]
    Inconsistent(f64),
}

impl TransformFile {
    /// Parse and check a transform file; the parameters are the ones written
    /// and must agree with the matrices.
    pub fn parse(json: &str) -> Result<(Self, RigidTransform), TransformFileError> {
        let file: Self = serde_json::from_str(json)?;
        let forward = from_row_major(&file.moving_from_fixed)
            .ok_or(TransformFileError::NotAffine("moving_from_fixed"))?;
        let backward = from_row_major(&file.fixed_from_moving)
            .ok_or(TransformFileError::NotAffine("fixed_from_moving"))?;
        let round = forward * backward;
        let err = (round.matrix3 - DMat3::IDENTITY)
            .abs()
            .to_cols_array()
            .into_iter()
            .fold(0.0, f64::max)
            .max(round.translation.abs().max_element() / 1000.0);
        if err > 1e-6 {
            return Err(TransformFileError::NotInverse(err));
        }
        let s = DVec3::from_array(file.scale);
        let t = RigidTransform {
            centre_mm: DVec3::from_array(file.centre_mm),
            rotation_rad: DVec3::from_array(file.rotation_vector_rad),
            translation_mm: DVec3::from_array(file.translation_mm),
            log_scale: DVec3::new(s.x.ln(), s.y.ln(), s.z.ln()),
            scale_model: file.scale_model,
        };
        let m = t.moving_from_fixed();
        let err_mm = [
            DVec3::ZERO,
            DVec3::splat(200.0),
            DVec3::new(-200.0, 100.0, -50.0),
        ]
        .iter()
        .map(|&p| (m.transform_point3(p) - forward.transform_point3(p)).length())
        .fold(0.0, f64::max);
        if !err_mm.is_finite() || err_mm > 1e-4 {
            return Err(TransformFileError::Inconsistent(err_mm));
        }
        Ok((file, t))
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
