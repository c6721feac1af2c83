//! The classical 3-D lung mask, an improvement of the tutorial's
//! `segment_lung_mask(fill=True)` (threshold −320 HU, label, background =
//! the corner voxel's label, per-slice fill, largest air component).
//!
//! # Method
//! 1. **Threshold**: air is `HU ≤ threshold_hu` (−320 HU), plus declared
//!    padding.
//! 2. **Outside air**: 3-D components (6-connected); every component that
//!    reaches the in-plane border of any slice (first or last row or column)
//!    is outside the body, not only the corner voxel's. The first and last
//!    slices are not border: lungs and trachea leave the field of view there.
//! 3. **Airway**: the trachea is found in the top slices and tracked down to
//!    its divisions; trachea and main bronchi are removed (see [`airway`]).
//! 4. **Lungs**: the remaining 3-D components of at least `min_lung_ml` ml
//!    and `min_fraction` of the largest are kept (small air pockets, bowel
//!    gas bubbles go); none: [`SegmentError::NoLungs`].
//! 5. **Sides**: two large components are the two lungs (by the `x` of their
//!    centroids); one large component means touching lungs, cut along the
//!    junction: erode (distance map) until it falls apart in two, then grow
//!    both cores back inside the mask deepest-first (a watershed on the
//!    distance map, so the cut runs through the narrowest junction).
//! 6. **Partial-volume boundary** (optional): a lung voxel next to a
//!    non-lung voxel stays only when its HU is at most half-way between the
//!    lungs' median HU and the surrounding tissue (`boundary_tissue_hu`,
//!    40 HU), i.e. when at least half of it is lung. At −320 HU a coarse
//!    grid keeps a rim of mostly-tissue voxels; this drops it once (one
//!    voxel layer).
//! 7. **Fill** (optional): per lung, closing with a ball of `closing_mm`,
//!    then 2-D (per slice) and 3-D hole filling: vessels, airway walls and
//!    nodules inside the lungs join the mask.
//!
//! [`airway`]: super::airway

use std::time::Instant;

use ndarray::{Array3, Axis};
use rayon::prelude::*;
use serde::Serialize;

use super::airway::{AirwayFound, find_airway};
use super::sides::{fill_lungs, split_sides};
use super::{Control, SegmentError, check_axial, label_air, median_hu, voxel_ml};
use crate::morph::{Connectivity, label};
use crate::volume::{Volume, VolumeId, Voxels};

/// Parameters of [`segment_lungs`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LungParams {
    /// Air threshold, HU (voxels at or below it are air).
    pub threshold_hu: f32,
    /// Smallest lung component kept, ml.
    pub min_lung_ml: f64,
    /// Smallest lung component kept, as a fraction of the largest.
    pub min_fraction: f64,
    /// Trachea and main bronchi removal (`None`: airways stay in the mask).
    pub airway: Option<AirwayParams>,
    /// A second component at least this fraction of the largest is the other
    /// lung; smaller means the lungs touch and must be cut.
    pub second_lung_fraction: f64,
    /// Largest erosion tried when cutting touching lungs, mm.
    pub max_split_erosion_mm: f64,
    /// Partial-volume boundary: HU of the tissue around the lungs (`None`:
    /// keep every voxel at or below the threshold). A lung voxel next to a
    /// non-lung voxel stays only when it is at least half lung, i.e. at or
    /// below the half-way HU between the lungs' median and this value.
    pub boundary_tissue_hu: Option<f32>,
    /// Vessel and nodule filling (`None`: the thresholded air only).
    pub fill: Option<FillParams>,
}

impl Default for LungParams {
    /// −320 HU, lungs of at least 100 ml and 5 % of the largest, airway
    /// removal and fill on (defaults of their parameters), second lung at 15
    /// % of the first, erosion up to 40 mm, partial-volume boundary against
    /// 40 HU tissue.
    fn default() -> Self {
        Self {
            threshold_hu: -320.0,
            min_lung_ml: 100.0,
            min_fraction: 0.05,
            airway: Some(AirwayParams::default()),
            second_lung_fraction: 0.15,
            max_split_erosion_mm: 40.0,
            boundary_tissue_hu: Some(40.0),
            fill: Some(FillParams::default()),
        }
    }
}

