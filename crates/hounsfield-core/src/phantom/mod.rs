//! A deterministic synthetic chest CT with known labels.
//!
//! [`chest`] renders an analytic chest (air, patient table, fat shell, soft
//! tissue, two asymmetric lungs with fissures and vessels, trachea and
//! bronchi, heart, aorta, spine, ribs, sternum, liver with a hypodense tumour)
//! into an `i16` HU [`Volume`] plus a `u8` label array of the same shape.
//! It is the test bed for loaders, MPR, projections, segmentation and
//! registration.
//!
//! This module imports only `volume`, ndarray, glam and rayon: no I/O, no UI.
//!
//! # Conventions and invariants
//! - The anatomy is defined in **world millimetres, LPS** (x → patient left,
//!   y → posterior, z → superior), with the chest centred on the world origin,
//!   so it does not depend on the voxel grid: changing `dims` or `spacing_mm`
//!   resamples the same patient. The grid is centred on the origin too.
//! - Each voxel takes the label and HU of the solid containing its centre (no
//!   partial-volume averaging), then Gaussian noise is added. With
//!   `noise_hu = 0` every label has a small fixed set of HU values.
//! - The phantom is asymmetric along every axis, so orientation errors show:
//!   the liver is on the patient's right (−x) and low (−z), the heart left
//!   (+x) and anterior (−y), the spine posterior (+y), the trachea at the top
//!   (+z), the table behind the patient (+y).
//! - Output is bit-identical for equal parameters whatever the thread count:
//!   noise comes from a splitmix64 stream seeded per slice.

mod anatomy;
pub(crate) mod rng;
mod shapes;
#[cfg(test)]
mod tests;

use glam::{DMat3, DVec3};
use ndarray::{Array3, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::volume::{Geometry, Volume};

use self::anatomy::Anatomy;
use self::rng::SplitMix64;

/// Label: outside the patient and the table (air).
pub const LABEL_BACKGROUND: u8 = 0;
/// Label: body not otherwise labelled (subcutaneous and mediastinal fat,
/// muscle, airway walls, oesophagus, spinal canal, discs).
pub const LABEL_BODY: u8 = 1;
/// Label: right lung parenchyma (patient's right, −x), three lobes.
pub const LABEL_RIGHT_LUNG: u8 = 2;
/// Label: left lung parenchyma (patient's left, +x), two lobes.
pub const LABEL_LEFT_LUNG: u8 = 3;
/// Label: air in the trachea and bronchi.
pub const LABEL_AIRWAY: u8 = 4;
/// Label: heart.
pub const LABEL_HEART: u8 = 5;
/// Label: liver (without the tumour).
pub const LABEL_LIVER: u8 = 6;
/// Label: hypodense liver tumour.
pub const LABEL_TUMOUR: u8 = 7;
/// Label: bone (vertebrae, ribs, sternum).
pub const LABEL_BONE: u8 = 8;
/// Label: patient table.
pub const LABEL_TABLE: u8 = 9;
/// Label: vessels (aorta, pulmonary arteries and veins).
pub const LABEL_VESSEL: u8 = 10;

/// HU of air (outside, airways) before noise.
pub const HU_AIR: f32 = -1000.0;
/// HU of fat (subcutaneous shell, mediastinum) before noise.
pub const HU_FAT: f32 = -100.0;
/// HU of soft tissue, heart, pulmonary vessels and airway walls before noise.
pub const HU_SOFT_TISSUE: f32 = 40.0;
/// Nominal mean HU of lung parenchyma (lobes range −862 to −838, fissures −600).
pub const HU_LUNG: f32 = -850.0;
/// HU of liver before noise.
pub const HU_LIVER: f32 = 60.0;
/// HU of the hypodense tumour before noise.
pub const HU_TUMOUR: f32 = 20.0;
/// HU of the contrast-filled aorta before noise.
pub const HU_AORTA: f32 = 150.0;
/// HU of rib bone before noise (vertebrae and sternum: 400 cortical, 200
/// trabecular).
pub const HU_RIB: f32 = 700.0;
/// HU of the plastic patient table before noise.
pub const HU_TABLE: f32 = 200.0;

/// Radius of the spherical liver tumour, mm.
pub const TUMOUR_RADIUS_MM: f64 = anatomy::TUMOUR_RADIUS_MM;

/// Landmark name: tracheal bifurcation.
pub const LANDMARK_CARINA: &str = "carina";
/// Landmark name: centre of the liver tumour.
pub const LANDMARK_TUMOUR: &str = "tumour_centre";
/// Landmark name: centre of the heart.
pub const LANDMARK_HEART: &str = "heart_centre";
/// Landmark name: top of the liver dome (right hemidiaphragm).
pub const LANDMARK_LIVER_DOME: &str = "liver_dome";
/// Landmark name: top of the aortic arch (axis).
pub const LANDMARK_AORTIC_ARCH: &str = "aortic_arch";
/// Landmark name: centre of the vertebral body at `z = 0`.
pub const LANDMARK_VERTEBRA: &str = "vertebral_body_z0";

/// Largest gantry tilt honoured, degrees; larger values are clamped.
pub const MAX_TILT_DEG: f64 = 80.0;

/// Parameters of [`chest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhantomParams {
    /// Grid size as `[z, row, col]` (slices, rows, columns).
    pub dims: [usize; 3],
    /// Voxel spacing in mm along `(col, row, slice)`; must be positive. The
    /// slice value is the distance between slice planes, also when tilted.
    pub spacing_mm: DVec3,
    /// Seed of the noise (the anatomy never changes).
    pub seed: u64,
    /// Standard deviation of the Gaussian noise in HU; `0` for none.
    pub noise_hu: f32,
    /// Gantry tilt in degrees: the slice axis is sheared towards posterior
    /// (+y) by this angle while slices stay axial; `0` for an ordinary stack.
    /// Clamped to ±[`MAX_TILT_DEG`].
    pub tilt_deg: f64,
}

