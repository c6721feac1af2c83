//! Rotating MIP and GIF export on a phantom with an off-centre bright ball.

use std::time::Instant;

use glam::DVec3;
use hounsfield::export::gif::encode_gif;
use hounsfield::project::rotate::{RotatingMipParams, mm_per_px, rotating_mip};
use hounsfield::volume::{Geometry, Volume};
use ndarray::Array3;

/// 40 slices of 64×64, 1 mm in-plane, 1.5 mm slices; soft tissue (−100 HU)
/// with a 1000 HU ball of radius 4 mm at (+15, +10) mm from the centre.
fn phantom() -> (Volume, DVec3) {
    let mut g = Geometry::identity([40, 64, 64]);
    g.spacing_mm = DVec3::new(1.0, 1.0, 1.5);
    let centre = g.centre_mm();
    let ball = centre + DVec3::new(15.0, 10.0, 0.0);
    let a = Array3::from_shape_fn((40, 64, 64), |(k, j, i)| {
        let p = g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64));
        if p.distance(ball) <= 4.0 { 1000 } else { -100 }
    });
    (Volume::from_i16(a, g), ball - centre)
}

/// Mean column of pixels ≥ 250 (the ball), or None.
fn bright_x(img: &[u8], size: usize) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for (idx, &v) in img.iter().enumerate() {
        if v >= 250 {
            sum += (idx % size) as f64;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

#[test]
fn rotating_mip_frames_geometry_and_gif() {
    let (vol, offset) = phantom();
    let p = RotatingMipParams {
        size: 128,
        ..RotatingMipParams::default()
    };
    let t0 = Instant::now();
    let frames = rotating_mip(&vol, &p, None, None).unwrap();
    eprintln!(
        "phantom 36 frames at 128 px: {:.3} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(frames.len(), 36);
    let size = p.size;
    assert!(frames.iter().all(|f| f.len() == size * size));

    // Frame 0 and frame 18 (180°) are left-right mirror images.
    let mut diff = 0u64;
    for r in 0..size {
        for c in 0..size {
            let a = frames[0][r * size + c];
            let b = frames[18][r * size + (size - 1 - c)];
            diff += u64::from(a.abs_diff(b));
        }
    }
    let mean = diff as f64 / (size * size) as f64;
    assert!(mean < 2.0, "mean mirror difference {mean}");

    // Screen x of the ball follows offset.x·cosθ + offset.y·sinθ.
    let mmpx = mm_per_px(&vol.geometry, size);
    for f in [0, 9, 18, 27, 4] {
        let theta = (f as f64 * p.step_deg).to_radians();
        let s = offset.x * theta.cos() + offset.y * theta.sin();
        let expected = size as f64 / 2.0 + s / mmpx - 0.5;
        let got = bright_x(&frames[f], size).unwrap();
        assert!(
            (got - expected).abs() < 1.5,
            "frame {f}: x {got} vs {expected}"
        );
    }

    // Top-left corner is above the volume: air windowed 150/900 is black;
    // the centre is inside the soft tissue.
    assert_eq!(frames[0][0], 0);
    assert!(frames[0][(size / 2) * size + size / 2] > 0);

    // The GIF decodes to the same frames and loops forever.
    let side = u16::try_from(size).unwrap();
    let bytes = encode_gif(&frames, side, side, 10).unwrap();
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let mut dec = opts.read_info(bytes.as_slice()).unwrap();
    assert_eq!((dec.width(), dec.height()), (side, side));
    let mut n = 0;
    while let Some(frame) = dec.read_next_frame().unwrap() {
        assert_eq!((frame.width, frame.height), (side, side));
        if n == 0 {
            assert_eq!(&frame.buffer[..], &frames[0][..]);
        }
        n += 1;
    }
    assert_eq!(n, 36);
    assert_eq!(dec.repeat(), gif::Repeat::Infinite);
}
