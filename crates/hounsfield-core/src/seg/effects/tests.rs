//! Known-answer tests of the effects on small asymmetric phantoms with
//! anisotropic spacing: hand-counted results, and a brute-force morphology
//! (every voxel against every offset of the element, outside = background).

#![allow(clippy::unwrap_used)] // a panic is a test failure here

use ndarray::{Array3, s};

use super::*;
use crate::seg::edit::replace_mask;
use crate::seg::{Mask, Segment, Segmentation};
use crate::volume::Geometry;

const SPACING: [f64; 3] = [2.5, 0.8, 0.6];

fn n_set(a: &Array3<bool>) -> usize {
    a.iter().filter(|&&b| b).count()
}

/// An asymmetric phantom on a 7 × 13 × 17 grid: an off-centre ellipsoid
/// touching the first slice and the last column, a thin bar, a speck and a
/// cavity.
fn phantom() -> Array3<bool> {
    let (nz, ny, nx) = (7, 13, 17);
    let mut m = Array3::from_elem((nz, ny, nx), false);
    for ((z, y, x), v) in m.indexed_iter_mut() {
        let (dz, dy, dx) = (
            (z as f64 - 1.0) * SPACING[0] / 6.0,
            (y as f64 - 5.0) * SPACING[1] / 4.0,
            (x as f64 - 12.0) * SPACING[2] / 3.1,
        );
        let inside = dz * dz + dy * dy + dx * dx <= 1.0;
        let cavity = z == 1 && y == 5 && (11..=12).contains(&x);
        let bar = z == 4 && y == 10 && (1..9).contains(&x);
        let speck = (z, y, x) == (6, 1, 2);
        *v = (inside && !cavity) || bar || speck;
    }
    m
}

/// Brute force: the offsets with `|d ⊙ spacing|² ≤ limit`, dilation and
/// erosion over every voxel, the outside as background.
fn brute(m: &Array3<bool>, r: f64, in_plane: bool, op: MorphOp) -> Array3<bool> {
    let limit = r * r * (1.0 + 1e-6) + 1e-9;
    let mut offsets = Vec::new();
    for dz in -5i64..=5 {
        for dy in -12i64..=12 {
            for dx in -16i64..=16 {
                let d2 = (dz as f64 * SPACING[0]).powi(2)
                    + (dy as f64 * SPACING[1]).powi(2)
                    + (dx as f64 * SPACING[2]).powi(2);
                if d2 <= limit && !(in_plane && dz != 0) {
                    offsets.push([dz, dy, dx]);
                }
            }
        }
    }
    let at = |a: &Array3<bool>, p: [i64; 3]| -> bool {
        let sh = a.shape();
        (0..3).all(|i| p[i] >= 0 && (p[i] as usize) < sh[i])
            && a[[p[0] as usize, p[1] as usize, p[2] as usize]]
    };
    let pass = |a: &Array3<bool>, grow: bool| -> Array3<bool> {
        Array3::from_shape_fn(a.raw_dim(), |(z, y, x)| {
            let p = [z as i64, y as i64, x as i64];
            let hit = |d: &[i64; 3]| at(a, [p[0] + d[0], p[1] + d[1], p[2] + d[2]]);
            if grow {
                offsets.iter().any(hit)
            } else {
                offsets.iter().all(hit)
            }
        })
    };
    match op {
        MorphOp::Dilate => pass(m, true),
        MorphOp::Erode => pass(m, false),
        MorphOp::Open => pass(&pass(m, false), true),
        MorphOp::Close => pass(&pass(m, true), false),
    }
}

#[test]
fn morphology_equals_brute_force_on_the_phantom() {
    let m = phantom();
    // 5.5 mm reaches 9 columns: the distance-transform path of `morph`.
    for r in [0.0, 0.8, 1.3, 2.6, 5.5] {
        for in_plane in [false, true] {
            for op in [
                MorphOp::Erode,
                MorphOp::Dilate,
                MorphOp::Open,
                MorphOp::Close,
            ] {
                let ours = morphology(m.view(), SPACING, op, r, in_plane).unwrap();
                let want = brute(&m, r, in_plane, op);
                assert_eq!(ours, want, "{op:?} r={r} in_plane={in_plane}");
            }
        }
    }
}

