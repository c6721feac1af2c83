//! GPU rendering (`render`): shaders validated by naga, GPU ray-cast
//! projections against the CPU ray caster, isosurface renders against the
//! analytic projection and a stored snapshot. Runs on any adapter; CI pins
//! lavapipe with `WGPU_BACKEND=vulkan`. Set `UPDATE_SNAPSHOTS=1` to rewrite
//! `tests/snapshots/render_*.png`.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::common;
use glam::DVec3;
use hounsfield::mesh::{McParams, Mesh, marching_cubes};
use hounsfield::phantom::{PhantomParams, chest};
use hounsfield::project::ProjectionMode;
use hounsfield::project::raycast::project_direction;
use hounsfield::render::gpu::OFFSCREEN_FORMAT;
use hounsfield::render::mesh_pipeline::MeshUniforms;
use hounsfield::render::mip::MipUniforms;
use hounsfield::render::{
    Gpu, MeshRenderer, MipParams, MipRenderer, OrbitCamera, SHADERS, TransferPreset, VolumeTexture,
    composite_cpu, render_meshes, render_meshes_clipped, render_mip, render_surface_scene,
    rotating_mip_gpu, validate_wgsl, wgsl_struct_size,
};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| Gpu::headless().expect("a wgpu adapter (lavapipe in CI)"))
}

#[test]
fn every_shader_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/hounsfield-viewer/shaders");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in &files {
        let source = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        validate_wgsl(&name, &source).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            SHADERS.iter().any(|(n, s)| *n == name && *s == source),
            "{name} is not embedded in render::SHADERS"
        );
    }
    assert_eq!(files.len(), SHADERS.len());
    assert!(validate_wgsl("bad.wgsl", "fn f( {").is_err());
}

#[test]
fn uniform_structs_match_the_wgsl_layout() {
    let src = |n: &str| SHADERS.iter().find(|(f, _)| *f == n).unwrap().1;
    assert_eq!(
        wgsl_struct_size(src("mip.wgsl"), "MipParams"),
        Some(size_of::<MipUniforms>())
    );
    assert_eq!(
        wgsl_struct_size(src("mesh.wgsl"), "MeshParams"),
        Some(size_of::<MeshUniforms>())
    );
}

/// HU → grey as the shader does; NaN (ray missed) → black.
fn window_u8(hu: f32, p: &MipParams) -> u8 {
    if hu.is_nan() {
        return 0;
    }
    let lo = p.window_centre_hu - p.window_width_hu / 2.0;
    ((hu - lo) / p.window_width_hu)
        .clamp(0.0, 1.0)
        .mul_add(255.0, 0.5) as u8
}

#[test]
fn gpu_projection_matches_the_cpu_ray_caster() {
    let vol = chest(&PhantomParams::with_dims([48, 64, 64])).volume;
    let gpu = gpu();
    let tex = VolumeTexture::upload(&gpu.device, &gpu.queue, &vol).unwrap();
    let views = [(0.0, 0.0), (35.0, 20.0), (-120.0, -40.0)];
    let modes = [
        (ProjectionMode::Max, 400.0, 1800.0),
        (ProjectionMode::Mean, -300.0, 1200.0),
        (ProjectionMode::Min, -500.0, 1500.0),
    ];
    for (azimuth_deg, elevation_deg) in views {
        for (mode, centre, width) in modes {
            let camera = OrbitCamera {
                azimuth_deg,
                elevation_deg,
                ..OrbitCamera::framing(&vol.geometry, [96, 80])
            };
            let params = MipParams {
                mode,
                step_mm: 1.0,
                window_centre_hu: centre,
                window_width_hu: width,
                ..MipParams::default()
            };
            let gpu_img = render_mip(gpu, &tex, &camera, &params).unwrap();
            let cpu = project_direction(&vol, &camera.ray_params(mode, params.step_mm)).unwrap();
            assert_eq!((cpu.width, cpu.height), (96, 80));
            let (mut close, mut lit) = (0usize, 0usize);
            for (px, &hu) in gpu_img.pixels().zip(&cpu.data) {
                let want = window_u8(hu, &params);
                assert!(px[0] == px[1] && px[1] == px[2] && px[3] == 255);
                close += usize::from(px[0].abs_diff(want) <= 2);
                lit += usize::from(want > 0);
            }
            let n = cpu.data.len();
            println!(
                "{mode:?} {azimuth_deg}°/{elevation_deg}°: {close}/{n} within 2 levels, {lit} lit"
            );
            let what = format!("{mode:?} at azimuth {azimuth_deg}°, elevation {elevation_deg}°");
            assert!(
                lit > n / 10,
                "{what}: only {lit} of {n} pixels show the volume"
            );
            assert!(
                close * 100 >= n * 99,
                "{what}: {close} of {n} pixels within 2 grey levels"
            );
        }
    }
}

