// Ray-cast MIP / AIP / MinIP and composite volume rendering of a HU volume
// (3D texture of R32Float HU).
//
// Every pixel casts one ray in voxel coordinates (col, row, slice):
// start = origin_vox + x·du_vox + y·dv_vox for the pixel centre (x, y), and
// samples start + m·step_vox for the integers m in [-half_count, half_count]
// that lie in the box of voxel centres, as `project::raycast` does on the CPU.
// Samples are trilinear (manual, from textureLoad, so R32Float needs no
// filtering feature). Projections are windowed to grey; a ray that misses the
// volume is black (or the outside value when `misc.z` is set). Composite
// (mode 3) blends front to back (increasing m) through a piecewise-linear
// transfer function over HU, opacity corrected for the step length. Samples
// outside the clipping box (LPS mm, when `clip_max.w` > 0) are skipped.

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
    // (mode: 0 max, 1 mean, 2 min, 3 composite, 4 slice-wise max; transfer point
    // count, unused, unused).
    mode: vec4<u32>,
    // Rows of the LPS-mm-from-voxel affine (xyz linear part, w translation).
    world_x: vec4<f32>,
    world_y: vec4<f32>,
    world_z: vec4<f32>,
    // Clipping box in LPS mm; clip_max.w > 0 enables it.
    clip_min: vec4<f32>,
    clip_max: vec4<f32>,
    // (step / reference step for opacity, outside HU, outside enabled, unused).
    misc: vec4<f32>,
    // Transfer function: HU of up to 8 points (ascending), and their linear RGBA
    // (alpha: opacity per reference step).
    tf_hu: array<vec4<f32>, 2>,
    tf_rgba: array<vec4<f32>, 8>,
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

fn clipped(p: vec3<f32>) -> bool {
    if params.clip_max.w <= 0.0 {
        return false;
    }
    let w = vec3<f32>(
        dot(params.world_x.xyz, p) + params.world_x.w,
        dot(params.world_y.xyz, p) + params.world_y.w,
        dot(params.world_z.xyz, p) + params.world_z.w,
    );
    return any(w < params.clip_min.xyz) || any(w > params.clip_max.xyz);
}

fn tf_point_hu(i: u32) -> f32 {
    return params.tf_hu[i / 4u][i % 4u];
}

// Transfer function at `hu`: linear between points, constant beyond the ends.
fn transfer(hu: f32) -> vec4<f32> {
    let n = params.mode.y;
    if hu <= tf_point_hu(0u) {
        return params.tf_rgba[0];
    }
    for (var i = 1u; i < n; i++) {
        let h1 = tf_point_hu(i);
        if hu < h1 {
            let h0 = tf_point_hu(i - 1u);
            let t = (hu - h0) / max(h1 - h0, 1e-6);
            return mix(params.tf_rgba[i - 1u], params.tf_rgba[i], t);
        }
    }
    return params.tf_rgba[n - 1u];
}

fn composite(start: vec3<f32>, m0: i32, m1: i32) -> vec4<f32> {
    var colour = vec3<f32>(0.0);
    var alpha = 0.0;
    for (var m = m0; m <= m1; m++) {
        let p = start + f32(m) * params.step_vox.xyz;
        if clipped(p) {
            continue;
        }
        let s = transfer(trilinear(p));
        let a0 = clamp(s.a, 0.0, 1.0);
        if a0 <= 0.0 {
            continue;
        }
        let a = 1.0 - pow(1.0 - min(a0, 0.9999), params.misc.x);
        colour += (1.0 - alpha) * a * s.rgb;
        alpha += (1.0 - alpha) * a;
        if alpha > 0.995 {
            break;
        }
    }
    return vec4<f32>(colour, 1.0);
}

