//! Parallel marching cubes over a HU volume or a segmentation mask.
//!
//! The sample lattice (every `step`-th voxel, plus one virtual border sample
//! below the level on every side) is cut into slabs of a few cube layers; each
//! slab runs on its own rayon task with a rolling two-plane edge cache, so a
//! crossed edge becomes one vertex. Vertices are created plane by plane in
//! scan order (x and y edges of a plane, then the z edges to the next plane),
//! so the slabs' vertex lists concatenate, after dropping each slab's copy of
//! the plane it shares with the previous slab, into one deterministic order
//! that depends neither on the slab size nor on the thread count.

use std::sync::atomic::{AtomicUsize, Ordering};

use glam::{DAffine3, DMat3, DVec3};
use ndarray::{Array3, ArrayView3, Axis, s};
use rayon::prelude::*;

use super::tables::{FACE_CORNERS, Tables, join_inside, tables};
use super::{McControl, McParams, Mesh, MeshError};
use crate::seg::{Mask, Segment};
use crate::volume::{Geometry, Volume, Voxels};

/// Cube layers per parallel task.
const LAYERS_PER_SLAB: usize = 16;
/// No vertex on this edge.
const NONE: u32 = u32::MAX;
/// Border value of HU volumes (air), lowered below the level when needed.
const BORDER_HU: f32 = -1024.0;

/// Marching cubes of `volume` at `params.level_hu` (see the module docs of
/// [`crate::mesh`] for conventions).
pub fn marching_cubes(volume: &Volume, params: &McParams) -> Result<Mesh, MeshError> {
    marching_cubes_with(volume, params, &McControl::default())
}

/// [`marching_cubes`] with progress and cancellation.
pub fn marching_cubes_with(
    volume: &Volume,
    params: &McParams,
    control: &McControl<'_>,
) -> Result<Mesh, MeshError> {
    let border = BORDER_HU.min(params.level_hu - 1.0);
    match &volume.voxels {
        Voxels::I16(a) => extract(&a.view(), &volume.geometry, params, border, control),
        Voxels::F32(a) => extract(&a.view(), &volume.geometry, params, border, control),
    }
}

/// A segment's surface and its display colour.
#[derive(Clone, Debug)]
pub struct LabelMesh {
    /// Segment number.
    pub number: u16,
    /// Segment name.
    pub label: String,
    /// Display colour (sRGB).
    pub colour_rgb: [u8; 3],
    /// The surface.
    pub mesh: Mesh,
}

impl LabelMesh {
    /// The surface of `segment` on `geometry` (see [`marching_cubes_mask`]).
    pub fn of_segment(
        segment: &Segment,
        geometry: &Geometry,
        step: usize,
        smooth: bool,
    ) -> Result<Self, MeshError> {
        Ok(Self {
            number: segment.number,
            label: segment.label.clone(),
            colour_rgb: segment.colour_rgb,
            mesh: marching_cubes_mask(&segment.mask, geometry, step, smooth)?,
        })
    }
}

/// Surface of a binary mask on `geometry`: the mask as 0/1 (optionally
/// smoothed by a separable `[1, 2, 1] / 4` filter) meshed at 0.5, only over
/// its bounding box.
pub fn marching_cubes_mask(
    mask: &Mask,
    geometry: &Geometry,
    step: usize,
    smooth: bool,
) -> Result<Mesh, MeshError> {
    if step == 0 {
        return Err(MeshError::BadStep(step));
    }
    if mask.data.is_empty() {
        return Ok(Mesh::default());
    }
    let margin = usize::from(smooth);
    let sh = mask.data.shape();
    let mut field =
        Array3::<f32>::zeros((sh[0] + 2 * margin, sh[1] + 2 * margin, sh[2] + 2 * margin));
    field
        .slice_mut(s![
            margin..margin + sh[0],
            margin..margin + sh[1],
            margin..margin + sh[2]
        ])
        .zip_mut_with(&mask.data, |f, &b| *f = if b { 1.0 } else { 0.0 });
    if smooth {
        for axis in 0..3 {
            smooth_axis(&mut field, axis);
        }
    }
    let start = DVec3::new(
        mask.start[2] as f64,
        mask.start[1] as f64,
        mask.start[0] as f64,
    ) - DVec3::splat(margin as f64);
    let crop = Geometry {
        dims: [field.shape()[0], field.shape()[1], field.shape()[2]],
        origin_mm: geometry.world_of_voxel(start),
        ..*geometry
    };
    let params = McParams {
        level_hu: 0.5,
        step,
    };
    extract(&field.view(), &crop, &params, 0.0, &McControl::default())
}

