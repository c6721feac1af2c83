//! Undo and redo: strokes merged into one step, segment management, failed
//! edits, a round trip over sixty mixed edits, and the memory the history
//! holds.

use glam::DVec3;

use super::*;

#[test]
fn stroke_merges_dabs_into_one_step() {
    let g = geometry([10, 16, 20]);
    let mut seg = segmentation(g, &[1, 2]);
    let start = seg.clone();
    let mut stroke = Edit::new("brush");
    for i in 0..6 {
        let centre = g.world_of_voxel(DVec3::new(5.0 + f64::from(i), 8.0, 4.0));
        let change = brush(&seg, 1, None, &sphere(centre, 2.5, BrushMode::Paint)).unwrap();
        apply(&mut seg, &change);
        stroke.add(change);
    }
    assert_eq!(stroke.changes.len(), 1);
    let Change::Voxels(merged) = &stroke.changes[0] else {
        panic!("a voxel change");
    };
    assert!(
        merged.runs.windows(2).all(|w| w[0].0 + w[0].1 < w[1].0),
        "sorted, disjoint, not adjacent"
    );
    assert_eq!(merged.voxel_count(), count(&full(&seg, 1)) as u64);
    // Merging sorts and joins overlapping or touching runs.
    let mut a = VoxelChange {
        segment: 1,
        value: true,
        runs: vec![(10, 2), (0, 3)],
    };
    let b = VoxelChange {
        runs: vec![(3, 2), (20, 1), (11, 5)],
        ..a.clone()
    };
    a.merge(b).unwrap();
    assert_eq!(a.runs, [(0, 5), (10, 6), (20, 1)]);
    let erase = VoxelChange {
        value: false,
        ..a.clone()
    };
    assert_eq!(a.merge(erase.clone()), Err(erase));
    // Another value or segment starts a new change.
    let centre = g.world_of_voxel(DVec3::new(5.0, 8.0, 4.0));
    let erase = brush(&seg, 1, None, &sphere(centre, 1.0, BrushMode::Erase)).unwrap();
    apply(&mut seg, &erase);
    stroke.add(erase);
    let other = brush(&seg, 2, None, &sphere(centre, 1.0, BrushMode::Paint)).unwrap();
    apply(&mut seg, &other);
    stroke.add(other);
    stroke.add(VoxelChange::default()); // empty: dropped
    assert_eq!(stroke.changes.len(), 3);
    let mut history = EditHistory::default();
    history.push(stroke);
    assert_eq!(history.undo(&mut seg).unwrap().as_deref(), Some("brush"));
    assert_eq!(seg, start);
}

#[test]
fn segment_management_is_undoable() {
    let g = geometry([4, 5, 6]);
    let mut seg = segmentation(g, &[1, 4, 2]);
    seg.segments[1].mask.set_runs(&[(7, 30)], true).unwrap();
    let start = seg.clone();
    let mut history = EditHistory::new(50);
    let edit = new_segment(&seg, "Liver").unwrap();
    history.commit(&mut seg, edit).unwrap();
    let new = seg.segments.last().unwrap();
    assert_eq!((new.number, new.label.as_str()), (5, "Liver"));
    assert_eq!(new.colour_rgb, colour::default_colour("Liver", 5));
    let edit = rename(&seg, 4, "Tumour").unwrap();
    history.commit(&mut seg, edit).unwrap();
    let edit = recolour(&seg, 2, [1, 2, 3]).unwrap();
    history.commit(&mut seg, edit).unwrap();
    let edit = delete_segment(&seg, 4).unwrap();
    history.commit(&mut seg, edit).unwrap();
    assert_eq!(
        seg.segments.iter().map(|s| s.number).collect::<Vec<_>>(),
        [1, 2, 5]
    );
    assert_eq!(seg.segments[1].colour_rgb, [1, 2, 3]);
    let after = seg.clone();
    for want in ["delete segment", "recolour", "rename", "new segment"] {
        assert_eq!(history.undo(&mut seg).unwrap().as_deref(), Some(want));
    }
    assert_eq!(
        seg, start,
        "the deleted segment is back at its index, voxels and all"
    );
    while history.redo(&mut seg).unwrap().is_some() {}
    assert_eq!(seg, after);
    // All numbers up to 65535: the lowest free one.
    let mut full_seg = segmentation(g, &[1, 2, u16::MAX]);
    let edit = new_segment(&full_seg, "x").unwrap();
    edit.apply(&mut full_seg).unwrap();
    assert_eq!(full_seg.segments[3].number, 3);
    assert_eq!(
        rename(&full_seg, 7, "y"),
        Err(EditError::NoSegment { number: 7 })
    );
}

