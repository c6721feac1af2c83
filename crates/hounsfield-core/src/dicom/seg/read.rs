//! Reading one DICOM-SEG file into a [`SegObject`]: segment descriptions,
//! per-frame geometry and references (shared and per-frame functional
//! groups), and the pixels of every frame (bit-unpacked, thresholded or
//! label values). Declared sizes are checked before anything is allocated.

use std::borrow::Cow;
use std::path::Path;

use dicom_core::DicomValue;
use dicom_core::value::PrimitiveValue;
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use rayon::prelude::*;

use super::{
    FramePixels, ReferencedSeries, SegFileError, SegFrame, SegObject, SegmentInfo, SegmentationType,
};
use crate::dicom::attrs::{f64s, int, item, items, string, tag_text};
use crate::dicom::error::DicomError;
use crate::dicom::header::{InstanceHeader, header_from_object};
use crate::dicom::load::Limits;
use crate::seg::colour::{default_colour, rgb_from_dicom_lab};

fn invalid(path: &Path, reason: impl Into<String>) -> SegFileError {
    SegFileError::Invalid {
        reason: reason.into(),
        path: path.to_owned(),
    }
}

fn missing(path: &Path, name: &'static str, tag: dicom_core::Tag) -> SegFileError {
    SegFileError::Dicom(DicomError::Attribute {
        name,
        tag: tag_text(tag),
        path: path.to_owned(),
    })
}

