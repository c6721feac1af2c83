//! Scanning: a folder tree, a list of files or a DICOMDIR → series and
//! objects, reading headers only, in parallel. One bad file never stops the
//! scan: it is reported with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use rayon::prelude::*;
use serde::Serialize;

use super::attrs::{items, strings};
use super::error::DicomError;
use super::header::{InstanceHeader, ObjectKind, read_header};
use super::meta::SeriesMetadata;
use super::series::{SeriesLayout, assemble};

/// A file that could not be read as DICOM, and why.
#[derive(Clone, Debug, Serialize)]
pub struct ScanFailure {
    /// The file.
    pub path: PathBuf,
    /// One-line reason.
    pub reason: String,
}

/// A non-image object (SEG, RTSTRUCT, SR, RT dose/plan, ...).
#[derive(Clone, Debug, Serialize)]
pub struct ObjectInfo {
    /// What it is.
    pub kind: ObjectKind,
    /// The file.
    pub path: PathBuf,
    /// SeriesInstanceUID, if any.
    pub series_uid: Option<String>,
    /// SeriesDescription, if any.
    pub description: Option<String>,
    /// Modality, if any.
    pub modality: Option<String>,
}

/// An image series: its instances and the assembled layout (or why it cannot
/// be assembled).
#[derive(Clone, Debug)]
pub struct SeriesInfo {
    /// SeriesInstanceUID, or a synthetic key when the UID is missing.
    pub key: String,
    /// True when `key` is the real SeriesInstanceUID.
    pub has_uid: bool,
    /// Headers of its instances (sorted by path).
    pub instances: Vec<InstanceHeader>,
    /// Metadata of the first instance.
    pub metadata: SeriesMetadata,
    /// The slice grid and validation report, or the assembly error.
    pub layout: Result<SeriesLayout, String>,
}

impl SeriesInfo {
    /// Number of frames across all instances.
    pub fn frame_count(&self) -> usize {
        self.instances.iter().map(|i| i.frames.len()).sum()
    }

    /// Folder of the first instance.
    pub fn folder(&self) -> Option<&Path> {
        self.instances.first().and_then(|i| i.path.parent())
    }

    /// Every folder holding instances of this series, sorted.
    pub fn folders(&self) -> Vec<&Path> {
        let mut f: Vec<&Path> = self
            .instances
            .iter()
            .filter_map(|i| i.path.parent())
            .collect();
        f.sort();
        f.dedup();
        f
    }

    /// Transfer syntax UID of the first instance.
    pub fn transfer_syntax_uid(&self) -> &str {
        self.instances
            .first()
            .map_or("", |i| i.transfer_syntax_uid.as_str())
    }
}

/// Result of a scan.
#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    /// Image series, sorted by folder then series number then key.
    pub series: Vec<SeriesInfo>,
    /// Non-image objects.
    pub objects: Vec<ObjectInfo>,
    /// Unreadable files.
    pub failures: Vec<ScanFailure>,
    /// NIfTI, NRRD and NumPy files found (not read as DICOM; the caller
    /// reads their grids through `io`, which this module does not import).
    pub volume_files: Vec<PathBuf>,
}

/// True for the file names of volumes and label maps in other formats:
/// `.nii`, `.nii.gz`, `.nrrd`, `.nhdr`, `.npy`.
pub fn is_volume_file_name(p: &Path) -> bool {
    let n = p
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [".nii", ".nii.gz", ".nrrd", ".nhdr", ".npy"]
        .iter()
        .any(|e| n.ends_with(e))
}