/// Parameters of the trachea detection and tracking (see [`super::airway`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AirwayParams {
    /// How far below the topmost air to look for the trachea, mm.
    pub search_mm: f64,
    /// Smallest trachea cross-section, mm².
    pub min_area_mm2: f64,
    /// Largest trachea cross-section, mm².
    pub max_area_mm2: f64,
    /// Largest distance of the trachea from the lungs' midline, mm.
    pub max_offset_mm: f64,
    /// Largest growth of an airway cross-section from one slice to the
    /// next (ratio); a larger component is lung.
    pub max_growth: f64,
    /// Smallest cross-section that counts as a branch at a division, mm².
    pub min_branch_mm2: f64,
    /// Deepest generation removed: 0 the trachea, 1 the main bronchi.
    pub max_generation: u32,
    /// Largest airway volume removed, ml (a bigger result means the tracking
    /// went wrong; nothing is removed then).
    pub max_volume_ml: f64,
}

impl Default for AirwayParams {
    /// Search 60 mm, cross-section 30–900 mm², 45 mm from the midline,
    /// growth 1.8×, branches of 10 mm², down to the main bronchi, at most
    /// 250 ml.
    fn default() -> Self {
        Self {
            search_mm: 60.0,
            min_area_mm2: 30.0,
            max_area_mm2: 900.0,
            max_offset_mm: 45.0,
            max_growth: 1.8,
            min_branch_mm2: 10.0,
            max_generation: 1,
            max_volume_ml: 250.0,
        }
    }
}

/// Parameters of the vessel and nodule filling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FillParams {
    /// Radius of the closing ball, mm (0: hole filling only).
    pub closing_mm: f64,
}

impl Default for FillParams {
    /// A 3 mm ball.
    fn default() -> Self {
        Self { closing_mm: 3.0 }
    }
}

/// What [`segment_lungs`] found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LungReport {
    /// Right lung volume, ml.
    pub right_ml: f64,
    /// Left lung volume, ml.
    pub left_ml: f64,
    /// Whether the trachea was found.
    pub airway_found: bool,
    /// Voxels removed as trachea and main bronchi.
    pub airway_removed_voxels: usize,
    /// Their volume, ml.
    pub airway_removed_ml: f64,
    /// Slice where the trachea was found (the top of the tracking).
    pub trachea_slice: Option<usize>,
    /// First slice below the first division of the trachea (the carina).
    pub carina_slice: Option<usize>,
    /// Air components kept as lung.
    pub lung_components: usize,
    /// When the lungs touched: the erosion (mm) that separated them.
    pub split_erosion_mm: Option<f64>,
    /// Median HU of the lungs (before the fill).
    pub lung_median_hu: Option<f32>,
    /// HU above which lung boundary voxels were dropped (partial volume).
    pub boundary_hu: Option<f32>,
    /// Boundary voxels dropped.
    pub boundary_removed_voxels: usize,
    /// Voxels added by the fill.
    pub filled_voxels: usize,
    /// Wall-clock time, s.
    pub seconds: f64,
}

/// The result: labels on the CT grid and the report.
#[derive(Clone, Debug)]
pub struct LungMask {
    /// `[z, row, col]`: 0 background, [`LABEL_RIGHT`], [`LABEL_LEFT`].
    ///
    /// [`LABEL_RIGHT`]: super::LABEL_RIGHT
    /// [`LABEL_LEFT`]: super::LABEL_LEFT
    pub labels: Array3<u8>,
    /// Volumes and what was done.
    pub report: LungReport,
}

const STEPS: usize = 6;

