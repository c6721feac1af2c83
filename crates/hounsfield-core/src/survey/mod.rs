//! Survey of a folder of series: one row per series with the acquisition,
//! geometry and de-identification attributes a data set is checked on, a
//! consistency section naming every field that differs across series, and
//! optional per-series HU histograms with a shifted-distribution flag.
//!
//! Pure over a [`ScanReport`] (headers only), except that the structure
//! sets (RTSTRUCT objects) of the scan are read for their ROI names, and the
//! optional histograms decode pixels (through [`crate::dicom::load_info`]), one series at a time
//! so that memory stays bounded by the largest series (each decode is itself
//! parallel). Nothing here prints; the CLI (`hounsfield survey`) does.
//! Row order is the scan order (folder, series number, key), so the output
//! is deterministic.
//!
//! Identifiers: rows carry presence flags for the patient name and ID, never
//! their values. The birth date and age are reported as the survey asks for
//! them.
//!
//! - [`consistency`]: which fields are compared and how.
//! - [`histograms`]: decoding, winsorised histograms, shift detection.
//! - [`csv`]: the CSV table. [`plot`]: the figure of all histograms.

pub mod consistency;
pub mod csv;
pub mod histograms;
pub mod plot;

use std::path::Path;

use serde::Serialize;

use crate::dicom::{ScanReport, SeriesInfo, SeriesMetadata, transfer_syntax};
use crate::volume::ops::Histogram;

pub use consistency::{COMPARED_FIELDS, Inconsistency, inconsistencies};
pub use histograms::{SeriesHistogram, detect_shifts, series_histogram};

/// The percentiles reported per series (`percentiles_hu`), in percent.
pub const REPORTED_PERCENTILES: [f64; 5] = [1.0, 25.0, 50.0, 75.0, 99.0];

/// Parameters of [`survey`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SurveyParams {
    /// Decode every series for its HU histogram and percentiles.
    pub with_histograms: bool,
    /// Winsorising percentiles `(low, high)` in percent (0..=100) for the
    /// histograms: values below/above are clamped to these percentiles.
    pub winsor_percentiles: (f64, f64),
    /// Series with more voxels than this are not decoded (no histogram).
    pub max_voxels: u64,
    /// Lower edge of the common histogram grid (HU).
    pub hist_min_hu: f64,
    /// Upper edge of the common histogram grid (HU).
    pub hist_max_hu: f64,
    /// Histogram bin width (HU).
    pub hist_bin_hu: f64,
    /// A series is flagged as shifted when its median offset from the other
    /// series' quartiles exceeds this (HU), see [`detect_shifts`]. Only CT
    /// series (Modality `CT`) take part: other modalities are not in HU.
    pub shift_threshold_hu: f64,
}

impl Default for SurveyParams {
    /// Histograms on, winsorised at 1/99 %, at most 2^28 voxels per series,
    /// −1100..3100 HU in 4 HU bins, shift threshold 12 HU.
    fn default() -> Self {
        Self {
            with_histograms: true,
            winsor_percentiles: (1.0, 99.0),
            max_voxels: 1 << 28,
            hist_min_hu: -1100.0,
            hist_max_hu: 3100.0,
            hist_bin_hu: 4.0,
            shift_threshold_hu: 12.0,
        }
    }
}

/// One series of the survey. Lengths in mm, intensities in HU.
// A flat table row: every bool is one column of the CSV.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SurveyRow {
    /// Position in the survey (scan order), 0-based.
    pub index: usize,
    /// Folder of the first instance.
    pub folder: String,
    /// SeriesInstanceUID (or the scanner's fallback key).
    pub series_uid: String,
    /// StudyDescription.
    pub study_description: Option<String>,
    /// SeriesDescription.
    pub series_description: Option<String>,
    /// PatientIdentityRemoved as written (`YES`, `NO`) or `None` when absent.
    pub patient_identity_removed: Option<String>,
    /// PatientName is present (the value is never reported).
    pub has_patient_name: bool,
    /// PatientID is present (the value is never reported).
    pub has_patient_id: bool,
    /// PatientSex.
    pub sex: Option<String>,
    /// PatientBirthDate (`YYYYMMDD`).
    pub birth_date: Option<String>,
    /// PatientAge (e.g. `057Y`).
    pub age: Option<String>,
    /// KVP (kV).
    pub kvp: Option<f64>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// ManufacturerModelName.
    pub model: Option<String>,
    /// Modality.
    pub modality: Option<String>,
    /// BodyPartExamined.
    pub body_part: Option<String>,
    /// Number of frames (slices) over all instances.
    pub slices: usize,
    /// Rows × columns of the first instance.
    pub matrix: [u32; 2],
    /// PixelSpacing of the first frame: (between rows, between columns).
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Distance between slices measured from positions (assembled layout).
    pub slice_spacing_mm: Option<f64>,
    /// SliceThickness tag of the first frame.
    pub slice_thickness_mm: Option<f64>,
    /// Orientation code of the grid axes (col, row, slice), e.g. `LPS`.
    pub orientation: Option<String>,
    /// RescaleSlope of the first frame.
    pub rescale_slope: Option<f64>,
    /// RescaleIntercept of the first frame.
    pub rescale_intercept: Option<f64>,
    /// True when slope or intercept vary between frames of the series.
    pub rescale_varies: bool,
    /// PatientPosition, e.g. `HFS`.
    pub patient_position: Option<String>,
    /// Transfer syntax name of the first instance.
    pub transfer_syntax: String,
    /// Validation badge (`ok`, `info`, `warn`, `error`; `unassembled` when
    /// the series could not be assembled).
    pub badge: String,
    /// Still carries identifying data, see [`is_identifying`].
    pub identifying: bool,
    /// HU percentiles [`REPORTED_PERCENTILES`] of the decoded series.
    pub percentiles_hu: Option<[f64; 5]>,
    /// Winsorising bounds (HU) of the histogram.
    pub winsor_hu: Option<[f64; 2]>,
    /// Why there is no histogram (when histograms were asked for).
    pub histogram_note: Option<String>,
    /// The HU distribution is shifted from the other series'.
    pub shifted: bool,
    /// Median quartile offset from the other series (HU), when computed.
    pub shift_hu: Option<f64>,
    /// ROI names of the structure sets that reference this series, in
    /// structure-set order (several structure sets one after the other).
    pub roi_names: Vec<String>,
}

