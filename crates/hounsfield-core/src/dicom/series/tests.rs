//! Regression tests of series assembly on synthetic headers (no files):
//! inputs the fuzzer (`fuzz/fuzz_targets/series_assembly.rs`) found.
use super::*;

/// A 4×4 single-frame axial CT header at `z_mm`.
fn axial(n: usize, z_mm: f64) -> InstanceHeader {
    InstanceHeader {
        path: format!("/nonexistent/{n}.dcm").into(),
        kind: ObjectKind::Image,
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance_uid: Some(format!("2.25.{n}")),
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        study_uid: Some("2.25.1".into()),
        series_uid: Some("2.25.2".into()),
        frame_of_reference_uid: Some("2.25.3".into()),
        series_number: Some(1),
        instance_number: Some(n as i64 + 1),
        image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
        rows: 4,
        cols: 4,
        bits_allocated: 16,
        bits_stored: 12,
        pixel_representation: 1,
        samples_per_pixel: 1,
        photometric: Some("MONOCHROME2".into()),
        number_of_frames: 1,
        frames: vec![FrameHeader {
            frame: 0,
            position_mm: Some(DVec3::new(-10.0, -20.0, z_mm)),
            orientation: Some([DVec3::X, DVec3::Y]),
            pixel_spacing_mm: Some([0.5, 0.5]),
            slice_thickness_mm: Some(1.0),
            rescale_slope: 1.0,
            rescale_intercept: -1024.0,
        }],
        padding_stored: None,
        spacing_between_slices_mm: None,
        meta: crate::dicom::SeriesMetadata::default(),
        pixel_span: None,
    }
}

/// Found by the fuzzer: one gap 10^30 times the median made the slot
/// index overflow (`as usize` saturates, the sum did not).
#[test]
fn a_gap_of_astronomical_size_is_an_irregular_stack_not_an_overflow() {
    let headers: Vec<_> = [0.0, 0.5, 1.0, 1e30]
        .iter()
        .enumerate()
        .map(|(n, &z)| axial(n, z))
        .collect();
    let layout = assemble(&headers).unwrap();
    assert_eq!(layout.slots.len(), 4);
    assert!(
        layout
            .report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::UnevenSpacing),
        "{:?}",
        layout.report.issues
    );
}

/// Repeated positions (a zero median gap) are duplicates set aside before
/// the grid is measured, never a division by zero.
#[test]
fn zero_gaps_are_duplicates_not_a_division_by_zero() {
    let headers: Vec<_> = [0.0, 0.0, 0.0, 2.0]
        .iter()
        .enumerate()
        .map(|(n, &z)| axial(n, z))
        .collect();
    let layout = assemble(&headers).unwrap();
    assert_eq!(layout.slots.len(), 2);
    assert!((layout.geometry.spacing_mm.z - 2.0).abs() < 1e-12);
    assert!(
        layout
            .report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::DuplicatePositions)
    );
}

/// Found by the fuzzer: NaN positions among finite ones made the sort's
/// comparison inconsistent ("user-provided comparison function does not
/// correctly implement a total order" panics in the standard sort).
#[test]
fn nan_positions_sort_without_panicking() {
    let zs = [
        3.0,
        f64::NAN,
        1.0,
        f64::NAN,
        0.0,
        2.0,
        f64::NAN,
        5.0,
        4.0,
        f64::NAN,
        -1.0,
        f64::NAN,
        7.0,
        6.0,
        f64::NAN,
        f64::NAN,
        9.0,
        8.0,
        f64::NAN,
        -2.0,
        f64::NAN,
        10.0,
    ];
    let headers: Vec<_> = zs.iter().enumerate().map(|(n, &z)| axial(n, z)).collect();
    // An answer, not a panic: the NaN-positioned frames are not placed among
    // the finite ones as if they were.
    match assemble(&headers) {
        Ok(layout) => assert!(layout.slots.len() >= 13, "{}", layout.slots.len()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Found by the fuzzer: frames at NaN positions among regular ones made the
/// standard sort panic ("does not correctly implement a total order"): the
/// comparator recomputed each distance, and a NaN's payload may differ
/// between two inlined copies of the same arithmetic. Distances are now
/// computed once, every NaN the canonical one; NaNs of many payloads and
/// signs sort after every number, deterministically.
#[test]
fn nan_positions_of_any_payload_sort_in_a_total_order() {
    let nans = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff8_0000_0000_0001),
        f64::from_bits(0xfff8_dead_beef_0001),
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling
    ];
    let headers: Vec<_> = (0..48)
        .map(|n| {
            let z = if n % 3 == 0 {
                nans[n % nans.len()]
            } else {
                n as f64 * 1.25
            };
            let mut h = axial(n, z);
            if n % 6 == 0 {
                // A NaN in x as well: the dot product mixes two NaNs.
                h.frames[0].position_mm = Some(DVec3::new(nans[(n + 1) % nans.len()], -20.0, z));
            }
            h
        })
        .collect();
    let mut reversed = headers.clone();
    reversed.reverse();
    let a = assemble(&headers);
    let b = assemble(&reversed);
    // Whatever the verdict, the same for any input order, and no panic.
    assert_eq!(a.is_ok(), b.is_ok());
    if let (Ok(a), Ok(b)) = (a, b) {
        assert_eq!(a.slots, b.slots);
    }
}
