//! The editing operations: brush and eraser, flood fill, interpolation
//! between slices, segment management.
//!
//! Each is pure: it reads the segmentation (and the CT) and returns the
//! [`VoxelChange`] or [`Edit`] it would make, without applying it; apply it
//! with [`Edit::apply`] or [`EditHistory::commit`](super::EditHistory::commit).
//! A voxel change holds only the voxels whose value it changes.

use glam::DVec3;
use ndarray::{Array3, Axis, Zip};
use rayon::prelude::*;

use super::{
    Change, Edit, EditError, Run, VoxelChange, check_grid, check_mask, normalise_runs, push_run,
    segment_index,
};
use crate::morph::distance_sq_mm;
use crate::mpr::ViewAxis;
use crate::seg::{Mask, Segment, Segmentation};
use crate::volume::{Geometry, Volume};

/// The shape of the brush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrushShape {
    /// A disc in the plane of a view, one slice thick, on the slice (of that
    /// view) nearest the centre; distances are measured from the centre
    /// moved onto that slice.
    Disc(ViewAxis),
    /// A ball around the centre.
    Sphere,
}

impl Default for BrushShape {
    fn default() -> Self {
        Self::Disc(ViewAxis::Axial)
    }
}

/// Whether the brush paints or erases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BrushMode {
    /// Sets voxels.
    #[default]
    Paint,
    /// Clears voxels.
    Erase,
}

impl BrushMode {
    /// The value the brush sets voxels to.
    pub fn value(self) -> bool {
        self == Self::Paint
    }

    /// The description of an undo step ("brush" or "erase").
    pub fn description(self) -> &'static str {
        match self {
            Self::Paint => "brush",
            Self::Erase => "erase",
        }
    }
}

/// Parameters of one brush dab.
#[derive(Clone, Debug, PartialEq)]
pub struct BrushParams {
    /// Centre, LPS mm.
    pub centre_in_world: DVec3,
    /// Radius in mm: a voxel is inside when the distance between its centre
    /// and the brush centre is at most this.
    pub radius_mm: f64,
    /// Disc or sphere.
    pub shape: BrushShape,
    /// Paint or erase.
    pub mode: BrushMode,
    /// Only voxels whose HU lies in `lo..=hi` are painted or erased (needs
    /// the CT volume).
    pub hu_range: Option<(f32, f32)>,
}

impl Default for BrushParams {
    fn default() -> Self {
        Self {
            centre_in_world: DVec3::ZERO,
            radius_mm: 5.0,
            shape: BrushShape::default(),
            mode: BrushMode::default(),
            hu_range: None,
        }
    }
}

/// Where a flood fill spreads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FillScope {
    /// Within the plane of a view through the seed (4-connected).
    Plane(ViewAxis),
    /// Through the whole grid (6-connected).
    #[default]
    Volume,
}

/// Parameters of a flood fill.
#[derive(Clone, Debug, PartialEq)]
pub struct FillParams {
    /// The seed voxel `[z, row, col]`.
    pub seed_zyx: [usize; 3],
    /// The HU range `lo..=hi` of the voxels filled.
    pub hu_range: (f32, f32),
    /// 2-D in a view's plane or 3-D.
    pub scope: FillScope,
}

impl Default for FillParams {
    fn default() -> Self {
        Self {
            seed_zyx: [0; 3],
            hu_range: (-100.0, 200.0),
            scope: FillScope::default(),
        }
    }
}

/// The array axis (0 = z, 1 = row, 2 = col) fixed on the slices of a view.
pub fn array_axis(axis: ViewAxis) -> usize {
    match axis {
        ViewAxis::Axial => 0,
        ViewAxis::Coronal => 1,
        ViewAxis::Sagittal => 2,
    }
}

