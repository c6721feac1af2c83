//! The chest anatomy of the phantom, laid out in world millimetres (LPS).
//!
//! World origin is the centre of the chest: `x` grows towards the patient's
//! left, `y` towards posterior, `z` towards superior. Organs are analytic
//! solids ([`super::shapes`]); a point takes the label of the first solid
//! containing it in a fixed priority order (bone, airway, heart, aorta,
//! tumour, liver, fat shell, lungs and their vessels, mediastinum, soft
//! tissue), see [`SlabAnatomy::classify`].
//!
//! The layout is fixed (it does not depend on the phantom seed): the branching
//! vessel and small-airway trees come from a private constant seed.

use std::f64::consts::{FRAC_PI_2, TAU};

use glam::{DVec2, DVec3};

use super::rng::SplitMix64;
use super::shapes::{Capsule, Ellipsoid, EllipticCylinder};
use super::{
    HU_AIR, HU_AORTA, HU_FAT, HU_LIVER, HU_RIB, HU_SOFT_TISSUE, HU_TABLE, HU_TUMOUR, LABEL_AIRWAY,
    LABEL_BACKGROUND, LABEL_BODY, LABEL_BONE, LABEL_HEART, LABEL_LEFT_LUNG, LABEL_LIVER,
    LABEL_RIGHT_LUNG, LABEL_TABLE, LABEL_TUMOUR, LABEL_VESSEL,
};

/// Seed of the vessel and small-airway trees (fixed: anatomy never changes).
const TREE_SEED: u64 = 0x0C0F_FEE5;

/// Tracheal bifurcation, LPS mm.
pub(crate) const CARINA_MM: DVec3 = DVec3::new(-4.0, 12.0, 40.0);
/// Centre of the hypodense liver tumour, LPS mm.
pub(crate) const TUMOUR_CENTRE_MM: DVec3 = DVec3::new(-70.0, 15.0, -90.0);
/// Radius of the tumour sphere, mm.
pub(crate) const TUMOUR_RADIUS_MM: f64 = 16.0;
/// Centre of the heart ellipsoid, LPS mm (left, anterior, low).
pub(crate) const HEART_CENTRE_MM: DVec3 = DVec3::new(25.0, -40.0, -18.0);
/// Centre of the liver ellipsoid, LPS mm (right, low).
pub(crate) const LIVER_CENTRE_MM: DVec3 = DVec3::new(-65.0, -5.0, -100.0);
/// Top of the aortic arch axis, LPS mm.
pub(crate) const AORTIC_ARCH_MM: DVec3 = DVec3::new(28.0, 15.0, 70.0);
/// Centre of the vertebral body at `z = 0`, LPS mm.
pub(crate) const VERTEBRA_MM: DVec3 = DVec3::new(0.0, 55.0, 0.0);

// Spine: vertebral bodies of height 23 mm separated by 5 mm discs; z = 0 is
// the middle of a body.
const VERTEBRA_PERIOD_MM: f64 = 28.0;
const VERTEBRA_HEIGHT_MM: f64 = 23.0;
// Ribs: elliptic arcs around (0, RIB_Y_MM) sloping down anteriorly.
const RIB_Y_MM: f64 = 5.0;
const RIB_SEMI_MM: DVec2 = DVec2::new(145.0, 90.0);
const RIB_DROP_MM: f64 = 30.0;
const RIB_HALF_THICKNESS_MM: f64 = 3.5;
const RIB_HALF_HEIGHT_MM: f64 = 5.0;
// Lung fissures: the oblique fissure plane contains the x axis and passes
// through (y, z) = (70, OBLIQUE_Z); the horizontal one is z = HORIZONTAL_Z.
const FISSURE_HALF_MM: f64 = 1.5;
const OBLIQUE_NORMAL_YZ: DVec2 = DVec2::new(0.678, -0.735);
const HORIZONTAL_FISSURE_Z_MM: f64 = 10.0;
// Thinnest vessel or airway branch: thinner ones would break up into
// isolated voxels at the default 2.7 mm pixel size.
const MIN_BRANCH_RADIUS_MM: f64 = 2.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Right,
    Left,
}

/// One airway segment: an air-filled lumen inside a soft-tissue wall.
#[derive(Clone, Copy, Debug)]
struct Airway {
    lumen: Capsule,
    wall_mm: f64,
}