/// Fraction of pixels whose channels all lie within `tol` levels, and the
/// largest channel difference.
fn agreement(a: &image::RgbaImage, b: &image::RgbaImage, tol: u8) -> (f64, u8) {
    assert_eq!(a.dimensions(), b.dimensions());
    let (mut close, mut max) = (0usize, 0u8);
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d =
            p.0.iter()
                .zip(q.0)
                .map(|(&x, y)| x.abs_diff(y))
                .fold(0, u8::max);
        close += usize::from(d <= tol);
        max = max.max(d);
    }
    (close as f64 / a.pixels().len() as f64, max)
}

#[test]
fn gpu_composite_matches_the_cpu_reference() {
    let vol = chest(&PhantomParams::with_dims([48, 64, 64])).volume;
    let gpu = gpu();
    let tex = VolumeTexture::upload(&gpu.device, &gpu.queue, &vol).unwrap();
    for (preset, azimuth_deg, elevation_deg, step_mm) in [
        (TransferPreset::Bone, 30.0, 20.0, 1.0),
        (TransferPreset::SoftTissue, -60.0, 10.0, 0.7),
        (TransferPreset::Lung, 0.0, 0.0, 1.0),
    ] {
        let camera = OrbitCamera {
            azimuth_deg,
            elevation_deg,
            ..OrbitCamera::framing(&vol.geometry, [96, 80])
        };
        let params = MipParams {
            step_mm,
            composite: Some(preset),
            ..MipParams::default()
        };
        let gpu_img = render_mip(gpu, &tex, &camera, &params).unwrap();
        let cpu_img = composite_cpu(&vol, &camera, preset, step_mm, None).unwrap();
        let (frac, max) = agreement(&gpu_img, &cpu_img, 3);
        let lit = cpu_img
            .pixels()
            .filter(|p| p[0].max(p[1]).max(p[2]) > 20)
            .count();
        println!(
            "{preset:?}: {:.2}% within 3 levels, max {max}, {lit} lit",
            frac * 100.0
        );
        assert!(lit > 96 * 80 / 20, "{preset:?}: only {lit} lit pixels");
        assert!(frac >= 0.99, "{preset:?}: {frac} within 3 levels");
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            gpu_img
                .save(std::env::temp_dir().join(format!("render_composite_{preset:?}.png")))
                .unwrap();
        }
    }
}

/// A box inside the phantom: the upper right anterior part cut away.
fn clip_box(vol: &hounsfield::volume::Volume) -> ([f64; 3], [f64; 3]) {
    let c = vol.geometry.centre_mm();
    (
        [c.x - 60.0, c.y - 30.0, c.z - 200.0],
        [c.x + 200.0, c.y + 200.0, c.z + 15.0],
    )
}

