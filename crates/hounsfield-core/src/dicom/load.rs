//! Decoding a [`SeriesLayout`] into a HU [`Volume`], in parallel.
//!
//! HU = stored × RescaleSlope + RescaleIntercept, per slice, honouring each
//! slice's BitsStored and PixelRepresentation. Output is `i16` when every
//! slice's rescale is integral and the results fit, else `f32`. Padding values
//! stay as stored (converted like any value) and are recorded per slice.
//! Declared sizes are checked against [`Limits`] before anything is allocated.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dicom_core::DicomValue;
use dicom_core::value::PrimitiveValue;
use dicom_dictionary_std::tags;
use ndarray::{Array3, ArrayViewMut2, Axis};
use rayon::prelude::*;

use super::convert::{FillError, HuSample, Samples, convert_frame};
use super::error::DicomError;
use super::series::{FrameRef, SeriesLayout, Slot};
use super::transfer_syntax;
use crate::volume::{Padding, Volume, VolumeId, Voxels};

/// Resource limits checked before allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest volume accepted, in voxels (default 2^30, 2 GiB as `i16`).
    pub max_voxels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_voxels: 1 << 30,
        }
    }
}

/// Progress and cancellation hooks for long loads.
#[derive(Clone, Copy, Default)]
pub struct LoadControl<'a> {
    /// Called with `(slices done, slices total)` from worker threads.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
    /// Set to `true` to stop early with [`DicomError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

impl LoadControl<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Decode every slot of `layout` into a HU volume.
#[tracing::instrument(level = "info", skip_all, fields(dims = ?layout.geometry.dims, frames = layout.frame_count()))]
pub fn load_volume(
    layout: &SeriesLayout,
    limits: &Limits,
    control: &LoadControl,
) -> Result<Volume, DicomError> {
    let [nz, ny, nx] = layout.geometry.dims;
    let first = layout
        .slots
        .iter()
        .find_map(|s| match s {
            Slot::Frame(f) => Some(f),
            Slot::Gap => None,
        })
        .ok_or_else(|| DicomError::Assemble {
            reason: "no frames to load".into(),
        })?;
    let voxels = (nz as u64)
        .saturating_mul(ny as u64)
        .saturating_mul(nx as u64);
    if voxels > limits.max_voxels || nz == 0 || ny == 0 || nx == 0 {
        return Err(DicomError::TooLarge {
            rows: ny as u64,
            cols: nx as u64,
            frames: nz as u64,
            limit_voxels: limits.max_voxels,
            path: first.path.clone(),
        });
    }

    check_files_budget(layout)?;

    let integral = layout.slots.iter().all(|s| match s {
        Slot::Frame(f) => is_integral(f.rescale_slope) && is_integral(f.rescale_intercept),
        Slot::Gap => true,
    });
    let voxels = if integral {
        match fill::<i16>(layout, control) {
            Ok(a) => Voxels::I16(a),
            Err(FillError::OutOfRange) => Voxels::F32(fill_f32(layout, control)?),
            Err(FillError::Dicom(e)) => return Err(e),
        }
    } else {
        Voxels::F32(fill_f32(layout, control)?)
    };

    let padding_per_slice = layout
        .slots
        .iter()
        .map(|s| match s {
            Slot::Frame(f) => f.padding_stored.map(|(lo, hi)| {
                let a = (lo * f.rescale_slope + f.rescale_intercept) as f32;
                let b = (hi * f.rescale_slope + f.rescale_intercept) as f32;
                Padding {
                    lo_hu: a.min(b),
                    hi_hu: a.max(b),
                }
            }),
            Slot::Gap => None,
        })
        .collect();

    Ok(Volume {
        id: VolumeId::fresh(),
        voxels,
        geometry: layout.geometry,
        padding_per_slice,
    })
}

/// Every file of the layout, checked against its length on disk before the
/// output is allocated (see [`super::codec::check_file_budget`]).
fn check_files_budget(layout: &SeriesLayout) -> Result<(), DicomError> {
    let mut seen: std::collections::BTreeSet<&Path> = std::collections::BTreeSet::new();
    for slot in &layout.slots {
        let Slot::Frame(f) = slot else { continue };
        if !seen.insert(f.path.as_path()) {
            continue;
        }
        let file_len = std::fs::metadata(&f.path)
            .map_err(|source| DicomError::Io {
                source,
                path: f.path.clone(),
            })?
            .len();
        super::codec::check_file_budget(f, file_len, &f.path)?;
    }
    Ok(())
}

fn fill_f32(layout: &SeriesLayout, control: &LoadControl) -> Result<Array3<f32>, DicomError> {
    fill::<f32>(layout, control).map_err(|e| match e {
        FillError::Dicom(d) => d,
        FillError::OutOfRange => DicomError::Assemble {
            reason: "HU values out of range".into(),
        },
    })
}

