//! Planar contours of a mask and back: the two pure halves of RTSTRUCT
//! reading and writing, in pixel coordinates of one slice.
//!
//! Coordinates are `[x, y] = [col, row]` in pixels, with pixel centres at
//! integer positions (pixel `(row, col)` covers `[col − ½, col + ½] ×
//! [row − ½, row + ½]`).
//!
//! - [`fill_even_odd`] rasterises closed polygons with the **even-odd rule**
//!   over all of them together: a pixel is set when a ray from its centre
//!   crosses the polygons' edges an odd number of times, so a contour inside
//!   another is a hole and two contours of one slice are two islands (as
//!   plastimatch and rt-utils read RTSTRUCTs). A centre exactly on an edge
//!   follows plastimatch's scan converter: edges are half-open in `y` (a
//!   row on a polygon's lowest `y` is in, on its highest out) and a centre
//!   on a left edge is outside, on a right edge inside. Such ties are the
//!   rule, not the exception, in files whose vertices are pixel centres
//!   (rt-utils writes those), so the convention decides which boundary
//!   pixels they keep.
//! - [`trace_contours`] turns a binary plane into closed polygons: marching
//!   squares at the voxel-boundary level (the 0.5 iso-line between
//!   foreground and background centres), one polygon per boundary, holes as
//!   their own polygons, collinear points dropped. Every pixel centre lies at
//!   least 0.35 px from every polygon edge, so [`fill_even_odd`] of the
//!   traced polygons gives back exactly the plane.

use ndarray::ArrayView2;

/// A closed polygon in pixel coordinates `[col, row]` (the last point
/// connects back to the first).
pub type Polygon = Vec<[f64; 2]>;

/// Rasterises `polygons` on a `rows × cols` plane with the even-odd rule;
/// returns the row-major pixel mask (`row · cols + col`). Polygons with
/// fewer than three points and non-finite points are ignored.
pub fn fill_even_odd(polygons: &[Polygon], rows: usize, cols: usize) -> Vec<bool> {
    let mut out = vec![false; rows * cols];
    if rows == 0 || cols == 0 {
        return out;
    }
    // Crossings per row: for each edge, the rows whose centre line it
    // crosses (half-open in y), with the x of the crossing.
    let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); rows];
    let max_row = (rows - 1) as f64;
    for poly in polygons {
        if poly.len() < 3 || poly.iter().flatten().any(|v| !v.is_finite()) {
            continue;
        }
        for (k, &a) in poly.iter().enumerate() {
            let b = poly[(k + 1) % poly.len()];
            let (lo, hi) = if a[1] <= b[1] { (a, b) } else { (b, a) };
            // A horizontal edge crosses no row centre line (exact: any slope is fine).
            if lo[1].total_cmp(&hi[1]).is_eq() {
                continue;
            }
            // Rows r with lo.y <= r < hi.y.
            let first = lo[1].ceil().max(0.0);
            let last = (hi[1].ceil() - 1.0).min(max_row);
            if first > last {
                continue;
            }
            let slope = (hi[0] - lo[0]) / (hi[1] - lo[1]);
            let mut r = first;
            while r <= last {
                crossings[r as usize].push(lo[0] + (r - lo[1]) * slope);
                r += 1.0;
            }
        }
    }
    let max_col = cols as f64;
    for (r, xs) in crossings.iter_mut().enumerate() {
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            // Columns c with x0 < c <= x1.
            let c0 = (pair[0].floor() + 1.0).clamp(0.0, max_col) as usize;
            let c1 = (pair[1].floor() + 1.0).clamp(0.0, max_col) as usize;
            if c0 < c1 {
                out[r * cols + c0..r * cols + c1].fill(true);
            }
        }
    }
    out
}

