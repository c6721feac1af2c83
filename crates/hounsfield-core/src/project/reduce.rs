//! Reductions of a C-order voxel array along one array axis, the fast path of
//! [`project`](super::project) for axis-aligned volumes.
//!
//! The array is seen as `[outer, reduced, inner]` (`inner` contiguous); the
//! result is `[outer, inner]` in `f32`. When `inner` is long (reducing along
//! slices or rows) whole contiguous rows are combined element-wise, which
//! vectorises; when it is short (reducing along columns) each output value is
//! a contiguous or strided run. Work is split over independent output chunks
//! (rayon) and every output value is reduced in a fixed order, so the result
//! does not depend on the thread count.

use rayon::prelude::*;

use super::ProjectionMode;

/// Output values per parallel task when `inner` is long.
const CHUNK: usize = 8192;
/// `inner` at least this long uses the row-wise kernel.
const ROW_WISE_MIN: usize = 16;
/// Most `i16` layers summed in an `i32` before flushing (no overflow:
/// `65_535 * 32_768 < 2^31`).
const I32_SUM_LAYERS: usize = 65_535;

/// The shape `[outer, reduced, inner]` of a reduction and the layers kept.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    /// Product of the array axes before the reduced one.
    pub outer: usize,
    /// Length of the reduced axis.
    pub reduced: usize,
    /// Product of the array axes after the reduced one.
    pub inner: usize,
    /// First layer kept along the reduced axis.
    pub first: usize,
    /// Number of layers kept (at least 1, `first + count <= reduced`).
    pub count: usize,
}

/// A voxel type the kernels reduce.
pub(super) trait Voxel: Copy + Send + Sync {
    /// The value in HU.
    fn hu(self) -> f32;
    /// Element-wise maximum (`max`) or minimum of `acc` and `row`.
    fn extreme_into(acc: &mut [Self], row: &[Self], max: bool);
    /// Element-wise sums of `rows` (each `len` long), exact for `i16`.
    fn sum_rows(rows: &mut dyn Iterator<Item = &[Self]>, len: usize) -> Vec<f64>;
}

impl Voxel for i16 {
    fn hu(self) -> f32 {
        f32::from(self)
    }

    fn extreme_into(acc: &mut [Self], row: &[Self], max: bool) {
        if max {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = (*a).max(v);
            }
        } else {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = (*a).min(v);
            }
        }
    }

    fn sum_rows(rows: &mut dyn Iterator<Item = &[Self]>, len: usize) -> Vec<f64> {
        let mut total = vec![0.0f64; len];
        let mut acc = vec![0i32; len];
        let mut in_acc = 0;
        for row in rows {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += i32::from(v);
            }
            in_acc += 1;
            if in_acc == I32_SUM_LAYERS {
                flush(&mut total, &mut acc);
                in_acc = 0;
            }
        }
        flush(&mut total, &mut acc);
        total
    }
}

/// `total += acc; acc = 0`.
fn flush(total: &mut [f64], acc: &mut [i32]) {
    for (t, a) in total.iter_mut().zip(acc.iter_mut()) {
        *t += f64::from(*a);
        *a = 0;
    }
}

impl Voxel for f32 {
    fn hu(self) -> f32 {
        self
    }

    fn extreme_into(acc: &mut [Self], row: &[Self], max: bool) {
        if max {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = a.max(v);
            }
        } else {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = a.min(v);
            }
        }
    }

    fn sum_rows(rows: &mut dyn Iterator<Item = &[Self]>, len: usize) -> Vec<f64> {
        let mut total = vec![0.0f64; len];
        for row in rows {
            for (t, &v) in total.iter_mut().zip(row) {
                *t += f64::from(v);
            }
        }
        total
    }
}

/// Reduce `data` (C order, `outer * reduced * inner` values) along the
/// reduced axis over the kept layers: `[outer, inner]` HU values.
pub(super) fn reduce<T: Voxel>(data: &[T], s: Shape, mode: ProjectionMode) -> Vec<f32> {
    let mut out = vec![0.0f32; s.outer * s.inner];
    if out.is_empty() {
        return out;
    }
    if s.inner >= ROW_WISE_MIN {
        out.par_chunks_mut(s.inner)
            .enumerate()
            .for_each(|(a, out_row)| {
                out_row
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(c, dst)| {
                        let b0 = c * CHUNK;
                        let len = dst.len();
                        let row = |r: usize| {
                            let start = (a * s.reduced + r) * s.inner + b0;
                            &data[start..start + len]
                        };
                        reduce_rows(dst, s.first..s.first + s.count, &row, mode);
                    });
            });
    } else {
        // Short inner axis: one strided run per output value.
        let per_task = (CHUNK / s.inner).max(1) * s.inner;
        out.par_chunks_mut(per_task)
            .enumerate()
            .for_each(|(t, dst)| {
                for (o, d) in dst.iter_mut().enumerate() {
                    let flat = t * per_task + o;
                    let (a, b) = (flat / s.inner, flat % s.inner);
                    let run = (s.first..s.first + s.count)
                        .map(|r| data[(a * s.reduced + r) * s.inner + b]);
                    *d = reduce_run(run, s.count, mode);
                }
            });
    }
    out
}

/// Combine the rows `layers` (each `dst.len()` long) element-wise into `dst`.
fn reduce_rows<'a, T: Voxel + 'a>(
    dst: &mut [f32],
    layers: std::ops::Range<usize>,
    row: &dyn Fn(usize) -> &'a [T],
    mode: ProjectionMode,
) {
    let count = layers.len();
    match mode {
        ProjectionMode::Max | ProjectionMode::Min => {
            let max = mode == ProjectionMode::Max;
            let mut acc = row(layers.start).to_vec();
            for r in layers.skip(1) {
                T::extreme_into(&mut acc, row(r), max);
            }
            for (d, v) in dst.iter_mut().zip(acc) {
                *d = v.hu();
            }
        }
        ProjectionMode::Mean => {
            let total = T::sum_rows(&mut layers.map(row), dst.len());
            let n = count as f64;
            for (d, t) in dst.iter_mut().zip(total) {
                *d = (t / n) as f32;
            }
        }
    }
}

/// Reduce one run of `count` values.
fn reduce_run<T: Voxel>(run: impl Iterator<Item = T>, count: usize, mode: ProjectionMode) -> f32 {
    match mode {
        ProjectionMode::Max => run.map(Voxel::hu).fold(f32::NEG_INFINITY, f32::max),
        ProjectionMode::Min => run.map(Voxel::hu).fold(f32::INFINITY, f32::min),
        ProjectionMode::Mean => {
            let sum: f64 = run.map(|v| f64::from(v.hu())).sum();
            (sum / count as f64) as f32
        }
    }
}
