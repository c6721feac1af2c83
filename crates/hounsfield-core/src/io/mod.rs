//! NIfTI, NRRD and `NumPy` readers and writers, and atomic file writes.
//!
//! Owns the file formats that carry voxel grids outside DICOM: [`nifti`]
//! (`.nii`, `.nii.gz`), [`nrrd`] (`.nrrd`, `.nhdr`) and [`npy`] (`NumPy`
//! `.npy`). It imports only `volume` (for [`Volume`] and [`Geometry`]),
//! ndarray, glam, flate2 and the `nifti` crate; nothing here touches the UI,
//! the GPU or DICOM.
//!
//! # Conventions
//! - Every array is **`[z, row, col]`** (C order), as in [`crate::volume`].
//! - Every [`Geometry`] is in DICOM patient space, **LPS** millimetres. Formats
//!   whose world is RAS (NIfTI, NRRD `right-anterior-superior`) are converted
//!   explicitly at the boundary by negating x and y.
//! - Readers check the declared data size against [`MAX_DATA_BYTES`] and, where
//!   the file is uncompressed, against the file length *before* allocating, so
//!   a hostile header gives an [`IoError`], never an out-of-memory abort or a
//!   panic.
//! - Writers go through [`write_atomic`]: the target is either the old file or
//!   the complete new one, never a half-written file.

pub mod nifti;
pub mod npy;
pub mod nrrd;
mod raw;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array3;

use crate::volume::{Geometry, Volume};

/// Largest voxel payload, in bytes, that a reader will allocate (4 GiB).
///
/// A header declaring more is rejected with [`IoError::TooLarge`].
pub const MAX_DATA_BYTES: u64 = 4 << 30;

/// Errors of the readers and writers in [`crate::io`].
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The operating system refused an operation (open, read, write, rename).
    #[error("I/O error while {action} {path:?}")]
    Io {
        /// What was being done, e.g. `"reading"`.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is malformed: bad magic, inconsistent header, truncated data.
    #[error("malformed file: {reason}: {path:?}")]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is valid but uses a feature this reader does not implement.
    #[error("unsupported: {what}: {path:?}")]
    Unsupported {
        /// The file concerned.
        path: PathBuf,
        /// The feature, e.g. `"NRRD encoding bzip2"`.
        what: String,
    },
    /// Data handed to a writer do not match the geometry's grid size.
    #[error("data of shape {data:?} do not match the geometry's dims {geometry:?}: {path:?}")]
    ShapeMismatch {
        /// The file that was to be written.
        path: PathBuf,
        /// Shape of the data, `[z, row, col]`.
        data: [usize; 3],
        /// `Geometry::dims`, `[z, row, col]`.
        geometry: [usize; 3],
    },
    /// The declared data is larger than [`MAX_DATA_BYTES`].
    #[error("data of {bytes} bytes exceeds the limit of {limit} bytes: {path:?}")]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// Declared payload size in bytes (`u64::MAX` when it overflows).
        bytes: u64,
        /// The limit in bytes.
        limit: u64,
    },
}

impl IoError {
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn format(path: &Path, reason: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(path: &Path, what: impl Into<String>) -> Self {
        Self::Unsupported {
            path: path.to_owned(),
            what: what.into(),
        }
    }

    /// Classifies an error met while reading voxel data: a short read or a
    /// corrupt compressed stream is a [`IoError::Format`] error, anything else
    /// an [`IoError::Io`] error.
    pub(crate) fn reading(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::UnexpectedEof => Self::format(path, "data ends early (truncated file)"),
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
                Self::format(path, format!("corrupt data stream ({source})"))
            }
            _ => Self::io("reading", path, source),
        }
    }
}

/// Checks a declared payload of `count` elements of `elem_bytes` bytes each
/// against [`MAX_DATA_BYTES`] and returns its size in bytes.
pub(crate) fn check_data_size(
    path: &Path,
    count: Option<u64>,
    elem_bytes: usize,
) -> Result<u64, IoError> {
    let bytes = count.and_then(|n| n.checked_mul(elem_bytes as u64));
    match bytes {
        Some(b) if b <= MAX_DATA_BYTES => Ok(b),
        _ => Err(IoError::TooLarge {
            path: path.to_owned(),
            bytes: bytes.unwrap_or(u64::MAX),
            limit: MAX_DATA_BYTES,
        }),
    }
}

