#![allow(clippy::unwrap_used)] // a panic is a test failure here
#![allow(clippy::float_cmp)] // known answers are exact

use ndarray::Array3;

use super::*;

/// Deterministic pseudo-random mask with roughly `density` set.
fn random_mask(shape: [usize; 3], density: f64, seed: u64) -> Array3<bool> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array3::from_shape_fn(shape, |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0 < density
    })
}

fn count(m: &Array3<bool>) -> usize {
    m.iter().filter(|&&b| b).count()
}

fn brute_distance_sq(m: &Array3<bool>, sp: [f64; 3], in_plane: bool) -> Array3<f64> {
    let set: Vec<(usize, usize, usize)> = m
        .indexed_iter()
        .filter(|(_, v)| **v)
        .map(|(i, _)| i)
        .collect();
    Array3::from_shape_fn(m.raw_dim(), |(z, y, x)| {
        set.iter()
            .filter(|p| !in_plane || p.0 == z)
            .map(|&(a, b, c)| {
                let d = [
                    (a as f64 - z as f64) * sp[0],
                    (b as f64 - y as f64) * sp[1],
                    (c as f64 - x as f64) * sp[2],
                ];
                d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
            })
            .fold(f64::INFINITY, f64::min)
    })
}

#[test]
fn edt_matches_brute_force_on_anisotropic_grids() {
    for (seed, sp) in [
        (1, [2.5, 0.7, 1.3]),
        (2, [1.0, 1.0, 1.0]),
        (3, [0.5, 3.0, 0.9]),
    ] {
        let m = random_mask([7, 9, 11], 0.05, seed);
        let d = distance_sq_mm(m.view(), sp).unwrap();
        let b = brute_distance_sq(&m, sp, false);
        for (x, y) in d.iter().zip(b.iter()) {
            assert!((f64::from(*x) - y).abs() <= 1e-4 * y.max(1.0), "{x} vs {y}");
        }
        let d2 = distance_sq_mm_in_plane(m.view(), sp).unwrap();
        let b2 = brute_distance_sq(&m, sp, true);
        for (x, y) in d2.iter().zip(b2.iter()) {
            assert!(
                (f64::from(*x) - y).abs() <= 1e-4 * y.max(1.0)
                    || (x.is_infinite() && y.is_infinite())
            );
        }
    }
}

#[test]
fn edt_of_empty_mask_is_infinite() {
    let m = Array3::from_elem((2, 3, 4), false);
    let d = distance_sq_mm(m.view(), [1.0; 3]).unwrap();
    assert!(d.iter().all(|v| v.is_infinite()));
    assert!(distance_sq_mm(m.view(), [0.0, 1.0, 1.0]).is_err());
}

#[test]
fn ball_on_anisotropic_grid_has_the_hand_counted_voxels() {
    // Slices 2 mm apart, pixels 1 mm, radius 2 mm: in the centre slice the
    // offsets with dy² + dx² ≤ 4 (13 of them), one voxel above and below.
    let mut m = Array3::from_elem((5, 7, 7), false);
    m[[2, 3, 3]] = true;
    let d = dilate(m.view(), [2.0, 1.0, 1.0], Element::Ball { radius_mm: 2.0 }).unwrap();
    assert_eq!(count(&d), 15);
    assert!(d[[1, 3, 3]] && d[[3, 3, 3]] && !d[[1, 3, 4]] && d[[2, 1, 3]] && !d[[2, 1, 4]]);
    // A disk of the same radius stays in its slice.
    let disk = dilate(m.view(), [2.0, 1.0, 1.0], Element::Disk { radius_mm: 2.0 }).unwrap();
    assert_eq!(count(&disk), 13);
    // A box with half-sizes (0, 1, 2) mm: 3 rows × 5 columns.
    let bx = Element::Box {
        half_zyx_mm: [0.0, 1.0, 2.0],
    };
    assert_eq!(count(&dilate(m.view(), [2.0, 1.0, 1.0], bx).unwrap()), 15);
}