/// The whole chest, in world mm.
pub(crate) struct Anatomy {
    body: EllipticCylinder,
    body_inner: EllipticCylinder,
    rib_levels_mm: Vec<f64>,
    lung_cage: EllipticCylinder,
    right_lung: Ellipsoid,
    left_lung: Ellipsoid,
    heart: Ellipsoid,
    heart_notch: Ellipsoid,
    liver: Ellipsoid,
    tumour: Ellipsoid,
    mediastinum: Ellipsoid,
    oesophagus: Capsule,
    airways: Vec<Airway>,
    aorta: Vec<Capsule>,
    vessels: Vec<Capsule>,
}

impl Anatomy {
    /// The fixed chest layout, trees included.
    pub(crate) fn chest() -> Self {
        let heart = Ellipsoid::new(HEART_CENTRE_MM, DVec3::new(55.0, 45.0, 50.0));
        let body = EllipticCylinder::new(DVec2::ZERO, DVec2::new(165.0, 115.0));
        let rib_cage = EllipticCylinder::new(DVec2::new(0.0, RIB_Y_MM), RIB_SEMI_MM);
        let mut anatomy = Self {
            body,
            body_inner: body.shrunk(15.0),
            rib_levels_mm: (0..11).map(|i| 125.0 - 26.0 * f64::from(i)).collect(),
            lung_cage: rib_cage.shrunk(8.0),
            right_lung: Ellipsoid::new(DVec3::new(-75.0, 5.0, 15.0), DVec3::new(58.0, 80.0, 100.0)),
            left_lung: Ellipsoid::new(DVec3::new(72.0, 10.0, 22.0), DVec3::new(50.0, 72.0, 92.0)),
            heart,
            heart_notch: heart.grown(6.0),
            liver: Ellipsoid::new(LIVER_CENTRE_MM, DVec3::new(85.0, 75.0, 55.0)),
            tumour: Ellipsoid::sphere(TUMOUR_CENTRE_MM, TUMOUR_RADIUS_MM),
            mediastinum: Ellipsoid::new(
                DVec3::new(5.0, -20.0, 20.0),
                DVec3::new(50.0, 80.0, 110.0),
            ),
            oesophagus: Capsule::new(
                DVec3::new(6.0, 30.0, 400.0),
                DVec3::new(6.0, 30.0, -80.0),
                8.0,
            ),
            airways: Vec::new(),
            aorta: aorta(),
            vessels: Vec::new(),
        };
        let mut rng = SplitMix64::new(TREE_SEED);
        anatomy.airways = anatomy.airway_tree(&mut rng);
        anatomy.vessels = anatomy.vessel_trees(&mut rng);
        anatomy
    }

    /// Top of the liver (the right hemidiaphragm dome), LPS mm.
    pub(crate) fn liver_dome_mm(&self) -> DVec3 {
        DVec3::new(
            self.liver.centre_mm.x,
            self.liver.centre_mm.y,
            self.liver.top_mm(),
        )
    }

