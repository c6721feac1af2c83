//! Cases of a `cases.csv` → the network's preprocessed training slices (one case at a time, so
//! only one full-resolution volume is in memory).

use std::sync::atomic::{AtomicBool, Ordering};

use hounsfield_unet::{CaseSlices, CaseTag};

use super::UnetRunError;
use super::cases::{CaseRow, load_case};

/// What was loaded, per case, for the log.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSummary {
    /// Case id.
    pub case: String,
    /// Stratum used by the split.
    pub stratum: Option<String>,
    /// Slices.
    pub slices: usize,
    /// Slices with lung.
    pub lung_slices: usize,
}

/// Loads and preprocesses every case for a network whose input is `size`². `progress` is
/// called before each case with `(index, total, case id)`; `cancel` is checked between cases.
pub fn load_training_cases(
    rows: &[CaseRow],
    size: usize,
    progress: &mut dyn FnMut(usize, usize, &str),
    cancel: &AtomicBool,
) -> Result<(Vec<CaseSlices>, Vec<LoadedSummary>), UnetRunError> {
    let mut cases = Vec::with_capacity(rows.len());
    let mut summary = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(UnetRunError::Cancelled);
        }
        progress(i, rows.len(), &row.case);
        let loaded = load_case(row)?;
        let hu = loaded.volume.voxels.to_f32();
        let tag = CaseTag {
            patient: row.case.clone(),
            stratum: loaded.stratum.clone(),
        };
        let slices = CaseSlices::from_volume(tag, hu.view(), loaded.lung.view(), size)?;
        let lung_slices = loaded
            .lung
            .outer_iter()
            .filter(|s| s.iter().any(|&v| v > 0))
            .count();
        if lung_slices == 0 {
            return Err(UnetRunError::Case {
                case: row.case.clone(),
                message: format!("no lung voxel in {:?}", row.label),
            });
        }
        summary.push(LoadedSummary {
            case: row.case.clone(),
            stratum: loaded.stratum,
            slices: slices.len(),
            lung_slices,
        });
        cases.push(slices);
    }
    Ok((cases, summary))
}
