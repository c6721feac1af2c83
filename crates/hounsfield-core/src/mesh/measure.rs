//! Surface measures of a [`Mesh`]: area, enclosed volume, closedness and
//! orientation. Pure functions, no I/O.

use glam::DVec3;
use rayon::prelude::*;

use super::Mesh;

fn corners(mesh: &Mesh, t: &[u32; 3]) -> [DVec3; 3] {
    t.map(|i| DVec3::from(mesh.vertices_mm[i as usize].map(f64::from)))
}

/// Total triangle area in mm².
pub fn surface_area_mm2(mesh: &Mesh) -> f64 {
    mesh.triangles
        .par_iter()
        .map(|t| {
            let [a, b, c] = corners(mesh, t);
            0.5 * (b - a).cross(c - a).length()
        })
        .sum()
}

/// Volume enclosed by a closed mesh in mm³ (divergence theorem): positive
/// when the triangles wind counter-clockwise seen from outside, negative for
/// inverted winding; meaningless for an open mesh.
pub fn enclosed_volume_mm3(mesh: &Mesh) -> f64 {
    // Relative to the first vertex, for precision far from the origin.
    let o = mesh
        .vertices_mm
        .first()
        .map_or(DVec3::ZERO, |v| DVec3::from(v.map(f64::from)));
    mesh.triangles
        .par_iter()
        .map(|t| {
            let [a, b, c] = corners(mesh, t);
            (a - o).dot((b - o).cross(c - o)) / 6.0
        })
        .sum()
}

/// Sorted `(edge, count)` pairs; `directed` keeps the edge direction.
fn edge_counts(mesh: &Mesh, directed: bool) -> Vec<(u64, u32)> {
    let mut edges: Vec<u64> = mesh
        .triangles
        .par_iter()
        .flat_map_iter(|&[a, b, c]| {
            [(a, b), (b, c), (c, a)].into_iter().map(move |(u, v)| {
                let (u, v) = if directed || u < v { (u, v) } else { (v, u) };
                u64::from(u) << 32 | u64::from(v)
            })
        })
        .collect();
    edges.par_sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::new();
    for e in edges {
        match out.last_mut() {
            Some((last, n)) if *last == e => *n += 1,
            _ => out.push((e, 1)),
        }
    }
    out
}

/// True when every undirected edge is used by exactly two triangles (a
/// watertight, edge-manifold surface). An empty mesh counts as closed.
pub fn is_closed(mesh: &Mesh) -> bool {
    edge_counts(mesh, false).iter().all(|&(_, n)| n == 2)
}

/// True when no directed edge is used twice and every directed edge has its
/// reverse (neighbouring triangles wind the same way; implies closed).
pub fn is_consistently_oriented(mesh: &Mesh) -> bool {
    let counts = edge_counts(mesh, true);
    counts.par_iter().all(|&(e, n)| {
        let rev = e.rotate_left(32);
        n == 1 && counts.binary_search_by_key(&rev, |&(k, _)| k).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit tetrahedron wound outward.
    fn tetra() -> Mesh {
        Mesh {
            vertices_mm: vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            normals: vec![[0.0; 3]; 4],
            triangles: vec![[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]],
        }
    }

    #[test]
    fn tetrahedron_measures() {
        let m = tetra();
        assert!((enclosed_volume_mm3(&m) - 1.0 / 6.0).abs() < 1e-9);
        let area = 1.5 + 0.5 * 3f64.sqrt();
        assert!((surface_area_mm2(&m) - area).abs() < 1e-6);
        assert!(is_closed(&m) && is_consistently_oriented(&m));
        let mut flipped = m.clone();
        flipped.triangles[0] = [0, 1, 2];
        assert!(is_closed(&flipped) && !is_consistently_oriented(&flipped));
        let mut open = m;
        open.triangles.pop();
        assert!(!is_closed(&open));
    }
}