/// Read a DICOM-SEG file (BINARY, FRACTIONAL or LABELMAP; any transfer
/// syntax dicom-object reads, including big endian and deflate; encapsulated
/// 8/16-bit pixel data through the compiled-in codecs).
///
/// ```no_run
/// let seg = hounsfield_core::dicom::seg::read_seg(std::path::Path::new("liver.dcm"))?;
/// println!("{} segments, {} frames", seg.segments.len(), seg.frames.len());
/// # Ok::<(), hounsfield_core::dicom::seg::SegFileError>(())
/// ```
pub fn read_seg(path: &Path) -> Result<SegObject, SegFileError> {
    crate::dicom::open::check_structure(path, crate::dicom::open::Extent::Whole)?;
    let obj = crate::dicom::open::open_object(path, false)?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .trim()
        .to_owned();
    let sop_class = seg_sop_class(&obj, path)?;
    let header = header_from_object(&obj, path, sop_class, ts.clone());
    let segmentation_type = segmentation_type(&obj, path)?;
    let layout = PixelLayout::check(&header, segmentation_type, path)?;
    let segments = read_segments(&obj, segmentation_type, path)?;
    let padding = match segmentation_type {
        SegmentationType::Labelmap => int::<u16>(&obj, tags::PIXEL_PADDING_VALUE),
        _ => None,
    };

    let data = pixel_bytes(&obj, path, &ts, header.bits_allocated)?;
    layout.check_length(data.len(), path)?;

    let per_frame = items(&obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let shared = item(&obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    if layout.frames > 1 && per_frame.len() < layout.frames {
        return Err(invalid(
            path,
            format!(
                "PerFrameFunctionalGroupsSequence has {} items for {} frames",
                per_frame.len(),
                layout.frames
            ),
        ));
    }
    let known = SegmentSet::new(&segments);
    let frames = (0..layout.frames)
        .into_par_iter()
        .map(|f| {
            let group = per_frame.get(f);
            let (segment_number, source_sop_instance_uid, source_frame_number) =
                frame_references(group, shared);
            let segment_number = match segmentation_type {
                SegmentationType::Labelmap => None,
                _ => Some(frame_segment(segment_number, &segments, f, path)?),
            };
            let geometry = header.frames.get(f);
            let pixels = frame_pixels(&data, &layout, segmentation_type, padding, f);
            if let FramePixels::Labels(values) = &pixels
                && let Some(&v) = values.iter().find(|&&v| v != 0 && !known.contains(v))
            {
                return Err(invalid(
                    path,
                    format!("pixel value {v} in frame {} is not a SegmentNumber", f + 1),
                ));
            }
            Ok(SegFrame {
                index: f,
                segment_number,
                position_mm: geometry.and_then(|g| g.position_mm),
                orientation: geometry.and_then(|g| g.orientation),
                pixel_spacing_mm: geometry.and_then(|g| g.pixel_spacing_mm),
                source_sop_instance_uid,
                source_frame_number,
                pixels,
            })
        })
        .collect::<Result<Vec<_>, SegFileError>>()?;

    Ok(SegObject {
        path: path.to_owned(),
        sop_instance_uid: header.sop_instance_uid,
        study_uid: header.study_uid,
        series_uid: header.series_uid,
        frame_of_reference_uid: header.frame_of_reference_uid,
        series_description: header.meta.series_description,
        content_label: string(&obj, tags::CONTENT_LABEL),
        segmentation_type,
        rows: header.rows,
        cols: header.cols,
        segments,
        frames,
        referenced_series: referenced_series(&obj),
    })
}

/// The SOP class of a Segmentation object, or why the file is none.
fn seg_sop_class(obj: &DefaultDicomObject, path: &Path) -> Result<String, SegFileError> {
    let sop_class = string(obj, tags::SOP_CLASS_UID).unwrap_or_else(|| {
        obj.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .trim()
            .to_owned()
    });
    let is_seg = sop_class == uids::SEGMENTATION_STORAGE
        || sop_class == uids::LABEL_MAP_SEGMENTATION_STORAGE
        || string(obj, tags::MODALITY).as_deref() == Some("SEG");
    if is_seg {
        Ok(sop_class)
    } else {
        Err(invalid(
            path,
            format!(
                "SOP class {sop_class:?} is neither a Segmentation nor an RT Structure Set, and Modality is not SEG"
            ),
        ))
    }
}

/// `SegmentationType` and, for FRACTIONAL, `MaximumFractionalValue`.
fn segmentation_type(
    obj: &InMemDicomObject,
    path: &Path,
) -> Result<SegmentationType, SegFileError> {
    let t = string(obj, tags::SEGMENTATION_TYPE)
        .ok_or_else(|| missing(path, "SegmentationType", tags::SEGMENTATION_TYPE))?;
    match t.to_ascii_uppercase().as_str() {
        "BINARY" => Ok(SegmentationType::Binary),
        "LABELMAP" => Ok(SegmentationType::Labelmap),
        "FRACTIONAL" => {
            let max_value = int::<u16>(obj, tags::MAXIMUM_FRACTIONAL_VALUE)
                .filter(|&m| m > 0)
                .ok_or_else(|| {
                    missing(
                        path,
                        "MaximumFractionalValue",
                        tags::MAXIMUM_FRACTIONAL_VALUE,
                    )
                })?;
            Ok(SegmentationType::Fractional { max_value })
        }
        other => Err(invalid(
            path,
            format!("SegmentationType {other:?} (expected BINARY, FRACTIONAL or LABELMAP)"),
        )),
    }
}

/// Frame size and the number of pixel data bytes the header declares.
struct PixelLayout {
    frames: usize,
    /// Pixels per frame.
    pixels: usize,
    /// 1, 8 or 16.
    bits: u16,
    expected_bytes: u64,
}

impl PixelLayout {
    fn check(
        h: &InstanceHeader,
        seg_type: SegmentationType,
        path: &Path,
    ) -> Result<Self, SegFileError> {
        if h.rows == 0 {
            return Err(missing(path, "Rows", tags::ROWS));
        }
        if h.cols == 0 {
            return Err(missing(path, "Columns", tags::COLUMNS));
        }
        let bits = h.bits_allocated;
        let ok = match seg_type {
            SegmentationType::Binary => bits == 1,
            SegmentationType::Fractional { .. } => bits == 8,
            SegmentationType::Labelmap => bits == 8 || bits == 16,
        };
        if !ok {
            return Err(invalid(
                path,
                format!("BitsAllocated {bits} does not fit SegmentationType {seg_type:?}"),
            ));
        }
        if h.samples_per_pixel != 1 {
            return Err(invalid(
                path,
                format!("SamplesPerPixel {} (expected 1)", h.samples_per_pixel),
            ));
        }
        let frames = u64::from(h.number_of_frames);
        let pixels = u64::from(h.rows) * u64::from(h.cols);
        let total = pixels.saturating_mul(frames);
        let limit = Limits::default().max_voxels;
        if total > limit {
            return Err(DicomError::TooLarge {
                rows: u64::from(h.rows),
                cols: u64::from(h.cols),
                frames,
                limit_voxels: limit,
                path: path.to_owned(),
            }
            .into());
        }
        let expected_bytes = if bits == 1 {
            total.div_ceil(8)
        } else {
            total * u64::from(bits / 8)
        };
        Ok(Self {
            frames: frames as usize,
            pixels: pixels as usize,
            bits,
            expected_bytes,
        })
    }

    /// Pixel data shorter than declared is an error.
    fn check_length(&self, got: usize, path: &Path) -> Result<(), SegFileError> {
        if (got as u64) < self.expected_bytes {
            return Err(DicomError::TruncatedPixelData {
                expected: self.expected_bytes,
                got: got as u64,
                path: path.to_owned(),
            }
            .into());
        }
        Ok(())
    }
}

/// The pixel data as a little-endian byte stream (OW words, also of big
/// endian files, become their little-endian bytes, which is the order the
/// bit packing is defined on).
fn pixel_bytes<'a>(
    obj: &'a DefaultDicomObject,
    path: &Path,
    ts: &str,
    bits: u16,
) -> Result<Cow<'a, [u8]>, SegFileError> {
    let elem = obj
        .element_opt(tags::PIXEL_DATA)
        .ok()
        .flatten()
        .ok_or_else(|| missing(path, "PixelData", tags::PIXEL_DATA))?;
    match elem.value() {
        DicomValue::Primitive(PrimitiveValue::U8(v)) => Ok(Cow::Borrowed(&v[..])),
        DicomValue::Primitive(PrimitiveValue::U16(v)) => {
            Ok(Cow::Owned(v.iter().flat_map(|w| w.to_le_bytes()).collect()))
        }
        DicomValue::Primitive(PrimitiveValue::I16(v)) => {
            Ok(Cow::Owned(v.iter().flat_map(|w| w.to_le_bytes()).collect()))
        }
        DicomValue::PixelSequence(_) if bits == 1 => Err(DicomError::UnsupportedImage {
            what: "encapsulated (compressed) 1-bit SEG pixel data".into(),
            path: path.to_owned(),
        }
        .into()),
        DicomValue::PixelSequence(_) => {
            crate::dicom::transfer_syntax::check_decodable(ts, path)?;
            let (data, _) = crate::dicom::codec::decode_with_dicom_rs(obj, ts, path)?;
            Ok(Cow::Owned(data))
        }
        _ => Err(invalid(path, "PixelData holds no pixel values")),
    }
}