/// In-place `[1, 2, 1] / 4` along one array axis, zero outside.
fn smooth_axis(field: &mut Array3<f32>, axis: usize) {
    field
        .lanes_mut(Axis(axis))
        .into_iter()
        .for_each(|mut lane| {
            let mut prev = 0.0;
            for i in 0..lane.len() {
                let cur = lane[i];
                let next = if i + 1 < lane.len() { lane[i + 1] } else { 0.0 };
                lane[i] = 0.25 * prev + 0.5 * cur + 0.25 * next;
                prev = cur;
            }
        });
}

/// The sampled field, its lattice and the transforms.
struct Ctx<'a, T> {
    voxels: ArrayView3<'a, T>,
    /// The voxels in standard (C) order, and their shape `[z, row, col]`.
    flat: &'a [T],
    shape: [usize; 3],
    level: f32,
    border: f32,
    step: usize,
    /// Padded lattice size: columns, rows, planes.
    w: usize,
    h: usize,
    planes: usize,
    world_from_voxel: DAffine3,
    /// Gradient in voxel units → gradient in world mm (inverse transpose).
    grad_world_from_voxel: DMat3,
    flip: bool,
}

/// One slab's output; `n_bottom` leading vertices repeat the previous slab's
/// last plane. Centre vertices (cubes whose loops need one) are kept apart
/// and referenced as `CENTRE | index`; they follow all edge vertices in the
/// merged mesh.
#[derive(Default)]
struct Slab {
    vertices: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    centres: Vec<[f32; 3]>,
    centre_normals: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
    n_bottom: usize,
}

/// Tag of a slab-local centre vertex index.
const CENTRE: u32 = 1 << 31;

/// Adds the centroid of some edge vertices (normal: their mean, normalised).
fn centre_vertex(ids: impl Iterator<Item = u32>, out: &mut Slab) -> u32 {
    let (mut p, mut n, mut count) = (glam::Vec3::ZERO, glam::Vec3::ZERO, 0.0f32);
    for i in ids {
        p += glam::Vec3::from(out.vertices[i as usize]);
        n += glam::Vec3::from(out.normals[i as usize]);
        count += 1.0;
    }
    out.centres.push((p / count).to_array());
    out.centre_normals
        .push(n.try_normalize().unwrap_or(glam::Vec3::ZERO).to_array());
    CENTRE | (out.centres.len() - 1) as u32
}

/// One lattice plane: values, inside bits (`w / 64 + 1` words per row) and
/// the vertices on its x and y edges (valid only where an edge is crossed).
struct Plane {
    values: Vec<f32>,
    bits: Vec<u64>,
    x: Vec<u32>,
    y: Vec<u32>,
}

fn extract<T: Copy + Into<f32> + Sync>(
    voxels: &ArrayView3<'_, T>,
    geometry: &Geometry,
    params: &McParams,
    border: f32,
    control: &McControl<'_>,
) -> Result<Mesh, MeshError> {
    let step = params.step;
    if step == 0 {
        return Err(MeshError::BadStep(step));
    }
    if !params.level_hu.is_finite() {
        return Err(MeshError::BadLevel(params.level_hu));
    }
    let [nz, ny, nx] = [voxels.shape()[0], voxels.shape()[1], voxels.shape()[2]];
    if nz * ny * nx == 0 {
        return Ok(Mesh::default());
    }
    let world_from_voxel = geometry.world_from_voxel();
    let det = world_from_voxel.matrix3.determinant();
    if !det.is_normal() {
        return Err(MeshError::BadGeometry);
    }
    let lattice = |n: usize| (n - 1) / step + 1 + 2;
    let standard = voxels.as_standard_layout();
    let flat = standard.as_slice().ok_or(MeshError::BadGeometry)?;
    let ctx = Ctx {
        voxels: voxels.view(),
        flat,
        shape: [nz, ny, nx],
        level: params.level_hu,
        border,
        step,
        w: lattice(nx),
        h: lattice(ny),
        planes: lattice(nz),
        world_from_voxel,
        grad_world_from_voxel: world_from_voxel.matrix3.inverse().transpose(),
        flip: det < 0.0,
    };
    let layers = ctx.planes - 1;
    let n_slabs = layers.div_ceil(LAYERS_PER_SLAB);
    let done = AtomicUsize::new(0);
    let slabs: Vec<Slab> = (0..n_slabs)
        .into_par_iter()
        .map(|i| {
            if control.cancelled() {
                return Err(MeshError::Cancelled);
            }
            let l0 = i * LAYERS_PER_SLAB;
            let slab = ctx.slab(l0, (l0 + LAYERS_PER_SLAB).min(layers));
            if let Some(p) = control.progress {
                p(done.fetch_add(1, Ordering::Relaxed) + 1, n_slabs);
            }
            Ok(slab)
        })
        .collect::<Result<_, _>>()?;
    merge(slabs)
}

