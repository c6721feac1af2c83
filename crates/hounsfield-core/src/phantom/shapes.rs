//! Analytic solids in world millimetres (LPS) from which the phantom is built.
//!
//! Every shape answers "is this point inside?" exactly, so the phantom is
//! resolution-independent: a voxel takes the value of the solid containing its
//! centre (no partial-volume averaging).

use glam::{DVec2, DVec3};

/// An axis-aligned ellipsoid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ellipsoid {
    /// Centre, LPS mm.
    pub(crate) centre_mm: DVec3,
    /// Semi-axes along x, y, z in mm.
    pub(crate) semi_mm: DVec3,
}

impl Ellipsoid {
    pub(crate) const fn new(centre_mm: DVec3, semi_mm: DVec3) -> Self {
        Self { centre_mm, semi_mm }
    }

    /// A sphere.
    pub(crate) const fn sphere(centre_mm: DVec3, radius_mm: f64) -> Self {
        Self::new(centre_mm, DVec3::splat(radius_mm))
    }

    /// Squared normalised radius: `< 1` inside, `1` on the surface.
    pub(crate) fn norm2(&self, p: DVec3) -> f64 {
        ((p - self.centre_mm) / self.semi_mm).length_squared()
    }

    pub(crate) fn contains(&self, p: DVec3) -> bool {
        self.norm2(p) <= 1.0
    }

    /// The same ellipsoid with every semi-axis longer by `by_mm`.
    pub(crate) fn grown(&self, by_mm: f64) -> Self {
        Self::new(self.centre_mm, self.semi_mm + DVec3::splat(by_mm))
    }

    /// Highest z (mm) of the surface.
    pub(crate) fn top_mm(&self) -> f64 {
        self.centre_mm.z + self.semi_mm.z
    }
}

/// An infinite cylinder along z with an elliptic cross-section.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EllipticCylinder {
    /// Axis position in the axial plane, LPS mm.
    pub(crate) centre_mm: DVec2,
    /// Semi-axes along x and y in mm.
    pub(crate) semi_mm: DVec2,
}

impl EllipticCylinder {
    pub(crate) const fn new(centre_mm: DVec2, semi_mm: DVec2) -> Self {
        Self { centre_mm, semi_mm }
    }

    pub(crate) fn contains(&self, p: DVec3) -> bool {
        ((p.truncate() - self.centre_mm) / self.semi_mm).length_squared() <= 1.0
    }

    /// The same cylinder with both semi-axes shorter by `by_mm`.
    pub(crate) fn shrunk(&self, by_mm: f64) -> Self {
        Self::new(self.centre_mm, self.semi_mm - DVec2::splat(by_mm))
    }
}

/// A solid capsule: every point within `radius_mm` of the segment `a`–`b`.
/// Tubes along curves are chains of capsules.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Capsule {
    /// Segment start, LPS mm.
    pub(crate) a: DVec3,
    /// Segment end, LPS mm.
    pub(crate) b: DVec3,
    /// Radius in mm.
    pub(crate) radius_mm: f64,
}

impl Capsule {
    pub(crate) const fn new(a: DVec3, b: DVec3, radius_mm: f64) -> Self {
        Self { a, b, radius_mm }
    }

    /// Squared distance (mm²) from `p` to the axis segment.
    pub(crate) fn axis_dist2(&self, p: DVec3) -> f64 {
        let ab = self.b - self.a;
        let len2 = ab.length_squared();
        let t = if len2 > 0.0 {
            ((p - self.a).dot(ab) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (p - (self.a + ab * t)).length_squared()
    }

    /// True when `p` is within the radius grown by `margin_mm`.
    pub(crate) fn contains_grown(&self, p: DVec3, margin_mm: f64) -> bool {
        let r = self.radius_mm + margin_mm;
        self.axis_dist2(p) <= r * r
    }

    pub(crate) fn contains(&self, p: DVec3) -> bool {
        self.contains_grown(p, 0.0)
    }

    /// True when the capsule grown by `margin_mm` reaches the slab
    /// `z_lo..=z_hi` (mm).
    pub(crate) fn meets_z(&self, z_lo: f64, z_hi: f64, margin_mm: f64) -> bool {
        let r = self.radius_mm + margin_mm;
        self.a.z.min(self.b.z) - r <= z_hi && self.a.z.max(self.b.z) + r >= z_lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capsule_distance() {
        let c = Capsule::new(DVec3::ZERO, DVec3::new(10.0, 0.0, 0.0), 2.0);
        assert!(c.contains(DVec3::new(5.0, 1.9, 0.0)));
        assert!(!c.contains(DVec3::new(5.0, 2.1, 0.0)));
        assert!(c.contains(DVec3::new(11.9, 0.0, 0.0)));
        assert!(!c.contains(DVec3::new(12.1, 0.0, 0.0)));
        assert!(c.meets_z(1.9, 5.0, 0.0));
        assert!(!c.meets_z(2.1, 5.0, 0.0));
    }

    #[test]
    fn ellipsoid_inside() {
        let e = Ellipsoid::new(DVec3::new(1.0, 2.0, 3.0), DVec3::new(10.0, 5.0, 2.0));
        assert!(e.contains(DVec3::new(10.9, 2.0, 3.0)));
        assert!(!e.contains(DVec3::new(1.0, 7.1, 3.0)));
        assert!(e.grown(0.2).contains(DVec3::new(1.0, 2.0, 5.1)));
        assert!((e.top_mm() - 5.0).abs() < 1e-12);
    }
}
