//! Right and left lung labels (cutting touching lungs) and the fill of
//! vessels and nodules; see [`super::lungs`] for the method.

use std::collections::VecDeque;

use glam::DVec3;
use ndarray::{Array3, ArrayView3, s};
use rayon::prelude::*;

use super::lungs::{FillParams, LungParams};
use super::{Control, LABEL_LEFT, LABEL_RIGHT, SegmentError};
use crate::morph::{
    Components, Connectivity, Element, close, distance_sq_mm, fill_holes_2d, fill_holes_3d, label,
};
use crate::volume::Geometry;

/// Labels with sides, and the erosion that cut touching lungs.
pub(super) struct Sides {
    pub labels: Array3<u8>,
    pub split_erosion_mm: Option<f64>,
}

fn world_x(g: &Geometry, zyx: [f64; 3]) -> f64 {
    g.world_of_voxel(DVec3::new(zyx[2], zyx[1], zyx[0])).x
}

fn side_of(x: f64, midline_x: f64) -> u8 {
    if x < midline_x {
        LABEL_RIGHT
    } else {
        LABEL_LEFT
    }
}

/// Gives each kept component (labels of `comps`, largest first) a side.
pub(super) fn split_sides(
    comps: &Components,
    kept: &[u32],
    g: &Geometry,
    params: &LungParams,
    midline_hint_x: Option<f64>,
    control: &Control<'_>,
) -> Result<Sides, SegmentError> {
    let size = |l: u32| comps.get(l).map_or(0, |s| s.voxels);
    let x_of = |l: u32| comps.get(l).map_or(0.0, |s| world_x(g, s.centroid_zyx()));
    let mut labels = Array3::<u8>::zeros(comps.dims());
    let mut side = vec![0u8; comps.len() + 1];
    let mut split_erosion_mm = None;
    let two = kept.len() >= 2
        && size(kept[1]) as f64 >= params.second_lung_fraction * size(kept[0]) as f64;
    let midline = if two {
        0.5 * (x_of(kept[0]) + x_of(kept[1]))
    } else {
        let cut = cut_touching(comps, kept[0], g, params, midline_hint_x, control)?;
        match cut {
            Some(c) => {
                split_erosion_mm = Some(c.erosion_mm);
                let [a, b, _] = c.offset;
                let sh = c.labels.shape().to_vec();
                labels
                    .slice_mut(s![
                        a..a + sh[0],
                        b..b + sh[1],
                        c.offset[2]..c.offset[2] + sh[2]
                    ])
                    .zip_mut_with(&c.labels, |o, &v| {
                        if v != 0 {
                            *o = v;
                        }
                    });
                c.midline_x
            }
            None => midline_hint_x.unwrap_or_else(|| g.centre_mm().x),
        }
    };
    for &l in kept {
        if split_erosion_mm.is_none() || l != kept[0] {
            side[l as usize] = side_of(x_of(l), midline);
        }
    }
    comps.paint_slices(&mut labels, |l| {
        let v = side[l as usize];
        (v != 0).then_some(v)
    });
    Ok(Sides {
        labels,
        split_erosion_mm,
    })
}

/// Touching lungs cut apart, on the component's bounding box.
struct Cut {
    labels: Array3<u8>,
    offset: [usize; 3],
    erosion_mm: f64,
    midline_x: f64,
}