#[test]
fn erosion_treats_the_outside_as_background() {
    // A full block: only the layers farther than r from the outside stay.
    let m = Array3::from_elem((3, 5, 7), true);
    let e = morphology(m.view(), [2.0, 1.0, 1.0], MorphOp::Erode, 1.0, false).unwrap();
    assert_eq!(n_set(&e), 3 * 3 * 5); // z steps are 2 mm: not eroded
    let e = morphology(m.view(), [2.0, 1.0, 1.0], MorphOp::Erode, 2.0, false).unwrap();
    assert_eq!(n_set(&e), 3); // 1 × 1 × 3
    let e = morphology(m.view(), [2.0, 1.0, 1.0], MorphOp::Erode, 2.0, true).unwrap();
    assert_eq!(n_set(&e), 9); // 3 × 1 × 3
    // Closing erodes at the border too (scipy's border_value=0).
    let c = morphology(m.view(), [2.0, 1.0, 1.0], MorphOp::Close, 1.0, false).unwrap();
    assert_eq!(n_set(&c), 3 * 3 * 5);
}

#[test]
fn dilation_of_a_voxel_is_the_anisotropic_ball() {
    let mut m = Array3::from_elem((5, 7, 11), false);
    m[[2, 3, 5]] = true;
    // (2dz)² + dy² + (0.5dx)² ≤ 4: 2 + 9 + 2·7 + 2 offsets.
    let d = morphology(m.view(), [2.0, 1.0, 0.5], MorphOp::Dilate, 2.0, false).unwrap();
    assert_eq!(n_set(&d), 27);
    assert!(d[[1, 3, 5]] && d[[2, 3, 1]] && d[[2, 5, 5]] && d[[2, 4, 2]] && !d[[2, 4, 1]]);
    // Cut off by the border: the voxel at the first column.
    m.fill(false);
    m[[0, 0, 0]] = true;
    let d = morphology(m.view(), [2.0, 1.0, 0.5], MorphOp::Dilate, 2.0, false).unwrap();
    assert_eq!(n_set(&d), 5 + 4 + 1 + 1); // dz=0: dy=0, 1, 2; dz=1
}

#[test]
fn margins_grow_and_shrink_by_exact_distances() {
    let m = phantom();
    let grow = margin(m.view(), SPACING, 3.0).unwrap();
    assert_eq!(grow, brute(&m, 3.0, false, MorphOp::Dilate));
    let shrink = margin(m.view(), SPACING, -1.7).unwrap();
    assert_eq!(shrink, brute(&m, 1.7, false, MorphOp::Erode));
    assert_eq!(margin(m.view(), SPACING, 0.0).unwrap(), m);
    assert!(matches!(
        margin(m.view(), SPACING, f64::NAN),
        Err(EffectError::BadDistance { .. })
    ));
}

#[test]
fn hollow_keeps_a_shell_inside_the_boundary() {
    let m = Array3::from_elem((4, 6, 8), true);
    // 1 mm: one voxel in-plane, nothing along z (2 mm steps).
    let h = hollow(m.view(), [2.0, 1.0, 1.0], 1.0).unwrap();
    assert_eq!(n_set(&h), 4 * 6 * 8 - 4 * 4 * 6);
    assert!(h[[1, 0, 3]] && !h[[0, 2, 3]]);
    let h = hollow(m.view(), [2.0, 1.0, 1.0], 2.0).unwrap();
    assert_eq!(n_set(&h), 4 * 6 * 8 - 2 * 2 * 4);
    assert!(hollow(m.view(), [2.0, 1.0, 1.0], -1.0).is_err());
}

/// Three islands along a row: 5 voxels, then 3, then 3 (a tie), and two
/// diagonal voxels (one island with 26 neighbours, two with 6).
fn islands() -> Array3<bool> {
    let mut m = Array3::from_elem((3, 4, 20), false);
    m.slice_mut(s![0, 0, 10..13]).fill(true); // 3, first in scan order
    m.slice_mut(s![1, 1, 0..5]).fill(true); // 5
    m.slice_mut(s![1, 3, 15..18]).fill(true); // 3
    m[[2, 2, 8]] = true;
    m[[2, 3, 9]] = true; // touches [2,2,8] by an edge only
    m
}

