use std::path::PathBuf;

use glam::{DMat3, DVec3};
use ndarray::Array3;

use super::*;
use crate::dicom::meta::SeriesMetadata;
use crate::seg::{Layer, Mask, Segment, Segmentation};
use crate::volume::Geometry;

/// An asymmetric grid: anisotropic spacing, rotated 20° about the slice
/// axis and feet-first (slice axis towards the feet).
fn oblique_grid(dims: [usize; 3]) -> ReferenceGrid {
    let a = 20f64.to_radians();
    let x = DVec3::new(a.cos(), a.sin(), 0.0);
    let y = DVec3::new(-a.sin(), a.cos(), 0.0);
    let z = DVec3::new(0.0, 0.0, -1.0);
    let geometry = Geometry {
        dims,
        spacing_mm: DVec3::new(0.8, 0.7, 2.5),
        origin_mm: DVec3::new(-10.0, 20.0, 30.0),
        direction: DMat3::from_cols(x, y, z),
    };
    with_uids(geometry)
}

fn with_uids(geometry: Geometry) -> ReferenceGrid {
    let mut grid = ReferenceGrid::bare(geometry);
    grid.frame_of_reference_uid = Some("1.2.826.0.1.3680043.2.1125.1".into());
    grid.study_uid = Some("1.2.826.0.1.3680043.2.1125.2".into());
    grid.series_uid = Some("1.2.826.0.1.3680043.2.1125.3".into());
    grid.slice_sop_uids = (0..geometry.dims[0])
        .map(|z| Some(format!("1.2.826.0.1.3680043.2.1125.4.{z}")))
        .collect();
    grid
}

/// Two overlapping segments with holes, islands, diagonal touches and
/// voxels on the grid's border.
fn phantom(geometry: Geometry) -> Segmentation {
    let [nz, rows, cols] = geometry.dims;
    let ring = Array3::from_shape_fn((nz, rows, cols), |(z, r, c)| {
        let (dr, dc) = (r as f64 - 9.0, c as f64 - 11.0);
        let d = (dr * dr + dc * dc).sqrt();
        (1..nz - 1).contains(&z) && ((3.0..7.5).contains(&d) || (z == 2 && d < 1.0))
    });
    let spots = Array3::from_shape_fn((nz, rows, cols), |(z, r, c)| {
        z >= 1 && ((r + c) % 5 == 0 && r % 3 == 0 || r == 0 || c == cols - 1 && r < 4)
    });
    let mut lesion = Segment::named(7, "Nodule", Mask::from_full(spots.view()));
    lesion.category = "PTV".into();
    lesion.colour_rgb = [10, 200, 30];
    Segmentation {
        geometry,
        segments: vec![
            Segment::named(3, "Ring", Mask::from_full(ring.view())),
            lesion,
            Segment::named(9, "Empty", Mask::empty(geometry.dims)),
        ],
        source: "phantom".into(),
    }
}

fn write_read_place(seg: &Segmentation, grid: &ReferenceGrid) -> (RtStructObject, PlacedRtStruct) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rs.dcm");
    let written = write_rtstruct(
        &path,
        seg,
        grid,
        &SeriesMetadata::default(),
        &RtStructWriteOptions::default(),
    )
    .unwrap();
    assert_eq!(written.roi_numbers, vec![3, 7, 9]);
    assert!(written.contours > 10 && written.points > written.contours * 3);
    let rt = read_rtstruct(&path).unwrap();
    let placed = place_rtstruct(&rt, grid, None, "rs.dcm").unwrap();
    (rt, placed)
}

#[test]
fn a_segmentation_written_and_read_back_is_the_same_voxels_on_an_oblique_grid() {
    let grid = oblique_grid([5, 19, 23]);
    let seg = phantom(grid.geometry);
    let (rt, placed) = write_read_place(&seg, &grid);
    assert_eq!(rt.frame_of_reference_uid, grid.frame_of_reference_uid);
    assert_eq!(
        rt.referenced_series_uids,
        vec![grid.series_uid.clone().unwrap()]
    );
    let names: Vec<&str> = rt.rois.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Ring", "Nodule", "Empty"]);
    assert_eq!(rt.rois[1].interpreted_type.as_deref(), Some("PTV"));
    assert_eq!(rt.rois[0].interpreted_type.as_deref(), Some("ORGAN"));
    assert_eq!(rt.rois[1].colour_rgb, Some([10, 200, 30]));
    assert!(rt.rois[2].contours.is_empty());
    // Every contour references the CT image of its slice.
    for c in &rt.rois[0].contours {
        assert_eq!(c.image_sop_uids.len(), 1);
        assert!(
            grid.slice_sop_uids
                .iter()
                .flatten()
                .any(|u| *u == c.image_sop_uids[0])
        );
    }
    let got = &placed.segmentation;
    assert!(placed.notes.is_empty(), "{:?}", placed.notes);
    for (a, b) in seg.segments.iter().zip(&got.segments) {
        assert_eq!(a.number, b.number);
        assert_eq!(a.label, b.label);
        assert_eq!(a.colour_rgb, b.colour_rgb);
        assert_eq!(a.mask.to_full(), b.mask.to_full(), "segment {}", a.label);
    }
    assert_eq!(got.segments[1].layer, Layer::Lesion);
    assert_eq!(got.segments[0].layer, Layer::Organ);
    assert!(got.segments[0].mask.count() > 100);
}