/// The closed contours of the set pixels of `plane` (`[row, col]`), in
/// pixel coordinates: outer boundaries and holes alike, each once. Outer
/// boundaries run clockwise on screen (rows down), holes counter-clockwise.
/// Diagonally touching pixels are separate islands (4-connectivity).
#[allow(clippy::needless_pass_by_value)] // array views are cheap handles, passed by value as in ndarray
pub fn trace_contours(plane: ArrayView2<'_, bool>) -> Vec<Polygon> {
    let (rows, cols) = plane.dim();
    let set = |r: isize, c: isize| {
        r >= 0
            && c >= 0
            && (r as usize) < rows
            && (c as usize) < cols
            && plane[[r as usize, c as usize]]
    };
    // Corners are lattice points (R, C), 0..=rows × 0..=cols, at pixel
    // coordinates (C − ½, R − ½). Each boundary side of a set pixel is a
    // directed edge with the pixel on its right (clockwise on screen).
    let corner_cols = cols + 1;
    let corner = |r: usize, c: usize| r * corner_cols + c;
    let mut next: Vec<[u32; 2]> = vec![[u32::MAX; 2]; (rows + 1) * corner_cols];
    let mut add = |from: usize, to: usize| {
        let slot = &mut next[from];
        if slot[0] == u32::MAX {
            slot[0] = to as u32;
        } else {
            slot[1] = to as u32;
        }
    };
    for r in 0..rows {
        for c in 0..cols {
            if !plane[[r, c]] {
                continue;
            }
            let (ri, ci) = (r as isize, c as isize);
            if !set(ri - 1, ci) {
                add(corner(r, c), corner(r, c + 1));
            }
            if !set(ri, ci + 1) {
                add(corner(r, c + 1), corner(r + 1, c + 1));
            }
            if !set(ri + 1, ci) {
                add(corner(r + 1, c + 1), corner(r + 1, c));
            }
            if !set(ri, ci - 1) {
                add(corner(r + 1, c), corner(r, c));
            }
        }
    }
    let point = |v: usize| [(v / corner_cols) as i64, (v % corner_cols) as i64];
    let mut out = Vec::new();
    for start in 0..next.len() {
        while next[start][0] != u32::MAX {
            // Walk one loop of corners, taking at each saddle the turn that
            // keeps diagonal pixels apart.
            let mut corners = vec![start];
            let mut prev = start;
            // The first edge out of a corner scanned in row-major order is
            // never at a saddle's second choice: any edge will do.
            let mut at = take(&mut next[start], [0, 1], point(start), corner_cols);
            while at != start {
                corners.push(at);
                let (p, here) = (point(prev), point(at));
                let incoming = [here[0] - p[0], here[1] - p[1]];
                let following = take(&mut next[at], incoming, here, corner_cols);
                prev = at;
                at = following;
            }
            out.push(midpoint_polygon(&corners, &point));
        }
    }
    out
}

/// Removes and returns an outgoing edge of a corner. At a saddle (two
/// edges out) the one turning right (around the pixel on the right of the
/// incoming edge) is taken, which keeps diagonally touching pixels apart.
fn take(slot: &mut [u32; 2], incoming: [i64; 2], here: [i64; 2], corner_cols: usize) -> usize {
    let pick = if slot[1] == u32::MAX {
        0
    } else {
        // Right of a (row, col) direction on screen (rows down).
        let right = [incoming[1], -incoming[0]];
        let score = |to: u32| {
            let to = to as usize;
            let d = [
                (to / corner_cols) as i64 - here[0],
                (to % corner_cols) as i64 - here[1],
            ];
            d[0] * right[0] + d[1] * right[1]
        };
        usize::from(score(slot[1]) > score(slot[0]))
    };
    let v = slot[pick];
    if pick == 0 {
        slot[0] = slot[1];
    }
    slot[1] = u32::MAX;
    v as usize
}

