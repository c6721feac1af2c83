//! Rotating MIP, overlay fusion and GIF export: geometry on an off-centre
//! ball, agreement with ray casting and the axis MIPs at 0° and 90°, the
//! resampling fallback for an oblique volume, fused phantom labels (liver
//! green, tumour red on top) through the GIF palette, air-dark corners,
//! cancellation, and the real chest CT when present.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use glam::{DMat3, DVec3};
use hounsfield::export::gif::{Overlay, encode_gif, encode_gif_overlay, write_png_frames_overlay};
use hounsfield::mpr::ViewAxis;
use hounsfield::phantom::{self, LABEL_LIVER, LABEL_TUMOUR, LANDMARK_TUMOUR, PhantomParams};
use hounsfield::project::fuse::{FuseParams, rotating_mip_fused};
use hounsfield::project::raycast::{RayParams, project_direction};
use hounsfield::project::rotate::{RotateError, RotatingMipParams, mm_per_px, rotating_mip};
use hounsfield::project::{ProjectionMode, project, projection_plane};
use hounsfield::seg::Segmentation;
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

/// Air with two smooth blobs (left-anterior-superior bright, right-posterior
/// dimmer), sampled on `dims` / `spacing` / `direction` centred on the
/// origin: the same object whatever the grid.
fn blobs(dims: [usize; 3], spacing: DVec3, direction: DMat3) -> Volume {
    let mut g = Geometry::identity(dims);
    g.spacing_mm = spacing;
    g.direction = direction;
    let c = g.centre_mm();
    g.origin_mm -= c;
    let field = |p: DVec3| {
        let blob = |c: DVec3, s: f64, a: f64| a * (-(p - c).length_squared() / (2.0 * s * s)).exp();
        -1000.0
            + blob(DVec3::new(9.0, -6.0, 5.0), 3.5, 1900.0)
            + blob(DVec3::new(-8.0, 7.0, -6.0), 4.0, 1300.0)
    };
    let a = Array3::from_shape_fn(dims, |(k, j, i)| {
        field(g.world_of_voxel(DVec3::new(i as f64, j as f64, k as f64))) as f32
    });
    Volume::from_f32(a, g)
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

fn to_u8(hu: f32, p: &RotatingMipParams) -> u8 {
    ((hu - (p.centre_hu - p.width_hu / 2.0)) * 255.0 / p.width_hu)
        .round()
        .clamp(0.0, 255.0) as u8
}

/// The ray-cast frame `f` of a rotating MIP (samples `step_mm` apart): same
/// framing, air outside.
fn raycast_frame(vol: &Volume, p: &RotatingMipParams, f: usize, step_mm: f64) -> Vec<u8> {
    let theta = p.angle_deg(f).to_radians();
    let rp = RayParams {
        direction_lps: DVec3::new(-theta.sin(), theta.cos(), 0.0),
        up_lps: DVec3::Z,
        size_px: [p.size, p.size],
        mm_per_px: mm_per_px(&vol.geometry, p.size),
        mode: ProjectionMode::Max,
        step_mm,
        outside_hu: Some(p.outside_hu),
        centre_mm: None,
    };
    let img = project_direction(vol, &rp).expect("ray cast");
    img.data.iter().map(|&v| to_u8(v, p)).collect()
}

/// Bilinear value of `img` at continuous pixel `q`, inside only.
fn bilinear(img: &hounsfield::mpr::Image2, q: glam::DVec2) -> Option<f32> {
    let (w, h) = (img.width as f64, img.height as f64);
    if !(q.x >= 0.0 && q.y >= 0.0 && q.x <= w - 1.0 && q.y <= h - 1.0) {
        return None;
    }
    let (x0, y0) = (q.x.floor() as usize, q.y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(img.width - 1), (y0 + 1).min(img.height - 1));
    let (fx, fy) = ((q.x - x0 as f64) as f32, (q.y - y0 as f64) as f32);
    let at = |x: usize, y: usize| img.get(x, y).unwrap_or(f32::NAN);
    let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
    let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
    Some(top + (bottom - top) * fy)
}

/// (mean, worst) absolute difference of two byte images.
fn difference(a: &[u8], b: &[u8]) -> (f64, u8) {
    let r = difference_quiet(a, b);
    eprintln!("difference: mean {:.3}, worst {}", r.0, r.1);
    r
}

fn difference_quiet(a: &[u8], b: &[u8]) -> (f64, u8) {
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum();
    (sum / a.len() as f64, worst)
}

/// Mean absolute difference between a rotating-MIP frame and the axis MIP
/// of `axis` (windowed, sampled bilinearly at the frame's pixel centres),
/// over the pixels inside the axis MIP; and their number.
fn axis_difference(
    vol: &Volume,
    frame: &[u8],
    axis: ViewAxis,
    p: &RotatingMipParams,
) -> (f64, usize) {
    let axis_mip = project(vol, axis, ProjectionMode::Max, None);
    let plane = projection_plane(&vol.geometry, axis);
    let mmpx = mm_per_px(&vol.geometry, p.size);
    let centre = vol.geometry.centre_mm();
    let (u, v) = (axis.u_dir(), axis.v_dir());
    let at = |i: usize| (i as f64 + 0.5 - p.size as f64 / 2.0) * mmpx;
    let (mut sum, mut n) = (0.0, 0);
    for r in 0..p.size {
        for c in 0..p.size {
            let world = centre + u * at(c) + v * at(r);
            let Some(hu) = bilinear(&axis_mip, plane.pixel_of_world(world)) else {
                continue;
            };
            sum += f64::from(frame[r * p.size + c].abs_diff(to_u8(hu, p)));
            n += 1;
        }
    }
    let mean = sum / n.max(1) as f64;
    eprintln!("{axis:?} MIP: mean {mean:.3} over {n}");
    (mean, n)
}

fn assert_corners_dark(frames: &[Vec<u8>], size: usize) {
    for (f, img) in frames.iter().enumerate() {
        for idx in [0, size - 1, size * (size - 1), size * size - 1] {
            assert_eq!(img[idx], 0, "frame {f}, pixel {idx}");
        }
    }
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

    // Frame 0 and frame 18 (180°) are exact left-right mirror images.
    for r in 0..size {
        for c in 0..size {
            assert_eq!(frames[0][r * size + c], frames[18][r * size + size - 1 - c]);
        }
    }

    // Screen x of the ball follows offset.x·cosθ + offset.y·sinθ.
    let mmpx = mm_per_px(&vol.geometry, size);
    for f in [0, 9, 18, 27, 4] {
        let theta = p.angle_deg(f).to_radians();
        let s = offset.x * theta.cos() + offset.y * theta.sin();
        let expected = size as f64 / 2.0 + s / mmpx - 0.5;
        let got = bright_x(&frames[f], size).unwrap();
        assert!(
            (got - expected).abs() < 1.5,
            "frame {f}: x {got} vs {expected}"
        );
    }

    // Corners are outside the volume: air windowed 150/900 is black; the
    // centre is inside the soft tissue.
    assert_corners_dark(&frames, size);
    assert!(frames[0][(size / 2) * size + size / 2] > 0);

    // The GIF decodes to the same frames and loops forever (NETSCAPE2.0).
    let side = u16::try_from(size).unwrap();
    let bytes = encode_gif(&frames, side, side, 10).unwrap();
    assert!(bytes.windows(11).any(|w| w == b"NETSCAPE2.0"));
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let mut dec = opts.read_info(bytes.as_slice()).unwrap();
    assert_eq!((dec.width(), dec.height()), (side, side));
    let mut n = 0;
    while let Some(frame) = dec.read_next_frame().unwrap() {
        assert_eq!((frame.width, frame.height), (side, side));
        assert_eq!(frame.delay, 10);
        assert_eq!(&frame.buffer[..], &frames[n][..], "frame {n}");
        n += 1;
    }
    assert_eq!(n, 36);
    assert_eq!(dec.repeat(), gif::Repeat::Infinite);
}

#[test]
fn frames_at_0_and_90_degrees_equal_the_ray_cast_and_axis_mips() {
    let vol = blobs([40, 64, 60], DVec3::new(0.8, 0.9, 1.6), DMat3::IDENTITY);
    let p = RotatingMipParams {
        size: 96,
        ..RotatingMipParams::default()
    };
    let frames = rotating_mip(&vol, &p, None, None).unwrap();
    for (f, axis) in [(0, ViewAxis::Coronal), (9, ViewAxis::Sagittal)] {
        // Ray casting on the same pixel grid.
        let (mean, worst) = difference(&frames[f], &raycast_frame(&vol, &p, f, 0.1));
        assert!(
            mean < 0.5 && worst <= 8,
            "frame {f} vs ray cast: mean {mean}, worst {worst}"
        );
        let (mean, n) = axis_difference(&vol, &frames[f], axis, &p);
        assert!(
            n > 2000 && mean < 1.0,
            "frame {f} vs {axis:?} MIP: mean {mean} over {n}"
        );
    }
}

#[test]
fn an_oblique_volume_goes_through_the_resampling_fallback() {
    let oblique = DMat3::from_rotation_x(0.4) * DMat3::from_rotation_z(0.3);
    let vol = blobs([56, 56, 56], DVec3::ONE, oblique);
    let p = RotatingMipParams {
        step_deg: 45.0,
        size: 80,
        ..RotatingMipParams::default()
    };
    let frames = rotating_mip(&vol, &p, None, None).unwrap();
    assert_eq!(frames.len(), 8);
    assert_corners_dark(&frames, p.size);
    for (f, frame) in frames.iter().enumerate() {
        let (mean, worst) = difference(frame, &raycast_frame(&vol, &p, f, 0.1));
        // Resampling first (trilinear) flattens the blob peaks a little.
        assert!(
            mean < 0.5 && worst <= 16,
            "frame {f}: mean {mean}, worst {worst}"
        );
    }
}

/// The chest phantom with only its liver and tumour as segments.
fn liver_and_tumour() -> (Volume, Segmentation, DVec3) {
    let params = PhantomParams {
        dims: [60, 96, 96],
        spacing_mm: DVec3::new(350.0 / 96.0, 350.0 / 96.0, 4.0),
        noise_hu: 0.0,
        ..PhantomParams::default()
    };
    let ph = phantom::chest(&params);
    let labels = ph.labels.mapv(|l| match l {
        LABEL_LIVER | LABEL_TUMOUR => u16::from(l),
        _ => 0,
    });
    let names: Vec<(u16, String)> = ph
        .label_names
        .iter()
        .map(|&(v, n)| (u16::from(v), n.to_owned()))
        .collect();
    let seg = Segmentation::from_label_map(labels.view(), ph.volume.geometry, &names, "phantom")
        .expect("phantom labels");
    let tumour = phantom::landmarks(&params)
        .into_iter()
        .find(|(n, _)| *n == LANDMARK_TUMOUR)
        .map(|(_, p)| p)
        .expect("tumour landmark");
    (ph.volume, seg, tumour)
}

fn is_green(c: [u8; 3]) -> bool {
    let [r, g, b] = c.map(i32::from);
    g > r + 20 && g > b + 20
}

fn is_red(c: [u8; 3]) -> bool {
    let [r, g, b] = c.map(i32::from);
    r > g + 40 && r > b + 40
}

#[test]
fn fused_gif_shows_liver_green_and_tumour_red_on_top() {
    let (vol, seg, tumour) = liver_and_tumour();
    let (liver, lesion) = (
        seg.index_of(u16::from(LABEL_LIVER)).unwrap(),
        seg.index_of(u16::from(LABEL_TUMOUR)).unwrap(),
    );
    let p = RotatingMipParams {
        step_deg: 30.0,
        size: 128,
        ..RotatingMipParams::default()
    };
    let fused =
        rotating_mip_fused(&vol, Some(&seg), &p, &FuseParams::default(), None, None).unwrap();
    assert!(fused.has_overlay());
    assert_corners_dark(&fused.grey, p.size);
    let side = u16::try_from(p.size).unwrap();
    let overlay = Overlay {
        labels: &fused.labels,
        colours: &fused.colours,
        opacity: fused.opacity,
    };
    let bytes = encode_gif_overlay(&fused.grey, Some(&overlay), side, side, 10).unwrap();
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(bytes.as_slice()).unwrap();
    let mmpx = mm_per_px(&vol.geometry, p.size);
    let off = tumour - vol.geometry.centre_mm();
    let mut f = 0;
    while let Some(frame) = dec.read_next_frame().unwrap() {
        let rgb = |i: usize| {
            [
                frame.buffer[4 * i],
                frame.buffer[4 * i + 1],
                frame.buffer[4 * i + 2],
            ]
        };
        let labels = &fused.labels[f];
        let (mut green, mut red) = (0, 0);
        for (i, &l) in labels.iter().enumerate() {
            let c = rgb(i);
            match usize::from(l).checked_sub(1) {
                Some(s) if s == liver => {
                    assert!(is_green(c), "frame {f} pixel {i}: liver shown as {c:?}");
                    green += 1;
                }
                Some(s) if s == lesion => {
                    assert!(is_red(c), "frame {f} pixel {i}: tumour shown as {c:?}");
                    red += 1;
                }
                Some(s) => panic!("unexpected segment {s}"),
                None => assert!(c[0] == c[1] && c[1] == c[2], "frame {f}: unlabelled {c:?}"),
            }
        }
        assert!(
            green > 100 && red > 5,
            "frame {f}: {green} liver, {red} tumour pixels"
        );
        for idx in [0, p.size - 1, p.size * (p.size - 1), p.size * p.size - 1] {
            assert_eq!(rgb(idx), [0, 0, 0], "frame {f}: corner");
        }
        // The tumour shows at its projected centre, above the liver.
        let theta = p.angle_deg(f).to_radians();
        let s = off.x * theta.cos() + off.y * theta.sin();
        let col = (p.size as f64 / 2.0 + s / mmpx - 0.5).round() as usize;
        let row = (p.size as f64 / 2.0 - off.z / mmpx - 0.5).round() as usize;
        assert_eq!(
            usize::from(labels[row * p.size + col]),
            lesion + 1,
            "frame {f}"
        );
        f += 1;
    }
    assert_eq!(f, 12);
    assert_eq!(dec.repeat(), gif::Repeat::Infinite);

    // PNG frames are RGB with the exact blend.
    let dir = tempfile::tempdir().unwrap();
    let paths =
        write_png_frames_overlay(dir.path(), &fused.grey, Some(&overlay), 128, 128).unwrap();
    assert_eq!(paths.len(), 12);
    let img = image::open(&paths[0]).unwrap().to_rgb8();
    let i = fused.labels[0]
        .iter()
        .position(|&l| usize::from(l) == lesion + 1)
        .unwrap();
    let px = img.get_pixel((i % 128) as u32, (i / 128) as u32).0;
    assert!(is_red(px), "{px:?}");
}

#[test]
fn cancel_stops_the_rotating_mip() {
    let (vol, _) = phantom();
    let cancel = AtomicBool::new(false);
    let report = |done: usize, _total: usize| {
        if done >= 3 {
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let r = rotating_mip(
        &vol,
        &RotatingMipParams::default(),
        Some(&cancel),
        Some(&report),
    );
    assert!(matches!(r, Err(RotateError::Cancelled)), "{r:?}");
}

#[test]
fn chest_ct_rotating_mip() {
    let Some(dir) = hounsfield::testdata::dir("chest-ct") else {
        return;
    };
    let vol =
        hounsfield::dicom::load_series(&dir, None, &hounsfield::dicom::LoadControl::default())
            .unwrap()
            .volume;
    let p = RotatingMipParams::default();
    let t0 = Instant::now();
    let frames = rotating_mip(&vol, &p, None, None).unwrap();
    eprintln!(
        "chest-ct: 36 frames of 512 px in {:.3} s (test profile)",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(frames.len(), 36);
    assert_corners_dark(&frames, p.size);
    for (f, axis) in [(0, ViewAxis::Coronal), (9, ViewAxis::Sagittal)] {
        let (mean, n) = axis_difference(&vol, &frames[f], axis, &p);
        assert!(
            n > 50_000 && mean < 1.0,
            "frame {f} vs {axis:?} MIP: mean {mean} over {n}"
        );
    }
}

#[test]
fn cli_writes_fused_gif_png_frames_and_a_fused_projection() {
    let (vol, seg, _) = liver_and_tumour();
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct.nii");
    hounsfield::io::nifti::write_nifti(&ct, &vol).unwrap();
    let labels = dir.path().join("labels.nii");
    let map = seg.to_label_map().mapv(|v| i16::try_from(v).unwrap());
    hounsfield::io::nifti::write_nifti(&labels, &Volume::from_i16(map, vol.geometry)).unwrap();
    let gif_path = dir.path().join("spin.gif");
    let frames = dir.path().join("frames");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args([
            "mip-gif",
            ct.to_str().unwrap(),
            "--seg",
            labels.to_str().unwrap(),
        ])
        .args(["--step", "90", "--size", "64", "--delay-cs", "20", "--out"])
        .arg(&gif_path)
        .arg("--frames-dir")
        .arg(&frames)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&gif_path).unwrap();
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(bytes.as_slice()).unwrap();
    // A label map carries no names: "Label 6" and "Label 7" take palette
    // colours, so count coloured (not grey) pixels.
    let coloured = |c: [u8; 3]| c[0] != c[1] || c[1] != c[2];
    let (mut n, mut count) = (0, 0);
    while let Some(f) = dec.read_next_frame().unwrap() {
        assert_eq!((f.width, f.height, f.delay), (64, 64, 20));
        let px = |i: usize| [f.buffer[4 * i], f.buffer[4 * i + 1], f.buffer[4 * i + 2]];
        count += (0..64 * 64).filter(|&i| coloured(px(i))).count();
        assert_eq!(px(0), [0, 0, 0]);
        n += 1;
    }
    assert_eq!(n, 4);
    assert_eq!(dec.repeat(), gif::Repeat::Infinite);
    assert!(count > 400, "{count} coloured pixels");
    let pngs = std::fs::read_dir(&frames).unwrap().count();
    assert_eq!(pngs, 4);

    let png_path = dir.path().join("coronal.png");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"))
        .args([
            "project",
            ct.to_str().unwrap(),
            "--seg",
            labels.to_str().unwrap(),
        ])
        .args(["--axis", "coronal", "--out"])
        .arg(&png_path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let png = image::open(&png_path).unwrap().to_rgb8();
    assert!(png.pixels().filter(|p| coloured(p.0)).count() > 100);
}

/// `--labels` writes each frame's angle in its top-left corner (light
/// antialiased text on a dark box); the rest of the frame is unchanged.
#[test]
fn cli_labels_frames_with_their_angle() {
    let (vol, _, _) = liver_and_tumour();
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct.nii");
    hounsfield::io::nifti::write_nifti(&ct, &vol).unwrap();
    let frames_of = |labels: bool| -> Vec<Vec<u8>> {
        let out = dir.path().join(format!("spin{labels}.gif"));
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hounsfield"));
        cmd.args([
            "mip-gif",
            ct.to_str().unwrap(),
            "--step",
            "90",
            "--size",
            "96",
            "--out",
        ])
        .arg(&out);
        if labels {
            cmd.arg("--labels");
        }
        let run = cmd.output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::RGBA);
        let bytes = std::fs::read(&out).unwrap();
        let mut dec = opts.read_info(bytes.as_slice()).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = dec.read_next_frame().unwrap() {
            frames.push(f.buffer.chunks(4).map(|p| p[0]).collect());
        }
        frames
    };
    let (plain, labelled) = (frames_of(false), frames_of(true));
    assert_eq!(plain.len(), 4);
    let corner = |f: &[u8]| -> Vec<u8> {
        (0..16)
            .flat_map(|y| f[y * 96..y * 96 + 40].to_vec())
            .collect()
    };
    for k in 0..4 {
        assert!(
            corner(&labelled[k]).iter().any(|&v| v > 200),
            "frame {k} has light text"
        );
        assert_eq!(
            labelled[k][90 * 96..],
            plain[k][90 * 96..],
            "frame {k} below the label"
        );
    }
    assert_ne!(
        corner(&labelled[0]),
        corner(&labelled[1]),
        "0° and 90° read differently"
    );
}