/// The bits, thresholded fractions or labels of frame `f`.
fn frame_pixels(
    data: &[u8],
    layout: &PixelLayout,
    seg_type: SegmentationType,
    padding: Option<u16>,
    f: usize,
) -> FramePixels {
    let n = layout.pixels;
    match seg_type {
        SegmentationType::Binary => FramePixels::Bits(extract_bits(data, f * n, n)),
        SegmentationType::Fractional { max_value } => {
            let values = data.get(f * n..(f + 1) * n).unwrap_or(&[]);
            let mut bits = vec![0u8; n.div_ceil(8)];
            for (i, &v) in values.iter().enumerate() {
                if 2 * u32::from(v) >= u32::from(max_value) {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            FramePixels::Bits(bits)
        }
        SegmentationType::Labelmap => {
            let mut labels: Vec<u16> = if layout.bits == 16 {
                data.get(2 * f * n..2 * (f + 1) * n)
                    .unwrap_or(&[])
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect()
            } else {
                data.get(f * n..(f + 1) * n)
                    .unwrap_or(&[])
                    .iter()
                    .map(|&v| u16::from(v))
                    .collect()
            };
            if let Some(p) = padding {
                labels.iter_mut().filter(|v| **v == p).for_each(|v| *v = 0);
            }
            FramePixels::Labels(labels)
        }
    }
}

/// `n` bits starting at bit `start` of an LSB-first bit stream, re-packed
/// from bit 0 of a fresh buffer (trailing bits of the last byte cleared).
pub(crate) fn extract_bits(data: &[u8], start: usize, n: usize) -> Vec<u8> {
    let nbytes = n.div_ceil(8);
    let first = start / 8;
    let shift = start % 8;
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let mut out: Vec<u8> = if shift == 0 {
        (0..nbytes).map(|j| byte(first + j)).collect()
    } else {
        (0..nbytes)
            .map(|j| (byte(first + j) >> shift) | (byte(first + j + 1) << (8 - shift)))
            .collect()
    };
    if !n.is_multiple_of(8)
        && let Some(last) = out.last_mut()
    {
        *last &= (1u8 << (n % 8)) - 1;
    }
    out
}

/// `ReferencedSegmentNumber` and the first source image reference of a frame
/// (per-frame group first, then the shared group).
fn frame_references(
    group: Option<&InMemDicomObject>,
    shared: Option<&InMemDicomObject>,
) -> (Option<u16>, Option<String>, Option<u32>) {
    let segment = |g: &InMemDicomObject| {
        item(g, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
            .and_then(|s| int::<u16>(s, tags::REFERENCED_SEGMENT_NUMBER))
    };
    let source = |g: &InMemDicomObject| {
        items(g, tags::DERIVATION_IMAGE_SEQUENCE)
            .iter()
            .flat_map(|d| items(d, tags::SOURCE_IMAGE_SEQUENCE))
            .find_map(|s| {
                string(s, tags::REFERENCED_SOP_INSTANCE_UID)
                    .map(|uid| (uid, int::<u32>(s, tags::REFERENCED_FRAME_NUMBER)))
            })
    };
    let number = group.and_then(segment).or_else(|| shared.and_then(segment));
    let src = group.and_then(source).or_else(|| shared.and_then(source));
    let (uid, frame) = src.map_or((None, None), |(u, f)| (Some(u), f));
    (number, uid, frame)
}

/// The segment number of a BINARY/FRACTIONAL frame: its reference, or the
/// only segment when the SEG has one and the frame names none.
fn frame_segment(
    number: Option<u16>,
    segments: &[SegmentInfo],
    f: usize,
    path: &Path,
) -> Result<u16, SegFileError> {
    match (number, segments) {
        (Some(n), _) if segments.iter().any(|s| s.number == n) => Ok(n),
        (Some(n), _) => Err(invalid(
            path,
            format!(
                "frame {} references segment {n}, which SegmentSequence does not describe",
                f + 1
            ),
        )),
        (None, [only]) => Ok(only.number),
        (None, _) => Err(invalid(
            path,
            format!("frame {} has no ReferencedSegmentNumber", f + 1),
        )),
    }
}

/// The `SegmentSequence` (the LABELMAP background, number 0, left out).
fn read_segments(
    obj: &InMemDicomObject,
    seg_type: SegmentationType,
    path: &Path,
) -> Result<Vec<SegmentInfo>, SegFileError> {
    let list = items(obj, tags::SEGMENT_SEQUENCE);
    if list.is_empty() {
        return Err(missing(path, "SegmentSequence", tags::SEGMENT_SEQUENCE));
    }
    let mut out: Vec<SegmentInfo> = Vec::with_capacity(list.len());
    for (i, it) in list.iter().enumerate() {
        let number = int::<u16>(it, tags::SEGMENT_NUMBER).ok_or_else(|| {
            invalid(
                path,
                format!("SegmentSequence item {} has no SegmentNumber", i + 1),
            )
        })?;
        if number == 0 {
            if seg_type == SegmentationType::Labelmap {
                continue;
            }
            return Err(invalid(path, "SegmentNumber 0 in a non-LABELMAP SEG"));
        }
        if out.iter().any(|s| s.number == number) {
            return Err(invalid(
                path,
                format!("SegmentNumber {number} appears twice"),
            ));
        }
        let meaning = |tag| {
            item(it, tag)
                .and_then(|c| string(c, tags::CODE_MEANING))
                .unwrap_or_default()
        };
        let label = string(it, tags::SEGMENT_LABEL).unwrap_or_default();
        let category = meaning(tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE);
        let kind = meaning(tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE);
        let lab = f64s(it, tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE).and_then(|v| match v[..] {
            [l, a, b, ..] if [l, a, b].iter().all(|x| (0.0..=65535.0).contains(x)) => {
                Some([l as u16, a as u16, b as u16])
            }
            _ => None,
        });
        let name = if label.is_empty() { &kind } else { &label };
        out.push(SegmentInfo {
            number,
            colour_rgb: lab.map_or_else(|| default_colour(name, number), rgb_from_dicom_lab),
            label,
            category,
            kind,
            lab,
            algorithm_type: string(it, tags::SEGMENT_ALGORITHM_TYPE),
        });
    }
    Ok(out)
}

/// The `ReferencedSeriesSequence`.
fn referenced_series(obj: &InMemDicomObject) -> Vec<ReferencedSeries> {
    items(obj, tags::REFERENCED_SERIES_SEQUENCE)
        .iter()
        .filter_map(|s| {
            Some(ReferencedSeries {
                series_uid: string(s, tags::SERIES_INSTANCE_UID)?,
                instance_uids: items(s, tags::REFERENCED_INSTANCE_SEQUENCE)
                    .iter()
                    .filter_map(|i| string(i, tags::REFERENCED_SOP_INSTANCE_UID))
                    .collect(),
            })
        })
        .collect()
}

/// Which segment numbers exist (a 65536-bit set).
struct SegmentSet(Vec<u64>);

impl SegmentSet {
    fn new(segments: &[SegmentInfo]) -> Self {
        let mut bits = vec![0u64; 1024];
        for s in segments {
            bits[usize::from(s.number) / 64] |= 1 << (s.number % 64);
        }
        Self(bits)
    }

    fn contains(&self, v: u16) -> bool {
        self.0[usize::from(v) / 64] >> (v % 64) & 1 == 1
    }
}