/// One RTSTRUCT of the scan: its ROI names, as the coursework listed them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StructureSetRow {
    /// The file.
    pub path: String,
    /// `StructureSetLabel`, if any.
    pub label: Option<String>,
    /// The image series it references.
    pub referenced_series_uids: Vec<String>,
    /// Index of the survey row of the series it references, if scanned.
    pub series_row: Option<usize>,
    /// ROI names in file order.
    pub roi_names: Vec<String>,
    /// Closed contours per ROI, in the same order.
    pub contours: Vec<usize>,
    /// Why it could not be read.
    pub error: Option<String>,
}

impl SurveyRow {
    /// A short label for tables and legends: series description, else the
    /// last 12 characters of the UID.
    pub fn short_label(&self) -> String {
        if let Some(d) = &self.series_description {
            return d.clone();
        }
        let n = self.series_uid.chars().count();
        self.series_uid.chars().skip(n.saturating_sub(12)).collect()
    }

    /// True when any flag is raised: identifying data, a shifted
    /// distribution.
    pub fn flagged(&self) -> bool {
        self.identifying || self.shifted
    }
}

/// The survey of a scan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Survey {
    /// One row per image series, in scan order.
    pub rows: Vec<SurveyRow>,
    /// Fields of [`COMPARED_FIELDS`] that differ across series.
    pub inconsistencies: Vec<Inconsistency>,
    /// Winsorised histograms `(row index, histogram)` on a common grid.
    pub histograms: Vec<(usize, Histogram)>,
    /// The structure sets of the scan, in scan order.
    pub structure_sets: Vec<StructureSetRow>,
    /// The parameters used.
    pub params: SurveyParams,
}

/// True when the metadata still carries identifying data although it claims
/// (or does not deny) de-identification.
///
/// Precisely: PatientIdentityRemoved is not `NO` (it is `YES` or absent), and
/// a PatientBirthDate is present, or a PatientName is present that differs
/// from the PatientID. A name equal to the ID is the usual pseudonym of
/// de-identified collections (e.g. TCIA), and the PatientID alone is not
/// flagged: de-identification keeps a pseudonymous ID by design.
pub fn is_identifying(meta: &SeriesMetadata) -> bool {
    let removed_or_absent = meta
        .patient_identity_removed
        .as_deref()
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("NO"));
    let real_name = meta
        .patient_name
        .as_deref()
        .is_some_and(|n| meta.patient_id.as_deref() != Some(n));
    removed_or_absent && (real_name || meta.patient_birth_date.is_some())
}