/// Voxel values of a file read from disk, **`[z, row, col]`**, in the type the
/// file stores (signed 8-bit data is widened to [`ImageData::I16`], unsigned
/// 32-bit data to [`ImageData::F64`], both losslessly).
#[derive(Clone, Debug, PartialEq)]
pub enum ImageData {
    /// Unsigned 8-bit values (label maps, masks; `NumPy` `bool` becomes 0/1).
    U8(Array3<u8>),
    /// Signed 16-bit values (CT in HU).
    I16(Array3<i16>),
    /// Unsigned 16-bit values (label maps, raw stored values).
    U16(Array3<u16>),
    /// Signed 32-bit values.
    I32(Array3<i32>),
    /// 32-bit floats.
    F32(Array3<f32>),
    /// 64-bit floats.
    F64(Array3<f64>),
}

impl ImageData {
    /// Shape as `[z, row, col]`.
    pub fn shape(&self) -> [usize; 3] {
        let s = match self {
            Self::U8(a) => a.shape(),
            Self::I16(a) => a.shape(),
            Self::U16(a) => a.shape(),
            Self::I32(a) => a.shape(),
            Self::F32(a) => a.shape(),
            Self::F64(a) => a.shape(),
        };
        [s[0], s[1], s[2]]
    }

    /// Name of the element type, e.g. `"i16"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::U8(_) => "u8",
            Self::I16(_) => "i16",
            Self::U16(_) => "u16",
            Self::I32(_) => "i32",
            Self::F32(_) => "f32",
            Self::F64(_) => "f64",
        }
    }

    /// All values as `f64` (exact for every variant; allocates).
    pub fn to_f64(&self) -> Array3<f64> {
        match self {
            Self::U8(a) => a.mapv(f64::from),
            Self::I16(a) => a.mapv(f64::from),
            Self::U16(a) => a.mapv(f64::from),
            Self::I32(a) => a.mapv(f64::from),
            Self::F32(a) => a.mapv(f64::from),
            Self::F64(a) => a.clone(),
        }
    }

    /// The values as `i16` when every one of them is an integer in the `i16`
    /// range (so the conversion loses nothing); `None` otherwise.
    pub fn to_i16_lossless(&self) -> Option<Array3<i16>> {
        fn convert<T: Copy>(a: &Array3<T>, f: impl Fn(T) -> Option<i16>) -> Option<Array3<i16>> {
            let values = a.iter().map(|&v| f(v)).collect::<Option<Vec<i16>>>()?;
            Array3::from_shape_vec(a.raw_dim(), values).ok()
        }
        fn from_float(v: f64) -> Option<i16> {
            // NaN fails both comparisons; -0.0 converts to 0.
            let in_range = v >= f64::from(i16::MIN) && v <= f64::from(i16::MAX);
            (in_range && v.fract() == 0.0).then_some(v as i16)
        }
        match self {
            Self::U8(a) => Some(a.mapv(i16::from)),
            Self::I16(a) => Some(a.clone()),
            Self::U16(a) => convert(a, |v| i16::try_from(v).ok()),
            Self::I32(a) => convert(a, |v| i16::try_from(v).ok()),
            Self::F32(a) => convert(a, |v| from_float(f64::from(v))),
            Self::F64(a) => convert(a, from_float),
        }
    }
}

/// A voxel grid read from a file: values plus their placement in LPS mm.
///
/// Invariant (kept by the readers): `geometry.dims == data.shape()`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageVolume {
    /// Voxel values, `[z, row, col]`.
    pub data: ImageData,
    /// Placement of the grid in LPS millimetres.
    pub geometry: Geometry,
}

impl ImageVolume {
    /// Converts to a HU [`Volume`]: `i16` storage when every value fits
    /// losslessly, `f32` otherwise (values beyond `f32` precision are rounded).
    pub fn into_volume(self) -> Volume {
        if let Some(a) = self.data.to_i16_lossless() {
            return Volume::from_i16(a, self.geometry);
        }
        let a = match self.data {
            ImageData::F32(a) => a,
            other => other.to_f64().mapv(|v| v as f32),
        };
        Volume::from_f32(a, self.geometry)
    }
}

/// Writes a volume in the format its extension names: `.nii`, `.nii.gz`
/// (NIfTI-1), `.nrrd` (gzip NRRD) or `.npy`.
#[allow(clippy::case_sensitive_file_extension_comparisons)] // `name` is lower-cased; `.nii.gz` needs the name
pub fn write_volume_file(path: &Path, volume: &Volume) -> Result<(), IoError> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        nifti::write_nifti(path, volume)
    } else if name.ends_with(".nrrd") {
        nrrd::write_nrrd(path, volume, true)
    } else if name.ends_with(".npy") {
        npy::write_npy(path, volume)
    } else {
        Err(IoError::Unsupported {
            path: path.to_owned(),
            what: "output format (use .nii, .nii.gz, .nrrd or .npy)".into(),
        })
    }
}

