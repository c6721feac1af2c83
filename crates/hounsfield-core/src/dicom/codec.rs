//! Decoding compressed (encapsulated) pixel data, behind a panic firewall
//! and a size budget.
//!
//! - JPEG-LS (1.2.840.10008.1.2.4.80 / .81) goes through `pure_jpegls`
//!   (pure Rust, no cmake), one frame per fragment run; every other syntax
//!   through dicom-pixeldata's codecs.
//! - Third-party decoders run inside [`std::panic::catch_unwind`]: a decoder
//!   that panics on hostile data (dicom-rs' RLE decoder indexes out of
//!   bounds on some truncated segments, see `docs/upstream.md`) becomes a
//!   [`DicomError::Decode`] naming the file, the transfer syntax and what
//!   failed, never a crashed process or job.
//! - [`check_budget`] bounds the decoded size by the bytes actually present
//!   before any decoder allocates: encapsulated frames cannot outnumber
//!   fragments, and the decoded bytes of a file may not exceed
//!   [`MAX_EXPANSION`] × its compressed bytes plus [`EXPANSION_FLOOR`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use dicom_core::DicomValue;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder as _;

use super::convert::Samples;
use super::error::DicomError;
use super::series::FrameRef;
use super::transfer_syntax;

/// Largest decoded/compressed ratio accepted for encapsulated pixel data.
/// Real CT compresses 2–4× losslessly and rarely past 20× lossy; 48× leaves
/// room for padded, mostly constant slices. With the floor, a 1 MB file
/// may declare at most 73 MB: decoded samples, the output volume (as
/// `f32` twice that) and the decoder's work stay under 256 MB.
pub const MAX_EXPANSION: u64 = 48;

/// Decoded bytes always allowed for one file whatever its compressed size
/// (one 4096 × 3072 16-bit frame).
pub const EXPANSION_FLOOR: u64 = 24 << 20;

/// Decoded bytes allowed from `compressed` bytes of encapsulated or deflated
/// pixel data: [`MAX_EXPANSION`] × `compressed` + [`EXPANSION_FLOOR`].
pub fn allowed_decoded_bytes(compressed: u64) -> u64 {
    compressed
        .saturating_mul(MAX_EXPANSION)
        .saturating_add(EXPANSION_FLOOR)
}

/// Pixel bytes a file's header declares: rows × columns × frames ×
/// BitsAllocated, rounded up to whole bytes.
pub fn declared_pixel_bytes(f: &FrameRef) -> u64 {
    u64::from(f.rows)
        .saturating_mul(u64::from(f.cols))
        .saturating_mul(u64::from(f.frames_in_file.max(1)))
        .saturating_mul(u64::from(f.bits_allocated.max(1)))
        .div_ceil(8)
}

/// Before the output volume is allocated: the file of `f`, `file_len` bytes
/// long, must hold (native syntaxes) or could expand to (every other
/// syntax, at most [`allowed_decoded_bytes`]) the pixel bytes its header
/// declares. A 600 KB file declaring 65535 rows is refused here, not after
/// 134 MB of output were allocated.
pub fn check_file_budget(f: &FrameRef, file_len: u64, path: &Path) -> Result<(), DicomError> {
    let declared = declared_pixel_bytes(f);
    let uid = f.transfer_syntax_uid.as_str();
    if transfer_syntax::is_native(uid) {
        if declared > file_len {
            return Err(DicomError::TruncatedPixelData {
                expected: declared,
                got: file_len,
                path: path.to_owned(),
            });
        }
    } else if declared > allowed_decoded_bytes(file_len) {
        return Err(decode_err(
            uid,
            format!(
                "{}x{}x{} declared ({declared} bytes) cannot come from a file of {file_len} bytes",
                f.rows,
                f.cols,
                f.frames_in_file.max(1)
            ),
            path,
        ));
    }
    Ok(())
}

/// True for the JPEG-LS syntaxes (1.2.840.10008.1.2.4.80 / .81).
pub fn is_jpeg_ls(uid: &str) -> bool {
    matches!(
        uid.trim_end_matches('\0').trim(),
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81"
    )
}

/// The message of a caught panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

thread_local! {
    /// How deep this thread is inside [`firewall`].
    static FIREWALLED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// True while this thread runs a third-party decoder behind the firewall,
/// where a panic becomes a `Decode` error. The fuzz targets' panic hook
/// (libFuzzer aborts on every panic, caught or not) lets such a panic
/// unwind to the firewall and aborts on any other.
pub fn inside_firewall() -> bool {
    FIREWALLED.with(|d| d.get() > 0)
}

/// Run a third-party decoder; a panic becomes `Err(message)`.
pub(crate) fn firewall<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    FIREWALLED.with(|d| d.set(d.get() + 1));
    let r = catch_unwind(AssertUnwindSafe(f));
    FIREWALLED.with(|d| d.set(d.get().saturating_sub(1)));
    match r {
        Ok(r) => r,
        Err(payload) => Err(format!(
            "the decoder panicked: {}",
            panic_message(payload.as_ref())
        )),
    }
}

