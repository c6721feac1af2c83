//! DICOM files → series → HU [`Volume`](crate::volume::Volume).
//!
//! The only module that imports dicom-rs; nothing below it sees a tag.
//! - [`scan`]: walk folders / files / DICOMDIR, read headers in parallel,
//!   group into series, list non-image objects and unreadable files.
//! - [`series`]: sort frames along the slice normal, measure spacing from
//!   positions, validate (gaps, tilt, duplicates, localizers...).
//! - [`load`]: decode pixel data in parallel and convert to HU.
//! - [`write`]: write a volume as a DICOM CT series (phantoms, tests).
//!
//! Patient identifiers live only in [`SeriesMetadata`], whose `Debug`
//! redacts them; never log them.

mod attrs;
pub mod codec;
pub(crate) mod convert;
pub(crate) mod encode;
pub mod error;
pub mod header;
pub mod load;
pub mod meta;
pub mod open;
pub mod report;
pub mod rtstruct;
pub mod scan;
pub mod seg;
pub mod series;
pub mod tags;
pub mod transfer_syntax;
pub mod write;

use std::path::Path;

pub use error::DicomError;
pub use header::{InstanceHeader, ObjectKind};
pub use load::{Limits, LoadControl, load_volume};
pub use meta::SeriesMetadata;
pub use report::{Issue, IssueKind, Severity, ValidationReport};
pub use scan::{ScanReport, SeriesInfo, scan};
pub use series::{SeriesLayout, assemble};

use crate::volume::Volume;

/// A loaded series: the volume, its metadata and its validation report.
#[derive(Clone, Debug)]
pub struct LoadedSeries {
    /// SeriesInstanceUID (or fallback key).
    pub key: String,
    /// HU voxels and geometry.
    pub volume: Volume,
    /// Patient/study/equipment metadata.
    pub metadata: SeriesMetadata,
    /// What the assembler found.
    pub report: ValidationReport,
    /// Transfer syntax UID of the first file.
    pub transfer_syntax_uid: String,
}

/// Pick one image series from a scan. `selector` may be a SeriesInstanceUID
/// (or a unique prefix), a SeriesNumber, or `#N` for the N-th series of the
/// scan (0-based). Without a selector the scan must hold exactly one.
pub fn select_series<'a>(
    report: &'a ScanReport,
    selector: Option<&str>,
    path: &Path,
) -> Result<&'a SeriesInfo, DicomError> {
    let all = &report.series;
    if all.is_empty() {
        return Err(DicomError::NoSeries {
            path: path.to_owned(),
        });
    }
    let Some(sel) = selector else {
        return match all.as_slice() {
            [one] => Ok(one),
            _ => Err(DicomError::Select {
                reason: format!(
                    "{} image series found; choose one with --series (UID, SeriesNumber or #index, see `hounsfield scan`)",
                    all.len()
                ),
                path: path.to_owned(),
            }),
        };
    };
    if let Some(idx) = sel.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()) {
        return all.get(idx).ok_or_else(|| DicomError::Select {
            reason: format!("no series #{idx} ({} found)", all.len()),
            path: path.to_owned(),
        });
    }
    let matches: Vec<&SeriesInfo> = all
        .iter()
        .filter(|s| {
            s.key == sel
                || s.key.starts_with(sel)
                || s.instances[0]
                    .series_number
                    .is_some_and(|n| n.to_string() == sel)
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(DicomError::Select {
            reason: format!("no series matches {sel:?}"),
            path: path.to_owned(),
        }),
        many => Err(DicomError::Select {
            reason: format!("{} series match {sel:?}", many.len()),
            path: path.to_owned(),
        }),
    }
}

/// Scan `path` (folder, file or DICOMDIR), pick a series and load it.
///
/// ```no_run
/// let s = hounsfield_core::dicom::load_series(std::path::Path::new("chest-ct"), None, &Default::default())?;
/// println!("{:?} voxels", s.volume.shape());
/// # Ok::<(), hounsfield_core::dicom::DicomError>(())
/// ```
pub fn load_series(
    path: &Path,
    selector: Option<&str>,
    control: &LoadControl,
) -> Result<LoadedSeries, DicomError> {
    let report = scan(&[path.to_path_buf()]);
    let info = select_series(&report, selector, path)?;
    load_info(info, &Limits::default(), control)
}

/// Load an already scanned series.
pub fn load_info(
    info: &SeriesInfo,
    limits: &Limits,
    control: &LoadControl,
) -> Result<LoadedSeries, DicomError> {
    let layout = match &info.layout {
        Ok(l) => l,
        Err(reason) => {
            return Err(DicomError::Assemble {
                reason: reason.clone(),
            });
        }
    };
    let volume = load_volume(layout, limits, control)?;
    Ok(LoadedSeries {
        key: info.key.clone(),
        volume,
        metadata: info.metadata.clone(),
        report: layout.report.clone(),
        transfer_syntax_uid: info.transfer_syntax_uid().to_owned(),
    })
}
