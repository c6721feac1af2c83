//! Marching-cubes case tables, generated once from the cube's topology
//! instead of typed in.
//!
//! For each of the 256 corner configurations and each choice on its
//! ambiguous faces (a face whose inside corners are diagonal), the surface is
//! built from face segments: on every face the crossing edges are paired, the
//! pairs chained into closed loops around the cube and each loop triangulated
//! as a fan whose diagonals never join two crossings of one face (else a
//! diagonal could coincide with the neighbouring cube's face segment); a loop
//! with no such fan (several joined faces, MC33's cases 7, 10, 12, 13) gets a
//! centre vertex at its centroid and a star of triangles. Because a face's segments depend only on that face's four values
//! (the asymptotic decider, see [`join_inside`]), the two cubes sharing a face
//! always agree and the surface has no cracks: a closed object gives a
//! watertight mesh. Unambiguous configurations give the same polygons (and
//! triangle counts) as the Lorensen–Cline tables.
//!
//! Conventions (voxel index space, right-handed):
//! - corner `c = dx + 2·dy + 4·dz`;
//! - edges `0..4` run along x at `(dy, dz) = (e & 1, e >> 1)`, `4..8` along y at
//!   `(dx, dz)`, `8..12` along z at `(dx, dy)`; an edge starts at its lower corner;
//! - faces `2·axis + side`;
//! - triangles wind counter-clockwise seen from the outside (the side of lower
//!   values), so `(b − a) × (c − a)` points out of the object.

use std::sync::OnceLock;

/// Corners `(low, high)` of each edge.
pub const EDGE_CORNERS: [(u8, u8); 12] = {
    let mut t = [(0u8, 0u8); 12];
    let mut e = 0;
    while e < 4 {
        let (a, b) = ((e & 1) as u8, (e >> 1) as u8);
        // x edges: (0, a, b) – (1, a, b)
        t[e] = (2 * a + 4 * b, 1 + 2 * a + 4 * b);
        // y edges: (a, 0, b) – (a, 1, b)
        t[4 + e] = (a + 4 * b, a + 2 + 4 * b);
        // z edges: (a, b, 0) – (a, b, 1)
        t[8 + e] = (a + 2 * b, a + 2 * b + 4);
        e += 1;
    }
    t
};

/// The four corners of each face, counter-clockwise seen from outside the cube.
pub const FACE_CORNERS: [[u8; 4]; 6] = {
    let mut t = [[0u8; 4]; 6];
    let mut f = 0;
    while f < 6 {
        let (axis, side) = (f / 2, f % 2);
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let uv = [(0, 0), (1, 0), (1, 1), (0, 1)];
        let mut i = 0;
        while i < 4 {
            let (cu, cv) = if side == 1 { uv[i] } else { uv[3 - i] };
            let mut c = side << axis;
            c |= cu << u;
            c |= cv << v;
            t[f][i] = c as u8;
            i += 1;
        }
        f += 1;
    }
    t
};

/// The edge joining two corners that differ in one axis.
const fn edge_of(a: u8, b: u8) -> usize {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let mut e = 0;
    while e < 12 {
        if EDGE_CORNERS[e].0 == lo && EDGE_CORNERS[e].1 == hi {
            return e;
        }
        e += 1;
    }
    usize::MAX
}

/// Whether an ambiguous face joins its two inside corners, from the corner
/// values relative to the level (`a = value − level`, inside when `a ≥ 0`)
/// in face order: the bilinear saddle lies inside exactly when the product of
/// the inside diagonal exceeds the product of the outside one. Symmetric in
/// the corner order, so both cubes sharing the face decide alike.
#[inline]
pub fn join_inside(a: [f32; 4]) -> bool {
    let (p_in, p_out) = if a[0] >= 0.0 {
        (a[0] * a[2], a[1] * a[3])
    } else {
        (a[1] * a[3], a[0] * a[2])
    };
    p_in > p_out
}

