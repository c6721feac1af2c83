//! Islands (connected components) and hole filling.
//!
//! Islands are ordered by decreasing size, ties by the scan order of their
//! first voxel (`z`, then row, then column), as `morph::label` numbers them.

use ndarray::{Array3, ArrayView3};

use super::{EffectError, Neighbours, ml_of};
use crate::morph::{fill_holes_2d, fill_holes_3d, label};
use crate::seg::Mask;

/// The `n` largest islands (all of them when there are fewer; none for
/// `n == 0`).
///
/// ```
/// use hounsfield_core::seg::effects::{keep_largest, Neighbours};
/// let m = ndarray::Array3::from_shape_vec((1, 1, 6), vec![true, false, true, true, false, true]).unwrap();
/// let k = keep_largest(m.view(), 1, Neighbours::TwentySix);
/// assert_eq!(k.iter().copied().collect::<Vec<_>>(), [false, false, true, true, false, false]);
/// ```
pub fn keep_largest(mask: ArrayView3<'_, bool>, n: usize, neighbours: Neighbours) -> Array3<bool> {
    let c = label(mask, neighbours.connectivity());
    let mut keep = vec![false; c.len() + 1];
    for l in c.by_size().into_iter().take(n) {
        keep[l as usize] = true;
    }
    c.mask_where(|l| keep[l as usize])
}

/// Removes the islands smaller than `min_ml` ml (voxel count × voxel
/// volume `< min_ml`).
pub fn remove_smaller(
    mask: ArrayView3<'_, bool>,
    spacing_zyx_mm: [f64; 3],
    min_ml: f64,
    neighbours: Neighbours,
) -> Result<Array3<bool>, EffectError> {
    if !(min_ml.is_finite() && min_ml >= 0.0) {
        return Err(EffectError::BadVolume { min_ml });
    }
    crate::morph::check_spacing(spacing_zyx_mm)?;
    let c = label(mask, neighbours.connectivity());
    Ok(c.mask_where(|l| {
        c.get(l)
            .is_some_and(|s| ml_of(s.voxels, spacing_zyx_mm) >= min_ml)
    }))
}

/// One cropped mask per island, largest first.
pub fn split(mask: ArrayView3<'_, bool>, neighbours: Neighbours) -> Vec<Mask> {
    let c = label(mask, neighbours.connectivity());
    let dims = c.dims();
    c.by_size()
        .into_iter()
        .filter_map(|l| {
            let st = c.get(l)?;
            let hi = st.hi.map(|v| v + 1);
            Some(Mask {
                dims,
                start: st.lo,
                data: c.mask_in(st.lo, hi, |k| k == l),
            })
        })
        .collect()
}

/// Fills the background regions that do not reach the volume's border: in
/// each axial slice alone (`in_plane`, 4-connected background) or in 3D
/// (6-connected background), as `scipy.ndimage.binary_fill_holes`.
pub fn fill_holes(mask: ArrayView3<'_, bool>, in_plane: bool) -> Array3<bool> {
    if in_plane {
        fill_holes_2d(mask)
    } else {
        fill_holes_3d(mask)
    }
}
