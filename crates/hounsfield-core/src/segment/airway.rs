//! Trachea and main bronchi: found in the top slices, tracked slice by slice.
//!
//! # Method
//! The air inside the body is cut into 2-D components per axial slice
//! (4-connected).
//! 1. **Seed**: in the slices within `search_mm` below the topmost air, the
//!    trachea is a component of `min_area_mm2..=max_area_mm2`, round (it
//!    fills at least half of the ellipse inscribed in its bounding box, sides
//!    within 2.5:1) and within `max_offset_mm` of the lungs' midline (the `x`
//!    of the centroid of all inside air). The first slice from the top with
//!    such a component wins; the largest candidate there.
//! 2. **Tracking down**: a component of the next slice that overlaps the
//!    airway of the slice above (same row and column) is airway when its
//!    cross-section is at most `max_growth` times the overlapped airway's
//!    (plus four pixels for rounding) and at most `max_area_mm2`.
//! 3. **Merged with the lung**: a larger component is the airway touching
//!    the lung in that slice (at coarse resolution the wall is not
//!    resolved). Then only its **lumen** is followed: the pixels darker than
//!    `lumen_hu`, half-way between the lumen of the trachea seed (its 10th
//!    percentile HU) and the median HU of the air inside the body (the
//!    lung), connected to the
//!    airway above, under the same size rule. When no such lumen is left, the
//!    branch stops: that is the **cut**.
//! 4. **Generations**: where an airway region has two or more children of at
//!    least `min_branch_mm2` in the next slice, it has divided and the
//!    children are one generation deeper (the first division of the trachea
//!    is the carina). Branches deeper than `max_generation` (1 = the main
//!    bronchi) are not followed: lobar and segmental bronchi stay in the
//!    lungs.
//! 5. **Tracking up** from the seed with the same rules (generation 0 only)
//!    removes the trachea above it.
//! 6. **Wall ring**: the in-plane neighbours of the airway that are air but
//!    clearly brighter than the lung (a quarter of the way from the median
//!    HU of the inside air to 40 HU soft tissue): the partial-volume ring of
//!    the wall around a lumen followed in step 3, join the airway.
//!
//! The removed airway is capped at `max_volume_ml`: beyond it the tracking
//! has leaked into a lung and nothing is removed (`mask: None`).

use std::collections::{BTreeMap, BTreeSet};

use glam::DVec3;
use ndarray::Array3;

use super::lungs::AirwayParams;
use super::{SegmentError, median_hu, voxel_ml};
use crate::morph::{ComponentStats, Components, Connectivity, label};
use crate::volume::{Geometry, Volume};

/// What [`find_airway`] found.
#[derive(Clone, Debug, Default)]
pub struct AirwayFound {
    /// The removed airway (trachea and main bronchi), `None` when the
    /// trachea was not found or the tracking leaked.
    pub mask: Option<Array3<bool>>,
    /// Voxels in the mask.
    pub voxels: usize,
    /// Slice of the seed.
    pub trachea_slice: Option<usize>,
    /// First slice below the first division.
    pub carina_slice: Option<usize>,
    /// LPS `x` (mm) of the trachea seed: the patient's midline.
    pub midline_x_mm: Option<f64>,
    /// HU below which a pixel counts as airway lumen (step 3).
    pub lumen_hu: Option<f32>,
}