#[test]
fn islands_keep_remove_and_split() {
    let m = islands();
    let k = keep_largest(m.view(), 2, Neighbours::TwentySix);
    assert_eq!(n_set(&k), 8);
    assert!(k[[1, 1, 0]] && k[[0, 0, 10]] && !k[[1, 3, 15]]);
    // 6-connected, the two diagonal voxels are two islands of 1: still out.
    assert_eq!(n_set(&keep_largest(m.view(), 3, Neighbours::Six)), 11);
    assert_eq!(n_set(&keep_largest(m.view(), 4, Neighbours::Six)), 12);
    assert_eq!(n_set(&keep_largest(m.view(), 4, Neighbours::TwentySix)), 13);
    assert_eq!(
        keep_largest(m.view(), 0, Neighbours::TwentySix),
        m.mapv(|_| false)
    );

    // Voxels of 2 × 1 × 1 mm = 0.002 ml: 0.005 ml keeps the islands of 3+.
    let spacing = [2.0, 1.0, 1.0];
    let r = remove_smaller(m.view(), spacing, 0.005, Neighbours::TwentySix).unwrap();
    assert_eq!(n_set(&r), 11);
    let r = remove_smaller(m.view(), spacing, 0.003, Neighbours::TwentySix).unwrap();
    assert_eq!(n_set(&r), 13);
    let r = remove_smaller(m.view(), spacing, 0.003, Neighbours::Six).unwrap();
    assert_eq!(n_set(&r), 11);
    assert!(remove_smaller(m.view(), spacing, -1.0, Neighbours::Six).is_err());

    let parts = split(m.view(), Neighbours::TwentySix);
    let sizes: Vec<usize> = parts.iter().map(Mask::count).collect();
    assert_eq!(sizes, [5, 3, 3, 2]);
    assert_eq!(parts[0].start, [1, 1, 0]);
    assert_eq!(parts[1].start, [0, 0, 10]); // the tie in scan order
    assert_eq!(parts[2].bbox(), Some(([1, 3, 15], [1, 3, 17])));
    let mut back = Array3::from_elem(m.raw_dim(), false);
    for p in &parts {
        back = union(back.view(), p.to_full().view()).unwrap();
    }
    assert_eq!(back, m);
    assert_eq!(split(m.view(), Neighbours::Six).len(), 5);
}

#[test]
fn fill_holes_in_plane_or_in_3d() {
    // A tube along z (rings, no caps): holes in every slice, none in 3D.
    let mut m = Array3::from_elem((5, 6, 7), false);
    for z in 0..5 {
        m.slice_mut(s![z, 1..6, 1..6]).fill(true);
        m.slice_mut(s![z, 2..5, 2..5]).fill(false);
    }
    assert_eq!(n_set(&fill_holes(m.view(), true)), 5 * 25);
    assert_eq!(fill_holes(m.view(), false), m);
    // Capped: a closed box fills in 3D too.
    m.slice_mut(s![0, 1..6, 1..6]).fill(true);
    m.slice_mut(s![4, 1..6, 1..6]).fill(true);
    assert_eq!(n_set(&fill_holes(m.view(), false)), 5 * 25);
}

#[test]
fn logic_on_the_grid() {
    let a = Array3::from_shape_vec((1, 2, 2), vec![true, true, false, false]).unwrap();
    let b = Array3::from_shape_vec((1, 2, 2), vec![true, false, true, false]).unwrap();
    let flat = |x: Array3<bool>| x.iter().copied().collect::<Vec<_>>();
    assert_eq!(
        flat(union(a.view(), b.view()).unwrap()),
        [true, true, true, false]
    );
    assert_eq!(
        flat(intersect(a.view(), b.view()).unwrap()),
        [true, false, false, false]
    );
    assert_eq!(
        flat(subtract(a.view(), b.view()).unwrap()),
        [false, true, false, false]
    );
    assert_eq!(flat(invert(a.view())), [false, false, true, true]);
    let c = Array3::from_elem((1, 2, 3), false);
    assert!(matches!(
        union(a.view(), c.view()),
        Err(EffectError::Shape { .. })
    ));
    assert_eq!(
        logic(LogicOp::Subtract, a.view(), None),
        Err(EffectError::MissingOperand {
            op: LogicOp::Subtract
        })
    );
}

#[test]
fn threshold_with_and_without_a_mask() {
    let hu: Vec<i16> = (0..24).map(|i| i * 10 - 100).collect();
    let v = Volume::from_i16(
        Array3::from_shape_vec((2, 3, 4), hu).unwrap(),
        Geometry::identity([2, 3, 4]),
    );
    let t = threshold(&v, -20.0, 45.0, None).unwrap();
    // -20, -10, …, 40: voxels 8..=14.
    let want: Vec<bool> = (0..24).map(|i| (8..=14).contains(&i)).collect();
    assert_eq!(t.iter().copied().collect::<Vec<_>>(), want);
    let mut inside = Array3::from_elem((2, 3, 4), false);
    inside[[0, 2, 1]] = true; // voxel 9
    inside[[1, 2, 3]] = true; // voxel 23: out of range
    let t = threshold(&v, -20.0, 45.0, Some(inside.view())).unwrap();
    assert_eq!(n_set(&t), 1);
    assert!(t[[0, 2, 1]]);
    assert!(threshold(&v, 5.0, -5.0, None).is_err());
    let wrong = Array3::from_elem((1, 3, 4), true);
    assert!(threshold(&v, 0.0, 1.0, Some(wrong.view())).is_err());
}

