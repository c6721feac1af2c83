//! Slice preprocessing, pure functions on `[row, col]` arrays: per-slice winsorising at the
//! 1st/99th percentiles scaled to [0, 1] (the coursework's normalisation), and resizing to the
//! network's square input and back (bilinear for images and probabilities, antialiased when
//! shrinking; nearest neighbour for masks).
//!
//! A non-square slice is stretched to the square input and back, so the round trip keeps its
//! grid; the network sees it with a distorted aspect.

use ndarray::{Array2, ArrayView2, Axis};

/// The percentiles the coursework winsorised at.
pub const WINSOR_LOW: f64 = 0.01;
/// The percentiles the coursework winsorised at.
pub const WINSOR_HIGH: f64 = 0.99;

/// Percentiles `low_q` and `high_q` (in [0, 1]) of the finite values, linearly interpolated
/// between order statistics (numpy's default). `None` when no value is finite.
pub fn percentile_range(values: ArrayView2<f32>, low_q: f64, high_q: f64) -> Option<(f32, f32)> {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let low = percentile_in_place(&mut v, low_q);
    let high = percentile_in_place(&mut v, high_q);
    Some((low, high))
}

fn percentile_in_place(v: &mut [f32], q: f64) -> f32 {
    let position = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let below = position.floor() as usize;
    let fraction = (position - below as f64) as f32;
    let (_, &mut lower, rest) = v.select_nth_unstable_by(below, f32::total_cmp);
    if fraction <= 0.0 || rest.is_empty() {
        return lower;
    }
    // The next order statistic is the smallest value above the selected one.
    let upper = rest.iter().copied().fold(f32::INFINITY, f32::min);
    lower + fraction * (upper - lower)
}

/// Clips a slice to its 1st/99th percentiles and scales that range to [0, 1]. A constant slice
/// (or one without finite values) becomes zeros; non-finite values become 0.
pub fn winsorise_scale(slice: ArrayView2<f32>) -> Array2<f32> {
    let Some((low, high)) = percentile_range(slice, WINSOR_LOW, WINSOR_HIGH) else {
        return Array2::zeros(slice.raw_dim());
    };
    let range = high - low;
    if range.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Array2::zeros(slice.raw_dim());
    }
    slice.mapv(|x| {
        if x.is_finite() {
            ((x - low) / range).clamp(0.0, 1.0)
        } else {
            0.0
        }
    })
}

/// Taps of a separable resampler along one axis: for each output index, `(input index, weight)`
/// pairs whose weights sum to 1.
fn axis_taps(n_in: usize, n_out: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = n_in as f64 / n_out as f64;
    // Triangle filter: plain bilinear when enlarging, widened by the factor when shrinking.
    let support = scale.max(1.0);
    let last = n_in as i64 - 1;
    (0..n_out)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale - 0.5;
            let first = (center - support).ceil() as i64;
            let end = (center + support).floor() as i64;
            let mut taps: Vec<(usize, f32)> = Vec::with_capacity((end - first + 1) as usize);
            let mut total = 0.0;
            for i in first..=end {
                let w = 1.0 - ((i as f64 - center) / support).abs();
                if w <= 0.0 {
                    continue;
                }
                let index = i.clamp(0, last) as usize;
                total += w;
                match taps.iter_mut().find(|(j, _)| *j == index) {
                    Some(tap) => tap.1 += w as f32,
                    None => taps.push((index, w as f32)),
                }
            }
            if total > 0.0 {
                for tap in &mut taps {
                    tap.1 /= total as f32;
                }
            } else {
                taps.push((center.round().clamp(0.0, last as f64) as usize, 1.0));
            }
            taps
        })
        .collect()
}

/// Resizes an image to `rows × cols` with pixel centres aligned (bilinear when enlarging, a
/// triangle filter as wide as the reduction when shrinking, edges replicated).
pub fn resize_bilinear(src: ArrayView2<f32>, rows: usize, cols: usize) -> Array2<f32> {
    let (n_rows, n_cols) = src.dim();
    if n_rows == 0 || n_cols == 0 || rows == 0 || cols == 0 {
        return Array2::zeros((rows, cols));
    }
    if (n_rows, n_cols) == (rows, cols) {
        return src.to_owned();
    }
    let col_taps = axis_taps(n_cols, cols);
    let row_taps = axis_taps(n_rows, rows);
    let mut across = Array2::<f32>::zeros((n_rows, cols));
    for (src_row, mut out_row) in src.axis_iter(Axis(0)).zip(across.axis_iter_mut(Axis(0))) {
        for (out, taps) in out_row.iter_mut().zip(&col_taps) {
            *out = taps.iter().map(|&(c, w)| w * src_row[c]).sum();
        }
    }
    let mut out = Array2::<f32>::zeros((rows, cols));
    for (mut out_row, taps) in out.axis_iter_mut(Axis(0)).zip(&row_taps) {
        for &(r, w) in taps {
            out_row.scaled_add(w, &across.row(r));
        }
    }
    out
}

/// Resizes a mask to `rows × cols` by nearest neighbour with pixel centres aligned.
pub fn resize_nearest(src: ArrayView2<u8>, rows: usize, cols: usize) -> Array2<u8> {
    let (n_rows, n_cols) = src.dim();
    if n_rows == 0 || n_cols == 0 {
        return Array2::zeros((rows, cols));
    }
    let pick = |o: usize, n_out: usize, n_in: usize| {
        (((o as f64 + 0.5) * n_in as f64 / n_out as f64) as usize).min(n_in - 1)
    };
    let row_index: Vec<usize> = (0..rows).map(|r| pick(r, rows, n_rows)).collect();
    let col_index: Vec<usize> = (0..cols).map(|c| pick(c, cols, n_cols)).collect();
    Array2::from_shape_fn((rows, cols), |(r, c)| src[[row_index[r], col_index[c]]])
}

