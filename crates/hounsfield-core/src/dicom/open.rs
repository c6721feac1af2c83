//! Opening DICOM files safely and tolerantly.
//!
//! - [`check_structure`] walks the data set tokens of dicom-parser (an
//!   iterative reader) before dicom-object builds the tree: dicom-object
//!   builds and drops nested sequences recursively, so a hostile file with
//!   thousands of nesting levels would overflow the stack, and a declared
//!   length far beyond the file would make it allocate and zero gigabytes.
//! - [`open_object`] opens with dicom-object; when its strict file-meta
//!   reader refuses a file (an over-long AE title, no group length, no meta
//!   group at all), it falls back to a tolerant reading of the meta group and
//!   reads the data set with dicom-object's own data set reader.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex as _;
use dicom_encoding::transfer_syntax::TransferSyntax;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use dicom_parser::dataset::DataToken;
use dicom_parser::dataset::read::{DataSetReader, DataSetReaderOptions};
use dicom_parser::stateful::decode::DynStatefulDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::attrs::tag_text;
use super::error::DicomError;

/// Deepest sequence nesting accepted (real data sets rarely exceed 10).
pub const MAX_NESTING_DEPTH: usize = 128;

const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

/// Where the data set of a file starts and how it is encoded.
struct Located {
    /// Byte offset of the first data set element.
    offset: u64,
    /// Transfer syntax UID (from the meta group, or guessed without one).
    ts_uid: String,
    /// MediaStorageSOPClassUID, if the meta group has it.
    sop_class_uid: Option<String>,
    /// MediaStorageSOPInstanceUID, if the meta group has it.
    sop_instance_uid: Option<String>,
    /// Whether dicom-object's strict meta reader would start the data set
    /// at `offset` too: it trusts the group length, this reader stops at the
    /// first element of another group. Where they differ, the strict reader
    /// would parse bytes the pre-flight never walked.
    strict_agrees: bool,
}

fn read_err(path: &Path, reason: impl Into<String>) -> DicomError {
    DicomError::Read {
        reason: reason.into(),
        path: path.to_owned(),
    }
}

/// Find the data set: after a (tolerantly read) meta group, or at the start
/// of a file without one.
fn locate(path: &Path) -> Result<Located, DicomError> {
    let mut f = BufReader::new(File::open(path).map_err(|e| read_err(path, e.to_string()))?);
    let mut head = [0u8; 132];
    let n = read_up_to(&mut f, &mut head).map_err(|e| read_err(path, e.to_string()))?;
    let meta_at = if n >= 132 && &head[128..132] == b"DICM" {
        Some(132)
    } else if n >= 4 && &head[0..4] == b"DICM" {
        Some(4)
    } else {
        None
    };
    let Some(start) = meta_at else {
        // No meta group: guess the encoding from the first element.
        let ts = guess_encoding(&head[..n]).ok_or_else(|| {
            read_err(
                path,
                "no DICOM preamble, meta group or recognisable data set",
            )
        })?;
        return Ok(Located {
            offset: 0,
            ts_uid: ts.to_owned(),
            sop_class_uid: None,
            sop_instance_uid: None,
            strict_agrees: true,
        });
    };
    let MetaGroup {
        end: offset,
        ts_uid,
        sop_class_uid,
        sop_instance_uid,
        group_end,
    } = read_meta_group(path, &mut f, start)?;
    let ts_uid = if let Some(t) = ts_uid.filter(|t| !t.is_empty()) {
        t
    } else {
        // Meta group without a transfer syntax: guess from the data set.
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| read_err(path, e.to_string()))?;
        let mut probe = [0u8; 8];
        let n = read_up_to(&mut f, &mut probe).map_err(|e| read_err(path, e.to_string()))?;
        guess_encoding(&probe[..n])
            .ok_or_else(|| {
                read_err(
                    path,
                    "meta group has no transfer syntax and the data set is not recognisable",
                )
            })?
            .to_owned()
    };
    Ok(Located {
        offset,
        ts_uid,
        sop_class_uid,
        sop_instance_uid,
        strict_agrees: group_end.is_none_or(|e| e == offset),
    })
}

/// What the tolerant meta reader keeps of the file meta group.
struct MetaGroup {
    end: u64,
    ts_uid: Option<String>,
    sop_class_uid: Option<String>,
    sop_instance_uid: Option<String>,
    /// Where the group length (0002,0000) says the group ends.
    group_end: Option<u64>,
}