/// Erodes component `l` (through its distance map) until two large cores on
/// either side of the midline appear, then grows them back deepest-first.
fn cut_touching(
    comps: &Components,
    l: u32,
    g: &Geometry,
    params: &LungParams,
    midline_hint_x: Option<f64>,
    control: &Control<'_>,
) -> Result<Option<Cut>, SegmentError> {
    let Some(st) = comps.get(l) else {
        return Ok(None);
    };
    let dims = comps.dims();
    let lo = st.lo.map(|v| v.saturating_sub(1));
    let hi = [0, 1, 2].map(|a| (st.hi[a] + 2).min(dims[a]));
    let full = comps.mask_where(|k| k == l);
    let mask = full
        .slice(s![lo[0]..hi[0], lo[1]..hi[1], lo[2]..hi[2]])
        .to_owned();
    drop(full);
    let spacing = g.spacing_zyx_mm();
    let depth_sq = distance_sq_mm(mask.mapv(|b| !b).view(), spacing)?;
    let to_world_x = |zyx: [f64; 3]| {
        world_x(
            g,
            [
                zyx[0] + lo[0] as f64,
                zyx[1] + lo[1] as f64,
                zyx[2] + lo[2] as f64,
            ],
        )
    };
    let mut r = spacing.iter().copied().fold(0.0, f64::max);
    while r <= params.max_split_erosion_mm {
        control.step(3, 6, "cutting touching lungs")?;
        let r2 = (r * r) as f32;
        let core = depth_sq.mapv(|d| d > r2 && d.is_finite());
        let cc = label(core.view(), Connectivity::Face);
        let big = cc.by_size();
        if big.len() >= 2 {
            let (a, b) = (big[0], big[1]);
            let (sa, sb) = (
                cc.get(a).map_or(0, |s| s.voxels),
                cc.get(b).map_or(0, |s| s.voxels),
            );
            let xa = cc.get(a).map_or(0.0, |s| to_world_x(s.centroid_zyx()));
            let xb = cc.get(b).map_or(0.0, |s| to_world_x(s.centroid_zyx()));
            let mid = 0.5 * (xa + xb);
            let across = midline_hint_x.is_none_or(|m| (xa - m) * (xb - m) < 0.0);
            if sb as f64 >= params.second_lung_fraction * sa as f64
                && across
                && (xa - xb).abs() >= 40.0
            {
                let mut seeds = Array3::<u8>::zeros(mask.raw_dim());
                cc.paint_slices(&mut seeds, |k| {
                    if k == a {
                        Some(side_of(xa, mid))
                    } else if k == b {
                        Some(side_of(xb, mid))
                    } else {
                        None
                    }
                });
                let labels = grow(seeds, mask.view(), &depth_sq, spacing);
                return Ok(Some(Cut {
                    labels,
                    offset: lo,
                    erosion_mm: r,
                    midline_x: mid,
                }));
            }
        }
        r *= 1.25;
    }
    Ok(None)
}

/// Priority flood inside `mask` from the labelled seeds, deepest voxels
/// first (a watershed of the distance map), 6-connected, deterministic.
fn grow(
    seeds: Array3<u8>,
    mask: ArrayView3<'_, bool>,
    depth_sq: &Array3<f32>,
    spacing: [f64; 3],
) -> Array3<u8> {
    let sh = [seeds.shape()[0], seeds.shape()[1], seeds.shape()[2]];
    let (ny, nx) = (sh[1], sh[2]);
    let m: Vec<bool> = mask.iter().copied().collect();
    let bucket_mm = spacing.iter().copied().fold(f64::INFINITY, f64::min) * 0.5;
    let bucket: Vec<u32> = depth_sq
        .iter()
        .map(|&d| {
            let d = if d.is_finite() {
                f64::from(d).sqrt()
            } else {
                0.0
            };
            (d / bucket_mm) as u32
        })
        .collect();
    let mut lab: Vec<u8> = seeds.iter().copied().collect();
    let top = bucket.iter().copied().max().unwrap_or(0) as usize;
    let mut queues: Vec<VecDeque<u32>> = vec![VecDeque::new(); top + 1];
    for (i, &v) in lab.iter().enumerate() {
        if v != 0 {
            queues[bucket[i] as usize].push_back(i as u32);
        }
    }
    let mut cur = top;
    loop {
        while cur > 0 && queues[cur].is_empty() {
            cur -= 1;
        }
        let Some(v) = queues[cur].pop_front() else {
            break;
        };
        let v = v as usize;
        let (z, rem) = (v / (ny * nx), v % (ny * nx));
        let (y, x) = (rem / nx, rem % nx);
        let mut visit = |n: usize, lab: &mut Vec<u8>| {
            if m[n] && lab[n] == 0 {
                lab[n] = lab[v];
                queues[(bucket[n] as usize).min(cur)].push_back(n as u32);
            }
        };
        if x > 0 {
            visit(v - 1, &mut lab);
        }
        if x + 1 < nx {
            visit(v + 1, &mut lab);
        }
        if y > 0 {
            visit(v - nx, &mut lab);
        }
        if y + 1 < ny {
            visit(v + nx, &mut lab);
        }
        if z > 0 {
            visit(v - ny * nx, &mut lab);
        }
        if z + 1 < sh[0] {
            visit(v + ny * nx, &mut lab);
        }
    }
    Array3::from_shape_vec(sh, lab).unwrap_or(seeds)
}