// MIP of the in-plane ray from `start` (slice z = start.z, an integer) over
// every voxel line it crosses, each sampled linearly along the line, combined
// with the outside value (mode 4, as the CPU shear-warp samples).
fn plane_max(start: vec3<f32>) -> f32 {
    var acc = params.misc.y;
    let d = params.step_vox.xy;
    // Lines of constant `a` (the axis the ray runs more along), sampled along `b`.
    var a = 0;
    var b = 1;
    if abs(d.y) > abs(d.x) {
        a = 1;
        b = 0;
    }
    if abs(d[a]) < 1e-9 {
        return acc;
    }
    let na = i32(params.dims[a]);
    let nb = f32(params.dims[b]) - 1.0;
    let k = i32(start.z);
    for (var i = 0; i < na; i++) {
        let t = (f32(i) - start[a]) / d[a];
        let x = start[b] + t * d[b];
        if x < -1e-3 || x > nb + 1e-3 {
            continue;
        }
        let xc = clamp(x, 0.0, nb);
        let j0 = min(i32(floor(xc)), i32(nb));
        let j1 = min(j0 + 1, i32(nb));
        var p0 = vec3<i32>(0, 0, k);
        var p1 = vec3<i32>(0, 0, k);
        p0[a] = i;
        p1[a] = i;
        p0[b] = j0;
        p1[b] = j1;
        acc = max(acc, mix(voxel(p0), voxel(p1), xc - f32(j0)));
    }
    return acc;
}

// The in-plane MIP as the shear-warp computes it: exact on the rays through
// the integer samples of its reference line (the profile: line 0, or the last
// line when the lines shift backwards), linear between them.
fn profile_max(start: vec3<f32>) -> f32 {
    let d = params.step_vox.xy;
    var a = 0;
    var b = 1;
    if abs(d.y) > abs(d.x) {
        a = 1;
        b = 0;
    }
    if abs(d[a]) < 1e-9 {
        return params.misc.y;
    }
    var line = 0.0;
    if d[b] / d[a] > 0.0 {
        line = f32(params.dims[a]) - 1.0;
    }
    let x0 = start[b] + (line - start[a]) / d[a] * d[b];
    let f = floor(x0);
    var e = vec3<f32>(0.0);
    e[b] = 1.0;
    let lo = plane_max(start + (f - x0) * e);
    let hi = plane_max(start + (f + 1.0 - x0) * e);
    return mix(lo, hi, x0 - f);
}

// Mode 4, the rotating MIP's sampling for rays within axial slices
// (step_vox.z = 0): the MIPs of the two nearest slices, interpolated linearly
// (rows up to half a slice beyond the end slices take the end slice).
fn slice_mip(start: vec3<f32>) -> f32 {
    let top = f32(params.dims.z) - 1.0;
    if start.z < -0.5 || start.z > top + 0.5 {
        return params.misc.y;
    }
    let k = clamp(start.z, 0.0, top);
    let k0 = min(floor(k), top);
    let k1 = min(k0 + 1.0, top);
    let a = profile_max(vec3<f32>(start.xy, k0));
    let b = profile_max(vec3<f32>(start.xy, k1));
    return mix(a, b, k - k0);
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let pixel = in.px - vec2<f32>(0.5);
    let start = params.origin_vox.xyz + pixel.x * params.du_vox.xyz + pixel.y * params.dv_vox.xyz;
    if params.mode.x == 4u {
        let g = clamp((slice_mip(start) - params.window.x) / params.window.y, 0.0, 1.0);
        return vec4<f32>(g, g, g, 1.0);
    }
    let range = inside_range(start);
    let window_lo = params.window.x;
    let outside = params.misc.z > 0.0;
    if range.x > range.y {
        if outside {
            let g = clamp((params.misc.y - window_lo) / params.window.y, 0.0, 1.0);
            return vec4<f32>(g, g, g, 1.0);
        }
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    let m0 = i32(range.x);
    let m1 = i32(range.y);
    let mode = params.mode.x;
    if mode == 3u {
        return composite(start, m0, m1);
    }
    var count = 0;
    var acc = 0.0;
    if mode == 0u {
        acc = -3.0e38;
    } else if mode == 2u {
        acc = 3.0e38;
    }
    for (var m = m0; m <= m1; m++) {
        let p = start + f32(m) * params.step_vox.xyz;
        if clipped(p) {
            continue;
        }
        count++;
        let v = trilinear(p);
        if mode == 0u {
            acc = max(acc, v);
        } else if mode == 2u {
            acc = min(acc, v);
        } else {
            acc += v;
        }
    }
    if count == 0 && !outside {
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    if mode == 1u {
        acc /= f32(max(count, 1));
    }
    if outside {
        if count == 0 {
            acc = params.misc.y;
        } else if mode == 0u {
            acc = max(acc, params.misc.y);
        } else if mode == 2u {
            acc = min(acc, params.misc.y);
        }
    }
    let grey = clamp((acc - window_lo) / params.window.y, 0.0, 1.0);
    return vec4<f32>(grey, grey, grey, 1.0);
}
