//! NIfTI, NRRD and NumPy files found next to DICOM: what each holds (its
//! grid, and whether it is a label map) for the scan table and the viewer's
//! browser, and opening one as a study of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::{Study, histogram_of};
use crate::io::{ImageData, IoError};
use crate::volume::Volume;

/// Most distinct values a label map may hold.
pub const MAX_LABELS: usize = 256;

/// Whether a volume file holds intensities or labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeFileKind {
    /// Intensities (CT, MR, any float or signed data).
    Volume,
    /// Integer labels, none negative, at most [`MAX_LABELS`] distinct.
    LabelMap,
}

impl VolumeFileKind {
    /// "volume" or "label map".
    pub fn label(self) -> &'static str {
        match self {
            Self::Volume => "volume",
            Self::LabelMap => "label map",
        }
    }
}

/// A volume file's grid and kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumeFileSummary {
    /// The file.
    pub path: PathBuf,
    /// Volume or label map.
    pub kind: VolumeFileKind,
    /// Grid size `[z, row, col]`.
    pub shape_zyx: [usize; 3],
    /// Spacing `[z, row, col]` in mm (1 mm for NumPy files, which carry none).
    pub spacing_zyx_mm: [f64; 3],
    /// The label values (label maps only, 0 included when present).
    pub labels: Vec<i64>,
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Read `path` (NIfTI, NRRD or NumPy) and summarise it.
pub fn summarize_volume_file(path: &Path) -> Result<VolumeFileSummary, IoError> {
    let (data, spacing_zyx_mm) = if is_npy(path) {
        (crate::io::npy::read_npy(path)?, [1.0; 3])
    } else {
        let v = super::read_label_map_file(path)?;
        let s = v.geometry.spacing_zyx_mm();
        (v.data, s)
    };
    let labels = label_values(&data);
    Ok(VolumeFileSummary {
        path: path.to_owned(),
        kind: if labels.is_some() {
            VolumeFileKind::LabelMap
        } else {
            VolumeFileKind::Volume
        },
        shape_zyx: data.shape(),
        spacing_zyx_mm,
        labels: labels.unwrap_or_default(),
    })
}

/// The values of a label map: integers, none negative, at most
/// [`MAX_LABELS`] distinct; `None` for anything else.
fn label_values(data: &ImageData) -> Option<Vec<i64>> {
    if matches!(data, ImageData::F32(_) | ImageData::F64(_)) {
        return None;
    }
    let mut labels = std::collections::BTreeSet::new();
    for v in data.to_f64() {
        if v < 0.0 {
            return None;
        }
        labels.insert(v as i64);
        if labels.len() > MAX_LABELS {
            return None;
        }
    }
    Some(labels.into_iter().collect())
}

/// A volume file (NIfTI or NRRD, on its own grid) as a study: no DICOM
/// identity, metadata or validation report.
pub fn volume_file_study(path: &Path) -> Result<Study, IoError> {
    let t = std::time::Instant::now();
    let volume: Volume = super::read_label_map_file(path)?.into_volume();
    let nz = volume.shape()[0];
    Ok(Study {
        name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        histogram: histogram_of(&volume),
        seg_stats: Vec::new(),
        segmentation: None,
        grid: Some(crate::dicom::seg::ReferenceGrid::bare(volume.geometry)),
        volume: Arc::new(volume),
        metadata: None,
        report: None,
        slice_files: vec![None; nz],
        load_s: t.elapsed().as_secs_f64(),
        registered: None,
    })
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;
    use crate::volume::Geometry;

    #[test]
    fn label_maps_and_volumes_are_told_apart_with_their_grids() {
        let dir = tempfile::tempdir().unwrap();
        let mut g = Geometry::identity([3, 4, 5]);
        g.spacing_mm = glam::DVec3::new(0.5, 0.75, 2.0);
        let labels = Array3::from_shape_fn((3, 4, 5), |(z, _, x)| u8::from(z == 1 && x > 2) * 7);
        let seg_path = dir.path().join("labels.nrrd");
        crate::io::nrrd::write_nrrd_labels(&seg_path, &labels, &g, false).unwrap();
        let s = summarize_volume_file(&seg_path).unwrap();
        assert_eq!(s.kind, VolumeFileKind::LabelMap);
        assert_eq!(s.shape_zyx, [3, 4, 5]);
        for (got, want) in s.spacing_zyx_mm.into_iter().zip([2.0, 0.75, 0.5]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        assert_eq!(s.labels, vec![0, 7]);

        let ct = Volume::from_i16(
            Array3::from_shape_fn((3, 4, 5), |(z, y, x)| (z * 100 + y * 10 + x) as i16 - 50),
            g,
        );
        let ct_path = dir.path().join("ct.nii");
        crate::io::nifti::write_nifti(&ct_path, &ct).unwrap();
        let s = summarize_volume_file(&ct_path).unwrap();
        assert_eq!(s.kind, VolumeFileKind::Volume);
        assert!(s.labels.is_empty());
        let study = volume_file_study(&ct_path).unwrap();
        assert_eq!(study.name, "ct.nii");
        assert_eq!(study.volume.geometry.dims, [3, 4, 5]);
        assert_eq!(study.volume.voxels.to_f32(), ct.voxels.to_f32());
    }
}