fn is_integral(v: f64) -> bool {
    (v - v.round()).abs() < 1e-9
}

/// Decode all frames into a new array, grouping frames by file so each file
/// is opened and decoded once.
fn fill<T: HuSample>(layout: &SeriesLayout, control: &LoadControl) -> Result<Array3<T>, FillError> {
    let [nz, ny, nx] = layout.geometry.dims;
    // `from_elem` of zero is a zeroed allocation: pages are touched only as
    // frames are decoded into them, so a load refused midway costs little.
    let mut out = Array3::<T>::from_elem((nz, ny, nx), T::default());
    {
        let mut views: Vec<Option<ArrayViewMut2<T>>> =
            out.axis_iter_mut(Axis(0)).map(Some).collect();
        let mut by_file: BTreeMap<&Path, Vec<(&FrameRef, ArrayViewMut2<T>)>> = BTreeMap::new();
        for (z, slot) in layout.slots.iter().enumerate() {
            if let (Slot::Frame(f), Some(view)) = (slot, views[z].take()) {
                by_file.entry(f.path.as_path()).or_default().push((f, view));
            }
        }
        let total = layout.frame_count();
        let done = AtomicUsize::new(0);
        by_file.into_par_iter().try_for_each_init(
            Vec::new,
            |buf, (path, frames)| -> Result<(), FillError> {
                if control.cancelled() {
                    return Err(DicomError::Cancelled.into());
                }
                let n = frames.len();
                decode_file_into(path, frames, buf)?;
                let d = done.fetch_add(n, Ordering::Relaxed) + n;
                if let Some(p) = control.progress {
                    p(d, total);
                }
                Ok(())
            },
        )?;
    }
    fill_gaps(layout, &mut out);
    Ok(out)
}

/// Linear interpolation of gap slices from the nearest frames below and above.
fn fill_gaps<T: HuSample>(layout: &SeriesLayout, out: &mut Array3<T>) {
    let is_frame = |z: usize| matches!(layout.slots[z], Slot::Frame(_));
    for z in 0..layout.slots.len() {
        if is_frame(z) {
            continue;
        }
        let (Some(lo), Some(hi)) = (
            (0..z).rev().find(|&k| is_frame(k)),
            (z + 1..layout.slots.len()).find(|&k| is_frame(k)),
        ) else {
            continue;
        };
        let t = (z - lo) as f64 / (hi - lo) as f64;
        let (below, rest) = out.view_mut().split_at(Axis(0), z);
        let (mut target, above) = rest.split_at(Axis(0), 1);
        let a = below.index_axis(Axis(0), lo);
        let b = above.index_axis(Axis(0), hi - z - 1);
        ndarray::Zip::from(target.index_axis_mut(Axis(0), 0))
            .and(&a)
            .and(&b)
            .for_each(|o, &x, &y| *o = T::lerp(x, y, t));
    }
}

fn decode_file_into<T: HuSample>(
    path: &Path,
    mut frames: Vec<(&FrameRef, ArrayViewMut2<T>)>,
    buf: &mut Vec<u16>,
) -> Result<(), FillError> {
    let first = frames[0].0;
    let _span = tracing::debug_span!(
        "decode",
        syntax = first.transfer_syntax_uid.as_str(),
        frames = frames.len()
    )
    .entered();
    transfer_syntax::check_decodable(&first.transfer_syntax_uid, path)?;
    if let Some(done) = read_native_in_place(path, &mut frames) {
        return done;
    }
    if read_native_span(path, first, buf) {
        let all = Samples::U16(Cow::Borrowed(buf.as_slice()));
        return convert_frames(&all, frames, path);
    }
    super::open::check_structure(path, super::open::Extent::Whole)?;
    let obj = super::open::open_object(path, false)?;
    let pixel = obj
        .element_opt(tags::PIXEL_DATA)
        .ok()
        .flatten()
        .ok_or_else(|| DicomError::Attribute {
            name: "PixelData",
            tag: super::attrs::tag_text(tags::PIXEL_DATA),
            path: path.to_owned(),
        })?;

    // Native data: read the parsed values directly, no copy.
    let native: Option<Samples> = match pixel.value() {
        DicomValue::Primitive(PrimitiveValue::U16(v)) if first.bits_allocated == 16 => {
            Some(Samples::U16(Cow::Borrowed(&v[..])))
        }
        DicomValue::Primitive(PrimitiveValue::I16(v)) if first.bits_allocated == 16 => {
            Some(Samples::I16(Cow::Borrowed(&v[..])))
        }
        DicomValue::Primitive(PrimitiveValue::U8(v)) if first.bits_allocated == 8 => {
            Some(Samples::U8(Cow::Borrowed(&v[..])))
        }
        _ => None,
    };
    let all = if let Some(s) = native {
        s
    } else {
        super::codec::decode_samples(&obj, pixel, first, path)?
    };
    convert_frames(&all, frames, path)
}

