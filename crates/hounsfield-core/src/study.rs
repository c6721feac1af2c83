//! A study as the viewer holds it: the HU volume (shared, immutable), its
//! label overlay if any, metadata, validation report, the file behind each
//! slice (for the tag browser) and a HU histogram — plus the two ways to
//! get one: the built-in demo (the phantom) and loading a scanned series.
//! No UI code here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dicom::seg::ReferenceGrid;
use crate::dicom::series::Slot;
use crate::dicom::{self, LoadControl, SeriesInfo, SeriesMetadata, ValidationReport};
use crate::phantom::{self, PhantomParams};
use crate::seg::Segmentation;
use crate::seg::stats::{self, SegmentStats};
use crate::volume::ops::{self, Histogram, HistogramParams};
use crate::volume::{Geometry, Volume};

mod volume_files;
pub use volume_files::{
    MAX_LABELS, VolumeFileKind, VolumeFileSummary, summarize_volume_file, volume_file_study,
};

/// Everything the viewer shows about one loaded series.
#[derive(Clone, Debug)]
pub struct Study {
    /// Display name (series description, folder, or "Demo phantom").
    pub name: String,
    /// HU voxels and geometry.
    pub volume: Arc<Volume>,
    /// Segmentation overlay on the same grid, if any.
    pub segmentation: Option<Arc<Segmentation>>,
    /// Statistics of each segment over the volume (same order).
    pub seg_stats: Vec<SegmentStats>,
    /// The CT grid with the DICOM identities a DICOM-SEG is matched against
    /// and references (a bare grid for the demo; none while previewing).
    pub grid: Option<ReferenceGrid>,
    /// DICOM metadata (none for the demo).
    pub metadata: Option<SeriesMetadata>,
    /// The assembler's findings (none for the demo).
    pub report: Option<ValidationReport>,
    /// The file behind each slice `z` (`None` for interpolated gaps and the demo).
    pub slice_files: Vec<Option<PathBuf>>,
    /// HU histogram, −1024..3072 HU in 8 HU bins.
    pub histogram: Histogram,
    /// Seconds from the start of loading to the volume being ready.
    pub load_s: f64,
    /// A moving series registered onto this study (shown fused), if any.
    pub registered: Option<Arc<Registered>>,
}

/// A moving series registered onto a study's grid.
#[derive(Debug)]
pub struct Registered {
    /// Name of the moving series.
    pub name: String,
    /// The moving series resampled onto the study's grid through the
    /// transform.
    pub moved: Volume,
    /// The registration that placed it.
    pub registration: crate::register::Registration,
}

fn histogram_of(volume: &Volume) -> Histogram {
    ops::histogram(
        volume,
        &HistogramParams {
            min_hu: -1024.0,
            max_hu: 3072.0,
            bins: 512,
        },
    )
}

/// The built-in demo study: the synthetic chest phantom with its labels.
pub fn demo() -> Study {
    let t = std::time::Instant::now();
    let ph = phantom::chest(&PhantomParams::default());
    let nz = ph.volume.shape()[0];
    let seg = demo_segmentation(&ph);
    Study {
        name: "Demo phantom".into(),
        histogram: histogram_of(&ph.volume),
        seg_stats: stats::statistics(&ph.volume, &seg),
        segmentation: Some(Arc::new(seg)),
        grid: Some(ReferenceGrid::bare(ph.volume.geometry)),
        volume: Arc::new(ph.volume),
        metadata: None,
        report: None,
        slice_files: vec![None; nz],
        load_s: t.elapsed().as_secs_f64(),
        registered: None,
    }
}

/// The phantom's findings and organs as a segmentation (body, bone and
/// table, which are context rather than findings, left out).
fn demo_segmentation(ph: &phantom::Phantom) -> Segmentation {
    use crate::phantom::{LABEL_BODY, LABEL_BONE, LABEL_TABLE};
    let names: Vec<(u16, String)> = ph
        .label_names
        .iter()
        .map(|(v, n)| (u16::from(*v), (*n).to_owned()))
        .collect();
    let labels = ph.labels.mapv(|v| {
        if matches!(v, LABEL_BODY | LABEL_BONE | LABEL_TABLE) {
            0
        } else {
            u16::from(v)
        }
    });
    Segmentation::from_label_map(labels.view(), ph.volume.geometry, &names, "phantom")
        .expect("the phantom's labels are on its grid")
}

impl Study {
    /// Attach a segmentation (on this study's grid) and compute its statistics.
    #[must_use]
    pub fn with_segmentation(mut self, seg: Segmentation) -> Self {
        self.seg_stats = stats::statistics(&self.volume, &seg);
        self.segmentation = Some(Arc::new(seg));
        self
    }
}

