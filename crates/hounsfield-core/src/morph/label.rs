//! Connected-component labelling of binary masks, run-length based.
//!
//! Each slice is cut into runs (maximal horizontal segments of equal voxels)
//! in parallel; runs of adjacent rows are merged per slice with a local
//! union-find (parallel), runs of adjacent slices with a global one. Labels
//! are numbered `1..` in scan order (`z`, then row, then column of the first
//! voxel), so the result is deterministic. [`Components`] keeps the runs, not
//! a label array, so per-component masks and statistics are cheap; ask for
//! [`Components::labels`] when the array itself is needed.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

/// Which neighbours are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// 3-D, 6 face neighbours.
    Face,
    /// 3-D, 26 face, edge and corner neighbours.
    Full,
    /// Each axial slice alone, 4 neighbours.
    SliceFace,
    /// Each axial slice alone, 8 neighbours.
    SliceFull,
}

impl Connectivity {
    fn diagonal(self) -> bool {
        matches!(self, Self::Full | Self::SliceFull)
    }

    fn across_slices(self) -> bool {
        matches!(self, Self::Face | Self::Full)
    }
}

/// One run: columns `start..end` of `row` in slice `z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Slice index.
    pub z: u32,
    /// Row index.
    pub row: u32,
    /// First column.
    pub start: u32,
    /// One past the last column.
    pub end: u32,
}

/// Statistics of one component (indices `[z, row, col]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentStats {
    /// Number of voxels.
    pub voxels: usize,
    /// First voxel of the inclusive bounding box.
    pub lo: [usize; 3],
    /// Last voxel of the inclusive bounding box.
    pub hi: [usize; 3],
    /// Sum of the voxel indices (for the centroid).
    sum_zyx: [f64; 3],
}

impl ComponentStats {
    /// Mean voxel index `[z, row, col]`.
    pub fn centroid_zyx(&self) -> [f64; 3] {
        let n = self.voxels.max(1) as f64;
        self.sum_zyx.map(|s| s / n)
    }

    /// Whether the component reaches the first or last row or column of a
    /// slice of a `[z, row, col]` grid (the in-plane border).
    pub fn touches_side(&self, dims: [usize; 3]) -> bool {
        self.lo[1] == 0 || self.lo[2] == 0 || self.hi[1] + 1 >= dims[1] || self.hi[2] + 1 >= dims[2]
    }

    /// Whether the component reaches the first or last slice.
    pub fn touches_end(&self, dims: [usize; 3]) -> bool {
        self.lo[0] == 0 || self.hi[0] + 1 >= dims[0]
    }
}

/// The components of a mask: runs with their label, and statistics.
#[derive(Clone, Debug)]
pub struct Components {
    dims: [usize; 3],
    /// Runs in scan order.
    runs: Vec<Run>,
    /// Index of the first run of each slice (`dims[0] + 1` entries).
    slice_start: Vec<usize>,
    /// Label (1-based) of each run.
    run_label: Vec<u32>,
    /// Statistics of label `l` at index `l - 1`.
    pub stats: Vec<ComponentStats>,
}

impl Components {
    /// Number of components.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Whether there is no component.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// Grid shape `[z, row, col]`.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Statistics of label `l` (1-based).
    pub fn get(&self, l: u32) -> Option<&ComponentStats> {
        (l as usize).checked_sub(1).and_then(|i| self.stats.get(i))
    }

    /// The label with the most voxels (the first in scan order on ties).
    pub fn largest(&self) -> Option<u32> {
        let mut best: Option<(usize, u32)> = None;
        for (i, s) in self.stats.iter().enumerate() {
            if best.is_none_or(|(n, _)| s.voxels > n) {
                best = Some((s.voxels, i as u32 + 1));
            }
        }
        best.map(|(_, l)| l)
    }

    /// Labels sorted by decreasing size (ties in label order).
    pub fn by_size(&self) -> Vec<u32> {
        let mut ls: Vec<u32> = (1..=self.stats.len() as u32).collect();
        ls.sort_by_key(|&l| std::cmp::Reverse(self.stats[l as usize - 1].voxels));
        ls
    }

