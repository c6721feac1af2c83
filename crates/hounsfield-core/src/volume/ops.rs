//! Pure voxel-wise volume operations: statistics, histograms, percentiles,
//! windowing to 8-bit, normalisation, zero-centring, winsorising, binarising.
//! All parallel (rayon) and deterministic.

use ndarray::{Array3, Zip};
use rayon::prelude::*;
use serde::Serialize;

use super::{Volume, Voxels};

/// Summary statistics of HU values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HuStats {
    /// Number of voxels.
    pub count: usize,
    /// Minimum HU.
    pub min_hu: f64,
    /// Maximum HU.
    pub max_hu: f64,
    /// Mean HU.
    pub mean_hu: f64,
    /// Standard deviation (population) in HU.
    pub std_hu: f64,
}

#[derive(Clone, Copy)]
struct Acc {
    n: usize,
    min: f64,
    max: f64,
    sum: f64,
    sum2: f64,
}

impl Acc {
    const EMPTY: Self = Self {
        n: 0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        sum2: 0.0,
    };
    fn merge(self, o: Self) -> Self {
        Self {
            n: self.n + o.n,
            min: self.min.min(o.min),
            max: self.max.max(o.max),
            sum: self.sum + o.sum,
            sum2: self.sum2 + o.sum2,
        }
    }
}

/// Min, max, mean and standard deviation over all voxels.
pub fn stats(vol: &Volume) -> HuStats {
    /// Per-slice sums in f64, combined in z order (deterministic).
    struct PerSlice;
    impl SliceFn<Acc> for PerSlice {
        fn call(&self, values: impl Iterator<Item = f32>) -> Acc {
            let mut a = Acc::EMPTY;
            for v in values {
                let v = f64::from(v);
                a.n += 1;
                a.min = a.min.min(v);
                a.max = a.max.max(v);
                a.sum += v;
                a.sum2 += v * v;
            }
            a
        }
    }
    let accs: Vec<Acc> = slices_map(&vol.voxels, &PerSlice);
    let a = accs.into_iter().fold(Acc::EMPTY, Acc::merge);
    if a.n == 0 {
        return HuStats {
            count: 0,
            min_hu: 0.0,
            max_hu: 0.0,
            mean_hu: 0.0,
            std_hu: 0.0,
        };
    }
    let mean = a.sum / a.n as f64;
    let var = (a.sum2 / a.n as f64 - mean * mean).max(0.0);
    HuStats {
        count: a.n,
        min_hu: a.min,
        max_hu: a.max,
        mean_hu: mean,
        std_hu: var.sqrt(),
    }
}

/// A per-slice computation over HU values, monomorphised for each voxel
/// type (a closure over `dyn Iterator` would cost a call per voxel).
trait SliceFn<R>: Sync {
    fn call(&self, values: impl Iterator<Item = f32>) -> R;
}

/// Map every z slice in parallel, results in z order.
fn slices_map<R: Send>(voxels: &Voxels, f: &impl SliceFn<R>) -> Vec<R> {
    use ndarray::Axis;
    match voxels {
        Voxels::I16(a) => a
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|s| f.call(s.iter().map(|&v| f32::from(v))))
            .collect(),
        Voxels::F32(a) => a
            .axis_iter(Axis(0))
            .into_par_iter()
            .map(|s| f.call(s.iter().copied()))
            .collect(),
    }
}

/// Parameters of [`histogram`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramParams {
    /// Lower edge of the first bin (HU).
    pub min_hu: f64,
    /// Upper edge of the last bin (HU).
    pub max_hu: f64,
    /// Number of bins.
    pub bins: usize,
}

impl Default for HistogramParams {
    /// −1024..3072 HU in 4 HU bins.
    fn default() -> Self {
        Self {
            min_hu: -1024.0,
            max_hu: 3072.0,
            bins: 1024,
        }
    }
}

/// A HU histogram.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// Lower edge of the first bin (HU).
    pub min_hu: f64,
    /// Width of each bin (HU).
    pub bin_width_hu: f64,
    /// Voxel count per bin.
    pub counts: Vec<u64>,
    /// Voxels below `min_hu`.
    pub below: u64,
    /// Voxels at or above the upper edge.
    pub above: u64,
}

impl Histogram {
    /// Centre of bin `i` in HU.
    pub fn bin_centre_hu(&self, i: usize) -> f64 {
        self.min_hu + (i as f64 + 0.5) * self.bin_width_hu
    }
}

