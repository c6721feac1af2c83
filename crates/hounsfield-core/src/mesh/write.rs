//! Mesh files: binary STL (a normal per facet), binary little-endian PLY
//! (vertices, normals, optional RGB per vertex, faces) and OBJ (`v`, `vn`,
//! `f v//vn`). Writes go through `io::write_atomic`; the readers understand
//! what the writers produce (for tests and round trips), not every dialect.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use glam::Vec3;

use super::{Mesh, MeshError};
use crate::io::{IoError, write_atomic};

/// A mesh file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshFormat {
    /// Binary STL.
    Stl,
    /// Binary little-endian PLY.
    Ply,
    /// Wavefront OBJ.
    Obj,
}

impl MeshFormat {
    /// The format named by a path's extension (case-insensitive).
    pub fn of_path(path: &Path) -> Result<Self, MeshError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("stl") => Ok(Self::Stl),
            Some("ply") => Ok(Self::Ply),
            Some("obj") => Ok(Self::Obj),
            _ => Err(MeshError::UnknownFormat(path.to_owned())),
        }
    }
}

/// Writes `mesh` atomically in the format of the extension; `colour_rgb`
/// colours every vertex (PLY only; ignored by STL and OBJ).
pub fn write_mesh(path: &Path, mesh: &Mesh, colour_rgb: Option<[u8; 3]>) -> Result<(), MeshError> {
    let format = MeshFormat::of_path(path)?;
    write_atomic(path, |w| match format {
        MeshFormat::Stl => write_stl(w, mesh),
        MeshFormat::Ply => write_ply(w, mesh, colour_rgb),
        MeshFormat::Obj => write_obj(w, mesh),
    })?;
    Ok(())
}

fn facet_normal(mesh: &Mesh, t: &[u32; 3]) -> [Vec3; 4] {
    let [a, b, c] = t.map(|i| Vec3::from(mesh.vertices_mm[i as usize]));
    let n = (b - a).cross(c - a).try_normalize().unwrap_or(Vec3::ZERO);
    [n, a, b, c]
}