#[test]
fn a_clipped_mip_equals_the_mip_of_the_volume_with_air_outside_the_box() {
    let vol = chest(&PhantomParams::with_dims([48, 64, 64])).volume;
    let clip = clip_box(&vol);
    let mut cut = vol.clone();
    let g = vol.geometry;
    let mut a = vol.voxels.as_i16().unwrap().clone();
    for ((k, j, i), v) in a.indexed_iter_mut() {
        let p = g
            .world_of_voxel(DVec3::new(i as f64, j as f64, k as f64))
            .to_array();
        if (0..3).any(|c| p[c] < clip.0[c] || p[c] > clip.1[c]) {
            *v = -1000;
        }
    }
    cut.voxels = hounsfield::volume::Voxels::I16(a);
    let gpu = gpu();
    let tex = VolumeTexture::upload(&gpu.device, &gpu.queue, &vol).unwrap();
    for (azimuth_deg, elevation_deg) in [(0.0, 0.0), (40.0, 25.0)] {
        let camera = OrbitCamera {
            azimuth_deg,
            elevation_deg,
            ..OrbitCamera::framing(&vol.geometry, [96, 80])
        };
        let params = MipParams {
            step_mm: 1.0,
            clip_box_mm: Some(clip),
            ..MipParams::default()
        };
        let gpu_img = render_mip(gpu, &tex, &camera, &params).unwrap();
        let unclipped = render_mip(
            gpu,
            &tex,
            &camera,
            &MipParams {
                clip_box_mm: None,
                ..params.clone()
            },
        )
        .unwrap();
        let cpu = project_direction(&cut, &camera.ray_params(ProjectionMode::Max, 1.0)).unwrap();
        let (mut close, mut max, mut changed) = (0usize, 0u8, 0usize);
        for ((px, &hu), un) in gpu_img.pixels().zip(&cpu.data).zip(unclipped.pixels()) {
            let d = px[0].abs_diff(window_u8(hu, &params));
            close += usize::from(d <= 3);
            max = max.max(d);
            changed += usize::from(px[0].abs_diff(un[0]) > 10);
        }
        let n = cpu.data.len();
        println!(
            "clipped MIP {azimuth_deg}°/{elevation_deg}°: {close}/{n} within 3 levels, max {max}, {changed} changed by the box"
        );
        assert!(
            changed > n / 20,
            "the box changes too little ({changed} px)"
        );
        assert!(
            close * 100 >= n * 98,
            "{close} of {n} pixels within 3 levels"
        );
    }
}

#[test]
fn a_clipped_surface_shows_nothing_outside_the_projected_box() {
    let vol = chest(&PhantomParams::with_dims([48, 64, 64])).volume;
    let bone = marching_cubes(&vol, &McParams::default()).unwrap();
    let clip = clip_box(&vol);
    for (azimuth_deg, elevation_deg) in [(0.0, 0.0), (30.0, 20.0)] {
        let camera = OrbitCamera {
            azimuth_deg,
            elevation_deg,
            ..OrbitCamera::framing(&vol.geometry, [128, 128])
        };
        let meshes = [(&bone, [0.92, 0.86, 0.74, 1.0])];
        let full = render_meshes(gpu(), &meshes, &camera).unwrap();
        let img = render_meshes_clipped(gpu(), &meshes, &camera, Some(clip)).unwrap();
        // Pixel bounds of the box's projected corners.
        let grid = camera.ray_grid();
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for c in 0..8 {
            let p = DVec3::new(
                if c & 1 == 0 { clip.0[0] } else { clip.1[0] },
                if c & 2 == 0 { clip.0[1] } else { clip.1[1] },
                if c & 4 == 0 { clip.0[2] } else { clip.1[2] },
            ) - camera.target_mm;
            let xy = [
                p.dot(grid.u_dir) / camera.mm_per_px + 64.0 - 0.5,
                p.dot(grid.v_dir) / camera.mm_per_px + 64.0 - 0.5,
            ];
            for a in 0..2 {
                lo[a] = lo[a].min(xy[a]);
                hi[a] = hi[a].max(xy[a]);
            }
        }
        let (mut inside, mut outside_full) = (0, 0);
        for (x, y, px) in img.enumerate_pixels() {
            let (x, y) = (f64::from(x), f64::from(y));
            let out = x < lo[0] - 1.0 || x > hi[0] + 1.0 || y < lo[1] - 1.0 || y > hi[1] + 1.0;
            if out {
                assert_eq!(px[0], 0, "pixel ({x}, {y}) outside the box is lit");
                outside_full += usize::from(full.get_pixel(x as u32, y as u32)[0] > 0);
            } else {
                inside += usize::from(px[0] > 0);
            }
        }
        println!(
            "clipped surface {azimuth_deg}°/{elevation_deg}°: {inside} lit inside, {outside_full} cut away outside"
        );
        assert!(inside > 200, "nothing drawn inside the box");
        assert!(outside_full > 200, "the box cuts nothing away");
    }
}