/// Read the group 0002 elements (explicit VR little endian) starting at
/// `start`, without the strictness of dicom-object's meta reader.
fn read_meta_group(
    path: &Path,
    f: &mut BufReader<File>,
    start: u64,
) -> Result<MetaGroup, DicomError> {
    f.seek(SeekFrom::Start(start))
        .map_err(|e| read_err(path, e.to_string()))?;
    let mut offset = start;
    let (mut ts_uid, mut sop_class_uid, mut sop_instance_uid) = (None, None, None);
    let mut group_end = None;
    // Meta elements are explicit VR little endian.
    loop {
        let mut h = [0u8; 8];
        if read_up_to(f, &mut h).map_err(|e| read_err(path, e.to_string()))? < 8 {
            break;
        }
        let group = u16::from_le_bytes([h[0], h[1]]);
        let element = u16::from_le_bytes([h[2], h[3]]);
        if group != 0x0002 {
            break;
        }
        let vr = [h[4], h[5]];
        // As dicom-encoding reads it: these VRs have a 2-byte length; any
        // other, an unknown VR included (read as UN), a 4-byte one after 2
        // reserved bytes. Reading an unknown VR otherwise would let
        // dicom-object allocate what we never checked.
        let short = matches!(
            &vr,
            b"AE"
                | b"AS"
                | b"AT"
                | b"CS"
                | b"DA"
                | b"DS"
                | b"DT"
                | b"FL"
                | b"FD"
                | b"IS"
                | b"LO"
                | b"LT"
                | b"PN"
                | b"SH"
                | b"SL"
                | b"SS"
                | b"ST"
                | b"TM"
                | b"UI"
                | b"UL"
                | b"US"
        );
        let (len, header_len) = if short {
            (u64::from(u16::from_le_bytes([h[6], h[7]])), 8)
        } else {
            let mut l = [0u8; 4];
            f.read_exact(&mut l)
                .map_err(|e| read_err(path, e.to_string()))?;
            (u64::from(u32::from_le_bytes(l)), 12)
        };
        if len > 64 * 1024 {
            return Err(read_err(
                path,
                format!("meta element (0002,{element:04X}) declares {len} bytes"),
            ));
        }
        let mut value = vec![0u8; len as usize];
        f.read_exact(&mut value)
            .map_err(|e| read_err(path, e.to_string()))?;
        offset += header_len + len;
        let text = || {
            String::from_utf8_lossy(&value)
                .trim_matches(|c: char| c.is_whitespace() || c == '\0')
                .to_owned()
        };
        match element {
            0x0000 if len == 4 => {
                let l = u32::from_le_bytes([value[0], value[1], value[2], value[3]]);
                // dicom-object trusts the first group length. A second one
                // must not overwrite it: the two readers would then start
                // the data set at different bytes, and the one dicom-object
                // parses would not be the one vetted (a 727-byte file with
                // two group lengths made it allocate 4 GB; fuzz finding).
                group_end = Some(match group_end {
                    None => offset + u64::from(l),
                    Some(_) => u64::MAX,
                });
            }
            0x0002 => sop_class_uid = Some(text()),
            0x0003 => sop_instance_uid = Some(text()),
            0x0010 => ts_uid = Some(text()),
            _ => {}
        }
    }
    Ok(MetaGroup {
        end: offset,
        ts_uid,
        sop_class_uid,
        sop_instance_uid,
        group_end,
    })
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Explicit or implicit VR, little or big endian, from the first element.
fn guess_encoding(b: &[u8]) -> Option<&'static str> {
    if b.len() < 8 {
        return None;
    }
    let vr_like = b[4].is_ascii_uppercase() && b[5].is_ascii_uppercase();
    let group_le = u16::from_le_bytes([b[0], b[1]]);
    let group_be = u16::from_be_bytes([b[0], b[1]]);
    // The first element of a data set is almost always in a low group
    // (0008, or a private 0001..00FF).
    let plausible = |g: u16| (0x0001..=0x00FF).contains(&g);
    if plausible(group_le) {
        Some(if vr_like { EXPLICIT_LE } else { IMPLICIT_LE })
    } else if plausible(group_be) && vr_like {
        Some(EXPLICIT_BE)
    } else {
        None
    }
}

/// A reader positioned at the data set; inflated for the deflated syntax
/// when `inflate` (dicom-object's data set reader inflates by itself, the
/// token reader does not).
fn dataset_reader(path: &Path, loc: &Located, inflate: bool) -> Result<Box<dyn Read>, DicomError> {
    let mut f = BufReader::with_capacity(
        64 * 1024,
        File::open(path).map_err(|e| read_err(path, e.to_string()))?,
    );
    f.seek(SeekFrom::Start(loc.offset))
        .map_err(|e| read_err(path, e.to_string()))?;
    Ok(if inflate && loc.ts_uid == DEFLATED {
        Box::new(flate2::read::DeflateDecoder::new(f))
    } else {
        Box::new(f)
    })
}