    /// The parts of the anatomy that can reach the axial slab `z_lo..=z_hi`
    /// (mm), for fast classification of the points in it.
    pub(crate) fn slab(&self, z_lo: f64, z_hi: f64) -> SlabAnatomy<'_> {
        SlabAnatomy {
            anatomy: self,
            airways: self
                .airways
                .iter()
                .filter(|a| a.lumen.meets_z(z_lo, z_hi, a.wall_mm))
                .copied()
                .collect(),
            aorta: self
                .aorta
                .iter()
                .filter(|c| c.meets_z(z_lo, z_hi, 0.0))
                .copied()
                .collect(),
            vessels: self
                .vessels
                .iter()
                .filter(|c| c.meets_z(z_lo, z_hi, 0.0))
                .copied()
                .collect(),
            ribs_mm: self
                .rib_levels_mm
                .iter()
                .copied()
                .filter(|&z| {
                    z - RIB_DROP_MM - RIB_HALF_HEIGHT_MM <= z_hi && z + RIB_HALF_HEIGHT_MM >= z_lo
                })
                .collect(),
        }
    }

    fn in_liver(&self, p: DVec3) -> bool {
        self.liver.contains(p) && self.lung_cage.contains(p)
    }

    /// Which lung contains `p` (before vessels and airways are carved out).
    pub(crate) fn lung_side(&self, p: DVec3) -> Option<Side> {
        if !self.lung_cage.contains(p) || self.heart_notch.contains(p) || self.in_liver(p) {
            None
        } else if self.right_lung.contains(p) {
            Some(Side::Right)
        } else if self.left_lung.contains(p) {
            Some(Side::Left)
        } else {
            None
        }
    }

    /// Trachea, main and lobar bronchi, then two generations of random
    /// segmental branches kept inside their lung.
    fn airway_tree(&self, rng: &mut SplitMix64) -> Vec<Airway> {
        let p = |x, y, z| DVec3::new(x, y, z);
        let tube = |a, b, r, wall_mm| Airway {
            lumen: Capsule::new(a, b, r),
            wall_mm,
        };
        let right_main_end = p(-24.0, 16.0, 10.0);
        let left_main_end = p(34.0, 16.0, 16.0);
        let intermedius_end = p(-34.0, 18.0, -8.0);
        let mut out = vec![
            tube(p(-4.0, 10.0, 400.0), CARINA_MM, 9.0, 2.0),
            tube(CARINA_MM, right_main_end, 6.5, 1.5),
            tube(CARINA_MM, left_main_end, 5.5, 1.5),
            tube(right_main_end, intermedius_end, 5.0, 1.2),
        ];
        // (start, end, lumen radius, side) of the lobar bronchi.
        let lobar = [
            (p(-14.0, 14.0, 25.0), p(-50.0, 12.0, 52.0), 4.0, Side::Right),
            (intermedius_end, p(-62.0, -25.0, -22.0), 3.5, Side::Right),
            (intermedius_end, p(-68.0, 38.0, -38.0), 4.0, Side::Right),
            (left_main_end, p(62.0, -12.0, 42.0), 4.0, Side::Left),
            (left_main_end, p(70.0, 38.0, -38.0), 4.0, Side::Left),
        ];
        let mut small = Vec::new();
        for (a, b, r, side) in lobar {
            out.push(tube(a, b, r, 1.2));
            let dir = (b - a).try_normalize().unwrap_or(DVec3::NEG_Z);
            let len = (b - a).length() * 0.75;
            self.grow(rng, &mut small, b, dir, len, r * 0.75, 2, side);
        }
        out.extend(small.into_iter().map(|c| tube(c.a, c.b, c.radius_mm, 1.0)));
        out
    }

    /// Pulmonary arteries and veins: trunks from the heart, then branching
    /// trees from each hilum kept inside their lung.
    fn vessel_trees(&self, rng: &mut SplitMix64) -> Vec<Capsule> {
        let p = |x, y, z| DVec3::new(x, y, z);
        let trunk = p(8.0, -30.0, 28.0);
        let atrium = p(15.0, -5.0, 5.0);
        let hila = [
            // (heart end, hilum, trunk radius, side, initial directions)
            (
                trunk,
                p(-30.0, 2.0, 18.0),
                9.0,
                Side::Right,
                &[
                    p(-0.4, 0.0, 1.0),
                    p(-1.0, -0.2, 0.2),
                    p(-0.3, -1.0, -0.2),
                    p(-0.4, 0.6, -1.0),
                    p(-0.5, -0.3, -1.0),
                ][..],
            ),
            (
                trunk,
                p(28.0, -2.0, 26.0),
                8.0,
                Side::Left,
                &[
                    p(0.4, 0.0, 1.0),
                    p(1.0, -0.1, 0.2),
                    p(0.5, -1.0, 0.1),
                    p(0.4, 0.6, -1.0),
                    p(0.6, 0.1, -1.0),
                ][..],
            ),
            (
                atrium,
                p(-28.0, -6.0, 0.0),
                7.0,
                Side::Right,
                &[
                    p(-0.5, -0.3, 0.8),
                    p(-1.0, 0.0, -0.1),
                    p(-0.4, 0.5, -1.0),
                    p(-0.4, -0.6, -0.8),
                ][..],
            ),
            (
                atrium,
                p(32.0, 8.0, 2.0),
                7.0,
                Side::Left,
                &[
                    p(0.4, -0.3, 0.9),
                    p(1.0, 0.0, 0.0),
                    p(0.4, 0.6, -1.0),
                    p(0.6, -0.5, -0.7),
                ][..],
            ),
        ];
        let mut out = Vec::new();
        for (from, hilum, radius_mm, side, dirs) in hila {
            out.push(Capsule::new(from, hilum, radius_mm));
            for &d in dirs {
                let dir = d.try_normalize().unwrap_or(DVec3::Z);
                self.grow_one(rng, &mut out, hilum, dir, 35.0, 5.0, 4, side);
            }
        }
        out
    }

    /// Two children of a branch ending at `start` with direction `dir`, each
    /// deviating 20°–45° on opposite sides, recursively for `depth`
    /// generations.
    #[allow(clippy::too_many_arguments)]
    fn grow(
        &self,
        rng: &mut SplitMix64,
        out: &mut Vec<Capsule>,
        start: DVec3,
        dir: DVec3,
        len_mm: f64,
        radius_mm: f64,
        depth: u32,
        side: Side,
    ) {
        if depth == 0 {
            return;
        }
        let phi = rng.range(0.0, TAU);
        for child in 0..2 {
            let angle = rng.range(20.0, 45.0).to_radians();
            let twist = phi + f64::from(child) * std::f64::consts::PI;
            let d = deviate(dir, angle, twist);
            self.grow_one(rng, out, start, d, len_mm, radius_mm, depth, side);
        }
    }

    /// One branch from `start` along `dir` (kept only if its middle and end
    /// lie in the `side` lung), then its children.
    #[allow(clippy::too_many_arguments)]
    fn grow_one(
        &self,
        rng: &mut SplitMix64,
        out: &mut Vec<Capsule>,
        start: DVec3,
        dir: DVec3,
        len_mm: f64,
        radius_mm: f64,
        depth: u32,
        side: Side,
    ) {
        let end = start + dir * len_mm;
        let mid = start + dir * (0.5 * len_mm);
        if self.lung_side(end) != Some(side) || self.lung_side(mid) != Some(side) {
            return;
        }
        out.push(Capsule::new(start, end, radius_mm));
        let child_radius = (radius_mm * 0.75).max(MIN_BRANCH_RADIUS_MM);
        self.grow(
            rng,
            out,
            end,
            dir,
            len_mm * 0.75,
            child_radius,
            depth - 1,
            side,
        );
    }
}