#[test]
fn smoothing_removes_specks_fills_notches_and_reports_volume() {
    let mut m = Array3::from_elem((5, 9, 9), false);
    m.slice_mut(s![1..4, 2..7, 2..7]).fill(true);
    m[[2, 4, 4]] = false; // a one-voxel hole
    m[[0, 0, 8]] = true; // a speck
    let spacing = [1.0, 1.0, 1.0];
    // The 7-voxel cross: a voxel needs 4 of its 7.
    let (med, change) = smooth(m.view(), spacing, 1.0, SmoothMethod::Median).unwrap();
    let want = brute_majority(&m, spacing, 1.0);
    assert_eq!(med, want);
    assert!(med[[2, 4, 4]] && !med[[0, 0, 8]]);
    assert_eq!(change.voxels_before, 75 - 1 + 1);
    assert_eq!(change.voxels_after, n_set(&med));
    assert!((change.ml_before - 0.075).abs() < 1e-12);
    // On the anisotropic phantom too.
    let p = phantom();
    let (med, _) = smooth(p.view(), SPACING, 2.0, SmoothMethod::Median).unwrap();
    assert_eq!(med, brute_majority(&p, SPACING, 2.0));
    // Closing then opening.
    let (co, change) = smooth(p.view(), SPACING, 1.3, SmoothMethod::ClosingOpening).unwrap();
    let want = brute(
        &brute(&p, 1.3, false, MorphOp::Close),
        1.3,
        false,
        MorphOp::Open,
    );
    assert_eq!(co, want);
    assert_eq!(change.voxels_after, n_set(&co));
    assert!(change.percent().is_finite());
}

fn brute_majority(m: &Array3<bool>, spacing: [f64; 3], r: f64) -> Array3<bool> {
    let limit = r * r * (1.0 + 1e-6) + 1e-9;
    let sh = m.shape();
    Array3::from_shape_fn(m.raw_dim(), |(z, y, x)| {
        let (mut total, mut set) = (0, 0);
        for dz in -4i64..=4 {
            for dy in -6i64..=6 {
                for dx in -6i64..=6 {
                    let d2 = (dz as f64 * spacing[0]).powi(2)
                        + (dy as f64 * spacing[1]).powi(2)
                        + (dx as f64 * spacing[2]).powi(2);
                    if d2 > limit {
                        continue;
                    }
                    total += 1;
                    let p = [z as i64 + dz, y as i64 + dy, x as i64 + dx];
                    if (0..3).all(|i| p[i] >= 0 && (p[i] as usize) < sh[i])
                        && m[[p[0] as usize, p[1] as usize, p[2] as usize]]
                    {
                        set += 1;
                    }
                }
            }
        }
        2 * set > total
    })
}

#[test]
fn an_effect_applies_and_undoes_as_one_edit() {
    let full = phantom();
    let dims = [7, 13, 17];
    let mut g = Geometry::identity(dims);
    g.spacing_mm = glam::DVec3::new(SPACING[2], SPACING[1], SPACING[0]);
    let other = Mask::from_full(invert(full.view()).view());
    let mut seg = Segmentation {
        geometry: g,
        segments: vec![
            Segment::named(3, "phantom", Mask::from_full(full.view())),
            Segment::named(7, "other", other),
        ],
        source: String::new(),
    };
    let before = seg.clone();
    // Opening both removes voxels (the bar) and adds none; a margin of the
    // opening both adds and removes.
    let new = margin(
        morphology(full.view(), SPACING, MorphOp::Open, 1.3, false)
            .unwrap()
            .view(),
        SPACING,
        0.7,
    )
    .unwrap();
    let edit = replace_mask(&seg, 3, new.view(), "open").unwrap();
    assert_eq!(edit.changes.len(), 2);
    edit.apply(&mut seg).unwrap();
    assert_eq!(seg.segments[0].mask, Mask::from_full(new.view()));
    assert_eq!(seg.segments[1], before.segments[1]);
    edit.revert(&mut seg).unwrap();
    assert_eq!(seg, before);
    // The same mask: nothing to do.
    assert!(replace_mask(&seg, 3, full.view(), "x").unwrap().is_empty());
    assert!(replace_mask(&seg, 4, full.view(), "x").is_err());
    let wrong = Array3::from_elem((7, 13, 16), false);
    assert!(replace_mask(&seg, 3, wrong.view(), "x").is_err());
}
