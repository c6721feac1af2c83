//! A study as the viewer holds it: the HU volume (shared, immutable), its
//! label overlay if any, metadata, validation report, the file behind each
//! slice (for the tag browser) and a HU histogram — plus the two ways to
//! get one: the built-in demo (the phantom) and loading a scanned series.
//! No UI code here.

use std::path::PathBuf;
use std::sync::Arc;

use crate::dicom::series::Slot;
use crate::dicom::{self, LoadControl, SeriesInfo, SeriesMetadata, ValidationReport};
use crate::phantom::{self, PhantomParams};
use crate::volume::Volume;
use crate::volume::ops::{self, Histogram, HistogramParams};

/// Everything the viewer shows about one loaded series.
#[derive(Clone, Debug)]
pub struct Study {
    /// Display name (series description, folder, or "Demo phantom").
    pub name: String,
    /// HU voxels and geometry.
    pub volume: Arc<Volume>,
    /// Label map on the same grid (`i16` label values), if any.
    pub labels: Option<Arc<Volume>>,
    /// Label value → name.
    pub label_names: Vec<(u8, String)>,
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
    let labels = Volume::from_i16(ph.labels.mapv(i16::from), ph.volume.geometry);
    let nz = ph.volume.shape()[0];
    Study {
        name: "Demo phantom".into(),
        histogram: histogram_of(&ph.volume),
        volume: Arc::new(ph.volume),
        labels: Some(Arc::new(labels)),
        label_names: ph
            .label_names
            .iter()
            .map(|(v, n)| (*v, (*n).to_owned()))
            .collect(),
        metadata: None,
        report: None,
        slice_files: vec![None; nz],
        load_s: t.elapsed().as_secs_f64(),
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
        histogram: histogram_of(&volume),
        volume: Arc::new(volume),
        labels: None,
        label_names: Vec::new(),
        metadata: Some(info.metadata.clone()),
        report: None,
        slice_files: vec![path],
        load_s: t.elapsed().as_secs_f64(),
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
        histogram: histogram_of(&loaded.volume),
        volume: Arc::new(loaded.volume),
        labels: None,
        label_names: Vec::new(),
        metadata: Some(loaded.metadata),
        report: Some(loaded.report),
        slice_files,
        load_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_has_a_volume_labels_and_a_histogram() {
        let s = demo();
        assert_eq!(s.volume.shape(), s.labels.as_ref().unwrap().shape());
        assert!(s.label_names.iter().any(|(_, n)| n.contains("liver")));
        assert_eq!(
            s.histogram.counts.iter().sum::<u64>() + s.histogram.below + s.histogram.above,
            s.volume.voxels.len() as u64
        );
    }
}
