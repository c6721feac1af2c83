//! Errors of the DICOM layer: every variant names the file (path last in the
//! message) and, where it applies, the attribute that failed.

use std::path::PathBuf;

/// Why reading or assembling DICOM data failed.
#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// The file could not be opened or parsed as DICOM.
    #[error("not a readable DICOM file ({reason}): {path:?}")]
    Read {
        /// Parser or I/O message.
        reason: String,
        /// The file.
        path: PathBuf,
    },
    /// The file system refused (the OS reason is the source).
    #[error("cannot read {path:?}")]
    Io {
        /// What the OS said.
        #[source]
        source: std::io::Error,
        /// The file.
        path: PathBuf,
    },
    /// A required attribute is missing or malformed.
    #[error("attribute {name} {tag} is missing or malformed: {path:?}")]
    Attribute {
        /// Keyword of the attribute, e.g. `Rows`.
        name: &'static str,
        /// `(gggg,eeee)`.
        tag: String,
        /// The file.
        path: PathBuf,
    },
    /// The transfer syntax cannot be decoded by the compiled-in codecs.
    #[error("transfer syntax {name} ({uid}) is not supported: {path:?}")]
    UnsupportedTransferSyntax {
        /// UID of the transfer syntax.
        uid: String,
        /// Human-readable name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The image is of a kind this loader does not turn into HU (colour,
    /// 1-bit, floating point pixel data...).
    #[error("unsupported image ({what}): {path:?}")]
    UnsupportedImage {
        /// What is unsupported.
        what: String,
        /// The file.
        path: PathBuf,
    },
    /// The declared image size exceeds the configured limits; nothing was
    /// allocated.
    #[error(
        "declared image size {rows}x{cols}x{frames} exceeds the limit of {limit_voxels} voxels: {path:?}"
    )]
    TooLarge {
        /// Declared rows.
        rows: u64,
        /// Declared columns.
        cols: u64,
        /// Declared frames (or slices).
        frames: u64,
        /// The limit in voxels.
        limit_voxels: u64,
        /// The file (first of the series).
        path: PathBuf,
    },
    /// Decoding the pixel data failed.
    #[error("cannot decode {syntax} pixel data ({reason}): {path:?}")]
    Decode {
        /// Name of the transfer syntax.
        syntax: String,
        /// Decoder message.
        reason: String,
        /// The file.
        path: PathBuf,
    },
    /// The pixel data is shorter than the declared image size.
    #[error("pixel data holds {got} bytes, the header declares {expected}: {path:?}")]
    TruncatedPixelData {
        /// Bytes declared by Rows × Columns × frames × BitsAllocated.
        expected: u64,
        /// Bytes present.
        got: u64,
        /// The file.
        path: PathBuf,
    },
    /// The series cannot be assembled into a volume.
    #[error("cannot assemble series: {reason}")]
    Assemble {
        /// What went wrong.
        reason: String,
    },
    /// The path holds no image series.
    #[error("no image series found: {path:?}")]
    NoSeries {
        /// The scanned path.
        path: PathBuf,
    },
    /// A series selector matched nothing or several series.
    #[error("{reason}: {path:?}")]
    Select {
        /// What is ambiguous or missing.
        reason: String,
        /// The scanned path.
        path: PathBuf,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
}
