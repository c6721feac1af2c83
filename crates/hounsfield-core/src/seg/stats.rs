//! Per-segment statistics over the CT: voxel count, volume in ml, HU mean,
//! standard deviation, minimum and maximum, bounding box; as CSV and JSON.

use serde::Serialize;

use super::{Segment, Segmentation};
use crate::volume::Volume;

/// Statistics of one segment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentStats {
    /// Segment number.
    pub number: u16,
    /// Segment label.
    pub label: String,
    /// Set voxels.
    pub voxels: usize,
    /// Volume in millilitres (voxels × voxel volume).
    pub volume_ml: f64,
    /// Mean HU (NaN when empty).
    pub mean_hu: f64,
    /// Population standard deviation of HU (NaN when empty).
    pub std_hu: f64,
    /// Minimum HU (NaN when empty).
    pub min_hu: f64,
    /// Maximum HU (NaN when empty).
    pub max_hu: f64,
    /// Inclusive bounding box, first voxel `[z, row, col]`.
    pub bbox_first: Option<[usize; 3]>,
    /// Inclusive bounding box, last voxel `[z, row, col]`.
    pub bbox_last: Option<[usize; 3]>,
    /// Bounding-box size in mm along (col, row, slice).
    pub bbox_size_mm: Option<[f64; 3]>,
}

/// Volume of one voxel in ml (`|det world_from_voxel| / 1000`).
pub fn voxel_volume_ml(volume: &Volume) -> f64 {
    volume
        .geometry
        .world_from_voxel()
        .matrix3
        .determinant()
        .abs()
        / 1000.0
}

/// Statistics of one segment over `volume` (same grid).
pub fn segment_stats(volume: &Volume, seg: &Segment) -> SegmentStats {
    let (mut n, mut sum, mut sum2) = (0usize, 0f64, 0f64);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    seg.mask.for_each_set(|z, r, c| {
        if let Some(hu) = volume.voxels.get_hu(z, r, c) {
            let v = f64::from(hu);
            n += 1;
            sum += v;
            sum2 += v * v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
    });
    let (mean, std) = if n == 0 {
        (f64::NAN, f64::NAN)
    } else {
        let m = sum / n as f64;
        (m, (sum2 / n as f64 - m * m).max(0.0).sqrt())
    };
    let bbox = seg.mask.bbox();
    let sp = volume.geometry.spacing_mm;
    SegmentStats {
        number: seg.number,
        label: seg.label.clone(),
        voxels: n,
        volume_ml: n as f64 * voxel_volume_ml(volume),
        mean_hu: mean,
        std_hu: std,
        min_hu: if n == 0 { f64::NAN } else { lo },
        max_hu: if n == 0 { f64::NAN } else { hi },
        bbox_first: bbox.map(|b| b.0),
        bbox_last: bbox.map(|b| b.1),
        bbox_size_mm: bbox.map(|(a, b)| {
            [
                (b[2] - a[2] + 1) as f64 * sp.x,
                (b[1] - a[1] + 1) as f64 * sp.y,
                (b[0] - a[0] + 1) as f64 * sp.z,
            ]
        }),
    }
}

/// Statistics of every segment (in parallel).
pub fn statistics(volume: &Volume, seg: &Segmentation) -> Vec<SegmentStats> {
    use rayon::prelude::*;
    seg.segments
        .par_iter()
        .map(|s| segment_stats(volume, s))
        .collect()
}

/// The statistics as CSV (header + one row per segment).
pub fn to_csv(stats: &[SegmentStats]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "number,label,voxels,volume_ml,mean_hu,std_hu,min_hu,max_hu,bbox_first_zrc,bbox_last_zrc,bbox_size_mm_xyz\n",
    );
    let zrc =
        |b: Option<[usize; 3]>| b.map_or(String::new(), |b| format!("{} {} {}", b[0], b[1], b[2]));
    for s in stats {
        let label = s.label.replace('"', "\"\"");
        let _ = writeln!(
            out,
            "{},\"{}\",{},{:.3},{:.2},{:.2},{},{},{},{},{}",
            s.number,
            label,
            s.voxels,
            s.volume_ml,
            s.mean_hu,
            s.std_hu,
            s.min_hu,
            s.max_hu,
            zrc(s.bbox_first),
            zrc(s.bbox_last),
            s.bbox_size_mm.map_or(String::new(), |m| format!(
                "{:.1} {:.1} {:.1}",
                m[0], m[1], m[2]
            )),
        );
    }
    out
}

/// The statistics as pretty JSON (NaN written as `null`).
pub fn to_json(stats: &[SegmentStats]) -> String {
    let v = serde_json::to_value(stats).unwrap_or(serde_json::Value::Null);
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use glam::DVec3;
    use ndarray::Array3;

    use super::*;
    use crate::seg::Mask;
    use crate::volume::Geometry;

    #[test]
    fn stats_of_a_known_block() {
        let mut g = Geometry::identity([4, 5, 6]);
        g.spacing_mm = DVec3::new(2.0, 2.0, 5.0);
        let mut hu = Array3::<i16>::from_elem(g.dims, -1000);
        let mut m = Array3::from_elem(g.dims, false);
        for z in 1..3 {
            for r in 1..3 {
                hu[[z, r, 2]] = 10;
                hu[[z, r, 3]] = 30;
                m[[z, r, 2]] = true;
                m[[z, r, 3]] = true;
            }
        }
        let vol = Volume::from_i16(hu, g);
        let seg = Segment::named(1, "liver", Mask::from_full(m.view()));
        let s = segment_stats(&vol, &seg);
        assert_eq!(s.voxels, 8);
        assert!((s.volume_ml - 8.0 * 20.0 / 1000.0).abs() < 1e-12);
        assert!((s.mean_hu - 20.0).abs() < 1e-12);
        assert!((s.std_hu - 10.0).abs() < 1e-12);
        assert_eq!((s.min_hu, s.max_hu), (10.0, 30.0));
        assert_eq!(s.bbox_first, Some([1, 1, 2]));
        assert_eq!(s.bbox_last, Some([2, 2, 3]));
        assert_eq!(s.bbox_size_mm, Some([4.0, 4.0, 10.0]));
        let csv = to_csv(std::slice::from_ref(&s));
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("1,\"liver\",8,0.160,20.00,10.00,10,30")
        );
        let json: serde_json::Value = serde_json::from_str(&to_json(&[s])).unwrap();
        assert_eq!(json[0]["voxels"], 8);
    }

    #[test]
    fn empty_segment_has_nan_stats() {
        let g = Geometry::identity([2, 2, 2]);
        let vol = Volume::from_i16(Array3::zeros(g.dims), g);
        let s = segment_stats(&vol, &Segment::named(3, "x", Mask::empty(g.dims)));
        assert_eq!(s.voxels, 0);
        assert!(s.mean_hu.is_nan());
        assert!(to_json(&[s]).contains("null"));
    }
}