#[test]
fn a_gantry_tilted_grid_round_trips_exactly() {
    let mut geometry = Geometry::identity([4, 16, 18]);
    geometry.spacing_mm = DVec3::new(0.9, 0.9, 3.0);
    // Slices step along z and 0.6 mm along y per slice: 11° of tilt.
    let step = DVec3::new(0.0, 0.6, 3.0);
    geometry.direction.z_axis = step / step.length();
    geometry.spacing_mm.z = step.length();
    let grid = with_uids(geometry);
    assert!(geometry.shear_deg() > 10.0);
    let seg = phantom(geometry);
    let (_, placed) = write_read_place(&seg, &grid);
    for (a, b) in seg.segments.iter().zip(&placed.segmentation.segments) {
        assert_eq!(a.mask.to_full(), b.mask.to_full(), "segment {}", a.label);
    }
}

/// A structure set of one ROI with the given contours, on `grid`'s frame.
fn structure_set(grid: &ReferenceGrid, contours: Vec<Contour>) -> RtStructObject {
    RtStructObject {
        path: PathBuf::from("rs.dcm"),
        sop_instance_uid: None,
        study_uid: None,
        series_uid: None,
        frame_of_reference_uid: grid.frame_of_reference_uid.clone(),
        label: None,
        name: None,
        referenced_series_uids: Vec::new(),
        rois: vec![RoiInfo {
            number: 4,
            name: "Box".into(),
            colour_rgb: None,
            interpreted_type: Some("ORGAN".into()),
            generation_algorithm: None,
            frame_of_reference_uid: None,
            contours,
        }],
    }
}

