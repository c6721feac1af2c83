//! Triangle meshes of isosurfaces: marching cubes on a HU volume or a
//! segmentation mask, surface measures, and STL/PLY/OBJ files.
//!
//! Owns [`Mesh`], [`McParams`], [`MeshError`], the generated case tables
//! ([`tables`]), the parallel extraction ([`marching`]), measures
//! ([`measure`]) and the file formats ([`write`], which writes only through
//! `io::write_atomic`). Imports `volume`, `seg`, `io`, glam, ndarray and rayon;
//! no UI, no DICOM.
//!
//! # Conventions
//! - Vertices are LPS world millimetres (through `Geometry::world_from_voxel`).
//! - Triangles wind counter-clockwise seen from outside; outside is the side
//!   of values below the level (a bright object's surface faces away from it).
//! - Vertex normals are the negated, normalised HU gradient (central
//!   differences in mm), so they point outward and agree with the winding.
//! - Each grid edge crossed by the surface is one vertex, shared by all the
//!   triangles that use it.
//! - Outside the volume counts as below the level (one virtual border
//!   sample), so surfaces touching the border close.
//! - An empty result (nothing at or above the level) is an empty mesh, not an
//!   error.

pub mod marching;
pub mod measure;
pub mod tables;
pub mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

pub use marching::{LabelMesh, marching_cubes, marching_cubes_mask, marching_cubes_with};
pub use measure::{enclosed_volume_mm3, is_closed, is_consistently_oriented, surface_area_mm2};

/// An indexed triangle mesh.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions, LPS mm.
    pub vertices_mm: Vec<[f32; 3]>,
    /// Unit outward normal per vertex (may be zero where the gradient vanishes).
    pub normals: Vec<[f32; 3]>,
    /// Vertex indices, counter-clockwise seen from outside.
    pub triangles: Vec<[u32; 3]>,
}

impl Mesh {
    /// True when the mesh has no triangles.
    pub fn is_empty(&self) -> bool {
        self.triangles.is_empty()
    }
}

/// Parameters of [`marching_cubes`].
#[derive(Clone, Debug, PartialEq)]
pub struct McParams {
    /// Isosurface level in HU (inside: value ≥ level).
    pub level_hu: f32,
    /// Voxel stride (≥ 1): 2 samples every other voxel along each axis.
    pub step: usize,
}

impl Default for McParams {
    /// Bone at 350 HU, every voxel.
    fn default() -> Self {
        Self {
            level_hu: 350.0,
            step: 1,
        }
    }
}

/// Progress and cancellation of [`marching_cubes_with`].
#[derive(Clone, Copy, Default)]
pub struct McControl<'a> {
    /// Called with `(slabs done, slabs total)` from worker threads.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
    /// Set to `true` to stop early with [`MeshError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

impl McControl<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Why meshing, reading or writing a mesh failed.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// The step is zero.
    #[error("step must be at least 1, got {0}")]
    BadStep(usize),
    /// The level is not a finite number.
    #[error("level must be a finite number, got {0}")]
    BadLevel(f32),
    /// The voxel-to-world transform is singular or not finite.
    #[error("the volume's geometry is degenerate (spacing or direction)")]
    BadGeometry,
    /// More vertices than 32-bit indices can address.
    #[error("the mesh would have {0} vertices, more than 32-bit indices allow")]
    TooLarge(usize),
    /// Stopped through [`McControl::cancel`].
    #[error("cancelled")]
    Cancelled,
    /// The file extension is not `.stl`, `.ply` or `.obj`.
    #[error("unknown mesh format (expected .stl, .ply or .obj): {0:?}")]
    UnknownFormat(PathBuf),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// A mesh file is malformed.
    #[error("malformed mesh file: {reason}: {path:?}")]
    Format {
        /// What is wrong.
        reason: String,
        /// The file.
        path: PathBuf,
    },
}