/// `dir` turned by `angle` (rad) towards the perpendicular selected by
/// `twist` (rad).
fn deviate(dir: DVec3, angle: f64, twist: f64) -> DVec3 {
    let u = dir.any_orthonormal_vector();
    let v = dir.cross(u);
    let w = u * twist.cos() + v * twist.sin();
    dir * angle.cos() + w * angle.sin()
}

/// Ascending aorta from the heart, the arch over the left main bronchus, and
/// the descending aorta left of the spine.
fn aorta() -> Vec<Capsule> {
    let p = |x, y, z| DVec3::new(x, y, z);
    let pts = [
        (p(10.0, -22.0, 15.0), 14.0),
        (p(12.0, -22.0, 55.0), 13.5),
        (p(22.0, -10.0, 68.0), 13.0),
        (AORTIC_ARCH_MM, 12.5),
        (p(30.0, 38.0, 58.0), 12.0),
        (p(30.0, 38.0, -400.0), 12.0),
    ];
    pts.windows(2)
        .map(|w| Capsule::new(w[0].0, w[1].0, w[0].1))
        .collect()
}

/// The anatomy restricted to one axial slab (see [`Anatomy::slab`]).
pub(crate) struct SlabAnatomy<'a> {
    anatomy: &'a Anatomy,
    airways: Vec<Airway>,
    aorta: Vec<Capsule>,
    vessels: Vec<Capsule>,
    ribs_mm: Vec<f64>,
}