/// Histogram of HU values.
pub fn histogram(vol: &Volume, params: &HistogramParams) -> Histogram {
    let bins = params.bins.max(1);
    let width = (params.max_hu - params.min_hu) / bins as f64;
    let width = if width > 0.0 { width } else { 1.0 };
    /// Counts with an underflow (first) and overflow (last) bin.
    struct PerSlice {
        min_hu: f64,
        width: f64,
        bins: usize,
    }
    impl SliceFn<Vec<u64>> for PerSlice {
        fn call(&self, values: impl Iterator<Item = f32>) -> Vec<u64> {
            let mut counts = vec![0u64; self.bins + 2];
            for v in values {
                let b = ((f64::from(v) - self.min_hu) / self.width).floor();
                let idx = if b < 0.0 {
                    0
                } else if b >= self.bins as f64 {
                    self.bins + 1
                } else {
                    b as usize + 1
                };
                counts[idx] += 1;
            }
            counts
        }
    }
    let per_slice = PerSlice {
        min_hu: params.min_hu,
        width,
        bins,
    };
    let mut total = vec![0u64; bins + 2];
    for c in slices_map(&vol.voxels, &per_slice) {
        for (t, x) in total.iter_mut().zip(c) {
            *t += x;
        }
    }
    Histogram {
        min_hu: params.min_hu,
        bin_width_hu: width,
        below: total[0],
        above: total[bins + 1],
        counts: total[1..=bins].to_vec(),
    }
}

/// Percentiles (0..=100) of the HU values, nearest-rank on the sorted values
/// with linear interpolation (numpy's default). Exact for `i16` volumes
/// (counting over all 65536 values).
pub fn percentiles(vol: &Volume, ps: &[f64]) -> Vec<f64> {
    let n = vol.voxels.len();
    if n == 0 {
        return vec![f64::NAN; ps.len()];
    }
    match &vol.voxels {
        Voxels::I16(a) => {
            let counts = a
                .axis_iter(ndarray::Axis(0))
                .into_par_iter()
                .map(|s| {
                    let mut c = vec![0u64; 65536];
                    for &v in s {
                        c[(i32::from(v) + 32768) as usize] += 1;
                    }
                    c
                })
                .reduce(
                    || vec![0u64; 65536],
                    |mut a, b| {
                        for (x, y) in a.iter_mut().zip(b) {
                            *x += y;
                        }
                        a
                    },
                );
            let value_at = |rank: u64| -> f64 {
                let mut seen = 0u64;
                for (i, c) in counts.iter().enumerate() {
                    seen += c;
                    if seen > rank {
                        return i as f64 - 32768.0;
                    }
                }
                32767.0
            };
            ps.iter()
                .map(|p| {
                    let pos = p.clamp(0.0, 100.0) / 100.0 * (n - 1) as f64;
                    let lo = pos.floor() as u64;
                    let t = pos - lo as f64;
                    let a = value_at(lo);
                    if t == 0.0 {
                        a
                    } else {
                        a + (value_at(lo + 1) - a) * t
                    }
                })
                .collect()
        }
        Voxels::F32(a) => {
            let mut v: Vec<f32> = a.iter().copied().collect();
            v.par_sort_unstable_by(f32::total_cmp);
            ps.iter()
                .map(|p| {
                    let pos = p.clamp(0.0, 100.0) / 100.0 * (n - 1) as f64;
                    let lo = pos.floor() as usize;
                    let t = pos - lo as f64;
                    let a = f64::from(v[lo]);
                    let b = f64::from(v[(lo + 1).min(n - 1)]);
                    a + (b - a) * t
                })
                .collect()
        }
    }
}