/// List the files to scan under `inputs`: folders are walked recursively
/// (hidden entries skipped), a DICOMDIR file expands to the files it
/// references, other files are taken as they are.
pub fn collect_files(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<ScanFailure>) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    for input in inputs {
        if input.is_dir() {
            for entry in walkdir::WalkDir::new(input)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                })
            {
                match entry {
                    Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
                    Ok(_) => {}
                    Err(e) => failures.push(ScanFailure {
                        path: e.path().map(Path::to_path_buf).unwrap_or_default(),
                        reason: e.to_string(),
                    }),
                }
            }
        } else if is_dicomdir_name(input) {
            match dicomdir_files(input) {
                Ok(list) => files.extend(list),
                Err(e) => failures.push(ScanFailure {
                    path: input.clone(),
                    reason: e.to_string(),
                }),
            }
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            failures.push(ScanFailure {
                path: input.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    files.sort();
    files.dedup();
    (files, failures)
}

fn is_dicomdir_name(p: &Path) -> bool {
    p.is_file()
        && p.file_name()
            .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("DICOMDIR"))
}

/// The files referenced by a DICOMDIR (ReferencedFileID of every record).
pub fn dicomdir_files(dicomdir: &Path) -> Result<Vec<PathBuf>, DicomError> {
    super::open::check_structure(dicomdir, super::open::Extent::Whole)?;
    let obj = super::open::open_object(dicomdir, false)?;
    let base = dicomdir.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for record in items(&obj, tags::DIRECTORY_RECORD_SEQUENCE) {
        let parts = strings(record, tags::REFERENCED_FILE_ID);
        if parts.is_empty() {
            continue;
        }
        let mut p = base.to_path_buf();
        for part in parts {
            // Never leave the DICOMDIR's folder.
            if part == ".." || part.contains('/') {
                continue;
            }
            p.push(part);
        }
        out.push(p);
    }
    Ok(out)
}

/// Scan `inputs` (folders, files, DICOMDIRs): read every header in parallel,
/// group image instances into series and assemble each.
#[tracing::instrument(level = "info", skip_all, fields(inputs = inputs.len()))]
pub fn scan(inputs: &[PathBuf]) -> ScanReport {
    let (files, mut failures) = collect_files(inputs);
    let (volume_files, files): (Vec<PathBuf>, Vec<PathBuf>) =
        files.into_iter().partition(|p| is_volume_file_name(p));
    let results: Vec<Result<InstanceHeader, ScanFailure>> = files
        .par_iter()
        .map(|p| {
            read_header(p).map_err(|e| ScanFailure {
                path: p.clone(),
                reason: e.to_string(),
            })
        })
        .collect();

    let mut objects = Vec::new();
    let mut groups: BTreeMap<(bool, String), Vec<InstanceHeader>> = BTreeMap::new();
    for r in results {
        match r {
            Err(f) => failures.push(f),
            Ok(h) if h.kind == ObjectKind::Image => {
                let (has_uid, key) = series_key(&h);
                groups.entry((has_uid, key)).or_default().push(h);
            }
            Ok(h) => objects.push(ObjectInfo {
                kind: h.kind.clone(),
                path: h.path.clone(),
                series_uid: h.series_uid.clone(),
                description: h.meta.series_description.clone(),
                modality: h.meta.modality.clone(),
            }),
        }
    }

    let mut series: Vec<SeriesInfo> = groups
        .into_par_iter()
        .map(|((has_uid, key), mut instances)| {
            instances.sort_by(|a, b| a.path.cmp(&b.path));
            let metadata = instances[0].meta.clone();
            let layout = assemble(&instances).map_err(|e| e.to_string());
            SeriesInfo {
                key,
                has_uid,
                instances,
                metadata,
                layout,
            }
        })
        .collect();
    series.sort_by(|a, b| {
        a.folder()
            .cmp(&b.folder())
            .then(
                a.instances[0]
                    .series_number
                    .cmp(&b.instances[0].series_number),
            )
            .then(a.key.cmp(&b.key))
    });
    tracing::info!(
        series = series.len(),
        objects = objects.len(),
        failures = failures.len(),
        volume_files = volume_files.len(),
        "scanned"
    );
    ScanReport {
        series,
        objects,
        failures,
        volume_files,
    }
}

/// SeriesInstanceUID, or a fallback key from frame of reference,
/// orientation, matrix and folder.
fn series_key(h: &InstanceHeader) -> (bool, String) {
    if let Some(uid) = &h.series_uid {
        return (true, uid.clone());
    }
    let o = h.frames.first().and_then(|f| f.orientation).map_or_else(
        || "no-orientation".to_owned(),
        |[a, b]| {
            format!(
                "{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
                a.x, a.y, a.z, b.x, b.y, b.z
            )
        },
    );
    let folder = h
        .path
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    (
        false,
        format!(
            "no-uid|{}|{o}|{}x{}|{folder}",
            h.frame_of_reference_uid.as_deref().unwrap_or("no-for"),
            h.cols,
            h.rows
        ),
    )
}