    /// The runs of slice `z` with their labels.
    pub fn slice_runs(&self, z: usize) -> impl Iterator<Item = (Run, u32)> + '_ {
        let (a, b) = (self.slice_start[z], self.slice_start[z + 1]);
        self.runs[a..b]
            .iter()
            .copied()
            .zip(self.run_label[a..b].iter().copied())
    }

    /// The label array (0 = not in the mask).
    pub fn labels(&self) -> Array3<u32> {
        let mut out = Array3::<u32>::zeros(self.dims);
        self.paint_slices(&mut out, Some);
        out
    }

    /// A mask of the components for which `keep(label)` is true.
    pub fn mask_where(&self, keep: impl Fn(u32) -> bool + Sync) -> Array3<bool> {
        let table: Vec<bool> = (0..=self.stats.len() as u32)
            .map(|l| l > 0 && keep(l))
            .collect();
        let mut out = Array3::from_elem(self.dims, false);
        self.paint_slices(&mut out, |l| table[l as usize].then_some(true));
        out
    }

    /// A mask of the box `lo..hi` (`[z, row, col]`, end exclusive) where the
    /// components with `keep(label)` are set.
    pub fn mask_in(
        &self,
        lo: [usize; 3],
        hi: [usize; 3],
        keep: impl Fn(u32) -> bool + Sync,
    ) -> Array3<bool> {
        let table: Vec<bool> = (0..=self.stats.len() as u32)
            .map(|l| l > 0 && keep(l))
            .collect();
        let shape: [usize; 3] = std::array::from_fn(|i| hi[i].saturating_sub(lo[i]));
        let mut out = Array3::from_elem(shape, false);
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(k, mut plane)| {
                for (r, l) in self.slice_runs(lo[0] + k) {
                    let (row, c0, c1) = (r.row as usize, r.start as usize, r.end as usize);
                    if !table[l as usize] || row < lo[1] || row >= hi[1] {
                        continue;
                    }
                    let (c0, c1) = (c0.max(lo[2]), c1.min(hi[2]));
                    let mut dst = plane.row_mut(row - lo[1]);
                    for c in c0..c1 {
                        dst[c - lo[2]] = true;
                    }
                }
            });
        out
    }

    /// Writes `value(label)` (where `Some`) over every run, slices in parallel.
    pub fn paint_slices<T: Copy + Send + Sync>(
        &self,
        out: &mut Array3<T>,
        value: impl Fn(u32) -> Option<T> + Sync,
    ) {
        out.axis_iter_mut(Axis(0))
            .into_par_iter()
            .enumerate()
            .for_each(|(z, mut plane)| {
                for (r, l) in self.slice_runs(z) {
                    if let Some(v) = value(l) {
                        let mut row = plane.row_mut(r.row as usize);
                        for c in r.start..r.end {
                            row[c as usize] = v;
                        }
                    }
                }
            });
    }
}

/// Components of the `true` voxels of `mask`.
///
/// ```
/// use hounsfield_core::morph::{label, Connectivity};
/// let mut m = ndarray::Array3::from_elem((1, 3, 3), false);
/// m[[0, 0, 0]] = true;
/// m[[0, 1, 1]] = true;
/// assert_eq!(label(m.view(), Connectivity::Face).len(), 2);
/// assert_eq!(label(m.view(), Connectivity::Full).len(), 1);
/// ```
pub fn label(mask: ArrayView3<'_, bool>, conn: Connectivity) -> Components {
    label_value(mask, true, conn)
}

/// A mask of the largest component (all `false` for an empty mask).
pub fn largest_component(mask: ArrayView3<'_, bool>, conn: Connectivity) -> Array3<bool> {
    let c = label(mask, conn);
    let big = c.largest();
    c.mask_where(|l| Some(l) == big)
}

/// Per-slice runs and the roots of their in-slice union-find (slice-local
/// indices).
struct SliceRuns {
    runs: Vec<Run>,
    row_start: Vec<usize>,
    root: Vec<u32>,
}

/// Components of the voxels of `mask` equal to `value` (`false` labels the
/// background, e.g. for hole filling, without negating the mask).
pub fn label_value(mask: ArrayView3<'_, bool>, value: bool, conn: Connectivity) -> Components {
    let sh = mask.shape();
    let dims = [sh[0], sh[1], sh[2]];
    label_rows(dims, conn, |z, y, buf| {
        let row = mask.slice(ndarray::s![z, y, ..]);
        if let Some(r) = row.as_slice() {
            for (b, &v) in buf.iter_mut().zip(r) {
                *b = v == value;
            }
        } else {
            for (b, &v) in buf.iter_mut().zip(row.iter()) {
                *b = v == value;
            }
        }
    })
}

/// Components of a mask given row by row: `row(z, y, buf)` fills `buf`
/// (`dims[2]` values) with row `y` of slice `z`, called in parallel. Lets a
/// caller label a predicate (e.g. a HU threshold) without building the mask.
pub fn label_rows(
    dims: [usize; 3],
    conn: Connectivity,
    row: impl Fn(usize, usize, &mut [bool]) + Sync,
) -> Components {
    let slices: Vec<SliceRuns> = (0..dims[0])
        .into_par_iter()
        .map_init(
            || vec![false; dims[2]],
            |buf, z| slice_runs(z, dims[1], buf, &row, conn.diagonal()),
        )
        .collect();
    let mut slice_start = Vec::with_capacity(dims[0] + 1);
    let mut total = 0usize;
    for s in &slices {
        slice_start.push(total);
        total += s.runs.len();
    }
    slice_start.push(total);
    // Global union-find over runs, seeded with the in-slice roots.
    let mut parent: Vec<u32> = Vec::with_capacity(total);
    for (s, &off) in slices.iter().zip(&slice_start) {
        parent.extend(s.root.iter().map(|&r| r + off as u32));
    }
    if conn.across_slices() {
        for z in 1..slices.len() {
            link_slices(&slices, z, &slice_start, conn.diagonal(), &mut parent);
        }
    }
    let runs: Vec<Run> = slices.into_iter().flat_map(|s| s.runs).collect();
    finish(dims, runs, slice_start, &mut parent)
}