/// Erosion and dilation by definition: every element offset checked.
fn brute_morph(m: &Array3<bool>, offsets: &[[i64; 3]], dilation: bool) -> Array3<bool> {
    let sh = m.shape();
    Array3::from_shape_fn(m.raw_dim(), |(z, y, x)| {
        let mut hit = !dilation;
        for o in offsets {
            let p = [z as i64 + o[0], y as i64 + o[1], x as i64 + o[2]];
            let inside = (0..3).all(|a| p[a] >= 0 && (p[a] as usize) < sh[a]);
            let v = if inside {
                m[[p[0] as usize, p[1] as usize, p[2] as usize]]
            } else {
                !dilation
            };
            if dilation && v {
                hit = true;
            }
            if !dilation && !v {
                hit = false;
            }
        }
        hit
    })
}

fn offsets(sp: [f64; 3], e: Element) -> Vec<[i64; 3]> {
    let mut out = Vec::new();
    for dz in -12i64..=12 {
        for dy in -12i64..=12 {
            for dx in -12i64..=12 {
                let d = [dz as f64 * sp[0], dy as f64 * sp[1], dx as f64 * sp[2]];
                let ok = match e {
                    Element::Ball { radius_mm } => {
                        d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= radius_mm * radius_mm + 1e-9
                    }
                    Element::Disk { radius_mm } => {
                        dz == 0 && d[1] * d[1] + d[2] * d[2] <= radius_mm * radius_mm + 1e-9
                    }
                    Element::Box { half_zyx_mm } => {
                        (0..3).all(|a| d[a].abs() <= half_zyx_mm[a] + 1e-9)
                    }
                };
                if ok {
                    out.push([dz, dy, dx]);
                }
            }
        }
    }
    out
}

#[test]
fn erosion_and_dilation_match_their_definition() {
    let sp = [2.0, 0.8, 1.1];
    // Balls and disks up to 8 voxels take the bit-packed path, larger ones
    // the distance transform.
    let elements = [
        Element::Ball { radius_mm: 2.3 },
        Element::Ball { radius_mm: 6.0 },
        Element::Disk { radius_mm: 6.5 },
        Element::Ball { radius_mm: 8.5 },
        Element::Disk { radius_mm: 7.5 },
        Element::Disk { radius_mm: 1.7 },
        Element::Box {
            half_zyx_mm: [2.0, 1.0, 2.5],
        },
    ];
    for (seed, density) in [(5, 0.3), (6, 0.7), (7, 0.05)] {
        let m = random_mask([6, 10, 9], density, seed);
        for e in elements {
            let off = offsets(sp, e);
            assert_eq!(
                dilate(m.view(), sp, e).unwrap(),
                brute_morph(&m, &off, true),
                "{e:?}"
            );
            assert_eq!(
                erode(m.view(), sp, e).unwrap(),
                brute_morph(&m, &off, false),
                "{e:?}"
            );
        }
    }
}

#[test]
fn closing_fills_a_gap_and_keeps_the_border() {
    let mut m = Array3::from_elem((1, 5, 9), true);
    m[[0, 2, 4]] = false;
    let c = close(m.view(), [1.0; 3], Element::Disk { radius_mm: 1.0 }).unwrap();
    assert!(
        c.iter().all(|&b| b),
        "the gap closes and the border does not erode"
    );
    let e = erode(m.view(), [1.0; 3], Element::Disk { radius_mm: 1.0 }).unwrap();
    assert_eq!(count(&e), 45 - 5);
    let o = open(m.view(), [1.0; 3], Element::Disk { radius_mm: 1.0 }).unwrap();
    assert!(!o[[0, 2, 4]]);
    let empty = Array3::from_elem((2, 2, 2), false);
    assert_eq!(
        dilate(empty.view(), [1.0; 3], Element::Ball { radius_mm: 3.0 }).unwrap(),
        empty
    );
    assert!(dilate(empty.view(), [1.0; 3], Element::Ball { radius_mm: -1.0 }).is_err());
}

