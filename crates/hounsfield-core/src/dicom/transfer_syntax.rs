//! Transfer syntax look-up: which syntaxes the compiled-in codecs decode, with
//! names for messages.

use std::path::Path;

use dicom_encoding::TransferSyntaxIndex as _;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::error::DicomError;

/// Encapsulated syntaxes the registry does not know (mostly retired JPEG
/// processes), with their names from PS3.6.
const UNREGISTERED: &[(&str, &str)] = &[
    (
        "1.2.840.10008.1.2.4.52",
        "JPEG Extended (Process 3 & 5) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.53",
        "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.54",
        "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.55",
        "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.56",
        "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.58",
        "JPEG Lossless, Non-Hierarchical (Process 15) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.59",
        "JPEG Extended, Hierarchical (Process 16 & 18) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.60",
        "JPEG Extended, Hierarchical (Process 17 & 19) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.61",
        "JPEG Spectral Selection, Hierarchical (Process 20 & 22) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.62",
        "JPEG Spectral Selection, Hierarchical (Process 21 & 23) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.63",
        "JPEG Full Progression, Hierarchical (Process 24 & 26) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.64",
        "JPEG Full Progression, Hierarchical (Process 25 & 27) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.65",
        "JPEG Lossless, Hierarchical (Process 28) (retired)",
    ),
    (
        "1.2.840.10008.1.2.4.66",
        "JPEG Lossless, Hierarchical (Process 29) (retired)",
    ),
    ("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
    (
        "1.2.840.10008.1.2.4.102",
        "MPEG-4 AVC/H.264 High Profile / Level 4.1",
    ),
    (
        "1.2.840.10008.1.2.4.107",
        "HEVC/H.265 Main Profile / Level 5.1",
    ),
];

/// Human-readable name of a transfer syntax UID.
pub fn name(uid: &str) -> String {
    let uid = uid.trim_end_matches('\0').trim();
    if let Some(ts) = TransferSyntaxRegistry.get(uid) {
        return ts.name().to_owned();
    }
    UNREGISTERED.iter().find(|(u, _)| *u == uid).map_or_else(
        || format!("unknown transfer syntax {uid}"),
        |(_, n)| (*n).to_owned(),
    )
}

/// True for encapsulated syntaxes the registry does not know, whose data
/// set is still explicit VR little endian.
pub fn is_known_encapsulated(uid: &str) -> bool {
    UNREGISTERED.iter().any(|(u, _)| *u == uid)
}

/// True for the native (uncompressed, not deflated) syntaxes, whose pixel
/// data must be present in the file byte for byte.
pub fn is_native(uid: &str) -> bool {
    let uid = uid.trim_end_matches('\0').trim();
    TransferSyntaxRegistry
        .get(uid)
        .is_some_and(dicom_encoding::TransferSyntax::is_codec_free)
}

/// `Ok` when pixel data in this syntax can be decoded by this build.
pub fn check_decodable(uid: &str, path: &Path) -> Result<(), DicomError> {
    let uid = uid.trim_end_matches('\0').trim();
    let unsupported = |name: String| DicomError::UnsupportedTransferSyntax {
        uid: uid.to_owned(),
        name,
        path: path.to_owned(),
    };
    let Some(ts) = TransferSyntaxRegistry.get(uid) else {
        return Err(unsupported(name(uid)));
    };
    if ts.can_decode_all() || super::codec::is_jpeg_ls(uid) {
        Ok(())
    } else {
        Err(unsupported(ts.name().to_owned()))
    }
}