/// Concatenates slabs, dropping the duplicated shared planes; centre
/// vertices go after all edge vertices.
fn merge(slabs: Vec<Slab>) -> Result<Mesh, MeshError> {
    let n_edge: usize = slabs.iter().map(|s| s.vertices.len() - s.n_bottom).sum();
    let n_vertices = n_edge + slabs.iter().map(|s| s.centres.len()).sum::<usize>();
    if n_vertices >= CENTRE as usize {
        return Err(MeshError::TooLarge(n_vertices));
    }
    let n_triangles = slabs.iter().map(|s| s.triangles.len()).sum();
    let mut mesh = Mesh {
        vertices_mm: Vec::with_capacity(n_vertices),
        normals: Vec::with_capacity(n_vertices),
        triangles: Vec::with_capacity(n_triangles),
    };
    let mut centre_start = n_edge as u32;
    for s in &slabs {
        // Local index i is global start + i − n_bottom: the shared plane's
        // copies land exactly on the previous slab's last vertices.
        let shift = mesh.vertices_mm.len() as u32 - s.n_bottom as u32;
        mesh.vertices_mm
            .extend_from_slice(&s.vertices[s.n_bottom..]);
        mesh.normals.extend_from_slice(&s.normals[s.n_bottom..]);
        mesh.triangles.extend(s.triangles.iter().map(|t| {
            t.map(|v| {
                if v & CENTRE == 0 {
                    v.wrapping_add(shift)
                } else {
                    centre_start + (v & !CENTRE)
                }
            })
        }));
        centre_start += s.centres.len() as u32;
    }
    for s in slabs {
        mesh.vertices_mm.extend_from_slice(&s.centres);
        mesh.normals.extend_from_slice(&s.centre_normals);
    }
    Ok(mesh)
}

/// Inside bits of up to 64 values.
#[inline]
fn pack(values: &[f32], level: f32) -> u64 {
    values
        .iter()
        .enumerate()
        .fold(0, |w, (j, &v)| w | u64::from(v >= level) << j)
}

/// Right shift by one of a bit row, pulling in the next word's low bit.
#[inline]
fn shr1(row: &[u64], k: usize) -> u64 {
    row[k] >> 1 | row.get(k + 1).map_or(0, |n| n << 63)
}

/// Calls `f(bit index)` for every set bit of `word`, the word's first bit being `base`.
#[inline]
fn for_bits(mut word: u64, base: usize, mut f: impl FnMut(usize)) {
    while word != 0 {
        f(base + word.trailing_zeros() as usize);
        word &= word - 1;
    }
}