/// Native little-endian pixel data read straight from the byte range the
/// token reader found at scan time, after checking that the file is
/// unchanged in length and that a PixelData element header with that length
/// sits right in front of it. Only for 16-bit little-endian samples on a
/// little-endian machine. Fills `buf` (reused across files) and returns
/// `true`; `false` when this fast path does not apply.
fn read_native_span(path: &Path, f: &FrameRef, buf: &mut Vec<u16>) -> bool {
    cfg!(target_endian = "little") && read_span(path, f, buf).is_some()
}

/// A single-frame native file whose samples fit the output type: read
/// straight into the output slice and convert in place (no intermediate
/// buffer). `None` when this does not apply.
fn read_native_in_place<T: HuSample>(
    path: &Path,
    frames: &mut [(&FrameRef, ArrayViewMut2<T>)],
) -> Option<Result<(), FillError>> {
    use std::io::Read as _;
    let [(f, view)] = frames else { return None };
    if !cfg!(target_endian = "little") || f.frames_in_file != 1 {
        return None;
    }
    let out = view.as_slice_mut()?;
    let storage = T::as_u16_storage(out)?;
    let mut file = open_native_span(path, f)?;
    if f.pixel_span?.len != 2 * storage.len() as u64 {
        return None;
    }
    file.read_exact(bytemuck::cast_slice_mut(storage)).ok()?;
    Some(if T::convert_u16_in_place(out, f) {
        Ok(())
    } else {
        Err(FillError::OutOfRange)
    })
}

fn read_span(path: &Path, f: &FrameRef, buf: &mut Vec<u16>) -> Option<()> {
    use std::io::Read as _;
    let mut file = open_native_span(path, f)?;
    let span = f.pixel_span?;
    buf.resize(usize::try_from(span.len / 2).ok()?, 0);
    file.read_exact(bytemuck::cast_slice_mut(buf.as_mut_slice()))
        .ok()?;
    Some(())
}

/// Open the file positioned at its native 16-bit little-endian pixel data,
/// after checking the file is unchanged in length and that a PixelData
/// element header with the span's length sits right before it.
fn open_native_span(path: &Path, f: &FrameRef) -> Option<std::fs::File> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let span = f.pixel_span?;
    let header_len: u64 = match f.transfer_syntax_uid.as_str() {
        "1.2.840.10008.1.2" => 8,
        "1.2.840.10008.1.2.1" => 12,
        _ => return None,
    };
    if f.bits_allocated != 16 || span.offset < header_len || span.len % 2 != 0 {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    if file.metadata().ok()?.len() != span.file_len {
        return None;
    }
    file.seek(SeekFrom::Start(span.offset - header_len)).ok()?;
    let mut header = [0u8; 12];
    let header = &mut header[..header_len as usize];
    file.read_exact(header).ok()?;
    let tag_ok = header[..4] == [0xE0, 0x7F, 0x10, 0x00];
    let len_bytes: [u8; 4] = header[header.len() - 4..].try_into().ok()?;
    if !tag_ok || u64::from(u32::from_le_bytes(len_bytes)) != span.len {
        return None;
    }
    Some(file)
}

/// Convert every requested frame of a file's samples into its output slice.
fn convert_frames<T: HuSample>(
    all: &Samples,
    frames: Vec<(&FrameRef, ArrayViewMut2<T>)>,
    path: &Path,
) -> Result<(), FillError> {
    let first = frames[0].0;
    let frame_len = first.rows as usize * first.cols as usize;
    let available = all.len();

    for (f, mut view) in frames {
        let start = f.frame as usize * frame_len;
        if available < start + frame_len {
            let bytes_per = u64::from(f.bits_allocated.div_ceil(8));
            return Err(DicomError::TruncatedPixelData {
                expected: (start + frame_len) as u64 * bytes_per,
                got: available as u64 * bytes_per,
                path: path.to_owned(),
            }
            .into());
        }
        let out = view.as_slice_mut().ok_or_else(|| DicomError::Assemble {
            reason: "output slice not contiguous".into(),
        })?;
        convert_frame(all, start, f, out, path)?;
    }
    Ok(())
}

/// Convenience: the path of every frame file of a layout (deduplicated, sorted).
pub fn layout_files(layout: &SeriesLayout) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = layout
        .slots
        .iter()
        .filter_map(|s| match s {
            Slot::Frame(f) => Some(f.path.clone()),
            Slot::Gap => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}