/// Binary STL: 80-byte header, triangle count, 50 bytes per facet.
pub fn write_stl(w: &mut dyn Write, mesh: &Mesh) -> io::Result<()> {
    let mut header = [b' '; 80];
    let text = b"hounsfield marching cubes, LPS mm";
    header[..text.len()].copy_from_slice(text);
    w.write_all(&header)?;
    let n = u32::try_from(mesh.triangles.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many triangles for STL"))?;
    w.write_all(&n.to_le_bytes())?;
    let mut buf = Vec::with_capacity(50 * 4096);
    for chunk in mesh.triangles.chunks(4096) {
        buf.clear();
        for t in chunk {
            for v in facet_normal(mesh, t) {
                for x in v.to_array() {
                    buf.extend_from_slice(&x.to_le_bytes());
                }
            }
            buf.extend_from_slice(&[0, 0]);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Binary little-endian PLY with normals, optional colour, `int` indices.
pub fn write_ply(w: &mut dyn Write, mesh: &Mesh, colour_rgb: Option<[u8; 3]>) -> io::Result<()> {
    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment hounsfield marching cubes, LPS mm\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
         property float nx\nproperty float ny\nproperty float nz\n",
        mesh.vertices_mm.len()
    );
    if colour_rgb.is_some() {
        header.push_str("property uchar red\nproperty uchar green\nproperty uchar blue\n");
    }
    let _ = write!(
        header,
        "element face {}\nproperty list uchar int vertex_indices\nend_header\n",
        mesh.triangles.len()
    );
    w.write_all(header.as_bytes())?;
    let mut buf = Vec::with_capacity(1 << 16);
    for (p, n) in mesh.vertices_mm.iter().zip(&mesh.normals) {
        for x in p.iter().chain(n) {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(rgb) = colour_rgb {
            buf.extend_from_slice(&rgb);
        }
        if buf.len() > 60_000 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    for t in &mesh.triangles {
        buf.push(3);
        for i in t {
            buf.extend_from_slice(&i.to_le_bytes());
        }
        if buf.len() > 60_000 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

/// OBJ: `v x y z`, `vn x y z`, `f a//a b//b c//c` (1-based).
pub fn write_obj(w: &mut dyn Write, mesh: &Mesh) -> io::Result<()> {
    writeln!(w, "# hounsfield marching cubes, LPS mm")?;
    for [x, y, z] in &mesh.vertices_mm {
        writeln!(w, "v {x} {y} {z}")?;
    }
    for [x, y, z] in &mesh.normals {
        writeln!(w, "vn {x} {y} {z}")?;
    }
    for [a, b, c] in &mesh.triangles {
        let (a, b, c) = (a + 1, b + 1, c + 1);
        writeln!(w, "f {a}//{a} {b}//{b} {c}//{c}")?;
    }
    Ok(())
}

/// Reads a mesh written by [`write_mesh`]. STL has no shared vertices: it
/// reads as three vertices per triangle with the facet normal.
pub fn read_mesh(path: &Path) -> Result<Mesh, MeshError> {
    let format = MeshFormat::of_path(path)?;
    let bytes = std::fs::read(path).map_err(|source| IoError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: &str| MeshError::Format {
        reason: reason.to_owned(),
        path: path.to_owned(),
    };
    match format {
        MeshFormat::Stl => read_stl(&bytes).ok_or_else(|| bad("truncated binary STL")),
        MeshFormat::Ply => read_ply(&bytes).ok_or_else(|| bad("not a PLY written by hounsfield")),
        MeshFormat::Obj => read_obj(&bytes).ok_or_else(|| bad("bad OBJ line")),
    }
}

fn f32_at(b: &[u8], at: usize) -> Option<f32> {
    Some(f32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn read_stl(b: &[u8]) -> Option<Mesh> {
    let n = u32::from_le_bytes(b.get(80..84)?.try_into().ok()?) as usize;
    if b.len() < 84 + 50 * n {
        return None;
    }
    let mut m = Mesh::default();
    for t in 0..n {
        let at = 84 + 50 * t;
        let v = |k: usize| -> Option<[f32; 3]> {
            Some([
                f32_at(b, at + 12 * k)?,
                f32_at(b, at + 12 * k + 4)?,
                f32_at(b, at + 12 * k + 8)?,
            ])
        };
        let normal = v(0)?;
        for k in 1..4 {
            m.vertices_mm.push(v(k)?);
            m.normals.push(normal);
        }
        let i = (3 * t) as u32;
        m.triangles.push([i, i + 1, i + 2]);
    }
    Some(m)
}

fn read_ply(b: &[u8]) -> Option<Mesh> {
    let end = b"end_header\n";
    let header_len = b.windows(end.len()).position(|w| w == end)? + end.len();
    let header = std::str::from_utf8(&b[..header_len]).ok()?;
    let count = |element: &str| -> Option<usize> {
        header
            .lines()
            .find_map(|l| l.strip_prefix(element))
            .and_then(|n| n.trim().parse().ok())
    };
    let (nv, nf) = (count("element vertex ")?, count("element face ")?);
    let stride = if header.contains("property uchar red") {
        27
    } else {
        24
    };
    let mut m = Mesh::default();
    let mut at = header_len;
    for _ in 0..nv {
        let f = |k: usize| f32_at(b, at + 4 * k);
        m.vertices_mm.push([f(0)?, f(1)?, f(2)?]);
        m.normals.push([f(3)?, f(4)?, f(5)?]);
        at += stride;
    }
    for _ in 0..nf {
        if *b.get(at)? != 3 {
            return None;
        }
        let i = |k: usize| -> Option<u32> {
            Some(u32::from_le_bytes(
                b.get(at + 1 + 4 * k..at + 5 + 4 * k)?.try_into().ok()?,
            ))
        };
        m.triangles.push([i(0)?, i(1)?, i(2)?]);
        at += 13;
    }
    Some(m)
}

fn read_obj(b: &[u8]) -> Option<Mesh> {
    let text = std::str::from_utf8(b).ok()?;
    let mut m = Mesh::default();
    let floats = |rest: &str| -> Option<[f32; 3]> {
        let v: Vec<f32> = rest
            .split_whitespace()
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        v.try_into().ok()
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("v ") {
            m.vertices_mm.push(floats(rest)?);
        } else if let Some(rest) = line.strip_prefix("vn ") {
            m.normals.push(floats(rest)?);
        } else if let Some(rest) = line.strip_prefix("f ") {
            let idx: Vec<u32> = rest
                .split_whitespace()
                .map(|t| t.split('/').next()?.parse::<u32>().ok()?.checked_sub(1))
                .collect::<Option<_>>()?;
            m.triangles.push(idx.try_into().ok()?);
        }
    }
    Some(m)
}
