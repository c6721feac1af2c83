//! Voxel-grid placement in patient space (LPS, millimetres).
//!
//! A [`Geometry`] is the grid size plus the affine `world_from_voxel`, stored
//! as origin, per-axis spacing and a direction matrix whose columns are the
//! unit world directions of the voxel axes `(i, j, k) = (col, row, slice)`.
//! The slice axis need not be perpendicular to the in-plane axes (a gantry-tilted
//! stack is a sheared grid), so `direction` is not always orthonormal.

use glam::{DAffine3, DMat3, DVec3};
use serde::{Deserialize, Serialize};

/// Size and placement of a voxel grid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    /// Grid size as `[z, row, col]` (slices, rows, columns).
    pub dims: [usize; 3],
    /// Spacing in mm along `(i, j, k) = (col, row, slice)`.
    pub spacing_mm: DVec3,
    /// LPS position (mm) of the centre of voxel `(0, 0, 0)`.
    pub origin_mm: DVec3,
    /// Columns: unit LPS directions of the `i` (col), `j` (row) and `k`
    /// (slice) axes.
    pub direction: DMat3,
}

impl Geometry {
    /// Unit spacing, identity direction, origin at 0.
    pub fn identity(dims: [usize; 3]) -> Self {
        Self {
            dims,
            spacing_mm: DVec3::ONE,
            origin_mm: DVec3::ZERO,
            direction: DMat3::IDENTITY,
        }
    }

    /// Spacing as `[z, row, col]` in mm (the order of the array axes).
    pub fn spacing_zyx_mm(&self) -> [f64; 3] {
        [self.spacing_mm.z, self.spacing_mm.y, self.spacing_mm.x]
    }

    /// Affine mapping voxel index `(i, j, k) = (col, row, slice)` to LPS mm.
    pub fn world_from_voxel(&self) -> DAffine3 {
        DAffine3 {
            matrix3: self.direction * DMat3::from_diagonal(self.spacing_mm),
            translation: self.origin_mm,
        }
    }

    /// Inverse of [`Self::world_from_voxel`] (continuous voxel coordinates).
    pub fn voxel_from_world(&self) -> DAffine3 {
        self.world_from_voxel().inverse()
    }

    /// LPS mm of a (possibly fractional) voxel index `(col, row, slice)`.
    pub fn world_of_voxel(&self, index_in_voxel: DVec3) -> DVec3 {
        self.world_from_voxel().transform_point3(index_in_voxel)
    }

    /// Continuous voxel index `(col, row, slice)` of an LPS point.
    pub fn voxel_of_world(&self, point_in_world: DVec3) -> DVec3 {
        self.voxel_from_world().transform_point3(point_in_world)
    }

    /// Unit normal of the slice planes (row direction × column direction).
    pub fn slice_normal(&self) -> DVec3 {
        self.direction
            .x_axis
            .cross(self.direction.y_axis)
            .try_normalize()
            .unwrap_or(DVec3::Z)
    }

    /// Angle in degrees between the slice axis and the slice normal: 0 for an
    /// ordinary stack, the gantry tilt for a sheared one.
    pub fn shear_deg(&self) -> f64 {
        let cos = self
            .direction
            .z_axis
            .dot(self.slice_normal())
            .abs()
            .min(1.0);
        cos.acos().to_degrees()
    }

    /// Number of voxels.
    pub fn voxel_count(&self) -> usize {
        self.dims.iter().product()
    }

    /// Physical extent in mm along `(col, row, slice)`: distance between the
    /// centres of the first and last voxel.
    pub fn extent_mm(&self) -> DVec3 {
        let n = DVec3::new(
            self.dims[2].saturating_sub(1) as f64,
            self.dims[1].saturating_sub(1) as f64,
            self.dims[0].saturating_sub(1) as f64,
        );
        n * self.spacing_mm
    }

    /// LPS centre of the grid.
    pub fn centre_mm(&self) -> DVec3 {
        let n = DVec3::new(
            self.dims[2].saturating_sub(1) as f64,
            self.dims[1].saturating_sub(1) as f64,
            self.dims[0].saturating_sub(1) as f64,
        );
        self.world_of_voxel(n * 0.5)
    }

    /// Three-letter orientation code of the voxel axes (col, row, slice), each
    /// letter the LPS direction the axis most points to, e.g. `"LPS"` for a
    /// standard axial stack.
    pub fn orientation_code(&self) -> String {
        [
            self.direction.x_axis,
            self.direction.y_axis,
            self.direction.z_axis,
        ]
        .iter()
        .map(|a| axis_letter(*a))
        .collect()
    }
}

/// The LPS letter an axis direction points to most (`L`/`R`, `P`/`A`, `S`/`I`).
pub fn axis_letter(axis: DVec3) -> char {
    let a = axis.abs();
    if a.x >= a.y && a.x >= a.z {
        if axis.x >= 0.0 { 'L' } else { 'R' }
    } else if a.y >= a.z {
        if axis.y >= 0.0 { 'P' } else { 'A' }
    } else if axis.z >= 0.0 {
        'S'
    } else {
        'I'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_voxel_round_trip_with_shear() {
        let g = Geometry {
            dims: [10, 20, 30],
            spacing_mm: DVec3::new(0.5, 0.7, 2.0),
            origin_mm: DVec3::new(-100.0, 50.0, 10.0),
            direction: DMat3::from_cols(
                DVec3::X,
                DVec3::Y,
                DVec3::new(0.0, 0.2, 1.0).try_normalize().unwrap(),
            ),
        };
        let p = DVec3::new(3.5, 7.25, 4.0);
        let w = g.world_of_voxel(p);
        assert!((g.voxel_of_world(w) - p).length() < 1e-9);
        assert!((g.shear_deg() - 0.2f64.atan().to_degrees()).abs() < 1e-9);
        assert_eq!(g.orientation_code(), "LPS");
    }
}