/// The header part of a row (no histogram fields yet).
pub fn row_from_series(index: usize, s: &SeriesInfo) -> SurveyRow {
    let m = &s.metadata;
    let first = s.instances.first();
    let frame = first.and_then(|i| i.frames.first());
    let frames = || s.instances.iter().flat_map(|i| i.frames.iter());
    let rescale_varies = frame.is_some_and(|f0| {
        frames().any(|f| {
            f.rescale_slope.to_bits() != f0.rescale_slope.to_bits()
                || f.rescale_intercept.to_bits() != f0.rescale_intercept.to_bits()
        })
    });
    let layout = s.layout.as_ref().ok();
    SurveyRow {
        index,
        folder: s
            .folder()
            .map(Path::display)
            .map_or_else(String::new, |d| d.to_string()),
        series_uid: s.key.clone(),
        study_description: m.study_description.clone(),
        series_description: m.series_description.clone(),
        patient_identity_removed: m.patient_identity_removed.clone(),
        has_patient_name: m.patient_name.is_some(),
        has_patient_id: m.patient_id.is_some(),
        sex: m.patient_sex.clone(),
        birth_date: m.patient_birth_date.clone(),
        age: m.patient_age.clone(),
        kvp: m.kvp,
        manufacturer: m.manufacturer.clone(),
        model: m.model.clone(),
        modality: m.modality.clone(),
        body_part: m.body_part.clone(),
        slices: s.frame_count(),
        matrix: first.map_or([0, 0], |i| [i.rows, i.cols]),
        pixel_spacing_mm: frame.and_then(|f| f.pixel_spacing_mm),
        slice_spacing_mm: layout
            .filter(|l| l.geometry.dims[0] > 1)
            .map(|l| l.geometry.spacing_zyx_mm()[0]),
        slice_thickness_mm: frame.and_then(|f| f.slice_thickness_mm),
        orientation: layout.map(|l| l.geometry.orientation_code()),
        rescale_slope: frame.map(|f| f.rescale_slope),
        rescale_intercept: frame.map(|f| f.rescale_intercept),
        rescale_varies,
        patient_position: m.patient_position.clone(),
        transfer_syntax: transfer_syntax::name(s.transfer_syntax_uid()),
        badge: layout
            .map_or("unassembled", |l| l.report.badge())
            .to_owned(),
        identifying: is_identifying(m),
        percentiles_hu: None,
        winsor_hu: None,
        histogram_note: None,
        shifted: false,
        shift_hu: None,
        roi_names: Vec::new(),
    }
}

/// The structure sets of a scan with their ROI names (each file read in
/// full; an unreadable one gets its error). `rows` gives the series rows
/// they are matched to by SeriesInstanceUID.
pub fn structure_sets(report: &ScanReport, rows: &[SurveyRow]) -> Vec<StructureSetRow> {
    use rayon::prelude::*;
    report
        .objects
        .par_iter()
        .filter(|o| o.kind == crate::dicom::header::ObjectKind::RtStruct)
        .map(|o| {
            let path = o.path.display().to_string();
            match crate::dicom::rtstruct::read_rtstruct(&o.path) {
                Ok(rt) => StructureSetRow {
                    path,
                    label: rt.label.clone(),
                    series_row: rows
                        .iter()
                        .position(|r| rt.referenced_series_uids.contains(&r.series_uid)),
                    referenced_series_uids: rt.referenced_series_uids.clone(),
                    roi_names: rt.rois.iter().map(|r| r.name.clone()).collect(),
                    contours: rt.rois.iter().map(|r| r.contour_counts().0).collect(),
                    error: None,
                },
                Err(e) => StructureSetRow {
                    path,
                    label: None,
                    referenced_series_uids: Vec::new(),
                    series_row: None,
                    roi_names: Vec::new(),
                    contours: Vec::new(),
                    error: Some(e.to_string()),
                },
            }
        })
        .collect()
}

/// Survey every image series of `report` (see the module doc).
pub fn survey(report: &ScanReport, params: &SurveyParams) -> Survey {
    survey_with_progress(report, params, None)
}

/// [`survey`], calling `progress(done, total)` after each decoded series
/// (only when histograms are computed).
pub fn survey_with_progress(
    report: &ScanReport,
    params: &SurveyParams,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Survey {
    let mut rows: Vec<SurveyRow> = report
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| row_from_series(i, s))
        .collect();
    let mut histograms = Vec::new();
    if params.with_histograms {
        let total = report.series.len();
        for (i, s) in report.series.iter().enumerate() {
            match series_histogram(s, params) {
                Ok(h) => {
                    rows[i].percentiles_hu = Some(h.percentiles_hu);
                    rows[i].winsor_hu = Some(h.winsor_hu);
                    histograms.push((i, h.histogram));
                }
                Err(note) => rows[i].histogram_note = Some(note),
            }
            if let Some(p) = progress {
                p(i + 1, total);
            }
        }
        let quartiles: Vec<Option<[f64; 3]>> = rows
            .iter()
            .map(|r| {
                let ct = r.modality.as_deref() == Some("CT");
                r.percentiles_hu.filter(|_| ct).map(|p| [p[1], p[2], p[3]])
            })
            .collect();
        for (row, shift) in rows
            .iter_mut()
            .zip(detect_shifts(&quartiles, params.shift_threshold_hu))
        {
            row.shift_hu = shift.offset_hu;
            row.shifted = shift.shifted;
        }
    }
    let structure_sets = structure_sets(report, &rows);
    for set in &structure_sets {
        if let Some(i) = set.series_row {
            rows[i].roi_names.extend(set.roi_names.iter().cloned());
        }
    }
    let inconsistencies = inconsistencies(&rows);
    Survey {
        rows,
        inconsistencies,
        histograms,
        structure_sets,
        params: *params,
    }
}

/// The survey as pretty JSON (rows, inconsistencies, histograms, params).
pub fn to_json(s: &Survey) -> String {
    // Serialising plain data (strings, numbers, options) cannot fail; NaN
    // becomes null.
    serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