/// The middle slice of a scanned series alone, as a one-slice study in its
/// true place: what the viewer shows while the whole series loads.
pub fn first_slice(info: &SeriesInfo) -> Option<Study> {
    let layout = info.layout.as_ref().ok()?;
    let mid = layout.slots.len() / 2;
    let slot = layout.slots.get(mid)?.clone();
    let mut geometry = layout.geometry;
    geometry.origin_mm = geometry.world_of_voxel(glam::DVec3::new(0.0, 0.0, mid as f64));
    geometry.dims[0] = 1;
    let one = dicom::SeriesLayout {
        geometry,
        slots: vec![slot],
        report: ValidationReport::default(),
    };
    let t = std::time::Instant::now();
    let volume =
        dicom::load_volume(&one, &dicom::Limits::default(), &LoadControl::default()).ok()?;
    let path = match &one.slots[0] {
        Slot::Frame(f) => Some(f.path.clone()),
        Slot::Gap => None,
    };
    Some(Study {
        name: "first slice".into(),
        grid: None,
        histogram: histogram_of(&volume),
        volume: Arc::new(volume),
        segmentation: None,
        seg_stats: Vec::new(),
        metadata: Some(info.metadata.clone()),
        report: None,
        slice_files: vec![path],
        load_s: t.elapsed().as_secs_f64(),
        registered: None,
    })
}