impl Default for PhantomParams {
    /// 96 slices of 128 × 128, 2.5 mm slices, 2.734 mm pixels (350 mm field
    /// of view), 10 HU noise, seed 42, no tilt.
    fn default() -> Self {
        Self {
            dims: [96, 128, 128],
            spacing_mm: DVec3::new(350.0 / 128.0, 350.0 / 128.0, 2.5),
            seed: 42,
            noise_hu: 10.0,
            tilt_deg: 0.0,
        }
    }
}

impl PhantomParams {
    /// The default patient and field of view (350 × 350 × 240 mm) sampled
    /// on a `[z, row, col]` grid of `dims`: every organ stays inside.
    pub fn with_dims(dims: [usize; 3]) -> Self {
        let d = Self::default();
        let scale = |axis: usize| d.dims[axis] as f64 / dims[axis].max(1) as f64;
        Self {
            dims,
            spacing_mm: DVec3::new(
                d.spacing_mm.x * scale(2),
                d.spacing_mm.y * scale(1),
                d.spacing_mm.z * scale(0),
            ),
            ..d
        }
    }
}

/// A rendered phantom: HU volume and labels on the same grid.
#[derive(Clone, Debug)]
pub struct Phantom {
    /// HU voxels (`i16`, `[z, row, col]`) and geometry.
    pub volume: Volume,
    /// One `LABEL_*` value per voxel, `[z, row, col]`.
    pub labels: Array3<u8>,
    /// Every label value with its name, ascending.
    pub label_names: Vec<(u8, &'static str)>,
}

/// Every label value with its name, ascending.
pub fn label_names() -> Vec<(u8, &'static str)> {
    vec![
        (LABEL_BACKGROUND, "background"),
        (LABEL_BODY, "body"),
        (LABEL_RIGHT_LUNG, "right lung"),
        (LABEL_LEFT_LUNG, "left lung"),
        (LABEL_AIRWAY, "airway"),
        (LABEL_HEART, "heart"),
        (LABEL_LIVER, "liver"),
        (LABEL_TUMOUR, "tumour"),
        (LABEL_BONE, "bone"),
        (LABEL_TABLE, "table"),
        (LABEL_VESSEL, "vessel"),
    ]
}

/// The voxel grid of the phantom for `params`, centred on the world origin.
///
/// Axial slices (`direction` columns `+x`, `+y`); the slice axis is
/// `(0, sin t, cos t)` for tilt `t`, with spacing `spacing_mm.z / cos t` so
/// slice planes stay `spacing_mm.z` apart.
pub fn geometry(params: &PhantomParams) -> Geometry {
    let tilt_rad = params
        .tilt_deg
        .clamp(-MAX_TILT_DEG, MAX_TILT_DEG)
        .to_radians();
    let (sin, cos) = tilt_rad.sin_cos();
    let direction = DMat3::from_cols(DVec3::X, DVec3::Y, DVec3::new(0.0, sin, cos));
    let spacing_mm = DVec3::new(
        params.spacing_mm.x,
        params.spacing_mm.y,
        params.spacing_mm.z / cos,
    );
    let [nz, ny, nx] = params.dims;
    let half_index = DVec3::new(
        nx.saturating_sub(1) as f64,
        ny.saturating_sub(1) as f64,
        nz.saturating_sub(1) as f64,
    ) * 0.5;
    let origin_mm = -(direction * (spacing_mm * half_index));
    Geometry {
        dims: params.dims,
        spacing_mm,
        origin_mm,
        direction,
    }
}

/// Renders the chest phantom (parallel over slices).
///
/// ```
/// use hounsfield_core::phantom::{chest, PhantomParams, LABEL_LIVER};
/// let params = PhantomParams { dims: [12, 32, 32], spacing_mm: glam::DVec3::new(11.0, 11.0, 20.0), ..Default::default() };
/// let p = chest(&params);
/// assert_eq!(p.volume.shape(), [12, 32, 32]);
/// assert!(p.labels.iter().any(|&l| l == LABEL_LIVER));
/// ```
pub fn chest(params: &PhantomParams) -> Phantom {
    let geometry = geometry(params);
    let [nz, ny, nx] = params.dims;
    let anatomy = Anatomy::chest();
    let world_from_voxel = geometry.world_from_voxel();
    let step_col = world_from_voxel.matrix3.x_axis;
    let step_row = world_from_voxel.matrix3.y_axis;
    let noise_hu = f64::from(params.noise_hu);
    let noisy = noise_hu > 0.0 && noise_hu.is_finite();

    let mut hu = Array3::<i16>::zeros((nz, ny, nx));
    let mut labels = Array3::<u8>::zeros((nz, ny, nx));
    hu.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(labels.axis_iter_mut(Axis(0)).into_par_iter())
        .enumerate()
        .for_each(|(k, (mut hu_slice, mut label_slice))| {
            let base = world_from_voxel.transform_point3(DVec3::new(0.0, 0.0, k as f64));
            let far_col = step_col * nx.saturating_sub(1) as f64;
            let far_row = step_row * ny.saturating_sub(1) as f64;
            let corner_z = [
                base.z,
                (base + far_col).z,
                (base + far_row).z,
                (base + far_col + far_row).z,
            ];
            let z_lo = corner_z.iter().copied().fold(f64::INFINITY, f64::min);
            let z_hi = corner_z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let slab = anatomy.slab(z_lo, z_hi);
            let mut rng = SplitMix64::for_stream(params.seed, k as u64);
            for (((j, i), v), l) in hu_slice.indexed_iter_mut().zip(label_slice.iter_mut()) {
                let p = base + step_col * i as f64 + step_row * j as f64;
                let (label, clean_hu) = slab.classify(p);
                let value = if noisy {
                    f64::from(clean_hu) + noise_hu * rng.gaussian()
                } else {
                    f64::from(clean_hu)
                };
                *v = value.round().clamp(-1024.0, 3071.0) as i16;
                *l = label;
            }
        });

    Phantom {
        volume: Volume::from_i16(hu, geometry),
        labels,
        label_names: label_names(),
    }
}

/// Named anatomical points in world mm (LPS), for tests: carina, tumour
/// centre, heart centre, liver dome, aortic arch and a vertebral body (see
/// the `LANDMARK_*` names). The anatomy does not move with `params`; points
/// outside the field of view of `params` are left out.
pub fn landmarks(params: &PhantomParams) -> Vec<(&'static str, DVec3)> {
    let anatomy = Anatomy::chest();
    let geometry = geometry(params);
    let [nz, ny, nx] = params.dims;
    let limits = DVec3::new(nx as f64, ny as f64, nz as f64) - 0.5;
    [
        (LANDMARK_CARINA, anatomy::CARINA_MM),
        (LANDMARK_TUMOUR, anatomy::TUMOUR_CENTRE_MM),
        (LANDMARK_HEART, anatomy::HEART_CENTRE_MM),
        (LANDMARK_LIVER_DOME, anatomy.liver_dome_mm()),
        (LANDMARK_AORTIC_ARCH, anatomy::AORTIC_ARCH_MM),
        (LANDMARK_VERTEBRA, anatomy::VERTEBRA_MM),
    ]
    .into_iter()
    .filter(|(_, p)| {
        let v = geometry.voxel_of_world(*p);
        v.cmpge(DVec3::splat(-0.5)).all() && v.cmple(limits).all()
    })
    .collect()
}