#[test]
fn the_crosshair_marker_lands_on_the_projected_point_and_hides_behind_surfaces() {
    let point = DVec3::new(12.0, -7.0, 20.0);
    let camera = OrbitCamera {
        target_mm: DVec3::new(0.0, 0.0, 15.0),
        azimuth_deg: 35.0,
        elevation_deg: 25.0,
        mm_per_px: 0.5,
        size_px: [160, 120],
        depth_radius_mm: 100.0,
    };
    let grid = camera.ray_grid();
    let d = point - camera.target_mm;
    let cx = d.dot(grid.u_dir) / camera.mm_per_px + 80.0 - 0.5;
    let cy = d.dot(grid.v_dir) / camera.mm_per_px + 60.0 - 0.5;
    let marker = |p: &image::Rgba<u8>| {
        let (r, g, b) = (p[0], p[1], p[2]);
        (r > 200 && g < 40 && b < 40) || (g > 200 && r < 40 && b < 40) || (b > 200 && r < 40)
    };
    let alone = render_surface_scene(gpu(), &[], &camera, None, Some(point.to_array())).unwrap();
    let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (x, y, p) in alone.enumerate_pixels() {
        if marker(p) {
            n += 1.0;
            sx += f64::from(x);
            sy += f64::from(y);
        }
    }
    let (mx, my) = (sx / n, sy / n);
    println!("marker: {n} px, centroid ({mx:.2}, {my:.2}), projected ({cx:.2}, {cy:.2})");
    assert!(n > 30.0, "marker too small ({n} px)");
    assert!((mx - cx).abs() < 0.75 && (my - cy).abs() < 0.75);
    assert!(marker(
        alone.get_pixel(cx.round() as u32, cy.round() as u32)
    ));
    // A sphere between the viewer and the point hides it; one behind does not.
    let grey = [0.5, 0.5, 0.5, 1.0];
    let front = uv_sphere(point - grid.direction * 30.0, 10.0, 24, 48);
    let img = render_surface_scene(
        gpu(),
        &[(&front, grey)],
        &camera,
        None,
        Some(point.to_array()),
    )
    .unwrap();
    assert_eq!(
        img.pixels().filter(|p| marker(p)).count(),
        0,
        "marker drawn through a surface"
    );
    let back = uv_sphere(point + grid.direction * 30.0, 10.0, 24, 48);
    let img = render_surface_scene(
        gpu(),
        &[(&back, grey)],
        &camera,
        None,
        Some(point.to_array()),
    )
    .unwrap();
    let shown = img.pixels().filter(|p| marker(p)).count();
    assert_eq!(shown, n as usize, "marker hidden by a surface behind it");
}

#[test]
fn the_gpu_rotating_mip_matches_the_cpu_frames() {
    use hounsfield::project::rotate::{RotatingMipParams, rotating_mip};
    let vol = chest(&PhantomParams::with_dims([48, 64, 64])).volume;
    let p = RotatingMipParams {
        step_deg: 30.0,
        size: 96,
        ..RotatingMipParams::default()
    };
    let t = Instant::now();
    let cpu = rotating_mip(&vol, &p, None, None).unwrap();
    let t_cpu = t.elapsed();
    let t = Instant::now();
    let gpu_frames = rotating_mip_gpu(gpu(), &vol, &p).unwrap();
    let t_gpu = t.elapsed();
    assert_eq!(gpu_frames.len(), cpu.len());
    println!(
        "rotating MIP, {} frames of 96²: CPU {:.2?}/frame, GPU {:.2?}/frame (upload included)",
        cpu.len(),
        t_cpu / cpu.len() as u32,
        t_gpu / cpu.len() as u32
    );
    for (f, (g, c)) in gpu_frames.iter().zip(&cpu).enumerate() {
        assert_eq!(g.len(), c.len());
        let diffs: Vec<u8> = g.iter().zip(c).map(|(&a, &b)| a.abs_diff(b)).collect();
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        let max = diffs.iter().max().unwrap();
        let bright = c.iter().filter(|&&v| v > 100).count();
        println!(
            "frame {f} ({}°): mean abs diff {mean:.3}, max {max}, {bright} bright",
            p.angle_deg(f)
        );
        if f == 0 && std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            let mut both = g.clone();
            both.extend_from_slice(c);
            image::GrayImage::from_raw(96, 192, both)
                .unwrap()
                .save(std::env::temp_dir().join("render_rotating_gpu_cpu.png"))
                .unwrap();
        }
        assert!(bright > 100, "frame {f}: CPU frame nearly empty");
        assert!(
            mean < 2.0 && *max <= 4,
            "frame {f}: mean abs diff {mean}, max {max}"
        );
        // Air outside: the corners are the outside value.
        assert_eq!(g[0], c[0]);
    }
}

