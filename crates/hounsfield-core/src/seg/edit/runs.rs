//! Runs of linear indices and applying them to cropped masks.

use ndarray::{Array3, s};

use super::{EditError, Run};
use crate::seg::Mask;

impl Mask {
    /// Sets the voxels of `runs` (linear indices on the full grid, any
    /// order, overlaps allowed) to `value`.
    ///
    /// Painting grows the crop to the union of the old box and the painted
    /// voxels, reallocating only when the box grows; erasing shrinks the crop
    /// to the bounding box of what is left when it removed voxels on the
    /// crop's border. A run past the end of the grid is refused before
    /// anything changes.
    pub fn set_runs(&mut self, runs: &[Run], value: bool) -> Result<(), EditError> {
        let voxels = voxel_total(self.dims)?;
        if let Some(&(start, len)) = runs
            .iter()
            .find(|r| u64::from(r.0) + u64::from(r.1) > voxels)
        {
            return Err(EditError::RunOutside { start, len, voxels });
        }
        if value {
            self.paint_runs(runs);
        } else {
            self.erase_runs(runs);
        }
        Ok(())
    }

    /// Crops the mask to the bounding box of its voxels (reallocates only if
    /// the box shrinks; an empty mask becomes [`Mask::empty`]).
    pub fn shrink_to_fit(&mut self) {
        let sh = self.data.shape();
        let full = [sh[0], sh[1], sh[2]];
        if self.data.is_empty() {
            if full != [0; 3] || self.start != [0; 3] {
                *self = Self::empty(self.dims);
            }
            return;
        }
        let mut lo = [0; 3];
        let mut hi = full;
        for axis in 0..3 {
            while lo[axis] < hi[axis] && !self.plane_any(axis, lo[axis], lo, hi) {
                lo[axis] += 1;
            }
            if lo[axis] == hi[axis] {
                *self = Self::empty(self.dims);
                return;
            }
            while !self.plane_any(axis, hi[axis] - 1, lo, hi) {
                hi[axis] -= 1;
            }
        }
        if lo == [0; 3] && hi == full {
            return;
        }
        self.data = self
            .data
            .slice(s![lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]])
            .to_owned();
        for (s, l) in self.start.iter_mut().zip(lo) {
            *s += l;
        }
    }

    /// Whether the crop has a set voxel at index `k` of `axis` within the
    /// box `lo..hi` (crop coordinates).
    fn plane_any(&self, axis: usize, k: usize, lo: [usize; 3], hi: [usize; 3]) -> bool {
        let mut r = [lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]];
        r[axis] = k..k + 1;
        let [a, b, c] = r;
        self.data.slice(s![a, b, c]).iter().any(|&v| v)
    }

    fn paint_runs(&mut self, runs: &[Run]) {
        let dims = self.dims;
        let mut lo = [usize::MAX; 3];
        let mut hi = [0; 3];
        for_each_piece(dims, runs, |z, row, c0, c1| {
            for (a, (l, h)) in [(z, z), (row, row), (c0, c1 - 1)].into_iter().enumerate() {
                lo[a] = lo[a].min(l);
                hi[a] = hi[a].max(h);
            }
        });
        if lo[0] == usize::MAX {
            return;
        }
        let sh = self.data.shape();
        let shape = [sh[0], sh[1], sh[2]];
        if !self.data.is_empty() {
            for a in 0..3 {
                lo[a] = lo[a].min(self.start[a]);
                hi[a] = hi[a].max(self.start[a] + shape[a] - 1);
            }
        }
        let new_shape = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        if self.data.is_empty() || lo != self.start || new_shape != shape {
            let mut data = Array3::from_elem(new_shape, false);
            if !self.data.is_empty() {
                let o = [
                    self.start[0] - lo[0],
                    self.start[1] - lo[1],
                    self.start[2] - lo[2],
                ];
                data.slice_mut(s![
                    o[0]..o[0] + shape[0],
                    o[1]..o[1] + shape[1],
                    o[2]..o[2] + shape[2]
                ])
                .assign(&self.data);
            }
            self.data = data;
            self.start = lo;
        }
        let st = self.start;
        let data = &mut self.data;
        for_each_piece(dims, runs, |z, row, c0, c1| {
            data.slice_mut(s![z - st[0], row - st[1], c0 - st[2]..c1 - st[2]])
                .fill(true);
        });
    }

    fn erase_runs(&mut self, runs: &[Run]) {
        if self.data.is_empty() {
            return;
        }
        let sh = self.data.shape();
        let st = self.start;
        let end = [st[0] + sh[0], st[1] + sh[1], st[2] + sh[2]];
        let mut on_border = false;
        let data = &mut self.data;
        for_each_piece(self.dims, runs, |z, row, c0, c1| {
            let (a, b) = (c0.max(st[2]), c1.min(end[2]));
            if z < st[0] || z >= end[0] || row < st[1] || row >= end[1] || a >= b {
                return;
            }
            let mut line = data.slice_mut(s![z - st[0], row - st[1], a - st[2]..b - st[2]]);
            if line.iter().any(|&v| v) {
                line.fill(false);
                on_border |= z == st[0]
                    || z + 1 == end[0]
                    || row == st[1]
                    || row + 1 == end[1]
                    || a == st[2]
                    || b == end[2];
            }
        });
        if on_border {
            self.shrink_to_fit();
        }
    }
}

