//! Writing a [`Volume`] as a DICOM CT series: one CT Image Storage file per
//! slice.
//!
//! The inverse of the loader, used to produce synthetic test series (see
//! [`crate::phantom`]) with known geometry and HU, including awkward ones:
//! shuffled file names, instance numbers that do not follow the slice order,
//! missing slices, a gantry tilt (sheared `ImagePositionPatient`s).
//!
//! # Conventions
//! - Slice `k` of the volume (array axis 0) becomes one file whose
//!   `ImagePositionPatient` is `geometry.world_of_voxel((0, 0, k))` and whose
//!   `ImageOrientationPatient` is the column axis then the row axis of
//!   `geometry.direction` (LPS). Pixels are written row by row, column index
//!   fastest, exactly as the `[z, row, col]` array is laid out.
//! - Stored values are `round((HU − intercept) / slope)` in 16-bit words,
//!   unsigned when no value is negative, with `BitsStored` 12 when the range
//!   allows it and 16 otherwise.
//! - UIDs are `2.25.<decimal>` and derived deterministically from the seed,
//!   the patient id (study) and the series description (series, frame of
//!   reference, instances), so equal options give byte-identical files.
//! - Every file is written to a temporary name in `dir`, synced and renamed,
//!   so a reader never sees a half-written file. Files are written in
//!   parallel (rayon).

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use glam::DVec3;
use rayon::prelude::*;

use crate::volume::{Volume, Voxels};

/// Options of [`write_series`].
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesWriteOptions {
    /// Name files `IM_<16 random hex digits>.dcm` (seeded) instead of
    /// `IM_<slice index, 5 digits>.dcm`, so the directory order says nothing
    /// about the slice order.
    pub shuffle_names: bool,
    /// Give the slices `InstanceNumber`s in a shuffled (seeded) order, or the
    /// reversed order when the shuffle would keep the slice order, so that
    /// `InstanceNumber` never follows z. Otherwise slice `k` gets `k + 1`.
    pub instance_numbers_reversed_or_shuffled: bool,
    /// Slice indices (array axis 0) not to write, simulating missing files.
    /// Instance numbers are assigned before dropping, so they show the gap.
    pub drop_slices: Vec<usize>,
    /// Seed of the UIDs, file names and instance-number shuffle.
    pub seed: u64,
    /// `PatientName` (PN, e.g. `"Phantom^Chest"`).
    pub patient_name: String,
    /// `PatientID`.
    pub patient_id: String,
    /// `SeriesDescription`.
    pub series_description: String,
    /// `RescaleIntercept` in HU (HU = slope × stored + intercept).
    pub rescale_intercept: f64,
    /// `RescaleSlope` in HU per stored unit; finite and non-zero.
    pub rescale_slope: f64,
    /// Explicit VR Little Endian when true, Implicit VR Little Endian
    /// otherwise.
    pub explicit_vr: bool,
}

impl Default for SeriesWriteOptions {
    /// Ordered names and instance numbers, nothing dropped, seed 42, intercept
    /// −1024, slope 1, explicit VR.
    fn default() -> Self {
        Self {
            shuffle_names: false,
            instance_numbers_reversed_or_shuffled: false,
            drop_slices: Vec::new(),
            seed: 42,
            patient_name: "Phantom^Chest".to_owned(),
            patient_id: "HF-PHANTOM-0001".to_owned(),
            series_description: "Synthetic chest phantom".to_owned(),
            rescale_intercept: -1024.0,
            rescale_slope: 1.0,
            explicit_vr: true,
        }
    }
}

/// Errors of [`write_series`].
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The volume has no voxels.
    #[error("the volume has no voxels")]
    Empty,
    /// Rows or columns exceed the 16-bit `Rows`/`Columns` attributes.
    #[error("{rows} rows × {cols} columns do not fit DICOM Rows/Columns (max 65535)")]
    TooLarge {
        /// Rows per slice.
        rows: usize,
        /// Columns per slice.
        cols: usize,
    },
    /// A slice to drop does not exist.
    #[error("slice {index} to drop is out of range (the volume has {slices} slices)")]
    DropOutOfRange {
        /// The requested slice index.
        index: usize,
        /// Number of slices in the volume.
        slices: usize,
    },
    /// The rescale slope is zero or either rescale value is not finite.
    #[error("invalid rescale: slope {slope}, intercept {intercept}")]
    InvalidRescale {
        /// `RescaleSlope`.
        slope: f64,
        /// `RescaleIntercept`.
        intercept: f64,
    },
    /// Some HU value is not finite.
    #[error("the volume holds a non-finite HU value")]
    NonFiniteValue,
    /// Stored values need more than 16 bits under the given rescale.
    #[error(
        "stored values {min}..={max} do not fit 16 bits (slope {slope}, intercept {intercept})"
    )]
    ValueOutOfRange {
        /// Smallest stored value.
        min: i64,
        /// Largest stored value.
        max: i64,
        /// `RescaleSlope`.
        slope: f64,
        /// `RescaleIntercept`.
        intercept: f64,
    },
    /// Spacing, origin or direction hold a non-finite number.
    #[error("the volume geometry is not finite")]
    InvalidGeometry,
    /// The output directory could not be created.
    #[error("could not create the output directory {path:?}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file could not be encoded or written (atomically).
    #[error(transparent)]
    Write(#[from] crate::io::IoError),
    /// The file meta group could not be built.
    #[error("could not build the DICOM file meta group for {path:?}")]
    Meta {
        /// The target file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Box<dicom_object::WithMetaError>,
    },
}