/// A UV sphere of `radius_mm` about `centre_mm` with outward normals.
fn uv_sphere(centre_mm: DVec3, radius_mm: f64, rings: u32, segments: u32) -> Mesh {
    let mut mesh = Mesh::default();
    for i in 0..=rings {
        let theta = std::f64::consts::PI * f64::from(i) / f64::from(rings);
        for j in 0..segments {
            let phi = std::f64::consts::TAU * f64::from(j) / f64::from(segments);
            let n = DVec3::new(
                theta.sin() * phi.cos(),
                theta.sin() * phi.sin(),
                theta.cos(),
            );
            mesh.vertices_mm
                .push((centre_mm + n * radius_mm).as_vec3().to_array());
            mesh.normals.push(n.as_vec3().to_array());
        }
    }
    for i in 0..rings {
        for j in 0..segments {
            let a = i * segments + j;
            let b = i * segments + (j + 1) % segments;
            let (c, d) = (a + segments, b + segments);
            mesh.triangles.push([a, c, b]);
            mesh.triangles.push([b, c, d]);
        }
    }
    mesh
}

#[test]
fn a_sphere_renders_as_a_disc_of_the_projected_radius() {
    let centre = DVec3::new(10.0, -5.0, 30.0);
    let radius_mm = 20.0;
    let sphere = uv_sphere(centre, radius_mm, 96, 192);
    let camera = OrbitCamera {
        target_mm: DVec3::new(4.0, 0.0, 25.0),
        azimuth_deg: 30.0,
        elevation_deg: 15.0,
        mm_per_px: 0.25,
        size_px: [240, 200],
        depth_radius_mm: 100.0,
    };
    let img = render_meshes(gpu(), &[(&sphere, [1.0, 0.5, 0.25, 1.0])], &camera).unwrap();
    // Analytic projection of the centre: pixel coordinates of the grid.
    let grid = camera.ray_grid();
    let d = centre - camera.target_mm;
    let cx = d.dot(grid.u_dir) / camera.mm_per_px + 120.0 - 0.5;
    let cy = d.dot(grid.v_dir) / camera.mm_per_px + 100.0 - 0.5;
    let r_px = radius_mm / camera.mm_per_px;
    let (mut count, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (x, y, px) in img.enumerate_pixels() {
        let lit = px[0] > 0;
        let dist = (f64::from(x) - cx).hypot(f64::from(y) - cy);
        if dist < r_px - 1.5 {
            assert!(lit, "pixel ({x}, {y}) inside the disc is dark");
        } else if dist > r_px + 1.5 {
            assert!(!lit, "pixel ({x}, {y}) outside the disc is lit");
        }
        if lit {
            count += 1.0;
            sx += f64::from(x);
            sy += f64::from(y);
        }
    }
    let r_est = (count / std::f64::consts::PI).sqrt();
    assert!(
        (r_est - r_px).abs() < 0.5,
        "radius {r_est} px, expected {r_px}"
    );
    assert!((sx / count - cx).abs() < 0.2 && (sy / count - cy).abs() < 0.2);
    // The head light faces the viewer: the centre is brighter than the rim.
    let at = |x: f64, y: f64| img.get_pixel(x.round() as u32, y.round() as u32)[0];
    assert!(at(cx, cy) > at(cx + r_px - 3.0, cy));
}

#[test]
fn phantom_bone_surface_matches_the_snapshot() {
    let vol = chest(&PhantomParams::with_dims([48, 64, 64])).volume;
    let bone = marching_cubes(&vol, &McParams::default()).unwrap();
    assert!(!bone.is_empty());
    let camera = OrbitCamera {
        azimuth_deg: 30.0,
        elevation_deg: 20.0,
        ..OrbitCamera::framing(&vol.geometry, [192, 192])
    };
    let img = render_meshes(gpu(), &[(&bone, [0.92, 0.86, 0.74, 1.0])], &camera).unwrap();
    let lit = img.pixels().filter(|p| p[0] > 0).count();
    assert!(lit > 192 * 192 / 20, "only {lit} bone pixels");
    common::check_snapshot("render_bone", &img);
}

/// Frame times on chest-CT-sized data (512 × 512 × 141); no assertion.
/// Pipelines, the volume and the mesh are uploaded once; a frame is
/// uniforms + draw + read back.
/// `cargo test --release --test gpu -- --ignored --nocapture frame_times`
#[test]
#[ignore = "slow: frame times on a chest-CT-sized phantom"]
fn frame_times() {
    let t = Instant::now();
    let vol = chest(&PhantomParams::with_dims([141, 512, 512])).volume;
    println!("phantom 141×512×512: {:.2?}", t.elapsed());
    let gpu = gpu();
    println!("adapter: {:?}", gpu.adapter_info);
    let t = Instant::now();
    let tex = VolumeTexture::upload(&gpu.device, &gpu.queue, &vol).unwrap();
    gpu.wait().unwrap();
    println!("volume upload: {:.2?}", t.elapsed());
    let mip = MipRenderer::new(&gpu.device, OFFSCREEN_FORMAT);
    let bind_group = mip.bind_group(&gpu.device, &tex);
    let camera_of = |size: u32| OrbitCamera {
        azimuth_deg: 30.0,
        elevation_deg: 20.0,
        ..OrbitCamera::framing(&vol.geometry, [size, size])
    };
    let frames = 3;
    for size in [256u32, 512] {
        let camera = camera_of(size);
        for mode in [ProjectionMode::Max, ProjectionMode::Mean] {
            let params = MipParams {
                mode,
                ..MipParams::default()
            };
            let frame = || {
                mip.prepare(&gpu.queue, &tex, &camera, &params).unwrap();
                gpu.render_offscreen(camera.size_px, false, |pass| mip.draw(pass, &bind_group))
                    .unwrap()
            };
            frame();
            let t = Instant::now();
            for _ in 0..frames {
                frame();
            }
            println!(
                "{mode:?} {size}², 0.5 mm steps: {:.2?}/frame",
                t.elapsed() / frames
            );
        }
    }
    let t = Instant::now();
    let bone = marching_cubes(&vol, &McParams::default()).unwrap();
    println!(
        "marching cubes at 350 HU: {:.2?}, {} triangles",
        t.elapsed(),
        bone.triangles.len()
    );
    let renderer = MeshRenderer::new(&gpu.device, OFFSCREEN_FORMAT);
    let t = Instant::now();
    let mesh = renderer.upload(&gpu.device, &bone, [0.9, 0.85, 0.75, 1.0]);
    gpu.wait().unwrap();
    println!("mesh upload: {:.2?}", t.elapsed());
    for size in [256u32, 512] {
        let camera = camera_of(size);
        let frame = || {
            renderer.prepare(&gpu.queue, &mesh, &camera);
            gpu.render_offscreen(camera.size_px, true, |pass| renderer.draw(pass, &mesh))
                .unwrap()
        };
        frame();
        let t = Instant::now();
        for _ in 0..frames {
            frame();
        }
        println!("mesh {size}²: {:.2?}/frame", t.elapsed() / frames);
    }
}

/// The 3D panel through egui's wgpu renderer (kittest): `show_3d` adds the
/// paint callback, `prepare` renders offscreen, `paint` copies it onto the
/// rect. Surface: bone-coloured pixels (red above blue, unlike egui's grey
/// theme); projection: a black background with bright bone.
#[test]
fn the_3d_panel_draws_through_the_paint_callback() {
    use hounsfield::render::callback::{BONE_RGBA, Render3dMode, View3d, install, show_3d};
    let vol = Arc::new(chest(&PhantomParams::with_dims([48, 64, 64])).volume);
    let bone = Arc::new(marching_cubes(&vol, &McParams::default()).unwrap());
    let meshes = [(Arc::clone(&bone), BONE_RGBA)];
    for mode in [
        Render3dMode::Surface,
        Render3dMode::Projection(ProjectionMode::Max),
        Render3dMode::Composite(TransferPreset::Bone),
    ] {
        let rs = egui_kittest::wgpu::create_render_state(
            egui_kittest::wgpu::default_wgpu_setup(),
            eframe::egui_wgpu::RendererOptions::PREDICTABLE,
        );
        install(&rs);
        let centre = vol.geometry.centre_mm();
        let view = View3d {
            mode,
            crosshair_mm: Some(centre.to_array()),
            clip_box_mm: Some(([-1e4; 3], [1e4, 1e4, centre.z + 40.0])),
            ..View3d::framing(&vol, 160.0)
        };
        let mut harness = egui_kittest::Harness::builder()
            .with_size(egui::vec2(160.0, 160.0))
            .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(rs))
            .build_ui(|ui| {
                show_3d(ui, &view, &vol, &meshes);
            });
        harness.run();
        let img = harness.render().unwrap();
        let count = |f: &dyn Fn(&image::Rgba<u8>) -> bool| img.pixels().filter(|p| f(p)).count();
        let (black, bright) = (
            count(&|p| p[0] == 0 && p[1] == 0 && p[2] == 0),
            count(&|p| p[0] > 150),
        );
        let bony = count(&|p| p[0] > 60 && u16::from(p[0]) > u16::from(p[2]) + 15);
        let marker = count(&|p| p[0] > 200 && p[1] < 40 && p[2] < 40);
        println!(
            "{mode:?}: {black} black, {bright} bright, {bony} bone-coloured, {marker} marker red"
        );
        assert!(marker > 5, "{mode:?}: no crosshair marker");
        assert!(black > 5000, "{mode:?}: the panel's background is missing");
        assert!(bright > 50, "{mode:?}: nothing bright drawn");
        if mode == Render3dMode::Surface {
            assert!(bony > 300, "{mode:?}: no bone-coloured surface");
        }
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            img.save(std::env::temp_dir().join(format!("render_panel_{}.png", bony > 300)))
                .expect("write the panel image");
        }
    }
}