/// Finds the trachea and main bronchi of `vol` in `interior` (the air
/// inside the body, same grid); `superior_up` tells whether slice indices
/// grow towards the head.
pub fn find_airway(
    vol: &Volume,
    interior: &Array3<bool>,
    superior_up: bool,
    p: &AirwayParams,
) -> Result<AirwayFound, SegmentError> {
    let g = &vol.geometry;
    let comps = label(interior.view(), Connectivity::SliceFace);
    let [nz, _, _] = comps.dims();
    let order: Vec<usize> = if superior_up {
        (0..nz).rev().collect()
    } else {
        (0..nz).collect()
    };
    let by_slice = components_by_slice(&comps, nz);
    let Some(midline_x) = midline_x(&comps, g) else {
        return Ok(AirwayFound::default());
    };
    let Some((seed_pos, seed)) = find_seed(&comps, &by_slice, &order, g, midline_x, p) else {
        return Ok(AirwayFound::default());
    };
    let seed_z = order[seed_pos];
    let seed_pixels = component_pixels(&comps, seed_z, seed);
    let seed_hu: Vec<f32> = seed_pixels
        .iter()
        .filter_map(|&(r, c)| vol.voxels.get_hu(seed_z, r, c))
        .collect();
    let lung_hu = median_hu(vol, interior, |v| v);
    let lumen_hu = match (percentile_of(seed_hu, 0.1), lung_hu) {
        (Some(a), Some(b)) if b > a => Some(a + 0.5 * (b - a)),
        _ => None,
    };
    let mut tracker = Tracker {
        vol,
        interior,
        comps: &comps,
        params: p,
        pixel_mm2: g.spacing_mm.x * g.spacing_mm.y,
        lumen_hu,
        mask: Array3::from_elem(comps.dims(), false),
        voxels: 0,
        carina: None,
    };
    let start = Region {
        pixels: seed_pixels,
        generation: 0,
    };
    tracker.add(seed_z, &start);
    tracker.track(&order[seed_pos..], &start, p.max_generation);
    let up: Vec<usize> = order[..=seed_pos].iter().rev().copied().collect();
    tracker.track(&up, &start, 0);
    let mut found = AirwayFound {
        trachea_slice: Some(seed_z),
        carina_slice: tracker.carina,
        midline_x_mm: comps.get(seed).map(|s| world_of(g, s.centroid_zyx()).x),
        lumen_hu,
        ..Default::default()
    };
    if let Some(lung_hu) = lung_hu {
        // A quarter of the way from the lung to soft tissue (40 HU).
        tracker.add_wall(lung_hu + 0.25 * (40.0 - lung_hu));
    }
    if tracker.voxels as f64 * voxel_ml(g) <= p.max_volume_ml {
        found.voxels = tracker.voxels;
        found.mask = Some(tracker.mask);
    }
    Ok(found)
}

/// The `q`-quantile (`0..=1`, lower) of `v`.
fn percentile_of(mut v: Vec<f32>, q: f64) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    let k = ((v.len() - 1) as f64 * q).floor() as usize;
    let (_, m, _) = v.select_nth_unstable_by(k, f32::total_cmp);
    Some(*m)
}

fn world_of(g: &Geometry, zyx: [f64; 3]) -> DVec3 {
    g.world_of_voxel(DVec3::new(zyx[2], zyx[1], zyx[0]))
}

/// The labels of the 2-D components of each slice.
fn components_by_slice(comps: &Components, nz: usize) -> Vec<Vec<u32>> {
    let mut out = vec![Vec::new(); nz];
    for (i, s) in comps.stats.iter().enumerate() {
        out[s.lo[0]].push(i as u32 + 1);
    }
    out
}

/// `(row, col)` of the pixels of component `l` in slice `z`.
fn component_pixels(comps: &Components, z: usize, l: u32) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (r, k) in comps.slice_runs(z) {
        if k == l {
            out.extend((r.start..r.end).map(|c| (r.row as usize, c as usize)));
        }
    }
    out
}

/// LPS `x` of the centroid of all inside air.
fn midline_x(comps: &Components, g: &Geometry) -> Option<f64> {
    let total: usize = comps.stats.iter().map(|s| s.voxels).sum();
    if total == 0 {
        return None;
    }
    let mut c = [0.0; 3];
    for s in &comps.stats {
        let w = s.voxels as f64 / total as f64;
        let k = s.centroid_zyx();
        for a in 0..3 {
            c[a] += w * k[a];
        }
    }
    Some(world_of(g, c).x)
}

/// Position in `order` and label of the trachea seed.
fn find_seed(
    comps: &Components,
    by_slice: &[Vec<u32>],
    order: &[usize],
    g: &Geometry,
    midline_x: f64,
    p: &AirwayParams,
) -> Option<(usize, u32)> {
    let first = order.iter().position(|&z| !by_slice[z].is_empty())?;
    let (sx, sy, sz) = (g.spacing_mm.x, g.spacing_mm.y, g.spacing_mm.z.abs());
    let round_central = |s: &ComponentStats| {
        let area = s.voxels as f64 * sx * sy;
        let w = (s.hi[2] - s.lo[2] + 1) as f64 * sx;
        let h = (s.hi[1] - s.lo[1] + 1) as f64 * sy;
        let fill = area / (std::f64::consts::FRAC_PI_4 * w * h);
        let x = world_of(g, s.centroid_zyx()).x;
        (p.min_area_mm2..=p.max_area_mm2).contains(&area)
            && fill >= 0.5
            && w.max(h) <= 2.5 * w.min(h)
            && (x - midline_x).abs() <= p.max_offset_mm
    };
    for (pos, &z) in order.iter().enumerate().skip(first) {
        if (pos - first) as f64 * sz > p.search_mm {
            break;
        }
        let best = by_slice[z]
            .iter()
            .filter_map(|&l| comps.get(l).map(|s| (l, s)))
            .filter(|(_, s)| round_central(s))
            .max_by_key(|(l, s)| (s.voxels, std::cmp::Reverse(*l)));
        if let Some((l, _)) = best {
            return Some((pos, l));
        }
    }
    None
}

