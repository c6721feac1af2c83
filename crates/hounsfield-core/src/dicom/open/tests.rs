//! Tests of the structure pre-flight: declared lengths beyond the bytes left
//! are refused before dicom-object allocates them, before and after the pixel
//! data, in plain and deflated data sets.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ndarray::Array3;

use super::*;
use crate::dicom::write::{SeriesWriteOptions, write_series};
use crate::volume::{Geometry, Volume};

/// One 3×4 explicit-VR slice written by the project's series writer.
fn slice(dir: &Path) -> PathBuf {
    let vol = Volume::from_i16(
        Array3::from_elem((1, 3, 4), 40),
        Geometry::identity([1, 3, 4]),
    );
    let opts = SeriesWriteOptions {
        explicit_vr: true,
        ..Default::default()
    };
    write_series(&vol, dir, &opts).unwrap().remove(0)
}

/// An explicit VR little endian OB element header declaring `len` bytes.
fn ob_header(group: u16, element: u16, len: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&group.to_le_bytes());
    h.extend_from_slice(&element.to_le_bytes());
    h.extend_from_slice(b"OB\0\0");
    h.extend_from_slice(&len.to_le_bytes());
    h
}

/// Append `parts` to the file at `path`.
fn append(path: &Path, parts: &[&[u8]]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for part in parts {
        f.write_all(part).unwrap();
    }
}

/// Preamble, "DICM" and a meta group of just the transfer syntax `ts` (no
/// group length: dicom-object's strict reader refuses it, the tolerant one
/// needs no more).
fn meta_with_only(ts: &[u8]) -> Vec<u8> {
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    file.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
    file.extend_from_slice(&(ts.len() as u16).to_le_bytes());
    file.extend_from_slice(ts);
    file
}

/// Set byte `k` of the header of meta element (0002,0012) "UI" in `path`
/// to `to`; returns where the element starts.
fn patch_implementation_class_uid_header(path: &Path, k: usize, to: u8) -> usize {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(6)
        .position(|w| w == [0x02, 0x00, 0x12, 0x00, b'U', b'I'])
        .unwrap();
    bytes[at + k] = to;
    std::fs::write(path, &bytes).unwrap();
    at
}

#[test]
fn whole_files_walk_to_their_end_and_the_limit_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    let span = check_structure(&path, Extent::Whole).unwrap().unwrap();
    assert_eq!(span.len, 24);
    assert_eq!(span.offset + span.len, span.file_len);
    // The walk ends exactly at the limit: the end of the file.
    let mut counted = Counted {
        inner: &b"abcd"[..],
        taken: std::rc::Rc::new(std::cell::Cell::new(0)),
        limit: 4,
    };
    let mut all = Vec::new();
    counted.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"abcd");
    // One byte more than the limit is refused.
    let mut counted = Counted {
        inner: &b"abcde"[..],
        taken: std::rc::Rc::new(std::cell::Cell::new(0)),
        limit: 4,
    };
    let e = counted.read_to_end(&mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("beyond 4 bytes"), "{e}");
}

#[test]
fn a_huge_element_after_the_pixel_data_is_refused_before_a_full_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    // Trailing padding declaring 4 GB, followed by 16 bytes.
    append(&path, &[&ob_header(0xFFFC, 0xFFFC, 0xFFFF_FFF0), &[0; 16]]);
    // Headers stop before it: still readable, with the pixel span found.
    let span = check_structure(&path, Extent::Header).unwrap().unwrap();
    assert_eq!(span.len, 24);
    assert!(crate::dicom::header::read_header(&path).is_ok());
    // A full read would allocate 4 GB: refused with the element named.
    let e = check_structure(&path, Extent::Whole)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("(FFFC,FFFC) declares 4294967280 bytes but only 16 are left"),
        "{e}"
    );
    assert!(crate::dicom::tags::dump_tags(&path, 80).is_err());
}

#[test]
fn lengths_are_checked_against_the_bytes_left_not_the_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    let whole = std::fs::read(&path).unwrap();
    // Cut the file 20 bytes into the pixel data (24 bytes): the pixel data
    // now declares more than is left, though less than the file's size.
    std::fs::write(&path, &whole[..whole.len() - 4]).unwrap();
    match check_structure(&path, Extent::Whole) {
        Err(DicomError::TruncatedPixelData { expected, got, .. }) => {
            assert_eq!((expected, got), (24, 20));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unreadable_token_is_an_error_not_left_to_dicom_object() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    // A private sequence of undefined length after the pixel data whose
    // first "item" is an ordinary element header.
    append(
        &path,
        &[
            &[
                0x09, 0x00, 0x00, 0x10, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ],
            &[0x08, 0x00, 0x16, 0x00, b'U', b'I', 2, 0, b'1', 0],
        ],
    );
    let e = check_structure(&path, Extent::Whole)
        .unwrap_err()
        .to_string();
    assert!(e.contains("data set unreadable after"), "{e}");
}

#[test]
fn a_partial_header_at_the_end_is_tolerated_as_dicom_object_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    // Half an element header after the pixel data: both readers stop there.
    append(&path, &[&[0xFC, 0xFF, 0xFC]]);
    assert!(check_structure(&path, Extent::Whole).unwrap().is_some());
    assert!(crate::dicom::tags::dump_tags(&path, 80).is_ok());
}