/// The generated tables.
pub struct Tables {
    /// Per configuration: bit `f` set when face `f` is ambiguous.
    pub ambiguous: [u8; 256],
    /// The case of `config · 64 + face decisions`.
    pub cases: Vec<Case>,
    /// Triangles as edge triples (`12 + m`: the case's centre vertex `m`).
    pub triangles: Vec<[u8; 3]>,
    /// Edges of the loops whose centroid is a centre vertex.
    pub centre_edges: Vec<u8>,
}

/// One configuration with its face decisions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Case {
    /// First triangle in [`Tables::triangles`].
    pub tri_start: u32,
    /// Number of triangles.
    pub tri_len: u8,
    /// Centre loops: `(start in centre_edges, len)`; at most two.
    pub centres: [(u32, u8); 2],
    /// Number of centre loops.
    pub n_centres: u8,
}

impl Tables {
    /// The case of a configuration with the given decisions (bit `f` set:
    /// ambiguous face `f` joins its inside corners).
    #[inline]
    pub fn case(&self, config: u8, decisions: u8) -> &Case {
        &self.cases[usize::from(config) * 64 + usize::from(decisions)]
    }

    /// A case's triangles.
    #[inline]
    pub fn triangles_of(&self, case: &Case) -> &[[u8; 3]] {
        let start = case.tri_start as usize;
        &self.triangles[start..start + usize::from(case.tri_len)]
    }

    /// The edges of centre loop `m` of a case.
    #[inline]
    pub fn centre_loop(&self, case: &Case, m: usize) -> &[u8] {
        let (start, len) = case.centres[m];
        &self.centre_edges[start as usize..start as usize + usize::from(len)]
    }

    /// The triangles of a configuration (tests).
    pub fn tris(&self, config: u8, decisions: u8) -> &[[u8; 3]] {
        self.triangles_of(self.case(config, decisions))
    }
}

/// The tables (built on first use).
pub fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(build)
}

fn build() -> Tables {
    let mut ambiguous = [0u8; 256];
    let mut cases = Vec::with_capacity(256 * 64);
    let mut triangles = Vec::new();
    let mut centre_edges = Vec::new();
    for (config, amb) in ambiguous.iter_mut().enumerate() {
        for (f, corners) in FACE_CORNERS.iter().enumerate() {
            let inside = corners.map(|c| config >> c & 1 == 1);
            if inside[0] == inside[2] && inside[1] == inside[3] && inside[0] != inside[1] {
                *amb |= 1 << f;
            }
        }
        for decisions in 0..64u8 {
            let start = triangles.len() as u32;
            let mut centres = Vec::new();
            triangulate(config as u8, decisions, &mut triangles, &mut centres);
            assert!(centres.len() <= 2, "more than two centre loops");
            let mut case = Case {
                tri_start: start,
                tri_len: (triangles.len() - start as usize) as u8,
                n_centres: centres.len() as u8,
                ..Case::default()
            };
            for (m, c) in centres.iter().enumerate() {
                case.centres[m] = (centre_edges.len() as u32, c.len() as u8);
                centre_edges.extend_from_slice(c);
            }
            cases.push(case);
        }
    }
    Tables {
        ambiguous,
        cases,
        triangles,
        centre_edges,
    }
}

