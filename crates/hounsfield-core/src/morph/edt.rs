//! Exact Euclidean distance transform in mm on anisotropic grids.
//!
//! Separable lower-envelope algorithm of Felzenszwalb & Huttenlocher
//! ("Distance transforms of sampled functions", 2012), one pass per axis: a
//! two-sweep 1-D distance along the columns, then the lower envelope of
//! parabolas along rows and (for 3-D) slices, each pass parallel over lanes.
//! The result is exact (squared distances between voxel centres in mm²,
//! computed in `f64`, stored as `f32`).

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use super::{MorphError, check_spacing, par_lanes};

/// Squared Euclidean distance in mm² from every voxel centre to the nearest
/// voxel of `mask` whose value is `true` (0 on those voxels). With no `true`
/// voxel at all, every value is `f32::INFINITY`.
///
/// ```
/// use hounsfield_core::morph::distance_sq_mm;
/// let mut m = ndarray::Array3::from_elem((1, 1, 5), false);
/// m[[0, 0, 0]] = true;
/// let d = distance_sq_mm(m.view(), [1.0, 1.0, 0.5]).unwrap();
/// assert_eq!(d[[0, 0, 4]], 4.0); // (4 voxels × 0.5 mm)²
/// ```
pub fn distance_sq_mm(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
) -> Result<Array3<f32>, MorphError> {
    transform(mask, spacing_zyx_mm, true)
}

/// Like [`distance_sq_mm`] but within each axial slice only: the distance to
/// the nearest `true` voxel of the same slice (`INFINITY` on a slice without
/// one).
pub fn distance_sq_mm_in_plane(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
) -> Result<Array3<f32>, MorphError> {
    transform(mask, spacing_zyx_mm, false)
}

fn transform(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    along_z: bool,
) -> Result<Array3<f32>, MorphError> {
    check_spacing(spacing_zyx_mm)?;
    let [sz, sy, sx] = spacing_zyx_mm;
    let mut d = Array3::<f32>::from_elem(mask.raw_dim(), f32::INFINITY);
    // Pass 1, along columns: 1-D distance to the nearest set voxel of the row.
    d.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(mask.axis_iter(Axis(0)))
        .for_each(|(mut dp, mp)| {
            for (mut drow, mrow) in dp.rows_mut().into_iter().zip(mp.rows()) {
                let n = mrow.len();
                let mut last: Option<usize> = None;
                for i in 0..n {
                    if mrow[i] {
                        last = Some(i);
                    }
                    if let Some(l) = last {
                        let t = (i - l) as f64 * sx;
                        drow[i] = (t * t) as f32;
                    }
                }
                let mut next: Option<usize> = None;
                for i in (0..n).rev() {
                    if mrow[i] {
                        next = Some(i);
                    }
                    if let Some(l) = next {
                        let t = ((l - i) as f64 * sx) as f32;
                        drow[i] = drow[i].min(t * t);
                    }
                }
            }
        });
    // Passes 2 and 3: lower envelope of parabolas along rows, then slices.
    par_lanes(&mut d, 1, Envelope::default, |lane, env| env.run(lane, sy));
    if along_z {
        par_lanes(&mut d, 0, Envelope::default, |lane, env| env.run(lane, sz));
    }
    Ok(d)
}

/// Scratch buffers of the 1-D lower-envelope transform.
#[derive(Default)]
pub(crate) struct Envelope {
    /// Indices of the parabolas in the envelope.
    v: Vec<usize>,
    /// Left boundaries (mm) of each envelope parabola.
    z: Vec<f64>,
    /// Copy of the input lane.
    f: Vec<f64>,
}

impl Envelope {
    /// Replaces `lane[q]` by `min_p (lane[p] + ((q - p)·step)²)`, exactly;
    /// infinite inputs take no part.
    pub(crate) fn run(&mut self, lane: &mut [f32], step_mm: f64) {
        self.v.clear();
        self.z.clear();
        self.f.clear();
        self.f.extend(lane.iter().map(|&x| f64::from(x)));
        for (q, &fq) in self.f.iter().enumerate() {
            if !fq.is_finite() {
                continue;
            }
            let aq = q as f64 * step_mm;
            let hq = fq + aq * aq;
            let mut boundary = f64::NEG_INFINITY;
            while let Some(&p) = self.v.last() {
                let ap = p as f64 * step_mm;
                let x = (hq - (self.f[p] + ap * ap)) / (2.0 * (aq - ap));
                if let Some(&zl) = self.z.last()
                    && x <= zl
                {
                    self.v.pop();
                    self.z.pop();
                    continue;
                }
                boundary = x;
                break;
            }
            self.v.push(q);
            self.z.push(boundary);
        }
        if self.v.is_empty() {
            return;
        }
        let mut k = 0;
        for (q, out) in lane.iter_mut().enumerate() {
            let x = q as f64 * step_mm;
            while k + 1 < self.v.len() && self.z[k + 1] < x {
                k += 1;
            }
            let p = self.v[k];
            let t = x - p as f64 * step_mm;
            *out = (t * t + self.f[p]) as f32;
        }
    }
}