/// Components by breadth-first search, as a partition of the set voxels.
fn brute_labels(m: &Array3<bool>, conn: Connectivity) -> Array3<u32> {
    let sh = m.shape();
    let mut out = Array3::<u32>::zeros(m.raw_dim());
    let mut next = 0;
    for start in m.indexed_iter().filter(|(_, v)| **v).map(|(i, _)| i) {
        if out[start] != 0 {
            continue;
        }
        next += 1;
        out[start] = next;
        let mut stack = vec![start];
        while let Some((z, y, x)) = stack.pop() {
            for dz in -1i64..=1 {
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let n = dz.abs() + dy.abs() + dx.abs();
                        let ok = match conn {
                            Connectivity::Face => n == 1,
                            Connectivity::Full => n > 0,
                            Connectivity::SliceFace => dz == 0 && n == 1,
                            Connectivity::SliceFull => dz == 0 && n > 0,
                        };
                        let p = [z as i64 + dz, y as i64 + dy, x as i64 + dx];
                        if !ok || (0..3).any(|a| p[a] < 0 || p[a] as usize >= sh[a]) {
                            continue;
                        }
                        let q = (p[0] as usize, p[1] as usize, p[2] as usize);
                        if m[q] && out[q] == 0 {
                            out[q] = next;
                            stack.push(q);
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn labelling_matches_flood_fill_for_every_connectivity() {
    for (seed, density) in [(11, 0.2), (12, 0.45), (13, 0.6)] {
        let m = random_mask([6, 12, 13], density, seed);
        for conn in [
            Connectivity::Face,
            Connectivity::Full,
            Connectivity::SliceFace,
            Connectivity::SliceFull,
        ] {
            let c = label(m.view(), conn);
            // Both number components in scan order, so the arrays are equal.
            assert_eq!(c.labels(), brute_labels(&m, conn), "{conn:?} seed {seed}");
            let total: usize = c.stats.iter().map(|s| s.voxels).sum();
            assert_eq!(total, count(&m));
        }
    }
}

#[test]
fn component_statistics_and_largest() {
    let mut m = Array3::from_elem((3, 4, 5), false);
    m[[0, 0, 0]] = true; // touches the side and the first slice
    for x in 1..4 {
        m[[1, 2, x]] = true; // 3 voxels, inside
    }
    let c = label(m.view(), Connectivity::Face);
    assert_eq!(c.len(), 2);
    assert_eq!(c.largest(), Some(2));
    assert_eq!(c.by_size(), vec![2, 1]);
    let s = c.get(2).unwrap();
    assert_eq!((s.voxels, s.lo, s.hi), (3, [1, 2, 1], [1, 2, 3]));
    assert_eq!(s.centroid_zyx(), [1.0, 2.0, 2.0]);
    assert!(!s.touches_side([3, 4, 5]) && !s.touches_end([3, 4, 5]));
    assert!(c.get(1).unwrap().touches_side([3, 4, 5]));
    assert_eq!(count(&largest_component(m.view(), Connectivity::Face)), 3);
    let empty = Array3::from_elem((2, 2, 2), false);
    assert!(label(empty.view(), Connectivity::Full).is_empty());
    assert_eq!(
        count(&largest_component(empty.view(), Connectivity::Full)),
        0
    );
}

#[test]
fn holes_are_filled_in_2d_and_3d() {
    // A hollow 5×5×5 cube in a 7×7×7 array: its inside is a 3-D hole; in
    // 2-D only the middle slices (rings) have holes.
    let mut m = Array3::from_elem((7, 7, 7), false);
    for z in 1..6 {
        for y in 1..6 {
            for x in 1..6 {
                let shell = [z, y, x].iter().any(|&v| v == 1 || v == 5);
                m[[z, y, x]] = shell;
            }
        }
    }
    let f3 = fill_holes_3d(m.view());
    assert_eq!(count(&f3), 125);
    let f2 = fill_holes_2d(m.view());
    assert_eq!(count(&f2), 125);
    // Open the lid: no 3-D hole any more, the 2-D holes remain.
    m[[5, 3, 3]] = false;
    assert_eq!(count(&fill_holes_3d(m.view())), count(&m));
    assert_eq!(count(&fill_holes_2d(m.view())), 125);
    // A notch reaching the array border is not a hole.
    let mut n = Array3::from_elem((1, 3, 3), true);
    n[[0, 1, 1]] = false;
    n[[0, 1, 0]] = false;
    assert_eq!(count(&fill_holes_2d(n.view())), 7);
}