#[test]
fn failed_edit_changes_nothing() {
    let g = geometry([4, 5, 6]);
    let mut seg = segmentation(g, &[1]);
    let start = seg.clone();
    let mut edit = Edit::of(
        "brush",
        VoxelChange {
            segment: 1,
            value: true,
            runs: vec![(3, 4)],
        },
    );
    edit.add(VoxelChange {
        segment: 8,
        value: true,
        runs: vec![(3, 4)],
    });
    assert_eq!(
        edit.apply(&mut seg),
        Err(EditError::NoSegment { number: 8 })
    );
    assert_eq!(seg, start);
    let mut history = EditHistory::default();
    assert_eq!(
        history.commit(&mut seg, edit),
        Err(EditError::NoSegment { number: 8 })
    );
    assert!(!history.can_undo());
    // A grid too large for u32 indices is refused, not overflowed.
    let huge = segmentation(geometry([2048, 2048, 1025]), &[1]);
    let params = BrushParams::default();
    assert!(matches!(
        brush(&huge, 1, None, &params),
        Err(EditError::GridTooLarge { .. })
    ));
}

/// Xorshift, for reproducible mixed edits.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn point(&mut self, g: &Geometry) -> DVec3 {
        let f = |rng: &mut Self, n: usize| rng.next(n * 10) as f64 / 10.0;
        g.world_of_voxel(DVec3::new(
            f(self, g.dims[2]),
            f(self, g.dims[1]),
            f(self, g.dims[0]),
        ))
    }
}

/// One step holding a new segment, discs on two slices of `view` four
/// apart and the interpolation between them, applied to `seg` as it goes.
fn key_slices_interpolated(seg: &mut Segmentation, view: ViewAxis, rng: &mut Rng) -> Edit {
    let g = seg.geometry;
    let mut edit = new_segment(seg, "interpolated").unwrap();
    edit.description = "interpolate".into();
    edit.apply(seg).unwrap();
    let number = seg.segments.last().unwrap().number;
    let a = array_axis(view);
    let k0 = rng.next(g.dims[a] - 4);
    let p = g.voxel_of_world(rng.point(&g));
    for k in [k0, k0 + 4] {
        let mut c = [p.z, p.y, p.x];
        c[a] = k as f64;
        let params = BrushParams {
            centre_in_world: g.world_of_voxel(DVec3::new(c[2], c[1], c[0])),
            radius_mm: 3.0,
            shape: BrushShape::Disc(view),
            ..BrushParams::default()
        };
        let change = brush(seg, number, None, &params).unwrap();
        apply(seg, &change);
        edit.add(change);
    }
    let change = interpolate(seg, number, view).unwrap();
    assert!(!change.is_empty());
    apply(seg, &change);
    edit.add(change);
    edit
}

/// One random edit of kind `kind`, applied to `seg` (empty when it would
/// change nothing).
fn random_edit(seg: &mut Segmentation, volume: &Volume, kind: usize, rng: &mut Rng) -> Edit {
    let g = seg.geometry;
    let numbers: Vec<u16> = seg.segments.iter().map(|s| s.number).collect();
    let number = numbers[rng.next(numbers.len())];
    let view = ViewAxis::ALL[rng.next(3)];
    let edit = match kind {
        0 => {
            // A stroke of three dabs, applied as it goes.
            let mut stroke = Edit::new("brush");
            for _ in 0..3 {
                let p = sphere(rng.point(&g), 1.0 + rng.next(4) as f64, BrushMode::Paint);
                let change = brush(seg, number, None, &p).unwrap();
                apply(seg, &change);
                stroke.add(change);
            }
            return stroke;
        }
        1 => {
            let p = BrushParams {
                centre_in_world: rng.point(&g),
                radius_mm: 4.0,
                shape: BrushShape::Disc(view),
                mode: BrushMode::Erase,
                hu_range: None,
            };
            Edit::of("erase", brush(seg, number, None, &p).unwrap())
        }
        2 => {
            let seed_zyx = g.dims.map(|d| rng.next(d));
            let hu = volume
                .voxels
                .get_hu(seed_zyx[0], seed_zyx[1], seed_zyx[2])
                .unwrap();
            let p = FillParams {
                seed_zyx,
                hu_range: (hu - 15.0, hu + 15.0),
                scope: FillScope::Plane(view),
            };
            Edit::of("fill", flood_fill(seg, number, volume, &p).unwrap())
        }
        3 => return key_slices_interpolated(seg, view, rng),
        4 if numbers.len() < 5 => new_segment(seg, "lesion").unwrap(),
        4 | 5 => rename(seg, number, &format!("name {}", rng.next(1000))).unwrap(),
        6 => recolour(seg, number, [rng.next(256) as u8, 7, 9]).unwrap(),
        _ if numbers.len() >= 2 => delete_segment(seg, number).unwrap(),
        _ => new_segment(seg, "liver").unwrap(),
    };
    edit.apply(seg).unwrap();
    edit
}