/// The polygon through the midpoints of the boundary edges between
/// successive `corners` (the 0.5 iso-line), without collinear points.
fn midpoint_polygon(corners: &[usize], point: &impl Fn(usize) -> [i64; 2]) -> Polygon {
    let n = corners.len();
    // Doubled lattice coordinates [row, col] of each edge midpoint.
    let mids: Vec<[i64; 2]> = (0..n)
        .map(|k| {
            let a = point(corners[k]);
            let b = point(corners[(k + 1) % n]);
            [a[0] + b[0], a[1] + b[1]]
        })
        .collect();
    let mut kept = Vec::with_capacity(n);
    for k in 0..n {
        let p = mids[(k + n - 1) % n];
        let q = mids[k];
        let r = mids[(k + 1) % n];
        let cross = (q[0] - p[0]) * (r[1] - q[1]) - (q[1] - p[1]) * (r[0] - q[0]);
        if cross != 0 {
            kept.push(q);
        }
    }
    // Doubled corner coordinates 2R map to pixel coordinates R − ½, so a
    // midpoint (R1 + R2) maps to (R1 + R2) / 2 − ½.
    kept.iter()
        .map(|&[r2, c2]| [c2 as f64 / 2.0 - 0.5, r2 as f64 / 2.0 - 0.5])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn plane(rows: &[&str]) -> Array2<bool> {
        let r = rows.len();
        let c = rows[0].len();
        Array2::from_shape_fn((r, c), |(i, j)| rows[i].as_bytes()[j] == b'#')
    }

    fn round_trip(p: &Array2<bool>) -> Vec<bool> {
        let polys = trace_contours(p.view());
        fill_even_odd(&polys, p.nrows(), p.ncols())
    }

    #[test]
    fn a_square_is_filled_by_pixel_centres() {
        // Square with corners at (1.5, 1.5) and (4.5, 3.5): columns 2..=4, rows 2..=3.
        let sq = vec![[1.5, 1.5], [4.5, 1.5], [4.5, 3.5], [1.5, 3.5]];
        let m = fill_even_odd(&[sq], 6, 7);
        let set: Vec<(usize, usize)> = (0..42).filter(|&i| m[i]).map(|i| (i / 7, i % 7)).collect();
        assert_eq!(set, vec![(2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4)]);
    }

    #[test]
    fn a_contour_inside_another_is_a_hole_and_two_apart_are_two_islands() {
        let outer = vec![[0.5, 0.5], [6.5, 0.5], [6.5, 6.5], [0.5, 6.5]];
        let inner = vec![[2.5, 2.5], [4.5, 2.5], [4.5, 4.5], [2.5, 4.5]];
        let far = vec![[8.5, 0.5], [9.5, 0.5], [9.5, 1.5], [8.5, 1.5]];
        let m = fill_even_odd(&[outer, inner, far], 8, 11);
        let at = |r: usize, c: usize| m[r * 11 + c];
        assert!(at(1, 1) && at(6, 6) && at(2, 2));
        assert!(!at(3, 3) && !at(4, 4), "hole");
        assert!(at(1, 9) && !at(1, 8) && !at(0, 0));
        assert_eq!(m.iter().filter(|&&v| v).count(), 36 - 4 + 1);
    }

    #[test]
    fn a_triangle_is_filled_as_point_in_polygon_says() {
        let tri = vec![[0.2, 0.1], [9.7, 2.3], [3.1, 8.8]];
        let m = fill_even_odd(std::slice::from_ref(&tri), 10, 10);
        for r in 0..10 {
            for c in 0..10 {
                let (x, y) = (c as f64, r as f64);
                let mut inside = false;
                for k in 0..3 {
                    let (a, b) = (tri[k], tri[(k + 1) % 3]);
                    if (a[1] <= y) != (b[1] <= y) {
                        let xc = a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
                        if x > xc {
                            inside = !inside;
                        }
                    }
                }
                assert_eq!(m[r * 10 + c], inside, "pixel ({r}, {c})");
            }
        }
    }

    #[test]
    fn tracing_then_filling_gives_back_the_plane_with_holes_islands_and_saddles() {
        let p = plane(&[
            "##########....",
            "#........#.##.",
            "#.######.#.##.",
            "#.#....#.#....",
            "#.#.##.#.#.#.#",
            "#.#....#.#..#.",
            "#.######.#.#.#",
            "#........#....",
            "##########..##",
            "............##",
        ]);
        assert_eq!(round_trip(&p), p.iter().copied().collect::<Vec<_>>());
        let polys = trace_contours(p.view());
        // Rings: outer+inner of the big frame, outer+inner of the middle
        // frame, the core, the 2×2 block, the 2×2 corner, and five single
        // pixels of the checker (diagonal neighbours are separate islands).
        assert_eq!(polys.len(), 2 + 2 + 1 + 1 + 1 + 5);
    }

    #[test]
    fn a_single_pixel_is_a_diamond_and_a_rectangle_keeps_only_its_chamfers() {
        let p = plane(&["...", ".#.", "..."]);
        let polys = trace_contours(p.view());
        assert_eq!(polys.len(), 1);
        let mut pts = polys[0].clone();
        pts.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(pts, vec![[0.5, 1.0], [1.0, 0.5], [1.0, 1.5], [1.5, 1.0]]);
        let r = plane(&["#####", "#####"]);
        let polys = trace_contours(r.view());
        assert_eq!(polys.len(), 1);
        assert_eq!(polys[0].len(), 8, "{:?}", polys[0]);
    }

    #[test]
    fn random_planes_round_trip_exactly() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..200 {
            let p = Array2::from_shape_fn((13, 17), |_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.is_multiple_of(3)
            });
            assert_eq!(round_trip(&p), p.iter().copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn empty_and_degenerate_input_give_nothing() {
        assert!(trace_contours(Array2::from_elem((0, 0), false).view()).is_empty());
        assert!(
            fill_even_odd(&[vec![[1.0, 1.0], [2.0, 2.0]]], 4, 4)
                .iter()
                .all(|&v| !v)
        );
        assert!(
            fill_even_odd(&[vec![[f64::NAN, 1.0], [2.0, 2.0], [3.0, 0.0]]], 4, 4)
                .iter()
                .all(|&v| !v)
        );
        assert!(fill_even_odd(&[], 0, 5).is_empty());
    }
}