impl SlabAnatomy<'_> {
    /// Label and noise-free HU of the world point `p` (LPS mm), which must lie
    /// in the slab this was built for.
    pub(crate) fn classify(&self, p: DVec3) -> (u8, f32) {
        let a = self.anatomy;
        if !a.body.contains(p) {
            let on_table = p.x.abs() <= 160.0 && (122.0..=134.0).contains(&p.y);
            return if on_table {
                (LABEL_TABLE, HU_TABLE)
            } else {
                (LABEL_BACKGROUND, HU_AIR)
            };
        }
        if let Some(hu) = self.bone_hu(p) {
            return (LABEL_BONE, hu);
        }
        if self.airways.iter().any(|t| t.lumen.contains(p)) {
            return (LABEL_AIRWAY, HU_AIR);
        }
        if self
            .airways
            .iter()
            .any(|t| t.lumen.contains_grown(p, t.wall_mm))
        {
            return (LABEL_BODY, HU_SOFT_TISSUE);
        }
        if a.heart.contains(p) {
            return (LABEL_HEART, HU_SOFT_TISSUE);
        }
        if self.aorta.iter().any(|c| c.contains(p)) {
            return (LABEL_VESSEL, HU_AORTA);
        }
        if a.tumour.contains(p) {
            return (LABEL_TUMOUR, HU_TUMOUR);
        }
        if a.in_liver(p) {
            return (LABEL_LIVER, HU_LIVER);
        }
        if !a.body_inner.contains(p) {
            return (LABEL_BODY, HU_FAT);
        }
        let in_vessel = || self.vessels.iter().any(|c| c.contains(p));
        if let Some(side) = a.lung_side(p) {
            return if in_vessel() {
                (LABEL_VESSEL, HU_SOFT_TISSUE)
            } else {
                let label = match side {
                    Side::Right => LABEL_RIGHT_LUNG,
                    Side::Left => LABEL_LEFT_LUNG,
                };
                (label, lung_hu(side, p))
            };
        }
        if a.oesophagus.contains(p) {
            return (LABEL_BODY, HU_SOFT_TISSUE);
        }
        if p.y < 38.0 && a.mediastinum.contains(p) {
            return if in_vessel() {
                (LABEL_VESSEL, HU_SOFT_TISSUE)
            } else {
                (LABEL_BODY, HU_FAT)
            };
        }
        (LABEL_BODY, HU_SOFT_TISSUE)
    }

    /// HU of bone at `p`, or `None` when `p` is not in bone.
    fn bone_hu(&self, p: DVec3) -> Option<f32> {
        const CORTICAL: f32 = 400.0;
        const TRABECULAR: f32 = 200.0;
        let (x, y, z) = (p.x, p.y, p.z);

        // Spine: vertebral body (cortical shell, trabecular core) and, at the
        // same levels, the neural arch with spinous and transverse processes.
        let phase = (z + 0.5 * VERTEBRA_HEIGHT_MM).rem_euclid(VERTEBRA_PERIOD_MM);
        let in_level = phase < VERTEBRA_HEIGHT_MM;
        let dy = y - VERTEBRA_MM.y;
        if (x / 20.0).powi(2) + (dy / 16.0).powi(2) <= 1.0 {
            if !in_level {
                return None; // intervertebral disc
            }
            let core = (x / 17.5).powi(2) + (dy / 13.5).powi(2) <= 1.0
                && phase > 1.5
                && phase < VERTEBRA_HEIGHT_MM - 1.5;
            return Some(if core { TRABECULAR } else { CORTICAL });
        }
        if in_level && y > 66.0 {
            let r = x.hypot(y - 82.0);
            if r < 9.0 {
                return None; // spinal canal
            }
            let arch = r <= 14.5;
            let spinous = x.abs() <= 3.5 && (82.0..=100.0).contains(&y);
            let transverse = (14.0..=34.0).contains(&x.abs()) && (y - 76.0).abs() <= 5.0;
            if arch || spinous || transverse {
                return Some(CORTICAL);
            }
        }

        // Sternum.
        if x.abs() <= 13.0 && (-95.0..=-85.0).contains(&y) && (-75.0..=85.0).contains(&z) {
            return Some(CORTICAL);
        }

        // Ribs: arcs on an ellipse, posterior end at the rib level, sloping
        // down anteriorly, with a costal-cartilage gap at the front and the
        // spine at the back.
        if self.ribs_mm.is_empty() {
            return None;
        }
        let q = DVec2::new(x / RIB_SEMI_MM.x, (y - RIB_Y_MM) / RIB_SEMI_MM.y);
        let rho = q.length();
        if !(0.9..=1.1).contains(&rho) {
            return None;
        }
        let theta = q.y.atan2(q.x);
        if (theta + FRAC_PI_2).abs() < 0.5 || (theta - FRAC_PI_2).abs() < 0.22 {
            return None;
        }
        let (s, c) = theta.sin_cos();
        // Distance to the ellipse along its normal, to first order.
        let d_r = (rho - 1.0) / ((c / RIB_SEMI_MM.x).powi(2) + (s / RIB_SEMI_MM.y).powi(2)).sqrt();
        let rib_z_offset = RIB_DROP_MM * 0.5 * (1.0 - s);
        self.ribs_mm
            .iter()
            .any(|&level| {
                let dz = z - (level - rib_z_offset);
                (d_r / RIB_HALF_THICKNESS_MM).powi(2) + (dz / RIB_HALF_HEIGHT_MM).powi(2) <= 1.0
            })
            .then_some(HU_RIB)
    }
}

/// Noise-free HU of lung parenchyma: lobes differ slightly (dependent lower
/// lobes denser), fissures are thin denser sheets.
fn lung_hu(side: Side, p: DVec3) -> f32 {
    let oblique_z = match side {
        Side::Right => 60.0,
        Side::Left => 65.0,
    };
    let d = OBLIQUE_NORMAL_YZ.dot(DVec2::new(p.y - 70.0, p.z - oblique_z));
    if d.abs() < FISSURE_HALF_MM {
        return -600.0;
    }
    match side {
        _ if d > 0.0 => -838.0, // lower lobes
        Side::Left => -855.0,   // left upper lobe
        Side::Right if (p.z - HORIZONTAL_FISSURE_Z_MM).abs() < FISSURE_HALF_MM => -600.0,
        Side::Right if p.z > HORIZONTAL_FISSURE_Z_MM => -862.0, // right upper lobe
        Side::Right => -848.0,                                  // right middle lobe
    }
}