/// Fixed acquisition date of every written series (`YYYYMMDD`).
const STUDY_DATE: &str = "20240101";
/// Fixed acquisition time (`HHMMSS`).
const STUDY_TIME: &str = "120000";

/// Writes `volume` as a CT series into `dir` (created if missing), one file
/// per slice not in `opts.drop_slices`.
///
/// Returns the written paths in slice order (ascending array index), which
/// is not the directory order when names are shuffled.
///
/// ```
/// use hounsfield_core::dicom::write::{write_series, SeriesWriteOptions};
/// use hounsfield_core::volume::{Geometry, Volume};
/// let volume = Volume::from_i16(ndarray::Array3::from_elem((3, 4, 5), 40), Geometry::identity([3, 4, 5]));
/// let dir = tempfile::tempdir().unwrap();
/// let paths = write_series(&volume, dir.path(), &SeriesWriteOptions::default()).unwrap();
/// assert_eq!(paths.len(), 3);
/// ```
pub fn write_series(
    volume: &Volume,
    dir: &Path,
    opts: &SeriesWriteOptions,
) -> Result<Vec<PathBuf>, WriteError> {
    let [nz, rows, cols] = volume.shape();
    if nz == 0 || rows == 0 || cols == 0 {
        return Err(WriteError::Empty);
    }
    let (Ok(rows_u16), Ok(cols_u16)) = (u16::try_from(rows), u16::try_from(cols)) else {
        return Err(WriteError::TooLarge { rows, cols });
    };
    if let Some(&index) = opts.drop_slices.iter().find(|&&k| k >= nz) {
        return Err(WriteError::DropOutOfRange { index, slices: nz });
    }
    let (slope, intercept) = (opts.rescale_slope, opts.rescale_intercept);
    if slope == 0.0 || !slope.is_finite() || !intercept.is_finite() {
        return Err(WriteError::InvalidRescale { slope, intercept });
    }
    let g = &volume.geometry;
    let finite = g.spacing_mm.is_finite() && g.origin_mm.is_finite() && g.direction.is_finite();
    if !finite {
        return Err(WriteError::InvalidGeometry);
    }
    let format = PixelFormat::for_volume(&volume.voxels, slope, intercept)?;
    fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;

    let series = SeriesHeader::new(volume, opts, format, rows_u16, cols_u16);
    let instance_numbers = instance_numbers(nz, opts);
    let names = file_names(nz, opts);
    let slices: Vec<usize> = (0..nz).filter(|k| !opts.drop_slices.contains(k)).collect();
    slices
        .par_iter()
        .map(|&k| {
            let path = dir.join(&names[k]);
            let obj = series.slice_object(volume, k, instance_numbers[k]);
            write_file(obj, &path, opts.explicit_vr)?;
            Ok(path)
        })
        .collect()
}

/// How HU become stored words, fixed for the whole series.
#[derive(Clone, Copy, Debug)]
struct PixelFormat {
    slope: f64,
    intercept: f64,
    bits_stored: u16,
    signed: bool,
}

impl PixelFormat {
    /// Chooses signedness and `BitsStored` from the range of stored values.
    fn for_volume(voxels: &Voxels, slope: f64, intercept: f64) -> Result<Self, WriteError> {
        let to_stored = |hu: f64| ((hu - intercept) / slope).round();
        let (lo, hi) = match voxels {
            Voxels::I16(a) => a
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    let s = to_stored(f64::from(v));
                    (lo.min(s), hi.max(s))
                }),
            Voxels::F32(a) => {
                if a.iter().any(|v| !v.is_finite()) {
                    return Err(WriteError::NonFiniteValue);
                }
                a.iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        let s = to_stored(f64::from(v));
                        (lo.min(s), hi.max(s))
                    })
            }
        };
        let out_of_range = || WriteError::ValueOutOfRange {
            min: lo as i64,
            max: hi as i64,
            slope,
            intercept,
        };
        let signed = lo < 0.0;
        let bits_stored = if signed {
            if lo >= -2048.0 && hi <= 2047.0 {
                12
            } else if lo >= f64::from(i16::MIN) && hi <= f64::from(i16::MAX) {
                16
            } else {
                return Err(out_of_range());
            }
        } else if hi <= 4095.0 {
            12
        } else if hi <= f64::from(u16::MAX) {
            16
        } else {
            return Err(out_of_range());
        };
        Ok(Self {
            slope,
            intercept,
            bits_stored,
            signed,
        })
    }

    /// The stored 16-bit word of an HU value (two's complement when signed).
    /// The range was checked by [`Self::for_volume`].
    fn word(&self, hu: f64) -> u16 {
        let s = ((hu - self.intercept) / self.slope).round();
        if self.signed {
            (s as i16) as u16
        } else {
            s as u16
        }
    }
}