impl<T: Copy + Into<f32> + Sync> Ctx<'_, T> {
    /// Words per bit row (one spare bit at least, always zero).
    fn row_words(&self) -> usize {
        self.w / 64 + 1
    }

    fn new_plane(&self) -> Plane {
        let n = self.w * self.h;
        Plane {
            values: vec![0.0; n],
            bits: vec![0; self.row_words() * self.h],
            x: vec![NONE; n],
            y: vec![NONE; n],
        }
    }

    /// Cube layers `l0..l1` (layer `l` lies between lattice planes `l` and `l + 1`).
    fn slab(&self, l0: usize, l1: usize) -> Slab {
        let mut out = Slab::default();
        let mut lo = self.new_plane();
        let mut hi = self.new_plane();
        let mut z_edges = vec![NONE; self.w * self.h];
        self.fill_plane(l0, &mut lo);
        self.plane_vertices(l0, &mut lo, &mut out);
        out.n_bottom = out.vertices.len();
        let tables = tables();
        for l in l0..l1 {
            self.fill_plane(l + 1, &mut hi);
            self.z_vertices(l, &lo, &hi, &mut z_edges, &mut out);
            self.plane_vertices(l + 1, &mut hi, &mut out);
            self.cubes(tables, [&lo, &hi], &z_edges, &mut out);
            std::mem::swap(&mut lo, &mut hi);
        }
        out
    }

    /// Values and inside bits of lattice plane `p` (border planes and border
    /// samples below the level).
    fn fill_plane(&self, p: usize, plane: &mut Plane) {
        let buf = &mut plane.values;
        buf.fill(self.border);
        plane.bits.fill(0);
        if p == 0 || p + 1 == self.planes {
            return;
        }
        let z = (p - 1) * self.step;
        let rw = self.row_words();
        for py in 1..self.h - 1 {
            let row = self.voxels.slice(s![z, (py - 1) * self.step, ..]);
            let dst = &mut buf[py * self.w + 1..(py + 1) * self.w - 1];
            match row.as_slice() {
                Some(src) if self.step == 1 => {
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = v.into();
                    }
                }
                _ => {
                    for (d, v) in dst.iter_mut().zip(row.iter().step_by(self.step)) {
                        *d = (*v).into();
                    }
                }
            }
            let values = &buf[py * self.w..(py + 1) * self.w];
            let bits = &mut plane.bits[py * rw..(py + 1) * rw];
            let mut chunks = values.chunks_exact(64);
            for (word, chunk) in bits.iter_mut().zip(chunks.by_ref()) {
                *word = pack(chunk, self.level);
            }
            let rest = chunks.remainder();
            bits[values.len() / 64] = pack(rest, self.level);
        }
    }

    /// Vertices on the x and y edges of plane `p`, in scan order.
    fn plane_vertices(&self, p: usize, plane: &mut Plane, out: &mut Slab) {
        let (w, rw) = (self.w, self.row_words());
        for py in 0..self.h - 1 {
            let row = &plane.bits[py * rw..(py + 1) * rw];
            let below = &plane.bits[(py + 1) * rw..(py + 2) * rw];
            for k in 0..rw {
                let xc = row[k] ^ shr1(row, k);
                let yc = row[k] ^ below[k];
                for_bits(xc | yc, 64 * k, |px| {
                    let i = py * w + px;
                    let a = plane.values[i];
                    if xc >> (px % 64) & 1 == 1 {
                        plane.x[i] = self.vertex([px, py, p], 0, a, plane.values[i + 1], out);
                    }
                    if yc >> (px % 64) & 1 == 1 {
                        plane.y[i] = self.vertex([px, py, p], 1, a, plane.values[i + w], out);
                    }
                });
            }
        }
    }

    /// Vertices on the z edges between planes `p` and `p + 1`.
    fn z_vertices(&self, p: usize, lo: &Plane, hi: &Plane, edges: &mut [u32], out: &mut Slab) {
        let (w, rw) = (self.w, self.row_words());
        for py in 0..self.h {
            for k in 0..rw {
                let zc = lo.bits[py * rw + k] ^ hi.bits[py * rw + k];
                for_bits(zc, 64 * k, |px| {
                    let i = py * w + px;
                    edges[i] = self.vertex([px, py, p], 2, lo.values[i], hi.values[i], out);
                });
            }
        }
    }

    /// Adds the vertex on the edge from lattice sample `at` along `axis`.
    fn vertex(&self, at: [usize; 3], axis: usize, a: f32, b: f32, out: &mut Slab) -> u32 {
        let t = f64::from((self.level - a) / (b - a));
        let s = self.step as isize;
        let q = at.map(|c| (c as isize - 1) * s);
        let mut q1 = q;
        q1[axis] += s;
        let mut pos = DVec3::new(q[0] as f64, q[1] as f64, q[2] as f64);
        pos[axis] += t * self.step as f64;
        let (g0, g1) = (self.gradient(q), self.gradient(q1));
        let g = self.grad_world_from_voxel * (g0 + (g1 - g0) * t);
        let n = (-g).try_normalize().unwrap_or(DVec3::ZERO);
        out.vertices.push(
            self.world_from_voxel
                .transform_point3(pos)
                .as_vec3()
                .to_array(),
        );
        out.normals.push(n.as_vec3().to_array());
        (out.vertices.len() - 1) as u32
    }

    /// Value at voxel `(col, row, slice)`, the border value outside.
    #[inline]
    fn value(&self, x: isize, y: isize, z: isize) -> f32 {
        if x < 0 || y < 0 || z < 0 {
            return self.border;
        }
        let [nz, ny, nx] = self.shape;
        let (x, y, z) = (x as usize, y as usize, z as usize);
        if x >= nx || y >= ny || z >= nz {
            return self.border;
        }
        self.flat[(z * ny + y) * nx + x].into()
    }

    /// Central-difference gradient in voxel units at voxel `q = (col, row, slice)`.
    fn gradient(&self, q: [isize; 3]) -> DVec3 {
        let [x, y, z] = q;
        DVec3::new(
            f64::from(self.value(x + 1, y, z) - self.value(x - 1, y, z)),
            f64::from(self.value(x, y + 1, z) - self.value(x, y - 1, z)),
            f64::from(self.value(x, y, z + 1) - self.value(x, y, z - 1)),
        ) * 0.5
    }

    /// Triangles of the cubes of one layer: only cubes with corners on both
    /// sides, found 64 at a time from the inside bits.
    fn cubes(&self, tables: &Tables, [lo, hi]: [&Plane; 2], z_edges: &[u32], out: &mut Slab) {
        let (w, rw) = (self.w, self.row_words());
        for py in 0..self.h - 1 {
            let rows = [
                &lo.bits[py * rw..(py + 1) * rw],
                &lo.bits[(py + 1) * rw..(py + 2) * rw],
                &hi.bits[py * rw..(py + 1) * rw],
                &hi.bits[(py + 1) * rw..(py + 2) * rw],
            ];
            for k in 0..rw {
                let all = rows.iter().fold(!0u64, |a, r| a & r[k] & shr1(r, k));
                let any = rows.iter().fold(0u64, |a, r| a | r[k] | shr1(r, k));
                for_bits(any & !all, 64 * k, |px| {
                    self.cube(tables, [lo, hi], z_edges, py * w + px, out);
                });
            }
        }
    }

    /// Triangles of the cube whose first corner is sample `i` of the lower plane.
    #[inline]
    fn cube(
        &self,
        tables: &Tables,
        [lo, hi]: [&Plane; 2],
        z_edges: &[u32],
        i: usize,
        out: &mut Slab,
    ) {
        let (w, level) = (self.w, self.level);
        let (l, h) = (&lo.values, &hi.values);
        let v = [
            l[i],
            l[i + 1],
            l[i + w],
            l[i + w + 1],
            h[i],
            h[i + 1],
            h[i + w],
            h[i + w + 1],
        ];
        let mut config = 0u8;
        for (c, &x) in v.iter().enumerate() {
            config |= u8::from(x >= level) << c;
        }
        let ambiguous = tables.ambiguous[usize::from(config)];
        let mut decisions = 0u8;
        if ambiguous != 0 {
            for (f, corners) in FACE_CORNERS.iter().enumerate() {
                if ambiguous >> f & 1 == 1
                    && join_inside(corners.map(|c| v[usize::from(c)] - level))
                {
                    decisions |= 1 << f;
                }
            }
        }
        let vid = |e: u8| -> u32 {
            let (d0, d1) = (usize::from(e & 1), usize::from(e >> 1 & 1));
            match e / 4 {
                0 => [lo, hi][d1].x[i + d0 * w],
                1 => [lo, hi][d1].y[i + d0],
                _ => z_edges[i + d0 + d1 * w],
            }
        };
        let case = tables.case(config, decisions);
        let mut centres = [0u32; 2];
        for (m, c) in centres
            .iter_mut()
            .enumerate()
            .take(usize::from(case.n_centres))
        {
            *c = centre_vertex(tables.centre_loop(case, m).iter().map(|&e| vid(e)), out);
        }
        for tri in tables.triangles_of(case) {
            let [a, b, c] = tri.map(|e| {
                if e < 12 {
                    vid(e)
                } else {
                    centres[usize::from(e - 12)]
                }
            });
            out.triangles
                .push(if self.flip { [a, c, b] } else { [a, b, c] });
        }
    }
}