/// One brush dab on segment number `segment`: the voxels of the disc or
/// sphere (see [`BrushParams`]) that the dab changes. Only the bounding box
/// of the shape is visited. `volume` (on the segmentation's grid) is needed
/// only with a HU range.
pub fn brush(
    seg: &Segmentation,
    segment: u16,
    volume: Option<&Volume>,
    params: &BrushParams,
) -> Result<VoxelChange, EditError> {
    let g = &seg.geometry;
    check_grid(g)?;
    let mask = checked_mask(seg, segment)?;
    let radius_mm = params.radius_mm;
    if !(radius_mm.is_finite() && radius_mm >= 0.0) {
        return Err(EditError::BadRadius { radius_mm });
    }
    if !params.centre_in_world.is_finite() {
        return Err(EditError::BadCentre {
            centre_mm: params.centre_in_world.to_array(),
        });
    }
    let limit = match params.hu_range {
        None => None,
        Some(range) => Some(HuLimit::new(volume.ok_or(EditError::NoVolume)?, g, range)?),
    };
    let value = params.mode.value();
    let mut change = VoxelChange {
        segment,
        value,
        runs: Vec::new(),
    };
    let Some((centre, lo, hi)) = brush_box(g, params) else {
        return Ok(change);
    };
    let world_from_voxel = g.world_from_voxel();
    let slices: Vec<Vec<Run>> = (lo[0]..=hi[0])
        .into_par_iter()
        .map(|z| {
            let mut runs = Vec::new();
            for row in lo[1]..=hi[1] {
                for col in lo[2]..=hi[2] {
                    let p = DVec3::new(col as f64, row as f64, z as f64);
                    if world_from_voxel.transform_point3(p).distance(centre) <= radius_mm
                        && mask.get(z, row, col) != value
                        && limit.as_ref().is_none_or(|l| l.contains(z, row, col))
                    {
                        push_run(&mut runs, linear(g.dims, z, row, col), 1);
                    }
                }
            }
            runs
        })
        .collect();
    for (start, len) in slices.into_iter().flatten() {
        push_run(&mut change.runs, start, len);
    }
    Ok(change)
}

/// The centre (moved onto the slice for a disc) and the inclusive voxel box
/// `[z, row, col]` holding the brush, clipped to the grid; `None` when the
/// brush misses the grid.
fn brush_box(g: &Geometry, params: &BrushParams) -> Option<(DVec3, [usize; 3], [usize; 3])> {
    if g.dims.contains(&0) {
        return None;
    }
    let v = g.voxel_of_world(params.centre_in_world);
    let mut c = [v.z, v.y, v.x];
    let mut centre = params.centre_in_world;
    let mut fixed = None;
    if let BrushShape::Disc(view) = params.shape {
        let a = array_axis(view);
        let k = c[a].round();
        if !(k >= 0.0 && k <= (g.dims[a] - 1) as f64) {
            return None;
        }
        c[a] = k;
        centre = g.world_of_voxel(DVec3::new(c[2], c[1], c[0]));
        fixed = Some((a, k as usize));
    }
    // Half extent of the ball along voxel axis i: r · |row i of voxel_from_world|.
    let m = g.voxel_from_world().matrix3;
    let half = [m.row(2), m.row(1), m.row(0)].map(|r| r.length() * params.radius_mm);
    let mut lo = [0; 3];
    let mut hi = [0; 3];
    for a in 0..3 {
        let l = (c[a] - half[a]).floor().max(0.0);
        let h = (c[a] + half[a]).ceil().min((g.dims[a] - 1) as f64);
        if l > h {
            return None;
        }
        (lo[a], hi[a]) = (l as usize, h as usize);
    }
    if let Some((a, k)) = fixed {
        (lo[a], hi[a]) = (k, k);
    }
    Some((centre, lo, hi))
}