fn decode_err(uid: &str, reason: impl Into<String>, path: &Path) -> DicomError {
    DicomError::Decode {
        syntax: transfer_syntax::name(uid),
        reason: reason.into(),
        path: path.to_owned(),
    }
}

/// Check the declared decoded size of an encapsulated file against the bytes
/// present: at most one frame per fragment, and at most
/// `MAX_EXPANSION × compressed + EXPANSION_FLOOR` decoded bytes.
pub fn check_budget(
    fragments: &[impl AsRef<[u8]>],
    first: &FrameRef,
    path: &Path,
) -> Result<(), DicomError> {
    let uid = first.transfer_syntax_uid.as_str();
    let frames = u64::from(first.frames_in_file.max(1));
    if frames > fragments.len() as u64 {
        return Err(decode_err(
            uid,
            format!(
                "{frames} frames declared but only {} fragments present",
                fragments.len()
            ),
            path,
        ));
    }
    let compressed: u64 = fragments.iter().map(|f| f.as_ref().len() as u64).sum();
    let decoded = declared_pixel_bytes(first);
    if decoded > allowed_decoded_bytes(compressed) {
        return Err(decode_err(
            uid,
            format!(
                "{}x{}x{frames} declared ({decoded} bytes) cannot come from {compressed} compressed bytes",
                first.rows, first.cols
            ),
            path,
        ));
    }
    Ok(())
}

/// Decode the pixel data of `obj` (encapsulated or otherwise not natively
/// readable) into stored samples.
pub(crate) fn decode_samples(
    obj: &DefaultDicomObject,
    pixel: &dicom_object::mem::InMemElement,
    first: &FrameRef,
    path: &Path,
) -> Result<Samples<'static>, DicomError> {
    let uid = first.transfer_syntax_uid.as_str();
    if let Some(fragments) = pixel.value().fragments() {
        check_budget(fragments, first, path)?;
        if is_jpeg_ls(uid) {
            let offsets = match pixel.value() {
                DicomValue::PixelSequence(seq) => seq.offset_table().to_vec(),
                _ => Vec::new(),
            };
            return decode_jpeg_ls(fragments, &offsets, first, path);
        }
    }
    let (data, bits) = decode_with_dicom_rs(obj, uid, path)?;
    Ok(Samples::Bytes(std::borrow::Cow::Owned(data), bits))
}

/// dicom-pixeldata's decoder behind the firewall: the decoded bytes and
/// their BitsAllocated, or a one-line `Decode` error.
pub(crate) fn decode_with_dicom_rs(
    obj: &DefaultDicomObject,
    uid: &str,
    path: &Path,
) -> Result<(Vec<u8>, u16), DicomError> {
    firewall(|| {
        obj.decode_pixel_data()
            .map(|d| {
                let bits = d.bits_allocated();
                (d.into_data(), bits)
            })
            .map_err(|e| e.to_string().lines().next().unwrap_or("").to_owned())
    })
    .map_err(|reason| decode_err(uid, reason, path))
}

/// The compressed bytes of each frame: one fragment per frame when the
/// counts match, all fragments for a single frame, else split by the basic
/// offset table.
fn frame_streams(
    fragments: &[Vec<u8>],
    offsets: &[u32],
    frames: usize,
) -> Result<Vec<Vec<u8>>, String> {
    if frames == fragments.len() {
        return Ok(fragments.to_vec());
    }
    if frames == 1 {
        return Ok(vec![fragments.concat()]);
    }
    if offsets.len() != frames {
        return Err(format!(
            "{frames} frames in {} fragments and no usable offset table",
            fragments.len()
        ));
    }
    // Offsets count bytes from the first fragment's item header (8 bytes per item).
    let mut starts = Vec::with_capacity(fragments.len());
    let mut at = 0u64;
    for f in fragments {
        starts.push(at);
        at += 8 + f.len() as u64;
    }
    let mut out = vec![Vec::new(); frames];
    for (i, f) in fragments.iter().enumerate() {
        let k = offsets
            .iter()
            .rposition(|&o| u64::from(o) <= starts[i])
            .ok_or("offset table does not start at the first fragment")?;
        out[k].extend_from_slice(f);
    }
    Ok(out)
}