/// The syntax to read the data set with. Syntaxes unknown to the registry
/// but known to be encapsulated (retired JPEG processes...) encode their data
/// set as explicit VR little endian, so headers stay readable and the loader
/// reports the unsupported pixel encoding by name.
fn syntax<'a>(path: &Path, uid: &str) -> Result<&'a TransferSyntax, DicomError> {
    if let Some(ts) = TransferSyntaxRegistry.get(uid) {
        return Ok(ts);
    }
    if super::transfer_syntax::is_known_encapsulated(uid)
        && let Some(ts) = TransferSyntaxRegistry.get(EXPLICIT_LE)
    {
        return Ok(ts);
    }
    Err(DicomError::UnsupportedTransferSyntax {
        uid: uid.to_owned(),
        name: super::transfer_syntax::name(uid),
        path: path.to_owned(),
    })
}

/// Where a file's native pixel data lies: the byte range of the PixelData
/// value, as located by the token reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelSpan {
    /// Byte offset of the first pixel byte in the file.
    pub offset: u64,
    /// Length of the value in bytes.
    pub len: u64,
    /// Length of the whole file when it was scanned (a changed file is
    /// re-parsed instead of trusted).
    pub file_len: u64,
}

/// How much of a data set [`check_structure`] walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extent {
    /// Up to the pixel data: what a header read (`read_until(PixelData)`)
    /// will parse.
    Header,
    /// To the end of the file: what a full read parses, pixel data and any
    /// elements after it included.
    Whole,
}

/// Inflated bytes accepted from a deflated data set: the compressed size
/// times [`super::codec::MAX_EXPANSION`] plus [`super::codec::EXPANSION_FLOOR`].
fn inflated_budget(file_len: u64) -> u64 {
    super::codec::allowed_decoded_bytes(file_len)
}

/// A reader that counts the bytes taken from it (the decoder does not
/// expose its position while the token reader borrows it), and refuses to
/// give more than `limit`.
struct Counted<R> {
    inner: R,
    taken: std::rc::Rc<std::cell::Cell<u64>>,
    limit: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.limit.saturating_sub(self.taken.get());
        if left == 0 && !buf.is_empty() {
            // At the limit: the end of the data set is fine, more is not.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            return Err(std::io::Error::other(format!(
                "data set inflates beyond {} bytes",
                self.limit
            )));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.taken.set(self.taken.get() + n as u64);
        Ok(n)
    }
}