/// Flood fill on segment number `segment`: the voxels connected to the seed
/// (6-connected in 3-D, 4-connected in a plane) whose HU lies in the range
/// and that the segment does not have yet. Empty when the seed is already in
/// the segment. Scanline fill with an explicit stack.
pub fn flood_fill(
    seg: &Segmentation,
    segment: u16,
    volume: &Volume,
    params: &FillParams,
) -> Result<VoxelChange, EditError> {
    let g = &seg.geometry;
    check_grid(g)?;
    let mask = checked_mask(seg, segment)?;
    let limit = HuLimit::new(volume, g, params.hu_range)?;
    let dims = g.dims;
    let seed = params.seed_zyx;
    if seed.iter().zip(dims).any(|(&s, d)| s >= d) {
        return Err(EditError::SeedOutside {
            seed_zyx: seed,
            dims,
        });
    }
    if !limit.contains(seed[0], seed[1], seed[2]) {
        return Err(EditError::SeedOutOfRange {
            seed_zyx: seed,
            hu: volume
                .voxels
                .get_hu(seed[0], seed[1], seed[2])
                .unwrap_or(f32::NAN),
            lo_hu: limit.lo_hu,
            hi_hu: limit.hi_hu,
        });
    }
    let mut lo = [0; 3];
    let mut hi = dims.map(|d| d - 1);
    if let FillScope::Plane(view) = params.scope {
        let a = array_axis(view);
        (lo[a], hi[a]) = (seed[a], seed[a]);
    }
    let pieces = scanline_fill(lo, hi, seed, |z, row, col| {
        limit.contains(z, row, col) && !mask.get(z, row, col)
    });
    let mut runs: Vec<Run> = pieces
        .into_iter()
        .map(|(z, row, c0, c1)| (linear(dims, z, row, c0), (c1 - c0 + 1) as u32))
        .collect();
    normalise_runs(&mut runs);
    Ok(VoxelChange {
        segment,
        value: true,
        runs,
    })
}

/// Scanline flood fill inside the inclusive box `lo..=hi` from `seed`:
/// the pieces `(z, row, c0, c1)` (columns `c0..=c1`) of the voxels connected
/// to the seed (face neighbours) where `fillable` holds.
fn scanline_fill(
    lo: [usize; 3],
    hi: [usize; 3],
    seed: [usize; 3],
    fillable: impl Fn(usize, usize, usize) -> bool,
) -> Vec<(usize, usize, usize, usize)> {
    let n = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    let local =
        |z: usize, row: usize, col: usize| ((z - lo[0]) * n[1] + row - lo[1]) * n[2] + col - lo[2];
    let mut seen = vec![0u64; (n[0] * n[1] * n[2]).div_ceil(64)];
    let open = |seen: &[u64], z: usize, row: usize, col: usize| {
        let i = local(z, row, col);
        (seen[i / 64] >> (i % 64)) & 1 == 0 && fillable(z, row, col)
    };
    let mut stack = vec![seed];
    let mut pieces = Vec::new();
    while let Some([z, row, col]) = stack.pop() {
        if !open(&seen, z, row, col) {
            continue;
        }
        let (mut c0, mut c1) = (col, col);
        while c0 > lo[2] && open(&seen, z, row, c0 - 1) {
            c0 -= 1;
        }
        while c1 < hi[2] && open(&seen, z, row, c1 + 1) {
            c1 += 1;
        }
        for c in c0..=c1 {
            let i = local(z, row, c);
            seen[i / 64] |= 1 << (i % 64);
        }
        pieces.push((z, row, c0, c1));
        let lines = [
            (row > lo[1]).then(|| (z, row - 1)),
            (row < hi[1]).then(|| (z, row + 1)),
            (z > lo[0]).then(|| (z - 1, row)),
            (z < hi[0]).then(|| (z + 1, row)),
        ];
        for (nz, nrow) in lines.into_iter().flatten() {
            let mut in_span = false;
            for c in c0..=c1 {
                let ok = open(&seen, nz, nrow, c);
                if ok && !in_span {
                    stack.push([nz, nrow, c]);
                }
                in_span = ok;
            }
        }
    }
    pieces
}