fn decode_jpeg_ls(
    fragments: &[Vec<u8>],
    offsets: &[u32],
    first: &FrameRef,
    path: &Path,
) -> Result<Samples<'static>, DicomError> {
    let uid = first.transfer_syntax_uid.as_str();
    if first.bits_allocated != 16 && first.bits_allocated != 8 {
        return Err(decode_err(
            uid,
            format!("JPEG-LS with BitsAllocated {}", first.bits_allocated),
            path,
        ));
    }
    let frames = first.frames_in_file.max(1) as usize;
    let streams =
        frame_streams(fragments, offsets, frames).map_err(|r| decode_err(uid, r, path))?;
    let frame_len = first.rows as usize * first.cols as usize;
    let mut all: Vec<u16> = Vec::with_capacity(frame_len.saturating_mul(frames));
    for (k, stream) in streams.iter().enumerate() {
        let (pixels, w, h) =
            firewall(|| jpegls::decode(stream, first.cols, first.rows).map_err(|e| e.to_string()))
                .map_err(|r| decode_err(uid, format!("frame {k}: {r}"), path))?;
        if w != first.cols || h != first.rows || pixels.len() != frame_len {
            return Err(decode_err(
                uid,
                format!(
                    "frame {k} is {w}x{h} in the stream, {}x{} in the header",
                    first.cols, first.rows
                ),
                path,
            ));
        }
        all.extend_from_slice(&pixels);
    }
    if first.bits_allocated == 8 {
        let bytes: Vec<u8> = all.iter().map(|&v| v as u8).collect();
        return Ok(Samples::U8(std::borrow::Cow::Owned(bytes)));
    }
    Ok(Samples::U16(std::borrow::Cow::Owned(all)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts: &str, rows: u32, cols: u32, frames: u32, bits_stored: u16) -> FrameRef {
        FrameRef {
            path: "x.dcm".into(),
            frame: 0,
            frames_in_file: frames,
            transfer_syntax_uid: ts.into(),
            rows,
            cols,
            bits_allocated: 16,
            bits_stored,
            pixel_representation: u16::from(bits_stored == 16),
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            padding_stored: None,
            pixel_span: None,
        }
    }

    #[test]
    fn firewall_turns_a_panic_into_an_error() {
        let r: Result<(), String> = firewall(|| {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            assert!(v.get(i).is_some(), "index {i} out of bounds");
            Ok(())
        });
        let e = r.expect_err("panic caught");
        assert!(e.contains("panicked") && e.contains("index 3"), "{e}");
    }

    #[test]
    fn streams_split_by_offset_table() {
        let frags = vec![vec![1u8; 10], vec![2u8; 6], vec![3u8; 4]];
        // frame 0 = fragments 0+1, frame 1 = fragment 2 (offset 8+10 + 8+6 = 32)
        let s = frame_streams(&frags, &[0, 32], 2).expect("split");
        assert_eq!(s[0].len(), 16);
        assert_eq!(s[1], vec![3u8; 4]);
        assert!(frame_streams(&frags, &[], 2).is_err());
        assert_eq!(frame_streams(&frags, &[], 3).expect("one each").len(), 3);
        assert_eq!(frame_streams(&frags, &[], 1).expect("concat")[0].len(), 20);
    }

    #[test]
    fn jpeg_ls_round_trip_through_pure_rust_codec() {
        let (w, h) = (37u32, 23u32);
        let pixels: Vec<u16> = (0..w * h).map(|i| ((i * 37) % 4000) as u16).collect();
        let mut enc = Vec::new();
        jpegls::encode(&pixels, w, h, &mut enc).expect("encode");
        let f = frame("1.2.840.10008.1.2.4.80", h, w, 1, 12);
        // split into two fragments: still one frame
        let (a, b) = enc.split_at(enc.len() / 2);
        let frags = vec![a.to_vec(), b.to_vec()];
        let Samples::U16(out) = decode_jpeg_ls(&frags, &[], &f, Path::new("x.dcm")).expect("ok")
        else {
            panic!("u16 samples")
        };
        assert_eq!(&out[..], &pixels[..]);
        // a header claiming another size is refused, and truncation is an error
        let g = FrameRef {
            rows: h + 1,
            ..f.clone()
        };
        assert!(decode_jpeg_ls(&frags, &[], &g, Path::new("x.dcm")).is_err());
        let cut = vec![enc[..enc.len() / 3].to_vec()];
        assert!(decode_jpeg_ls(&cut, &[], &f, Path::new("x.dcm")).is_err());
    }

    /// A signed 16-bit RLE Lossless CT object of `rows` × `cols` whose one
    /// fragment is `fragment`.
    fn rle_object(
        rows: u16,
        cols: u16,
        fragment: Vec<u8>,
    ) -> dicom_object::FileDicomObject<dicom_object::InMemDicomObject> {
        use dicom_core::value::{PixelFragmentSequence, PrimitiveValue};
        use dicom_core::{DataElement, VR};
        use dicom_dictionary_std::tags;
        use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

        let us = |t, v: u16| DataElement::new(t, VR::US, PrimitiveValue::from(v));
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5"),
            DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4.7"),
            us(tags::SAMPLES_PER_PIXEL, 1),
            DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
            us(tags::ROWS, rows),
            us(tags::COLUMNS, cols),
            us(tags::BITS_ALLOCATED, 16),
            us(tags::BITS_STORED, 16),
            us(tags::HIGH_BIT, 15),
            us(tags::PIXEL_REPRESENTATION, 1),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PixelFragmentSequence::new(Vec::<u32>::new(), vec![fragment]),
            ),
        ])
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.5")
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                .media_storage_sop_instance_uid("1.2.3.4.5"),
        )
        .expect("meta")
    }

    /// A 16×16 RLE Lossless image whose one fragment declares 100 segments
    /// in 16 bytes: dicom-rs' `read_rle_header` slices past the fragment and
    /// panics (docs/upstream.md); through the firewall it is an error naming
    /// the syntax.
    #[test]
    fn malformed_rle_fragment_is_an_error_not_a_panic() {
        use dicom_dictionary_std::tags;
        let mut fragment = vec![0u8; 16];
        fragment[0] = 100; // 100 segments, in 16 bytes
        let obj = rle_object(16, 16, fragment);
        let pixel = obj.element(tags::PIXEL_DATA).expect("pixel data").clone();
        let f = frame("1.2.840.10008.1.2.5", 16, 16, 1, 16);
        let Err(e) = decode_samples(&obj, &pixel, &f, Path::new("rle.dcm")) else {
            panic!("malformed RLE decoded");
        };
        let msg = e.to_string();
        assert!(
            msg.contains("RLE Lossless") && msg.contains("rle.dcm"),
            "{msg}"
        );
    }

    /// The mutation-fuzz finding: a 589 KB JPEG 2000 file whose Rows became
    /// 65535 declared 134 MB; the output volume was allocated (267 MB peak)
    /// before the decoder's budget refused it. The file budget now refuses
    /// it against the file's length before anything is allocated.
    #[test]
    fn file_budget_is_checked_against_the_file_length() {
        let p = Path::new("x.dcm");
        let rle = FrameRef {
            rows: 65535,
            ..frame("1.2.840.10008.1.2.5", 512, 1024, 1, 16)
        };
        let e = check_file_budget(&rle, 600_000, p).expect_err("134 MB from 600 KB");
        assert!(e.to_string().contains("from a file of 600000 bytes"), "{e}");
        assert!(check_file_budget(&rle, 3_000_000, p).is_ok());
        // native data must be present byte for byte
        let native = frame("1.2.840.10008.1.2.1", 512, 512, 2, 16);
        assert!(check_file_budget(&native, 2 * 512 * 512 * 2, p).is_ok());
        let e = check_file_budget(&native, 512 * 512 * 2, p).expect_err("half missing");
        assert!(matches!(e, DicomError::TruncatedPixelData { .. }), "{e}");
    }

    /// Through the loader: a small RLE file declaring 65535 × 1024 is
    /// refused by the file budget (its message), not by the decoder.
    #[test]
    fn a_small_file_declaring_a_huge_image_is_refused_before_the_output_exists() {
        let obj = rle_object(65535, 1024, vec![0u8; 4096]);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("huge.dcm");
        obj.write_to_file(&path).expect("write");
        let Err(e) = crate::dicom::load_series(&path, None, &crate::dicom::LoadControl::default())
        else {
            panic!("a 65535 x 1024 image from 4 KB loaded");
        };
        let msg = e.to_string();
        assert!(msg.contains("cannot come from a file of"), "{msg}");
    }

    #[test]
    fn budget_refuses_frames_beyond_fragments_and_huge_expansion() {
        let f = frame("1.2.840.10008.1.2.5", 512, 512, 3, 16);
        let p = Path::new("x.dcm");
        let e = check_budget(&[vec![0u8; 100]], &f, p).expect_err("3 frames, 1 fragment");
        assert!(e.to_string().contains("RLE"), "{e}");
        assert!(check_budget(&vec![vec![0u8; 100]; 3], &f, p).is_ok());
        let big = FrameRef {
            rows: 60000,
            cols: 60000,
            frames_in_file: 1,
            ..f
        };
        assert!(check_budget(&[vec![0u8; 1000]], &big, p).is_err());
    }
}