/// A volume the device cannot hold as a 3D texture (wider than its limit):
/// the failure is a typed `RenderError` and appears, in red, in the panel
/// instead of a blank one.
#[test]
fn a_render_failure_appears_in_the_panel() {
    use hounsfield::render::RenderError;
    use hounsfield::render::callback::{Render3dMode, View3d, install, last_error, show_3d};
    let rs = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        eframe::egui_wgpu::RendererOptions::PREDICTABLE,
    );
    install(&rs);
    let limit = rs.device.limits().max_texture_dimension_3d as usize;
    let vol = Arc::new(hounsfield::volume::Volume::from_i16(
        ndarray::Array3::from_elem((1, 1, limit + 1), 100),
        hounsfield::volume::Geometry::identity([1, 1, limit + 1]),
    ));
    let view = View3d {
        mode: Render3dMode::Projection(ProjectionMode::Max),
        ..View3d::framing(&vol, 160.0)
    };
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(320.0, 160.0))
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(
            rs.clone(),
        ))
        .build_ui(|ui| {
            show_3d(ui, &view, &vol, &[]);
        });
    // The callback fails while rendering frame 1; frame 2 shows why.
    harness.run();
    let _ = harness.render().unwrap();
    assert!(
        matches!(last_error(&rs), Some(RenderError::TooLarge { .. })),
        "{:?}",
        last_error(&rs).map(|e| e.to_string())
    );
    harness.run();
    let img = harness.render().unwrap();
    let red = img
        .pixels()
        .filter(|p| p[0] > 180 && p[1] < 140 && p[2] < 140)
        .count();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        img.save(std::env::temp_dir().join("render_panel_error.png"))
            .expect("write the panel image");
    }
    assert!(
        red > 50,
        "the error text is not in the panel ({red} red pixels)"
    );
}