/// Shape-based interpolation of segment number `segment` along the slices
/// of `view`: for every two consecutive slices with voxels that have only
/// empty slices between them, the empty slices get the voxels where the
/// in-plane signed distances (mm; positive outside, negative inside) of the
/// two slices, blended linearly by position, are `<= 0`. Only adds voxels.
pub fn interpolate(
    seg: &Segmentation,
    segment: u16,
    view: ViewAxis,
) -> Result<VoxelChange, EditError> {
    let g = &seg.geometry;
    check_grid(g)?;
    let mask = checked_mask(seg, segment)?;
    let mut change = VoxelChange {
        segment,
        value: true,
        runs: Vec::new(),
    };
    let Some((first, last)) = mask.bbox() else {
        return Ok(change);
    };
    let a = array_axis(view);
    let occupied: Vec<usize> = (first[a]..=last[a])
        .into_par_iter()
        .filter(|&k| {
            mask.data
                .index_axis(Axis(a), k - mask.start[a])
                .iter()
                .any(|&v| v)
        })
        .collect();
    let gaps: Vec<(usize, usize)> = occupied
        .windows(2)
        .filter(|w| w[1] - w[0] > 1)
        .map(|w| (w[0], w[1]))
        .collect();
    // The in-plane box: the mask's box and a ring of outside voxels, so the
    // distance from inside to outside is the same as on the whole plane.
    let plane = PlaneBox {
        axis: a,
        lo: first.map(|f| f.saturating_sub(1)),
        hi: [0, 1, 2].map(|b| (last[b] + 1).min(g.dims[b] - 1)),
        dims: g.dims,
        spacing_zyx_mm: g.spacing_zyx_mm(),
    };
    let per_gap: Vec<Vec<Run>> = gaps
        .par_iter()
        .map(|&(k0, k1)| fill_gap(mask, &plane, k0, k1))
        .collect::<Result<_, _>>()?;
    change.runs = per_gap.concat();
    normalise_runs(&mut change.runs);
    Ok(change)
}

/// A box of the grid, `lo..=hi`, whose extent along `axis` is ignored: the
/// part of one slice of a view that interpolation works on.
struct PlaneBox {
    axis: usize,
    lo: [usize; 3],
    hi: [usize; 3],
    dims: [usize; 3],
    spacing_zyx_mm: [f64; 3],
}

impl PlaneBox {
    /// The shape of the box with extent 1 along `axis`.
    fn shape(&self) -> [usize; 3] {
        let mut s = [0, 1, 2].map(|b| self.hi[b] - self.lo[b] + 1);
        s[self.axis] = 1;
        s
    }

    /// The grid voxel of box index `(i, j, l)` on slice `k`.
    fn voxel(&self, (i, j, l): (usize, usize, usize), k: usize) -> [usize; 3] {
        let mut v = [self.lo[0] + i, self.lo[1] + j, self.lo[2] + l];
        v[self.axis] = k;
        v
    }

    /// In-plane signed distance (mm) of slice `k` of the mask: distance to
    /// the nearest inside voxel outside, minus the distance to the nearest
    /// outside voxel inside.
    fn signed_distance(&self, mask: &Mask, k: usize) -> Result<Array3<f32>, EditError> {
        let inside = Array3::from_shape_fn(self.shape(), |i| {
            let [z, row, col] = self.voxel(i, k);
            mask.get(z, row, col)
        });
        let to_inside = distance_sq_mm(inside.view(), self.spacing_zyx_mm)?;
        let to_outside = distance_sq_mm(inside.mapv(|b| !b).view(), self.spacing_zyx_mm)?;
        Ok(Zip::from(&inside)
            .and(&to_inside)
            .and(&to_outside)
            .map_collect(|&b, &di, &dout| if b { -dout.sqrt() } else { di.sqrt() }))
    }
}

/// The runs that fill the slices strictly between key slices `k0` and `k1`.
fn fill_gap(mask: &Mask, plane: &PlaneBox, k0: usize, k1: usize) -> Result<Vec<Run>, EditError> {
    let d0 = plane.signed_distance(mask, k0)?;
    let d1 = plane.signed_distance(mask, k1)?;
    let mut runs = Vec::new();
    for k in k0 + 1..k1 {
        let t = (k - k0) as f64 / (k1 - k0) as f64;
        // Ascending within the slice; slices interleave unless the view is
        // axial, so the caller sorts.
        let mut slice_runs = Vec::new();
        for ((i, &a), &b) in d0.indexed_iter().zip(d1.iter()) {
            if (1.0 - t) * f64::from(a) + t * f64::from(b) <= 0.0 {
                let [z, row, col] = plane.voxel(i, k);
                push_run(&mut slice_runs, linear(plane.dims, z, row, col), 1);
            }
        }
        runs.append(&mut slice_runs);
    }
    Ok(runs)
}