/// Load a scanned series (progress and cancellation through `control`).
pub fn load(info: &SeriesInfo, control: &LoadControl) -> Result<Study, dicom::DicomError> {
    let t = std::time::Instant::now();
    let loaded = dicom::load_info(info, &dicom::Limits::default(), control)?;
    let slice_files = match &info.layout {
        Ok(l) => l
            .slots
            .iter()
            .map(|s| match s {
                Slot::Frame(f) => Some(f.path.clone()),
                Slot::Gap => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let name = loaded
        .metadata
        .series_description
        .clone()
        .or_else(|| {
            info.folder()
                .and_then(|f| f.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "Series".into());
    let load_s = t.elapsed().as_secs_f64();
    Ok(Study {
        name,
        grid: ReferenceGrid::from_series(info),
        histogram: histogram_of(&loaded.volume),
        volume: Arc::new(loaded.volume),
        segmentation: None,
        seg_stats: Vec::new(),
        metadata: Some(loaded.metadata),
        report: Some(loaded.report),
        slice_files,
        load_s,
        registered: None,
    })
}

/// Errors opening a segmentation for a study.
#[derive(Debug, thiserror::Error)]
pub enum OpenSegError {
    /// Reading a label-map file failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// Placing it on the CT failed.
    #[error(transparent)]
    Seg(#[from] crate::seg::SegError),
    /// Reading or placing a DICOM-SEG failed.
    #[error(transparent)]
    DicomSeg(#[from] dicom::seg::SegFileError),
    /// Reading or placing an RTSTRUCT failed.
    #[error(transparent)]
    RtStruct(#[from] dicom::rtstruct::RtStructError),
    /// The file is not readable DICOM.
    #[error(transparent)]
    Dicom(#[from] dicom::error::DicomError),
    /// ROIs were chosen for a file that has none (only an RTSTRUCT has ROIs).
    #[error("{path:?} is not an RTSTRUCT: ROIs can be chosen only from a structure set")]
    NotAStructureSet {
        /// The file.
        path: std::path::PathBuf,
    },
}

/// A segmentation opened for a CT, with what was left out of it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenedSegmentation {
    /// The segments on the CT grid.
    pub segmentation: Segmentation,
    /// What was skipped (RTSTRUCT POINT/OPEN contours, contours beyond the
    /// CT's slices), one line each; empty for label maps and SEGs.
    pub notes: Vec<String>,
}

/// Whether a path names a label-map file (NIfTI or NRRD) by its extension.
pub fn is_label_map_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [".nii", ".nii.gz", ".nrrd", ".nhdr"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Opens a segmentation for a CT: a NIfTI/NRRD label map (placed on the CT
/// grid through its affine, nearest neighbour), a DICOM-SEG placed on
/// `grid` (frames matched by referenced SOP instance, else by position; a
/// SEG of another frame of reference or grid is refused), or an RTSTRUCT
/// rasterised on `grid` (every ROI; see [`open_segmentation_detailed`] to
/// choose ROIs and see what was skipped). Without a grid a DICOM object is
/// matched by position on `geometry` alone.
pub fn open_segmentation(
    path: &Path,
    geometry: &Geometry,
    grid: Option<&ReferenceGrid>,
) -> Result<Segmentation, OpenSegError> {
    let opened = open_segmentation_detailed(path, geometry, grid, None)?;
    for note in &opened.notes {
        tracing::info!(target: "hounsfield::seg", "{note}");
    }
    Ok(opened.segmentation)
}

/// [`open_segmentation`], with the ROIs of an RTSTRUCT chosen by name
/// (`rois`, case-insensitive, in that order; refused for other files) and
/// the notes of what was skipped.
pub fn open_segmentation_detailed(
    path: &Path,
    geometry: &Geometry,
    grid: Option<&ReferenceGrid>,
    rois: Option<&[String]>,
) -> Result<OpenedSegmentation, OpenSegError> {
    let plain = |segmentation| OpenedSegmentation {
        segmentation,
        notes: Vec::new(),
    };
    let not_rt = || OpenSegError::NotAStructureSet {
        path: path.to_owned(),
    };
    if is_label_map_file(path) {
        if rois.is_some() {
            return Err(not_rt());
        }
        return open_label_map(path, geometry).map(plain);
    }
    let bare;
    let grid = if let Some(g) = grid {
        g
    } else {
        bare = ReferenceGrid::bare(*geometry);
        &bare
    };
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let header = dicom::header::read_header(path)?;
    if header.kind == dicom::header::ObjectKind::RtStruct {
        let rt = dicom::rtstruct::read_rtstruct(path)?;
        let placed = dicom::rtstruct::place_rtstruct(&rt, grid, rois, &name)?;
        return Ok(OpenedSegmentation {
            segmentation: placed.segmentation,
            notes: placed.notes,
        });
    }
    if rois.is_some() {
        return Err(not_rt());
    }
    let obj = dicom::seg::read_seg(path)?;
    Ok(plain(dicom::seg::place_seg(&obj, grid, &name)?))
}

/// Reads a label-map file on its own grid: NRRD (`.nrrd`, `.nhdr`), else NIfTI.
pub fn read_label_map_file(path: &Path) -> Result<crate::io::ImageVolume, crate::io::IoError> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    if matches!(ext.as_deref(), Some("nrrd" | "nhdr")) {
        crate::io::nrrd::read_nrrd(path)
    } else {
        crate::io::nifti::read_nifti(path)
    }
}

/// Opens a NIfTI/NRRD label map for a CT on `geometry` (placed on the CT
/// grid through its affine, nearest neighbour).
pub fn open_label_map(path: &Path, geometry: &Geometry) -> Result<Segmentation, OpenSegError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let image = read_label_map_file(path)?;
    Ok(crate::seg::place::place_label_map(
        &image,
        geometry,
        &[],
        &name,
    )?)
}

/// Writes `seg` as a BINARY DICOM-SEG referencing the series of `grid`
/// (patient identifiers from `metadata` are not copied).
pub fn write_dicom_seg(
    path: &Path,
    seg: &Segmentation,
    grid: &ReferenceGrid,
    metadata: &SeriesMetadata,
) -> Result<(), OpenSegError> {
    dicom::seg::write_seg(
        path,
        seg,
        grid,
        metadata,
        &dicom::seg::SegWriteOptions::default(),
    )?;
    Ok(())
}

/// Writes `seg` as an RTSTRUCT (contours per slice, each referencing its CT
/// image) for the series of `grid` (patient identifiers from `metadata` are
/// not copied).
pub fn write_rtstruct(
    path: &Path,
    seg: &Segmentation,
    grid: &ReferenceGrid,
    metadata: &SeriesMetadata,
) -> Result<(), OpenSegError> {
    dicom::rtstruct::write_rtstruct(
        path,
        seg,
        grid,
        metadata,
        &dicom::rtstruct::RtStructWriteOptions::default(),
    )?;
    Ok(())
}

/// A volume from a path, for a second series (e.g. the moving series of a
/// registration): a NIfTI/NRRD file, or the first loadable DICOM series
/// under a folder/file/DICOMDIR. Returns a display name and the volume.
pub fn open_volume(path: &Path, control: &LoadControl) -> Result<(String, Volume), String> {
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if path.is_file() && is_label_map_file(path) {
        let image = read_label_map_file(path).map_err(|e| format!("{file_name}: {e}"))?;
        return Ok((file_name, image.into_volume()));
    }
    let report = dicom::scan(&[path.to_path_buf()]);
    let info = report
        .series
        .iter()
        .find(|s| s.layout.is_ok())
        .ok_or_else(|| format!("{file_name}: no loadable CT series"))?;
    let study = load(info, control).map_err(|e| format!("{file_name}: {e}"))?;
    Ok((
        study.name,
        Arc::try_unwrap(study.volume).unwrap_or_else(|v| (*v).clone()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_has_a_volume_labels_and_a_histogram() {
        let s = demo();
        let seg = s.segmentation.as_ref().unwrap();
        assert_eq!(seg.geometry, s.volume.geometry);
        let liver = seg
            .segments
            .iter()
            .find(|x| x.label.contains("liver"))
            .unwrap();
        assert_eq!(liver.colour_rgb, [40, 200, 60]);
        let tumour = seg
            .segments
            .iter()
            .find(|x| x.label.contains("tumour"))
            .unwrap();
        assert_eq!(tumour.layer, crate::seg::Layer::Lesion);
        assert_eq!(s.seg_stats.len(), seg.segments.len());
        assert!(s.seg_stats.iter().all(|st| st.voxels > 0));
        assert_eq!(
            s.histogram.counts.iter().sum::<u64>() + s.histogram.below + s.histogram.above,
            s.volume.voxels.len() as u64
        );
    }
}