/// Time per frame of the rotating MIP GIF on the GPU path vs the CPU
/// shear-warp; no assertion besides agreement.
/// `cargo test --test gpu -- --ignored --nocapture rotating_mip_times`
#[test]
#[ignore = "slow: rotating MIP timings"]
fn rotating_mip_times() {
    use hounsfield::project::rotate::{RotatingMipParams, rotating_mip};
    let dims = [141, 256, 256];
    let vol = chest(&PhantomParams::with_dims(dims)).volume;
    let p = RotatingMipParams {
        step_deg: 60.0,
        size: 256,
        ..RotatingMipParams::default()
    };
    let t = Instant::now();
    let cpu = rotating_mip(&vol, &p, None, None).unwrap();
    let t_cpu = t.elapsed() / cpu.len() as u32;
    let t = Instant::now();
    let gpu_frames = rotating_mip_gpu(gpu(), &vol, &p).unwrap();
    let t_gpu = t.elapsed() / cpu.len() as u32;
    let worst = gpu_frames
        .iter()
        .flatten()
        .zip(cpu.iter().flatten())
        .map(|(a, b)| a.abs_diff(*b))
        .fold(0, u8::max);
    println!(
        "rotating MIP {dims:?} → {} frames of {}²: CPU {t_cpu:.2?}/frame, GPU {t_gpu:.2?}/frame \
         (adapter {}), max diff {worst}",
        cpu.len(),
        p.size,
        gpu().adapter_info.name
    );
}
