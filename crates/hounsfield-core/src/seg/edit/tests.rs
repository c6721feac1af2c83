//! Known-answer tests of the editing operations on small anisotropic grids
//! (brute force over the grid for the expected voxels), and of masks growing
//! and shrinking; the history, strokes and segment management in
//! [`history`].

#![allow(clippy::unwrap_used)] // a panic is a test failure here

use glam::{DMat3, DVec3};
use ndarray::{Array3, Axis};

use super::ops::array_axis;
use super::*;
use crate::morph::{Connectivity, label};
use crate::mpr::ViewAxis;
use crate::seg::{Mask, colour};
use crate::volume::{Geometry, Volume};

mod history;

/// Anisotropic grid (0.5 × 0.7 × 2.0 mm) with a non-identity origin.
fn geometry(dims: [usize; 3]) -> Geometry {
    Geometry {
        dims,
        spacing_mm: DVec3::new(0.5, 0.7, 2.0),
        origin_mm: DVec3::new(-31.5, 12.25, 100.0),
        direction: DMat3::IDENTITY,
    }
}

/// The same with the column axis pointing to patient right (a flipped axis).
fn flipped(dims: [usize; 3]) -> Geometry {
    Geometry {
        direction: DMat3::from_cols(-DVec3::X, DVec3::Y, DVec3::Z),
        ..geometry(dims)
    }
}

fn segmentation(g: Geometry, numbers: &[u16]) -> Segmentation {
    Segmentation {
        geometry: g,
        segments: numbers
            .iter()
            .map(|&n| Segment::named(n, &format!("segment {n}"), Mask::empty(g.dims)))
            .collect(),
        source: "test".into(),
    }
}

fn apply(seg: &mut Segmentation, change: &VoxelChange) {
    change.set(seg, change.value).unwrap();
}

fn full(seg: &Segmentation, number: u16) -> Array3<bool> {
    seg.segments[seg.index_of(number).unwrap()].mask.to_full()
}

fn count(a: &Array3<bool>) -> usize {
    a.iter().filter(|&&b| b).count()
}

/// Every voxel `[z, row, col]` of the grid, with its centre in LPS mm.
fn brute(g: &Geometry, inside: impl Fn([usize; 3], DVec3) -> bool) -> Array3<bool> {
    Array3::from_shape_fn(g.dims, |(z, r, c)| {
        inside(
            [z, r, c],
            g.world_of_voxel(DVec3::new(c as f64, r as f64, z as f64)),
        )
    })
}

/// HU that varies asymmetrically over the grid, -100..100.
fn ramp_volume(g: Geometry) -> Volume {
    let hu = Array3::from_shape_fn(g.dims, |(z, r, c)| {
        ((c * 7 + r * 13 + z * 29) % 200) as i16 - 100
    });
    Volume::from_i16(hu, g)
}

fn sphere(centre: DVec3, radius_mm: f64, mode: BrushMode) -> BrushParams {
    BrushParams {
        centre_in_world: centre,
        radius_mm,
        shape: BrushShape::Sphere,
        mode,
        hu_range: None,
    }
}

#[test]
fn brush_disc_on_each_view_counts_the_voxels_within_the_radius() {
    let g = geometry([12, 17, 23]);
    let centre_in_voxel = DVec3::new(10.3, 7.6, 5.2); // (col, row, slice)
    let centre = g.world_of_voxel(centre_in_voxel);
    let mut counts = Vec::new();
    for view in ViewAxis::ALL {
        let mut seg = segmentation(g, &[3]);
        let params = BrushParams {
            centre_in_world: centre,
            radius_mm: 3.6,
            shape: BrushShape::Disc(view),
            ..BrushParams::default()
        };
        let change = brush(&seg, 3, None, &params).unwrap();
        // The slice nearest the centre, and the centre moved onto it.
        let a = array_axis(view);
        let mut c = [centre_in_voxel.z, centre_in_voxel.y, centre_in_voxel.x];
        let k = c[a].round();
        c[a] = k;
        let on_slice = g.world_of_voxel(DVec3::new(c[2], c[1], c[0]));
        let want = brute(&g, |v, p| v[a] == k as usize && p.distance(on_slice) <= 3.6);
        assert!(count(&want) > 20, "{view:?}: {}", count(&want));
        assert_eq!(change.voxel_count(), count(&want) as u64, "{view:?}");
        apply(&mut seg, &change);
        assert_eq!(full(&seg, 3), want, "{view:?}");
        counts.push(count(&want));
        // Painting again changes nothing.
        assert!(brush(&seg, 3, None, &params).unwrap().is_empty());
    }
    // Anisotropic spacing: each view's disc holds a different number of voxels.
    assert!(
        counts[0] != counts[1] && counts[1] != counts[2],
        "{counts:?}"
    );
}