/// The classical lung mask of `vol` (see the module documentation).
///
/// ```
/// use hounsfield_core::phantom::{chest, PhantomParams};
/// use hounsfield_core::segment::{segment_lungs, Control, LungParams};
/// let ph = chest(&PhantomParams { dims: [48, 64, 64], spacing_mm: glam::DVec3::new(5.5, 5.5, 5.0), ..Default::default() });
/// let m = segment_lungs(&ph.volume, &LungParams::default(), &Control::default()).unwrap();
/// assert!(m.report.right_ml > 500.0 && m.report.left_ml > 500.0);
/// ```
pub fn segment_lungs(
    vol: &Volume,
    params: &LungParams,
    control: &Control<'_>,
) -> Result<LungMask, SegmentError> {
    let t0 = Instant::now();
    check_params(params)?;
    let superior_up = check_axial(vol)?;
    control.step(0, STEPS, "threshold and components")?;
    let comps = label_air(vol, params.threshold_hu);
    let dims = comps.dims();
    let inside = |l: u32| comps.get(l).is_some_and(|s| !s.touches_side(dims));
    let Some((lo, hi)) = union_box(&comps, inside) else {
        return Err(SegmentError::NoLungs {
            reason: "no air inside the body".into(),
        });
    };
    // Everything else happens in the box of the inside air, grown by the
    // fill's reach (and one voxel), so nothing outside it can change.
    let spacing = vol.geometry.spacing_zyx_mm();
    let reach = params.fill.as_ref().map_or(0.0, |f| f.closing_mm);
    let a: [usize; 3] =
        std::array::from_fn(|i| lo[i].saturating_sub(2 + (reach / spacing[i]).ceil() as usize));
    let b: [usize; 3] =
        std::array::from_fn(|i| (hi[i] + 3 + (reach / spacing[i]).ceil() as usize).min(dims[i]));
    let interior = comps.mask_in(a, b, inside);
    drop(comps);
    let sub = sub_volume(vol, a, b);
    let (sub_labels, mut report) = lungs_inside(&sub, interior, superior_up, params, control)?;
    let mut labels = Array3::<u8>::zeros(dims);
    labels
        .slice_mut(ndarray::s![a[0]..b[0], a[1]..b[1], a[2]..b[2]])
        .assign(&sub_labels);
    // Slice numbers of the whole grid, not of the box.
    report.trachea_slice = report.trachea_slice.map(|z| z + a[0]);
    report.carina_slice = report.carina_slice.map(|z| z + a[0]);
    report.seconds = t0.elapsed().as_secs_f64();
    control.step(STEPS, STEPS, "done")?;
    Ok(LungMask { labels, report })
}

/// Inclusive box of the components with `keep(label)`.
fn union_box(
    comps: &crate::morph::Components,
    keep: impl Fn(u32) -> bool,
) -> Option<([usize; 3], [usize; 3])> {
    let mut out: Option<([usize; 3], [usize; 3])> = None;
    for (i, s) in comps.stats.iter().enumerate() {
        if keep(i as u32 + 1) {
            let o = out.get_or_insert((s.lo, s.hi));
            o.0 = std::array::from_fn(|k| o.0[k].min(s.lo[k]));
            o.1 = std::array::from_fn(|k| o.1[k].max(s.hi[k]));
        }
    }
    out
}

/// The voxels `a..b` (`[z, row, col]`, end exclusive) of `vol` as a volume
/// in the same place.
fn sub_volume(vol: &Volume, a: [usize; 3], b: [usize; 3]) -> Volume {
    let crop = ndarray::s![a[0]..b[0], a[1]..b[1], a[2]..b[2]];
    let voxels = match &vol.voxels {
        Voxels::I16(v) => Voxels::I16(v.slice(crop).to_owned()),
        Voxels::F32(v) => Voxels::F32(v.slice(crop).to_owned()),
    };
    let mut geometry = vol.geometry;
    geometry.origin_mm =
        vol.geometry
            .world_of_voxel(glam::DVec3::new(a[2] as f64, a[1] as f64, a[0] as f64));
    geometry.dims = std::array::from_fn(|i| b[i] - a[i]);
    Volume {
        id: VolumeId::fresh(),
        voxels,
        geometry,
        padding_per_slice: vol.padding_per_slice[a[0]..b[0]].to_vec(),
    }
}

/// Steps 3 to 7 on the box of the inside air.
fn lungs_inside(
    vol: &Volume,
    mut interior: Array3<bool>,
    superior_up: bool,
    params: &LungParams,
    control: &Control<'_>,
) -> Result<(Array3<u8>, LungReport), SegmentError> {
    let g = &vol.geometry;
    let ml = voxel_ml(g);
    control.step(1, STEPS, "trachea and main bronchi")?;
    let airway = match &params.airway {
        Some(p) => find_airway(vol, &interior, superior_up, p)?,
        None => AirwayFound::default(),
    };
    if let Some(mask) = &airway.mask {
        ndarray::Zip::from(&mut interior)
            .and(mask)
            .par_for_each(|i, &a| *i = *i && !a);
    }

    control.step(2, STEPS, "lung components")?;
    let comps = label(interior.view(), Connectivity::Face);
    drop(interior);
    let largest = comps
        .largest()
        .and_then(|l| comps.get(l))
        .map_or(0, |s| s.voxels);
    let kept: Vec<u32> = comps
        .by_size()
        .into_iter()
        .filter(|&l| {
            comps.get(l).is_some_and(|s| {
                s.voxels as f64 * ml >= params.min_lung_ml
                    && s.voxels as f64 >= params.min_fraction * largest as f64
            })
        })
        .collect();
    if kept.is_empty() {
        return Err(SegmentError::NoLungs {
            reason: format!(
                "the largest air component inside the body is {:.1} ml (at least {} ml needed)",
                largest as f64 * ml,
                params.min_lung_ml
            ),
        });
    }

    control.step(3, STEPS, "left and right")?;
    let sides = split_sides(&comps, &kept, g, params, airway.midline_x_mm, control)?;
    drop(comps);
    let mut labels = sides.labels;
    let lung_median_hu = median_hu(vol, &labels, |v| v != 0);
    let boundary_hu = params
        .boundary_tissue_hu
        .zip(lung_median_hu)
        .map(|(t, m)| 0.5 * (t + m));
    let boundary_removed_voxels = boundary_hu.map_or(0, |h| trim_boundary(vol, &mut labels, h));

    control.step(4, STEPS, "fill")?;
    let filled_voxels = match &params.fill {
        Some(f) => fill_lungs(&mut labels, g.spacing_zyx_mm(), f)?,
        None => 0,
    };
    control.step(5, STEPS, "volumes")?;
    let [right, left] = count_labels(&labels);
    let report = LungReport {
        right_ml: right as f64 * ml,
        left_ml: left as f64 * ml,
        airway_found: airway.mask.is_some(),
        airway_removed_voxels: airway.voxels,
        airway_removed_ml: airway.voxels as f64 * ml,
        trachea_slice: airway.trachea_slice,
        carina_slice: airway.carina_slice,
        lung_components: kept.len(),
        lung_median_hu,
        boundary_hu,
        boundary_removed_voxels,
        split_erosion_mm: sides.split_erosion_mm,
        filled_voxels,
        seconds: 0.0,
    };
    Ok((labels, report))
}