/// One HU slice → the network's input: winsorised, scaled to [0, 1], resized to `size²`.
pub fn preprocess_slice(hu: ArrayView2<f32>, size: usize) -> Array2<f32> {
    resize_bilinear(winsorise_scale(hu).view(), size, size)
}

/// One label slice (foreground = non-zero) → the training target at `size²`, 0.0 or 1.0.
pub fn mask_to_target(mask: ArrayView2<u8>, size: usize) -> Array2<f32> {
    resize_nearest(mask, size, size).mapv(|v| if v > 0 { 1.0 } else { 0.0 })
}

/// Probabilities at the network's size → the slice's own `rows × cols` (bilinear).
pub fn probabilities_to_slice(prob: ArrayView2<f32>, rows: usize, cols: usize) -> Array2<f32> {
    resize_bilinear(prob, rows, cols).mapv(|p| p.clamp(0.0, 1.0))
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction (0, 1, clamped)
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile(arange(101), [1, 99]) == [1, 99]; of arange(10): [0.09, 8.91].
        let a = Array2::from_shape_fn((1, 101), |(_, c)| c as f32);
        assert_eq!(percentile_range(a.view(), 0.01, 0.99), Some((1.0, 99.0)));
        let b = Array2::from_shape_fn((2, 5), |(r, c)| (9 - (r * 5 + c)) as f32);
        let (lo, hi) = percentile_range(b.view(), 0.01, 0.99).unwrap();
        assert!((lo - 0.09).abs() < 1e-5, "{lo}");
        assert!((hi - 8.91).abs() < 1e-5, "{hi}");
        let nan = Array2::from_elem((2, 2), f32::NAN);
        assert_eq!(percentile_range(nan.view(), 0.01, 0.99), None);
    }

    #[test]
    fn winsorise_clips_outliers_and_scales() {
        // 0..=100 plus two outliers; 1st/99th percentiles of the 103 values are 0.02 and 99.98.
        let mut v: Vec<f32> = (0..=100).map(|x| x as f32).collect();
        v.push(-5000.0);
        v.push(5000.0);
        let a = Array2::from_shape_vec((1, 103), v).unwrap();
        let s = winsorise_scale(a.view());
        assert!(s.iter().all(|x| (0.0..=1.0).contains(x)));
        assert_eq!(s[[0, 101]], 0.0);
        assert_eq!(s[[0, 102]], 1.0);
        assert!((s[[0, 50]] - 0.5).abs() < 1e-3, "{}", s[[0, 50]]);
        let constant = Array2::from_elem((3, 3), -1000.0f32);
        assert!(winsorise_scale(constant.view()).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn bilinear_known_answers() {
        // 2 → 4 with centres aligned: [0, 1] → [0, 0.25, 0.75, 1].
        let a = array![[0.0f32, 1.0]];
        let up = resize_bilinear(a.view(), 1, 4);
        for (got, want) in up.iter().zip([0.0, 0.25, 0.75, 1.0]) {
            assert!((got - want).abs() < 1e-6, "{up:?}");
        }
        // 4 → 2 with the triangle filter widened to 2 pixels: [0,1,2,3] → [0.625, 2.375]
        // (taps at distances 0.5 and 1.5 weigh 3:1, edges replicated).
        let b = array![[0.0f32, 1.0, 2.0, 3.0]];
        let down = resize_bilinear(b.view(), 1, 2);
        assert!((down[[0, 0]] - 0.625).abs() < 1e-6, "{down:?}");
        assert!((down[[0, 1]] - 2.375).abs() < 1e-6, "{down:?}");
        // A constant stays constant, any size.
        let c = Array2::from_elem((7, 5), 0.3f32);
        assert!(
            resize_bilinear(c.view(), 16, 9)
                .iter()
                .all(|x| (x - 0.3).abs() < 1e-6)
        );
        assert!(
            resize_bilinear(c.view(), 3, 2)
                .iter()
                .all(|x| (x - 0.3).abs() < 1e-6)
        );
    }

    #[test]
    fn nearest_mask_round_trip_and_preprocess_sizes() {
        let mask = Array2::from_shape_fn((8, 8), |(r, c)| u8::from(r < 4 && c >= 2));
        let up = resize_nearest(mask.view(), 16, 16);
        assert_eq!(up[[7, 4]], 1);
        assert_eq!(up[[8, 4]], 0);
        assert_eq!(resize_nearest(up.view(), 8, 8), mask);
        let target = mask_to_target(mask.view(), 4);
        assert_eq!(
            target,
            array![
                [0.0, 1.0, 1.0, 1.0],
                [0.0, 1.0, 1.0, 1.0],
                [0.0; 4],
                [0.0; 4]
            ]
        );
        let hu = Array2::from_shape_fn((20, 30), |(r, c)| (r * 30 + c) as f32 - 1000.0);
        let x = preprocess_slice(hu.view(), 16);
        assert_eq!(x.dim(), (16, 16));
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        let back = probabilities_to_slice(x.view(), 20, 30);
        assert_eq!(back.dim(), (20, 30));
    }
}