#[test]
fn a_deflated_data_set_may_not_inflate_past_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.dcm");
    // Meta group: just the transfer syntax (the tolerant reader needs no
    // more), then a deflated data set of one private OB element declaring
    // 40 MB of zeros, which deflate to ~40 KB: over the inflation budget.
    let mut file = meta_with_only(b"1.2.840.10008.1.2.1.99\0");
    let big = 40 << 20;
    let mut data = ob_header(0x0009, 0x1010, big);
    data.resize(data.len() + big as usize, 0);
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&data).unwrap();
    file.extend_from_slice(&z.finish().unwrap());
    let compressed = file.len() as u64;
    std::fs::write(&path, &file).unwrap();
    assert!(inflated_budget(compressed) < u64::from(big), "{compressed}");
    let e = check_structure(&path, Extent::Whole)
        .unwrap_err()
        .to_string();
    assert!(e.contains("the inflated data set may hold at most"), "{e}");
}

/// Found by `bench/mutate.py`: one flipped byte turned a meta element's VR
/// "UI" into "U\xB6"; dicom-rs reads an unknown VR as UN, whose 4-byte length
/// took the value's first bytes (775 MB), and dicom-object allocated it
/// before failing (750 MB peak for a 740-byte file).
#[test]
fn an_unknown_vr_in_the_meta_group_is_read_as_dicom_rs_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    // The Implementation Class UID's VR "UI" becomes "U\xB6".
    patch_implementation_class_uid_header(&path, 5, 0xB6);
    let e = open_object(&path, true).unwrap_err().to_string();
    assert!(e.contains("meta element (0002,0012) declares"), "{e}");
    assert!(crate::dicom::header::read_header(&path).is_err());
}

/// Found by `bench/mutate.py`: a file whose meta group only the lenient
/// reader accepts, with garbage after the pixel data declaring 4 GB. The
/// lenient path reads the whole data set (dicom-object has no `read_until`
/// there), so a header read allocated 4 GB before failing; now the whole
/// file is vetted first.
#[test]
fn the_lenient_path_vets_what_follows_the_pixel_data() {
    let dir = tempfile::tempdir().unwrap();
    let written = slice(dir.path());
    let loc = locate(&written).unwrap();
    let bytes = std::fs::read(&written).unwrap();
    // A meta group without its group length (dicom-object refuses it).
    let mut file = meta_with_only(b"1.2.840.10008.1.2.1\0");
    file.extend_from_slice(&bytes[loc.offset as usize..]);
    let path = dir.path().join("lenient.dcm");
    std::fs::write(&path, &file).unwrap();
    // Readable as it is, through the lenient path.
    assert!(crate::dicom::header::read_header(&path).is_ok());
    // With trailing padding declaring 4 GB: refused, element named.
    file.extend_from_slice(&ob_header(0xFFFC, 0xFFFC, 0xFFFF_FFF0));
    file.extend_from_slice(&[0; 16]);
    std::fs::write(&path, &file).unwrap();
    let e = crate::dicom::header::read_header(&path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("(FFFC,FFFC) declares 4294967280 bytes"), "{e}");
}

/// Found by the fuzzer (a 1.6 KB input that took 1.5 GB and 2 s): one
/// flipped bit moved a meta element to group 8002. This reader ends the meta
/// group there, dicom-object's strict reader trusts the group length and
/// starts the data set elsewhere, on bytes the pre-flight never walked; so a
/// disagreement goes to the lenient reading, whose input was vetted.
#[test]
fn a_group_length_that_disagrees_with_the_meta_elements_skips_the_strict_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = slice(dir.path());
    assert!(locate(&path).unwrap().strict_agrees);
    // Its group 0002 becomes 8002.
    let at = patch_implementation_class_uid_header(&path, 1, 0x80);
    let loc = locate(&path).unwrap();
    assert!(!loc.strict_agrees);
    assert_eq!(loc.offset, at as u64);
    // Still read, through the vetted lenient path.
    let header = crate::dicom::header::read_header(&path).unwrap();
    assert_eq!((header.rows, header.cols), (3, 4));
}

/// Found by the `seg_placement` fuzzer: a meta group with a second group
/// length (0002,0000) of 0 after the real one. The tolerant reader took the
/// second and agreed with itself; dicom-object took the first and started
/// the data set 12 bytes later, where the bytes read as (0012,0000) UL with
/// a 256 MB length (4 GB in the fuzzer's file) that no pre-flight had seen.
/// Two group lengths now make the readers disagree: the vetted, tolerant
/// path reads the file.
#[test]
fn a_second_group_length_never_moves_the_data_set_dicom_object_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-group-lengths.dcm");
    let ts = b"1.2.840.10008.1.2\0";
    let mut file = vec![0u8; 128];
    file.extend_from_slice(b"DICM");
    // The first group length: the TS element, the second group length and
    // 12 bytes of the data set.
    let first = (8 + ts.len() + 12 + 12) as u32;
    file.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    file.extend_from_slice(&first.to_le_bytes());
    file.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
    file.extend_from_slice(&(ts.len() as u16).to_le_bytes());
    file.extend_from_slice(ts);
    file.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0, 0, 0, 0, 0]);
    // Implicit VR data set as the tolerant reader sees it: (0011,0010) of
    // 8 bytes, then (0000,1000) of 0. Twelve bytes in, dicom-object would
    // read (0012,0000) UL declaring 0x1000_0000 bytes.
    file.extend_from_slice(&[0x11, 0x00, 0x10, 0x00, 8, 0, 0, 0]);
    file.extend_from_slice(&[0xAA, 0xAA, 0xAA, 0xAA, 0x12, 0x00, 0x00, 0x00]);
    file.extend_from_slice(&[0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0]);
    std::fs::write(&path, &file).unwrap();
    let loc = locate(&path).unwrap();
    assert!(
        !loc.strict_agrees,
        "two group lengths: the strict reader is skipped"
    );
    // Whatever the verdict, the data set read is the vetted one.
    let _ = crate::dicom::tags::dump_tags(&path, 80);
    let _ = crate::dicom::header::read_header(&path);
}