/// Walk the data set tokens of `path` (up to the pixel data, or to the end
/// for [`Extent::Whole`]) before dicom-object reads it: fail on nesting
/// deeper than [`MAX_NESTING_DEPTH`], on a declared length beyond the bytes
/// left in the file ([`DicomError::TruncatedPixelData`] when it is the pixel
/// data's), and on any token the parser cannot read (dicom-object would fail
/// on it too, but only after allocating what the lengths before it declared).
/// Values are read one at a time and dropped, so the walk holds at most one
/// value, never more than the file's size. Returns where native (not
/// encapsulated, not deflated) pixel data lies.
pub fn check_structure(path: &Path, extent: Extent) -> Result<Option<PixelSpan>, DicomError> {
    let file_len = std::fs::metadata(path)
        .map_err(|e| read_err(path, e.to_string()))?
        .len();
    let loc = locate(path)?;
    let ts = syntax(path, &loc.ts_uid)?;
    let deflated = loc.ts_uid == DEFLATED;
    // Bytes the data set can hold: the rest of the file, or what a deflated
    // one may inflate to.
    let available = if deflated {
        inflated_budget(file_len)
    } else {
        file_len.saturating_sub(loc.offset)
    };
    let taken = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let source = Counted {
        inner: dataset_reader(path, &loc, true)?,
        taken: taken.clone(),
        limit: available,
    };
    let Ok(mut decoder) = DynStatefulDecoder::new_with_ts(source, ts, 0) else {
        return Ok(None);
    };
    let mut pixel_len = None;
    {
        let mut depth = 0usize;
        let reader = DataSetReader::new(&mut decoder, DataSetReaderOptions::default());
        for token in reader {
            let token = token.map_err(|e| {
                read_err(
                    path,
                    format!(
                        "data set unreadable after {} bytes: {}",
                        taken.get(),
                        first_line(&e.to_string())
                    ),
                )
            })?;
            let left = available.saturating_sub(taken.get());
            check_declared_length(path, &token, depth, left, deflated)?;
            // dicom-object's `read_until(PixelData)` stops at the first
            // top-level element or sequence at or past PixelData.
            if extent == Extent::Header
                && depth == 0
                && matches!(&token, DataToken::SequenceStart { tag, .. } if *tag >= tags::PIXEL_DATA)
            {
                break;
            }
            match token {
                DataToken::SequenceStart { .. } | DataToken::ItemStart { .. } => {
                    depth += 1;
                    if depth > 2 * MAX_NESTING_DEPTH {
                        return Err(read_err(
                            path,
                            format!("sequences nested deeper than {MAX_NESTING_DEPTH} levels"),
                        ));
                    }
                }
                DataToken::SequenceEnd | DataToken::ItemEnd => depth = depth.saturating_sub(1),
                DataToken::ElementHeader(h) if depth == 0 && h.tag >= tags::PIXEL_DATA => {
                    if h.tag == tags::PIXEL_DATA && pixel_len.is_none() {
                        pixel_len = Some((h.len.get(), taken.get()));
                    }
                    if extent == Extent::Header {
                        break;
                    }
                }
                DataToken::PixelSequenceStart if depth == 0 => {
                    pixel_len.get_or_insert((None, 0));
                    if extent == Extent::Header {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    // `taken` after the PixelData header is where its value starts.
    Ok(pixel_len.filter(|_| !deflated).and_then(|(len, at)| {
        Some(PixelSpan {
            offset: loc.offset + at,
            len: u64::from(len?),
            file_len,
        })
    }))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Declared lengths beyond the bytes left would make the reader allocate
/// (and zero) that much before failing.
fn check_declared_length(
    path: &Path,
    token: &DataToken,
    depth: usize,
    left: u64,
    deflated: bool,
) -> Result<(), DicomError> {
    let declared = match token {
        DataToken::ElementHeader(h) => h
            .len
            .get()
            .map(|l| (format!("element {}", tag_text(h.tag)), l)),
        DataToken::SequenceStart { tag, len } => len
            .get()
            .map(|l| (format!("sequence {}", tag_text(*tag)), l)),
        DataToken::ItemStart { len } => len.get().map(|l| ("item".to_owned(), l)),
        _ => None,
    };
    let Some((what, len)) = declared else {
        return Ok(());
    };
    if u64::from(len) <= left {
        return Ok(());
    }
    if let DataToken::ElementHeader(h) = token
        && depth == 0
        && h.tag == tags::PIXEL_DATA
        && !deflated
    {
        return Err(DicomError::TruncatedPixelData {
            expected: u64::from(len),
            got: left,
            path: path.to_owned(),
        });
    }
    let room = if deflated {
        format!("the inflated data set may hold at most {left} more")
    } else {
        format!("only {left} are left in the file")
    };
    Err(read_err(
        path,
        format!("{what} declares {len} bytes but {room}"),
    ))
}

/// Open a file: headers only (`until_pixel_data`) or whole. Strict
/// dicom-object first, the tolerant path when that refuses the meta group.
pub fn open_object(path: &Path, until_pixel_data: bool) -> Result<DefaultDicomObject, DicomError> {
    // The tolerant meta reader first: it refuses meta elements longer than
    // 64 KiB or than the file, which dicom-object's strict reader would
    // allocate in full before failing (a 740-byte file declaring 775 MB).
    let loc = locate(path)?;
    let opts = OpenFileOptions::new();
    let opts = if until_pixel_data {
        opts.read_until(tags::PIXEL_DATA)
    } else {
        opts
    };
    let strict = if loc.strict_agrees {
        opts.open_file(path)
            .map_err(|e| first_line(&e.to_string()).to_owned())
    } else {
        Err("the group length (0002,0000) disagrees with the meta elements".to_owned())
    };
    match strict {
        Ok(o) => Ok(o),
        Err(strict) => {
            // dicom-object's data set reader has no `read_until`: the
            // lenient reading takes the whole file, whatever follows the
            // pixel data included, so all of it is vetted first (and that
            // refusal says more than the strict reader's error).
            check_structure(path, Extent::Whole)?;
            lenient(path, &loc).map_err(|_| read_err(path, strict))
        }
    }
}

fn lenient(path: &Path, loc: &Located) -> Result<DefaultDicomObject, DicomError> {
    let ts = syntax(path, &loc.ts_uid)?;
    let obj = InMemDicomObject::read_dataset_with_ts(dataset_reader(path, loc, false)?, ts)
        .map_err(|e| read_err(path, e.to_string()))?;
    let attr = |tag| super::attrs::string(&obj, tag);
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(loc.ts_uid.as_str())
        .media_storage_sop_class_uid(
            loc.sop_class_uid
                .clone()
                .or_else(|| attr(tags::SOP_CLASS_UID))
                .unwrap_or_default(),
        )
        .media_storage_sop_instance_uid(
            loc.sop_instance_uid
                .clone()
                .or_else(|| attr(tags::SOP_INSTANCE_UID))
                .unwrap_or_default(),
        )
        .build()
        .map_err(|e| read_err(path, e.to_string()))?;
    Ok(obj.with_exact_meta(meta))
}

#[cfg(test)]
mod tests;
