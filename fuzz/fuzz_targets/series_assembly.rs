//! Series assembly from many headers: up to 64 instances whose geometry,
//! sizes, frame counts, numbers and stacks come from the input (positions
//! off the line, tilted or mixed orientations, duplicates, gaps, NaNs),
//! assembled into a layout as the scanner does.
#![no_main]

use glam::DVec3;
use hounsfield::dicom::header::FrameHeader;
use hounsfield::dicom::{InstanceHeader, ObjectKind, assemble};
use hounsfield_fuzz::Bytes;
use libfuzzer_sys::fuzz_target;

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

fn vec3(b: &mut Bytes) -> DVec3 {
    DVec3::new(b.f64(), b.f64(), b.f64())
}

fn instance(b: &mut Bytes, n: usize) -> InstanceHeader {
    let flags = b.u8();
    let (rows, cols) = if flags & 1 == 0 {
        (512, 512)
    } else {
        (u32::from(b.u16()), u32::from(b.u16()))
    };
    let nframes = if flags & 2 == 0 {
        1
    } else {
        u32::from(b.u8() % 8)
    };
    let z = f64::from(n as u32) * 1.25;
    let frames = (0..nframes)
        .map(|f| FrameHeader {
            frame: f,
            position_mm: (flags & 4 == 0).then(|| {
                if flags & 8 == 0 {
                    DVec3::new(-100.0, -120.0, z + f64::from(f))
                } else {
                    vec3(b)
                }
            }),
            orientation: (flags & 16 == 0).then(|| {
                if flags & 32 == 0 {
                    [DVec3::X, DVec3::Y]
                } else {
                    [vec3(b), vec3(b)]
                }
            }),
            pixel_spacing_mm: Some(if flags & 64 == 0 {
                [0.7, 0.7]
            } else {
                [b.f64(), b.f64()]
            }),
            slice_thickness_mm: Some(1.25),
            rescale_slope: if flags & 128 == 0 { 1.0 } else { b.f64() },
            rescale_intercept: -1024.0,
        })
        .collect();
    let extra = b.u8();
    InstanceHeader {
        path: format!("/nonexistent/{n}.dcm").into(),
        kind: if extra & 1 == 0 {
            ObjectKind::Image
        } else {
            ObjectKind::Segmentation
        },
        sop_class_uid: CT.into(),
        sop_instance_uid: Some(format!("1.2.3.{}", if extra & 2 == 0 { n } else { 0 })),
        transfer_syntax_uid: if extra & 4 == 0 {
            EXPLICIT_LE.into()
        } else {
            "1.2.840.10008.1.2.4.50".into()
        },
        study_uid: Some("1.2.3".into()),
        series_uid: Some("1.2.3.4".into()),
        frame_of_reference_uid: Some("1.2.3.5".into()),
        series_number: Some(1),
        instance_number: (extra & 8 == 0).then(|| i64::from(b.u16())),
        image_type: if extra & 16 == 0 {
            vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()]
        } else {
            vec!["DERIVED".into(), "LOCALIZER".into()]
        },
        rows,
        cols,
        bits_allocated: if extra & 32 == 0 {
            16
        } else {
            u16::from(b.u8())
        },
        bits_stored: 12,
        pixel_representation: u16::from(extra >> 6 & 1),
        samples_per_pixel: if extra & 128 == 0 { 1 } else { 3 },
        photometric: Some("MONOCHROME2".into()),
        number_of_frames: nframes,
        frames,
        padding_stored: None,
        spacing_between_slices_mm: None,
        meta: Default::default(),
        pixel_span: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let count = usize::from(b.u8() % 64);
    let instances: Vec<InstanceHeader> = (0..count).map(|n| instance(&mut b, n)).collect();
    let _ = assemble(&instances);
});