/// Face segments → loops → fans for one configuration. Loops that need a
/// centre vertex are added to `centres`; their triangles use edge id
/// `12 + index in centres`.
fn triangulate(config: u8, decisions: u8, out: &mut Vec<[u8; 3]>, centres: &mut Vec<Vec<u8>>) {
    let inside = |c: u8| config >> c & 1 == 1;
    // next[e]: the crossing edge that follows e along the oriented surface.
    let mut next = [usize::MAX; 12];
    for (f, corners) in FACE_CORNERS.iter().enumerate() {
        let edge = |i: usize| edge_of(corners[i % 4], corners[(i + 1) % 4]);
        let exits: Vec<usize> = (0..4)
            .filter(|&i| inside(corners[i]) && !inside(corners[(i + 1) % 4]))
            .collect();
        let join = decisions >> f & 1 == 1 && exits.len() == 2;
        for &i in &exits {
            // The entry before the exit (its inside run), or the one after
            // it when an ambiguous face joins its inside corners.
            let entry = if join { (i + 1) % 4 } else { (i + 3) % 4 };
            let entry = if exits.len() == 1 {
                (0..4)
                    .find(|&j| !inside(corners[j]) && inside(corners[(j + 1) % 4]))
                    .unwrap_or(entry)
            } else {
                entry
            };
            next[edge(entry)] = edge(i);
        }
    }
    let faces_of = |e: usize| -> [usize; 2] {
        let mut fs = [usize::MAX; 2];
        let mut n = 0;
        for (f, corners) in FACE_CORNERS.iter().enumerate() {
            let (a, b) = EDGE_CORNERS[e];
            if corners.contains(&a) && corners.contains(&b) {
                fs[n] = f;
                n += 1;
            }
        }
        fs
    };
    let share_face = |a: usize, b: usize| {
        let (fa, fb) = (faces_of(a), faces_of(b));
        fa.iter().any(|f| fb.contains(f))
    };
    let mut seen = [false; 12];
    for e0 in 0..12 {
        if next[e0] == usize::MAX || seen[e0] {
            continue;
        }
        let mut lp = Vec::new();
        let mut e = e0;
        while !seen[e] {
            seen[e] = true;
            lp.push(e);
            e = next[e];
        }
        let n = lp.len();
        // A fan whose diagonals never join two crossings of one face, so no
        // diagonal can coincide with a neighbouring cube's face segment.
        let start = (0..n).find(|&s| (2..n - 1).all(|k| !share_face(lp[s], lp[(s + k) % n])));
        let Some(start) = start else {
            // No such fan (loops through several joined faces): a star
            // around a vertex at the loop's centroid, as MC33 does.
            let centre = 12 + centres.len() as u8;
            centres.push(lp.iter().map(|&e| e as u8).collect());
            for k in 0..n {
                out.push([centre, lp[k] as u8, lp[(k + 1) % n] as u8]);
            }
            continue;
        };
        for k in 1..n - 1 {
            out.push([
                lp[start] as u8,
                lp[(start + k) % n] as u8,
                lp[(start + k + 1) % n] as u8,
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corner_pos(c: u8) -> [f32; 3] {
        [
            f32::from(c & 1),
            f32::from(c >> 1 & 1),
            f32::from(c >> 2 & 1),
        ]
    }

    fn mid(e: u8) -> glam::Vec3 {
        let (a, b) = EDGE_CORNERS[usize::from(e)];
        (glam::Vec3::from(corner_pos(a)) + glam::Vec3::from(corner_pos(b))) * 0.5
    }

    #[test]
    fn single_corner_points_away_from_it() {
        for c in 0..8u8 {
            let t = tables().tris(1 << c, 0);
            assert_eq!(t.len(), 1);
            let [a, b, d] = t[0].map(mid);
            let n = (b - a).cross(d - a);
            let inside = glam::Vec3::from(corner_pos(c));
            assert!(n.dot(a - inside) > 0.0, "corner {c}");
            // The complement faces the other way.
            let t = tables().tris(!(1 << c), 0);
            let [a, b, d] = t[0].map(mid);
            assert!((b - a).cross(d - a).dot(a - inside) < 0.0);
        }
    }

    #[test]
    fn counts_match_lorensen_cline_for_unambiguous_cases() {
        let t = tables();
        assert!(t.tris(0, 0).is_empty() && t.tris(255, 0).is_empty());
        // Two adjacent corners: a quad; three on a face: a pentagon.
        assert_eq!(t.tris(0b0000_0011, 0).len(), 2);
        assert_eq!(t.tris(0b0000_0111, 0).len(), 3);
        // A whole face: a quad.
        assert_eq!(t.tris(0b0000_1111, 0).len(), 2);
        // Two diagonal corners of a face: separated or joined.
        assert_eq!(t.ambiguous[0b0000_1001].count_ones(), 1);
        assert_eq!(t.tris(0b0000_1001, 0).len(), 2);
        assert_eq!(t.tris(0b0000_1001, 1 << 4).len(), 4);
    }
}