/// Airway pixels of one slice.
#[derive(Clone, Debug)]
struct Region {
    pixels: Vec<(usize, usize)>,
    generation: u32,
}

/// A candidate airway region of the next slice and the indices of the
/// regions above it overlaps.
struct Candidate {
    pixels: Vec<(usize, usize)>,
    parents: BTreeSet<usize>,
}

/// Slice-to-slice tracking state.
struct Tracker<'a> {
    vol: &'a Volume,
    interior: &'a Array3<bool>,
    comps: &'a Components,
    params: &'a AirwayParams,
    pixel_mm2: f64,
    lumen_hu: Option<f32>,
    mask: Array3<bool>,
    voxels: usize,
    /// First slice below a division of generation 0.
    carina: Option<usize>,
}

impl Tracker<'_> {
    fn add(&mut self, z: usize, r: &Region) {
        for &(row, col) in &r.pixels {
            if !self.mask[[z, row, col]] {
                self.mask[[z, row, col]] = true;
                self.voxels += 1;
            }
        }
    }

    /// Adds the in-plane neighbours of the airway that are inside air but
    /// brighter than `wall_hu`: the partial-volume ring of the airway wall
    /// around a lumen followed through a merged component.
    fn add_wall(&mut self, wall_hu: f32) {
        let [nz, ny, nx] = self.comps.dims();
        let mut ring = Vec::new();
        for ((z, y, x), &a) in self.mask.indexed_iter() {
            if !a {
                continue;
            }
            let nb = [
                (y.wrapping_sub(1), x),
                (y + 1, x),
                (y, x.wrapping_sub(1)),
                (y, x + 1),
            ];
            for (r, c) in nb {
                if r < ny
                    && c < nx
                    && z < nz
                    && !self.mask[[z, r, c]]
                    && self.interior[[z, r, c]]
                    && self.vol.voxels.get_hu(z, r, c).is_some_and(|h| h > wall_hu)
                {
                    ring.push((z, r, c));
                }
            }
        }
        for (z, r, c) in ring {
            if !self.mask[[z, r, c]] {
                self.mask[[z, r, c]] = true;
                self.voxels += 1;
            }
        }
    }

    /// Follows the airway from `start` (in `slices[0]`) through `slices`.
    fn track(&mut self, slices: &[usize], start: &Region, max_generation: u32) {
        let [_, ny, nx] = self.comps.dims();
        // Per pixel of the previous slice: 1 + index into `current`.
        let mut prev = vec![0u32; ny * nx];
        let mut current = vec![start.clone()];
        for w in slices.windows(2) {
            let z1 = w[1];
            for (i, r) in current.iter().enumerate() {
                for &(row, col) in &r.pixels {
                    prev[row * nx + col] = i as u32 + 1;
                }
            }
            let candidates = self.candidates(&prev, &current, z1, nx);
            for r in &current {
                for &(row, col) in &r.pixels {
                    prev[row * nx + col] = 0;
                }
            }
            current = self.accept(&current, candidates, z1, max_generation);
            for r in &current {
                self.add(z1, r);
            }
            if current.is_empty()
                || self.voxels as f64 * voxel_ml(&self.vol.geometry) > self.params.max_volume_ml
            {
                break;
            }
        }
    }

    /// Regions of slice `z` overlapping the airway above: whole small
    /// components, or the lumen of a component merged with the lung.
    fn candidates(&self, prev: &[u32], current: &[Region], z: usize, nx: usize) -> Vec<Candidate> {
        let mut touching: BTreeMap<u32, BTreeSet<usize>> = BTreeMap::new();
        for (r, l) in self.comps.slice_runs(z) {
            let row = r.row as usize * nx;
            for c in r.start..r.end {
                let v = prev[row + c as usize];
                if v > 0 {
                    touching.entry(l).or_default().insert(v as usize - 1);
                }
            }
        }
        let parent_area = |parents: &BTreeSet<usize>| {
            parents
                .iter()
                .map(|&i| current[i].pixels.len() as f64 * self.pixel_mm2)
                .sum::<f64>()
        };
        let mut out = Vec::new();
        for (l, parents) in touching {
            let Some(s) = self.comps.get(l) else { continue };
            let area = s.voxels as f64 * self.pixel_mm2;
            if self.small(area, parent_area(&parents)) {
                out.push(Candidate {
                    pixels: component_pixels(self.comps, z, l),
                    parents,
                });
            } else {
                out.extend(self.lumen(prev, current, z, nx, &parents));
            }
        }
        out
    }

    fn small(&self, area: f64, parent_area: f64) -> bool {
        let p = self.params;
        area <= p.max_growth * parent_area + 4.0 * self.pixel_mm2 && area <= p.max_area_mm2
    }

    /// The lumen pieces (pixels darker than `lumen_hu`, 4-connected, inside
    /// the air) of slice `z` grown from the pixels under the regions
    /// `parents` above; a piece growing beyond the size rule is dropped.
    fn lumen(
        &self,
        prev: &[u32],
        current: &[Region],
        z: usize,
        nx: usize,
        parents: &BTreeSet<usize>,
    ) -> Vec<Candidate> {
        let Some(lumen_hu) = self.lumen_hu else {
            return Vec::new();
        };
        let ny = prev.len() / nx.max(1);
        let dark = |row: usize, col: usize| {
            self.interior[[z, row, col]]
                && self
                    .vol
                    .voxels
                    .get_hu(z, row, col)
                    .is_some_and(|h| h <= lumen_hu)
        };
        let mut seen: BTreeSet<(usize, usize)> = BTreeSet::new();
        let mut out = Vec::new();
        for &i in parents {
            for &start in &current[i].pixels {
                if seen.contains(&start) || !dark(start.0, start.1) {
                    continue;
                }
                let limit = self.params.max_growth * current[i].pixels.len() as f64 + 4.0;
                let mut piece = vec![start];
                let mut found = BTreeSet::new();
                seen.insert(start);
                let mut k = 0;
                while k < piece.len() && piece.len() as f64 <= limit {
                    let (r, c) = piece[k];
                    k += 1;
                    let v = prev[r * nx + c];
                    if v > 0 {
                        found.insert(v as usize - 1);
                    }
                    let nb = [
                        (r.wrapping_sub(1), c),
                        (r + 1, c),
                        (r, c.wrapping_sub(1)),
                        (r, c + 1),
                    ];
                    for (a, b) in nb {
                        if a < ny && b < nx && !seen.contains(&(a, b)) && dark(a, b) {
                            seen.insert((a, b));
                            piece.push((a, b));
                        }
                    }
                }
                if k == piece.len() {
                    out.push(Candidate {
                        pixels: piece,
                        parents: found,
                    });
                }
            }
        }
        out
    }

    /// The candidates that are airway, with their generation.
    fn accept(
        &mut self,
        current: &[Region],
        candidates: Vec<Candidate>,
        z: usize,
        max_generation: u32,
    ) -> Vec<Region> {
        let p = self.params;
        let area = |n: usize| n as f64 * self.pixel_mm2;
        // Which regions divide: two or more children of branch size.
        let mut branches = vec![0usize; current.len()];
        for c in &candidates {
            if area(c.pixels.len()) >= p.min_branch_mm2 {
                for &i in &c.parents {
                    branches[i] += 1;
                }
            }
        }
        let mut next = Vec::new();
        for c in candidates {
            let parent_area: f64 = c
                .parents
                .iter()
                .map(|&i| area(current[i].pixels.len()))
                .sum();
            let generation = c
                .parents
                .iter()
                .map(|&i| current[i].generation + u32::from(branches[i] >= 2))
                .min()
                .unwrap_or(0);
            if c.parents
                .iter()
                .any(|&i| current[i].generation == 0 && branches[i] >= 2)
            {
                self.carina.get_or_insert(z);
            }
            let fresh = c.pixels.iter().all(|&(r, col)| !self.mask[[z, r, col]]);
            if fresh
                && generation <= max_generation
                && self.small(area(c.pixels.len()), parent_area)
            {
                next.push(Region {
                    pixels: c.pixels,
                    generation,
                });
            }
        }
        next
    }
}