/// Per lung: closing, 2-D and 3-D hole filling; filled voxels that are
/// still background join that lung (right first). Returns the number of
/// voxels added.
pub(super) fn fill_lungs(
    labels: &mut Array3<u8>,
    spacing: [f64; 3],
    f: &FillParams,
) -> Result<usize, SegmentError> {
    let dims = labels.shape().to_vec();
    let margin = spacing.map(|s| (f.closing_mm / s).ceil() as usize + 1);
    let view = labels.view();
    let boxes = side_boxes(view);
    let one = |side: u8| -> Result<Option<(Origin, Array3<bool>)>, SegmentError> {
        let Some((lo, hi)) = boxes[usize::from(side == LABEL_LEFT)] else {
            return Ok(None);
        };
        let a = [0, 1, 2].map(|i| lo[i].saturating_sub(margin[i]));
        let b = [0, 1, 2].map(|i| (hi[i] + margin[i] + 1).min(dims[i]));
        let crop = view
            .slice(s![a[0]..b[0], a[1]..b[1], a[2]..b[2]])
            .mapv(|v| v == side);
        let closed = if f.closing_mm > 0.0 {
            let ball = Element::Ball {
                radius_mm: f.closing_mm,
            };
            close(crop.view(), spacing, ball)?
        } else {
            crop
        };
        Ok(Some((
            a,
            fill_holes_3d(fill_holes_2d(closed.view()).view()),
        )))
    };
    let (right, left) = rayon::join(|| one(LABEL_RIGHT), || one(LABEL_LEFT));
    let mut added = 0;
    for (side, filled) in [(LABEL_RIGHT, right?), (LABEL_LEFT, left?)] {
        let Some((a, filled)) = filled else { continue };
        let sh = filled.shape().to_vec();
        let mut dst = labels.slice_mut(s![
            a[0]..a[0] + sh[0],
            a[1]..a[1] + sh[1],
            a[2]..a[2] + sh[2]
        ]);
        ndarray::Zip::from(&mut dst).and(&filled).for_each(|o, &v| {
            if v && *o == 0 {
                *o = side;
                added += 1;
            }
        });
    }
    Ok(added)
}

/// First voxel `[z, row, col]` of a crop.
type Origin = [usize; 3];

/// Inclusive bounding box `(first, last)` voxel, `[z, row, col]`.
type Box3 = ([usize; 3], [usize; 3]);

/// The bounding boxes of the right and left labels.
fn side_boxes(labels: ArrayView3<'_, u8>) -> [Option<Box3>; 2] {
    let grow = |b: &mut Option<Box3>, lo: [usize; 3], hi: [usize; 3]| {
        let o = b.get_or_insert((lo, hi));
        o.0 = std::array::from_fn(|k| o.0[k].min(lo[k]));
        o.1 = std::array::from_fn(|k| o.1[k].max(hi[k]));
    };
    labels
        .axis_iter(ndarray::Axis(0))
        .into_par_iter()
        .enumerate()
        .map(|(z, plane)| {
            let mut out: [Option<Box3>; 2] = [None, None];
            for ((y, x), &v) in plane.indexed_iter() {
                if v == LABEL_RIGHT || v == LABEL_LEFT {
                    grow(&mut out[usize::from(v == LABEL_LEFT)], [z, y, x], [z, y, x]);
                }
            }
            out
        })
        .reduce(
            || [None, None],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    if let Some((lo, hi)) = y {
                        grow(x, lo, hi);
                    }
                }
                a
            },
        )
}