/// Map HU through a window (centre/width, DICOM linear style) to 0..=255.
pub fn window_value_u8(hu: f32, centre_hu: f32, width_hu: f32) -> u8 {
    let w = width_hu.max(1.0);
    let lo = centre_hu - w / 2.0;
    (((hu - lo) / w).clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Window the whole volume to 8-bit.
pub fn window_u8(vol: &Volume, centre_hu: f32, width_hu: f32) -> Array3<u8> {
    map_voxels(&vol.voxels, |v| window_value_u8(v, centre_hu, width_hu))
}

/// Linear map of `[lo_hu, hi_hu]` to `[0, 1]`, clamped outside.
pub fn normalize(vol: &Volume, lo_hu: f32, hi_hu: f32) -> Array3<f32> {
    let span = if hi_hu > lo_hu { hi_hu - lo_hu } else { 1.0 };
    map_voxels(&vol.voxels, |v| ((v - lo_hu) / span).clamp(0.0, 1.0))
}

/// Subtract the mean: returns the zero-mean array and the mean removed.
pub fn zero_centre(values: &Array3<f32>) -> (Array3<f32>, f32) {
    let n = values.len().max(1);
    let mean = (values.par_iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64) as f32;
    let mut out = values.clone();
    out.par_mapv_inplace(|v| v - mean);
    (out, mean)
}

/// Clamp HU to the `p_lo`..`p_hi` percentiles; returns the new volume and
/// the clamp bounds `(lo_hu, hi_hu)`.
pub fn winsorize(vol: &Volume, p_lo: f64, p_hi: f64) -> (Volume, (f64, f64)) {
    let b = percentiles(vol, &[p_lo, p_hi]);
    let (lo, hi) = (b[0], b[1]);
    let voxels = match &vol.voxels {
        Voxels::I16(a) => {
            let (l, h) = (lo.round() as i16, hi.round() as i16);
            let mut o = a.clone();
            o.par_mapv_inplace(|v| v.clamp(l, h));
            Voxels::I16(o)
        }
        Voxels::F32(a) => {
            let (l, h) = (lo as f32, hi as f32);
            let mut o = a.clone();
            o.par_mapv_inplace(|v| v.clamp(l, h));
            Voxels::F32(o)
        }
    };
    let out = Volume {
        id: super::VolumeId::fresh(),
        voxels,
        geometry: vol.geometry,
        padding_per_slice: vol.padding_per_slice.clone(),
    };
    (out, (lo, hi))
}

/// Binary mask (1 inside) of voxels with `lo_hu <= HU <= hi_hu`.
pub fn binarize(vol: &Volume, lo_hu: f32, hi_hu: f32) -> Array3<u8> {
    map_voxels(&vol.voxels, |v| u8::from(v >= lo_hu && v <= hi_hu))
}

/// Apply `f` to every HU value, in parallel, keeping the shape.
pub fn map_voxels<R: Copy + Default + Send + Sync>(
    voxels: &Voxels,
    f: impl Fn(f32) -> R + Sync,
) -> Array3<R> {
    let [nz, ny, nx] = voxels.shape();
    let mut out = Array3::<R>::default((nz, ny, nx));
    match voxels {
        Voxels::I16(a) => Zip::from(&mut out)
            .and(a)
            .par_for_each(|o, &v| *o = f(f32::from(v))),
        Voxels::F32(a) => Zip::from(&mut out).and(a).par_for_each(|o, &v| *o = f(v)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    fn ramp() -> Volume {
        let a = Array3::from_shape_fn((2, 3, 5), |(z, y, x)| {
            (z * 15 + y * 5 + x) as i16 * 10 - 100
        });
        Volume::from_i16(a, Geometry::identity([2, 3, 5]))
    }

    #[test]
    fn stats_histogram_percentiles() {
        let v = ramp();
        let s = stats(&v);
        assert_eq!(s.count, 30);
        assert_eq!((s.min_hu, s.max_hu), (-100.0, 190.0));
        assert!((s.mean_hu - 45.0).abs() < 1e-9);
        let h = histogram(
            &v,
            &HistogramParams {
                min_hu: -100.0,
                max_hu: 100.0,
                bins: 20,
            },
        );
        assert_eq!(h.counts.iter().sum::<u64>() + h.above + h.below, 30);
        assert_eq!(h.counts, vec![1; 20]);
        assert_eq!(h.above, 10);
        let p = percentiles(&v, &[0.0, 50.0, 100.0]);
        assert_eq!(p, vec![-100.0, 45.0, 190.0]);
        let f = Volume::from_f32(v.voxels.to_f32(), v.geometry);
        assert_eq!(percentiles(&f, &[0.0, 50.0, 100.0]), p);
    }

    #[test]
    fn window_normalize_binarize_winsorize() {
        assert_eq!(window_value_u8(-1000.0, 40.0, 400.0), 0);
        assert_eq!(window_value_u8(40.0, 40.0, 400.0), 128);
        assert_eq!(window_value_u8(240.0, 40.0, 400.0), 255);
        let v = ramp();
        let n = normalize(&v, -100.0, 190.0);
        assert!(n[[0, 0, 0]].abs() < 1e-6);
        assert!((n[[1, 2, 4]] - 1.0).abs() < 1e-6);
        let b = binarize(&v, 0.0, 50.0);
        assert_eq!(b.iter().map(|&x| u32::from(x)).sum::<u32>(), 6);
        let (w, (lo, hi)) = winsorize(&v, 10.0, 90.0);
        let s = stats(&w);
        assert!((s.min_hu - lo).abs() < 1.0 && (s.max_hu - hi).abs() < 1.0);
        let (z, mean) = zero_centre(&v.voxels.to_f32());
        assert!((mean - 45.0).abs() < 1e-4);
        assert!(z.sum().abs() < 1e-3);
    }
}
