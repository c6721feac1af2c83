//! DICOM-SEG reading and placement: the SEG file is read, then placed on a
//! CT grid that matches its first frame (so placement is reached, not
//! refused at the grid check), shifted and resized by the input's last bytes.
#![no_main]

use glam::{DMat3, DVec3};
use hounsfield::dicom::seg::{ReferenceGrid, place_seg, read_seg};
use hounsfield::volume::Geometry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: hounsfield_fuzz::let_firewalled_panics_unwind(), |data: &[u8]| {
    let path = hounsfield_fuzz::scratch_file("dcm", data);
    let Ok(seg) = read_seg(&path) else { return };
    let first = seg.frames.first();
    let origin = first.and_then(|f| f.position_mm).unwrap_or(DVec3::ZERO);
    let [col, row] = first
        .and_then(|f| f.orientation)
        .unwrap_or([DVec3::X, DVec3::Y]);
    let [dr, dc] = first.and_then(|f| f.pixel_spacing_mm).unwrap_or([1.0, 1.0]);
    let tail = data.last().copied().unwrap_or(0);
    let nz = seg.frames.len().clamp(1, 256) + usize::from(tail % 4);
    let (rows, cols) = (seg.rows as usize, seg.cols as usize);
    // The grid stands for a CT already in memory: keep it to what one
    // could be (≤ 64 M voxels).
    if rows.saturating_mul(cols).saturating_mul(nz) > 1 << 26 {
        return;
    }
    let geometry = Geometry {
        dims: [nz, rows, cols],
        spacing_mm: DVec3::new(dc, dr, 1.0 + f64::from(tail >> 4) / 4.0),
        origin_mm: origin - col.cross(row) * f64::from(tail & 3),
        direction: DMat3::from_cols(col, row, col.cross(row)),
    };
    let grid = ReferenceGrid {
        frame_of_reference_uid: seg.frame_of_reference_uid.clone(),
        ..ReferenceGrid::bare(geometry)
    };
    let _ = place_seg(&seg, &grid, "fuzz");
});
