//! Ball and disk morphology for small reaches, on bit-packed rows.
//!
//! A ball (or disk) of radius `r` on a grid of spacing `(sz, sy, sx)` is
//! the union, over the row offsets `(dz, dy)` it reaches, of a run of
//! columns `|dx| ≤ w(dz, dy)` with `w` the largest integer such that
//! `(dz·sz)² + (dy·sy)² + (w·sx)² ≤ r²`. So "a voxel of value `target`
//! within the ball" is the OR over those offsets of the rows widened by
//! `w`: each row is packed into 64-bit words, widened by shifts, and the
//! shifted rows combined with OR. Exact, and far cheaper than a distance transform for
//! the few-voxel elements used on CT grids; beyond [`MAX_REACH`] voxels per
//! axis the distance transform takes over.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

/// Largest per-axis reach (voxels) handled here.
pub(crate) const MAX_REACH: usize = 8;

/// `true` where a voxel of `mask` equal to `target` lies within
/// `limit_sq_mm2` (squared mm), among offsets of at most `reach` voxels per
/// axis `[z, row, col]` (`reach[0] == 0`: each slice alone). Voxels outside
/// the array never count.
pub(crate) fn near(
    mask: ArrayView3<'_, bool>,
    target: bool,
    spacing_zyx_mm: [f64; 3],
    reach: [usize; 3],
    limit_sq_mm2: f64,
) -> Array3<bool> {
    let [nz, ny, nx] = [mask.shape()[0], mask.shape()[1], mask.shape()[2]];
    let words = nx.div_ceil(64).max(1);
    let offsets = row_offsets(spacing_zyx_mm, reach, limit_sq_mm2);
    let packed = pack(mask, target, words);
    // Each distinct widening of every row, computed once.
    let mut widths: Vec<usize> = offsets.iter().map(|o| o.2).collect();
    widths.sort_unstable();
    widths.dedup();
    let widened: Vec<Vec<u64>> = widths
        .iter()
        .map(|&w| {
            let mut out = vec![0u64; packed.len()];
            out.par_chunks_mut(words)
                .zip(packed.par_chunks(words))
                .for_each(|(o, r)| widen(r, w, o));
            out
        })
        .collect();
    // (dz, dy, index into `widened`).
    let offsets: Vec<(isize, isize, usize)> = offsets
        .iter()
        .map(|&(dz, dy, w)| (dz, dy, widths.binary_search(&w).unwrap_or(0)))
        .collect();
    let plane_len = ny * words;
    let mut out = Array3::from_elem((nz, ny, nx), false);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each_init(
            || vec![0u64; words],
            |acc, (z, mut plane)| {
                for (y, mut row) in plane.rows_mut().into_iter().enumerate() {
                    acc.fill(0);
                    for &(dz, dy, k) in &offsets {
                        let (Some(sz), Some(sy)) =
                            (z.checked_add_signed(dz), y.checked_add_signed(dy))
                        else {
                            continue;
                        };
                        if sz < nz && sy < ny {
                            let start = sz * plane_len + sy * words;
                            let src = &widened[k][start..start + words];
                            acc.iter_mut().zip(src).for_each(|(a, &b)| *a |= b);
                        }
                    }
                    if let Some(r) = row.as_slice_mut() {
                        for (chunk, &bits) in r.chunks_mut(64).zip(acc.iter()) {
                            for (i, v) in chunk.iter_mut().enumerate() {
                                *v = (bits >> i) & 1 == 1;
                            }
                        }
                    }
                }
            },
        );
    out
}

/// `(dz, dy, w)` for every row offset the element reaches.
pub(crate) fn row_offsets(
    spacing_zyx_mm: [f64; 3],
    reach: [usize; 3],
    limit_sq_mm2: f64,
) -> Vec<(isize, isize, usize)> {
    let [sz, sy, sx] = spacing_zyx_mm;
    let mut out = Vec::new();
    let (hz, hy) = (reach[0] as isize, reach[1] as isize);
    for dz in -hz..=hz {
        for dy in -hy..=hy {
            let rem = limit_sq_mm2 - (dz as f64 * sz).powi(2) - (dy as f64 * sy).powi(2);
            if rem < 0.0 {
                continue;
            }
            let mut w = 0;
            while w < reach[2] && ((w + 1) as f64 * sx).powi(2) <= rem {
                w += 1;
            }
            out.push((dz, dy, w));
        }
    }
    out
}

/// Rows of `mask == target` as bits (column `x` is bit `x % 64` of word
/// `x / 64`; padding bits 0).
fn pack(mask: ArrayView3<'_, bool>, target: bool, words: usize) -> Vec<u64> {
    let (nz, ny) = (mask.shape()[0], mask.shape()[1]);
    let mut out = vec![0u64; nz * ny * words];
    out.par_chunks_mut(ny * words)
        .zip(mask.axis_iter(Axis(0)))
        .for_each(|(plane, m)| {
            for (row, mrow) in plane.chunks_mut(words).zip(m.rows()) {
                let set = |(x, v): (usize, bool), row: &mut [u64]| {
                    if v == target {
                        row[x / 64] |= 1 << (x % 64);
                    }
                };
                match mrow.as_slice() {
                    Some(s) => s.iter().copied().enumerate().for_each(|p| set(p, row)),
                    None => mrow.iter().copied().enumerate().for_each(|p| set(p, row)),
                }
            }
        });
    out
}

/// `out` = `row` OR itself shifted by `1..=w` columns both ways.
fn widen(row: &[u64], w: usize, out: &mut [u64]) {
    out.copy_from_slice(row);
    let n = row.len();
    for s in 1..=w.min(63) {
        for k in 0..n {
            let up = (row[k] << s) | if k > 0 { row[k - 1] >> (64 - s) } else { 0 };
            let down = (row[k] >> s) | if k + 1 < n { row[k + 1] << (64 - s) } else { 0 };
            out[k] |= up | down;
        }
    }
}