fn slice_runs(
    z: usize,
    ny: usize,
    buf: &mut [bool],
    row: &impl Fn(usize, usize, &mut [bool]),
    diagonal: bool,
) -> SliceRuns {
    let mut runs = Vec::new();
    let mut row_start = Vec::with_capacity(ny + 1);
    for r in 0..ny {
        row_start.push(runs.len());
        row(z, r, buf);
        let mut c = 0;
        let n = buf.len();
        while c < n {
            // Skip to the next set value, then to the end of its run.
            let Some(s) = buf[c..].iter().position(|&v| v) else {
                break;
            };
            let s = c + s;
            let e = buf[s..].iter().position(|&v| !v).map_or(n, |e| s + e);
            runs.push(run(z, r, s, e));
            c = e;
        }
    }
    row_start.push(runs.len());
    let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
    for r in 1..ny {
        let (a0, a1) = (row_start[r - 1], row_start[r]);
        let b1 = row_start[r + 1];
        merge_rows(&runs[a0..a1], &runs[a1..b1], diagonal, |x, y| {
            union(&mut parent, (a0 + x) as u32, (a1 + y) as u32);
        });
    }
    let root = (0..runs.len() as u32)
        .map(|i| find(&mut parent, i))
        .collect();
    SliceRuns {
        runs,
        row_start,
        root,
    }
}

fn run(z: usize, r: usize, start: usize, end: usize) -> Run {
    Run {
        z: z as u32,
        row: r as u32,
        start: start as u32,
        end: end as u32,
    }
}

/// Calls `link(i, j)` for every pair of touching runs `a[i]`, `b[j]` of two
/// rows (each sorted by column); `diagonal` also joins runs touching at a
/// corner.
fn merge_rows(a: &[Run], b: &[Run], diagonal: bool, mut link: impl FnMut(usize, usize)) {
    let ext = u32::from(diagonal);
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (ra, rb) = (a[i], b[j]);
        if ra.start < rb.end + ext && rb.start < ra.end + ext {
            link(i, j);
        }
        if ra.end < rb.end {
            i += 1;
        } else {
            j += 1;
        }
    }
}

/// Joins the runs of slice `z` with those of slice `z - 1`.
fn link_slices(
    slices: &[SliceRuns],
    z: usize,
    slice_start: &[usize],
    diagonal: bool,
    parent: &mut [u32],
) {
    let (below, here) = (&slices[z - 1], &slices[z]);
    let (off_b, off_h) = (slice_start[z - 1], slice_start[z]);
    let rows = here.row_start.len() - 1;
    for r in 0..rows {
        let (h0, h1) = (here.row_start[r], here.row_start[r + 1]);
        if h0 == h1 {
            continue;
        }
        let lo = if diagonal { r.saturating_sub(1) } else { r };
        let hi = if diagonal { (r + 1).min(rows - 1) } else { r };
        for rb in lo..=hi {
            let (b0, b1) = (below.row_start[rb], below.row_start[rb + 1]);
            merge_rows(&below.runs[b0..b1], &here.runs[h0..h1], diagonal, |x, y| {
                union(parent, (off_b + b0 + x) as u32, (off_h + h0 + y) as u32);
            });
        }
    }
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

/// Joins two sets; the smaller root index wins (deterministic).
fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

/// Compact labels in scan order and per-component statistics.
fn finish(
    dims: [usize; 3],
    runs: Vec<Run>,
    slice_start: Vec<usize>,
    parent: &mut [u32],
) -> Components {
    let mut label_of_root = vec![0u32; runs.len()];
    let mut run_label = Vec::with_capacity(runs.len());
    let mut stats: Vec<ComponentStats> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let root = find(parent, i as u32) as usize;
        if label_of_root[root] == 0 {
            stats.push(ComponentStats {
                voxels: 0,
                lo: [usize::MAX; 3],
                hi: [0; 3],
                sum_zyx: [0.0; 3],
            });
            label_of_root[root] = stats.len() as u32;
        }
        let l = label_of_root[root];
        run_label.push(l);
        let s = &mut stats[l as usize - 1];
        let n = (r.end - r.start) as usize;
        let (z, row, c0, c1) = (
            r.z as usize,
            r.row as usize,
            r.start as usize,
            r.end as usize - 1,
        );
        s.voxels += n;
        s.lo = [s.lo[0].min(z), s.lo[1].min(row), s.lo[2].min(c0)];
        s.hi = [s.hi[0].max(z), s.hi[1].max(row), s.hi[2].max(c1)];
        s.sum_zyx[0] += (z * n) as f64;
        s.sum_zyx[1] += (row * n) as f64;
        s.sum_zyx[2] += (c0 + c1) as f64 * n as f64 / 2.0;
    }
    Components {
        dims,
        runs,
        slice_start,
        run_label,
        stats,
    }
}
