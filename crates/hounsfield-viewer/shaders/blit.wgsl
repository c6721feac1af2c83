// Copy an offscreen render onto the 3D panel's viewport, pixel for pixel.
// `params.x` = 1 when the target is sRGB: the offscreen texels are already
// display values, so they are linearised for the target to encode them back.

@group(0) @binding(0) var image: texture_2d<f32>;
@group(0) @binding(1) var<uniform> params: vec4<u32>;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VsOut {
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    var out: VsOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

fn linear_from_srgb(c: vec3<f32>) -> vec3<f32> {
    let low = c / 12.92;
    let high = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(high, low, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let size = vec2<f32>(textureDimensions(image));
    let texel = min(vec2<u32>(in.uv * size), textureDimensions(image) - vec2<u32>(1u));
    let c = textureLoad(image, texel, 0);
    if params.x == 1u {
        return vec4<f32>(linear_from_srgb(c.rgb), c.a);
    }
    return c;
}