/// Attributes shared by every file of the series.
struct SeriesHeader {
    elements: Vec<DataElement<InMemDicomObject>>,
    format: PixelFormat,
    series_uid: String,
}

impl SeriesHeader {
    fn new(
        volume: &Volume,
        opts: &SeriesWriteOptions,
        format: PixelFormat,
        rows: u16,
        cols: u16,
    ) -> Self {
        let g = &volume.geometry;
        let study_key = mix(opts.seed ^ hash_str(&opts.patient_id));
        let series_key = mix(study_key ^ hash_str(&opts.series_description));
        let study_uid = uid(study_key, 1);
        let series_uid = uid(series_key, 2);
        let frame_uid = uid(series_key, 3);
        let col_dir = g.direction.x_axis;
        let row_dir = g.direction.y_axis;
        let orientation = [
            col_dir.x, col_dir.y, col_dir.z, row_dir.x, row_dir.y, row_dir.z,
        ];
        // Distance between slice planes (the slice axis may be sheared).
        let slice_step = (g.direction.z_axis * g.spacing_mm.z)
            .dot(g.slice_normal())
            .abs();

        let s = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
        let elements = vec![
            s(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
            s(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL"),
            s(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
            s(tags::STUDY_DATE, VR::DA, STUDY_DATE),
            s(tags::SERIES_DATE, VR::DA, STUDY_DATE),
            s(tags::CONTENT_DATE, VR::DA, STUDY_DATE),
            s(tags::STUDY_TIME, VR::TM, STUDY_TIME),
            s(tags::SERIES_TIME, VR::TM, STUDY_TIME),
            s(tags::CONTENT_TIME, VR::TM, STUDY_TIME),
            s(tags::ACCESSION_NUMBER, VR::SH, ""),
            s(tags::MODALITY, VR::CS, "CT"),
            s(tags::MANUFACTURER, VR::LO, "Hounsfield"),
            s(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
            s(
                tags::STUDY_DESCRIPTION,
                VR::LO,
                "Hounsfield synthetic study",
            ),
            s(tags::SERIES_DESCRIPTION, VR::LO, &opts.series_description),
            s(tags::MANUFACTURER_MODEL_NAME, VR::LO, "Phantom"),
            s(tags::PATIENT_NAME, VR::PN, &opts.patient_name),
            s(tags::PATIENT_ID, VR::LO, &opts.patient_id),
            s(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
            s(tags::PATIENT_SEX, VR::CS, "O"),
            s(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"),
            s(tags::SLICE_THICKNESS, VR::DS, &ds(slice_step)),
            s(tags::KVP, VR::DS, "120"),
            s(tags::PATIENT_POSITION, VR::CS, "HFS"),
            s(tags::STUDY_INSTANCE_UID, VR::UI, &study_uid),
            s(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid),
            s(tags::STUDY_ID, VR::SH, "1"),
            s(tags::SERIES_NUMBER, VR::IS, "1"),
            s(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                &ds_multi(&orientation),
            ),
            s(tags::FRAME_OF_REFERENCE_UID, VR::UI, &frame_uid),
            s(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
            DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16)),
            s(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
            DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(cols)),
            s(
                tags::PIXEL_SPACING,
                VR::DS,
                &ds_multi(&[g.spacing_mm.y, g.spacing_mm.x]),
            ),
            DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16)),
            DataElement::new(
                tags::BITS_STORED,
                VR::US,
                PrimitiveValue::from(format.bits_stored),
            ),
            DataElement::new(
                tags::HIGH_BIT,
                VR::US,
                PrimitiveValue::from(format.bits_stored - 1),
            ),
            DataElement::new(
                tags::PIXEL_REPRESENTATION,
                VR::US,
                PrimitiveValue::from(u16::from(format.signed)),
            ),
            s(tags::WINDOW_CENTER, VR::DS, "40"),
            s(tags::WINDOW_WIDTH, VR::DS, "400"),
            s(tags::RESCALE_INTERCEPT, VR::DS, &ds(format.intercept)),
            s(tags::RESCALE_SLOPE, VR::DS, &ds(format.slope)),
            s(tags::RESCALE_TYPE, VR::LO, "HU"),
        ];
        Self {
            elements,
            format,
            series_uid,
        }
    }

    /// The complete data set of slice `k`.
    fn slice_object(&self, volume: &Volume, k: usize, instance_number: usize) -> InMemDicomObject {
        let g = &volume.geometry;
        let position = g.world_of_voxel(DVec3::new(0.0, 0.0, k as f64));
        let sop_uid = uid(mix(hash_str(&self.series_uid)), 1000 + k as u64);
        let words: Vec<u16> = match &volume.voxels {
            Voxels::I16(a) => a
                .index_axis(ndarray::Axis(0), k)
                .iter()
                .map(|&v| self.format.word(f64::from(v)))
                .collect(),
            Voxels::F32(a) => a
                .index_axis(ndarray::Axis(0), k)
                .iter()
                .map(|&v| self.format.word(f64::from(v)))
                .collect(),
        };
        let s = |tag, vr, v: String| DataElement::new(tag, vr, PrimitiveValue::from(v));
        let mut obj = InMemDicomObject::from_element_iter(self.elements.iter().cloned());
        obj.put(s(tags::SOP_INSTANCE_UID, VR::UI, sop_uid));
        obj.put(s(
            tags::INSTANCE_NUMBER,
            VR::IS,
            instance_number.to_string(),
        ));
        obj.put(s(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            ds_multi(&position.to_array()),
        ));
        obj.put(s(
            tags::SLICE_LOCATION,
            VR::DS,
            ds(position.dot(g.slice_normal())),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(words.into()),
        ));
        obj
    }
}

/// Encodes `obj` into `path` through a temporary file in the same directory.
fn write_file(obj: InMemDicomObject, path: &Path, explicit_vr: bool) -> Result<(), WriteError> {
    let ts = if explicit_vr {
        uids::EXPLICIT_VR_LITTLE_ENDIAN
    } else {
        uids::IMPLICIT_VR_LITTLE_ENDIAN
    };
    let file_obj = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts))
        .map_err(|e| WriteError::Meta {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;

    crate::io::write_atomic(path, |w| file_obj.write_all(w).map_err(io::Error::other))?;
    Ok(())
}

/// `InstanceNumber` of every slice (1-based).
fn instance_numbers(nz: usize, opts: &SeriesWriteOptions) -> Vec<usize> {
    let mut numbers: Vec<usize> = (1..=nz).collect();
    if opts.instance_numbers_reversed_or_shuffled {
        let mut rng = SplitMix64(mix(opts.seed ^ 0x001A_57A1_1CE5));
        for i in (1..nz).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            numbers.swap(i, j);
        }
        if numbers.windows(2).all(|w| w[0] < w[1]) {
            numbers.reverse();
        }
    }
    numbers
}

/// File name of every slice.
fn file_names(nz: usize, opts: &SeriesWriteOptions) -> Vec<String> {
    if !opts.shuffle_names {
        return (0..nz).map(|k| format!("IM_{k:05}.dcm")).collect();
    }
    let mut rng = SplitMix64(mix(opts.seed ^ 0xF11E_4A3E));
    let mut seen = HashSet::with_capacity(nz);
    (0..nz)
        .map(|_| {
            loop {
                let name = format!("IM_{:016X}.dcm", rng.next_u64());
                if seen.insert(name.clone()) {
                    break name;
                }
            }
        })
        .collect()
}

/// A `2.25.<decimal>` UID (UUID-derived root) from a key and a salt.
fn uid(key: u64, salt: u64) -> String {
    let hi = mix(key ^ mix(salt));
    let lo = mix(hi ^ 0x5EED_0FD1_C0DE);
    // At most 39 digits, no leading zero: 2.25.<n> stays within 64 chars.
    let n = (u128::from(hi) << 64 | u128::from(lo)).max(1);
    format!("2.25.{n}")
}

/// A DS value: the shortest decimal that round-trips, cut to DICOM's 16
/// characters when needed.
pub(crate) fn ds(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0"
    let s = format!("{v}");
    if s.len() <= 16 {
        return s;
    }
    for precision in (0..=15).rev() {
        let s = format!("{v:.precision$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        };
        if s.len() <= 16 {
            return if s == "-0" { "0".to_owned() } else { s };
        }
    }
    format!("{v:.8e}")
}

/// A multi-valued DS (`\`-separated).
pub(crate) fn ds_multi(values: &[f64]) -> String {
    values.iter().map(|&v| ds(v)).collect::<Vec<_>>().join("\\")
}

/// FNV-1a hash of a string.
fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// The splitmix64 output mix.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Minimal splitmix64 stream for names and shuffles.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
}

#[cfg(test)]
mod tests;