/// Replaces `path` atomically: `fill` writes a temporary file in the same
/// directory (named `.<name with dots as _>-tmp-<pid>-<n><suffix>`, so a
/// writer that picks its format from the extension sees `suffix`), which is
/// then renamed over `path`. Readers see the old file or the complete new
/// one, never a partial file.
///
/// On any error (including a panic inside `fill`) the temporary file is
/// removed and `path` is left as it was. Data is not `fsync`ed (like NumPy,
/// dcm2niix and most tools): atomic against failures of this process, not a
/// durability barrier against power loss.
pub fn replace_atomically(
    path: &Path,
    suffix: &str,
    fill: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<(), IoError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let Some(name) = path.file_name() else {
        return Err(IoError::io(
            "writing",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        ));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let stem = name.to_string_lossy().replace('.', "_");
    // Reserve a free name (create_new never clobbers another writer's file).
    let tmp_path = loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_path = dir.join(format!(".{stem}-tmp-{}-{n}{suffix}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
        {
            Ok(_) => break tmp_path,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(IoError::io("creating a temporary file for", path, e)),
        }
    };
    let guard = TempGuard(Some(tmp_path.clone()));
    fill(&tmp_path).map_err(|e| IoError::io("writing", path, e))?;
    fs::rename(&tmp_path, path)
        .map_err(|e| IoError::io("renaming a temporary file to", path, e))?;
    guard.disarm();
    Ok(())
}

/// Writes a file atomically through a buffered writer (see
/// [`replace_atomically`]).
///
/// ```
/// use std::io::Write as _;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hello.txt");
/// hounsfield_core::io::write_atomic(&path, |w| w.write_all(b"hello")).unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
/// ```
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), IoError> {
    replace_atomically(path, "", |tmp| {
        let mut writer = BufWriter::with_capacity(1 << 20, File::create(tmp)?);
        write(&mut writer)?;
        writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        Ok(())
    })
}

/// Removes the temporary file on drop unless disarmed.
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            fs::remove_file(p).ok();
        }
    }
}

/// True when the file name ends in `.gz` (any case).
pub(crate) fn has_gz_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").unwrap();

        let err = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(matches!(err, IoError::Io { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");

        write_atomic(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");

        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
    }

    #[test]
    fn write_atomic_cleans_up_after_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let result = std::panic::catch_unwind(|| {
            write_atomic(&path, |_| panic!("inside writer")).ok();
        });
        assert!(result.is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn write_atomic_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.bin");
        let err = write_atomic(&path, |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("out.bin"), "{err}");
    }

    #[test]
    fn i16_lossless_conversion() {
        let a = ImageData::F32(Array3::from_shape_vec((1, 1, 3), vec![1.0, -1024.0, 3.0]).unwrap());
        assert_eq!(
            a.to_i16_lossless().unwrap().into_raw_vec_and_offset().0,
            vec![1, -1024, 3]
        );
        let b = ImageData::F32(Array3::from_shape_vec((1, 1, 2), vec![1.5, 0.0]).unwrap());
        assert!(b.to_i16_lossless().is_none());
        let c = ImageData::F64(Array3::from_shape_vec((1, 1, 1), vec![f64::NAN]).unwrap());
        assert!(c.to_i16_lossless().is_none());
        let d = ImageData::U16(Array3::from_shape_vec((1, 1, 1), vec![40_000]).unwrap());
        assert!(d.to_i16_lossless().is_none());
        let e = ImageData::I32(Array3::from_shape_vec((1, 1, 2), vec![-32768, 32767]).unwrap());
        assert_eq!(e.to_i16_lossless().unwrap().shape(), &[1, 1, 2]);
        assert_eq!(e.type_name(), "i32");
    }

    #[test]
    fn into_volume_picks_storage() {
        let g = Geometry::identity([1, 1, 2]);
        let v = ImageVolume {
            data: ImageData::U16(Array3::from_shape_vec((1, 1, 2), vec![1, 2]).unwrap()),
            geometry: g,
        }
        .into_volume();
        assert!(v.voxels.as_i16().is_some());
        let v = ImageVolume {
            data: ImageData::F64(Array3::from_shape_vec((1, 1, 2), vec![0.5, 2.0]).unwrap()),
            geometry: g,
        }
        .into_volume();
        assert_eq!(v.voxels.get_hu(0, 0, 0), Some(0.5));
    }
}
