//! The in-memory CT volume: Hounsfield-unit voxels plus their geometry.
//!
//! Owns [`Volume`], [`Voxels`] and [`Padding`]. Geometry lives in [`geometry`],
//! pure volume operations (resampling, windowing, histograms, normalisation) in
//! [`ops`] and [`resample`].
//!
//! This module has no I/O, no UI and no GPU code; it imports only ndarray, glam
//! and rayon. Nothing here knows about DICOM tags.
//!
//! # Conventions
//! - Array axis order is **`[z, row, col]`** (slice, row, column). The voxel
//!   index vector used with glam is **`(i, j, k) = (col, row, slice)`**, so that
//!   `world_from_voxel * DVec3::new(i, j, k)` gives the LPS position in mm of
//!   the centre of voxel `voxels[[k, j, i]]`.
//! - World space is DICOM patient space, **LPS**, in millimetres.
//! - Slice index `z` ascends along the slice normal (row × column direction of
//!   `ImageOrientationPatient`), never along `InstanceNumber`.

pub mod geometry;
pub mod ops;
pub mod resample;
pub mod window;

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array3;

pub use geometry::Geometry;

/// Identity of a volume's voxel content, so caches (GPU textures, statistics)
/// can key on it. Every new volume gets a fresh id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VolumeId(pub u64);

impl VolumeId {
    /// A process-unique id.
    pub fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Voxel values in Hounsfield units, `[z, row, col]`.
///
/// Stored as `i16` whenever every slice's rescale maps stored values to
/// integers that fit (the normal CT case); as `f32` only when a fractional
/// slope/intercept or an out-of-range result makes it necessary.
#[derive(Clone, Debug, PartialEq)]
pub enum Voxels {
    /// Integer HU (the usual case).
    I16(Array3<i16>),
    /// Fractional or wide-range HU.
    F32(Array3<f32>),
}

impl Voxels {
    /// Shape as `[z, row, col]`.
    pub fn shape(&self) -> [usize; 3] {
        let s = match self {
            Self::I16(a) => a.shape(),
            Self::F32(a) => a.shape(),
        };
        [s[0], s[1], s[2]]
    }

    /// HU value at `[z, row, col]`, or `None` outside the array.
    pub fn get_hu(&self, z: usize, row: usize, col: usize) -> Option<f32> {
        match self {
            Self::I16(a) => a.get([z, row, col]).map(|&v| f32::from(v)),
            Self::F32(a) => a.get([z, row, col]).copied(),
        }
    }

    /// The `i16` array, if that is the storage.
    pub fn as_i16(&self) -> Option<&Array3<i16>> {
        match self {
            Self::I16(a) => Some(a),
            Self::F32(_) => None,
        }
    }

    /// A float copy of the HU values (allocates).
    pub fn to_f32(&self) -> Array3<f32> {
        match self {
            Self::I16(a) => a.mapv(f32::from),
            Self::F32(a) => a.clone(),
        }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when there are no voxels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the voxel array.
    pub fn byte_len(&self) -> usize {
        match self {
            Self::I16(a) => a.len() * 2,
            Self::F32(a) => a.len() * 4,
        }
    }
}

/// Values that mark "no data" (PixelPaddingValue, outside the reconstruction
/// field of view). They stay in the voxels as stored (converted to HU like any
/// other value); this records which HU range is padding so callers choose the
/// policy themselves (see [`Volume::padding_mask`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Padding {
    /// Lowest padding value in HU (inclusive).
    pub lo_hu: f32,
    /// Highest padding value in HU (inclusive).
    pub hi_hu: f32,
}

impl Padding {
    /// True when `hu` is a padding value.
    pub fn contains(&self, hu: f32) -> bool {
        hu >= self.lo_hu && hu <= self.hi_hu
    }
}

/// A CT volume: HU voxels, geometry, and padding information.
///
/// Immutable once built; share it as `Arc<Volume>`. Metadata (patient, study)
/// lives apart from the pixels, in `dicom::SeriesMetadata`.
#[derive(Clone, Debug)]
pub struct Volume {
    /// Content identity for caches.
    pub id: VolumeId,
    /// HU values, `[z, row, col]`.
    pub voxels: Voxels,
    /// Placement of the voxel grid in LPS millimetres.
    pub geometry: Geometry,
    /// Declared padding per slice (`None` where the slice declares none).
    pub padding_per_slice: Vec<Option<Padding>>,
}

impl Volume {
    /// A volume from `i16` HU voxels and a geometry; no padding declared.
    ///
    /// ```
    /// use hounsfield_core::volume::{Geometry, Volume};
    /// let v = Volume::from_i16(ndarray::Array3::zeros((2, 3, 4)), Geometry::identity([2, 3, 4]));
    /// assert_eq!(v.shape(), [2, 3, 4]);
    /// ```
    pub fn from_i16(voxels: Array3<i16>, geometry: Geometry) -> Self {
        let nz = voxels.shape()[0];
        Self {
            id: VolumeId::fresh(),
            voxels: Voxels::I16(voxels),
            geometry,
            padding_per_slice: vec![None; nz],
        }
    }

    /// A volume from `f32` HU voxels and a geometry; no padding declared.
    pub fn from_f32(voxels: Array3<f32>, geometry: Geometry) -> Self {
        let nz = voxels.shape()[0];
        Self {
            id: VolumeId::fresh(),
            voxels: Voxels::F32(voxels),
            geometry,
            padding_per_slice: vec![None; nz],
        }
    }

    /// Shape as `[z, row, col]`.
    pub fn shape(&self) -> [usize; 3] {
        self.voxels.shape()
    }

    /// True when any slice declares padding.
    pub fn has_padding(&self) -> bool {
        self.padding_per_slice.iter().any(Option::is_some)
    }

    /// A mask (`[z, row, col]`, `true` = padding) of the voxels whose value is
    /// a declared padding value of their slice. Computed on demand.
    pub fn padding_mask(&self) -> Array3<bool> {
        let [nz, ny, nx] = self.shape();
        let mut mask = Array3::from_elem((nz, ny, nx), false);
        for (z, pad) in self.padding_per_slice.iter().enumerate() {
            let Some(pad) = pad else { continue };
            for y in 0..ny {
                for x in 0..nx {
                    if let Some(v) = self.voxels.get_hu(z, y, x) {
                        mask[[z, y, x]] = pad.contains(v);
                    }
                }
            }
        }
        mask
    }
}