#[test]
fn undo_redo_round_trip_after_sixty_mixed_edits() {
    let g = geometry([8, 14, 16]);
    let volume = ramp_volume(g);
    let mut seg = segmentation(g, &[1, 2]);
    let mut history = EditHistory::new(50);
    let mut states = vec![seg.clone()];
    let mut descriptions = Vec::new();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut attempt = 0;
    while states.len() < 61 {
        let edit = random_edit(&mut seg, &volume, attempt % 8, &mut rng);
        attempt += 1;
        assert!(attempt < 1000);
        if edit.is_empty() {
            continue;
        }
        descriptions.push(edit.description.clone());
        history.push(edit);
        states.push(seg.clone());
    }
    for kind in [
        "brush",
        "erase",
        "fill",
        "interpolate",
        "new segment",
        "rename",
        "recolour",
        "delete segment",
    ] {
        assert!(
            descriptions.iter().any(|d| d == kind),
            "no {kind} in {descriptions:?}"
        );
    }
    assert_eq!(history.undo_len(), 50);
    for j in 1..=50 {
        let d = history.undo(&mut seg).unwrap();
        assert_eq!(d.as_ref(), Some(&descriptions[60 - j]));
        assert!(seg == states[60 - j], "after {j} undos");
    }
    // The first ten edits are no longer undoable.
    assert!(!history.can_undo() && history.can_redo());
    assert_eq!(history.undo(&mut seg), Ok(None));
    assert!(seg == states[10]);
    for (j, state) in states.iter().enumerate().skip(11) {
        history.redo(&mut seg).unwrap();
        assert!(seg == *state, "after redo to {j}");
    }
    assert_eq!(history.redo(&mut seg), Ok(None));
    // Pushing after an undo clears the redo stack.
    history.undo(&mut seg).unwrap();
    assert!(history.can_redo());
    let edit = random_edit(&mut seg, &volume, 6, &mut rng);
    history.push(edit);
    assert!(!history.can_redo());
    assert_eq!(history.undo_description(), Some("recolour"));
}

#[test]
fn history_bytes_follow_the_change_not_the_grid() {
    let g = geometry([200, 200, 200]);
    let mut seg = segmentation(g, &[1]);
    let mut history = EditHistory::default();
    let one = sphere(
        g.world_of_voxel(DVec3::new(120.0, 50.0, 20.0)),
        0.1,
        BrushMode::Paint,
    );
    let change = brush(&seg, 1, None, &one).unwrap();
    assert_eq!(change.voxel_count(), 1);
    history.commit(&mut seg, Edit::of("brush", change)).unwrap();
    assert_eq!(seg.segments[0].mask.data.len(), 1);
    assert!(history.bytes() < 100, "{}", history.bytes());
    let small = history.bytes();
    let big = sphere(
        g.world_of_voxel(DVec3::new(60.0, 60.0, 60.0)),
        10.0,
        BrushMode::Paint,
    );
    let change = brush(&seg, 1, None, &big).unwrap();
    let runs = change.runs.len();
    assert!(runs > 100 && change.voxel_count() > 1000);
    history.commit(&mut seg, Edit::of("brush", change)).unwrap();
    assert_eq!(history.bytes(), small + runs * 8 + "brush".len());
    // A deleted segment keeps its mask.
    let mask_bytes = seg.segments[0].mask.data.len();
    let edit = delete_segment(&seg, 1).unwrap();
    history.commit(&mut seg, edit).unwrap();
    assert!(history.bytes() >= small + runs * 8 + mask_bytes);
}