/// Voxels labelled right and left.
fn count_labels(labels: &Array3<u8>) -> [usize; 2] {
    labels
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|p| {
            let mut n = [0; 2];
            for &v in p {
                if v == super::LABEL_RIGHT {
                    n[0] += 1;
                } else if v == super::LABEL_LEFT {
                    n[1] += 1;
                }
            }
            n
        })
        .reduce(|| [0, 0], |a, b| [a[0] + b[0], a[1] + b[1]])
}

/// Drops the lung voxels with a 6-neighbour of another label (array border
/// excluded) whose HU is above `boundary_hu`; returns how many.
fn trim_boundary(vol: &Volume, labels: &mut Array3<u8>, boundary_hu: f32) -> usize {
    let [nz, ny, nx] = vol.shape();
    let drop: Vec<Vec<(usize, usize)>> = (0..nz)
        .into_par_iter()
        .map(|z| {
            let mut out = Vec::new();
            let plane = labels.index_axis(Axis(0), z);
            for ((y, x), &v) in plane.indexed_iter() {
                if v == 0 || vol.voxels.get_hu(z, y, x).is_none_or(|h| h <= boundary_hu) {
                    continue;
                }
                let other = |a: usize, b: usize, c: usize| labels[[a, b, c]] != v;
                let edge = (x > 0 && other(z, y, x - 1))
                    || (x + 1 < nx && other(z, y, x + 1))
                    || (y > 0 && other(z, y - 1, x))
                    || (y + 1 < ny && other(z, y + 1, x))
                    || (z > 0 && other(z - 1, y, x))
                    || (z + 1 < nz && other(z + 1, y, x));
                if edge {
                    out.push((y, x));
                }
            }
            out
        })
        .collect();
    let mut n = 0;
    for (z, pixels) in drop.iter().enumerate() {
        for &(y, x) in pixels {
            labels[[z, y, x]] = 0;
            n += 1;
        }
    }
    n
}

fn check_params(p: &LungParams) -> Result<(), SegmentError> {
    let bad = |name, value: f64, expected| SegmentError::BadParameter {
        name,
        value,
        expected,
    };
    if !p.threshold_hu.is_finite() {
        return Err(bad("threshold_hu", f64::from(p.threshold_hu), "finite"));
    }
    for (name, v) in [
        ("min_lung_ml", p.min_lung_ml),
        ("min_fraction", p.min_fraction),
        ("second_lung_fraction", p.second_lung_fraction),
        ("max_split_erosion_mm", p.max_split_erosion_mm),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad(name, v, "finite and >= 0"));
        }
    }
    if let Some(f) = &p.fill
        && !(f.closing_mm.is_finite() && f.closing_mm >= 0.0)
    {
        return Err(bad("closing_mm", f.closing_mm, "finite and >= 0"));
    }
    if let Some(a) = &p.airway
        && !(a.max_growth.is_finite() && a.max_growth >= 1.0)
    {
        return Err(bad("max_growth", a.max_growth, ">= 1"));
    }
    Ok(())
}
