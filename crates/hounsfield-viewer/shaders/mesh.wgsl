// Isosurface meshes: world-space (LPS mm) vertices with normals, an
// orthographic camera, two-sided Lambert + ambient lighting, one colour per
// mesh; fragments outside the clipping box (LPS mm, when clip_max.w > 0) are
// discarded.

struct MeshParams {
    // Clip space from LPS mm (orthographic).
    clip_from_world: mat4x4<f32>,
    // Unit direction towards the light (LPS); w unused.
    light_dir: vec4<f32>,
    // Linear RGBA colour of the mesh.
    colour: vec4<f32>,
    // (ambient, diffuse, unused, unused).
    shading: vec4<f32>,
    // Clipping box in LPS mm; clip_max.w > 0 enables it.
    clip_min: vec4<f32>,
    clip_max: vec4<f32>,
};

@group(0) @binding(0) var<uniform> params: MeshParams;

struct VsIn {
    @location(0) position_mm: vec3<f32>,
    @location(1) normal: vec3<f32>,
};

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) world_mm: vec3<f32>,
};

@vertex
fn vs_main(in: VsIn) -> VsOut {
    var out: VsOut;
    out.position = params.clip_from_world * vec4<f32>(in.position_mm, 1.0);
    out.normal = in.normal;
    out.world_mm = in.position_mm;
    return out;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    if params.clip_max.w > 0.0
        && (any(in.world_mm < params.clip_min.xyz) || any(in.world_mm > params.clip_max.xyz)) {
        discard;
    }
    let len = length(in.normal);
    var lambert = 1.0;
    if len > 1e-6 {
        lambert = abs(dot(in.normal / len, params.light_dir.xyz));
    }
    let light = params.shading.x + params.shading.y * lambert;
    return vec4<f32>(params.colour.rgb * light, params.colour.a);
}
