//! GPU rendering (`render`): shaders validated by naga, GPU ray-cast
//! projections against the CPU ray caster, isosurface renders against the
//! analytic projection and a stored snapshot. Runs on any adapter; CI pins
//! lavapipe with `WGPU_BACKEND=vulkan`. Set `UPDATE_SNAPSHOTS=1` to rewrite
//! `tests/snapshots/render_*.png`.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use glam::DVec3;
use hounsfield::mesh::{McParams, Mesh, marching_cubes};
use hounsfield::phantom::{PhantomParams, chest};
use hounsfield::project::ProjectionMode;
use hounsfield::project::raycast::project_direction;
use hounsfield::render::gpu::OFFSCREEN_FORMAT;
use hounsfield::render::mesh_pipeline::MeshUniforms;
use hounsfield::render::mip::MipUniforms;
use hounsfield::render::{
    Gpu, MeshRenderer, MipParams, MipRenderer, OrbitCamera, SHADERS, VolumeTexture, render_meshes,
    render_mip, validate_wgsl, wgsl_struct_size,
};

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| Gpu::headless().expect("a wgpu adapter (lavapipe in CI)"))
}

#[test]
fn every_shader_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
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

/// Compare `img` with `tests/snapshots/{name}.png` (written when missing or
/// with `UPDATE_SNAPSHOTS=1`): at most 0.5 % of pixels may differ by more
/// than 8 levels in a channel.
fn check_snapshot(name: &str, img: &image::RgbaImage) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.png"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() || !path.exists() {
        img.save(&path).expect("write the snapshot");
        return;
    }
    let want = image::open(&path).expect("read the snapshot").to_rgba8();
    assert_eq!(want.dimensions(), img.dimensions(), "{name}: size changed");
    let differing = want
        .pixels()
        .zip(img.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).any(|(&p, q)| p.abs_diff(q) > 8))
        .count();
    let n = want.pixels().len();
    if differing * 200 > n {
        let new = path.with_extension("new.png");
        img.save(&new).expect("write the new snapshot");
        panic!("{name}: {differing} of {n} pixels differ; see {new:?}");
    }
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
    check_snapshot("render_bone", &img);
}

/// Frame times on chest-CT-sized data (512 × 512 × 141); no assertion.
/// Pipelines, the volume and the mesh are uploaded once; a frame is
/// uniforms + draw + read back.
/// `cargo test --release --test render -- --ignored --nocapture frame_times`
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
    ] {
        let rs = egui_kittest::wgpu::create_render_state(
            egui_kittest::wgpu::default_wgpu_setup(),
            eframe::egui_wgpu::RendererOptions::PREDICTABLE,
        );
        install(&rs);
        let view = View3d {
            mode,
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
        println!("{mode:?}: {black} black, {bright} bright, {bony} bone-coloured");
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