/// Number of voxels of a grid shape, as `u64` (error on overflow).
pub(crate) fn voxel_total(dims: [usize; 3]) -> Result<u64, EditError> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
        .ok_or(EditError::GridTooLarge { dims })
}

/// Calls `f(z, row, c0, c1)` for each piece of the runs within one grid row
/// (columns `c0..c1`), in run order. The runs must lie inside the grid.
fn for_each_piece(dims: [usize; 3], runs: &[Run], mut f: impl FnMut(usize, usize, usize, usize)) {
    let cols = dims[2];
    let plane = dims[1] * dims[2];
    for &(start, len) in runs {
        let mut i = start as usize;
        let end = i + len as usize;
        while i < end {
            let z = i / plane;
            let rem = i % plane;
            let (row, c0) = (rem / cols, rem % cols);
            let c1 = cols.min(c0 + (end - i));
            f(z, row, c0, c1);
            i += c1 - c0;
        }
    }
}

/// Appends `start..start + len` to sorted runs, merging with the last run
/// when they touch or overlap (`start` must not precede the last start).
pub(crate) fn push_run(runs: &mut Vec<Run>, start: u32, len: u32) {
    if len == 0 {
        return;
    }
    if let Some(last) = runs.last_mut() {
        debug_assert!(start >= last.0, "runs pushed out of order");
        let last_end = u64::from(last.0) + u64::from(last.1);
        if u64::from(start) <= last_end {
            let end = last_end.max(u64::from(start) + u64::from(len));
            last.1 = u32::try_from(end - u64::from(last.0)).unwrap_or(u32::MAX);
            return;
        }
    }
    runs.push((start, len));
}

/// Sorts runs and merges overlapping or adjacent ones.
pub(crate) fn normalise_runs(runs: &mut Vec<Run>) {
    runs.sort_unstable();
    let mut out = Vec::with_capacity(runs.len());
    for &(s, l) in runs.iter() {
        push_run(&mut out, s, l);
    }
    *runs = out;
}

/// The union of two sorted run lists, sorted and merged.
pub(crate) fn union_runs(a: &[Run], b: &[Run]) -> Vec<Run> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j == b.len() || (i < a.len() && a[i].0 <= b[j].0);
        let r = if take_a { a[i] } else { b[j] };
        if take_a {
            i += 1;
        } else {
            j += 1;
        }
        push_run(&mut out, r.0, r.1);
    }
    out
}