/// A new, empty segment named `label`: the next free number (one above the
/// highest, else the lowest unused), colour and layer from the name
/// ([`Segment::named`]), appended at the end.
pub fn new_segment(seg: &Segmentation, label: &str) -> Result<Edit, EditError> {
    let max = seg.segments.iter().map(|s| s.number).max().unwrap_or(0);
    let number = if max < u16::MAX {
        max + 1
    } else {
        let mut used = vec![false; usize::from(u16::MAX) + 1];
        for s in &seg.segments {
            used[usize::from(s.number)] = true;
        }
        (1..=u16::MAX)
            .find(|&n| !used[usize::from(n)])
            .ok_or(EditError::NoFreeNumber)?
    };
    let segment = Segment::named(number, label, Mask::empty(seg.geometry.dims));
    Ok(Edit::of(
        "new segment",
        Change::Insert {
            index: seg.segments.len(),
            segment: Box::new(segment),
        },
    ))
}

/// Renames segment number `number` to `label`.
pub fn rename(seg: &Segmentation, number: u16, label: &str) -> Result<Edit, EditError> {
    let i = segment_index(seg, number)?;
    Ok(Edit::of(
        "rename",
        Change::Rename {
            number,
            before: seg.segments[i].label.clone(),
            after: label.to_owned(),
        },
    ))
}

/// Gives segment number `number` the colour `colour_rgb`.
pub fn recolour(seg: &Segmentation, number: u16, colour_rgb: [u8; 3]) -> Result<Edit, EditError> {
    let i = segment_index(seg, number)?;
    Ok(Edit::of(
        "recolour",
        Change::Recolour {
            number,
            before_rgb: seg.segments[i].colour_rgb,
            after_rgb: colour_rgb,
        },
    ))
}

/// Deletes segment number `number` (the edit keeps it, and its index, for
/// undo).
pub fn delete_segment(seg: &Segmentation, number: u16) -> Result<Edit, EditError> {
    let index = segment_index(seg, number)?;
    Ok(Edit::of(
        "delete segment",
        Change::Remove {
            index,
            segment: Box::new(seg.segments[index].clone()),
        },
    ))
}

/// The mask of segment number `number`, checked to be on the grid.
fn checked_mask(seg: &Segmentation, number: u16) -> Result<&Mask, EditError> {
    let s = &seg.segments[segment_index(seg, number)?];
    check_mask(s, seg.geometry.dims)?;
    Ok(&s.mask)
}

/// Linear index of a voxel (the grid was checked to fit a `u32`).
fn linear(dims: [usize; 3], z: usize, row: usize, col: usize) -> u32 {
    ((z * dims[1] + row) * dims[2] + col) as u32
}

/// A HU range on a volume of the segmentation's grid.
struct HuLimit<'a> {
    volume: &'a Volume,
    lo_hu: f32,
    hi_hu: f32,
}

impl<'a> HuLimit<'a> {
    fn new(
        volume: &'a Volume,
        g: &Geometry,
        (lo_hu, hi_hu): (f32, f32),
    ) -> Result<Self, EditError> {
        if !(lo_hu.is_finite() && hi_hu.is_finite() && lo_hu <= hi_hu) {
            return Err(EditError::BadRange { lo_hu, hi_hu });
        }
        let got = volume.voxels.shape();
        if got != g.dims {
            return Err(EditError::Shape {
                what: "CT volume".into(),
                got,
                want: g.dims,
            });
        }
        Ok(Self {
            volume,
            lo_hu,
            hi_hu,
        })
    }

    /// Whether the voxel's HU lies in the range (false for NaN).
    fn contains(&self, z: usize, row: usize, col: usize) -> bool {
        self.volume
            .voxels
            .get_hu(z, row, col)
            .is_some_and(|h| h >= self.lo_hu && h <= self.hi_hu)
    }
}
