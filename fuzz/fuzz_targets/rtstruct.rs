//! RTSTRUCT reading and placement: the structure set is read, then placed
//! on a CT grid around its first closed contour (so contours land on slices
//! and are rasterised, not refused at the frame-of-reference check), with
//! spacing and size varied by the input's last byte; the placed
//! segmentation is written back as an RTSTRUCT (the tracer on whatever the
//! rasteriser made).
#![no_main]

use glam::{DMat3, DVec3};
use hounsfield::dicom::rtstruct::{
    ContourKind, ReferenceGrid, RtStructWriteOptions, place_rtstruct, read_rtstruct,
    write_rtstruct,
};
use hounsfield::volume::Geometry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: hounsfield_fuzz::let_firewalled_panics_unwind(), |data: &[u8]| {
    let path = hounsfield_fuzz::scratch_file("dcm", data);
    let Ok(rt) = read_rtstruct(&path) else { return };
    let first = rt
        .rois
        .iter()
        .flat_map(|r| &r.contours)
        .find(|c| c.kind == ContourKind::ClosedPlanar)
        .and_then(|c| c.points_mm.first().copied())
        .filter(|p| p.is_finite())
        .unwrap_or(DVec3::ZERO);
    let tail = data.last().copied().unwrap_or(0);
    let spacing = 0.5 + f64::from(tail & 7);
    let n = 16 + usize::from(tail >> 3);
    let geometry = Geometry {
        dims: [n, n, n],
        spacing_mm: DVec3::splat(spacing),
        origin_mm: first - DVec3::splat(spacing * (n / 2) as f64),
        direction: DMat3::IDENTITY,
    };
    let grid = ReferenceGrid {
        frame_of_reference_uid: rt.frame_of_reference_uid.clone(),
        ..ReferenceGrid::bare(geometry)
    };
    let Ok(placed) = place_rtstruct(&rt, &grid, None, "fuzz") else {
        return;
    };
    if placed.segmentation.segments.is_empty() {
        return;
    }
    let out = hounsfield_fuzz::scratch_file("out.dcm", &[]);
    let _ = write_rtstruct(
        &out,
        &placed.segmentation,
        &grid,
        &hounsfield::dicom::SeriesMetadata::default(),
        &RtStructWriteOptions::default(),
    );
});