fn closed(points: Vec<DVec3>, images: &[&str]) -> Contour {
    Contour {
        kind: ContourKind::ClosedPlanar,
        points_mm: points,
        image_sop_uids: images.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// A rectangle in the plane of slice `z` through pixel corners.
fn rect(g: &Geometry, z: f64, c0: f64, r0: f64, c1: f64, r1: f64) -> Vec<DVec3> {
    [(c0, r0), (c1, r0), (c1, r1), (c0, r1)]
        .iter()
        .map(|&(c, r)| g.world_of_voxel(DVec3::new(c, r, z)))
        .collect()
}

#[test]
fn a_rectangle_with_a_hole_fills_exactly_the_pixel_centres_inside() {
    let grid = oblique_grid([4, 10, 12]);
    let g = grid.geometry;
    let rt = structure_set(
        &grid,
        vec![
            closed(rect(&g, 2.0, 1.5, 2.5, 8.5, 7.5), &[]),
            closed(rect(&g, 2.0, 3.5, 4.5, 5.5, 5.5), &[]),
            // A 0.1 mm offset along the normal is within the tolerance.
            closed(
                rect(&g, 1.0, 0.5, 0.5, 2.5, 1.5)
                    .into_iter()
                    .map(|p| p + g.slice_normal() * 0.1)
                    .collect(),
                &["1.2.826.0.1.3680043.2.1125.4.1"],
            ),
        ],
    );
    let placed = place_rtstruct(&rt, &grid, None, "x").unwrap();
    let m = placed.segmentation.segments[0].mask.to_full();
    let want = Array3::from_shape_fn((4, 10, 12), |(z, r, c)| {
        (z == 2
            && (3..=7).contains(&r)
            && (2..=8).contains(&c)
            && !(r == 5 && (4..=5).contains(&c)))
            || (z == 1 && r == 1 && (1..=2).contains(&c))
    });
    assert_eq!(m, want);
    assert_eq!(placed.segmentation.segments[0].number, 4);
}

/// Fuzz finding (rtstruct target, and `seg convert` on mutated files): a
/// slice whose contours fill no voxel (a single point, a sliver, a contour
/// outside the field of view) above or below the filled slices panicked in
/// the crop (an index past the box, or a subtraction below it).
#[test]
fn slices_whose_contours_fill_nothing_outside_the_filled_ones_are_harmless() {
    let grid = oblique_grid([5, 10, 12]);
    let g = grid.geometry;
    let far = DVec3::new(10_000.0, 0.0, 0.0);
    let rt = structure_set(
        &grid,
        vec![
            closed(rect(&g, 2.0, 1.5, 2.5, 4.5, 5.5), &[]),
            // Above: one point. Below: a sliver between pixel centres, and a
            // contour 10 m away.
            closed(vec![g.world_of_voxel(DVec3::new(3.0, 3.0, 4.0))], &[]),
            closed(rect(&g, 0.0, 2.1, 2.1, 2.3, 2.3), &[]),
            closed(
                rect(&g, 1.0, 1.5, 2.5, 4.5, 5.5)
                    .into_iter()
                    .map(|p| p + far)
                    .collect(),
                &[],
            ),
        ],
    );
    let placed = place_rtstruct(&rt, &grid, None, "x").unwrap();
    let m = placed.segmentation.segments[0].mask.to_full();
    let want = Array3::from_shape_fn((5, 10, 12), |(z, r, c)| {
        z == 2 && (3..=5).contains(&r) && (2..=4).contains(&c)
    });
    assert_eq!(m, want);
}

#[test]
fn contours_off_the_slices_or_of_another_frame_are_refused_and_points_are_skipped() {
    let grid = oblique_grid([4, 10, 12]);
    let g = grid.geometry;
    let between = structure_set(&grid, vec![closed(rect(&g, 1.5, 1.0, 1.0, 4.0, 4.0), &[])]);
    let e = place_rtstruct(&between, &grid, None, "x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("1.25 mm from the plane of slice"), "{e}");
    assert!(e.contains("contour 1 of ROI 4 \"Box\""), "{e}");

    let wrong_ref = structure_set(
        &grid,
        vec![closed(
            rect(&g, 1.0, 1.0, 1.0, 4.0, 4.0),
            &["1.2.826.0.1.3680043.2.1125.4.3"],
        )],
    );
    let e = place_rtstruct(&wrong_ref, &grid, None, "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("references slice 4 but lies 5.00 mm from its plane"),
        "{e}"
    );

    let mut other = structure_set(&grid, vec![closed(rect(&g, 1.0, 1.0, 1.0, 4.0, 4.0), &[])]);
    other.frame_of_reference_uid = Some("1.2.3".into());
    let e = place_rtstruct(&other, &grid, None, "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("frame of reference differs: RTSTRUCT 1.2.3, CT 1.2.826"),
        "{e}"
    );

    let mut mixed = structure_set(
        &grid,
        vec![
            closed(rect(&g, 1.0, 0.5, 0.5, 3.5, 3.5), &[]),
            closed(rect(&g, 7.0, 1.0, 1.0, 4.0, 4.0), &[]),
        ],
    );
    mixed.rois[0].contours.push(Contour {
        kind: ContourKind::Point,
        points_mm: vec![g.centre_mm()],
        image_sop_uids: Vec::new(),
    });
    mixed.rois[0].contours.push(Contour {
        kind: ContourKind::parse(""),
        points_mm: vec![g.centre_mm()],
        image_sop_uids: Vec::new(),
    });
    let placed = place_rtstruct(&mixed, &grid, None, "x").unwrap();
    assert_eq!(placed.segmentation.segments[0].mask.count(), 9);
    assert_eq!(
        placed.notes,
        ["ROI 4 \"Box\": 1 POINT, 1 beyond the CT's slices, \
             1 untyped (no ContourGeometricType) contour(s) skipped"]
    );

    let outside = structure_set(&grid, vec![closed(rect(&g, 9.0, 1.0, 1.0, 4.0, 4.0), &[])]);
    let e = place_rtstruct(&outside, &grid, None, "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("none of its 1 closed contours lies on the CT's 4 slices"),
        "{e}"
    );
}

#[test]
fn rois_are_chosen_by_name_in_the_order_given() {
    let grid = oblique_grid([5, 19, 23]);
    let seg = phantom(grid.geometry);
    let (rt, _) = write_read_place(&seg, &grid);
    let pick = ["nodule".to_owned(), " RING ".to_owned()];
    let placed = place_rtstruct(&rt, &grid, Some(&pick), "x").unwrap();
    let labels: Vec<&str> = placed
        .segmentation
        .segments
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(labels, ["Nodule", "Ring"]);
    let e = place_rtstruct(&rt, &grid, Some(&["Heart".to_owned()]), "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no ROI named \"Heart\" (it has \"Ring\", \"Nodule\", \"Empty\")"),
        "{e}"
    );
}

#[test]
fn files_that_are_not_structure_sets_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg.dcm");
    let grid = oblique_grid([3, 8, 8]);
    let seg = phantom(grid.geometry);
    crate::dicom::seg::write_seg(
        &path,
        &seg,
        &grid,
        &SeriesMetadata::default(),
        &crate::dicom::seg::SegWriteOptions::default(),
    )
    .unwrap();
    let e = read_rtstruct(&path).unwrap_err().to_string();
    assert!(e.contains("not an RT Structure Set"), "{e}");
    std::fs::write(&path, b"not dicom").unwrap();
    assert!(read_rtstruct(&path).is_err());
}
