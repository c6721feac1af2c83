//! The crosshair point in 3D: three short axis-aligned bars through the
//! point (red along L–R, green along P–A, blue along S–I), drawn unlit by the
//! mesh pipeline with the depth test, so surfaces in front hide it.

use glam::DVec3;

use super::camera::OrbitCamera;
use crate::mesh::Mesh;

/// Half length of each bar, pixels.
pub const ARM_PX: f64 = 8.0;
/// Thickness of each bar, pixels.
pub const THICKNESS_PX: f64 = 2.0;

/// Linear RGBA of the bars along LPS x, y and z.
pub const AXIS_RGBA: [[f32; 4]; 3] = [
    [1.0, 0.0, 0.0, 1.0],
    [0.0, 1.0, 0.0, 1.0],
    [0.0, 0.3, 1.0, 1.0],
];

/// The marker at `point_mm` sized for `camera` (bars of [`ARM_PX`] half
/// length and [`THICKNESS_PX`] thickness at its scale), one box mesh per
/// axis with its colour; normals are zero (the pipeline draws them unlit).
pub fn crosshair_meshes(point_mm: DVec3, camera: &OrbitCamera) -> [(Mesh, [f32; 4]); 3] {
    let arm = ARM_PX * camera.mm_per_px;
    let half_t = THICKNESS_PX * camera.mm_per_px / 2.0;
    std::array::from_fn(|axis| {
        let mut half = DVec3::splat(half_t);
        half[axis] = arm;
        (box_mesh(point_mm, half), AXIS_RGBA[axis])
    })
}

/// An axis-aligned box of half extents `half` about `centre` (12 triangles).
fn box_mesh(centre: DVec3, half: DVec3) -> Mesh {
    let vertices_mm = (0..8)
        .map(|c| {
            let s = DVec3::new(
                if c & 1 == 0 { -1.0 } else { 1.0 },
                if c & 2 == 0 { -1.0 } else { 1.0 },
                if c & 4 == 0 { -1.0 } else { 1.0 },
            );
            (centre + s * half).as_vec3().to_array()
        })
        .collect();
    let quads: [[u32; 4]; 6] = [
        [0, 2, 3, 1],
        [4, 5, 7, 6],
        [0, 1, 5, 4],
        [2, 6, 7, 3],
        [0, 4, 6, 2],
        [1, 3, 7, 5],
    ];
    let triangles = quads
        .iter()
        .flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]])
        .collect();
    Mesh {
        vertices_mm,
        normals: vec![[0.0; 3]; 8],
        triangles,
    }
}
