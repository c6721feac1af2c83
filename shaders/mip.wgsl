// Ray-cast MIP / AIP / MinIP of a HU volume (3D texture of R32Float HU).
//
// Every pixel casts one ray in voxel coordinates (col, row, slice):
// start = origin_vox + x·du_vox + y·dv_vox for the pixel centre (x, y), and
// samples start + m·step_vox for the integers m in [-half_count, half_count]
// that lie in the box of voxel centres, as `project::raycast` does on the CPU.
// Samples are trilinear (manual, from textureLoad, so R32Float needs no
// filtering feature). The result is windowed to grey; a ray that misses the
// volume is black.

struct MipParams {
    // Voxel position of the centre of pixel (0, 0); w unused.
    origin_vox: vec4<f32>,
    // Voxel step per pixel along image x; w unused.
    du_vox: vec4<f32>,
    // Voxel step per pixel along image y (down); w unused.
    dv_vox: vec4<f32>,
    // Voxel step between samples along the ray; w unused.
    step_vox: vec4<f32>,
    // (columns, rows, slices, half_count).
    dims: vec4<u32>,
    // (window low HU, window width HU, image width px, image height px).
    window: vec4<f32>,
    // (mode: 0 max, 1 mean, 2 min, unused, unused, unused).
    mode: vec4<u32>,
};

@group(0) @binding(0) var<uniform> params: MipParams;
@group(0) @binding(1) var volume: texture_3d<f32>;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    // Continuous pixel coordinates, (0, 0) at the top-left corner.
    @location(0) px: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VsOut {
    // One triangle covering the viewport: uv (0,0), (2,0), (0,2).
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VsOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.px = uv * params.window.zw;
    return out;
}

fn voxel(p: vec3<i32>) -> f32 {
    return textureLoad(volume, p, 0).r;
}

fn trilinear(p: vec3<f32>) -> f32 {
    let top = vec3<i32>(params.dims.xyz) - vec3<i32>(1);
    let q = clamp(p, vec3<f32>(0.0), vec3<f32>(top));
    let i0 = min(vec3<i32>(floor(q)), top);
    let i1 = min(i0 + vec3<i32>(1), top);
    let f = q - vec3<f32>(i0);
    let c00 = mix(voxel(vec3<i32>(i0.x, i0.y, i0.z)), voxel(vec3<i32>(i1.x, i0.y, i0.z)), f.x);
    let c10 = mix(voxel(vec3<i32>(i0.x, i1.y, i0.z)), voxel(vec3<i32>(i1.x, i1.y, i0.z)), f.x);
    let c01 = mix(voxel(vec3<i32>(i0.x, i0.y, i1.z)), voxel(vec3<i32>(i1.x, i0.y, i1.z)), f.x);
    let c11 = mix(voxel(vec3<i32>(i0.x, i1.y, i1.z)), voxel(vec3<i32>(i1.x, i1.y, i1.z)), f.x);
    return mix(mix(c00, c10, f.y), mix(c01, c11, f.y), f.z);
}

// The sample range [lo, hi] inside the box of voxel centres; lo > hi if none.
fn inside_range(start: vec3<f32>) -> vec2<f32> {
    let tol = 1e-3;
    let half = f32(params.dims.w);
    var lo = -half;
    var hi = half;
    for (var c = 0; c < 3; c++) {
        let a = start[c];
        let d = params.step_vox[c];
        let top = f32(params.dims[c]) - 1.0;
        if abs(d) < 1e-9 {
            if a < -tol || a > top + tol {
                return vec2<f32>(1.0, 0.0);
            }
        } else {
            let t0 = (-tol - a) / d;
            let t1 = (top + tol - a) / d;
            lo = max(lo, min(t0, t1));
            hi = min(hi, max(t0, t1));
        }
    }
    return vec2<f32>(ceil(lo), floor(hi));
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let pixel = in.px - vec2<f32>(0.5);
    let start = params.origin_vox.xyz + pixel.x * params.du_vox.xyz + pixel.y * params.dv_vox.xyz;
    let range = inside_range(start);
    if range.x > range.y {
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    let m0 = i32(range.x);
    let m1 = i32(range.y);
    let mode = params.mode.x;
    var acc = 0.0;
    if mode == 0u {
        acc = -3.0e38;
    } else if mode == 2u {
        acc = 3.0e38;
    }
    for (var m = m0; m <= m1; m++) {
        let v = trilinear(start + f32(m) * params.step_vox.xyz);
        if mode == 0u {
            acc = max(acc, v);
        } else if mode == 2u {
            acc = min(acc, v);
        } else {
            acc += v;
        }
    }
    if mode == 1u {
        acc /= f32(m1 - m0 + 1);
    }
    let grey = clamp((acc - params.window.x) / params.window.y, 0.0, 1.0);
    return vec4<f32>(grey, grey, grey, 1.0);
}