#[test]
fn brush_sphere_on_a_flipped_grid_and_only_new_voxels_recorded() {
    let g = flipped([12, 17, 23]);
    let centre = g.world_of_voxel(DVec3::new(8.7, 9.1, 4.4));
    let mut seg = segmentation(g, &[1, 2]);
    let want = brute(&g, |_, p| p.distance(centre) <= 4.3);
    assert!(count(&want) > 200);
    // Some voxels are in the segment already (half of them inside the ball).
    let mut before = Array3::from_elem(g.dims, false);
    for r in 0..17 {
        before[[4, r, 9]] = true;
    }
    seg.segments[1].mask = Mask::from_full(before.view());
    let change = brush(&seg, 2, None, &sphere(centre, 4.3, BrushMode::Paint)).unwrap();
    let overlap = count(&(&want & &before));
    assert!(overlap > 0);
    assert_eq!(change.voxel_count(), (count(&want) - overlap) as u64);
    apply(&mut seg, &change);
    assert_eq!(full(&seg, 2), &want | &before);
    assert!(
        seg.segments[0].mask.is_empty(),
        "the other segment is untouched"
    );
    // A brush away from the grid changes nothing.
    let far = g.world_of_voxel(DVec3::new(-50.0, 9.0, 4.0));
    assert!(
        brush(&seg, 2, None, &sphere(far, 4.3, BrushMode::Paint))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn erase_removes_the_ball_and_shrinks_the_crop() {
    let g = geometry([10, 16, 20]);
    let block = brute(&g, |[z, r, c], _| {
        (2..8).contains(&z) && (3..12).contains(&r) && (4..15).contains(&c)
    });
    let mut seg = segmentation(g, &[5]);
    seg.segments[0].mask = Mask::from_full(block.view());
    // Centred on the block's last column: the erased voxels include a face.
    let centre = g.world_of_voxel(DVec3::new(14.0, 7.0, 4.0));
    let ball = brute(&g, |_, p| p.distance(centre) <= 3.0);
    let change = brush(&seg, 5, None, &sphere(centre, 3.0, BrushMode::Erase)).unwrap();
    assert!(!change.value);
    assert_eq!(change.voxel_count(), count(&(&block & &ball)) as u64);
    apply(&mut seg, &change);
    let want = &block & &ball.mapv(|b| !b);
    assert_eq!(full(&seg, 5), want);
    assert_eq!(
        seg.segments[0].mask,
        Mask::from_full(want.view()),
        "crop is the bounding box"
    );
    // Erasing a whole face plane shrinks the crop.
    let plane = 16 * 20;
    let slab = VoxelChange {
        segment: 5,
        value: false,
        runs: vec![((7 * plane) as u32, plane as u32)],
    };
    apply(&mut seg, &slab);
    assert_eq!(seg.segments[0].mask.bbox().unwrap().1[0], 6);
    assert_eq!(seg.segments[0].mask.data.shape()[0], 5);
}

#[test]
fn threshold_limited_brush_touches_only_voxels_in_range() {
    let g = geometry([10, 16, 20]);
    let volume = ramp_volume(g);
    let centre = g.world_of_voxel(DVec3::new(9.2, 7.9, 4.6));
    let mut params = sphere(centre, 5.0, BrushMode::Paint);
    params.hu_range = Some((-20.0, 40.0));
    let mut seg = segmentation(g, &[1]);
    let change = brush(&seg, 1, Some(&volume), &params).unwrap();
    let in_range = |[z, r, c]: [usize; 3]| {
        let hu = volume.voxels.get_hu(z, r, c).unwrap();
        (-20.0..=40.0).contains(&hu)
    };
    let ball = brute(&g, |_, p| p.distance(centre) <= 5.0);
    let want = brute(&g, |v, p| p.distance(centre) <= 5.0 && in_range(v));
    assert!(count(&want) > 30 && count(&want) < count(&ball) / 2);
    apply(&mut seg, &change);
    assert_eq!(full(&seg, 1), want);
    // Erasing the whole ball limited to -20..=0 HU keeps the rest.
    seg.segments[0].mask = Mask::from_full(ball.view());
    params.mode = BrushMode::Erase;
    params.hu_range = Some((-20.0, 0.0));
    let change = brush(&seg, 1, Some(&volume), &params).unwrap();
    apply(&mut seg, &change);
    let erased = brute(&g, |v, p| {
        let hu = volume.voxels.get_hu(v[0], v[1], v[2]).unwrap();
        p.distance(centre) <= 5.0 && (-20.0..=0.0).contains(&hu)
    });
    assert_eq!(full(&seg, 1), &ball & &erased.mapv(|b| !b));
    // Bad inputs are typed errors.
    assert_eq!(brush(&seg, 1, None, &params), Err(EditError::NoVolume));
    params.hu_range = Some((10.0, -10.0));
    assert!(matches!(
        brush(&seg, 1, Some(&volume), &params),
        Err(EditError::BadRange { .. })
    ));
    params.hu_range = Some((0.0, 10.0));
    let small = ramp_volume(geometry([2, 2, 2]));
    assert!(matches!(
        brush(&seg, 1, Some(&small), &params),
        Err(EditError::Shape { .. })
    ));
    assert_eq!(
        brush(&seg, 9, None, &params),
        Err(EditError::NoSegment { number: 9 })
    );
    params.radius_mm = -1.0;
    assert!(matches!(
        brush(&seg, 1, None, &params),
        Err(EditError::BadRadius { .. })
    ));
}

/// Two blobs on slice 2 joined only through a bridge on slice 3, and an
/// unrelated blob on slice 0.
fn two_blobs() -> (Geometry, Volume) {
    let g = geometry([6, 10, 20]);
    let hu = Array3::from_shape_fn(g.dims, |(z, r, c)| {
        let a = z == 2 && (2..=6).contains(&r) && (2..=6).contains(&c);
        let b = z == 2 && (2..=6).contains(&r) && (12..=16).contains(&c);
        let bridge = z == 3 && (3..=5).contains(&r) && (4..=14).contains(&c);
        let other = z == 0 && r <= 1;
        match (a, b, bridge, other) {
            (true, ..) => 100,
            (_, true, ..) => 150,
            (_, _, true, _) => 50,
            (.., true) => 120,
            _ => -1000,
        }
    });
    (g, Volume::from_i16(hu, g))
}

#[test]
fn flood_fill_in_a_plane_and_in_3d() {
    let (g, volume) = two_blobs();
    let seg = segmentation(g, &[1]);
    let fill = |scope| {
        let params = FillParams {
            seed_zyx: [2, 4, 4],
            hu_range: (0.0, 200.0),
            scope,
        };
        flood_fill(&seg, 1, &volume, &params).unwrap().voxel_count()
    };
    assert_eq!(fill(FillScope::Plane(ViewAxis::Axial)), 25); // blob A only
    assert_eq!(fill(FillScope::Plane(ViewAxis::Coronal)), 5 + 11 + 5); // row 4: A, bridge, B
    assert_eq!(fill(FillScope::Plane(ViewAxis::Sagittal)), 5 + 3); // column 4: A, bridge
    assert_eq!(fill(FillScope::Volume), 25 + 25 + 33);
    // The 3-D fill is the seed's 6-connected component of the range.
    let in_range = volume.voxels.to_f32().mapv(|h| (0.0..=200.0).contains(&h));
    let comps = label(in_range.view(), Connectivity::Face);
    let l = comps.labels()[[2, 4, 4]];
    let want = comps.labels().mapv(|x| x == l);
    let mut seg3 = seg.clone();
    let params = FillParams {
        seed_zyx: [2, 4, 4],
        hu_range: (0.0, 200.0),
        scope: FillScope::Volume,
    };
    apply(&mut seg3, &flood_fill(&seg, 1, &volume, &params).unwrap());
    assert_eq!(full(&seg3, 1), want);
}

#[test]
fn flood_fill_skips_voxels_already_in_the_segment_and_refuses_bad_seeds() {
    let (g, volume) = two_blobs();
    let mut seg = segmentation(g, &[1]);
    let mut have = Array3::from_elem(g.dims, false);
    have[[3, 4, 9]] = true; // the middle of the bridge: rows 3 and 5 still connect
    seg.segments[0].mask = Mask::from_full(have.view());
    let mut params = FillParams {
        seed_zyx: [2, 4, 4],
        hu_range: (0.0, 200.0),
        scope: FillScope::Volume,
    };
    let change = flood_fill(&seg, 1, &volume, &params).unwrap();
    assert_eq!(change.voxel_count(), 25 + 25 + 32);
    apply(&mut seg, &change);
    assert_eq!(count(&full(&seg, 1)), 83);
    // Seed already in the segment: nothing to do.
    assert!(flood_fill(&seg, 1, &volume, &params).unwrap().is_empty());
    params.seed_zyx = [6, 0, 0];
    assert!(matches!(
        flood_fill(&seg, 1, &volume, &params),
        Err(EditError::SeedOutside { .. })
    ));
    params.seed_zyx = [2, 0, 10];
    assert_eq!(
        flood_fill(&seg, 1, &volume, &params),
        Err(EditError::SeedOutOfRange {
            seed_zyx: [2, 0, 10],
            hu: -1000.0,
            lo_hu: 0.0,
            hi_hu: 200.0
        })
    );
}

/// A disc of `radius_mm` around voxel `(col, row)` on slice `k` of `view`.
fn paint_disc(seg: &mut Segmentation, view: ViewAxis, k: usize, radius_mm: f64) {
    let mut c = [k as f64, 9.4, 11.3];
    if view != ViewAxis::Axial {
        c = [4.6, 9.4, 11.3];
        c[array_axis(view)] = k as f64;
    }
    let params = BrushParams {
        centre_in_world: seg.geometry.world_of_voxel(DVec3::new(c[2], c[1], c[0])),
        radius_mm,
        shape: BrushShape::Disc(view),
        ..BrushParams::default()
    };
    let change = brush(seg, 1, None, &params).unwrap();
    assert!(!change.is_empty());
    apply(seg, &change);
}

#[test]
fn interpolation_is_exact_for_identical_discs() {
    for (view, k0, k1) in [
        (ViewAxis::Axial, 2, 6),
        (ViewAxis::Coronal, 3, 8),
        (ViewAxis::Sagittal, 5, 9),
    ] {
        let g = geometry([10, 20, 24]);
        let a = array_axis(view);
        let mut seg = segmentation(g, &[1]);
        paint_disc(&mut seg, view, k0, 3.2);
        paint_disc(&mut seg, view, k1, 3.2);
        let before = full(&seg, 1);
        let key = before.index_axis(Axis(a), k0).to_owned();
        assert_eq!(key, before.index_axis(Axis(a), k1));
        let change = interpolate(&seg, 1, view).unwrap();
        assert_eq!(
            change.voxel_count(),
            ((k1 - k0 - 1) * count(&before) / 2) as u64,
            "{view:?}"
        );
        apply(&mut seg, &change);
        let after = full(&seg, 1);
        for k in 0..g.dims[a] {
            let slice = after.index_axis(Axis(a), k);
            if (k0..=k1).contains(&k) {
                assert_eq!(slice, key, "{view:?} slice {k}");
            } else {
                assert!(!slice.iter().any(|&v| v), "{view:?} slice {k}");
            }
        }
        // No gap is left: a second pass adds nothing.
        assert!(interpolate(&seg, 1, view).unwrap().is_empty());
    }
}

#[test]
fn interpolation_of_a_growing_disc_grows_monotonically() {
    let g = geometry([10, 20, 24]);
    let mut seg = segmentation(g, &[1]);
    paint_disc(&mut seg, ViewAxis::Axial, 1, 1.5);
    paint_disc(&mut seg, ViewAxis::Axial, 7, 5.5);
    paint_disc(&mut seg, ViewAxis::Axial, 8, 5.5); // adjacent: no gap to fill
    let change = interpolate(&seg, 1, ViewAxis::Axial).unwrap();
    apply(&mut seg, &change);
    let m = full(&seg, 1);
    let slice = |k: usize| m.index_axis(Axis(0), k).to_owned();
    let areas: Vec<usize> = (1..=7)
        .map(|k| slice(k).iter().filter(|&&b| b).count())
        .collect();
    assert!(areas.windows(2).all(|w| w[0] <= w[1]), "{areas:?}");
    assert!(areas[0] < areas[3] && areas[3] < areas[6], "{areas:?}");
    for k in 2..=6 {
        // Nested between the two key slices.
        assert!(
            ndarray::Zip::from(&slice(1))
                .and(&slice(k))
                .all(|&a, &b| !a || b)
        );
        assert!(
            ndarray::Zip::from(&slice(k))
                .and(&slice(7))
                .all(|&a, &b| !a || b)
        );
    }
    // Empty segment: nothing to interpolate.
    let empty = segmentation(g, &[1]);
    assert!(
        interpolate(&empty, 1, ViewAxis::Coronal)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn crop_grows_keeping_its_voxels_and_reallocates_only_when_it_must() {
    let dims = [8, 10, 12];
    let mut want = Array3::from_elem(dims, false);
    want[[2, 3, 4]] = true;
    want[[3, 5, 6]] = true;
    let mut m = Mask::from_full(want.view());
    let lin = |z: usize, r: usize, c: usize| ((z * 10 + r) * 12 + c) as u32;
    // Inside the box: the same allocation.
    let ptr = m.data.as_ptr();
    m.set_runs(&[(lin(2, 4, 5), 2)], true).unwrap();
    assert_eq!(m.data.as_ptr(), ptr);
    want[[2, 4, 5]] = true;
    want[[2, 4, 6]] = true;
    // Far away, and a run wrapping from one row into the next.
    m.set_runs(&[(lin(0, 0, 0), 1), (lin(7, 8, 10), 4)], true)
        .unwrap();
    for (z, r, c) in [(0, 0, 0), (7, 8, 10), (7, 8, 11), (7, 9, 0), (7, 9, 1)] {
        want[[z, r, c]] = true;
    }
    assert_eq!(m.to_full(), want);
    assert_eq!(m, Mask::from_full(want.view()));
    assert_eq!(m.count(), 9);
    // Erasing the far voxels shrinks it back.
    m.set_runs(&[(lin(0, 0, 0), 1), (lin(7, 8, 10), 4)], false)
        .unwrap();
    for (z, r, c) in [(0, 0, 0), (7, 8, 10), (7, 8, 11), (7, 9, 0), (7, 9, 1)] {
        want[[z, r, c]] = false;
    }
    assert_eq!(m, Mask::from_full(want.view()));
    // A run past the grid is refused and changes nothing.
    let before = m.clone();
    assert!(matches!(
        m.set_runs(&[(0, 1), (lin(7, 9, 11), 2)], true),
        Err(EditError::RunOutside { .. })
    ));
    assert_eq!(m, before);
    // Erasing everything gives the empty mask.
    m.set_runs(&[(0, 960)], false).unwrap();
    assert_eq!(m, Mask::empty(dims));
}
